/* Stress: 8 threads share one system for a fixed number of rounds, each compressing and
 * decompressing its own tensors (dtypes, sizes, strides, priorities and call forms drawn from
 * its own seed), checking every result bit for bit; a ninth thread keeps switching strategies
 * and reading the status and metrics. At the end the status totals must equal what the threads
 * counted. Meant to run clean under ThreadSanitizer and AddressSanitizer.
 *
 * SARAPHIS_STRESS_ROUNDS sets the rounds per thread: default 400, or 80 in sanitizer builds
 * (about 15 s under TSan on 2 cores). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "saraphis.h"
#include "testing.h"

enum { THREADS = 8 };

typedef struct {
    saraphis_system_t *system;
    int index;
    int rounds;
    uint64_t compressions, decompressions, failures, expected_failures;
    char failure[512];
} worker_t;

static int stop_switching;
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_failure(worker_t *w, const char *what)
{
    w->failures++;
    if (!w->failure[0]) snprintf(w->failure, sizeof w->failure, "thread %d: %s: %s", w->index, what, saraphis_last_error());
}

static void *worker_main(void *argument)
{
    worker_t *w = argument;
    unsigned long long state = 0x9E3779B97F4A7C15ULL * (unsigned long long)(w->index + 1);
    static const DLDataType dtypes[] = {{kDLFloat, 32, 1}, {kDLBfloat, 16, 1}, {kDLFloat, 16, 1}, {kDLInt, 8, 1},
                                        {kDLFloat, 64, 1}, {kDLInt, 32, 1}};
    for (int round = 0; round < w->rounds; round++) {
        DLDataType dtype = dtypes[test_random(&state) % (sizeof dtypes / sizeof dtypes[0])];
        size_t element = dtype.bits / 8;
        int64_t rows = 1 + (int64_t)(test_random(&state) % 64), cols = 1 + (int64_t)(test_random(&state) % 512);
        if (test_random(&state) % 16 == 0) rows *= 16; /* now and then a larger tensor */
        size_t count = (size_t)(rows * cols), bytes = count * element;
        uint8_t *data = malloc(bytes);
        for (size_t i = 0; i < bytes; i++)
            data[i] = (uint8_t)(i % element == element - 1 ? test_random(&state) & 0x3 : test_random(&state));
        int strided = test_random(&state) % 4 == 0;
        int64_t shape[2] = {rows, cols}, strides[2] = {1, cols};
        if (strided) { shape[0] = cols; shape[1] = rows; } /* the transposed view of data */
        DLTensor tensor = {data, {kDLCPU, 0}, 2, dtype, shape, strided ? strides : NULL, 0};
        /* The logical (row-major) bytes the frame must hold. */
        uint8_t *expected = data;
        if (strided) {
            expected = malloc(bytes);
            for (int64_t c = 0; c < cols; c++)
                for (int64_t r = 0; r < rows; r++)
                    memcpy(expected + (size_t)(c * rows + r) * element, data + (size_t)(r * cols + c) * element, element);
        }
        saraphis_priority_t priority = (saraphis_priority_t)(test_random(&state) % 5);
        saraphis_result_t *result = NULL;
        int form = (int)(test_random(&state) % 4);
        if (form == 0) {
            /* A batch of three: this tensor twice and a small one, one of them refused. */
            float small[100];
            for (int i = 0; i < 100; i++) small[i] = (float)(i * w->index);
            int64_t small_shape[1] = {100};
            DLTensor small_tensor = {small, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, small_shape, NULL, 0};
            const DLTensor *items[4] = {&tensor, &small_tensor, &tensor, &small_tensor};
            const char *metadata[4] = {"{\"model_name\": \"stress\"}", NULL, NULL, "{\"require_gpu\": true}"};
            saraphis_result_t *results[4];
            saraphis_status_t statuses[4];
            saraphis_status_t status = saraphis_system_compress_batch(w->system, items, 4, priority, metadata, results, statuses);
            if (status != SARAPHIS_ERROR_UNSUPPORTED || statuses[3] != SARAPHIS_ERROR_UNSUPPORTED) note_failure(w, "batch");
            else w->expected_failures++;
            for (int i = 0; i < 3; i++) {
                if (statuses[i] != SARAPHIS_OK) {
                    note_failure(w, "batch item");
                    continue;
                }
                w->compressions++;
                float restored[100];
                if (i == 1) {
                    int64_t restored_shape[1] = {100};
                    DLTensor destination = {restored, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, restored_shape, NULL, 0};
                    if (saraphis_system_decompress_into(w->system, saraphis_result_data(results[i]),
                                                        saraphis_result_size(results[i]), &destination,
                                                        priority) != SARAPHIS_OK ||
                        memcmp(restored, small, sizeof small) != 0)
                        note_failure(w, "batch small round trip");
                    else w->decompressions++;
                }
            }
            saraphis_result_free(results[1]);
            saraphis_result_free(results[2]);
            result = results[0];
        } else {
            const char *metadata = form == 1 ? "{\"layer\": 7, \"size_mb\": 0.25, \"custom\": [1]}" : NULL;
            if (saraphis_system_compress(w->system, &tensor, priority, metadata, &result) != SARAPHIS_OK) {
                note_failure(w, "compress");
                result = NULL;
            } else {
                w->compressions++;
            }
        }
        if (result) {
            if (saraphis_result_raw_size(result) != bytes) note_failure(w, "raw size");
            if (form == 3) {
                uint8_t *into = malloc(bytes);
                DLTensor destination = {into, {kDLCPU, 0}, 2, dtype, shape, NULL, 0};
                if (saraphis_system_decompress_into(w->system, saraphis_result_data(result), saraphis_result_size(result),
                                                    &destination, priority) != SARAPHIS_OK ||
                    memcmp(into, expected, bytes) != 0)
                    note_failure(w, "decompress_into");
                else w->decompressions++;
                free(into);
            } else {
                DLManagedTensor *out = NULL;
                if (saraphis_system_decompress(w->system, saraphis_result_data(result), saraphis_result_size(result),
                                               (DLDevice){kDLCPU, 0}, shape, 2, priority, &out) != SARAPHIS_OK ||
                    memcmp(out->dl_tensor.data, expected, bytes) != 0)
                    note_failure(w, "decompress");
                else w->decompressions++;
                if (out) out->deleter(out);
            }
            saraphis_result_free(result);
        }
        if (expected != data) free(expected);
        free(data);
    }
    return NULL;
}

static void *switcher_main(void *argument)
{
    saraphis_system_t *system = argument;
    int k = 0, *failures = calloc(1, sizeof(int));
    for (;;) {
        pthread_mutex_lock(&stop_lock);
        int stop = stop_switching;
        pthread_mutex_unlock(&stop_lock);
        if (stop) break;
        if (saraphis_system_optimize(system, (saraphis_strategy_t)(k++ % 5)) != SARAPHIS_OK) (*failures)++;
        char *text = NULL;
        if (saraphis_system_status_json(system, &text) != SARAPHIS_OK) (*failures)++;
        free(text);
        if (saraphis_system_metrics_prometheus(system, &text) != SARAPHIS_OK) (*failures)++;
        free(text);
    }
    return failures;
}

int main(void)
{
    for (size_t i = 0; i < saraphis_config_field_count(); i++) {
        const char *env = saraphis_config_field_at(i)->env;
        unsetenv(env);
    }
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    int rounds = 80;
#else
    int rounds = 400;
#endif
    const char *rounds_text = getenv("SARAPHIS_STRESS_ROUNDS");
    if (rounds_text && atoi(rounds_text) > 0) rounds = atoi(rounds_text);
    saraphis_config_t *config = saraphis_config_create();
    /* Fewer workers than callers, and a short queue and window, so that callers wait for room,
     * queue behind each other and ADAPTIVE re-decides often. */
    saraphis_config_set(config, "cpu_workers", "3");
    saraphis_config_set(config, "queue_capacity", "4");
    saraphis_config_set(config, "adaptive_window", "16");
    saraphis_config_set(config, "monitoring_interval_ms", "5");
    saraphis_system_t *system = NULL;
    CHECK(saraphis_system_create(&system, config) == SARAPHIS_OK);
    saraphis_config_free(config);
    if (!system) return TEST_SUMMARY("test_stress");
    worker_t workers[THREADS];
    pthread_t threads[THREADS], switcher;
    pthread_create(&switcher, NULL, switcher_main, system);
    for (int i = 0; i < THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].system = system;
        workers[i].index = i;
        workers[i].rounds = rounds;
        pthread_create(&threads[i], NULL, worker_main, &workers[i]);
    }
    uint64_t compressions = 0, decompressions = 0, expected_failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(workers[i].failures == 0, "%s", workers[i].failure);
        compressions += workers[i].compressions;
        decompressions += workers[i].decompressions;
        expected_failures += workers[i].expected_failures;
    }
    pthread_mutex_lock(&stop_lock);
    stop_switching = 1;
    pthread_mutex_unlock(&stop_lock);
    void *switch_failures = NULL;
    pthread_join(switcher, &switch_failures);
    CHECK(switch_failures && *(int *)switch_failures == 0);
    free(switch_failures);

    char *text = NULL;
    CHECK(saraphis_system_status_json(system, &text) == SARAPHIS_OK);
    json_value_t *root = NULL;
    CHECK(text && json_parse(text, strlen(text), &root, "status") == SARAPHIS_OK);
    const json_value_t *stats = json_object_get(root, "statistics");
    uint64_t value = 0;
    CHECK(json_get_uint64(json_object_get(stats, "total_compressions"), &value) && value == compressions);
    CHECK(json_get_uint64(json_object_get(stats, "total_decompressions"), &value) && value == decompressions);
    CHECK(json_get_uint64(json_object_get(stats, "failed_compressions"), &value) && value == expected_failures);
    CHECK(json_get_uint64(json_object_get(stats, "in_flight"), &value) && value == 0);
    uint64_t decisions = 0;
    CHECK(json_get_uint64(json_object_get(json_object_get(json_object_get(root, "performance"), "adaptive"), "decisions"),
                          &decisions) && decisions > 0);
    json_free(root);
    free(text);
    CHECK(saraphis_system_shutdown(system) == SARAPHIS_OK);
    saraphis_system_free(system);
    printf("test_stress: %d threads x %d rounds: %llu compressions, %llu decompressions checked\n", THREADS, rounds,
           (unsigned long long)compressions, (unsigned long long)decompressions);
    return TEST_SUMMARY("test_stress");
}
