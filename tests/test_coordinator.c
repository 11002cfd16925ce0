/* The coordinator: round trips for every dtype through DLPack tensors (compact and strided),
 * metadata and routing, every error path followed by a successful retry, priorities ordering
 * queued work, the bounded queue, batches, each strategy's settings and the ADAPTIVE rules,
 * the status JSON (parsed and checked field by field), the Prometheus text, and shutdown with
 * work in flight (nothing acknowledged is lost). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "saraphis.h"
#include "system/system.h"
#include "testing.h"

static saraphis_system_t *make_system(const char *const *settings)
{
    saraphis_config_t *config = saraphis_config_create();
    for (size_t i = 0; settings && settings[i]; i += 2)
        if (saraphis_config_set(config, settings[i], settings[i + 1]) != SARAPHIS_OK)
            fprintf(stderr, "set %s: %s\n", settings[i], saraphis_last_error());
    saraphis_system_t *system = NULL;
    saraphis_status_t status = saraphis_system_create(&system, config);
    CHECK_MSG(status == SARAPHIS_OK, "create: %s", saraphis_last_error());
    saraphis_config_free(config);
    return system;
}

static void fill(uint8_t *bytes, size_t size, unsigned long long seed, int smooth)
{
    unsigned long long state = seed | 1;
    for (size_t i = 0; i < size; i++) bytes[i] = (uint8_t)(smooth ? (test_random(&state) & 0x0F) : test_random(&state));
}

static DLTensor host_tensor(void *data, DLDataType dtype, int64_t *shape, int32_t ndim, int64_t *strides)
{
    DLTensor tensor = {data, {kDLCPU, 0}, ndim, dtype, shape, strides, 0};
    return tensor;
}

static json_value_t *status_of(saraphis_system_t *system)
{
    char *text = NULL;
    CHECK(saraphis_system_status_json(system, &text) == SARAPHIS_OK);
    json_value_t *root = NULL;
    CHECK_MSG(text && json_parse(text, strlen(text), &root, "status") == SARAPHIS_OK, "%s", saraphis_last_error());
    free(text);
    return root;
}

static const json_value_t *at(const json_value_t *v, const char *a, const char *b, const char *c)
{
    if (v) v = json_object_get(v, a);
    if (v && b) v = json_object_get(v, b);
    if (v && c) v = json_object_get(v, c);
    return v;
}

static uint64_t uint_at(const json_value_t *root, const char *a, const char *b, const char *c)
{
    uint64_t value = UINT64_MAX;
    const json_value_t *v = at(root, a, b, c);
    CHECK_MSG(v && json_get_uint64(v, &value), "%s.%s.%s missing", a, b ? b : "", c ? c : "");
    return value;
}

static double double_at(const json_value_t *root, const char *a, const char *b, const char *c)
{
    double value = -1;
    const json_value_t *v = at(root, a, b, c);
    CHECK_MSG(v && json_get_double(v, &value), "%s.%s.%s missing", a, b ? b : "", c ? c : "");
    return value;
}

static const char *string_at(const json_value_t *root, const char *a, const char *b, const char *c)
{
    const char *s = json_get_string(at(root, a, b, c), NULL);
    CHECK_MSG(s != NULL, "%s.%s.%s missing", a, b ? b : "", c ? c : "");
    return s ? s : "";
}

/* ---------------------------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------------------------- */
static void test_round_trips(saraphis_system_t *system)
{
    static const struct {
        DLDataType dl;
        saraphis_dtype_t dtype;
    } types[] = {
        {{kDLFloat, 32, 1}, SARAPHIS_DTYPE_F32},   {{kDLFloat, 16, 1}, SARAPHIS_DTYPE_F16},
        {{kDLBfloat, 16, 1}, SARAPHIS_DTYPE_BF16}, {{kDLFloat, 64, 1}, SARAPHIS_DTYPE_F64},
        {{kDLInt, 8, 1}, SARAPHIS_DTYPE_I8},       {{kDLUInt, 8, 1}, SARAPHIS_DTYPE_U8},
        {{kDLInt, 16, 1}, SARAPHIS_DTYPE_I16},     {{kDLUInt, 16, 1}, SARAPHIS_DTYPE_U16},
        {{kDLInt, 32, 1}, SARAPHIS_DTYPE_I32},     {{kDLUInt, 32, 1}, SARAPHIS_DTYPE_U32},
        {{kDLInt, 64, 1}, SARAPHIS_DTYPE_I64},     {{kDLUInt, 64, 1}, SARAPHIS_DTYPE_U64},
        {{kDLBool, 8, 1}, SARAPHIS_DTYPE_BOOL},    {{kDLFloat8_e4m3fn, 8, 1}, SARAPHIS_DTYPE_F8_E4M3},
        {{kDLFloat8_e5m2, 8, 1}, SARAPHIS_DTYPE_F8_E5M2},
    };
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        CHECK(saraphis_dtype_from_dlpack(types[t].dl) == types[t].dtype);
        DLDataType back = saraphis_dtype_to_dlpack(types[t].dtype);
        CHECK(back.code == types[t].dl.code && back.bits == types[t].dl.bits && back.lanes == 1);
        size_t element = saraphis_dtype_size(types[t].dtype);
        int64_t shape[3] = {3, 17, 31 + (int64_t)t};
        size_t bytes = (size_t)(shape[0] * shape[1] * shape[2]) * element;
        uint8_t *data = malloc(bytes);
        fill(data, bytes, 100 + t, t % 2);
        if (types[t].dtype == SARAPHIS_DTYPE_BOOL)
            for (size_t i = 0; i < bytes; i++) data[i] &= 1;
        DLTensor tensor = host_tensor(data, types[t].dl, shape, 3, NULL);
        saraphis_result_t *result = NULL;
        saraphis_status_t status = saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &result);
        CHECK_MSG(status == SARAPHIS_OK, "dtype %zu: %s", t, saraphis_last_error());
        if (status != SARAPHIS_OK) {
            free(data);
            continue;
        }
        CHECK(saraphis_result_raw_size(result) == bytes);
        CHECK(saraphis_result_dtype(result) == types[t].dtype);
        CHECK(saraphis_result_ratio(result) == (double)bytes / (double)saraphis_result_size(result));
        CHECK(saraphis_result_mode(result) == SARAPHIS_MODE_CPU);
        CHECK(strcmp(saraphis_result_codec(result), "lossless") == 0);
        int32_t ndim;
        const int64_t *result_shape;
        saraphis_result_shape(result, &ndim, &result_shape);
        CHECK(ndim == 3 && memcmp(result_shape, shape, sizeof shape) == 0);
        saraphis_timings_t timings;
        saraphis_result_timings(result, &timings);
        CHECK(timings.total_ns >= timings.codec_ns && timings.codec_ns > 0 && timings.gather_ns == 0);
        /* The bytes are a standalone frame. */
        saraphis_frame_info_t info;
        CHECK(saraphis_frame_info(saraphis_result_data(result), saraphis_result_size(result), &info) == SARAPHIS_OK);
        CHECK(info.dtype == types[t].dtype && info.raw_size == bytes);
        /* Decompress to a new tensor, with and without a shape. */
        DLManagedTensor *out = NULL;
        CHECK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                         (DLDevice){kDLCPU, 0}, shape, 3, SARAPHIS_PRIORITY_HIGH, &out) == SARAPHIS_OK);
        CHECK(out && out->dl_tensor.ndim == 3 && out->dl_tensor.shape[2] == shape[2]);
        CHECK(out && out->dl_tensor.dtype.code == types[t].dl.code && out->dl_tensor.strides == NULL);
        CHECK(out && memcmp(out->dl_tensor.data, data, bytes) == 0);
        if (out) out->deleter(out);
        CHECK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                         (DLDevice){kDLCPU, 0}, NULL, 0, SARAPHIS_PRIORITY_LOW, &out) == SARAPHIS_OK);
        CHECK(out && out->dl_tensor.ndim == 1 && (size_t)out->dl_tensor.shape[0] * element == bytes);
        if (out) out->deleter(out);
        /* Into the caller's buffer. */
        uint8_t *into = calloc(1, bytes);
        DLTensor destination = host_tensor(into, types[t].dl, shape, 3, NULL);
        CHECK(saraphis_system_decompress_into(system, saraphis_result_data(result), saraphis_result_size(result),
                                              &destination, SARAPHIS_PRIORITY_IDLE) == SARAPHIS_OK);
        CHECK(memcmp(into, data, bytes) == 0);
        free(into);
        saraphis_result_free(result);
        free(data);
    }
    /* A 0-D tensor and an empty one. */
    float scalar = 3.5f;
    DLTensor zero_d = host_tensor(&scalar, (DLDataType){kDLFloat, 32, 1}, NULL, 0, NULL);
    saraphis_result_t *result = NULL;
    CHECK(saraphis_system_compress(system, &zero_d, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
    CHECK(saraphis_result_raw_size(result) == 4);
    saraphis_result_free(result);
    int64_t empty_shape[2] = {0, 5};
    DLTensor empty = host_tensor(NULL, (DLDataType){kDLFloat, 32, 1}, empty_shape, 2, NULL);
    CHECK_MSG(saraphis_system_compress(system, &empty, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK, "%s",
              saraphis_last_error());
    CHECK(saraphis_result_raw_size(result) == 0);
    DLManagedTensor *out = NULL;
    CHECK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                     (DLDevice){kDLCPU, 0}, empty_shape, 2, SARAPHIS_PRIORITY_MEDIUM, &out) == SARAPHIS_OK);
    if (out) out->deleter(out);
    saraphis_result_free(result);
}

static void test_strided(saraphis_system_t *system)
{
    /* A transposed view of a 40 x 24 row-major float matrix: shape (24, 40), strides (1, 24). */
    enum { ROWS = 40, COLS = 24 };
    float *matrix = malloc(ROWS * COLS * sizeof(float));
    for (int i = 0; i < ROWS * COLS; i++) matrix[i] = (float)i * 0.25f;
    int64_t shape[2] = {COLS, ROWS}, strides[2] = {1, COLS};
    DLTensor view = host_tensor(matrix, (DLDataType){kDLFloat, 32, 1}, shape, 2, strides);
    saraphis_result_t *result = NULL;
    CHECK(saraphis_system_compress(system, &view, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
    saraphis_timings_t timings;
    saraphis_result_timings(result, &timings);
    DLManagedTensor *out = NULL;
    CHECK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                     (DLDevice){kDLCPU, 0}, shape, 2, SARAPHIS_PRIORITY_MEDIUM, &out) == SARAPHIS_OK);
    const float *restored = out ? out->dl_tensor.data : NULL;
    int same = restored != NULL;
    for (int c = 0; same && c < COLS; c++)
        for (int r = 0; r < ROWS; r++)
            if (restored[c * ROWS + r] != matrix[r * COLS + c]) same = 0;
    CHECK_MSG(same, "transposed view gathered in logical row-major order");
    if (out) out->deleter(out);
    /* Scatter into a strided destination: every other element of a larger buffer. */
    float *wide = calloc(2 * ROWS * COLS, sizeof(float));
    for (int i = 0; i < 2 * ROWS * COLS; i++) wide[i] = -1.0f;
    int64_t flat_shape[1] = {ROWS * COLS}, flat_strides[1] = {2};
    DLTensor destination = host_tensor(wide, (DLDataType){kDLFloat, 32, 1}, flat_shape, 1, flat_strides);
    CHECK(saraphis_system_decompress_into(system, saraphis_result_data(result), saraphis_result_size(result), &destination,
                                          SARAPHIS_PRIORITY_MEDIUM) == SARAPHIS_OK);
    same = 1;
    for (int c = 0; c < COLS; c++)
        for (int r = 0; r < ROWS; r++)
            if (wide[2 * (c * ROWS + r)] != matrix[r * COLS + c] || wide[2 * (c * ROWS + r) + 1] != -1.0f) same = 0;
    CHECK_MSG(same, "scattered into every other element, gaps untouched");
    saraphis_result_free(result);
    /* byte_offset, a broadcast (stride 0) input, and size-1 dimensions with odd strides. */
    int64_t b_shape[2] = {8, 16}, b_strides[2] = {0, 1};
    DLTensor broadcast = host_tensor(matrix, (DLDataType){kDLFloat, 32, 1}, b_shape, 2, b_strides);
    broadcast.byte_offset = 16 * sizeof(float);
    CHECK(saraphis_system_compress(system, &broadcast, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
    CHECK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                     (DLDevice){kDLCPU, 0}, b_shape, 2, SARAPHIS_PRIORITY_MEDIUM, &out) == SARAPHIS_OK);
    restored = out ? out->dl_tensor.data : NULL;
    same = restored != NULL;
    for (int i = 0; same && i < 8; i++) same = memcmp(restored + i * 16, matrix + 16, 16 * sizeof(float)) == 0;
    CHECK(same);
    if (out) out->deleter(out);
    saraphis_result_free(result);
    int64_t one_shape[2] = {1, 16}, one_strides[2] = {12345, 1};
    DLTensor ones = host_tensor(matrix, (DLDataType){kDLFloat, 32, 1}, one_shape, 2, one_strides);
    CHECK(saraphis_system_compress(system, &ones, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
    saraphis_result_timings(result, &timings);
    CHECK(timings.gather_ns == 0); /* a stride on an extent of 1 does not make it strided */
    saraphis_result_free(result);
    /* Refused clearly: negative strides; writing through a broadcast. */
    int64_t negative[2] = {-1, COLS};
    DLTensor reversed = host_tensor(matrix, (DLDataType){kDLFloat, 32, 1}, shape, 2, negative);
    CHECK(saraphis_system_compress(system, &reversed, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) ==
          SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "negative") != NULL);
    free(wide);
    free(matrix);
}

/* ---------------------------------------------------------------------------------------------
 * Errors, each followed by the retry that works
 * ------------------------------------------------------------------------------------------- */
static void test_errors_and_retry(saraphis_system_t *system)
{
    float values[256];
    for (int i = 0; i < 256; i++) values[i] = (float)i;
    int64_t shape[1] = {256};
    DLTensor good = host_tensor(values, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
    saraphis_result_t *result = NULL;
    json_value_t *before = status_of(system);
    uint64_t failed_before = uint_at(before, "statistics", "failed_compressions", NULL);
    uint64_t compressions_before = uint_at(before, "statistics", "total_compressions", NULL);
    json_free(before);

    struct {
        DLTensor tensor;
        const char *metadata;
        saraphis_priority_t priority;
        saraphis_status_t expected;
        const char *message;
    } cases[] = {
        {good, "{\"require_gpu\": true}", SARAPHIS_PRIORITY_HIGH, SARAPHIS_ERROR_UNSUPPORTED, "require_gpu"},
        {good, "{\"require_gpu\": true, \"require_cpu\": true}", SARAPHIS_PRIORITY_HIGH, SARAPHIS_ERROR_INVALID_ARGUMENT, "both"},
        {good, "{\"layer\": 1.5}", SARAPHIS_PRIORITY_HIGH, SARAPHIS_ERROR_INVALID_ARGUMENT, "layer"},
        {good, "{\"model_name\": 3}", SARAPHIS_PRIORITY_HIGH, SARAPHIS_ERROR_INVALID_ARGUMENT, "model_name"},
        {good, "{\"size_mb\": -1}", SARAPHIS_PRIORITY_HIGH, SARAPHIS_ERROR_INVALID_ARGUMENT, "size_mb"},
        {good, "{\"require_cpu\": \"yes\"}", SARAPHIS_PRIORITY_HIGH, SARAPHIS_ERROR_INVALID_ARGUMENT, "require_cpu"},
        {good, "[1]", SARAPHIS_PRIORITY_HIGH, SARAPHIS_ERROR_INVALID_ARGUMENT, "object"},
        {good, "{\"a\": }", SARAPHIS_PRIORITY_HIGH, SARAPHIS_ERROR_INVALID_ARGUMENT, "metadata"},
        {good, NULL, (saraphis_priority_t)7, SARAPHIS_ERROR_INVALID_ARGUMENT, "priority"},
    };
    size_t case_count = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < case_count; i++) {
        saraphis_status_t status = saraphis_system_compress(system, &cases[i].tensor, cases[i].priority, cases[i].metadata, &result);
        CHECK_MSG(status == cases[i].expected, "case %zu: %s (%s)", i, saraphis_status_name(status), saraphis_last_error());
        CHECK_MSG(strstr(saraphis_last_error(), cases[i].message) != NULL, "case %zu: '%s'", i, saraphis_last_error());
        CHECK(result == NULL);
        /* Retry the same tensor, corrected: works. */
        CHECK(saraphis_system_compress(system, &cases[i].tensor, SARAPHIS_PRIORITY_HIGH, "{\"layer\": 3}", &result) == SARAPHIS_OK);
        saraphis_result_free(result);
        result = NULL;
    }
    /* Tensor-level refusals. */
    int64_t big_shape[17] = {1};
    for (int i = 0; i < 17; i++) big_shape[i] = 1;
    DLTensor tensors[6];
    saraphis_status_t expected[6] = {SARAPHIS_ERROR_UNSUPPORTED, SARAPHIS_ERROR_DTYPE, SARAPHIS_ERROR_LIMIT,
                                     SARAPHIS_ERROR_INVALID_ARGUMENT, SARAPHIS_ERROR_UNSUPPORTED, SARAPHIS_ERROR_DTYPE};
    tensors[0] = good;
    tensors[0].device = (DLDevice){kDLCUDA, 0};
    tensors[1] = good;
    tensors[1].dtype.lanes = 4;
    tensors[2] = host_tensor(values, (DLDataType){kDLFloat, 32, 1}, big_shape, 17, NULL);
    tensors[3] = good;
    tensors[3].data = NULL;
    tensors[4] = good;
    tensors[4].device = (DLDevice){kDLOpenCL, 0};
    tensors[5] = good;
    tensors[5].dtype = (DLDataType){kDLComplex, 64, 1};
    for (int i = 0; i < 6; i++) {
        saraphis_status_t status = saraphis_system_compress(system, &tensors[i], SARAPHIS_PRIORITY_MEDIUM, NULL, &result);
        CHECK_MSG(status == expected[i], "tensor case %d: %s: %s", i, saraphis_status_name(status), saraphis_last_error());
    }
    CHECK(strstr((saraphis_system_compress(system, &tensors[0], SARAPHIS_PRIORITY_MEDIUM, NULL, &result),
                  saraphis_last_error()), "host") != NULL);
    CHECK(saraphis_system_compress(system, NULL, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(saraphis_system_compress(system, &good, SARAPHIS_PRIORITY_MEDIUM, NULL, NULL) == SARAPHIS_ERROR_INVALID_ARGUMENT);

    /* Decompression refusals, then the retry. */
    CHECK(saraphis_system_compress(system, &good, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
    const uint8_t *frame = saraphis_result_data(result);
    size_t size = saraphis_result_size(result);
    DLManagedTensor *out = NULL;
    if (!saraphis_gpu_available()) {
        /* No GPU here: kDLCUDA output is refused, naming why (built without CUDA, or no device). */
        CHECK(saraphis_system_decompress(system, frame, size, (DLDevice){kDLCUDA, 0}, NULL, 0, SARAPHIS_PRIORITY_MEDIUM,
                                         &out) == SARAPHIS_ERROR_UNSUPPORTED);
        CHECK_MSG(strstr(saraphis_last_error(), "kDLCUDA") && strstr(saraphis_last_error(), "no GPU"), "%s",
                  saraphis_last_error());
#ifndef SARAPHIS_WITH_CUDA
        CHECK(strstr(saraphis_last_error(), "built without CUDA") != NULL);
#endif
        CHECK(out == NULL);
        float device_values[64];
        int64_t device_shape[1] = {(int64_t)(saraphis_result_raw_size(result) / 4)};
        DLTensor device_destination = {device_values, {kDLCUDA, 0}, 1, {kDLFloat, 32, 1}, device_shape, NULL, 0};
        CHECK(saraphis_system_decompress_into(system, frame, size, &device_destination, SARAPHIS_PRIORITY_MEDIUM) ==
              SARAPHIS_ERROR_UNSUPPORTED);
        CHECK(strstr(saraphis_last_error(), "decompress_into") && strstr(saraphis_last_error(), "no GPU"));
    } else {
        /* A GPU: the frame is decoded on it into a new device tensor (contents are checked by
         * the GPU programs under tests/gpu/). */
        CHECK_MSG(saraphis_system_decompress(system, frame, size, (DLDevice){kDLCUDA, 0}, NULL, 0,
                                             SARAPHIS_PRIORITY_MEDIUM, &out) == SARAPHIS_OK,
                  "%s", saraphis_last_error());
        if (out) {
            CHECK(out->dl_tensor.device.device_type == kDLCUDA && out->dl_tensor.data != NULL);
            /* ... and decoded again into that device tensor (a contiguous kDLCUDA destination). */
            CHECK_MSG(saraphis_system_decompress_into(system, frame, size, &out->dl_tensor, SARAPHIS_PRIORITY_MEDIUM) ==
                          SARAPHIS_OK,
                      "%s", saraphis_last_error());
            out->deleter(out);
            out = NULL;
        }
    }
    CHECK(saraphis_system_decompress(system, frame, size - 1, (DLDevice){kDLCPU, 0}, NULL, 0, SARAPHIS_PRIORITY_MEDIUM, &out) ==
          SARAPHIS_ERROR_TRUNCATED);
    uint8_t *corrupt = malloc(size);
    memcpy(corrupt, frame, size);
    corrupt[size - 3] ^= 0x40;
    saraphis_status_t status = saraphis_system_decompress(system, corrupt, size, (DLDevice){kDLCPU, 0}, NULL, 0,
                                                          SARAPHIS_PRIORITY_MEDIUM, &out);
    CHECK_MSG(status == SARAPHIS_ERROR_CHECKSUM || status == SARAPHIS_ERROR_CORRUPT, "%s", saraphis_status_name(status));
    CHECK(out == NULL);
    memcpy(corrupt, frame, size);
    corrupt[24] ^= 1; /* header checksum */
    CHECK(saraphis_system_decompress(system, corrupt, size, (DLDevice){kDLCPU, 0}, NULL, 0, SARAPHIS_PRIORITY_MEDIUM, &out) ==
          SARAPHIS_ERROR_CHECKSUM);
    free(corrupt);
    int64_t wrong_shape[2] = {15, 17};
    CHECK(saraphis_system_decompress(system, frame, size, (DLDevice){kDLCPU, 0}, wrong_shape, 2, SARAPHIS_PRIORITY_MEDIUM,
                                     &out) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    int32_t wrong_values[256];
    DLTensor wrong_dtype = host_tensor(wrong_values, (DLDataType){kDLInt, 32, 1}, shape, 1, NULL);
    CHECK(saraphis_system_decompress_into(system, frame, size, &wrong_dtype, SARAPHIS_PRIORITY_MEDIUM) == SARAPHIS_ERROR_DTYPE);
    int64_t short_shape[1] = {255};
    float into[256];
    DLTensor too_short = host_tensor(into, (DLDataType){kDLFloat, 32, 1}, short_shape, 1, NULL);
    CHECK(saraphis_system_decompress_into(system, frame, size, &too_short, SARAPHIS_PRIORITY_MEDIUM) ==
          SARAPHIS_ERROR_INVALID_ARGUMENT);
    int64_t zero_stride[1] = {0};
    DLTensor broadcast_out = host_tensor(into, (DLDataType){kDLFloat, 32, 1}, shape, 1, zero_stride);
    CHECK(saraphis_system_decompress_into(system, frame, size, &broadcast_out, SARAPHIS_PRIORITY_MEDIUM) ==
          SARAPHIS_ERROR_INVALID_ARGUMENT);
    /* The retry: the same frame, a correct call. */
    CHECK(saraphis_system_decompress(system, frame, size, (DLDevice){kDLCPU, 0}, NULL, 0, SARAPHIS_PRIORITY_MEDIUM, &out) ==
          SARAPHIS_OK);
    CHECK(out && memcmp(out->dl_tensor.data, values, sizeof values) == 0);
    if (out) out->deleter(out);
    saraphis_result_free(result);

    /* The status counts them all, by kind. */
    json_value_t *after = status_of(system);
    uint64_t failed_compress = uint_at(after, "statistics", "failed_compressions", NULL) - failed_before;
    CHECK_MSG(failed_compress == case_count + 6 + 1 + 2, "failed compressions %llu", (unsigned long long)failed_compress);
    CHECK(uint_at(after, "statistics", "total_compressions", NULL) - compressions_before == case_count + 1);
    CHECK(uint_at(after, "errors", "by_kind", "unsupported") >= 3);
    CHECK(uint_at(after, "errors", "by_kind", "checksum") >= 1);
    CHECK(uint_at(after, "errors", "by_kind", "dtype") >= 3);
    CHECK(uint_at(after, "errors", "total", NULL) >= failed_compress);
    json_free(after);
}

/* codec = bounded: every finite element within the bound, for each bound mode; integers stay
 * exact (lossless frames); the status reports the codec in use. */
static void test_bounded(void)
{
    static const struct {
        const char *mode, *bound;
    } cases[] = {{"absolute", "0.001"}, {"range", "0.01"}, {"std", "0.05"}};
    enum { N = 50000 };
    float *values = malloc(N * sizeof *values);
    unsigned long long state = 77;
    double lo = 1e300, hi = -1e300, sum = 0, squares = 0;
    for (size_t i = 0; i < N; i++) {
        /* Roughly N(0, 0.02): the sum of four uniforms, scaled; a few outliers. */
        double u = 0;
        for (int k = 0; k < 4; k++) u += (double)(test_random(&state) % 1000000) / 1e6 - 0.5;
        values[i] = (float)(u * 0.035);
        if (i % 9973 == 0) values[i] = (float)(i % 2 ? 3.5 : -2.25);
    }
    for (size_t i = 0; i < N; i++) {
        lo = values[i] < lo ? values[i] : lo;
        hi = values[i] > hi ? values[i] : hi;
        sum += values[i];
    }
    double mean = sum / N;
    for (size_t i = 0; i < N; i++) squares += (values[i] - mean) * (values[i] - mean);
    double deviation = sqrt(squares / N);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *settings[] = {"codec", "bounded", "error_bound", cases[c].bound, "error_bound_mode", cases[c].mode,
                                  "cpu_workers", "1", "enable_memory_pressure", "false", NULL};
        saraphis_system_t *system = make_system(settings);
        if (!system) continue;
        double bound = strtod(cases[c].bound, NULL);
        double eps = c == 0 ? bound : c == 1 ? bound * (hi - lo) : bound * deviation;
        int64_t shape[2] = {N / 100, 100};
        DLTensor tensor = host_tensor(values, (DLDataType){kDLFloat, 32, 1}, shape, 2, NULL);
        saraphis_result_t *result = NULL;
        CHECK_MSG(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_HIGH, NULL, &result) == SARAPHIS_OK, "%s: %s",
                  cases[c].mode, saraphis_last_error());
        if (!result) {
            saraphis_system_free(system);
            continue;
        }
        CHECK_MSG(strcmp(saraphis_result_codec(result), "bounded") == 0, "%s: codec %s", cases[c].mode,
                  saraphis_result_codec(result));
        CHECK(saraphis_result_mode(result) == SARAPHIS_MODE_CPU);
        CHECK_MSG(saraphis_result_ratio(result) > 2.0, "%s: ratio %.2f", cases[c].mode, saraphis_result_ratio(result));
        DLManagedTensor *out = NULL;
        CHECK_MSG(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                             (DLDevice){kDLCPU, 0}, shape, 2, SARAPHIS_PRIORITY_HIGH, &out) == SARAPHIS_OK,
                  "%s", saraphis_last_error());
        if (out) {
            const float *back = out->dl_tensor.data;
            double worst = 0;
            size_t over = 0;
            for (size_t i = 0; i < N; i++) {
                double error = fabs((double)back[i] - (double)values[i]);
                if (error > worst) worst = error;
                if (!(error <= eps)) over++;
            }
            CHECK_MSG(over == 0, "%s: %zu elements beyond eps %g (worst %g)", cases[c].mode, over, eps, worst);
            CHECK_MSG(worst > 0, "%s: a lossy codec that lost nothing?", cases[c].mode);
            out->deleter(out);
        }
        /* decompress_into gives the same values. */
        float *into = malloc(N * sizeof *into);
        DLTensor destination = host_tensor(into, (DLDataType){kDLFloat, 32, 1}, shape, 2, NULL);
        CHECK(saraphis_system_decompress_into(system, saraphis_result_data(result), saraphis_result_size(result),
                                              &destination, SARAPHIS_PRIORITY_MEDIUM) == SARAPHIS_OK);
        size_t over = 0;
        for (size_t i = 0; i < N; i++) over += !(fabs((double)into[i] - (double)values[i]) <= eps);
        CHECK(over == 0);
        free(into);
        /* Bounded frames to the GPU: refused here without a device, like any frame. */
        if (!saraphis_gpu_available()) {
            CHECK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                             (DLDevice){kDLCUDA, 0}, shape, 2, SARAPHIS_PRIORITY_MEDIUM, &out) ==
                  SARAPHIS_ERROR_UNSUPPORTED);
        }
        saraphis_result_free(result);
        /* An integer tensor under codec = bounded: stored losslessly, exact. */
        int32_t integers[1000];
        for (int i = 0; i < 1000; i++) integers[i] = i * 7919 - 3000000;
        int64_t integer_shape[1] = {1000};
        DLTensor integer_tensor = host_tensor(integers, (DLDataType){kDLInt, 32, 1}, integer_shape, 1, NULL);
        CHECK(saraphis_system_compress(system, &integer_tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
        if (result) {
            CHECK_MSG(strcmp(saraphis_result_codec(result), "lossless") == 0, "%s", saraphis_result_codec(result));
            out = NULL;
            CHECK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                             (DLDevice){kDLCPU, 0}, NULL, 0, SARAPHIS_PRIORITY_MEDIUM, &out) == SARAPHIS_OK);
            if (out) {
                CHECK(memcmp(out->dl_tensor.data, integers, sizeof integers) == 0);
                out->deleter(out);
            }
            saraphis_result_free(result);
        }
        /* Status: the bounded codec is built, enabled and active, with the configuration in force. */
        json_value_t *root = status_of(system);
        const json_value_t *component = at(root, "components", "bounded_codec", NULL);
        bool flag = false;
        CHECK(json_get_bool(json_object_get(component, "built"), &flag) && flag);
        CHECK(json_get_bool(json_object_get(component, "enabled"), &flag) && flag);
        CHECK(strcmp(string_at(component, "state", NULL, NULL), "active") == 0);
        CHECK_MSG(strstr(string_at(component, "reason", NULL, NULL), cases[c].mode) &&
                      strstr(string_at(component, "reason", NULL, NULL), "precision 6"),
                  "%s", string_at(component, "reason", NULL, NULL));
        CHECK(double_at(root, "configuration", "error_bound", "value") == bound);
        CHECK(strcmp(string_at(root, "configuration", "error_bound_mode", "value"), cases[c].mode) == 0);
        CHECK(strcmp(string_at(root, "configuration", "codec", "value"), "bounded") == 0);
        CHECK(uint_at(root, "statistics", "decompress_by_mode", "cpu") == 3);
        json_free(root);
        saraphis_system_free(system);
    }
    /* precision 0 (auto) and an explicit precision work too; one the prime cannot use is refused. */
    const char *auto_settings[] = {"codec", "bounded", "precision", "0", "cpu_workers", "1", "enable_memory_pressure",
                                   "false", NULL};
    saraphis_system_t *system = make_system(auto_settings);
    if (system) {
        int64_t shape[1] = {N};
        DLTensor tensor = host_tensor(values, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
        saraphis_result_t *result = NULL;
        CHECK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
        if (result) {
            float *into = malloc(N * sizeof *into);
            DLTensor destination = host_tensor(into, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
            CHECK(saraphis_system_decompress_into(system, saraphis_result_data(result), saraphis_result_size(result),
                                                  &destination, SARAPHIS_PRIORITY_MEDIUM) == SARAPHIS_OK);
            size_t over = 0;
            for (size_t i = 0; i < N; i++) over += !(fabs((double)into[i] - (double)values[i]) <= 1e-3);
            CHECK(over == 0);
            free(into);
            saraphis_result_free(result);
        }
        saraphis_system_free(system);
    }
    saraphis_config_t *config = saraphis_config_create();
    saraphis_config_set(config, "codec", "bounded");
    saraphis_config_set(config, "precision", "12");
    system = NULL;
    CHECK(saraphis_system_create(&system, config) == SARAPHIS_ERROR_INVALID_ARGUMENT && system == NULL);
    CHECK(strstr(saraphis_last_error(), "precision") && strstr(saraphis_last_error(), "1 to 6"));
    saraphis_config_free(config);
    free(values);
}

static void test_metadata_kept(saraphis_system_t *system)
{
    float values[64] = {0};
    int64_t shape[1] = {64};
    DLTensor tensor = host_tensor(values, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
    saraphis_result_t *result = NULL;
    const char *metadata =
        "{\"model_name\": \"transformer\", \"layer\": \"encoder.12\", \"require_cpu\": true, \"size_mb\": 0.5, "
        "\"custom\": {\"tags\": [1, 2.5e3, \"x\\u00e9\"], \"ok\": null}}";
    CHECK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_LOW, metadata, &result) == SARAPHIS_OK);
    json_value_t *kept = NULL;
    const char *text = saraphis_result_metadata_json(result);
    CHECK(json_parse(text, strlen(text), &kept, "metadata") == SARAPHIS_OK);
    CHECK(strcmp(json_get_string(json_object_get(kept, "model_name"), NULL), "transformer") == 0);
    const json_value_t *tags = at(kept, "custom", "tags", NULL);
    CHECK(json_array_size(tags) == 3);
    size_t length;
    CHECK(strcmp(json_number_text(json_array_at(tags, 1), &length), "2.5e3") == 0);
    CHECK(strcmp(json_get_string(json_array_at(tags, 2), NULL), "x\xc3\xa9") == 0);
    CHECK(json_is_null(at(kept, "custom", "ok", NULL)));
    json_free(kept);
    CHECK(strcmp(saraphis_result_route_reason(result), "cpu: require_cpu") == 0);
    saraphis_result_free(result);
    CHECK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_LOW, NULL, &result) == SARAPHIS_OK);
    CHECK(strcmp(saraphis_result_metadata_json(result), "{}") == 0);
    CHECK(strstr(saraphis_result_route_reason(result), "cpu:") == saraphis_result_route_reason(result));
    saraphis_result_free(result);
}

/* ---------------------------------------------------------------------------------------------
 * Priorities and the bounded queue. Dispatch is paused by setting max_in_flight to 0 (internal),
 * so the order in which requests are queued is exactly known.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    saraphis_system_t *system;
    saraphis_priority_t priority;
    float values[1024];
    uint64_t start_order;
    saraphis_status_t status;
} priority_job_t;

static void *priority_thread(void *argument)
{
    priority_job_t *job = argument;
    int64_t shape[1] = {1024};
    DLTensor tensor = host_tensor(job->values, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
    saraphis_result_t *result = NULL;
    job->status = saraphis_system_compress(job->system, &tensor, job->priority, NULL, &result);
    if (result) job->start_order = result->start_order;
    saraphis_result_free(result);
    return NULL;
}

static size_t queue_depth(saraphis_system_t *system)
{
    pthread_mutex_lock(&system->lock);
    size_t depth = system->heap_count;
    pthread_mutex_unlock(&system->lock);
    return depth;
}

static void set_max_in_flight(saraphis_system_t *system, unsigned value)
{
    pthread_mutex_lock(&system->lock);
    system->settings.max_in_flight = value;
    pthread_cond_broadcast(&system->work);
    pthread_mutex_unlock(&system->lock);
}

static void wait_depth(saraphis_system_t *system, size_t depth)
{
    for (int i = 0; i < 20000 && queue_depth(system) != depth; i++) usleep(500);
    CHECK_MSG(queue_depth(system) == depth, "queue depth %zu, expected %zu", queue_depth(system), depth);
}

static void test_priorities(void)
{
    const char *settings[] = {"cpu_workers", "1", "optimization_strategy", "balanced", "enable_memory_pressure", "false", NULL};
    saraphis_system_t *system = make_system(settings);
    if (!system) return;
    set_max_in_flight(system, 0);
    /* Arrivals: idle, low, medium(a), high, medium(b), critical. */
    saraphis_priority_t arrivals[6] = {SARAPHIS_PRIORITY_IDLE, SARAPHIS_PRIORITY_LOW, SARAPHIS_PRIORITY_MEDIUM,
                                       SARAPHIS_PRIORITY_HIGH, SARAPHIS_PRIORITY_MEDIUM, SARAPHIS_PRIORITY_CRITICAL};
    priority_job_t *jobs = calloc(6, sizeof *jobs);
    pthread_t threads[6];
    for (int i = 0; i < 6; i++) {
        jobs[i].system = system;
        jobs[i].priority = arrivals[i];
        for (int k = 0; k < 1024; k++) jobs[i].values[k] = (float)(k * (i + 1));
        pthread_create(&threads[i], NULL, priority_thread, &jobs[i]);
        wait_depth(system, (size_t)i + 1); /* queued in this exact arrival order */
    }
    json_value_t *root = status_of(system);
    CHECK(uint_at(root, "statistics", "queue_depth", NULL) == 6);
    json_free(root);
    set_max_in_flight(system, 1);
    for (int i = 0; i < 6; i++) pthread_join(threads[i], NULL);
    /* Expected start order: critical(5), high(3), medium a(2), medium b(4), low(1), idle(0). */
    int expected[6] = {5, 3, 2, 4, 1, 0};
    for (int k = 0; k < 6; k++) CHECK(jobs[k].status == SARAPHIS_OK);
    for (int k = 1; k < 6; k++)
        CHECK_MSG(jobs[expected[k - 1]].start_order < jobs[expected[k]].start_order, "job %d started before job %d",
                  expected[k], expected[k - 1]);
    free(jobs);
    saraphis_system_free(system);

    /* A bounded queue: capacity 2, four callers; two wait for room, none is lost. */
    const char *bounded[] = {"cpu_workers", "1", "queue_capacity", "2", "enable_memory_pressure", "false", NULL};
    system = make_system(bounded);
    if (!system) return;
    set_max_in_flight(system, 0);
    jobs = calloc(4, sizeof *jobs);
    pthread_t more[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].system = system;
        jobs[i].priority = SARAPHIS_PRIORITY_MEDIUM;
        pthread_create(&more[i], NULL, priority_thread, &jobs[i]);
    }
    wait_depth(system, 2);
    usleep(20000);
    CHECK(queue_depth(system) == 2);
    set_max_in_flight(system, 1);
    for (int i = 0; i < 4; i++) pthread_join(more[i], NULL);
    for (int i = 0; i < 4; i++) CHECK(jobs[i].status == SARAPHIS_OK);
    free(jobs);
    saraphis_system_free(system);
}

/* ---------------------------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------------------------- */
static void test_batch(saraphis_system_t *system)
{
    enum { COUNT = 40 };
    DLTensor tensors[COUNT];
    const DLTensor *pointers[COUNT];
    const char *metadata[COUNT] = {0};
    int64_t shapes[COUNT][1];
    uint8_t *buffers[COUNT];
    for (int i = 0; i < COUNT; i++) {
        size_t elements = 100 + (size_t)i * 977;
        shapes[i][0] = (int64_t)elements;
        DLDataType dtype = i % 3 == 0 ? (DLDataType){kDLFloat, 32, 1} : i % 3 == 1 ? (DLDataType){kDLBfloat, 16, 1}
                                                                                   : (DLDataType){kDLInt, 8, 1};
        size_t bytes = elements * (dtype.bits / 8);
        buffers[i] = malloc(bytes);
        fill(buffers[i], bytes, 1000 + (unsigned long long)i, i % 2);
        tensors[i] = host_tensor(buffers[i], dtype, shapes[i], 1, NULL);
        pointers[i] = &tensors[i];
    }
    pointers[3] = NULL;
    metadata[7] = "{\"require_gpu\": true}";
    saraphis_result_t *results[COUNT];
    saraphis_status_t statuses[COUNT];
    saraphis_status_t status =
        saraphis_system_compress_batch(system, pointers, COUNT, SARAPHIS_PRIORITY_HIGH, metadata, results, statuses);
    CHECK(status == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK_MSG(strstr(saraphis_last_error(), "item 3") != NULL, "%s", saraphis_last_error());
    CHECK(statuses[3] == SARAPHIS_ERROR_INVALID_ARGUMENT && results[3] == NULL);
    CHECK(statuses[7] == SARAPHIS_ERROR_UNSUPPORTED && results[7] == NULL);
    for (int i = 0; i < COUNT; i++) {
        if (i == 3 || i == 7) continue;
        CHECK(statuses[i] == SARAPHIS_OK && results[i]);
        if (!results[i]) continue;
        size_t bytes = (size_t)shapes[i][0] * (tensors[i].dtype.bits / 8);
        uint8_t *restored = malloc(bytes);
        size_t restored_size = 0;
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        CHECK(saraphis_decompress(ctx, saraphis_result_data(results[i]), saraphis_result_size(results[i]), restored, bytes,
                                  &restored_size) == SARAPHIS_OK);
        CHECK(restored_size == bytes && memcmp(restored, buffers[i], bytes) == 0);
        saraphis_ctx_free(ctx);
        free(restored);
        saraphis_result_free(results[i]);
    }
    /* The retry without the bad items. */
    pointers[3] = &tensors[3];
    metadata[7] = NULL;
    CHECK(saraphis_system_compress_batch(system, pointers, COUNT, SARAPHIS_PRIORITY_LOW, metadata, results, NULL) ==
          SARAPHIS_OK);
    for (int i = 0; i < COUNT; i++) {
        CHECK(results[i] != NULL);
        saraphis_result_free(results[i]);
        free(buffers[i]);
    }
    CHECK(saraphis_system_compress_batch(system, NULL, 0, SARAPHIS_PRIORITY_LOW, NULL, NULL, NULL) == SARAPHIS_OK);
}

/* ---------------------------------------------------------------------------------------------
 * Strategies
 * ------------------------------------------------------------------------------------------- */
static void test_strategy_table(void)
{
    strategy_inputs_t inputs = {4, 8, 0, 0, -1};
    strategy_settings_t s;
    strategy_settings(SARAPHIS_STRATEGY_THROUGHPUT, &inputs, &s);
    CHECK(s.strategy == SARAPHIS_STRATEGY_THROUGHPUT && s.chunk_bytes == 1u << 20 && s.codec_threads == 1 &&
          s.dequeue_batch == 8 && s.max_in_flight == 4 && s.content_checksum == 0 && s.prefer_gpu == 1 && s.batch_window == 0);
    strategy_settings(SARAPHIS_STRATEGY_LATENCY, &inputs, &s);
    CHECK(s.strategy == SARAPHIS_STRATEGY_LATENCY && s.chunk_bytes == 64u << 10 && s.codec_threads == 8 &&
          s.dequeue_batch == 1 && s.max_in_flight == 4 && s.content_checksum == 0 && s.prefer_gpu == 1);
    strategy_settings(SARAPHIS_STRATEGY_MEMORY, &inputs, &s);
    CHECK(s.strategy == SARAPHIS_STRATEGY_MEMORY && s.chunk_bytes == 64u << 10 && s.codec_threads == 1 &&
          s.dequeue_batch == 1 && s.max_in_flight == 1 && s.content_checksum == 1 && s.prefer_gpu == 0 && s.batch_window == 4);
    strategy_settings(SARAPHIS_STRATEGY_BALANCED, &inputs, &s);
    CHECK(s.strategy == SARAPHIS_STRATEGY_BALANCED && s.chunk_bytes == 256u << 10 && s.codec_threads == 1 &&
          s.dequeue_batch == 2 && s.max_in_flight == 4 && s.content_checksum == 1 && s.prefer_gpu == 1);
    strategy_inputs_t overridden = {4, 8, 131072, 3, 0};
    for (int k = 0; k < 4; k++) {
        strategy_settings((saraphis_strategy_t)k, &overridden, &s);
        CHECK(s.chunk_bytes == 131072 && s.codec_threads == 3 && s.content_checksum == 0);
    }
    /* ADAPTIVE's rules, each with its reason. */
    char reason[400];
    adaptive_window_t w = {64, 1.0, 100.0, 1.0, 0.1, 4096.0, PRESSURE_LOW};
    CHECK(strategy_adapt(&w, 2, 50.0, reason, sizeof reason) == SARAPHIS_STRATEGY_BALANCED);
    CHECK(strstr(reason, "no backlog") != NULL);
    w.mean_queue_depth = 5.0;
    CHECK(strategy_adapt(&w, 2, 50.0, reason, sizeof reason) == SARAPHIS_STRATEGY_THROUGHPUT);
    CHECK(strstr(reason, "backlog") && strstr(reason, "5.0"));
    w.pressure_state = PRESSURE_HIGH;
    CHECK(strategy_adapt(&w, 2, 50.0, reason, sizeof reason) == SARAPHIS_STRATEGY_MEMORY);
    CHECK(strstr(reason, "high") != NULL);
    w.pressure_state = PRESSURE_MODERATE;
    w.mean_queue_depth = 0.5;
    w.latency_p95_ms = 80.0;
    w.mean_request_bytes = 4e6;
    CHECK(strategy_adapt(&w, 2, 50.0, reason, sizeof reason) == SARAPHIS_STRATEGY_LATENCY);
    CHECK(strstr(reason, "80.000") && strstr(reason, "50.000"));
    w.mean_request_bytes = 1e4; /* too small to split */
    CHECK(strategy_adapt(&w, 2, 50.0, reason, sizeof reason) == SARAPHIS_STRATEGY_BALANCED);
    CHECK(strstr(reason, "too small") != NULL);
    w.pressure_state = -1;
    CHECK(strategy_adapt(&w, 2, 50.0, reason, sizeof reason) == SARAPHIS_STRATEGY_BALANCED);
    saraphis_strategy_t parsed;
    CHECK(saraphis_strategy_from_name("Adaptive", &parsed) == SARAPHIS_OK && parsed == SARAPHIS_STRATEGY_ADAPTIVE);
    CHECK(saraphis_strategy_from_name("fastest", &parsed) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    saraphis_priority_t priority;
    CHECK(saraphis_priority_from_name("critical", &priority) == SARAPHIS_OK && priority == SARAPHIS_PRIORITY_CRITICAL);
    CHECK(strcmp(saraphis_priority_name(SARAPHIS_PRIORITY_IDLE), "idle") == 0);
}

static void test_optimize(void)
{
    const char *settings[] = {"cpu_workers", "2", "adaptive_window", "8", NULL};
    saraphis_system_t *system = make_system(settings);
    if (!system) return;
    size_t elements = 300000; /* 1.2 MB: several chunks at every chunk size */
    float *values = malloc(elements * sizeof(float));
    fill((uint8_t *)values, elements * sizeof(float), 5, 1);
    int64_t shape[1] = {(int64_t)elements};
    DLTensor tensor = host_tensor(values, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
    static const struct {
        saraphis_strategy_t strategy;
        uint32_t chunk_bytes;
        const char *name;
    } expected[] = {{SARAPHIS_STRATEGY_THROUGHPUT, 1u << 20, "throughput"},
                    {SARAPHIS_STRATEGY_LATENCY, 64u << 10, "latency"},
                    {SARAPHIS_STRATEGY_MEMORY, 64u << 10, "memory"},
                    {SARAPHIS_STRATEGY_BALANCED, 256u << 10, "balanced"}};
    for (size_t k = 0; k < 4; k++) {
        CHECK(saraphis_system_optimize(system, expected[k].strategy) == SARAPHIS_OK);
        saraphis_result_t *result = NULL;
        CHECK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
        saraphis_frame_info_t info;
        CHECK(saraphis_frame_info(saraphis_result_data(result), saraphis_result_size(result), &info) == SARAPHIS_OK);
        CHECK_MSG(info.chunk_bytes == expected[k].chunk_bytes, "%s: chunk %u", expected[k].name, info.chunk_bytes);
        DLManagedTensor *out = NULL;
        CHECK(saraphis_system_decompress(system, saraphis_result_data(result), saraphis_result_size(result),
                                         (DLDevice){kDLCPU, 0}, NULL, 0, SARAPHIS_PRIORITY_MEDIUM, &out) == SARAPHIS_OK);
        CHECK(out && memcmp(out->dl_tensor.data, values, elements * sizeof(float)) == 0);
        if (out) out->deleter(out);
        saraphis_result_free(result);
        json_value_t *root = status_of(system);
        CHECK(strcmp(string_at(root, "performance", "current_strategy", NULL), expected[k].name) == 0);
        CHECK(strcmp(string_at(root, "performance", "settings", "strategy"), expected[k].name) == 0);
        CHECK(uint_at(root, "performance", "settings", "chunk_bytes") == expected[k].chunk_bytes);
        json_free(root);
    }
    CHECK(saraphis_system_optimize(system, (saraphis_strategy_t)9) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    /* ADAPTIVE: windows of 8 requests; the status says what it chose and why. */
    CHECK(saraphis_system_optimize(system, SARAPHIS_STRATEGY_ADAPTIVE) == SARAPHIS_OK);
    float small[1024];
    int64_t small_shape[1] = {1024};
    DLTensor small_tensor = host_tensor(small, (DLDataType){kDLFloat, 32, 1}, small_shape, 1, NULL);
    for (int i = 0; i < 1024; i++) small[i] = (float)i;
    for (int i = 0; i < 20; i++) {
        saraphis_result_t *result = NULL;
        CHECK(saraphis_system_compress(system, &small_tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
        saraphis_result_free(result);
    }
    json_value_t *root = status_of(system);
    CHECK(strcmp(string_at(root, "performance", "current_strategy", NULL), "adaptive") == 0);
    CHECK(uint_at(root, "performance", "adaptive", "decisions") >= 2);
    const char *choice = string_at(root, "performance", "adaptive", "choice");
    CHECK(strcmp(choice, "balanced") == 0 || strcmp(choice, "throughput") == 0 || strcmp(choice, "latency") == 0 ||
          strcmp(choice, "memory") == 0);
    CHECK(strcmp(string_at(root, "performance", "settings", "strategy"), choice) == 0);
    CHECK(strlen(string_at(root, "performance", "adaptive", "reason")) > 20);
    CHECK(double_at(root, "performance", "adaptive", "decided_at_uptime_seconds") > 0);
    const json_value_t *window = at(root, "performance", "adaptive", "last_window");
    uint64_t requests = 0;
    CHECK(json_get_uint64(json_object_get(window, "requests"), &requests) && requests == 8);
    json_free(root);
    free(values);
    saraphis_system_free(system);
}

/* ---------------------------------------------------------------------------------------------
 * Status JSON and Prometheus
 * ------------------------------------------------------------------------------------------- */
static void test_status(void)
{
    const char *settings[] = {"cpu_workers", "2", NULL};
    saraphis_system_t *system = make_system(settings);
    if (!system) return;
    json_value_t *root = status_of(system);
    CHECK(strcmp(string_at(root, "state", NULL, NULL), "running") == 0);
    CHECK(uint_at(root, "statistics", "total_compressions", NULL) == 0);
    CHECK(json_type(at(root, "performance", "metrics", "latency")) == JSON_OBJECT);
    json_free(root);
    /* A known workload: 5 compressions of known sizes, 3 decompressions, 2 failures. */
    uint64_t raw_total = 0, frame_total = 0, decompressed_bytes = 0, frame_bytes_in = 0;
    double ratio_sum = 0;
    uint8_t *data = malloc(200000);
    fill(data, 200000, 9, 1);
    saraphis_result_t *results[5];
    for (int i = 0; i < 5; i++) {
        int64_t shape[1] = {10000 * (i + 1)};
        DLTensor tensor = host_tensor(data, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
        CHECK(saraphis_system_compress(system, &tensor, (saraphis_priority_t)i, NULL, &results[i]) == SARAPHIS_OK);
        raw_total += (uint64_t)shape[0] * 4;
        frame_total += saraphis_result_size(results[i]);
        ratio_sum += saraphis_result_ratio(results[i]);
    }
    for (int i = 0; i < 3; i++) {
        DLManagedTensor *out = NULL;
        CHECK(saraphis_system_decompress(system, saraphis_result_data(results[i]), saraphis_result_size(results[i]),
                                         (DLDevice){kDLCPU, 0}, NULL, 0, SARAPHIS_PRIORITY_MEDIUM, &out) == SARAPHIS_OK);
        decompressed_bytes += saraphis_result_raw_size(results[i]);
        frame_bytes_in += saraphis_result_size(results[i]);
        if (out) out->deleter(out);
    }
    saraphis_result_t *failed = NULL;
    int64_t shape[1] = {16};
    DLTensor tensor = host_tensor(data, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
    CHECK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, "{\"require_gpu\": true}", &failed) != SARAPHIS_OK);
    DLManagedTensor *out = NULL;
    CHECK(saraphis_system_decompress(system, data, 100, (DLDevice){kDLCPU, 0}, NULL, 0, SARAPHIS_PRIORITY_MEDIUM, &out) ==
          SARAPHIS_ERROR_CORRUPT);

    root = status_of(system);
    /* Top level: the seeds' fields, with their types. */
    static const char *const keys[] = {"version", "state", "uptime_seconds", "components", "statistics", "errors",
                                       "performance", "memory_pressure", "configuration"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) CHECK_MSG(json_object_get(root, keys[i]), "%s", keys[i]);
    CHECK(json_object_size(root) == sizeof keys / sizeof keys[0]);
    CHECK(strcmp(string_at(root, "version", NULL, NULL), saraphis_version_string()) == 0);
    CHECK(double_at(root, "uptime_seconds", NULL, NULL) > 0);
    CHECK(uint_at(root, "statistics", "total_compressions", NULL) == 5);
    CHECK(uint_at(root, "statistics", "total_decompressions", NULL) == 3);
    CHECK(uint_at(root, "statistics", "failed_compressions", NULL) == 1);
    CHECK(uint_at(root, "statistics", "failed_decompressions", NULL) == 1);
    CHECK(uint_at(root, "statistics", "compress_bytes_in", NULL) == raw_total);
    CHECK(uint_at(root, "statistics", "compress_bytes_out", NULL) == frame_total);
    CHECK(uint_at(root, "statistics", "decompress_bytes_in", NULL) == frame_bytes_in);
    CHECK(uint_at(root, "statistics", "decompress_bytes_out", NULL) == decompressed_bytes);
    CHECK(uint_at(root, "statistics", "bytes_in", NULL) == raw_total + frame_bytes_in);
    CHECK(uint_at(root, "statistics", "bytes_out", NULL) == frame_total + decompressed_bytes);
    double average = double_at(root, "statistics", "average_compression_ratio", NULL);
    CHECK_MSG(average > ratio_sum / 5 - 1e-9 && average < ratio_sum / 5 + 1e-9, "%f vs %f", average, ratio_sum / 5);
    double overall = double_at(root, "statistics", "overall_compression_ratio", NULL);
    CHECK(overall > (double)raw_total / (double)frame_total - 1e-9 && overall < (double)raw_total / (double)frame_total + 1e-9);
    for (int p = 0; p < 5; p++)
        CHECK(uint_at(root, "statistics", "by_priority", saraphis_priority_name((saraphis_priority_t)p)) == (p == 2 ? 4u : 1u));
    CHECK(uint_at(root, "statistics", "by_mode", "cpu") == 5 && uint_at(root, "statistics", "by_mode", "gpu") == 0);
    CHECK(uint_at(root, "statistics", "decompress_by_mode", "cpu") == 3 &&
          uint_at(root, "statistics", "decompress_by_mode", "gpu") == 0);
    CHECK(uint_at(root, "statistics", "queue_depth", NULL) == 0 && uint_at(root, "statistics", "in_flight", NULL) == 0);
    CHECK(uint_at(root, "statistics", "workers", NULL) == 2);
    CHECK(uint_at(root, "errors", "total", NULL) == 2);
    CHECK(uint_at(root, "errors", "by_kind", "unsupported") == 1 && uint_at(root, "errors", "by_kind", "corrupt") == 1);
    CHECK(json_object_size(at(root, "errors", "by_kind", NULL)) == 2);
    /* Performance: counts, averages, ordered percentiles. */
    const json_value_t *metrics = at(root, "performance", "metrics", NULL);
    static const char *const names[2] = {"throughput", "latency"};
    for (int m = 0; m < 2; m++) {
        const json_value_t *summary = json_object_get(metrics, names[m]);
        uint64_t count = 0;
        double avg = 0, p50 = 0, p95 = 0, p99 = 0;
        CHECK(json_get_uint64(json_object_get(summary, "count"), &count) && count == 8);
        CHECK(json_get_double(json_object_get(summary, "average"), &avg) && avg > 0);
        CHECK(json_get_double(json_object_get(summary, "p50"), &p50) && json_get_double(json_object_get(summary, "p95"), &p95) &&
              json_get_double(json_object_get(summary, "p99"), &p99));
        CHECK_MSG(0 < p50 && p50 <= p95 && p95 <= p99, "%s: %f %f %f", names[m], p50, p95, p99);
    }
    CHECK(strcmp(string_at(metrics, "latency", "unit", NULL), "ms") == 0);
    CHECK(strcmp(string_at(metrics, "throughput", "unit", NULL), "MB/s") == 0);
    CHECK(strcmp(string_at(root, "performance", "current_strategy", NULL), "balanced") == 0);
    /* Memory pressure: the handler runs on the host probe; the GPU is reported missing. */
    const json_value_t *memory = json_object_get(root, "memory_pressure");
    bool flag = false;
    CHECK(json_get_bool(json_object_get(memory, "enabled"), &flag) && flag);
    const char *state = string_at(memory, "memory_state", NULL, NULL);
    CHECK(strcmp(state, "low") == 0 || strcmp(state, "moderate") == 0 || strcmp(state, "high") == 0 ||
          strcmp(state, "critical") == 0);
    double utilization = double_at(memory, "utilization", NULL, NULL);
    CHECK(utilization >= 0 && utilization <= 1);
    CHECK(uint_at(memory, "samples", NULL, NULL) >= 1);
    CHECK(double_at(memory, "thresholds", "low", NULL) == 0.5);
#ifndef SARAPHIS_WITH_CUDA
    CHECK(strcmp(string_at(memory, "probe", NULL, NULL), "host") == 0);
    CHECK(json_get_bool(json_object_get(memory, "gpu_available"), &flag) && !flag);
    CHECK(json_is_null(json_object_get(memory, "gpu_free_mb")) && json_is_null(json_object_get(memory, "gpu_utilization")));
    CHECK(strcmp(string_at(root, "components", "gpu", "state"), "unavailable") == 0);
    CHECK(strstr(string_at(root, "components", "gpu", "reason"), "without CUDA") != NULL);
#endif
    /* Components: each built/enabled/state/reason/fields; not-built ones are reported so. */
    const json_value_t *components = json_object_get(root, "components");
    CHECK(json_object_size(components) == 9);
    size_t fields_reported = 0;
    for (size_t i = 0; i < json_object_size(components); i++) {
        const json_value_t *component = json_object_value_at(components, i);
        CHECK(json_type(json_object_get(component, "built")) == JSON_BOOL);
        CHECK(json_type(json_object_get(component, "enabled")) == JSON_BOOL);
        CHECK(json_get_string(json_object_get(component, "state"), NULL) != NULL);
        CHECK(json_get_string(json_object_get(component, "reason"), NULL) != NULL);
        fields_reported += json_array_size(json_object_get(component, "fields"));
    }
    CHECK_MSG(fields_reported == saraphis_config_field_count(), "%zu fields under components", fields_reported);
    CHECK(strcmp(string_at(components, "bounded_codec", "state", NULL), "available") == 0); /* built, codec lossless */
    CHECK(json_get_bool(at(components, "bounded_codec", "built", NULL), &flag) && flag);
    CHECK(json_get_bool(at(components, "bounded_codec", "enabled", NULL), &flag) && !flag);
#ifdef SARAPHIS_WITH_CUDA
    CHECK(strcmp(string_at(components, "gpu_codec", "state", NULL), saraphis_gpu_available() ? "available" : "unavailable") == 0);
#else
    CHECK(strcmp(string_at(components, "gpu_codec", "state", NULL), "not_built") == 0);
#endif
    CHECK(strcmp(string_at(components, "auto_swap", "state", NULL), "not_built") == 0);
    CHECK(strcmp(string_at(components, "cpu_bursting", "state", NULL), "not_built") == 0);
    CHECK(strcmp(string_at(components, "coordinator", "state", NULL), "active") == 0);
    CHECK(strcmp(string_at(components, "memory_pressure", "state", NULL), "active") == 0);
    const json_value_t *auto_swap_fields = at(components, "auto_swap", "fields", NULL);
    CHECK(json_array_size(auto_swap_fields) == 2);
    /* Configuration: every field with its value and source. */
    const json_value_t *configuration = json_object_get(root, "configuration");
    CHECK(json_object_size(configuration) == saraphis_config_field_count());
    CHECK(strcmp(string_at(configuration, "cpu_workers", "source", NULL), "api") == 0);
    CHECK(strcmp(string_at(configuration, "prime", "source", NULL), "default") == 0);
    json_free(root);

    /* Prometheus: well-formed lines and the same figures. */
    char *text = NULL;
    CHECK(saraphis_system_metrics_prometheus(system, &text) == SARAPHIS_OK);
    int declared = 0, samples = 0, malformed = 0;
    char last_type_name[128] = "";
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (strncmp(line, "# HELP ", 7) == 0) continue;
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char type[32];
            if (sscanf(line + 7, "%127s %31s", last_type_name, type) != 2) malformed++;
            if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "summary")) malformed++;
            declared++;
            continue;
        }
        /* name{labels} value: the name belongs to the last TYPE; the value parses. */
        size_t name_length = strcspn(line, "{ ");
        if (strncmp(line, last_type_name, strlen(last_type_name)) != 0 || name_length == 0) malformed++;
        const char *value = strrchr(line, ' ');
        char *end = NULL;
        if (!value || (strtod(value + 1, &end), *end != '\0')) malformed++;
        if (line[name_length] == '{' && !strchr(line, '}')) malformed++;
        samples++;
        if (strcmp(line, "saraphis_compressions_total 5") == 0) samples += 1000;
        if (strcmp(line, "saraphis_decompressions_total 3") == 0) samples += 1000;
        if (strcmp(line, "saraphis_errors_total{kind=\"unsupported\"} 1") == 0) samples += 1000;
        if (strcmp(line, "saraphis_latency_milliseconds_count 8") == 0) samples += 1000;
    }
    CHECK_MSG(malformed == 0, "%d malformed lines", malformed);
    CHECK(declared >= 20);
    CHECK_MSG(samples > 4000, "the four known samples are present (%d)", samples);
    free(text);

    /* Shutdown: idempotent, refuses new work, status still answers. */
    CHECK(saraphis_system_shutdown(system) == SARAPHIS_OK);
    CHECK(saraphis_system_shutdown(system) == SARAPHIS_OK);
    saraphis_result_t *result = NULL;
    CHECK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_ERROR_STATE);
    CHECK(strstr(saraphis_last_error(), "shut down") != NULL);
    CHECK(saraphis_system_optimize(system, SARAPHIS_STRATEGY_MEMORY) == SARAPHIS_ERROR_STATE);
    root = status_of(system);
    CHECK(strcmp(string_at(root, "state", NULL, NULL), "stopped") == 0);
    CHECK(strcmp(string_at(root, "components", "coordinator", "state"), "stopped") == 0);
    CHECK(uint_at(root, "errors", "by_kind", "state") == 1);
    json_free(root);
    for (int i = 0; i < 5; i++) saraphis_result_free(results[i]);
    free(data);
    saraphis_system_free(system);
    saraphis_system_free(NULL);
    saraphis_result_free(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Shutdown with work in flight: every acknowledged request completes and is counted.
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    saraphis_system_t *system;
    unsigned seed;
    int ok, refused, wrong, other;
} shutdown_job_t;

static void *shutdown_thread(void *argument)
{
    shutdown_job_t *job = argument;
    unsigned long long state = job->seed;
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    for (;;) {
        size_t elements = 2000 + (size_t)(test_random(&state) % 60000);
        float *values = malloc(elements * sizeof(float));
        fill((uint8_t *)values, elements * sizeof(float), state, 1);
        int64_t shape[1] = {(int64_t)elements};
        DLTensor tensor = host_tensor(values, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
        saraphis_result_t *result = NULL;
        saraphis_status_t status = saraphis_system_compress(job->system, &tensor,
                                                            (saraphis_priority_t)(test_random(&state) % 5), NULL, &result);
        if (status == SARAPHIS_OK) {
            job->ok++;
            float *restored = malloc(elements * sizeof(float));
            size_t size = 0;
            if (saraphis_decompress(ctx, saraphis_result_data(result), saraphis_result_size(result), restored,
                                    elements * sizeof(float), &size) != SARAPHIS_OK ||
                size != elements * sizeof(float) || memcmp(restored, values, size) != 0)
                job->wrong++;
            free(restored);
        } else if (status == SARAPHIS_ERROR_STATE) {
            job->refused++;
        } else {
            job->other++;
        }
        saraphis_result_free(result);
        free(values);
        if (status == SARAPHIS_ERROR_STATE) break;
    }
    saraphis_ctx_free(ctx);
    return NULL;
}

static saraphis_status_t second_shutdown_status = SARAPHIS_ERROR_STATE;
static void *shutdown_from_thread(void *system)
{
    second_shutdown_status = saraphis_system_shutdown(system); /* read after join */
    return NULL;
}

static void test_shutdown_in_flight(void)
{
    const char *settings[] = {"cpu_workers", "2", "queue_capacity", "4", NULL};
    saraphis_system_t *system = make_system(settings);
    if (!system) return;
    enum { THREADS = 6 };
    shutdown_job_t jobs[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (shutdown_job_t){system, 77u + (unsigned)i, 0, 0, 0, 0};
        pthread_create(&threads[i], NULL, shutdown_thread, &jobs[i]);
    }
    usleep(150000);
    pthread_t second;
    pthread_create(&second, NULL, shutdown_from_thread, system); /* a concurrent shutdown */
    CHECK(saraphis_system_shutdown(system) == SARAPHIS_OK);
    pthread_join(second, NULL);
    CHECK(second_shutdown_status == SARAPHIS_OK);
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        ok += jobs[i].ok;
        CHECK(jobs[i].wrong == 0 && jobs[i].other == 0 && jobs[i].refused == 1);
    }
    CHECK(ok > 0);
    json_value_t *root = status_of(system);
    CHECK_MSG(uint_at(root, "statistics", "total_compressions", NULL) == (uint64_t)ok, "every acknowledged request counted");
    CHECK(uint_at(root, "statistics", "in_flight", NULL) == 0 && uint_at(root, "statistics", "queue_depth", NULL) == 0);
    CHECK(uint_at(root, "errors", "by_kind", "state") == THREADS);
    json_free(root);
    saraphis_system_free(system);
}

/* verify_records false reaches the decoders: a flip in a record's checksum field, which only the
 * record checksum reads, then decodes (the content checksum verifies the bytes); with the default
 * it is a checksum mismatch. */
static void test_verify_records_config(void)
{
    float values[4096];
    for (int i = 0; i < 4096; i++) values[i] = sinf(0.01f * (float)i);
    int64_t shape[1] = {4096};
    DLTensor tensor = host_tensor(values, (DLDataType){kDLFloat, 32, 1}, shape, 1, NULL);
    for (int verify = 1; verify >= 0; verify--) {
        const char *settings[] = {"cpu_workers", "1", "content_checksum", "on", "verify_records", verify ? "true" : "false", NULL};
        saraphis_system_t *system = make_system(settings);
        if (!system) return;
        saraphis_result_t *result = NULL;
        CHECK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &result) == SARAPHIS_OK);
        size_t size = saraphis_result_size(result);
        uint8_t *frame = malloc(size);
        memcpy(frame, saraphis_result_data(result), size);
        const uint32_t chunks = (uint32_t)frame[12] | (uint32_t)frame[13] << 8 | (uint32_t)frame[14] << 16 | (uint32_t)frame[15] << 24;
        frame[32 + 4 * (size_t)chunks + 3] ^= 0x04; /* the first record's checksum field */
        DLManagedTensor *out = NULL;
        saraphis_status_t status = saraphis_system_decompress(system, frame, size, (DLDevice){kDLCPU, 0}, NULL, 0,
                                                              SARAPHIS_PRIORITY_MEDIUM, &out);
        CHECK_MSG(status == (verify ? SARAPHIS_ERROR_CHECKSUM : SARAPHIS_OK), "verify_records %d: %s", verify, saraphis_status_name(status));
        if (out) {
            CHECK(memcmp(out->dl_tensor.data, values, sizeof values) == 0);
            out->deleter(out);
        }
        free(frame);
        saraphis_result_free(result);
        saraphis_system_free(system);
    }
}

int main(void)
{
    for (size_t i = 0; i < saraphis_config_field_count(); i++) unsetenv(saraphis_config_field_at(i)->env);
    const char *settings[] = {"cpu_workers", "2", NULL};
    saraphis_system_t *system = make_system(settings);
    if (!system) return TEST_SUMMARY("test_coordinator");
    test_round_trips(system);
    test_strided(system);
    test_errors_and_retry(system);
    test_metadata_kept(system);
    test_batch(system);
    saraphis_system_free(system);
    test_bounded();
    test_priorities();
    test_strategy_table();
    test_optimize();
    test_status();
    test_shutdown_in_flight();
    test_verify_records_config();
    return TEST_SUMMARY("test_coordinator");
}
