/* The lossless float codec's per-chunk decisions (lossless.c), as pure functions of a chunk's
 * statistics: how many low mantissa bits are dropped, the exponent base, whether exponents are
 * entropy-coded or packed raw, the fold, and how the remaining field bits are cut into the high
 * byte, byte planes and rest bits. The CPU encoder and the GPU encoder (gpu/gpu_encode.cu, which
 * gathers the statistics on the device) both decide through these functions, so their frames
 * agree byte for byte. Header-only: compiled as C and as CUDA host/device code. */
#ifndef SARAPHIS_CODEC_LOSSLESS_PLAN_H
#define SARAPHIS_CODEC_LOSSLESS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

#if defined(__CUDACC__)
#define PLAN_FN static inline __host__ __device__
#else
#define PLAN_FN static inline
#endif

/* Payload kinds and exponent modes (the layout is in lossless.c). */
enum { LOSSLESS_FLOAT = 1, LOSSLESS_BYTE_PLANES = 2 };
enum { EXPONENT_ENTROPY = 0, EXPONENT_RAW = 1 };
#define LOSSLESS_FLOAT_HEADER 7 /* kind, dropped, u16 base, exponent mode, exponent width, fold */

typedef struct {
    unsigned exponent_bits;
    unsigned mantissa_bits;
} float_layout_t;

PLAN_FN int float_layout(saraphis_dtype_t dtype, float_layout_t *layout)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: layout->exponent_bits = 8; layout->mantissa_bits = 23; return 1;
    case SARAPHIS_DTYPE_BF16: layout->exponent_bits = 8; layout->mantissa_bits = 7; return 1;
    case SARAPHIS_DTYPE_F16: layout->exponent_bits = 5; layout->mantissa_bits = 10; return 1;
    case SARAPHIS_DTYPE_F64: layout->exponent_bits = 11; layout->mantissa_bits = 52; return 1;
    default: return 0;
    }
}

/* How a chunk's sign+mantissa field of k bits is cut: the top byte (or all k bits when k <= 8),
 * then whole bytes, then the rest bits. */
typedef struct {
    unsigned k;           /* field width: sign + kept mantissa bits */
    unsigned m;           /* kept mantissa bits */
    unsigned dropped;     /* low mantissa bits zero in the whole chunk */
    unsigned fold;        /* top field bits folded into the exponent symbol */
    unsigned kr;          /* k - fold: the bits left for high, planes and rest */
    unsigned plane_count; /* whole bytes below the high byte */
    unsigned rest_bits;   /* bits below the planes, packed raw */
} field_layout_t;

/* Folding: when the field is not a whole number of bytes (F16: 11 bits) and the chunk's exponent
 * range leaves room in the byte symbol, the top k mod 8 field bits (the sign and the top mantissa
 * bits) join the exponent symbol, so the rest of the field is whole bytes: no bit packing, and
 * one entropy stream captures what exponent and sign/top mantissa share. */
PLAN_FN unsigned choose_fold(unsigned k, unsigned exponent_range)
{
    unsigned fold = k > 8 ? k % 8 : 0;
    if (fold && ((exponent_range + 1) << fold) > 256) fold = 0;
    return fold;
}

PLAN_FN field_layout_t field_layout(float_layout_t layout, unsigned dropped, unsigned fold)
{
    field_layout_t f;
    f.dropped = dropped;
    f.m = layout.mantissa_bits - dropped;
    f.k = f.m + 1;
    f.fold = fold;
    f.kr = f.k - fold;
    unsigned below = f.kr > 8 ? f.kr - 8 : 0;
    f.plane_count = below / 8;
    f.rest_bits = below % 8;
    return f;
}

/* What a float chunk's payload header says, and its field cut. */
typedef struct {
    field_layout_t field;
    unsigned base;           /* smallest biased exponent */
    unsigned exponent_raw;   /* 1: exponents packed raw (range beyond a byte: F64 only) */
    unsigned exponent_width; /* bits of the exponent range */
} float_plan_t;

PLAN_FN unsigned plan_trailing_zeros64(uint64_t v)
{
#if defined(__CUDA_ARCH__)
    return v ? (unsigned)__ffsll((long long)v) - 1 : 64;
#else
    return v ? (unsigned)__builtin_ctzll(v) : 64;
#endif
}

PLAN_FN unsigned plan_bit_width64(uint64_t v)
{
#if defined(__CUDA_ARCH__)
    return v ? 64u - (unsigned)__clzll((long long)v) : 0;
#else
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0;
#endif
}

/* The decisions from a chunk's n elements: the OR of their mantissa fields and their smallest and
 * largest biased exponents (ignored when n == 0). */
PLAN_FN float_plan_t float_plan(float_layout_t layout, size_t n, uint64_t mantissa_or, unsigned min_exponent,
                                unsigned max_exponent)
{
    float_plan_t plan;
    if (n == 0) min_exponent = max_exponent = 0;
    unsigned dropped = mantissa_or ? plan_trailing_zeros64(mantissa_or) : layout.mantissa_bits;
    unsigned exponent_range = max_exponent - min_exponent;
    plan.exponent_raw = exponent_range > 255;
    plan.field = field_layout(layout, dropped, plan.exponent_raw ? 0 : choose_fold(layout.mantissa_bits - dropped + 1, exponent_range));
    plan.base = min_exponent;
    plan.exponent_width = plan_bit_width64(exponent_range);
    return plan;
}

#endif
