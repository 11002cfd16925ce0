/* pool_trace: allocation traces (the CSV that PyTorch's memory history gives, see
 * shared/data/alloc-traces/README.md) loaded into memory and replayed through a SmartPool.
 *
 * A trace is a sequence of alloc and free events; each free names the alloc it ends by block id
 * (the alloc's ordinal), so a replay needs no address map of its own. segment_alloc rows (how
 * PyTorch grew its own pool) are skipped.
 *
 * Thread-safety: a loaded trace is read-only and may be replayed from many threads at once into
 * different pools.
 */
#ifndef SARAPHIS_MEMORY_POOL_TRACE_H
#define SARAPHIS_MEMORY_POOL_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "memory/pool.h"

typedef enum { POOL_TRACE_ALLOC = 0, POOL_TRACE_FREE = 1 } pool_trace_action_t;

typedef struct {
    uint64_t size;   /* requested bytes */
    uint32_t block;  /* block id: the ordinal of the alloc event */
    uint32_t stream;
    uint8_t action;  /* pool_trace_action_t */
} pool_trace_event_t;

typedef struct {
    pool_trace_event_t *events;
    size_t event_count;
    size_t alloc_count;
    uint64_t *alloc_sizes;   /* requested size of each block id */
    size_t *alloc_event;     /* event index of each block's alloc */
    size_t *free_event;      /* event index of each block's free; event_count when never freed */
    uint64_t peak_live_requested; /* largest sum of live requested sizes */
} pool_trace_t;

/* Reads a trace CSV (header action,addr,size,stream,time_us). Malformed rows, a free of an
 * address that is not live and an alloc at an address that is already live are errors naming
 * the line. */
saraphis_status_t pool_trace_load(const char *path, pool_trace_t **trace);
void pool_trace_free(pool_trace_t *trace); /* NULL does nothing */

/* Largest sum of live sizes, each rounded up to alignment (what a pool's peak live will be). */
uint64_t pool_trace_peak_live(const pool_trace_t *trace, size_t alignment);

/* Where a training loop's iterations are: iterations begin before block ids first_alloc,
 * first_alloc + length, ... up to the end of the trace. */
typedef struct {
    size_t first_alloc;
    size_t length;     /* allocations per iteration; 0: no iterations */
    size_t repeats;    /* whole periods in the repeating run that was found */
} pool_trace_iterations_t;

/* Finds the loop: the longest run where the size sequence repeats with one period
 * (planner_find_period, periods of at least min_period), then rotates the boundary within the
 * first period to the point with the fewest live bytes (between two training steps, where an
 * iteration's temporaries are all dead). NOT_FOUND when no period repeats at least 3 times. */
saraphis_status_t pool_trace_find_iterations(const pool_trace_t *trace, size_t min_period,
                                             pool_trace_iterations_t *iterations);

typedef struct {
    /* Iteration marks (pool_iteration_begin/end) to place; length 0 places none. */
    pool_trace_iterations_t iterations;
    /* Called after each alloc and before each free; may be NULL. */
    void (*on_alloc)(void *user, size_t block, void *ptr, uint64_t size);
    void (*on_free)(void *user, size_t block, void *ptr, uint64_t size);
    void *user;
} pool_replay_options_t;

/* Replays every event into pool; blocks still live at the end stay live. block_ptrs (may be
 * NULL) receives each block id's pointer and must hold alloc_count entries. */
saraphis_status_t pool_trace_replay(pool_t *pool, const pool_trace_t *trace,
                                    const pool_replay_options_t *options, void **block_ptrs);

#endif
