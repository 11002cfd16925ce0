/* Checksums of every byte range Saraphis writes (chunk records, decoded content, headers, the
 * index). checksum64 is the "segmented CRC32C" of docs/format.md: the data is cut into 4 KiB
 * segments, each gets its CRC32C (Castagnoli), and the digest is XXH64 of those CRCs seeded with
 * the seed and the length. Segments are independent, so SSE4.2 runs four CRC chains at once on
 * the CPU and a GPU gives one thread per segment; any change confined to one segment is caught
 * by its CRC (every burst of up to 32 bits, and all but 2^-32 of the rest). */
#ifndef SARAPHIS_COMMON_CHECKSUM_H
#define SARAPHIS_COMMON_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#define CHECKSUM_SEGMENT_BYTES 4096

uint64_t checksum64(const void *data, size_t size, uint64_t seed);

/* The building blocks, exposed for tests and for the GPU implementation to match. */
uint64_t xxh64(const void *data, size_t size, uint64_t seed);
uint32_t crc32c(const void *data, size_t size);             /* portable (slice-by-8) */
uint64_t checksum64_portable(const void *data, size_t size, uint64_t seed);

#endif
