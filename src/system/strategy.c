/* The strategy table and the ADAPTIVE rules (strategy.h). The settings trade as follows:
 * larger chunks cost fewer per-chunk headers and tables (throughput, ratio) but need larger
 * buffers per request; threads per request cut one large request's latency but add hand-offs;
 * taking several requests per dequeue cuts lock traffic at the price of head-of-line waiting;
 * one request in flight bounds memory to one request's buffers. */
#include "system/strategy.h"

#include <stdio.h>

#include "memory/pressure.h"

#define KIB ((size_t)1024)

void strategy_settings(saraphis_strategy_t strategy, const strategy_inputs_t *inputs,
                       strategy_settings_t *settings)
{
    unsigned workers = inputs->workers ? inputs->workers : 1;
    unsigned cores = inputs->cores ? inputs->cores : 1;
    strategy_settings_t s;
    switch (strategy) {
    case SARAPHIS_STRATEGY_THROUGHPUT:
        s = (strategy_settings_t){strategy, 1024 * KIB, 1, 8, workers, 0, 1, 0};
        break;
    case SARAPHIS_STRATEGY_LATENCY:
        s = (strategy_settings_t){strategy, 64 * KIB, cores, 1, workers, 0, 1, 0};
        break;
    case SARAPHIS_STRATEGY_MEMORY:
        s = (strategy_settings_t){strategy, 64 * KIB, 1, 1, 1, 1, 0, 4};
        break;
    case SARAPHIS_STRATEGY_BALANCED:
    case SARAPHIS_STRATEGY_ADAPTIVE: /* callers resolve ADAPTIVE first; BALANCED is its start */
    default:
        s = (strategy_settings_t){SARAPHIS_STRATEGY_BALANCED, 256 * KIB, 1, 2, workers, 1, 1, 0};
        break;
    }
    if (inputs->chunk_override) s.chunk_bytes = inputs->chunk_override;
    if (inputs->threads_override) s.codec_threads = inputs->threads_override;
    if (inputs->checksum_override >= 0) s.content_checksum = inputs->checksum_override;
    *settings = s;
}

saraphis_strategy_t strategy_adapt(const adaptive_window_t *window, unsigned workers,
                                   double latency_target_ms, char *reason, size_t capacity)
{
    if (window->pressure_state >= PRESSURE_HIGH) {
        snprintf(reason, capacity,
                 "memory state %s: one request in flight and small chunks keep buffers small",
                 pressure_state_name((pressure_state_t)window->pressure_state));
        return SARAPHIS_STRATEGY_MEMORY;
    }
    if (window->mean_queue_depth >= (double)workers) {
        snprintf(reason, capacity,
                 "backlog: %.1f requests waiting on average >= %u workers; large chunks and "
                 "batched dequeues raise throughput (%.1f MB/s this window)",
                 window->mean_queue_depth, workers, window->throughput_mb_s);
        return SARAPHIS_STRATEGY_THROUGHPUT;
    }
    double large = 2.0 * 256.0 * 1024.0;
    if (window->latency_p95_ms > latency_target_ms && window->mean_request_bytes >= large) {
        snprintf(reason, capacity,
                 "p95 latency %.3f ms > target %.3f ms on requests of %.0f KiB on average, and "
                 "no backlog (%.1f waiting): split each request over threads",
                 window->latency_p95_ms, latency_target_ms, window->mean_request_bytes / 1024.0,
                 window->mean_queue_depth);
        return SARAPHIS_STRATEGY_LATENCY;
    }
    snprintf(reason, capacity,
             "no backlog (%.1f waiting < %u workers), p95 latency %.3f ms %s target %.3f ms%s",
             window->mean_queue_depth, workers, window->latency_p95_ms,
             window->latency_p95_ms > latency_target_ms ? ">" : "<=", latency_target_ms,
             window->latency_p95_ms > latency_target_ms ? " but requests too small to split" : "");
    return SARAPHIS_STRATEGY_BALANCED;
}
