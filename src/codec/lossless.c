/* Lossless channel codec (lossless.h). Chunk payload layout, little-endian:
 *   u8 kind = LOSSLESS_FLOAT:
 *     u8  dropped mantissa bits (zero in every element)
 *     u16 exponent base (the chunk's smallest biased exponent)
 *     u8  exponent mode: 0 = entropy stream of (exponent - base);
 *                        1 = (exponent - base) packed raw at u8 width bits (F64 with a wide range)
 *     u8  exponent width (bits of the exponent range; used by mode 1)
 *     u8  fold: top field bits carried in the exponent symbol, (e - base) << fold | top bits
 *     exponent channel, the high channel and the byte planes (entropy streams), the rest bits
 *   u8 kind = LOSSLESS_BYTE_PLANES: one entropy stream per byte position of the element
 * The sign+mantissa field of element i is s = sign << m | mantissa >> dropped, m = M - dropped
 * and k = m + 1 bits wide; high = s >> max(k - 8, 0), then (k - 8) / 8 byte planes below it,
 * most significant first, each an entropy stream, then the last (k - 8) % 8 bits packed raw. */
#include "codec/lossless.h"

#include <stdlib.h>
#include <string.h>

#include "codec/entropy.h"
#include "codec/lossless_plan.h"
#include "common/bits.h"
#include "common/bitstream.h"
#include "common/error.h"


/* The fast paths stay out of line: inlined into the long decode functions, GCC stops
 * vectorising their loops. */
#if defined(__GNUC__)
#define SPS_NOINLINE __attribute__((noinline))
#else
#define SPS_NOINLINE
#endif

saraphis_status_t codec_scratch_reserve(codec_scratch_t *scratch, size_t elements)
{
    if (scratch->capacity >= elements && scratch->symbols) return SARAPHIS_OK;
    codec_scratch_release(scratch);
    size_t size = elements ? elements : 1;
    int ok = (scratch->symbols = malloc(size)) != NULL && (scratch->symbols2 = malloc(size)) != NULL;
    for (int p = 0; p < LOSSLESS_MAX_PLANES && ok; p++) ok = (scratch->planes[p] = malloc(size)) != NULL;
    if (!ok) {
        codec_scratch_release(scratch);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "codec: no memory for %zu-element scratch", elements);
    }
    scratch->capacity = elements;
    return SARAPHIS_OK;
}

void codec_scratch_release(codec_scratch_t *scratch)
{
    free(scratch->symbols);
    free(scratch->symbols2);
    for (int p = 0; p < LOSSLESS_MAX_PLANES; p++) free(scratch->planes[p]);
    free(scratch->decoded);
    free(scratch->padic_work);
    memset(scratch, 0, sizeof *scratch);
}

size_t lossless_chunk_bound(size_t raw_bytes)
{
    /* Worst case is F16 with both entropy streams raw: 6 + 2 (n + 1) + 3n/8 bytes for
     * raw_bytes = 2n, i.e. 1.1875 raw_bytes + 8 (F64: 6 + 7 (n + 1) + 5n/8 + 11n/8 < raw + 16);
     * the chunk layer then stores the raw bytes. */
    return raw_bytes + raw_bytes / 4 + 64;
}

/* ---- Float channels ------------------------------------------------------------------------ */

#define DEFINE_FLOAT_ANALYSE(NAME, TYPE)                                                          \
    static void NAME(const uint8_t *src, size_t n, float_layout_t layout, TYPE *mantissa_or,     \
                     unsigned *min_exponent, unsigned *max_exponent)                              \
    {                                                                                             \
        const unsigned M = layout.mantissa_bits;                                                  \
        const TYPE mantissa_mask = (TYPE)(((TYPE)1 << M) - 1);                                    \
        const TYPE exponent_mask = (TYPE)((1u << layout.exponent_bits) - 1);                      \
        TYPE or_acc = 0;                                                                          \
        unsigned lo = exponent_mask, hi = 0;                                                      \
        for (size_t i = 0; i < n; i++) {                                                          \
            TYPE v;                                                                               \
            memcpy(&v, src + i * sizeof(TYPE), sizeof(TYPE));                                     \
            or_acc |= v & mantissa_mask;                                                          \
            unsigned e = (unsigned)((v >> M) & exponent_mask);                                    \
            lo = e < lo ? e : lo;                                                                 \
            hi = e > hi ? e : hi;                                                                 \
        }                                                                                         \
        *mantissa_or = or_acc;                                                                    \
        *min_exponent = lo;                                                                       \
        *max_exponent = hi;                                                                       \
    }

DEFINE_FLOAT_ANALYSE(analyse16, uint16_t)
DEFINE_FLOAT_ANALYSE(analyse32, uint32_t)
DEFINE_FLOAT_ANALYSE(analyse64, uint64_t)

static inline uint64_t load_element(const uint8_t *src, size_t i, size_t element_size)
{
    if (element_size == 2) return load_le16(src + 2 * i);
    if (element_size == 4) return load_le32(src + 4 * i);
    return load_le64(src + 8 * i);
}

/* The generic split (any float dtype, any dropped count); returns the rest channel's bytes. */
static size_t split_generic(const uint8_t *restrict src, size_t n, size_t element_size, float_layout_t layout,
                            field_layout_t f, unsigned base, uint8_t *restrict exponents, uint8_t *restrict high,
                            uint8_t *const planes[], uint8_t *restrict rest)
{
    const unsigned M = layout.mantissa_bits, sign_shift = M + layout.exponent_bits;
    const uint64_t mantissa_mask = ((uint64_t)1 << M) - 1, exponent_mask = ((uint64_t)1 << layout.exponent_bits) - 1;
    const unsigned high_shift = f.kr > 8 ? f.kr - 8 : 0;
    const uint64_t rest_mask = ((uint64_t)1 << f.rest_bits) - 1, remainder_mask = ((uint64_t)1 << f.kr) - 1;
    bit_writer_t writer;
    bit_writer_init(&writer, rest);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = load_element(src, i, element_size);
        uint64_t field = ((v >> sign_shift) << f.m) | ((v & mantissa_mask) >> f.dropped);
        exponents[i] = (uint8_t)(((((v >> M) & exponent_mask) - base) << f.fold) | (field >> f.kr));
        field &= remainder_mask;
        high[i] = (uint8_t)(field >> high_shift);
        for (unsigned p = 0; p < f.plane_count; p++) planes[p][i] = (uint8_t)(field >> (high_shift - 8 * (p + 1)));
        if (f.rest_bits) bit_writer_put(&writer, field & rest_mask, f.rest_bits);
    }
    return bit_writer_finish(&writer);
}

static void merge_generic(uint8_t *restrict dst, size_t n, size_t element_size, float_layout_t layout, field_layout_t f,
                          unsigned base, const uint8_t *restrict exponents, const uint8_t *restrict high,
                          uint8_t *const planes[], const uint8_t *restrict rest, size_t rest_size)
{
    const unsigned M = layout.mantissa_bits, sign_shift = M + layout.exponent_bits;
    const unsigned high_shift = f.kr > 8 ? f.kr - 8 : 0;
    const uint64_t field_mask = ((uint64_t)1 << f.m) - 1, fold_mask = ((uint64_t)1 << f.fold) - 1;
    bit_reader_t reader;
    bit_reader_init(&reader, rest, rest_size);
    for (size_t i = 0; i < n; i++) {
        uint64_t field = ((uint64_t)(exponents[i] & fold_mask) << f.kr) | ((uint64_t)high[i] << high_shift);
        for (unsigned p = 0; p < f.plane_count; p++) field |= (uint64_t)planes[p][i] << (high_shift - 8 * (p + 1));
        if (f.rest_bits) field |= bit_reader_get(&reader, f.rest_bits);
        uint64_t v = ((field >> f.m) << sign_shift) | ((uint64_t)((exponents[i] >> f.fold) + base) << M) | ((field & field_mask) << f.dropped);
        if (element_size == 2) store_le16(dst + 2 * i, (uint16_t)v);
        else if (element_size == 4) store_le32(dst + 4 * i, (uint32_t)v);
        else store_le64(dst + 8 * i, v);
    }
}

/* Constant-layout fast paths for the common cases (BF16 with every mantissa bit, F32 with every
 * bit, F32 holding BF16 values): fixed shifts let the compiler vectorise these loops. They
 * compute exactly what split_generic / merge_generic compute for the same layout. */
SPS_NOINLINE static void split_bf16_full(const uint8_t *restrict src, size_t n, unsigned base, uint8_t *restrict exponents,
                            uint8_t *restrict high)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t v;
        memcpy(&v, src + 2 * i, 2);
        exponents[i] = (uint8_t)(((v >> 7) & 0xff) - base);
        high[i] = (uint8_t)(((v >> 8) & 0x80) | (v & 0x7f));
    }
}

SPS_NOINLINE static void merge_bf16_full(uint8_t *restrict dst, size_t n, unsigned base, const uint8_t *restrict exponents,
                            const uint8_t *restrict high)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h = high[i];
        uint16_t v = (uint16_t)(((h & 0x80) << 8) | (((exponents[i] + base) & 0xff) << 7) | (h & 0x7f));
        memcpy(dst + 2 * i, &v, 2);
    }
}

SPS_NOINLINE static void split_f32_full(const uint8_t *restrict src, size_t n, unsigned base, uint8_t *restrict exponents,
                           uint8_t *restrict high, uint8_t *restrict plane0, uint8_t *restrict plane1)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, src + 4 * i, 4);
        exponents[i] = (uint8_t)(((v >> 23) & 0xff) - base);
        high[i] = (uint8_t)(((v >> 24) & 0x80) | ((v >> 16) & 0x7f));
        plane0[i] = (uint8_t)(v >> 8);
        plane1[i] = (uint8_t)v;
    }
}

SPS_NOINLINE static void merge_f32_full(uint8_t *restrict dst, size_t n, unsigned base, const uint8_t *restrict exponents,
                           const uint8_t *restrict high, const uint8_t *restrict plane0, const uint8_t *restrict plane1)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t h = high[i];
        uint32_t v = ((h & 0x80) << 24) | (((exponents[i] + base) & 0xff) << 23) | ((h & 0x7f) << 16) |
                     ((uint32_t)plane0[i] << 8) | plane1[i];
        memcpy(dst + 4 * i, &v, 4);
    }
}

SPS_NOINLINE static void merge_f32_holding_bf16(uint8_t *restrict dst, size_t n, unsigned base, const uint8_t *restrict exponents,
                                   const uint8_t *restrict high)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t h = high[i];
        uint32_t v = ((h & 0x80) << 24) | (((exponents[i] + base) & 0xff) << 23) | ((h & 0x7f) << 16);
        memcpy(dst + 4 * i, &v, 4);
    }
}

SPS_NOINLINE static void split_f16_folded(const uint8_t *restrict src, size_t n, unsigned base, uint8_t *restrict symbols,
                             uint8_t *restrict high)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t v;
        memcpy(&v, src + 2 * i, 2);
        symbols[i] = (uint8_t)(((((v >> 10) & 0x1f) - base) << 3) | ((v >> 13) & 4) | ((v >> 8) & 3));
        high[i] = (uint8_t)v;
    }
}

SPS_NOINLINE static void merge_f16_folded(uint8_t *restrict dst, size_t n, unsigned base, const uint8_t *restrict symbols,
                             const uint8_t *restrict high)
{
    /* symbol + (base << 3) = e << 3 | s << 2 | top two mantissa bits, still a byte (e < 32):
     * the loop stays in byte arithmetic, which vectorises. */
    const uint8_t rebase = (uint8_t)(base << 3);
    for (size_t i = 0; i < n; i++) {
        uint8_t t = (uint8_t)(symbols[i] + rebase);
        uint8_t top = (uint8_t)(((t & 4) << 5) | ((t >> 1) & 0x7c) | (t & 3));
        uint16_t v = (uint16_t)((top << 8) | high[i]);
        memcpy(dst + 2 * i, &v, 2);
    }
}

/* F64 exponents whose range exceeds a byte are packed raw and merged in a second pass. */
static void f64_pack_exponents(const uint8_t *src, size_t n, unsigned base, unsigned width, uint8_t *dst)
{
    bit_writer_t writer;
    bit_writer_init(&writer, dst);
    for (size_t i = 0; i < n; i++)
        bit_writer_put(&writer, ((load_le64(src + 8 * i) >> 52) & 0x7ff) - base, width);
    bit_writer_finish(&writer);
}

static saraphis_status_t encode_float(saraphis_dtype_t dtype, float_layout_t layout, const uint8_t *src,
                                      size_t raw_bytes, uint8_t *dst, size_t capacity, size_t *written,
                                      codec_scratch_t *scratch)
{
    size_t element_size = saraphis_dtype_size(dtype);
    size_t n = raw_bytes / element_size;
    SPS_TRY(codec_scratch_reserve(scratch, n));
    uint64_t mantissa_or = 0;
    unsigned min_exponent = 0, max_exponent = 0;
    if (element_size == 2) { uint16_t v; analyse16(src, n, layout, &v, &min_exponent, &max_exponent); mantissa_or = v; }
    else if (element_size == 4) { uint32_t v; analyse32(src, n, layout, &v, &min_exponent, &max_exponent); mantissa_or = v; }
    else analyse64(src, n, layout, &mantissa_or, &min_exponent, &max_exponent);
    float_plan_t plan = float_plan(layout, n, mantissa_or, min_exponent, max_exponent);
    field_layout_t f = plan.field;
    unsigned dropped = f.dropped, exponent_width = plan.exponent_width;
    int exponent_raw = (int)plan.exponent_raw;
    min_exponent = plan.base;
    size_t rest_bytes = packed_bytes(n, f.rest_bits);
    size_t exponent_raw_bytes = exponent_raw ? packed_bytes(n, exponent_width) : 0;
    /* Worst case: every entropy stream raw (n + 1 each). */
    if (capacity < LOSSLESS_FLOAT_HEADER + (2 + f.plane_count) * (n + 1) + rest_bytes + exponent_raw_bytes)
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "lossless: output buffer too small");

    uint8_t *exponents = scratch->symbols, *high = scratch->symbols2;
    /* The rest channel goes last; it is written at the end of dst and moved down once the
     * entropy streams' sizes are known. */
    uint8_t *rest_tmp = dst + capacity - rest_bytes;
    if (dtype == SARAPHIS_DTYPE_BF16 && dropped == 0) split_bf16_full(src, n, min_exponent, exponents, high);
    else if (dtype == SARAPHIS_DTYPE_F16 && dropped == 0 && f.fold == 3) split_f16_folded(src, n, min_exponent, exponents, high);
    else if (dtype == SARAPHIS_DTYPE_F32 && dropped == 0) split_f32_full(src, n, min_exponent, exponents, high, scratch->planes[0], scratch->planes[1]);
    else split_generic(src, n, element_size, layout, f, min_exponent, exponents, high, scratch->planes, rest_tmp);

    size_t pos = 0;
    dst[pos++] = LOSSLESS_FLOAT;
    dst[pos++] = (uint8_t)dropped;
    store_le16(dst + pos, (uint16_t)min_exponent);
    pos += 2;
    dst[pos++] = exponent_raw ? EXPONENT_RAW : EXPONENT_ENTROPY;
    dst[pos++] = (uint8_t)exponent_width; /* informative in entropy mode */
    dst[pos++] = (uint8_t)f.fold;
    size_t stream_size, limit = capacity - rest_bytes;
    if (exponent_raw) {
        f64_pack_exponents(src, n, min_exponent, exponent_width, dst + pos);
        pos += exponent_raw_bytes;
    } else {
        SPS_TRY(entropy_encode_min_gain(exponents, n, entropy_lossless_min_gain(n), dst + pos, limit - pos, &stream_size));
        pos += stream_size;
    }
    SPS_TRY(entropy_encode_min_gain(high, n, entropy_lossless_min_gain(n), dst + pos, limit - pos, &stream_size));
    pos += stream_size;
    for (unsigned p = 0; p < f.plane_count; p++) {
        SPS_TRY(entropy_encode_min_gain(scratch->planes[p], n, entropy_lossless_plane_min_gain(n), dst + pos, limit - pos, &stream_size));
        pos += stream_size;
    }
    memmove(dst + pos, rest_tmp, rest_bytes);
    pos += rest_bytes;
    *written = pos;
    return SARAPHIS_OK;
}

static saraphis_status_t decode_float(saraphis_dtype_t dtype, float_layout_t layout, const uint8_t *src,
                                      size_t size, uint8_t *dst, size_t raw_bytes, codec_scratch_t *scratch)
{
    size_t element_size = saraphis_dtype_size(dtype);
    size_t n = raw_bytes / element_size;
    if (size < LOSSLESS_FLOAT_HEADER) return error_set(SARAPHIS_ERROR_TRUNCATED, "float channels: header cut short");
    unsigned dropped = src[1];
    unsigned base = load_le16(src + 2);
    unsigned exponent_mode = src[4];
    unsigned exponent_width = src[5];
    unsigned fold = src[6];
    if (dropped > layout.mantissa_bits)
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: %u dropped mantissa bits exceed %u", dropped, layout.mantissa_bits);
    if (base >= (1u << layout.exponent_bits))
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: exponent base %u out of range", base);
    if (exponent_mode > EXPONENT_RAW || (exponent_mode == EXPONENT_RAW && (dtype != SARAPHIS_DTYPE_F64 || exponent_width > 11)))
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: invalid exponent mode %u", exponent_mode);
    SPS_TRY(codec_scratch_reserve(scratch, n));
    unsigned k = layout.mantissa_bits - dropped + 1;
    if (fold > 7 || fold >= k || (fold && exponent_mode != EXPONENT_ENTROPY))
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: invalid fold of %u bits", fold);
    field_layout_t f = field_layout(layout, dropped, fold);
    size_t pos = LOSSLESS_FLOAT_HEADER, consumed;
    uint8_t *exponents = scratch->symbols, *high = scratch->symbols2;
    size_t exponent_raw_bytes = 0;
    if (exponent_mode == EXPONENT_ENTROPY) {
        SPS_TRY(entropy_decode(src + pos, size - pos, exponents, n, &consumed));
        pos += consumed;
        /* exponent + base must stay a valid exponent field, or the merge would spill into the
         * sign bit: reject instead of producing a wrong value. */
        unsigned limit = (1u << layout.exponent_bits) - 1 - base;
        if (limit < 255) {
            uint8_t max_symbol = 0;
            for (size_t i = 0; i < n; i++) max_symbol = exponents[i] > max_symbol ? exponents[i] : max_symbol;
            if ((unsigned)(max_symbol >> fold) > limit) return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: exponent symbol beyond the field");
        }
    } else {
        exponent_raw_bytes = packed_bytes(n, exponent_width);
        if (size - pos < exponent_raw_bytes) return error_set(SARAPHIS_ERROR_TRUNCATED, "float channels: exponents cut short");
        pos += exponent_raw_bytes;
    }
    SPS_TRY(entropy_decode(src + pos, size - pos, high, n, &consumed));
    pos += consumed;
    for (unsigned p = 0; p < f.plane_count; p++) {
        SPS_TRY(entropy_decode(src + pos, size - pos, scratch->planes[p], n, &consumed));
        pos += consumed;
    }
    size_t rest_bytes = packed_bytes(n, f.rest_bits);
    if (size - pos != rest_bytes)
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: rest channel holds %zu bytes, expected %zu", size - pos, rest_bytes);
    if (f.kr < 8) {
        /* Fewer than 8 sign+mantissa bits: a high symbol must fit them. */
        for (size_t i = 0; i < n; i++)
            if (high[i] >> f.kr) return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: sign/mantissa symbol wider than %u bits", f.k);
    }
    const uint8_t *rest = src + pos;
    if (exponent_mode == EXPONENT_RAW) {
        /* Merge with zero exponent symbols, then add the raw exponents in. */
        memset(exponents, 0, n);
        merge_generic(dst, n, element_size, layout, f, 0, exponents, high, scratch->planes, rest, rest_bytes);
        bit_reader_t reader;
        bit_reader_init(&reader, src + LOSSLESS_FLOAT_HEADER, exponent_raw_bytes);
        for (size_t i = 0; i < n; i++) {
            uint64_t e = bit_reader_get(&reader, exponent_width) + base;
            if (e > 0x7ff) return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: F64 exponent out of range");
            store_le64(dst + 8 * i, load_le64(dst + 8 * i) | (e << 52));
        }
        return SARAPHIS_OK;
    }
    if (dtype == SARAPHIS_DTYPE_BF16 && dropped == 0) merge_bf16_full(dst, n, base, exponents, high);
    else if (dtype == SARAPHIS_DTYPE_F16 && dropped == 0 && fold == 3) merge_f16_folded(dst, n, base, exponents, high);
    else if (dtype == SARAPHIS_DTYPE_F32 && dropped == 0) merge_f32_full(dst, n, base, exponents, high, scratch->planes[0], scratch->planes[1]);
    else if (dtype == SARAPHIS_DTYPE_F32 && dropped == 16) merge_f32_holding_bf16(dst, n, base, exponents, high);
    else merge_generic(dst, n, element_size, layout, f, base, exponents, high, scratch->planes, rest, rest_bytes);
    return SARAPHIS_OK;
}

/* ---- Byte planes for every other dtype -------------------------------------------------- */

static saraphis_status_t encode_byte_planes(size_t element_size, const uint8_t *src, size_t raw_bytes,
                                            uint8_t *dst, size_t capacity, size_t *written,
                                            codec_scratch_t *scratch)
{
    size_t n = raw_bytes / element_size;
    SPS_TRY(codec_scratch_reserve(scratch, n));
    if (capacity < 1) return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "byte planes: output full");
    size_t pos = 0;
    dst[pos++] = LOSSLESS_BYTE_PLANES;
    for (size_t plane = 0; plane < element_size; plane++) {
        const uint8_t *plane_src = src;
        if (element_size > 1) {
            for (size_t i = 0; i < n; i++) scratch->symbols[i] = src[i * element_size + plane];
            plane_src = scratch->symbols;
        }
        size_t stream_size;
        SPS_TRY(entropy_encode_min_gain(plane_src, n, entropy_lossless_min_gain(n), dst + pos, capacity - pos, &stream_size));
        pos += stream_size;
    }
    *written = pos;
    return SARAPHIS_OK;
}

static saraphis_status_t decode_byte_planes(size_t element_size, const uint8_t *src, size_t size,
                                            uint8_t *dst, size_t raw_bytes, codec_scratch_t *scratch)
{
    size_t n = raw_bytes / element_size;
    SPS_TRY(codec_scratch_reserve(scratch, n));
    size_t pos = 1;
    for (size_t plane = 0; plane < element_size; plane++) {
        size_t consumed;
        uint8_t *plane_dst = element_size > 1 ? scratch->symbols : dst;
        SPS_TRY(entropy_decode(src + pos, size - pos, plane_dst, n, &consumed));
        pos += consumed;
        if (element_size > 1)
            for (size_t i = 0; i < n; i++) dst[i * element_size + plane] = scratch->symbols[i];
    }
    if (pos != size) return error_set(SARAPHIS_ERROR_CORRUPT, "byte planes: %zu trailing bytes", size - pos);
    return SARAPHIS_OK;
}

saraphis_status_t lossless_encode_chunk(saraphis_dtype_t dtype, const uint8_t *src, size_t raw_bytes,
                                        uint8_t *dst, size_t capacity, size_t *written,
                                        codec_scratch_t *scratch)
{
    size_t element_size = saraphis_dtype_size(dtype);
    if (element_size == 0 || raw_bytes % element_size)
        return error_set(SARAPHIS_ERROR_DTYPE, "lossless: %zu bytes is not a whole number of %s elements", raw_bytes, saraphis_dtype_name(dtype));
    float_layout_t layout;
    if (float_layout(dtype, &layout)) return encode_float(dtype, layout, src, raw_bytes, dst, capacity, written, scratch);
    return encode_byte_planes(element_size, src, raw_bytes, dst, capacity, written, scratch);
}

saraphis_status_t lossless_decode_chunk(saraphis_dtype_t dtype, const uint8_t *src, size_t size,
                                        uint8_t *dst, size_t raw_bytes, codec_scratch_t *scratch)
{
    size_t element_size = saraphis_dtype_size(dtype);
    if (element_size == 0 || raw_bytes % element_size)
        return error_set(SARAPHIS_ERROR_CORRUPT, "lossless: %zu bytes is not a whole number of %s elements", raw_bytes, saraphis_dtype_name(dtype));
    if (size < 1) return error_set(SARAPHIS_ERROR_TRUNCATED, "lossless: empty chunk payload");
    float_layout_t layout;
    int is_float = float_layout(dtype, &layout);
    if (src[0] == LOSSLESS_FLOAT && is_float) return decode_float(dtype, layout, src, size, dst, raw_bytes, scratch);
    if (src[0] == LOSSLESS_BYTE_PLANES) return decode_byte_planes(element_size, src, size, dst, raw_bytes, scratch);
    return error_set(SARAPHIS_ERROR_CORRUPT, "lossless: unknown chunk kind %u for %s", src[0], saraphis_dtype_name(dtype));
}
