/* Memory-pressure handler tests on scripted timelines with an injected clock: every state change
 * exactly at its threshold, no flapping inside the hysteresis band, the switch delay, the
 * emergency level, adaptive thresholds, routing, subscribers and the monitoring thread. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "memory/pressure.h"
#include "pool_test_support.h"

#define TOTAL 1000u /* bytes: utilization = used / 1000, exact at every threshold */

static uint64_t fake_now_ms;
static uint64_t fake_clock(void *context)
{
    (void)context;
    return fake_now_ms;
}

static pressure_t *make_handler(uint32_t delay_ms, int adaptive)
{
    pressure_config_t config;
    pressure_config_default(&config);
    config.switch_delay_ms = delay_ms;
    config.adaptive_thresholds = adaptive;
    config.clock = fake_clock;
    config.gpu_memory_threshold_mb = 0; /* byte-sized device: no MiB headroom */
    pressure_t *handler = NULL;
    CHECK_OK(pressure_create(&handler, &config, NULL));
    fake_now_ms = 0;
    return handler;
}

static pressure_state_t feed(pressure_t *handler, uint64_t used)
{
    CHECK_OK(pressure_update(handler, TOTAL - used, TOTAL));
    return pressure_state(handler);
}

static void test_thresholds_exact(void)
{
    pressure_t *handler = make_handler(0, 0);
    CHECK(feed(handler, 0) == PRESSURE_LOW);
    CHECK(feed(handler, 499) == PRESSURE_LOW);
    CHECK(feed(handler, 500) == PRESSURE_MODERATE); /* u = 0.50 */
    CHECK(feed(handler, 749) == PRESSURE_MODERATE);
    CHECK(feed(handler, 750) == PRESSURE_HIGH); /* u = 0.75 */
    CHECK(feed(handler, 899) == PRESSURE_HIGH);
    CHECK(feed(handler, 900) == PRESSURE_CRITICAL); /* u = 0.90 */
    CHECK(feed(handler, 1000) == PRESSURE_CRITICAL);
    /* Downward edges: entry threshold x (1 - 0.15). CRITICAL is left below 0.765. */
    CHECK(feed(handler, 766) == PRESSURE_CRITICAL);
    CHECK(feed(handler, 764) == PRESSURE_HIGH);
    CHECK(feed(handler, 638) == PRESSURE_HIGH); /* HIGH is left below 0.6375 */
    CHECK(feed(handler, 637) == PRESSURE_MODERATE);
    CHECK(feed(handler, 425) == PRESSURE_MODERATE); /* MODERATE is left below 0.425 */
    CHECK(feed(handler, 424) == PRESSURE_LOW);
    /* A fall from CRITICAL lands in the highest state whose band it is still in. */
    CHECK(feed(handler, 950) == PRESSURE_CRITICAL);
    CHECK(feed(handler, 500) == PRESSURE_MODERATE);
    CHECK(feed(handler, 100) == PRESSURE_LOW);
    CHECK(pressure_update(handler, 2000, TOTAL) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(pressure_update(handler, 0, 0) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    pressure_free(handler);
}

static void test_no_flapping(void)
{
    pressure_t *handler = make_handler(0, 0);
    CHECK(feed(handler, 760) == PRESSURE_HIGH);
    /* Oscillating around 0.75 inside the band [0.6375, 0.75): HIGH holds. */
    int changes = 0;
    pressure_state_t last = PRESSURE_HIGH;
    for (int i = 0; i < 100; i++) {
        pressure_state_t state = feed(handler, i % 2 ? 745 : 755);
        changes += state != last;
        last = state;
    }
    CHECK(changes == 0 && last == PRESSURE_HIGH);
    pressure_free(handler);
}

static void test_switch_delay(void)
{
    pressure_t *handler = make_handler(50, 0);
    CHECK(feed(handler, 600) == PRESSURE_LOW); /* target MODERATE, pending since t = 0 */
    fake_now_ms = 49;
    CHECK(feed(handler, 600) == PRESSURE_LOW);
    fake_now_ms = 50;
    CHECK(feed(handler, 600) == PRESSURE_MODERATE); /* held for exactly the delay */
    /* A blip that returns within the delay changes nothing and resets the timer. */
    fake_now_ms = 100;
    CHECK(feed(handler, 800) == PRESSURE_MODERATE);
    fake_now_ms = 120;
    CHECK(feed(handler, 600) == PRESSURE_MODERATE);
    fake_now_ms = 130;
    CHECK(feed(handler, 800) == PRESSURE_MODERATE); /* pending again since 130 */
    fake_now_ms = 179;
    CHECK(feed(handler, 800) == PRESSURE_MODERATE);
    /* A climb keeps the timer: above MODERATE since 130, adopted at 180 as the latest target. */
    fake_now_ms = 180;
    CHECK(feed(handler, 920) == PRESSURE_CRITICAL);
    /* Downward moves wait too. */
    fake_now_ms = 200;
    CHECK(feed(handler, 300) == PRESSURE_CRITICAL);
    fake_now_ms = 250;
    CHECK(feed(handler, 300) == PRESSURE_LOW);
    /* The emergency level skips the delay. */
    fake_now_ms = 300;
    CHECK(feed(handler, 950) == PRESSURE_CRITICAL);
    pressure_free(handler);
}

static void test_routing(void)
{
    pressure_t *handler = make_handler(0, 0);
    pressure_decision_t decision;
    CHECK(pressure_route(handler, 10, 0, 0, &decision) == SARAPHIS_ERROR_STATE); /* no sample */
    feed(handler, 200);
    CHECK_OK(pressure_route(handler, 100, 0, 0, &decision));
    CHECK(decision.placement == PRESSURE_PLACE_GPU && decision.reason == PRESSURE_REASON_FITS);
    /* 200 used + 100 routed: a further 650 would pass 0.9 -> CPU. */
    CHECK_OK(pressure_route(handler, 650, 0, 0, &decision));
    CHECK(decision.placement == PRESSURE_PLACE_CPU &&
          decision.reason == PRESSURE_REASON_UTILIZATION);
    CHECK_OK(pressure_route(handler, 600, 0, 0, &decision)); /* exactly 0.9: allowed */
    CHECK(decision.placement == PRESSURE_PLACE_GPU);
    /* require_cpu / require_gpu. */
    CHECK_OK(pressure_route(handler, 1, 0, 1, &decision));
    CHECK(decision.placement == PRESSURE_PLACE_CPU && decision.reason == PRESSURE_REASON_REQUIRED);
    CHECK(pressure_route(handler, 1, 1, 1, &decision) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK_OK(pressure_route(handler, 100, 1, 0, &decision)); /* 100 free left: fits */
    CHECK(decision.placement == PRESSURE_PLACE_GPU && decision.reason == PRESSURE_REASON_REQUIRED);
    CHECK(pressure_route(handler, 1, 1, 0, &decision) == SARAPHIS_ERROR_OUT_OF_MEMORY);
    CHECK(strstr(saraphis_last_error(), "require the GPU") != NULL);
    /* force_cpu_on_critical. */
    feed(handler, 920);
    CHECK(pressure_state(handler) == PRESSURE_CRITICAL);
    CHECK_OK(pressure_route(handler, 1, 0, 0, &decision));
    CHECK(decision.placement == PRESSURE_PLACE_CPU && decision.reason == PRESSURE_REASON_CRITICAL);
    CHECK_OK(pressure_route(handler, 10, 1, 0, &decision)); /* required still goes to the GPU */
    CHECK(decision.placement == PRESSURE_PLACE_GPU);
    pressure_free(handler);

    /* The MiB headroom rule, on a realistic device. */
    pressure_config_t config;
    pressure_config_default(&config);
    config.clock = fake_clock;
    uint64_t total = (uint64_t)80 << 30, mib = (uint64_t)1 << 20;
    config.force_cpu_on_critical = 0;
    config.memory_pressure_threshold = 1.0;
    CHECK_OK(pressure_create(&handler, &config, NULL));
    CHECK_OK(pressure_update(handler, 150 * mib, total));
    CHECK_OK(pressure_route(handler, 50 * mib, 0, 0, &decision)); /* leaves 100 MiB: GPU */
    CHECK(decision.placement == PRESSURE_PLACE_GPU);
    CHECK_OK(pressure_route(handler, 1, 0, 0, &decision)); /* would dip below 100 MiB */
    CHECK(decision.placement == PRESSURE_PLACE_CPU && decision.reason == PRESSURE_REASON_HEADROOM);
    pressure_free(handler);
}

static void test_adaptive(void)
{
    pressure_t *handler = make_handler(0, 1);
    double low, moderate, high, critical, memory;
    feed(handler, 850);
    pressure_decision_t decision;
    CHECK_OK(pressure_route(handler, 60, 0, 0, &decision)); /* 0.91 > 0.90: offloaded */
    CHECK(decision.placement == PRESSURE_PLACE_CPU);
    /* Next sample: 850 + 60 = 910 is not below high (0.90): the offload was justified. */
    feed(handler, 850);
    pressure_thresholds(handler, &low, &moderate, &high, &critical, &memory);
    CHECK(high == 0.90 && memory == 0.90);
    /* Offload 60 again, then usage falls to 700: 760 < 0.90 -> needless, raise one step. */
    CHECK_OK(pressure_route(handler, 60, 0, 0, &decision));
    CHECK(decision.placement == PRESSURE_PLACE_CPU);
    feed(handler, 700);
    pressure_thresholds(handler, &low, &moderate, &high, &critical, &memory);
    CHECK(low == 0.50 + 0.01 && high == 0.90 + 0.01 && memory == 0.90 + 0.01);
    /* Bounded: ten more needless offloads raise at most to +0.05. */
    for (int i = 0; i < 10; i++) {
        feed(handler, 880);
        CHECK_OK(pressure_route(handler, 100, 0, 0, &decision)); /* 0.98: always offloaded */
        CHECK(decision.placement == PRESSURE_PLACE_CPU);
        feed(handler, 100);
    }
    pressure_thresholds(handler, &low, NULL, &high, &critical, NULL);
    CHECK(high == 0.90 + 0.05 && critical == 0.99 /* 0.95 + 0.05, capped at 0.99 */);
    CHECK(low == 0.50 + 0.05);
    /* An out-of-memory report lowers them again. */
    for (int i = 0; i < 20; i++) pressure_report_gpu_oom(handler);
    pressure_thresholds(handler, &low, NULL, &high, NULL, NULL);
    CHECK(low == 0.50 - 0.05 && high == 0.90 - 0.05);
    /* The state thresholds move with the shift: 0.46 is MODERATE now. */
    CHECK(feed(handler, 460) == PRESSURE_MODERATE);
    pressure_free(handler);

    /* Without adaptation nothing moves. */
    handler = make_handler(0, 0);
    pressure_report_gpu_oom(handler);
    pressure_thresholds(handler, &low, NULL, NULL, NULL, NULL);
    CHECK(low == 0.50);
    pressure_free(handler);
}

typedef struct {
    int calls;
    pressure_state_t last_old, last_new;
} subscriber_log_t;

static void log_change(void *user, pressure_state_t old_state, pressure_state_t new_state,
                       double utilization)
{
    subscriber_log_t *log = user;
    (void)utilization;
    log->calls++;
    log->last_old = old_state;
    log->last_new = new_state;
}

static void test_subscribers(void)
{
    pressure_t *handler = make_handler(0, 0);
    subscriber_log_t log = {0};
    int id;
    CHECK_OK(pressure_subscribe(handler, log_change, &log, &id));
    feed(handler, 100);
    CHECK(log.calls == 0);
    feed(handler, 800);
    CHECK(log.calls == 1 && log.last_old == PRESSURE_LOW && log.last_new == PRESSURE_HIGH);
    feed(handler, 800);
    CHECK(log.calls == 1); /* no change, no call */
    pressure_unsubscribe(handler, id);
    feed(handler, 100);
    CHECK(log.calls == 1);
    CHECK(strcmp(pressure_state_name(PRESSURE_CRITICAL), "critical") == 0);
    pressure_free(handler);
}

/* The thread test: the clock advances 10 ms per probe query, so the scripted timeline is walked
 * in the same order whatever the real timing. */
static atomic_uint_fast64_t stepping_now;
static uint64_t stepping_clock(void *context)
{
    (void)context;
    return (uint64_t)atomic_load(&stepping_now);
}

typedef struct {
    pressure_script_t script;
} stepping_probe_t;

static saraphis_status_t stepping_query(void *context, uint64_t *free_bytes,
                                        uint64_t *total_bytes)
{
    stepping_probe_t *probe = context;
    atomic_fetch_add(&stepping_now, 10);
    pressure_probe_t inner;
    pressure_probe_scripted(&inner, &probe->script);
    return inner.query(inner.context, free_bytes, total_bytes);
}

typedef struct {
    atomic_int calls;
    atomic_int reached_critical;
    atomic_int back_to_low;
} thread_log_t;

static void thread_change(void *user, pressure_state_t old_state, pressure_state_t new_state,
                          double utilization)
{
    thread_log_t *log = user;
    (void)old_state, (void)utilization;
    atomic_fetch_add(&log->calls, 1);
    if (new_state == PRESSURE_CRITICAL) atomic_store(&log->reached_critical, 1);
    if (new_state == PRESSURE_LOW && atomic_load(&log->reached_critical))
        atomic_store(&log->back_to_low, 1);
}

static void test_thread(void)
{
    static const pressure_script_step_t steps[] = {
        {0, 900, TOTAL}, {100, 400, TOTAL}, {200, 200, TOTAL}, {300, 30, TOTAL},
        {400, 900, TOTAL},
    };
    stepping_probe_t stepping = {{steps, 5, stepping_clock, NULL}};
    pressure_probe_t probe = {&stepping, stepping_query};
    pressure_config_t config;
    pressure_config_default(&config);
    config.clock = stepping_clock;
    config.monitoring_interval_ms = 1;
    config.switch_delay_ms = 20;
    atomic_store(&stepping_now, 0);
    pressure_t *handler;
    CHECK_OK(pressure_create(&handler, &config, &probe));
    thread_log_t log;
    atomic_init(&log.calls, 0);
    atomic_init(&log.reached_critical, 0);
    atomic_init(&log.back_to_low, 0);
    CHECK_OK(pressure_subscribe(handler, thread_change, &log, NULL));
    CHECK_OK(pressure_start(handler));
    CHECK(pressure_start(handler) == SARAPHIS_ERROR_STATE);
    /* Wait (real time, bounded) until the timeline has been walked to its end. */
    for (int i = 0; i < 5000 && atomic_load(&stepping_now) < 600; i++) {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    pressure_stop(handler);
    pressure_stop(handler); /* idempotent */
    CHECK(atomic_load(&stepping_now) >= 600);
    CHECK(pressure_sample_count(handler) >= 60);
    CHECK(atomic_load(&log.reached_critical) == 1); /* 0.97 at t >= 300 is an emergency */
    CHECK(atomic_load(&log.back_to_low) == 1);      /* 0.1 at t >= 400 */
    CHECK(pressure_state(handler) == PRESSURE_LOW);
    uint64_t samples = pressure_sample_count(handler);
    struct timespec pause = {0, 20000000};
    nanosleep(&pause, NULL);
    CHECK(pressure_sample_count(handler) == samples); /* really stopped */
    CHECK_OK(pressure_start(handler));                 /* restartable */
    pressure_free(handler);                            /* stops it */
}

int main(void)
{
    run_test("thresholds_exact", test_thresholds_exact);
    run_test("no_flapping", test_no_flapping);
    run_test("switch_delay", test_switch_delay);
    run_test("routing", test_routing);
    run_test("adaptive", test_adaptive);
    run_test("subscribers", test_subscribers);
    run_test("thread", test_thread);
    printf("pressure: %d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed != 0;
}
