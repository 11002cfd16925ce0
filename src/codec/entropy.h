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

#include "codec/rans.h"

/* Stream modes: the stream's first byte. */
enum { ENTROPY_RAW = 0, ENTROPY_RANS = 1, ENTROPY_CONSTANT = 2 };

/* The choice entropy_encode makes from a stream's histogram, before coding anything: CONSTANT
 * (one symbol present), RAW (short, or the table's estimated cost does not beat raw bytes) or
 * RANS with its normalised table, serialised. A RANS stream still becomes RAW when its coded
 * size, header included, comes out at 1 + n bytes or more (entropy_rans_smaller). The GPU
 * encoder decides through the same function from histograms gathered on the device. */
typedef struct {
    int mode;
    uint8_t constant;      /* CONSTANT: the symbol */
    rans_table_t table;    /* RANS */
    size_t table_size;     /* RANS: bytes of table_bytes */
    uint8_t table_bytes[2 + 2 * 256];
} entropy_plan_t;

/* rANS is chosen only when its estimate saves more than min_gain bytes over raw (0: any saving). */
void entropy_plan(const uint32_t counts[256], size_t n, size_t min_gain, entropy_plan_t *plan);

/* The lossless codec's min_gain: a stream must save more than 1/64 of its bytes to be rANS-coded.
 * Decoding a rANS stream costs far more than copying raw bytes (on a GPU, a stream that saves 0.1%
 * doubles the decode time of its chunk, and one such chunk in a batch holds every other chunk's
 * SM waiting for it); the same trade as zstd's minimum gain for compressed literals. The p-adic
 * codec's digit planes take any saving (min_gain 0): their ratio is the point of that codec. */
static inline size_t entropy_lossless_min_gain(size_t n) { return n >> 6; }
/* The mantissa byte planes of F32 and F64 (below the high channel) take rANS only for a saving of
 * more than a quarter: one rANS plane sends its chunk off the decoders' fast path (GPU: every
 * stream of the chunk through the general loop, three to four times the time of a step), and in a
 * one-wave decode that chunk sets the time of all; the planes that gain less (a few percent, in
 * about one F32 weight chunk in fifteen) are worth less than that. */
static inline size_t entropy_lossless_plane_min_gain(size_t n) { return n >> 2; }

/* Whether a rANS stream of rans_size bytes (so far) is kept rather than written raw. */
static inline int entropy_rans_smaller(size_t rans_size, size_t n) { return rans_size < 1 + n; }

/* Largest encoded size of n symbols. */
size_t entropy_bound(size_t n);

/* Encodes n byte symbols into dst; *written receives the stream's size. */
saraphis_status_t entropy_encode(const uint8_t *symbols, size_t n, uint8_t *dst, size_t capacity,
                                 size_t *written);

/* entropy_encode with rANS only when it saves more than min_gain bytes (entropy_plan). */
saraphis_status_t entropy_encode_min_gain(const uint8_t *symbols, size_t n, size_t min_gain, uint8_t *dst, size_t capacity,
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
