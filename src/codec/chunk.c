/* Chunk records (chunk.h): framing, checksums and method dispatch. */
#include "codec/chunk.h"

#include <stdlib.h>
#include <string.h>

#include "common/bits.h"
#include "common/checksum.h"
#include "common/error.h"

size_t chunk_record_bound(size_t raw_bytes) { return CHUNK_HEADER_BYTES + 1 + lossless_chunk_bound(raw_bytes); }

static int padic_dtype(saraphis_dtype_t dtype)
{
    return dtype == SARAPHIS_DTYPE_F32 || dtype == SARAPHIS_DTYPE_F64 || dtype == SARAPHIS_DTYPE_F16 || dtype == SARAPHIS_DTYPE_BF16;
}

size_t chunk_encode_capacity(const chunk_method_t *method, saraphis_dtype_t dtype, size_t raw_bytes)
{
    size_t bound = chunk_record_bound(raw_bytes);
    if (method->codec == SARAPHIS_CODEC_BOUNDED && padic_dtype(dtype)) {
        size_t padic = CHUNK_HEADER_BYTES + 1 + padic_chunk_bound(raw_bytes, dtype, &method->padic);
        if (padic > bound) bound = padic;
    }
    return bound;
}

/* The content checksum of a lossy record: decode the payload just written (what every reader
 * will get) and checksum that. */
static saraphis_status_t padic_content_checksum(saraphis_dtype_t dtype, const uint8_t *payload, size_t payload_size,
                                                size_t raw_bytes, codec_scratch_t *scratch, uint64_t *checksum)
{
    if (scratch->decoded_capacity < raw_bytes || !scratch->decoded) {
        uint8_t *grown = realloc(scratch->decoded, raw_bytes ? raw_bytes : 1);
        if (!grown) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "chunk: no memory to decode a bounded chunk back");
        scratch->decoded = grown;
        scratch->decoded_capacity = raw_bytes;
    }
    SPS_TRY(padic_decode_chunk(dtype, payload, payload_size, scratch->decoded, raw_bytes, 0, scratch, NULL));
    *checksum = checksum64(scratch->decoded, raw_bytes, 0);
    return SARAPHIS_OK;
}

saraphis_status_t chunk_encode_with(const chunk_method_t *method, saraphis_dtype_t dtype, const uint8_t *src,
                                    size_t raw_bytes, int content_checksum, uint8_t *dst, size_t capacity,
                                    size_t *written, codec_scratch_t *scratch, padic_chunk_stats_t *stats)
{
    if (stats) memset(stats, 0, sizeof *stats);
    if (raw_bytes > CHUNK_MAX_RAW_BYTES)
        return error_set(SARAPHIS_ERROR_LIMIT, "chunk of %zu bytes exceeds the %u-byte limit", raw_bytes, CHUNK_MAX_RAW_BYTES);
    if (capacity < chunk_encode_capacity(method, dtype, raw_bytes))
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "chunk: output buffer below the bound");
    uint8_t *payload = dst + CHUNK_HEADER_BYTES;
    size_t payload_size = 0;
    int stored = method->codec == SARAPHIS_CODEC_STORED;
    int lossy = 0;
    if (method->codec == SARAPHIS_CODEC_BOUNDED && padic_dtype(dtype)) {
        size_t coded;
        padic_chunk_stats_t chunk_stats;
        payload[0] = CHUNK_PADIC;
        SPS_TRY(padic_encode_chunk(&method->padic, dtype, src, raw_bytes, payload + 1, capacity - CHUNK_HEADER_BYTES - 1,
                                   &coded, scratch, &chunk_stats));
        payload_size = 1 + coded;
        stored = payload_size > raw_bytes; /* never expand beyond stored + 1 byte */
        lossy = !stored;
        if (lossy && stats) *stats = chunk_stats;
    } else if (!stored) {
        size_t coded;
        payload[0] = CHUNK_LOSSLESS;
        SPS_TRY(lossless_encode_chunk(dtype, src, raw_bytes, payload + 1, capacity - CHUNK_HEADER_BYTES - 1, &coded, scratch));
        payload_size = 1 + coded;
        stored = payload_size > raw_bytes;
    }
    if (stored) {
        payload[0] = CHUNK_STORED;
        memcpy(payload + 1, src, raw_bytes);
        payload_size = 1 + raw_bytes;
    }
    uint64_t content = 0;
    if (content_checksum) {
        if (lossy) SPS_TRY(padic_content_checksum(dtype, payload + 1, payload_size - 1, raw_bytes, scratch, &content));
        else content = checksum64(src, raw_bytes, 0);
    }
    store_le32(dst + 8, (uint32_t)payload_size);
    store_le32(dst + 12, (uint32_t)raw_bytes);
    store_le64(dst + 16, content);
    store_le64(dst, checksum64(dst + 8, CHUNK_HEADER_BYTES - 8 + payload_size, 0));
    *written = CHUNK_HEADER_BYTES + payload_size;
    return SARAPHIS_OK;
}

saraphis_status_t chunk_encode(saraphis_codec_t codec, saraphis_dtype_t dtype, const uint8_t *src,
                               size_t raw_bytes, int content_checksum, uint8_t *dst,
                               size_t capacity, size_t *written, codec_scratch_t *scratch)
{
    if (codec == SARAPHIS_CODEC_BOUNDED && padic_dtype(dtype))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "chunk: the bounded codec needs its parameters");
    chunk_method_t method = {codec == SARAPHIS_CODEC_STORED ? SARAPHIS_CODEC_STORED : SARAPHIS_CODEC_LOSSLESS, {0, 0, 0}};
    return chunk_encode_with(&method, dtype, src, raw_bytes, content_checksum, dst, capacity, written, scratch, NULL);
}

void chunk_header_read(const uint8_t *record, chunk_header_t *header)
{
    header->checksum = load_le64(record);
    header->payload_size = load_le32(record + 8);
    header->raw_size = load_le32(record + 12);
    header->content_checksum = load_le64(record + 16);
}

/* The record's header against its size and the expected raw size; with `checksum`, first its
 * checksum. */
static saraphis_status_t check_record(const uint8_t *record, size_t record_size, size_t expected_raw, int checksum)
{
    if (record_size < CHUNK_HEADER_BYTES + 1)
        return error_set(SARAPHIS_ERROR_TRUNCATED, "record of %zu bytes is shorter than its header", record_size);
    chunk_header_t header;
    chunk_header_read(record, &header);
    if (checksum) {
        uint64_t computed = checksum64(record + 8, record_size - 8, 0);
        if (computed != header.checksum && !SARAPHIS_FUZZING)
            return error_set(SARAPHIS_ERROR_CHECKSUM, "checksum mismatch (stored %016llx, computed %016llx)",
                             (unsigned long long)header.checksum, (unsigned long long)computed);
    }
    if ((size_t)header.payload_size + CHUNK_HEADER_BYTES != record_size)
        return error_set(SARAPHIS_ERROR_CORRUPT, "record size %zu disagrees with its header (%u payload bytes)", record_size, header.payload_size);
    if (header.raw_size != expected_raw)
        return error_set(SARAPHIS_ERROR_CORRUPT, "record holds %u raw bytes, index says %zu", header.raw_size, expected_raw);
    return SARAPHIS_OK;
}

saraphis_status_t chunk_verify(const uint8_t *record, size_t record_size, size_t expected_raw)
{
    return check_record(record, record_size, expected_raw, 1);
}

static saraphis_status_t check_padic_params(const uint8_t *payload, size_t size, const padic_params_t *expected)
{
    if (!expected) return SARAPHIS_OK;
    padic_info_t info;
    SPS_TRY(padic_payload_info(payload, size, &info));
    if (info.params.prime != expected->prime || info.params.precision != expected->precision || info.params.eps != expected->eps)
        return error_set(SARAPHIS_ERROR_CORRUPT, "bounded chunk written with eps %g, prime %u, precision %u; the index says eps %g, prime %u, precision %u",
                         info.params.eps, info.params.prime, info.params.precision, expected->eps, expected->prime, expected->precision);
    return SARAPHIS_OK;
}

/* The whole record verified, then decoded: CHUNK_PADIC payloads to their top `planes` planes (0:
 * all). The content checksum covers the exact output, so a decode of fewer planes than the
 * payload holds skips it. *bound_out (may be NULL): the p-adic bound met, 0 for other methods.
 * Without verify_records (SARAPHIS_PARAM_VERIFY_RECORDS 0), a whole decode of a record that
 * carries a content checksum is verified by that checksum alone. */
static saraphis_status_t decode_record(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size, uint8_t *dst,
                                       size_t expected_raw, codec_scratch_t *scratch, const padic_params_t *expected,
                                       unsigned planes, double *bound_out, int verify_records)
{
    if (bound_out) *bound_out = 0;
    const int content_only = !verify_records && planes == 0 && record_size >= CHUNK_HEADER_BYTES + 1 && load_le64(record + 16) != 0;
    SPS_TRY(check_record(record, record_size, expected_raw, !content_only));
    chunk_header_t header;
    chunk_header_read(record, &header);
    const uint8_t *payload = record + CHUNK_HEADER_BYTES;
    size_t payload_size = header.payload_size;
    int partial = 0;
    switch (payload[0]) {
    case CHUNK_STORED:
        if (payload_size - 1 != expected_raw)
            return error_set(SARAPHIS_ERROR_CORRUPT, "stored chunk holds %zu bytes, expected %zu", payload_size - 1, expected_raw);
        memcpy(dst, payload + 1, expected_raw);
        break;
    case CHUNK_LOSSLESS:
        SPS_TRY(lossless_decode_chunk(dtype, payload + 1, payload_size - 1, dst, expected_raw, scratch));
        break;
    case CHUNK_PADIC:
        SPS_TRY(check_padic_params(payload + 1, payload_size - 1, expected));
        SPS_TRY(padic_decode_chunk(dtype, payload + 1, payload_size - 1, dst, expected_raw, planes, scratch, bound_out));
        /* The header was valid for the decode: byte 3 of the payload is its precision. */
        partial = planes != 0 && planes < payload[1 + 3];
        break;
    default:
        return error_set(SARAPHIS_ERROR_UNSUPPORTED, "unknown chunk method %u", payload[0]);
    }
    if (!partial && header.content_checksum && checksum64(dst, expected_raw, 0) != header.content_checksum && !SARAPHIS_FUZZING)
        return error_set(SARAPHIS_ERROR_CHECKSUM, "decoded bytes do not match the content checksum");
    return SARAPHIS_OK;
}

saraphis_status_t chunk_decode_expect(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size,
                                      uint8_t *dst, size_t expected_raw, codec_scratch_t *scratch,
                                      const padic_params_t *expected, int verify_records)
{
    return decode_record(dtype, record, record_size, dst, expected_raw, scratch, expected, 0, NULL, verify_records);
}

saraphis_status_t chunk_decode(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size,
                               uint8_t *dst, size_t expected_raw, codec_scratch_t *scratch)
{
    return decode_record(dtype, record, record_size, dst, expected_raw, scratch, NULL, 0, NULL, 1);
}

saraphis_status_t chunk_decode_planes(saraphis_dtype_t dtype, const uint8_t *record, size_t record_size, uint8_t *dst,
                                      size_t expected_raw, unsigned planes, codec_scratch_t *scratch, double *bound_out,
                                      int verify_records)
{
    return decode_record(dtype, record, record_size, dst, expected_raw, scratch, NULL, planes, bound_out, verify_records);
}

size_t chunk_prefix_bytes(const uint8_t *record, size_t available, size_t record_size, unsigned planes)
{
    if (available < CHUNK_HEADER_BYTES + 1 || record_size < CHUNK_HEADER_BYTES + 1) return 0;
    if (record[CHUNK_HEADER_BYTES] != CHUNK_PADIC) return record_size;
    size_t prefix = padic_prefix_bytes(record + CHUNK_HEADER_BYTES + 1, available - CHUNK_HEADER_BYTES - 1, planes);
    if (prefix == 0 || prefix > record_size - CHUNK_HEADER_BYTES - 1) return 0;
    return CHUNK_HEADER_BYTES + 1 + prefix;
}

saraphis_status_t chunk_decode_prefix(saraphis_dtype_t dtype, const uint8_t *record, size_t prefix_size,
                                      size_t record_size, uint8_t *dst, size_t expected_raw, unsigned planes,
                                      codec_scratch_t *scratch, const padic_params_t *expected, double *bound_out)
{
    *bound_out = 0;
    if (prefix_size == record_size) {
        SPS_TRY(chunk_decode_expect(dtype, record, record_size, dst, expected_raw, scratch, expected, 1));
        if (record[CHUNK_HEADER_BYTES] == CHUNK_PADIC) {
            padic_info_t info;
            SPS_TRY(padic_payload_info(record + CHUNK_HEADER_BYTES + 1, record_size - CHUNK_HEADER_BYTES - 1, &info));
            *bound_out = info.params.eps;
        }
        return SARAPHIS_OK;
    }
    if (prefix_size < CHUNK_HEADER_BYTES + 1 || prefix_size > record_size)
        return error_set(SARAPHIS_ERROR_TRUNCATED, "record prefix of %zu bytes (record %zu)", prefix_size, record_size);
    chunk_header_t header;
    chunk_header_read(record, &header);
    if ((size_t)header.payload_size + CHUNK_HEADER_BYTES != record_size)
        return error_set(SARAPHIS_ERROR_CORRUPT, "record size %zu disagrees with its header (%u payload bytes)", record_size, header.payload_size);
    if (header.raw_size != expected_raw)
        return error_set(SARAPHIS_ERROR_CORRUPT, "record holds %u raw bytes, index says %zu", header.raw_size, expected_raw);
    if (record[CHUNK_HEADER_BYTES] != CHUNK_PADIC)
        return error_set(SARAPHIS_ERROR_CORRUPT, "only a bounded (p-adic) record can be read in part, this one has method %u", record[CHUNK_HEADER_BYTES]);
    const uint8_t *payload = record + CHUNK_HEADER_BYTES + 1;
    size_t available = prefix_size - CHUNK_HEADER_BYTES - 1;
    SPS_TRY(check_padic_params(payload, available, expected));
    return padic_decode_chunk(dtype, payload, available, dst, expected_raw, planes, scratch, bound_out);
}
