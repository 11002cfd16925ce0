/* Tests for common/json: valid documents, every kind of malformed input (with the exact status
 * and a message that gives the offset and what was expected), limits, typed getters, and the
 * writer (escaping, misuse, round trips through the parser). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "testing.h"

/* Parses text (length given, so embedded NULs count) and checks status and message pieces. */
static void expect_error_n(int line, const char *text, size_t length, saraphis_status_t want,
                           const char *needle, const char *needle2)
{
    json_value_t *root = (json_value_t *)1;
    saraphis_status_t got = json_parse(text, length, &root, "doc.json");
    const char *message = saraphis_last_error();
    bool ok = got == want && root == NULL && strstr(message, "doc.json") &&
              (!needle || strstr(message, needle)) && (!needle2 || strstr(message, needle2));
    CHECK_MSG(ok, "line %d: input \"%.*s\": want %s with '%s' '%s', got %s: %s", line, (int)length,
          text, saraphis_status_name(want), needle ? needle : "", needle2 ? needle2 : "",
          saraphis_status_name(got), message);
    if (got == SARAPHIS_OK) json_free(root);
}
#define EXPECT_ERROR(text, want, needle, needle2) \
    expect_error_n(__LINE__, text, strlen(text), want, needle, needle2)
#define EXPECT_SYNTAX(text, needle, needle2) \
    EXPECT_ERROR(text, SARAPHIS_ERROR_BAD_INPUT_FORMAT, needle, needle2)

static json_value_t *parse_ok_n(int line, const char *text, size_t length)
{
    json_value_t *root = NULL;
    saraphis_status_t got = json_parse(text, length, &root, "doc.json");
    CHECK_MSG(got == SARAPHIS_OK && root, "line %d: \"%.*s\" should parse: %s", line, (int)length, text,
          saraphis_last_error());
    return root;
}
#define PARSE_OK(text) parse_ok_n(__LINE__, text, strlen(text))


static char *serialize(const json_value_t *value, unsigned indent, size_t *length)
{
    json_writer_t writer;
    json_writer_init(&writer, indent);
    json_write_value(&writer, value);
    char *text = NULL;
    if (json_writer_finish(&writer, &text, length) != SARAPHIS_OK) return NULL;
    return text;
}

static void test_valid_scalars(void)
{
    json_value_t *root = PARSE_OK("true");
    bool b = false;
    CHECK_MSG(json_type(root) == JSON_BOOL && json_get_bool(root, &b) && b, "true");
    json_free(root);
    root = PARSE_OK(" false ");
    CHECK_MSG(json_get_bool(root, &b) && !b, "false");
    json_free(root);
    root = PARSE_OK("\t\r\nnull\n");
    CHECK_MSG(json_is_null(root), "null");
    json_free(root);

    root = PARSE_OK("-12.50E+3");
    size_t length;
    const char *text = json_number_text(root, &length);
    CHECK_MSG(text && length == 9 && strcmp(text, "-12.50E+3") == 0, "number text kept exactly");
    double d = 0;
    CHECK_MSG(json_get_double(root, &d) && d == -12500.0, "double value %g", d);
    int64_t i64;
    CHECK_MSG(!json_get_int64(root, &i64), "exponent is not an integer");
    json_free(root);

    root = PARSE_OK("-0");
    CHECK_MSG(json_get_int64(root, &i64) && i64 == 0, "-0 as int64");
    json_free(root);
    root = PARSE_OK("0");
    uint64_t u64;
    CHECK_MSG(json_get_uint64(root, &u64) && u64 == 0, "0 as uint64");
    json_free(root);
}

static void test_integer_getters(void)
{
    static const struct {
        const char *text;
        bool int64_ok;
        int64_t int64_value;
        bool uint64_ok;
        uint64_t uint64_value;
    } cases[] = {
        {"9223372036854775807", true, INT64_MAX, true, 9223372036854775807ull},
        {"9223372036854775808", false, 0, true, 9223372036854775808ull},
        {"-9223372036854775808", true, INT64_MIN, false, 0},
        {"-9223372036854775809", false, 0, false, 0},
        {"18446744073709551615", false, 0, true, UINT64_MAX},
        {"18446744073709551616", false, 0, false, 0},
        {"99999999999999999999999999", false, 0, false, 0},
        {"-1", true, -1, false, 0},
        {"1.0", false, 0, false, 0},
        {"1e3", false, 0, false, 0},
        {"42", true, 42, true, 42},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_value_t *root = PARSE_OK(cases[i].text);
        int64_t s = 7;
        uint64_t u = 7;
        bool s_ok = json_get_int64(root, &s), u_ok = json_get_uint64(root, &u);
        CHECK_MSG(s_ok == cases[i].int64_ok && (!s_ok || s == cases[i].int64_value), "int64 of %s",
              cases[i].text);
        CHECK_MSG(u_ok == cases[i].uint64_ok && (!u_ok || u == cases[i].uint64_value), "uint64 of %s",
              cases[i].text);
        json_free(root);
    }
    double d;
    json_value_t *root = PARSE_OK("1e309");
    CHECK_MSG(!json_get_double(root, &d), "1e309 overflows a double");
    json_free(root);
    root = PARSE_OK("-1e308");
    CHECK_MSG(json_get_double(root, &d) && d == -1e308, "-1e308");
    json_free(root);
    root = PARSE_OK("1e-400");
    CHECK_MSG(json_get_double(root, &d) && d >= 0 && d < 1e-300, "1e-400 underflows to ~0");
    json_free(root);
    root = PARSE_OK("\"12\"");
    CHECK_MSG(!json_get_uint64(root, &(uint64_t){0}) && !json_get_double(root, &d), "string is no number");
    json_free(root);

    /* The checked getters name the field. */
    root = PARSE_OK("[1.5]");
    uint64_t u;
    saraphis_status_t status = json_expect_uint64(json_array_at(root, 0), SARAPHIS_ERROR_CORRUPT,
                                                  "f.json", "shape[0]", &u);
    CHECK_MSG(status == SARAPHIS_ERROR_CORRUPT && strstr(saraphis_last_error(), "shape[0]") &&
              strstr(saraphis_last_error(), "byte 1") && strstr(saraphis_last_error(), "1.5"),
          "expect_uint64 message: %s", saraphis_last_error());
    const char *s;
    status = json_expect_string(json_array_at(root, 0), SARAPHIS_ERROR_BAD_INPUT_FORMAT, "f.json",
                                "dtype", &s, NULL);
    CHECK_MSG(status == SARAPHIS_ERROR_BAD_INPUT_FORMAT && strstr(saraphis_last_error(), "dtype") &&
              strstr(saraphis_last_error(), "expected a string"),
          "expect_string message: %s", saraphis_last_error());
    status = json_expect_type(root, JSON_OBJECT, SARAPHIS_ERROR_BAD_INPUT_FORMAT, "f.json", "root");
    CHECK_MSG(status == SARAPHIS_ERROR_BAD_INPUT_FORMAT &&
              strstr(saraphis_last_error(), "expected an object, found an array"),
          "expect_type message: %s", saraphis_last_error());
    json_free(root);
}

static void test_strings(void)
{
    size_t length;
    json_value_t *root = PARSE_OK("\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
    const char *s = json_get_string(root, &length);
    CHECK_MSG(s && length == 9 && memcmp(s, "a\"\\/\b\f\n\r\t", 9) == 0, "simple escapes");
    json_free(root);

    root = PARSE_OK("\"\\u00e9\\u20AC\\ud83d\\ude00\"");
    s = json_get_string(root, &length);
    CHECK_MSG(s && length == 9 && memcmp(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9) == 0,
          "\\u escapes and a surrogate pair to UTF-8");
    json_free(root);

    root = PARSE_OK("\"x\\u0000y\"");
    s = json_get_string(root, &length);
    CHECK_MSG(s && length == 3 && s[1] == '\0' && s[3] == '\0', "\\u0000 kept, length 3");
    json_free(root);

    root = PARSE_OK("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"");
    s = json_get_string(root, &length);
    CHECK_MSG(s && length == 10, "raw UTF-8 and DEL accepted");
    json_free(root);

    root = PARSE_OK("\"\"");
    s = json_get_string(root, &length);
    CHECK_MSG(s && length == 0 && s[0] == '\0', "empty string");
    json_free(root);
}

static void test_containers(void)
{
    json_value_t *root = PARSE_OK("{\"z\": 1, \"a\": [true, null, {\"k\": \"v\"}], \"m\": {}}");
    CHECK_MSG(json_type(root) == JSON_OBJECT && json_object_size(root) == 3, "object of 3");
    CHECK_MSG(strcmp(json_object_key_at(root, 0, NULL), "z") == 0 &&
              strcmp(json_object_key_at(root, 1, NULL), "a") == 0 &&
              strcmp(json_object_key_at(root, 2, NULL), "m") == 0,
          "document order kept");
    const json_value_t *array = json_object_get(root, "a");
    CHECK_MSG(json_array_size(array) == 3 && json_is_null(json_array_at(array, 1)) &&
              json_array_at(array, 3) == NULL,
          "array access");
    CHECK_MSG(strcmp(json_get_string(json_object_get(json_array_at(array, 2), "k"), NULL), "v") == 0,
          "nested lookup");
    CHECK_MSG(json_object_get(root, "missing") == NULL && json_object_get(array, "a") == NULL,
          "missing key and non-object");
    CHECK_MSG(json_offset(array) == 14 && json_object_key_offset(root, 1) == 9, "offsets %llu %llu",
          (unsigned long long)json_offset(array), (unsigned long long)json_object_key_offset(root, 1));
    CHECK_MSG(json_object_size(json_object_get(root, "m")) == 0, "empty object");
    json_free(root);

    /* A large object uses the sorted index; every key must still be found. */
    char text[8192];
    size_t length = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 0; i < 300; i++)
        length += (size_t)snprintf(text + length, sizeof text - length, "%s\"key%d\":%d",
                                   i ? "," : "", (i * 7919) % 300, i);
    snprintf(text + length, sizeof text - length, "}");
    root = PARSE_OK(text);
    bool all_found = json_object_size(root) == 300;
    for (int i = 0; i < 300 && all_found; i++) {
        char key[16];
        snprintf(key, sizeof key, "key%d", (i * 7919) % 300);
        int64_t v = -1;
        all_found = json_get_int64(json_object_get(root, key), &v) && v == i;
    }
    CHECK_MSG(all_found, "300-key object lookups");
    CHECK_MSG(json_object_get(root, "key300") == NULL, "absent key in large object");
    json_free(root);

    root = PARSE_OK("{\"a\\u0000b\": 1, \"a\": 2}");
    int64_t v;
    CHECK_MSG(json_get_int64(json_object_getn(root, "a\0b", 3), &v) && v == 1 &&
              json_get_int64(json_object_get(root, "a"), &v) && v == 2,
          "keys with NUL are distinct from their prefix");
    json_free(root);
}

static void test_syntax_errors(void)
{
    EXPECT_SYNTAX("", "byte 0: expected a value", "end of input");
    EXPECT_SYNTAX("   ", "byte 3: expected a value", NULL);
    EXPECT_SYNTAX("[1,]", "byte 3: expected a value", "']'");
    EXPECT_SYNTAX("[1 2]", "byte 3: expected ',' or ']'", NULL);
    EXPECT_SYNTAX("{\"a\":1,}", "byte 7: expected '\"' to open an object key", NULL);
    EXPECT_SYNTAX("{\"a\" 1}", "byte 5: expected ':'", NULL);
    EXPECT_SYNTAX("{1:2}", "byte 1: expected '\"' to open an object key", NULL);
    EXPECT_SYNTAX("{\"a\":1 \"b\":2}", "expected ',' or '}'", NULL);
    EXPECT_SYNTAX("{'a':1}", "byte 1", "'\"' to open");
    EXPECT_SYNTAX("01", "byte 1", "leading zeros");
    EXPECT_SYNTAX("-01", "byte 2", "leading zeros");
    EXPECT_SYNTAX("1.", "byte 2: expected a digit after '.'", NULL);
    EXPECT_SYNTAX("1.e5", "byte 2: expected a digit after '.'", NULL);
    EXPECT_SYNTAX("1e", "byte 2: expected a digit in the exponent", NULL);
    EXPECT_SYNTAX("1e+", "byte 3: expected a digit in the exponent", NULL);
    EXPECT_SYNTAX("-", "byte 1: expected a digit", NULL);
    EXPECT_SYNTAX("+1", "byte 0: expected a value", NULL);
    EXPECT_SYNTAX(".5", "byte 0: expected a value", NULL);
    EXPECT_SYNTAX("NaN", "byte 0: expected a value", NULL);
    EXPECT_SYNTAX("Infinity", "byte 0", NULL);
    EXPECT_SYNTAX("-Infinity", "byte 1: expected a digit", NULL);
    EXPECT_SYNTAX("tru", "byte 3: expected 'true'", "end of input");
    EXPECT_SYNTAX("trUe", "byte 2: expected 'true'", NULL);
    EXPECT_SYNTAX("nul", "expected 'null'", NULL);
    EXPECT_SYNTAX("falsey", "byte 5: expected end of input", NULL);
    EXPECT_SYNTAX("[", "byte 1: expected a value", NULL);
    EXPECT_SYNTAX("{", "byte 1: expected '\"'", NULL);
    EXPECT_SYNTAX("[1]x", "byte 3: expected end of input", NULL);
    EXPECT_SYNTAX("1 2", "byte 2: expected end of input", NULL);
    EXPECT_SYNTAX("/* c */ 1", "byte 0", NULL);
    EXPECT_SYNTAX("[1] // c", "byte 4", NULL);
    EXPECT_SYNTAX("\xef\xbb\xbf{}", "byte 0: expected a value", "byte 0xef");
    EXPECT_SYNTAX("\"abc", "byte 4: expected '\"' to close the string", NULL);
    EXPECT_SYNTAX("\"abc\\", "byte 5: expected an escape character", NULL);
    EXPECT_SYNTAX("\"\\x\"", "byte 2: expected an escape", NULL);
    EXPECT_SYNTAX("\"\\'\"", "byte 2: expected an escape", NULL);
    EXPECT_SYNTAX("\"\\u12\"", "byte 5: expected 4 hex digits", NULL);
    EXPECT_SYNTAX("\"\\u12g4\"", "byte 5: expected 4 hex digits", NULL);
    EXPECT_SYNTAX("\"\\ud800\"", "byte 7: expected a \\u low surrogate", NULL);
    EXPECT_SYNTAX("\"\\ud800x\"", "byte 7: expected a \\u low surrogate", NULL);
    EXPECT_SYNTAX("\"\\udc00\"", "byte 1: expected a high surrogate", NULL);
    EXPECT_SYNTAX("\"\\ud800\\u0041\"", "byte 7", "DC00-DFFF");
    EXPECT_SYNTAX("\"\\ud800\\ud800\"", "byte 7", "low surrogate");
    EXPECT_SYNTAX("\"a\x01z\"", "byte 2", "control characters must be escaped");
    EXPECT_SYNTAX("\"a\tz\"", "byte 2", "control characters");
    EXPECT_SYNTAX("\"a\nz\"", "byte 2", "control characters");
    EXPECT_SYNTAX("\"\xc0\xaf\"", "byte 1: expected valid UTF-8", "0xc0");
    EXPECT_SYNTAX("\"\xc1\xbf\"", "byte 1: expected valid UTF-8", NULL);
    EXPECT_SYNTAX("\"\xe0\x80\xaf\"", "byte 1: expected valid UTF-8", NULL);
    EXPECT_SYNTAX("\"\xed\xa0\x80\"", "byte 1: expected valid UTF-8", "0xed");
    EXPECT_SYNTAX("\"\xf0\x80\x80\xaf\"", "byte 1: expected valid UTF-8", NULL);
    EXPECT_SYNTAX("\"\xf4\x90\x80\x80\"", "byte 1: expected valid UTF-8", NULL);
    EXPECT_SYNTAX("\"\xf5\x80\x80\x80\"", "byte 1: expected valid UTF-8", NULL);
    EXPECT_SYNTAX("\"\xff\"", "byte 1: expected valid UTF-8", "0xff");
    EXPECT_SYNTAX("\"\x80\"", "byte 1: expected valid UTF-8", NULL);
    EXPECT_SYNTAX("\"ok\xe2\x82\"", "byte 3: expected valid UTF-8", NULL);
    EXPECT_SYNTAX("\"\xe2\x82", "byte 1: expected valid UTF-8", NULL);
    expect_error_n(__LINE__, "[1]\0", 4, SARAPHIS_ERROR_BAD_INPUT_FORMAT, "byte 3", "0x00");
    expect_error_n(__LINE__, "\"a\0b\"", 5, SARAPHIS_ERROR_BAD_INPUT_FORMAT, "byte 2",
                   "control characters");
    /* Duplicate keys, in small and in large objects, and spelled with escapes. */
    EXPECT_SYNTAX("{\"a\":1,\"a\":2}", "byte 7: expected unique keys", "duplicate \"a\"");
    EXPECT_SYNTAX("{\"a\":1,\"\\u0061\":2}", "byte 7", "duplicate \"a\"");
    EXPECT_SYNTAX("{\"x\":{\"k\":[],\"k\":{}}}", "byte 13", "duplicate \"k\"");
    char text[4096];
    size_t length = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 0; i < 100; i++)
        length += (size_t)snprintf(text + length, sizeof text - length, "\"k%d\":0,", i);
    size_t duplicate_at = length;
    length += (size_t)snprintf(text + length, sizeof text - length, "\"k42\":1,\"k7\":1}");
    char needle[64];
    snprintf(needle, sizeof needle, "byte %zu: expected unique keys", duplicate_at);
    EXPECT_SYNTAX(text, needle, "duplicate \"k42\"");
}

static void test_truncation_everywhere(void)
{
    const char *document =
        "{\"name\": \"w\\u00e9\\ud83d\\ude00\", \"shape\": [3, -4.5e+2, 0], \"ok\": true,"
        " \"none\": null, \"no\": false, \"nested\": {\"a\": [[], {}]}}";
    size_t length = strlen(document);
    json_value_t *root = PARSE_OK(document);
    json_free(root);
    int wrong = 0;
    for (size_t cut = 0; cut < length; cut++) {
        json_value_t *prefix_root = NULL;
        saraphis_status_t status = json_parse(document, cut, &prefix_root, "doc.json");
        if (status != SARAPHIS_ERROR_BAD_INPUT_FORMAT || prefix_root ||
            !strstr(saraphis_last_error(), "byte ") || !strstr(saraphis_last_error(), "expected"))
            wrong++;
        json_free(prefix_root);
    }
    CHECK_MSG(wrong == 0, "%d of %zu truncations not refused with an offset", wrong, length);
}

static void test_limits(void)
{
    /* 128 nested arrays are allowed, 129 are not; a very deep one must not blow the stack. */
    static char deep[200001];
    memset(deep, '[', 128);
    memset(deep + 128, ']', 128);
    json_value_t *root = parse_ok_n(__LINE__, deep, 256);
    json_free(root);
    memset(deep, '[', 129);
    memset(deep + 129, ']', 129);
    expect_error_n(__LINE__, deep, 258, SARAPHIS_ERROR_LIMIT, "byte 128", "nesting deeper than 128");
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    expect_error_n(__LINE__, deep, 200000, SARAPHIS_ERROR_LIMIT, "nesting deeper", NULL);
    for (int i = 0; i < 40000; i++) memcpy(deep + 5 * i, "{\"a\":", 5);
    expect_error_n(__LINE__, deep, 200000, SARAPHIS_ERROR_LIMIT, "byte 640", "nesting deeper");

    json_options_t options = {0};
    options.max_bytes = 10;
    saraphis_status_t status = json_parse_ex("[1,2,3,4,5,6]", 13, &options, &root, "small.json");
    CHECK_MSG(status == SARAPHIS_ERROR_LIMIT && root == NULL &&
              strstr(saraphis_last_error(), "10-byte limit"),
          "size limit: %s", saraphis_last_error());
    options.max_bytes = 0;
    options.max_values = 4;
    status = json_parse_ex("[1,2,3,4,5,6]", 13, &options, &root, "small.json");
    CHECK_MSG(status == SARAPHIS_ERROR_LIMIT && strstr(saraphis_last_error(), "more than 4 values"),
          "value limit: %s", saraphis_last_error());
    options.max_values = 0;
    options.max_depth = 2;
    status = json_parse_ex("[[[]]]", 6, &options, &root, "small.json");
    CHECK_MSG(status == SARAPHIS_ERROR_LIMIT && strstr(saraphis_last_error(), "deeper than 2"),
          "custom depth: %s", saraphis_last_error());
    options.max_depth = 0;
    options.syntax_status = SARAPHIS_ERROR_CORRUPT;
    options.offset_base = 1000;
    status = json_parse_ex("[1,,2]", 6, &options, &root, "cfg");
    CHECK_MSG(status == SARAPHIS_ERROR_CORRUPT && strstr(saraphis_last_error(), "cfg: byte 1003"),
          "caller status and offset base: %s", saraphis_last_error());
    status = json_parse_ex("{\"a\":[1]}", 9, &options, &root, "cfg");
    CHECK_MSG(status == SARAPHIS_OK && json_offset(json_object_get(root, "a")) == 1005,
          "offset base applied to values");
    json_free(root);

    status = json_parse(NULL, 0, &root, NULL);
    CHECK_MSG(status == SARAPHIS_ERROR_BAD_INPUT_FORMAT && strstr(saraphis_last_error(), "JSON: byte 0"),
          "NULL empty text: %s", saraphis_last_error());
    status = json_parse(NULL, 3, &root, NULL);
    CHECK_MSG(status == SARAPHIS_ERROR_INVALID_ARGUMENT, "NULL text with a length");
    json_free(NULL);
}

static void expect_written(int line, json_writer_t *writer, const char *want)
{
    char *text = NULL;
    size_t length = 0;
    saraphis_status_t status = json_writer_finish(writer, &text, &length);
    CHECK_MSG(status == SARAPHIS_OK && text && length == strlen(want) && strcmp(text, want) == 0,
          "line %d: wrote \"%s\", want \"%s\" (%s)", line, text ? text : "(null)", want,
          saraphis_last_error());
    free(text);
    json_writer_free(writer);
}

static void expect_writer_error(int line, json_writer_t *writer, saraphis_status_t want)
{
    char *text = (char *)1;
    saraphis_status_t status = json_writer_finish(writer, &text, NULL);
    CHECK_MSG(status == want && text == NULL, "line %d: writer status %s, want %s", line,
          saraphis_status_name(status), saraphis_status_name(want));
    json_writer_free(writer);
}

static void test_writer(void)
{
    json_writer_t writer;
    json_writer_init(&writer, 0);
    json_write_object_begin(&writer);
    json_write_key(&writer, "s");
    json_write_string(&writer, "q\"b\\n\n\x01\x1f/\xc3\xa9\x7f");
    json_write_key(&writer, "n");
    json_write_array_begin(&writer);
    json_write_int64(&writer, INT64_MIN);
    json_write_uint64(&writer, UINT64_MAX);
    json_write_double(&writer, 0.1);
    json_write_double(&writer, 1e300);
    json_write_double(&writer, -0.0);
    json_write_double(&writer, 3.0);
    json_write_number_text(&writer, "1.50E+3", 7);
    json_write_array_end(&writer);
    json_write_key(&writer, "e");
    json_write_object_begin(&writer);
    json_write_object_end(&writer);
    json_write_key(&writer, "b");
    json_write_bool(&writer, false);
    json_write_keyn(&writer, "n\0ul", 4);
    json_write_null(&writer);
    json_write_object_end(&writer);
    expect_written(__LINE__, &writer,
                   "{\"s\":\"q\\\"b\\\\n\\n\\u0001\\u001f/\xc3\xa9\x7f\",\"n\":[-9223372036854775808,"
                   "18446744073709551615,0.1,1e+300,-0,3,1.50E+3],\"e\":{},\"b\":false,"
                   "\"n\\u0000ul\":null}");

    json_writer_init(&writer, 2);
    json_write_object_begin(&writer);
    json_write_key(&writer, "a");
    json_write_array_begin(&writer);
    json_write_uint64(&writer, 1);
    json_write_uint64(&writer, 2);
    json_write_array_end(&writer);
    json_write_key(&writer, "b");
    json_write_object_begin(&writer);
    json_write_object_end(&writer);
    json_write_key(&writer, "c");
    json_write_array_begin(&writer);
    json_write_array_end(&writer);
    json_write_object_end(&writer);
    expect_written(__LINE__, &writer, "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}");

    json_writer_init(&writer, 0);
    json_write_string(&writer, "top");
    expect_written(__LINE__, &writer, "\"top\"");

    /* The shortest text that reads back to the same double. */
    double values[] = {1.0 / 3.0, 5e-324, 1.7976931348623157e308, 123456789.125, -2.5e-10};
    bool all_round_trip = true;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        json_writer_init(&writer, 0);
        json_write_double(&writer, values[i]);
        char *text;
        size_t length;
        json_value_t *root = NULL;
        double back = 0;
        all_round_trip &= json_writer_finish(&writer, &text, &length) == SARAPHIS_OK &&
                          json_parse(text, length, &root, NULL) == SARAPHIS_OK &&
                          json_get_double(root, &back) && back == values[i];
        free(text);
        json_free(root);
    }
    CHECK_MSG(all_round_trip, "doubles round-trip through writer and parser");

    /* Misuse is sticky and reported by finish. */
    json_writer_init(&writer, 0);
    json_write_object_begin(&writer);
    json_write_uint64(&writer, 1); /* value without key */
    json_write_key(&writer, "later");
    json_write_null(&writer);
    json_write_object_end(&writer);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT);
    json_writer_init(&writer, 0);
    json_write_array_begin(&writer);
    json_write_key(&writer, "k");
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT);
    json_writer_init(&writer, 0);
    json_write_array_begin(&writer);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT); /* unfinished */
    json_writer_init(&writer, 0);
    json_write_array_begin(&writer);
    json_write_object_end(&writer);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT); /* mismatched */
    json_writer_init(&writer, 0);
    json_write_object_begin(&writer);
    json_write_key(&writer, "k");
    json_write_object_end(&writer);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT); /* key, no value */
    json_writer_init(&writer, 0);
    json_write_null(&writer);
    json_write_null(&writer);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT); /* two top values */
    json_writer_init(&writer, 0);
    json_write_string(&writer, "bad \xc3(");
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT);
    json_writer_init(&writer, 0);
    json_write_double(&writer, NAN);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT);
    json_writer_init(&writer, 0);
    json_write_double(&writer, INFINITY);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT);
    json_writer_init(&writer, 0);
    json_write_number_text(&writer, "01", 2);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_INVALID_ARGUMENT);
    json_writer_init(&writer, 0);
    for (int i = 0; i < JSON_DEFAULT_MAX_DEPTH + 1; i++) json_write_array_begin(&writer);
    expect_writer_error(__LINE__, &writer, SARAPHIS_ERROR_LIMIT);
}

static void test_round_trip(void)
{
    const char *documents[] = {
        "{\"a\":[1,-2.5e-3,true,false,null,\"x\\u0000y\"],\"b\":{\"c\":{}},\"\":[]}",
        "[\"\\u001f\\\"\\\\\\b\\f\\n\\r\\t\xe2\x82\xac\xf0\x9f\x98\x80\"]",
        "123",
        "{\"k\":[[[[[]]]]]}",
    };
    for (size_t i = 0; i < sizeof documents / sizeof documents[0]; i++) {
        json_value_t *root = PARSE_OK(documents[i]);
        size_t length = 0;
        char *text = serialize(root, 0, &length);
        CHECK_MSG(text && strcmp(text, documents[i]) == 0, "compact round trip: %s -> %s", documents[i],
              text ? text : "(null)");
        /* Indented output parses back to the same compact text. */
        size_t pretty_length = 0;
        char *pretty = serialize(root, 4, &pretty_length);
        json_value_t *again = NULL;
        char *compact = NULL;
        if (pretty && json_parse(pretty, pretty_length, &again, "pretty") == SARAPHIS_OK)
            compact = serialize(again, 0, &length);
        CHECK_MSG(compact && strcmp(compact, documents[i]) == 0, "indented round trip of %s",
              documents[i]);
        free(text);
        free(pretty);
        free(compact);
        json_free(again);
        json_free(root);
    }
    /* The escape spelling is normalised: "\u00e9" comes back as raw UTF-8, "\/" as "/". */
    json_value_t *root = PARSE_OK("[\"\\u00e9\\/\\u0041\"]");
    size_t length;
    char *text = serialize(root, 0, &length);
    CHECK_MSG(text && strcmp(text, "[\"\xc3\xa9/A\"]") == 0, "normalised escapes: %s", text ? text : "");
    free(text);
    json_free(root);
}

int main(void)
{
    test_valid_scalars();
    test_integer_getters();
    test_strings();
    test_containers();
    test_syntax_errors();
    test_truncation_everywhere();
    test_limits();
    test_writer();
    test_round_trip();
    CHECK_MSG(json_utf8_valid_prefix((const uint8_t *)"ab\xc3\xa9\xc3", 5) == 4, "utf8 valid prefix");
    return TEST_SUMMARY("json");
}
