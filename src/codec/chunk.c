/* Chunk records (chunk.h): framing, checksums and method dispatch. */
#include "codec/chunk.h"

#include <string.h>

#include "common/bits.h"
#include "common/checksum.h"
#include "common/error.h"

size_t chunk_record_bound(size_t raw_bytes) { return CHUNK_HEADER_BYTES + 1 + lossless_chunk_bound(raw_bytes); }

saraphis_status_t chunk_encode(saraphis_codec_t codec, saraphis_dtype_t dtype, const uint8_t *src,
                               size_t raw_bytes, int content_checksum, uint8_t *dst,
                               size_t capacity, size_t *written, codec_scratch_t *scratch)
{
    if (raw_bytes > CHUNK_MAX_RAW_BYTES)
        return error_set(SARAPHIS_ERROR_LIMIT, "chunk of %zu bytes exceeds the %u-byte limit", raw_bytes, CHUNK_MAX_RAW_BYTES);
    if (capacity < chunk_record_bound(raw_bytes))
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "chunk: output buffer below the bound");
    uint8_t *payload = dst + CHUNK_HEADER_BYTES;
    size_t payload_size = 0;
    int stored = codec == SARAPHIS_CODEC_STORED;
    if (!stored) {
        size_t coded;
        payload[0] = CHUNK_LOSSLESS;
        SPS_TRY(lossless_encode_chunk(dtype, src, raw_bytes, payload + 1, capacity - CHUNK_HEADER_BYTES - 1, &coded, scratch));
        payload_size = 1 + coded;
        stored = payload_size > raw_bytes; /* never expand beyond stored + 1 byte */
    }
    if (stored) {
        payload[0] = CHUNK_STORED;
        memcpy(payload + 1, src, raw_bytes);
        payload_size = 1 + raw_bytes;
    }
    store_le32(dst + 8, (uint32_t)payload_size);
    store_le32(dst + 12, (uint32_t)raw_bytes);
    store_le64(dst + 16, content_checksum ? checksum64(src, raw_bytes, 0) : 0);
    store_le64(dst, checksum64(dst + 8, CHUNK_HEADER_BYTES - 8 + payload_size, 0));
    *written = CHUNK_HEADER_BYTES + payload_size;
    return SARAPHIS_OK;
}

void chunk_header_read(const uint8_t *record, chunk_header_t *header)
{
    header->checksum = load_le64(record);
    header->payload_size = load_le32(record + 8);
    header->raw_size = load_le32(record + 12);
    header->content_checksum = load_le64(record + 16);
}

saraphis_status_t chunk_verify(const uint8_t *record, size_t record_size, size_t expected_raw)
{
    if (record_size < CHUNK_HEADER_BYTES + 1)
        return error_set(SARAPHIS_ERROR_TRUNCATED, "record of %zu bytes is shorter than its header", record_size);
    chunk_header_t header;
    chunk_header_read(record, &header);
    uint64_t computed = checksum64(record + 8, record_size - 8, 0);
    if (computed != header.checksum && !SARAPHIS_FUZZING)
        return error_set(SARAPHIS_ERROR_CHECKSUM, "checksum mismatch (stored %016llx, computed %016llx)",
                         (unsigned long long)header.checksum, (unsigned long long)computed);
    if ((size_t)header.payload_size + CHUNK_HEADER_BYTES != record_size)
        return error_set(SARAPHIS_ERROR_CORRUPT, "record size %zu disagrees with its header (%u payload bytes)", record_size, header.payload_size);
    if (header.raw_size != expected_raw)
        return error_set(SARAPHIS_ERROR_CORRUPT, "record holds %u raw bytes, index says %zu", header.raw_size, expected_raw);
    return SARAPHIS_OK;
}

saraphis_status_t chunk_decode(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size,
                               uint8_t *dst, size_t expected_raw, codec_scratch_t *scratch)
{
    SPS_TRY(chunk_verify(record, record_size, expected_raw));
    chunk_header_t header;
    chunk_header_read(record, &header);
    const uint8_t *payload = record + CHUNK_HEADER_BYTES;
    size_t payload_size = header.payload_size;
    switch (payload[0]) {
    case CHUNK_STORED:
        if (payload_size - 1 != expected_raw)
            return error_set(SARAPHIS_ERROR_CORRUPT, "stored chunk holds %zu bytes, expected %zu", payload_size - 1, expected_raw);
        memcpy(dst, payload + 1, expected_raw);
        break;
    case CHUNK_LOSSLESS:
        SPS_TRY(lossless_decode_chunk(dtype, payload + 1, payload_size - 1, dst, expected_raw, scratch));
        break;
    default:
        return error_set(SARAPHIS_ERROR_UNSUPPORTED, "unknown chunk method %u", payload[0]);
    }
    if (header.content_checksum && checksum64(dst, expected_raw, 0) != header.content_checksum && !SARAPHIS_FUZZING)
        return error_set(SARAPHIS_ERROR_CHECKSUM, "decoded bytes do not match the content checksum");
    return SARAPHIS_OK;
}
