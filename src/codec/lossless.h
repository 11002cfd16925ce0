/* The lossless codec for one chunk. Floats (F32, F16, BF16, F64) are split into channels:
 *   exponent:  (exponent - chunk minimum) as byte symbols, entropy-coded;
 *   high:      the sign and the top mantissa bits (8 bits in all), entropy-coded, which falls
 *              back to raw bytes when the bits carry no redundancy;
 *   planes:    each further whole byte of mantissa, most significant first, entropy-coded alike;
 *   rest:      the last (k - 8) mod 8 mantissa bits, packed raw;
 * after dropping the mantissa's low bits that are zero in every element of the chunk (an F32
 * tensor holding BF16 values keeps 8 of its 24 sign+mantissa bits). Every other dtype is split
 * into byte planes, each entropy-coded. Round trips are exact for every bit pattern. */
#ifndef SARAPHIS_CODEC_LOSSLESS_H
#define SARAPHIS_CODEC_LOSSLESS_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

/* Per-worker buffers, reused across chunks so the hot path allocates nothing. */
#define LOSSLESS_MAX_PLANES 6 /* F64: 53 sign+mantissa bits = high byte + 5 planes + 5 raw bits */

typedef struct {
    uint8_t *symbols;  /* chunk_elements bytes: one channel's symbols */
    uint8_t *symbols2; /* a second channel */
    uint8_t *planes[LOSSLESS_MAX_PLANES]; /* mantissa byte planes */
    size_t capacity;
    uint8_t *decoded;         /* chunk layer: a lossy chunk decoded back, for its content checksum */
    size_t decoded_capacity;
    uint8_t *padic_work;      /* p-adic codec: its per-chunk work area, kept between chunks */
    size_t padic_work_capacity;
} codec_scratch_t;

saraphis_status_t codec_scratch_reserve(codec_scratch_t *scratch, size_t elements);
void codec_scratch_release(codec_scratch_t *scratch);

size_t lossless_chunk_bound(size_t raw_bytes);

/* raw_bytes is a multiple of the dtype size. */
saraphis_status_t lossless_encode_chunk(saraphis_dtype_t dtype, const uint8_t *src, size_t raw_bytes,
                                        uint8_t *dst, size_t capacity, size_t *written,
                                        codec_scratch_t *scratch);
saraphis_status_t lossless_decode_chunk(saraphis_dtype_t dtype, const uint8_t *src, size_t size,
                                        uint8_t *dst, size_t raw_bytes, codec_scratch_t *scratch);

#endif
