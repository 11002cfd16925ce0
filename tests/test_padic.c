/* The p-adic error-bounded codec: the bound holds on every finite element for generated and
 * adversarial inputs in every float dtype; NaN, Inf and out-of-range values come back bit-exact;
 * progressive decodes of the top k planes, given only their prefix of the payload, stay within
 * padic_progressive_bound; bad parameters are refused with messages naming them; corrupt and
 * truncated payloads are rejected without crashing; output is deterministic. Decoded values are
 * read back with this file's own conversions, not the codec's. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/padic.h"
#include "testing.h"

/* ---- Independent element conversions ------------------------------------------------------ */

static double half_value(uint16_t h)
{
    int exponent = (h >> 10) & 31, mantissa = h & 0x3ff;
    double v;
    if (exponent == 0) v = ldexp(mantissa, -24);
    else if (exponent == 31) v = mantissa ? NAN : INFINITY;
    else v = ldexp(1024 + mantissa, exponent - 25);
    return (h & 0x8000) ? -v : v;
}

static double element_value(saraphis_dtype_t dtype, const uint8_t *p)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: { float f; memcpy(&f, p, 4); return f; }
    case SARAPHIS_DTYPE_F64: { double d; memcpy(&d, p, 8); return d; }
    case SARAPHIS_DTYPE_F16: return half_value((uint16_t)(p[0] | p[1] << 8));
    default: {
        uint32_t bits = (uint32_t)(p[0] | p[1] << 8) << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    }
}

/* Writes v rounded (toward zero is fine: generators only need some value of the dtype). */
static void element_store(saraphis_dtype_t dtype, uint8_t *p, double v)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: { float f = (float)v; memcpy(p, &f, 4); break; }
    case SARAPHIS_DTYPE_F64: memcpy(p, &v, 8); break;
    case SARAPHIS_DTYPE_F16: {
        /* Truncating conversion from float: enough for test data. */
        float f = (float)v;
        uint32_t b;
        memcpy(&b, &f, 4);
        uint16_t sign = (uint16_t)((b >> 16) & 0x8000);
        int exponent = (int)((b >> 23) & 0xff) - 127 + 15;
        uint16_t h;
        if ((b & 0x7fffffff) > 0x7f800000) h = sign | 0x7e00;
        else if (exponent >= 31) h = sign | 0x7c00;
        else if (exponent <= 0) {
            if (exponent < -10) h = sign;
            else h = (uint16_t)(sign | ((0x800000 | (b & 0x7fffff)) >> (14 - exponent)));
        } else h = (uint16_t)(sign | exponent << 10 | (b & 0x7fffff) >> 13);
        p[0] = (uint8_t)h;
        p[1] = (uint8_t)(h >> 8);
        break;
    }
    default: {
        float f = (float)v;
        uint32_t b;
        memcpy(&b, &f, 4);
        if ((b & 0x7fffffff) > 0x7f800000) b |= 0x00400000; /* keep NaN a NaN after truncation */
        p[0] = (uint8_t)(b >> 16);
        p[1] = (uint8_t)(b >> 24);
        break;
    }
    }
}

/* ---- Data generators ---------------------------------------------------------------------- */

static unsigned long long rng = 0x1234567887654321ULL;

static double uniform01(void) { return (double)(test_random(&rng) >> 11) * 0x1p-53; }

static double gaussian(void)
{
    double u = uniform01() + 1e-300, v = uniform01();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

enum {
    GEN_GAUSSIAN, GEN_HUGE, GEN_TINY, GEN_SUBNORMAL, GEN_MIXED, GEN_SPECIALS, GEN_CONSTANT,
    GEN_ZERO, GEN_SPARSE90, GEN_TIES, GEN_RANDOM_BITS, GEN_DTYPE_MAX, GEN_WIDE, GEN_COUNT
};
static const char *const generator_names[GEN_COUNT] = {
    "gaussian", "huge", "tiny", "subnormal", "mixed-signs", "nan-inf", "constant",
    "all-zero", "90%-zeros", "lattice-ties", "random-bits", "dtype-max", "wide-range"};

static double dtype_max(saraphis_dtype_t dtype)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: return FLT_MAX;
    case SARAPHIS_DTYPE_F64: return DBL_MAX;
    case SARAPHIS_DTYPE_F16: return 65504.0;
    default: return 0x1.fep127;
    }
}

static void generate(int kind, saraphis_dtype_t dtype, uint8_t *data, size_t n, double eps)
{
    size_t size = saraphis_dtype_size(dtype);
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        uint8_t *p = data + i * size;
        switch (kind) {
        case GEN_GAUSSIAN: v = 0.05 * gaussian(); break;
        case GEN_HUGE: v = (uniform01() < 0.5 ? -1 : 1) * ldexp(1 + uniform01(), 20 + (int)(uniform01() * 100)); break;
        case GEN_TINY: v = gaussian() * 1e-30; break;
        case GEN_SUBNORMAL:
            if (dtype == SARAPHIS_DTYPE_F16) v = ldexp((double)(test_random(&rng) % 1024), -24);
            else if (dtype == SARAPHIS_DTYPE_F64) v = ldexp((double)(test_random(&rng) % 100000), -1074);
            else v = ldexp((double)(test_random(&rng) % 100000), -149);
            if (test_random(&rng) & 1) v = -v;
            break;
        case GEN_MIXED: v = (i & 1 ? -1 : 1) * gaussian() * ldexp(1, (int)(test_random(&rng) % 12) - 6); break;
        case GEN_SPECIALS: {
            unsigned r = (unsigned)(test_random(&rng) % 8);
            v = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : gaussian();
            break;
        }
        case GEN_CONSTANT: v = 0.3141592653589793; break;
        case GEN_ZERO: v = (i % 7 == 0) ? -0.0 : 0.0; break;
        case GEN_SPARSE90: v = uniform01() < 0.9 ? 0.0 : gaussian() * 0.1; break;
        case GEN_TIES: v = ((double)(int)(gaussian() * 1000) + 0.5) * 2 * eps; break;
        case GEN_RANDOM_BITS:
            for (size_t b = 0; b < size; b++) p[b] = (uint8_t)test_random(&rng);
            continue;
        case GEN_DTYPE_MAX: v = (i & 1 ? -1 : 1) * dtype_max(dtype) * (1 - uniform01() * 1e-3); break;
        case GEN_WIDE: v = gaussian() * ldexp(1, (int)(test_random(&rng) % 40) - 20); break;
        }
        element_store(dtype, p, v);
    }
}

/* ---- Checking a decode -------------------------------------------------------------------- */

/* Every finite element within bound, every other element bit-identical; returns the max error. */
static int check_decoded(saraphis_dtype_t dtype, const uint8_t *original, const uint8_t *decoded, size_t n,
                         double bound, double *max_error, const char *label)
{
    size_t size = saraphis_dtype_size(dtype);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double x = element_value(dtype, original + i * size);
        double y = element_value(dtype, decoded + i * size);
        if (!isfinite(x)) {
            if (memcmp(original + i * size, decoded + i * size, size) != 0) {
                CHECK_MSG(0, "%s: element %zu (non-finite) not restored bit-exactly", label, i);
                return 0;
            }
            continue;
        }
        double err = fabs(x - y);
        if (!(err <= bound)) {
            CHECK_MSG(0, "%s: element %zu: |%.17g - %.17g| = %.3g exceeds bound %.17g", label, i, x, y, err, bound);
            return 0;
        }
        worst = err > worst ? err : worst;
    }
    *max_error = worst;
    return 1;
}

static uint8_t *copy_of(const uint8_t *src, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, src, size);
    return copy;
}

/* Encodes, decodes in full and at every plane count from an exact-size prefix; checks bounds. */
static void round_trip(saraphis_dtype_t dtype, const uint8_t *data, size_t n, const padic_params_t *params,
                       const char *label, codec_scratch_t *scratch)
{
    size_t size = saraphis_dtype_size(dtype), raw = n * size;
    size_t capacity = padic_chunk_bound(raw, dtype, params);
    uint8_t *payload = malloc(capacity);
    uint8_t *decoded = malloc(raw ? raw : 1);
    size_t written = 0;
    padic_chunk_stats_t stats;
    saraphis_status_t status = padic_encode_chunk(params, dtype, data, raw, payload, capacity, &written, scratch, &stats);
    CHECK_MSG(status == SARAPHIS_OK, "%s: encode failed: %s", label, saraphis_last_error());
    if (status != SARAPHIS_OK) goto done;
    CHECK_MSG(written <= capacity, "%s: wrote past the bound", label);

    /* Full decode from an exact-size copy (ASan sees any over-read). */
    uint8_t *exact = copy_of(payload, written);
    double bound = -1, measured = 0;
    status = padic_decode_chunk(dtype, exact, written, decoded, raw, 0, scratch, &bound);
    CHECK_MSG(status == SARAPHIS_OK, "%s: decode failed: %s", label, saraphis_last_error());
    if (status == SARAPHIS_OK) {
        CHECK_MSG(bound == params->eps, "%s: full decode reports bound %g, not eps %g", label, bound, params->eps);
        if (check_decoded(dtype, data, decoded, n, params->eps, &measured, label))
            CHECK_MSG(measured == stats.max_error, "%s: stats say max error %.17g, measured %.17g", label, stats.max_error, measured);
    }
    free(exact);

    /* Progressive: only the prefix of the top k planes. */
    for (unsigned k = 1; k < params->precision; k++) {
        size_t prefix = padic_prefix_bytes(payload, written, k);
        CHECK_MSG(prefix > 0 && prefix <= written, "%s: prefix for %u planes is %zu of %zu", label, k, prefix, written);
        if (!(prefix > 0 && prefix <= written)) continue;
        uint8_t *part = copy_of(payload, prefix);
        status = padic_decode_chunk(dtype, part, prefix, decoded, raw, k, scratch, &bound);
        CHECK_MSG(status == SARAPHIS_OK, "%s: decode of %u planes failed: %s", label, k, saraphis_last_error());
        if (status == SARAPHIS_OK) {
            double expected = padic_progressive_bound(params, k);
            CHECK_MSG(bound == expected, "%s: %u planes report bound %g, documented %g", label, k, bound, expected);
            char sub[160];
            snprintf(sub, sizeof sub, "%s, %u of %u planes", label, k, params->precision);
            check_decoded(dtype, data, decoded, n, expected, &measured, sub);
        }
        if (prefix > 0) {
            /* One byte short of the prefix must be refused. */
            status = padic_decode_chunk(dtype, part, prefix - 1, decoded, raw, k, scratch, &bound);
            CHECK_MSG(status != SARAPHIS_OK, "%s: %u planes decoded from a short prefix", label, k);
        }
        free(part);
    }
done:
    free(payload);
    free(decoded);
}

static const saraphis_dtype_t float_dtypes[] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_F64, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_BF16};

static void test_generated_round_trips(void)
{
    codec_scratch_t scratch = {0};
    const double bounds[] = {1e-6, 1e-3, 0.1, 7.0};
    const unsigned primes[] = {251, 2, 3, 13};
    const size_t counts[] = {0, 1, 7, 1000, 40000};
    for (size_t d = 0; d < sizeof float_dtypes / sizeof *float_dtypes; d++) {
        saraphis_dtype_t dtype = float_dtypes[d];
        size_t size = saraphis_dtype_size(dtype);
        for (int kind = 0; kind < GEN_COUNT; kind++) {
            for (size_t b = 0; b < sizeof bounds / sizeof *bounds; b++) {
                for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
                    size_t n = counts[c];
                    /* Keep the run short: large sizes only for some combinations. */
                    if (n > 1000 && (b + (size_t)kind) % 3) continue;
                    uint8_t *data = malloc(n * size + 1);
                    generate(kind, dtype, data, n, bounds[b]);
                    for (size_t q = 0; q < sizeof primes / sizeof *primes; q++) {
                        if (n > 1000 && q > 1) continue;
                        padic_params_t params = {bounds[b], primes[q], 1};
                        unsigned needed = 0;
                        CHECK(padic_required_precision(&params, dtype, data, n * size, &needed) == SARAPHIS_OK);
                        params.precision = needed;
                        char label[160];
                        snprintf(label, sizeof label, "%s %s n=%zu eps=%g p=%u P=%u", saraphis_dtype_name(dtype),
                                 generator_names[kind], n, bounds[b], primes[q], needed);
                        round_trip(dtype, data, n, &params, label, &scratch);
                        /* A precision larger than needed (all-zero top planes) and the maximum. */
                        if (n >= 1000 && q == 0) {
                            params.precision = padic_max_precision(primes[q]);
                            snprintf(label, sizeof label, "%s %s n=%zu eps=%g p=%u P=max", saraphis_dtype_name(dtype),
                                     generator_names[kind], n, bounds[b], primes[q]);
                            round_trip(dtype, data, n, &params, label, &scratch);
                        }
                        /* A precision too small: the misfits become escapes, bound still holds. */
                        if (needed > 1 && n >= 1000) {
                            params.precision = needed - 1;
                            snprintf(label, sizeof label, "%s %s n=%zu eps=%g p=%u P=needed-1", saraphis_dtype_name(dtype),
                                     generator_names[kind], n, bounds[b], primes[q]);
                            round_trip(dtype, data, n, &params, label, &scratch);
                        }
                    }
                    free(data);
                }
            }
        }
    }
    codec_scratch_release(&scratch);
}

/* NaN payloads, infinities, huge and subnormal values: escapes restored bit for bit. */
static void test_escapes_bit_exact(void)
{
    codec_scratch_t scratch = {0};
    const uint32_t patterns[] = {0x7fc00000, 0x7f800001, 0xffc12345, 0x7f800000, 0xff800000,
                                 0x7f7fffff, 0xff7fffff, 0x00000001, 0x80000001, 0x3f800000, 0x5e000000};
    size_t n = 4096, count = sizeof patterns / sizeof *patterns;
    uint32_t *data = malloc(n * 4);
    for (size_t i = 0; i < n; i++) data[i] = i % 3 == 0 ? patterns[(i / 3) % count] : 0x3c000000u + (uint32_t)(i * 977 % 4096);
    padic_params_t params = {1e-6, 251, 3};
    size_t capacity = padic_chunk_bound(n * 4, SARAPHIS_DTYPE_F32, &params), written = 0;
    uint8_t *payload = malloc(capacity);
    uint32_t *decoded = malloc(n * 4);
    padic_chunk_stats_t stats;
    CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, payload, capacity, &written, &scratch, &stats) == SARAPHIS_OK);
    CHECK(stats.escapes > 0);
    for (unsigned k = 0; k <= params.precision; k++) {
        CHECK(padic_decode_chunk(SARAPHIS_DTYPE_F32, payload, written, (uint8_t *)decoded, n * 4, k, &scratch, NULL) == SARAPHIS_OK);
        size_t mismatches = 0;
        for (size_t i = 0; i < n; i++) {
            float x;
            memcpy(&x, &data[i], 4);
            /* NaN, Inf and values far beyond the lattice (|x| / 2eps >= 2^40) are escapes. */
            if (!isfinite(x) || fabs(x) >= 1e6) mismatches += decoded[i] != data[i];
        }
        CHECK_MSG(mismatches == 0, "%zu escapes not bit-exact at %u planes", mismatches, k);
    }
    free(data);
    free(payload);
    free(decoded);
    codec_scratch_release(&scratch);
}

static int message_mentions(const char *word) { return strstr(saraphis_last_error(), word) != NULL; }

static void test_parameter_errors(void)
{
    const unsigned bad_primes[] = {0, 1, 4, 9, 15, 91, 249, 252, 253, 256, 257, 65521, 4294967291u};
    for (size_t i = 0; i < sizeof bad_primes / sizeof *bad_primes; i++) {
        padic_params_t params = {1e-3, bad_primes[i], 2};
        CHECK_MSG(padic_validate(&params) == SARAPHIS_ERROR_INVALID_ARGUMENT && message_mentions("prime"),
                  "prime %u accepted or message '%s'", bad_primes[i], saraphis_last_error());
    }
    const unsigned good_primes[] = {2, 3, 5, 7, 11, 13, 127, 131, 241, 251};
    for (size_t i = 0; i < sizeof good_primes / sizeof *good_primes; i++) {
        padic_params_t params = {1e-3, good_primes[i], 1};
        CHECK_MSG(padic_validate(&params) == SARAPHIS_OK, "prime %u refused: %s", good_primes[i], saraphis_last_error());
    }
    const double bad_eps[] = {0.0, -0.0, -1e-3, NAN, INFINITY, -INFINITY, 1e-320, DBL_MAX};
    for (size_t i = 0; i < sizeof bad_eps / sizeof *bad_eps; i++) {
        padic_params_t params = {bad_eps[i], 251, 2};
        CHECK_MSG(padic_validate(&params) == SARAPHIS_ERROR_INVALID_ARGUMENT && message_mentions("error bound"),
                  "eps %g accepted or message '%s'", bad_eps[i], saraphis_last_error());
    }
    padic_params_t params = {1e-3, 251, 0};
    CHECK(padic_validate(&params) == SARAPHIS_ERROR_INVALID_ARGUMENT && message_mentions("precision"));
    params.precision = padic_max_precision(251) + 1;
    CHECK(padic_validate(&params) == SARAPHIS_ERROR_INVALID_ARGUMENT && message_mentions("precision"));
    params.precision = padic_max_precision(251);
    CHECK(padic_validate(&params) == SARAPHIS_OK);
    CHECK(padic_max_precision(251) == 6);
    CHECK(padic_max_precision(2) == 40);
    CHECK(padic_max_precision(252) == 0);

    /* The encoder validates too. */
    float data[64] = {0};
    uint8_t out[4096];
    size_t written;
    codec_scratch_t scratch = {0};
    padic_params_t bad = {1e-3, 250, 2};
    CHECK(padic_encode_chunk(&bad, SARAPHIS_DTYPE_F32, (const uint8_t *)data, sizeof data, out, sizeof out, &written, &scratch, NULL) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    bad = (padic_params_t){-1, 251, 2};
    CHECK(padic_encode_chunk(&bad, SARAPHIS_DTYPE_F32, (const uint8_t *)data, sizeof data, out, sizeof out, &written, &scratch, NULL) == SARAPHIS_ERROR_INVALID_ARGUMENT);

    /* Precision too small for the data's range. */
    float ranged[4] = {0.5f, -10.0f, 3.0f, NAN};
    padic_params_t small = {1e-3, 251, 1};
    unsigned needed = 0;
    CHECK(padic_required_precision(&small, SARAPHIS_DTYPE_F32, ranged, sizeof ranged, &needed) == SARAPHIS_OK);
    CHECK(needed == 2); /* 10 / 2e-3 = 5000 lattice steps: two base-251 digits */
    CHECK(padic_check_precision(&small, SARAPHIS_DTYPE_F32, ranged, sizeof ranged) == SARAPHIS_ERROR_INVALID_ARGUMENT &&
          message_mentions("precision 1") && message_mentions("needs 2"));
    small.precision = 2;
    CHECK(padic_check_precision(&small, SARAPHIS_DTYPE_F32, ranged, sizeof ranged) == SARAPHIS_OK);

    /* Non-float dtypes are refused (the caller routes them to the lossless codec). */
    int32_t ints[16] = {0};
    padic_params_t good = {1e-3, 251, 2};
    CHECK(padic_encode_chunk(&good, SARAPHIS_DTYPE_I32, (const uint8_t *)ints, sizeof ints, out, sizeof out, &written, &scratch, NULL) == SARAPHIS_ERROR_DTYPE);
    CHECK(padic_encode_chunk(&good, SARAPHIS_DTYPE_F8_E4M3, (const uint8_t *)ints, sizeof ints, out, sizeof out, &written, &scratch, NULL) == SARAPHIS_ERROR_DTYPE);
    CHECK(padic_chunk_bound(64, SARAPHIS_DTYPE_I32, &good) == 0);
    /* Not a whole number of elements. */
    CHECK(padic_encode_chunk(&good, SARAPHIS_DTYPE_F32, (const uint8_t *)data, 6, out, sizeof out, &written, &scratch, NULL) == SARAPHIS_ERROR_DTYPE);
    /* Output too small. */
    CHECK(padic_encode_chunk(&good, SARAPHIS_DTYPE_F32, (const uint8_t *)data, sizeof data, out, 10, &written, &scratch, NULL) == SARAPHIS_ERROR_BUFFER_TOO_SMALL);
    codec_scratch_release(&scratch);
}

static void test_resolve_bound(void)
{
    float data[5] = {1.0f, 2.0f, 3.0f, 4.0f, NAN};
    double eps = -1;
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, data, sizeof data, PADIC_ABSOLUTE, 1e-3, &eps) == SARAPHIS_OK && eps == 1e-3);
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, data, sizeof data, PADIC_RELATIVE_RANGE, 1e-2, &eps) == SARAPHIS_OK && fabs(eps - 3e-2) < 1e-15);
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, data, sizeof data, PADIC_RELATIVE_STD, 1e-2, &eps) == SARAPHIS_OK &&
          fabs(eps - 1e-2 * sqrt(1.25)) < 1e-15);
    float constant[3] = {2.0f, 2.0f, 2.0f};
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, constant, sizeof constant, PADIC_RELATIVE_STD, 1e-2, &eps) == SARAPHIS_OK && eps == 0);
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, constant, sizeof constant, PADIC_RELATIVE_RANGE, 1e-2, &eps) == SARAPHIS_OK && eps == 0);
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, data, sizeof data, PADIC_ABSOLUTE, 0, &eps) == SARAPHIS_ERROR_INVALID_ARGUMENT && message_mentions("error bound"));
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, data, sizeof data, PADIC_ABSOLUTE, -1e-3, &eps) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, data, sizeof data, PADIC_RELATIVE_STD, NAN, &eps) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_F32, data, sizeof data, 7, 1e-3, &eps) == SARAPHIS_ERROR_INVALID_ARGUMENT && message_mentions("mode"));
    int32_t ints[2] = {1, 2};
    CHECK(padic_resolve_bound(SARAPHIS_DTYPE_I32, ints, sizeof ints, PADIC_ABSOLUTE, 1e-3, &eps) == SARAPHIS_ERROR_DTYPE);
}

/* Corrupt and truncated payloads: every outcome is a clean status (ASan/UBSan watch the rest). */
static void test_corruption(void)
{
    codec_scratch_t scratch = {0};
    const size_t n = 3000;
    float *data = malloc(n * 4);
    for (size_t i = 0; i < n; i++) data[i] = i % 50 == 0 ? NAN : (i % 10 == 0 ? 0.0f : (float)(gaussian() * 0.05));
    padic_params_t params = {1e-4, 251, 3};
    size_t capacity = padic_chunk_bound(n * 4, SARAPHIS_DTYPE_F32, &params), written = 0;
    uint8_t *payload = malloc(capacity);
    uint8_t *decoded = malloc(n * 4);
    CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, payload, capacity, &written, &scratch, NULL) == SARAPHIS_OK);
    /* Truncation at every length. */
    size_t refused = 0;
    for (size_t cut = 0; cut < written; cut++) {
        uint8_t *part = copy_of(payload, cut);
        refused += padic_decode_chunk(SARAPHIS_DTYPE_F32, part, cut, decoded, n * 4, 0, &scratch, NULL) != SARAPHIS_OK;
        free(part);
    }
    CHECK_MSG(refused == written, "%zu of %zu truncations accepted", written - refused, written);
    /* Every byte changed: the checksums catch it. */
    uint8_t *copy = copy_of(payload, written);
    size_t caught = 0;
    for (size_t at = 0; at < written; at++) {
        copy[at] ^= 0x5a;
        caught += padic_decode_chunk(SARAPHIS_DTYPE_F32, copy, written, decoded, n * 4, 0, &scratch, NULL) != SARAPHIS_OK;
        copy[at] ^= 0x5a;
    }
    CHECK_MSG(caught == written, "%zu of %zu byte changes went unnoticed", written - caught, written);
    /* Wrong dtype or size from the caller. */
    CHECK(padic_decode_chunk(SARAPHIS_DTYPE_F16, copy, written, decoded, n * 2, 0, &scratch, NULL) == SARAPHIS_ERROR_CORRUPT);
    CHECK(padic_decode_chunk(SARAPHIS_DTYPE_F32, copy, written, decoded, n * 4 - 4, 0, &scratch, NULL) == SARAPHIS_ERROR_CORRUPT);
    CHECK(padic_decode_chunk(SARAPHIS_DTYPE_I32, copy, written, decoded, n * 4, 0, &scratch, NULL) == SARAPHIS_ERROR_DTYPE);
    /* Random garbage of many sizes. */
    for (int trial = 0; trial < 2000; trial++) {
        size_t size = (size_t)(test_random(&rng) % 600);
        uint8_t *junk = malloc(size + 1);
        for (size_t i = 0; i < size; i++) junk[i] = (uint8_t)test_random(&rng);
        if (size > 4 && trial % 2) { junk[0] = 1; junk[1] = 1; junk[2] = 251; junk[3] = (uint8_t)(1 + trial % 6); }
        padic_decode_chunk(SARAPHIS_DTYPE_F32, junk, size, decoded, 64, (unsigned)(trial % 4), &scratch, NULL);
        padic_prefix_bytes(junk, size, (unsigned)(trial % 4));
        free(junk);
    }
    CHECK(1);
    free(copy);
    free(data);
    free(payload);
    free(decoded);
    codec_scratch_release(&scratch);
}

static void test_determinism_and_sizes(void)
{
    const size_t n = 65536;
    float *data = malloc(n * 4);
    for (size_t i = 0; i < n; i++) data[i] = (float)(gaussian() * 0.05);
    padic_params_t params = {1e-4, 251, 3};
    size_t capacity = padic_chunk_bound(n * 4, SARAPHIS_DTYPE_F32, &params), a_size = 0, b_size = 0;
    uint8_t *a = malloc(capacity), *b = malloc(capacity);
    codec_scratch_t reused = {0}, fresh = {0};
    /* Dirty the reused scratch with another chunk first. */
    float other[1000];
    for (int i = 0; i < 1000; i++) other[i] = (float)i;
    CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)other, sizeof other, a, capacity, &a_size, &reused, NULL) == SARAPHIS_OK);
    CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, a, capacity, &a_size, &reused, NULL) == SARAPHIS_OK);
    CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, b, capacity, &b_size, &fresh, NULL) == SARAPHIS_OK);
    CHECK(a_size == b_size && memcmp(a, b, a_size) == 0);
    /* Info and prefixes agree with the payload. */
    padic_info_t info;
    CHECK(padic_payload_info(a, a_size, &info) == SARAPHIS_OK);
    CHECK(info.params.prime == 251 && info.params.precision == 3 && info.params.eps == 1e-4 && info.elements == n);
    size_t total = info.head_bytes;
    for (unsigned j = 0; j < 3; j++) total += info.plane_bytes[j];
    CHECK(total == a_size && padic_prefix_bytes(a, a_size, 0) == a_size && padic_prefix_bytes(a, a_size, 3) == a_size);
    CHECK(padic_prefix_bytes(a, 20, 1) == 0);
    /* Ratio near the entropy of the quantised integers: sigma / step = 250 -> about 9.9 bits. */
    CHECK_MSG(a_size * 8.0 / n < 10.3, "gaussian at sigma/step 250: %.2f bits/element", a_size * 8.0 / n);

    /* Sparse data is cheap; all-zero planes cost almost nothing. */
    for (size_t i = 0; i < n; i++) data[i] = i % 10 ? 0.0f : (float)(gaussian() * 0.05);
    CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, a, capacity, &a_size, &reused, NULL) == SARAPHIS_OK);
    CHECK_MSG(a_size * 8.0 / n < 1.6, "90%% zeros: %.2f bits/element", a_size * 8.0 / n);
    memset(data, 0, n * 4);
    params.precision = 6;
    CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, a, capacity, &a_size, &reused, NULL) == SARAPHIS_OK);
    CHECK_MSG(a_size < 200, "all-zero chunk takes %zu bytes", a_size);
    free(data);
    free(a);
    free(b);
    codec_scratch_release(&reused);
    codec_scratch_release(&fresh);
}

/* The hand-written SIMD paths against the portable reference: the same payload bytes, the same
 * stats, the same decoded bytes at every plane count (whatever the CPU: without AVX2 both are the
 * portable path). Sizes around the 64-element words those paths work in; bounds that make the
 * quantiser clamp to the float range (1e33 on values near FLT_MAX) and that escape (ties). */
static void test_simd_matches_portable(void)
{
    codec_scratch_t scratch = {0};
    const double bounds[] = {1e-6, 1e-3, 0.1, 7.0, 1e33};
    const unsigned primes[] = {251, 3};
    const size_t counts[] = {1, 63, 64, 65, 1000, 4133};
    for (size_t d = 0; d < sizeof float_dtypes / sizeof *float_dtypes; d++) {
        saraphis_dtype_t dtype = float_dtypes[d];
        size_t size = saraphis_dtype_size(dtype);
        for (int kind = 0; kind < GEN_COUNT; kind++)
            for (size_t b = 0; b < sizeof bounds / sizeof *bounds; b++)
                for (size_t c = 0; c < sizeof counts / sizeof *counts; c++)
                    for (size_t q = 0; q < sizeof primes / sizeof *primes; q++) {
                        size_t n = counts[c], raw = n * size;
                        uint8_t *data = malloc(raw);
                        generate(kind, dtype, data, n, bounds[b]);
                        padic_params_t params = {bounds[b], primes[q], 1};
                        unsigned needed = 0;
                        CHECK(padic_required_precision(&params, dtype, data, raw, &needed) == SARAPHIS_OK);
                        params.precision = needed;
                        size_t capacity = padic_chunk_bound(raw, dtype, &params), fast_size = 0, portable_size = 0;
                        uint8_t *fast = malloc(capacity), *portable = malloc(capacity);
                        uint8_t *fast_out = malloc(raw), *portable_out = malloc(raw);
                        padic_chunk_stats_t fast_stats, portable_stats;
                        char label[160];
                        snprintf(label, sizeof label, "%s %s n=%zu eps=%g p=%u P=%u", saraphis_dtype_name(dtype),
                                 generator_names[kind], n, bounds[b], primes[q], needed);
                        saraphis_status_t a = padic_encode_chunk(&params, dtype, data, raw, fast, capacity, &fast_size, &scratch, &fast_stats);
                        saraphis_status_t e = padic_encode_chunk_portable(&params, dtype, data, raw, portable, capacity,
                                                                          &portable_size, &scratch, &portable_stats);
                        CHECK_MSG(a == SARAPHIS_OK && e == SARAPHIS_OK, "%s: encode failed", label);
                        int same = a == SARAPHIS_OK && e == SARAPHIS_OK && fast_size == portable_size &&
                                   memcmp(fast, portable, fast_size) == 0 && fast_stats.escapes == portable_stats.escapes &&
                                   fast_stats.max_error == portable_stats.max_error;
                        CHECK_MSG(same, "%s: SIMD and portable payloads differ", label);
                        for (unsigned k = 0; same && k <= needed; k++) {
                            a = padic_decode_chunk(dtype, fast, fast_size, fast_out, raw, k, &scratch, NULL);
                            e = padic_decode_chunk_portable(dtype, fast, fast_size, portable_out, raw, k, &scratch, NULL);
                            CHECK_MSG(a == SARAPHIS_OK && e == SARAPHIS_OK && memcmp(fast_out, portable_out, raw) == 0,
                                      "%s: SIMD and portable decodes differ at %u planes", label, k);
                        }
                        free(data);
                        free(fast);
                        free(portable);
                        free(fast_out);
                        free(portable_out);
                    }
    }
    /* Two-digit chunks as the encoder's histogram shortcuts see them (p = 251, eps = 0.5, so q is
     * about x): magnitudes below 251 with a sparse top plane, then a share of them from 15 p = 3765
     * on (counted one by one), then most of them there (counted through the digits). */
    {
        const size_t n = 65536;
        const unsigned beyond_every[] = {0, 97, 5};
        unsigned long long own = 0x2d1617;
        float *data = malloc(n * 4);
        for (size_t t = 0; t < sizeof beyond_every / sizeof *beyond_every; t++) {
            for (size_t i = 0; i < n; i++) {
                double v = (double)(test_random(&own) % 200);
                if (i % 53 == 0) v = 251 + (double)(test_random(&own) % 3000);
                if (beyond_every[t] && i % beyond_every[t] == 0) v = 3765 + (double)(test_random(&own) % 50000);
                data[i] = (float)(test_random(&own) & 1 ? -v : v);
            }
            padic_params_t params = {0.5, 251, 2};
            size_t capacity = padic_chunk_bound(n * 4, SARAPHIS_DTYPE_F32, &params), fast_size = 0, portable_size = 0;
            uint8_t *fast = malloc(capacity), *portable = malloc(capacity);
            padic_chunk_stats_t fast_stats, portable_stats;
            CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, fast, capacity, &fast_size, &scratch,
                                     &fast_stats) == SARAPHIS_OK);
            CHECK(padic_encode_chunk_portable(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, portable, capacity,
                                              &portable_size, &scratch, &portable_stats) == SARAPHIS_OK);
            CHECK_MSG(fast_size == portable_size && memcmp(fast, portable, fast_size) == 0,
                      "two-digit chunk (every %u beyond 15 p): SIMD and portable payloads differ", beyond_every[t]);
            free(fast);
            free(portable);
        }
        free(data);
    }
    /* Products exactly halfway between two floats: step = 3 * 2^-26, odd lattice points with
     * 3q an odd multiple of 2^-26 in [0.25, 0.5), where floats are 2^-25 apart. Each value is the
     * neighbour that rounding to nearest-even does not pick, so a fast path that broke ties any
     * other way would accept what the exact check refuses. */
    {
        const size_t n = 4096;
        unsigned long long own = 0x7e57ab1e; /* its own generator: the other tests' data stay as they were */
        float *data = malloc(n * 4);
        for (size_t i = 0; i < n; i++) {
            uint64_t q = 5592407 + 2 * (test_random(&own) % 2796200); /* odd, 3q * 2^-26 in [0.25, 0.5) */
            double product = (double)(3 * q) * 0x1p-26, low = floor(product * 0x1p25) * 0x1p-25, high = low + 0x1p-25;
            int low_even = ((uint64_t)(low * 0x1p25) & 1) == 0;
            float x = (float)(low_even ? high : low);
            data[i] = test_random(&own) & 1 ? -x : x;
        }
        padic_params_t params = {3 * 0x1p-27, 251, 0};
        unsigned needed = 0;
        CHECK(padic_required_precision(&params, SARAPHIS_DTYPE_F32, data, n * 4, &needed) == SARAPHIS_OK);
        params.precision = needed;
        size_t capacity = padic_chunk_bound(n * 4, SARAPHIS_DTYPE_F32, &params), fast_size = 0, portable_size = 0;
        uint8_t *fast = malloc(capacity), *portable = malloc(capacity);
        padic_chunk_stats_t fast_stats, portable_stats;
        CHECK(padic_encode_chunk(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, fast, capacity, &fast_size, &scratch, &fast_stats) == SARAPHIS_OK);
        CHECK(padic_encode_chunk_portable(&params, SARAPHIS_DTYPE_F32, (const uint8_t *)data, n * 4, portable, capacity, &portable_size,
                                          &scratch, &portable_stats) == SARAPHIS_OK);
        CHECK_MSG(fast_size == portable_size && memcmp(fast, portable, fast_size) == 0 && fast_stats.max_error == portable_stats.max_error,
                  "float-rounding ties: SIMD and portable payloads differ");
        free(data);
        free(fast);
        free(portable);
    }
    codec_scratch_release(&scratch);
}

static void test_progressive_bound_values(void)
{
    padic_params_t params = {1e-3, 251, 3};
    CHECK(padic_progressive_bound(&params, 0) == 1e-3);
    CHECK(padic_progressive_bound(&params, 3) == 1e-3);
    CHECK(padic_progressive_bound(&params, 9) == 1e-3);
    CHECK(fabs(padic_progressive_bound(&params, 2) - (2 * 251 + 3) * 1e-3) < 1e-12);
    CHECK(fabs(padic_progressive_bound(&params, 1) - (2 * 63001.0 + 3) * 1e-3) < 1e-9);
}

int main(void)
{
    test_parameter_errors();
    test_resolve_bound();
    test_progressive_bound_values();
    test_escapes_bit_exact();
    test_determinism_and_sizes();
    test_corruption();
    test_simd_matches_portable();
    test_generated_round_trips();
    return TEST_SUMMARY("test_padic");
}
