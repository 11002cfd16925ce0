/* AVX2 variant of the rANS block decoder's fast loop: eight lanes per register, four registers
 * per group of RANS_LANES. Lanes read their refill words in lane order, exactly as the portable
 * loop and a CUDA warp do: a movemask of the lanes that need a word, a prefix-count permutation
 * from a 256-entry table, one 16-byte load. The portable decoder (rans.c) is the reference; this
 * file must produce identical symbols and states, which tests/test_rans.c checks. */
#include "codec/rans.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

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
static int refill_permute_ready;

static void build_refill_permute(void)
{
    for (unsigned mask = 0; mask < 256; mask++) {
        unsigned below = 0;
        for (unsigned lane = 0; lane < 8; lane++) {
            refill_permute[mask][lane] = (mask >> lane) & 1 ? below : 0;
            below += (mask >> lane) & 1;
        }
    }
    __atomic_store_n(&refill_permute_ready, 1, __ATOMIC_RELEASE);
}

SPS_AVX2 static inline __m256i decode_step(__m256i x, const uint32_t *slots, const uint8_t **words, __m256i *entries)
{
    const __m256i slot_mask = _mm256_set1_epi32(RANS_PROB_SCALE - 1);
    __m256i entry = _mm256_i32gather_epi32((const int *)slots, _mm256_and_si256(x, slot_mask), 4);
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

/* Decodes whole groups while at least 2 * RANS_LANES word bytes remain (so every 16-byte load
 * stays inside the block). Returns the number of symbols decoded; states are updated. */
SPS_AVX2 size_t rans_decode_groups_avx2(const uint32_t *slots, uint32_t state[RANS_LANES], const uint8_t **words_io,
                                        const uint8_t *words_end, uint8_t *symbols, size_t n)
{
    if (!__atomic_load_n(&refill_permute_ready, __ATOMIC_ACQUIRE)) build_refill_permute();
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
        x0 = decode_step(x0, slots, &words, &e0);
        x1 = decode_step(x1, slots, &words, &e1);
        x2 = decode_step(x2, slots, &words, &e2);
        x3 = decode_step(x3, slots, &words, &e3);
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

int rans_have_avx2(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && !getenv_disable_simd();
    }
    return cached;
}
#else
int rans_have_avx2(void) { return 0; }
size_t rans_decode_groups_avx2(const uint32_t *slots, uint32_t state[RANS_LANES], const uint8_t **words_io,
                               const uint8_t *words_end, uint8_t *symbols, size_t n)
{
    return 0;
}
#endif
