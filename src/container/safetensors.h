/* safetensors: reading and writing the header of a .safetensors file.
 *
 * Layout: u64 little-endian N, then N bytes of JSON, then the data section. The JSON is an
 * object mapping tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
 * relative to the data section), plus an optional "__metadata__" object of string -> string.
 *
 * The parser checks everything before anything is used: N against the 100,000,000-byte limit of
 * the reference implementation and against the file size; the JSON strictly (common/json.h);
 * dtype names exactly as the reference spells them; shape * dtype size == end - begin with no
 * overflow; every region inside the data section; no two regions overlapping. Unlike the
 * reference it accepts gaps between regions (and bytes after the last one) and reports them, so
 * a caller can keep those bytes and rebuild the file byte for byte from header_bytes + regions +
 * gaps. Members of a tensor entry other than the three above are rejected, since their meaning
 * is unknown.
 *
 * Thread-safety: all functions are reentrant; a safetensors_file_t belongs to one thread at a
 * time (or is shared read-only).
 */
#ifndef SARAPHIS_CONTAINER_SAFETENSORS_H
#define SARAPHIS_CONTAINER_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

#define SAFETENSORS_MAX_HEADER_BYTES 100000000ull /* the reference's MAX_HEADER_SIZE */
#define SAFETENSORS_LENGTH_BYTES 8                /* the u64 header length */
#define SAFETENSORS_METADATA_KEY "__metadata__"

typedef struct {
    char *name; /* malloc'd, NUL-terminated; a name holding "\u0000" is rejected */
    saraphis_dtype_t dtype;
    uint32_t ndim; /* <= SARAPHIS_MAX_DIMS */
    uint64_t shape[SARAPHIS_MAX_DIMS];
    uint64_t begin; /* byte range [begin, end) relative to the data section */
    uint64_t end;
} safetensors_tensor_t;

typedef struct {
    char *key; /* malloc'd, NUL-terminated; "\u0000" inside is rejected */
    char *value;
} safetensors_metadata_t;

typedef struct {
    uint64_t begin; /* [begin, end) of the data section covered by no tensor */
    uint64_t end;
} safetensors_gap_t;

typedef struct {
    safetensors_tensor_t *tensors; /* sorted by (begin, end, name) */
    size_t tensor_count;
    safetensors_metadata_t *metadata; /* in document order */
    size_t metadata_count;
    uint8_t *header_bytes; /* the first header_size bytes of the file, verbatim */
    size_t header_size;    /* 8 + N */
    uint64_t data_offset;  /* 8 + N: file offset of the data section */
    uint64_t data_size;    /* file_size - data_offset */
    bool tiled;            /* regions cover [0, data_size) exactly: gap_count == 0 */
    safetensors_gap_t *gaps; /* uncovered ranges in ascending order, trailing bytes included */
    size_t gap_count;
} safetensors_file_t;

/* From the first prefix_size (>= 8) bytes of a file of file_size bytes, tells how many bytes
 * (8 + N) safetensors_parse needs. Fails with TRUNCATED when the file is shorter than 8 bytes or
 * than 8 + N, with LIMIT when N > SAFETENSORS_MAX_HEADER_BYTES; the check comes before the
 * caller allocates N bytes. */
saraphis_status_t safetensors_header_size(const uint8_t *prefix, size_t prefix_size,
                                          uint64_t file_size, const char *path_for_errors,
                                          uint64_t *need);

/* Parses the header held in prefix (at least 8 + N bytes; more is ignored) of a file of
 * file_size bytes. On success *out owns its memory (safetensors_file_free); on failure *out is
 * left zeroed and the status is: TRUNCATED / LIMIT as above; BAD_INPUT_FORMAT for malformed
 * JSON or entries, wrong sizes, regions outside the data section or overlapping; DTYPE for a
 * dtype name this build does not know; LIMIT for ndim > SARAPHIS_MAX_DIMS; INVALID_ARGUMENT when
 * prefix_size < 8 + N. Messages name the file, the byte offset, the tensor and the field. */
saraphis_status_t safetensors_parse(const uint8_t *prefix, size_t prefix_size, uint64_t file_size,
                                    const char *path_for_errors, safetensors_file_t *out);

/* Frees what safetensors_parse allocated and zeroes *file. NULL does nothing. */
void safetensors_file_free(safetensors_file_t *file);

/* Builds a complete header (the 8-byte length and the JSON, padded with spaces to a multiple of
 * 8 as the reference does) for tensors laid out back to back in the given order: it assigns
 * each tensor's begin/end (written back into tensors[]) and checks names are unique,
 * not "__metadata__" and free of invalid UTF-8, dtypes known, ndim <= SARAPHIS_MAX_DIMS and no
 * size overflows. "__metadata__" comes first when metadata_count > 0, as the reference writes
 * it. Callers wanting the reference's alignment put larger dtypes first. *bytes is malloc'd. */
saraphis_status_t safetensors_build_header(safetensors_tensor_t *tensors, size_t tensor_count,
                                           const safetensors_metadata_t *metadata,
                                           size_t metadata_count, uint8_t **bytes, size_t *size);

#endif
