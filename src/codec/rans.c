/* Interleaved rANS (see rans.h for the block layout). Invariant: every lane's state stays in
 * [RANS_STATE_LOWER, 2^32) between symbols, so one 16-bit renormalisation per symbol is always
 * enough in either direction. */
#include "codec/rans.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "common/bits.h"

#define RANS_SLOT_MASK (RANS_PROB_SCALE - 1)
#define RANS_RECIPROCAL_SHIFT 44

/* The logarithms normalisation and cost estimates take, by frequency: each entry is the libm
 * value of the very expression the loops would evaluate, so results are the same bits, once per
 * process instead of once per symbol and step. */
static double log2_freq[RANS_LOG2_TABLE_SIZE];      /* log2(f) */
static double log2_ratio_down[RANS_PROB_SCALE + 2]; /* log2(f / (f - 1)), f >= 2 */
static double log2_ratio_up[RANS_PROB_SCALE + 2];   /* log2((f + 1) / f), f >= 1 */
static pthread_once_t log2_once = PTHREAD_ONCE_INIT;

static void build_log2_tables(void)
{
    for (uint32_t f = 1; f < RANS_PROB_SCALE + 2; f++) {
        log2_freq[f] = log2((double)f);
        log2_ratio_down[f] = f >= 2 ? log2((double)f / (double)(f - 1)) : 0;
        log2_ratio_up[f] = log2((double)(f + 1) / (double)f);
    }
}

const double *rans_log2_table(void)
{
    pthread_once(&log2_once, build_log2_tables);
    return log2_freq;
}

/* Value of moving one slot to (removing: +1 means away from) symbol s, in bits: removing a slot
 * from s costs counts[s] * log2(f / (f - 1)) bits, adding one saves counts[s] * log2((f + 1) / f).
 * Stored so that smaller is better in both directions; symbols that cannot take the move get
 * +infinity. A frequency never leaves [1, RANS_PROB_SCALE]: the total stays at or below the scale
 * while adding, and removing stops at 1. */
static double adjust_key(uint32_t count, uint32_t f, int removing)
{
    if (!count) return INFINITY;
    if (removing) return f <= 1 ? INFINITY : count * log2_ratio_down[f];
    return -(count * log2_ratio_up[f]);
}

/* floor(x / d) for x < 2^53 through one double division, corrected to the exact quotient. */
static inline uint64_t divide_exact(uint64_t x, uint64_t d)
{
    uint64_t q = (uint64_t)((double)x / (double)d);
    while (q * d > x) q--;
    while (x - q * d >= d) q++;
    return q;
}

/* Winner of two tournament entries: the smaller key, the lower symbol on a tie (a is the lower). */
static inline uint16_t adjust_winner(const double key[256], uint16_t a, uint16_t b)
{
    return key[b] < key[a] ? b : a;
}

void rans_normalize(const uint32_t counts[256], rans_table_t *table)
{
    int first = -1, last = 0;
    for (int s = 0; s < 256; s++)
        if (counts[s]) {
            if (first < 0) first = s;
            last = s;
        }
    rans_normalize_range(counts, first, last, table);
}

void rans_normalize_range(const uint32_t counts[256], int first, int last, rans_table_t *table)
{
    pthread_once(&log2_once, build_log2_tables);
    uint64_t total = 0;
    for (int s = first < 0 ? 256 : first; s <= last; s++) total += counts[s];
    memset(table->freq, 0, sizeof table->freq);
    int64_t assigned = 0;
    /* Only the symbols from the first present to the last can take slots (the others keep 0). */
    for (int s = first < 0 ? 256 : first; s <= last; s++) {
        uint32_t f = 0;
        if (counts[s]) {
            /* Round to nearest; never below one slot for a present symbol. */
            f = (uint32_t)divide_exact((uint64_t)counts[s] * RANS_PROB_SCALE + total / 2, total);
            if (f == 0) f = 1;
        }
        table->freq[s] = (uint16_t)f;
        assigned += f;
    }
    /* Move the difference one slot at a time to (or from) the symbol where it costs least, the
     * lowest symbol among equals (the rule, and so the output, of a plain scan over all symbols).
     * The difference can reach a few hundred slots (every rare symbol rounded up to one), so the
     * best symbol is kept in a tournament tree: each step recomputes only the moved symbol's key
     * and its ancestors. The tree spans the present symbols' range only, leaf j standing for
     * symbol first + j (a power of two of leaves, the ones past the range at +infinity): absent
     * symbols can never take a move, and a tournament that keeps the left entry on a tie finds the
     * leftmost of the smallest keys whatever its size, so the choice is that of the full scan. The
     * direction never changes: the loop stops on reaching the scale. */
    if (first >= 0 && assigned != RANS_PROB_SCALE) {
        int removing = assigned > RANS_PROB_SCALE;
        unsigned leaves = 1;
        while (leaves < (unsigned)(last - first + 1)) leaves *= 2;
        double key[256];
        uint16_t tree[256]; /* tree[1] is the root; node k has children 2k, 2k+1; leaves below */
        for (unsigned j = 0; j < leaves; j++)
            key[j] = first + (int)j <= last ? adjust_key(counts[first + j], table->freq[first + j], removing) : INFINITY;
        if (leaves == 1) {
            tree[1] = 0;
        } else {
            for (unsigned k = leaves - 1; k >= leaves / 2; k--)
                tree[k] = adjust_winner(key, (uint16_t)(2 * k - leaves), (uint16_t)(2 * k + 1 - leaves));
            for (unsigned k = leaves / 2 - 1; k >= 1; k--) tree[k] = adjust_winner(key, tree[2 * k], tree[2 * k + 1]);
        }
        while (assigned != RANS_PROB_SCALE) {
            const unsigned best = tree[1], s = (unsigned)first + best;
            if (removing) { table->freq[s]--; assigned--; }
            else { table->freq[s]++; assigned++; }
            key[best] = adjust_key(counts[s], table->freq[s], removing);
            if (leaves == 1) continue;
            unsigned k = (best + leaves) / 2;
            tree[k] = adjust_winner(key, (uint16_t)(2 * k - leaves), (uint16_t)(2 * k + 1 - leaves));
            for (k /= 2; k >= 1; k /= 2) tree[k] = adjust_winner(key, tree[2 * k], tree[2 * k + 1]);
        }
    }
    /* The running sum moves only across the present symbols' range: 0 up to first, the scale
     * after last (a loop over all 256 carried its sum through every one, a fifth of the time). */
    if (first < 0) {
        memset(table->cum, 0, sizeof table->cum);
        return;
    }
    for (int s = 0; s <= first; s++) table->cum[s] = 0;
    for (int s = first; s <= last; s++) table->cum[s + 1] = (uint16_t)(table->cum[s] + table->freq[s]);
    for (int s = last + 2; s <= 256; s++) table->cum[s] = table->cum[last + 1];
}

double rans_cost_bits_range(const uint32_t counts[256], const rans_table_t *table, int first, int last)
{
    pthread_once(&log2_once, build_log2_tables);
    /* Absent symbols add 0 * (RANS_PROB_BITS - log2_freq[0]) = +0, which leaves the sum (of
     * terms >= 0) as it is: no branch to mispredict on a sparse histogram. */
    double bits = 0;
    for (int s = first; s <= last; s++) bits += counts[s] * (RANS_PROB_BITS - log2_freq[table->freq[s]]);
    return bits;
}

double rans_cost_bits(const uint32_t counts[256], const rans_table_t *table) { return rans_cost_bits_range(counts, table, 0, 255); }

size_t rans_table_write(const rans_table_t *table, uint8_t *dst, size_t capacity)
{
    int first = 0, last = 255;
    while (first < 256 && table->freq[first] == 0) first++;
    while (last > first && table->freq[last] == 0) last--;
    return rans_table_write_range(table, first, last, dst, capacity);
}

size_t rans_table_write_range(const rans_table_t *table, int first, int last, uint8_t *dst, size_t capacity)
{
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
    /* Absent symbols keep zero entries: only present ones are ever encoded, so the (slow, 64-bit)
     * division runs once per present symbol. */
    memset(encoder, 0, sizeof *encoder);
    for (int s = 0; s < 256; s++) {
        uint32_t f = table->freq[s];
        if (!f) continue;
        rans_encoder_symbol_t *entry = &encoder->symbol[s];
        /* q = floor(x / f) = high half of x * m, m = floor(2^64 / f) + 1: exact for every 32-bit
         * x, since the rounding error x * (m f - 2^64) / 2^64 stays below 1 / f. floor(2^64 / f)
         * is floor((2^64 - 1) / f), plus one when f divides 2^64. */
        entry->reciprocal = f > 1 ? UINT64_MAX / f + ((f & (f - 1)) == 0) + 1 : 0;
        entry->single_mask = f == 1 ? 0xffffffffu : 0;
        entry->renorm_limit = f << (32 - RANS_PROB_BITS);
        entry->complement = RANS_PROB_SCALE - f;
        entry->cum = table->cum[s];
        /* The AVX2 encoder estimates x / f as float(x >> 1) * scale (x < f << 20): for f <= 2
         * every step is exact and the estimate lies in [x / f - 1, x / f]; for larger f, a scale
         * 2^-22 below 2 / f outweighs the three float roundings (each under 2^-24 relative), so
         * the estimate stays below x / f and above x / f - 1/3 - 0.44. Its truncation is then
         * floor(x / f) or one less, which the encoder corrects exactly. */
        float scale = f <= 2 ? 2.0f / (float)f : (float)(2.0 / f * (1.0 - 0x1p-22));
        uint32_t scale_bits;
        memcpy(&scale_bits, &scale, sizeof scale_bits);
        uint32_t simd_entry = f | ((uint32_t)table->cum[s] + RANS_PROB_SCALE - f) << RANS_PROB_BITS;
        encoder->simd_pair[s] = simd_entry | (uint64_t)scale_bits << 32;
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

static size_t encode_block(const rans_encoder_table_t *encoder, const uint8_t *symbols, size_t n,
                           uint8_t *dst, size_t capacity, uint8_t *scratch, int use_simd)
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
    if (use_simd) {
        words = rans_encode_groups_avx2(encoder, symbols, full / RANS_LANES, state, words);
    } else {
        for (size_t group = full; group > 0; group -= RANS_LANES) {
            const uint8_t *group_symbols = symbols + group - RANS_LANES;
            for (int lane = RANS_LANES - 1; lane >= 0; lane--)
                state[lane] = encode_symbol(encoder, state[lane], group_symbols[lane], &words);
        }
    }
    size_t word_bytes = (size_t)(words_end - words) * 2;
    size_t total = RANS_BLOCK_HEADER_BYTES + word_bytes;
    if (total > capacity) return 0;
    for (int lane = 0; lane < RANS_LANES; lane++) store_le32(dst + 4 * lane, state[lane]);
    memcpy(dst + RANS_BLOCK_HEADER_BYTES, words, word_bytes);
    return total;
}

size_t rans_encode_block(const rans_encoder_table_t *encoder, const uint8_t *symbols, size_t n,
                         uint8_t *dst, size_t capacity, uint8_t *scratch)
{
    return encode_block(encoder, symbols, n, dst, capacity, scratch, rans_have_avx2());
}

size_t rans_encode_block_portable(const rans_encoder_table_t *encoder, const uint8_t *symbols, size_t n,
                                  uint8_t *dst, size_t capacity, uint8_t *scratch)
{
    return encode_block(encoder, symbols, n, dst, capacity, scratch, 0);
}

static saraphis_status_t decode_block(const rans_decoder_table_t *decoder, const uint8_t *block,
                                      size_t block_size, uint8_t *symbols, size_t n, int use_simd)
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
    if (use_simd) i = rans_decode_groups_avx2(slots, state, &words, words_end, symbols, n);
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

saraphis_status_t rans_decode_block(const rans_decoder_table_t *decoder, const uint8_t *block,
                                    size_t block_size, uint8_t *symbols, size_t n)
{
    return decode_block(decoder, block, block_size, symbols, n, rans_have_avx2());
}

saraphis_status_t rans_decode_block_portable(const rans_decoder_table_t *decoder, const uint8_t *block,
                                             size_t block_size, uint8_t *symbols, size_t n)
{
    return decode_block(decoder, block, block_size, symbols, n, 0);
}
