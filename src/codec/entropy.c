/* Entropy-coded byte streams (entropy.h). Stream layout, all little-endian:
 *   u8 mode = ENTROPY_RAW:      n bytes follow as they are
 *   u8 mode = ENTROPY_CONSTANT: one byte, repeated n times
 *   u8 mode = ENTROPY_RANS:     frequency table (rans_table_write), then one u32 byte size per
 *                               block of RANS_BLOCK_SYMBOLS symbols, then the blocks
 * The encoder picks rANS only when the table's estimated cost beats the raw bytes by more than the
 * caller's min_gain, so a stream is never more than one byte larger than its input. */
#include "codec/entropy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/rans.h"
#include "common/bits.h"
#include "common/error.h"

static size_t block_count_for(size_t n) { return (n + RANS_BLOCK_SYMBOLS - 1) / RANS_BLOCK_SYMBOLS; }

size_t entropy_bound(size_t n) { return 1 + n; }

static void histogram(const uint8_t *symbols, size_t n, uint32_t counts[256])
{
    /* Four sub-histograms break the store-to-load dependency on runs of equal bytes. */
    uint32_t partial[4][256];
    memset(partial, 0, sizeof partial);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        partial[0][symbols[i]]++;
        partial[1][symbols[i + 1]]++;
        partial[2][symbols[i + 2]]++;
        partial[3][symbols[i + 3]]++;
    }
    for (; i < n; i++) partial[0][symbols[i]]++;
    for (int s = 0; s < 256; s++) counts[s] = partial[0][s] + partial[1][s] + partial[2][s] + partial[3][s];
}

/* True when the rANS estimate below cannot beat the raw bytes by more than min_gain whatever the
 * normalised table: it is at least the header with a table of one byte per symbol in range, plus
 * the empirical entropy (no table codes the counts in fewer bits than their entropy). Skips
 * building the table (most of a plan's time) for near-uniform streams and, with the lossless
 * codec's minimum gain, for every stream that could save only a little (the float high channels);
 * the one-byte margin keeps rounding from ever flipping the choice. */
static int raw_certain(const uint32_t counts[256], int first, int last, size_t n, size_t min_gain)
{
    const double *log2_table = rans_log2_table();
    double sum = 0;
    /* Over the present symbols' range; an absent one adds 0 * log2_table[0] = +0. */
    for (int s = first; s <= last; s++) {
        uint32_t c = counts[s];
        sum += c * (c < RANS_LOG2_TABLE_SIZE ? log2_table[c] : log2((double)c));
    }
    size_t blocks = block_count_for(n);
    double entropy_bits = (double)n * log2((double)n) - sum;
    double lower = 1 + 2 + (double)(last - first + 1) + 4.0 * blocks + (double)blocks * RANS_BLOCK_HEADER_BYTES + entropy_bits / 8;
    return lower + (double)min_gain >= (double)n + 1;
}

static saraphis_status_t write_raw(const uint8_t *symbols, size_t n, uint8_t *dst, size_t capacity,
                                   size_t *written)
{
    if (capacity < 1 + n) return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "entropy stream: output full");
    dst[0] = ENTROPY_RAW;
    memcpy(dst + 1, symbols, n);
    *written = 1 + n;
    return SARAPHIS_OK;
}

void entropy_plan(const uint32_t counts[256], size_t n, size_t min_gain, entropy_plan_t *plan)
{
    int present = 0, first_present = 0, last_present = 255;
    for (int s = 0; s < 256; s++) present += counts[s] != 0;
    if (present) {
        while (!counts[first_present]) first_present++;
        while (!counts[last_present]) last_present--;
    } else {
        last_present = 0;
    }
    plan->constant = (uint8_t)last_present;
    plan->table_size = 0;
    if (n > 0 && present == 1) {
        plan->mode = ENTROPY_CONSTANT;
        return;
    }
    plan->mode = ENTROPY_RAW;
    if (n < 64) return;
    if (raw_certain(counts, first_present, last_present, n, min_gain)) return; /* no table can win: skip building one */
    rans_normalize_range(counts, first_present, last_present, &plan->table);
    size_t blocks = block_count_for(n);
    plan->table_size = rans_table_write_range(&plan->table, first_present, last_present, plan->table_bytes, sizeof plan->table_bytes);
    double estimate = 1 + (double)plan->table_size + 4.0 * blocks +
                      (double)blocks * RANS_BLOCK_HEADER_BYTES + rans_cost_bits_range(counts, &plan->table, first_present, last_present) / 8;
    if (estimate + (double)min_gain < (double)n) plan->mode = ENTROPY_RANS;
}

static saraphis_status_t encode_counted(const uint8_t *symbols, size_t n, const uint32_t counts[256], size_t min_gain,
                                        uint8_t *dst, size_t capacity, size_t *written)
{
    entropy_plan_t plan;
    entropy_plan(counts, n, min_gain, &plan);
    if (plan.mode == ENTROPY_CONSTANT) {
        if (capacity < 2) return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "entropy stream: output full");
        dst[0] = ENTROPY_CONSTANT;
        dst[1] = plan.constant;
        *written = 2;
        return SARAPHIS_OK;
    }
    if (plan.mode == ENTROPY_RAW) return write_raw(symbols, n, dst, capacity, written);

    size_t blocks = block_count_for(n), table_size = plan.table_size;
    const uint8_t *table_bytes = plan.table_bytes;
    rans_encoder_table_t *encoder = malloc(sizeof *encoder);
    size_t scratch_size = 2 * (size_t)RANS_BLOCK_SYMBOLS + 2;
    uint8_t *scratch = malloc(scratch_size);
    if (!encoder || !scratch) {
        free(encoder); free(scratch);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "entropy stream: no memory for encoder");
    }
    rans_encoder_table_init(encoder, &plan.table);
    size_t header = 1 + table_size + 4 * blocks;
    saraphis_status_t status = SARAPHIS_OK;
    if (header > capacity) { status = SARAPHIS_ERROR_BUFFER_TOO_SMALL; goto done; }
    dst[0] = ENTROPY_RANS;
    memcpy(dst + 1, table_bytes, table_size);
    size_t pos = header;
    for (size_t b = 0; b < blocks; b++) {
        size_t begin = b * RANS_BLOCK_SYMBOLS;
        size_t count = n - begin < RANS_BLOCK_SYMBOLS ? n - begin : RANS_BLOCK_SYMBOLS;
        size_t size = rans_encode_block(encoder, symbols + begin, count, dst + pos, capacity - pos, scratch);
        if (size == 0 || !entropy_rans_smaller(pos + size, n)) { status = SARAPHIS_ERROR_BUFFER_TOO_SMALL; goto done; }
        store_le32(dst + 1 + table_size + 4 * b, (uint32_t)size);
        pos += size;
    }
    *written = pos;
done:
    free(encoder);
    free(scratch);
    /* The estimate was wrong or the output is full: raw is always within the bound. */
    if (status != SARAPHIS_OK) return write_raw(symbols, n, dst, capacity, written);
    return SARAPHIS_OK;
}

saraphis_status_t entropy_encode(const uint8_t *symbols, size_t n, uint8_t *dst, size_t capacity,
                                 size_t *written)
{
    return entropy_encode_min_gain(symbols, n, 0, dst, capacity, written);
}

saraphis_status_t entropy_encode_min_gain(const uint8_t *symbols, size_t n, size_t min_gain, uint8_t *dst, size_t capacity,
                                          size_t *written)
{
    uint32_t counts[256];
    histogram(symbols, n, counts);
    return encode_counted(symbols, n, counts, min_gain, dst, capacity, written);
}

saraphis_status_t entropy_encode_counted(const uint8_t *symbols, size_t n, const uint32_t counts[256], uint8_t *dst,
                                         size_t capacity, size_t *written)
{
    return encode_counted(symbols, n, counts, 0, dst, capacity, written);
}

saraphis_status_t entropy_decode(const uint8_t *src, size_t src_size, uint8_t *symbols, size_t n,
                                 size_t *consumed)
{
    if (src_size < 1) return error_set(SARAPHIS_ERROR_TRUNCATED, "entropy stream: empty");
    switch (src[0]) {
    case ENTROPY_RAW:
        if (src_size - 1 < n) return error_set(SARAPHIS_ERROR_TRUNCATED, "entropy stream: raw bytes cut short (%zu of %zu)", src_size - 1, n);
        memcpy(symbols, src + 1, n);
        *consumed = 1 + n;
        return SARAPHIS_OK;
    case ENTROPY_CONSTANT:
        if (src_size < 2) return error_set(SARAPHIS_ERROR_TRUNCATED, "entropy stream: constant cut short");
        memset(symbols, src[1], n);
        *consumed = 2;
        return SARAPHIS_OK;
    case ENTROPY_RANS: break;
    default: return error_set(SARAPHIS_ERROR_CORRUPT, "entropy stream: unknown mode %u", src[0]);
    }
    rans_table_t table;
    size_t table_size = rans_table_read(&table, src + 1, src_size - 1);
    if (table_size == 0) return error_set(SARAPHIS_ERROR_CORRUPT, "entropy stream: invalid frequency table");
    size_t blocks = block_count_for(n);
    size_t header = 1 + table_size + 4 * blocks;
    if (header > src_size) return error_set(SARAPHIS_ERROR_TRUNCATED, "entropy stream: block sizes cut short");
    rans_decoder_table_t *decoder = malloc(sizeof *decoder);
    if (!decoder) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "entropy stream: no memory for decoder");
    rans_decoder_table_init(decoder, &table);
    size_t pos = header;
    saraphis_status_t status = SARAPHIS_OK;
    for (size_t b = 0; b < blocks; b++) {
        size_t size = load_le32(src + 1 + table_size + 4 * b);
        if (size > src_size - pos) { status = error_set(SARAPHIS_ERROR_TRUNCATED, "entropy stream: block %zu cut short", b); break; }
        size_t begin = b * RANS_BLOCK_SYMBOLS;
        size_t count = n - begin < RANS_BLOCK_SYMBOLS ? n - begin : RANS_BLOCK_SYMBOLS;
        if (rans_decode_block(decoder, src + pos, size, symbols + begin, count) != SARAPHIS_OK) {
            status = error_set(SARAPHIS_ERROR_CORRUPT, "entropy stream: rANS block %zu does not decode to its end state", b);
            break;
        }
        pos += size;
    }
    free(decoder);
    if (status == SARAPHIS_OK) *consumed = pos;
    return status;
}
