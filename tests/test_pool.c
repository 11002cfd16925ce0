/* SmartPool unit tests: rounding and alignment, splitting and coalescing, statistics, the stream
 * rule, the planner and planned mode, failure paths, pages backing, a randomized run of millions
 * of operations checked against the fake device's own records (pool_test_support.h), and page
 * map/unmap accounting on random operations.
 * SARAPHIS_POOL_TEST_OPS overrides the randomized operation count (default 2,000,000 on
 * segments, plus half that on pages). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/planner.h"
#include "memory/pool.h"
#include "pool_test_support.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

static device_t device;
static pool_source_t source;

static pool_t *make_pool(pool_mode_t mode, pool_backing_t backing, size_t alignment)
{
    CHECK(device_init(&device, 64 * GIB, 2 * MIB));
    device_source(&device, &source, backing == POOL_BACKING_PAGES);
    pool_config_t config;
    pool_config_default(&config);
    config.mode = mode;
    config.backing = backing;
    config.virtual_capacity = 16 * GIB;
    if (alignment) config.alignment = alignment;
    pool_t *pool = NULL;
    CHECK_OK(pool_create(&pool, &config, &source));
    return pool;
}

static void drop_pool(pool_t *pool)
{
    pool_free(pool);
    CHECK(device.reserved_bytes == 0);
    CHECK(device.mapped_bytes == 0);
    device_destroy(&device);
}

static void test_rounding_and_alignment(void)
{
    pool_t *pool = make_pool(POOL_MODE_ONLINE, POOL_BACKING_SEGMENTS, 0);
    static const size_t sizes[] = {1, 511, 512, 513, 37632, 3 * MIB + 1};
    static const size_t rounded[] = {512, 512, 512, 1024, 37888, 3 * MIB + 512};
    void *blocks[6];
    for (int i = 0; i < 6; i++) {
        CHECK_OK(pool_alloc(pool, sizes[i], 0, &blocks[i]));
        CHECK(blocks[i] && (uintptr_t)blocks[i] % 512 == 0);
        CHECK(pool_block_size(pool, blocks[i]) == rounded[i]);
        CHECK(device_contains(&device, (uintptr_t)blocks[i], rounded[i], 0));
    }
    void *none = (void *)1;
    CHECK_OK(pool_alloc(pool, 0, 0, &none));
    CHECK(none == NULL);
    CHECK_OK(pool_dealloc(pool, NULL));
    for (int i = 0; i < 6; i++) CHECK_OK(pool_dealloc(pool, blocks[i]));
    drop_pool(pool);

    /* A configured alignment of 4096 holds for every block. */
    pool = make_pool(POOL_MODE_ONLINE, POOL_BACKING_SEGMENTS, 4096);
    void *a, *b;
    CHECK_OK(pool_alloc(pool, 100, 0, &a));
    CHECK_OK(pool_alloc(pool, 100, 0, &b));
    CHECK((uintptr_t)a % 4096 == 0 && (uintptr_t)b % 4096 == 0);
    CHECK(pool_block_size(pool, a) == 4096);
    CHECK_OK(pool_dealloc(pool, a));
    CHECK_OK(pool_dealloc(pool, b));
    drop_pool(pool);
}

static void test_split_and_coalesce(void)
{
    pool_t *pool = make_pool(POOL_MODE_ONLINE, POOL_BACKING_SEGMENTS, 0);
    void *a, *b, *c;
    CHECK_OK(pool_alloc(pool, KIB, 0, &a));
    CHECK_OK(pool_alloc(pool, KIB, 0, &b));
    CHECK_OK(pool_alloc(pool, KIB, 0, &c));
    /* One 2 MiB small segment, split front to back. */
    CHECK((uintptr_t)b == (uintptr_t)a + KIB && (uintptr_t)c == (uintptr_t)b + KIB);
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    CHECK(stats.segment_count == 1 && stats.reserved_bytes == 2 * MIB);
    /* Free the outer two, then the middle: everything merges back into one 2 MiB range that a
     * whole-segment request reuses without reserving. */
    CHECK_OK(pool_dealloc(pool, a));
    CHECK_OK(pool_dealloc(pool, c));
    void *again;
    CHECK_OK(pool_alloc(pool, KIB, 0, &again)); /* best fit: an exact hole, not the tail */
    CHECK(again == a || again == c);
    if (again == c) {
        CHECK_OK(pool_dealloc(pool, again));
        CHECK_OK(pool_alloc(pool, KIB, 0, &again));
        CHECK(again == c); /* the most recently freed exact fit */
    }
    CHECK_OK(pool_dealloc(pool, again));
    CHECK_OK(pool_dealloc(pool, b));
    void *whole;
    CHECK_OK(pool_alloc(pool, 2 * MIB, 0, &whole));
    CHECK(whole == a);
    pool_get_stats(pool, &stats);
    CHECK(stats.segment_reservations == 1);
    CHECK_OK(pool_dealloc(pool, whole));
    drop_pool(pool);
}

static void test_statistics(void)
{
    pool_t *pool = make_pool(POOL_MODE_ONLINE, POOL_BACKING_SEGMENTS, 0);
    void *big, *small;
    CHECK_OK(pool_alloc(pool, 5 * MIB + 1, 0, &big)); /* 5 MiB + 512 -> a 6 MiB segment */
    CHECK_OK(pool_alloc(pool, 1000, 0, &small));      /* fits in big's segment tail */
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    CHECK(stats.reserved_bytes == 6 * MIB);
    CHECK(stats.live_bytes == 5 * MIB + 512 + 1024);
    CHECK(stats.live_requested_bytes == 5 * MIB + 1 + 1000);
    CHECK(stats.alloc_count == 2 && stats.segment_reservations == 1);
    CHECK(stats.fragmentation > 0.0 &&
          stats.fragmentation == 1.0 - (double)stats.peak_live_bytes /
                                           (double)stats.peak_reserved_bytes);
    CHECK_OK(pool_dealloc(pool, big));
    pool_get_stats(pool, &stats);
    CHECK(stats.live_bytes == 1024 && stats.peak_live_bytes == 5 * MIB + 512 + 1024);
    CHECK(stats.dealloc_count == 1);
    pool_reset_peaks(pool);
    pool_get_stats(pool, &stats);
    CHECK(stats.peak_live_bytes == 1024 && stats.peak_reserved_bytes == 6 * MIB);
    CHECK_OK(pool_dealloc(pool, small));
    pool_trim(pool);
    pool_get_stats(pool, &stats);
    CHECK(stats.reserved_bytes == 0 && stats.segment_count == 0 && stats.segment_releases == 1);
    CHECK(device.reserved_bytes == 0);
    drop_pool(pool);
}

static void test_stream_rule(void)
{
    pool_t *pool = make_pool(POOL_MODE_ONLINE, POOL_BACKING_SEGMENTS, 0);
    void *first, *keep;
    CHECK_OK(pool_alloc(pool, 64 * KIB, 1, &first));
    CHECK_OK(pool_alloc(pool, 64 * KIB, 1, &keep)); /* pins the segment tail apart */
    CHECK_OK(pool_dealloc(pool, first));
    /* Stream 2 may not reuse what stream 1 freed before a sync point. */
    void *other;
    CHECK_OK(pool_alloc(pool, 64 * KIB, 2, &other));
    CHECK(other != first);
    /* Stream 1 may. */
    void *same;
    CHECK_OK(pool_alloc(pool, 64 * KIB, 1, &same));
    CHECK(same == first);
    CHECK_OK(pool_dealloc(pool, same));
    pool_stream_synchronized(pool, 1);
    void *after_sync;
    CHECK_OK(pool_alloc(pool, 64 * KIB, 3, &after_sync));
    CHECK(after_sync == first);
    CHECK_OK(pool_dealloc(pool, after_sync));
    CHECK_OK(pool_dealloc(pool, other));
    CHECK_OK(pool_dealloc(pool, keep));
    pool_synchronize(pool);
    /* After a full sync every range merged back: a whole segment serves a new stream. */
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    uint64_t reservations = stats.segment_reservations;
    void *whole;
    CHECK_OK(pool_alloc(pool, 2 * MIB, 4, &whole));
    pool_get_stats(pool, &stats);
    CHECK(stats.segment_reservations == reservations);
    CHECK_OK(pool_dealloc(pool, whole));
    CHECK(pool_alloc(pool, 10, POOL_STREAM_ANY, &whole) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    drop_pool(pool);
}

static void test_errors(void)
{
    pool_t *pool = make_pool(POOL_MODE_ONLINE, POOL_BACKING_SEGMENTS, 0);
    void *block;
    CHECK_OK(pool_alloc(pool, 100, 0, &block));
    int stack_variable;
    CHECK(pool_dealloc(pool, &stack_variable) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "not a live block") != NULL);
    CHECK_OK(pool_dealloc(pool, block));
    CHECK(pool_dealloc(pool, block) == SARAPHIS_ERROR_INVALID_ARGUMENT); /* double free */
    /* The source failing surfaces as its status, with the pool's context. */
    device.fail_next_reserve = 1;
    CHECK(pool_alloc(pool, 64 * MIB, 0, &block) == SARAPHIS_ERROR_GPU);
    CHECK(strstr(saraphis_last_error(), "injected") != NULL);
    CHECK(pool_alloc(pool, SIZE_MAX - 10, 0, &block) == SARAPHIS_ERROR_LIMIT);
    CHECK(pool_iteration_end(pool) == SARAPHIS_ERROR_STATE);
    drop_pool(pool);

    /* A reservation cap. */
    CHECK(device_init(&device, 64 * GIB, 2 * MIB));
    device_source(&device, &source, 0);
    pool_config_t config;
    pool_config_default(&config);
    config.max_reserved_bytes = 8 * MIB;
    CHECK_OK(pool_create(&pool, &config, &source));
    void *a, *b;
    CHECK_OK(pool_alloc(pool, 6 * MIB, 0, &a));
    CHECK(pool_alloc(pool, 4 * MIB, 0, &b) == SARAPHIS_ERROR_OUT_OF_MEMORY);
    CHECK_OK(pool_dealloc(pool, a));
    CHECK_OK(pool_alloc(pool, 8 * MIB, 0, &b)); /* the empty 6 MiB segment is given back */
    CHECK_OK(pool_dealloc(pool, b));
    drop_pool(pool);

    /* Bad configurations. */
    pool_config_default(&config);
    config.alignment = 500;
    CHECK(pool_create(&pool, &config, &source) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    pool_source_t no_pages;
    CHECK(device_init(&device, GIB, 2 * MIB));
    device_source(&device, &no_pages, 0);
    pool_config_default(&config);
    config.backing = POOL_BACKING_PAGES;
    CHECK(pool_create(&pool, &config, &no_pages) == SARAPHIS_ERROR_UNSUPPORTED);
    device_destroy(&device);
}

static void test_release_empty_on_grow(void)
{
    pool_t *pool = make_pool(POOL_MODE_ONLINE, POOL_BACKING_SEGMENTS, 0);
    void *a, *b;
    CHECK_OK(pool_alloc(pool, 10 * MIB, 0, &a));
    CHECK_OK(pool_dealloc(pool, a));
    /* Below the high-water mark the empty segment stays cached... */
    CHECK_OK(pool_alloc(pool, 4 * MIB, 0, &b));
    CHECK(b == a);
    CHECK_OK(pool_dealloc(pool, b));
    /* ...and goes back when a larger one would otherwise raise the mark. */
    CHECK_OK(pool_alloc(pool, 12 * MIB, 0, &b));
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    CHECK(stats.reserved_bytes == 12 * MIB && stats.peak_reserved_bytes == 12 * MIB);
    CHECK(stats.segment_releases == 1);
    CHECK_OK(pool_dealloc(pool, b));
    drop_pool(pool);
}

static void test_pages_backing(void)
{
    pool_t *pool = make_pool(POOL_MODE_ONLINE, POOL_BACKING_PAGES, 0);
    CHECK(pool_backing(pool) == POOL_BACKING_PAGES);
    void *a, *b, *c;
    CHECK_OK(pool_alloc(pool, 3 * MIB, 0, &a)); /* pages 0-1 */
    CHECK_OK(pool_alloc(pool, 1 * MIB, 0, &b)); /* page 1 */
    CHECK(device_contains(&device, (uintptr_t)a, 3 * MIB, 1));
    CHECK(device_contains(&device, (uintptr_t)b, 1 * MIB, 1));
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    CHECK(stats.reserved_bytes == 4 * MIB && device.mapped_bytes == 4 * MIB);
    CHECK_OK(pool_dealloc(pool, a));
    /* Page 0 is idle but cached; page 1 still holds b. */
    pool_get_stats(pool, &stats);
    CHECK(stats.reserved_bytes == 4 * MIB);
    CHECK_OK(pool_alloc(pool, 2 * MIB, 0, &c)); /* reuses the cached page, maps nothing */
    pool_get_stats(pool, &stats);
    CHECK(stats.reserved_bytes == 4 * MIB && device.map_calls == 1);
    CHECK_OK(pool_dealloc(pool, c));
    CHECK_OK(pool_dealloc(pool, b));
    pool_trim(pool);
    pool_get_stats(pool, &stats);
    CHECK(stats.reserved_bytes == 0 && device.mapped_bytes == 0);
    /* A failed map leaves the pool consistent. */
    device.fail_next_map = 1;
    CHECK(pool_alloc(pool, 5 * MIB, 0, &a) == SARAPHIS_ERROR_GPU);
    CHECK_OK(pool_alloc(pool, 5 * MIB, 0, &a));
    CHECK(device_contains(&device, (uintptr_t)a, 5 * MIB, 1));
    CHECK_OK(pool_dealloc(pool, a));
    drop_pool(pool);
}

/* ------------------------------------------------------------------------------------------ */
/* Planner                                                                                    */

static int placement_valid(const planner_interval_t *intervals, size_t count,
                           const uint64_t *offsets, uint64_t arena)
{
    for (size_t i = 0; i < count; i++) {
        if (offsets[i] + intervals[i].size > arena) return 0;
        for (size_t j = i + 1; j < count; j++) {
            int live_together = intervals[i].group != intervals[j].group ||
                                (intervals[i].start < intervals[j].end &&
                                 intervals[j].start < intervals[i].end);
            int bytes_overlap = offsets[i] < offsets[j] + intervals[j].size &&
                                offsets[j] < offsets[i] + intervals[i].size;
            if (live_together && bytes_overlap) return 0;
        }
    }
    return 1;
}

static void test_planner(void)
{
    /* A chain where sizes alternate: the greedy reaches the live peak exactly. */
    planner_interval_t chain[] = {
        {4096, 0, 2, 0}, {1024, 1, 3, 0}, {4096, 2, 4, 0}, {1024, 3, 5, 0}, {2048, 4, 6, 0},
    };
    uint64_t offsets[5], arena = 0;
    planner_rule_t used;
    CHECK_OK(planner_place(chain, 5, 512, PLANNER_FIRST_FIT, offsets, &arena, &used));
    CHECK(used == PLANNER_FIRST_FIT);
    CHECK(placement_valid(chain, 5, offsets, arena));
    CHECK(arena == planner_peak_live(chain, 5));
    CHECK(arena == 5120);
    /* Intervals of different groups never share bytes. */
    planner_interval_t streams[] = {{1024, 0, 1, 0}, {1024, 1, 2, 1}};
    CHECK_OK(planner_place(streams, 2, 512, PLANNER_BEST_OF_BOTH, offsets, &arena, NULL));
    CHECK(arena == 2048 && placement_valid(streams, 2, offsets, arena));
    /* Random instances: always valid, never below the live peak, best-of-both <= first fit. */
    uint64_t state = 12345;
    for (int round = 0; round < 50; round++) {
        planner_interval_t intervals[200];
        uint64_t first_offsets[200], best_offsets[200], first_arena, best_arena;
        for (int i = 0; i < 200; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            uint64_t start = (state >> 33) % 400;
            uint64_t length = 1 + (state >> 20) % 60;
            uint64_t size = 512 * (1 + (state >> 45) % 64);
            intervals[i] = (planner_interval_t){size, start, start + length, 0};
        }
        CHECK_OK(planner_place(intervals, 200, 512, PLANNER_FIRST_FIT, first_offsets,
                               &first_arena, NULL));
        CHECK_OK(planner_place(intervals, 200, 512, PLANNER_BEST_OF_BOTH, best_offsets,
                               &best_arena, NULL));
        CHECK(placement_valid(intervals, 200, first_offsets, first_arena));
        CHECK(placement_valid(intervals, 200, best_offsets, best_arena));
        CHECK(best_arena <= first_arena && best_arena >= planner_peak_live(intervals, 200));
    }
    planner_interval_t bad = {100, 0, 1, 0};
    CHECK(planner_place(&bad, 1, 512, PLANNER_FIRST_FIT, offsets, &arena, NULL) ==
          SARAPHIS_ERROR_INVALID_ARGUMENT);
    /* Period detection on a prologue plus five repeats of a 7-long loop. */
    uint64_t values[3 + 35];
    for (int i = 0; i < 3; i++) values[i] = 1000 + (uint64_t)i;
    for (int i = 0; i < 35; i++) values[3 + i] = (uint64_t)(i % 7) * 10 + 1;
    size_t start, period, repeats;
    CHECK_OK(planner_find_period(values, 38, 2, &start, &period, &repeats));
    CHECK(start == 3 && period == 7 && repeats == 5);
}

/* ------------------------------------------------------------------------------------------ */
/* Planned mode                                                                               */

static const size_t loop_sizes[] = {8 * MIB, 512 * KIB, 3 * MIB, 100, 8 * MIB, 64 * KIB};
#define LOOP_COUNT (sizeof loop_sizes / sizeof loop_sizes[0])

/* One "training step": allocate the loop's requests with staggered frees. */
static void run_step(pool_t *pool, void **out_addresses, size_t mismatch_at)
{
    void *live[LOOP_COUNT];
    for (size_t i = 0; i < LOOP_COUNT; i++) {
        size_t size = i == mismatch_at ? loop_sizes[i] + 4096 : loop_sizes[i];
        CHECK_OK(pool_alloc(pool, size, 0, &live[i]));
        CHECK(device_occupy(&device, (uintptr_t)live[i], size, 1));
        if (out_addresses) out_addresses[i] = live[i];
        if (i >= 2) { /* each request dies two requests later */
            CHECK(device_occupy(&device, (uintptr_t)live[i - 2], loop_sizes[i - 2] +
                                (i - 2 == mismatch_at ? 4096 : 0), 0));
            CHECK_OK(pool_dealloc(pool, live[i - 2]));
        }
    }
    for (size_t i = LOOP_COUNT - 2; i < LOOP_COUNT; i++) {
        CHECK(device_occupy(&device, (uintptr_t)live[i], loop_sizes[i] +
                            (i == mismatch_at ? 4096 : 0), 0));
        CHECK_OK(pool_dealloc(pool, live[i]));
    }
}

static void test_planned_mode(void)
{
    pool_t *pool = make_pool(POOL_MODE_PLANNED, POOL_BACKING_SEGMENTS, 0);
    void *weights;
    CHECK_OK(pool_alloc(pool, 20 * MIB, 0, &weights)); /* outside any iteration: online */
    void *step2[LOOP_COUNT], *step3[LOOP_COUNT];
    CHECK_OK(pool_iteration_begin(pool));
    CHECK(pool_iteration_begin(pool) == SARAPHIS_ERROR_STATE);
    run_step(pool, NULL, SIZE_MAX); /* recorded */
    CHECK_OK(pool_iteration_end(pool));
    CHECK(pool_has_plan(pool));
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    CHECK(stats.plans_built == 1);
    /* Peak of the loop: two 8 MiB-ish requests never overlap; the largest pair alive together
     * is 3 MiB + 100 B... the arena is at most the sum and at least the live peak. */
    CHECK(stats.arena_bytes >= 8 * MIB + 512 * KIB && stats.arena_bytes <= 20 * MIB);
    for (int step = 2; step <= 3; step++) {
        CHECK_OK(pool_iteration_begin(pool));
        run_step(pool, step == 2 ? step2 : step3, SIZE_MAX);
        CHECK_OK(pool_iteration_end(pool));
    }
    pool_get_stats(pool, &stats);
    CHECK(stats.plan_hits == 2 * LOOP_COUNT && stats.plan_misses == 0);
    for (size_t i = 0; i < LOOP_COUNT; i++) CHECK(step2[i] == step3[i]); /* same offsets */
    /* A request whose size differs is a miss, served online; the rest still hit. */
    CHECK_OK(pool_iteration_begin(pool));
    run_step(pool, NULL, 2);
    CHECK_OK(pool_iteration_end(pool));
    pool_get_stats(pool, &stats);
    CHECK(stats.plan_misses == 1 && stats.plan_hits == 3 * LOOP_COUNT - 1);
    /* A block kept alive past its planned lifetime: the request planned onto its bytes misses
     * instead of overlapping it. */
    CHECK_OK(pool_iteration_begin(pool));
    void *held;
    CHECK_OK(pool_alloc(pool, loop_sizes[0], 0, &held));
    CHECK(device_occupy(&device, (uintptr_t)held, loop_sizes[0], 1));
    uint64_t misses_before = stats.plan_misses;
    void *rest[LOOP_COUNT];
    for (size_t i = 1; i < LOOP_COUNT; i++) {
        CHECK_OK(pool_alloc(pool, loop_sizes[i], 0, &rest[i]));
        CHECK(device_occupy(&device, (uintptr_t)rest[i], loop_sizes[i], 1));
    }
    pool_get_stats(pool, &stats);
    CHECK(stats.plan_misses > misses_before); /* request 4 (8 MiB) was planned over `held` */
    for (size_t i = 1; i < LOOP_COUNT; i++) {
        CHECK(device_occupy(&device, (uintptr_t)rest[i], loop_sizes[i], 0));
        CHECK_OK(pool_dealloc(pool, rest[i]));
    }
    CHECK(device_occupy(&device, (uintptr_t)held, loop_sizes[0], 0));
    CHECK_OK(pool_dealloc(pool, held));
    CHECK_OK(pool_iteration_end(pool));
    /* Dropping the plan releases the (now empty) arena; the next iteration records again. */
    uint64_t reserved_before = stats.reserved_bytes;
    pool_plan_reset(pool);
    pool_get_stats(pool, &stats);
    CHECK(!pool_has_plan(pool) && stats.reserved_bytes < reserved_before);
    CHECK_OK(pool_iteration_begin(pool));
    run_step(pool, NULL, SIZE_MAX);
    CHECK_OK(pool_iteration_end(pool));
    CHECK(pool_has_plan(pool));
    CHECK_OK(pool_dealloc(pool, weights));
    drop_pool(pool);
}

/* ------------------------------------------------------------------------------------------ */
/* Randomized operations                                                                      */

typedef struct {
    void *ptr;
    size_t size;
} live_block_t;

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t random_size(void)
{
    uint64_t r = next_random();
    switch (r % 10) {
    case 0: return (size_t)(4 * MIB + (r >> 8) % (60 * MIB));      /* large */
    case 1: case 2: case 3: return (size_t)(64 * KIB + (r >> 8) % (4 * MIB)); /* medium */
    default: return (size_t)(1 + (r >> 8) % (64 * KIB));          /* small */
    }
}

typedef struct {
    int pages;
    uint64_t live_bytes;
} verify_context_t;

static void verify_block(void *user, uintptr_t address, size_t size, pool_stream_t stream,
                         int in_arena)
{
    verify_context_t *context = user;
    (void)stream, (void)in_arena;
    context->live_bytes += size;
    CHECK(address % 512 == 0);
    CHECK(device_contains(&device, address, size, context->pages));
}

static void random_operations(pool_backing_t backing, size_t operations)
{
    pool_t *pool = make_pool(POOL_MODE_ONLINE, backing, 0);
    int pages = backing == POOL_BACKING_PAGES;
    enum { MAX_LIVE = 1500 };
    live_block_t *live = calloc(MAX_LIVE, sizeof *live);
    size_t live_count = 0;
    uint64_t live_rounded = 0;
    for (size_t op = 0; op < operations && check_failures < 20; op++) {
        uint64_t r = next_random();
        /* Drift the live count up and down so the pool grows, fragments and shrinks. */
        size_t target = (op / 100000) % 2 ? MAX_LIVE / 4 : MAX_LIVE - 1;
        int do_alloc = live_count == 0 || (live_count < MAX_LIVE &&
                                           (r % 100) < (live_count < target ? 60u : 40u));
        if (do_alloc) {
            size_t size = random_size();
            pool_stream_t stream = (pool_stream_t)((r >> 40) % 3);
            void *ptr;
            saraphis_status_t status = pool_alloc(pool, size, stream, &ptr);
            if (status != SARAPHIS_OK) {
                CHECK_OK(status);
                fprintf(stderr, "operation %zu: %zu bytes with %zu blocks live\n", op, size,
                        live_count);
                break;
            }
            size_t rounded = pool_block_size(pool, ptr);
            CHECK(rounded >= size && rounded - size < 512 && rounded % 512 == 0);
            CHECK((uintptr_t)ptr % 512 == 0);
            CHECK(device_contains(&device, (uintptr_t)ptr, rounded, pages));
            CHECK(device_occupy(&device, (uintptr_t)ptr, size, 1)); /* no overlap */
            live[live_count++] = (live_block_t){ptr, size};
            live_rounded += rounded;
        } else {
            size_t index = (size_t)((r >> 20) % live_count);
            live_block_t block = live[index];
            live[index] = live[--live_count];
            live_rounded -= pool_block_size(pool, block.ptr);
            CHECK(device_occupy(&device, (uintptr_t)block.ptr, block.size, 0));
            CHECK_OK(pool_dealloc(pool, block.ptr));
        }
        if ((r >> 50) % 5000 == 0) pool_stream_synchronized(pool, (pool_stream_t)(r % 3));
        if ((r >> 50) % 50000 == 1) pool_synchronize(pool);
        if (op % 200000 == 0 || op + 1 == operations) {
            pool_stats_t stats;
            pool_get_stats(pool, &stats);
            CHECK(stats.live_bytes == live_rounded);
            CHECK(stats.peak_reserved_bytes >= stats.peak_live_bytes);
            CHECK(stats.reserved_bytes == (pages ? device.mapped_bytes : device.reserved_bytes));
            verify_context_t context = {pages, 0};
            pool_visit_live_blocks(pool, verify_block, &context);
            CHECK(context.live_bytes == live_rounded);
        }
    }
    for (size_t i = 0; i < live_count; i++) {
        CHECK(device_occupy(&device, (uintptr_t)live[i].ptr, live[i].size, 0));
        CHECK_OK(pool_dealloc(pool, live[i].ptr));
    }
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    CHECK(stats.live_bytes == 0);
    free(live);
    drop_pool(pool);
}

static size_t operation_count(void)
{
    const char *text = getenv("SARAPHIS_POOL_TEST_OPS");
    if (text && *text) {
        char *end;
        unsigned long long value = strtoull(text, &end, 10);
        if (*end == '\0' && value > 0) return (size_t)value;
    }
    return 2000000;
}

static void test_random_segments(void) { random_operations(POOL_BACKING_SEGMENTS, operation_count()); }
static void test_random_pages(void) { random_operations(POOL_BACKING_PAGES, operation_count() / 2); }

/* ------------------------------------------------------------------------------------------ */
/* Page accounting (pages backing)                                                            */

/* The test's own count of live blocks per page of the fake device, which device_unmap checks. */
static uint32_t *page_touched;

/* Counts a live block in (delta 1) or out (-1) of the pages it touches; *in_use follows the
 * number of pages touched by at least one live block. */
static void touch_pages(uint64_t address, uint64_t size, int delta, uint64_t *in_use)
{
    uint64_t first = (address - DEVICE_BASE) / device.page_size;
    uint64_t last = (address + size - 1 - DEVICE_BASE) / device.page_size;
    for (uint64_t page = first; page <= last; page++) {
        if (delta > 0 && page_touched[page]++ == 0) (*in_use)++;
        if (delta < 0 && --page_touched[page] == 0) (*in_use)--;
    }
}

/* Random operations on a pages pool, checked against the fake device's record of mapped pages
 * and the test's count of live blocks per page: no page is unmapped while a live block touches
 * it (device_unmap fails the test), every page a live block touches is mapped, and the mapped
 * pages that no live block touches stay within the idle budget. With no cap the budget is the
 * high-water mark: mapped pages never exceed the most pages ever in use at once, and peak
 * reserved equals exactly that; with a cap, mapped bytes never exceed the cap. pool_trim leaves
 * exactly the pages in use mapped. Every map/unmap call is counted in the statistics. */
static void page_accounting(size_t operations, size_t cap)
{
    CHECK(device_init(&device, 64 * GIB, 2 * MIB));
    device_source(&device, &source, 1);
    size_t page_count = (size_t)(device.span / device.page_size) + 1;
    page_touched = calloc(page_count, sizeof *page_touched);
    device.page_touched = page_touched;
    pool_config_t config;
    pool_config_default(&config);
    config.backing = POOL_BACKING_PAGES;
    config.virtual_capacity = 16 * GIB;
    config.max_reserved_bytes = cap;
    pool_t *pool = NULL;
    CHECK_OK(pool_create(&pool, &config, &source));
    if (!pool || !page_touched) return;
    const uint64_t page_size = device.page_size;
    enum { MAX_LIVE = 400 };
    live_block_t live[MAX_LIVE];
    size_t live_count = 0;
    uint64_t in_use = 0, max_in_use = 0, refused = 0;
    const int failures_before = check_failures;
    for (size_t op = 0; op < operations && check_failures - failures_before < 20; op++) {
        uint64_t r = next_random();
        size_t target = (op / 20000) % 2 ? MAX_LIVE / 8 : MAX_LIVE - 1;
        int do_alloc = live_count == 0 || (live_count < MAX_LIVE &&
                                           (r % 100) < (live_count < target ? 60u : 40u));
        if (do_alloc) {
            size_t size = random_size();
            void *ptr;
            saraphis_status_t status = pool_alloc(pool, size, (pool_stream_t)((r >> 40) % 2), &ptr);
            if (cap && status == SARAPHIS_ERROR_OUT_OF_MEMORY) {
                refused++; /* the cap holds the pages in use plus this block's new ones */
            } else {
                CHECK_OK(status);
                if (status != SARAPHIS_OK) break;
                size_t rounded = pool_block_size(pool, ptr);
                touch_pages((uintptr_t)ptr, rounded, 1, &in_use);
                if (in_use > max_in_use) max_in_use = in_use;
                CHECK(device_contains(&device, (uintptr_t)ptr, rounded, 1));
                live[live_count++] = (live_block_t){ptr, rounded};
            }
        } else {
            size_t index = (size_t)((r >> 20) % live_count);
            live_block_t block = live[index];
            live[index] = live[--live_count];
            /* Counted out first: from here on the pool may unmap what only this block held. */
            touch_pages((uintptr_t)block.ptr, block.size, -1, &in_use);
            CHECK_OK(pool_dealloc(pool, block.ptr));
        }
        if ((r >> 50) % 2000 == 0) pool_synchronize(pool);
        pool_stats_t stats;
        pool_get_stats(pool, &stats);
        CHECK(stats.reserved_bytes == device.mapped_bytes);
        CHECK(device.mapped_bytes >= in_use * page_size);
        if (cap) CHECK(device.mapped_bytes <= cap);
        else CHECK(device.mapped_bytes <= max_in_use * page_size);
        if ((r >> 50) % 3000 == 1) {
            pool_trim(pool);
            CHECK(device.mapped_bytes == in_use * page_size);
        }
        if (op % 5000 == 0) {
            /* Page by page: every page in use is mapped. */
            for (size_t page = 0; page < page_count; page++)
                if (page_touched[page]) CHECK(device.page_mapped[page]);
        }
    }
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    if (!cap) CHECK(stats.peak_reserved_bytes == max_in_use * page_size);
    if (cap) CHECK(refused > 0 && stats.peak_reserved_bytes <= cap);
    CHECK(stats.segment_reservations == device.map_calls);
    CHECK(stats.segment_releases == device.unmap_calls);
    for (size_t i = 0; i < live_count; i++) {
        touch_pages((uintptr_t)live[i].ptr, live[i].size, -1, &in_use);
        CHECK_OK(pool_dealloc(pool, live[i].ptr));
    }
    CHECK(in_use == 0);
    pool_trim(pool);
    CHECK(device.mapped_bytes == 0);
    pool_free(pool);
    CHECK(device.mapped_bytes == 0);
    device.page_touched = NULL;
    free(page_touched);
    page_touched = NULL;
    device_destroy(&device);
}

static void test_page_accounting(void) { page_accounting(operation_count() / 10, 0); }
static void test_page_accounting_cap(void)
{
    page_accounting(operation_count() / 20, (size_t)1 * GIB);
}

int main(void)
{
    run_test("rounding_and_alignment", test_rounding_and_alignment);
    run_test("split_and_coalesce", test_split_and_coalesce);
    run_test("statistics", test_statistics);
    run_test("stream_rule", test_stream_rule);
    run_test("errors", test_errors);
    run_test("release_empty_on_grow", test_release_empty_on_grow);
    run_test("pages_backing", test_pages_backing);
    run_test("planner", test_planner);
    run_test("planned_mode", test_planned_mode);
    run_test("random_segments", test_random_segments);
    run_test("random_pages", test_random_pages);
    run_test("page_accounting", test_page_accounting);
    run_test("page_accounting_cap", test_page_accounting_cap);
    printf("pool: %d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed != 0;
}
