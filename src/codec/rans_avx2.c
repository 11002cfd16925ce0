/* AVX2 variants of the rANS block coder's inner loops: eight lanes per register, four registers
 * per group of RANS_LANES, states held in registers across the whole block.
 *
 * Decoder: lanes read their refill words in lane order, exactly as the portable loop and a CUDA
 * warp do: a movemask of the lanes that need a word, a prefix-count permutation from a 256-entry
 * table, one 16-byte load.
 *
 * Encoder: the mirror image. The portable encoder visits lanes 31 down to 0 writing words
 * downward, so each register's shedding lanes (those whose state is >= freq << 20) leave their low
 * 16 bits just below the cursor in ascending lane order: a movemask, a byte shuffle from a
 * 256-entry table that packs those words at the top of a 16-byte vector, one store ending at the
 * cursor (what it writes below the new cursor is overwritten later; the scratch always has room).
 * The quotient floor(x / freq) (< 2^20 after shedding) comes from a float estimate that is exact
 * or one too small, then is corrected exactly with the remainder. Parameters come from plain
 * 64-bit loads, not gathers (slow on AMD Zen 2/3), or for an alphabet within 16 symbols (a
 * skewed digit plane) from permutes of registers.
 *
 * The portable coder (rans.c) is the reference and the format's definition; this file must give
 * identical bytes, symbols and states, which tests/test_rans.c checks. */
#include "codec/rans.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include <pthread.h>
#include <stdlib.h>

#include "common/bits.h"

/* SARAPHIS_NO_SIMD=1 forces the portable path (for comparisons and debugging). */
static int getenv_disable_simd(void)
{
    const char *value = getenv("SARAPHIS_NO_SIMD");
    return value && value[0] && value[0] != '0';
}

#define SPS_AVX2 __attribute__((target("avx2,bmi2,popcnt")))

/* refill_permute[mask][lane] = how many lanes below `lane` take a word in that mask. */
static uint32_t refill_permute[256][8] __attribute__((aligned(32)));
/* shed_shuffle[mask]: byte shuffle that moves the 16-bit words of the lanes set in mask, in lane
 * order, to the top popcount(mask) words of a 16-byte vector. */
static uint8_t shed_shuffle[256][16] __attribute__((aligned(16)));
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (unsigned mask = 0; mask < 256; mask++) {
        unsigned below = 0;
        for (unsigned lane = 0; lane < 8; lane++) {
            refill_permute[mask][lane] = (mask >> lane) & 1 ? below : 0;
            below += (mask >> lane) & 1;
        }
        unsigned slot = 8 - below;
        for (unsigned byte = 0; byte < 16; byte++) shed_shuffle[mask][byte] = 0x80;
        for (unsigned lane = 0; lane < 8; lane++) {
            if (!((mask >> lane) & 1)) continue;
            shed_shuffle[mask][2 * slot] = (uint8_t)(2 * lane);
            shed_shuffle[mask][2 * slot + 1] = (uint8_t)(2 * lane + 1);
            slot++;
        }
    }
}

/* An alphabet of at most eight present symbols, held in registers: the first slot of each present
 * symbol after the first (bounds; unused ones RANS_PROB_SCALE, which no slot reaches), and each
 * one's symbol, frequency and first slot, in slot order. A slot's symbol is the number of bounds
 * at or below it: `count - 1` compares replace the eight table loads. */
typedef struct {
    __m256i bounds[7];
    __m256i symbols, freqs, cums;
} small_decoder_t;

SPS_AVX2 static inline __attribute__((always_inline)) __m256i
decode_step_small(__m256i x, const small_decoder_t *alphabet, const unsigned compares, const uint8_t **words,
                  __m256i *entries)
{
    const __m256i slot_mask = _mm256_set1_epi32(RANS_PROB_SCALE - 1);
    __m256i slot = _mm256_and_si256(x, slot_mask), index = _mm256_setzero_si256();
    for (unsigned b = 0; b < compares; b++) index = _mm256_sub_epi32(index, _mm256_cmpgt_epi32(slot, alphabet->bounds[b]));
    *entries = _mm256_permutevar8x32_epi32(alphabet->symbols, index);
    __m256i freq = _mm256_permutevar8x32_epi32(alphabet->freqs, index);
    __m256i bias = _mm256_sub_epi32(slot, _mm256_permutevar8x32_epi32(alphabet->cums, index));
    x = _mm256_add_epi32(_mm256_mullo_epi32(freq, _mm256_srli_epi32(x, RANS_PROB_BITS)), bias);
    __m256i need = _mm256_cmpeq_epi32(_mm256_srli_epi32(x, 16), _mm256_setzero_si256());
    unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(need));
    __m256i fresh = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)*words));
    fresh = _mm256_permutevar8x32_epi32(fresh, _mm256_load_si256((const __m256i *)(const void *)refill_permute[mask]));
    __m256i refilled = _mm256_or_si256(_mm256_slli_epi32(x, 16), fresh);
    *words += 2 * (unsigned)__builtin_popcount(mask);
    return _mm256_blendv_epi8(x, refilled, need);
}

SPS_AVX2 static inline __m256i decode_step(__m256i x, const uint32_t *slots, const uint8_t **words, __m256i *entries)
{
    const __m256i slot_mask = _mm256_set1_epi32(RANS_PROB_SCALE - 1);
#ifdef SARAPHIS_RANS_GATHER
    __m256i entry = _mm256_i32gather_epi32((const int *)slots, _mm256_and_si256(x, slot_mask), 4);
#else
    /* Eight plain loads beat vpgatherdd on AMD cores (and match it on Intel). */
    uint32_t index[8] __attribute__((aligned(32)));
    _mm256_store_si256((__m256i *)(void *)index, _mm256_and_si256(x, slot_mask));
    __m256i entry = _mm256_setr_epi32((int)slots[index[0]], (int)slots[index[1]], (int)slots[index[2]], (int)slots[index[3]],
                                      (int)slots[index[4]], (int)slots[index[5]], (int)slots[index[6]], (int)slots[index[7]]);
#endif
    *entries = entry;
    __m256i freq = _mm256_and_si256(_mm256_srli_epi32(entry, 8), slot_mask);
    __m256i bias = _mm256_srli_epi32(entry, 20);
    x = _mm256_add_epi32(_mm256_mullo_epi32(freq, _mm256_srli_epi32(x, RANS_PROB_BITS)), bias);
    __m256i need = _mm256_cmpeq_epi32(_mm256_srli_epi32(x, 16), _mm256_setzero_si256());
    unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(need));
    __m256i fresh = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)*words));
    fresh = _mm256_permutevar8x32_epi32(fresh, _mm256_load_si256((const __m256i *)(const void *)refill_permute[mask]));
    __m256i refilled = _mm256_or_si256(_mm256_slli_epi32(x, 16), fresh);
    *words += 2 * (unsigned)__builtin_popcount(mask);
    return _mm256_blendv_epi8(x, refilled, need);
}

/* The group loop: `compares` 0 decodes through the slot table, 3 or 7 through small_decoder_t. */
SPS_AVX2 static inline __attribute__((always_inline)) size_t
decode_groups(const uint32_t *slots, const small_decoder_t *alphabet, const unsigned compares, uint32_t state[RANS_LANES],
              const uint8_t **words_io, const uint8_t *words_end, uint8_t *symbols, size_t n)
{
    __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)(state + 0));
    __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(state + 8));
    __m256i x2 = _mm256_loadu_si256((const __m256i *)(const void *)(state + 16));
    __m256i x3 = _mm256_loadu_si256((const __m256i *)(const void *)(state + 24));
    const uint8_t *words = *words_io;
    const __m256i byte_mask = _mm256_set1_epi32(0xff);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t i = 0;
    while (i + RANS_LANES <= n && (size_t)(words_end - words) >= 2 * RANS_LANES) {
        __m256i e0, e1, e2, e3;
        if (compares) {
            x0 = decode_step_small(x0, alphabet, compares, &words, &e0);
            x1 = decode_step_small(x1, alphabet, compares, &words, &e1);
            x2 = decode_step_small(x2, alphabet, compares, &words, &e2);
            x3 = decode_step_small(x3, alphabet, compares, &words, &e3);
        } else {
            x0 = decode_step(x0, slots, &words, &e0);
            x1 = decode_step(x1, slots, &words, &e1);
            x2 = decode_step(x2, slots, &words, &e2);
            x3 = decode_step(x3, slots, &words, &e3);
        }
        __m256i p01 = _mm256_packus_epi32(_mm256_and_si256(e0, byte_mask), _mm256_and_si256(e1, byte_mask));
        __m256i p23 = _mm256_packus_epi32(_mm256_and_si256(e2, byte_mask), _mm256_and_si256(e3, byte_mask));
        __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(p01, p23), order);
        _mm256_storeu_si256((__m256i *)(void *)(symbols + i), bytes);
        i += RANS_LANES;
    }
    _mm256_storeu_si256((__m256i *)(void *)(state + 0), x0);
    _mm256_storeu_si256((__m256i *)(void *)(state + 8), x1);
    _mm256_storeu_si256((__m256i *)(void *)(state + 16), x2);
    _mm256_storeu_si256((__m256i *)(void *)(state + 24), x3);
    *words_io = words;
    return i;
}

/* Decodes whole groups while at least 2 * RANS_LANES word bytes remain (so every 16-byte load
 * stays inside the block). Returns the number of symbols decoded; states are updated. */
SPS_AVX2 size_t rans_decode_groups_avx2(const uint32_t *slots, uint32_t state[RANS_LANES], const uint8_t **words_io,
                                        const uint8_t *words_end, uint8_t *symbols, size_t n)
{
    pthread_once(&tables_once, build_tables);
    /* The present symbols, walking the table from slot 0 a symbol's frequency at a time (each
     * entry: symbol | freq << 8 | (slot - cum) << 20; the first slot of a symbol has bias 0). */
    uint32_t bounds[8], present[8], freqs[8], cums[8];
    unsigned count = 0;
    for (uint32_t slot = 0; slot < RANS_PROB_SCALE && count <= 8; count++) {
        uint32_t entry = slots[slot], freq = (entry >> 8) & (RANS_PROB_SCALE - 1);
        if (count < 8) {
            present[count] = entry & 0xff;
            freqs[count] = freq;
            cums[count] = slot;
        }
        slot += freq ? freq : RANS_PROB_SCALE;
    }
    if (count > 8) return decode_groups(slots, NULL, 0, state, words_io, words_end, symbols, n);
    small_decoder_t alphabet;
    for (unsigned k = 0; k < 8; k++) {
        if (k >= count) {
            present[k] = freqs[k] = cums[k] = 0;
        }
        bounds[k] = k + 1 < count ? cums[k + 1] - 1 : RANS_PROB_SCALE; /* slot > bound: past symbol k */
    }
    for (unsigned b = 0; b < 7; b++) alphabet.bounds[b] = _mm256_set1_epi32((int)bounds[b]);
    alphabet.symbols = _mm256_loadu_si256((const __m256i *)(const void *)present);
    alphabet.freqs = _mm256_loadu_si256((const __m256i *)(const void *)freqs);
    alphabet.cums = _mm256_loadu_si256((const __m256i *)(const void *)cums);
    if (count <= 4) return decode_groups(slots, &alphabet, 3, state, words_io, words_end, symbols, n);
    return decode_groups(slots, &alphabet, 7, state, words_io, words_end, symbols, n);
}

/* Eight lanes' parameters from the 64-bit table: pairs for lanes 0, 1, 4, 5 in one register and
 * 2, 3, 6, 7 in the other, so that one shuffle_ps each gives the eight entries and the eight
 * scales in lane order. Each pair is loaded broadcast and the registers are put together by
 * blends, which every vector pipe executes, rather than by shuffles, which only two do. (vpgatherdd
 * would do it in one instruction, but on Zen 3 a gather costs more than the eight plain loads.) */
SPS_AVX2 static inline void load_parameters(const uint64_t *pairs, const uint8_t *symbols, __m256i *entry,
                                            __m256 *scale)
{
    uint64_t v = load_le64(symbols);
#define PAIR(lane) _mm256_set1_epi64x((long long)pairs[(v >> (8 * (lane))) & 0xff])
    __m256i p01 = _mm256_blend_epi32(PAIR(0), PAIR(1), 0xcc), p45 = _mm256_blend_epi32(PAIR(4), PAIR(5), 0xcc);
    __m256i p23 = _mm256_blend_epi32(PAIR(2), PAIR(3), 0xcc), p67 = _mm256_blend_epi32(PAIR(6), PAIR(7), 0xcc);
#undef PAIR
    __m256 a = _mm256_castsi256_ps(_mm256_blend_epi32(p01, p45, 0xf0));
    __m256 b = _mm256_castsi256_ps(_mm256_blend_epi32(p23, p67, 0xf0));
    *entry = _mm256_castps_si256(_mm256_shuffle_ps(a, b, 0x88));
    *scale = _mm256_shuffle_ps(a, b, 0xdd);
}

/* Parameters of an alphabet within 16 symbols of `first`, held in registers: table[0] and
 * table[1] the entries of symbols first .. first + 7 and first + 8 .. first + 15, scales[0] and
 * scales[1] their scales. Two permutes (one when `wide` is false) replace the eight loads. */
typedef struct {
    __m256i entries[2];
    __m256 scales[2];
    __m256i first;
} small_alphabet_t;

SPS_AVX2 static inline void small_parameters(const small_alphabet_t *alphabet, const uint8_t *symbols, const int wide,
                                             __m256i *entry, __m256 *scale)
{
    __m256i index = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)symbols)), alphabet->first);
    *entry = _mm256_permutevar8x32_epi32(alphabet->entries[0], index);
    *scale = _mm256_permutevar8x32_ps(alphabet->scales[0], index);
    if (wide) {
        __m256i upper = _mm256_cmpgt_epi32(index, _mm256_set1_epi32(7));
        *entry = _mm256_blendv_epi8(*entry, _mm256_permutevar8x32_epi32(alphabet->entries[1], index), upper);
        *scale = _mm256_blendv_ps(*scale, _mm256_permutevar8x32_ps(alphabet->scales[1], index), _mm256_castsi256_ps(upper));
    }
}

/* One register of eight lanes: shed words where needed, then x = (x / f) << 12 + x % f + cum.
 * `alphabet` (a constant in each caller) says where the parameters come from. */
SPS_AVX2 static inline __attribute__((always_inline)) __m256i
encode_step(__m256i x, const uint64_t *pairs, const small_alphabet_t *alphabet, const int mode, const uint8_t *symbols,
            uint16_t **words)
{
    __m256i entry;
    __m256 scale;
    if (mode == 0) load_parameters(pairs, symbols, &entry, &scale);
    else small_parameters(alphabet, symbols, mode == 2, &entry, &scale);
    __m256i freq = _mm256_and_si256(entry, _mm256_set1_epi32(RANS_PROB_SCALE - 1));
    __m256i offset = _mm256_srli_epi32(entry, RANS_PROB_BITS); /* cum + RANS_PROB_SCALE - freq */
    /* A lane keeps its state when x < freq << 20, i.e. x >> 20 < freq; the others shed. */
    __m256i keep = _mm256_cmpgt_epi32(freq, _mm256_srli_epi32(x, 32 - RANS_PROB_BITS));
    unsigned shed = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(keep)) ^ 0xffu;
    __m256i low16 = _mm256_and_si256(x, _mm256_set1_epi32(0xffff));
    __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(low16), _mm256_extracti128_si256(low16, 1));
    packed = _mm_shuffle_epi8(packed, _mm_load_si128((const __m128i *)(const void *)shed_shuffle[shed]));
    _mm_storeu_si128((__m128i *)(void *)(*words - 8), packed);
    *words -= __builtin_popcount(shed);
    x = _mm256_srlv_epi32(x, _mm256_andnot_si256(keep, _mm256_set1_epi32(16)));
    /* x < freq << 20 now. The estimate (see rans_encoder_table_init) truncates to q = floor(x / f)
     * or q - 1; r = x - q f is in [0, 2 f). Assume q - 1 (so add one to q and take f off r, the
     * "+ RANS_PROB_SCALE - freq" in offset) and undo that where r < f. */
    __m256i quotient = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(x, 1)), scale));
    __m256i remainder = _mm256_sub_epi32(x, _mm256_mullo_epi32(quotient, freq));
    __m256i in_range = _mm256_cmpgt_epi32(freq, remainder);
    quotient = _mm256_add_epi32(quotient, in_range);
    remainder = _mm256_add_epi32(remainder, _mm256_and_si256(freq, in_range));
    return _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(quotient, RANS_PROB_BITS), remainder), offset);
}

/* The group loop, with the parameters' source fixed: 0 table loads, 1 one permute (an alphabet
 * within 8 symbols), 2 two permutes (within 16). */
SPS_AVX2 static inline __attribute__((always_inline)) uint16_t *
encode_groups(const uint64_t *pairs, const small_alphabet_t *alphabet, const int mode, const uint8_t *symbols,
              size_t group_count, uint32_t state[RANS_LANES], uint16_t *words)
{
    __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)(state + 0));
    __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(state + 8));
    __m256i x2 = _mm256_loadu_si256((const __m256i *)(const void *)(state + 16));
    __m256i x3 = _mm256_loadu_si256((const __m256i *)(const void *)(state + 24));
    for (size_t group = group_count; group > 0; group--) {
        const uint8_t *group_symbols = symbols + (group - 1) * RANS_LANES;
        x3 = encode_step(x3, pairs, alphabet, mode, group_symbols + 24, &words);
        x2 = encode_step(x2, pairs, alphabet, mode, group_symbols + 16, &words);
        x1 = encode_step(x1, pairs, alphabet, mode, group_symbols + 8, &words);
        x0 = encode_step(x0, pairs, alphabet, mode, group_symbols + 0, &words);
    }
    _mm256_storeu_si256((__m256i *)(void *)(state + 0), x0);
    _mm256_storeu_si256((__m256i *)(void *)(state + 8), x1);
    _mm256_storeu_si256((__m256i *)(void *)(state + 16), x2);
    _mm256_storeu_si256((__m256i *)(void *)(state + 24), x3);
    return words;
}

SPS_AVX2 uint16_t *rans_encode_groups_avx2(const rans_encoder_table_t *encoder, const uint8_t *symbols,
                                           size_t group_count, uint32_t state[RANS_LANES], uint16_t *words)
{
    pthread_once(&tables_once, build_tables);
    const uint64_t *pairs = encoder->simd_pair;
    /* Present symbols have non-zero entries (their frequency is at least 1). */
    int first = 0, last = 255;
    while (first < 256 && !pairs[first]) first++;
    while (last > first && !pairs[last]) last--;
    if (first == 256 || last - first >= 16) return encode_groups(pairs, NULL, 0, symbols, group_count, state, words);
    small_alphabet_t alphabet;
    uint32_t entries[16], scales[16];
    for (int k = 0; k < 16; k++) {
        uint64_t pair = first + k < 256 ? pairs[first + k] : 0;
        entries[k] = (uint32_t)pair;
        scales[k] = (uint32_t)(pair >> 32);
    }
    alphabet.entries[0] = _mm256_loadu_si256((const __m256i *)(const void *)entries);
    alphabet.entries[1] = _mm256_loadu_si256((const __m256i *)(const void *)(entries + 8));
    alphabet.scales[0] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(const void *)scales));
    alphabet.scales[1] = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(const void *)(scales + 8)));
    alphabet.first = _mm256_set1_epi32(first);
    if (last - first < 8) return encode_groups(pairs, &alphabet, 1, symbols, group_count, state, words);
    return encode_groups(pairs, &alphabet, 2, symbols, group_count, state, words);
}

/* Decided once per process; pthread_once makes the first call from several threads safe. */
static int have_avx2;
static pthread_once_t have_avx2_once = PTHREAD_ONCE_INIT;

static void detect_avx2(void)
{
    __builtin_cpu_init();
    have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && !getenv_disable_simd();
}

int rans_have_avx2(void)
{
    pthread_once(&have_avx2_once, detect_avx2);
    return have_avx2;
}
#else
int rans_have_avx2(void) { return 0; }
size_t rans_decode_groups_avx2(const uint32_t *slots, uint32_t state[RANS_LANES], const uint8_t **words_io,
                               const uint8_t *words_end, uint8_t *symbols, size_t n)
{
    return 0;
}
uint16_t *rans_encode_groups_avx2(const rans_encoder_table_t *encoder, const uint8_t *symbols, size_t group_count,
                                  uint32_t state[RANS_LANES], uint16_t *words)
{
    return words;
}
#endif
