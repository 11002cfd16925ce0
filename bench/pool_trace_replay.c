/* pool_trace_replay: replays the real PyTorch allocation traces (shared/data/alloc-traces)
 * through SmartPool (online, planned) and a naive best-fit pool, and prints peak live, peak
 * reserved and reserved/live beside PyTorch's own figures (pytorch_figures.json) for the same
 * workloads; then times alloc+free pairs. Measures and prints; never fails on a missed target.
 *
 *   pool_trace_replay [--timing-only] [trace-folder]
 *       trace-folder defaults to ../shared/data/alloc-traces from the repository root, the current
 *       directory or the executable's folder; --timing-only skips the replay tables and prints
 *       only the alloc+free timing.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "memory/planner.h"
#include "memory/pool.h"
#include "memory/pool_trace.h"

#define ALIGNMENT 512
#define MIB ((uint64_t)1 << 20)

static const char *const WORKLOADS[] = {"resnet50_train_b64", "gpt2_train_b8_s512",
                                        "bert_infer_varlen"};
#define WORKLOAD_COUNT (sizeof WORKLOADS / sizeof WORKLOADS[0])

/* ------------------------------------------------------------------------------------------ */
/* PyTorch's figures                                                                          */

typedef struct {
    int found;
    uint64_t peak_allocated, peak_reserved, device_allocs;
} pytorch_figure_t;

static uint64_t json_number(const char *object, size_t length, const char *key)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *at = strstr(object, quoted);
    if (!at || at >= object + length) return 0;
    const char *colon = strchr(at, ':');
    return colon ? strtoull(colon + 1, NULL, 10) : 0;
}

/* pytorch_figures.json is a flat array of flat objects; a scanner over '{'...'}' suffices. */
static void load_pytorch_figures(const char *folder, pytorch_figure_t figures[][2])
{
    char path[PATH_MAX];
    int length_needed = snprintf(path, sizeof path, "%s/pytorch_figures.json", folder);
    if (length_needed < 0 || (size_t)length_needed >= sizeof path) return;
    FILE *file = fopen(path, "rb");
    if (!file) return;
    static char text[1 << 16];
    size_t length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = '\0';
    for (char *open = strchr(text, '{'); open; open = strchr(open + 1, '{')) {
        char *close = strchr(open, '}');
        if (!close) break;
        size_t object_length = (size_t)(close - open);
        char saved = *close;
        *close = '\0';
        const char *expandable = strstr(open, "\"expandable_segments\"");
        int is_expandable = expandable && strstr(expandable, "true") &&
                            strstr(expandable, "true") < strchr(expandable, ',');
        for (size_t w = 0; w < WORKLOAD_COUNT; w++) {
            char quoted[96];
            snprintf(quoted, sizeof quoted, "\"%s\"", WORKLOADS[w]);
            if (!strstr(open, quoted)) continue;
            pytorch_figure_t *figure = &figures[w][is_expandable];
            figure->found = 1;
            figure->peak_allocated = json_number(open, object_length, "peak_allocated");
            figure->peak_reserved = json_number(open, object_length, "peak_reserved");
            figure->device_allocs = json_number(open, object_length, "num_device_alloc");
        }
        *close = saved;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Naive best-fit pool: the third column. Every free block sits in one unsorted list scanned
 * whole for the best fit; a hit is always split; neighbours coalesce; a miss reserves a segment
 * of the request rounded up to 2 MiB (what a bare cudaMalloc-per-miss cache does); segments are
 * never given back. Addresses are simulated: only the bookkeeping matters here. */

typedef struct naive_block_s {
    uint64_t address, size;
    int is_free;
    struct naive_block_s *prev, *next;           /* address neighbours in the segment */
    struct naive_block_s *free_prev, *free_next; /* the free list */
} naive_block_t;

typedef struct {
    naive_block_t *free_list;
    uint64_t next_address, reserved, peak_reserved, live, peak_live, segments;
} naive_pool_t;

static void naive_free_list_push(naive_pool_t *pool, naive_block_t *block)
{
    block->free_prev = NULL;
    block->free_next = pool->free_list;
    if (pool->free_list) pool->free_list->free_prev = block;
    pool->free_list = block;
}

static void naive_free_list_unlink(naive_pool_t *pool, naive_block_t *block)
{
    if (block->free_prev) block->free_prev->free_next = block->free_next;
    else pool->free_list = block->free_next;
    if (block->free_next) block->free_next->free_prev = block->free_prev;
}

static naive_block_t *naive_alloc(naive_pool_t *pool, uint64_t size)
{
    uint64_t need = (size + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    naive_block_t *best = NULL;
    for (naive_block_t *block = pool->free_list; block; block = block->free_next)
        if (block->size >= need && (!best || block->size < best->size)) best = block;
    if (!best) {
        uint64_t segment = (need + 2 * MIB - 1) / (2 * MIB) * (2 * MIB);
        best = calloc(1, sizeof *best);
        if (!best) return NULL;
        best->address = pool->next_address;
        best->size = segment;
        best->is_free = 1;
        pool->next_address += segment + 2 * MIB; /* a gap keeps segments from touching */
        pool->reserved += segment;
        pool->segments++;
        if (pool->reserved > pool->peak_reserved) pool->peak_reserved = pool->reserved;
        naive_free_list_push(pool, best);
    }
    naive_free_list_unlink(pool, best);
    if (best->size > need) {
        naive_block_t *tail = calloc(1, sizeof *tail);
        if (!tail) return NULL;
        tail->address = best->address + need;
        tail->size = best->size - need;
        tail->is_free = 1;
        tail->prev = best;
        tail->next = best->next;
        if (best->next) best->next->prev = tail;
        best->next = tail;
        best->size = need;
        naive_free_list_push(pool, tail);
    }
    best->is_free = 0;
    pool->live += need;
    if (pool->live > pool->peak_live) pool->peak_live = pool->live;
    return best;
}

static void naive_dealloc(naive_pool_t *pool, naive_block_t *block)
{
    pool->live -= block->size;
    block->is_free = 1;
    naive_block_t *prev = block->prev, *next = block->next;
    if (prev && prev->is_free) {
        naive_free_list_unlink(pool, prev);
        prev->size += block->size;
        prev->next = next;
        if (next) next->prev = prev;
        free(block);
        block = prev;
    }
    next = block->next;
    if (next && next->is_free) {
        naive_free_list_unlink(pool, next);
        block->size += next->size;
        block->next = next->next;
        if (next->next) next->next->prev = block;
        free(next);
    }
    naive_free_list_push(pool, block);
}

/* Frees every record; the pool holds no memory of its own. */
static void naive_destroy(naive_block_t **blocks, size_t count, naive_pool_t *pool)
{
    for (size_t i = 0; i < count; i++)
        if (blocks[i]) naive_dealloc(pool, blocks[i]);
    /* Everything is free and coalesced now: one record per segment remains on the free list. */
    naive_block_t *block = pool->free_list;
    while (block) {
        naive_block_t *next = block->free_next;
        free(block);
        block = next;
    }
}

static int replay_naive(const pool_trace_t *trace, naive_pool_t *pool)
{
    memset(pool, 0, sizeof *pool);
    pool->next_address = (uint64_t)1 << 40;
    naive_block_t **blocks = calloc(trace->alloc_count, sizeof *blocks);
    if (!blocks) return 0;
    int ok = 1;
    for (size_t i = 0; i < trace->event_count && ok; i++) {
        const pool_trace_event_t *event = &trace->events[i];
        if (event->action == POOL_TRACE_ALLOC) {
            blocks[event->block] = naive_alloc(pool, event->size);
            ok = blocks[event->block] != NULL;
        } else {
            naive_dealloc(pool, blocks[event->block]);
            blocks[event->block] = NULL;
        }
    }
    naive_destroy(blocks, trace->alloc_count, pool);
    free(blocks);
    return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* SmartPool replays                                                                          */

typedef struct {
    pool_stats_t whole;   /* the whole trace */
    pool_stats_t steady;  /* from the moment the plan exists (planned mode only) */
    int steady_valid;
    size_t iteration_length, iteration_first, iteration_repeats;
    double replay_ns_per_event;
} smart_result_t;

typedef struct {
    pool_t *pool;
    int plan_seen;
} steady_watch_t;

static void watch_alloc(void *user, size_t block, void *ptr, uint64_t size)
{
    steady_watch_t *watch = user;
    (void)block, (void)ptr, (void)size;
    if (!watch->plan_seen && pool_has_plan(watch->pool)) {
        watch->plan_seen = 1;
        pool_reset_peaks(watch->pool);
    }
}

static double now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

static int replay_smart(const pool_trace_t *trace, pool_mode_t mode, pool_backing_t backing,
                        smart_result_t *result)
{
    memset(result, 0, sizeof *result);
    pool_config_t config;
    pool_config_default(&config);
    config.mode = mode;
    config.backing = backing;
    pool_source_t source;
    if (backing == POOL_BACKING_PAGES) pool_source_host(&source);
    else pool_source_host_segments(&source);
    pool_t *pool;
    if (pool_create(&pool, &config, &source) != SARAPHIS_OK) {
        fprintf(stderr, "pool_create: %s\n", saraphis_last_error());
        return 0;
    }
    pool_replay_options_t options;
    memset(&options, 0, sizeof options);
    steady_watch_t watch = {pool, 0};
    if (mode == POOL_MODE_PLANNED) {
        pool_trace_iterations_t iterations;
        if (pool_trace_find_iterations(trace, 32, &iterations) == SARAPHIS_OK) {
            options.iterations = iterations;
            result->iteration_first = iterations.first_alloc;
            result->iteration_length = iterations.length;
            result->iteration_repeats = iterations.repeats;
        }
        options.on_alloc = watch_alloc;
        options.user = &watch;
    }
    /* The first pass gives the whole-trace figures; a second, timed pass without the watch. */
    pool_stats_t whole_before;
    pool_get_stats(pool, &whole_before);
    saraphis_status_t status = pool_trace_replay(pool, trace, &options, NULL);
    if (status != SARAPHIS_OK) {
        fprintf(stderr, "replay: %s\n", saraphis_last_error());
        pool_free(pool);
        return 0;
    }
    pool_get_stats(pool, watch.plan_seen ? &result->steady : &result->whole);
    result->steady_valid = watch.plan_seen;
    pool_free(pool);

    if (watch.plan_seen) {
        /* Whole-trace peaks: replay again without resetting them. */
        if (pool_create(&pool, &config, &source) != SARAPHIS_OK) return 0;
        options.on_alloc = NULL;
        if (pool_trace_replay(pool, trace, &options, NULL) != SARAPHIS_OK) {
            pool_free(pool);
            return 0;
        }
        pool_get_stats(pool, &result->whole);
        pool_free(pool);
    }

    /* Host-side replay cost: best of 5 whole replays, per event. */
    options.on_alloc = NULL;
    double best = 0;
    for (int run = 0; run < 5; run++) {
        if (pool_create(&pool, &config, &source) != SARAPHIS_OK) return 0;
        double start = now_ns();
        status = pool_trace_replay(pool, trace, &options, NULL);
        double elapsed = now_ns() - start;
        pool_free(pool);
        if (status != SARAPHIS_OK) return 0;
        if (run == 0 || elapsed < best) best = elapsed;
    }
    result->replay_ns_per_event = best / (double)trace->event_count;
    return 1;
}

/* The offline bound: one plan over the whole trace, every block an interval from its alloc to
 * its free (or to the end), placed by the same greedy-by-size heuristic. It knows the future, so
 * no online pool can be expected to match it; it shows what planning can reach. */
static uint64_t offline_plan_arena(const pool_trace_t *trace)
{
    planner_interval_t *intervals = malloc(trace->alloc_count * sizeof *intervals);
    uint64_t *offsets = malloc(trace->alloc_count * sizeof *offsets);
    uint64_t arena = 0;
    if (intervals && offsets) {
        for (size_t i = 0; i < trace->alloc_count; i++) {
            uint64_t size = (trace->alloc_sizes[i] + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
            uint64_t end = trace->free_event[i] == trace->event_count ? trace->event_count + 1
                                                                      : trace->free_event[i];
            intervals[i] = (planner_interval_t){size, trace->alloc_event[i], end, 0};
        }
        if (planner_place(intervals, trace->alloc_count, ALIGNMENT, PLANNER_BEST_OF_BOTH,
                          offsets, &arena, NULL) != SARAPHIS_OK)
            arena = 0;
    }
    free(intervals);
    free(offsets);
    return arena;
}

/* ------------------------------------------------------------------------------------------ */
/* alloc+free timing                                                                          */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define BATCH_PAIRS 1000
#define BATCH_COUNT 1000 /* 1M alloc+free pairs per measurement */
#define RING_SIZE 64

typedef struct {
    double pair_ns;  /* median over batches: alloc then free of the same block */
    double ring_ns;  /* median: free the oldest of 64 live blocks, allocate a new one */
} timing_t;

/* Sizes cycle through the trace's own request sizes; the pool starts from the state the trace
 * leaves behind (its long-lived blocks), so searches run over a realistic free tree. */
static int time_smart(const pool_trace_t *trace, pool_backing_t backing, timing_t *timing)
{
    pool_source_t source;
    if (backing == POOL_BACKING_PAGES) pool_source_host(&source);
    else pool_source_host_segments(&source);
    pool_t *pool;
    if (pool_create(&pool, NULL, &source) != SARAPHIS_OK) return 0;
    if (pool_trace_replay(pool, trace, NULL, NULL) != SARAPHIS_OK) {
        pool_free(pool);
        return 0;
    }
    double *batches = malloc(BATCH_COUNT * sizeof *batches);
    void *ring[RING_SIZE] = {0};
    size_t cursor = 0;
    int ok = batches != NULL;
    for (int pass = 0; pass < 2 && ok; pass++) {
        for (size_t batch = 0; batch < BATCH_COUNT && ok; batch++) {
            double start = now_ns();
            for (size_t i = 0; i < BATCH_PAIRS; i++) {
                size_t size = (size_t)trace->alloc_sizes[cursor];
                cursor = cursor + 1 == trace->alloc_count ? 0 : cursor + 1;
                void *ptr;
                if (pass == 0) {
                    if (pool_alloc(pool, size, 0, &ptr) != SARAPHIS_OK ||
                        pool_dealloc(pool, ptr) != SARAPHIS_OK) {
                        ok = 0;
                        break;
                    }
                } else {
                    void **slot = &ring[i % RING_SIZE];
                    if (pool_dealloc(pool, *slot) != SARAPHIS_OK ||
                        pool_alloc(pool, size, 0, slot) != SARAPHIS_OK) {
                        ok = 0;
                        break;
                    }
                }
            }
            batches[batch] = (now_ns() - start) / BATCH_PAIRS;
        }
        qsort(batches, BATCH_COUNT, sizeof *batches, compare_doubles);
        if (pass == 0) timing->pair_ns = batches[BATCH_COUNT / 2];
        else timing->ring_ns = batches[BATCH_COUNT / 2];
    }
    for (size_t i = 0; i < RING_SIZE; i++) pool_dealloc(pool, ring[i]);
    free(batches);
    pool_free(pool);
    return ok;
}

/* The same loops through the C library's malloc/free (a host peer; it touches no GPU). */
static void time_malloc(const pool_trace_t *trace, timing_t *timing)
{
    double *batches = malloc(BATCH_COUNT * sizeof *batches);
    void *ring[RING_SIZE] = {0};
    size_t cursor = 0;
    if (!batches) return;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t batch = 0; batch < BATCH_COUNT; batch++) {
            double start = now_ns();
            for (size_t i = 0; i < BATCH_PAIRS; i++) {
                size_t size = (size_t)trace->alloc_sizes[cursor];
                cursor = cursor + 1 == trace->alloc_count ? 0 : cursor + 1;
                if (pass == 0) {
                    void *volatile ptr = malloc(size);
                    free(ptr);
                } else {
                    free(ring[i % RING_SIZE]);
                    ring[i % RING_SIZE] = malloc(size);
                }
            }
            batches[batch] = (now_ns() - start) / BATCH_PAIRS;
        }
        qsort(batches, BATCH_COUNT, sizeof *batches, compare_doubles);
        if (pass == 0) timing->pair_ns = batches[BATCH_COUNT / 2];
        else timing->ring_ns = batches[BATCH_COUNT / 2];
    }
    for (size_t i = 0; i < RING_SIZE; i++) free(ring[i]);
    free(batches);
}

/* ------------------------------------------------------------------------------------------ */

static int is_directory(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

static int find_trace_folder(int argc, char **argv, char *folder, size_t capacity)
{
    if (argc > 1) {
        snprintf(folder, capacity, "%s", argv[1]);
        return is_directory(folder);
    }
    static const char *const relative[] = {"../shared/data/alloc-traces",
                                           "../../shared/data/alloc-traces",
                                           "shared/data/alloc-traces"};
    for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++) {
        if (is_directory(relative[i])) {
            snprintf(folder, capacity, "%s", relative[i]);
            return 1;
        }
    }
    /* The executable sits in <repo>/<build>/: try <repo>/../shared/... */
    char exe[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (length > 0) {
        exe[length] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            int written = snprintf(folder, capacity, "%s/../../shared/data/alloc-traces", exe);
            if (written > 0 && (size_t)written < capacity && is_directory(folder)) return 1;
        }
    }
    return 0;
}

static double ratio(uint64_t reserved, uint64_t live)
{
    return live ? (double)reserved / (double)live : 0.0;
}

int main(int argc, char **argv)
{
    int timing_only = 0;
    if (argc > 1 && strcmp(argv[1], "--timing-only") == 0) {
        timing_only = 1;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    char folder[PATH_MAX];
    if (!find_trace_folder(argc, argv, folder, sizeof folder)) {
        fprintf(stderr, "pool_trace_replay: trace folder not found (give it as the argument)\n");
        return 0; /* a benchmark never fails a build */
    }
    pytorch_figure_t figures[WORKLOAD_COUNT][2];
    memset(figures, 0, sizeof figures);
    load_pytorch_figures(folder, figures);
    printf("SmartPool trace replay: %s\n", folder);
    printf("reserved/live = peak reserved / peak live, live counted in 512-byte-rounded blocks "
           "(as PyTorch's peak_allocated)\n");

    int resnet_target_checked = 0;
    timing_t resnet_timing[2] = {{0}}, resnet_malloc = {0};
    static const struct {
        const char *label;
        pool_mode_t mode;
        pool_backing_t backing;
    } variants[] = {
        {"SmartPool online, segments", POOL_MODE_ONLINE, POOL_BACKING_SEGMENTS},
        {"SmartPool planned, segments", POOL_MODE_PLANNED, POOL_BACKING_SEGMENTS},
        {"SmartPool online, pages", POOL_MODE_ONLINE, POOL_BACKING_PAGES},
        {"SmartPool planned, pages", POOL_MODE_PLANNED, POOL_BACKING_PAGES},
    };
    enum { VARIANT_COUNT = sizeof variants / sizeof variants[0] };
    for (size_t w = 0; w < WORKLOAD_COUNT; w++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/trace_%s.csv", folder, WORKLOADS[w]);
        pool_trace_t *trace;
        if (pool_trace_load(path, &trace) != SARAPHIS_OK) {
            printf("\n%s: skipped (%s)\n", WORKLOADS[w], saraphis_last_error());
            continue;
        }
        if (timing_only) {
            if (w == 0) {
                resnet_target_checked = 1;
                for (int b = 0; b < 2; b++)
                    if (!time_smart(trace, b ? POOL_BACKING_PAGES : POOL_BACKING_SEGMENTS,
                                    &resnet_timing[b]))
                        printf("timing failed: %s\n", saraphis_last_error());
                time_malloc(trace, &resnet_malloc);
            }
            pool_trace_free(trace);
            continue;
        }
        uint64_t peak_live = pool_trace_peak_live(trace, ALIGNMENT);
        smart_result_t results[VARIANT_COUNT];
        int ok[VARIANT_COUNT];
        for (size_t v = 0; v < VARIANT_COUNT; v++)
            ok[v] = replay_smart(trace, variants[v].mode, variants[v].backing, &results[v]);
        naive_pool_t naive;
        int naive_ok = replay_naive(trace, &naive);
        uint64_t offline = offline_plan_arena(trace);

        printf("\n== %s: %zu allocs, %zu events, peak live %llu B (%.3f GB)\n", WORKLOADS[w],
               trace->alloc_count, trace->event_count, (unsigned long long)peak_live,
               (double)peak_live / 1e9);
        printf("%-46s %12s %12s %9s %8s %8s %9s\n", "allocator", "peak live", "peak reserv.",
               "res/live", "reserve", "release", "ns/event");
        printf("%-46s %12s %12s %9s %8s %8s %9s\n", "", "", "", "", "calls", "calls", "(host)");
        const pytorch_figure_t *pt_default = &figures[w][0], *pt_expandable = &figures[w][1];
        if (pt_default->found)
            printf("%-46s %12llu %12llu %9.4f %8llu\n", "PyTorch default (separate run)",
                   (unsigned long long)pt_default->peak_allocated,
                   (unsigned long long)pt_default->peak_reserved,
                   ratio(pt_default->peak_reserved, pt_default->peak_allocated),
                   (unsigned long long)pt_default->device_allocs);
        if (pt_expandable->found)
            printf("%-46s %12llu %12llu %9.4f %8llu\n", "PyTorch expandable_segments (sep. run)",
                   (unsigned long long)pt_expandable->peak_allocated,
                   (unsigned long long)pt_expandable->peak_reserved,
                   ratio(pt_expandable->peak_reserved, pt_expandable->peak_allocated),
                   (unsigned long long)pt_expandable->device_allocs);
        if (naive_ok)
            printf("%-46s %12llu %12llu %9.4f %8llu\n", "naive best-fit, 2 MiB-rounded segments",
                   (unsigned long long)naive.peak_live, (unsigned long long)naive.peak_reserved,
                   ratio(naive.peak_reserved, naive.peak_live),
                   (unsigned long long)naive.segments);
        double best_ratio = 0, best_planned_whole = 0, best_planned_steady = 0;
        uint64_t best_reserved = 0;
        for (size_t v = 0; v < VARIANT_COUNT; v++) {
            if (!ok[v]) {
                printf("%-46s failed: %s\n", variants[v].label, saraphis_last_error());
                continue;
            }
            const smart_result_t *r = &results[v];
            double whole = ratio(r->whole.peak_reserved_bytes, r->whole.peak_live_bytes);
            printf("%-46s %12llu %12llu %9.4f %8llu %8llu %9.1f\n", variants[v].label,
                   (unsigned long long)r->whole.peak_live_bytes,
                   (unsigned long long)r->whole.peak_reserved_bytes, whole,
                   (unsigned long long)r->whole.segment_reservations,
                   (unsigned long long)r->whole.segment_releases, r->replay_ns_per_event);
            if (best_ratio == 0 || whole < best_ratio) best_ratio = whole;
            if (best_reserved == 0 || r->whole.peak_reserved_bytes < best_reserved)
                best_reserved = r->whole.peak_reserved_bytes;
            if (r->steady_valid) {
                double steady = ratio(r->steady.peak_reserved_bytes, r->steady.peak_live_bytes);
                printf("%-46s %12llu %12llu %9.4f\n", "  the same, steps served by the plan",
                       (unsigned long long)r->steady.peak_live_bytes,
                       (unsigned long long)r->steady.peak_reserved_bytes, steady);
                if (best_planned_whole == 0 || whole < best_planned_whole)
                    best_planned_whole = whole;
                if (best_planned_steady == 0 || steady < best_planned_steady)
                    best_planned_steady = steady;
            }
        }
        printf("%-46s %12llu %12llu %9.4f %8s\n", "offline plan of the whole trace (bound)",
               (unsigned long long)peak_live, (unsigned long long)offline,
               ratio(offline, peak_live), "1");
        const smart_result_t *planned = &results[3];
        if (ok[3]) {
            if (planned->iteration_length)
                printf("planned: iterations of %zu allocs from alloc %zu (the size sequence "
                       "repeats %zu times); iteration 1 served online and recorded, later ones "
                       "from the plan (pages): %llu hits, %llu misses, %llu planned online, arena "
                       "%llu B\n",
                       planned->iteration_length, planned->iteration_first,
                       planned->iteration_repeats, (unsigned long long)planned->whole.plan_hits,
                       (unsigned long long)planned->whole.plan_misses,
                       (unsigned long long)planned->whole.plan_online,
                       (unsigned long long)planned->whole.arena_bytes);
            else
                printf("planned: no period repeats 3 times (inference on varying shapes): no "
                       "plan, planned mode served everything online\n");
        }
        if (pt_expandable->found && best_ratio > 0) {
            double expandable = ratio(pt_expandable->peak_reserved, pt_expandable->peak_allocated);
            printf("target: best SmartPool reserved/live %.4f < PyTorch expandable %.4f: %s\n",
                   best_ratio, expandable, best_ratio < expandable ? "MET" : "MISSED");
        }
        if (w < 2 && best_planned_whole > 0)
            printf("target: planned within 2%% of peak live: whole trace %.4f %s; steps served "
                   "by the plan %.4f %s\n", best_planned_whole,
                   best_planned_whole <= 1.02 ? "MET" : "MISSED", best_planned_steady,
                   best_planned_steady <= 1.02 ? "MET" : "MISSED");
        if (w == 0 && pt_default->found && best_reserved > 0) {
            double saving = 1.0 - (double)best_reserved / (double)pt_default->peak_reserved;
            resnet_target_checked = 1;
            printf("target: ResNet-50 reserves %.1f%% less than PyTorch default (%llu B): %s "
                   "(goal >= 13.3%%)\n", 100.0 * saving,
                   (unsigned long long)pt_default->peak_reserved,
                   saving >= 0.133 ? "MET" : "MISSED");
            for (int b = 0; b < 2; b++)
                if (!time_smart(trace, b ? POOL_BACKING_PAGES : POOL_BACKING_SEGMENTS,
                                &resnet_timing[b]))
                    printf("timing failed: %s\n", saraphis_last_error());
            time_malloc(trace, &resnet_malloc);
        }
        pool_trace_free(trace);
    }
    if (resnet_target_checked) {
        /* Two cases, each its own target: "immediate free" allocates a block and frees it at
         * once (the pool's fast path); "64 in flight" frees the oldest of 64 live blocks and
         * allocates a new one, so placements, splits and merges (and, with pages, page
         * accounting) see a moving set of neighbours. */
        static const char *const case_names[2] = {"immediate free", "64 in flight"};
        static const char *const backing_names[2] = {"SmartPool online, segments",
                                                     "SmartPool online, pages"};
        printf("\nhost cost of alloc+free (ResNet-50 request sizes, median of %d batches of %d "
               "pairs, ns per pair; target <= 100 ns per case)\n", BATCH_COUNT, BATCH_PAIRS);
        printf("%-30s %20s %20s\n", "", case_names[0], case_names[1]);
        int all_met = 1;
        for (int b = 0; b < 2; b++) {
            const double cases[2] = {resnet_timing[b].pair_ns, resnet_timing[b].ring_ns};
            int met[2];
            for (int c = 0; c < 2; c++) {
                met[c] = cases[c] > 0 && cases[c] <= 100.0;
                all_met &= met[c];
            }
            printf("%-30s %11.1f %-8s %11.1f %s\n", backing_names[b], cases[0],
                   met[0] ? "MET" : "MISSED", cases[1], met[1] ? "MET" : "MISSED");
        }
        printf("%-30s %11.1f %-8s %11.1f\n", "glibc malloc/free (host)", resnet_malloc.pair_ns,
               "", resnet_malloc.ring_ns);
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++) {
                double value = c ? resnet_timing[b].ring_ns : resnet_timing[b].pair_ns;
                printf("target: alloc+free <= 100 ns median, %s, %s: %.1f ns %s\n",
                       backing_names[b] + strlen("SmartPool online, "), case_names[c], value,
                       value > 0 && value <= 100.0 ? "MET" : "MISSED");
            }
        printf("target: alloc+free <= 100 ns median in every case: %s\n",
               all_met ? "MET" : "MISSED");
    }
    return 0;
}
