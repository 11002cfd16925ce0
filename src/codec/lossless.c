/* Lossless channel codec (lossless.h). Chunk payload layout, little-endian:
 *   u8 kind = LOSSLESS_FLOAT:
 *     u8  dropped mantissa bits (zero in every element)
 *     u16 exponent base (the chunk's smallest biased exponent)
 *     u8  exponent mode: 0 = entropy stream of (exponent - base);
 *                        1 = (exponent - base) packed raw at u8 width bits (F64 with a wide range)
 *     [u8 width]  (mode 1 only)
 *     exponent channel, then the high channel (entropy stream), then the low channel packed raw
 *   u8 kind = LOSSLESS_BYTE_PLANES: one entropy stream per byte position of the element
 * The sign+mantissa field of element i is s = sign << m | mantissa >> dropped, m = M - dropped
 * and k = m + 1 bits wide; high = s >> max(k - 8, 0) and low = s & (2^(k-8) - 1). */
#include "codec/lossless.h"

#include <stdlib.h>
#include <string.h>

#include "codec/entropy.h"
#include "common/bits.h"
#include "common/bitstream.h"
#include "common/error.h"

enum { LOSSLESS_FLOAT = 1, LOSSLESS_BYTE_PLANES = 2 };
enum { EXPONENT_ENTROPY = 0, EXPONENT_RAW = 1 };

typedef struct {
    unsigned exponent_bits;
    unsigned mantissa_bits;
} float_layout_t;

static int float_layout(saraphis_dtype_t dtype, float_layout_t *layout)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: *layout = (float_layout_t){8, 23}; return 1;
    case SARAPHIS_DTYPE_BF16: *layout = (float_layout_t){8, 7}; return 1;
    case SARAPHIS_DTYPE_F16: *layout = (float_layout_t){5, 10}; return 1;
    case SARAPHIS_DTYPE_F64: *layout = (float_layout_t){11, 52}; return 1;
    default: return 0;
    }
}

saraphis_status_t codec_scratch_reserve(codec_scratch_t *scratch, size_t elements)
{
    if (scratch->capacity >= elements) return SARAPHIS_OK;
    codec_scratch_release(scratch);
    scratch->symbols = malloc(elements ? elements : 1);
    scratch->symbols2 = malloc(elements ? elements : 1);
    if (!scratch->symbols || !scratch->symbols2) {
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
    scratch->symbols = scratch->symbols2 = NULL;
    scratch->capacity = 0;
}

size_t lossless_chunk_bound(size_t raw_bytes)
{
    /* Worst case is F16 with both entropy streams raw: 6 + 2 (n + 1) + 3n/8 bytes for
     * raw_bytes = 2n, i.e. 1.1875 raw_bytes + 8; the chunk layer then stores the raw bytes. */
    return raw_bytes + raw_bytes / 4 + 64;
}

/* ---- Float split, one instantiation per element width ------------------------------------ */

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

/* Splits into exponent symbols, high symbols, and the packed low bits. Returns low bytes. */
#define DEFINE_FLOAT_SPLIT(NAME, TYPE)                                                            \
    static size_t NAME(const uint8_t *restrict src, size_t n, float_layout_t layout,             \
                       unsigned dropped, unsigned base, uint8_t *restrict exponents,              \
                       uint8_t *restrict high, uint8_t *restrict low)                             \
    {                                                                                             \
        const unsigned M = layout.mantissa_bits;                                                  \
        const unsigned m = M - dropped, k = m + 1;                                                \
        const unsigned low_width = k > 8 ? k - 8 : 0;                                             \
        const TYPE mantissa_mask = (TYPE)(((TYPE)1 << M) - 1);                                    \
        const TYPE exponent_mask = (TYPE)((1u << layout.exponent_bits) - 1);                      \
        const unsigned sign_shift = M + layout.exponent_bits;                                     \
        if (low_width == 0) {                                                                     \
            for (size_t i = 0; i < n; i++) {                                                      \
                TYPE v;                                                                           \
                memcpy(&v, src + i * sizeof(TYPE), sizeof(TYPE));                                \
                exponents[i] = (uint8_t)(((v >> M) & exponent_mask) - base);                      \
                high[i] = (uint8_t)(((v >> sign_shift) << m) | ((v & mantissa_mask) >> dropped)); \
            }                                                                                     \
            return 0;                                                                             \
        }                                                                                         \
        if (low_width == 16) {                                                                    \
            for (size_t i = 0; i < n; i++) {                                                      \
                TYPE v;                                                                           \
                memcpy(&v, src + i * sizeof(TYPE), sizeof(TYPE));                                \
                exponents[i] = (uint8_t)(((v >> M) & exponent_mask) - base);                      \
                uint64_t s = ((uint64_t)(v >> sign_shift) << m) |                                 \
                             (uint64_t)((v & mantissa_mask) >> dropped);                          \
                high[i] = (uint8_t)(s >> 16);                                                     \
                store_le16(low + 2 * i, (uint16_t)s);                                             \
            }                                                                                     \
            return 2 * n;                                                                         \
        }                                                                                         \
        bit_writer_t writer;                                                                      \
        bit_writer_init(&writer, low);                                                            \
        const uint64_t low_mask = ((uint64_t)1 << low_width) - 1;                                 \
        for (size_t i = 0; i < n; i++) {                                                          \
            TYPE v;                                                                               \
            memcpy(&v, src + i * sizeof(TYPE), sizeof(TYPE));                                     \
            exponents[i] = (uint8_t)(((v >> M) & exponent_mask) - base);                          \
            uint64_t s = ((uint64_t)(v >> sign_shift) << m) | (uint64_t)((v & mantissa_mask) >> dropped); \
            high[i] = (uint8_t)(s >> low_width);                                                  \
            bit_writer_put(&writer, s & low_mask, low_width);                                     \
        }                                                                                         \
        return bit_writer_finish(&writer);                                                        \
    }

DEFINE_FLOAT_SPLIT(split16, uint16_t)
DEFINE_FLOAT_SPLIT(split32, uint32_t)
DEFINE_FLOAT_SPLIT(split64, uint64_t)

/* Merges the channels back; the low channel must hold packed_bytes(n, low_width) bytes. */
#define DEFINE_FLOAT_MERGE(NAME, TYPE)                                                            \
    static void NAME(uint8_t *restrict dst, size_t n, float_layout_t layout, unsigned dropped,   \
                     unsigned base, const uint8_t *restrict exponents,                            \
                     const uint8_t *restrict high, const uint8_t *restrict low, size_t low_size)  \
    {                                                                                             \
        const unsigned M = layout.mantissa_bits;                                                  \
        const unsigned m = M - dropped, k = m + 1;                                                \
        const unsigned low_width = k > 8 ? k - 8 : 0;                                             \
        const unsigned sign_shift = M + layout.exponent_bits;                                     \
        const TYPE field_mask = (TYPE)(((TYPE)1 << m) - 1);                                       \
        if (low_width == 0) {                                                                     \
            for (size_t i = 0; i < n; i++) {                                                      \
                TYPE s = high[i];                                                                 \
                TYPE v = (TYPE)(((s >> m) << sign_shift) | ((TYPE)(exponents[i] + base) << M) |  \
                                ((s & field_mask) << dropped));                                   \
                memcpy(dst + i * sizeof(TYPE), &v, sizeof(TYPE));                                 \
            }                                                                                     \
            return;                                                                               \
        }                                                                                         \
        if (low_width == 16) {                                                                    \
            for (size_t i = 0; i < n; i++) {                                                      \
                TYPE s = (TYPE)(((TYPE)high[i] << 16) | load_le16(low + 2 * i));                  \
                TYPE v = (TYPE)(((s >> m) << sign_shift) | ((TYPE)(exponents[i] + base) << M) |  \
                                ((s & field_mask) << dropped));                                   \
                memcpy(dst + i * sizeof(TYPE), &v, sizeof(TYPE));                                 \
            }                                                                                     \
            return;                                                                               \
        }                                                                                         \
        bit_reader_t reader;                                                                      \
        bit_reader_init(&reader, low, low_size);                                                  \
        for (size_t i = 0; i < n; i++) {                                                          \
            TYPE s = (TYPE)(((TYPE)high[i] << low_width) | bit_reader_get(&reader, low_width));   \
            TYPE v = (TYPE)(((s >> m) << sign_shift) | ((TYPE)(exponents[i] + base) << M) |      \
                            ((s & field_mask) << dropped));                                       \
            memcpy(dst + i * sizeof(TYPE), &v, sizeof(TYPE));                                     \
        }                                                                                         \
    }

DEFINE_FLOAT_MERGE(merge16, uint16_t)
DEFINE_FLOAT_MERGE(merge32, uint32_t)
DEFINE_FLOAT_MERGE(merge64, uint64_t)

/* Constant-layout fast paths for the most common cases (BF16 with every mantissa bit, F32 with
 * every bit, F32 holding BF16 values): fixed shifts let the compiler vectorise these loops,
 * which the generic ones above, with shifts known only at run time, do not get. They compute
 * exactly what the generic loops compute for the same layout. */
static void split_bf16_full(const uint8_t *restrict src, size_t n, unsigned base, uint8_t *restrict exponents,
                            uint8_t *restrict high)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
        exponents[i] = (uint8_t)(((v >> 7) & 0xff) - base);
        high[i] = (uint8_t)(((v >> 8) & 0x80) | (v & 0x7f));
    }
}

static void merge_bf16_full(uint8_t *restrict dst, size_t n, unsigned base, const uint8_t *restrict exponents,
                            const uint8_t *restrict high)
{
    for (size_t i = 0; i < n; i++) {
        unsigned h = high[i];
        unsigned v = ((h & 0x80) << 8) | (((exponents[i] + base) & 0xff) << 7) | (h & 0x7f);
        dst[2 * i] = (uint8_t)v;
        dst[2 * i + 1] = (uint8_t)(v >> 8);
    }
}

static void split_f32_full(const uint8_t *restrict src, size_t n, unsigned base, uint8_t *restrict exponents,
                           uint8_t *restrict high, uint8_t *restrict low)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, src + 4 * i, 4);
        exponents[i] = (uint8_t)(((v >> 23) & 0xff) - base);
        high[i] = (uint8_t)(((v >> 24) & 0x80) | ((v >> 16) & 0x7f));
        uint16_t l = (uint16_t)v;
        memcpy(low + 2 * i, &l, 2);
    }
}

static void merge_f32_full(uint8_t *restrict dst, size_t n, unsigned base, const uint8_t *restrict exponents,
                           const uint8_t *restrict high, const uint8_t *restrict low)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t h = high[i];
        uint16_t l;
        memcpy(&l, low + 2 * i, 2);
        uint32_t v = ((h & 0x80) << 24) | (((exponents[i] + base) & 0xff) << 23) | ((h & 0x7f) << 16) | l;
        memcpy(dst + 4 * i, &v, 4);
    }
}

static void merge_f32_holding_bf16(uint8_t *restrict dst, size_t n, unsigned base, const uint8_t *restrict exponents,
                                   const uint8_t *restrict high)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t h = high[i];
        uint32_t v = ((h & 0x80) << 24) | (((exponents[i] + base) & 0xff) << 23) | ((h & 0x7f) << 16);
        memcpy(dst + 4 * i, &v, 4);
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
    if (n == 0) min_exponent = max_exponent = 0;
    unsigned dropped = mantissa_or ? count_trailing_zeros64(mantissa_or) : layout.mantissa_bits;
    unsigned k = layout.mantissa_bits - dropped + 1;
    unsigned low_width = k > 8 ? k - 8 : 0;
    unsigned exponent_range = max_exponent - min_exponent;
    int exponent_raw = exponent_range > 255;
    unsigned exponent_width = bit_width64(exponent_range);

    size_t low_bytes = packed_bytes(n, low_width);
    size_t exponent_raw_bytes = exponent_raw ? packed_bytes(n, exponent_width) : 0;
    size_t header = 6;
    /* Worst case: both entropy streams raw (n + 1 each). */
    if (capacity < header + 2 * (n + 1) + low_bytes + exponent_raw_bytes)
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "lossless: output buffer too small");

    uint8_t *exponents = scratch->symbols, *high = scratch->symbols2;
    /* The low channel goes last in the payload; split writes it straight into a temporary place
     * at the end of dst, and it is moved down once the entropy streams' sizes are known. */
    uint8_t *low_tmp = dst + capacity - low_bytes;
    size_t low_written;
    if (dtype == SARAPHIS_DTYPE_BF16 && dropped == 0) low_written = (split_bf16_full(src, n, min_exponent, exponents, high), 0);
    else if (dtype == SARAPHIS_DTYPE_F32 && dropped == 0) low_written = (split_f32_full(src, n, min_exponent, exponents, high, low_tmp), 2 * n);
    else if (element_size == 2) low_written = split16(src, n, layout, dropped, min_exponent, exponents, high, low_tmp);
    else if (element_size == 4) low_written = split32(src, n, layout, dropped, min_exponent, exponents, high, low_tmp);
    else low_written = split64(src, n, layout, dropped, min_exponent, exponents, high, low_tmp);
    (void)low_written;

    size_t pos = 0;
    dst[pos++] = LOSSLESS_FLOAT;
    dst[pos++] = (uint8_t)dropped;
    store_le16(dst + pos, (uint16_t)min_exponent);
    pos += 2;
    dst[pos++] = exponent_raw ? EXPONENT_RAW : EXPONENT_ENTROPY;
    dst[pos++] = (uint8_t)exponent_width; /* informative in entropy mode */
    size_t stream_size;
    if (exponent_raw) {
        f64_pack_exponents(src, n, min_exponent, exponent_width, dst + pos);
        pos += exponent_raw_bytes;
    } else {
        SPS_TRY(entropy_encode(exponents, n, dst + pos, capacity - pos - low_bytes, &stream_size));
        pos += stream_size;
    }
    if (getenv("SPS_RAWHIGH")) { dst[pos] = 0; memcpy(dst + pos + 1, high, n); stream_size = n + 1; } else
    SPS_TRY(entropy_encode(high, n, dst + pos, capacity - pos - low_bytes, &stream_size));
    pos += stream_size;
    memmove(dst + pos, low_tmp, low_bytes);
    pos += low_bytes;
    *written = pos;
    return SARAPHIS_OK;
}

static saraphis_status_t decode_float(saraphis_dtype_t dtype, float_layout_t layout, const uint8_t *src,
                                      size_t size, uint8_t *dst, size_t raw_bytes, codec_scratch_t *scratch)
{
    size_t element_size = saraphis_dtype_size(dtype);
    size_t n = raw_bytes / element_size;
    if (size < 6) return error_set(SARAPHIS_ERROR_TRUNCATED, "float channels: header cut short");
    unsigned dropped = src[1];
    unsigned base = load_le16(src + 2);
    unsigned exponent_mode = src[4];
    unsigned exponent_width = src[5];
    if (dropped > layout.mantissa_bits)
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: %u dropped mantissa bits exceed %u", dropped, layout.mantissa_bits);
    if (base >= (1u << layout.exponent_bits))
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: exponent base %u out of range", base);
    if (exponent_mode > EXPONENT_RAW || (exponent_mode == EXPONENT_RAW && (dtype != SARAPHIS_DTYPE_F64 || exponent_width > 11)))
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: invalid exponent mode %u", exponent_mode);
    SPS_TRY(codec_scratch_reserve(scratch, n));
    unsigned k = layout.mantissa_bits - dropped + 1;
    unsigned low_width = k > 8 ? k - 8 : 0;
    size_t pos = 6, consumed;
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
            if (max_symbol > limit) return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: exponent symbol beyond the field");
        }
    } else {
        exponent_raw_bytes = packed_bytes(n, exponent_width);
        if (size - pos < exponent_raw_bytes) return error_set(SARAPHIS_ERROR_TRUNCATED, "float channels: exponents cut short");
        pos += exponent_raw_bytes;
    }
    SPS_TRY(entropy_decode(src + pos, size - pos, high, n, &consumed));
    pos += consumed;
    size_t low_bytes = packed_bytes(n, low_width);
    if (size - pos != low_bytes)
        return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: low-bit channel holds %zu bytes, expected %zu", size - pos, low_bytes);
    if (k < 8) {
        /* Fewer than 8 sign+mantissa bits: a high symbol must fit k bits. */
        for (size_t i = 0; i < n; i++)
            if (high[i] >> k) return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: sign/mantissa symbol wider than %u bits", k);
    }
    const uint8_t *low = src + pos;
    if (exponent_mode == EXPONENT_RAW) {
        /* Merge with zero exponent symbols, then add the raw exponents in. */
        memset(exponents, 0, n);
        merge64(dst, n, layout, dropped, 0, exponents, high, low, low_bytes);
        bit_reader_t reader;
        bit_reader_init(&reader, src + 6, exponent_raw_bytes);
        for (size_t i = 0; i < n; i++) {
            uint64_t e = bit_reader_get(&reader, exponent_width) + base;
            if (e > 0x7ff) return error_set(SARAPHIS_ERROR_CORRUPT, "float channels: F64 exponent out of range");
            store_le64(dst + 8 * i, load_le64(dst + 8 * i) | (e << 52));
        }
        return SARAPHIS_OK;
    }
    if (dtype == SARAPHIS_DTYPE_BF16 && dropped == 0) merge_bf16_full(dst, n, base, exponents, high);
    else if (dtype == SARAPHIS_DTYPE_F32 && dropped == 0) merge_f32_full(dst, n, base, exponents, high, low);
    else if (dtype == SARAPHIS_DTYPE_F32 && dropped == 16) merge_f32_holding_bf16(dst, n, base, exponents, high);
    else if (element_size == 2) merge16(dst, n, layout, dropped, base, exponents, high, low, low_bytes);
    else if (element_size == 4) merge32(dst, n, layout, dropped, base, exponents, high, low, low_bytes);
    else merge64(dst, n, layout, dropped, base, exponents, high, low, low_bytes);
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
        SPS_TRY(entropy_encode(plane_src, n, dst + pos, capacity - pos, &stream_size));
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
