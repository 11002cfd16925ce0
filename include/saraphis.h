/* saraphis.h: the public API of Saraphis, compression of neural-network tensors.
 *
 * Nouns: a *tensor codec* turns one tensor's bytes into a self-contained compressed *frame*
 * (saraphis_compress / saraphis_decompress); the *.sps container* holds many named tensors with an
 * index (saraphis_writer_* / saraphis_reader_*); a *context* carries threads and parameters.
 *
 * Errors: every fallible call returns a saraphis_status_t. The message that goes with the last
 * failure on the calling thread (file, tensor, chunk, field) is returned by saraphis_last_error().
 *
 * Thread-safety: functions that take a handle may be called from many threads only on different
 * handles; functions without a handle are thread-safe.
 */
#ifndef SARAPHIS_H
#define SARAPHIS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SARAPHIS_API __attribute__((visibility("default")))
#else
#define SARAPHIS_API
#endif

#define SARAPHIS_VERSION_MAJOR 0
#define SARAPHIS_VERSION_MINOR 1
#define SARAPHIS_VERSION_PATCH 0
#define SARAPHIS_VERSION_NUMBER \
    (SARAPHIS_VERSION_MAJOR * 10000 + SARAPHIS_VERSION_MINOR * 100 + SARAPHIS_VERSION_PATCH)
SARAPHIS_API unsigned saraphis_version_number(void);
SARAPHIS_API const char *saraphis_version_string(void);

/* ---------------------------------------------------------------------------------------------
 * Status codes. Values are stable: they are also the command-line tool's exit codes (see
 * docs/cli.md), so new codes are only ever appended.
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    SARAPHIS_OK = 0,
    SARAPHIS_ERROR_INVALID_ARGUMENT = 2, /* a parameter is out of its range or inconsistent */
    SARAPHIS_ERROR_IO = 3,               /* open/read/write/fsync/rename failed */
    SARAPHIS_ERROR_OUT_OF_MEMORY = 4,
    SARAPHIS_ERROR_TRUNCATED = 5,        /* input ends before a structure it announces */
    SARAPHIS_ERROR_CORRUPT = 6,          /* a field holds an impossible value */
    SARAPHIS_ERROR_CHECKSUM = 7,         /* stored and computed checksums differ */
    SARAPHIS_ERROR_UNSUPPORTED = 8,      /* a format version or feature this build lacks */
    SARAPHIS_ERROR_BAD_INPUT_FORMAT = 9, /* a safetensors/.npy/raw input is malformed */
    SARAPHIS_ERROR_DTYPE = 10,           /* unknown dtype, or size not a multiple of it */
    SARAPHIS_ERROR_BUFFER_TOO_SMALL = 11,
    SARAPHIS_ERROR_LIMIT = 12,           /* a size exceeds what this build accepts */
    SARAPHIS_ERROR_NOT_FOUND = 13,       /* a named tensor is not in the file */
    SARAPHIS_ERROR_THREAD = 14,          /* a thread could not be created */
    SARAPHIS_ERROR_GPU = 15,             /* a CUDA call failed */
    SARAPHIS_ERROR_STATE = 16            /* a call out of order (after shutdown, say) */
} saraphis_status_t;

/* A short stable name for a status ("checksum", "truncated", ...). Never NULL. */
SARAPHIS_API const char *saraphis_status_name(saraphis_status_t status);
/* The message of the last failure on this thread; "" when none. Valid until the next call. */
SARAPHIS_API const char *saraphis_last_error(void);

/* ---------------------------------------------------------------------------------------------
 * Data types. Names follow safetensors ("F32", "BF16", ...).
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    SARAPHIS_DTYPE_UNKNOWN = 0,
    SARAPHIS_DTYPE_F32 = 1,
    SARAPHIS_DTYPE_F16 = 2,
    SARAPHIS_DTYPE_BF16 = 3,
    SARAPHIS_DTYPE_F64 = 4,
    SARAPHIS_DTYPE_F8_E4M3 = 5,
    SARAPHIS_DTYPE_F8_E5M2 = 6,
    SARAPHIS_DTYPE_I8 = 7,
    SARAPHIS_DTYPE_U8 = 8,
    SARAPHIS_DTYPE_I16 = 9,
    SARAPHIS_DTYPE_U16 = 10,
    SARAPHIS_DTYPE_I32 = 11,
    SARAPHIS_DTYPE_U32 = 12,
    SARAPHIS_DTYPE_I64 = 13,
    SARAPHIS_DTYPE_U64 = 14,
    SARAPHIS_DTYPE_BOOL = 15,
    SARAPHIS_DTYPE_COUNT_ = 16
} saraphis_dtype_t;

SARAPHIS_API size_t saraphis_dtype_size(saraphis_dtype_t dtype);          /* 0 when unknown */
SARAPHIS_API const char *saraphis_dtype_name(saraphis_dtype_t dtype);     /* "F32", ... */
SARAPHIS_API saraphis_dtype_t saraphis_dtype_from_name(const char *name); /* case-insensitive */

/* ---------------------------------------------------------------------------------------------
 * Tensor codec: one tensor's bytes <-> one self-contained, checksummed frame.
 * ------------------------------------------------------------------------------------------- */
typedef enum {
    SARAPHIS_CODEC_LOSSLESS = 1, /* sign/exponent/mantissa channels, rANS on what carries entropy */
    SARAPHIS_CODEC_STORED = 2    /* bytes kept as they are (still checksummed) */
} saraphis_codec_t;

/* Parameters, set one by one; saraphis_param_bounds() tells each one's range. */
typedef enum {
    SARAPHIS_PARAM_CODEC = 1,        /* saraphis_codec_t; default LOSSLESS */
    SARAPHIS_PARAM_CHUNK_BYTES = 2,  /* raw bytes per independent chunk; default 256 KiB */
    SARAPHIS_PARAM_THREADS = 3,      /* worker threads; 0 = all cores; default 1 */
    SARAPHIS_PARAM_CONTENT_CHECKSUM = 4 /* 1: also checksum decoded bytes; default 1 */
} saraphis_param_t;

typedef struct saraphis_ctx_s saraphis_ctx_t; /* opaque */

SARAPHIS_API saraphis_ctx_t *saraphis_ctx_create(void);
SARAPHIS_API void saraphis_ctx_free(saraphis_ctx_t *ctx); /* NULL does nothing */
SARAPHIS_API saraphis_status_t saraphis_ctx_set_param(saraphis_ctx_t *ctx, saraphis_param_t param,
                                                      int64_t value);
SARAPHIS_API saraphis_status_t saraphis_ctx_get_param(const saraphis_ctx_t *ctx,
                                                      saraphis_param_t param, int64_t *value);
SARAPHIS_API saraphis_status_t saraphis_param_bounds(saraphis_param_t param, int64_t *lower,
                                                     int64_t *upper);

/* Largest frame saraphis_compress can write for src_size input bytes. */
SARAPHIS_API size_t saraphis_compress_bound(size_t src_size, size_t chunk_bytes);

/* Compress src_size bytes of dtype elements into dst. src_size must be a multiple of the dtype's
 * size. Output bytes depend only on input and parameters, never on the thread count. */
SARAPHIS_API saraphis_status_t saraphis_compress(saraphis_ctx_t *ctx, saraphis_dtype_t dtype,
                                                 const void *src, size_t src_size, void *dst,
                                                 size_t dst_capacity, size_t *dst_size);

/* Facts a frame header tells without decoding. */
typedef struct {
    saraphis_dtype_t dtype;
    saraphis_codec_t codec;
    uint64_t raw_size;
    uint64_t compressed_size;
    uint32_t chunk_count;
    uint32_t chunk_bytes;
} saraphis_frame_info_t;

SARAPHIS_API saraphis_status_t saraphis_frame_info(const void *src, size_t src_size,
                                                   saraphis_frame_info_t *info);

/* Decompress a whole frame; every chunk's checksum is verified first. */
SARAPHIS_API saraphis_status_t saraphis_decompress(saraphis_ctx_t *ctx, const void *src,
                                                   size_t src_size, void *dst, size_t dst_capacity,
                                                   size_t *dst_size);

/* ---------------------------------------------------------------------------------------------
 * The .sps container (docs/format.md): many named tensors, an index at the end, every chunk and
 * the index checksummed; written and read as a stream. Writes go to a temporary file that is
 * fsync'ed and renamed over the destination by saraphis_writer_finish().
 * ------------------------------------------------------------------------------------------- */
#define SARAPHIS_MAX_DIMS 16
#define SARAPHIS_MAX_NAME 1024

typedef struct {
    const char *name;
    saraphis_dtype_t dtype;
    uint32_t ndim;
    uint64_t shape[SARAPHIS_MAX_DIMS];
} saraphis_tensor_desc_t;

typedef struct saraphis_writer_s saraphis_writer_t;
typedef struct saraphis_reader_s saraphis_reader_t;

/* ctx supplies codec, chunk size and threads; it must outlive the writer. */
SARAPHIS_API saraphis_status_t saraphis_writer_open(saraphis_writer_t **writer, const char *path,
                                                    saraphis_ctx_t *ctx);
/* Adds a tensor from memory. */
SARAPHIS_API saraphis_status_t saraphis_writer_add_tensor(saraphis_writer_t *writer,
                                                          const saraphis_tensor_desc_t *desc,
                                                          const void *data, size_t size);
/* Adds a tensor read from an open file descriptor at offset (streamed, chunk batch by batch). */
SARAPHIS_API saraphis_status_t saraphis_writer_add_tensor_fd(saraphis_writer_t *writer,
                                                             const saraphis_tensor_desc_t *desc,
                                                             int fd, uint64_t offset,
                                                             uint64_t size);
/* User metadata, kept as key/value strings. */
SARAPHIS_API saraphis_status_t saraphis_writer_set_metadata(saraphis_writer_t *writer,
                                                            const char *key, const char *value);
/* Writes the index and footer, fsyncs and renames into place. */
SARAPHIS_API saraphis_status_t saraphis_writer_finish(saraphis_writer_t *writer);
/* Frees; if finish was not called (or failed), the temporary file is removed: the destination
 * is left as it was. NULL does nothing. */
SARAPHIS_API void saraphis_writer_free(saraphis_writer_t *writer);

typedef struct {
    const char *name;
    saraphis_dtype_t dtype;
    saraphis_codec_t codec;
    uint32_t ndim;
    uint64_t shape[SARAPHIS_MAX_DIMS];
    uint64_t raw_size;
    uint64_t compressed_size;
    uint32_t chunk_count;
} saraphis_tensor_info_t;

SARAPHIS_API saraphis_status_t saraphis_reader_open(saraphis_reader_t **reader, const char *path,
                                                    saraphis_ctx_t *ctx);
SARAPHIS_API void saraphis_reader_free(saraphis_reader_t *reader); /* NULL does nothing */
SARAPHIS_API size_t saraphis_reader_tensor_count(const saraphis_reader_t *reader);
SARAPHIS_API saraphis_status_t saraphis_reader_tensor_info(const saraphis_reader_t *reader,
                                                           size_t index,
                                                           saraphis_tensor_info_t *info);
SARAPHIS_API saraphis_status_t saraphis_reader_find(const saraphis_reader_t *reader,
                                                    const char *name, size_t *index);
/* Decodes one tensor into dst (dst_capacity >= raw_size), reading only its chunks. */
SARAPHIS_API saraphis_status_t saraphis_reader_read_tensor(saraphis_reader_t *reader, size_t index,
                                                           void *dst, size_t dst_capacity);
/* Decodes one tensor and writes it to fd at its current position, batch by batch. */
SARAPHIS_API saraphis_status_t saraphis_reader_write_tensor_fd(saraphis_reader_t *reader,
                                                               size_t index, int fd);
/* Checks every checksum of every tensor without writing anything. */
SARAPHIS_API saraphis_status_t saraphis_reader_verify(saraphis_reader_t *reader);
SARAPHIS_API size_t saraphis_reader_metadata_count(const saraphis_reader_t *reader);
SARAPHIS_API saraphis_status_t saraphis_reader_metadata(const saraphis_reader_t *reader,
                                                        size_t index, const char **key,
                                                        const char **value);
/* Looks up a metadata value by key; NULL when absent. */
SARAPHIS_API const char *saraphis_reader_metadata_get(const saraphis_reader_t *reader,
                                                      const char *key);

/* Progress callback for long work: done and total are bytes. Called from the calling thread. */
typedef void (*saraphis_progress_fn)(void *user, uint64_t done, uint64_t total);
SARAPHIS_API void saraphis_ctx_set_progress(saraphis_ctx_t *ctx, saraphis_progress_fn fn,
                                            void *user);

#ifdef __cplusplus
}
#endif
#endif /* SARAPHIS_H */
