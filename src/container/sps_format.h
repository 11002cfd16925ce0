/* The .sps container layout (docs/format.md is the specification; this header mirrors it).
 *
 *   file header   64 bytes: magic, version, flags, reserved zeros, XXH64 of bytes [0, 56)
 *   records       chunk records (codec/chunk.h), tensor after tensor, chunk after chunk
 *   index         tensor table and user metadata; XXH64 kept in the footer
 *   footer        32 bytes: index offset, index size, index XXH64, end magic
 *
 * Everything a reader needs to find a tensor is in the index at the end, so a writer streams
 * records out as it compresses them and a reader seeks straight to one tensor's records. */
#ifndef SARAPHIS_CONTAINER_SPS_FORMAT_H
#define SARAPHIS_CONTAINER_SPS_FORMAT_H

#include <stdint.h>

#include "saraphis.h"

#define SPS_MAGIC "\x89SPS\r\n\x1a\n"
#define SPS_END_MAGIC "SPSINDEX"
#define SPS_VERSION_MAJOR 2
#define SPS_VERSION_MINOR 0
#define SPS_HEADER_BYTES 64
#define SPS_FOOTER_BYTES 32
#define SPS_MAX_INDEX_BYTES (1ull << 30)
#define SPS_MAX_TENSORS (1u << 24)
#define SPS_MAX_METADATA_BYTES (256u << 20)

/* Index entry flags (docs/format.md, "Tensor entry"). */
#define SPS_FLAG_CODEC_PARAMS 0x01u /* a u16 size and the codec's parameter block follow the flags */
/* The BOUNDED codec's parameter block: u8 mode, f64 bound, f64 eps, u16 prime, u8 precision,
 * f64 max error, u64 escapes. */
#define SPS_BOUNDED_PARAMS_BYTES 36u

/* One tensor as the index describes it. */
typedef struct {
    char *name;
    saraphis_dtype_t dtype;
    saraphis_codec_t codec;
    uint32_t ndim;
    uint64_t shape[SARAPHIS_MAX_DIMS];
    uint64_t raw_size;
    uint32_t chunk_bytes;
    uint32_t chunk_count;
    uint64_t first_record;   /* file offset of chunk 0's record */
    uint32_t *record_sizes;  /* chunk_count entries; records are contiguous */
    uint64_t compressed_size;
    uint8_t flags;           /* SPS_FLAG_* */
    /* codec BOUNDED only (flags has SPS_FLAG_CODEC_PARAMS): */
    saraphis_bound_mode_t bound_mode;
    double bound, eps, max_error;
    unsigned prime, precision;
    uint64_t escapes;
} sps_tensor_t;

typedef struct {
    char *key;
    char *value;
    uint32_t key_size;
    uint32_t value_size;
} sps_metadata_t;

#endif
