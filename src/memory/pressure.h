/* pressure: the GPU memory-pressure handler. It samples a probe (free and total bytes), turns the
 * utilization u = 1 - free/total into one of four states, tells subscribers when the state
 * changes, and decides where a new allocation goes (GPU or CPU).
 *
 * States and thresholds (defaults low 0.50, moderate 0.75, high 0.90, critical 0.95). Each of the
 * first three thresholds is the upper edge of the state it names, so the raw state of u is
 *     LOW        u <  low
 *     MODERATE   low      <= u < moderate
 *     HIGH       moderate <= u < high
 *     CRITICAL   high     <= u
 * and the fourth, critical, is the emergency level: a raw CRITICAL with u >= critical is adopted
 * at once, skipping the switch delay (waiting 50 ms at 95% risks an out-of-memory).
 *
 * Hysteresis. Upward moves happen at the thresholds above. A state is left downward only when u
 * falls below its entry threshold times (1 - hysteresis_factor): with the defaults MODERATE is
 * left below 0.425, HIGH below 0.6375, CRITICAL below 0.765. The target of a downward move is the
 * highest state whose own exit condition is not met, so a drop from CRITICAL to u = 0.5 lands in
 * MODERATE (0.5 >= 0.425). Inside the band the state holds: no flapping.
 *
 * Switch delay. A target different from the current state must hold for switch_delay_ms (by the
 * injected clock) before it is adopted. The timer starts when the target first leaves the current
 * state in one direction and keeps running while it stays on that side (a climb from MODERATE
 * through HIGH to CRITICAL is adopted as CRITICAL once it has been above MODERATE for the delay);
 * it restarts when the target returns to the current state or crosses to the other side.
 *
 * Routing (pressure_route). require_gpu and require_cpu together are INVALID_ARGUMENT.
 * require_cpu: CPU. require_gpu: GPU when the bytes fit in the free bytes of the last sample
 * minus what was routed to the GPU since; otherwise OUT_OF_MEMORY (a hard failure, never a
 * silent fall back). Otherwise CPU when force_cpu_on_critical is set and the state is CRITICAL,
 * when free bytes after placing it would drop below gpu_memory_threshold_mb, or when utilization
 * after placing it would exceed memory_pressure_threshold; else GPU.
 *
 * Adaptive thresholds (adaptive_thresholds = 1). The handler counts the bytes routed to the CPU
 * because of pressure (not because of require_cpu or force_cpu_on_critical). At the next sample,
 * if those bytes would have fitted below the current `high` threshold, the offload was needless:
 * every threshold (the four state thresholds and memory_pressure_threshold) is raised by
 * adaptive_step (0.01). pressure_report_gpu_oom() (a GPU allocation failed) lowers them all by
 * the same step. The shift stays within +-adaptive_max_shift (0.05) of the configured values and
 * no threshold passes 0.99. Deterministic: the shift depends only on the samples and reports.
 *
 * Threads. pressure_start() runs a pthread that samples every monitoring_interval_ms until
 * pressure_stop(). Subscribers are called from whichever thread samples (that thread, or the
 * caller of pressure_sample), one at a time, after the state lock is released: a callback may
 * call pressure_state/pressure_route but not pressure_sample/stop. All functions are thread-safe
 * except pressure_free, which must not race with anything.
 */
#ifndef SARAPHIS_MEMORY_PRESSURE_H
#define SARAPHIS_MEMORY_PRESSURE_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

typedef enum {
    PRESSURE_LOW = 0,
    PRESSURE_MODERATE = 1,
    PRESSURE_HIGH = 2,
    PRESSURE_CRITICAL = 3
} pressure_state_t;

const char *pressure_state_name(pressure_state_t state);

/* Reports device memory. Called from the sampling thread; must be thread-safe against itself
 * only if the caller samples from several threads. */
typedef struct {
    void *context;
    saraphis_status_t (*query)(void *context, uint64_t *free_bytes, uint64_t *total_bytes);
} pressure_probe_t;

/* Milliseconds from an arbitrary origin, monotonic. */
typedef uint64_t (*pressure_clock_fn)(void *context);

typedef struct {
    double low_threshold;            /* 0.50 */
    double moderate_threshold;       /* 0.75 */
    double high_threshold;           /* 0.90 */
    double critical_threshold;       /* 0.95 */
    double hysteresis_factor;        /* 0.15, in [0, 1) */
    uint32_t switch_delay_ms;        /* 50 */
    uint32_t monitoring_interval_ms; /* 100, > 0 */
    int adaptive_thresholds;         /* 0 */
    double adaptive_step;            /* 0.01 */
    double adaptive_max_shift;       /* 0.05 */
    uint64_t gpu_memory_threshold_mb;  /* 100: free MiB to keep after a GPU placement */
    double memory_pressure_threshold;  /* 0.90: utilization a GPU placement may not exceed */
    int force_cpu_on_critical;         /* 1 */
    pressure_clock_fn clock;           /* NULL: CLOCK_MONOTONIC */
    void *clock_context;
} pressure_config_t;

void pressure_config_default(pressure_config_t *config);

typedef enum { PRESSURE_PLACE_GPU = 0, PRESSURE_PLACE_CPU = 1 } pressure_placement_t;

typedef enum {
    PRESSURE_REASON_FITS = 0,         /* GPU: room and no pressure */
    PRESSURE_REASON_REQUIRED = 1,     /* placed where require_gpu/require_cpu said */
    PRESSURE_REASON_CRITICAL = 2,     /* CPU: force_cpu_on_critical in CRITICAL */
    PRESSURE_REASON_HEADROOM = 3,     /* CPU: would leave less than gpu_memory_threshold_mb */
    PRESSURE_REASON_UTILIZATION = 4   /* CPU: would pass memory_pressure_threshold */
} pressure_reason_t;

typedef struct {
    pressure_placement_t placement;
    pressure_reason_t reason;
} pressure_decision_t;

typedef void (*pressure_callback_fn)(void *user, pressure_state_t old_state,
                                     pressure_state_t new_state, double utilization);

typedef struct pressure_s pressure_t;

/* The probe is copied; its context must outlive the handler. */
saraphis_status_t pressure_create(pressure_t **handler, const pressure_config_t *config,
                                  const pressure_probe_t *probe);
void pressure_free(pressure_t *handler); /* stops the thread first; NULL does nothing */

/* Queries the probe once and updates the state (notifying subscribers on a change). */
saraphis_status_t pressure_sample(pressure_t *handler);
/* Feeds a reading without the probe (what pressure_sample does after its query). */
saraphis_status_t pressure_update(pressure_t *handler, uint64_t free_bytes, uint64_t total_bytes);

saraphis_status_t pressure_start(pressure_t *handler); /* STATE if already running */
void pressure_stop(pressure_t *handler);               /* waits for the thread; idempotent */
uint64_t pressure_sample_count(const pressure_t *handler);

pressure_state_t pressure_state(const pressure_t *handler);
double pressure_utilization(const pressure_t *handler); /* of the last sample; 0 before any */
/* The thresholds in force (configured + adaptive shift): low, moderate, high, critical, and the
 * memory_pressure_threshold; any pointer may be NULL. */
void pressure_thresholds(const pressure_t *handler, double *low, double *moderate, double *high,
                         double *critical, double *memory_pressure);

saraphis_status_t pressure_subscribe(pressure_t *handler, pressure_callback_fn callback,
                                     void *user, int *subscription);
void pressure_unsubscribe(pressure_t *handler, int subscription);

/* Where `bytes` should go; see the header comment. Needs at least one sample (STATE before). */
saraphis_status_t pressure_route(pressure_t *handler, uint64_t bytes, int require_gpu,
                                 int require_cpu, pressure_decision_t *decision);
/* A GPU allocation failed: with adaptive thresholds, lower them one step. */
void pressure_report_gpu_oom(pressure_t *handler);

/* A probe that replays a timeline by the handler's clock: step i holds from at_ms[i] until the
 * next step (steps ascending); before the first step it reports step 0. */
typedef struct {
    uint64_t at_ms;
    uint64_t free_bytes;
    uint64_t total_bytes;
} pressure_script_step_t;

typedef struct {
    const pressure_script_step_t *steps;
    size_t step_count;
    pressure_clock_fn clock;
    void *clock_context;
} pressure_script_t;

void pressure_probe_scripted(pressure_probe_t *probe, pressure_script_t *script);

#ifdef SARAPHIS_WITH_CUDA
/* cudaMemGetInfo (src/gpu/pressure_cuda.c). device (may be NULL: the sampling thread's current
 * device) must outlive the probe; the sampling thread selects it before each query. */
void pressure_probe_cuda(pressure_probe_t *probe, const int *device);
#endif

#endif
