/* Entropy-coded byte streams: the library's one entropy coder (interleaved rANS, see rans.h)
 * behind a byte-in, byte-out interface. A stream is self-describing: it says whether it holds
 * rANS-coded symbols (with their frequency table) or raw bytes, whichever is smaller, so coding
 * never expands data by more than a few header bytes. Used by the lossless float codec for the
 * exponent channel, by the generic byte-plane path, and by the p-adic codec for digit planes. */
#ifndef SARAPHIS_CODEC_ENTROPY_H
#define SARAPHIS_CODEC_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

/* Largest encoded size of n symbols. */
size_t entropy_bound(size_t n);

/* Encodes n byte symbols into dst; *written receives the stream's size. */
saraphis_status_t entropy_encode(const uint8_t *symbols, size_t n, uint8_t *dst, size_t capacity,
                                 size_t *written);

/* entropy_encode for a caller that has already counted the symbols (counts[s]: how many of the
 * n symbols are s; they must be exact). Same output. */
saraphis_status_t entropy_encode_counted(const uint8_t *symbols, size_t n, const uint32_t counts[256], uint8_t *dst,
                                         size_t capacity, size_t *written);

/* Decodes exactly n symbols from the stream at src (at most src_size bytes); *consumed receives
 * the stream's size. Memory-safe on any input: corrupt streams return SARAPHIS_ERROR_CORRUPT. */
saraphis_status_t entropy_decode(const uint8_t *src, size_t src_size, uint8_t *symbols, size_t n,
                                 size_t *consumed);

#endif
