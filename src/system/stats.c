/* Statistics: counters, sample rings for percentiles and the ADAPTIVE window. Every figure the
 * status reports is updated here, under stats_lock, when a request finishes or fails; the
 * ADAPTIVE decision is taken here too and applied after the lock is released. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "system/system.h"

saraphis_status_t stats_init(system_stats_t *stats, size_t ring_capacity, size_t window_capacity)
{
    stats->latency_ms = calloc(ring_capacity, sizeof(double));
    stats->throughput_mb_s = calloc(ring_capacity, sizeof(double));
    stats->window_latency_ms = calloc(window_capacity, sizeof(double));
    stats->ring_capacity = ring_capacity;
    stats->window_capacity = window_capacity;
    if (!stats->latency_ms || !stats->throughput_mb_s || !stats->window_latency_ms)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "statistics: no memory for %zu samples", ring_capacity);
    return SARAPHIS_OK;
}

void stats_release(system_stats_t *stats)
{
    free(stats->latency_ms);
    free(stats->throughput_mb_s);
    free(stats->window_latency_ms);
    stats->latency_ms = stats->throughput_mb_s = stats->window_latency_ms = NULL;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_percentile(double *samples, size_t count, double p)
{
    if (count == 0) return 0.0;
    qsort(samples, count, sizeof *samples, compare_double);
    /* Nearest rank: the smallest sample with at least p% of the samples at or below it. */
    size_t rank = (size_t)((p / 100.0) * (double)count + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > count) rank = count;
    return samples[rank - 1];
}

void stats_record_failure(saraphis_system_t *system, request_kind_t kind, saraphis_status_t status)
{
    pthread_mutex_lock(&system->stats_lock);
    if (kind == REQUEST_COMPRESS) system->stats.failed_compressions++;
    else system->stats.failed_decompressions++;
    system->stats.errors[(unsigned)status < SYSTEM_STATUS_KINDS ? (unsigned)status : 1]++;
    pthread_mutex_unlock(&system->stats_lock);
}

void stats_record_request(saraphis_system_t *system, const request_t *request)
{
    if (request->status != SARAPHIS_OK) {
        stats_record_failure(system, request->kind, request->status);
        return;
    }
    int profiling = config_bool(&system->config, CFG_enable_profiling);
    uint64_t raw = request->kind == REQUEST_COMPRESS ? request->view.bytes : request->raw_size;
    double latency_ms = (double)(request->finished_ns - request->enqueued_ns) / 1e6;
    double codec_seconds = (double)request->codec_ns / 1e9;
    double throughput = codec_seconds > 0 ? (double)raw / 1e6 / codec_seconds : 0.0;
    int decided = 0;
    saraphis_strategy_t choice = SARAPHIS_STRATEGY_BALANCED;
    pthread_mutex_lock(&system->stats_lock);
    system_stats_t *stats = &system->stats;
    if (request->kind == REQUEST_COMPRESS) {
        const saraphis_result_t *result = request->result;
        stats->compressions++;
        stats->compress_bytes_in += raw;
        stats->compress_bytes_out += result->size;
        stats->ratio_sum += result->size ? (double)raw / (double)result->size : 0.0;
        stats->by_mode[result->mode]++;
        if (!request->view.contiguous) stats->gathered++;
    } else {
        stats->decompressions++;
        stats->decompress_by_mode[request->mode]++;
        stats->decompress_bytes_in += request->frame_size;
        stats->decompress_bytes_out += raw;
    }
    stats->by_priority[request->priority]++;
    if (profiling) {
        stats->latency_ms[stats->ring_next] = latency_ms;
        stats->throughput_mb_s[stats->ring_next] = throughput;
        stats->ring_next = (stats->ring_next + 1) % stats->ring_capacity;
        if (stats->ring_count < stats->ring_capacity) stats->ring_count++;
        stats->latency_sum_ms += latency_ms;
        stats->throughput_sum += throughput;
        stats->samples++;
    }
    /* The ADAPTIVE window runs whatever the strategy, so switching to ADAPTIVE has data. */
    stats->window_latency_ms[stats->window_count++] = latency_ms;
    stats->window_bytes += raw;
    stats->window_queue_depth_sum += request->queue_depth_at_arrival;
    if (stats->window_count >= stats->window_capacity) {
        uint64_t now = system_now_ns();
        adaptive_window_t window;
        window.requests = stats->window_count;
        window.seconds = (double)(now - stats->window_start_ns) / 1e9;
        window.throughput_mb_s = window.seconds > 0 ? (double)stats->window_bytes / 1e6 / window.seconds : 0.0;
        window.latency_p95_ms = stats_percentile(stats->window_latency_ms, stats->window_count, 95.0);
        window.mean_queue_depth = (double)stats->window_queue_depth_sum / (double)stats->window_count;
        window.mean_request_bytes = (double)stats->window_bytes / (double)stats->window_count;
        window.pressure_state = system->pressure ? (int)pressure_state(system->pressure) : -1;
        choice = strategy_adapt(&window, system->worker_count, config_double(&system->config, CFG_latency_target_ms),
                                stats->adaptive_reason, sizeof stats->adaptive_reason);
        stats->adaptive_last = window;
        stats->adaptive_choice = choice;
        stats->adaptive_decisions++;
        stats->adaptive_at_seconds = (double)(now - system->created_ns) / 1e9;
        stats->window_count = 0;
        stats->window_bytes = stats->window_queue_depth_sum = 0;
        stats->window_start_ns = now;
        decided = 1;
    }
    pthread_mutex_unlock(&system->stats_lock);
    if (decided) system_apply_strategy(system, choice, 1);
}
