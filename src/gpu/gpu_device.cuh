/* Device helpers shared by the GPU codec's kernels (decode, encode, checksums): little-endian
 * loads, warp sums, cp.async staging, the segmented CRC32C's tables and XXH64 over CRC words.
 * Header-only: every .cu file compiles its own copy (no relocatable device code). */
#ifndef SARAPHIS_GPU_DEVICE_CUH
#define SARAPHIS_GPU_DEVICE_CUH

#include <stdint.h>

extern "C" {
#include "common/checksum.h"
}

__device__ __forceinline__ uint32_t dev_le16(const uint8_t *p) { return (uint32_t)__ldg(p) | (uint32_t)__ldg(p + 1) << 8; }
__device__ __forceinline__ uint32_t dev_le32(const uint8_t *p)
{
    return (uint32_t)__ldg(p) | (uint32_t)__ldg(p + 1) << 8 | (uint32_t)__ldg(p + 2) << 16 | (uint32_t)__ldg(p + 3) << 24;
}
__device__ __forceinline__ uint64_t dev_le64(const uint8_t *p) { return (uint64_t)dev_le32(p) | (uint64_t)dev_le32(p + 4) << 32; }
__device__ __forceinline__ uint32_t lanemask_lt(uint32_t lane) { return (1u << lane) - 1u; }


/* Warp sums (every lane gets the total). */
__device__ __forceinline__ uint32_t warp_sum32(uint32_t v)
{
#pragma unroll
    for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ void copy16_async(uint8_t *smem, const uint8_t *global)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    uint32_t address = (uint32_t)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(address), "l"(global) : "memory");
#else
    *(uint4 *)smem = __ldg((const uint4 *)global);
#endif
}
__device__ __forceinline__ void async_commit(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void async_wait_all(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
#endif
}

/* ---- Segmented CRC32C ------------------------------------------------------------------- */

#define CRC_POLY 0x82F63B78u
#define CRC_TABLES 20 /* T_0..T_15 (16 bytes at once), then T_511..T_508 (skip a 512-byte stripe) */
#define CRC_UNPAD 512

/* a * b mod P in the reflected representation (x^0 is the top bit), as zlib's multmodp. */
__host__ __device__ static inline uint32_t multmodp(uint32_t a, uint32_t b)
{
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ CRC_POLY : b >> 1;
    }
    return p;
}

typedef struct crc_tables_s {
    uint32_t table[CRC_TABLES][256];
    uint32_t x8pow[CHECKSUM_SEGMENT_BYTES + 1]; /* x^(8L) mod P: skipping L zero bytes */
    uint32_t unpad[CRC_UNPAD];                  /* x^(-8p) mod P: taking p trailing zero bytes back */
} crc_tables_t;

__device__ __forceinline__ uint32_t crc_span16(const uint32_t (*T)[256], uint4 v)
{
    uint32_t r = 0;
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int j = 0; j < 16; j++) r ^= T[15 - j][(w[j / 4] >> (8 * (j % 4))) & 0xff];
    return r;
}

#define XXH_PRIME1 0x9E3779B185EBCA87ULL
#define XXH_PRIME2 0xC2B2AE3D27D4EB4FULL
#define XXH_PRIME3 0x165667B19E3779F9ULL
#define XXH_PRIME4 0x85EBCA77C2B2AE63ULL
#define XXH_PRIME5 0x27D4EB2F165667C5ULL

__device__ __forceinline__ uint64_t xxh_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
__device__ __forceinline__ uint64_t xxh_round(uint64_t acc, uint64_t input) { return xxh_rotl(acc + input * XXH_PRIME2, 31) * XXH_PRIME1; }
__device__ __forceinline__ uint64_t xxh_merge(uint64_t acc, uint64_t lane) { return (acc ^ xxh_round(0, lane)) * XXH_PRIME1 + XXH_PRIME4; }

/* XXH64 of `count` little-endian u32 values. */
__device__ static uint64_t xxh64_words(const uint32_t *w, uint32_t count, uint64_t seed)
{
    const uint64_t size = 4 * (uint64_t)count;
    uint32_t i = 0;
    uint64_t hash;
    if (size >= 32) {
        uint64_t v1 = seed + XXH_PRIME1 + XXH_PRIME2, v2 = seed + XXH_PRIME2, v3 = seed, v4 = seed - XXH_PRIME1;
        for (; i + 8 <= count; i += 8) {
            v1 = xxh_round(v1, (uint64_t)w[i] | (uint64_t)w[i + 1] << 32);
            v2 = xxh_round(v2, (uint64_t)w[i + 2] | (uint64_t)w[i + 3] << 32);
            v3 = xxh_round(v3, (uint64_t)w[i + 4] | (uint64_t)w[i + 5] << 32);
            v4 = xxh_round(v4, (uint64_t)w[i + 6] | (uint64_t)w[i + 7] << 32);
        }
        hash = xxh_rotl(v1, 1) + xxh_rotl(v2, 7) + xxh_rotl(v3, 12) + xxh_rotl(v4, 18);
        hash = xxh_merge(hash, v1);
        hash = xxh_merge(hash, v2);
        hash = xxh_merge(hash, v3);
        hash = xxh_merge(hash, v4);
    } else {
        hash = seed + XXH_PRIME5;
    }
    hash += size;
    for (; i + 2 <= count; i += 2) {
        hash ^= xxh_round(0, (uint64_t)w[i] | (uint64_t)w[i + 1] << 32);
        hash = xxh_rotl(hash, 27) * XXH_PRIME1 + XXH_PRIME4;
    }
    if (i < count) {
        hash ^= (uint64_t)w[i] * XXH_PRIME1;
        hash = xxh_rotl(hash, 23) * XXH_PRIME2 + XXH_PRIME3;
    }
    hash ^= hash >> 33;
    hash *= XXH_PRIME2;
    hash ^= hash >> 29;
    hash *= XXH_PRIME3;
    hash ^= hash >> 32;
    return hash;
}

#endif
