/* Interleaved rANS over byte symbols, laid out for warp-parallel decoding.
 *
 * A coded block holds up to RANS_BLOCK_SYMBOLS symbols shared round-robin by RANS_LANES states:
 * symbol i belongs to lane i % RANS_LANES. Each state is 32 bits, kept in [2^16, 2^32) by
 * emitting or reading 16-bit words; all lanes share one word stream, read in symbol order. So a
 * CUDA warp decodes a block with one state per thread (each thread learns its read position from
 * a ballot prefix count), and a CPU core decodes it with the same state array in a loop: both
 * visit words in the same order and produce identical output. Probabilities are quantised to
 * RANS_PROB_BITS bits.
 *
 * Block layout: RANS_LANES little-endian u32 final encoder states, then the 16-bit words. */
#ifndef SARAPHIS_CODEC_RANS_H
#define SARAPHIS_CODEC_RANS_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

#define RANS_LANES 32
#define RANS_PROB_BITS 12
#define RANS_PROB_SCALE (1u << RANS_PROB_BITS)
#define RANS_STATE_LOWER (1u << 16)
#define RANS_BLOCK_SYMBOLS 32768
#define RANS_BLOCK_HEADER_BYTES (RANS_LANES * 4)

/* A normalised frequency table: freq sums to RANS_PROB_SCALE and at least two symbols are present
 * (a single-symbol alphabet is coded as a constant by the caller, never by rANS). */
typedef struct {
    uint16_t freq[256];
    uint16_t cum[257];
} rans_table_t;

/* Encoder-side table: reciprocals that turn the division by a frequency into a multiply. */
typedef struct {
    uint64_t reciprocal;   /* ceil(2^64 / freq): the quotient is the high half of a product */
    uint32_t renorm_limit; /* a state at or above this must shed 16 bits first */
    uint32_t single_mask;  /* all ones when freq == 1 (its reciprocal does not fit) */
    uint32_t complement;   /* RANS_PROB_SCALE - freq */
    uint32_t cum;
} rans_encoder_symbol_t;

/* Only the symbols present in the table (freq > 0) have meaningful entries; encoding a symbol
 * with freq == 0 gives undefined (but memory-safe) output. */
typedef struct {
    rans_encoder_symbol_t symbol[256];
    /* For the AVX2 encoder, one 64-bit load per symbol: the low half is
     * freq | (cum + RANS_PROB_SCALE - freq) << RANS_PROB_BITS, the high half the bits of a float
     * just below 2 / freq (exactly 2 / freq for freq <= 2): the quotient estimate's scale, see
     * rans_avx2.c. */
    uint64_t simd_pair[256];
} rans_encoder_table_t;

/* Decoder-side table: one 32-bit entry per probability slot: symbol | freq << 8 | bias << 20,
 * where bias = slot - cum[symbol]. */
typedef struct {
    uint32_t slot[RANS_PROB_SCALE];
} rans_decoder_table_t;

/* Builds a normalised table from symbol counts (total > 0, at least two symbols present),
 * spending the quantisation error where it costs the fewest bits. */
void rans_normalize(const uint32_t counts[256], rans_table_t *table);
/* The same, for counts that are 0 outside [first, last] (the first and last present symbols, as
 * the caller has found them already; first -1 when none is). */
void rans_normalize_range(const uint32_t counts[256], int first, int last, rans_table_t *table);

/* log2(f) as libm gives it, for f = 1 .. RANS_PROB_SCALE + 1 (index 0 unused): a table built once,
 * so that estimates over many counts give the same bits without a libm call per count. */
#define RANS_LOG2_TABLE_SIZE (RANS_PROB_SCALE + 2)
const double *rans_log2_table(void);

/* Bits the normalised table spends on the given counts (a cost estimate, in bits). */
double rans_cost_bits(const uint32_t counts[256], const rans_table_t *table);
/* The same over symbols [first, last] (every present symbol must be in it): the same bits. */
double rans_cost_bits_range(const uint32_t counts[256], const rans_table_t *table, int first, int last);

/* Serialises the table: first symbol, last symbol, then each frequency in that range as a 1- or
 * 2-byte varint. Returns bytes written, or 0 if capacity is too small. */
size_t rans_table_write(const rans_table_t *table, uint8_t *dst, size_t capacity);
/* The same, given the first and last symbols of nonzero frequency (as the caller has them). */
size_t rans_table_write_range(const rans_table_t *table, int first, int last, uint8_t *dst, size_t capacity);
/* Parses and validates a serialised table (frequencies must sum to RANS_PROB_SCALE with at least
 * two non-zero). Returns bytes read, or 0 when the bytes are not a valid table. */
size_t rans_table_read(rans_table_t *table, const uint8_t *src, size_t size);

void rans_encoder_table_init(rans_encoder_table_t *encoder, const rans_table_t *table);
void rans_decoder_table_init(rans_decoder_table_t *decoder, const rans_table_t *table);

/* Largest encoded block for n symbols. */
static inline size_t rans_block_bound(size_t n) { return RANS_BLOCK_HEADER_BYTES + 2 * n + 2; }

/* Encodes n (<= RANS_BLOCK_SYMBOLS) symbols, all present in the table, into one block; returns
 * its size, 0 if it does not fit capacity. scratch must hold 2 * n + 2 bytes. Uses the AVX2 path
 * when rans_have_avx2(); the output bytes are identical either way. Thread-safe (no shared
 * mutable state beyond the read-only tables). */
size_t rans_encode_block(const rans_encoder_table_t *encoder, const uint8_t *symbols, size_t n,
                         uint8_t *dst, size_t capacity, uint8_t *scratch);
/* The portable encoder: the reference that defines the format. */
size_t rans_encode_block_portable(const rans_encoder_table_t *encoder, const uint8_t *symbols, size_t n,
                                  uint8_t *dst, size_t capacity, uint8_t *scratch);

/* Decodes n symbols from a block of exactly block_size bytes. Returns SARAPHIS_ERROR_CORRUPT when
 * the block does not end exactly where the words run out with every state back at its start:
 * this catches most corruption even without the checksum, and never reads outside the block.
 * Uses the AVX2 path when rans_have_avx2(); thread-safe. */
saraphis_status_t rans_decode_block(const rans_decoder_table_t *decoder, const uint8_t *block,
                                    size_t block_size, uint8_t *symbols, size_t n);
/* The portable decoder (the reference). */
saraphis_status_t rans_decode_block_portable(const rans_decoder_table_t *decoder, const uint8_t *block,
                                             size_t block_size, uint8_t *symbols, size_t n);

/* SIMD fast paths, chosen at run time (rans_avx2.c). rans_have_avx2() is true when the CPU has
 * AVX2 and BMI2 and SARAPHIS_NO_SIMD is unset or "0" (read once, on the first call). */
int rans_have_avx2(void);
size_t rans_decode_groups_avx2(const uint32_t *slots, uint32_t state[RANS_LANES], const uint8_t **words,
                               const uint8_t *words_end, uint8_t *symbols, size_t n);
/* Encodes the group_count * RANS_LANES symbols at `symbols`, last group first, continuing from
 * state[] and writing words downward from `words`; returns the new (lower) cursor. The scratch
 * below the cursor must hold at least one word per symbol plus one, as rans_encode_block's
 * contract gives: the encoder stores 16 bytes ending at the cursor. */
uint16_t *rans_encode_groups_avx2(const rans_encoder_table_t *encoder, const uint8_t *symbols, size_t group_count,
                                  uint32_t state[RANS_LANES], uint16_t *words);

#endif
