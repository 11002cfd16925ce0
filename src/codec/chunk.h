/* Chunk records: the unit of independent, checksummed compressed data in frames and .sps files.
 *   u64 checksum          XXH64 (seed 0) of every record byte after this field
 *   u32 payload_size      bytes after the 24-byte header
 *   u32 raw_size          decoded bytes
 *   u64 content_checksum  XXH64 of the decoded bytes, or 0 when not kept
 *   payload: u8 method (CHUNK_STORED, CHUNK_LOSSLESS, CHUNK_PADIC), then the method's bytes
 * A flipped bit anywhere in a record changes the checksum, so it is reported before decoding.
 * A CHUNK_PADIC record is lossy: its content checksum covers the decoded (reconstructed) bytes,
 * which the encoder computes by decoding the payload it just wrote (also a self-check). */
#ifndef SARAPHIS_CODEC_CHUNK_H
#define SARAPHIS_CODEC_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "codec/lossless.h"
#include "codec/padic.h"
#include "saraphis.h"

#define CHUNK_HEADER_BYTES 24
/* The standalone frame's format version (docs/format.md, section on frames): written by the CPU
 * (engine/frame.c) and the GPU (gpu/gpu_encode.cu) encoders, the only one readers accept. */
#define FRAME_VERSION 2
#define CHUNK_MAX_RAW_BYTES (64u << 20)

enum { CHUNK_STORED = 0, CHUNK_LOSSLESS = 1, CHUNK_PADIC = 2 };

typedef struct {
    uint64_t checksum;
    uint32_t payload_size;
    uint32_t raw_size;
    uint64_t content_checksum;
} chunk_header_t;

/* Largest record a reader accepts for raw_bytes (every method: a writer stores a chunk whose
 * payload would exceed raw_bytes + 1 bytes, so padic records stay below it too). */
size_t chunk_record_bound(size_t raw_bytes);

/* How chunks are encoded: the codec and, for SARAPHIS_CODEC_BOUNDED, the p-adic parameters
 * (validated, eps > 0). BOUNDED on a dtype the p-adic codec refuses encodes LOSSLESS. */
typedef struct {
    saraphis_codec_t codec;
    padic_params_t padic;
} chunk_method_t;

/* Output capacity chunk_encode_with needs for raw_bytes: the record bound, or for BOUNDED the
 * p-adic payload bound (padic_chunk_bound) when larger; what is written is at most
 * chunk_record_bound(raw_bytes). */
size_t chunk_encode_capacity(const chunk_method_t *method, saraphis_dtype_t dtype, size_t raw_bytes);

/* stats (may be NULL) gets the p-adic chunk statistics, or zeros when the record is not a
 * CHUNK_PADIC one (stored or lossless: exact). */
saraphis_status_t chunk_encode_with(const chunk_method_t *method, saraphis_dtype_t dtype, const uint8_t *src,
                                    size_t raw_bytes, int content_checksum, uint8_t *dst, size_t capacity,
                                    size_t *written, codec_scratch_t *scratch, padic_chunk_stats_t *stats);

saraphis_status_t chunk_encode(saraphis_codec_t codec, saraphis_dtype_t dtype, const uint8_t *src,
                               size_t raw_bytes, int content_checksum, uint8_t *dst,
                               size_t capacity, size_t *written, codec_scratch_t *scratch);

void chunk_header_read(const uint8_t *record, chunk_header_t *header);

/* Checks the record's checksum; record_size is what the index says the record occupies. */
saraphis_status_t chunk_verify(const uint8_t *record, size_t record_size, size_t expected_raw);

/* Verifies, then decodes into dst (exactly expected_raw bytes). */
saraphis_status_t chunk_decode(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size,
                               uint8_t *dst, size_t expected_raw, codec_scratch_t *scratch);

/* chunk_decode, and a CHUNK_PADIC payload must carry exactly the parameters in expected (when
 * not NULL): what the container's index says the tensor was written with. verify_records 0
 * (SARAPHIS_PARAM_VERIFY_RECORDS): a record with a content checksum is verified by it alone. */
saraphis_status_t chunk_decode_expect(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size,
                                      uint8_t *dst, size_t expected_raw, codec_scratch_t *scratch,
                                      const padic_params_t *expected, int verify_records);

/* A whole record in memory, verified (record checksum, sizes) as chunk_decode does, then decoded:
 * a CHUNK_PADIC payload to its top `planes` digit planes (padic_decode_chunk with `planes`; 0 or
 * >= its precision: all of them), every other method whole. The content checksum covers the exact
 * output, so it is checked unless fewer planes than the payload's precision were decoded.
 * *bound_out (may be NULL) gets the bound every finite element meets (padic_progressive_bound of
 * the payload's parameters; 0 for an exact chunk). planes 0 is chunk_decode; verify_records as
 * for chunk_decode_expect (a decode to fewer planes always verifies the record). */
saraphis_status_t chunk_decode_planes(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size, uint8_t *dst,
                                      size_t expected_raw, unsigned planes, codec_scratch_t *scratch, double *bound_out,
                                      int verify_records);

/* Record bytes needed to decode the top `planes` digit planes of a record whose first `available`
 * bytes are given (the whole record for STORED and LOSSLESS ones). 0 when more bytes are needed
 * to tell (fetch CHUNK_PREFIX_PROBE first) or the header is invalid. */
#define CHUNK_PREFIX_PROBE (CHUNK_HEADER_BYTES + 1 + 24 + 12 * PADIC_MAX_PLANES)
size_t chunk_prefix_bytes(const uint8_t *record, size_t available, size_t record_size, unsigned planes);

/* Decodes the top `planes` planes from a prefix of a record (prefix_size bytes of record_size).
 * A whole record is verified and decoded as chunk_decode_expect does; a prefix cannot be checked
 * against the record checksum (it covers the whole record) or the content checksum: the p-adic
 * header checksum and the per-plane checksums of the planes read are checked instead.
 * *bound_out gets the bound every finite element meets (0 for an exact chunk). */
saraphis_status_t chunk_decode_prefix(saraphis_dtype_t dtype, const uint8_t *record, size_t prefix_size,
                                      size_t record_size, uint8_t *dst, size_t expected_raw, unsigned planes,
                                      codec_scratch_t *scratch, const padic_params_t *expected, double *bound_out);

#endif
