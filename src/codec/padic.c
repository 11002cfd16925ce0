/* The p-adic error-bounded codec (padic.h; docs/padic.md specifies the payload byte by byte).
 *
 * Payload, little-endian:
 *   u8 version, u8 dtype, u8 prime, u8 precision P, f64 eps, u32 elements, u32 escapes,
 *   u32 escape section bytes, then P x {u32 plane bytes, u64 plane checksum}, the escape section,
 *   u64 head checksum (XXH64 of everything before it), then the planes, most significant first.
 * A plane: u8 mode (0 all digits zero, 1 dense, 2 sparse), u32 signs, [sign stream], then for
 * dense: u8 contexts C and C entropy streams; for sparse: u32 count, varint positions, a stream.
 *
 * Invariant of the element codes in the work array: bits 0..62 hold the magnitude (during
 * decoding, the magnitude's digits decoded so far), bit 63 the sign; an escape holds 0. */
/* Lets GCC if-convert (and so vectorise) the selects of the hot loops; it changes no result,
 * only what the compiler assumes about floating-point exception flags, which nothing reads.
 * Before every include, so that the inline helpers carry the same options and inline. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "codec/padic.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codec/entropy.h"
#include "codec/padic_values.h"
#include "codec/rans.h"
#include "common/bits.h"
#include "common/checksum.h"
#include "common/error.h"

/* Hand-written AVX2 paths (x86-64, GCC or clang), used when rans_have_avx2() says the CPU has AVX2
 * and BMI2 and SARAPHIS_NO_SIMD is not set; each gives the bytes of the portable code beside it. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define PADIC_HAVE_AVX2_PATH 1
#define PADIC_AVX2 __attribute__((target("avx2,bmi2,popcnt")))
#endif

/* The encoder's check and the decoder must round every product and difference the same way:
 * no fused multiply-add (GCC does not contract in ISO C mode; clang needs telling). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define PADIC_FIXED_HEADER 24u
#define PADIC_PLANE_ENTRY 12u
#define PADIC_SIGN_BIT ((uint64_t)1 << 63)
#define PADIC_MAGNITUDE_MASK (PADIC_SIGN_BIT - 1)
#define PADIC_MAGNITUDE_LIMIT ((uint64_t)1 << PADIC_MAGNITUDE_BITS)
/* Most planes the byte-plane encoder and decoder hold (magnitudes below 251^4 < 2^32). */
#define PADIC_NARROW_PLANES 4u

enum { PLANE_ZERO = 0, PLANE_DENSE = 1, PLANE_SPARSE = 2 };
enum { ESCAPES_NONE = 0, ESCAPES_DELTAS = 1, ESCAPES_BITMAP = 2 };

/* ---- Parameters -------------------------------------------------------------------------- */

static int is_prime(unsigned value)
{
    if (value < 2) return 0;
    for (unsigned d = 2; d * d <= value; d++)
        if (value % d == 0) return 0;
    return 1;
}

unsigned padic_max_precision(unsigned prime)
{
    if (prime < 2 || prime > PADIC_PRIME_MAX) return 0;
    unsigned precision = 1;
    uint64_t power = 1; /* prime^(precision - 1) */
    while (power * prime < PADIC_MAGNITUDE_LIMIT) {
        power *= prime;
        precision++;
    }
    return precision;
}

saraphis_status_t padic_validate(const padic_params_t *params)
{
    if (!params) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "p-adic: no parameters given");
    if (params->prime < 2 || params->prime > PADIC_PRIME_MAX)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "prime %u is out of range: it must be a prime from 2 to %u",
                         params->prime, PADIC_PRIME_MAX);
    if (!is_prime(params->prime))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "prime %u is not a prime number (try 251, the default, or any prime from 2 to %u)",
                         params->prime, PADIC_PRIME_MAX);
    double eps = params->eps;
    if (!(eps > 0) || !isfinite(eps) || !isfinite(2 * eps) || eps < DBL_MIN)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "error bound (eps) %g must be a finite number greater than 0", eps);
    unsigned max_precision = padic_max_precision(params->prime);
    if (params->precision < 1 || params->precision > max_precision)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "precision %u is out of range: with prime %u it must be from 1 to %u digits",
                         params->precision, params->prime, max_precision);
    return SARAPHIS_OK;
}

static uint64_t power_u64(unsigned base, unsigned exponent)
{
    uint64_t result = 1;
    while (exponent--) result *= base;
    return result;
}

double padic_progressive_bound(const padic_params_t *params, unsigned planes)
{
    if (planes == 0 || planes >= params->precision) return params->eps;
    double width = (double)power_u64(params->prime, params->precision - planes);
    return (2 * width + 3) * params->eps;
}

/* ---- Element access by dtype ------------------------------------------------------------ */

typedef double (*load_fn)(const uint8_t *);

static load_fn loader_for(saraphis_dtype_t dtype)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: return padic_load_f32;
    case SARAPHIS_DTYPE_F64: return padic_load_f64;
    case SARAPHIS_DTYPE_F16: return padic_load_f16;
    case SARAPHIS_DTYPE_BF16: return padic_load_bf16;
    default: return NULL;
    }
}

static saraphis_status_t check_dtype(saraphis_dtype_t dtype, size_t bytes, const char *what)
{
    if (!loader_for(dtype))
        return error_set(SARAPHIS_ERROR_DTYPE, "%s: the p-adic codec takes F32, F64, F16 or BF16, not %s", what,
                         saraphis_dtype_name(dtype));
    size_t size = saraphis_dtype_size(dtype);
    if (bytes % size)
        return error_set(SARAPHIS_ERROR_DTYPE, "%s: %zu bytes is not a whole number of %s elements", what, bytes,
                         saraphis_dtype_name(dtype));
    return SARAPHIS_OK;
}

/* The statistics behind relative bounds, accumulated in element order (so a tensor scanned in
 * batches gives bit for bit the same eps as one scanned whole). */
void padic_scan_init(padic_scan_t *scan)
{
    scan->lo = INFINITY;
    scan->hi = -INFINITY;
    scan->sum = 0;
    scan->squares = 0;
    scan->finite = 0;
}

saraphis_status_t padic_scan_moments(padic_scan_t *scan, saraphis_dtype_t dtype, const void *data, size_t bytes)
{
    SPS_TRY(check_dtype(dtype, bytes, "p-adic bound"));
    load_fn load = loader_for(dtype);
    size_t size = saraphis_dtype_size(dtype), n = bytes / size;
    const uint8_t *src = data;
    double lo = scan->lo, hi = scan->hi, sum = scan->sum;
    uint64_t finite = scan->finite;
    for (size_t i = 0; i < n; i++) {
        double x = load(src + i * size);
        if (!isfinite(x)) continue;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        sum += x;
        finite++;
    }
    scan->lo = lo;
    scan->hi = hi;
    scan->sum = sum;
    scan->finite = finite;
    return SARAPHIS_OK;
}

saraphis_status_t padic_scan_squares(padic_scan_t *scan, saraphis_dtype_t dtype, const void *data, size_t bytes)
{
    SPS_TRY(check_dtype(dtype, bytes, "p-adic bound"));
    if (scan->finite == 0) return SARAPHIS_OK;
    load_fn load = loader_for(dtype);
    size_t size = saraphis_dtype_size(dtype), n = bytes / size;
    const uint8_t *src = data;
    double mean = scan->sum / (double)scan->finite, squares = scan->squares;
    for (size_t i = 0; i < n; i++) {
        double x = load(src + i * size);
        if (isfinite(x)) squares += (x - mean) * (x - mean);
    }
    scan->squares = squares;
    return SARAPHIS_OK;
}

saraphis_status_t padic_scan_eps(const padic_scan_t *scan, int mode, double bound, double *eps)
{
    if (!(bound > 0) || !isfinite(bound))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "error bound %g must be a finite number greater than 0", bound);
    if (mode == PADIC_ABSOLUTE) {
        *eps = bound;
        return SARAPHIS_OK;
    }
    if (mode != PADIC_RELATIVE_RANGE && mode != PADIC_RELATIVE_STD)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "error bound mode %d is unknown (0 absolute, 1 relative to range, 2 relative to std)", mode);
    double scale = 0;
    if (scan->finite > 0 && mode == PADIC_RELATIVE_RANGE) scale = scan->hi - scan->lo;
    if (scan->finite > 0 && mode == PADIC_RELATIVE_STD) scale = sqrt(scan->squares / (double)scan->finite);
    double result = bound * scale;
    *eps = isfinite(result) && result >= DBL_MIN && isfinite(2 * result) ? result : 0;
    return SARAPHIS_OK;
}

saraphis_status_t padic_resolve_bound(saraphis_dtype_t dtype, const void *data, size_t bytes, int mode,
                                      double bound, double *eps)
{
    SPS_TRY(check_dtype(dtype, bytes, "p-adic bound"));
    padic_scan_t scan;
    padic_scan_init(&scan);
    if (bound > 0 && isfinite(bound) && (mode == PADIC_RELATIVE_RANGE || mode == PADIC_RELATIVE_STD)) {
        SPS_TRY(padic_scan_moments(&scan, dtype, data, bytes));
        if (mode == PADIC_RELATIVE_STD) SPS_TRY(padic_scan_squares(&scan, dtype, data, bytes));
    }
    return padic_scan_eps(&scan, mode, bound, eps);
}

/* ---- Exact division by invariant integers (Granlund & Montgomery) ------------------------ */

/* floor(n / d) for every n < 2^bits as (n * multiplier) >> shift, with multiplier =
 * ceil(2^(bits + l) / d), l = ceil(log2 d): exact because multiplier * d exceeds 2^(bits + l) by
 * less than 2^l. The multiplier is below 2^(bits + 1) + 1, so for bits <= 31 the product fits
 * 64 bits (the common case: magnitudes below 2^31); otherwise it takes a 128-bit product. */
typedef struct {
    uint64_t multiplier;
    unsigned shift;
} divisor_t;

static divisor_t divisor_make(uint64_t d, unsigned bits)
{
    unsigned l = 0;
    while (((uint64_t)1 << l) < d) l++;
    unsigned shift = bits + l;
    unsigned __int128 numerator = (unsigned __int128)1 << shift;
    divisor_t divisor = {(uint64_t)((numerator + d - 1) / d), shift};
    return divisor;
}

static inline uint64_t divide_small(divisor_t divisor, uint64_t n) { return (n * divisor.multiplier) >> divisor.shift; }

static inline uint64_t divide_large(divisor_t divisor, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)n * divisor.multiplier) >> divisor.shift);
}

/* ---- Precision needed by a tensor -------------------------------------------------------- */

saraphis_status_t padic_required_precision(const padic_params_t *params, saraphis_dtype_t dtype,
                                           const void *data, size_t bytes, unsigned *precision)
{
    SPS_TRY(check_dtype(dtype, bytes, "p-adic precision"));
    padic_params_t probe = *params;
    if (probe.precision == 0) probe.precision = 1;
    SPS_TRY(padic_validate(&probe));
    load_fn load = loader_for(dtype);
    size_t size = saraphis_dtype_size(dtype), n = bytes / size;
    const uint8_t *src = data;
    double inverse = 1 / (2 * params->eps), largest = 0;
    for (size_t i = 0; i < n; i++) {
        double t = fabs(load(src + i * size)) * inverse;
        if (t < (double)PADIC_MAGNITUDE_LIMIT && t > largest) largest = t; /* NaN and Inf fail */
    }
    /* The encoder may pick the lattice point one above the nearest (docs/padic.md): |q| can
     * reach floor(largest) + 2, and p^precision must exceed it. */
    uint64_t magnitude = (uint64_t)largest + 3;
    unsigned digits = 1;
    uint64_t power = params->prime;
    while (power < magnitude && digits < padic_max_precision(params->prime)) {
        power *= params->prime;
        digits++;
    }
    *precision = digits;
    return SARAPHIS_OK;
}

saraphis_status_t padic_check_precision(const padic_params_t *params, saraphis_dtype_t dtype,
                                        const void *data, size_t bytes)
{
    unsigned needed;
    SPS_TRY(padic_required_precision(params, dtype, data, bytes, &needed));
    if (params->precision < needed)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "precision %u is too small for this tensor: its largest value needs %u base-%u digits at error bound %g",
                         params->precision, needed, params->prime, params->eps);
    return SARAPHIS_OK;
}

/* ---- Sizes -------------------------------------------------------------------------------- */

static size_t head_bytes_for(unsigned precision) { return PADIC_FIXED_HEADER + PADIC_PLANE_ENTRY * (size_t)precision; }

size_t padic_chunk_bound(size_t raw_bytes, saraphis_dtype_t dtype, const padic_params_t *params)
{
    if (!loader_for(dtype)) return 0;
    size_t size = saraphis_dtype_size(dtype), n = raw_bytes / size;
    size_t planes = params && params->precision ? params->precision : PADIC_MAX_PLANES;
    /* Escapes: index bitmap stream + values; each plane: mode, sign count, sign stream,
     * context count and up to PADIC_MAX_CONTEXTS streams (or a sparse form no larger). */
    size_t escapes = 1 + (1 + n / 8 + 1) + n * size;
    size_t plane = 1 + 4 + (1 + n / 8 + 1) + 1 + PADIC_MAX_CONTEXTS + n + 16;
    return head_bytes_for((unsigned)planes) + escapes + 8 + planes * plane;
}

/* ---- Small writers and readers ---------------------------------------------------------- */

static size_t varint_size(uint32_t v) { return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5; }

static size_t varint_put(uint8_t *dst, uint32_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        dst[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[i++] = (uint8_t)v;
    return i;
}

/* Reads a varint of at most 5 bytes and 32 bits; returns bytes read, 0 when invalid or cut. */
static size_t varint_get(const uint8_t *src, size_t size, uint32_t *value)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 5 && i < size; i++) {
        v |= (uint64_t)(src[i] & 0x7f) << (7 * i);
        if (!(src[i] & 0x80)) {
            if (v > UINT32_MAX) return 0;
            *value = (uint32_t)v;
            return i + 1;
        }
    }
    return 0;
}

/* ---- Cost model (chooses plane forms and context counts; never affects correctness) ------ */

/* c * log2(c) for the small counts that most bins hold, computed once with the very operations
 * stream_cost would do (so the costs, and the choices made from them, are unchanged). */
#define PADIC_XLOG_TABLE 4096u
static double xlog2_table[PADIC_XLOG_TABLE];
static pthread_once_t xlog2_once = PTHREAD_ONCE_INIT;

static void xlog2_build(void)
{
    for (uint32_t c = 1; c < PADIC_XLOG_TABLE; c++) xlog2_table[c] = c * log2((double)c);
}

static inline double xlog2(uint32_t c) { return c < PADIC_XLOG_TABLE ? xlog2_table[c] : c * log2((double)c); }

/* Estimated bytes of entropy_encode on these symbol counts (its raw / constant / rANS choice).
 * pthread_once(&xlog2_once, xlog2_build) must have run. */
static double stream_cost(const uint32_t *counts, uint64_t total)
{
    if (total == 0) return 1;
    unsigned first = 256, last = 0, distinct = 0;
    double sum = 0;
    for (unsigned s = 0; s < 256; s++) {
        if (!counts[s]) continue;
        distinct++;
        if (first == 256) first = s;
        last = s;
        sum += xlog2(counts[s]);
    }
    if (distinct == 1) return 2;
    double raw = 1 + (double)total;
    if (total < 64) return raw;
    double bits = (double)total * log2((double)total) - sum;
    double blocks = (double)((total + 32767) / 32768);
    double rans = 3 + 1.5 * (last - first + 1) + blocks * (4 + 128) + bits / 8 * 1.01;
    return rans < raw ? rans : raw;
}

/* ---- Encoder ------------------------------------------------------------------------------ */

typedef struct {
    double eps, step, inverse_step, limit; /* limit: |q| must stay below it */
} lattice_t;

/* The encoder's acceptance test, in the decoder's arithmetic: x' = round_dtype(q * step). */
#define ACCEPTS(ROUND, x, qd, lat, err_out)                                                     \
    (fabs(qd) < (lat)->limit &&                                                                 \
     ((err_out) = fabs((x) - ROUND((qd) * (lat)->step))) <= (lat)->eps &&                       \
     fabs((x) - (qd) * (lat)->step) <= (lat)->eps)

#define PADIC_UNSETTLED UINT64_MAX /* a code the fast pass could not settle */

/* Fast pass: codes[i] = |q| | sign << 63 for the nearest lattice point when it passes the test,
 * else PADIC_UNSETTLED. Branch-free so that it vectorises; compiled for AVX2 too where the
 * compiler can clone functions (same IEEE operations, so the same codes). Returns the largest
 * accepted error's bits (non-negative doubles order as integers). */
/* Not under sanitizers: function clones are resolved by ifuncs while the program is loaded,
 * before ThreadSanitizer's runtime is ready, which crashes at start. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define PADIC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PADIC_CLONES
#endif

#define DEFINE_QUANTISE_FAST(NAME, SIZE, LOAD, ROUND)                                            \
    PADIC_CLONES static uint64_t NAME(const uint8_t *restrict src, size_t n, lattice_t lat,      \
                                      uint64_t *restrict codes, size_t *unsettled)                \
    {                                                                                             \
        const double magic = 0x1.8p52, t_limit = lat.limit + 2;                                   \
        int64_t worst = 0;                                                                        \
        size_t misses = 0;                                                                        \
        for (size_t i = 0; i < n; i++) {                                                          \
            double x = LOAD(src + i * SIZE);                                                      \
            double t = x * lat.inverse_step;                                                      \
            int inside = fabs(t) < t_limit; /* false for NaN and Inf */                           \
            double qd = ((inside ? t : 0.0) + magic) - magic;                                     \
            double rec = qd * lat.step;                                                           \
            double err = fabs(x - ROUND(rec));                                                    \
            int ok = inside & (fabs(qd) < lat.limit) & (err <= lat.eps) & (fabs(x - rec) <= lat.eps); \
            uint64_t magnitude = padic_double_bits(fabs(qd) + 0x1p52) - padic_double_bits(0x1p52); \
            uint64_t sign = padic_double_bits(qd) & PADIC_SIGN_BIT;                               \
            codes[i] = ok ? (magnitude | sign) : PADIC_UNSETTLED;                                 \
            misses += !ok;                                                                        \
            int64_t err_bits = ok ? (int64_t)padic_double_bits(err) : 0;                          \
            worst = err_bits > worst ? err_bits : worst;                                          \
        }                                                                                         \
        *unsettled = misses;                                                                      \
        return (uint64_t)worst;                                                                   \
    }

/* Slow pass over the unsettled codes: a neighbour of the nearest point may pass (rounding of t or
 * of the dtype can favour it); otherwise the element is an escape (code 0, index listed). */
#define DEFINE_QUANTISE(NAME, FAST, SIZE, LOAD, ROUND)                                           \
    DEFINE_QUANTISE_FAST(FAST, SIZE, LOAD, ROUND)                                                 \
    static size_t NAME(const uint8_t *restrict src, size_t n, const lattice_t *lat,              \
                       uint64_t *restrict codes, uint32_t *restrict escapes, double *max_error)  \
    {                                                                                             \
        size_t unsettled;                                                                         \
        double worst = padic_bits_double(FAST(src, n, *lat, codes, &unsettled));                  \
        size_t escape_count = 0;                                                                  \
        for (size_t i = 0; i < n && unsettled; i++) {                                             \
            if (codes[i] != PADIC_UNSETTLED) continue;                                            \
            unsettled--;                                                                          \
            double x = LOAD(src + i * SIZE), t = x * lat->inverse_step;                           \
            codes[i] = 0;                                                                         \
            if (fabs(t) < lat->limit + 2) {                                                       \
                double nearest = (t + 0x1.8p52) - 0x1.8p52, best = 0, best_err = INFINITY, err = 0; \
                for (int delta = -1; delta <= 1; delta++) {                                       \
                    double qd = nearest + delta;                                                  \
                    if (ACCEPTS(ROUND, x, qd, lat, err) && err < best_err) { best = qd; best_err = err; } \
                }                                                                                 \
                if (best_err <= lat->eps) {                                                       \
                    codes[i] = (uint64_t)fabs(best) | (best < 0 ? PADIC_SIGN_BIT : 0);            \
                    worst = best_err > worst ? best_err : worst;                                  \
                    continue;                                                                     \
                }                                                                                 \
            }                                                                                     \
            escapes[escape_count++] = (uint32_t)i;                                                \
        }                                                                                         \
        *max_error = worst;                                                                       \
        return escape_count;                                                                      \
    }

DEFINE_QUANTISE(quantise_f32, quantise_fast_f32, 4, padic_load_f32, padic_round_f32)
DEFINE_QUANTISE(quantise_f64, quantise_fast_f64, 8, padic_load_f64, padic_round_f64)
DEFINE_QUANTISE(quantise_f16, quantise_fast_f16, 2, padic_load_f16, padic_round_f16)
DEFINE_QUANTISE(quantise_bf16, quantise_fast_bf16, 2, padic_load_bf16, padic_round_bf16)

typedef struct {
    uint8_t *dst;
    size_t capacity, pos;
} writer_t;

static saraphis_status_t writer_need(const writer_t *w, size_t bytes)
{
    if (w->capacity - w->pos < bytes) return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "p-adic: output buffer full");
    return SARAPHIS_OK;
}

static saraphis_status_t writer_stream(writer_t *w, const uint8_t *symbols, size_t n)
{
    size_t written;
    SPS_TRY(entropy_encode(symbols, n, w->dst + w->pos, w->capacity - w->pos, &written));
    w->pos += written;
    return SARAPHIS_OK;
}

static saraphis_status_t writer_counted(writer_t *w, const uint8_t *symbols, size_t n, const uint32_t counts[256])
{
    size_t written;
    SPS_TRY(entropy_encode_counted(symbols, n, counts, w->dst + w->pos, w->capacity - w->pos, &written));
    w->pos += written;
    return SARAPHIS_OK;
}

/* Work memory of one call (element count n), one block of work_bytes(n) bytes:
 *   codes, n x u64 | then, encoding: digits (n) | contexts (n) | sorted (n) | sign bits
 *   (n/8 + 16) | escape indices (n x u32); decoding: symbols (n) | sign bits (n/8 + 16) |
 *   escape indices (n x u32).
 * The block is kept in codec_scratch_t (padic_work) between chunks when a scratch is given. */
typedef struct {
    uint64_t *codes;
    uint8_t *digits, *contexts, *sorted, *sign_bits;
    uint32_t *escapes;
    uint8_t *digit_planes; /* prime 251, magnitudes < 2^31: the digit of place 251^k at k*n */
} encode_work_t;

/* Encoding with prime 251 and magnitudes below 2^31 also keeps four digit planes (4n) there,
 * after the rest (at 16n). */
static size_t work_bytes(size_t n) { return 20 * n + 1024; }

/* The work area: the scratch's persistent one (grown when too small), or without a scratch a
 * fresh block that work_done frees. */
static saraphis_status_t work_alloc(size_t n, codec_scratch_t *scratch, uint8_t **block)
{
    size_t bytes = work_bytes(n);
    if (scratch && scratch->padic_work && scratch->padic_work_capacity >= bytes) {
        *block = scratch->padic_work;
        return SARAPHIS_OK;
    }
    *block = malloc(bytes);
    if (!*block) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "p-adic: no memory for a %zu-element chunk's work area", n);
    if (scratch) {
        free(scratch->padic_work);
        scratch->padic_work = *block;
        scratch->padic_work_capacity = bytes;
    }
    return SARAPHIS_OK;
}

static void work_done(codec_scratch_t *scratch, uint8_t *block)
{
    if (!scratch) free(block);
}

static encode_work_t encode_work(uint8_t *block, size_t n)
{
    encode_work_t work;
    uint8_t *rest = block + 8 * n;
    work.codes = (uint64_t *)(void *)block;
    work.digits = rest;
    work.contexts = work.digits + n;
    work.sorted = work.contexts + n;
    work.sign_bits = work.sorted + n;
    /* 4-byte aligned: the region before it is 3n + n/8 + 16 bytes, rounded up. */
    size_t offset = (3 * n + n / 8 + 16 + 3) & ~(size_t)3;
    work.escapes = (uint32_t *)(void *)(rest + offset);
    work.digit_planes = block + 16 * n + 64;
    return work;
}

static saraphis_status_t write_escapes(writer_t *w, const uint8_t *src, size_t n, size_t element_size,
                                       const uint32_t *escapes, size_t escape_count, uint8_t *bitmap_work)
{
    size_t start = w->pos;
    SPS_TRY(writer_need(w, 1));
    if (escape_count == 0) {
        w->dst[w->pos++] = ESCAPES_NONE;
        return SARAPHIS_OK;
    }
    size_t delta_bytes = 0;
    for (size_t k = 0; k < escape_count; k++)
        delta_bytes += varint_size(k ? escapes[k] - escapes[k - 1] - 1 : escapes[0]);
    size_t bitmap_bytes = (n + 7) / 8;
    int use_bitmap = 0;
    if (delta_bytes > bitmap_bytes / 4) {
        /* Try the bitmap form; keep it when smaller. */
        memset(bitmap_work, 0, bitmap_bytes);
        for (size_t k = 0; k < escape_count; k++) bitmap_work[escapes[k] >> 3] |= (uint8_t)(1u << (escapes[k] & 7));
        w->dst[w->pos++] = ESCAPES_BITMAP;
        SPS_TRY(writer_stream(w, bitmap_work, bitmap_bytes));
        use_bitmap = w->pos - start <= 1 + delta_bytes;
        if (!use_bitmap) w->pos = start;
    }
    if (!use_bitmap) {
        SPS_TRY(writer_need(w, 1 + delta_bytes));
        w->dst[w->pos++] = ESCAPES_DELTAS;
        for (size_t k = 0; k < escape_count; k++)
            w->pos += varint_put(w->dst + w->pos, k ? escapes[k] - escapes[k - 1] - 1 : escapes[0]);
    }
    SPS_TRY(writer_need(w, escape_count * element_size));
    for (size_t k = 0; k < escape_count; k++)
        memcpy(w->dst + w->pos + k * element_size, src + (size_t)escapes[k] * element_size, element_size);
    w->pos += escape_count * element_size;
    return SARAPHIS_OK;
}

typedef struct {
    unsigned prime, precision;
    int small; /* every magnitude is below 2^31: 64-bit division products */
    int precomputed; /* prime 251 and small: digits extracted once into work->digit_planes */
} digit_system_t;

typedef struct {
    union {
        uint32_t hist[PADIC_MAX_CONTEXTS][256];
        /* + 8 spare bins for zero digits per context (plane_scan_small uses the first 8) */
        uint32_t hist_flat[PADIC_MAX_CONTEXTS * 256 + PADIC_MAX_CONTEXTS * 8];
    };
    uint32_t context_count[4][PADIC_MAX_CONTEXTS];
    size_t sign_count, nonzero;
    unsigned max_context;
} plane_scan_t;

/* Appending sign bits (LSB first) to signs[]: gathered in a register, stored 64 at a time (a
 * read-modify-write of the same byte per element would chain through store forwarding).
 * sign_count counts the bits stored, sign_fill those held; SIGN_FLUSH stores the rest and makes
 * sign_count the total. signs[] has room for n/8 + 16 bytes, so whole words always fit. */
#define SIGN_STATE() uint64_t sign_acc = 0; unsigned sign_fill = 0
#define SIGN_APPEND(BIT, STARTS)                                                                 \
    do {                                                                                          \
        unsigned starts_ = (STARTS);                                                              \
        sign_acc |= ((uint64_t)(BIT) & starts_) << sign_fill;                                     \
        sign_fill += starts_;                                                                     \
        if (sign_fill == 64) {                                                                    \
            store_le64(signs + (sign_count >> 3), sign_acc);                                      \
            sign_count += 64;                                                                     \
            sign_acc = 0;                                                                         \
            sign_fill = 0;                                                                        \
        }                                                                                         \
    } while (0)
#define SIGN_FLUSH()                                                                             \
    do {                                                                                          \
        if (sign_fill) store_le64(signs + (sign_count >> 3), sign_acc);                           \
        sign_count += sign_fill;                                                                  \
        sign_fill = 0;                                                                            \
    } while (0)

/* One pass over the codes for a plane: its digits and contexts (the digits above it, capped),
 * their histograms, and the sign bits of the elements whose magnitude starts in this plane. */
#define DEFINE_PLANE_SCAN(NAME, DIVIDE)                                                          \
    static void NAME(const uint64_t *restrict codes, size_t n, unsigned p, uint64_t place,        \
                     divisor_t by_place, divisor_t by_prime, uint8_t *restrict digits,             \
                     uint8_t *restrict contexts, uint8_t *restrict signs, plane_scan_t *scan)      \
    {                                                                                             \
        size_t sign_count = 0, nonzero = 0;                                                       \
        unsigned max_context = 0;                                                                 \
        SIGN_STATE();                                                                             \
        for (size_t i = 0; i < n; i++) {                                                          \
            uint64_t code = codes[i], magnitude = code & PADIC_MAGNITUDE_MASK;                    \
            uint64_t high = place == 1 ? magnitude : DIVIDE(by_place, magnitude);                 \
            uint64_t prefix = DIVIDE(by_prime, high);                                             \
            unsigned digit = (unsigned)(high - prefix * p);                                       \
            unsigned context = prefix < PADIC_MAX_CONTEXTS - 1 ? (unsigned)prefix : PADIC_MAX_CONTEXTS - 1; \
            digits[i] = (uint8_t)digit;                                                           \
            contexts[i] = (uint8_t)context;                                                       \
            /* Zeros, the common digit of sparse planes, are counted per context over four     \
             * counters (a repeated bin stalls on store forwarding) and taken out later. */       \
            scan->context_count[i & 3][context]++;                                               \
            /* Zero digits land in spare bins (cycled) so they never form a chain. */           \
            scan->hist_flat[digit ? context * 256 + digit : PADIC_MAX_CONTEXTS * 256 + (i & 7)]++; \
            max_context = context > max_context ? context : max_context;                          \
            nonzero += digit != 0;                                                                \
            /* Branch-free append of the sign when the magnitude starts here. */                  \
            unsigned starts = (prefix == 0) & (digit != 0);                                       \
            SIGN_APPEND(code >> 63, starts);                                                      \
        }                                                                                         \
        SIGN_FLUSH();                                                                             \
        for (unsigned c = 0; c < PADIC_MAX_CONTEXTS; c++) {                                       \
            uint32_t total = scan->context_count[0][c] + scan->context_count[1][c] +              \
                             scan->context_count[2][c] + scan->context_count[3][c], zeros = total; \
            for (unsigned d = 1; d < p; d++) zeros -= scan->hist[c][d];                           \
            scan->hist[c][0] = zeros;                                                             \
            scan->context_count[0][c] = total;                                                    \
        }                                                                                         \
        scan->sign_count = sign_count;                                                            \
        scan->nonzero = nonzero;                                                                  \
        scan->max_context = max_context;                                                          \
    }

DEFINE_PLANE_SCAN(plane_scan_small, divide_small)
DEFINE_PLANE_SCAN(plane_scan_large, divide_large)

/* Prime 251, every magnitude below 2^31 (so at most 4 digits): all digits in one vectorisable
 * pass, dividing by the constant. planes[k * n + i] is element i's digit of place 251^k. */
PADIC_CLONES static void extract_digits_251(const uint64_t *restrict codes, size_t n, uint8_t *restrict planes)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t m = (uint32_t)(codes[i] & 0x7fffffffu);
        uint32_t q1 = m / 251u, q2 = q1 / 251u, q3 = q2 / 251u;
        planes[i] = (uint8_t)(m - q1 * 251u);
        planes[n + i] = (uint8_t)(q1 - q2 * 251u);
        planes[2 * n + i] = (uint8_t)(q2 - q3 * 251u);
        planes[3 * n + i] = (uint8_t)q3; /* below 2^31 / 251^3 < 251 */
    }
}

/* plane_scan_small's results from precomputed digits: contexts[] holds the previous plane's
 * contexts (above holds its digits) and becomes this plane's (first: every prefix is 0). */
static void plane_scan_digits(const uint64_t *restrict codes, size_t n, unsigned p, const uint8_t *restrict digits,
                              const uint8_t *restrict above, int first, uint8_t *restrict contexts,
                              uint8_t *restrict signs, plane_scan_t *scan)
{
    size_t sign_count = 0, nonzero = 0;
    unsigned max_context = 0;
    SIGN_STATE();
    if (first) { /* every prefix is 0: context 0, and every non-zero digit starts a magnitude */
        memset(contexts, 0, n);
        for (size_t i = 0; i < n; i++) {
            unsigned digit = digits[i], starts = digit != 0, keep = 0u - starts;
            /* Branch-free bin: the digit's, or for a zero a spare one (cycled, so no chain). */
            scan->hist_flat[(digit & keep) | ((PADIC_MAX_CONTEXTS * 256 + (unsigned)(i & 7)) & ~keep)]++;
            SIGN_APPEND(codes[i] >> 63, starts);
        }
        nonzero = sign_count + sign_fill;
    }
    for (size_t i = 0; i < n && !first; i++) {
        unsigned digit = digits[i];
        unsigned wide = contexts[i] * p + above[i];
        unsigned context = wide < PADIC_MAX_CONTEXTS - 1 ? wide : PADIC_MAX_CONTEXTS - 1;
        contexts[i] = (uint8_t)context;
        unsigned keep = 0u - (digit != 0);
        /* Branch-free bin: the digit's, or for a zero one of the context's 8 spare ones. */
        scan->hist_flat[((context * 256 + digit) & keep) |
                        ((PADIC_MAX_CONTEXTS * 256 + context * 8 + (unsigned)(i & 7)) & ~keep)]++;
        unsigned starts = (context == 0) & (digit != 0);
        SIGN_APPEND(codes[i] >> 63, starts);
    }
    SIGN_FLUSH();
    for (unsigned c = 0; c < PADIC_MAX_CONTEXTS; c++) {
        uint32_t zeros = 0, total;
        for (unsigned b = 0; b < 8; b++) zeros += scan->hist_flat[PADIC_MAX_CONTEXTS * 256 + c * 8 + b];
        total = zeros;
        for (unsigned d = 1; d < p; d++) total += scan->hist[c][d];
        scan->hist[c][0] = zeros;
        scan->context_count[0][c] = total;
        if (!first) nonzero += total - zeros; /* counted here, not per element */
        if (total) max_context = c;
    }
    scan->sign_count = sign_count;
    scan->nonzero = nonzero;
    scan->max_context = max_context;
}

/* Contexts of the next plane: min(prefix, 15) grows digit by digit (capping at every step gives
 * the capped prefix, as a prefix never shrinks). */
PADIC_CLONES static void narrow_next_contexts(uint8_t *restrict contexts, const uint8_t *restrict above, size_t n, unsigned p)
{
    for (size_t i = 0; i < n; i++) {
        unsigned wide = contexts[i] * p + above[i];
        contexts[i] = (uint8_t)(wide < PADIC_MAX_CONTEXTS - 1 ? wide : PADIC_MAX_CONTEXTS - 1);
    }
}

/* Bit k set where digits[k] is non-zero, for 64 digits: each eight bytes' non-zero flags (the top
 * bit of (b & 0x7f) + 0x7f | b) gathered into a byte by one multiply. No branch per digit, so
 * sparse planes (about one digit in eight non-zero) do not mispredict. */
static inline uint64_t nonzero_bits64(const uint8_t *digits)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full, top = 0x8080808080808080ull;
    uint64_t bits = 0;
    for (unsigned b = 0; b < 8; b++) {
        uint64_t v = load_le64(digits + 8 * b);
        uint64_t marks = ((((v & low7) + low7) | v) & top) >> 7;
        bits |= ((marks * 0x0102040810204080ull) >> 56) << (8 * b);
    }
    return bits;
}

#ifdef PADIC_HAVE_AVX2_PATH
/* nonzero_bits64 by byte compares. */
PADIC_AVX2 static inline uint64_t nonzero_mask_avx2(const uint8_t *digits)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i low = _mm256_loadu_si256((const __m256i *)(const void *)digits);
    __m256i high = _mm256_loadu_si256((const __m256i *)(const void *)(digits + 32));
    uint64_t zeros = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(low, zero)) |
                     (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(high, zero)) << 32;
    return ~zeros;
}
#endif

/* nonzero_bits64, through nonzero_mask_avx2 when simd is set. */
static inline uint64_t plane_nonzero_bits(const uint8_t *digits, int simd)
{
#ifdef PADIC_HAVE_AVX2_PATH
    if (simd) return nonzero_mask_avx2(digits);
#endif
    return nonzero_bits64(digits);
}

/* Bytes of the varint positions of the non-zero digits (a sparse plane's position list). */
static size_t sparse_positions_size(const uint8_t *digits, size_t n, int simd)
{
    size_t bytes = 0, k = 0, last = 0, i = 0;
    for (; i + 64 <= n; i += 64)
        for (uint64_t bits = plane_nonzero_bits(digits + i, simd); bits; bits &= bits - 1) {
            size_t at = i + count_trailing_zeros64(bits);
            bytes += varint_size((uint32_t)(k++ ? at - last - 1 : at));
            last = at;
        }
    for (; i < n; i++) {
        if (!digits[i]) continue;
        bytes += varint_size((uint32_t)(k++ ? i - last - 1 : i));
        last = i;
    }
    return bytes;
}

/* The plane's form and context count from its histograms (padic.h, padic_plane_choose): the
 * dense cost for each context count C (contexts >= C-1 merged) against the sparse cost.
 * tail[] receives the digit counts of every context together. */
static void plane_choose(unsigned p, size_t n, uint32_t (*hist)[256], size_t nonzero, unsigned max_context,
                         size_t sparse_position_bytes, uint32_t tail[256], padic_plane_choice_t *choice)
{
    double single[PADIC_MAX_CONTEXTS] = {0}, tail_cost[PADIC_MAX_CONTEXTS] = {0};
    uint32_t nonzero_digits[256];
    uint64_t context_total[PADIC_MAX_CONTEXTS] = {0}, tail_total = 0;
    memset(tail, 0, 256 * sizeof *tail);
    for (unsigned c = 0; c <= max_context; c++)
        for (unsigned s = 0; s < p; s++) context_total[c] += hist[c][s];
    for (int c = (int)max_context; c >= 0; c--) {
        for (unsigned s = 0; s < p; s++) tail[s] += hist[c][s];
        tail_total += context_total[c];
        tail_cost[c] = stream_cost(tail, tail_total);
        single[c] = stream_cost(hist[c], context_total[c]);
    }
    unsigned best_contexts = 1;
    double best = tail_cost[0], prefix_cost = 0;
    for (unsigned count = 2; count <= max_context + 1; count++) {
        prefix_cost += single[count - 2];
        double cost = prefix_cost + tail_cost[count - 1] + 8.0 * (count - 1); /* favour speed */
        if (cost < best) { best = cost; best_contexts = count; }
    }
    memcpy(nonzero_digits, tail, sizeof nonzero_digits);
    nonzero_digits[0] = 0;
    double sparse = 4 + (double)sparse_position_bytes + stream_cost(nonzero_digits, nonzero);
    size_t dense_limit = 1 + PADIC_MAX_CONTEXTS + n; /* the dense form's worst case */
    choice->form = sparse < best && 4 + sparse_position_bytes + 1 + nonzero <= dense_limit ? PLANE_SPARSE : PLANE_DENSE;
    choice->contexts = best_contexts;
}

void padic_plane_choose(unsigned prime, size_t n, const uint32_t hist[PADIC_MAX_CONTEXTS][256], size_t nonzero, unsigned max_context,
                        size_t positions_bytes, padic_plane_choice_t *choice)
{
    pthread_once(&xlog2_once, xlog2_build);
    uint32_t tail[256];
    if (nonzero == 0) {
        choice->form = PLANE_ZERO;
        choice->contexts = 0;
        return;
    }
    plane_choose(prime, n, (uint32_t(*)[256])hist, nonzero, max_context, nonzero <= n / 8 ? positions_bytes : SIZE_MAX / 2, tail,
                 choice);
}

/* Writes a scanned plane: chooses its form (zero, dense with C contexts, sparse) with the cost
 * model and codes it. digits and contexts (the capped prefixes, or any values that cap to them:
 * only min(context, last context used) is read) are in element order; sorted is work space of n
 * bytes; signs holds scan->sign_count sign bits. simd: whether nonzero_mask_avx2 may run. */
static saraphis_status_t write_plane(writer_t *w, unsigned p, size_t n, const uint8_t *digits, const uint8_t *contexts,
                                     uint8_t *sorted, const uint8_t *signs, plane_scan_t *scan, int simd)
{
    uint32_t (*hist)[256] = scan->hist;
    const size_t sign_count = scan->sign_count, nonzero = scan->nonzero;
    const unsigned max_context = scan->max_context;
    /* Positions of a sparse plane cost at least a byte each: only a sparse plane can use them. */
    size_t sparse_position_bytes = nonzero <= n / 8 ? sparse_positions_size(digits, n, simd) : SIZE_MAX / 2;
    saraphis_status_t status = SARAPHIS_OK;
    if (nonzero == 0) {
        status = writer_need(w, 5);
        if (status == SARAPHIS_OK) {
            w->dst[w->pos] = PLANE_ZERO;
            store_le32(w->dst + w->pos + 1, 0);
            w->pos += 5;
        }
        return status;
    }

    uint32_t tail[256], nonzero_digits[256];
    padic_plane_choice_t choice;
    plane_choose(p, n, hist, nonzero, max_context, sparse_position_bytes, tail, &choice);
    const unsigned best_contexts = choice.contexts;
    memcpy(nonzero_digits, tail, sizeof tail);
    nonzero_digits[0] = 0;

    status = writer_need(w, 5);
    if (status != SARAPHIS_OK) goto done;
    size_t mode_at = w->pos;
    w->dst[w->pos] = PLANE_DENSE;
    store_le32(w->dst + w->pos + 1, (uint32_t)sign_count);
    w->pos += 5;
    if (sign_count) {
        status = writer_stream(w, signs, (sign_count + 7) / 8);
        if (status != SARAPHIS_OK) goto done;
    }
    if (choice.form == PLANE_SPARSE) {
        w->dst[mode_at] = PLANE_SPARSE;
        status = writer_need(w, 4 + sparse_position_bytes);
        if (status != SARAPHIS_OK) goto done;
        store_le32(w->dst + w->pos, (uint32_t)nonzero);
        w->pos += 4;
        size_t k = 0, previous = 0, i = 0;
        for (; i + 64 <= n; i += 64)
            for (uint64_t bits = plane_nonzero_bits(digits + i, simd); bits; bits &= bits - 1) {
                size_t at = i + count_trailing_zeros64(bits);
                w->pos += varint_put(w->dst + w->pos, (uint32_t)(k ? at - previous - 1 : at));
                sorted[k++] = digits[at];
                previous = at;
            }
        for (; i < n; i++) {
            if (!digits[i]) continue;
            w->pos += varint_put(w->dst + w->pos, (uint32_t)(k ? i - previous - 1 : i));
            sorted[k++] = digits[i];
            previous = i;
        }
        status = writer_counted(w, sorted, nonzero, nonzero_digits);
        goto done;
    }
    status = writer_need(w, 1);
    if (status != SARAPHIS_OK) goto done;
    w->dst[w->pos++] = (uint8_t)best_contexts;
    if (best_contexts == 1) {
        status = writer_counted(w, digits, n, tail); /* tail: every context's digits */
        goto done;
    }
    /* Stable counting sort of the digits by context, then one stream per context. */
    const unsigned last_context = best_contexts - 1;
    size_t offset[PADIC_MAX_CONTEXTS], start[PADIC_MAX_CONTEXTS + 1];
    start[0] = 0;
    for (unsigned c = 0; c < best_contexts; c++) {
        size_t count = 0;
        for (unsigned d = c; d <= (c == last_context ? PADIC_MAX_CONTEXTS - 1 : c); d++) count += scan->context_count[0][d];
        start[c + 1] = start[c] + count;
        offset[c] = start[c];
    }
    for (size_t i = 0; i < n; i++) {
        unsigned c = contexts[i] < last_context ? contexts[i] : last_context;
        sorted[offset[c]++] = digits[i];
    }
    for (unsigned c = 0; c < best_contexts && status == SARAPHIS_OK; c++) {
        uint32_t counts[256];
        memcpy(counts, hist[c], sizeof counts);
        for (unsigned d = c + 1; c == last_context && d <= max_context; d++)
            for (unsigned s = 0; s < p; s++) counts[s] += hist[d][s];
        status = writer_counted(w, sorted + start[c], start[c + 1] - start[c], counts);
    }
done:
    return status;
}


/* One plane: digits, contexts, sign bits of the elements that become non-zero here. */
static saraphis_status_t encode_plane(writer_t *w, const digit_system_t *sys, unsigned plane, size_t n,
                                      const encode_work_t *work_in, plane_scan_t *scan, int first, int simd)
{
    encode_work_t work_copy = *work_in;
    const encode_work_t *work = &work_copy;
    const unsigned p = sys->prime;
    const uint64_t place = power_u64(p, sys->precision - 1 - plane); /* value of this plane's digit */
    const unsigned bits = sys->small ? 31 : PADIC_MAGNITUDE_BITS;
    uint8_t *signs = work->sign_bits;
    memset(scan->hist_flat, 0, sizeof scan->hist_flat);
    memset(scan->context_count, 0, sizeof scan->context_count);
    memset(signs, 0, n / 8 + 16);
    if (sys->precomputed) {
        unsigned e = sys->precision - 1 - plane; /* below 4 for every plane scanned */
        work_copy.digits = work_in->digit_planes + (size_t)e * n;
        plane_scan_digits(work->codes, n, p, work_copy.digits, first ? work_copy.digits : work_copy.digits + n, first,
                          work->contexts, signs, scan);
    } else if (sys->small)
        plane_scan_small(work->codes, n, p, place, divisor_make(place, bits), divisor_make(p, bits), work->digits, work->contexts, signs, scan);
    else
        plane_scan_large(work->codes, n, p, place, divisor_make(place, bits), divisor_make(p, bits), work->digits, work->contexts, signs, scan);
    return write_plane(w, p, n, work->digits, work->contexts, work->sorted, signs, scan, simd);
}

static unsigned dtype_code(saraphis_dtype_t dtype) { return (unsigned)dtype; }

PADIC_CLONES static uint64_t largest_magnitude(const uint64_t *restrict codes, size_t n)
{
    int64_t largest = 0; /* magnitudes are below 2^63: signed compares order them */
    for (size_t i = 0; i < n; i++) {
        int64_t magnitude = (int64_t)(codes[i] & PADIC_MAGNITUDE_MASK);
        largest = magnitude > largest ? magnitude : largest;
    }
    return (uint64_t)largest;
}

/* Non-zero digit mask of 64 digits, and whether any is >= p. */
static inline uint64_t nonzero_mask_portable(const uint8_t *digits, unsigned p, unsigned *bad)
{
    uint64_t mask = 0;
    unsigned largest = 0;
    for (unsigned b = 0; b < 64; b++) {
        mask |= (uint64_t)(digits[b] != 0) << b;
        largest = digits[b] > largest ? digits[b] : largest;
    }
    *bad |= largest >= p;
    return mask;
}

/* Header, zeroed plane table and escape section; bitmap_work holds n / 8 + 1 bytes. */
static saraphis_status_t write_head(writer_t *w, const padic_params_t *params, saraphis_dtype_t dtype, const uint8_t *src,
                                    size_t n, const uint32_t *escapes, size_t escape_count, uint8_t *bitmap_work)
{
    uint8_t *dst = w->dst;
    const size_t head = head_bytes_for(params->precision);
    SPS_TRY(writer_need(w, head));
    dst[0] = PADIC_FORMAT_VERSION;
    dst[1] = (uint8_t)dtype_code(dtype);
    dst[2] = (uint8_t)params->prime;
    dst[3] = (uint8_t)params->precision;
    store_le64(dst + 4, padic_double_bits(params->eps));
    store_le32(dst + 12, (uint32_t)n);
    store_le32(dst + 16, (uint32_t)escape_count);
    memset(dst + PADIC_FIXED_HEADER, 0, head - PADIC_FIXED_HEADER);
    w->pos = head;
    SPS_TRY(write_escapes(w, src, n, saraphis_dtype_size(dtype), escapes, escape_count, bitmap_work));
    store_le32(dst + 20, (uint32_t)(w->pos - head));
    return SARAPHIS_OK;
}

/* The plane table entry of a plane written at dst[start, end). */
static saraphis_status_t plane_entry(uint8_t *dst, unsigned plane, size_t start, size_t end)
{
    size_t plane_size = end - start;
    if (plane_size > UINT32_MAX) return error_set(SARAPHIS_ERROR_LIMIT, "p-adic: plane %u exceeds 4 GiB", plane);
    uint8_t *entry = dst + PADIC_FIXED_HEADER + PADIC_PLANE_ENTRY * plane;
    store_le32(entry, (uint32_t)plane_size);
    store_le64(entry + 4, checksum64(dst + start, plane_size, plane));
    return SARAPHIS_OK;
}

/* ---- Encoder for magnitudes below 2^31 --------------------------------------------------------
 *
 * With p^P <= 2^31 (P <= 3 for p = 251) every accepted magnitude fits 31 bits. The quantiser
 * writes them as 32-bit words, the signs as bit words (bit i of word w: element 64 w + i is
 * negative) and the escapes' indices; the digits are split into byte planes in one pass; each
 * plane's sign stream is gathered 64 elements at a time, taking the sign bits of the elements
 * whose first non-zero digit is in that plane. The bytes are those of the general path. */
#define PADIC_NARROW_LIMIT ((uint64_t)1 << 31)

typedef struct {
    uint32_t *magnitudes;
    uint64_t *sign_words, *started_words;
    uint8_t *planes[PADIC_NARROW_PLANES]; /* planes[e]: digit of place p^e, words * 64 bytes */
    uint8_t *contexts, *sorted, *sign_bits;
    uint32_t *escapes;
    size_t words;
} narrow_encode_t;

static narrow_encode_t narrow_encode_work(uint8_t *block, size_t n)
{
    narrow_encode_t work;
    size_t words = (n + 63) / 64, padded = 64 * words;
    uint8_t *at = block;
    work.words = words;
    work.sign_words = (uint64_t *)(void *)at;
    at += 8 * words;
    work.started_words = (uint64_t *)(void *)at;
    at += 8 * words;
    work.magnitudes = (uint32_t *)(void *)at;
    at += 4 * padded;
    work.escapes = (uint32_t *)(void *)at;
    at += 4 * n + 8;
    for (unsigned e = 0; e < PADIC_NARROW_PLANES; e++, at += padded) work.planes[e] = at;
    work.contexts = at;
    at += padded;
    work.sorted = at;
    at += n + 8;
    work.sign_bits = at; /* n / 8 + 32 */
    return work;
}

/* Elements [begin, n) through the general quantiser, 256 at a time. Returns the escape count. */
static size_t narrow_quantise_portable(saraphis_dtype_t dtype, const uint8_t *src, size_t begin, size_t n,
                                       const lattice_t *lat, narrow_encode_t *work, size_t escape_count,
                                       double *max_error)
{
    uint64_t codes[256];
    const size_t size = saraphis_dtype_size(dtype);
    for (size_t at = begin; at < n; at += 256) {
        size_t count = n - at < 256 ? n - at : 256, found;
        const uint8_t *from = src + at * size;
        uint32_t *escapes = work->escapes + escape_count;
        double worst = 0;
        switch (dtype) {
        case SARAPHIS_DTYPE_F32: found = quantise_f32(from, count, lat, codes, escapes, &worst); break;
        case SARAPHIS_DTYPE_F64: found = quantise_f64(from, count, lat, codes, escapes, &worst); break;
        case SARAPHIS_DTYPE_F16: found = quantise_f16(from, count, lat, codes, escapes, &worst); break;
        default: found = quantise_bf16(from, count, lat, codes, escapes, &worst); break;
        }
        for (size_t k = 0; k < found; k++) escapes[k] += (uint32_t)at;
        escape_count += found;
        *max_error = worst > *max_error ? worst : *max_error;
        for (size_t i = 0; i < count; i++) {
            size_t e = at + i;
            work->magnitudes[e] = (uint32_t)(codes[i] & PADIC_MAGNITUDE_MASK);
            work->sign_words[e >> 6] |= (codes[i] >> 63) << (e & 63);
        }
    }
    return escape_count;
}

/* The slow pass of quantise_f32 for one element: the best of the nearest lattice point and its
 * neighbours, or 0 when none passes (an escape). */
static int settle_f32(double x, const lattice_t *lat, uint64_t *code, double *error)
{
    double t = x * lat->inverse_step;
    if (!(fabs(t) < lat->limit + 2)) return 0;
    double nearest = (t + 0x1.8p52) - 0x1.8p52, best = 0, best_err = INFINITY, err = 0;
    for (int delta = -1; delta <= 1; delta++) {
        double qd = nearest + delta;
        if (ACCEPTS(padic_round_f32, x, qd, lat, err) && err < best_err) { best = qd; best_err = err; }
    }
    if (!(best_err <= lat->eps)) return 0;
    *code = (uint64_t)fabs(best) | (best < 0 ? PADIC_SIGN_BIT : 0);
    *error = best_err;
    return 1;
}

#ifdef PADIC_HAVE_AVX2_PATH
/* quantise_f32's decisions on four elements: the rounded t + 1.5 * 2^52 (whose low 32 bits are
 * round(t) in two's complement), the mask of accepted lanes, every lane's error. The same IEEE
 * operations as its fast pass, with two shortcuts that change no decision: the test
 * |t| < limit + 2 is left out, because where it fails (or t is NaN) |qd| < limit fails too (qd
 * rounds t to an integer, exactly below 2^52 and within a relative 2^-52 above), and both error
 * tests are one test on the larger error. With `clamp` false (limit * step <= FLT_MAX, so every
 * product of an accepted lane is within range) round_f32's clamp is a no-op and is skipped. */
PADIC_AVX2 static inline __attribute__((always_inline)) __m256d
quantise4_f32(const uint8_t *src, const lattice_t *lat, const int clamp, __m256d *accepted, __m256d *error)
{
    const __m256d absolute = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffll));
    const __m256d magic = _mm256_set1_pd(0x1.8p52);
    __m256d x = _mm256_cvtps_pd(_mm_loadu_ps((const float *)(const void *)src));
    __m256d shifted = _mm256_add_pd(_mm256_mul_pd(x, _mm256_set1_pd(lat->inverse_step)), magic);
    __m256d qd = _mm256_sub_pd(shifted, magic);
    __m256d rec = _mm256_mul_pd(qd, _mm256_set1_pd(lat->step));
    __m256d in_range = clamp ? _mm256_max_pd(_mm256_min_pd(rec, _mm256_set1_pd(FLT_MAX)), _mm256_set1_pd(-FLT_MAX)) : rec;
    __m256d err = _mm256_and_pd(_mm256_sub_pd(x, _mm256_cvtps_pd(_mm256_cvtpd_ps(in_range))), absolute);
    __m256d both = _mm256_max_pd(_mm256_and_pd(_mm256_sub_pd(x, rec), absolute), err);
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(_mm256_and_pd(qd, absolute), _mm256_set1_pd(lat->limit), _CMP_LT_OQ),
                               _mm256_cmp_pd(both, _mm256_set1_pd(lat->eps), _CMP_LE_OQ));
    *error = err;
    *accepted = ok;
    return shifted;
}

/* The low 32 bits of each 64-bit lane of a then b, in order. */
PADIC_AVX2 static inline __m256i low_halves(__m256d a, __m256d b)
{
    __m256 mixed = _mm256_shuffle_ps(_mm256_castpd_ps(a), _mm256_castpd_ps(b), 0x88);
    return _mm256_permute4x64_epi64(_mm256_castps_si256(mixed), 0xd8);
}

/* quantise_f32 on whole words of 64 elements; the elements it cannot settle at once go through
 * settle_f32 (its slow pass) in index order, so escapes stay sorted. Returns the escape count;
 * *largest is the largest magnitude; elements from 64 * (n / 64) on are left to the caller. */
PADIC_AVX2 static inline __attribute__((always_inline)) size_t
quantise_words_f32(const uint8_t *src, size_t n, const lattice_t *lat, narrow_encode_t *work, double *max_error,
                   uint32_t *largest, const int clamp)
{
    /* Copies that no store can alias, so that the loop keeps them in registers. */
    const lattice_t lattice = *lat;
    uint32_t *const magnitudes = work->magnitudes, *const escapes = work->escapes;
    uint64_t *const sign_words = work->sign_words;
    __m256d worst = _mm256_setzero_pd();
    __m256i top = _mm256_setzero_si256();
    double worst_settled = 0;
    uint32_t largest_settled = 0;
    size_t escape_count = 0;
    for (size_t w = 0; w < n / 64; w++) {
        uint64_t signs = 0;
        for (unsigned g = 0; g < 16; g += 2) {
            size_t i = 64 * w + 4 * g;
            __m256d ok0, ok1, err0, err1;
            __m256d shifted0 = quantise4_f32(src + 4 * i, &lattice, clamp, &ok0, &err0);
            __m256d shifted1 = quantise4_f32(src + 4 * i + 16, &lattice, clamp, &ok1, &err1);
            __m256i rounded = low_halves(shifted0, shifted1), ok = low_halves(ok0, ok1);
            __m256i accepted_magnitudes = _mm256_and_si256(_mm256_abs_epi32(rounded), ok);
            _mm256_storeu_si256((__m256i *)(void *)(magnitudes + i), accepted_magnitudes);
            top = _mm256_max_epu32(top, accepted_magnitudes);
            unsigned accepted = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(ok));
            signs |= (uint64_t)((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(rounded)) & accepted) << (4 * g);
            if (accepted == 0xff) { /* the usual case: every error counts */
                worst = _mm256_max_pd(worst, _mm256_max_pd(err0, err1));
                continue;
            }
            worst = _mm256_max_pd(worst, _mm256_max_pd(_mm256_and_pd(err0, ok0), _mm256_and_pd(err1, ok1)));
            for (unsigned lane = 0; lane < 8; lane++) {
                if (accepted >> lane & 1) continue;
                uint64_t code;
                double error;
                if (settle_f32(padic_load_f32(src + 4 * (i + lane)), lat, &code, &error)) {
                    uint32_t magnitude = (uint32_t)(code & PADIC_MAGNITUDE_MASK);
                    magnitudes[i + lane] = magnitude;
                    signs |= (code >> 63) << (4 * g + lane);
                    worst_settled = error > worst_settled ? error : worst_settled;
                    largest_settled = magnitude > largest_settled ? magnitude : largest_settled;
                } else
                    escapes[escape_count++] = (uint32_t)(i + lane);
            }
        }
        sign_words[w] = signs;
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, worst);
    for (unsigned lane = 0; lane < 4; lane++) worst_settled = lanes[lane] > worst_settled ? lanes[lane] : worst_settled;
    uint32_t tops[8];
    _mm256_storeu_si256((__m256i *)(void *)tops, top);
    for (unsigned lane = 0; lane < 8; lane++) largest_settled = tops[lane] > largest_settled ? tops[lane] : largest_settled;
    *max_error = worst_settled;
    *largest = largest_settled;
    return escape_count;
}

PADIC_AVX2 static size_t narrow_quantise_f32_avx2(const uint8_t *src, size_t n, const lattice_t *lat,
                                                  narrow_encode_t *work, double *max_error, uint32_t *largest)
{
    if (lat->limit * lat->step <= FLT_MAX) return quantise_words_f32(src, n, lat, work, max_error, largest, 0);
    return quantise_words_f32(src, n, lat, work, max_error, largest, 1);
}
#endif

PADIC_CLONES static uint32_t largest_u32(const uint32_t *restrict values, size_t n)
{
    uint32_t largest = 0;
    for (size_t i = 0; i < n; i++) largest = values[i] > largest ? values[i] : largest;
    return largest;
}

/* Digits of every magnitude (below 2^31): planes[e][i] = digit of place p^e, e < count. */
PADIC_CLONES static void narrow_digits_251(const uint32_t *restrict m, size_t n, uint8_t *restrict d0,
                                           uint8_t *restrict d1, uint8_t *restrict d2, unsigned count)
{
    if (count == 1)
        for (size_t i = 0; i < n; i++) d0[i] = (uint8_t)m[i];
    else if (count == 2)
        /* Magnitudes below 251^2 < 2^16: 16-bit lanes, twice as many per vector. */
        for (size_t i = 0; i < n; i++) {
            uint16_t v = (uint16_t)m[i], q1 = (uint16_t)(v / 251u);
            d0[i] = (uint8_t)(v - q1 * 251u);
            d1[i] = (uint8_t)q1;
        }
    else
        for (size_t i = 0; i < n; i++) {
            uint32_t q1 = m[i] / 251u, q2 = q1 / 251u;
            d0[i] = (uint8_t)(m[i] - q1 * 251u);
            d1[i] = (uint8_t)(q1 - q2 * 251u);
            d2[i] = (uint8_t)q2;
        }
}

static void narrow_digits(const uint32_t *m, size_t n, unsigned p, uint8_t *const *planes, unsigned count)
{
    if (p == 251 && count <= 3) {
        narrow_digits_251(m, n, planes[0], planes[1], planes[2], count);
        return;
    }
    const divisor_t by_prime = divisor_make(p, 31);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = m[i];
        for (unsigned e = 0; e + 1 < count; e++) {
            uint64_t q = divide_small(by_prime, v);
            planes[e][i] = (uint8_t)(v - q * p);
            v = q;
        }
        planes[count - 1][i] = (uint8_t)v;
    }
}

/* Bits of `bits` at the set bits of mask, packed in order (BMI2 pext). */
static inline uint64_t extract_portable(uint64_t bits, uint64_t mask)
{
    uint64_t result = 0;
    for (unsigned k = 0; mask; mask &= mask - 1, k++) result |= (bits >> count_trailing_zeros64(mask) & 1) << k;
    return result;
}

#ifdef PADIC_HAVE_AVX2_PATH
PADIC_AVX2 static size_t narrow_gather_signs_avx2(narrow_encode_t *work, const uint8_t *digits, int first)
{
    uint64_t held = 0;
    unsigned fill = 0;
    size_t stored = 0;
    for (size_t w = 0; w < work->words; w++) {
        uint64_t nonzero = nonzero_mask_avx2(digits + 64 * w);
        uint64_t starts = first ? nonzero : nonzero & ~work->started_words[w];
        work->started_words[w] = first ? nonzero : work->started_words[w] | nonzero;
        uint64_t bits = _pext_u64(work->sign_words[w], starts);
        unsigned count = (unsigned)_mm_popcnt_u64(starts);
        held |= bits << fill;
        if (fill + count >= 64) {
            store_le64(work->sign_bits + stored / 8, held);
            stored += 64;
            held = fill ? bits >> (64 - fill) : 0;
            fill = fill + count - 64;
        } else
            fill += count;
    }
    if (fill) store_le64(work->sign_bits + stored / 8, held);
    return stored + fill;
}
#endif

/* Sign stream of a plane (work->sign_bits, LSB first): the signs of the elements whose first
 * non-zero digit is in it, in index order. Returns how many. */
static size_t narrow_gather_signs(narrow_encode_t *work, const uint8_t *digits, int first, int simd)
{
#ifdef PADIC_HAVE_AVX2_PATH
    if (simd) return narrow_gather_signs_avx2(work, digits, first);
#endif
    uint64_t held = 0;
    unsigned fill = 0;
    size_t stored = 0;
    for (size_t w = 0; w < work->words; w++) {
        unsigned bad = 0;
        uint64_t nonzero = nonzero_mask_portable(digits + 64 * w, 256, &bad);
        uint64_t starts = first ? nonzero : nonzero & ~work->started_words[w];
        work->started_words[w] = first ? nonzero : work->started_words[w] | nonzero;
        uint64_t bits = extract_portable(work->sign_words[w], starts);
        unsigned count = (unsigned)__builtin_popcountll(starts);
        held |= bits << fill;
        if (fill + count >= 64) {
            store_le64(work->sign_bits + stored / 8, held);
            stored += 64;
            held = fill ? bits >> (64 - fill) : 0;
            fill = fill + count - 64;
        } else
            fill += count;
    }
    if (fill) store_le64(work->sign_bits + stored / 8, held);
    return stored + fill;
}


#ifdef PADIC_HAVE_AVX2_PATH
/* A first plane whose digits are mostly small (a top digit: the usual case) is counted by byte
 * compares, 32 digits at a time, one 8-bit counter per value 1 .. 15 and lane, summed every 255
 * steps; digits of 16 and more (at most `top`, rare) are counted one by one from a mask; the
 * zeros are what is left. */
#define PADIC_SMALL_ALPHABET 16u

PADIC_AVX2 static void count_small_avx2(const uint8_t *digits, size_t n, unsigned top, uint32_t *hist)
{
    __m256i counters[PADIC_SMALL_ALPHABET];
    uint64_t totals[256] = {0};
    const unsigned small = top < PADIC_SMALL_ALPHABET ? top : PADIC_SMALL_ALPHABET - 1;
    const __m256i zero = _mm256_setzero_si256(), sixteen = _mm256_set1_epi8(16);
    size_t i = 0;
    while (i + 32 <= n) {
        for (unsigned v = 1; v <= small; v++) counters[v] = zero;
        for (unsigned step = 0; step < 255 && i + 32 <= n; step++, i += 32) {
            __m256i d = _mm256_loadu_si256((const __m256i *)(const void *)(digits + i));
            for (unsigned v = 1; v <= small; v++)
                counters[v] = _mm256_sub_epi8(counters[v], _mm256_cmpeq_epi8(d, _mm256_set1_epi8((char)v)));
            if (top >= PADIC_SMALL_ALPHABET) {
                unsigned large = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(d, sixteen), d));
                for (; large; large &= large - 1) totals[digits[i + (unsigned)__builtin_ctz(large)]]++;
            }
        }
        for (unsigned v = 1; v <= small; v++) {
            __m256i sums = _mm256_sad_epu8(counters[v], zero);
            totals[v] += (uint64_t)_mm256_extract_epi64(sums, 0) + (uint64_t)_mm256_extract_epi64(sums, 1) +
                         (uint64_t)_mm256_extract_epi64(sums, 2) + (uint64_t)_mm256_extract_epi64(sums, 3);
        }
    }
    for (; i < n; i++) totals[digits[i]]++;
    uint64_t others = 0;
    for (unsigned v = 1; v <= top; v++) {
        hist[v] = (uint32_t)totals[v];
        others += totals[v];
    }
    hist[0] = (uint32_t)(n - others);
}

/* Whether digits of 16 and more are rare enough (one in 32) for count_small_avx2. */
PADIC_AVX2 static int large_digits_rare(const uint8_t *digits, size_t n)
{
    const __m256i sixteen = _mm256_set1_epi8(16);
    size_t large = 0, i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i d = _mm256_loadu_si256((const __m256i *)(const void *)(digits + i));
        large += (size_t)_mm_popcnt_u32((unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(d, sixteen), d)));
    }
    return large <= n / 32;
}
#endif

/* One magnitude for count_lower_of_two: below `direct` (15 p) at hist[m], above in its bin of
 * context 15. */
static inline void count_magnitude(uint32_t m, uint32_t direct, unsigned p, divisor_t by_prime, uint32_t *restrict hist)
{
    if (m < direct) {
        hist[m]++;
        return;
    }
    /* Context 15: its bins, from 15 * 256 on, lie above every directly counted one. */
    uint32_t high = (uint32_t)divide_small(by_prime, m);
    hist[(PADIC_MAX_CONTEXTS - 1) * 256 + (m - high * p)]++;
}

/* The lower of two planes: an element's (context, digit) is (min(m / p, 15), m mod p), so below
 * 15 p its bin is a function of the magnitude alone. Counting magnitudes takes one load per
 * element instead of two and spreads a skewed plane over more bins (fewer chains through store
 * forwarding); the counts then move to their (context, digit) bins. Worth it only when few
 * magnitudes reach 15 p (each of those takes a division and, unpredictably, a branch). */
static void count_lower_of_two(const uint32_t *restrict magnitudes, size_t n, unsigned p, uint32_t *restrict hist)
{
    const uint32_t direct = (PADIC_MAX_CONTEXTS - 1) * p; /* magnitudes below it count at hist[m] */
    const divisor_t by_prime = divisor_make(p, 31);
    unsigned fast_bits = 0; /* 2^fast_bits <= direct: four magnitudes below it take one test */
    while ((2u << fast_bits) <= direct) fast_bits++;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t m0 = magnitudes[i], m1 = magnitudes[i + 1], m2 = magnitudes[i + 2], m3 = magnitudes[i + 3];
        if (((m0 | m1 | m2 | m3) >> fast_bits) == 0) {
            hist[m0]++;
            hist[m1]++;
            hist[m2]++;
            hist[m3]++;
            continue;
        }
        for (unsigned k = 0; k < 4; k++) count_magnitude(magnitudes[i + k], direct, p, by_prime, hist);
    }
    for (; i < n; i++) count_magnitude(magnitudes[i], direct, p, by_prime, hist);
    /* Count m moves to bin (m / p) * 256 + m mod p, never below m: going down from the top, that
     * bin's own count has already moved out when it is written. */
    for (unsigned context = PADIC_MAX_CONTEXTS - 1; context-- > 0;)
        for (unsigned digit = p; digit-- > 0;) {
            uint32_t m = context * p + digit, count = hist[m];
            hist[m] = 0;
            hist[context * 256 + digit] = count;
        }
}

/* hist[context * 256 + digit] over a plane, four elements a step (a one-element loop ran at the
 * mercy of its alignment). Not inlined into narrow_scan, where the loop ran short of registers
 * and reloaded a pointer from the stack at every element (at half the speed). */
__attribute__((noinline)) static void count_in_contexts(const uint8_t *restrict digits, const uint8_t *restrict contexts,
                                                        size_t n, uint32_t *restrict hist)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        hist[contexts[i] * 256u + digits[i]]++;
        hist[contexts[i + 1] * 256u + digits[i + 1]]++;
        hist[contexts[i + 2] * 256u + digits[i + 2]]++;
        hist[contexts[i + 3] * 256u + digits[i + 3]]++;
    }
    for (; i < n; i++) hist[contexts[i] * 256u + digits[i]]++;
}

/* The same for the second of two planes, whose context is the first plane's digit, capped (no
 * contexts pass). */
__attribute__((noinline)) static void count_below_digits(const uint8_t *restrict digits, const uint8_t *restrict above,
                                                         size_t n, uint32_t *restrict hist)
{
    for (size_t i = 0; i < n; i++) {
        unsigned context = above[i] < PADIC_MAX_CONTEXTS - 1 ? above[i] : PADIC_MAX_CONTEXTS - 1;
        hist[context * 256u + digits[i]]++;
    }
}

/* Histograms of a plane's digits per context, copied from `counted` where the caller has them
 * (from count_lower_of_two; for a first plane, its one row). The first plane (context 0 only,
 * often skewed: a top digit is mostly 0) counts element i in row i & 7 of the table and folds the
 * rows after, so that no bin is incremented twice in a row (a chain through store forwarding);
 * the second of two planes counts its digits in the contexts of `above`; in other planes the bins
 * spread over the (context, digit) pairs. */
/* Not inlined: inside the large encoder its counting loops ran short of registers and reloaded
 * their pointers from the stack at every element. */
__attribute__((noinline)) static void narrow_scan(const uint8_t *restrict digits, const uint8_t *restrict contexts,
                                                  size_t n, unsigned p, int first, unsigned top,
                                                  const uint8_t *restrict above, const uint32_t *restrict counted,
                                                  plane_scan_t *restrict scan, int simd)
{
    memset(scan->hist_flat, 0, sizeof scan->hist_flat);
    uint32_t *hist = scan->hist_flat;
    if (counted) memcpy(hist, counted, first ? sizeof scan->hist[0] : sizeof scan->hist);
    else
#ifdef PADIC_HAVE_AVX2_PATH
    if (first && simd && (top < PADIC_SMALL_ALPHABET || large_digits_rare(digits, n))) count_small_avx2(digits, n, top, hist);
    else
#endif
    if (first) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (unsigned k = 0; k < 8; k++) hist[k * 256 + digits[i + k]]++;
        for (; i < n; i++) hist[digits[i]]++;
        for (unsigned row = 1; row < 8; row++)
            for (unsigned d = 0; d < 256; d++) {
                hist[d] += hist[row * 256 + d];
                hist[row * 256 + d] = 0;
            }
    } else if (above)
        count_below_digits(digits, above, n, hist);
    else
        count_in_contexts(digits, contexts, n, hist);
    size_t nonzero = 0;
    unsigned max_context = 0;
    for (unsigned c = 0; c < PADIC_MAX_CONTEXTS; c++) {
        uint32_t total = 0;
        for (unsigned d = 0; d < p; d++) total += scan->hist[c][d];
        scan->context_count[0][c] = total;
        nonzero += total - scan->hist[c][0];
        if (total) max_context = c;
    }
    scan->nonzero = nonzero;
    scan->max_context = max_context;
}

static saraphis_status_t encode_narrow(const padic_params_t *params, saraphis_dtype_t dtype, const uint8_t *src,
                                       size_t n, uint8_t *dst, size_t capacity, size_t *written, uint8_t *block,
                                       padic_chunk_stats_t *stats, const lattice_t *lattice, int simd)
{
    const unsigned P = params->precision, p = params->prime;
    narrow_encode_t work = narrow_encode_work(block, n);
    const size_t padded = 64 * work.words;
    memset(work.sign_words, 0, 8 * work.words);
    double max_error = 0;
    size_t escape_count = 0, begin = 0;
    uint32_t largest = 0;
#ifdef PADIC_HAVE_AVX2_PATH
    if (simd && dtype == SARAPHIS_DTYPE_F32) {
        escape_count = narrow_quantise_f32_avx2(src, n, lattice, &work, &max_error, &largest);
        begin = n / 64 * 64;
    }
#endif
    escape_count = narrow_quantise_portable(dtype, src, begin, n, lattice, &work, escape_count, &max_error);
    uint32_t rest = largest_u32(work.magnitudes + begin, n - begin);
    largest = rest > largest ? rest : largest;

    writer_t w = {dst, capacity, 0};
    SPS_TRY(write_head(&w, params, dtype, src, n, work.escapes, escape_count, work.sorted));
    unsigned used_digits = 0;
    for (uint32_t m = largest; m; m /= p) used_digits++;
    if (used_digits) narrow_digits(work.magnitudes, n, p, work.planes, used_digits);
    for (unsigned e = 0; e < used_digits; e++) memset(work.planes[e] + n, 0, padded - n);

    /* Two planes: the lower one's histogram from the magnitudes (count_lower_of_two), and when no
     * magnitude reaches 15 p, the first plane's from it too: its digit is the lower one's context. */
    uint32_t lower_counts[PADIC_MAX_CONTEXTS * 256], first_counts[256] = {0};
    int lower_counted = used_digits == 2 && largest < (PADIC_MAX_CONTEXTS - 1) * p;
    if (lower_counted) {
        memset(lower_counts, 0, sizeof lower_counts);
        count_lower_of_two(work.magnitudes, n, p, lower_counts);
        for (unsigned c = 0; c < PADIC_MAX_CONTEXTS - 1; c++)
            for (unsigned d = 0; d < p; d++) first_counts[c] += lower_counts[c * 256 + d];
    }
    int first_plane = 1;
    plane_scan_t scan; /* 16 KiB of histograms */
    size_t plane_starts[PADIC_MAX_PLANES + 1];
    size_t head_checksum_at = w.pos;
    SPS_TRY(writer_need(&w, 8));
    w.pos += 8;
    for (unsigned plane = 0; plane < P; plane++) {
        const unsigned e = P - 1 - plane;
        plane_starts[plane] = w.pos;
        if (e >= used_digits) { /* above the largest magnitude's leading digit */
            SPS_TRY(writer_need(&w, 5));
            dst[w.pos] = PLANE_ZERO;
            store_le32(dst + w.pos + 1, 0);
            w.pos += 5;
        } else {
            const uint8_t *digits = work.planes[e];
            /* The second of two planes takes its contexts straight from the first's digits (they
             * are never computed); other planes keep a contexts array. */
            const int second_of_two = !first_plane && used_digits == 2;
            /* A first plane's contexts (all 0) are read only to start the next plane's, from a
             * third plane on: a first plane alone has one context and is never sorted. */
            if (first_plane && used_digits > 2) memset(work.contexts, 0, n);
            else if (!first_plane && !second_of_two) narrow_next_contexts(work.contexts, work.planes[e + 1], n, p);
            unsigned top = 0; /* the largest digit of a first plane: the leading digit of the largest */
            for (uint32_t m = largest; m; m /= p) top = m % p;
            if (second_of_two && !lower_counted) {
                /* The first plane's histogram, still in scan, says how many magnitudes reach 15 p. */
                size_t beyond_direct = 0;
                for (unsigned d = PADIC_MAX_CONTEXTS - 1; d < p; d++) beyond_direct += scan.hist[0][d];
                lower_counted = beyond_direct <= n / 16;
                if (lower_counted) {
                    memset(lower_counts, 0, sizeof lower_counts);
                    count_lower_of_two(work.magnitudes, n, p, lower_counts);
                }
            }
            const uint32_t *counted = !lower_counted ? NULL : first_plane ? first_counts : lower_counts;
            narrow_scan(digits, work.contexts, n, p, first_plane, top, second_of_two ? work.planes[e + 1] : NULL, counted,
                        &scan, simd);
            scan.sign_count = narrow_gather_signs(&work, digits, first_plane, simd);
            /* The second of two planes sorts by the first plane's digits: capped, they are its contexts. */
            const uint8_t *contexts = second_of_two ? work.planes[e + 1] : work.contexts;
            SPS_TRY(write_plane(&w, p, n, digits, contexts, work.sorted, work.sign_bits, &scan, simd));
            first_plane = 0;
        }
        SPS_TRY(plane_entry(dst, plane, plane_starts[plane], w.pos));
    }
    store_le64(dst + head_checksum_at, checksum64(dst, head_checksum_at, 0));
    *written = w.pos;
    if (stats) {
        stats->max_error = max_error;
        stats->escapes = escape_count;
    }
    return SARAPHIS_OK;
}

static saraphis_status_t encode_with(const padic_params_t *params, saraphis_dtype_t dtype, const uint8_t *src,
                                     size_t n, uint8_t *dst, size_t capacity, size_t *written, uint8_t *block,
                                     padic_chunk_stats_t *stats, int simd)
{
    encode_work_t work = encode_work(block, n);
    const unsigned P = params->precision, p = params->prime;

    lattice_t lattice;
    lattice.eps = params->eps;
    lattice.step = 2 * params->eps;
    lattice.inverse_step = 1 / lattice.step;
    uint64_t full = power_u64(p, P);
    lattice.limit = (double)(full < PADIC_MAGNITUDE_LIMIT ? full : PADIC_MAGNITUDE_LIMIT);
    if (P <= PADIC_NARROW_PLANES && full <= PADIC_NARROW_LIMIT)
        return encode_narrow(params, dtype, src, n, dst, capacity, written, block, stats, &lattice, simd);
    double max_error = 0;
    size_t escape_count;
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: escape_count = quantise_f32(src, n, &lattice, work.codes, work.escapes, &max_error); break;
    case SARAPHIS_DTYPE_F64: escape_count = quantise_f64(src, n, &lattice, work.codes, work.escapes, &max_error); break;
    case SARAPHIS_DTYPE_F16: escape_count = quantise_f16(src, n, &lattice, work.codes, work.escapes, &max_error); break;
    default: escape_count = quantise_bf16(src, n, &lattice, work.codes, work.escapes, &max_error); break;
    }

    writer_t w = {dst, capacity, 0};
    SPS_TRY(write_head(&w, params, dtype, src, n, work.escapes, escape_count, work.digits));

    /* Planes above the largest magnitude's leading digit are all zero: skip their passes. */
    uint64_t largest = largest_magnitude(work.codes, n);
    unsigned used_digits = 0;
    for (uint64_t m = largest; m; m /= p) used_digits++;
    digit_system_t sys = {p, P, largest < ((uint64_t)1 << 31), 0};
    sys.precomputed = sys.small && p == 251 && used_digits <= 4;
    if (sys.precomputed) extract_digits_251(work.codes, n, work.digit_planes);
    int first_plane = 1;
    plane_scan_t scan; /* 16 KiB of histograms */
    size_t plane_starts[PADIC_MAX_PLANES + 1];
    size_t head_checksum_at = w.pos;
    SPS_TRY(writer_need(&w, 8));
    w.pos += 8;
    for (unsigned plane = 0; plane < P; plane++) {
        plane_starts[plane] = w.pos;
        if (plane + used_digits < P) {
            SPS_TRY(writer_need(&w, 5));
            dst[w.pos] = PLANE_ZERO;
            store_le32(dst + w.pos + 1, 0);
            w.pos += 5;
        } else {
            SPS_TRY(encode_plane(&w, &sys, plane, n, &work, &scan, first_plane, simd));
            first_plane = 0;
        }
        SPS_TRY(plane_entry(dst, plane, plane_starts[plane], w.pos));
    }
    store_le64(dst + head_checksum_at, checksum64(dst, head_checksum_at, 0));
    *written = w.pos;
    if (stats) {
        stats->max_error = max_error;
        stats->escapes = escape_count;
    }
    return SARAPHIS_OK;
}

static saraphis_status_t encode_chunk(const padic_params_t *params, saraphis_dtype_t dtype, const uint8_t *src,
                                      size_t raw_bytes, uint8_t *dst, size_t capacity, size_t *written,
                                      codec_scratch_t *scratch, padic_chunk_stats_t *stats, int simd)
{
    SPS_TRY(padic_validate(params));
    SPS_TRY(check_dtype(dtype, raw_bytes, "p-adic encode"));
    const size_t n = raw_bytes / saraphis_dtype_size(dtype);
    if (n > UINT32_MAX) return error_set(SARAPHIS_ERROR_LIMIT, "p-adic: a chunk of %zu elements exceeds 2^32 - 1", n);
    uint8_t *block;
    pthread_once(&xlog2_once, xlog2_build);
    SPS_TRY(work_alloc(n, scratch, &block));
    saraphis_status_t status = encode_with(params, dtype, src, n, dst, capacity, written, block, stats, simd);
    work_done(scratch, block);
    return status;
}

saraphis_status_t padic_encode_chunk(const padic_params_t *params, saraphis_dtype_t dtype, const uint8_t *src,
                                     size_t raw_bytes, uint8_t *dst, size_t capacity, size_t *written,
                                     codec_scratch_t *scratch, padic_chunk_stats_t *stats)
{
    return encode_chunk(params, dtype, src, raw_bytes, dst, capacity, written, scratch, stats, rans_have_avx2());
}

saraphis_status_t padic_encode_chunk_portable(const padic_params_t *params, saraphis_dtype_t dtype, const uint8_t *src,
                                              size_t raw_bytes, uint8_t *dst, size_t capacity, size_t *written,
                                              codec_scratch_t *scratch, padic_chunk_stats_t *stats)
{
    return encode_chunk(params, dtype, src, raw_bytes, dst, capacity, written, scratch, stats, 0);
}

/* ---- Payload parsing ---------------------------------------------------------------------- */

typedef struct {
    padic_params_t params;
    saraphis_dtype_t dtype;
    uint32_t elements, escapes, escape_bytes;
    size_t head;          /* header + plane table */
    size_t planes_start;  /* after the escape section and head checksum */
    uint32_t plane_bytes[PADIC_MAX_PLANES];
} header_t;

/* Parses and range-checks the header and plane table (not the checksum). */
static saraphis_status_t parse_header(const uint8_t *src, size_t size, header_t *h)
{
    if (size < PADIC_FIXED_HEADER) return error_set(SARAPHIS_ERROR_TRUNCATED, "p-adic: payload of %zu bytes is shorter than its header", size);
    if (src[0] != PADIC_FORMAT_VERSION) return error_set(SARAPHIS_ERROR_UNSUPPORTED, "p-adic: payload version %u is not supported", src[0]);
    h->dtype = (saraphis_dtype_t)src[1];
    h->params.prime = src[2];
    h->params.precision = src[3];
    h->params.eps = padic_bits_double(load_le64(src + 4));
    h->elements = load_le32(src + 12);
    h->escapes = load_le32(src + 16);
    h->escape_bytes = load_le32(src + 20);
    if (!loader_for(h->dtype)) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: header names dtype code %u, not a float", src[1]);
    if (padic_validate(&h->params) != SARAPHIS_OK)
        return error_wrap(SARAPHIS_ERROR_CORRUPT, "p-adic: header parameters are invalid: ");
    if (h->escapes > h->elements) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: %u escapes among %u elements", h->escapes, h->elements);
    h->head = head_bytes_for(h->params.precision);
    if (size < h->head) return error_set(SARAPHIS_ERROR_TRUNCATED, "p-adic: plane table cut short");
    for (unsigned j = 0; j < h->params.precision; j++) h->plane_bytes[j] = load_le32(src + PADIC_FIXED_HEADER + PADIC_PLANE_ENTRY * j);
    h->planes_start = h->head + (size_t)h->escape_bytes + 8;
    return SARAPHIS_OK;
}

size_t padic_prefix_bytes(const uint8_t *payload, size_t available, unsigned planes)
{
    header_t h;
    if (available < PADIC_FIXED_HEADER || payload[0] != PADIC_FORMAT_VERSION) return 0;
    unsigned precision = payload[3];
    if (precision < 1 || precision > PADIC_MAX_PLANES || available < head_bytes_for(precision)) return 0;
    saraphis_status_t status = parse_header(payload, available, &h);
    if (status != SARAPHIS_OK) return 0;
    unsigned k = planes == 0 || planes > precision ? precision : planes;
    uint64_t total = h.planes_start;
    for (unsigned j = 0; j < k; j++) total += h.plane_bytes[j];
    return total > SIZE_MAX ? SIZE_MAX : (size_t)total;
}

saraphis_status_t padic_payload_info(const uint8_t *payload, size_t available, padic_info_t *info)
{
    header_t h;
    SPS_TRY(parse_header(payload, available, &h));
    memset(info, 0, sizeof *info);
    info->params = h.params;
    info->dtype = h.dtype;
    info->elements = h.elements;
    info->escapes = h.escapes;
    info->head_bytes = h.planes_start;
    memcpy(info->plane_bytes, h.plane_bytes, sizeof(uint32_t) * h.params.precision);
    return SARAPHIS_OK;
}

/* ---- Decoder ------------------------------------------------------------------------------ */

typedef struct {
    uint64_t *codes;
    uint8_t *symbols, *sign_bits;
    uint32_t *escapes;
} decode_work_t;

static decode_work_t decode_work(uint8_t *block, size_t n)
{
    decode_work_t work;
    uint8_t *rest = block + 8 * n;
    work.codes = (uint64_t *)(void *)block;
    work.symbols = rest;
    work.sign_bits = work.symbols + n;
    size_t offset = (n + n / 8 + 16 + 3) & ~(size_t)3;
    work.escapes = (uint32_t *)(void *)(rest + offset);
    return work;
}

/* Parses the escape section into sorted indices; the values stay in the payload. */
static saraphis_status_t read_escapes(const uint8_t *section, size_t size, const header_t *h, size_t element_size,
                                      const decode_work_t *work, const uint8_t **values)
{
    const size_t n = h->elements, e = h->escapes;
    if (size < 1) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: empty escape section");
    size_t pos = 1;
    switch (section[0]) {
    case ESCAPES_NONE:
        if (e != 0) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: %zu escapes announced but none listed", e);
        break;
    case ESCAPES_DELTAS: {
        uint64_t index = 0;
        for (size_t k = 0; k < e; k++) {
            uint32_t gap;
            size_t used = varint_get(section + pos, size - pos, &gap);
            if (!used) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: escape index %zu is malformed", k);
            pos += used;
            index = k ? index + 1 + gap : gap;
            if (index >= n) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: escape index %llu is beyond %zu elements", (unsigned long long)index, n);
            work->escapes[k] = (uint32_t)index;
        }
        break;
    }
    case ESCAPES_BITMAP: {
        size_t bitmap_bytes = (n + 7) / 8, consumed;
        uint8_t *bitmap = work->symbols; /* free until the planes are decoded */
        SPS_TRY(entropy_decode(section + pos, size - pos, bitmap, bitmap_bytes, &consumed));
        pos += consumed;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (!(bitmap[i >> 3] >> (i & 7) & 1)) continue;
            if (k == e) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: escape bitmap lists more than %zu escapes", e);
            work->escapes[k++] = (uint32_t)i;
        }
        if (k != e) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: escape bitmap lists %zu escapes, header says %zu", k, e);
        if (n % 8 && bitmap[n / 8] >> (n % 8)) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: escape bitmap has bits past the last element");
        break;
    }
    default: return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: unknown escape form %u", section[0]);
    }
    if (size - pos != e * element_size)
        return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: escape values take %zu bytes, expected %zu", size - pos, e * element_size);
    *values = section + pos;
    return SARAPHIS_OK;
}

static inline unsigned sign_at(const uint8_t *bits, size_t k) { return (bits[k >> 3] >> (k & 7)) & 1u; }

/* A dense plane whose digits are in element order (one context, or the first non-zero plane):
 * codes[i] = code * p + digit, keeping the sign; symbols[i] becomes 1 where a magnitude starts
 * (prefix 0, digit non-zero), else 0. Branch-free, so it vectorises. Returns non-zero when a
 * digit is >= p. */
PADIC_CLONES static unsigned apply_digits(uint64_t *restrict codes, uint8_t *restrict symbols, size_t n, unsigned p,
                                          int all_zero)
{
    unsigned bad = 0;
    if (all_zero) {
        for (size_t i = 0; i < n; i++) {
            unsigned digit = symbols[i];
            bad |= digit >= p;
            codes[i] = digit;
            symbols[i] = digit != 0;
        }
    } else {
        const uint64_t prime = p;
        for (size_t i = 0; i < n; i++) {
            uint64_t code = codes[i], prefix = code & PADIC_MAGNITUDE_MASK;
            unsigned digit = symbols[i];
            bad |= digit >= p;
            codes[i] = (code & PADIC_SIGN_BIT) | (prefix * prime + digit);
            symbols[i] = (uint8_t)((prefix == 0) & (digit != 0));
        }
    }
    return bad;
}

/* Gives the elements flagged in starts[] (0 or 1 each) the next sign bits, in order; returns how
 * many were taken. Sign bits read past the decoded ones are zero (the caller clears n/8 + 16
 * bytes), and the count is checked by the caller. With BMI2, eight elements at a time: their
 * flags gathered into a byte, the next bits deposited onto it. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("bmi2,popcnt"))) static size_t assign_signs_bmi2(uint64_t *restrict codes, const uint8_t *restrict starts,
                                                                        size_t n, const uint8_t *restrict signs, size_t *done)
{
    size_t k = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t flags;
        memcpy(&flags, starts + i, 8);
        unsigned mask = (unsigned)(((flags & 0x0101010101010101ull) * 0x0102040810204080ull) >> 56);
        if (!mask) continue;
        unsigned bits = (unsigned)(load_le64(signs + (k >> 3)) >> (k & 7));
        unsigned deposit = _pdep_u32(bits, mask);
        k += (size_t)__builtin_popcount(mask);
        for (unsigned j = 0; j < 8; j++) codes[i + j] |= (uint64_t)((deposit >> j) & 1u) << 63;
    }
    *done = i;
    return k;
}
#define PADIC_HAVE_BMI2_PATH 1
#endif

static size_t assign_signs(uint64_t *restrict codes, const uint8_t *restrict starts, size_t n, const uint8_t *restrict signs)
{
    size_t k = 0, i = 0;
#ifdef PADIC_HAVE_BMI2_PATH
    if (__builtin_cpu_supports("bmi2")) k = assign_signs_bmi2(codes, starts, n, signs, &i);
#endif
    for (; i < n; i++) {
        unsigned start = starts[i];
        codes[i] |= (uint64_t)((signs[k >> 3] >> (k & 7)) & start) << 63;
        k += start;
    }
    return k;
}

/* Decodes one plane: codes[i] = code[i] * p + digit, signs of newly non-zero elements set.
 * *all_zero tracks whether every magnitude is still 0 (then multiplying is skipped). */
static saraphis_status_t decode_plane(const uint8_t *src, size_t size, unsigned plane, unsigned p, size_t n,
                                      const decode_work_t *work, int *all_zero)
{
    if (size < 5) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u is shorter than its header", plane);
    unsigned mode = src[0];
    size_t sign_count = load_le32(src + 1), pos = 5, consumed;
    uint64_t *codes = work->codes;
    if (mode == PLANE_ZERO) {
        if (sign_count || size != 5) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: zero plane %u carries data", plane);
        if (!*all_zero)
            for (size_t i = 0; i < n; i++) codes[i] = (codes[i] & PADIC_SIGN_BIT) | (codes[i] & PADIC_MAGNITUDE_MASK) * p;
        return SARAPHIS_OK;
    }
    if (mode != PLANE_DENSE && mode != PLANE_SPARSE) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u has unknown form %u", plane, mode);
    if (sign_count > n) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u announces %zu signs for %zu elements", plane, sign_count, n);
    const uint8_t *signs = work->sign_bits;
    size_t sign_bytes = (sign_count + 7) / 8;
    if (sign_count) {
        SPS_TRY(entropy_decode(src + pos, size - pos, work->sign_bits, sign_bytes, &consumed));
        pos += consumed;
    }
    memset(work->sign_bits + sign_bytes, 0, n / 8 + 16 - sign_bytes);
    size_t signs_used = 0;
    if (mode == PLANE_SPARSE) {
        if (size - pos < 4) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: sparse plane %u cut short", plane);
        size_t count = load_le32(src + pos);
        pos += 4;
        if (count > n) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: sparse plane %u lists %zu digits for %zu elements", plane, count, n);
        /* Positions first (varints), then the digit stream: find where the positions end. */
        const uint8_t *positions = src + pos;
        size_t positions_size = 0;
        for (size_t k = 0; k < count; k++) {
            uint32_t gap;
            size_t used = varint_get(positions + positions_size, size - pos - positions_size, &gap);
            if (!used) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: sparse plane %u position %zu is malformed", plane, k);
            positions_size += used;
        }
        pos += positions_size;
        SPS_TRY(entropy_decode(src + pos, size - pos, work->symbols, count, &consumed));
        pos += consumed;
        if (pos != size) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u has %zu trailing bytes", plane, size - pos);
        if (!*all_zero)
            for (size_t i = 0; i < n; i++) codes[i] = (codes[i] & PADIC_SIGN_BIT) | (codes[i] & PADIC_MAGNITUDE_MASK) * p;
        uint64_t index = 0;
        size_t at = 0;
        for (size_t k = 0; k < count; k++) {
            uint32_t gap = 0;
            at += varint_get(positions + at, positions_size - at, &gap);
            index = k ? index + 1 + gap : gap;
            unsigned digit = work->symbols[k];
            if (index >= n || digit == 0 || digit >= p)
                return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: sparse plane %u entry %zu is invalid", plane, k);
            uint64_t code = codes[index];
            if ((code & PADIC_MAGNITUDE_MASK) == 0) {
                if (signs_used == sign_count) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u needs more signs than it holds", plane);
                code |= (uint64_t)sign_at(signs, signs_used++) << 63;
            }
            codes[index] = code + digit;
        }
    } else {
        if (size - pos < 1) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: dense plane %u cut short", plane);
        unsigned contexts = src[pos++];
        if (contexts < 1 || contexts > PADIC_MAX_CONTEXTS)
            return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u uses %u contexts", plane, contexts);
        const unsigned last = contexts - 1;
        size_t start[PADIC_MAX_CONTEXTS + 1] = {0}, cursor[PADIC_MAX_CONTEXTS];
        if (contexts == 1 || *all_zero) start[1] = n;
        else {
            for (size_t i = 0; i < n; i++) {
                uint64_t prefix = codes[i] & PADIC_MAGNITUDE_MASK;
                start[(prefix < last ? prefix : last) + 1]++;
            }
        }
        for (unsigned c = 0; c < contexts; c++) {
            start[c + 1] += start[c];
            SPS_TRY(entropy_decode(src + pos, size - pos, work->symbols + start[c], start[c + 1] - start[c], &consumed));
            pos += consumed;
            cursor[c] = start[c];
        }
        if (pos != size) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u has %zu trailing bytes", plane, size - pos);
        const uint8_t *symbols = work->symbols;
        unsigned bad = 0;
        /* Branch-free: a magnitude that starts here (prefix 0, digit non-zero) takes the next
         * sign bit. Reads past the decoded sign bytes see zeros (cleared above) and are caught
         * by the count check after the plane. */
        size_t k = 0;
        if (*all_zero || contexts == 1) {
            bad = apply_digits(codes, work->symbols, n, p, *all_zero);
            if (!bad) k = assign_signs(codes, work->symbols, n, signs);
        } else {
            for (size_t i = 0; i < n; i++) {
                uint64_t code = codes[i], prefix = code & PADIC_MAGNITUDE_MASK;
                unsigned c = prefix < last ? (unsigned)prefix : last;
                unsigned digit = symbols[cursor[c]++], starts = (prefix == 0) & (digit != 0);
                bad |= digit >= p;
                uint64_t bit = (uint64_t)((signs[k >> 3] >> (k & 7)) & starts);
                k += starts;
                codes[i] = (code & PADIC_SIGN_BIT) | bit << 63 | (prefix * p + digit);
            }
        }
        signs_used = k;
        if (bad) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u holds a digit >= %u", plane, p);
    }
    if (signs_used != sign_count)
        return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u holds %zu signs but %zu magnitudes start in it", plane, sign_count, signs_used);
    *all_zero = 0;
    return SARAPHIS_OK;
}

/* Reconstruction: full precision x' = round(q * step); after k < P planes, the centre of the
 * interval of magnitudes those planes allow, and 0 where they are all zero. A magnitude becomes a
 * double through the exponent trick (exact below 2^52, which every valid magnitude is), and the
 * sign is applied after the product (IEEE products are symmetric), so the loop vectorises and
 * equals the encoder's round(q * step) bit for bit. */
#define DEFINE_RECONSTRUCT(NAME, SIZE, ROUND, STORE)                                            \
    PADIC_CLONES static void NAME##_full(uint8_t *restrict dst, size_t n, const uint64_t *restrict codes, double step) \
    {                                                                                             \
        for (size_t i = 0; i < n; i++) {                                                          \
            uint64_t code = codes[i];                                                             \
            double magnitude = padic_bits_double((code & PADIC_MAGNITUDE_MASK) | padic_double_bits(0x1p52)) - 0x1p52; \
            double v = padic_bits_double(padic_double_bits(magnitude * step) | (code & PADIC_SIGN_BIT)); \
            STORE(dst + i * SIZE, ROUND(v));                                                      \
        }                                                                                         \
    }                                                                                             \
    /* prefix * width + centre is below 2^42 for a valid payload, so exact in doubles. */       \
    PADIC_CLONES static void NAME##_partial(uint8_t *restrict dst, size_t n, const uint64_t *restrict codes, \
                                            double step, double width, double centre)             \
    {                                                                                             \
        for (size_t i = 0; i < n; i++) {                                                          \
            uint64_t code = codes[i], prefix = code & PADIC_MAGNITUDE_MASK;                       \
            double prefix_d = padic_bits_double(prefix | padic_double_bits(0x1p52)) - 0x1p52;     \
            double v = prefix ? (prefix_d * width + centre) * step : 0.0;                         \
            v = padic_bits_double(padic_double_bits(v) | (code & PADIC_SIGN_BIT));                \
            STORE(dst + i * SIZE, ROUND(v));                                                      \
        }                                                                                         \
    }                                                                                             \
    static void NAME(uint8_t *restrict dst, size_t n, const uint64_t *restrict codes, double step, \
                     uint64_t width, uint64_t centre)                                             \
    {                                                                                             \
        if (width == 1) NAME##_full(dst, n, codes, step);                                         \
        else NAME##_partial(dst, n, codes, step, (double)width, (double)centre);                  \
    }

DEFINE_RECONSTRUCT(reconstruct_f32, 4, padic_round_f32, padic_store_f32)
DEFINE_RECONSTRUCT(reconstruct_f64, 8, padic_round_f64, padic_store_f64)
DEFINE_RECONSTRUCT(reconstruct_f16, 2, padic_round_f16, padic_store_f16)
DEFINE_RECONSTRUCT(reconstruct_bf16, 2, padic_round_bf16, padic_store_bf16)

static saraphis_status_t decode_with(const header_t *hp, saraphis_dtype_t dtype, const uint8_t *src, uint8_t *dst,
                                     size_t n, unsigned k, uint8_t *block, int simd);

static saraphis_status_t decode_chunk(saraphis_dtype_t dtype, const uint8_t *src, size_t size, uint8_t *dst,
                                      size_t raw_bytes, unsigned planes, codec_scratch_t *scratch, double *bound_out,
                                      int simd)
{
    SPS_TRY(check_dtype(dtype, raw_bytes, "p-adic decode"));
    header_t h;
    SPS_TRY(parse_header(src, size, &h));
    const size_t n = raw_bytes / saraphis_dtype_size(dtype);
    if (h.dtype != dtype)
        return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: payload holds %s, caller expects %s", saraphis_dtype_name(h.dtype), saraphis_dtype_name(dtype));
    if (h.elements != n) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: payload holds %u elements, expected %zu", h.elements, n);
    const unsigned P = h.params.precision;
    const unsigned k = planes == 0 || planes > P ? P : planes;
    uint64_t needed = h.planes_start;
    for (unsigned j = 0; j < k; j++) needed += h.plane_bytes[j];
    if (needed > size) return error_set(SARAPHIS_ERROR_TRUNCATED, "p-adic: %u planes need %llu payload bytes, %zu given", k, (unsigned long long)needed, size);
    if (k == P) {
        uint64_t total = needed;
        if (total != size) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: payload is %zu bytes, its plane table says %llu", size, (unsigned long long)total);
    }
    uint64_t head_checksum = load_le64(src + h.planes_start - 8);
    if (!SARAPHIS_FUZZING && checksum64(src, h.planes_start - 8, 0) != head_checksum)
        return error_set(SARAPHIS_ERROR_CHECKSUM, "p-adic: header checksum mismatch");
    uint8_t *block;
    SPS_TRY(work_alloc(n, scratch, &block));
    saraphis_status_t status = decode_with(&h, dtype, src, dst, n, k, block, simd);
    work_done(scratch, block);
    if (status == SARAPHIS_OK && bound_out) *bound_out = padic_progressive_bound(&h.params, k);
    return status;
}

saraphis_status_t padic_decode_chunk(saraphis_dtype_t dtype, const uint8_t *src, size_t size, uint8_t *dst,
                                     size_t raw_bytes, unsigned planes, codec_scratch_t *scratch,
                                     double *bound_out)
{
    return decode_chunk(dtype, src, size, dst, raw_bytes, planes, scratch, bound_out, rans_have_avx2());
}

saraphis_status_t padic_decode_chunk_portable(saraphis_dtype_t dtype, const uint8_t *src, size_t size, uint8_t *dst,
                                              size_t raw_bytes, unsigned planes, codec_scratch_t *scratch,
                                              double *bound_out)
{
    return decode_chunk(dtype, src, size, dst, raw_bytes, planes, scratch, bound_out, 0);
}

/* ---- Decoder for up to PADIC_NARROW_PLANES planes ---------------------------------------------
 *
 * With at most four planes read, every magnitude is below 251^4 < 2^32. Each plane's digits are
 * kept as a byte array in element order (zero padded to a multiple of 64 elements), and the signs
 * as one bit per element in 64-bit words: a plane's signs go to the elements whose digit is its
 * first non-zero one, a mask of 64 elements taken from byte compares and filled by one bit deposit
 * per word. The magnitudes are put together only once, in the pass that writes the floats. */

typedef struct {
    uint8_t *planes[PADIC_NARROW_PLANES]; /* digits, element order, words * 64 bytes each */
    uint64_t *sign_words, *started_words; /* sign bit; magnitude non-zero in a plane so far */
    uint8_t *symbols;                     /* streams sorted by context, sparse digits (n) */
    uint8_t *sign_bits;                   /* a plane's decoded sign stream (n/8 + 32, zero padded) */
    uint8_t *contexts;                    /* min(prefix, C - 1) for a plane with C > 1 contexts */
    uint32_t *escapes;
    size_t words;                         /* ceil(n / 64) */
} narrow_work_t;

static narrow_work_t narrow_work(uint8_t *block, size_t n)
{
    narrow_work_t work;
    size_t words = (n + 63) / 64, padded = 64 * words;
    uint8_t *at = block;
    work.words = words;
    work.sign_words = (uint64_t *)(void *)at;
    at += 8 * words;
    work.started_words = (uint64_t *)(void *)at;
    at += 8 * words;
    work.escapes = (uint32_t *)(void *)at;
    at += 4 * n + 8;
    for (unsigned j = 0; j < PADIC_NARROW_PLANES; j++, at += padded) work.planes[j] = at;
    work.symbols = at;
    at += n + 8;
    work.contexts = at;
    at += n + 8;
    work.sign_bits = at; /* n / 8 + 32 */
    return work;
}

/* Work bytes of the narrow decoder: 8.25 n + 4 * 64 words + 3 n + n / 8 + small. */
#define PADIC_NARROW_WORK(n) (20 * (n) + 1024)

/* Reads 64 bits of the sign stream from bit `at` (LSB first); the buffer is zero padded. */
static inline uint64_t sign_bits_at(const uint8_t *bits, size_t at)
{
    const uint8_t *p = bits + (at >> 3);
    unsigned shift = (unsigned)(at & 7);
    uint64_t low = load_le64(p);
    return shift ? low >> shift | load_le64(p + 8) << (64 - shift) : low;
}

/* Bits of `bits` placed, in order, at the set bits of mask (BMI2 pdep). */
static inline uint64_t deposit_portable(uint64_t bits, uint64_t mask)
{
    uint64_t result = 0;
    for (uint64_t b = 1; mask; b <<= 1, mask &= mask - 1)
        if (bits & b) result |= mask & (0 - mask);
    return result;
}

/* One plane's signs: elements whose first non-zero digit is in this plane take the next bits of
 * the sign stream, in element order. Returns the number of signs taken; *bad is set when a digit
 * is >= p. */
static size_t narrow_signs_portable(narrow_work_t *work, const uint8_t *digits, unsigned p, int first, unsigned *bad)
{
    size_t used = 0;
    for (size_t w = 0; w < work->words; w++) {
        uint64_t nonzero = nonzero_mask_portable(digits + 64 * w, p, bad);
        uint64_t starts = first ? nonzero : nonzero & ~work->started_words[w];
        work->started_words[w] = first ? nonzero : work->started_words[w] | nonzero;
        uint64_t deposit = deposit_portable(sign_bits_at(work->sign_bits, used), starts);
        work->sign_words[w] = first ? deposit : work->sign_words[w] | deposit;
        used += (size_t)__builtin_popcountll(starts);
    }
    return used;
}

#ifdef PADIC_HAVE_AVX2_PATH
PADIC_AVX2 static size_t narrow_signs_avx2(narrow_work_t *work, const uint8_t *digits, unsigned p, int first, unsigned *bad)
{
    size_t used = 0;
    const __m256i zero = _mm256_setzero_si256();
    __m256i largest = zero;
    for (size_t w = 0; w < work->words; w++) {
        __m256i low = _mm256_loadu_si256((const __m256i *)(const void *)(digits + 64 * w));
        __m256i high = _mm256_loadu_si256((const __m256i *)(const void *)(digits + 64 * w + 32));
        largest = _mm256_max_epu8(largest, _mm256_max_epu8(low, high));
        uint64_t zeros = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(low, zero)) |
                         (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(high, zero)) << 32;
        uint64_t nonzero = ~zeros;
        uint64_t starts = first ? nonzero : nonzero & ~work->started_words[w];
        work->started_words[w] = first ? nonzero : work->started_words[w] | nonzero;
        uint64_t deposit = _pdep_u64(sign_bits_at(work->sign_bits, used), starts);
        work->sign_words[w] = first ? deposit : work->sign_words[w] | deposit;
        used += (size_t)_mm_popcnt_u64(starts);
    }
    /* Any digit >= p: the largest byte, compared once. */
    uint8_t bytes[32];
    _mm256_storeu_si256((__m256i *)(void *)bytes, largest);
    unsigned top = 0;
    for (unsigned b = 0; b < 32; b++) top = bytes[b] > top ? bytes[b] : top;
    *bad |= top >= p;
    return used;
}

/* Full-precision F32 output: magnitude by Horner over the digit planes (32-bit lanes), to double
 * exactly, times step, clamped to FLT_MAX and rounded to float, then the sign: the same IEEE
 * operations as reconstruct_f32_full (rounding and the clamp are symmetric, so the sign may come
 * last), eight elements at a time. `count` is a constant in each caller, so the Horner loop
 * unrolls. Magnitudes below 2^31 convert as signed integers, larger ones through 2^52 (`wide`);
 * the clamp is left out when no magnitude's product can pass FLT_MAX (`clamp` false). Returns
 * the elements written (a multiple of 8). */
PADIC_AVX2 static inline __attribute__((always_inline)) size_t
narrow_f32_planes(uint8_t *dst, size_t n, uint8_t *const *planes, const unsigned count, unsigned p,
                  const uint64_t *sign_words, double step, const int wide, const int clamp)
{
    const __m256i prime = _mm256_set1_epi32((int)p);
    const __m256i lane_shifts = _mm256_setr_epi32(31, 30, 29, 28, 27, 26, 25, 24), sign_bit = _mm256_set1_epi32((int)0x80000000u);
    const __m256i exponent = _mm256_set1_epi64x(0x4330000000000000ll);
    const __m256d two52 = _mm256_set1_pd(0x1p52), step_v = _mm256_set1_pd(step), high = _mm256_set1_pd(FLT_MAX);
    const uint8_t *plane[PADIC_NARROW_PLANES];
    for (unsigned j = 0; j < count; j++) plane[j] = planes[j];
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i m = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(plane[0] + i)));
        for (unsigned j = 1; j < count; j++)
            m = _mm256_add_epi32(_mm256_mullo_epi32(m, prime),
                                 _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(plane[j] + i))));
        __m256d m0, m1;
        if (wide) {
            m0 = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(m)), exponent)), two52);
            m1 = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_cvtepu32_epi64(_mm256_extracti128_si256(m, 1)), exponent)), two52);
        } else {
            m0 = _mm256_cvtepi32_pd(_mm256_castsi256_si128(m));
            m1 = _mm256_cvtepi32_pd(_mm256_extracti128_si256(m, 1));
        }
        __m256d v0 = _mm256_mul_pd(m0, step_v), v1 = _mm256_mul_pd(m1, step_v);
        if (clamp) {
            v0 = _mm256_min_pd(v0, high);
            v1 = _mm256_min_pd(v1, high);
        }
        __m256 f = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(v0)), _mm256_cvtpd_ps(v1), 1);
        /* Lane k's sign bit moved to bit 31. */
        __m256i signs = _mm256_set1_epi32((int)(uint32_t)(sign_words[i >> 6] >> (i & 63)));
        f = _mm256_or_ps(f, _mm256_castsi256_ps(_mm256_and_si256(_mm256_sllv_epi32(signs, lane_shifts), sign_bit)));
        _mm256_storeu_ps((float *)(void *)(dst + 4 * i), f);
    }
    return i;
}

#define NARROW_F32_CASES(WIDE, CLAMP)                                                            \
    switch (count) {                                                                              \
    case 1: return narrow_f32_planes(dst, n, planes, 1, p, sign_words, step, WIDE, CLAMP);        \
    case 2: return narrow_f32_planes(dst, n, planes, 2, p, sign_words, step, WIDE, CLAMP);        \
    case 3: return narrow_f32_planes(dst, n, planes, 3, p, sign_words, step, WIDE, CLAMP);        \
    default: return narrow_f32_planes(dst, n, planes, 4, p, sign_words, step, WIDE, CLAMP);       \
    }

PADIC_AVX2 static size_t narrow_f32_avx2(uint8_t *dst, size_t n, uint8_t *const *planes, unsigned count, unsigned p,
                                         const uint64_t *sign_words, double step)
{
    const uint64_t limit = power_u64(p, count); /* every magnitude is below it */
    const int wide = limit > ((uint64_t)1 << 31), clamp = !((double)(limit - 1) * step <= FLT_MAX);
    if (!wide && !clamp) NARROW_F32_CASES(0, 0)
    if (!wide) NARROW_F32_CASES(0, 1)
    NARROW_F32_CASES(1, 1)
}
#endif

/* Magnitudes (with the sign in bit 63) of elements [begin, begin + count) from the digit planes. */
static void narrow_codes(uint64_t *codes, size_t begin, size_t count, uint8_t *const *planes, unsigned planes_used,
                         unsigned p, const uint64_t *sign_words)
{
    for (size_t i = 0; i < count; i++) {
        size_t e = begin + i;
        uint64_t magnitude = 0;
        for (unsigned j = 0; j < planes_used; j++) magnitude = magnitude * p + planes[j][e];
        codes[i] = magnitude | (sign_words[e >> 6] >> (e & 63) & 1) << 63;
    }
}

/* Puts a plane's digits back in element order: element i takes the next symbol of its context's
 * stream (streams at symbols + start[c]). Context by context, eight elements at a time: the
 * elements of context c are the zero bytes of (contexts ^ c), found without a branch per element,
 * so that each context's cursor stays in a register (one cursor per element would chain through
 * memory whenever neighbours share a context). */
static void merge_contexts(uint8_t *restrict digits, const uint8_t *restrict symbols, const uint8_t *restrict contexts,
                           size_t n, unsigned count, const size_t *start)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full, top = 0x8080808080808080ull, ones = 0x0101010101010101ull;
    size_t cursor[PADIC_MAX_CONTEXTS];
    for (unsigned c = 0; c < count; c++) cursor[c] = start[c];
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = load_le64(contexts + i);
        for (unsigned c = 0; c < count; c++) {
            uint64_t x = v ^ (c * ones);
            uint64_t marks = ~((((x & low7) + low7) | x)) & top;
            size_t k = cursor[c];
            for (; marks; marks &= marks - 1) digits[i + count_trailing_zeros64(marks) / 8] = symbols[k++];
            cursor[c] = k;
        }
    }
    for (; i < n; i++) digits[i] = symbols[cursor[contexts[i]]++];
}

/* Decodes one plane into its digit array. *all_zero: no earlier plane had a non-zero digit (every
 * prefix is 0). Sets *zero_plane when the plane is of the zero form (its array is not written). */
static saraphis_status_t narrow_plane(const uint8_t *src, size_t size, unsigned plane, unsigned p, size_t n,
                                      narrow_work_t *work, uint8_t *const *planes_above, unsigned above_count,
                                      int *all_zero, int *zero_plane, int simd)
{
    uint8_t *digits = work->planes[plane];
    *zero_plane = 0;
    if (size < 5) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u is shorter than its header", plane);
    unsigned mode = src[0];
    size_t sign_count = load_le32(src + 1), pos = 5, consumed;
    if (mode == PLANE_ZERO) {
        if (sign_count || size != 5) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: zero plane %u carries data", plane);
        *zero_plane = 1;
        return SARAPHIS_OK;
    }
    if (mode != PLANE_DENSE && mode != PLANE_SPARSE) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u has unknown form %u", plane, mode);
    if (sign_count > n) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u announces %zu signs for %zu elements", plane, sign_count, n);
    size_t sign_bytes = (sign_count + 7) / 8;
    if (sign_count) {
        SPS_TRY(entropy_decode(src + pos, size - pos, work->sign_bits, sign_bytes, &consumed));
        pos += consumed;
    }
    memset(work->sign_bits + sign_bytes, 0, n / 8 + 32 - sign_bytes);
    size_t padded = 64 * work->words;
    unsigned bad = 0;
    if (mode == PLANE_SPARSE) {
        if (size - pos < 4) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: sparse plane %u cut short", plane);
        size_t count = load_le32(src + pos);
        pos += 4;
        if (count > n) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: sparse plane %u lists %zu digits for %zu elements", plane, count, n);
        const uint8_t *positions = src + pos;
        size_t positions_size = 0;
        for (size_t k = 0; k < count; k++) {
            uint32_t gap;
            size_t used = varint_get(positions + positions_size, size - pos - positions_size, &gap);
            if (!used) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: sparse plane %u position %zu is malformed", plane, k);
            positions_size += used;
        }
        pos += positions_size;
        SPS_TRY(entropy_decode(src + pos, size - pos, work->symbols, count, &consumed));
        pos += consumed;
        if (pos != size) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u has %zu trailing bytes", plane, size - pos);
        memset(digits, 0, padded);
        uint64_t index = 0;
        size_t at = 0;
        for (size_t k = 0; k < count; k++) {
            uint32_t gap = 0;
            at += varint_get(positions + at, positions_size - at, &gap);
            index = k ? index + 1 + gap : gap;
            unsigned digit = work->symbols[k];
            if (index >= n || digit == 0 || digit >= p)
                return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: sparse plane %u entry %zu is invalid", plane, k);
            digits[index] = (uint8_t)digit;
        }
    } else {
        if (size - pos < 1) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: dense plane %u cut short", plane);
        unsigned contexts = src[pos++];
        if (contexts < 1 || contexts > PADIC_MAX_CONTEXTS)
            return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u uses %u contexts", plane, contexts);
        const unsigned last = contexts - 1;
        size_t start[PADIC_MAX_CONTEXTS + 1] = {0};
        int sorted = contexts > 1 && !*all_zero;
        if (!sorted) start[1] = n;
        else {
            /* Context of each element: its prefix (the digits above), capped; a prefix only
             * grows digit by digit, so the cap can be applied at every step. */
            uint8_t *context = work->contexts;
            memset(context, 0, n);
            for (unsigned j = 0; j < above_count; j++) narrow_next_contexts(context, planes_above[j], n, p);
            size_t counted[4][PADIC_MAX_CONTEXTS] = {{0}};
            for (size_t i = 0; i < n; i++) {
                unsigned c = context[i] < last ? context[i] : last;
                context[i] = (uint8_t)c;
                counted[i & 3][c]++;
            }
            for (unsigned c = 0; c < contexts; c++) start[c + 1] = counted[0][c] + counted[1][c] + counted[2][c] + counted[3][c];
        }
        for (unsigned c = 0; c < contexts; c++) {
            start[c + 1] += start[c];
            uint8_t *into = sorted ? work->symbols + start[c] : c == 0 ? digits : work->symbols;
            SPS_TRY(entropy_decode(src + pos, size - pos, into, start[c + 1] - start[c], &consumed));
            pos += consumed;
        }
        if (pos != size) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u has %zu trailing bytes", plane, size - pos);
        if (sorted) merge_contexts(digits, work->symbols, work->contexts, n, contexts, start);
        memset(digits + n, 0, padded - n);
    }
    size_t signs_used;
#ifdef PADIC_HAVE_AVX2_PATH
    if (simd) signs_used = narrow_signs_avx2(work, digits, p, *all_zero, &bad);
    else
#endif
        signs_used = narrow_signs_portable(work, digits, p, *all_zero, &bad);
    if (bad) return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u holds a digit >= %u", plane, p);
    if (signs_used != sign_count)
        return error_set(SARAPHIS_ERROR_CORRUPT, "p-adic: plane %u holds %zu signs but %zu magnitudes start in it", plane, sign_count, signs_used);
    *all_zero = 0;
    return SARAPHIS_OK;
}

static void reconstruct(saraphis_dtype_t dtype, uint8_t *dst, size_t n, const uint64_t *codes, double step, uint64_t width,
                        uint64_t centre);

static saraphis_status_t decode_narrow(const header_t *h, saraphis_dtype_t dtype, const uint8_t *src, uint8_t *dst,
                                       size_t n, unsigned k, uint8_t *block, int simd)
{
    const size_t element_size = saraphis_dtype_size(dtype);
    const unsigned P = h->params.precision, p = h->params.prime;
    narrow_work_t work = narrow_work(block, n);
    decode_work_t escape_work = {NULL, work.symbols, NULL, work.escapes};
    const uint8_t *escape_values = NULL;
    SPS_TRY(read_escapes(src + h->head, h->escape_bytes, h, element_size, &escape_work, &escape_values));

    /* Planes before the first non-zero one add nothing to any magnitude and are left out;
     * zero planes after it get zero digits. */
    uint8_t *used[PADIC_NARROW_PLANES];
    unsigned used_count = 0;
    int all_zero = 1;
    size_t pos = h->planes_start;
    memset(work.sign_words, 0, 8 * work.words);
    for (unsigned j = 0; j < k; j++) {
        const uint8_t *plane = src + pos;
        uint64_t stored = load_le64(src + PADIC_FIXED_HEADER + PADIC_PLANE_ENTRY * j + 4);
        if (!SARAPHIS_FUZZING && checksum64(plane, h->plane_bytes[j], j) != stored)
            return error_set(SARAPHIS_ERROR_CHECKSUM, "p-adic: plane %u checksum mismatch", j);
        int zero_plane;
        SPS_TRY(narrow_plane(plane, h->plane_bytes[j], j, p, n, &work, used, used_count, &all_zero, &zero_plane, simd));
        pos += h->plane_bytes[j];
        if (zero_plane && used_count == 0) continue;
        if (zero_plane) memset(work.planes[j], 0, 64 * work.words);
        used[used_count++] = work.planes[j];
    }
    uint64_t width = power_u64(p, P - k), centre = (width - 1) / 2;
    double step = 2 * h->params.eps;
    size_t done = 0;
    if (used_count == 0) {
        memset(dst, 0, n * element_size); /* every magnitude is 0: +0 in every dtype */
        done = n;
    }
#ifdef PADIC_HAVE_AVX2_PATH
    if (simd && used_count && width == 1 && dtype == SARAPHIS_DTYPE_F32)
        done = narrow_f32_avx2(dst, n, used, used_count, p, work.sign_words, step);
#endif
    uint64_t codes[256];
    for (size_t begin = done; begin < n; begin += 256) {
        size_t count = n - begin < 256 ? n - begin : 256;
        narrow_codes(codes, begin, count, used, used_count, p, work.sign_words);
        reconstruct(dtype, dst + begin * element_size, count, codes, step, width, centre);
    }
    for (size_t e = 0; e < h->escapes; e++)
        memcpy(dst + (size_t)work.escapes[e] * element_size, escape_values + e * element_size, element_size);
    return SARAPHIS_OK;
}

static void reconstruct(saraphis_dtype_t dtype, uint8_t *dst, size_t n, const uint64_t *codes, double step, uint64_t width,
                        uint64_t centre)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: reconstruct_f32(dst, n, codes, step, width, centre); break;
    case SARAPHIS_DTYPE_F64: reconstruct_f64(dst, n, codes, step, width, centre); break;
    case SARAPHIS_DTYPE_F16: reconstruct_f16(dst, n, codes, step, width, centre); break;
    default: reconstruct_bf16(dst, n, codes, step, width, centre); break;
    }
}

static saraphis_status_t decode_with(const header_t *hp, saraphis_dtype_t dtype, const uint8_t *src, uint8_t *dst,
                                     size_t n, unsigned k, uint8_t *block, int simd)
{
    if (k <= PADIC_NARROW_PLANES) return decode_narrow(hp, dtype, src, dst, n, k, block, simd);

    const header_t h = *hp;
    const size_t element_size = saraphis_dtype_size(dtype);
    const unsigned P = h.params.precision, p = h.params.prime;
    decode_work_t work = decode_work(block, n);
    const uint8_t *escape_values = NULL;
    SPS_TRY(read_escapes(src + h.head, h.escape_bytes, &h, element_size, &work, &escape_values));

    size_t pos = h.planes_start;
    int all_zero = 1;
    memset(work.codes, 0, n * sizeof *work.codes);
    for (unsigned j = 0; j < k; j++) {
        const uint8_t *plane = src + pos;
        uint64_t stored = load_le64(src + PADIC_FIXED_HEADER + PADIC_PLANE_ENTRY * j + 4);
        if (!SARAPHIS_FUZZING && checksum64(plane, h.plane_bytes[j], j) != stored)
            return error_set(SARAPHIS_ERROR_CHECKSUM, "p-adic: plane %u checksum mismatch", j);
        SPS_TRY(decode_plane(plane, h.plane_bytes[j], j, p, n, &work, &all_zero));
        pos += h.plane_bytes[j];
    }
    uint64_t width = power_u64(p, P - k), centre = (width - 1) / 2;
    double step = 2 * h.params.eps;
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: reconstruct_f32(dst, n, work.codes, step, width, centre); break;
    case SARAPHIS_DTYPE_F64: reconstruct_f64(dst, n, work.codes, step, width, centre); break;
    case SARAPHIS_DTYPE_F16: reconstruct_f16(dst, n, work.codes, step, width, centre); break;
    default: reconstruct_bf16(dst, n, work.codes, step, width, centre); break;
    }
    for (size_t e = 0; e < h.escapes; e++)
        memcpy(dst + (size_t)work.escapes[e] * element_size, escape_values + e * element_size, element_size);
    return SARAPHIS_OK;
}
