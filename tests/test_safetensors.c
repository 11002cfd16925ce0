/* Tests for container/safetensors: headers written by the reference implementation (Python
 * safetensors 0.8), every validation failure with its exact status and a message naming the file,
 * tensor and field, truncation at every byte, gaps, and the header builder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "container/safetensors.h"
#include "testing.h"

/* safetensors.numpy.save({"b": zeros((2,2), f32), "a": zeros((3,), i8)}, metadata={"format": "np"})
 * header: the reference orders by dtype (largest first), pads with spaces to 8 bytes. */
static const char reference_json_1[] =
    "{\"__metadata__\":{\"format\":\"np\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2,2],"
    "\"data_offsets\":[0,16]},\"a\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[16,19]}}  ";
/* save({"x": zeros((0,), f32), "y": zeros((1,), f16)}) */
static const char reference_json_2[] =
    "{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"y\":{\"dtype\":\"F16\","
    "\"shape\":[1],\"data_offsets\":[0,2]}}     ";

/* A file: 8-byte length, the JSON as given, data_size bytes of a pattern. */
static uint8_t *make_file(const char *json, size_t json_length, size_t data_size, size_t *size)
{
    *size = 8 + json_length + data_size;
    uint8_t *file = malloc(*size + 1);
    for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)json_length >> (8 * i));
    memcpy(file + 8, json, json_length);
    for (size_t i = 0; i < data_size; i++) file[8 + json_length + i] = (uint8_t)(i * 37 + 1);
    return file;
}

static saraphis_status_t parse_text(const char *json, size_t data_size, safetensors_file_t *out)
{
    size_t size;
    uint8_t *file = make_file(json, strlen(json), data_size, &size);
    saraphis_status_t status = safetensors_parse(file, size, size, "m.safetensors", out);
    free(file);
    return status;
}

/* One header entry for tensor "t" with the given inner text, e.g. "\"dtype\":\"F32\",...". */
static void expect_error(int line, const char *json, size_t data_size, saraphis_status_t want,
                         const char *needle, const char *needle2)
{
    safetensors_file_t file;
    memset(&file, 0xab, sizeof file);
    saraphis_status_t got = parse_text(json, data_size, &file);
    const char *message = saraphis_last_error();
    bool zeroed = file.tensors == NULL && file.tensor_count == 0 && file.header_bytes == NULL &&
                  file.gaps == NULL && file.metadata == NULL;
    CHECK_MSG(got == want && zeroed && strstr(message, "m.safetensors") &&
              (!needle || strstr(message, needle)) && (!needle2 || strstr(message, needle2)),
          "line %d: %s: want %s with '%s' '%s', got %s: %s", line, json, saraphis_status_name(want),
          needle ? needle : "", needle2 ? needle2 : "", saraphis_status_name(got), message);
    if (got == SARAPHIS_OK) safetensors_file_free(&file);
}
#define EXPECT_ERROR(json, data_size, want, needle, needle2) \
    expect_error(__LINE__, json, data_size, want, needle, needle2)
#define EXPECT_BAD(json, data_size, needle, needle2) \
    EXPECT_ERROR(json, data_size, SARAPHIS_ERROR_BAD_INPUT_FORMAT, needle, needle2)

static void test_reference_files(void)
{
    size_t size;
    uint8_t *bytes = make_file(reference_json_1, strlen(reference_json_1), 19, &size);
    uint64_t need = 0;
    CHECK_MSG(safetensors_header_size(bytes, 8, size, "m.safetensors", &need) == SARAPHIS_OK &&
              need == 152,
          "header size %llu", (unsigned long long)need);
    safetensors_file_t file;
    saraphis_status_t status = safetensors_parse(bytes, size, size, "m.safetensors", &file);
    CHECK_MSG(status == SARAPHIS_OK, "reference 1 parses: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) {
        CHECK_MSG(file.tensor_count == 2 && strcmp(file.tensors[0].name, "b") == 0 &&
                  strcmp(file.tensors[1].name, "a") == 0,
              "sorted by offset");
        CHECK_MSG(file.tensors[0].dtype == SARAPHIS_DTYPE_F32 && file.tensors[0].ndim == 2 &&
                  file.tensors[0].shape[0] == 2 && file.tensors[0].shape[1] == 2 &&
                  file.tensors[0].begin == 0 && file.tensors[0].end == 16,
              "tensor b");
        CHECK_MSG(file.tensors[1].dtype == SARAPHIS_DTYPE_I8 && file.tensors[1].ndim == 1 &&
                  file.tensors[1].shape[0] == 3 && file.tensors[1].begin == 16 &&
                  file.tensors[1].end == 19,
              "tensor a");
        CHECK_MSG(file.metadata_count == 1 && strcmp(file.metadata[0].key, "format") == 0 &&
                  strcmp(file.metadata[0].value, "np") == 0,
              "metadata");
        CHECK_MSG(file.header_size == 152 && file.data_offset == 152 && file.data_size == 19 &&
                  memcmp(file.header_bytes, bytes, 152) == 0,
              "verbatim header");
        CHECK_MSG(file.tiled && file.gap_count == 0, "tiled");
        safetensors_file_free(&file);
        CHECK_MSG(file.tensors == NULL && file.header_bytes == NULL, "free zeroes");
    }
    free(bytes);

    status = parse_text(reference_json_2, 2, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.tensor_count == 2 &&
              strcmp(file.tensors[0].name, "x") == 0 && file.tensors[0].begin == 0 &&
              file.tensors[0].end == 0 && file.tensors[0].shape[0] == 0 &&
              file.tensors[1].dtype == SARAPHIS_DTYPE_F16 && file.tiled && file.metadata_count == 0,
          "reference 2 (an empty tensor sharing an offset): %s", saraphis_last_error());
    if (status == SARAPHIS_OK) safetensors_file_free(&file);
    safetensors_file_free(NULL);
}

static void test_valid_variants(void)
{
    /* Every dtype name, with the right byte count. */
    static const char *names[] = {"F32", "F16", "BF16", "F64", "I8", "U8", "I16", "U16",
                                  "I32", "U32", "I64", "U64", "BOOL", "F8_E4M3", "F8_E5M2"};
    static const size_t sizes[] = {4, 2, 2, 8, 1, 1, 2, 2, 4, 4, 8, 8, 1, 1, 1};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"t\":{\"dtype\":\"%s\",\"shape\":[3,1],\"data_offsets\":[0,%zu]}}", names[i],
                 3 * sizes[i]);
        safetensors_file_t file;
        saraphis_status_t status = parse_text(json, 3 * sizes[i], &file);
        CHECK_MSG(status == SARAPHIS_OK && file.tensors[0].dtype == saraphis_dtype_from_name(names[i]),
              "dtype %s: %s", names[i], saraphis_last_error());
        if (status == SARAPHIS_OK) safetensors_file_free(&file);
    }

    /* Gaps before, between and after tensors are reported, not refused. */
    safetensors_file_t file;
    saraphis_status_t status = parse_text(
        "{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]},"
        "\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
        16, &file);
    CHECK_MSG(status == SARAPHIS_OK && !file.tiled && file.gap_count == 3 && file.gaps[0].begin == 0 &&
              file.gaps[0].end == 2 && file.gaps[1].begin == 4 && file.gaps[1].end == 8 &&
              file.gaps[2].begin == 12 && file.gaps[2].end == 16 &&
              strcmp(file.tensors[0].name, "a") == 0,
          "gaps: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) safetensors_file_free(&file);

    status = parse_text("{}", 0, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.tensor_count == 0 && file.tiled, "empty header");
    if (status == SARAPHIS_OK) safetensors_file_free(&file);
    status = parse_text("{}   ", 5, &file);
    CHECK_MSG(status == SARAPHIS_OK && !file.tiled && file.gap_count == 1 && file.gaps[0].end == 5,
          "empty header with trailing data");
    if (status == SARAPHIS_OK) safetensors_file_free(&file);

    status = parse_text("{\"__metadata__\":null,\"s\":{\"data_offsets\":[0,8],\"shape\":[],"
                        "\"dtype\":\"F64\"}}",
                        8, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.metadata_count == 0 && file.tensors[0].ndim == 0 &&
              file.tiled,
          "null metadata, scalar, any member order: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) safetensors_file_free(&file);

    status = parse_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        "\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[4,4]},"
                        "\"\\u00e9\\n\":{\"dtype\":\"F32\",\"shape\":[7,0],\"data_offsets\":[4,4]}}",
                        4, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.tensor_count == 3 && file.tiled &&
              strcmp(file.tensors[0].name, "a") == 0 && strcmp(file.tensors[1].name, "z") == 0 &&
              strcmp(file.tensors[2].name, "\xc3\xa9\n") == 0,
          "empty tensors at the end, escaped names: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) safetensors_file_free(&file);

    char json[512];
    size_t length = (size_t)snprintf(json, sizeof json, "{\"t\":{\"dtype\":\"U8\",\"shape\":[");
    for (int d = 0; d < SARAPHIS_MAX_DIMS; d++)
        length += (size_t)snprintf(json + length, sizeof json - length, "%s1", d ? "," : "");
    snprintf(json + length, sizeof json - length, "],\"data_offsets\":[0,1]}}");
    status = parse_text(json, 1, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.tensors[0].ndim == 16, "16 dims: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) safetensors_file_free(&file);
}

static void test_header_length(void)
{
    uint8_t bytes[16] = {0};
    uint64_t need = 0;
    CHECK_MSG(safetensors_header_size(bytes, 7, 7, "m.safetensors", &need) == SARAPHIS_ERROR_TRUNCATED &&
              strstr(saraphis_last_error(), "m.safetensors: file is 7 bytes"),
          "file under 8 bytes: %s", saraphis_last_error());
    bytes[0] = 9;
    CHECK_MSG(safetensors_header_size(bytes, 16, 16, "m.safetensors", &need) == SARAPHIS_ERROR_TRUNCATED &&
              strstr(saraphis_last_error(), "header length 9 runs past the end"),
          "N beyond the file: %s", saraphis_last_error());
    bytes[0] = 8;
    CHECK_MSG(safetensors_header_size(bytes, 16, 16, "m.safetensors", &need) == SARAPHIS_OK && need == 16,
          "N exactly to the end");
    uint64_t huge = 100000001;
    for (int i = 0; i < 8; i++) bytes[i] = (uint8_t)(huge >> (8 * i));
    CHECK_MSG(safetensors_header_size(bytes, 8, UINT64_MAX, "m.safetensors", &need) == SARAPHIS_ERROR_LIMIT &&
              strstr(saraphis_last_error(), "header length 100000001 exceeds"),
          "N over 100 MB: %s", saraphis_last_error());
    memset(bytes, 0xff, 8);
    CHECK_MSG(safetensors_header_size(bytes, 8, UINT64_MAX, "m.safetensors", &need) == SARAPHIS_ERROR_LIMIT,
          "N = 2^64-1");
    huge = 100000000;
    for (int i = 0; i < 8; i++) bytes[i] = (uint8_t)(huge >> (8 * i));
    CHECK_MSG(safetensors_header_size(bytes, 8, 200000000, "m.safetensors", &need) == SARAPHIS_OK &&
              need == 100000008,
          "N at the limit");
    CHECK_MSG(safetensors_header_size(bytes, 4, 200000000, "m.safetensors", &need) ==
              SARAPHIS_ERROR_INVALID_ARGUMENT,
          "prefix under 8 bytes");

    /* A prefix shorter than 8 + N is the caller's mistake. */
    size_t size;
    uint8_t *file = make_file("{}", 2, 0, &size);
    safetensors_file_t parsed;
    CHECK_MSG(safetensors_parse(file, 9, size, "m.safetensors", &parsed) == SARAPHIS_ERROR_INVALID_ARGUMENT,
          "short prefix");
    free(file);

    EXPECT_BAD("", 0, "byte 8: expected '{'", "empty header");
    EXPECT_BAD(" {}", 0, "byte 8: expected '{'", "0x20");
    EXPECT_BAD("[]", 0, "byte 8: expected '{'", NULL);
    EXPECT_BAD("{\"a\":", 0, "byte 13: expected a value", NULL);
    EXPECT_BAD("{}x", 0, "byte 10: expected end of input", NULL);
}

static void test_bad_entries(void)
{
    EXPECT_ERROR("{\"w\":{\"dtype\":\"F4\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                 SARAPHIS_ERROR_DTYPE, "tensor 'w': unknown dtype 'F4'", "byte 22");
    EXPECT_ERROR("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                 SARAPHIS_ERROR_DTYPE, "tensor 'w': unknown dtype 'f32'", NULL);
    EXPECT_ERROR("{\"w\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
                 SARAPHIS_ERROR_DTYPE, "unknown dtype 'C64'", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "tensor 'w' field 'dtype': expected a string, found 4", NULL);
    EXPECT_BAD("{\"w\":[1]}", 0, "tensor 'w': expected an object, found an array", "byte 13");
    EXPECT_BAD("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing field 'dtype'",
               NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing field 'shape'", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing field 'data_offsets'", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4,
               "tensor 'w': unknown field 'extra'", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
               "duplicate \"dtype\"", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, "duplicate \"w\"", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
               "tensor 'w' field 'shape[0]': expected an integer", "found -1");
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2, 1.0],\"data_offsets\":[0,8]}}", 8,
               "field 'shape[1]'", "found 1.0");
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
               "field 'shape[0]'", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8,
               "tensor 'w' field 'shape': expected an array", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,8]}}", 8,
               "field 'shape[0]'", NULL);
    EXPECT_ERROR("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"
                 "\"data_offsets\":[0,1]}}",
                 1, SARAPHIS_ERROR_LIMIT, "tensor 'w' field 'shape': 17 dimensions", "at most 16");
    EXPECT_BAD("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}",
               0, "tensor 'w' field 'shape': element count overflows", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0,
               "byte size overflows", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
               "tensor 'w' field 'data_offsets': [0, 4) holds 4 bytes", "F32 need 8");
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
               "holds 8 bytes but shape and dtype F32 need 4", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8,
               "field 'data_offsets': begin 8 is after end 4", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
               "field 'data_offsets': expected [begin, end], found 3 elements", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", 8,
               "field 'data_offsets': expected an array", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
               "field 'data_offsets[0]'", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551616]}}", 8,
               "field 'data_offsets[1]'", NULL);
    EXPECT_ERROR("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 7,
                 SARAPHIS_ERROR_TRUNCATED, "tensor 'w' field 'data_offsets': [4, 8) runs past",
                 "7-byte data section");
    EXPECT_ERROR("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[9,9]}}", 8,
                 SARAPHIS_ERROR_TRUNCATED, "runs past", NULL);
    EXPECT_BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, "tensors 'a' [0, 8) and 'b' [4, 12) overlap", "data_offsets");
    EXPECT_BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               16, "tensors 'a' [0, 16) and 'b' [4, 8) overlap", NULL);
    EXPECT_BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}",
               16, "'a' [0, 16) and 'e' [8, 8) overlap", NULL);
    EXPECT_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
               4, "overlap", NULL);
    EXPECT_BAD("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
               "tensor 'a\\x00b': a NUL character", "byte 9");
    EXPECT_BAD("{\"__metadata__\":[]}", 0, "__metadata__: expected an object", NULL);
    EXPECT_BAD("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ 'k': expected a string, found 1", NULL);
    EXPECT_BAD("{\"__metadata__\":{\"k\":\"a\\u0000\"}}", 0, "__metadata__ 'k': a NUL", NULL);
    EXPECT_BAD("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "duplicate \"k\"", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4,
               "expected ',' or '}'", NULL);
    EXPECT_BAD("{\"w\":{\"dtype\":\"F\xff\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "expected valid UTF-8", NULL);
}

/* Truncating a valid file at every byte must fail cleanly, with TRUNCATED; cutting only the JSON
 * (N shrunk to match) at every byte must fail with BAD_INPUT_FORMAT. */
static void test_truncation_everywhere(void)
{
    size_t size;
    uint8_t *full = make_file(reference_json_1, strlen(reference_json_1), 19, &size);
    int wrong = 0;
    for (size_t cut = 0; cut < size; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, full, cut);
        safetensors_file_t file;
        saraphis_status_t status = safetensors_parse(copy, cut, cut, "m.safetensors", &file);
        if (status != SARAPHIS_ERROR_TRUNCATED || !strstr(saraphis_last_error(), "m.safetensors"))
            wrong++;
        if (status == SARAPHIS_OK) safetensors_file_free(&file);
        free(copy);
    }
    CHECK_MSG(wrong == 0, "%d of %zu file truncations not TRUNCATED", wrong, size);
    free(full);

    size_t json_length = strlen(reference_json_1) - 2; /* without the padding spaces */
    wrong = 0;
    for (size_t cut = 0; cut < json_length; cut++) {
        uint8_t *file = make_file(reference_json_1, cut, 19, &size);
        safetensors_file_t parsed;
        saraphis_status_t status = safetensors_parse(file, size, size, "m.safetensors", &parsed);
        if (status != SARAPHIS_ERROR_BAD_INPUT_FORMAT || !strstr(saraphis_last_error(), "byte "))
            wrong++;
        if (status == SARAPHIS_OK) safetensors_file_free(&parsed);
        free(file);
    }
    CHECK_MSG(wrong == 0, "%d of %zu JSON truncations not BAD_INPUT_FORMAT", wrong, json_length);

    /* NUL padding is not JSON whitespace. */
    uint8_t *file = make_file("{}\0\0\0\0\0\0", 8, 0, &size);
    safetensors_file_t parsed;
    CHECK_MSG(safetensors_parse(file, size, size, "m.safetensors", &parsed) ==
                  SARAPHIS_ERROR_BAD_INPUT_FORMAT &&
              strstr(saraphis_last_error(), "byte 10: expected end of input"),
          "NUL padding: %s", saraphis_last_error());
    free(file);
}

static void test_builder(void)
{
    safetensors_tensor_t tensors[2];
    memset(tensors, 0, sizeof tensors);
    tensors[0].name = "b";
    tensors[0].dtype = SARAPHIS_DTYPE_F32;
    tensors[0].ndim = 2;
    tensors[0].shape[0] = tensors[0].shape[1] = 2;
    tensors[1].name = "a";
    tensors[1].dtype = SARAPHIS_DTYPE_I8;
    tensors[1].ndim = 1;
    tensors[1].shape[0] = 3;
    safetensors_metadata_t metadata = {"format", "np"};
    uint8_t *bytes = NULL;
    size_t size = 0;
    saraphis_status_t status = safetensors_build_header(tensors, 2, &metadata, 1, &bytes, &size);
    size_t ref_size;
    uint8_t *reference = make_file(reference_json_1, strlen(reference_json_1), 0, &ref_size);
    CHECK_MSG(status == SARAPHIS_OK && size == ref_size && memcmp(bytes, reference, size) == 0,
          "builder matches the reference byte for byte: %s", saraphis_last_error());
    CHECK_MSG(tensors[0].begin == 0 && tensors[0].end == 16 && tensors[1].begin == 16 &&
              tensors[1].end == 19,
          "offsets assigned");
    free(reference);
    free(bytes);

    memset(tensors, 0, sizeof tensors);
    tensors[0].name = "x";
    tensors[0].dtype = SARAPHIS_DTYPE_F32;
    tensors[0].ndim = 1;
    tensors[1].name = "y";
    tensors[1].dtype = SARAPHIS_DTYPE_F16;
    tensors[1].ndim = 1;
    tensors[1].shape[0] = 1;
    status = safetensors_build_header(tensors, 2, NULL, 0, &bytes, &size);
    reference = make_file(reference_json_2, strlen(reference_json_2), 0, &ref_size);
    CHECK_MSG(status == SARAPHIS_OK && size == ref_size && memcmp(bytes, reference, size) == 0,
          "builder matches reference 2");
    free(reference);
    free(bytes);

    /* Names that need escaping survive a build -> parse round trip. */
    memset(tensors, 0, sizeof tensors);
    tensors[0].name = "we\"ird\\na\xc3\xa9me\n\x01";
    tensors[0].dtype = SARAPHIS_DTYPE_BF16;
    tensors[0].ndim = 3;
    tensors[0].shape[0] = 2;
    tensors[0].shape[1] = 3;
    tensors[0].shape[2] = 5;
    tensors[1].name = "";
    tensors[1].dtype = SARAPHIS_DTYPE_BOOL;
    safetensors_metadata_t pairs[2] = {{"k\"", "v\n"}, {"empty", ""}};
    status = safetensors_build_header(tensors, 2, pairs, 2, &bytes, &size);
    CHECK_MSG(status == SARAPHIS_OK && size % 8 == 0, "build with odd names: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) {
        uint8_t *file = malloc(size + 61);
        memcpy(file, bytes, size);
        memset(file + size, 0, 61);
        safetensors_file_t parsed;
        status = safetensors_parse(file, size + 61, size + 61, "built", &parsed);
        CHECK_MSG(status == SARAPHIS_OK && parsed.tensor_count == 2 &&
                  strcmp(parsed.tensors[0].name, tensors[0].name) == 0 &&
                  parsed.tensors[0].end == 60 && strcmp(parsed.tensors[1].name, "") == 0 &&
                  parsed.tensors[1].begin == 60 && parsed.tensors[1].end == 61 && parsed.tiled &&
                  parsed.metadata_count == 2 && strcmp(parsed.metadata[0].value, "v\n") == 0,
              "built header parses back: %s", saraphis_last_error());
        if (status == SARAPHIS_OK) safetensors_file_free(&parsed);
        free(file);
        free(bytes);
    }

    status = safetensors_build_header(NULL, 0, NULL, 0, &bytes, &size);
    CHECK_MSG(status == SARAPHIS_OK && size == 16 && memcmp(bytes + 8, "{}      ", 8) == 0 && bytes[0] == 8,
          "empty build");
    if (status == SARAPHIS_OK) free(bytes);

    /* Refusals. */
    memset(tensors, 0, sizeof tensors);
    tensors[0].name = "same";
    tensors[0].dtype = SARAPHIS_DTYPE_U8;
    tensors[1].name = "same";
    tensors[1].dtype = SARAPHIS_DTYPE_U8;
    CHECK_MSG(safetensors_build_header(tensors, 2, NULL, 0, &bytes, &size) ==
                  SARAPHIS_ERROR_INVALID_ARGUMENT &&
              strstr(saraphis_last_error(), "duplicate tensor name 'same'") && bytes == NULL,
          "duplicate names: %s", saraphis_last_error());
    tensors[1].name = "__metadata__";
    CHECK_MSG(safetensors_build_header(tensors, 2, NULL, 0, &bytes, &size) ==
              SARAPHIS_ERROR_INVALID_ARGUMENT,
          "reserved name");
    tensors[1].name = "bad\xff";
    CHECK_MSG(safetensors_build_header(tensors, 2, NULL, 0, &bytes, &size) ==
              SARAPHIS_ERROR_INVALID_ARGUMENT,
          "invalid UTF-8 name");
    tensors[1].name = "other";
    tensors[1].dtype = SARAPHIS_DTYPE_UNKNOWN;
    CHECK_MSG(safetensors_build_header(tensors, 2, NULL, 0, &bytes, &size) == SARAPHIS_ERROR_DTYPE &&
              strstr(saraphis_last_error(), "tensor 'other': unknown dtype"),
          "unknown dtype");
    tensors[1].dtype = SARAPHIS_DTYPE_U8;
    tensors[1].ndim = 17;
    CHECK_MSG(safetensors_build_header(tensors, 2, NULL, 0, &bytes, &size) == SARAPHIS_ERROR_LIMIT,
          "17 dims");
    tensors[1].ndim = 2;
    tensors[1].shape[0] = UINT64_MAX;
    tensors[1].shape[1] = 2;
    CHECK_MSG(safetensors_build_header(tensors, 2, NULL, 0, &bytes, &size) == SARAPHIS_ERROR_LIMIT,
          "element overflow");
    tensors[0].shape[0] = 1;
    tensors[0].ndim = 1;
    tensors[1].ndim = 1;
    CHECK_MSG(safetensors_build_header(tensors, 2, NULL, 0, &bytes, &size) == SARAPHIS_ERROR_LIMIT &&
              strstr(saraphis_last_error(), "offsets overflow"),
          "offset overflow: %s", saraphis_last_error());
    safetensors_metadata_t duplicate[2] = {{"k", "1"}, {"k", "2"}};
    CHECK_MSG(safetensors_build_header(NULL, 0, duplicate, 2, &bytes, &size) ==
                  SARAPHIS_ERROR_INVALID_ARGUMENT &&
              strstr(saraphis_last_error(), "duplicate metadata key 'k'"),
          "duplicate metadata");
    CHECK_MSG(safetensors_build_header(NULL, 0, NULL, 0, NULL, &size) == SARAPHIS_ERROR_INVALID_ARGUMENT,
          "NULL output");
}

int main(void)
{
    test_reference_files();
    test_valid_variants();
    test_header_length();
    test_bad_entries();
    test_truncation_everywhere();
    test_builder();
    return TEST_SUMMARY("safetensors");
}
