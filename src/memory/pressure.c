/* The memory-pressure handler (rules in pressure.h). Two locks: `lock` guards the state that
 * route() reads; `sample_lock` serializes whole samples (probe query, state update, callbacks) so
 * subscribers see changes one at a time and in order, without `lock` held. */
#include "memory/pressure.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"

#define MAX_SUBSCRIBERS 32
#define MAX_THRESHOLD 0.99
#define MIB ((uint64_t)1 << 20)

typedef struct {
    pressure_callback_fn callback;
    void *user;
    int id; /* 0: slot unused */
} subscriber_t;

struct pressure_s {
    pressure_config_t config;
    pressure_probe_t probe;
    pthread_mutex_t lock;
    pthread_mutex_t sample_lock;

    /* Guarded by lock. */
    pressure_state_t state;
    int have_sample;
    uint64_t free_bytes, total_bytes;
    double utilization;
    uint64_t gpu_routed_bytes;      /* routed to the GPU since the last sample */
    uint64_t pressure_cpu_bytes;    /* routed to the CPU because of pressure since the sample */
    double shift;                   /* adaptive shift added to every threshold */
    int pending_direction;          /* +1 up, -1 down, 0 none */
    uint64_t pending_since_ms;
    uint64_t sample_count;
    subscriber_t subscribers[MAX_SUBSCRIBERS];
    int next_subscription;

    /* The monitoring thread; guarded by lock. */
    pthread_t thread;
    pthread_cond_t wake;
    int thread_running;
    int stop_requested;
};

static uint64_t monotonic_ms(void *context)
{
    (void)context;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

const char *pressure_state_name(pressure_state_t state)
{
    switch (state) {
    case PRESSURE_LOW: return "low";
    case PRESSURE_MODERATE: return "moderate";
    case PRESSURE_HIGH: return "high";
    case PRESSURE_CRITICAL: return "critical";
    }
    return "unknown";
}

void pressure_config_default(pressure_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->low_threshold = 0.50;
    config->moderate_threshold = 0.75;
    config->high_threshold = 0.90;
    config->critical_threshold = 0.95;
    config->hysteresis_factor = 0.15;
    config->switch_delay_ms = 50;
    config->monitoring_interval_ms = 100;
    config->adaptive_thresholds = 0;
    config->adaptive_step = 0.01;
    config->adaptive_max_shift = 0.05;
    config->gpu_memory_threshold_mb = 100;
    config->memory_pressure_threshold = 0.90;
    config->force_cpu_on_critical = 1;
    config->clock = NULL;
    config->clock_context = NULL;
}

/* A threshold with the adaptive shift applied. Raising never takes it past 0.99 (a configured
 * value already above 0.99 is left where it is). */
static inline double shifted(const pressure_t *handler, double threshold)
{
    if (handler->shift == 0.0) return threshold;
    double value = threshold + handler->shift;
    if (handler->shift > 0.0 && value > MAX_THRESHOLD)
        return threshold > MAX_THRESHOLD ? threshold : MAX_THRESHOLD;
    return value;
}

/* Utilization at which a state is entered from below. */
static double entry_threshold(const pressure_t *handler, pressure_state_t state)
{
    switch (state) {
    case PRESSURE_MODERATE: return shifted(handler, handler->config.low_threshold);
    case PRESSURE_HIGH: return shifted(handler, handler->config.moderate_threshold);
    case PRESSURE_CRITICAL: return shifted(handler, handler->config.high_threshold);
    default: return 0.0;
    }
}

static pressure_state_t target_state(const pressure_t *handler, double utilization)
{
    pressure_state_t raw = PRESSURE_LOW;
    for (int state = PRESSURE_MODERATE; state <= PRESSURE_CRITICAL; state++)
        if (utilization >= entry_threshold(handler, (pressure_state_t)state))
            raw = (pressure_state_t)state;
    if (raw >= handler->state) return raw;
    /* Downward: leave a state only below its entry threshold shrunk by the hysteresis factor. */
    pressure_state_t target = handler->state;
    double keep = 1.0 - handler->config.hysteresis_factor;
    while (target > PRESSURE_LOW && utilization < entry_threshold(handler, target) * keep)
        target = (pressure_state_t)(target - 1);
    return target;
}

static int in_unit_interval(double value) { return value > 0.0 && value < 1.0; }

saraphis_status_t pressure_create(pressure_t **out, const pressure_config_t *config,
                                  const pressure_probe_t *probe)
{
    if (!out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pressure_create: NULL output");
    *out = NULL;
    pressure_config_t settings;
    if (config) settings = *config;
    else pressure_config_default(&settings);
    if (!in_unit_interval(settings.low_threshold) ||
        !(settings.low_threshold < settings.moderate_threshold) ||
        !(settings.moderate_threshold < settings.high_threshold) ||
        !(settings.high_threshold <= settings.critical_threshold) ||
        !(settings.critical_threshold <= 1.0))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pressure_create: thresholds %.3f/%.3f/%.3f/%.3f must rise within (0, 1]",
                         settings.low_threshold, settings.moderate_threshold,
                         settings.high_threshold, settings.critical_threshold);
    if (!(settings.hysteresis_factor >= 0.0 && settings.hysteresis_factor < 1.0))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pressure_create: hysteresis factor %.3f is not in [0, 1)",
                         settings.hysteresis_factor);
    if (settings.monitoring_interval_ms == 0)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pressure_create: monitoring interval of 0 ms");
    if (!in_unit_interval(settings.memory_pressure_threshold) &&
        settings.memory_pressure_threshold != 1.0)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pressure_create: memory pressure threshold %.3f is not in (0, 1]",
                         settings.memory_pressure_threshold);
    if (!(settings.adaptive_step >= 0.0 && settings.adaptive_step < 0.5) ||
        !(settings.adaptive_max_shift >= 0.0 && settings.adaptive_max_shift < 0.5))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pressure_create: adaptive step %.3f or max shift %.3f not in [0, 0.5)",
                         settings.adaptive_step, settings.adaptive_max_shift);
    if (settings.gpu_memory_threshold_mb > UINT64_MAX / MIB)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pressure_create: gpu_memory_threshold_mb %llu overflows",
                         (unsigned long long)settings.gpu_memory_threshold_mb);
    if (probe && !probe->query)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pressure_create: probe without query");
    if (!settings.clock) settings.clock = monotonic_ms;

    pressure_t *handler = calloc(1, sizeof *handler);
    if (!handler) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pressure_create: record");
    handler->config = settings;
    if (probe) handler->probe = *probe;
    handler->next_subscription = 1;
    pthread_condattr_t attributes;
    int failed = pthread_mutex_init(&handler->lock, NULL);
    if (!failed) {
        failed = pthread_mutex_init(&handler->sample_lock, NULL);
        if (failed) pthread_mutex_destroy(&handler->lock);
    }
    if (!failed) {
        /* The wait between samples runs on CLOCK_MONOTONIC: wall-clock jumps do not matter. */
        failed = pthread_condattr_init(&attributes);
        if (!failed) {
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
            failed = pthread_cond_init(&handler->wake, &attributes);
            pthread_condattr_destroy(&attributes);
        }
        if (failed) {
            pthread_mutex_destroy(&handler->sample_lock);
            pthread_mutex_destroy(&handler->lock);
        }
    }
    if (failed) {
        free(handler);
        return error_set(SARAPHIS_ERROR_THREAD, "pressure_create: lock setup failed (%d)", failed);
    }
    *out = handler;
    return SARAPHIS_OK;
}

void pressure_free(pressure_t *handler)
{
    if (!handler) return;
    pressure_stop(handler);
    pthread_cond_destroy(&handler->wake);
    pthread_mutex_destroy(&handler->sample_lock);
    pthread_mutex_destroy(&handler->lock);
    free(handler);
}

saraphis_status_t pressure_update(pressure_t *handler, uint64_t free_bytes, uint64_t total_bytes)
{
    if (!handler) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pressure_update: NULL");
    if (total_bytes == 0 || free_bytes > total_bytes)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pressure_update: %llu free of %llu total bytes",
                         (unsigned long long)free_bytes, (unsigned long long)total_bytes);
    pthread_mutex_lock(&handler->sample_lock);
    uint64_t now = handler->config.clock(handler->config.clock_context);
    pthread_mutex_lock(&handler->lock);
    /* used / total (not 1 - free / total): one correctly rounded division, so a reading of
     * exactly 900 of 1000 bytes compares equal to a threshold of 0.9. */
    double utilization = (double)(total_bytes - free_bytes) / (double)total_bytes;
    if (handler->config.adaptive_thresholds && handler->pressure_cpu_bytes) {
        /* Offloaded bytes that would have fitted below `high` mean the thresholds were too
         * cautious: raise them one step. */
        double with_offload = (double)(total_bytes - free_bytes + handler->pressure_cpu_bytes) /
                              (double)total_bytes;
        if (with_offload < entry_threshold(handler, PRESSURE_CRITICAL)) {
            handler->shift += handler->config.adaptive_step;
            if (handler->shift > handler->config.adaptive_max_shift)
                handler->shift = handler->config.adaptive_max_shift;
        }
    }
    handler->pressure_cpu_bytes = 0;
    handler->gpu_routed_bytes = 0;
    handler->free_bytes = free_bytes;
    handler->total_bytes = total_bytes;
    handler->utilization = utilization;
    handler->have_sample = 1;
    handler->sample_count++;

    pressure_state_t old_state = handler->state;
    pressure_state_t target = target_state(handler, utilization);
    int changed = 0;
    if (target == handler->state) {
        handler->pending_direction = 0;
    } else {
        int direction = target > handler->state ? 1 : -1;
        if (direction != handler->pending_direction) {
            handler->pending_direction = direction;
            handler->pending_since_ms = now;
        }
        int emergency = target == PRESSURE_CRITICAL &&
                        utilization >= shifted(handler, handler->config.critical_threshold);
        if (emergency || now - handler->pending_since_ms >= handler->config.switch_delay_ms) {
            handler->state = target;
            handler->pending_direction = 0;
            changed = 1;
        }
    }
    subscriber_t subscribers[MAX_SUBSCRIBERS];
    if (changed) memcpy(subscribers, handler->subscribers, sizeof subscribers);
    pressure_state_t new_state = handler->state;
    pthread_mutex_unlock(&handler->lock);
    if (changed) {
        for (int i = 0; i < MAX_SUBSCRIBERS; i++)
            if (subscribers[i].id)
                subscribers[i].callback(subscribers[i].user, old_state, new_state, utilization);
    }
    pthread_mutex_unlock(&handler->sample_lock);
    return SARAPHIS_OK;
}

saraphis_status_t pressure_sample(pressure_t *handler)
{
    if (!handler) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pressure_sample: NULL");
    if (!handler->probe.query)
        return error_set(SARAPHIS_ERROR_STATE, "pressure_sample: the handler has no probe");
    uint64_t free_bytes = 0, total_bytes = 0;
    saraphis_status_t status =
        handler->probe.query(handler->probe.context, &free_bytes, &total_bytes);
    if (status != SARAPHIS_OK) return error_wrap(status, "pressure_sample: probe: ");
    return pressure_update(handler, free_bytes, total_bytes);
}

static void *monitor_main(void *argument)
{
    pressure_t *handler = argument;
    pthread_mutex_lock(&handler->lock);
    while (!handler->stop_requested) {
        pthread_mutex_unlock(&handler->lock);
        /* A failed query leaves the last state in place; the next interval tries again. */
        (void)pressure_sample(handler);
        pthread_mutex_lock(&handler->lock);
        if (handler->stop_requested) break;
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        uint64_t interval = handler->config.monitoring_interval_ms;
        deadline.tv_sec += (time_t)(interval / 1000u);
        deadline.tv_nsec += (long)(interval % 1000u) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (!handler->stop_requested &&
               pthread_cond_timedwait(&handler->wake, &handler->lock, &deadline) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&handler->lock);
    return NULL;
}

saraphis_status_t pressure_start(pressure_t *handler)
{
    if (!handler) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pressure_start: NULL");
    if (!handler->probe.query)
        return error_set(SARAPHIS_ERROR_STATE, "pressure_start: the handler has no probe");
    pthread_mutex_lock(&handler->lock);
    if (handler->thread_running) {
        pthread_mutex_unlock(&handler->lock);
        return error_set(SARAPHIS_ERROR_STATE, "pressure_start: already running");
    }
    handler->stop_requested = 0;
    int failed = pthread_create(&handler->thread, NULL, monitor_main, handler);
    handler->thread_running = !failed;
    pthread_mutex_unlock(&handler->lock);
    if (failed)
        return error_set(SARAPHIS_ERROR_THREAD, "pressure_start: pthread_create failed (%d)",
                         failed);
    return SARAPHIS_OK;
}

void pressure_stop(pressure_t *handler)
{
    if (!handler) return;
    pthread_mutex_lock(&handler->lock);
    if (!handler->thread_running) {
        pthread_mutex_unlock(&handler->lock);
        return;
    }
    handler->stop_requested = 1;
    pthread_cond_broadcast(&handler->wake);
    pthread_t thread = handler->thread;
    pthread_mutex_unlock(&handler->lock);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&handler->lock);
    handler->thread_running = 0;
    pthread_mutex_unlock(&handler->lock);
}

uint64_t pressure_sample_count(const pressure_t *handler)
{
    if (!handler) return 0;
    pressure_t *mutable_handler = (pressure_t *)handler; /* locking is not a logical change */
    pthread_mutex_lock(&mutable_handler->lock);
    uint64_t count = handler->sample_count;
    pthread_mutex_unlock(&mutable_handler->lock);
    return count;
}

pressure_state_t pressure_state(const pressure_t *handler)
{
    if (!handler) return PRESSURE_LOW;
    pressure_t *mutable_handler = (pressure_t *)handler;
    pthread_mutex_lock(&mutable_handler->lock);
    pressure_state_t state = handler->state;
    pthread_mutex_unlock(&mutable_handler->lock);
    return state;
}

double pressure_utilization(const pressure_t *handler)
{
    if (!handler) return 0.0;
    pressure_t *mutable_handler = (pressure_t *)handler;
    pthread_mutex_lock(&mutable_handler->lock);
    double utilization = handler->utilization;
    pthread_mutex_unlock(&mutable_handler->lock);
    return utilization;
}

void pressure_thresholds(const pressure_t *handler, double *low, double *moderate, double *high,
                         double *critical, double *memory_pressure)
{
    if (!handler) return;
    pressure_t *mutable_handler = (pressure_t *)handler;
    pthread_mutex_lock(&mutable_handler->lock);
    if (low) *low = shifted(handler, handler->config.low_threshold);
    if (moderate) *moderate = shifted(handler, handler->config.moderate_threshold);
    if (high) *high = shifted(handler, handler->config.high_threshold);
    if (critical) *critical = shifted(handler, handler->config.critical_threshold);
    if (memory_pressure)
        *memory_pressure = shifted(handler, handler->config.memory_pressure_threshold);
    pthread_mutex_unlock(&mutable_handler->lock);
}

saraphis_status_t pressure_subscribe(pressure_t *handler, pressure_callback_fn callback,
                                     void *user, int *subscription)
{
    if (!handler || !callback)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pressure_subscribe: NULL");
    pthread_mutex_lock(&handler->lock);
    for (int i = 0; i < MAX_SUBSCRIBERS; i++) {
        if (handler->subscribers[i].id) continue;
        int id = handler->next_subscription++;
        handler->subscribers[i] = (subscriber_t){callback, user, id};
        pthread_mutex_unlock(&handler->lock);
        if (subscription) *subscription = id;
        return SARAPHIS_OK;
    }
    pthread_mutex_unlock(&handler->lock);
    return error_set(SARAPHIS_ERROR_LIMIT, "pressure_subscribe: all %d slots are taken",
                     MAX_SUBSCRIBERS);
}

void pressure_unsubscribe(pressure_t *handler, int subscription)
{
    if (!handler || subscription <= 0) return;
    pthread_mutex_lock(&handler->lock);
    for (int i = 0; i < MAX_SUBSCRIBERS; i++)
        if (handler->subscribers[i].id == subscription) handler->subscribers[i].id = 0;
    pthread_mutex_unlock(&handler->lock);
}

saraphis_status_t pressure_route(pressure_t *handler, uint64_t bytes, int require_gpu,
                                 int require_cpu, pressure_decision_t *decision)
{
    if (!handler || !decision)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pressure_route: NULL");
    if (require_gpu && require_cpu)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pressure_route: %llu bytes cannot require both GPU and CPU",
                         (unsigned long long)bytes);
    if (require_cpu) {
        *decision = (pressure_decision_t){PRESSURE_PLACE_CPU, PRESSURE_REASON_REQUIRED};
        return SARAPHIS_OK;
    }
    pthread_mutex_lock(&handler->lock);
    if (!handler->have_sample) {
        pthread_mutex_unlock(&handler->lock);
        return error_set(SARAPHIS_ERROR_STATE, "pressure_route: no memory sample yet");
    }
    /* What the GPU has left: the last sample minus what was sent there since. */
    uint64_t free_bytes = handler->free_bytes > handler->gpu_routed_bytes
                              ? handler->free_bytes - handler->gpu_routed_bytes
                              : 0;
    uint64_t total_bytes = handler->total_bytes;
    if (require_gpu) {
        if (bytes > free_bytes) {
            pthread_mutex_unlock(&handler->lock);
            return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY,
                             "pressure_route: %llu bytes require the GPU, which has %llu bytes "
                             "free of %llu", (unsigned long long)bytes,
                             (unsigned long long)free_bytes, (unsigned long long)total_bytes);
        }
        handler->gpu_routed_bytes += bytes;
        pthread_mutex_unlock(&handler->lock);
        *decision = (pressure_decision_t){PRESSURE_PLACE_GPU, PRESSURE_REASON_REQUIRED};
        return SARAPHIS_OK;
    }
    pressure_decision_t result = {PRESSURE_PLACE_GPU, PRESSURE_REASON_FITS};
    uint64_t headroom = handler->config.gpu_memory_threshold_mb * MIB;
    if (handler->config.force_cpu_on_critical && handler->state == PRESSURE_CRITICAL) {
        result = (pressure_decision_t){PRESSURE_PLACE_CPU, PRESSURE_REASON_CRITICAL};
    } else if (bytes > free_bytes || free_bytes - bytes < headroom) {
        result = (pressure_decision_t){PRESSURE_PLACE_CPU, PRESSURE_REASON_HEADROOM};
    } else {
        double after = (double)(total_bytes - free_bytes + bytes) / (double)total_bytes;
        if (after > shifted(handler, handler->config.memory_pressure_threshold))
            result = (pressure_decision_t){PRESSURE_PLACE_CPU, PRESSURE_REASON_UTILIZATION};
    }
    if (result.placement == PRESSURE_PLACE_GPU) {
        handler->gpu_routed_bytes += bytes;
    } else if (result.reason != PRESSURE_REASON_CRITICAL) {
        handler->pressure_cpu_bytes =
            bytes > UINT64_MAX - handler->pressure_cpu_bytes ? UINT64_MAX
                                                             : handler->pressure_cpu_bytes + bytes;
    }
    pthread_mutex_unlock(&handler->lock);
    *decision = result;
    return SARAPHIS_OK;
}

void pressure_report_gpu_oom(pressure_t *handler)
{
    if (!handler) return;
    pthread_mutex_lock(&handler->lock);
    if (handler->config.adaptive_thresholds) {
        handler->shift -= handler->config.adaptive_step;
        if (handler->shift < -handler->config.adaptive_max_shift)
            handler->shift = -handler->config.adaptive_max_shift;
    }
    pthread_mutex_unlock(&handler->lock);
}

/* ------------------------------------------------------------------------------------------ */
/* Scripted probe                                                                             */

static saraphis_status_t scripted_query(void *context, uint64_t *free_bytes,
                                        uint64_t *total_bytes)
{
    const pressure_script_t *script = context;
    if (!script || !script->steps || script->step_count == 0)
        return error_set(SARAPHIS_ERROR_STATE, "scripted probe: empty script");
    uint64_t now = script->clock ? script->clock(script->clock_context) : 0;
    size_t index = 0;
    while (index + 1 < script->step_count && script->steps[index + 1].at_ms <= now) index++;
    *free_bytes = script->steps[index].free_bytes;
    *total_bytes = script->steps[index].total_bytes;
    return SARAPHIS_OK;
}

void pressure_probe_scripted(pressure_probe_t *probe, pressure_script_t *script)
{
    probe->context = script;
    probe->query = scripted_query;
}
