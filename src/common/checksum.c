/* XXH64: four parallel lanes over 32-byte stripes, then a tail and an avalanche. The constants
 * are the algorithm's published primes; output matches the reference for any input. */
#include "common/checksum.h"

#include "common/bits.h"

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

uint64_t checksum64(const void *data, size_t size, uint64_t seed)
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
