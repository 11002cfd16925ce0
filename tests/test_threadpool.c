/* The thread pool and contexts under concurrency: every item runs exactly once, the first
 * failure is reported with its message, pools are reused across many jobs, and independent
 * contexts compress and decompress from several threads at once with every result checked. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "engine/threadpool.h"
#include "saraphis.h"
#include "testing.h"

typedef struct {
    atomic_int *hits;
    size_t fail_from;
} count_job_t;

static saraphis_status_t count_item(void *job_ptr, size_t item, unsigned worker)
{
    count_job_t *job = job_ptr;
    atomic_fetch_add(&job->hits[item], 1);
    if (item >= job->fail_from) return error_set(SARAPHIS_ERROR_CORRUPT, "item %zu failed", item);
    return SARAPHIS_OK;
}

static void test_every_item_once(void)
{
    for (unsigned threads = 1; threads <= 4; threads++) {
        threadpool_t *pool = NULL;
        CHECK(threadpool_create(&pool, threads) == SARAPHIS_OK);
        CHECK(threadpool_size(pool) == threads);
        for (int round = 0; round < 50; round++) {
            size_t items = (size_t)(round * 37 % 1000);
            atomic_int *hits = calloc(items + 1, sizeof *hits);
            count_job_t job = {hits, (size_t)-1};
            CHECK(threadpool_run(pool, items, count_item, &job) == SARAPHIS_OK);
            int exact = 1;
            for (size_t i = 0; i < items; i++) exact &= atomic_load(&hits[i]) == 1;
            CHECK_MSG(exact, "threads %u round %d: an item ran other than once", threads, round);
            free(hits);
        }
        /* A failure stops the job and comes back with its status and message. */
        atomic_int *hits = calloc(500, sizeof *hits);
        count_job_t job = {hits, 100};
        CHECK(threadpool_run(pool, 500, count_item, &job) == SARAPHIS_ERROR_CORRUPT);
        CHECK(strstr(saraphis_last_error(), "failed") != NULL);
        free(hits);
        threadpool_free(pool);
    }
    threadpool_free(NULL);
}

typedef struct {
    int seed;
    int failures;
} worker_result_t;

static void *codec_worker(void *arg)
{
    worker_result_t *result = arg;
    unsigned long long rng = (unsigned long long)result->seed * 7919 + 1;
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 2);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 8192);
    for (int round = 0; round < 20; round++) {
        size_t size = 2 * (1000 + test_random(&rng) % 40000);
        uint8_t *data = malloc(size), *back = malloc(size);
        for (size_t i = 0; i < size; i++) data[i] = (i & 1) ? (uint8_t)(0x3c + (test_random(&rng) & 3)) : (uint8_t)test_random(&rng);
        size_t capacity = saraphis_compress_bound(size, 8192), frame_size, back_size;
        uint8_t *frame = malloc(capacity);
        if (saraphis_compress(ctx, SARAPHIS_DTYPE_BF16, data, size, frame, capacity, &frame_size) != SARAPHIS_OK ||
            saraphis_decompress(ctx, frame, frame_size, back, size, &back_size) != SARAPHIS_OK || back_size != size ||
            memcmp(data, back, size) != 0)
            result->failures++;
        free(data); free(back); free(frame);
    }
    saraphis_ctx_free(ctx);
    return NULL;
}

static void test_contexts_in_parallel(void)
{
    pthread_t threads[6];
    worker_result_t results[6];
    for (int i = 0; i < 6; i++) {
        results[i] = (worker_result_t){i, 0};
        CHECK(pthread_create(&threads[i], NULL, codec_worker, &results[i]) == 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(results[i].failures == 0, "worker %d: %d failed round trips", i, results[i].failures);
    }
}

int main(void)
{
    test_every_item_once();
    test_contexts_in_parallel();
    return TEST_SUMMARY("threadpool");
}
