/* Configuration: the table of config_fields.h turned into typed values, text and JSON forms and
 * environment overrides. Invariant: a value stored in a saraphis_config_t has passed its field's
 * type, range and rule checks, and each field's source only ever rises (default < JSON < env <
 * API), so whatever order the layers are applied in, the highest one wins. Loads from JSON and
 * the environment go through a scratch copy and are committed only when every field is valid. */
#include "system/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileio.h"
#include "common/json.h"
#include "codec/padic.h"

typedef enum { TYPE_BOOL, TYPE_INT, TYPE_DOUBLE, TYPE_ENUM, TYPE_INT_LIST } field_type_t;
typedef enum { RULE_NONE, RULE_NONZERO, RULE_PRIME, RULE_CHUNK } field_rule_t;

typedef struct {
    saraphis_config_field_t public_info;
    field_type_t type;
    field_rule_t rule;
} field_t;

static const field_t fields[CFG_COUNT] = {
#define CONFIG_FIELD_ENTRY(id, name, type, def, lower, upper, choices, rule, env, component, desc) \
    {{name, #type, def, lower, upper, choices, env, component, desc}, TYPE_##type, RULE_##rule},
    CONFIG_FIELDS(CONFIG_FIELD_ENTRY)
#undef CONFIG_FIELD_ENTRY
};

/* Names accepted in place of a field (the seeds call cpu_workers num_cpu_workers in
 * CPUBurstingConfig). */
static const struct {
    const char *alias;
    config_field_id_t id;
} aliases[] = {{"num_cpu_workers", CFG_cpu_workers}};

static const char *type_name(field_type_t type)
{
    switch (type) {
    case TYPE_BOOL: return "bool";
    case TYPE_INT: return "int";
    case TYPE_DOUBLE: return "double";
    case TYPE_ENUM: return "enum";
    case TYPE_INT_LIST: return "int_list";
    }
    return "?";
}

size_t saraphis_config_field_count(void) { return CFG_COUNT; }

/* The public records carry the type as its C-side name ("BOOL"); report the lower-case one. */
static saraphis_config_field_t public_fields[CFG_COUNT];
static pthread_once_t public_fields_once = PTHREAD_ONCE_INIT;
static void fill_public_fields(void)
{
    for (size_t i = 0; i < CFG_COUNT; i++) {
        public_fields[i] = fields[i].public_info;
        public_fields[i].type = type_name(fields[i].type);
    }
}
static void fill_public_fields_once(void) { pthread_once(&public_fields_once, fill_public_fields); }

const saraphis_config_field_t *saraphis_config_field_at(size_t index)
{
    if (index >= CFG_COUNT) return NULL;
    fill_public_fields_once();
    return &public_fields[index];
}

static int find_field(const char *name, size_t length)
{
    for (size_t i = 0; i < CFG_COUNT; i++) {
        const char *field_name = fields[i].public_info.name;
        if (strlen(field_name) == length && memcmp(field_name, name, length) == 0) return (int)i;
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strlen(aliases[i].alias) == length && memcmp(aliases[i].alias, name, length) == 0)
            return (int)aliases[i].id;
    return -1;
}

const saraphis_config_field_t *saraphis_config_field_find(const char *name)
{
    if (!name) return NULL;
    int id = find_field(name, strlen(name));
    return id < 0 ? NULL : saraphis_config_field_at((size_t)id);
}

const char *saraphis_config_source_name(saraphis_config_source_t source)
{
    switch (source) {
    case SARAPHIS_SOURCE_DEFAULT: return "default";
    case SARAPHIS_SOURCE_JSON: return "json";
    case SARAPHIS_SOURCE_ENV: return "env";
    case SARAPHIS_SOURCE_API: return "api";
    }
    return "?";
}

const char *config_choice_name(config_field_id_t id, int64_t index, char *buffer, size_t capacity)
{
    const char *choices = fields[id].public_info.choices;
    if (!choices || index < 0 || capacity == 0) return "?";
    const char *start = choices;
    for (int64_t i = 0; i < index; i++) {
        start = strchr(start, '|');
        if (!start) return "?";
        start++;
    }
    const char *end = strchr(start, '|');
    size_t length = end ? (size_t)(end - start) : strlen(start);
    if (length >= capacity) length = capacity - 1;
    memcpy(buffer, start, length);
    buffer[length] = '\0';
    return buffer;
}

/* The range as text for messages: "[1, 64]", "one of a|b|c", "true or false". */
static void describe_range(config_field_id_t id, char *buffer, size_t capacity)
{
    const field_t *field = &fields[id];
    switch (field->type) {
    case TYPE_BOOL: snprintf(buffer, capacity, "true or false"); break;
    case TYPE_ENUM: snprintf(buffer, capacity, "one of %s", field->public_info.choices); break;
    case TYPE_INT:
        snprintf(buffer, capacity, "an integer in [%.0f, %.0f]%s%s", field->public_info.lower,
                 field->public_info.upper, field->rule == RULE_NONZERO ? ", not 0" : "",
                 field->rule == RULE_PRIME ? ", prime" :
                 field->rule == RULE_CHUNK ? ", 0 or a multiple of 64 from 4096" : "");
        break;
    case TYPE_DOUBLE:
        snprintf(buffer, capacity, "a number in [%g, %g]", field->public_info.lower,
                 field->public_info.upper);
        break;
    case TYPE_INT_LIST:
        snprintf(buffer, capacity, "a comma-separated list of at most %d distinct integers in [%.0f, %.0f]",
                 CONFIG_LIST_MAX, field->public_info.lower, field->public_info.upper);
        break;
    }
}

static saraphis_status_t field_error(config_field_id_t id, const char *text, const char *why)
{
    char range[160];
    describe_range(id, range, sizeof range);
    char quoted[96];
    json_quote_for_message(text, strlen(text), quoted, sizeof quoted);
    return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "field '%s' = '%s': %s (allowed: %s)",
                     fields[id].public_info.name, quoted, why, range);
}

static int is_prime(int64_t n)
{
    if (n < 2) return 0;
    for (int64_t d = 2; d * d <= n; d++)
        if (n % d == 0) return 0;
    return 1;
}

static int parse_int_text(const char *text, int64_t *value)
{
    while (isspace((unsigned char)*text)) text++;
    if (!*text) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text) return 0;
    while (isspace((unsigned char)*end)) end++;
    if (*end) return 0;
    *value = v;
    return 1;
}

static saraphis_status_t check_int(config_field_id_t id, const char *text, int64_t value)
{
    const field_t *field = &fields[id];
    if ((double)value < field->public_info.lower || (double)value > field->public_info.upper)
        return field_error(id, text, "out of range");
    if (field->rule == RULE_NONZERO && value == 0) return field_error(id, text, "0 is not allowed");
    if (field->rule == RULE_PRIME && !is_prime(value)) return field_error(id, text, "not a prime");
    if (field->rule == RULE_CHUNK && value != 0 && (value < 4096 || value % 64))
        return field_error(id, text, "not a chunk size");
    return SARAPHIS_OK;
}

/* Parses text as field id's type and checks it; the value goes to *out only on success. */
static saraphis_status_t parse_value(config_field_id_t id, const char *text, config_value_t *out)
{
    const field_t *field = &fields[id];
    config_value_t value;
    memset(&value, 0, sizeof value);
    switch (field->type) {
    case TYPE_BOOL: {
        static const char *truths[] = {"true", "1", "yes", "on"}, *falsehoods[] = {"false", "0", "no", "off"};
        int found = 0;
        for (size_t i = 0; i < 4 && !found; i++) {
            if (strcasecmp(text, truths[i]) == 0) { value.integer = 1; found = 1; }
            else if (strcasecmp(text, falsehoods[i]) == 0) { value.integer = 0; found = 1; }
        }
        if (!found) return field_error(id, text, "not a boolean");
        break;
    }
    case TYPE_INT:
        if (!parse_int_text(text, &value.integer)) return field_error(id, text, "not an integer");
        SPS_TRY(check_int(id, text, value.integer));
        break;
    case TYPE_DOUBLE: {
        const char *start = text;
        while (isspace((unsigned char)*start)) start++;
        char *end;
        errno = 0;
        double v = *start ? strtod(start, &end) : 0.0;
        if (!*start || errno || end == start) return field_error(id, text, "not a number");
        while (isspace((unsigned char)*end)) end++;
        if (*end || !isfinite(v)) return field_error(id, text, "not a finite number");
        if (v < field->public_info.lower || v > field->public_info.upper)
            return field_error(id, text, "out of range");
        value.real = v;
        break;
    }
    case TYPE_ENUM: {
        char choice[64];
        int64_t index = 0;
        for (;; index++) {
            const char *name = config_choice_name(id, index, choice, sizeof choice);
            if (strcmp(name, "?") == 0) return field_error(id, text, "not one of the choices");
            if (strcasecmp(name, text) == 0) break;
        }
        value.integer = index;
        break;
    }
    case TYPE_INT_LIST: {
        const char *p = text;
        while (isspace((unsigned char)*p)) p++;
        while (*p) {
            char *end;
            errno = 0;
            long long v = strtoll(p, &end, 10);
            if (errno || end == p) return field_error(id, text, "not a list of integers");
            if (v < field->public_info.lower || v > field->public_info.upper)
                return field_error(id, text, "an element is out of range");
            if (value.list_count >= CONFIG_LIST_MAX) return field_error(id, text, "too many elements");
            for (uint16_t i = 0; i < value.list_count; i++)
                if (value.list[i] == v) return field_error(id, text, "an element is repeated");
            value.list[value.list_count++] = (uint16_t)v;
            p = end;
            while (isspace((unsigned char)*p)) p++;
            if (*p == ',') {
                p++;
                while (isspace((unsigned char)*p)) p++;
                if (!*p) return field_error(id, text, "a trailing comma");
            } else if (*p) {
                return field_error(id, text, "not a list of integers");
            }
        }
        break;
    }
    }
    *out = value;
    return SARAPHIS_OK;
}

/* Stores a parsed value unless a higher source already set the field. */
static void store(saraphis_config_t *config, config_field_id_t id, const config_value_t *value,
                  saraphis_config_source_t source)
{
    if (config->sources[id] > source) return;
    config->values[id] = *value;
    config->sources[id] = (uint8_t)source;
}

void config_defaults(saraphis_config_t *config)
{
    for (size_t i = 0; i < CFG_COUNT; i++) {
        config_value_t value;
        saraphis_status_t status = parse_value((config_field_id_t)i, fields[i].public_info.default_value, &value);
        (void)status; /* the defaults are checked by test_config */
        config->values[i] = value;
        config->sources[i] = SARAPHIS_SOURCE_DEFAULT;
    }
}

saraphis_config_t *saraphis_config_create(void)
{
    saraphis_config_t *config = calloc(1, sizeof *config);
    if (config) config_defaults(config);
    return config;
}

saraphis_config_t *saraphis_config_clone(const saraphis_config_t *config)
{
    if (!config) return NULL;
    saraphis_config_t *copy = malloc(sizeof *copy);
    if (copy) *copy = *config;
    return copy;
}

void saraphis_config_free(saraphis_config_t *config) { free(config); }

static saraphis_status_t lookup(const char *field, config_field_id_t *id)
{
    if (!field) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "configuration: field name is NULL");
    int found = find_field(field, strlen(field));
    if (found < 0) {
        char quoted[96];
        json_quote_for_message(field, strlen(field), quoted, sizeof quoted);
        return error_set(SARAPHIS_ERROR_NOT_FOUND, "configuration: no field named '%s' (docs/coordinator.md lists them)", quoted);
    }
    *id = (config_field_id_t)found;
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_config_set(saraphis_config_t *config, const char *field, const char *value)
{
    error_clear();
    if (!config || !value) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_set: NULL argument");
    config_field_id_t id = CFG_COUNT;
    SPS_TRY(lookup(field, &id));
    config_value_t parsed;
    SPS_TRY(parse_value(id, value, &parsed));
    store(config, id, &parsed, SARAPHIS_SOURCE_API);
    return SARAPHIS_OK;
}

/* Shortest decimal text that reads back as the same double. */
static void format_double(double value, char *buffer, size_t capacity)
{
    if (value == floor(value) && fabs(value) < 1e15) {
        snprintf(buffer, capacity, "%.0f", value);
        return;
    }
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buffer, capacity, "%.*g", digits, value);
        if (strtod(buffer, NULL) == value) return;
    }
}

saraphis_status_t config_value_text(const saraphis_config_t *config, config_field_id_t id, char *buffer,
                                    size_t capacity)
{
    char text[CONFIG_LIST_MAX * 6 + 32];
    const config_value_t *value = &config->values[id];
    switch (fields[id].type) {
    case TYPE_BOOL: snprintf(text, sizeof text, "%s", value->integer ? "true" : "false"); break;
    case TYPE_INT: snprintf(text, sizeof text, "%lld", (long long)value->integer); break;
    case TYPE_DOUBLE: format_double(value->real, text, sizeof text); break;
    case TYPE_ENUM: config_choice_name(id, value->integer, text, sizeof text); break;
    case TYPE_INT_LIST: {
        size_t used = 0;
        text[0] = '\0';
        for (uint16_t i = 0; i < value->list_count; i++)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%u", i ? "," : "", value->list[i]);
        break;
    }
    }
    size_t length = strlen(text);
    if (length >= capacity)
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "config_get: '%s' needs %zu bytes, %zu given",
                         fields[id].public_info.name, length + 1, capacity);
    memcpy(buffer, text, length + 1);
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_config_get(const saraphis_config_t *config, const char *field, char *buffer,
                                      size_t capacity)
{
    if (!config || !buffer) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_get: NULL argument");
    config_field_id_t id = CFG_COUNT;
    SPS_TRY(lookup(field, &id));
    return config_value_text(config, id, buffer, capacity);
}

saraphis_status_t saraphis_config_source(const saraphis_config_t *config, const char *field,
                                         saraphis_config_source_t *source)
{
    if (!config || !source) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_source: NULL argument");
    config_field_id_t id = CFG_COUNT;
    SPS_TRY(lookup(field, &id));
    *source = (saraphis_config_source_t)config->sources[id];
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_config_validate(const saraphis_config_t *config)
{
    if (!config) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_validate: NULL configuration");
    double low = config_double(config, CFG_swap_thresholds_low);
    double moderate = config_double(config, CFG_swap_thresholds_moderate);
    double high = config_double(config, CFG_swap_thresholds_high);
    double critical = config_double(config, CFG_swap_thresholds_critical);
    if (!(low < moderate && moderate < high && high <= critical))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "fields swap_thresholds.low/moderate/high/critical = %g/%g/%g/%g: must satisfy "
                         "low < moderate < high <= critical",
                         low, moderate, high, critical);
    /* precision against prime: 0 (auto), 1 to the prime's maximum, or 64 (the prime's maximum).
     * A value in between is one the codec could never use with this prime. */
    int64_t prime = config_int(config, CFG_prime), precision = config_int(config, CFG_precision);
    unsigned most = padic_max_precision((unsigned)prime);
    if (precision != 0 && precision != CONFIG_PRECISION_PRIME_MAX && (uint64_t)precision > most)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "field 'precision' = '%lld': prime %lld allows at most %u base-%lld digits (allowed with "
                         "prime %lld: 0 (auto), 1 to %u, or %d (the prime's maximum, %u))",
                         (long long)precision, (long long)prime, most, (long long)prime, (long long)prime, most,
                         CONFIG_PRECISION_PRIME_MAX, most);
    return SARAPHIS_OK;
}

unsigned config_bounded_precision(const saraphis_config_t *config)
{
    int64_t precision = config_int(config, CFG_precision);
    if (precision == CONFIG_PRECISION_PRIME_MAX) return padic_max_precision((unsigned)config_int(config, CFG_prime));
    return (unsigned)precision;
}

/* ---------------------------------------------------------------------------------------------
 * Environment
 * ------------------------------------------------------------------------------------------- */
saraphis_status_t saraphis_config_apply_env(saraphis_config_t *config)
{
    error_clear();
    if (!config) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_apply_env: NULL configuration");
    saraphis_config_t scratch = *config;
    for (size_t i = 0; i < CFG_COUNT; i++) {
        const char *text = getenv(fields[i].public_info.env);
        if (!text || !*text) continue;
        config_value_t value;
        saraphis_status_t status = parse_value((config_field_id_t)i, text, &value);
        if (status != SARAPHIS_OK)
            return error_wrap(status, "environment variable %s: ", fields[i].public_info.env);
        store(&scratch, (config_field_id_t)i, &value, SARAPHIS_SOURCE_ENV);
    }
    *config = scratch;
    return SARAPHIS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------------------------- */
#define WHAT_MAX 256

/* Converts one JSON value to the text form of field id (type-checked: a string is never taken
 * for a number), then parses it like saraphis_config_set. */
static saraphis_status_t json_field_value(config_field_id_t id, const json_value_t *json, const char *what,
                                          config_value_t *value)
{
    const field_t *field = &fields[id];
    const char *name = field->public_info.name;
    char text[CONFIG_LIST_MAX * 24 + 32];
    json_type_t expected = JSON_NULL;
    switch (field->type) {
    case TYPE_BOOL: expected = JSON_BOOL; break;
    case TYPE_INT:
    case TYPE_DOUBLE: expected = JSON_NUMBER; break;
    case TYPE_ENUM: expected = JSON_STRING; break;
    case TYPE_INT_LIST: expected = JSON_ARRAY; break;
    }
    if (json_type(json) != expected)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: byte %llu: field '%s': expected %s, found %s", what,
                         (unsigned long long)json_offset(json), name, json_type_name(expected),
                         json_type_name(json_type(json)));
    switch (field->type) {
    case TYPE_BOOL: {
        bool b = false;
        json_get_bool(json, &b);
        snprintf(text, sizeof text, "%s", b ? "true" : "false");
        break;
    }
    case TYPE_INT:
    case TYPE_DOUBLE: {
        size_t length;
        const char *number = json_number_text(json, &length);
        if (field->type == TYPE_INT) {
            int64_t integer;
            if (!json_get_int64(json, &integer))
                return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: byte %llu: field '%s': expected an integer, found %.*s",
                                 what, (unsigned long long)json_offset(json), name, (int)(length < 64 ? length : 64), number);
        }
        if (length >= sizeof text) length = sizeof text - 1;
        memcpy(text, number, length);
        text[length] = '\0';
        break;
    }
    case TYPE_ENUM: {
        size_t length;
        const char *string = json_get_string(json, &length);
        if (length >= sizeof text || strlen(string) != length)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: field '%s': string too long or holds NUL", what, name);
        memcpy(text, string, length + 1);
        break;
    }
    case TYPE_INT_LIST: {
        size_t count = json_array_size(json), used = 0;
        if (count > CONFIG_LIST_MAX)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: field '%s': %zu elements, at most %d", what, name, count,
                             CONFIG_LIST_MAX);
        text[0] = '\0';
        for (size_t i = 0; i < count; i++) {
            int64_t element;
            const json_value_t *item = json_array_at(json, i);
            if (!json_get_int64(item, &element))
                return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: byte %llu: field '%s': element %zu is not an integer",
                                 what, (unsigned long long)json_offset(item), name, i);
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%lld", i ? "," : "", (long long)element);
        }
        break;
    }
    }
    saraphis_status_t status = parse_value(id, text, value);
    if (status != SARAPHIS_OK)
        return error_wrap(status, "%s: byte %llu: ", what, (unsigned long long)json_offset(json));
    return SARAPHIS_OK;
}

static saraphis_status_t unknown_key(const char *what, const json_value_t *object, size_t index, const char *prefix)
{
    size_t length;
    const char *key = json_object_key_at(object, index, &length);
    char quoted[96];
    json_quote_for_message(key, length, quoted, sizeof quoted);
    return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: byte %llu: unknown key '%s%s' (not a configuration field; docs/coordinator.md lists them)",
                     what, (unsigned long long)json_object_key_offset(object, index), prefix, quoted);
}

static saraphis_status_t apply_json(saraphis_config_t *config, const char *text, size_t length, const char *what)
{
    json_value_t *root = NULL;
    json_options_t options = {0};
    options.syntax_status = SARAPHIS_ERROR_INVALID_ARGUMENT;
    options.max_bytes = (size_t)1 << 20;
    SPS_TRY(json_parse_ex(text, length, &options, &root, what));
    saraphis_status_t status = SARAPHIS_OK;
    saraphis_config_t scratch = *config;
    uint8_t seen[CFG_COUNT] = {0};
    if (json_type(root) != JSON_OBJECT) {
        status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: expected an object of configuration fields, found %s", what,
                           json_type_name(json_type(root)));
        goto done;
    }
    for (size_t i = 0; i < json_object_size(root) && status == SARAPHIS_OK; i++) {
        size_t key_length;
        const char *key = json_object_key_at(root, i, &key_length);
        const json_value_t *value = json_object_value_at(root, i);
        int id = strlen(key) == key_length ? find_field(key, key_length) : -1;
        if (id >= 0) {
            if (seen[id]) {
                status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: key '%s' sets field '%s' a second time", what, key,
                                   fields[id].public_info.name);
                break;
            }
            seen[id] = 1;
            config_value_t parsed;
            status = json_field_value((config_field_id_t)id, value, what, &parsed);
            if (status == SARAPHIS_OK) store(&scratch, (config_field_id_t)id, &parsed, SARAPHIS_SOURCE_JSON);
            continue;
        }
        /* A group of dotted fields ("swap_thresholds": {...})? */
        int is_group = 0;
        for (size_t f = 0; f < CFG_COUNT && !is_group; f++) {
            const char *name = fields[f].public_info.name;
            is_group = strncmp(name, key, key_length) == 0 && name[key_length] == '.' && strlen(key) == key_length;
        }
        if (!is_group) {
            status = unknown_key(what, root, i, "");
            break;
        }
        if (json_type(value) != JSON_OBJECT) {
            status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: byte %llu: key '%s': expected object, found %s", what,
                               (unsigned long long)json_offset(value), key, json_type_name(json_type(value)));
            break;
        }
        for (size_t j = 0; j < json_object_size(value) && status == SARAPHIS_OK; j++) {
            size_t sub_length;
            const char *sub = json_object_key_at(value, j, &sub_length);
            char full[WHAT_MAX];
            int full_length = snprintf(full, sizeof full, "%s.%s", key, sub);
            int sub_id = (full_length > 0 && (size_t)full_length < sizeof full && strlen(sub) == sub_length)
                             ? find_field(full, (size_t)full_length) : -1;
            if (sub_id < 0) {
                char prefix[WHAT_MAX];
                snprintf(prefix, sizeof prefix, "%s.", key);
                status = unknown_key(what, value, j, prefix);
                break;
            }
            if (seen[sub_id]) {
                status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: field '%s' set twice", what, full);
                break;
            }
            seen[sub_id] = 1;
            config_value_t parsed;
            status = json_field_value((config_field_id_t)sub_id, json_object_value_at(value, j), what, &parsed);
            if (status == SARAPHIS_OK) store(&scratch, (config_field_id_t)sub_id, &parsed, SARAPHIS_SOURCE_JSON);
        }
    }
    if (status == SARAPHIS_OK) *config = scratch;
done:
    json_free(root);
    return status;
}

saraphis_status_t saraphis_config_parse_json(saraphis_config_t *config, const char *text, size_t length)
{
    error_clear();
    if (!config || (!text && length)) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_parse_json: NULL argument");
    return apply_json(config, text ? text : "", length, "configuration JSON");
}

saraphis_status_t saraphis_config_load_json(saraphis_config_t *config, const char *path)
{
    error_clear();
    if (!config || !path) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_load_json: NULL argument");
    FILE *file = fopen(path, "rb");
    if (!file) return error_set(SARAPHIS_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t capacity = 4096, size = 0;
    char *text = malloc(capacity);
    saraphis_status_t status = SARAPHIS_OK;
    while (text) {
        size_t got = fread(text + size, 1, capacity - size, file);
        size += got;
        if (got == 0) break;
        if (size == capacity) {
            if (capacity >= ((size_t)1 << 20)) {
                status = error_set(SARAPHIS_ERROR_LIMIT, "%s: a configuration file is at most 1 MiB", path);
                break;
            }
            char *grown = realloc(text, capacity * 2);
            if (!grown) { free(text); text = NULL; break; }
            text = grown;
            capacity *= 2;
        }
    }
    if (status == SARAPHIS_OK && !text) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory to read it", path);
    if (status == SARAPHIS_OK && ferror(file)) status = error_set(SARAPHIS_ERROR_IO, "%s: read failed", path);
    fclose(file);
    if (status == SARAPHIS_OK) status = apply_json(config, text, size, path);
    free(text);
    return status;
}

/* Writes one field's value as JSON. */
static void write_field_json(json_writer_t *writer, const saraphis_config_t *config, config_field_id_t id)
{
    const config_value_t *value = &config->values[id];
    char text[64];
    switch (fields[id].type) {
    case TYPE_BOOL: json_write_bool(writer, value->integer != 0); break;
    case TYPE_INT: json_write_int64(writer, value->integer); break;
    case TYPE_DOUBLE: json_write_double(writer, value->real); break;
    case TYPE_ENUM: json_write_string(writer, config_choice_name(id, value->integer, text, sizeof text)); break;
    case TYPE_INT_LIST:
        json_write_array_begin(writer);
        for (uint16_t i = 0; i < value->list_count; i++) json_write_int64(writer, value->list[i]);
        json_write_array_end(writer);
        break;
    }
}

void config_write_field_json(json_writer_t *writer, const saraphis_config_t *config, config_field_id_t id)
{
    write_field_json(writer, config, id);
}

void config_write_json(json_writer_t *writer, const saraphis_config_t *config)
{
    json_write_object_begin(writer);
    for (size_t i = 0; i < CFG_COUNT; i++) {
        const char *name = fields[i].public_info.name;
        const char *dot = strchr(name, '.');
        if (!dot) {
            json_write_key(writer, name);
            write_field_json(writer, config, (config_field_id_t)i);
            continue;
        }
        /* A group: written once, at its first member, with all members in table order. */
        size_t group_length = (size_t)(dot - name);
        int first = 1;
        for (size_t j = 0; j < i && first; j++)
            first = !(strncmp(fields[j].public_info.name, name, group_length + 1) == 0);
        if (!first) continue;
        json_write_keyn(writer, name, group_length);
        json_write_object_begin(writer);
        for (size_t j = i; j < CFG_COUNT; j++) {
            if (strncmp(fields[j].public_info.name, name, group_length + 1) != 0) continue;
            json_write_key(writer, fields[j].public_info.name + group_length + 1);
            write_field_json(writer, config, (config_field_id_t)j);
        }
        json_write_object_end(writer);
    }
    json_write_object_end(writer);
}

saraphis_status_t saraphis_config_to_json(const saraphis_config_t *config, char **json)
{
    error_clear();
    if (!config || !json) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_to_json: NULL argument");
    json_writer_t writer;
    json_writer_init(&writer, 2);
    config_write_json(&writer, config);
    size_t length;
    saraphis_status_t status = json_writer_finish(&writer, json, &length);
    json_writer_free(&writer);
    if (status != SARAPHIS_OK) return error_set(status, "config_to_json: writer failed");
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_config_save_json(const saraphis_config_t *config, const char *path)
{
    if (!path) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "config_save_json: NULL path");
    char *text = NULL;
    SPS_TRY(saraphis_config_to_json(config, &text));
    atomic_file_t file;
    saraphis_status_t status = atomic_file_open(&file, path);
    if (status == SARAPHIS_OK) {
        size_t length = strlen(text);
        text[length] = '\n'; /* the NUL becomes a final newline; length + 1 bytes are written */
        status = file_write_full(file.fd, text, length + 1, file.temporary_path);
        if (status == SARAPHIS_OK) status = atomic_file_commit(&file);
        if (status != SARAPHIS_OK) atomic_file_abort(&file);
    }
    free(text);
    return status;
}
