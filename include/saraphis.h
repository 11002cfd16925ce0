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
    SARAPHIS_CODEC_STORED = 2,   /* bytes kept as they are (still checksummed) */
    SARAPHIS_CODEC_BOUNDED = 3   /* lossy with a guaranteed maximum error (p-adic, docs/padic.md);
                                    set with saraphis_ctx_set_error_bound */
} saraphis_codec_t;

/* Parameters, set one by one; saraphis_param_bounds() tells each one's range. */
typedef enum {
    SARAPHIS_PARAM_CODEC = 1,        /* saraphis_codec_t; default LOSSLESS */
    SARAPHIS_PARAM_CHUNK_BYTES = 2,  /* raw bytes per independent chunk; default 256 KiB */
    SARAPHIS_PARAM_THREADS = 3,      /* worker threads; 0 = all cores; default 1 */
    SARAPHIS_PARAM_CONTENT_CHECKSUM = 4, /* 1: also checksum decoded bytes; default 1 */
    /* What a decode verifies (CPU and GPU decoders, .sps reader). 1 (default): every record's
     * checksum before it is decoded, and its content checksum after. 0: a record that carries a
     * content checksum and is decoded whole is verified by that checksum alone, as zstd verifies
     * its frames: every decoded byte is still checked, so no changed output passes. A change to
     * the compressed bytes fails as the content mismatch (CHECKSUM) or as the structure the
     * decoder rejects (CORRUPT, TRUNCATED) rather than as a record checksum mismatch, and one that
     * leaves the output as it was (the record's checksum field, a byte the decoder ignores)
     * decodes. The decoders take any input safely. Records without a content checksum,
     * progressive decodes to fewer planes and saraphis_reader_verify still verify record
     * checksums. It saves reading the compressed bytes twice (docs/gpu.md gives the figures). */
    SARAPHIS_PARAM_VERIFY_RECORDS = 5
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

/* Error-bounded compression (SARAPHIS_CODEC_BOUNDED): after decoding, every finite element x'
 * of a float tensor (F32, F64, F16, BF16) differs from the original x by at most eps, and every
 * other element (NaN, Inf, values the codec cannot code within eps) is restored exactly. eps
 * comes from the bound per tensor:
 *   ABSOLUTE        eps = bound
 *   RELATIVE_RANGE  eps = bound * (max - min) of the tensor's finite elements
 *   RELATIVE_STD    eps = bound * their standard deviation (population)
 * A tensor whose range or deviation is 0 (constant), and every tensor of another dtype, is
 * compressed LOSSLESS instead; the .sps index records the codec each tensor got. */
typedef enum {
    SARAPHIS_BOUND_ABSOLUTE = 1,
    SARAPHIS_BOUND_RELATIVE_RANGE = 2,
    SARAPHIS_BOUND_RELATIVE_STD = 3
} saraphis_bound_mode_t;

/* Sets the bound and switches the context's codec to SARAPHIS_CODEC_BOUNDED. prime: the base of
 * the digits (0 = 251, the default; any prime from 2 to 251); precision: base-prime digits per
 * value (0 = the smallest that holds each tensor's largest value at its eps; otherwise 1 to the
 * prime's maximum, 6 for 251, 40 for 2; values beyond it are stored exactly). An unknown mode, a
 * bound that is not a finite number > 0, a prime that is not a prime from 2 to 251 or a precision
 * too large give SARAPHIS_ERROR_INVALID_ARGUMENT with a message naming the parameter, and leave
 * the context as it was. */
SARAPHIS_API saraphis_status_t saraphis_ctx_set_error_bound(saraphis_ctx_t *ctx, saraphis_bound_mode_t mode,
                                                            double bound, unsigned prime, unsigned precision);
/* What saraphis_ctx_set_error_bound set (prime as given, 0 = default); INVALID_ARGUMENT when no
 * bound was set. Any pointer may be NULL. */
SARAPHIS_API saraphis_status_t saraphis_ctx_get_error_bound(const saraphis_ctx_t *ctx, saraphis_bound_mode_t *mode,
                                                            double *bound, unsigned *prime, unsigned *precision);

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

/* Progressive decode of a frame: every bounded (p-adic) chunk to its top `planes` base-prime digit
 * planes only (0, or >= a chunk's precision: all of them); lossless and stored chunks decode
 * whole. Each chunk's bytes are those of the codec's progressive decode (docs/padic.md, section
 * 4); planes 0 gives saraphis_decompress's output. The whole frame is in memory, so every record
 * checksum is still verified; the content checksum covers the exact output, so it is checked only
 * for chunks decoded whole (with fewer planes a flipped bit is still caught by the record
 * checksum). *bound_out (may be NULL) gets the bound every finite element then meets: the largest
 * over the chunks of (2 * prime^(precision - planes) + 3) * eps, or eps where every plane is
 * decoded, 0 for an exact chunk (a frame with no bounded chunk gives 0). */
SARAPHIS_API saraphis_status_t saraphis_decompress_planes(saraphis_ctx_t *ctx, const void *src,
                                                          size_t src_size, unsigned planes,
                                                          void *dst, size_t dst_capacity,
                                                          size_t *dst_size, double *bound_out);

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
    /* The bounded codec's parameters (codec SARAPHIS_CODEC_BOUNDED); all zero for exact codecs. */
    saraphis_bound_mode_t error_bound_mode;
    double error_bound; /* as requested (absolute, or the fraction of range / std) */
    double eps;         /* the absolute bound every finite element meets */
    double max_error;   /* the largest error measured over the tensor when it was written */
    unsigned prime;
    unsigned precision;
    uint64_t escapes;   /* elements stored exactly inside bounded records */
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
/* Progressive read of a bounded tensor: decodes only the top `planes` base-prime digit planes
 * (0 or >= the tensor's precision: all of them), reading from the file only the bytes of each
 * record those planes need. *bound_out (may be NULL) gets the bound every finite element then
 * meets: (2 * prime^(precision - planes) + 3) * eps, or eps for all planes, or 0 for a tensor
 * stored exactly (which is read whole). A part of a record cannot be checked against the
 * record's checksum, which covers the whole record: the codec's header checksum and the
 * checksum of every plane read are checked instead (saraphis_reader_verify checks whole
 * records). */
SARAPHIS_API saraphis_status_t saraphis_reader_read_tensor_planes(saraphis_reader_t *reader, size_t index,
                                                                  unsigned planes, void *dst,
                                                                  size_t dst_capacity, double *bound_out);
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

/* ---------------------------------------------------------------------------------------------
 * GPU codec (CUDA): the same frames as saraphis_compress / saraphis_decompress, byte for byte,
 * encoded from and decoded into device memory on the caller's CUDA stream (cuda_stream is a
 * cudaStream_t; NULL is the legacy default stream). Frames and buffers named d_* are device
 * pointers of the current device; d_dst must be aligned to the dtype's size. Each call returns
 * when its work on the stream is done (the status needs the result). Device scratch memory is
 * kept in the context and reused; saraphis_ctx_free releases it.
 *
 * Errors: SARAPHIS_ERROR_GPU (no CUDA device, a failed launch or copy), OUT_OF_MEMORY (device
 * memory), CORRUPT / CHECKSUM / TRUNCATED naming the chunk (found on the GPU, same codes as the
 * CPU decoder). A build without CUDA returns SARAPHIS_ERROR_UNSUPPORTED. On any decode failure the
 * destination's contents are unspecified.
 *
 * Thread-safety: as every handle call, one thread at a time per context.
 * ------------------------------------------------------------------------------------------- */
/* 1 when this build has the CUDA backend and a CUDA device is visible, else 0. */
SARAPHIS_API int saraphis_gpu_available(void);

/* Decodes a frame held in device memory into d_dst (device memory); *dst_size gets its size. */
SARAPHIS_API saraphis_status_t saraphis_gpu_decompress(saraphis_ctx_t *ctx, const void *d_frame,
                                                       size_t frame_size, void *d_dst,
                                                       size_t dst_capacity, size_t *dst_size,
                                                       void *cuda_stream);

/* saraphis_decompress_planes on the device: a frame in device memory decoded into d_dst with
 * every bounded chunk's top `planes` digit planes only (0, or >= a chunk's precision: all, and the
 * call is saraphis_gpu_decompress). Byte for byte saraphis_decompress_planes's output and
 * *bound_out (may be NULL), the same checks (every record checksum; content checksums of the
 * chunks decoded whole) and, for a corrupt record, the same code naming the chunk. The device
 * parses, checksums and decodes only the planes asked for. */
SARAPHIS_API saraphis_status_t saraphis_gpu_decompress_planes(saraphis_ctx_t *ctx, const void *d_frame,
                                                              size_t frame_size, unsigned planes,
                                                              void *d_dst, size_t dst_capacity,
                                                              size_t *dst_size, double *bound_out,
                                                              void *cuda_stream);

/* Decodes a frame held in host memory (pageable or pinned) into d_dst (device memory). The
 * records go to the device in groups of about 16 MiB, through two pinned staging slots (or
 * straight from the caller's memory when it is pinned), and each group is decoded as soon as it
 * has arrived while the next is copied: the bus carries the compressed bytes, not the raw ones.
 * Device memory for the frame and the pinned slots are kept in the context. */
SARAPHIS_API saraphis_status_t saraphis_gpu_decompress_host(saraphis_ctx_t *ctx, const void *frame,
                                                            size_t frame_size, void *d_dst,
                                                            size_t dst_capacity, size_t *dst_size,
                                                            void *cuda_stream);

/* Decodes count frames in one pass (one launch per kernel for all of them; what small tensors
 * need). dst_sizes may be NULL. Returns OK or the first failing frame's status (its message names
 * the frame and chunk). */
SARAPHIS_API saraphis_status_t saraphis_gpu_decompress_batch(
    saraphis_ctx_t *ctx, size_t count, const void *const *d_frames, const size_t *frame_sizes,
    void *const *d_dsts, const size_t *dst_capacities, size_t *dst_sizes, void *cuda_stream);

/* Encodes src_size bytes of dtype elements at d_src (device memory, aligned to the dtype's size)
 * into a frame at d_dst (device memory, at least saraphis_compress_bound bytes is always enough).
 * The frame is byte-identical to saraphis_compress's for the same input and context parameters
 * (codec, chunk_bytes, content_checksum, and for BOUNDED the error bound). LOSSLESS and STORED
 * are encoded on the device (the host plans each chunk from statistics gathered there, on the
 * context's threads; device scratch of about twice src_size is kept in the context). BOUNDED is
 * encoded on the device too (scratch of up to about 8 x src_size) when every magnitude fits 32
 * bits (prime^precision <= 2^31: prime 251 with up to 3 digits, the usual setting); otherwise,
 * or when the device cannot hold its scratch, the input is copied back, saraphis_compress encodes
 * it and the frame is copied over (docs/gpu.md). A destination too small for the frame gives
 * SARAPHIS_ERROR_BUFFER_TOO_SMALL with nothing written to it. */
SARAPHIS_API saraphis_status_t saraphis_gpu_compress(saraphis_ctx_t *ctx, saraphis_dtype_t dtype,
                                                     const void *d_src, size_t src_size,
                                                     void *d_dst, size_t dst_capacity,
                                                     size_t *dst_size, void *cuda_stream);

/* Encodes src_size bytes of dtype elements at src (host memory, pageable or pinned) into a frame
 * at dst (host memory), on the device: the frame of saraphis_gpu_compress (and saraphis_compress)
 * byte for byte. The input goes to the device in groups of whole chunks (about 16 MiB), through
 * two pinned staging slots (or straight from the caller's memory when it is pinned), and each
 * group's statistics and histograms start as soon as it has arrived, while the next is copied;
 * the frame comes back once it is complete. The bounded codec copies the whole tensor over first
 * (its bound needs all of it). Device memory for the input and the frame (about twice src_size)
 * and the pinned slots are kept in the context, beside saraphis_gpu_compress's scratch. A
 * destination too small for the frame gives SARAPHIS_ERROR_BUFFER_TOO_SMALL with nothing written
 * to it. */
SARAPHIS_API saraphis_status_t saraphis_gpu_compress_host(saraphis_ctx_t *ctx, saraphis_dtype_t dtype,
                                                          const void *src, size_t src_size, void *dst,
                                                          size_t dst_capacity, size_t *dst_size,
                                                          void *cuda_stream);

/* =============================================================================================
 * Coordinator: one configuration, one compress/decompress entry point, status and statistics
 * (docs/coordinator.md). Tensors come in as DLPack DLTensors, so a caller (PyTorch, CuPy, NumPy
 * through their DLPack exports) passes its own tensor without a copy.
 * ============================================================================================= */

/* ---------------------------------------------------------------------------------------------
 * DLPack ABI (v0.8 / v1.0 layouts; dtype codes of v1.1 for FP8). Our own declaration of the
 * public structs, layout-compatible with dlpack.h. When dlpack.h was included first its
 * declarations are used; otherwise ours stand in and define its include guard, so including
 * dlpack.h afterwards is harmless (include it first if you need enumerators added after 1.1).
 * ------------------------------------------------------------------------------------------- */
#ifndef DLPACK_DLPACK_H_
#define DLPACK_DLPACK_H_
#define DLPACK_MAJOR_VERSION 1
#define DLPACK_MINOR_VERSION 0

typedef struct {
    uint32_t major;
    uint32_t minor;
} DLPackVersion;

typedef enum {
    kDLCPU = 1,
    kDLCUDA = 2,
    kDLCUDAHost = 3, /* pinned host memory (cudaMallocHost) */
    kDLOpenCL = 4,
    kDLVulkan = 7,
    kDLMetal = 8,
    kDLVPI = 9,
    kDLROCM = 10,
    kDLROCMHost = 11,
    kDLExtDev = 12,
    kDLCUDAManaged = 13, /* cudaMallocManaged */
    kDLOneAPI = 14,
    kDLWebGPU = 15,
    kDLHexagon = 16
} DLDeviceType;

typedef struct {
    DLDeviceType device_type;
    int32_t device_id;
} DLDevice;

typedef enum {
    kDLInt = 0U,
    kDLUInt = 1U,
    kDLFloat = 2U,
    kDLOpaqueHandle = 3U,
    kDLBfloat = 4U,
    kDLComplex = 5U,
    kDLBool = 6U,
    kDLFloat8_e4m3fn = 10U, /* DLPack 1.1 */
    kDLFloat8_e5m2 = 12U    /* DLPack 1.1 */
} DLDataTypeCode;

typedef struct {
    uint8_t code;   /* a DLDataTypeCode */
    uint8_t bits;
    uint16_t lanes;
} DLDataType;

typedef struct {
    void *data;           /* the allocation; the elements start at data + byte_offset */
    DLDevice device;
    int32_t ndim;
    DLDataType dtype;
    int64_t *shape;       /* ndim entries */
    int64_t *strides;     /* ndim entries, in elements; NULL: compact row-major */
    uint64_t byte_offset;
} DLTensor;

typedef struct DLManagedTensor {
    DLTensor dl_tensor;
    void *manager_ctx;
    void (*deleter)(struct DLManagedTensor *self);
} DLManagedTensor;

#define DLPACK_FLAG_BITMASK_READ_ONLY (1UL << 0UL)
#define DLPACK_FLAG_BITMASK_IS_COPIED (1UL << 1UL)

typedef struct DLManagedTensorVersioned {
    DLPackVersion version;
    void *manager_ctx;
    void (*deleter)(struct DLManagedTensorVersioned *self);
    uint64_t flags;
    DLTensor dl_tensor;
} DLManagedTensorVersioned;
#endif /* DLPACK_DLPACK_H_ */

/* Maps a DLPack dtype to ours: lanes must be 1; float 16/32/64, bfloat 16, int and uint
 * 8/16/32/64, bool 8, float8 e4m3fn/e5m2. Anything else is SARAPHIS_DTYPE_UNKNOWN. */
SARAPHIS_API saraphis_dtype_t saraphis_dtype_from_dlpack(DLDataType dtype);
SARAPHIS_API DLDataType saraphis_dtype_to_dlpack(saraphis_dtype_t dtype);

/* ---------------------------------------------------------------------------------------------
 * Configuration: every field of the seeds' SystemConfiguration and CPUBurstingConfig plus the
 * coordinator's own, in one table (docs/coordinator.md lists each with type, default, range,
 * environment variable and component). Values are set and read by field name as text, parsed by
 * the field's type ("true"/"false"/"1"/"0" for booleans, numbers, enum names, "0,1,2" for lists).
 *
 * Precedence: every field remembers where its value came from, and a source never overrides a
 * higher one: default < JSON file < environment < saraphis_config_set. So the order of the
 * calls does not matter. Nested JSON keys name fields with a dot ("swap_thresholds.low").
 *
 * Validation: a value outside its field's range is SARAPHIS_ERROR_INVALID_ARGUMENT naming the
 * field (or the environment variable) and the allowed range; load_json and apply_env are all or
 * nothing (on failure the configuration is unchanged). Rules between fields (swap thresholds in
 * order) are checked by saraphis_config_validate, which saraphis_system_create calls.
 *
 * Thread-safety: a configuration is not thread-safe; use one from one thread at a time.
 * ------------------------------------------------------------------------------------------- */
typedef struct saraphis_config_s saraphis_config_t;

typedef enum {
    SARAPHIS_SOURCE_DEFAULT = 0,
    SARAPHIS_SOURCE_JSON = 1,
    SARAPHIS_SOURCE_ENV = 2,
    SARAPHIS_SOURCE_API = 3
} saraphis_config_source_t;

typedef struct {
    const char *name;          /* "gpu_memory_limit_mb" */
    const char *type;          /* "bool", "int", "double", "enum", "int_list" */
    const char *default_value; /* as text */
    double lower, upper;       /* numeric range (int, double; int_list: each element) */
    const char *choices;       /* enum: "a|b|c"; NULL otherwise */
    const char *env;           /* "SARAPHIS_GPU_MEMORY_LIMIT_MB" */
    const char *component;     /* "coordinator", "auto_swap", ... */
    const char *description;
} saraphis_config_field_t;

SARAPHIS_API saraphis_config_t *saraphis_config_create(void); /* all defaults; NULL: no memory */
SARAPHIS_API saraphis_config_t *saraphis_config_clone(const saraphis_config_t *config);
SARAPHIS_API void saraphis_config_free(saraphis_config_t *config); /* NULL does nothing */
SARAPHIS_API saraphis_status_t saraphis_config_set(saraphis_config_t *config, const char *field,
                                                   const char *value);
/* Writes the value as text (the form set accepts) into buffer. BUFFER_TOO_SMALL when it does
 * not fit; NOT_FOUND for an unknown field. */
SARAPHIS_API saraphis_status_t saraphis_config_get(const saraphis_config_t *config,
                                                   const char *field, char *buffer,
                                                   size_t capacity);
SARAPHIS_API saraphis_status_t saraphis_config_source(const saraphis_config_t *config,
                                                      const char *field,
                                                      saraphis_config_source_t *source);
SARAPHIS_API const char *saraphis_config_source_name(saraphis_config_source_t source);
/* Every field, in table order. */
SARAPHIS_API size_t saraphis_config_field_count(void);
SARAPHIS_API const saraphis_config_field_t *saraphis_config_field_at(size_t index);
SARAPHIS_API const saraphis_config_field_t *saraphis_config_field_find(const char *name);
/* A JSON object of fields (nested one level for dotted names). Unknown keys, wrong types and
 * out-of-range values are errors naming the key. */
SARAPHIS_API saraphis_status_t saraphis_config_load_json(saraphis_config_t *config,
                                                         const char *path);
SARAPHIS_API saraphis_status_t saraphis_config_parse_json(saraphis_config_t *config,
                                                          const char *text, size_t length);
/* Every field; written to a temporary file, fsync'ed and renamed over path. */
SARAPHIS_API saraphis_status_t saraphis_config_save_json(const saraphis_config_t *config,
                                                         const char *path);
/* The same text; free() it. */
SARAPHIS_API saraphis_status_t saraphis_config_to_json(const saraphis_config_t *config,
                                                       char **json);
/* Reads each field's SARAPHIS_* variable (unset or empty: ignored). */
SARAPHIS_API saraphis_status_t saraphis_config_apply_env(saraphis_config_t *config);
SARAPHIS_API saraphis_status_t saraphis_config_validate(const saraphis_config_t *config);

/* ---------------------------------------------------------------------------------------------
 * The system: a bounded queue ordered by priority then arrival, served by worker threads that
 * each own a codec context. compress = enqueue + wait, so priorities decide the order under load.
 *
 * Thread-safety: every saraphis_system_* call except saraphis_system_free may be made from many
 * threads at once on the same system. Results are owned by the caller (one thread at a time).
 * ------------------------------------------------------------------------------------------- */
typedef struct saraphis_system_s saraphis_system_t;
typedef struct saraphis_result_s saraphis_result_t;

typedef enum { /* served in this order; arrival order within a priority */
    SARAPHIS_PRIORITY_CRITICAL = 0,
    SARAPHIS_PRIORITY_HIGH = 1,
    SARAPHIS_PRIORITY_MEDIUM = 2,
    SARAPHIS_PRIORITY_LOW = 3,
    SARAPHIS_PRIORITY_IDLE = 4
} saraphis_priority_t;

typedef enum {
    SARAPHIS_STRATEGY_THROUGHPUT = 0,
    SARAPHIS_STRATEGY_LATENCY = 1,
    SARAPHIS_STRATEGY_MEMORY = 2,
    SARAPHIS_STRATEGY_BALANCED = 3,
    SARAPHIS_STRATEGY_ADAPTIVE = 4
} saraphis_strategy_t;

typedef enum {
    SARAPHIS_MODE_CPU = 0,
    SARAPHIS_MODE_GPU = 1,
    SARAPHIS_MODE_HYBRID = 2
} saraphis_mode_t;

SARAPHIS_API const char *saraphis_priority_name(saraphis_priority_t priority); /* "critical" */
SARAPHIS_API const char *saraphis_strategy_name(saraphis_strategy_t strategy); /* "throughput" */
SARAPHIS_API const char *saraphis_mode_name(saraphis_mode_t mode);             /* "cpu" */
/* Case-insensitive names; INVALID_ARGUMENT listing the names otherwise. */
SARAPHIS_API saraphis_status_t saraphis_priority_from_name(const char *name,
                                                           saraphis_priority_t *priority);
SARAPHIS_API saraphis_status_t saraphis_strategy_from_name(const char *name,
                                                           saraphis_strategy_t *strategy);

/* config NULL: defaults. The configuration is copied, the environment layered on the copy
 * (saraphis_config_apply_env, with its precedence) and the copy validated. */
SARAPHIS_API saraphis_status_t saraphis_system_create(saraphis_system_t **system,
                                                      const saraphis_config_t *config);

/* Compresses one tensor. The tensor must be on a host-readable device (kDLCPU, kDLCUDAHost,
 * kDLCUDAManaged; kDLCUDA input is UNSUPPORTED: compression reads host memory) and stay valid until the
 * call returns. Strided tensors are gathered into a compact copy first (negative strides are
 * refused). metadata_json: NULL or a JSON object; known keys model_name (string), layer
 * (integer or string), require_gpu, require_cpu (bool), size_mb (number, the size routing
 * assumes); other keys are kept in the result. *out is the caller's (saraphis_result_free). */
SARAPHIS_API saraphis_status_t saraphis_system_compress(saraphis_system_t *system,
                                                        const DLTensor *tensor,
                                                        saraphis_priority_t priority,
                                                        const char *metadata_json,
                                                        saraphis_result_t **out);
/* Compresses count tensors concurrently (all enqueued, then all awaited). metadata_json may be
 * NULL or hold NULLs. results[i] is NULL where item i failed; statuses (may be NULL) gets each
 * item's status. Returns OK when all succeeded, else the first failing item's status (its
 * message names the item). */
SARAPHIS_API saraphis_status_t saraphis_system_compress_batch(
    saraphis_system_t *system, const DLTensor *const *tensors, size_t count,
    saraphis_priority_t priority, const char *const *metadata_json, saraphis_result_t **results,
    saraphis_status_t *statuses);

/* Decompresses a frame into a new tensor on `device`: kDLCPU, or kDLCUDA in a CUDA build with a
 * device (decoded on the GPU; bounded frames are decoded on the CPU and copied; the deleter
 * cudaFree's); without a usable GPU, kDLCUDA is UNSUPPORTED naming the reason. shape (ndim
 * entries) may be NULL for a 1-D tensor; its element count must match the frame's. The caller
 * calls (*out)->deleter(*out) to free it. */
SARAPHIS_API saraphis_status_t saraphis_system_decompress(saraphis_system_t *system,
                                                          const void *bytes, size_t size,
                                                          DLDevice device,
                                                          const int64_t *shape, int32_t ndim,
                                                          saraphis_priority_t priority,
                                                          DLManagedTensor **out);
/* Decompresses into the caller's tensor (dtype and element count must match the frame's;
 * strided host destinations are scattered into; a kDLCUDA destination must be contiguous). */
SARAPHIS_API saraphis_status_t saraphis_system_decompress_into(saraphis_system_t *system,
                                                               const void *bytes, size_t size,
                                                               const DLTensor *destination,
                                                               saraphis_priority_t priority);

/* Switches strategy at run time; requests already running finish with the old settings. */
SARAPHIS_API saraphis_status_t saraphis_system_optimize(saraphis_system_t *system,
                                                        saraphis_strategy_t strategy);
/* Status and statistics as JSON (schema in docs/coordinator.md); free() *json. Works after
 * shutdown too (state "stopped"). */
SARAPHIS_API saraphis_status_t saraphis_system_status_json(saraphis_system_t *system,
                                                           char **json);
/* The same figures in the Prometheus text exposition format (version 0.0.4); free() *text. */
SARAPHIS_API saraphis_status_t saraphis_system_metrics_prometheus(saraphis_system_t *system,
                                                                  char **text);
/* Refuses new work (STATE), waits for every request already accepted to finish (their callers
 * get their results), stops the threads. Idempotent; concurrent calls all wait. */
SARAPHIS_API saraphis_status_t saraphis_system_shutdown(saraphis_system_t *system);
/* Shuts down if needed and frees. Must not race with other calls. NULL does nothing. */
SARAPHIS_API void saraphis_system_free(saraphis_system_t *system);

/* Results. */
typedef struct {
    uint64_t queue_ns;  /* accepted -> a worker took it */
    uint64_t gather_ns; /* strided tensor gathered into a compact buffer (0 when contiguous) */
    uint64_t codec_ns;  /* saraphis_compress itself */
    uint64_t total_ns;  /* the whole call, as the caller saw it */
} saraphis_timings_t;

SARAPHIS_API const void *saraphis_result_data(const saraphis_result_t *result); /* the frame */
SARAPHIS_API size_t saraphis_result_size(const saraphis_result_t *result);
SARAPHIS_API uint64_t saraphis_result_raw_size(const saraphis_result_t *result);
SARAPHIS_API double saraphis_result_ratio(const saraphis_result_t *result); /* raw / compressed */
SARAPHIS_API saraphis_mode_t saraphis_result_mode(const saraphis_result_t *result);
SARAPHIS_API const char *saraphis_result_codec(const saraphis_result_t *result); /* "lossless" */
SARAPHIS_API saraphis_dtype_t saraphis_result_dtype(const saraphis_result_t *result);
/* The input's shape; *shape is valid while the result lives. */
SARAPHIS_API void saraphis_result_shape(const saraphis_result_t *result, int32_t *ndim,
                                        const int64_t **shape);
SARAPHIS_API void saraphis_result_timings(const saraphis_result_t *result,
                                          saraphis_timings_t *timings);
/* Why the request ran where it ran ("cpu: no GPU (built without CUDA)"). */
SARAPHIS_API const char *saraphis_result_route_reason(const saraphis_result_t *result);
/* The request's metadata as a JSON object, unknown keys included ("{}" when none). */
SARAPHIS_API const char *saraphis_result_metadata_json(const saraphis_result_t *result);
SARAPHIS_API void saraphis_result_free(saraphis_result_t *result); /* NULL does nothing */
/* ============================ end of Coordinator ============================================ */

#ifdef __cplusplus
}
#endif
#endif /* SARAPHIS_H */
