/* GPU test and benchmark for SmartPool and the pressure handler (needs a CUDA device; see
 * tests/gpu/README.md for the build line). It
 *   1. checks the real probe (pressure_probe_cuda) against cudaMemGetInfo;
 *   2. pushes the pressure handler from LOW to CRITICAL with real cudaMalloc allocations and back,
 *      checking each adopted state against the thresholds, and that require_gpu fails hard when
 *      the device cannot hold the request;
 *   3. runs SmartPool on device memory (cuda source, segments and pages backing): random blocks
 *      are written with cudaMemset and read back, so a block outside reserved/mapped memory or
 *      two overlapping blocks show up as wrong bytes or CUDA errors;
 *   4. replays the ResNet-50 trace on the device when the trace folder is found;
 *   5. times alloc+free pairs (median ns over batches): cudaMalloc/cudaFree,
 *      cudaMallocAsync/cudaFreeAsync (stream-ordered pool with a high release threshold), and
 *      SmartPool (both backings).
 * Prints "pool_cuda: N passed, M failed" and exits nonzero on a failure.
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "memory/pool.h"
#include "memory/pool_trace.h"
#include "memory/pressure.h"
#include "pool_test_support.h"

#ifndef SARAPHIS_SOURCE_DIR
#define SARAPHIS_SOURCE_DIR "."
#endif

#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

#define CUDA_CHECK(call)                                                                  \
    do {                                                                                  \
        cudaError_t cuda_check_error_ = (call);                                           \
        if (cuda_check_error_ != cudaSuccess) {                                           \
            check_failures++;                                                             \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,                 \
                    cudaGetErrorString(cuda_check_error_));                               \
        }                                                                                 \
    } while (0)

static int device_id = 0;

static double now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_probe(void)
{
    pressure_probe_t probe;
    pressure_probe_cuda(&probe, &device_id);
    uint64_t free_bytes = 0, total_bytes = 0;
    CHECK_OK(probe.query(probe.context, &free_bytes, &total_bytes));
    size_t free_size, total_size;
    CUDA_CHECK(cudaMemGetInfo(&free_size, &total_size));
    CHECK(total_bytes == total_size && total_bytes > 0);
    CHECK(free_bytes <= total_bytes);
    /* Free memory moves between the two queries only by what other processes do. */
    uint64_t difference = free_bytes > free_size ? free_bytes - free_size : free_size - free_bytes;
    CHECK(difference < 512 * MIB);
    printf("probe: %llu of %llu bytes free\n", (unsigned long long)free_bytes,
           (unsigned long long)total_bytes);
}

static pressure_state_t expected_state(double utilization, pressure_state_t previous)
{
    /* The default thresholds and hysteresis of pressure.h. */
    pressure_state_t raw = utilization >= 0.90   ? PRESSURE_CRITICAL
                           : utilization >= 0.75 ? PRESSURE_HIGH
                           : utilization >= 0.50 ? PRESSURE_MODERATE
                                                 : PRESSURE_LOW;
    if (raw >= previous) return raw;
    static const double entry[] = {0.0, 0.50, 0.75, 0.90};
    pressure_state_t state = previous;
    while (state > PRESSURE_LOW && utilization < entry[state] * 0.85)
        state = (pressure_state_t)(state - 1);
    return state;
}

static void test_pressure_climb(void)
{
    pressure_probe_t probe;
    pressure_probe_cuda(&probe, &device_id);
    pressure_config_t config;
    pressure_config_default(&config);
    config.switch_delay_ms = 0; /* every sample adopts its target: the test drives the timeline */
    pressure_t *handler;
    CHECK_OK(pressure_create(&handler, &config, &probe));
    CHECK_OK(pressure_sample(handler));
    size_t free_size, total_size;
    CUDA_CHECK(cudaMemGetInfo(&free_size, &total_size));
    enum { MAX_CHUNKS = 4096 };
    void **chunks = calloc(MAX_CHUNKS, sizeof *chunks);
    size_t chunk_count = 0;
    size_t chunk = total_size / 200; /* 0.5% steps: every threshold is crossed on its own */
    int seen[4] = {0};
    pressure_state_t previous = pressure_state(handler);
    seen[previous] = 1;
    while (chunk_count < MAX_CHUNKS) {
        if (cudaMalloc(&chunks[chunk_count], chunk) != cudaSuccess) {
            cudaGetLastError();
            break;
        }
        chunk_count++;
        CHECK_OK(pressure_sample(handler));
        double utilization = pressure_utilization(handler);
        pressure_state_t state = pressure_state(handler);
        CHECK(state == expected_state(utilization, previous));
        seen[state] = 1;
        previous = state;
        if (utilization > 0.97) break;
    }
    CHECK(seen[PRESSURE_MODERATE] && seen[PRESSURE_HIGH] && seen[PRESSURE_CRITICAL]);
    printf("pressure: %zu chunks of %zu bytes, reached %s at %.3f\n", chunk_count, chunk,
           pressure_state_name(pressure_state(handler)), pressure_utilization(handler));
    /* Routing at the top: force_cpu_on_critical sends ordinary requests to the CPU; a request
     * that must be on the GPU and cannot fit is a hard error. */
    pressure_decision_t decision;
    CHECK_OK(pressure_route(handler, MIB, 0, 0, &decision));
    CHECK(decision.placement == PRESSURE_PLACE_CPU);
    CHECK(pressure_route(handler, (uint64_t)total_size, 1, 0, &decision) ==
          SARAPHIS_ERROR_OUT_OF_MEMORY);
    /* And back down. */
    while (chunk_count) {
        CUDA_CHECK(cudaFree(chunks[--chunk_count]));
        CHECK_OK(pressure_sample(handler));
        double utilization = pressure_utilization(handler);
        pressure_state_t state = pressure_state(handler);
        CHECK(state == expected_state(utilization, previous));
        previous = state;
    }
    CHECK(pressure_state(handler) == PRESSURE_LOW || pressure_utilization(handler) >= 0.425);
    /* The monitoring thread on the real probe. */
    config.monitoring_interval_ms = 5;
    pressure_free(handler);
    CHECK_OK(pressure_create(&handler, &config, &probe));
    CHECK_OK(pressure_start(handler));
    struct timespec pause = {0, 100000000};
    nanosleep(&pause, NULL);
    pressure_stop(handler);
    CHECK(pressure_sample_count(handler) >= 5);
    pressure_free(handler);
    free(chunks);
}

static int make_cuda_pool(pool_backing_t backing, pool_source_t *source, pool_t **pool)
{
    if (pool_source_cuda_create(source, device_id, backing == POOL_BACKING_PAGES) != SARAPHIS_OK) {
        fprintf(stderr, "cuda source: %s\n", saraphis_last_error());
        check_failures++;
        return 0;
    }
    if (backing == POOL_BACKING_PAGES && !source->map) {
        printf("note: this device has no virtual memory management; pages backing skipped\n");
        pool_source_cuda_destroy(source);
        return 0;
    }
    pool_config_t config;
    pool_config_default(&config);
    config.backing = backing;
    size_t page = pool_source_cuda_page_size(source);
    if (page > config.segment_granularity) {
        config.segment_granularity = page;
        config.small_segment_size = page;
    }
    size_t free_size, total_size;
    cudaMemGetInfo(&free_size, &total_size);
    config.virtual_capacity = 2 * total_size; /* address space is cheap; physical is not */
    if (pool_create(pool, &config, source) != SARAPHIS_OK) {
        fprintf(stderr, "pool_create: %s\n", saraphis_last_error());
        check_failures++;
        pool_source_cuda_destroy(source);
        return 0;
    }
    return 1;
}

static void test_pool_on_device(pool_backing_t backing)
{
    pool_source_t source;
    pool_t *pool;
    if (!make_cuda_pool(backing, &source, &pool)) return;
    enum { LIVE = 256 };
    void *blocks[LIVE] = {0};
    size_t sizes[LIVE] = {0};
    uint64_t state = 42;
    unsigned char *host = malloc(64 * MIB);
    for (int op = 0; op < 20000 && host; op++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        int slot = (int)((state >> 33) % LIVE);
        if (blocks[slot]) {
            /* Read back the pattern written at allocation: another block overlapping this one
             * would have overwritten it. */
            size_t check = sizes[slot] < 64 * MIB ? sizes[slot] : 64 * MIB;
            CUDA_CHECK(cudaMemcpy(host, blocks[slot], check, cudaMemcpyDeviceToHost));
            unsigned char expected = (unsigned char)(slot * 7 + 1);
            for (size_t i = 0; i < check; i += 4099) CHECK(host[i] == expected);
            CHECK_OK(pool_dealloc(pool, blocks[slot]));
            blocks[slot] = NULL;
        } else {
            size_t size = (state >> 20) % 4 == 0 ? 1 + (state >> 24) % (48 * MIB)
                                                 : 1 + (state >> 24) % (256 * 1024);
            CHECK_OK(pool_alloc(pool, size, 0, &blocks[slot]));
            sizes[slot] = size;
            CUDA_CHECK(cudaMemset(blocks[slot], slot * 7 + 1, size));
        }
    }
    for (int i = 0; i < LIVE; i++)
        if (blocks[i]) CHECK_OK(pool_dealloc(pool, blocks[i]));
    CUDA_CHECK(cudaDeviceSynchronize());
    pool_stats_t stats;
    pool_get_stats(pool, &stats);
    printf("device pool (%s): peak live %llu, peak reserved %llu, %llu reserve/map calls\n",
           backing == POOL_BACKING_PAGES ? "pages" : "segments",
           (unsigned long long)stats.peak_live_bytes,
           (unsigned long long)stats.peak_reserved_bytes,
           (unsigned long long)stats.segment_reservations);
    free(host);
    pool_free(pool);
    pool_source_cuda_destroy(&source);
}

static void test_pool_segments(void) { test_pool_on_device(POOL_BACKING_SEGMENTS); }
static void test_pool_pages(void) { test_pool_on_device(POOL_BACKING_PAGES); }

static void test_trace_on_device(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/../shared/data/alloc-traces/trace_resnet50_train_b64.csv",
             SARAPHIS_SOURCE_DIR);
    struct stat info;
    if (stat(path, &info) != 0) {
        printf("note: %s absent; device trace replay skipped\n", path);
        return;
    }
    pool_trace_t *trace;
    CHECK_OK(pool_trace_load(path, &trace));
    for (int b = 0; b < 2; b++) {
        pool_backing_t backing = b ? POOL_BACKING_PAGES : POOL_BACKING_SEGMENTS;
        pool_source_t source;
        pool_t *pool;
        if (!make_cuda_pool(backing, &source, &pool)) continue;
        double start = now_ns();
        saraphis_status_t status = pool_trace_replay(pool, trace, NULL, NULL);
        double elapsed = now_ns() - start;
        CHECK_OK(status);
        pool_stats_t stats;
        pool_get_stats(pool, &stats);
        printf("resnet trace on the device (%s): reserved/live %.4f, %llu reserve/map calls, "
               "%.0f ns per event including driver calls\n",
               b ? "pages" : "segments",
               (double)stats.peak_reserved_bytes / (double)stats.peak_live_bytes,
               (unsigned long long)stats.segment_reservations,
               elapsed / (double)trace->event_count);
        pool_free(pool);
        pool_source_cuda_destroy(&source);
    }
    pool_trace_free(trace);
}

/* ------------------------------------------------------------------------------------------ */
/* Timing                                                                                     */

#define BATCHES 200
#define PAIRS 100

typedef int (*pair_fn)(void *context, size_t size);

static double median_pair_ns(pair_fn pair, void *context, size_t size)
{
    double samples[BATCHES];
    for (int warm = 0; warm < PAIRS; warm++)
        if (!pair(context, size)) return -1;
    for (int batch = 0; batch < BATCHES; batch++) {
        double start = now_ns();
        for (int i = 0; i < PAIRS; i++)
            if (!pair(context, size)) return -1;
        samples[batch] = (now_ns() - start) / PAIRS;
    }
    qsort(samples, BATCHES, sizeof samples[0], compare_doubles);
    return samples[BATCHES / 2];
}

static int pair_cuda_malloc(void *context, size_t size)
{
    (void)context;
    void *pointer;
    if (cudaMalloc(&pointer, size) != cudaSuccess) return 0;
    return cudaFree(pointer) == cudaSuccess;
}

static int pair_cuda_malloc_async(void *context, size_t size)
{
    cudaStream_t stream = context;
    void *pointer;
    if (cudaMallocAsync(&pointer, size, stream) != cudaSuccess) return 0;
    return cudaFreeAsync(pointer, stream) == cudaSuccess;
}

static int pair_pool(void *context, size_t size)
{
    pool_t *pool = context;
    void *pointer;
    if (pool_alloc(pool, size, 0, &pointer) != SARAPHIS_OK) return 0;
    return pool_dealloc(pool, pointer) == SARAPHIS_OK;
}

static void benchmark(void)
{
    static const size_t sizes[] = {4096, MIB, 64 * MIB};
    cudaStream_t stream;
    CUDA_CHECK(cudaStreamCreate(&stream));
    cudaMemPool_t memory_pool;
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&memory_pool, device_id));
    uint64_t keep = UINT64_MAX; /* keep freed memory cached in the stream-ordered pool */
    CUDA_CHECK(cudaMemPoolSetAttribute(memory_pool, cudaMemPoolAttrReleaseThreshold, &keep));
    pool_source_t sources[2];
    pool_t *pools[2] = {NULL, NULL};
    int have[2];
    for (int b = 0; b < 2; b++)
        have[b] = make_cuda_pool(b ? POOL_BACKING_PAGES : POOL_BACKING_SEGMENTS, &sources[b],
                                 &pools[b]);
    printf("\nalloc+free pair, median ns over %d batches of %d pairs\n", BATCHES, PAIRS);
    printf("%-12s %16s %22s %20s %18s\n", "size", "cudaMalloc/Free", "cudaMallocAsync/Free",
           "SmartPool segments", "SmartPool pages");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        double sync = median_pair_ns(pair_cuda_malloc, NULL, sizes[s]);
        double async = median_pair_ns(pair_cuda_malloc_async, stream, sizes[s]);
        double segments = have[0] ? median_pair_ns(pair_pool, pools[0], sizes[s]) : -1;
        double pages = have[1] ? median_pair_ns(pair_pool, pools[1], sizes[s]) : -1;
        printf("%-12zu %16.0f %22.0f %20.1f %18.1f\n", sizes[s], sync, async, segments, pages);
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
    CUDA_CHECK(cudaStreamDestroy(stream));
    for (int b = 0; b < 2; b++) {
        if (!have[b]) continue;
        pool_free(pools[b]);
        pool_source_cuda_destroy(&sources[b]);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) device_id = atoi(argv[1]);
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count <= device_id) {
        printf("pool_cuda: no CUDA device %d; nothing run\n", device_id);
        return 1;
    }
    CUDA_CHECK(cudaSetDevice(device_id));
    run_test("probe", test_probe);
    run_test("pressure_climb", test_pressure_climb);
    run_test("pool_segments", test_pool_segments);
    run_test("pool_pages", test_pool_pages);
    run_test("trace_on_device", test_trace_on_device);
    run_test("benchmark", benchmark);
    printf("pool_cuda: %d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed != 0;
}
