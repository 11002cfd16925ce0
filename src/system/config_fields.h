/* The configuration table: every field of the seeds' SystemConfiguration and CPUBurstingConfig,
 * plus the coordinator's own, in one place (as mimalloc keeps its options). Everything else
 * (parsing, validation, JSON, environment, docs/coordinator.md, the status report) reads this
 * table, so a field added here is parsed, saved, loaded, overridden and reported everywhere.
 *
 * CONFIG_FIELD(id, "name", type, "default", lower, upper, "choices", rule, "ENV", "component",
 *              "description")
 *   type       BOOL, INT, DOUBLE, ENUM (choices "a|b|c", stored as the index), INT_LIST
 *   lower/upper  the inclusive numeric range (INT_LIST: of each element; unused for BOOL/ENUM)
 *   rule       an extra check: NONE, NONZERO (0 is refused), PRIME, CHUNK (0, or a multiple of 64
 *              of at least 4096)
 *   component  what the field configures; the status reports whether that component is built.
 * Dotted names are nested one level in JSON ("swap_thresholds": {"low": 0.5}). */
#ifndef SARAPHIS_SYSTEM_CONFIG_FIELDS_H
#define SARAPHIS_SYSTEM_CONFIG_FIELDS_H

#define CONFIG_FIELDS(CONFIG_FIELD)                                                                \
    /* SystemConfiguration: GPU memory */                                                          \
    CONFIG_FIELD(gpu_memory_limit_mb, "gpu_memory_limit_mb", INT, "8192", 0, 16777216, NULL, NONE, \
                 "SARAPHIS_GPU_MEMORY_LIMIT_MB", "gpu",                                            \
                 "GPU memory the system may use, MiB; caps the device total the pressure probe "   \
                 "reports; 0: no cap")                                                             \
    CONFIG_FIELD(enable_smart_pool, "enable_smart_pool", BOOL, "true", 0, 1, NULL, NONE,           \
                 "SARAPHIS_ENABLE_SMART_POOL", "smart_pool", "Use SmartPool for GPU buffers")      \
    CONFIG_FIELD(smart_pool_fragmentation_target, "smart_pool_fragmentation_target", DOUBLE,      \
                 "0.133", 0, 1, NULL, NONE, "SARAPHIS_SMART_POOL_FRAGMENTATION_TARGET",            \
                 "smart_pool", "Fragmentation SmartPool aims to stay under")                       \
    /* AutoSwap */                                                                                 \
    CONFIG_FIELD(enable_auto_swap, "enable_auto_swap", BOOL, "true", 0, 1, NULL, NONE,             \
                 "SARAPHIS_ENABLE_AUTO_SWAP", "auto_swap", "Priority-based GPU<->CPU swapping")    \
    CONFIG_FIELD(swap_policy, "swap_policy", ENUM, "balanced", 0, 0,                               \
                 "aggressive|balanced|conservative|adaptive", NONE, "SARAPHIS_SWAP_POLICY",        \
                 "auto_swap", "AutoSwap policy")                                                   \
    CONFIG_FIELD(swap_thresholds_low, "swap_thresholds.low", DOUBLE, "0.5", 0.01, 1, NULL, NONE,      \
                 "SARAPHIS_SWAP_THRESHOLD_LOW", "memory_pressure",                                 \
                 "Utilization below which memory is LOW (pressure handler, AutoSwap)")             \
    CONFIG_FIELD(swap_thresholds_moderate, "swap_thresholds.moderate", DOUBLE, "0.75", 0.01, 1, NULL, \
                 NONE, "SARAPHIS_SWAP_THRESHOLD_MODERATE", "memory_pressure",                      \
                 "Upper edge of MODERATE")                                                         \
    CONFIG_FIELD(swap_thresholds_high, "swap_thresholds.high", DOUBLE, "0.9", 0.01, 1, NULL, NONE,    \
                 "SARAPHIS_SWAP_THRESHOLD_HIGH", "memory_pressure", "Upper edge of HIGH")          \
    CONFIG_FIELD(swap_thresholds_critical, "swap_thresholds.critical", DOUBLE, "0.95", 0.01, 1, NULL, \
                 NONE, "SARAPHIS_SWAP_THRESHOLD_CRITICAL", "memory_pressure",                      \
                 "Emergency level: CRITICAL adopted at once, without the switch delay")            \
    /* CPU bursting */                                                                             \
    CONFIG_FIELD(enable_cpu_bursting, "enable_cpu_bursting", BOOL, "true", 0, 1, NULL, NONE,       \
                 "SARAPHIS_ENABLE_CPU_BURSTING", "cpu_bursting",                                   \
                 "GPU->CPU decompression fallback under memory pressure")                          \
    CONFIG_FIELD(cpu_workers, "cpu_workers", INT, "-1", -1, 1024, NULL, NONZERO,                   \
                 "SARAPHIS_CPU_WORKERS", "coordinator",                                            \
                 "Coordinator worker threads; -1: one per online core (alias num_cpu_workers)")    \
    CONFIG_FIELD(cpu_batch_size, "cpu_batch_size", INT, "100", 1, 1000000, NULL, NONE,             \
                 "SARAPHIS_CPU_BATCH_SIZE", "cpu_bursting", "Items per CPU decompression batch")   \
    CONFIG_FIELD(gpu_memory_threshold_mb, "gpu_memory_threshold_mb", INT, "100", 0, 16777216,      \
                 NULL, NONE, "SARAPHIS_GPU_THRESHOLD_MB", "memory_pressure",                       \
                 "Free GPU MiB to keep after a GPU placement; below it work goes to the CPU")      \
    /* Memory pressure */                                                                          \
    CONFIG_FIELD(enable_memory_pressure, "enable_memory_pressure", BOOL, "true", 0, 1, NULL, NONE, \
                 "SARAPHIS_ENABLE_MEMORY_PRESSURE", "memory_pressure",                             \
                 "Run the memory-pressure handler (sampling thread, routing)")                     \
    CONFIG_FIELD(memory_pressure_mode, "memory_pressure_mode", ENUM, "adaptive", 0, 0,             \
                 "static|adaptive", NONE, "SARAPHIS_MEMORY_PRESSURE_MODE", "memory_pressure",      \
                 "adaptive: thresholds move with needless offloads and GPU OOMs")                  \
    CONFIG_FIELD(force_cpu_on_critical, "force_cpu_on_critical", BOOL, "true", 0, 1, NULL, NONE,   \
                 "SARAPHIS_FORCE_CPU_ON_CRITICAL", "memory_pressure",                              \
                 "Route to the CPU while memory is CRITICAL")                                      \
    /* P-adic (bounded) codec */                                                                   \
    CONFIG_FIELD(prime, "prime", INT, "251", 2, 251, NULL, PRIME, "SARAPHIS_PRIME",                \
                 "bounded_codec", "Prime p of the p-adic digits")                                  \
    CONFIG_FIELD(precision, "precision", INT, "64", 0, 64, NULL, NONE, "SARAPHIS_PRECISION",       \
                 "bounded_codec",                                                                  \
                 "Base-p digits per value: 0 auto (per tensor), 1 to the prime's maximum, or 64 "  \
                 "(the prime's maximum)")                                                          \
    CONFIG_FIELD(error_bound, "error_bound", DOUBLE, "0.001", 1e-300, 1e30, NULL, NONE,            \
                 "SARAPHIS_ERROR_BOUND", "bounded_codec",                                          \
                 "Largest error of every finite element under codec = bounded (see "               \
                 "error_bound_mode)")                                                              \
    CONFIG_FIELD(error_bound_mode, "error_bound_mode", ENUM, "absolute", 0, 0, "absolute|range|std", \
                 NONE, "SARAPHIS_ERROR_BOUND_MODE", "bounded_codec",                               \
                 "absolute: eps = error_bound; range: error_bound * (max - min); std: error_bound " \
                 "* standard deviation (per tensor)")                                              \
    CONFIG_FIELD(chunk_size, "chunk_size", INT, "1000", 1, 16777216, NULL, NONE,                   \
                 "SARAPHIS_CHUNK_SIZE", "bounded_codec", "Elements per p-adic chunk")              \
    CONFIG_FIELD(enable_hybrid, "enable_hybrid", BOOL, "true", 0, 1, NULL, NONE,                   \
                 "SARAPHIS_ENABLE_HYBRID", "gpu", "Split work between GPU and CPU (hybrid mode)")  \
    /* Performance */                                                                              \
    CONFIG_FIELD(optimization_strategy, "optimization_strategy", ENUM, "balanced", 0, 0,           \
                 "throughput|latency|memory|balanced|adaptive", NONE,                              \
                 "SARAPHIS_OPTIMIZATION_STRATEGY", "coordinator", "Initial strategy")              \
    CONFIG_FIELD(enable_profiling, "enable_profiling", BOOL, "true", 0, 1, NULL, NONE,             \
                 "SARAPHIS_ENABLE_PROFILING", "coordinator",                                       \
                 "Keep per-request latency and throughput samples (percentiles, ADAPTIVE)")        \
    CONFIG_FIELD(monitoring_interval_ms, "monitoring_interval_ms", INT, "100", 1, 60000, NULL,     \
                 NONE, "SARAPHIS_MONITORING_INTERVAL_MS", "memory_pressure",                       \
                 "Memory sampling period")                                                         \
    /* CPUBurstingConfig fields not already above */                                              \
    CONFIG_FIELD(memory_pressure_threshold, "memory_pressure_threshold", DOUBLE, "0.9", 0.01, 1,      \
                 NULL, NONE, "SARAPHIS_MEMORY_PRESSURE", "memory_pressure",                        \
                 "Utilization a GPU placement may not exceed")                                     \
    CONFIG_FIELD(use_multiprocessing, "use_multiprocessing", BOOL, "false", 0, 1, NULL, NONE,      \
                 "SARAPHIS_USE_MULTIPROCESSING", "cpu_bursting",                                   \
                 "Worker processes instead of threads")                                            \
    CONFIG_FIELD(cpu_affinity, "cpu_affinity", INT_LIST, "", 0, 1023, NULL, NONE,                 \
                 "SARAPHIS_CPU_AFFINITY", "coordinator",                                           \
                 "CPUs the worker threads are pinned to (\"0,1,2\"); empty: no pinning")           \
    CONFIG_FIELD(enable_caching, "enable_caching", BOOL, "true", 0, 1, NULL, NONE,                 \
                 "SARAPHIS_ENABLE_CPU_CACHE", "cpu_bursting", "LRU cache of decompressed results") \
    CONFIG_FIELD(cache_size_mb, "cache_size_mb", INT, "1024", 0, 1048576, NULL, NONE,              \
                 "SARAPHIS_CACHE_SIZE_MB", "cpu_bursting", "Cache capacity, MiB")                  \
    CONFIG_FIELD(prefetch_factor, "prefetch_factor", INT, "2", 1, 64, NULL, NONE,                  \
                 "SARAPHIS_PREFETCH_FACTOR", "cpu_bursting", "Batches prefetched ahead")           \
    CONFIG_FIELD(progressive_precision, "progressive_precision", BOOL, "true", 0, 1, NULL, NONE,   \
                 "SARAPHIS_PROGRESSIVE_PRECISION", "bounded_codec",                                \
                 "Decode the top digit planes first")                                              \
    CONFIG_FIELD(mantissa_bits, "mantissa_bits", INT, "23", 1, 52, NULL, NONE,                     \
                 "SARAPHIS_MANTISSA_BITS", "bounded_codec", "Mantissa bits of the float rebuilt")  \
    CONFIG_FIELD(exponent_bits, "exponent_bits", INT, "8", 1, 11, NULL, NONE,                      \
                 "SARAPHIS_EXPONENT_BITS", "bounded_codec", "Exponent bits of the float rebuilt")  \
    CONFIG_FIELD(switch_delay_ms, "switch_delay_ms", INT, "50", 0, 60000, NULL, NONE,              \
                 "SARAPHIS_SWITCH_DELAY_MS", "memory_pressure",                                    \
                 "A new memory state must hold this long before it is adopted")                    \
    CONFIG_FIELD(hysteresis_factor, "hysteresis_factor", DOUBLE, "0.15", 0, 0.99, NULL, NONE,      \
                 "SARAPHIS_HYSTERESIS_FACTOR", "memory_pressure",                                  \
                 "A state is left downward below its entry threshold times (1 - this)")            \
    /* The coordinator's own */                                                                    \
    CONFIG_FIELD(codec, "codec", ENUM, "lossless", 0, 0, "lossless|stored|bounded", NONE,          \
                 "SARAPHIS_CODEC", "coordinator",                                                  \
                 "lossless (exact), stored (no entropy coding), bounded (p-adic, error <= error_bound)")  \
    CONFIG_FIELD(queue_capacity, "queue_capacity", INT, "1024", 1, 1048576, NULL, NONE,            \
                 "SARAPHIS_QUEUE_CAPACITY", "coordinator",                                         \
                 "Requests waiting at most; callers block beyond it")                              \
    CONFIG_FIELD(codec_chunk_bytes, "codec_chunk_bytes", INT, "0", 0, 67108864, NULL, CHUNK,       \
                 "SARAPHIS_CODEC_CHUNK_BYTES", "coordinator",                                      \
                 "Frame chunk size in bytes; 0: the strategy's")                                   \
    CONFIG_FIELD(codec_threads, "codec_threads", INT, "0", 0, 1024, NULL, NONE,                    \
                 "SARAPHIS_CODEC_THREADS", "coordinator",                                          \
                 "Threads one large request may use; 0: the strategy's")                           \
    CONFIG_FIELD(content_checksum, "content_checksum", ENUM, "auto", 0, 0, "auto|on|off", NONE,    \
                 "SARAPHIS_CONTENT_CHECKSUM", "coordinator",                                       \
                 "Checksum of decoded bytes in each chunk; auto: the strategy's")                  \
    CONFIG_FIELD(verify_records, "verify_records", BOOL, "true", 0, 1, NULL, NONE,                 \
                 "SARAPHIS_VERIFY_RECORDS", "coordinator",                                         \
                 "false: a decoded record that carries a content checksum is verified by it alone") \
    CONFIG_FIELD(adaptive_window, "adaptive_window", INT, "64", 4, 1000000, NULL, NONE,            \
                 "SARAPHIS_ADAPTIVE_WINDOW", "coordinator",                                        \
                 "ADAPTIVE re-decides after this many requests")                                   \
    CONFIG_FIELD(latency_target_ms, "latency_target_ms", DOUBLE, "50", 0.001, 3600000, NULL, NONE, \
                 "SARAPHIS_LATENCY_TARGET_MS", "coordinator",                                      \
                 "ADAPTIVE favours latency when p95 latency exceeds it")                           \
    CONFIG_FIELD(stats_window, "stats_window", INT, "4096", 16, 1048576, NULL, NONE,               \
                 "SARAPHIS_STATS_WINDOW", "coordinator",                                           \
                 "Most recent requests the percentiles are computed over")                         \
    CONFIG_FIELD(gpu_device, "gpu_device", INT, "0", 0, 1023, NULL, NONE, "SARAPHIS_GPU_DEVICE",   \
                 "gpu", "CUDA device the system probes and (later) runs on")

typedef enum {
#define CONFIG_FIELD_ID(id, ...) CFG_##id,
    CONFIG_FIELDS(CONFIG_FIELD_ID)
#undef CONFIG_FIELD_ID
    CFG_COUNT
} config_field_id_t;

#endif
