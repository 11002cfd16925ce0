/* Status and metrics: one snapshot of the system (taken under its two locks, one after the
 * other) rendered as the status JSON (schema in docs/coordinator.md) or as Prometheus text. The
 * snapshot is copied out first so that rendering never holds a lock. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "system/system.h"

typedef struct {
    system_state_t state;
    double uptime_seconds;
    size_t queue_depth, in_flight;
    saraphis_strategy_t strategy;
    strategy_settings_t settings;
    system_stats_t stats;          /* copies; the sample pointers below replace the rings */
    double *latency, *throughput;  /* ring_count samples each, owned by the snapshot */
    double latency_p[3], throughput_p[3];
    int pressure_on;
    pressure_state_t memory_state;
    double utilization;
    double thresholds[5];
    uint64_t pressure_samples;
} snapshot_t;

static saraphis_status_t take_snapshot(saraphis_system_t *system, snapshot_t *snap)
{
    memset(snap, 0, sizeof *snap);
    pthread_mutex_lock(&system->lock);
    snap->state = system->state;
    uint64_t end = system->state == SYSTEM_STOPPED ? system->stopped_ns : system_now_ns();
    snap->uptime_seconds = (double)(end - system->created_ns) / 1e9;
    snap->queue_depth = system->heap_count;
    snap->in_flight = system->in_flight;
    snap->strategy = system->strategy;
    snap->settings = system->settings;
    pthread_mutex_unlock(&system->lock);

    pthread_mutex_lock(&system->stats_lock);
    snap->stats = system->stats;
    size_t count = system->stats.ring_count;
    snap->latency = malloc((count ? count : 1) * sizeof(double));
    snap->throughput = malloc((count ? count : 1) * sizeof(double));
    if (snap->latency && snap->throughput) {
        memcpy(snap->latency, system->stats.latency_ms, count * sizeof(double));
        memcpy(snap->throughput, system->stats.throughput_mb_s, count * sizeof(double));
    }
    pthread_mutex_unlock(&system->stats_lock);
    snap->stats.latency_ms = snap->stats.throughput_mb_s = snap->stats.window_latency_ms = NULL;
    if (!snap->latency || !snap->throughput) {
        free(snap->latency);
        free(snap->throughput);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "status: no memory for %zu samples", count);
    }
    static const double points[3] = {50.0, 95.0, 99.0};
    for (int i = 0; i < 3; i++) {
        snap->latency_p[i] = stats_percentile(snap->latency, count, points[i]);
        snap->throughput_p[i] = stats_percentile(snap->throughput, count, points[i]);
    }
    if (system->pressure) {
        snap->pressure_on = 1;
        snap->memory_state = pressure_state(system->pressure);
        snap->utilization = pressure_utilization(system->pressure);
        pressure_thresholds(system->pressure, &snap->thresholds[0], &snap->thresholds[1], &snap->thresholds[2],
                            &snap->thresholds[3], &snap->thresholds[4]);
        snap->pressure_samples = pressure_sample_count(system->pressure);
    }
    return SARAPHIS_OK;
}

static void free_snapshot(snapshot_t *snap)
{
    free(snap->latency);
    free(snap->throughput);
}

static const char *state_name(system_state_t state)
{
    return state == SYSTEM_RUNNING ? "running" : state == SYSTEM_STOPPING ? "shutting_down" : "stopped";
}

/* ---------------------------------------------------------------------------------------------
 * Components: what each one is, whether this build has it and whether it runs.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const char *name;
    int built;
    int enabled;   /* from its enable_* field; 1 when it has none */
    const char *state; /* active, disabled, unavailable, not_built, not_integrated, stopped */
    char reason[240];
} component_t;

#define COMPONENT_COUNT 9

static void describe_components(const saraphis_system_t *system, const snapshot_t *snap, component_t *out)
{
    const saraphis_config_t *c = &system->config;
    int running = snap->state != SYSTEM_STOPPED;
    int cuda_built =
#ifdef SARAPHIS_WITH_CUDA
        1;
#else
        0;
#endif
    component_t list[COMPONENT_COUNT] = {
        {"coordinator", 1, 1, running ? "active" : "stopped", ""},
        {"lossless_codec", 1, 1, running ? "active" : "stopped", ""},
        {"bounded_codec", 1, config_int(c, CFG_codec) == CONFIG_CODEC_BOUNDED, "", ""},
        {"memory_pressure", 1, config_bool(c, CFG_enable_memory_pressure), "", ""},
        {"gpu", cuda_built, 1, "", ""},
        {"gpu_codec", cuda_built, 1, "", ""},
        {"smart_pool", 1, config_bool(c, CFG_enable_smart_pool), "", ""},
        {"auto_swap", 0, config_bool(c, CFG_enable_auto_swap), "not_built", ""},
        {"cpu_bursting", 0, config_bool(c, CFG_enable_cpu_bursting), "not_built", ""},
    };
    snprintf(list[0].reason, sizeof list[0].reason, "%u workers, queue of %zu", system->worker_count,
             system->heap_capacity);
    snprintf(list[1].reason, sizeof list[1].reason, "codec '%s'",
             config_int(c, CFG_codec) == CONFIG_CODEC_STORED ? "stored" :
             config_int(c, CFG_codec) == CONFIG_CODEC_BOUNDED ? "bounded (lossless for tensors it does not take)"
                                                              : "lossless");
    if (list[2].enabled) {
        char mode[16];
        list[2].state = running ? "active" : "stopped";
        snprintf(list[2].reason, sizeof list[2].reason,
                 "codec 'bounded': error_bound %g (%s), prime %lld, precision %u%s", config_double(c, CFG_error_bound),
                 config_choice_name(CFG_error_bound_mode, config_int(c, CFG_error_bound_mode), mode, sizeof mode),
                 (long long)config_int(c, CFG_prime), config_bounded_precision(c),
                 config_bounded_precision(c) == 0 ? " (auto, per tensor)" : "");
    } else {
        list[2].state = "available";
        snprintf(list[2].reason, sizeof list[2].reason, "built (src/codec/padic*); used when codec = bounded");
    }
    if (!list[3].enabled) list[3].state = "disabled";
    else list[3].state = running ? "active" : "stopped";
    snprintf(list[3].reason, sizeof list[3].reason, "probe '%s'%s", system->probe_name,
             system->gpu_available ? "" : " (host memory: there is no GPU to watch)");
    list[4].state = system->gpu_available ? "available" : "unavailable";
    snprintf(list[4].reason, sizeof list[4].reason, "%s", system->gpu_reason);
    if (!cuda_built) list[5].state = "not_built";
    else list[5].state = system->gpu_available ? "available" : "unavailable";
    snprintf(list[5].reason, sizeof list[5].reason, "%s",
             !cuda_built ? "built without CUDA"
             : !system->gpu_available
                 ? "no GPU: decompression to kDLCUDA is refused"
                 : "decompression to kDLCUDA decodes lossless/stored frames on the GPU (bounded frames on the CPU, then "
                   "copied); compression runs on the CPU");
    if (!list[6].enabled) list[6].state = "disabled";
    else if (!system->gpu_available) list[6].state = "unavailable";
    else list[6].state = "not_integrated";
    snprintf(list[6].reason, sizeof list[6].reason, "%s",
             !list[6].enabled ? "enable_smart_pool is false"
             : !system->gpu_available ? "SmartPool manages GPU memory and there is no GPU"
                                      : "built (src/memory/pool.c); the coordinator places no GPU buffers until the GPU codec lands");
    snprintf(list[7].reason, sizeof list[7].reason, "AutoSwap is not built yet; its fields are parsed and kept");
    snprintf(list[8].reason, sizeof list[8].reason,
             "GPU->CPU fallback is not built yet (decompression runs on the CPU already); its fields are parsed and kept");
    memcpy(out, list, sizeof list);
}

/* ---------------------------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------------------------- */
static void write_summary(json_writer_t *w, const char *unit, double average, const double *p, uint64_t count)
{
    json_write_object_begin(w);
    json_write_key(w, "unit");
    json_write_string(w, unit);
    json_write_key(w, "count");
    json_write_uint64(w, count);
    json_write_key(w, "average");
    json_write_double(w, average);
    json_write_key(w, "p50");
    json_write_double(w, p[0]);
    json_write_key(w, "p95");
    json_write_double(w, p[1]);
    json_write_key(w, "p99");
    json_write_double(w, p[2]);
    json_write_object_end(w);
}

static void write_key_uint(json_writer_t *w, const char *key, uint64_t value)
{
    json_write_key(w, key);
    json_write_uint64(w, value);
}

static void write_key_double(json_writer_t *w, const char *key, double value)
{
    json_write_key(w, key);
    json_write_double(w, value);
}

static void write_settings(json_writer_t *w, const strategy_settings_t *s)
{
    json_write_object_begin(w);
    json_write_key(w, "strategy");
    json_write_string(w, saraphis_strategy_name(s->strategy));
    write_key_uint(w, "chunk_bytes", s->chunk_bytes);
    write_key_uint(w, "codec_threads", s->codec_threads);
    write_key_uint(w, "dequeue_batch", s->dequeue_batch);
    write_key_uint(w, "max_in_flight", s->max_in_flight);
    write_key_uint(w, "batch_window", s->batch_window);
    json_write_key(w, "content_checksum");
    json_write_bool(w, s->content_checksum != 0);
    json_write_key(w, "device_preference");
    json_write_string(w, s->prefer_gpu ? "gpu" : "cpu");
    json_write_key(w, "coder");
    json_write_string(w, "rans");
    json_write_object_end(w);
}

static void write_status(json_writer_t *w, saraphis_system_t *system, const snapshot_t *snap)
{
    const system_stats_t *st = &snap->stats;
    const saraphis_config_t *config = &system->config;
    json_write_object_begin(w);
    json_write_key(w, "version");
    json_write_string(w, saraphis_version_string());
    json_write_key(w, "state");
    json_write_string(w, state_name(snap->state));
    write_key_double(w, "uptime_seconds", snap->uptime_seconds);

    component_t components[COMPONENT_COUNT];
    describe_components(system, snap, components);
    json_write_key(w, "components");
    json_write_object_begin(w);
    for (int i = 0; i < COMPONENT_COUNT; i++) {
        json_write_key(w, components[i].name);
        json_write_object_begin(w);
        json_write_key(w, "built");
        json_write_bool(w, components[i].built);
        json_write_key(w, "enabled");
        json_write_bool(w, components[i].enabled);
        json_write_key(w, "state");
        json_write_string(w, components[i].state);
        json_write_key(w, "reason");
        json_write_string(w, components[i].reason);
        json_write_key(w, "fields");
        json_write_array_begin(w);
        for (size_t f = 0; f < saraphis_config_field_count(); f++) {
            const saraphis_config_field_t *field = saraphis_config_field_at(f);
            if (strcmp(field->component, components[i].name) == 0) json_write_string(w, field->name);
        }
        json_write_array_end(w);
        json_write_object_end(w);
    }
    json_write_object_end(w);

    json_write_key(w, "statistics");
    json_write_object_begin(w);
    write_key_uint(w, "total_compressions", st->compressions);
    write_key_uint(w, "total_decompressions", st->decompressions);
    write_key_uint(w, "failed_compressions", st->failed_compressions);
    write_key_uint(w, "failed_decompressions", st->failed_decompressions);
    write_key_uint(w, "bytes_in", st->compress_bytes_in + st->decompress_bytes_in);
    write_key_uint(w, "bytes_out", st->compress_bytes_out + st->decompress_bytes_out);
    write_key_uint(w, "compress_bytes_in", st->compress_bytes_in);
    write_key_uint(w, "compress_bytes_out", st->compress_bytes_out);
    write_key_uint(w, "decompress_bytes_in", st->decompress_bytes_in);
    write_key_uint(w, "decompress_bytes_out", st->decompress_bytes_out);
    write_key_double(w, "average_compression_ratio", st->compressions ? st->ratio_sum / (double)st->compressions : 0.0);
    write_key_double(w, "overall_compression_ratio",
                     st->compress_bytes_out ? (double)st->compress_bytes_in / (double)st->compress_bytes_out : 0.0);
    write_key_uint(w, "strided_inputs_gathered", st->gathered);
    write_key_uint(w, "queue_depth", snap->queue_depth);
    write_key_uint(w, "in_flight", snap->in_flight);
    write_key_uint(w, "workers", system->worker_count);
    json_write_key(w, "by_priority");
    json_write_object_begin(w);
    for (int i = 0; i < 5; i++) write_key_uint(w, saraphis_priority_name((saraphis_priority_t)i), st->by_priority[i]);
    json_write_object_end(w);
    json_write_key(w, "by_mode");
    json_write_object_begin(w);
    for (int i = 0; i < 3; i++) write_key_uint(w, saraphis_mode_name((saraphis_mode_t)i), st->by_mode[i]);
    json_write_object_end(w);
    json_write_key(w, "decompress_by_mode");
    json_write_object_begin(w);
    for (int i = 0; i < 3; i++) write_key_uint(w, saraphis_mode_name((saraphis_mode_t)i), st->decompress_by_mode[i]);
    json_write_object_end(w);
    json_write_object_end(w);

    json_write_key(w, "errors");
    json_write_object_begin(w);
    uint64_t total_errors = 0;
    for (int i = 0; i < SYSTEM_STATUS_KINDS; i++) total_errors += st->errors[i];
    write_key_uint(w, "total", total_errors);
    json_write_key(w, "by_kind");
    json_write_object_begin(w);
    for (int i = 1; i < SYSTEM_STATUS_KINDS; i++)
        if (st->errors[i]) write_key_uint(w, saraphis_status_name((saraphis_status_t)i), st->errors[i]);
    json_write_object_end(w);
    json_write_object_end(w);

    json_write_key(w, "performance");
    json_write_object_begin(w);
    json_write_key(w, "current_strategy");
    json_write_string(w, saraphis_strategy_name(snap->strategy));
    json_write_key(w, "settings");
    write_settings(w, &snap->settings);
    json_write_key(w, "profiling");
    json_write_bool(w, config_bool(config, CFG_enable_profiling));
    json_write_key(w, "metrics");
    json_write_object_begin(w);
    json_write_key(w, "throughput");
    write_summary(w, "MB/s", st->samples ? st->throughput_sum / (double)st->samples : 0.0, snap->throughput_p, st->samples);
    json_write_key(w, "latency");
    write_summary(w, "ms", st->samples ? st->latency_sum_ms / (double)st->samples : 0.0, snap->latency_p, st->samples);
    json_write_key(w, "window");
    json_write_uint64(w, st->ring_count);
    json_write_object_end(w);
    json_write_key(w, "adaptive");
    json_write_object_begin(w);
    write_key_uint(w, "decisions", st->adaptive_decisions);
    json_write_key(w, "choice");
    json_write_string(w, saraphis_strategy_name(st->adaptive_choice));
    json_write_key(w, "reason");
    json_write_string(w, st->adaptive_decisions ? st->adaptive_reason : "no window completed yet: starts BALANCED");
    write_key_double(w, "decided_at_uptime_seconds", st->adaptive_at_seconds);
    json_write_key(w, "last_window");
    json_write_object_begin(w);
    write_key_uint(w, "requests", st->adaptive_last.requests);
    write_key_double(w, "seconds", st->adaptive_last.seconds);
    write_key_double(w, "throughput_mb_s", st->adaptive_last.throughput_mb_s);
    write_key_double(w, "latency_p95_ms", st->adaptive_last.latency_p95_ms);
    write_key_double(w, "mean_queue_depth", st->adaptive_last.mean_queue_depth);
    write_key_double(w, "mean_request_bytes", st->adaptive_last.mean_request_bytes);
    json_write_object_end(w);
    json_write_object_end(w);
    json_write_object_end(w);

    json_write_key(w, "memory_pressure");
    json_write_object_begin(w);
    json_write_key(w, "enabled");
    json_write_bool(w, snap->pressure_on);
    json_write_key(w, "probe");
    json_write_string(w, system->probe_name);
    json_write_key(w, "gpu_available");
    json_write_bool(w, system->gpu_available);
    json_write_key(w, "memory_state");
    if (snap->pressure_on) json_write_string(w, pressure_state_name(snap->memory_state));
    else json_write_null(w);
    json_write_key(w, "utilization");
    if (snap->pressure_on) json_write_double(w, snap->utilization);
    else json_write_null(w);
    /* The seeds' gpu_* figures: null without a GPU rather than host figures under GPU names. */
    json_write_key(w, "gpu_utilization");
    if (snap->pressure_on && system->gpu_available) json_write_double(w, snap->utilization);
    else json_write_null(w);
    json_write_key(w, "gpu_free_mb");
    if (snap->pressure_on && system->gpu_available)
        json_write_double(w, (1.0 - snap->utilization) * (double)(system->gpu_limit_bytes >> 20));
    else json_write_null(w);
    write_key_uint(w, "samples", snap->pressure_samples);
    json_write_key(w, "thresholds");
    json_write_object_begin(w);
    static const char *const names[5] = {"low", "moderate", "high", "critical", "memory_pressure"};
    for (int i = 0; i < 5; i++) write_key_double(w, names[i], snap->thresholds[i]);
    json_write_object_end(w);
    json_write_object_end(w);

    json_write_key(w, "configuration");
    json_write_object_begin(w);
    for (size_t f = 0; f < saraphis_config_field_count(); f++) {
        const saraphis_config_field_t *field = saraphis_config_field_at(f);
        json_write_key(w, field->name);
        json_write_object_begin(w);
        json_write_key(w, "value");
        config_write_field_json(w, config, (config_field_id_t)f);
        json_write_key(w, "source");
        json_write_string(w, saraphis_config_source_name((saraphis_config_source_t)config->sources[f]));
        json_write_key(w, "component");
        json_write_string(w, field->component);
        json_write_object_end(w);
    }
    json_write_object_end(w);
    json_write_object_end(w);
}

saraphis_status_t saraphis_system_status_json(saraphis_system_t *system, char **json)
{
    error_clear();
    if (!system || !json) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "status_json: NULL argument");
    *json = NULL;
    snapshot_t snap;
    SPS_TRY(take_snapshot(system, &snap));
    json_writer_t writer;
    json_writer_init(&writer, 2);
    write_status(&writer, system, &snap);
    size_t length;
    saraphis_status_t status = json_writer_finish(&writer, json, &length);
    json_writer_free(&writer);
    free_snapshot(&snap);
    if (status != SARAPHIS_OK) return error_set(status, "status_json: writer failed");
    return SARAPHIS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Prometheus text format 0.0.4
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    char *text;
    size_t size, capacity;
    int failed;
} text_t;

static void emit(text_t *t, const char *format, ...) SPS_PRINTF(2, 3);
static void emit(text_t *t, const char *format, ...)
{
    if (t->failed) return;
    for (;;) {
        va_list args;
        va_start(args, format);
        int n = vsnprintf(t->text + t->size, t->capacity - t->size, format, args);
        va_end(args);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->capacity - t->size) {
            t->size += (size_t)n;
            return;
        }
        size_t capacity = t->capacity * 2 + (size_t)n;
        char *grown = realloc(t->text, capacity);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->text = grown;
        t->capacity = capacity;
    }
}

static void metric_header(text_t *t, const char *name, const char *type, const char *help)
{
    emit(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

saraphis_status_t saraphis_system_metrics_prometheus(saraphis_system_t *system, char **out)
{
    error_clear();
    if (!system || !out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "metrics_prometheus: NULL argument");
    *out = NULL;
    snapshot_t snap;
    SPS_TRY(take_snapshot(system, &snap));
    const system_stats_t *st = &snap.stats;
    text_t t = {malloc(4096), 0, 4096, 0};
    if (!t.text) {
        free_snapshot(&snap);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "metrics_prometheus: no memory");
    }
    t.text[0] = '\0';
    metric_header(&t, "saraphis_info", "gauge", "Version, state and strategy of the system (always 1).");
    emit(&t, "saraphis_info{version=\"%s\",state=\"%s\",strategy=\"%s\",settings=\"%s\"} 1\n", saraphis_version_string(),
         state_name(snap.state), saraphis_strategy_name(snap.strategy), saraphis_strategy_name(snap.settings.strategy));
    metric_header(&t, "saraphis_uptime_seconds", "gauge", "Seconds since the system was created.");
    emit(&t, "saraphis_uptime_seconds %.6f\n", snap.uptime_seconds);
    metric_header(&t, "saraphis_compressions_total", "counter", "Tensors compressed.");
    emit(&t, "saraphis_compressions_total %llu\n", (unsigned long long)st->compressions);
    metric_header(&t, "saraphis_decompressions_total", "counter", "Frames decompressed.");
    emit(&t, "saraphis_decompressions_total %llu\n", (unsigned long long)st->decompressions);
    metric_header(&t, "saraphis_failures_total", "counter", "Failed calls by operation.");
    emit(&t, "saraphis_failures_total{op=\"compress\"} %llu\n", (unsigned long long)st->failed_compressions);
    emit(&t, "saraphis_failures_total{op=\"decompress\"} %llu\n", (unsigned long long)st->failed_decompressions);
    metric_header(&t, "saraphis_errors_total", "counter", "Failed calls by error kind.");
    for (int i = 1; i < SYSTEM_STATUS_KINDS; i++) {
        const char *name = saraphis_status_name((saraphis_status_t)i);
        if (strcmp(name, "unknown") != 0)
            emit(&t, "saraphis_errors_total{kind=\"%s\"} %llu\n", name, (unsigned long long)st->errors[i]);
    }
    metric_header(&t, "saraphis_bytes_in_total", "counter", "Bytes given to the system.");
    emit(&t, "saraphis_bytes_in_total{op=\"compress\"} %llu\n", (unsigned long long)st->compress_bytes_in);
    emit(&t, "saraphis_bytes_in_total{op=\"decompress\"} %llu\n", (unsigned long long)st->decompress_bytes_in);
    metric_header(&t, "saraphis_bytes_out_total", "counter", "Bytes the system returned.");
    emit(&t, "saraphis_bytes_out_total{op=\"compress\"} %llu\n", (unsigned long long)st->compress_bytes_out);
    emit(&t, "saraphis_bytes_out_total{op=\"decompress\"} %llu\n", (unsigned long long)st->decompress_bytes_out);
    metric_header(&t, "saraphis_compression_ratio_average", "gauge", "Mean of per-tensor compression ratios.");
    emit(&t, "saraphis_compression_ratio_average %.6f\n", st->compressions ? st->ratio_sum / (double)st->compressions : 0.0);
    metric_header(&t, "saraphis_requests_by_priority_total", "counter", "Completed requests by priority.");
    for (int i = 0; i < 5; i++)
        emit(&t, "saraphis_requests_by_priority_total{priority=\"%s\"} %llu\n", saraphis_priority_name((saraphis_priority_t)i),
             (unsigned long long)st->by_priority[i]);
    metric_header(&t, "saraphis_compressions_by_mode_total", "counter", "Compressions by processing mode.");
    for (int i = 0; i < 3; i++)
        emit(&t, "saraphis_compressions_by_mode_total{mode=\"%s\"} %llu\n", saraphis_mode_name((saraphis_mode_t)i),
             (unsigned long long)st->by_mode[i]);
    metric_header(&t, "saraphis_decompressions_by_mode_total", "counter",
                  "Decompressions by processing mode (gpu: decoded on the GPU).");
    for (int i = 0; i < 3; i++)
        emit(&t, "saraphis_decompressions_by_mode_total{mode=\"%s\"} %llu\n", saraphis_mode_name((saraphis_mode_t)i),
             (unsigned long long)st->decompress_by_mode[i]);
    metric_header(&t, "saraphis_queue_depth", "gauge", "Requests waiting in the queue.");
    emit(&t, "saraphis_queue_depth %zu\n", snap.queue_depth);
    metric_header(&t, "saraphis_in_flight", "gauge", "Requests running.");
    emit(&t, "saraphis_in_flight %zu\n", snap.in_flight);
    metric_header(&t, "saraphis_workers", "gauge", "Coordinator worker threads.");
    emit(&t, "saraphis_workers %u\n", system->worker_count);
    static const char *const quantiles[3] = {"0.5", "0.95", "0.99"};
    metric_header(&t, "saraphis_latency_milliseconds", "summary",
                  "Request latency, queue included (quantiles over the last stats_window requests).");
    for (int i = 0; i < 3; i++)
        emit(&t, "saraphis_latency_milliseconds{quantile=\"%s\"} %.6f\n", quantiles[i], snap.latency_p[i]);
    emit(&t, "saraphis_latency_milliseconds_sum %.6f\nsaraphis_latency_milliseconds_count %llu\n", st->latency_sum_ms,
         (unsigned long long)st->samples);
    metric_header(&t, "saraphis_throughput_megabytes_per_second", "summary", "Per-request codec throughput (1e6 bytes/s).");
    for (int i = 0; i < 3; i++)
        emit(&t, "saraphis_throughput_megabytes_per_second{quantile=\"%s\"} %.6f\n", quantiles[i], snap.throughput_p[i]);
    emit(&t, "saraphis_throughput_megabytes_per_second_sum %.6f\nsaraphis_throughput_megabytes_per_second_count %llu\n",
         st->throughput_sum, (unsigned long long)st->samples);
    metric_header(&t, "saraphis_memory_state", "gauge", "Memory-pressure state: 0 low, 1 moderate, 2 high, 3 critical; -1 off.");
    emit(&t, "saraphis_memory_state %d\n", snap.pressure_on ? (int)snap.memory_state : -1);
    metric_header(&t, "saraphis_memory_utilization_ratio", "gauge", "Utilization of the probed memory (GPU, else host).");
    emit(&t, "saraphis_memory_utilization_ratio{probe=\"%s\"} %.6f\n", system->probe_name, snap.utilization);
    metric_header(&t, "saraphis_gpu_available", "gauge", "1 when a usable GPU was found.");
    emit(&t, "saraphis_gpu_available %d\n", system->gpu_available);
    metric_header(&t, "saraphis_adaptive_decisions_total", "counter", "ADAPTIVE windows evaluated.");
    emit(&t, "saraphis_adaptive_decisions_total %llu\n", (unsigned long long)st->adaptive_decisions);
    component_t components[COMPONENT_COUNT];
    describe_components(system, &snap, components);
    metric_header(&t, "saraphis_component_built", "gauge", "1 when this build has the component.");
    for (int i = 0; i < COMPONENT_COUNT; i++)
        emit(&t, "saraphis_component_built{component=\"%s\"} %d\n", components[i].name, components[i].built);
    metric_header(&t, "saraphis_component_enabled", "gauge", "1 when the configuration enables the component.");
    for (int i = 0; i < COMPONENT_COUNT; i++)
        emit(&t, "saraphis_component_enabled{component=\"%s\"} %d\n", components[i].name, components[i].enabled);
    free_snapshot(&snap);
    if (t.failed) {
        free(t.text);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "metrics_prometheus: no memory");
    }
    *out = t.text;
    return SARAPHIS_OK;
}
