/* Float element access for the p-adic codec: loading F32/F64/F16/BF16 elements as doubles
 * (exact), rounding a double to each dtype (round to nearest, ties to even, values beyond the
 * largest finite saturate to it) and storing an already-rounded value. The encoder's bound check
 * and the decoder's reconstruction both go through padic_round_*, so they agree bit for bit.
 * F16 and BF16 are rounded straight from the double (no detour through float, which would round
 * twice). */
#ifndef SARAPHIS_CODEC_PADIC_VALUES_H
#define SARAPHIS_CODEC_PADIC_VALUES_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PADIC_F16_MAX 65504.0
#define PADIC_BF16_MAX 0x1.fep127

static inline uint64_t padic_double_bits(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }
static inline double padic_bits_double(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }

static inline double padic_load_f32(const uint8_t *p) { float f; memcpy(&f, p, 4); return (double)f; }
static inline double padic_load_f64(const uint8_t *p) { double d; memcpy(&d, p, 8); return d; }

static inline double padic_half_to_double(uint16_t h)
{
    uint64_t sign = (uint64_t)(h >> 15) << 63;
    unsigned exponent = (h >> 10) & 31u, mantissa = h & 0x3ffu;
    if (exponent == 0) {
        double v = (double)mantissa * 0x1p-24;
        return sign ? -v : v;
    }
    if (exponent == 31) return padic_bits_double(sign | (0x7ffull << 52) | ((uint64_t)mantissa << 42));
    return padic_bits_double(sign | ((uint64_t)(exponent - 15 + 1023) << 52) | ((uint64_t)mantissa << 42));
}

static inline double padic_bf16_to_double(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return (double)f;
}

static inline double padic_load_f16(const uint8_t *p) { return padic_half_to_double((uint16_t)(p[0] | p[1] << 8)); }
static inline double padic_load_bf16(const uint8_t *p) { return padic_bf16_to_double((uint16_t)(p[0] | p[1] << 8)); }

/* Rounds |a| (finite, normal range of the target) to `kept` mantissa bits, ties to even, on the
 * double's bit pattern (a carry into the exponent is the correct result). */
static inline double padic_round_mantissa(double a, unsigned dropped)
{
    uint64_t bits = padic_double_bits(a);
    uint64_t half = ((uint64_t)1 << (dropped - 1)) - 1 + ((bits >> dropped) & 1);
    bits = (bits + half) & ~(((uint64_t)1 << dropped) - 1);
    return padic_bits_double(bits);
}

/* Rounds 0 <= a < 2^52 * quantum to a multiple of quantum (a power of two), ties to even. */
static inline double padic_round_to_quantum(double a, double quantum, double inverse)
{
    double m = (a * inverse + 0x1p52) - 0x1p52;
    return m * quantum;
}

static inline double padic_round_f64(double d) { return d; }

static inline double padic_round_f32(double d)
{
    if (d > FLT_MAX) d = FLT_MAX;
    else if (d < -FLT_MAX) d = -FLT_MAX;
    return (double)(float)d;
}

static inline double padic_round_f16(double d)
{
    double a = fabs(d), r;
    if (!(a < PADIC_F16_MAX)) r = PADIC_F16_MAX; /* also catches NaN: never passed in */
    else if (a < 0x1p-14) r = padic_round_to_quantum(a, 0x1p-24, 0x1p24);
    else r = padic_round_mantissa(a, 42);
    return copysign(r, d);
}

static inline double padic_round_bf16(double d)
{
    double a = fabs(d), r;
    if (!(a < PADIC_BF16_MAX)) r = PADIC_BF16_MAX;
    else if (a < 0x1p-126) r = padic_round_to_quantum(a, 0x1p-133, 0x1p133);
    else r = padic_round_mantissa(a, 45);
    return copysign(r, d);
}

/* Stores a value that is exactly representable in the dtype (the output of padic_round_*). */
static inline void padic_store_f32(uint8_t *p, double r) { float f = (float)r; memcpy(p, &f, 4); }
static inline void padic_store_f64(uint8_t *p, double r) { memcpy(p, &r, 8); }

static inline void padic_store_f16(uint8_t *p, double r)
{
    uint16_t h = signbit(r) ? 0x8000u : 0;
    double a = fabs(r);
    if (a < 0x1p-14) h |= (uint16_t)(a * 0x1p24);
    else {
        uint64_t bits = padic_double_bits(a);
        unsigned exponent = (unsigned)(bits >> 52) - 1023u + 15u;
        h |= (uint16_t)(exponent << 10 | ((bits >> 42) & 0x3ffu));
    }
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

static inline void padic_store_bf16(uint8_t *p, double r)
{
    float f = (float)r;
    uint32_t bits;
    memcpy(&bits, &f, 4);
    p[0] = (uint8_t)(bits >> 16);
    p[1] = (uint8_t)(bits >> 24);
}

#endif
