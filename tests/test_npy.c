/* Tests for container/npy: headers written by NumPy 2.4 (and ml_dtypes for bfloat16/float8),
 * byte-identical rebuilding, every refusal with its exact status and a message naming the file
 * and key, and truncation at every byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "container/npy.h"
#include "testing.h"

/* Generated with np.save / numpy.lib.format.write_array; the headers are copied verbatim. */
static const struct {
    const char *label;
    const char *header;
    size_t header_size;
    saraphis_dtype_t dtype;
    uint32_t ndim;
    uint64_t shape[SARAPHIS_MAX_DIMS];
    uint64_t data_size;
    bool fortran;
    int major;
} reference_files[] = {
    {"f32_3x4",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }                                                          \n",
     128, SARAPHIS_DTYPE_F32, 2, {3, 4}, 48, false, 1},
    {"f64_scalar",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '<f8', 'fortran_order': False, 'shape': (), }                                                              \n",
     128, SARAPHIS_DTYPE_F64, 0, {0}, 8, false, 1},
    {"u8_5",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }                                                            \n",
     128, SARAPHIS_DTYPE_U8, 1, {5}, 5, false, 1},
    {"bf16_2x3",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '<V2', 'fortran_order': False, 'shape': (2, 3), }                                                          \n",
     128, SARAPHIS_DTYPE_BF16, 2, {2, 3}, 12, false, 1},
    {"f8_2",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '<V1', 'fortran_order': False, 'shape': (2,), }                                                            \n",
     128, SARAPHIS_DTYPE_F8_E4M3, 1, {2}, 2, false, 1},
    {"bool_2x2",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }                                                          \n",
     128, SARAPHIS_DTYPE_BOOL, 2, {2, 2}, 4, false, 1},
    {"u8_0xbig",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 16777215), }                                                   \n",
     128, SARAPHIS_DTYPE_U8, 2, {0, 16777215}, 0, false, 1},
    {"i64_16d",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "\xb6"
    "\x00"
    "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }                                                                                \n",
     192, SARAPHIS_DTYPE_I64, 16, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 8, false, 1},
    {"u16_123456x2",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '<u2', 'fortran_order': False, 'shape': (123456, 2), }                                                     \n",
     128, SARAPHIS_DTYPE_U16, 2, {123456, 2}, 493824, false, 1},
    {"i2_fortran",
     "\x93"
    "NUMPY\x01"
    "\x00"
    "v\x00"
    "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }                                                           \n",
     128, SARAPHIS_DTYPE_I16, 2, {2, 3}, 12, true, 1},
    {"f32_v2",
     "\x93"
    "NUMPY\x02"
    "\x00"
    "t\x00"
    "\x00"
    "\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }                                                          \n",
     128, SARAPHIS_DTYPE_F32, 1, {2}, 8, false, 2},
    {"f32_v3",
     "\x93"
    "NUMPY\x03"
    "\x00"
    "t\x00"
    "\x00"
    "\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }                                                          \n",
     128, SARAPHIS_DTYPE_F32, 1, {2}, 8, false, 3},
};

#define REFERENCE_COUNT (sizeof reference_files / sizeof reference_files[0])

static uint8_t *with_data(const uint8_t *header, size_t header_size, uint64_t data_size,
                          size_t *size)
{
    *size = header_size + (size_t)data_size;
    uint8_t *file = malloc(*size ? *size : 1);
    memcpy(file, header, header_size);
    for (size_t i = header_size; i < *size; i++) file[i] = (uint8_t)(i * 13);
    return file;
}

/* A file with the given dict text (the length field says exactly strlen(dict)). */
static uint8_t *make_npy(const char *dict, int major, uint64_t data_size, size_t *size)
{
    size_t dict_length = strlen(dict);
    size_t length_bytes = major == 1 ? 2 : 4;
    size_t header_size = 8 + length_bytes + dict_length;
    uint8_t header[4096];
    memcpy(header, "\x93NUMPY", 6);
    header[6] = (uint8_t)major;
    header[7] = 0;
    for (size_t i = 0; i < length_bytes; i++) header[8 + i] = (uint8_t)(dict_length >> (8 * i));
    memcpy(header + 8 + length_bytes, dict, dict_length);
    return with_data(header, header_size, data_size, size);
}

static saraphis_status_t parse_dict(const char *dict, uint64_t data_size,
                                    const npy_options_t *options, npy_file_t *out)
{
    size_t size;
    uint8_t *file = make_npy(dict, 1, data_size, &size);
    saraphis_status_t status = npy_parse_ex(file, size, size, options, "a.npy", out);
    free(file);
    return status;
}

static void expect_error(int line, const char *dict, uint64_t data_size,
                         const npy_options_t *options, saraphis_status_t want, const char *needle,
                         const char *needle2)
{
    npy_file_t file;
    memset(&file, 0xab, sizeof file);
    saraphis_status_t got = parse_dict(dict, data_size, options, &file);
    const char *message = saraphis_last_error();
    CHECK_MSG(got == want && file.header_bytes == NULL && strstr(message, "a.npy") &&
              (!needle || strstr(message, needle)) && (!needle2 || strstr(message, needle2)),
          "line %d: %s: want %s with '%s' '%s', got %s: %s", line, dict, saraphis_status_name(want),
          needle ? needle : "", needle2 ? needle2 : "", saraphis_status_name(got), message);
    if (got == SARAPHIS_OK) npy_file_free(&file);
}
#define EXPECT_ERROR(dict, data_size, want, needle, needle2) \
    expect_error(__LINE__, dict, data_size, NULL, want, needle, needle2)
#define EXPECT_BAD(dict, data_size, needle, needle2) \
    EXPECT_ERROR(dict, data_size, SARAPHIS_ERROR_BAD_INPUT_FORMAT, needle, needle2)

static void test_reference_files(void)
{
    for (size_t r = 0; r < REFERENCE_COUNT; r++) {
        const uint8_t *header = (const uint8_t *)reference_files[r].header;
        size_t header_size = reference_files[r].header_size;
        size_t size;
        uint8_t *file = with_data(header, header_size, reference_files[r].data_size, &size);
        uint64_t need = 0;
        CHECK_MSG(npy_header_size(file, NPY_PROBE_BYTES, size, "a.npy", &need) == SARAPHIS_OK &&
                  need == header_size,
              "%s: header size %llu", reference_files[r].label, (unsigned long long)need);
        npy_options_t options = {SARAPHIS_DTYPE_UNKNOWN, reference_files[r].fortran};
        saraphis_dtype_t dtype = reference_files[r].dtype;
        /* The file alone cannot say raw '<V2' bytes are bfloat16: the caller does. */
        if (dtype == SARAPHIS_DTYPE_BF16 || dtype == SARAPHIS_DTYPE_F8_E4M3)
            options.dtype_override = dtype;
        npy_file_t parsed;
        saraphis_status_t status = npy_parse_ex(file, size, size, &options, "a.npy", &parsed);
        CHECK_MSG(status == SARAPHIS_OK, "%s parses: %s", reference_files[r].label, saraphis_last_error());
        if (status == SARAPHIS_OK) {
            bool same_shape = parsed.ndim == reference_files[r].ndim;
            for (uint32_t d = 0; same_shape && d < parsed.ndim; d++)
                same_shape = parsed.shape[d] == reference_files[r].shape[d];
            CHECK_MSG(parsed.dtype == dtype && same_shape &&
                      parsed.data_size == reference_files[r].data_size &&
                      parsed.header_size == header_size && parsed.data_offset == header_size &&
                      parsed.fortran_order == reference_files[r].fortran &&
                      parsed.major_version == reference_files[r].major &&
                      memcmp(parsed.header_bytes, header, header_size) == 0,
                  "%s fields", reference_files[r].label);
            npy_file_free(&parsed);
        }
        if (options.dtype_override != SARAPHIS_DTYPE_UNKNOWN) {
            status = npy_parse(file, size, size, "a.npy", &parsed);
            CHECK_MSG(status == SARAPHIS_ERROR_DTYPE && strstr(saraphis_last_error(), "key 'descr'") &&
                      strstr(saraphis_last_error(), "<V"),
                  "%s without override: %s", reference_files[r].label, saraphis_last_error());
        }
        if (reference_files[r].fortran) {
            status = npy_parse(file, size, size, "a.npy", &parsed);
            CHECK_MSG(status == SARAPHIS_ERROR_UNSUPPORTED &&
                      strstr(saraphis_last_error(), "a.npy: key 'fortran_order'"),
                  "Fortran order refused by default: %s", saraphis_last_error());
        }
        /* Our builder writes what NumPy writes (version 1.0, C order). */
        if (!reference_files[r].fortran && reference_files[r].major == 1) {
            uint8_t *built = NULL;
            size_t built_size = 0;
            status = npy_build_header(dtype, reference_files[r].ndim, reference_files[r].shape,
                                      &built, &built_size);
            CHECK_MSG(status == SARAPHIS_OK && built_size == header_size &&
                      memcmp(built, header, header_size) == 0,
                  "%s: builder output differs from NumPy's", reference_files[r].label);
            free(built);
        }
        free(file);
    }
}

static void test_valid_variants(void)
{
    npy_file_t file;
    saraphis_status_t status =
        parse_dict("{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<i4\"}", 8, NULL, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.dtype == SARAPHIS_DTYPE_I32 && file.ndim == 1 &&
              file.shape[0] == 2 && strcmp(file.descr, "<i4") == 0,
          "double quotes, other key order, no trailing comma or padding: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) npy_file_free(&file);

    status = parse_dict("  {'descr':'<u4','fortran_order':False,'shape':( 3L , 2L , ),}\t\r\n", 24,
                        NULL, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.dtype == SARAPHIS_DTYPE_U32 && file.ndim == 2 &&
              file.shape[0] == 3 && file.shape[1] == 2,
          "Python 2 longs, spaces, trailing commas: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) npy_file_free(&file);

    /* Every descr NumPy writes for our dtypes, and the other spellings of one-byte types. */
    static const struct {
        const char *descr;
        saraphis_dtype_t dtype;
    } descrs[] = {
        {"<f2", SARAPHIS_DTYPE_F16}, {"<f4", SARAPHIS_DTYPE_F32}, {"<f8", SARAPHIS_DTYPE_F64},
        {"|i1", SARAPHIS_DTYPE_I8},  {"|u1", SARAPHIS_DTYPE_U8},  {"<i2", SARAPHIS_DTYPE_I16},
        {"<u2", SARAPHIS_DTYPE_U16}, {"<i4", SARAPHIS_DTYPE_I32}, {"<u4", SARAPHIS_DTYPE_U32},
        {"<i8", SARAPHIS_DTYPE_I64}, {"<u8", SARAPHIS_DTYPE_U64}, {"|b1", SARAPHIS_DTYPE_BOOL},
        {"<u1", SARAPHIS_DTYPE_U8},  {">i1", SARAPHIS_DTYPE_I8},  {"=b1", SARAPHIS_DTYPE_BOOL},
    };
    for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (5,), }",
                 descrs[i].descr);
        status = parse_dict(dict, 5 * saraphis_dtype_size(descrs[i].dtype), NULL, &file);
        CHECK_MSG(status == SARAPHIS_OK && file.dtype == descrs[i].dtype && file.element_count == 5,
              "descr %s: %s", descrs[i].descr, saraphis_last_error());
        if (status == SARAPHIS_OK) npy_file_free(&file);
    }

    /* An override relabels same-size items: BF16 bits saved as uint16. */
    npy_options_t options = {SARAPHIS_DTYPE_BF16, false};
    status = parse_dict("{'descr': '<u2', 'fortran_order': False, 'shape': (4,), }", 8, &options, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.dtype == SARAPHIS_DTYPE_BF16, "override <u2 as BF16");
    if (status == SARAPHIS_OK) npy_file_free(&file);
    status = parse_dict("{'descr': '|V2', 'fortran_order': False, 'shape': (4,), }", 8, &options, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.dtype == SARAPHIS_DTYPE_BF16, "|V2 with override");
    if (status == SARAPHIS_OK) npy_file_free(&file);

    /* Any zero dimension empties the array, however large the others. */
    status = parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, "
                        "18446744073709551615, 0), }",
                        0, NULL, &file);
    CHECK_MSG(status == SARAPHIS_OK && file.element_count == 0 && file.data_size == 0,
          "empty array with huge dims: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) npy_file_free(&file);

    /* Version 2.0 and 3.0 length fields. */
    size_t size;
    uint8_t *bytes = make_npy("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }\n", 3, 6, &size);
    status = npy_parse(bytes, size, size, "a.npy", &file);
    CHECK_MSG(status == SARAPHIS_OK && file.major_version == 3 && file.header_size == 12 + 58 &&
              file.dtype == SARAPHIS_DTYPE_F16,
          "version 3.0: %s", saraphis_last_error());
    if (status == SARAPHIS_OK) npy_file_free(&file);
    free(bytes);
}

static void test_header_size(void)
{
    uint8_t bytes[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0x10, 0x00, 0, 0};
    uint64_t need = 0;
    CHECK_MSG(npy_header_size(bytes, 12, 26, "a.npy", &need) == SARAPHIS_OK && need == 26, "v1 size");
    CHECK_MSG(npy_header_size(bytes, 12, 25, "a.npy", &need) == SARAPHIS_ERROR_TRUNCATED &&
              strstr(saraphis_last_error(), "a.npy: byte 8: header length 16 runs past the end"),
          "header beyond the file: %s", saraphis_last_error());
    CHECK_MSG(npy_header_size(bytes, 9, 9, "a.npy", &need) == SARAPHIS_ERROR_TRUNCATED, "9-byte file");
    CHECK_MSG(npy_header_size(bytes, 3, 3, "a.npy", &need) == SARAPHIS_ERROR_TRUNCATED,
          "3-byte file with a matching magic prefix");
    CHECK_MSG(npy_header_size(bytes, 0, 0, "a.npy", &need) == SARAPHIS_ERROR_TRUNCATED, "empty file");
    CHECK_MSG(npy_header_size(bytes, 8, 100, "a.npy", &need) == SARAPHIS_ERROR_INVALID_ARGUMENT,
          "probe shorter than the length field");
    bytes[1] = 'n';
    CHECK_MSG(npy_header_size(bytes, 12, 100, "a.npy", &need) == SARAPHIS_ERROR_BAD_INPUT_FORMAT &&
              strstr(saraphis_last_error(), "a.npy: byte 0: expected the magic"),
          "bad magic: %s", saraphis_last_error());
    CHECK_MSG(npy_header_size((const uint8_t *)"PK\x03\x04", 4, 4, "a.npy", &need) ==
              SARAPHIS_ERROR_BAD_INPUT_FORMAT,
          "a .npz is not a .npy");
    bytes[1] = 'N';
    bytes[6] = 4;
    CHECK_MSG(npy_header_size(bytes, 12, 100, "a.npy", &need) == SARAPHIS_ERROR_UNSUPPORTED &&
              strstr(saraphis_last_error(), "version 4.0"),
          "version 4.0: %s", saraphis_last_error());
    bytes[6] = 1;
    bytes[7] = 1;
    CHECK_MSG(npy_header_size(bytes, 12, 100, "a.npy", &need) == SARAPHIS_ERROR_UNSUPPORTED,
          "version 1.1");
    bytes[6] = 0;
    bytes[7] = 0;
    CHECK_MSG(npy_header_size(bytes, 12, 100, "a.npy", &need) == SARAPHIS_ERROR_UNSUPPORTED,
          "version 0.0");
    bytes[6] = 2;
    bytes[8] = 0x01;
    bytes[9] = 0x00;
    bytes[10] = 0x10;
    bytes[11] = 0x00;
    CHECK_MSG(npy_header_size(bytes, 12, UINT64_MAX, "a.npy", &need) == SARAPHIS_ERROR_LIMIT &&
              strstr(saraphis_last_error(), "exceeds the limit"),
          "v2 header over 1 MiB: %s", saraphis_last_error());
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    CHECK_MSG(npy_header_size(bytes, 12, UINT64_MAX, "a.npy", &need) == SARAPHIS_ERROR_LIMIT,
          "v2 header of 4 GiB");
    bytes[10] = 0x01;
    bytes[11] = 0x00;
    CHECK_MSG(npy_header_size(bytes, 12, 12 + 65537, "a.npy", &need) == SARAPHIS_OK && need == 12 + 65537,
          "v2 header over 64 KiB is fine");

    size_t size;
    uint8_t *file = make_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", 1, 1, &size);
    npy_file_t parsed;
    CHECK_MSG(npy_parse(file, 20, size, "a.npy", &parsed) == SARAPHIS_ERROR_INVALID_ARGUMENT,
          "prefix shorter than the header");
    free(file);
}

static void test_bad_headers(void)
{
    EXPECT_ERROR("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8,
                 SARAPHIS_ERROR_UNSUPPORTED, "key 'descr': big-endian dtype '>f4'", "byte 20");
    EXPECT_ERROR("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", 8,
                 SARAPHIS_ERROR_UNSUPPORTED, "native byte order", NULL);
    EXPECT_ERROR("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16,
                 SARAPHIS_ERROR_DTYPE, "key 'descr': '<c8' has no Saraphis dtype", NULL);
    EXPECT_ERROR("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16,
                 SARAPHIS_ERROR_DTYPE, "'|O'", NULL);
    EXPECT_ERROR("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,), }", 16,
                 SARAPHIS_ERROR_DTYPE, "'<M8[ns]'", NULL);
    EXPECT_ERROR("{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", 8,
                 SARAPHIS_ERROR_DTYPE, "'|f4'", NULL);
    EXPECT_ERROR("{'descr': '', 'fortran_order': False, 'shape': (2,), }", 8, SARAPHIS_ERROR_DTYPE,
                 "key 'descr'", NULL);
    EXPECT_ERROR("{'descr': '<V', 'fortran_order': False, 'shape': (2,), }", 8, SARAPHIS_ERROR_DTYPE,
                 "key 'descr'", NULL);
    EXPECT_ERROR("{'descr': '<Vx2', 'fortran_order': False, 'shape': (2,), }", 8,
                 SARAPHIS_ERROR_DTYPE, "key 'descr'", NULL);
    EXPECT_ERROR("{'descr': '<f4xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'fortran_order': "
                 "False, 'shape': (2,), }",
                 8, SARAPHIS_ERROR_DTYPE, "key 'descr'", NULL);
    EXPECT_ERROR("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
                 SARAPHIS_ERROR_UNSUPPORTED, "key 'descr': structured dtypes", NULL);
    EXPECT_ERROR("{'descr': '<V2', 'fortran_order': False, 'shape': (2,), }", 4,
                 SARAPHIS_ERROR_DTYPE, "'<V2' is raw 2-byte items", "bfloat16");
    npy_options_t wrong_size = {SARAPHIS_DTYPE_F32, false};
    expect_error(__LINE__, "{'descr': '<V2', 'fortran_order': False, 'shape': (2,), }", 4,
                 &wrong_size, SARAPHIS_ERROR_INVALID_ARGUMENT, "override F32 has 4", NULL);
    expect_error(__LINE__, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16,
                 &wrong_size, SARAPHIS_ERROR_INVALID_ARGUMENT, "8-byte items", NULL);
    EXPECT_ERROR("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8,
                 SARAPHIS_ERROR_UNSUPPORTED, "key 'fortran_order': Fortran-order", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", 8,
               "byte 44: expected True or False for 'fortran_order'", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,), }", 8,
               "expected True or False", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, }", 8, "missing key 'shape'", "byte 10");
    EXPECT_BAD("{'fortran_order': False, 'shape': (2,)}", 8, "missing key 'descr'", NULL);
    EXPECT_BAD("{'descr': '<f4', 'shape': (2,)}", 8, "missing key 'fortran_order'", NULL);
    EXPECT_BAD("{}", 8, "missing key 'descr'", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 8,
               "unexpected key 'extra'", "byte 66");
    EXPECT_BAD("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8,
               "duplicate key 'descr'", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", 8,
               "expected ',' in a one-element 'shape' tuple", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", 8,
               "expected '(' to open the 'shape' tuple", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", 8,
               "expected a non-negative integer in 'shape'", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", 8,
               "expected a non-negative integer", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}", 8,
               "expected a non-negative integer", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", 8,
               "expected ',' or ')' in 'shape'", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (02,)}", 8, "leading zeros", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}", 8, "expected ',' or ')'",
               NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,)}", 8,
               "key 'shape': dimension overflows", NULL);
    EXPECT_ERROR("{'descr': '<f4', 'fortran_order': False, 'shape': "
                 "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}",
                 4, SARAPHIS_ERROR_LIMIT, "key 'shape': more than 16 dimensions", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2)}", 0,
               "key 'shape': element count overflows", NULL);
    EXPECT_BAD("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,)}", 0,
               "byte size overflows", NULL);
    EXPECT_ERROR("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 47,
                 SARAPHIS_ERROR_TRUNCATED, "a.npy: key 'shape': 12 elements of '<f4' need 48 bytes",
                 "holds 47");
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 49,
               "a.npy: key 'shape'", "1 bytes too many");
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': (), } x", 4,
               "expected only spaces", NULL);
    EXPECT_BAD("{'descr': '<f4' 'fortran_order': False, 'shape': ()}", 4, "expected ',' or '}'", NULL);
    EXPECT_BAD("{'descr' '<f4', 'fortran_order': False, 'shape': ()}", 4, "expected ':'", NULL);
    EXPECT_BAD("{descr: '<f4', 'fortran_order': False, 'shape': ()}", 4, "expected a quoted key", NULL);
    EXPECT_BAD("{'descr': <f4, 'fortran_order': False, 'shape': ()}", 4, "expected a quoted dtype",
               NULL);
    EXPECT_BAD("{'descr': '<f4\\x', 'fortran_order': False, 'shape': ()}", 4, "no escapes", NULL);
    EXPECT_BAD("{'descr\": '<f4', 'fortran_order': False, 'shape': ()}", 4, NULL, NULL);
    EXPECT_BAD("['descr', '<f4']", 4, "byte 10: expected '{'", NULL);
    EXPECT_BAD("\n{'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4, "expected '{'", NULL);
    EXPECT_BAD("{'descr': '<f4', 'fortran_order': False, 'shape': ()", 4, "expected ',' or '}'",
               "end of header");
    EXPECT_BAD("", 4, "expected '{'", NULL);

    /* A NUL in the padding is not whitespace. */
    size_t size;
    uint8_t *file = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }  \n", 1, 4, &size);
    file[10 + 55] = '\0';
    npy_file_t parsed;
    CHECK_MSG(npy_parse(file, size, size, "a.npy", &parsed) == SARAPHIS_ERROR_BAD_INPUT_FORMAT &&
                  strstr(saraphis_last_error(), "byte 65: expected only spaces") &&
                  strstr(saraphis_last_error(), "0x00"),
              "NUL padding: %s", saraphis_last_error());
    free(file);
}

static void test_truncation_everywhere(void)
{
    const uint8_t *header = (const uint8_t *)reference_files[0].header;
    size_t size;
    uint8_t *full = with_data(header, reference_files[0].header_size, 48, &size);
    int wrong = 0;
    for (size_t cut = 0; cut < size; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, full, cut);
        npy_file_t parsed;
        saraphis_status_t status = npy_parse(copy, cut, cut, "a.npy", &parsed);
        if (status != SARAPHIS_ERROR_TRUNCATED || !strstr(saraphis_last_error(), "a.npy")) wrong++;
        if (status == SARAPHIS_OK) npy_file_free(&parsed);
        free(copy);
    }
    CHECK_MSG(wrong == 0, "%d of %zu file truncations not TRUNCATED", wrong, size);
    free(full);

    /* The dict cut at every byte, with the length field matching the cut. */
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    size_t dict_length = strlen(dict);
    wrong = 0;
    for (size_t cut = 0; cut < dict_length - 2; cut++) {
        char partial[128];
        memcpy(partial, dict, cut);
        partial[cut] = '\0';
        npy_file_t parsed;
        saraphis_status_t status = parse_dict(partial, 48, NULL, &parsed);
        if (status != SARAPHIS_ERROR_BAD_INPUT_FORMAT || !strstr(saraphis_last_error(), "byte ")) {
            wrong++;
            fprintf(stderr, "cut %zu: %s\n", cut, saraphis_last_error());
        }
        if (status == SARAPHIS_OK) npy_file_free(&parsed);
    }
    CHECK_MSG(wrong == 0, "%d of %zu dict truncations not BAD_INPUT_FORMAT", wrong, dict_length - 2);
}

static void test_builder(void)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    uint64_t shape[2] = {7, 9};
    CHECK_MSG(npy_build_header(SARAPHIS_DTYPE_UNKNOWN, 1, shape, &bytes, &size) == SARAPHIS_ERROR_DTYPE &&
              bytes == NULL,
          "unknown dtype");
    CHECK_MSG(npy_build_header(SARAPHIS_DTYPE_F32, 17, shape, &bytes, &size) == SARAPHIS_ERROR_LIMIT,
          "17 dims");
    CHECK_MSG(npy_build_header(SARAPHIS_DTYPE_F32, 1, NULL, &bytes, &size) ==
              SARAPHIS_ERROR_INVALID_ARGUMENT,
          "NULL shape");
    /* Every buildable dtype and shape round-trips through the parser, aligned to 64 bytes. */
    int wrong = 0;
    for (int dtype = 1; dtype < SARAPHIS_DTYPE_COUNT_; dtype++) {
        for (uint32_t ndim = 0; ndim <= SARAPHIS_MAX_DIMS; ndim += 5) {
            uint64_t dims[SARAPHIS_MAX_DIMS];
            for (uint32_t d = 0; d < ndim; d++) dims[d] = d == 0 ? 0 : UINT64_MAX - d;
            saraphis_status_t status =
                npy_build_header((saraphis_dtype_t)dtype, ndim, dims, &bytes, &size);
            npy_options_t options = {(saraphis_dtype_t)dtype, false};
            npy_file_t parsed;
            size_t data = ndim ? 0 : saraphis_dtype_size((saraphis_dtype_t)dtype);
            size_t header_size = size;
            uint8_t *file = status == SARAPHIS_OK ? with_data(bytes, header_size, data, &size) : NULL;
            if (status != SARAPHIS_OK || header_size % 64 != 0 || bytes[header_size - 1] != '\n' ||
                npy_parse_ex(file, size, size, &options, "built.npy", &parsed) != SARAPHIS_OK ||
                parsed.ndim != ndim || parsed.dtype != (saraphis_dtype_t)dtype ||
                (ndim > 1 && parsed.shape[1] != dims[1])) {
                wrong++;
                fprintf(stderr, "dtype %d ndim %u: %s\n", dtype, ndim, saraphis_last_error());
            } else {
                npy_file_free(&parsed);
            }
            free(file);
            free(bytes);
        }
    }
    CHECK_MSG(wrong == 0, "%d built headers did not parse back", wrong);
    CHECK_MSG(strcmp(npy_descr_for_dtype(SARAPHIS_DTYPE_BF16), "<V2") == 0 &&
              npy_descr_for_dtype(SARAPHIS_DTYPE_UNKNOWN) == NULL,
          "descr names");
}

int main(void)
{
    test_reference_files();
    test_valid_variants();
    test_header_size();
    test_bad_headers();
    test_truncation_everywhere();
    test_builder();
    return TEST_SUMMARY("npy");
}
