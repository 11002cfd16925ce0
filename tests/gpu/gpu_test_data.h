/* Test data for the GPU tests: generated weights (Gaussian floats and their BF16 and F16
 * roundings), the real weights' safetensors files, and host bytes copied to the device. */
#ifndef SARAPHIS_TESTS_GPU_TEST_DATA_H
#define SARAPHIS_TESTS_GPU_TEST_DATA_H

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/padic_values.h"
#include "container/safetensors.h"
#include "file_support.h"
#include "testing.h"

/* A double stored as an element of a float dtype (F32, F64, F16, anything else as BF16), rounded
 * to nearest as the bounded codec rounds; NaN and infinities as their usual bit patterns. */
static inline void store_float_element(uint8_t *p, saraphis_dtype_t dtype, double v)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: { float f = (float)v; memcpy(p, &f, 4); break; }
    case SARAPHIS_DTYPE_F64: memcpy(p, &v, 8); break;
    case SARAPHIS_DTYPE_F16:
        if (isnan(v)) { p[0] = 0x01; p[1] = 0x7e; }
        else if (isinf(v)) { p[0] = 0; p[1] = v > 0 ? 0x7c : 0xfc; }
        else padic_store_f16(p, padic_round_f16(v));
        break;
    default:
        if (isnan(v)) { p[0] = 0x81; p[1] = 0x7f; }
        else if (isinf(v)) { p[0] = 0x80; p[1] = v > 0 ? 0x7f : 0xff; }
        else padic_store_bf16(p, padic_round_bf16(v));
        break;
    }
}

/* A device copy of size host bytes (cudaFree it), NULL when the allocation fails. */
static inline void *device_copy(const void *host, size_t size)
{
    void *device = NULL;
    if (cudaMalloc(&device, size ? size : 1) != cudaSuccess) return NULL;
    if (size) cudaMemcpy(device, host, size, cudaMemcpyHostToDevice);
    return device;
}

/* A standard normal sample (Box-Muller on two uniform doubles from test_random). */
static inline double gaussian_double(unsigned long long *state)
{
    double u = ((test_random(state) >> 11) + 0.5) / 9007199254740992.0, v = ((test_random(state) >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}
static inline float gaussian(unsigned long long *state) { return (float)gaussian_double(state); }

/* BF16 by truncation, F16 by truncation with flush to zero and saturation to infinity: weights-like
 * bit patterns, not correctly rounded conversions. */
static inline uint16_t to_bf16(float f) { uint32_t b; memcpy(&b, &f, 4); return (uint16_t)(b >> 16); }
static inline uint16_t to_f16(float f)
{
    uint32_t b; memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000, e = (b >> 23) & 0xff, m = b & 0x7fffff;
    int ee = (int)e - 127 + 15;
    if (ee <= 0) return (uint16_t)sign;
    if (ee >= 31) return (uint16_t)(sign | 0x7c00);
    return (uint16_t)(sign | (uint32_t)ee << 10 | m >> 13);
}

/* Reads and parses <folder>/<name>.safetensors, folder being SARAPHIS_GPU_DATA or the source
 * tree's .bench/data. NULL when the file is absent (a "skipped" line) or does not parse (a failed
 * check); else the file's bytes (the caller frees them), *file parsed and *path its name. */
static inline uint8_t *gpu_test_load_weights(const char *name, safetensors_file_t *file, char *path, size_t path_size)
{
    const char *folder = getenv("SARAPHIS_GPU_DATA");
    char default_folder[1024];
    snprintf(default_folder, sizeof default_folder, "%s/.bench/data", SARAPHIS_SOURCE_DIR);
    if (!folder) folder = default_folder;
    snprintf(path, path_size, "%s/%s.safetensors", folder, name);
    size_t size = 0;
    uint8_t *bytes = slurp(path, &size);
    if (!bytes) {
        printf("  %s: not found, skipped\n", path);
        return NULL;
    }
    memset(file, 0, sizeof *file);
    if (safetensors_parse(bytes, size, size, path, file) != SARAPHIS_OK || file->tensor_count == 0) {
        CHECK_MSG(0, "%s: %s", path, saraphis_last_error());
        free(bytes);
        return NULL;
    }
    return bytes;
}

/* The index of the file's largest tensor (whose dtype the data section is read as: the first
 * tensor may be an I64 one). */
static inline size_t gpu_test_largest_tensor(const safetensors_file_t *file)
{
    size_t largest = 0;
    for (size_t t = 1; t < file->tensor_count; t++)
        if (file->tensors[t].end - file->tensors[t].begin > file->tensors[largest].end - file->tensors[largest].begin) largest = t;
    return largest;
}

#endif
