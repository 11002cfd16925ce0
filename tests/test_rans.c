/* rANS coder tests: the AVX2 encoder and decoder against the portable reference (identical bytes,
 * identical symbols) on many distributions and lengths, the quotient estimate the AVX2 encoder
 * relies on, normalisation against the original scan, table serialisation, and corrupted blocks
 * decoded without crashing. Without AVX2 (or with SARAPHIS_NO_SIMD=1) the dispatching entry
 * points are the portable ones and the comparisons are trivially true. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/entropy.h"
#include "codec/rans.h"
#include "testing.h"

static unsigned long long rng = 0x2545F4914F6CDD1DULL;

static double uniform01(void) { return (double)(test_random(&rng) >> 11) * (1.0 / 9007199254740992.0); }

enum { KIND_UNIFORM, KIND_SKEWED, KIND_TWO, KIND_DOMINANT, KIND_ALL256, KIND_EXTREME, KIND_COUNT };
static const char *const kind_names[] = {"uniform", "skewed", "two", "dominant", "all256", "extreme"};

/* Fills symbols with one distribution; `alphabet` varies the uniform and skewed ones. */
static void generate(int kind, unsigned alphabet, uint8_t *symbols, size_t n)
{
    unsigned base = (unsigned)(test_random(&rng) % 256);
    double ratio = 0.3 + 0.65 * uniform01();
    for (size_t i = 0; i < n; i++) {
        double u = uniform01();
        switch (kind) {
        case KIND_UNIFORM: symbols[i] = (uint8_t)(base + (unsigned)(u * alphabet)); break;
        case KIND_SKEWED: symbols[i] = (uint8_t)(base + (unsigned)fmin(255, floor(log(u + 1e-300) / log(ratio)))); break;
        case KIND_TWO: symbols[i] = (uint8_t)(u < ratio ? base : base + 77); break;
        case KIND_DOMINANT: symbols[i] = (uint8_t)(u < 0.999 ? base : test_random(&rng)); break;
        case KIND_ALL256: symbols[i] = (uint8_t)(i < 256 ? i : (unsigned)(u * u * 256)); break;
        default: symbols[i] = (uint8_t)(u < 1e-6 ? base + 1 : base); break; /* freq 4095 and 1 */
        }
    }
}

/* A table in which every symbol of the data is present: the data's counts, plus a few random
 * extra symbols so that short or constant inputs still make a valid (two-symbol) table. */
static void table_for(const uint8_t *symbols, size_t n, rans_table_t *table)
{
    uint32_t counts[256] = {0};
    for (size_t i = 0; i < n; i++) counts[symbols[i]]++;
    int extra = 1 + (int)(test_random(&rng) % 3);
    for (int k = 0; k < extra; k++) counts[test_random(&rng) % 256] += 1 + (uint32_t)(test_random(&rng) % 5);
    int present = 0;
    for (int s = 0; s < 256; s++) present += counts[s] != 0;
    if (present < 2) counts[(symbols && n ? symbols[0] : 0) ^ 1]++;
    rans_normalize(counts, table);
}

static rans_encoder_table_t encoder;
static rans_decoder_table_t decoder;
static uint8_t portable_block[RANS_BLOCK_HEADER_BYTES + 2 * RANS_BLOCK_SYMBOLS + 2];
static uint8_t fast_block[RANS_BLOCK_HEADER_BYTES + 2 * RANS_BLOCK_SYMBOLS + 2];
static uint8_t scratch[2 * RANS_BLOCK_SYMBOLS + 2];
static uint8_t decoded_portable[RANS_BLOCK_SYMBOLS], decoded_fast[RANS_BLOCK_SYMBOLS];

/* Encodes one block with both encoders and decodes it with both decoders. */
static void check_block(const uint8_t *symbols, size_t n, const char *label)
{
    rans_table_t table;
    table_for(symbols, n, &table);
    rans_encoder_table_init(&encoder, &table);
    rans_decoder_table_init(&decoder, &table);
    size_t capacity = rans_block_bound(n);
    size_t portable_size = rans_encode_block_portable(&encoder, symbols, n, portable_block, capacity, scratch);
    memset(scratch, 0xa5, sizeof scratch); /* the fast path must not depend on leftovers */
    size_t fast_size = rans_encode_block(&encoder, symbols, n, fast_block, capacity, scratch);
    CHECK_MSG(portable_size > 0 && portable_size == fast_size, "%s n=%zu: sizes %zu vs %zu", label, n, portable_size, fast_size);
    CHECK_MSG(portable_size == fast_size && !memcmp(portable_block, fast_block, portable_size),
              "%s n=%zu: encoders differ", label, n);
    saraphis_status_t a = rans_decode_block_portable(&decoder, portable_block, portable_size, decoded_portable, n);
    saraphis_status_t b = rans_decode_block(&decoder, portable_block, portable_size, decoded_fast, n);
    CHECK_MSG(a == SARAPHIS_OK && b == SARAPHIS_OK, "%s n=%zu: decode status %d %d", label, n, a, b);
    CHECK_MSG(!memcmp(decoded_portable, symbols, n) && !memcmp(decoded_fast, symbols, n), "%s n=%zu: round trip", label, n);
    /* A block too small for its words is refused, not overrun. */
    if (portable_size > RANS_BLOCK_HEADER_BYTES)
        CHECK(rans_encode_block(&encoder, symbols, n, fast_block, portable_size - 1, scratch) == 0);
}

static void test_blocks(void)
{
    static uint8_t symbols[RANS_BLOCK_SYMBOLS];
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        for (size_t n = 0; n <= 70; n++) {
            generate(kind, 2 + (unsigned)(n % 255), symbols, n);
            check_block(symbols, n, kind_names[kind]);
        }
        static const size_t lengths[] = {95, 96, 97, 1000, 4097, 12345, 32735, 32736, 32737, 32766, 32767, 32768};
        for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
            unsigned alphabets[] = {2, 3, 17, 40, 256};
            for (int a = 0; a < 5; a++) {
                generate(kind, alphabets[a], symbols, lengths[k]);
                check_block(symbols, lengths[k], kind_names[kind]);
                if (kind != KIND_UNIFORM && kind != KIND_SKEWED) break;
            }
        }
    }
    /* Alphabets within 8 and within 16 symbols (the AVX2 encoder keeps their parameters in
     * registers), anywhere in the byte range, up to its top. */
    static const unsigned small[] = {2, 5, 8, 9, 12, 16};
    for (size_t a = 0; a < sizeof small / sizeof *small; a++) {
        const unsigned offsets[] = {0, 1, 100, 256 - small[a]};
        for (size_t o = 0; o < 4; o++)
            for (int kind = 0; kind < KIND_COUNT; kind++) {
                size_t n = 1000 + 4097 * (size_t)kind;
                generate(kind, small[a], symbols, n);
                for (size_t i = 0; i < n; i++) symbols[i] = (uint8_t)(symbols[i] % small[a] + offsets[o]);
                check_block(symbols, n, "small alphabet");
            }
    }
    /* Random tables unrelated to the data (only the data's symbols must be present). */
    for (int trial = 0; trial < 200; trial++) {
        size_t n = (size_t)(test_random(&rng) % RANS_BLOCK_SYMBOLS) + 1;
        unsigned alphabet = 1 + (unsigned)(test_random(&rng) % 256);
        generate(KIND_UNIFORM, alphabet, symbols, n);
        for (size_t i = 0; i < n && trial % 2; i++) /* bursts of one symbol */
            if (test_random(&rng) % 64 == 0) memset(symbols + i, symbols[i], n - i < 100 ? n - i : 100);
        check_block(symbols, n, "random");
    }
}

/* The AVX2 encoder's quotient: trunc(float(x >> 1) * scale) must be floor(x / f) or one less for
 * every x < f << 20. Replayed here in scalar float arithmetic (same IEEE single operations). */
static void test_quotient_estimate(void)
{
    rans_table_t table;
    memset(&table, 0, sizeof table);
    int bad = 0;
    for (uint32_t f = 1; f < RANS_PROB_SCALE && bad < 10; f++) {
        table.freq[0] = (uint16_t)f;
        table.freq[1] = (uint16_t)(RANS_PROB_SCALE - f);
        table.cum[1] = (uint16_t)f;
        rans_encoder_table_init(&encoder, &table);
        uint32_t scale_bits = (uint32_t)(encoder.simd_pair[0] >> 32);
        float scale;
        memcpy(&scale, &scale_bits, sizeof scale);
        CHECK((uint32_t)encoder.simd_pair[0] == (f | (RANS_PROB_SCALE - f) << RANS_PROB_BITS));
        uint64_t limit = (uint64_t)f << 20;
        for (int k = 0; k < 600; k++) {
            uint64_t x;
            if (k < 64) x = limit - 1 - (uint64_t)k;
            else if (k < 192) x = (limit / f - (uint64_t)(k - 64) / 2) * f - (uint64_t)(k & 1); /* j f and j f - 1 */
            else if (k < 256) x = (uint64_t)(k - 192) * f + (k & 1);
            else x = test_random(&rng) % limit;
            float estimate = (float)(int32_t)(uint32_t)(x >> 1) * scale;
            int64_t q = (int64_t)estimate, exact = (int64_t)(x / f);
            if (q != exact && q != exact - 1) {
                if (bad++ < 10) fprintf(stderr, "quotient estimate: f=%u x=%llu q=%lld exact=%lld\n", f, (unsigned long long)x, (long long)q, (long long)exact);
            }
        }
    }
    CHECK(bad == 0);
}

/* The normalisation rule as first written (a full scan per adjusted slot): the tournament tree in
 * rans_normalize must give the same table. */
static void reference_normalize(const uint32_t counts[256], rans_table_t *table)
{
    uint64_t total = 0;
    for (int s = 0; s < 256; s++) total += counts[s];
    int64_t assigned = 0;
    for (int s = 0; s < 256; s++) {
        uint32_t f = 0;
        if (counts[s]) {
            f = (uint32_t)(((uint64_t)counts[s] * RANS_PROB_SCALE + total / 2) / total);
            if (f == 0) f = 1;
        }
        table->freq[s] = (uint16_t)f;
        assigned += f;
    }
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

/* The first and last symbols present in counts (at least one is). */
static void present_range(const uint32_t counts[256], int *first, int *last)
{
    *first = 0;
    *last = 255;
    while (!counts[*first]) ++*first;
    while (!counts[*last]) --*last;
}

static void test_normalize(void)
{
    int mismatches = 0;
    for (int trial = 0; trial < 3000; trial++) {
        uint32_t counts[256] = {0};
        int shape = trial % 7;
        int present = 2 + (int)(test_random(&rng) % 255);
        /* Shape 6: a narrow window of symbols anywhere, as a float chunk's exponents are. */
        const int window = 2 + (int)(test_random(&rng) % 40), window_low = (int)(test_random(&rng) % (uint64_t)(257 - window));
        for (int k = 0; k < present; k++) {
            int s = (int)(shape == 6 ? window_low + test_random(&rng) % (uint64_t)window : test_random(&rng) % 256);
            switch (shape) {
            case 0: counts[s] += 1 + (uint32_t)(test_random(&rng) % 1000); break;
            case 1: counts[s] += 1; break;                                   /* many ties */
            case 2: counts[s] += k == 0 ? 5000000 : 1; break;                /* many rounded up to 1 */
            case 3: counts[s] += (uint32_t)(1u << (test_random(&rng) % 24)); break;
            case 4: counts[s] += 7; break;
            case 6: counts[s] += 1 + (uint32_t)(test_random(&rng) % 20000); break;
            default: counts[s] += (uint32_t)(test_random(&rng) % 3 + 1) * 1000; break;
            }
        }
        present = 0;
        for (int s = 0; s < 256; s++) present += counts[s] != 0;
        if (present < 2) { counts[0] += 3; counts[255] += 1; }
        rans_table_t fast, reference, ranged;
        rans_normalize(counts, &fast);
        reference_normalize(counts, &reference);
        if (memcmp(fast.freq, reference.freq, sizeof fast.freq) || memcmp(fast.cum, reference.cum, sizeof fast.cum)) mismatches++;
        /* The range form, given the first and last present symbols, over a table left dirty. */
        int first, last;
        present_range(counts, &first, &last);
        memset(&ranged, 0xa5, sizeof ranged);
        rans_normalize_range(counts, first, last, &ranged);
        if (memcmp(ranged.freq, reference.freq, sizeof ranged.freq) || memcmp(ranged.cum, reference.cum, sizeof ranged.cum)) mismatches++;
        uint32_t sum = 0;
        int ok = 1;
        for (int s = 0; s < 256; s++) {
            sum += fast.freq[s];
            if ((counts[s] != 0) != (fast.freq[s] != 0)) ok = 0;
        }
        CHECK(ok && sum == RANS_PROB_SCALE && fast.cum[256] == RANS_PROB_SCALE);
        /* Cost within the entropy plus the quantisation's small overhead. */
        double total = 0, entropy = 0;
        for (int s = 0; s < 256; s++) total += counts[s];
        for (int s = 0; s < 256; s++)
            if (counts[s]) entropy -= counts[s] * log2(counts[s] / total);
        double cost = rans_cost_bits(counts, &fast);
        CHECK(cost >= entropy - 1e-6 * total);
    }
    CHECK_MSG(mismatches == 0, "%d normalisations differ from the reference scan", mismatches);
}

static void test_table_serialisation(void)
{
    uint8_t bytes[2 + 2 * 256];
    for (int trial = 0; trial < 500; trial++) {
        uint32_t counts[256] = {0};
        int present = 2 + (int)(test_random(&rng) % 255);
        for (int k = 0; k < present; k++) counts[test_random(&rng) % 256] += 1 + (uint32_t)(test_random(&rng) % (trial % 2 ? 100000 : 10));
        int distinct = 0;
        for (int s = 0; s < 256; s++) distinct += counts[s] != 0;
        if (distinct < 2) counts[(test_random(&rng) % 255) + 1] = counts[0] = 1;
        rans_table_t table, parsed;
        rans_normalize(counts, &table);
        size_t written = rans_table_write(&table, bytes, sizeof bytes);
        CHECK(written >= 2);
        CHECK(rans_table_read(&parsed, bytes, written) == written);
        CHECK(!memcmp(table.freq, parsed.freq, sizeof table.freq) && !memcmp(table.cum, parsed.cum, sizeof table.cum));
        /* Every strict prefix is refused, and so is a too-small output buffer. */
        for (size_t cut = 0; cut < written; cut += 1 + written / 16) CHECK(rans_table_read(&parsed, bytes, cut) == 0);
        CHECK(rans_table_write(&table, bytes, written - 1) == 0);
        /* The range form, given the present symbols' range, writes the same bytes. */
        int first, last;
        present_range(counts, &first, &last);
        uint8_t ranged[sizeof bytes];
        CHECK(rans_table_write_range(&table, first, last, ranged, sizeof ranged) == written && !memcmp(ranged, bytes, written));
    }
    rans_table_t parsed;
    /* first > last */
    const uint8_t reversed[] = {5, 4, 0x80, 0x10};
    CHECK(rans_table_read(&parsed, reversed, sizeof reversed) == 0);
    /* one symbol only, even with the right sum */
    const uint8_t single[] = {3, 3, 0x80, 0x20};
    CHECK(rans_table_read(&parsed, single, sizeof single) == 0);
    /* wrong sum */
    const uint8_t short_sum[] = {0, 1, 0x80, 0x10, 1};
    CHECK(rans_table_read(&parsed, short_sum, sizeof short_sum) == 0);
    /* a frequency of RANS_PROB_SCALE (and a zero) */
    const uint8_t whole[] = {0, 1, 0x80, 0x20, 0};
    CHECK(rans_table_read(&parsed, whole, sizeof whole) == 0);
    /* a valid two-symbol table: 2048 + 2048 */
    const uint8_t valid[] = {10, 11, 0x80, 0x10, 0x80, 0x10};
    CHECK(rans_table_read(&parsed, valid, sizeof valid) == sizeof valid);
    CHECK(parsed.freq[10] == 2048 && parsed.freq[11] == 2048 && parsed.cum[11] == 2048 && parsed.cum[256] == 4096);
    /* overlong varint second byte pushing past the scale */
    const uint8_t huge[] = {0, 1, 0xff, 0xff, 1};
    CHECK(rans_table_read(&parsed, huge, sizeof huge) == 0);
    /* random bytes: never accepted unless they really are a table */
    for (int trial = 0; trial < 20000; trial++) {
        uint8_t noise[64];
        size_t size = (size_t)(test_random(&rng) % sizeof noise);
        for (size_t i = 0; i < size; i++) noise[i] = (uint8_t)test_random(&rng);
        if (size >= 2 && trial % 2) noise[1] = (uint8_t)(noise[0] + noise[1] % 8);
        size_t used = rans_table_read(&parsed, noise, size);
        if (used) {
            uint32_t sum = 0, present = 0;
            for (int s = 0; s < 256; s++) { sum += parsed.freq[s]; present += parsed.freq[s] != 0; }
            CHECK(used <= size && sum == RANS_PROB_SCALE && present >= 2);
        }
    }
}

/* Corrupted blocks: both decoders return the same status, never crash, and agree on the symbols
 * whenever they accept. */
static void test_corrupted_blocks(void)
{
    static uint8_t symbols[RANS_BLOCK_SYMBOLS];
    static uint8_t damaged[sizeof portable_block + 64];
    int accepted = 0;
    for (int trial = 0; trial < 400; trial++) {
        size_t n = trial % 4 == 0 ? (size_t)(test_random(&rng) % 100) : (size_t)(test_random(&rng) % RANS_BLOCK_SYMBOLS) + 1;
        generate(trial % KIND_COUNT, 2 + (unsigned)(test_random(&rng) % 60), symbols, n);
        rans_table_t table;
        table_for(symbols, n, &table);
        rans_encoder_table_init(&encoder, &table);
        rans_decoder_table_init(&decoder, &table);
        size_t size = rans_encode_block_portable(&encoder, symbols, n, portable_block, sizeof portable_block, scratch);
        CHECK(size > 0);
        /* Decode into an exactly sized heap copy, so ASan sees any read past its end. */
        size_t damaged_size = size;
        memcpy(damaged, portable_block, size);
        switch (trial % 5) {
        case 0: damaged[test_random(&rng) % size] ^= (uint8_t)(1 + test_random(&rng) % 255); break;
        case 1: damaged_size = (size_t)(test_random(&rng) % (size + 1)); break;
        case 2: for (int k = 0; k < 8; k++) damaged[test_random(&rng) % size] = (uint8_t)test_random(&rng); break;
        case 3: for (size_t i = RANS_BLOCK_HEADER_BYTES; i < size; i++) damaged[i] = (uint8_t)test_random(&rng); break;
        default: {
            size_t grow = 2 * (1 + (size_t)(test_random(&rng) % 16));
            for (size_t i = 0; i < grow; i++) damaged[size + i] = (uint8_t)test_random(&rng);
            damaged_size = size + grow;
        }
        }
        uint8_t *heap = malloc(damaged_size ? damaged_size : 1);
        memcpy(heap, damaged, damaged_size);
        size_t decode_n = trial % 7 == 0 ? n / 2 : n;
        saraphis_status_t a = rans_decode_block_portable(&decoder, heap, damaged_size, decoded_portable, decode_n);
        saraphis_status_t b = rans_decode_block(&decoder, heap, damaged_size, decoded_fast, decode_n);
        CHECK(a == SARAPHIS_OK || a == SARAPHIS_ERROR_CORRUPT);
        CHECK_MSG(a == b, "trial %d: portable %d, fast %d", trial, a, b);
        if (a == SARAPHIS_OK && b == SARAPHIS_OK) {
            accepted++;
            CHECK(!memcmp(decoded_portable, decoded_fast, decode_n));
        }
        free(heap);
    }
    CHECK(accepted < 400);
}

/* Whole entropy streams: lengths across block boundaries, and the stream-level decoder. */
static void test_streams(void)
{
    static const size_t lengths[] = {0, 1, 31, 32, 33, 63, 64, 65, 100, 1023, 32767, 32768, 32769,
                                     65535, 65536, 65537, 100003, 131072};
    size_t max = 131072;
    uint8_t *symbols = malloc(max), *stream = malloc(entropy_bound(max)), *decoded = malloc(max);
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
            size_t n = lengths[k], written = 0, consumed = 0;
            generate(kind, 23, symbols, n);
            CHECK(entropy_encode(symbols, n, stream, entropy_bound(n), &written) == SARAPHIS_OK);
            CHECK(written <= entropy_bound(n));
            memset(decoded, 0, n);
            CHECK(entropy_decode(stream, written, decoded, n, &consumed) == SARAPHIS_OK);
            CHECK_MSG(consumed == written && !memcmp(decoded, symbols, n), "%s n=%zu: stream round trip", kind_names[kind], n);
            /* The encoder picks rANS (under one byte a symbol) for compressible data of some size. */
            if (n >= 4096 && kind != KIND_ALL256 && kind != KIND_UNIFORM) CHECK(written < n);
            /* Damaged streams fail cleanly. */
            if (written > 8) {
                stream[written / 2] ^= 0x40;
                saraphis_status_t status = entropy_decode(stream, written, decoded, n, &consumed);
                CHECK(status == SARAPHIS_OK || status == SARAPHIS_ERROR_CORRUPT || status == SARAPHIS_ERROR_TRUNCATED);
                CHECK(entropy_decode(stream, written / 3, decoded, n, &consumed) != SARAPHIS_OK || stream[0] != 1);
            }
        }
    }
    free(symbols); free(stream); free(decoded);
}

/* The minimum gain: uniform symbols over 240 values save about 1.2% under rANS (table and block
 * headers paid), which any-gain coding takes and the lossless codec's 1/64 rule leaves raw; over 224
 * values (about 2.4%) both take rANS. Every stream round-trips. */
static void test_min_gain(void)
{
    const size_t n = 1u << 20;
    uint8_t *symbols = malloc(n), *stream = malloc(entropy_bound(n)), *decoded = malloc(n);
    static const struct { unsigned alphabet; int any_gain_mode, lossless_mode; } cases[] = {
        {240, ENTROPY_RANS, ENTROPY_RAW}, {224, ENTROPY_RANS, ENTROPY_RANS}, {256, ENTROPY_RAW, ENTROPY_RAW}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint64_t state = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i < n; i++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            symbols[i] = (uint8_t)((state >> 33) % cases[c].alphabet);
        }
        for (int rule = 0; rule < 2; rule++) {
            size_t written = 0, consumed = 0;
            saraphis_status_t status = rule == 0 ? entropy_encode(symbols, n, stream, entropy_bound(n), &written)
                                                 : entropy_encode_min_gain(symbols, n, entropy_lossless_min_gain(n), stream,
                                                                           entropy_bound(n), &written);
            CHECK(status == SARAPHIS_OK);
            CHECK_MSG(stream[0] == (rule == 0 ? cases[c].any_gain_mode : cases[c].lossless_mode),
                      "alphabet %u, %s: mode %u", cases[c].alphabet, rule == 0 ? "any gain" : "lossless min gain", stream[0]);
            CHECK(entropy_decode(stream, written, decoded, n, &consumed) == SARAPHIS_OK && consumed == written);
            CHECK(!memcmp(decoded, symbols, n));
        }
    }
    free(symbols); free(stream); free(decoded);
}

int main(void)
{
    printf("test_rans: AVX2 path %s\n", rans_have_avx2() ? "on (compared with portable)" : "off (portable only)");
    test_quotient_estimate();
    test_normalize();
    test_table_serialisation();
    test_blocks();
    test_corrupted_blocks();
    test_streams();
    test_min_gain();
    return TEST_SUMMARY("test_rans");
}
