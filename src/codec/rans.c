/* Interleaved rANS (see rans.h for the block layout). Invariant: every lane's state stays in
 * [RANS_STATE_LOWER, 2^32) between symbols, so one 16-bit renormalisation per symbol is always
 * enough in either direction. */
#include "codec/rans.h"

#include <math.h>
#include <string.h>

#include "common/bits.h"

#define RANS_SLOT_MASK (RANS_PROB_SCALE - 1)
#define RANS_RECIPROCAL_SHIFT 44

void rans_normalize(const uint32_t counts[256], rans_table_t *table)
{
    uint64_t total = 0;
    for (int s = 0; s < 256; s++) total += counts[s];
    int64_t assigned = 0;
    for (int s = 0; s < 256; s++) {
        uint32_t f = 0;
        if (counts[s]) {
            /* Round to nearest; never below one slot for a present symbol. */
            f = (uint32_t)(((uint64_t)counts[s] * RANS_PROB_SCALE + total / 2) / total);
            if (f == 0) f = 1;
        }
        table->freq[s] = (uint16_t)f;
        assigned += f;
    }
    /* Move the difference one slot at a time to (or from) the symbol where it costs least:
     * removing a slot from s costs counts[s] * log2(f / (f - 1)) bits, adding one saves
     * counts[s] * log2((f + 1) / f). The difference is at most a few slots per present symbol. */
    while (assigned != RANS_PROB_SCALE) {
        int best = -1;
        double best_value = 0;
        for (int s = 0; s < 256; s++) {
            uint32_t f = table->freq[s];
            if (!counts[s]) continue;
            if (assigned > RANS_PROB_SCALE) {
                if (f <= 1) continue;
                double cost = counts[s] * log2((double)f / (double)(f - 1));
                if (best < 0 || cost < best_value) { best = s; best_value = cost; }
            } else {
                double gain = counts[s] * log2((double)(f + 1) / (double)f);
                if (best < 0 || gain > best_value) { best = s; best_value = gain; }
            }
        }
        if (assigned > RANS_PROB_SCALE) { table->freq[best]--; assigned--; }
        else { table->freq[best]++; assigned++; }
    }
    table->cum[0] = 0;
    for (int s = 0; s < 256; s++) table->cum[s + 1] = (uint16_t)(table->cum[s] + table->freq[s]);
}

double rans_cost_bits(const uint32_t counts[256], const rans_table_t *table)
{
    double bits = 0;
    for (int s = 0; s < 256; s++)
        if (counts[s]) bits += counts[s] * (RANS_PROB_BITS - log2((double)table->freq[s]));
    return bits;
}

size_t rans_table_write(const rans_table_t *table, uint8_t *dst, size_t capacity)
{
    int first = 0, last = 255;
    while (first < 256 && table->freq[first] == 0) first++;
    while (last > first && table->freq[last] == 0) last--;
    if (capacity < 2) return 0;
    size_t pos = 0;
    dst[pos++] = (uint8_t)first;
    dst[pos++] = (uint8_t)last;
    for (int s = first; s <= last; s++) {
        uint32_t f = table->freq[s];
        if (f < 0x80) {
            if (pos + 1 > capacity) return 0;
            dst[pos++] = (uint8_t)f;
        } else {
            if (pos + 2 > capacity) return 0;
            dst[pos++] = (uint8_t)(0x80 | (f & 0x7f));
            dst[pos++] = (uint8_t)(f >> 7);
        }
    }
    return pos;
}

size_t rans_table_read(rans_table_t *table, const uint8_t *src, size_t size)
{
    if (size < 2) return 0;
    unsigned first = src[0], last = src[1];
    if (last < first) return 0;
    size_t pos = 2;
    memset(table->freq, 0, sizeof table->freq);
    uint32_t total = 0, present = 0;
    for (unsigned s = first; s <= last; s++) {
        if (pos >= size) return 0;
        uint32_t f = src[pos++];
        if (f & 0x80) {
            if (pos >= size) return 0;
            f = (f & 0x7f) | ((uint32_t)src[pos++] << 7);
        }
        if (f >= RANS_PROB_SCALE) return 0;
        table->freq[s] = (uint16_t)f;
        total += f;
        present += f != 0;
    }
    if (total != RANS_PROB_SCALE || present < 2) return 0;
    table->cum[0] = 0;
    for (int s = 0; s < 256; s++) table->cum[s + 1] = (uint16_t)(table->cum[s] + table->freq[s]);
    return pos;
}

void rans_encoder_table_init(rans_encoder_table_t *encoder, const rans_table_t *table)
{
    for (int s = 0; s < 256; s++) {
        uint32_t f = table->freq[s];
        rans_encoder_symbol_t *entry = &encoder->symbol[s];
        /* q = floor(x / f) = high half of x * ceil(2^64 / f): exact for every 32-bit x, since
         * the rounding error x * (m f - 2^64) / 2^64 stays below 1 / f. */
        entry->reciprocal = f > 1 ? (uint64_t)(((unsigned __int128)1 << 64) / f) + 1 : 0;
        entry->single_mask = f == 1 ? 0xffffffffu : 0;
        entry->renorm_limit = f << (32 - RANS_PROB_BITS);
        entry->complement = RANS_PROB_SCALE - f;
        entry->cum = table->cum[s];
    }
}

void rans_decoder_table_init(rans_decoder_table_t *decoder, const rans_table_t *table)
{
    for (uint32_t s = 0; s < 256; s++) {
        uint32_t f = table->freq[s], cum = table->cum[s];
        for (uint32_t slot = cum; slot < cum + f; slot++)
            decoder->slot[slot] = s | (f << 8) | ((slot - cum) << 20);
    }
}

static inline uint32_t encode_symbol(const rans_encoder_table_t *encoder, uint32_t state,
                                     unsigned symbol, uint16_t **words)
{
    const rans_encoder_symbol_t *entry = &encoder->symbol[symbol];
    /* Branch-free renormalisation: the word is always stored below the cursor and kept only
     * when the cursor moves over it (the scratch has room for one extra word). */
    uint32_t shed = state >= entry->renorm_limit;
    (*words)[-1] = (uint16_t)state;
    *words -= shed;
    state >>= shed << 4;
    uint32_t quotient = (uint32_t)(((unsigned __int128)state * entry->reciprocal) >> 64) | (state & entry->single_mask);
    /* (q << bits) + (x - q f) + cum, folded into one multiply. */
    return state + quotient * entry->complement + entry->cum;
}

size_t rans_encode_block(const rans_encoder_table_t *encoder, const uint8_t *symbols, size_t n,
                         uint8_t *dst, size_t capacity, uint8_t *scratch)
{
    uint32_t state[RANS_LANES];
    for (int lane = 0; lane < RANS_LANES; lane++) state[lane] = RANS_STATE_LOWER;
    /* Words are produced last-to-first, so they are written downward from the scratch end. */
    uint16_t *words_end = (uint16_t *)(void *)(scratch + ((2 * n + 2) & ~(size_t)1));
    uint16_t *words = words_end;
    size_t full = n - n % RANS_LANES;
    for (size_t i = n; i > full; i--)
        state[(i - 1) % RANS_LANES] = encode_symbol(encoder, state[(i - 1) % RANS_LANES],
                                                    symbols[i - 1], &words);
    for (size_t group = full; group > 0; group -= RANS_LANES) {
        const uint8_t *group_symbols = symbols + group - RANS_LANES;
        for (int lane = RANS_LANES - 1; lane >= 0; lane--)
            state[lane] = encode_symbol(encoder, state[lane], group_symbols[lane], &words);
    }
    size_t word_bytes = (size_t)(words_end - words) * 2;
    size_t total = RANS_BLOCK_HEADER_BYTES + word_bytes;
    if (total > capacity) return 0;
    for (int lane = 0; lane < RANS_LANES; lane++) store_le32(dst + 4 * lane, state[lane]);
    memcpy(dst + RANS_BLOCK_HEADER_BYTES, words, word_bytes);
    return total;
}

saraphis_status_t rans_decode_block(const rans_decoder_table_t *decoder, const uint8_t *block,
                                    size_t block_size, uint8_t *symbols, size_t n)
{
    if (block_size < RANS_BLOCK_HEADER_BYTES || ((block_size - RANS_BLOCK_HEADER_BYTES) & 1))
        return SARAPHIS_ERROR_CORRUPT;
    uint32_t state[RANS_LANES];
    for (int lane = 0; lane < RANS_LANES; lane++) {
        state[lane] = load_le32(block + 4 * lane);
        if (state[lane] < RANS_STATE_LOWER) return SARAPHIS_ERROR_CORRUPT;
    }
    const uint8_t *words = block + RANS_BLOCK_HEADER_BYTES;
    const uint8_t *words_end = block + block_size;
    const uint32_t *slots = decoder->slot;
    size_t i = 0;
    if (rans_have_avx2()) i = rans_decode_groups_avx2(slots, state, &words, words_end, symbols, n);
    /* Fast loop: a group reads at most RANS_LANES words, so while that many remain no read
     * needs a bounds check. The renormalisation is branch-free: it is taken unpredictably. */
    while (i + RANS_LANES <= n && (size_t)(words_end - words) >= 2 * RANS_LANES) {
        for (int lane = 0; lane < RANS_LANES; lane++) {
            uint32_t x = state[lane];
            uint32_t entry = slots[x & RANS_SLOT_MASK];
            symbols[i + (size_t)lane] = (uint8_t)entry;
            x = ((entry >> 8) & 0xfff) * (x >> RANS_PROB_BITS) + (entry >> 20);
            uint32_t word = load_le16(words);
            uint32_t refill = x < RANS_STATE_LOWER;
            /* Arithmetic select: compilers turn a ternary here into a branch that mispredicts
             * on every sixth symbol or so. */
            x = (x << (refill << 4)) | (word & (0u - refill));
            words += refill * 2;
            state[lane] = x;
        }
        i += RANS_LANES;
    }
    for (; i < n; i++) {
        unsigned lane = (unsigned)(i % RANS_LANES);
        uint32_t x = state[lane];
        uint32_t entry = slots[x & RANS_SLOT_MASK];
        symbols[i] = (uint8_t)entry;
        x = ((entry >> 8) & 0xfff) * (x >> RANS_PROB_BITS) + (entry >> 20);
        if (x < RANS_STATE_LOWER) {
            if (words_end - words < 2) return SARAPHIS_ERROR_CORRUPT;
            x = (x << 16) | load_le16(words);
            words += 2;
        }
        state[lane] = x;
    }
    if (words != words_end) return SARAPHIS_ERROR_CORRUPT;
    for (int lane = 0; lane < RANS_LANES; lane++)
        if (state[lane] != RANS_STATE_LOWER) return SARAPHIS_ERROR_CORRUPT;
    return SARAPHIS_OK;
}
