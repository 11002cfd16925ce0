/* The configuration behind saraphis_config_t: one typed value and one source per field of
 * config_fields.h. Readers inside the library use the typed getters below; the text and JSON
 * forms are only for the public API. */
#ifndef SARAPHIS_SYSTEM_CONFIG_H
#define SARAPHIS_SYSTEM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "saraphis.h"
#include "system/config_fields.h"

#define CONFIG_LIST_MAX 256

typedef struct {
    int64_t integer; /* BOOL (0/1), INT, ENUM (index into choices) */
    double real;     /* DOUBLE */
    uint16_t list_count;
    uint16_t list[CONFIG_LIST_MAX]; /* INT_LIST */
} config_value_t;

struct saraphis_config_s {
    config_value_t values[CFG_COUNT];
    uint8_t sources[CFG_COUNT]; /* saraphis_config_source_t */
};

/* Enum choice indices the code relies on (their order in config_fields.h). */
enum { CONFIG_CODEC_LOSSLESS = 0, CONFIG_CODEC_STORED = 1, CONFIG_CODEC_BOUNDED = 2 };
enum { CONFIG_CHECKSUM_AUTO = 0, CONFIG_CHECKSUM_ON = 1, CONFIG_CHECKSUM_OFF = 2 };
enum { CONFIG_PRESSURE_STATIC = 0, CONFIG_PRESSURE_ADAPTIVE = 1 };
enum { CONFIG_BOUND_ABSOLUTE = 0, CONFIG_BOUND_RANGE = 1, CONFIG_BOUND_STD = 2 };
/* precision = 64 (the field's maximum, the seeds' default) means the prime's maximum. */
#define CONFIG_PRECISION_PRIME_MAX 64

static inline int64_t config_int(const saraphis_config_t *config, config_field_id_t id)
{
    return config->values[id].integer;
}
static inline bool config_bool(const saraphis_config_t *config, config_field_id_t id)
{
    return config->values[id].integer != 0;
}
static inline double config_double(const saraphis_config_t *config, config_field_id_t id)
{
    return config->values[id].real;
}

/* The field's value as text (what saraphis_config_get writes). */
saraphis_status_t config_value_text(const saraphis_config_t *config, config_field_id_t id,
                                    char *buffer, size_t capacity);
/* The name of choice `index` of an ENUM field ("balanced"); "?" when out of range. */
const char *config_choice_name(config_field_id_t id, int64_t index, char *buffer,
                               size_t capacity);
void config_defaults(saraphis_config_t *config);
/* The precision handed to saraphis_ctx_set_error_bound: 0 (auto) as is, 64 as
 * padic_max_precision(prime), any other value as is (saraphis_config_validate checks it). */
unsigned config_bounded_precision(const saraphis_config_t *config);

#endif
