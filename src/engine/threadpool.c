/* Thread pool (threadpool.h). One job at a time: run() publishes the job under the mutex, bumps
 * a generation counter and waits until every worker has checked out of that generation.
 *
 * Between jobs a worker first spins on the generation for SPIN_NANOSECONDS, and only then sleeps
 * on the condition variable; the caller likewise spins before it sleeps waiting for the workers.
 * Callers that run jobs back to back (the GPU encoder plans a batch of chunks every 100 us or so;
 * a model's tensors are compressed one after another) then find every worker awake, instead of
 * paying each worker's wake-up (tens of microseconds on a loaded host, where a whole job may take
 * forty), and an idle pool still sleeps. A spinning thread yields its core every 256 pauses (a few
 * microseconds): with as many threads as cores, the caller between jobs (waiting on the device,
 * say) and anything else runnable on the host would otherwise wait out a scheduler time slice,
 * milliseconds, behind threads that have nothing to do. */
#include "engine/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

struct threadpool_s {
    unsigned size; /* workers including the caller */
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t work_ready;
    pthread_cond_t work_done;
    atomic_ulong generation; /* written under the mutex, read by spinning workers without it */
    atomic_uint busy_workers;
    atomic_int shutting_down;
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

#define SPIN_NANOSECONDS 200000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t now_nanoseconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Spins until done() holds or SPIN_NANOSECONDS pass; returns whether it holds. */
#define SPIN_UNTIL(done)                                                                        \
    do {                                                                                        \
        const uint64_t spin_start = now_nanoseconds();                                          \
        for (unsigned spin = 1; !(done); spin++) {                                              \
            cpu_relax();                                                                        \
            if ((spin & 255) == 0) {                                                            \
                if (now_nanoseconds() - spin_start > SPIN_NANOSECONDS) break;                   \
                sched_yield();                                                                  \
            }                                                                                   \
        }                                                                                       \
    } while (0)

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
    for (;;) {
        SPIN_UNTIL(atomic_load(&pool->generation) != seen || atomic_load(&pool->shutting_down));
        if (atomic_load(&pool->generation) == seen) {
            pthread_mutex_lock(&pool->mutex);
            while (!atomic_load(&pool->shutting_down) && atomic_load(&pool->generation) == seen)
                pthread_cond_wait(&pool->work_ready, &pool->mutex);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->shutting_down)) break;
        /* The job's fields were written before the generation moved (sequentially consistent
         * atomics), and the next job cannot start before this worker has checked out. */
        seen = atomic_load(&pool->generation);
        run_items(pool, worker);
        if (atomic_fetch_sub(&pool->busy_workers, 1) == 1) {
            /* Under the mutex, so that a caller that found workers busy and is about to wait
             * cannot miss this signal. */
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->work_done);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
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
    atomic_store(&pool->shutting_down, 1);
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
    atomic_store(&pool->busy_workers, pool->size - 1);
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->mutex);
    run_items(pool, 0);
    SPIN_UNTIL(atomic_load(&pool->busy_workers) == 0);
    pthread_mutex_lock(&pool->mutex);
    while (atomic_load(&pool->busy_workers) > 0) pthread_cond_wait(&pool->work_done, &pool->mutex);
    int failed = atomic_load(&pool->failed);
    saraphis_status_t status = pool->failed_status;
    char message[1024];
    memcpy(message, pool->failed_message, sizeof message);
    pthread_mutex_unlock(&pool->mutex);
    if (failed) return error_set(status, "%s", message);
    return SARAPHIS_OK;
}
