/* The seeds' Quick Start, line by line, in C (each Python line is quoted above its C).
 *
 * Build: cmake builds it as examples/quickstart (ctest runs it). Run: ./quickstart [work-dir]
 * Exit status 0 when every step did what the guide says; the round trip is checked bit for bit.
 *
 * The status is JSON; any JSON parser reads it. This example uses the library's own
 * (src/common/json.h) to pick fields out, as a caller would use theirs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "saraphis.h"

#define CHECK_OK(call)                                                                          \
    do {                                                                                        \
        saraphis_status_t status_ = (call);                                                     \
        if (status_ != SARAPHIS_OK) {                                                           \
            fprintf(stderr, "%s failed (%s): %s\n", #call, saraphis_status_name(status_),       \
                    saraphis_last_error());                                                     \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

/* torch.randn: standard normal floats (Box-Muller over a fixed xorshift stream). */
static void randn(float *values, size_t count, unsigned long long seed)
{
    unsigned long long state = seed | 1;
    for (size_t i = 0; i < count; i += 2) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
            u[k] = ((double)((state * 0x2545F4914F6CDD1DULL) >> 11) + 0.5) / 9007199254740992.0;
        }
        double r = sqrt(-2.0 * log(u[0]));
        values[i] = (float)(r * cos(6.283185307179586 * u[1]));
        if (i + 1 < count) values[i + 1] = (float)(r * sin(6.283185307179586 * u[1]));
    }
}

/* A host tensor of float32 over caller memory: what torch.utils.dlpack.to_dlpack hands over. */
static DLTensor float_tensor(float *data, int64_t *shape, int32_t ndim)
{
    DLTensor tensor = {data, {kDLCPU, 0}, ndim, {kDLFloat, 32, 1}, shape, NULL, 0};
    return tensor;
}

static const json_value_t *path_get(const json_value_t *root, const char *a, const char *b, const char *c)
{
    const json_value_t *v = json_object_get(root, a);
    if (v && b) v = json_object_get(v, b);
    if (v && c) v = json_object_get(v, c);
    return v;
}

static double number_at(const json_value_t *root, const char *a, const char *b, const char *c)
{
    double value = NAN;
    const json_value_t *v = path_get(root, a, b, c);
    if (v) json_get_double(v, &value);
    return value;
}

int main(int argc, char **argv)
{
    const char *work_dir = argc > 1 ? argv[1] : ".";

    /* ## Quick Start / Basic Usage */
    /* system = create_compression_system() */
    saraphis_system_t *system = NULL;
    CHECK_OK(saraphis_system_create(&system, NULL));

    /* tensor = torch.randn(1000, 1000) */
    int64_t shape[2] = {1000, 1000};
    float *values = malloc(1000 * 1000 * sizeof(float));
    if (!values) return 1;
    randn(values, 1000 * 1000, 42);
    DLTensor tensor = float_tensor(values, shape, 2);

    /* result = system.compress(tensor) */
    saraphis_result_t *result = NULL;
    CHECK_OK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &result));

    /* print(f"Compression ratio: {result.compression_ratio:.2f}x") */
    printf("Compression ratio: %.2fx\n", saraphis_result_ratio(result));
    /* print(f"Processing mode: {result.processing_mode}") */
    printf("Processing mode: %s\n", saraphis_mode_name(saraphis_result_mode(result)));

    /* decompressed = system.decompress(result.compressed_data) */
    DLManagedTensor *decompressed = NULL;
    CHECK_OK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                        (DLDevice){kDLCPU, 0}, shape, 2, SARAPHIS_PRIORITY_MEDIUM, &decompressed));
    if (memcmp(decompressed->dl_tensor.data, values, 1000 * 1000 * sizeof(float)) != 0) {
        fprintf(stderr, "round trip differs\n");
        return 1;
    }
    printf("Decompressed: %d-D tensor, identical to the input\n", decompressed->dl_tensor.ndim);
    decompressed->deleter(decompressed);
    saraphis_result_free(result);

    /* ## Custom Configuration */
    /* config = SystemConfiguration(gpu_memory_limit_mb=4096, enable_smart_pool=True,
     *     enable_auto_swap=True, enable_cpu_bursting=True,
     *     optimization_strategy=OptimizationStrategy.THROUGHPUT, prime=251, precision=64) */
    saraphis_config_t *config = saraphis_config_create();
    if (!config) return 1;
    CHECK_OK(saraphis_config_set(config, "gpu_memory_limit_mb", "4096"));
    CHECK_OK(saraphis_config_set(config, "enable_smart_pool", "true"));
    CHECK_OK(saraphis_config_set(config, "enable_auto_swap", "true"));
    CHECK_OK(saraphis_config_set(config, "enable_cpu_bursting", "true"));
    CHECK_OK(saraphis_config_set(config, "optimization_strategy", "throughput"));
    CHECK_OK(saraphis_config_set(config, "prime", "251"));
    CHECK_OK(saraphis_config_set(config, "precision", "64"));
    /* system = create_compression_system(config) */
    saraphis_system_t *custom = NULL;
    CHECK_OK(saraphis_system_create(&custom, config));

    /* ## Load from Configuration File */
    /* config.save('compression_config.json') */
    char path[4096];
    snprintf(path, sizeof path, "%s/compression_config.json", work_dir);
    CHECK_OK(saraphis_config_save_json(config, path));
    /* system = load_compression_system('compression_config.json') */
    saraphis_config_t *loaded = saraphis_config_create();
    if (!loaded) return 1;
    CHECK_OK(saraphis_config_load_json(loaded, path));
    saraphis_system_t *from_file = NULL;
    CHECK_OK(saraphis_system_create(&from_file, loaded));
    char strategy[32];
    CHECK_OK(saraphis_config_get(loaded, "optimization_strategy", strategy, sizeof strategy));
    printf("Loaded %s: optimization_strategy = %s\n", path, strategy);
    remove(path);

    /* ## Optimization Strategies */
    /* system.optimize_system(OptimizationStrategy.THROUGHPUT) */
    CHECK_OK(saraphis_system_optimize(system, SARAPHIS_STRATEGY_THROUGHPUT));

    /* ## Advanced Features / Priority-Based Compression */
    /* result = system.compress(tensor, priority="high") */
    CHECK_OK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_HIGH, NULL, &result));
    saraphis_result_free(result);
    /* result = system.compress(tensor, priority="critical",
     *     metadata={'model_name': 'transformer', 'layer': 12, 'require_gpu': True}) */
    saraphis_status_t status = saraphis_system_compress(
        system, &tensor, SARAPHIS_PRIORITY_CRITICAL,
        "{\"model_name\": \"transformer\", \"layer\": 12, \"require_gpu\": true}", &result);
    /* ## Error Handling: except RuntimeError as e: print(f"Compression failed: {e}")
     * NO FALLBACKS: require_gpu without a GPU codec fails hard; the system stays consistent. */
    if (status != SARAPHIS_OK) {
        printf("Compression failed: %s\n", saraphis_last_error());
        CHECK_OK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_CRITICAL,
                                          "{\"model_name\": \"transformer\", \"layer\": 12}", &result));
        printf("Retried without require_gpu: ratio %.2fx, metadata %s\n", saraphis_result_ratio(result),
               saraphis_result_metadata_json(result));
    }
    saraphis_result_free(result);

    /* ## Batch Processing */
    /* tensors = [torch.randn(100, 100) for _ in range(10)] */
    enum { BATCH = 10 };
    int64_t small_shape[2] = {100, 100};
    float *small = malloc(BATCH * 100 * 100 * sizeof(float));
    if (!small) return 1;
    DLTensor tensors[BATCH];
    const DLTensor *pointers[BATCH];
    for (int i = 0; i < BATCH; i++) {
        randn(small + i * 10000, 10000, 100 + (unsigned long long)i);
        tensors[i] = float_tensor(small + i * 10000, small_shape, 2);
        pointers[i] = &tensors[i];
    }
    /* for tensor in tensors: results.append(system.compress(tensor)) -- here as one batch call */
    saraphis_result_t *results[BATCH];
    CHECK_OK(saraphis_system_compress_batch(system, pointers, BATCH, SARAPHIS_PRIORITY_MEDIUM, NULL, results, NULL));
    for (int i = 0; i < BATCH; i++) saraphis_result_free(results[i]);

    /* ## Memory-Aware Processing */
    /* result = system.compress(large_tensor, metadata={'require_cpu': True}) */
    CHECK_OK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, "{\"require_cpu\": true}", &result));
    printf("require_cpu: %s (%s)\n", saraphis_mode_name(saraphis_result_mode(result)), saraphis_result_route_reason(result));
    saraphis_result_free(result);
    /* result = system.compress(tensor, metadata={'size_mb': tensor.numel() * 4 / (1024**2)}) */
    char metadata[64];
    snprintf(metadata, sizeof metadata, "{\"size_mb\": %.6f}", 1000.0 * 1000.0 * 4.0 / (1024.0 * 1024.0));
    CHECK_OK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, metadata, &result));
    saraphis_result_free(result);

    /* ## Monitoring and Statistics */
    /* status = system.get_system_status() */
    char *status_text = NULL;
    CHECK_OK(saraphis_system_status_json(system, &status_text));
    json_value_t *status_json = NULL;
    CHECK_OK(json_parse(status_text, strlen(status_text), &status_json, "status"));
    /* print(f"State: {status['state']}") */
    printf("State: %s\n", json_get_string(json_object_get(status_json, "state"), NULL));
    /* print(f"Uptime: {status['uptime_seconds']}s") */
    printf("Uptime: %.3fs\n", number_at(status_json, "uptime_seconds", NULL, NULL));
    /* print(f"Active components: {status['components']}") */
    printf("Active components:");
    const json_value_t *components = json_object_get(status_json, "components");
    for (size_t i = 0; i < json_object_size(components); i++)
        printf(" %s=%s", json_object_key_at(components, i, NULL),
               json_get_string(json_object_get(json_object_value_at(components, i), "state"), NULL));
    printf("\n");
    /* print(f"Total compressions: {status['statistics']['total_compressions']}") */
    printf("Total compressions: %.0f\n", number_at(status_json, "statistics", "total_compressions", NULL));
    /* print(f"Average compression ratio: {pipeline_stats['average_compression_ratio']:.2f}") */
    printf("Average compression ratio: %.2f\n", number_at(status_json, "statistics", "average_compression_ratio", NULL));
    /* perf = status['performance']; print(f"Current strategy: {perf['current_strategy']}") */
    printf("Current strategy: %s\n", json_get_string(path_get(status_json, "performance", "current_strategy", NULL), NULL));
    /* print(f"Average throughput: {perf['metrics']['throughput']['average']}") */
    const json_value_t *metrics = path_get(status_json, "performance", "metrics", NULL);
    printf("Average throughput: %.1f MB/s\n", number_at(metrics, "throughput", "average", NULL));
    /* print(f"Average latency: {perf['metrics']['latency']['average']}ms") */
    printf("Average latency: %.3fms\n", number_at(metrics, "latency", "average", NULL));
    /* memory = status.get('memory_pressure', {}); print(f"Memory state: {memory.get('memory_state')}") */
    const json_value_t *memory = json_object_get(status_json, "memory_pressure");
    const char *memory_state = json_get_string(json_object_get(memory, "memory_state"), NULL);
    printf("Memory state: %s\n", memory_state ? memory_state : "(handler off)");
    /* print(f"GPU free: {memory.get('gpu_free_mb')}MB"); GPU utilization */
    if (json_is_null(json_object_get(memory, "gpu_free_mb"))) printf("GPU free: none (no GPU)\n");
    else printf("GPU free: %.0fMB\nGPU utilization: %.1f%%\n", number_at(memory, "gpu_free_mb", NULL, NULL),
                100.0 * number_at(memory, "gpu_utilization", NULL, NULL));
    json_free(status_json);
    free(status_text);

    /* ## Resource Management: finally: system.shutdown() */
    CHECK_OK(saraphis_system_shutdown(system));
    CHECK_OK(saraphis_system_shutdown(system)); /* idempotent */
    saraphis_system_free(system);
    saraphis_system_free(custom);
    saraphis_system_free(from_file);
    saraphis_config_free(config);
    saraphis_config_free(loaded);
    free(values);
    free(small);
    printf("Quick Start: done\n");
    return 0;
}
