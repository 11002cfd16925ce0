/* Checksums (checksum.h): XXH64 (four parallel lanes over 32-byte stripes, then a tail and an
 * avalanche; the constants are the algorithm's published primes) and the NH segment hash,
 * portable and with AVX2, combined into the segmented checksum. */
#include "common/checksum.h"

#include "common/bits.h"

#include <string.h>

static const uint64_t PRIME1 = 0x9E3779B185EBCA87ULL;
static const uint64_t PRIME2 = 0xC2B2AE3D27D4EB4FULL;
static const uint64_t PRIME3 = 0x165667B19E3779F9ULL;
static const uint64_t PRIME4 = 0x85EBCA77C2B2AE63ULL;
static const uint64_t PRIME5 = 0x27D4EB2F165667C5ULL;

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t lane_round(uint64_t acc, uint64_t input)
{
    acc += input * PRIME2;
    acc = rotl64(acc, 31);
    return acc * PRIME1;
}

static inline uint64_t merge_round(uint64_t acc, uint64_t lane)
{
    acc ^= lane_round(0, lane);
    return acc * PRIME1 + PRIME4;
}

/* The last (< 32) bytes and the avalanche, shared by the one-shot and streaming forms. */
static uint64_t finish_tail(uint64_t hash, const uint8_t *p, const uint8_t *end)
{
    while (p + 8 <= end) {
        hash ^= lane_round(0, load_le64(p));
        hash = rotl64(hash, 27) * PRIME1 + PRIME4;
        p += 8;
    }
    if (p + 4 <= end) {
        hash ^= (uint64_t)load_le32(p) * PRIME1;
        hash = rotl64(hash, 23) * PRIME2 + PRIME3;
        p += 4;
    }
    while (p < end) {
        hash ^= (*p) * PRIME5;
        hash = rotl64(hash, 11) * PRIME1;
        p++;
    }
    hash ^= hash >> 33;
    hash *= PRIME2;
    hash ^= hash >> 29;
    hash *= PRIME3;
    hash ^= hash >> 32;
    return hash;
}

uint64_t xxh64(const void *data, size_t size, uint64_t seed)
{
    const uint8_t *p = (const uint8_t *)data;
    const uint8_t *end = p + size;
    uint64_t hash;
    if (size >= 32) {
        uint64_t v1 = seed + PRIME1 + PRIME2, v2 = seed + PRIME2, v3 = seed, v4 = seed - PRIME1;
        const uint8_t *limit = end - 32;
        do {
            v1 = lane_round(v1, load_le64(p));
            v2 = lane_round(v2, load_le64(p + 8));
            v3 = lane_round(v3, load_le64(p + 16));
            v4 = lane_round(v4, load_le64(p + 24));
            p += 32;
        } while (p <= limit);
        hash = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        hash = merge_round(hash, v1);
        hash = merge_round(hash, v2);
        hash = merge_round(hash, v3);
        hash = merge_round(hash, v4);
    } else {
        hash = seed + PRIME5;
    }
    hash += (uint64_t)size;
    return finish_tail(hash, p, end);
}

/* ---- Segment hashes ------------------------------------------------------------------------ */

#include <pthread.h>

uint64_t checksum_segment_hash(const void *data, size_t size)
{
    const uint8_t *p = data;
    uint64_t sum = 0;
    size_t j = 0;
    for (; 8 * j + 8 <= size; j++) {
        uint32_t a = load_le32(p + 8 * j) + checksum_key((uint32_t)(2 * j));
        uint32_t b = load_le32(p + 8 * j + 4) + checksum_key((uint32_t)(2 * j + 1));
        sum += (uint64_t)a * b;
    }
    if (8 * j < size) { /* the last pair, zero-padded */
        uint8_t tail[8] = {0};
        memcpy(tail, p + 8 * j, size - 8 * j);
        uint32_t a = load_le32(tail) + checksum_key((uint32_t)(2 * j));
        uint32_t b = load_le32(tail + 4) + checksum_key((uint32_t)(2 * j + 1));
        sum += (uint64_t)a * b;
    }
    return sum;
}

/* Segment hashes are computed 512 at a time into a fixed buffer and streamed into the digest. */
#define SEGMENT_HASH_STACK 512

typedef void (*segment_hash_fn)(const uint8_t *data, size_t size, uint64_t *hashes, size_t segments);

static void segment_hashes_portable(const uint8_t *data, size_t size, uint64_t *hashes, size_t segments)
{
    for (size_t s = 0; s < segments; s++) {
        size_t begin = s * CHECKSUM_SEGMENT_BYTES;
        size_t length = size - begin < CHECKSUM_SEGMENT_BYTES ? size - begin : CHECKSUM_SEGMENT_BYTES;
        hashes[s] = checksum_segment_hash(data + begin, length);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* The keys of a whole segment (checksum_key), for vector loads. */
static uint32_t segment_keys[CHECKSUM_SEGMENT_BYTES / 4];
static pthread_once_t segment_keys_once = PTHREAD_ONCE_INIT;

static void build_segment_keys(void)
{
    for (uint32_t i = 0; i < CHECKSUM_SEGMENT_BYTES / 4; i++) segment_keys[i] = checksum_key(i);
}

/* Four pairs per 32 bytes: add the keys to all eight words, move each pair's second word down,
 * one 32x32->64 multiply per pair (vpmuludq), sum in four 64-bit lanes. */
__attribute__((target("avx2"))) static void segment_hashes_avx2(const uint8_t *data, size_t size, uint64_t *hashes, size_t segments)
{
    pthread_once(&segment_keys_once, build_segment_keys);
    const size_t full = size / CHECKSUM_SEGMENT_BYTES;
    for (size_t s = 0; s < segments; s++) {
        const uint8_t *p = data + s * CHECKSUM_SEGMENT_BYTES;
        if (s >= full) {
            hashes[s] = checksum_segment_hash(p, size - s * CHECKSUM_SEGMENT_BYTES);
            continue;
        }
        __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
        for (size_t i = 0; i < CHECKSUM_SEGMENT_BYTES; i += 64) {
            __m256i s0 = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(p + i)),
                                          _mm256_loadu_si256((const __m256i *)(segment_keys + i / 4)));
            __m256i s1 = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(p + i + 32)),
                                          _mm256_loadu_si256((const __m256i *)(segment_keys + i / 4 + 8)));
            acc0 = _mm256_add_epi64(acc0, _mm256_mul_epu32(s0, _mm256_srli_epi64(s0, 32)));
            acc1 = _mm256_add_epi64(acc1, _mm256_mul_epu32(s1, _mm256_srli_epi64(s1, 32)));
        }
        __m256i acc = _mm256_add_epi64(acc0, acc1);
        __m128i half = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        hashes[s] = (uint64_t)_mm_cvtsi128_si64(half) + (uint64_t)_mm_extract_epi64(half, 1);
    }
}

static segment_hash_fn segment_hashes_best;
static pthread_once_t segment_hashes_once = PTHREAD_ONCE_INIT;

static void choose_segment_hashes(void)
{
    __builtin_cpu_init();
    segment_hashes_best = __builtin_cpu_supports("avx2") ? segment_hashes_avx2 : segment_hashes_portable;
}

static segment_hash_fn segment_hashes(void)
{
    pthread_once(&segment_hashes_once, choose_segment_hashes);
    return segment_hashes_best;
}
#else
static segment_hash_fn segment_hashes(void) { return segment_hashes_portable; }
#endif

/* Streaming XXH64 over the list of segment hashes, so that any size needs only a fixed buffer:
 * the digest equals xxh64() of the whole list. */
typedef struct {
    uint64_t v[4];
    uint64_t seed;
    uint64_t total;
    uint8_t buffer[32];
    size_t buffered;
} xxh64_stream_t;

static void xxh64_stream_init(xxh64_stream_t *st, uint64_t seed)
{
    st->v[0] = seed + PRIME1 + PRIME2;
    st->v[1] = seed + PRIME2;
    st->v[2] = seed;
    st->v[3] = seed - PRIME1;
    st->seed = seed;
    st->total = 0;
    st->buffered = 0;
}

static void xxh64_stream_update(xxh64_stream_t *st, const uint8_t *p, size_t size)
{
    st->total += size;
    while (size > 0) {
        size_t take = 32 - st->buffered < size ? 32 - st->buffered : size;
        memcpy(st->buffer + st->buffered, p, take);
        st->buffered += take;
        p += take;
        size -= take;
        if (st->buffered == 32) {
            for (int lane = 0; lane < 4; lane++) st->v[lane] = lane_round(st->v[lane], load_le64(st->buffer + 8 * lane));
            st->buffered = 0;
        }
    }
}

static uint64_t xxh64_stream_digest(const xxh64_stream_t *st)
{
    uint64_t hash;
    if (st->total >= 32) {
        hash = rotl64(st->v[0], 1) + rotl64(st->v[1], 7) + rotl64(st->v[2], 12) + rotl64(st->v[3], 18);
        for (int lane = 0; lane < 4; lane++) hash = merge_round(hash, st->v[lane]);
    } else {
        hash = st->seed + PRIME5;
    }
    hash += st->total;
    const uint8_t *p = st->buffer, *end = st->buffer + st->buffered;
    return finish_tail(hash, p, end);
}

static uint64_t segmented(const void *data, size_t size, uint64_t seed, segment_hash_fn fn)
{
    const uint8_t *bytes = data;
    size_t segments = (size + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES;
    xxh64_stream_t stream;
    xxh64_stream_init(&stream, seed ^ ((uint64_t)size * 0x9E3779B97F4A7C15ULL));
    uint64_t hashes[SEGMENT_HASH_STACK];
    for (size_t first = 0; first < segments; first += SEGMENT_HASH_STACK) {
        size_t count = segments - first < SEGMENT_HASH_STACK ? segments - first : SEGMENT_HASH_STACK;
        size_t begin = first * CHECKSUM_SEGMENT_BYTES;
        size_t length = size - begin < count * CHECKSUM_SEGMENT_BYTES ? size - begin : count * CHECKSUM_SEGMENT_BYTES;
        fn(bytes + begin, length, hashes, count);
        for (size_t s = 0; s < count; s++) store_le64(&hashes[s], hashes[s]);
        xxh64_stream_update(&stream, (const uint8_t *)hashes, count * sizeof *hashes);
    }
    return xxh64_stream_digest(&stream);
}

uint64_t checksum64(const void *data, size_t size, uint64_t seed) { return segmented(data, size, seed, segment_hashes()); }

uint64_t checksum64_portable(const void *data, size_t size, uint64_t seed)
{
    return segmented(data, size, seed, segment_hashes_portable);
}
