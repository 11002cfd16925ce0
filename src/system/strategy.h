/* Strategies: each of THROUGHPUT, LATENCY, MEMORY, BALANCED maps to concrete settings (the table
 * in docs/coordinator.md is this file's strategy_settings); ADAPTIVE picks one of them from the
 * last window of measurements, by the rules of strategy_adapt, and says why. Pure functions: no
 * state, no clock, so every rule is unit-tested. */
#ifndef SARAPHIS_SYSTEM_STRATEGY_H
#define SARAPHIS_SYSTEM_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

typedef struct {
    saraphis_strategy_t strategy; /* the concrete strategy these settings come from */
    size_t chunk_bytes;           /* frame chunk size */
    unsigned codec_threads;       /* threads one request of >= 2 chunks per thread may use */
    unsigned dequeue_batch;       /* requests a worker takes from the queue at once */
    unsigned max_in_flight;       /* requests running at once, all workers together */
    int content_checksum;         /* checksum of decoded bytes in every chunk */
    int prefer_gpu;               /* route to the GPU when one is usable (else keep it free) */
    unsigned batch_window;        /* compress_batch keeps at most this many items queued */
} strategy_settings_t;

typedef struct {
    unsigned workers;       /* coordinator worker threads */
    unsigned cores;         /* online cores */
    size_t chunk_override;  /* codec_chunk_bytes; 0: none */
    unsigned threads_override; /* codec_threads; 0: none */
    int checksum_override;  /* -1: none, else 0/1 */
} strategy_inputs_t;

/* strategy must not be ADAPTIVE (ADAPTIVE runs one of the four). */
void strategy_settings(saraphis_strategy_t strategy, const strategy_inputs_t *inputs,
                       strategy_settings_t *settings);

/* Measurements over one window of completed requests. */
typedef struct {
    uint64_t requests;
    double seconds;            /* wall time the window spanned */
    double throughput_mb_s;    /* raw MB (1e6 bytes) per second of wall time over the window */
    double latency_p95_ms;     /* of the window's requests, queue time included */
    double mean_queue_depth;   /* requests waiting when each request arrived */
    double mean_request_bytes;
    int pressure_state;        /* pressure_state_t; -1 when the handler is off */
} adaptive_window_t;

/* The concrete strategy for the next window, and why (reason gets a sentence). Rules, first
 * match wins: memory HIGH or CRITICAL -> MEMORY; mean queue depth >= workers -> THROUGHPUT;
 * p95 latency above the target on requests of at least two BALANCED chunks -> LATENCY;
 * otherwise BALANCED. */
saraphis_strategy_t strategy_adapt(const adaptive_window_t *window, unsigned workers,
                                   double latency_target_ms, char *reason, size_t capacity);

#endif
