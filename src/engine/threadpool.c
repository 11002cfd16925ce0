/* Thread pool (threadpool.h). One job at a time: run() publishes the job under the mutex, bumps
 * a generation counter and waits until every worker has checked out of that generation. */
#include "engine/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

struct threadpool_s {
    unsigned size; /* workers including the caller */
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t work_ready;
    pthread_cond_t work_done;
    unsigned long generation;
    unsigned busy_workers;
    int shutting_down;
    /* The current job. */
    threadpool_item_fn fn;
    void *job;
    size_t items;
    atomic_size_t next_item;
    atomic_int failed;
    size_t failed_item;
    saraphis_status_t failed_status;
    char failed_message[1024];
};

unsigned threadpool_online_cores(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (unsigned)cores : 1;
}

static void run_items(threadpool_t *pool, unsigned worker)
{
    for (;;) {
        if (atomic_load_explicit(&pool->failed, memory_order_relaxed)) return;
        size_t item = atomic_fetch_add(&pool->next_item, 1);
        if (item >= pool->items) return;
        saraphis_status_t status = pool->fn(pool->job, item, worker);
        if (status != SARAPHIS_OK) {
            pthread_mutex_lock(&pool->mutex);
            if (!atomic_load(&pool->failed) || item < pool->failed_item) {
                pool->failed_item = item;
                pool->failed_status = status;
                strncpy(pool->failed_message, saraphis_last_error(), sizeof pool->failed_message - 1);
                pool->failed_message[sizeof pool->failed_message - 1] = '\0';
            }
            atomic_store(&pool->failed, 1);
            pthread_mutex_unlock(&pool->mutex);
            return;
        }
    }
}

typedef struct {
    threadpool_t *pool;
    unsigned worker;
} worker_arg_t;

static void *worker_main(void *arg_ptr)
{
    worker_arg_t *arg = arg_ptr;
    threadpool_t *pool = arg->pool;
    unsigned worker = arg->worker;
    free(arg);
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->mutex);
    for (;;) {
        while (!pool->shutting_down && pool->generation == seen) pthread_cond_wait(&pool->work_ready, &pool->mutex);
        if (pool->shutting_down) break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->mutex);
        run_items(pool, worker);
        pthread_mutex_lock(&pool->mutex);
        if (--pool->busy_workers == 0) pthread_cond_signal(&pool->work_done);
    }
    pthread_mutex_unlock(&pool->mutex);
    return NULL;
}

saraphis_status_t threadpool_create(threadpool_t **out, unsigned threads)
{
    *out = NULL;
    if (threads == 0) threads = threadpool_online_cores();
    threadpool_t *pool = calloc(1, sizeof *pool);
    if (!pool) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "thread pool: no memory");
    pool->size = threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->work_done, NULL);
    if (threads > 1) {
        pool->threads = calloc(threads - 1, sizeof *pool->threads);
        if (!pool->threads) { threadpool_free(pool); return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "thread pool: no memory"); }
        for (unsigned i = 0; i + 1 < threads; i++) {
            worker_arg_t *arg = malloc(sizeof *arg);
            if (arg) { arg->pool = pool; arg->worker = i + 1; }
            if (!arg || pthread_create(&pool->threads[i], NULL, worker_main, arg) != 0) {
                free(arg);
                pool->size = i + 1; /* the threads started so far, plus the caller */
                threadpool_free(pool);
                return error_set(SARAPHIS_ERROR_THREAD, "thread pool: could not start worker %u of %u", i + 1, threads - 1);
            }
        }
    }
    *out = pool;
    return SARAPHIS_OK;
}

void threadpool_free(threadpool_t *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    pool->shutting_down = 1;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->mutex);
    if (pool->threads)
        for (unsigned i = 0; i + 1 < pool->size; i++) pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->work_ready);
    pthread_cond_destroy(&pool->work_done);
    free(pool);
}

unsigned threadpool_size(const threadpool_t *pool) { return pool ? pool->size : 1; }

saraphis_status_t threadpool_run(threadpool_t *pool, size_t items, threadpool_item_fn fn, void *job)
{
    if (items == 0) return SARAPHIS_OK;
    if (!pool || pool->size == 1 || items == 1) {
        for (size_t item = 0; item < items; item++) SPS_TRY(fn(job, item, 0));
        return SARAPHIS_OK;
    }
    pthread_mutex_lock(&pool->mutex);
    pool->fn = fn;
    pool->job = job;
    pool->items = items;
    atomic_store(&pool->next_item, 0);
    atomic_store(&pool->failed, 0);
    pool->failed_item = 0;
    pool->busy_workers = pool->size - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->mutex);
    run_items(pool, 0);
    pthread_mutex_lock(&pool->mutex);
    while (pool->busy_workers > 0) pthread_cond_wait(&pool->work_done, &pool->mutex);
    int failed = atomic_load(&pool->failed);
    saraphis_status_t status = pool->failed_status;
    char message[1024];
    memcpy(message, pool->failed_message, sizeof message);
    pthread_mutex_unlock(&pool->mutex);
    if (failed) return error_set(status, "%s", message);
    return SARAPHIS_OK;
}
