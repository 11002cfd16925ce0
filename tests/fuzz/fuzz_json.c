/* libFuzzer target for common/json: any input must parse or fail cleanly (no crash, no leak,
 * no sanitizer report); whatever parses must survive write -> parse -> write unchanged, and the
 * limit paths are exercised with tight options on the same input.
 * The library is built with coverage instrumentation in fuzzing builds (CMakeLists.txt). */

#include "common/json.h"
#include <stdlib.h>
#include <string.h>

static void touch(const json_value_t *value)
{
    size_t length;
    int64_t signed_value;
    uint64_t unsigned_value;
    double real;
    bool boolean;
    switch (json_type(value)) {
    case JSON_NUMBER:
        json_number_text(value, &length);
        json_get_int64(value, &signed_value);
        json_get_uint64(value, &unsigned_value);
        json_get_double(value, &real);
        break;
    case JSON_STRING:
        json_get_string(value, &length);
        break;
    case JSON_BOOL: json_get_bool(value, &boolean); break;
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(value); i++) touch(json_array_at(value, i));
        break;
    case JSON_OBJECT:
        for (size_t i = 0; i < json_object_size(value); i++) {
            const char *key = json_object_key_at(value, i, &length);
            if (json_object_getn(value, key, length) != json_object_value_at(value, i))
                __builtin_trap(); /* lookup must find the member it was listed with */
            touch(json_object_value_at(value, i));
        }
        break;
    case JSON_NULL: break;
    }
}


static char *serialize(const json_value_t *value, unsigned indent, size_t *length)
{
    json_writer_t writer;
    json_writer_init(&writer, indent);
    json_write_value(&writer, value);
    char *text = NULL;
    if (json_writer_finish(&writer, &text, length) != SARAPHIS_OK) __builtin_trap();
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_value_t *root = NULL;
    json_options_t tight = {0};
    tight.max_depth = 3;
    tight.max_values = 16;
    tight.offset_base = 8;
    if (json_parse_ex((const char *)data, size, &tight, &root, "fuzz") == SARAPHIS_OK) json_free(root);

    if (json_parse((const char *)data, size, &root, "fuzz") != SARAPHIS_OK) {
        if (root) __builtin_trap(); /* failure must leave no DOM */
        return 0;
    }
    touch(root);
    size_t first_length, second_length;
    char *first = serialize(root, (unsigned)(size % 3), &first_length);
    json_value_t *again = NULL;
    if (json_parse(first, first_length, &again, "rewritten") != SARAPHIS_OK) __builtin_trap();
    char *second = serialize(again, (unsigned)(size % 3), &second_length);
    if (first_length != second_length || memcmp(first, second, first_length) != 0) __builtin_trap();
    free(first);
    free(second);
    json_free(again);
    json_free(root);
    return 0;
}
