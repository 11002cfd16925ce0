/* A fixed pool of worker threads running "parallel for" jobs: item indices are handed out by an
 * atomic counter, so the work split never changes what is computed, only who computes it. The
 * calling thread takes part in each job, so a pool of one thread spawns nothing. */
#ifndef SARAPHIS_ENGINE_THREADPOOL_H
#define SARAPHIS_ENGINE_THREADPOOL_H

#include <stddef.h>

#include "saraphis.h"

typedef struct threadpool_s threadpool_t;

/* Runs for one item; worker is in [0, threadpool_size()) and indexes per-worker scratch. A
 * non-OK return stops handing out further items; the first failure (lowest item index among
 * those that failed) is what threadpool_run returns, with its message. */
typedef saraphis_status_t (*threadpool_item_fn)(void *job, size_t item, unsigned worker);

/* threads = 0 means one per online core. */
saraphis_status_t threadpool_create(threadpool_t **pool, unsigned threads);
void threadpool_free(threadpool_t *pool);
unsigned threadpool_size(const threadpool_t *pool);
saraphis_status_t threadpool_run(threadpool_t *pool, size_t items, threadpool_item_fn fn, void *job);
unsigned threadpool_online_cores(void);

#endif
