/* Checksums of every byte range Saraphis writes (chunk records, decoded content, headers, the
 * index). checksum64 is the "segmented checksum" of docs/format.md: the data is cut into 4 KiB
 * segments, each gets a 64-bit NH hash (pairs of little-endian u32 words plus fixed keys,
 * multiplied, summed mod 2^64), and the digest is XXH64 of those hashes seeded with the seed and
 * the length. NH has no serial dependency inside a segment: AVX2 does four pairs per multiply and a
 * GPU warp hashes a segment with coalesced 16-byte loads (or as it writes the data), where a
 * table-driven CRC would be bound by shared-memory bank conflicts. A change confined to one word
 * of a pair is always caught unless the pair's other word plus its key is 0 mod 2^32. */
#ifndef SARAPHIS_COMMON_CHECKSUM_H
#define SARAPHIS_COMMON_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#define CHECKSUM_SEGMENT_BYTES 4096

uint64_t checksum64(const void *data, size_t size, uint64_t seed);

/* The building blocks, exposed for tests and for the GPU implementation to match. */
uint64_t xxh64(const void *data, size_t size, uint64_t seed);
/* Key of u32 word i of a segment: (i + 1) * 0x9E3779B1 mod 2^32 (odd multiplier: never 0).
 * One definition for the CPU and the GPU kernels. */
#ifdef __CUDACC__
#define CHECKSUM_HOST_DEVICE __host__ __device__
#else
#define CHECKSUM_HOST_DEVICE
#endif
CHECKSUM_HOST_DEVICE static inline uint32_t checksum_key(uint32_t i) { return (i + 1u) * 0x9E3779B1u; }
/* NH of one segment (size <= CHECKSUM_SEGMENT_BYTES): the sum mod 2^64 over pairs j of
 * (w[2j] + key(2j) mod 2^32) * (w[2j+1] + key(2j+1) mod 2^32), w the little-endian u32 words
 * of the bytes zero-padded to a multiple of 8. */
uint64_t checksum_segment_hash(const void *data, size_t size);
uint64_t checksum64_portable(const void *data, size_t size, uint64_t seed);

#endif
