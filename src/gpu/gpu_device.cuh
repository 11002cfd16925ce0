/* Device helpers shared by the GPU codec's kernels (decode, encode, checksums): little-endian
 * loads, warp sums, cp.async staging, the segment hash of the checksum and XXH64 over the hashes.
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

/* ---- The segment hash of the segmented checksum (common/checksum.h) ------------------------ */

/* NH of one segment (length <= CHECKSUM_SEGMENT_BYTES bytes at start), by a whole warp; every
 * lane gets the result. Lane l takes the 16 bytes at 16 l + 512 k (two pairs): one 16-byte load
 * where aligned, else five aligned words and funnel shifts, byte loads (zeros past the end) for a
 * piece too close to the end for those. READ_ONLY: the bytes do not change during the kernel
 * (loads through the read-only cache); false for bytes the same kernel wrote. */
template <typename T> __device__ __forceinline__ T segment_load(const T *p, bool read_only) { return read_only ? __ldg(p) : *p; }

template <bool READ_ONLY>
__device__ static uint64_t warp_segment_hash(const uint8_t *start, uint32_t length, uint32_t lane)
{
    uint64_t sum = 0;
    const uint32_t shift = (uint32_t)((uintptr_t)start & 3) * 8;
    for (uint32_t u = 16 * lane; u < length; u += 512) {
        const uint8_t *p = start + u;
        uint32_t w[4];
        if (u + 16 <= length && ((uintptr_t)p & 15) == 0) {
            const uint4 v = segment_load((const uint4 *)p, READ_ONLY);
            w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
        } else if (u + 16 <= length && shift == 0) {
#pragma unroll
            for (int j = 0; j < 4; j++) w[j] = segment_load((const uint32_t *)p + j, READ_ONLY);
        } else if (u + 20 <= length) {
            const uint32_t *base = (const uint32_t *)((uintptr_t)p & ~(uintptr_t)3);
            uint32_t x[5];
#pragma unroll
            for (int j = 0; j < 5; j++) x[j] = segment_load(base + j, READ_ONLY);
#pragma unroll
            for (int j = 0; j < 4; j++) w[j] = __funnelshift_r(x[j], x[j + 1], shift);
        } else {
#pragma unroll
            for (int j = 0; j < 4; j++) {
                w[j] = 0;
                for (uint32_t b = 0; b < 4; b++)
                    if (u + 4 * j + b < length) w[j] |= (uint32_t)segment_load(p + 4 * j + b, READ_ONLY) << (8 * b);
            }
        }
        const uint32_t i = u >> 2;
        sum += (uint64_t)(w[0] + checksum_key(i)) * (uint32_t)(w[1] + checksum_key(i + 1));
        if (u + 8 < length) sum += (uint64_t)(w[2] + checksum_key(i + 2)) * (uint32_t)(w[3] + checksum_key(i + 3));
    }
#pragma unroll
    for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    return sum;
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
