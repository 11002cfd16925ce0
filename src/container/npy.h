/* npy: reading and writing the header of a NumPy .npy file (format versions 1.0, 2.0, 3.0).
 *
 * Layout: "\x93NUMPY", major and minor version bytes, the header length (u16 little-endian in
 * 1.0, u32 in 2.0 and 3.0), then that many bytes of a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ending in '\n' (NumPy pads the whole header to a multiple of 64 bytes;
 * older files used 16; neither alignment is required here), then the array bytes.
 *
 * The parser accepts exactly the three keys NumPy writes, in any order, with single or double
 * quotes, and the tuple forms (), (3,), (3, 4) and (3, 4,). dtypes: '<f2' '<f4' '<f8' '|i1'
 * '|u1' '<i2' '<u2' '<i4' '<u4' '<i8' '<u8' '|b1' (for one-byte types '<', '>' and '=' are
 * accepted in place of '|'). Refused: big-endian descr ('>f4', UNSUPPORTED), structured or
 * other dtypes (DTYPE), and fortran_order True unless npy_options_t allows it (UNSUPPORTED).
 *
 * bfloat16 and float8: NumPy has no such types; ml_dtypes saves them as raw bytes with descr
 * '<V2' (bfloat16) and '<V1' (float8). A '<Vn' or '|Vn' descr is accepted only when the caller
 * passes a dtype_override whose size is n, since the file itself does not say what the bytes are.
 * An override may also relabel an ordinary descr of the same size ('<u2' holding BF16 bits).
 *
 * The header bytes are kept verbatim, so header_bytes + data reproduce the file byte for byte.
 *
 * Thread-safety: all functions are reentrant; an npy_file_t belongs to one thread at a time.
 */
#ifndef SARAPHIS_CONTAINER_NPY_H
#define SARAPHIS_CONTAINER_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

#define NPY_PROBE_BYTES 12 /* read min(12, file size) bytes, then ask npy_header_size */
#define NPY_MAX_HEADER_BYTES ((uint32_t)1 << 20) /* NumPy itself reads at most 10000 by default */
#define NPY_DESCR_CAPACITY 32

typedef struct {
    saraphis_dtype_t dtype_override; /* SARAPHIS_DTYPE_UNKNOWN: none (see above) */
    bool allow_fortran_order;        /* accept fortran_order True and report it */
} npy_options_t;

typedef struct {
    uint8_t major_version;
    uint8_t minor_version;
    char descr[NPY_DESCR_CAPACITY]; /* as written in the file, e.g. "<f4" */
    saraphis_dtype_t dtype;         /* the override when one was given */
    bool fortran_order;
    uint32_t ndim;
    uint64_t shape[SARAPHIS_MAX_DIMS];
    uint64_t element_count;
    uint8_t *header_bytes; /* the first header_size bytes of the file, verbatim */
    size_t header_size;
    uint64_t data_offset; /* == header_size */
    uint64_t data_size;   /* element_count * dtype size == file_size - data_offset */
} npy_file_t;

/* From the first prefix_size bytes (NPY_PROBE_BYTES, or the whole file when shorter) of a file
 * of file_size bytes, tells how many bytes npy_parse needs (the whole header). Fails with
 * BAD_INPUT_FORMAT for a wrong magic, UNSUPPORTED for an unknown version, TRUNCATED when the file
 * is too short, LIMIT when the header is longer than NPY_MAX_HEADER_BYTES. */
saraphis_status_t npy_header_size(const uint8_t *prefix, size_t prefix_size, uint64_t file_size,
                                  const char *path_for_errors, uint64_t *need);

/* Parses the header held in prefix (at least the size npy_header_size told) of a file of
 * file_size bytes, with default options. On success *out owns memory (npy_file_free); on failure
 * *out is zeroed. Status: as npy_header_size; BAD_INPUT_FORMAT for a malformed dict or a file
 * holding more bytes than the shape needs; TRUNCATED when it holds fewer; DTYPE for a descr
 * without a Saraphis dtype; UNSUPPORTED as above; LIMIT for more than SARAPHIS_MAX_DIMS dims;
 * INVALID_ARGUMENT when prefix_size is less than the header. Messages name the file, the byte
 * offset and the key. */
saraphis_status_t npy_parse(const uint8_t *prefix, size_t prefix_size, uint64_t file_size,
                            const char *path_for_errors, npy_file_t *out);
saraphis_status_t npy_parse_ex(const uint8_t *prefix, size_t prefix_size, uint64_t file_size,
                               const npy_options_t *options, const char *path_for_errors,
                               npy_file_t *out);

/* Frees what npy_parse allocated and zeroes *file. NULL does nothing. */
void npy_file_free(npy_file_t *file);

/* Builds the header NumPy's np.save writes for a C-order array (version 1.0 unless the header
 * needs more than 65535 bytes; the same spare spaces after the dict; padded to 64 bytes).
 * BF16 is written as '<V2' and F8_* as '<V1', as ml_dtypes does. *bytes is malloc'd. */
saraphis_status_t npy_build_header(saraphis_dtype_t dtype, uint32_t ndim, const uint64_t *shape,
                                   uint8_t **bytes, size_t *size);

/* The descr NumPy writes for dtype ("<f4", "|u1", "<V2" for BF16); NULL when unknown. */
const char *npy_descr_for_dtype(saraphis_dtype_t dtype);

#endif
