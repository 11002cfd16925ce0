/* Configuration: every field of the table, valid and invalid, by text, JSON and environment,
 * the precedence of the sources, cross-field validation, atomic save/load, and the docs listing
 * every field. The test walks saraphis_config_field_at, so a field added to the table is tested
 * without touching this file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "common/json.h"
#include "saraphis.h"
#include "testing.h"

static char temp_dir[256];

static int is_type(const saraphis_config_field_t *f, const char *type) { return strcmp(f->type, type) == 0; }

static const char *choice(const saraphis_config_field_t *f, int index, char *buffer, size_t capacity)
{
    const char *start = f->choices;
    for (int i = 0; i < index && start; i++) {
        start = strchr(start, '|');
        if (start) start++;
    }
    if (!start) return NULL;
    const char *end = strchr(start, '|');
    size_t length = end ? (size_t)(end - start) : strlen(start);
    snprintf(buffer, capacity, "%.*s", (int)length, start);
    return buffer;
}

/* A valid value different from the default, as text (and as JSON in json_out). */
static void other_value(const saraphis_config_field_t *f, char *text, size_t capacity, char *json_out, size_t json_capacity)
{
    if (is_type(f, "bool")) {
        snprintf(text, capacity, "%s", strcmp(f->default_value, "true") == 0 ? "false" : "true");
        snprintf(json_out, json_capacity, "%s", text);
    } else if (is_type(f, "int")) {
        long long lower = (long long)f->lower, upper = (long long)f->upper;
        long long value = strtoll(f->default_value, NULL, 10) == lower ? upper : lower;
        if (value == 0 && strcmp(f->name, "cpu_workers") == 0) value = 3;
        if (strcmp(f->name, "prime") == 0) value = 241;
        if (strcmp(f->name, "codec_chunk_bytes") == 0) value = 131072;
        snprintf(text, capacity, "%lld", value);
        snprintf(json_out, json_capacity, "%s", text);
    } else if (is_type(f, "double")) {
        double value = strtod(f->default_value, NULL) == f->lower ? f->upper : f->lower;
        snprintf(text, capacity, "%.17g", value);
        snprintf(json_out, json_capacity, "%s", text);
    } else if (is_type(f, "enum")) {
        char first[64];
        choice(f, 0, first, sizeof first);
        choice(f, strcmp(first, f->default_value) == 0 ? 1 : 0, text, capacity);
        snprintf(json_out, json_capacity, "\"%s\"", text);
    } else {
        snprintf(text, capacity, "0,1");
        snprintf(json_out, json_capacity, "[0, 1]");
    }
}

/* Text values that must be refused. */
static size_t bad_values(const saraphis_config_field_t *f, char values[][64])
{
    size_t n = 0;
    if (is_type(f, "bool")) {
        snprintf(values[n++], 64, "maybe");
        snprintf(values[n++], 64, "2");
        values[n++][0] = '\0';
    } else if (is_type(f, "int")) {
        snprintf(values[n++], 64, "%.0f", f->upper + 1);
        snprintf(values[n++], 64, "%.0f", f->lower - 1);
        snprintf(values[n++], 64, "abc");
        snprintf(values[n++], 64, "1.5");
        snprintf(values[n++], 64, "12x");
        snprintf(values[n++], 64, "99999999999999999999999");
    } else if (is_type(f, "double")) {
        snprintf(values[n++], 64, "%.17g", f->upper * 2 + 1);
        snprintf(values[n++], 64, "%.17g", f->lower - 1);
        snprintf(values[n++], 64, "nan");
        snprintf(values[n++], 64, "inf");
        snprintf(values[n++], 64, "0.5.5");
    } else if (is_type(f, "enum")) {
        snprintf(values[n++], 64, "no-such-choice");
        values[n++][0] = '\0';
    } else {
        snprintf(values[n++], 64, "1,,2");
        snprintf(values[n++], 64, "-1");
        snprintf(values[n++], 64, "%.0f", f->upper + 1);
        snprintf(values[n++], 64, "1,1");
        snprintf(values[n++], 64, "1,");
        snprintf(values[n++], 64, "a");
    }
    return n;
}

/* {"name": json} or {"group": {"member": json}} for dotted names. */
static void json_document(const char *name, const char *json, char *out, size_t capacity)
{
    const char *dot = strchr(name, '.');
    if (dot) snprintf(out, capacity, "{\"%.*s\": {\"%s\": %s}}", (int)(dot - name), name, dot + 1, json);
    else snprintf(out, capacity, "{\"%s\": %s}", name, json);
}

static void test_table(void)
{
    size_t count = saraphis_config_field_count();
    CHECK(count >= 40);
    CHECK(saraphis_config_field_at(count) == NULL);
    for (size_t i = 0; i < count; i++) {
        const saraphis_config_field_t *f = saraphis_config_field_at(i);
        CHECK(f && f->name && *f->name);
        CHECK_MSG(strncmp(f->env, "SARAPHIS_", 9) == 0, "%s: env %s", f->name, f->env);
        CHECK(f->component && *f->component && f->description && *f->description);
        CHECK(is_type(f, "bool") || is_type(f, "int") || is_type(f, "double") || is_type(f, "enum") || is_type(f, "int_list"));
        CHECK(saraphis_config_field_find(f->name) == f);
        for (size_t j = 0; j < i; j++) {
            const saraphis_config_field_t *g = saraphis_config_field_at(j);
            CHECK_MSG(strcmp(f->name, g->name) != 0 && strcmp(f->env, g->env) != 0, "%s / %s collide", f->name, g->name);
        }
    }
    /* Every field the seeds name, with the seeds' default. */
    static const char *const seeds[][2] = {
        {"gpu_memory_limit_mb", "8192"}, {"enable_smart_pool", "true"}, {"smart_pool_fragmentation_target", "0.133"},
        {"enable_auto_swap", "true"}, {"swap_policy", "balanced"}, {"swap_thresholds.low", "0.5"},
        {"swap_thresholds.moderate", "0.75"}, {"swap_thresholds.high", "0.9"}, {"swap_thresholds.critical", "0.95"},
        {"enable_cpu_bursting", "true"}, {"cpu_workers", "-1"}, {"cpu_batch_size", "100"},
        {"gpu_memory_threshold_mb", "100"}, {"enable_memory_pressure", "true"}, {"memory_pressure_mode", "adaptive"},
        {"force_cpu_on_critical", "true"}, {"prime", "251"}, {"precision", "64"}, {"chunk_size", "1000"},
        {"enable_hybrid", "true"}, {"optimization_strategy", "balanced"}, {"enable_profiling", "true"},
        {"monitoring_interval_ms", "100"}, {"memory_pressure_threshold", "0.9"}, {"num_cpu_workers", "-1"},
        {"use_multiprocessing", "false"}, {"cpu_affinity", ""}, {"enable_caching", "true"}, {"cache_size_mb", "1024"},
        {"prefetch_factor", "2"}, {"progressive_precision", "true"}, {"mantissa_bits", "23"}, {"exponent_bits", "8"},
        {"switch_delay_ms", "50"}, {"hysteresis_factor", "0.15"}, {"codec", "lossless"}};
    saraphis_config_t *config = saraphis_config_create();
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char value[256];
        CHECK_MSG(saraphis_config_get(config, seeds[i][0], value, sizeof value) == SARAPHIS_OK, "%s", seeds[i][0]);
        CHECK_MSG(strcmp(value, seeds[i][1]) == 0, "%s = %s, seeds say %s", seeds[i][0], value, seeds[i][1]);
    }
    static const char *const seed_env[][2] = {
        {"gpu_memory_limit_mb", "SARAPHIS_GPU_MEMORY_LIMIT_MB"}, {"cpu_workers", "SARAPHIS_CPU_WORKERS"},
        {"optimization_strategy", "SARAPHIS_OPTIMIZATION_STRATEGY"}, {"enable_profiling", "SARAPHIS_ENABLE_PROFILING"},
        {"gpu_memory_threshold_mb", "SARAPHIS_GPU_THRESHOLD_MB"}, {"memory_pressure_threshold", "SARAPHIS_MEMORY_PRESSURE"},
        {"enable_caching", "SARAPHIS_ENABLE_CPU_CACHE"}};
    for (size_t i = 0; i < sizeof seed_env / sizeof seed_env[0]; i++)
        CHECK_MSG(strcmp(saraphis_config_field_find(seed_env[i][0])->env, seed_env[i][1]) == 0, "%s", seed_env[i][0]);
    /* Defaults: the table's text reads back, from source "default", and the defaults validate. */
    for (size_t i = 0; i < count; i++) {
        const saraphis_config_field_t *f = saraphis_config_field_at(i);
        char value[256];
        saraphis_config_source_t source = SARAPHIS_SOURCE_API;
        CHECK(saraphis_config_get(config, f->name, value, sizeof value) == SARAPHIS_OK);
        CHECK_MSG(strcmp(value, f->default_value) == 0, "%s: %s vs %s", f->name, value, f->default_value);
        CHECK(saraphis_config_source(config, f->name, &source) == SARAPHIS_OK && source == SARAPHIS_SOURCE_DEFAULT);
    }
    CHECK(saraphis_config_validate(config) == SARAPHIS_OK);
    char small[2];
    CHECK(saraphis_config_get(config, "optimization_strategy", small, sizeof small) == SARAPHIS_ERROR_BUFFER_TOO_SMALL);
    CHECK(saraphis_config_get(config, "no_such_field", small, sizeof small) == SARAPHIS_ERROR_NOT_FOUND);
    CHECK(saraphis_config_set(config, "no_such_field", "1") == SARAPHIS_ERROR_NOT_FOUND);
    CHECK(strstr(saraphis_last_error(), "no_such_field") != NULL);
    saraphis_config_free(config);
    saraphis_config_free(NULL);
}

static void test_set_each_field(void)
{
    size_t count = saraphis_config_field_count();
    for (size_t i = 0; i < count; i++) {
        const saraphis_config_field_t *f = saraphis_config_field_at(i);
        saraphis_config_t *config = saraphis_config_create();
        char text[256], json[256], back[256];
        other_value(f, text, sizeof text, json, sizeof json);
        CHECK_MSG(saraphis_config_set(config, f->name, text) == SARAPHIS_OK, "%s = %s: %s", f->name, text, saraphis_last_error());
        CHECK(saraphis_config_get(config, f->name, back, sizeof back) == SARAPHIS_OK);
        if (is_type(f, "double")) CHECK_MSG(strtod(back, NULL) == strtod(text, NULL), "%s: %s vs %s", f->name, back, text);
        else CHECK_MSG(strcmp(back, text) == 0, "%s: %s vs %s", f->name, back, text);
        saraphis_config_source_t source;
        CHECK(saraphis_config_source(config, f->name, &source) == SARAPHIS_OK && source == SARAPHIS_SOURCE_API);
        /* Bounds themselves are valid (where the rules allow). */
        if (is_type(f, "int") || is_type(f, "double")) {
            char bound[64];
            snprintf(bound, sizeof bound, "%.17g", f->upper);
            CHECK_MSG(saraphis_config_set(config, f->name, bound) == SARAPHIS_OK, "%s upper %s: %s", f->name, bound,
                      saraphis_last_error());
            snprintf(bound, sizeof bound, "%.17g", f->lower);
            saraphis_status_t status = saraphis_config_set(config, f->name, bound);
            if (strcmp(f->name, "cpu_workers") != 0) CHECK_MSG(status == SARAPHIS_OK, "%s lower: %s", f->name, saraphis_last_error());
        }
        /* Invalid values: refused, naming the field and the range; the value stays. */
        CHECK(saraphis_config_set(config, f->name, text) == SARAPHIS_OK);
        char bad[8][64];
        size_t n = bad_values(f, bad);
        for (size_t b = 0; b < n; b++) {
            saraphis_status_t status = saraphis_config_set(config, f->name, bad[b]);
            CHECK_MSG(status == SARAPHIS_ERROR_INVALID_ARGUMENT, "%s = '%s' accepted", f->name, bad[b]);
            CHECK_MSG(strstr(saraphis_last_error(), f->name) && strstr(saraphis_last_error(), "allowed"), "%s: message '%s'",
                      f->name, saraphis_last_error());
            CHECK(saraphis_config_get(config, f->name, back, sizeof back) == SARAPHIS_OK);
            if (!is_type(f, "double")) CHECK_MSG(strcmp(back, text) == 0, "%s changed by a refused set", f->name);
        }
        saraphis_config_free(config);
    }
    /* Field-specific rules. */
    saraphis_config_t *config = saraphis_config_create();
    CHECK(saraphis_config_set(config, "cpu_workers", "0") == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(saraphis_config_set(config, "prime", "250") == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "prime") != NULL);
    CHECK(saraphis_config_set(config, "prime", "2") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "codec_chunk_bytes", "4000") == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(saraphis_config_set(config, "codec_chunk_bytes", "4160") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "codec_chunk_bytes", "0") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "enable_profiling", "ON") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "optimization_strategy", "THROUGHPUT") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "num_cpu_workers", "5") == SARAPHIS_OK); /* the seeds' CPUBurstingConfig name */
    char value[64];
    CHECK(saraphis_config_get(config, "cpu_workers", value, sizeof value) == SARAPHIS_OK && strcmp(value, "5") == 0);
    CHECK(saraphis_config_set(config, "cpu_affinity", " 3, 1 ,2") == SARAPHIS_OK);
    CHECK(saraphis_config_get(config, "cpu_affinity", value, sizeof value) == SARAPHIS_OK && strcmp(value, "3,1,2") == 0);
    CHECK(saraphis_config_set(NULL, "prime", "2") == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(saraphis_config_set(config, "prime", NULL) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    /* Cross-field rule. */
    CHECK(saraphis_config_set(config, "swap_thresholds.low", "0.8") == SARAPHIS_OK);
    CHECK(saraphis_config_validate(config) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "swap_thresholds") != NULL);
    saraphis_system_t *system = NULL;
    CHECK(saraphis_system_create(&system, config) == SARAPHIS_ERROR_INVALID_ARGUMENT && system == NULL);
    CHECK(saraphis_config_set(config, "swap_thresholds.low", "0.5") == SARAPHIS_OK);
    CHECK(saraphis_config_validate(config) == SARAPHIS_OK);
    /* The bounded codec is built: a system with it starts (the seeds' defaults: prime 251,
     * precision 64 = the prime's maximum). */
    CHECK(saraphis_config_set(config, "codec", "bounded") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "cpu_workers", "1") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "enable_memory_pressure", "false") == SARAPHIS_OK);
    CHECK_MSG(saraphis_system_create(&system, config) == SARAPHIS_OK, "%s", saraphis_last_error());
    saraphis_system_free(system);
    system = NULL;
    saraphis_config_free(config);
}

/* error_bound, error_bound_mode and precision against prime. */
static void test_bounded_fields(void)
{
    saraphis_config_t *config = saraphis_config_create();
    char value[64];
    CHECK(saraphis_config_get(config, "error_bound", value, sizeof value) == SARAPHIS_OK && strtod(value, NULL) == 1e-3);
    CHECK(saraphis_config_get(config, "error_bound_mode", value, sizeof value) == SARAPHIS_OK &&
          strcmp(value, "absolute") == 0);
    /* error_bound: a finite number > 0. */
    CHECK(saraphis_config_set(config, "error_bound", "0.05") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "error_bound", "1e-6") == SARAPHIS_OK);
    static const char *const bad_bounds[] = {"0", "-0.001", "nan", "inf", "-inf", "1e31", "x", ""};
    for (size_t i = 0; i < sizeof bad_bounds / sizeof bad_bounds[0]; i++) {
        CHECK_MSG(saraphis_config_set(config, "error_bound", bad_bounds[i]) == SARAPHIS_ERROR_INVALID_ARGUMENT,
                  "error_bound = '%s' accepted", bad_bounds[i]);
        CHECK(strstr(saraphis_last_error(), "error_bound") && strstr(saraphis_last_error(), "allowed"));
    }
    CHECK(saraphis_config_get(config, "error_bound", value, sizeof value) == SARAPHIS_OK && strtod(value, NULL) == 1e-6);
    /* error_bound_mode: absolute, range, std (any case). */
    CHECK(saraphis_config_set(config, "error_bound_mode", "RANGE") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "error_bound_mode", "std") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "error_bound_mode", "relative") == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "error_bound_mode") && strstr(saraphis_last_error(), "absolute|range|std"));
    CHECK(saraphis_config_get(config, "error_bound_mode", value, sizeof value) == SARAPHIS_OK && strcmp(value, "std") == 0);
    /* JSON: typed, all or nothing. */
    const char *good = "{\"codec\": \"bounded\", \"error_bound\": 0.01, \"error_bound_mode\": \"range\"}";
    CHECK_MSG(saraphis_config_parse_json(config, good, strlen(good)) == SARAPHIS_OK, "%s", saraphis_last_error());
    saraphis_config_t *fresh = saraphis_config_create();
    CHECK(saraphis_config_parse_json(fresh, good, strlen(good)) == SARAPHIS_OK);
    CHECK(saraphis_config_get(fresh, "error_bound", value, sizeof value) == SARAPHIS_OK && strtod(value, NULL) == 0.01);
    CHECK(saraphis_config_get(fresh, "error_bound_mode", value, sizeof value) == SARAPHIS_OK && strcmp(value, "range") == 0);
    const char *zero = "{\"error_bound\": 0, \"prime\": 241}";
    CHECK(saraphis_config_parse_json(fresh, zero, strlen(zero)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "error_bound") != NULL);
    CHECK(saraphis_config_get(fresh, "prime", value, sizeof value) == SARAPHIS_OK && strcmp(value, "251") == 0);
    const char *string_bound = "{\"error_bound\": \"0.01\"}";
    CHECK(saraphis_config_parse_json(fresh, string_bound, strlen(string_bound)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    const char *bad_mode = "{\"error_bound_mode\": \"relative\"}";
    CHECK(saraphis_config_parse_json(fresh, bad_mode, strlen(bad_mode)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "error_bound_mode") != NULL);
    saraphis_config_free(fresh);
    /* Environment. */
    setenv("SARAPHIS_ERROR_BOUND", "0.25", 1);
    setenv("SARAPHIS_ERROR_BOUND_MODE", "Std", 1);
    fresh = saraphis_config_create();
    CHECK_MSG(saraphis_config_apply_env(fresh) == SARAPHIS_OK, "%s", saraphis_last_error());
    CHECK(saraphis_config_get(fresh, "error_bound", value, sizeof value) == SARAPHIS_OK && strtod(value, NULL) == 0.25);
    CHECK(saraphis_config_get(fresh, "error_bound_mode", value, sizeof value) == SARAPHIS_OK && strcmp(value, "std") == 0);
    saraphis_config_source_t source;
    CHECK(saraphis_config_source(fresh, "error_bound", &source) == SARAPHIS_OK && source == SARAPHIS_SOURCE_ENV);
    saraphis_config_free(fresh);
    setenv("SARAPHIS_ERROR_BOUND", "-1", 1);
    fresh = saraphis_config_create();
    CHECK(saraphis_config_apply_env(fresh) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "SARAPHIS_ERROR_BOUND") && strstr(saraphis_last_error(), "error_bound"));
    CHECK(saraphis_config_get(fresh, "error_bound_mode", value, sizeof value) == SARAPHIS_OK &&
          strcmp(value, "absolute") == 0); /* all or nothing */
    saraphis_config_free(fresh);
    unsetenv("SARAPHIS_ERROR_BOUND");
    unsetenv("SARAPHIS_ERROR_BOUND_MODE");
    saraphis_config_free(config);

    /* precision: 0 (auto), 1 to the prime's maximum (6 for 251, 40 for 2), or 64 (the maximum). */
    config = saraphis_config_create();
    CHECK(saraphis_config_validate(config) == SARAPHIS_OK); /* 251 / 64: the seeds' defaults */
    static const char *const usable_251[] = {"0", "1", "6", "64"};
    for (size_t i = 0; i < 4; i++) {
        CHECK(saraphis_config_set(config, "precision", usable_251[i]) == SARAPHIS_OK);
        CHECK_MSG(saraphis_config_validate(config) == SARAPHIS_OK, "precision %s: %s", usable_251[i], saraphis_last_error());
    }
    CHECK(saraphis_config_set(config, "precision", "7") == SARAPHIS_OK); /* the field's own range is [0, 64] */
    CHECK(saraphis_config_validate(config) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK_MSG(strstr(saraphis_last_error(), "'precision'") && strstr(saraphis_last_error(), "prime 251") &&
                  strstr(saraphis_last_error(), "1 to 6"),
              "%s", saraphis_last_error());
    saraphis_system_t *system = NULL;
    CHECK(saraphis_system_create(&system, config) == SARAPHIS_ERROR_INVALID_ARGUMENT && system == NULL);
    CHECK(strstr(saraphis_last_error(), "precision") != NULL);
    CHECK(saraphis_config_set(config, "prime", "2") == SARAPHIS_OK);
    CHECK(saraphis_config_validate(config) == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "precision", "40") == SARAPHIS_OK);
    CHECK(saraphis_config_validate(config) == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "precision", "41") == SARAPHIS_OK);
    CHECK(saraphis_config_validate(config) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "1 to 40") != NULL);
    CHECK(saraphis_config_set(config, "precision", "65") == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(saraphis_config_set(config, "precision", "-1") == SARAPHIS_ERROR_INVALID_ARGUMENT);
    /* The check is on the pair, whatever the order the layers set them in. */
    const char *pair = "{\"prime\": 3, \"precision\": 27}";
    saraphis_config_t *json = saraphis_config_create();
    CHECK(saraphis_config_parse_json(json, pair, strlen(pair)) == SARAPHIS_OK);
    CHECK(saraphis_config_validate(json) == SARAPHIS_ERROR_INVALID_ARGUMENT); /* 26 digits for p = 3 */
    CHECK(strstr(saraphis_last_error(), "1 to 26") != NULL);
    saraphis_config_free(json);
    saraphis_config_free(config);
}

static void test_json(void)
{
    size_t count = saraphis_config_field_count();
    for (size_t i = 0; i < count; i++) {
        const saraphis_config_field_t *f = saraphis_config_field_at(i);
        saraphis_config_t *config = saraphis_config_create();
        char text[256], json[256], document[512], back[256];
        other_value(f, text, sizeof text, json, sizeof json);
        json_document(f->name, json, document, sizeof document);
        CHECK_MSG(saraphis_config_parse_json(config, document, strlen(document)) == SARAPHIS_OK, "%s: %s", document,
                  saraphis_last_error());
        CHECK(saraphis_config_get(config, f->name, back, sizeof back) == SARAPHIS_OK);
        if (is_type(f, "double")) CHECK(strtod(back, NULL) == strtod(text, NULL));
        else CHECK_MSG(strcmp(back, text) == 0, "%s via JSON: %s vs %s", f->name, back, text);
        saraphis_config_source_t source;
        CHECK(saraphis_config_source(config, f->name, &source) == SARAPHIS_OK && source == SARAPHIS_SOURCE_JSON);
        /* Wrong JSON type: a string for anything but an enum, a number for an enum. */
        const char *wrong = is_type(f, "enum") ? "1" : "\"1\"";
        json_document(f->name, wrong, document, sizeof document);
        char before[256];
        saraphis_config_get(config, f->name, before, sizeof before);
        CHECK_MSG(saraphis_config_parse_json(config, document, strlen(document)) == SARAPHIS_ERROR_INVALID_ARGUMENT,
                  "%s accepted %s", f->name, wrong);
        CHECK_MSG(strstr(saraphis_last_error(), f->name) != NULL, "%s", saraphis_last_error());
        saraphis_config_get(config, f->name, back, sizeof back);
        CHECK(strcmp(before, back) == 0);
        /* Out of range through JSON. */
        if (is_type(f, "int") || is_type(f, "double")) {
            char out_of_range[64];
            snprintf(out_of_range, sizeof out_of_range, "%.0f", f->upper * 2 + 10);
            json_document(f->name, out_of_range, document, sizeof document);
            CHECK(saraphis_config_parse_json(config, document, strlen(document)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
            CHECK(strstr(saraphis_last_error(), "allowed") != NULL);
        }
        if (is_type(f, "int")) {
            json_document(f->name, "2.5", document, sizeof document);
            CHECK(saraphis_config_parse_json(config, document, strlen(document)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
        }
        saraphis_config_free(config);
    }
    saraphis_config_t *config = saraphis_config_create();
    const char *unknown = "{\"prime\": 241, \"no_such_key\": 1}";
    CHECK(saraphis_config_parse_json(config, unknown, strlen(unknown)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "no_such_key") && strstr(saraphis_last_error(), "unknown key"));
    char value[64];
    saraphis_config_get(config, "prime", value, sizeof value);
    CHECK_MSG(strcmp(value, "251") == 0, "a failed load changed prime to %s", value); /* all or nothing */
    const char *nested = "{\"swap_thresholds\": {\"low\": 0.4, \"extreme\": 0.99}}";
    CHECK(saraphis_config_parse_json(config, nested, strlen(nested)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "swap_thresholds.extreme") != NULL);
    const char *not_object = "{\"swap_thresholds\": 0.5}";
    CHECK(saraphis_config_parse_json(config, not_object, strlen(not_object)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    const char *both = "{\"cpu_workers\": 2, \"num_cpu_workers\": 3}";
    CHECK(saraphis_config_parse_json(config, both, strlen(both)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    const char *alias = "{\"num_cpu_workers\": 3}";
    CHECK(saraphis_config_parse_json(config, alias, strlen(alias)) == SARAPHIS_OK);
    const char *array = "[1, 2]";
    CHECK(saraphis_config_parse_json(config, array, strlen(array)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    const char *syntax = "{\"prime\": 241,}";
    CHECK(saraphis_config_parse_json(config, syntax, strlen(syntax)) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    const char *duplicate = "{\"prime\": 241, \"prime\": 239}";
    CHECK(saraphis_config_parse_json(config, duplicate, strlen(duplicate)) != SARAPHIS_OK);
    const char *empty = "{}";
    CHECK(saraphis_config_parse_json(config, empty, strlen(empty)) == SARAPHIS_OK);
    saraphis_config_free(config);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static void test_save_load(void)
{
    /* Every field away from its default, saved, loaded into a fresh configuration: equal. */
    saraphis_config_t *config = saraphis_config_create();
    size_t count = saraphis_config_field_count();
    for (size_t i = 0; i < count; i++) {
        const saraphis_config_field_t *f = saraphis_config_field_at(i);
        char text[256], json[256];
        other_value(f, text, sizeof text, json, sizeof json);
        if (strncmp(f->name, "swap_thresholds", 15) == 0) continue; /* set in order below */
        CHECK(saraphis_config_set(config, f->name, text) == SARAPHIS_OK);
    }
    CHECK(saraphis_config_set(config, "swap_thresholds.low", "0.4") == SARAPHIS_OK);
    CHECK(saraphis_config_set(config, "swap_thresholds.critical", "0.97") == SARAPHIS_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", temp_dir);
    CHECK(saraphis_config_save_json(config, path) == SARAPHIS_OK);
    CHECK(count_files(temp_dir) == 1); /* no temporary left beside it */
    saraphis_config_t *loaded = saraphis_config_create();
    CHECK_MSG(saraphis_config_load_json(loaded, path) == SARAPHIS_OK, "%s", saraphis_last_error());
    char *a = NULL, *b = NULL;
    CHECK(saraphis_config_to_json(config, &a) == SARAPHIS_OK);
    CHECK(saraphis_config_to_json(loaded, &b) == SARAPHIS_OK);
    CHECK(a && b && strcmp(a, b) == 0);
    /* The file is real JSON, nested for the thresholds. */
    json_value_t *root = NULL;
    CHECK(json_parse(a, strlen(a), &root, "saved") == SARAPHIS_OK);
    CHECK(json_type(json_object_get(root, "swap_thresholds")) == JSON_OBJECT);
    CHECK(json_type(json_object_get(root, "cpu_affinity")) == JSON_ARRAY);
    CHECK(json_object_get(root, "swap_thresholds.low") == NULL);
    json_free(root);
    free(a);
    free(b);
    /* Overwrite keeps one file; a missing folder is an I/O error; a missing file too. */
    CHECK(saraphis_config_save_json(loaded, path) == SARAPHIS_OK);
    CHECK(count_files(temp_dir) == 1);
    char bad_path[600];
    snprintf(bad_path, sizeof bad_path, "%s/missing/config.json", temp_dir);
    CHECK(saraphis_config_save_json(config, bad_path) == SARAPHIS_ERROR_IO);
    CHECK(saraphis_config_load_json(loaded, bad_path) == SARAPHIS_ERROR_IO);
    CHECK(strstr(saraphis_last_error(), "missing") != NULL);
    /* A file with an unknown key names it and the byte. */
    FILE *file = fopen(path, "w");
    fputs("{\n  \"prime\": 241,\n  \"turbo\": true\n}\n", file);
    fclose(file);
    CHECK(saraphis_config_load_json(loaded, path) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "turbo") && strstr(saraphis_last_error(), "byte"));
    remove(path);
    saraphis_config_free(config);
    saraphis_config_free(loaded);
}

static void test_env(void)
{
    size_t count = saraphis_config_field_count();
    for (size_t i = 0; i < count; i++) {
        const saraphis_config_field_t *f = saraphis_config_field_at(i);
        saraphis_config_t *config = saraphis_config_create();
        char text[256], json[256], back[256];
        other_value(f, text, sizeof text, json, sizeof json);
        setenv(f->env, text, 1);
        CHECK_MSG(saraphis_config_apply_env(config) == SARAPHIS_OK, "%s=%s: %s", f->env, text, saraphis_last_error());
        CHECK(saraphis_config_get(config, f->name, back, sizeof back) == SARAPHIS_OK);
        if (is_type(f, "double")) CHECK(strtod(back, NULL) == strtod(text, NULL));
        else CHECK_MSG(strcmp(back, text) == 0, "%s from env: %s", f->name, back);
        saraphis_config_source_t source;
        CHECK(saraphis_config_source(config, f->name, &source) == SARAPHIS_OK && source == SARAPHIS_SOURCE_ENV);
        /* An invalid value names the variable and the field, and changes nothing. */
        char bad[8][64];
        bad_values(f, bad);
        if (bad[0][0]) {
            setenv(f->env, bad[0], 1);
            saraphis_config_t *fresh = saraphis_config_create();
            CHECK_MSG(saraphis_config_apply_env(fresh) == SARAPHIS_ERROR_INVALID_ARGUMENT, "%s=%s accepted", f->env, bad[0]);
            CHECK(strstr(saraphis_last_error(), f->env) && strstr(saraphis_last_error(), f->name));
            CHECK(saraphis_config_get(fresh, f->name, back, sizeof back) == SARAPHIS_OK);
            CHECK(strcmp(back, f->default_value) == 0 || is_type(f, "double"));
            saraphis_config_free(fresh);
        }
        unsetenv(f->env);
        saraphis_config_free(config);
    }
    /* All or nothing: one bad variable leaves the good ones unapplied. */
    setenv("SARAPHIS_PRIME", "241", 1);
    setenv("SARAPHIS_CPU_WORKERS", "zero", 1);
    saraphis_config_t *config = saraphis_config_create();
    CHECK(saraphis_config_apply_env(config) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    char value[64];
    saraphis_config_get(config, "prime", value, sizeof value);
    CHECK(strcmp(value, "251") == 0);
    unsetenv("SARAPHIS_CPU_WORKERS");
    /* Empty means unset. */
    setenv("SARAPHIS_PRECISION", "", 1);
    CHECK(saraphis_config_apply_env(config) == SARAPHIS_OK);
    saraphis_config_get(config, "precision", value, sizeof value);
    CHECK(strcmp(value, "64") == 0);
    unsetenv("SARAPHIS_PRECISION");
    unsetenv("SARAPHIS_PRIME");
    saraphis_config_free(config);
}

static void test_precedence(void)
{
    const char *json = "{\"prime\": 241, \"precision\": 32, \"chunk_size\": 500}";
    /* Order 1: JSON, then environment, then API. */
    setenv("SARAPHIS_PRIME", "239", 1);
    setenv("SARAPHIS_PRECISION", "16", 1);
    saraphis_config_t *a = saraphis_config_create();
    CHECK(saraphis_config_parse_json(a, json, strlen(json)) == SARAPHIS_OK);
    CHECK(saraphis_config_apply_env(a) == SARAPHIS_OK);
    CHECK(saraphis_config_set(a, "precision", "5") == SARAPHIS_OK);
    /* Order 2: API, environment, JSON. The result must be the same. */
    saraphis_config_t *b = saraphis_config_create();
    CHECK(saraphis_config_set(b, "precision", "5") == SARAPHIS_OK);
    CHECK(saraphis_config_apply_env(b) == SARAPHIS_OK);
    CHECK(saraphis_config_parse_json(b, json, strlen(json)) == SARAPHIS_OK);
    saraphis_config_t *configs[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        char value[64];
        saraphis_config_source_t source;
        saraphis_config_get(configs[i], "prime", value, sizeof value);
        CHECK_MSG(strcmp(value, "239") == 0, "env beats JSON: prime %s", value);
        saraphis_config_source(configs[i], "prime", &source);
        CHECK(source == SARAPHIS_SOURCE_ENV);
        saraphis_config_get(configs[i], "precision", value, sizeof value);
        CHECK_MSG(strcmp(value, "5") == 0, "API beats env: precision %s", value);
        saraphis_config_source(configs[i], "precision", &source);
        CHECK(source == SARAPHIS_SOURCE_API);
        saraphis_config_get(configs[i], "chunk_size", value, sizeof value);
        CHECK(strcmp(value, "500") == 0);
        saraphis_config_source(configs[i], "chunk_size", &source);
        CHECK(source == SARAPHIS_SOURCE_JSON);
        saraphis_config_get(configs[i], "mantissa_bits", value, sizeof value);
        saraphis_config_source(configs[i], "mantissa_bits", &source);
        CHECK(strcmp(value, "23") == 0 && source == SARAPHIS_SOURCE_DEFAULT);
    }
    /* A second JSON load replaces a first JSON value (same level). */
    const char *again = "{\"chunk_size\": 600}";
    CHECK(saraphis_config_parse_json(a, again, strlen(again)) == SARAPHIS_OK);
    char value[64];
    saraphis_config_get(a, "chunk_size", value, sizeof value);
    CHECK(strcmp(value, "600") == 0);
    /* system_create layers the environment on its copy, and the status reports the sources. */
    setenv("SARAPHIS_QUEUE_CAPACITY", "77", 1);
    setenv("SARAPHIS_CPU_WORKERS", "2", 1);
    CHECK(saraphis_config_set(a, "cpu_workers", "1") == SARAPHIS_OK);
    saraphis_system_t *system = NULL;
    CHECK_MSG(saraphis_system_create(&system, a) == SARAPHIS_OK, "%s", saraphis_last_error());
    char *status = NULL;
    CHECK(saraphis_system_status_json(system, &status) == SARAPHIS_OK);
    json_value_t *root = NULL;
    CHECK(json_parse(status, strlen(status), &root, "status") == SARAPHIS_OK);
    const json_value_t *configuration = json_object_get(root, "configuration");
    int64_t number = 0;
    const json_value_t *queue = json_object_get(configuration, "queue_capacity");
    CHECK(json_get_int64(json_object_get(queue, "value"), &number) && number == 77);
    CHECK(strcmp(json_get_string(json_object_get(queue, "source"), NULL), "env") == 0);
    const json_value_t *workers = json_object_get(configuration, "cpu_workers");
    CHECK(json_get_int64(json_object_get(workers, "value"), &number) && number == 1);
    CHECK(strcmp(json_get_string(json_object_get(workers, "source"), NULL), "api") == 0);
    const json_value_t *prime = json_object_get(configuration, "prime");
    CHECK(strcmp(json_get_string(json_object_get(prime, "component"), NULL), "bounded_codec") == 0);
    CHECK(json_get_int64(json_object_get(json_object_get(root, "statistics"), "workers"), &number) && number == 1);
    json_free(root);
    free(status);
    saraphis_system_free(system);
    /* A bad environment variable makes creation fail, naming it. */
    setenv("SARAPHIS_OPTIMIZATION_STRATEGY", "fastest", 1);
    CHECK(saraphis_system_create(&system, NULL) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "SARAPHIS_OPTIMIZATION_STRATEGY") != NULL);
    unsetenv("SARAPHIS_OPTIMIZATION_STRATEGY");
    unsetenv("SARAPHIS_QUEUE_CAPACITY");
    unsetenv("SARAPHIS_CPU_WORKERS");
    unsetenv("SARAPHIS_PRIME");
    unsetenv("SARAPHIS_PRECISION");
    saraphis_config_free(a);
    saraphis_config_free(b);
}

/* docs/coordinator.md lists every field and its environment variable. */
static void test_docs(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/coordinator.md", SARAPHIS_SOURCE_DIR);
    FILE *file = fopen(path, "r");
    CHECK_MSG(file != NULL, "%s missing", path);
    if (!file) return;
    static char text[1 << 18];
    size_t size = fread(text, 1, sizeof text - 1, file);
    text[size] = '\0';
    fclose(file);
    for (size_t i = 0; i < saraphis_config_field_count(); i++) {
        const saraphis_config_field_t *f = saraphis_config_field_at(i);
        char cell[128];
        snprintf(cell, sizeof cell, "`%s`", f->name);
        CHECK_MSG(strstr(text, cell) != NULL, "docs/coordinator.md lacks %s", cell);
        CHECK_MSG(strstr(text, f->env) != NULL, "docs/coordinator.md lacks %s", f->env);
    }
}

int main(void)
{
    /* The environment of the test must not leak in. */
    for (size_t i = 0; i < saraphis_config_field_count(); i++) unsetenv(saraphis_config_field_at(i)->env);
    snprintf(temp_dir, sizeof temp_dir, "/tmp/saraphis_test_config_XXXXXX");
    if (!mkdtemp(temp_dir)) return 1;
    test_table();
    test_set_each_field();
    test_bounded_fields();
    test_json();
    test_save_load();
    test_env();
    test_precedence();
    test_docs();
    rmdir(temp_dir);
    return TEST_SUMMARY("test_config");
}
