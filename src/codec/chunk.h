/* Chunk records: the unit of independent, checksummed compressed data in frames and .sps files.
 *   u64 checksum          XXH64 (seed 0) of every record byte after this field
 *   u32 payload_size      bytes after the 24-byte header
 *   u32 raw_size          decoded bytes
 *   u64 content_checksum  XXH64 of the decoded bytes, or 0 when not kept
 *   payload: u8 method (CHUNK_STORED, CHUNK_LOSSLESS), then the method's bytes
 * A flipped bit anywhere in a record changes the checksum, so it is reported before decoding. */
#ifndef SARAPHIS_CODEC_CHUNK_H
#define SARAPHIS_CODEC_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "codec/lossless.h"
#include "saraphis.h"

#define CHUNK_HEADER_BYTES 24
#define CHUNK_MAX_RAW_BYTES (64u << 20)

enum { CHUNK_STORED = 0, CHUNK_LOSSLESS = 1 };

typedef struct {
    uint64_t checksum;
    uint32_t payload_size;
    uint32_t raw_size;
    uint64_t content_checksum;
} chunk_header_t;

size_t chunk_record_bound(size_t raw_bytes);

saraphis_status_t chunk_encode(saraphis_codec_t codec, saraphis_dtype_t dtype, const uint8_t *src,
                               size_t raw_bytes, int content_checksum, uint8_t *dst,
                               size_t capacity, size_t *written, codec_scratch_t *scratch);

void chunk_header_read(const uint8_t *record, chunk_header_t *header);

/* Checks the record's checksum; record_size is what the index says the record occupies. */
saraphis_status_t chunk_verify(const uint8_t *record, size_t record_size, size_t expected_raw);

/* Verifies, then decodes into dst (exactly expected_raw bytes). */
saraphis_status_t chunk_decode(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size,
                               uint8_t *dst, size_t expected_raw, codec_scratch_t *scratch);

#endif
