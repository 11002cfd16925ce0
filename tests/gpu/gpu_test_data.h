/* Generated weights for the GPU tests: Gaussian floats and their BF16 and F16 roundings. */
#ifndef SARAPHIS_TESTS_GPU_TEST_DATA_H
#define SARAPHIS_TESTS_GPU_TEST_DATA_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "testing.h"

/* A standard normal sample (Box-Muller on two uniform doubles from test_random). */
static inline float gaussian(unsigned long long *state)
{
    double u = ((test_random(state) >> 11) + 0.5) / 9007199254740992.0, v = ((test_random(state) >> 11) + 0.5) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

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

#endif
