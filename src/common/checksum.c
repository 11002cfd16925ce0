/* Checksums (checksum.h): XXH64 (four parallel lanes over 32-byte stripes, then a tail and an
 * avalanche; the constants are the algorithm's published primes) and CRC32C, portable and with
 * SSE4.2's crc32 instruction, combined into the segmented checksum. */
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

/* ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) ------------------------------------ */

#include <pthread.h>

static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void build_crc_table(void)
{
    for (uint32_t byte = 0; byte < 256; byte++) {
        uint32_t crc = byte;
        for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
        crc_table[0][byte] = crc;
    }
    for (uint32_t byte = 0; byte < 256; byte++)
        for (int k = 1; k < 8; k++) crc_table[k][byte] = (crc_table[k - 1][byte] >> 8) ^ crc_table[0][crc_table[k - 1][byte] & 0xff];
}

/* Slice-by-8 on a running (pre-inverted) CRC. */
static uint32_t crc32c_update_portable(uint32_t crc, const uint8_t *p, size_t size)
{
    while (size >= 8) {
        uint64_t word = load_le64(p) ^ crc;
        crc = crc_table[7][word & 0xff] ^ crc_table[6][(word >> 8) & 0xff] ^ crc_table[5][(word >> 16) & 0xff] ^
              crc_table[4][(word >> 24) & 0xff] ^ crc_table[3][(word >> 32) & 0xff] ^ crc_table[2][(word >> 40) & 0xff] ^
              crc_table[1][(word >> 48) & 0xff] ^ crc_table[0][word >> 56];
        p += 8;
        size -= 8;
    }
    while (size--) crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

uint32_t crc32c(const void *data, size_t size)
{
    pthread_once(&crc_table_once, build_crc_table);
    return ~crc32c_update_portable(0xFFFFFFFFu, data, size);
}

/* Segment CRCs are computed 512 at a time into a fixed buffer and streamed into the digest. */
#define SEGMENT_CRC_STACK 512

typedef void (*segment_crc_fn)(const uint8_t *data, size_t size, uint32_t *crcs, size_t segments);

static void segment_crcs_portable(const uint8_t *data, size_t size, uint32_t *crcs, size_t segments)
{
    pthread_once(&crc_table_once, build_crc_table);
    for (size_t s = 0; s < segments; s++) {
        size_t begin = s * CHECKSUM_SEGMENT_BYTES;
        size_t length = size - begin < CHECKSUM_SEGMENT_BYTES ? size - begin : CHECKSUM_SEGMENT_BYTES;
        crcs[s] = ~crc32c_update_portable(0xFFFFFFFFu, data + begin, length);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

/* Four segments at a time: four independent crc32 chains hide the instruction's latency. */
__attribute__((target("sse4.2"))) static void segment_crcs_sse42(const uint8_t *data, size_t size, uint32_t *crcs,
                                                                  size_t segments)
{
    size_t s = 0;
    const size_t full = size / CHECKSUM_SEGMENT_BYTES;
    for (; s + 4 <= full; s += 4) {
        const uint8_t *p0 = data + s * CHECKSUM_SEGMENT_BYTES;
        const uint8_t *p1 = p0 + CHECKSUM_SEGMENT_BYTES, *p2 = p1 + CHECKSUM_SEGMENT_BYTES, *p3 = p2 + CHECKSUM_SEGMENT_BYTES;
        uint64_t c0 = 0xFFFFFFFFu, c1 = 0xFFFFFFFFu, c2 = 0xFFFFFFFFu, c3 = 0xFFFFFFFFu;
        for (size_t i = 0; i < CHECKSUM_SEGMENT_BYTES; i += 8) {
            c0 = _mm_crc32_u64(c0, load_le64(p0 + i));
            c1 = _mm_crc32_u64(c1, load_le64(p1 + i));
            c2 = _mm_crc32_u64(c2, load_le64(p2 + i));
            c3 = _mm_crc32_u64(c3, load_le64(p3 + i));
        }
        crcs[s] = ~(uint32_t)c0;
        crcs[s + 1] = ~(uint32_t)c1;
        crcs[s + 2] = ~(uint32_t)c2;
        crcs[s + 3] = ~(uint32_t)c3;
    }
    for (; s < segments; s++) {
        size_t begin = s * CHECKSUM_SEGMENT_BYTES;
        size_t length = size - begin < CHECKSUM_SEGMENT_BYTES ? size - begin : CHECKSUM_SEGMENT_BYTES;
        const uint8_t *p = data + begin;
        uint64_t c = 0xFFFFFFFFu;
        size_t i = 0;
        for (; i + 8 <= length; i += 8) c = _mm_crc32_u64(c, load_le64(p + i));
        uint32_t c32 = (uint32_t)c;
        for (; i < length; i++) c32 = _mm_crc32_u8(c32, p[i]);
        crcs[s] = ~c32;
    }
}

static segment_crc_fn segment_crcs_best;
static pthread_once_t segment_crcs_once = PTHREAD_ONCE_INIT;

static void choose_segment_crcs(void)
{
    __builtin_cpu_init();
    segment_crcs_best = __builtin_cpu_supports("sse4.2") ? segment_crcs_sse42 : segment_crcs_portable;
}

static segment_crc_fn segment_crcs(void)
{
    pthread_once(&segment_crcs_once, choose_segment_crcs);
    return segment_crcs_best;
}
#else
static segment_crc_fn segment_crcs(void) { return segment_crcs_portable; }
#endif

/* Streaming XXH64 over the list of segment CRCs, so that any size needs only a fixed buffer:
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

static uint64_t segmented(const void *data, size_t size, uint64_t seed, segment_crc_fn fn)
{
    const uint8_t *bytes = data;
    size_t segments = (size + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES;
    xxh64_stream_t stream;
    xxh64_stream_init(&stream, seed ^ ((uint64_t)size * 0x9E3779B97F4A7C15ULL));
    uint32_t crcs[SEGMENT_CRC_STACK];
    for (size_t first = 0; first < segments; first += SEGMENT_CRC_STACK) {
        size_t count = segments - first < SEGMENT_CRC_STACK ? segments - first : SEGMENT_CRC_STACK;
        size_t begin = first * CHECKSUM_SEGMENT_BYTES;
        size_t length = size - begin < count * CHECKSUM_SEGMENT_BYTES ? size - begin : count * CHECKSUM_SEGMENT_BYTES;
        fn(bytes + begin, length, crcs, count);
        for (size_t s = 0; s < count; s++) store_le32(&crcs[s], crcs[s]);
        xxh64_stream_update(&stream, (const uint8_t *)crcs, count * sizeof *crcs);
    }
    return xxh64_stream_digest(&stream);
}

uint64_t checksum64(const void *data, size_t size, uint64_t seed) { return segmented(data, size, seed, segment_crcs()); }

uint64_t checksum64_portable(const void *data, size_t size, uint64_t seed)
{
    return segmented(data, size, seed, segment_crcs_portable);
}
