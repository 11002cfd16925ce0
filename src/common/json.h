/* json: a small, strict RFC 8259 JSON parser (to a DOM) and writer.
 *
 * The parser is meant for hostile input (safetensors headers, configuration files): it never
 * reads outside [text, text + length), bounds nesting depth, input size and value count, checks
 * every string for valid UTF-8, decodes every escape (\uXXXX surrogate pairs included) and
 * rejects duplicate object keys. Anything RFC 8259 does not allow is an error: comments,
 * trailing commas, leading zeros, NaN, single quotes, a byte-order mark, unescaped control
 * characters. Whitespace may surround the top-level value.
 *
 * The DOM is immutable after parsing. Object members keep document order. Numbers keep their
 * exact source text; typed getters convert on demand and fail rather than round or wrap.
 * Strings are NUL-terminated UTF-8 and also carry their length, because "\u0000" is legal JSON.
 *
 * On failure json_parse returns a status and records (error_set) a message of the form
 * "<what>: byte <offset>: expected <what was expected>, found <what was there>".
 *
 * Thread-safety: a parsed DOM may be read from many threads at once; a writer belongs to one
 * thread at a time. No global state (doubles read the locale's decimal point via localeconv, and
 * convert JSON's '.' to it, so a program's setlocale cannot break them).
 */
#ifndef SARAPHIS_COMMON_JSON_H
#define SARAPHIS_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

#define JSON_DEFAULT_MAX_DEPTH 128
#define JSON_DEFAULT_MAX_BYTES ((size_t)128 << 20) /* above safetensors' 100 MB header limit */
#define JSON_DEFAULT_MAX_VALUES ((size_t)1 << 24)  /* bounds DOM memory for hostile input */

typedef enum {
    JSON_NULL = 0,
    JSON_BOOL = 1,
    JSON_NUMBER = 2,
    JSON_STRING = 3,
    JSON_ARRAY = 4,
    JSON_OBJECT = 5
} json_type_t;

typedef struct json_value_s json_value_t; /* opaque; owned by the root json_parse returned */

typedef struct {
    size_t max_depth;            /* arrays/objects nested deeper fail with LIMIT; 0: default */
    size_t max_bytes;            /* longer input fails with LIMIT; 0: default */
    size_t max_values;           /* more values (of any kind) fail with LIMIT; 0: default */
    saraphis_status_t syntax_status; /* returned for malformed text; 0: BAD_INPUT_FORMAT */
    uint64_t offset_base;        /* added to every reported offset (e.g. 8 for safetensors) */
} json_options_t;

/* Parses exactly one JSON text. On success *out is the root (free with json_free). On failure
 * *out is NULL and the status is: options->syntax_status (default BAD_INPUT_FORMAT) for
 * malformed text, LIMIT for depth/size/value-count limits, OUT_OF_MEMORY. what_for_errors
 * names the input in messages ("model.safetensors header"); NULL gives "JSON". */
saraphis_status_t json_parse(const char *text, size_t length, json_value_t **out,
                             const char *what_for_errors);
saraphis_status_t json_parse_ex(const char *text, size_t length, const json_options_t *options,
                                json_value_t **out, const char *what_for_errors);
/* Frees a root returned by json_parse (never a value inside it). NULL does nothing. */
void json_free(json_value_t *root);

json_type_t json_type(const json_value_t *value);
const char *json_type_name(json_type_t type); /* "null", "bool", ..., for messages */
/* Byte offset where the value starts in the parsed text, plus options->offset_base. */
uint64_t json_offset(const json_value_t *value);

/* Objects. Members are in document order; keys are unique. */
size_t json_object_size(const json_value_t *object); /* 0 when not an object */
/* Key and value of member index (NULL past the end or when not an object). key_length may be
 * NULL; keys are NUL-terminated but may hold NUL bytes themselves, hence the length. */
const char *json_object_key_at(const json_value_t *object, size_t index, size_t *key_length);
const json_value_t *json_object_value_at(const json_value_t *object, size_t index);
/* Offset of member index's key (for messages about the key itself). */
uint64_t json_object_key_offset(const json_value_t *object, size_t index);
/* Looks a key up (O(log n) for large objects). NULL when absent or not an object. */
const json_value_t *json_object_get(const json_value_t *object, const char *key);
const json_value_t *json_object_getn(const json_value_t *object, const char *key,
                                     size_t key_length);

/* Arrays. */
size_t json_array_size(const json_value_t *array); /* 0 when not an array */
const json_value_t *json_array_at(const json_value_t *array, size_t index); /* NULL past end */

/* Scalars. Each getter returns false (and leaves *out alone) when the value is of another type,
 * or, for numbers, when the exact text does not fit the target. */
bool json_is_null(const json_value_t *value);
bool json_get_bool(const json_value_t *value, bool *out);
/* NUL-terminated UTF-8; length (may be NULL) excludes the terminator. NULL when not a string. */
const char *json_get_string(const json_value_t *value, size_t *length);
/* The number's exact source text (not NUL-terminated inside the input, but this copy is). */
const char *json_number_text(const json_value_t *value, size_t *length);
/* Integer getters accept only integer syntax ("12", "-3"): a fraction or exponent ("1.0",
 * "1e3") or a value outside the type's range fails; nothing is rounded. */
bool json_get_int64(const json_value_t *value, int64_t *out);
bool json_get_uint64(const json_value_t *value, uint64_t *out);
/* Nearest double (strtod, C locale digits only); fails when the magnitude overflows. */
bool json_get_double(const json_value_t *value, double *out);

/* Checked getters for format parsers: on a type or range mismatch they record
 * "<what>: byte <offset>: <field>: expected <...>, found <...>" and return status. */
saraphis_status_t json_expect_uint64(const json_value_t *value, saraphis_status_t status,
                                     const char *what, const char *field, uint64_t *out);
saraphis_status_t json_expect_string(const json_value_t *value, saraphis_status_t status,
                                     const char *what, const char *field, const char **out,
                                     size_t *length);
saraphis_status_t json_expect_type(const json_value_t *value, json_type_t type,
                                   saraphis_status_t status, const char *what, const char *field);

/* ---------------------------------------------------------------------------------------------
 * Writer: builds JSON text into a growing buffer. Errors are sticky: after the first misuse
 * (a value where a key is due, invalid UTF-8, NaN, nesting past JSON_DEFAULT_MAX_DEPTH, out of
 * memory) every call does nothing, and json_writer_finish returns that status.
 * Output is compact ({"a":1,"b":[true,null]}), escaping like serde_json, or indented when
 * indent > 0 (newline, then indent spaces per level; ": " after keys).
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    char *data;
    size_t size;
    size_t capacity;
    saraphis_status_t status;
    unsigned indent;
    unsigned depth;
    bool need_comma;     /* a value was written at this level, so the next needs ',' */
    bool after_key;      /* inside an object, a key was written and its value is due */
    bool done;           /* the top-level value is complete */
    uint8_t container[JSON_DEFAULT_MAX_DEPTH]; /* '{' or '[' per open level */
} json_writer_t;

void json_writer_init(json_writer_t *writer, unsigned indent);
void json_writer_free(json_writer_t *writer); /* releases the buffer unless finished */
void json_write_object_begin(json_writer_t *writer);
void json_write_object_end(json_writer_t *writer);
void json_write_array_begin(json_writer_t *writer);
void json_write_array_end(json_writer_t *writer);
void json_write_key(json_writer_t *writer, const char *key);
void json_write_keyn(json_writer_t *writer, const char *key, size_t length);
void json_write_string(json_writer_t *writer, const char *string);
void json_write_stringn(json_writer_t *writer, const char *string, size_t length);
void json_write_int64(json_writer_t *writer, int64_t number);
void json_write_uint64(json_writer_t *writer, uint64_t number);
void json_write_double(json_writer_t *writer, double number); /* shortest text that round-trips */
/* Writes number text as is after checking it is a valid JSON number (keeps exact text). */
void json_write_number_text(json_writer_t *writer, const char *text, size_t length);
void json_write_bool(json_writer_t *writer, bool value);
void json_write_null(json_writer_t *writer);
/* Hands over the text (NUL-terminated, *length excludes the NUL; free() it). Fails with the
 * sticky status, or INVALID_ARGUMENT when the top-level value is not complete. The writer is
 * left empty either way (json_writer_free is still safe). */
saraphis_status_t json_writer_finish(json_writer_t *writer, char **text, size_t *length);

/* Validates UTF-8 (no overlongs, surrogates or code points above U+10FFFF). Returns the length
 * of the longest valid prefix; equal to length when all of it is valid. */
size_t json_utf8_valid_prefix(const uint8_t *bytes, size_t length);

/* Copies bytes into buffer for use in an error message: printable ASCII as is, anything else as
 * \xNN, cut with "..." to fit capacity (which must be at least 4). */
void json_quote_for_message(const char *bytes, size_t length, char *buffer, size_t capacity);

/* Writes a parsed value (and everything below it) through the writer, numbers as their text. */
void json_write_value(json_writer_t *writer, const json_value_t *value);

#endif
