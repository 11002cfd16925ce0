/* The coordinator's state behind saraphis_system_t, shared by coordinator.c (queue, workers,
 * lifecycle), status.c (status JSON, Prometheus) and stats.c (statistics).
 *
 * Locks: `lock` guards the queue, the lifecycle state, the settings and the in-flight counts;
 * `stats_lock` guards the statistics and the ADAPTIVE window. No code holds both at once, so
 * there is no lock order to get wrong. */
#ifndef SARAPHIS_SYSTEM_SYSTEM_H
#define SARAPHIS_SYSTEM_SYSTEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "memory/pressure.h"
#include "saraphis.h"
#include "system/config.h"
#include "system/strategy.h"
#include "system/tensor.h"

#define SYSTEM_MESSAGE_CAPACITY 512
#define SYSTEM_STATUS_KINDS 32 /* saraphis_status_t values are below this */

typedef enum { SYSTEM_RUNNING = 0, SYSTEM_STOPPING = 1, SYSTEM_STOPPED = 2 } system_state_t;
typedef enum { REQUEST_COMPRESS = 0, REQUEST_DECOMPRESS = 1 } request_kind_t;

/* Callers waiting for a group of requests (one, or a batch). Signalled under system->lock. */
typedef struct {
    pthread_cond_t done;
    size_t remaining;
} waiter_t;

typedef struct {
    request_kind_t kind;
    saraphis_priority_t priority;
    uint64_t sequence;              /* arrival order */
    waiter_t *waiter;
    /* compress */
    tensor_view_t view;
    saraphis_mode_t mode;
    char route_reason[256];
    char *metadata_json;            /* handed to the result */
    /* decompress */
    const uint8_t *frame;
    size_t frame_size;
    uint8_t *output;                /* host memory, or device memory when output_on_gpu */
    size_t output_capacity;
    uint64_t raw_size;
    int output_on_gpu;              /* output is on kDLCUDA:output_device */
    int output_device;
    /* outcome */
    saraphis_status_t status;
    char message[SYSTEM_MESSAGE_CAPACITY];
    saraphis_result_t *result;
    uint64_t enqueued_ns, started_ns, finished_ns, gather_ns, codec_ns;
    uint64_t queue_depth_at_arrival;
    uint64_t start_order;
} request_t;

/* A codec context pair: serial for small requests, parallel (lazily started) for large ones. */
typedef struct {
    saraphis_ctx_t *serial;
    saraphis_ctx_t *parallel;
    uint64_t generation;            /* settings generation applied */
} codec_slot_t;

typedef struct {
    saraphis_system_t *system;
    codec_slot_t slot;
} worker_t;

struct saraphis_result_s {
    uint8_t *data;
    size_t size;
    uint64_t raw_size;
    saraphis_dtype_t dtype;
    int32_t ndim;
    int64_t shape[SARAPHIS_MAX_DIMS];
    saraphis_mode_t mode;
    const char *codec;
    saraphis_timings_t timings;
    char route_reason[256];
    char *metadata_json;
    uint64_t start_order;            /* internal: when the request started, among all */
};

typedef struct {
    uint64_t compressions, decompressions;
    uint64_t failed_compressions, failed_decompressions;
    uint64_t compress_bytes_in, compress_bytes_out;
    uint64_t decompress_bytes_in, decompress_bytes_out;
    double ratio_sum;               /* of per-compression ratios */
    uint64_t errors[SYSTEM_STATUS_KINDS];
    uint64_t by_priority[5];
    uint64_t by_mode[3];            /* completed compressions */
    uint64_t decompress_by_mode[3]; /* completed decompressions (gpu: decoded on the GPU) */
    uint64_t gathered;              /* strided tensors gathered */
    /* Sample rings (last stats_window requests) for percentiles; sums over all requests. */
    double *latency_ms, *throughput_mb_s;
    size_t ring_capacity, ring_count, ring_next;
    double latency_sum_ms, throughput_sum;
    uint64_t samples;
    /* ADAPTIVE */
    double *window_latency_ms;
    size_t window_capacity, window_count;
    uint64_t window_bytes, window_queue_depth_sum, window_start_ns;
    uint64_t adaptive_decisions;
    char adaptive_reason[400];
    saraphis_strategy_t adaptive_choice;
    adaptive_window_t adaptive_last;
    double adaptive_at_seconds;
} system_stats_t;

struct saraphis_system_s {
    saraphis_config_t config;        /* the copy in force (environment applied, validated) */
    pthread_mutex_t lock;
    pthread_cond_t work;             /* queue non-empty, or stopping */
    pthread_cond_t space;            /* queue has room, or stopping */
    pthread_cond_t idle;             /* inline work finished / the system stopped */
    system_state_t state;
    bool shutdown_started;
    /* The queue: a binary heap ordered by (priority, sequence). */
    request_t **heap;
    size_t heap_count, heap_capacity;
    uint64_t next_sequence;
    size_t in_flight;                /* requests taken by workers or run inline */
    size_t inline_running;
    /* Settings */
    saraphis_strategy_t strategy;    /* as asked (may be ADAPTIVE) */
    strategy_settings_t settings;    /* in force */
    strategy_inputs_t inputs;
    uint64_t settings_generation;
    /* Workers */
    pthread_t *threads;
    worker_t *workers;
    uint64_t next_start;             /* order in which requests started (tests check priorities) */
    unsigned worker_count;
    unsigned threads_started;
    codec_slot_t **spare_slots;      /* for inline callers */
    size_t spare_count, spare_capacity;
    /* Memory pressure */
    pressure_t *pressure;
    pressure_probe_t probe;
    int gpu_available;
    char gpu_reason[200];
    const char *probe_name;          /* "cuda", "host" */
    int gpu_device;
    uint64_t gpu_limit_bytes;
    /* Clock and statistics */
    uint64_t created_ns;
    uint64_t stopped_ns;
    pthread_mutex_t stats_lock;
    system_stats_t stats;
};

uint64_t system_now_ns(void);
/* Statistics (stats.c). */
saraphis_status_t stats_init(system_stats_t *stats, size_t ring_capacity, size_t window_capacity);
void stats_release(system_stats_t *stats);
void stats_record_request(saraphis_system_t *system, const request_t *request);
void stats_record_failure(saraphis_system_t *system, request_kind_t kind, saraphis_status_t status);
/* Percentile p (0..100) of count samples (sorted in place). */
double stats_percentile(double *sorted, size_t count, double p);

/* Settings (coordinator.c): puts the settings of a concrete strategy in force; with
 * only_if_adaptive, only while the system runs ADAPTIVE (checked under the same lock). */
void system_apply_strategy(saraphis_system_t *system, saraphis_strategy_t concrete, int only_if_adaptive);

/* Host probe (probe.c): MemAvailable / MemTotal from /proc/meminfo, else sysconf. */
void system_probe_host(pressure_probe_t *probe);

/* The config writer shared with status.c (config.c). */
#include "common/json.h"
void config_write_json(json_writer_t *writer, const saraphis_config_t *config);
void config_write_field_json(json_writer_t *writer, const saraphis_config_t *config, config_field_id_t id);

#endif
