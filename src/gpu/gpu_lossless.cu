/* The GPU codec: frames of docs/format.md decoded on a CUDA device, chunk-parallel, with the same
 * bytes in and out as the CPU (codec/chunk.c, codec/lossless.c, codec/entropy.c, codec/rans.c are
 * the reference; every rule below mirrors one there).
 *
 * Decoding a batch of frames (one frame is a batch of one):
 *   early:  for a single frame in device memory, on the side stream as soon as the header
 *           read-back is queued: a scan of its size table (one CTA) and its record checksums'
 *           segment hashes (half of every SM).
 *   host:   reads each frame's 32-byte header and size table back (one gather kernel writing into
 *           mapped pinned memory), validates them with the CPU's frame parser, counts chunks,
 *           tasks, spans and segments, and uploads one descriptor per frame.
 *   expand: one CTA per frame builds the per-chunk arrays (chunk list, decode tasks, checksum
 *           spans, segment starts, zeroed status words) from its size table.
 *   parse:  one warp per chunk walks its record (header, method, float header, every entropy
 *           stream's mode, frequency table and block sizes) with the CPU's checks, and writes the
 *           stream descriptors.
 *   decode: one CTA per group of consecutive tiles (32768 elements, one rANS block of every stream) of
 *           a chunk, one warp per tile (4 warps for 1- and 2-byte elements, 2 for 4-byte, 1 for
 *           8-byte: a 256 KiB chunk's tiles). Lane l owns symbol l of every group of 32; a lane
 *           needing a refill takes the word at (words consumed so far + refills of the lanes below
 *           it), a ballot and a popc; the words come from a register queue loaded ahead. Raw
 *           channels are staged into shared memory one window ahead with cp.async. All streams of
 *           the chunk are decoded together and merged into the output elements as they are produced,
 *           so no channel touches device memory twice.
 *           Two paths. The fast one (decode_tile_fast) takes the usual F16, BF16 and F32 layouts
 *           (exponent stream rANS, high stream rANS or raw, mantissa planes raw): one packed 32-bit
 *           slot entry per exponent step, no per-element mode branches, checks gathered over the
 *           tile, 64 registers (2-byte elements) and 26 KiB of shared memory so that eight CTAs
 *           share an SM. The generic one (decode_tile) takes every other layout (F64, rANS
 *           mantissa planes, constant or packed streams, byte planes of integer dtypes).
 *   hash:   the segment hashes of docs/format.md's checksum: a warp per 4 KiB segment (each warp a
 *           contiguous run of them), every lane's eight 16-byte loads in flight before the first
 *           multiply (from the aligned pieces around the segment when it starts unaligned, as
 *           records do). Record checksums run early (above) or on a side stream beside parse and
 *           decode. Content checksums: the fast path hashes each 4 KiB of output as soon as its
 *           last window is written, reading it back from L2 (its slots kept in shared memory, not
 *           in registers the decode loop needs); bounded chunks whose last plane is dense and
 *           narrow are hashed by gpu_padic.cu as it writes them; a pass after the decode hashes
 *           the rest (the generic path, destinations not 16-byte aligned, other bounded chunks)
 *           and skips chunks marked `hashed`. (Hashing inside each 32-symbol step, or each tile at its end,
 *           after every tile had finished and its bytes had left L2, measured no faster.)
 *   verdict: eight threads per chunk (four per span) hash its spans' segment hashes with XXH64 and compare, then the
 *           chunk's first error in the CPU's order; the first failing chunk's code and index go to a
 *           mapped pinned word the host reads after the final synchronisation (no copy).
 * Errors found on the device (a record's structure, a table, a block not ending in its start
 * state, a checksum) go into a status word per chunk.
 *
 * Encoding is in gpu_encode.cu, the per-context state in gpu_state.cu, the device helpers shared
 * with them in gpu_device.cuh. */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "codec/chunk.h"
#include "codec/rans.h"
#include "common/bits.h"
#include "common/checksum.h"
#include "common/error.h"
#include "engine/context.h"
#include "gpu/gpu.h"
}

#include "gpu/gpu_device.cuh"
#include "gpu/gpu_internal.h"
#include "gpu/gpu_padic.h"

#define FRAME_HEADER_BYTES 32
#define TILE_SYMBOLS 32768u /* = RANS_BLOCK_SYMBOLS: one rANS block of every stream */
#define HASH_WARPS 8 /* warps per CTA of the segment-hash kernel */
#define MAX_STREAMS 8

enum { STREAM_RAW = 0, STREAM_RANS = 1, STREAM_CONSTANT = 2, STREAM_PACKED = 3 };
enum { METHOD_STORED = 0, METHOD_FLOAT = 1, METHOD_PLANES = 2, METHOD_PADIC = 3 };
enum { SPAN_RECORD = 0, SPAN_CONTENT = 1 };

/* ---- Descriptors shared by host and device ----------------------------------------------- */

typedef struct {
    const uint8_t *record; /* device address of the chunk's record */
    uint8_t *dst;          /* device address of the chunk's decoded bytes */
    uint32_t record_size;
    uint32_t raw_size;
    uint32_t dtype;
    uint32_t frame;   /* index in the batch, for messages */
    uint32_t bounded; /* the frame was written by the bounded codec: CHUNK_PADIC records are decoded */
    uint32_t record_span, content_span; /* its checksum spans (NO_SPAN: none) */
    uint32_t content_only; /* the frame's records are verified by their content checksums where they
                              carry one (SARAPHIS_PARAM_VERIFY_RECORDS 0, a whole decode) */
} chunk_in_t;

#define NO_SPAN 0xffffffffu

/* One frame of a batch as the expansion kernel sees it: the host read its header and size table
 * and placed its chunks, tasks, spans and segments in the batch's arrays. */
typedef struct {
    const uint8_t *records; /* device address of the first record */
    const uint8_t *table;   /* device address of the size table (u32 per chunk) */
    uint8_t *dst;
    uint64_t raw_size;
    uint32_t chunk_bytes, chunk_count, first_chunk, dtype, frame, warps, bounded, content, kind;
    uint32_t tasks_full, segments_full; /* decode tasks and content segments of a full chunk */
    uint32_t content_only;              /* as chunk_in_t's */
    uint32_t first_task, first_record_span, first_record_segment, first_content_span, first_content_segment;
} frame_dev_t;

typedef struct {
    const uint8_t *data;   /* RAW: the symbols; RANS: the serialized table; PACKED: the bits */
    const uint8_t *sizes;  /* RANS: u32 block sizes */
    const uint8_t *blocks; /* RANS: the first block */
    uint16_t table_bytes;  /* RANS: bytes of the serialized table */
    uint8_t mode;
    uint8_t value; /* CONSTANT: the symbol; PACKED: the bit width */
    uint32_t pad;
} stream_desc_t;

typedef struct {
    stream_desc_t stream[MAX_STREAMS];
    const uint8_t *rest;
    uint32_t n; /* elements */
    uint32_t rest_bytes;
    uint16_t base;
    uint8_t method, stream_count, dropped, fold, kr, m, plane_count, rest_bits, exponent_bits, mantissa_bits;
} chunk_desc_t;

typedef struct {
    uint32_t early;   /* TRUNCATED: the record is shorter than its header (checked before all) */
    uint32_t code;    /* the first structural or decoding error */
    uint32_t checks;  /* bit 0: record checksum mismatch, bit 1: content checksum mismatch */
    uint32_t hashed;  /* 1: the decode kernel wrote the content checksum's segment hashes */
    uint32_t partial; /* 1: a bounded record decoded to fewer planes than its precision (progressive
                         decode, set by gpu_padic.cu): its content checksum does not apply */
    uint32_t trusted; /* 1: a content_only chunk whose record carries a content checksum: that
                         checksum alone verifies it, its record checksum is not computed (set by
                         parse_kernel) */
    uint32_t pad[2];
} chunk_status_t;

typedef struct {
    uint32_t chunk;
    uint32_t first_tile;
} decode_task_t;

typedef struct {
    const uint8_t *data;
    const uint8_t *expected; /* where the stored checksum is (8 bytes, little-endian) */
    uint64_t length;
    uint32_t chunk;
    uint32_t kind;
} hash_span_t;

/* ---- Device helpers ---------------------------------------------------------------------- */

__device__ __forceinline__ void set_code(chunk_status_t *status, uint32_t code) { atomicCAS(&status->code, 0u, code); }

__host__ __device__ static inline void float_bits(uint32_t dtype, uint32_t *exponent_bits, uint32_t *mantissa_bits)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: *exponent_bits = 8; *mantissa_bits = 23; return;
    case SARAPHIS_DTYPE_BF16: *exponent_bits = 8; *mantissa_bits = 7; return;
    case SARAPHIS_DTYPE_F16: *exponent_bits = 5; *mantissa_bits = 10; return;
    case SARAPHIS_DTYPE_F64: *exponent_bits = 11; *mantissa_bits = 52; return;
    default: *exponent_bits = 0; *mantissa_bits = 0; return;
    }
}

__host__ __device__ static inline uint32_t dtype_bytes(uint32_t dtype)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F64: case SARAPHIS_DTYPE_I64: case SARAPHIS_DTYPE_U64: return 8;
    case SARAPHIS_DTYPE_F32: case SARAPHIS_DTYPE_I32: case SARAPHIS_DTYPE_U32: return 4;
    case SARAPHIS_DTYPE_F16: case SARAPHIS_DTYPE_BF16: case SARAPHIS_DTYPE_I16: case SARAPHIS_DTYPE_U16: return 2;
    case SARAPHIS_DTYPE_F8_E4M3: case SARAPHIS_DTYPE_F8_E5M2: case SARAPHIS_DTYPE_I8: case SARAPHIS_DTYPE_U8:
    case SARAPHIS_DTYPE_BOOL: return 1;
    default: return 0;
    }
}

/* ---- Parse: one thread per chunk, the CPU's checks in the CPU's order ---------------------- */



/* entropy_decode's structure: returns a status, fills the descriptor and the stream's size. Run by a
 * whole warp, every lane with the same arguments and the same result. */
__device__ static uint32_t parse_stream(const uint8_t *src, uint64_t size, uint32_t n, stream_desc_t *stream, uint64_t *consumed,
                                        uint32_t lane)
{
    if (size < 1) return SARAPHIS_ERROR_TRUNCATED;
    uint32_t mode = __ldg(src);
    stream->mode = (uint8_t)mode;
    if (mode == STREAM_RAW) {
        if (size - 1 < n) return SARAPHIS_ERROR_TRUNCATED;
        stream->data = src + 1;
        *consumed = 1 + (uint64_t)n;
        return SARAPHIS_OK;
    }
    if (mode == STREAM_CONSTANT) {
        if (size < 2) return SARAPHIS_ERROR_TRUNCATED;
        stream->value = __ldg(src + 1);
        *consumed = 2;
        return SARAPHIS_OK;
    }
    if (mode != STREAM_RANS) return SARAPHIS_ERROR_CORRUPT;
    uint32_t table_bytes = rans_parse_table(src + 1, size - 1, lane);
    if (table_bytes == 0) return SARAPHIS_ERROR_CORRUPT;
    uint64_t blocks = ((uint64_t)n + RANS_BLOCK_SYMBOLS - 1) / RANS_BLOCK_SYMBOLS;
    uint64_t header = 1 + (uint64_t)table_bytes + 4 * blocks;
    if (header > size) return SARAPHIS_ERROR_TRUNCATED;
    stream->data = src + 1;
    stream->table_bytes = (uint16_t)table_bytes;
    stream->sizes = src + 1 + table_bytes;
    stream->blocks = src + header;
    /* The blocks 32 at a time: an inclusive prefix sum of their sizes gives each block's end; the
     * first block that fails (cut short before bad size, as the CPU checks them) decides. */
    uint64_t pos = header;
    for (uint64_t b0 = 0; b0 < blocks; b0 += 32) {
        uint64_t b = b0 + lane;
        uint64_t block_size = b < blocks ? dev_le32(stream->sizes + 4 * b) : 0;
        uint64_t inclusive = block_size;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            uint64_t other = __shfl_up_sync(0xffffffffu, inclusive, o);
            if (lane >= (uint32_t)o) inclusive += other;
        }
        uint32_t code = SARAPHIS_OK;
        if (b < blocks) {
            if (pos + inclusive > size) code = SARAPHIS_ERROR_TRUNCATED;
            else if (block_size < RANS_BLOCK_HEADER_BYTES || ((block_size - RANS_BLOCK_HEADER_BYTES) & 1)) code = SARAPHIS_ERROR_CORRUPT;
        }
        uint32_t failing = __ballot_sync(0xffffffffu, code != SARAPHIS_OK);
        if (failing) return __shfl_sync(0xffffffffu, code, __ffs(failing) - 1);
        pos += __shfl_sync(0xffffffffu, inclusive, 31);
    }
    *consumed = pos;
    return SARAPHIS_OK;
}

__device__ static uint32_t parse_float(uint32_t dtype, const uint8_t *src, uint64_t size, uint32_t n, chunk_desc_t *d, uint32_t lane)
{
    uint32_t E, M;
    float_bits(dtype, &E, &M);
    if (size < 7) return SARAPHIS_ERROR_TRUNCATED;
    uint32_t dropped = __ldg(src + 1), base = dev_le16(src + 2), mode = __ldg(src + 4), width = __ldg(src + 5),
             fold = __ldg(src + 6);
    if (dropped > M) return SARAPHIS_ERROR_CORRUPT;
    if (base >= (1u << E)) return SARAPHIS_ERROR_CORRUPT;
    if (mode > 1 || (mode == 1 && (dtype != SARAPHIS_DTYPE_F64 || width > 11))) return SARAPHIS_ERROR_CORRUPT;
    uint32_t k = M - dropped + 1;
    if (fold > 7 || fold >= k || (fold && mode != 0)) return SARAPHIS_ERROR_CORRUPT;
    d->method = METHOD_FLOAT;
    d->dropped = (uint8_t)dropped;
    d->base = (uint16_t)base;
    d->fold = (uint8_t)fold;
    d->m = (uint8_t)(M - dropped);
    d->kr = (uint8_t)(k - fold);
    uint32_t below = d->kr > 8 ? d->kr - 8u : 0u;
    d->plane_count = (uint8_t)(below / 8);
    d->rest_bits = (uint8_t)(below % 8);
    d->exponent_bits = (uint8_t)E;
    d->mantissa_bits = (uint8_t)M;
    d->stream_count = (uint8_t)(2 + d->plane_count);
    uint64_t pos = 7, consumed = 0;
    uint32_t status;
    if (mode == 0) {
        status = parse_stream(src + pos, size - pos, n, &d->stream[0], &consumed, lane);
        if (status) return status;
        pos += consumed;
    } else {
        uint64_t bytes = ((uint64_t)n * width + 7) / 8;
        if (size - pos < bytes) return SARAPHIS_ERROR_TRUNCATED;
        d->stream[0].mode = STREAM_PACKED;
        d->stream[0].data = src + pos;
        d->stream[0].value = (uint8_t)width;
        pos += bytes;
    }
    for (uint32_t s = 1; s < d->stream_count; s++) {
        status = parse_stream(src + pos, size - pos, n, &d->stream[s], &consumed, lane);
        if (status) return status;
        pos += consumed;
    }
    uint64_t rest_bytes = ((uint64_t)n * d->rest_bits + 7) / 8;
    if (size - pos != rest_bytes) return SARAPHIS_ERROR_CORRUPT;
    d->rest = src + pos;
    d->rest_bytes = (uint32_t)rest_bytes;
    return SARAPHIS_OK;
}

/* One warp per chunk: every lane runs the same (uniform) walk; tables and block sizes are checked
 * 32 entries at a time; lane 0 writes the results. */
#define PARSE_WARPS 4
__global__ void __launch_bounds__(PARSE_WARPS * 32) parse_kernel(const chunk_in_t *chunks, chunk_desc_t *descs, chunk_status_t *status, uint32_t count)
{
    uint32_t i = blockIdx.x * PARSE_WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (i >= count) return;
    chunk_in_t c = chunks[i];
    chunk_desc_t d;
    memset(&d, 0, sizeof d);
    uint32_t code = SARAPHIS_OK;
    if (c.record_size < CHUNK_HEADER_BYTES + 1) {
        if (lane == 0) {
            status[i].early = SARAPHIS_ERROR_TRUNCATED;
            descs[i] = d;
        }
        return;
    }
    const uint8_t *record = c.record;
    uint32_t payload_size = dev_le32(record + 8), raw_size = dev_le32(record + 12);
    if (lane == 0 && c.content_only && dev_le64(record + 16) != 0) status[i].trusted = 1;
    uint32_t element = dtype_bytes(c.dtype);
    if ((uint64_t)payload_size + CHUNK_HEADER_BYTES != c.record_size || raw_size != c.raw_size) {
        code = SARAPHIS_ERROR_CORRUPT;
    } else {
        const uint8_t *payload = record + CHUNK_HEADER_BYTES;
        uint32_t method = __ldg(payload);
        d.n = element ? c.raw_size / element : 0;
        if (method == CHUNK_STORED) {
            if (payload_size - 1 != c.raw_size) code = SARAPHIS_ERROR_CORRUPT;
            d.method = METHOD_STORED;
            d.stream[0].data = payload + 1;
        } else if (method == CHUNK_PADIC && !c.bounded) {
            /* A p-adic record in a frame not written by the bounded codec: not decoded (so that
             * a lossless batch never starts the p-adic decoder). */
            code = SARAPHIS_ERROR_UNSUPPORTED;
        } else if (method == CHUNK_PADIC) {
            /* ---- p-adic hook: gpu_padic.cu decodes (and checks) the record after the decode
             * kernels; with no elements here those kernels have no tile of it. */
            d.method = METHOD_PADIC;
            d.n = 0;
        } else if (method != CHUNK_LOSSLESS) {
            code = SARAPHIS_ERROR_UNSUPPORTED;
        } else {
            const uint8_t *src = payload + 1;
            uint64_t size = payload_size - 1;
            uint32_t E, M;
            float_bits(c.dtype, &E, &M);
            if (element == 0 || c.raw_size % element) code = SARAPHIS_ERROR_CORRUPT;
            else if (size < 1) code = SARAPHIS_ERROR_TRUNCATED;
            else if (__ldg(src) == 1 && E) code = parse_float(c.dtype, src, size, d.n, &d, lane);
            else if (__ldg(src) == 2) {
                d.method = METHOD_PLANES;
                d.stream_count = (uint8_t)element;
                uint64_t pos = 1, consumed = 0;
                for (uint32_t s = 0; s < element && code == SARAPHIS_OK; s++) {
                    code = parse_stream(src + pos, size - pos, d.n, &d.stream[s], &consumed, lane);
                    pos += consumed;
                }
                if (code == SARAPHIS_OK && pos != size) code = SARAPHIS_ERROR_CORRUPT;
            } else {
                code = SARAPHIS_ERROR_CORRUPT;
            }
        }
    }
    if (lane == 0) {
        descs[i] = d;
        if (code) status[i].code = code;
    }
}

/* ---- Decode ------------------------------------------------------------------------------ */

/* Builds a stream's decoding tables from its serialized frequency table: sym[slot] is the symbol
 * of each of the 4096 slots, fc[symbol] = freq | cum << 16. Run by one whole warp. The table was
 * validated by parse_kernel, so every second byte of a two-byte frequency is below 0x80 and a
 * byte starts an entry exactly when the byte before it has no 0x80 bit. */


/* Block `tile` of a rANS stream (its offset: the sum of the sizes before it, over the warp): the
 * lane's start state, the block's word stream and word count. True when the state is below the
 * lower bound (a corrupt block). */
__device__ __forceinline__ bool locate_block(const stream_desc_t *stream, uint32_t tile, uint32_t lane, const uint8_t **words,
                                             uint32_t *word_count, uint32_t *x)
{
    const uint8_t *sizes = stream->sizes;
    uint64_t offset = 0;
    for (uint32_t j = lane; j < tile; j += 32) offset += dev_le32(sizes + 4 * (size_t)j);
#pragma unroll
    for (int o = 16; o >= 1; o >>= 1) offset += __shfl_xor_sync(0xffffffffu, offset, o);
    const uint8_t *block = stream->blocks + offset;
    const uint32_t block_size = dev_le32(sizes + 4 * (size_t)tile);
    *x = dev_le32(block + 4 * lane);
    *words = block + RANS_BLOCK_HEADER_BYTES;
    *word_count = (block_size - RANS_BLOCK_HEADER_BYTES) / 2;
    return *x < RANS_STATE_LOWER;
}

/* Up to 18 bits at bit position `bit` of an LSB-first packed channel of `bytes` bytes; bytes past
 * the end read as zero (as bit_reader_get does). */
__device__ __forceinline__ uint32_t read_bits(const uint8_t *p, uint32_t bytes, uint64_t bit, uint32_t width)
{
    uint64_t byte = bit >> 3;
    uint32_t v = byte < bytes ? __ldg(p + byte) : 0;
    if (byte + 1 < bytes) v |= (uint32_t)__ldg(p + byte + 1) << 8;
    if (byte + 2 < bytes) v |= (uint32_t)__ldg(p + byte + 2) << 16;
    return (v >> (bit & 7)) & ((1u << width) - 1);
}

template <int ELEM> struct element_type;
template <> struct element_type<1> { typedef uint8_t store; typedef uint32_t work; };
template <> struct element_type<2> { typedef uint16_t store; typedef uint32_t work; };
template <> struct element_type<4> { typedef uint32_t store; typedef uint32_t work; };
template <> struct element_type<8> { typedef uint64_t store; typedef uint64_t work; };

/* Warps per decode CTA by element size: one chunk of 256 KiB holds 256 KiB / ELEM / 32768 tiles
 * (8, 4, 2, 1), so that a CTA's warps all have a tile. */
__host__ __device__ constexpr uint32_t decode_warps(int elem) { return elem == 4 ? 2u : elem == 8 ? 1u : 4u; }
/* Steps (32 symbols each) per staging window: the RAW channels of a window are copied into shared
 * memory, 16-byte aligned pieces, one window ahead of the decoding (32 * STEPS bytes per stream). */
__host__ __device__ constexpr uint32_t stage_steps(int elem) { return 32u / (uint32_t)elem; }
template <int ELEM> struct stage_layout {
    static const uint32_t steps = stage_steps(ELEM);
    static const uint32_t window = steps * 32;        /* symbols per window */
    static const uint32_t bytes = window + 16;        /* one buffer: window bytes plus misalignment */
    static const uint32_t pieces = bytes / 16;
    /* windows of output per checksum segment (the fast path hashes segments as it writes them) */
    static const uint32_t segment_windows = CHECKSUM_SEGMENT_BYTES / (window * ELEM) ? CHECKSUM_SEGMENT_BYTES / (window * ELEM) : 1;
};
static_assert(stage_layout<2>::segment_windows * stage_layout<2>::window * 2 == CHECKSUM_SEGMENT_BYTES &&
                  (TILE_SYMBOLS * 2) % CHECKSUM_SEGMENT_BYTES == 0,
              "the fast path's windows and tiles are whole checksum segments");

/* Stages one window of a RAW channel: the 16-byte aligned pieces covering bytes [from, from +
 * window) go to buf (so byte from + j sits at buf[(from & 15) + j]). A piece reaching past `limit`
 * (the record's end) is read byte by byte, bytes past it as zero. */
template <int ELEM>
__device__ __forceinline__ void stage_window(uint8_t *buf, const uint8_t *from, const uint8_t *limit, uint32_t lane)
{
    const uint8_t *base = (const uint8_t *)((uintptr_t)from & ~(uintptr_t)15);
    for (uint32_t p = lane; p < stage_layout<ELEM>::pieces; p += 32) {
        const uint8_t *a = base + 16 * p;
        if (a + 16 <= limit) {
            copy16_async(buf + 16 * p, a);
        } else {
            for (uint32_t j = 0; j < 16; j++) buf[16 * p + j] = a + j < limit ? __ldg(a + j) : 0;
        }
    }
}

/* One warp decodes tile `tile` of a chunk: every stream's block `tile`, merged into elements. */
template <int ELEM>
__device__ static void decode_tile(const chunk_desc_t *d, uint8_t *dst, const uint8_t *record_end, chunk_status_t *status, uint32_t tile,
                                   uint32_t lane, uint8_t (*sym_table)[RANS_PROB_SCALE], uint32_t (*fc_table)[256],
                                   uint8_t (*stage)[2][stage_layout<ELEM>::bytes])
{
    typedef typename element_type<ELEM>::work U;
    typedef typename element_type<ELEM>::store S;
    typedef stage_layout<ELEM> L;
    const uint32_t begin = tile * TILE_SYMBOLS;
    const uint32_t count = min(TILE_SYMBOLS, d->n - begin);
    const uint32_t stream_count = d->stream_count;
    uint32_t x[ELEM], w0[ELEM], w1[ELEM], w2[ELEM], pos[ELEM], window[ELEM], word_count[ELEM];
    const uint8_t *words[ELEM];
    uint32_t mode[ELEM], value[ELEM], skew[ELEM];
    bool bad = false;
#pragma unroll
    for (int s = 0; s < ELEM; s++) {
        mode[s] = (uint32_t)s < stream_count ? d->stream[s].mode : STREAM_CONSTANT;
        value[s] = (uint32_t)s < stream_count ? d->stream[s].value : 0;
        words[s] = (uint32_t)s < stream_count ? d->stream[s].data : NULL;
        x[s] = w0[s] = w1[s] = w2[s] = pos[s] = window[s] = word_count[s] = 0;
        skew[s] = 0;
        if (mode[s] == STREAM_RANS) {
            bad |= locate_block(&d->stream[s], tile, lane, &words[s], &word_count[s], &x[s]);
            w0[s] = load_word(words[s], word_count[s], lane);
            w1[s] = load_word(words[s], word_count[s], 32 + lane);
            w2[s] = load_word(words[s], word_count[s], 64 + lane);
        } else if (mode[s] == STREAM_RAW) {
            words[s] += begin; /* the tile's first symbol */
            skew[s] = (uint32_t)((uintptr_t)words[s] & 15);
            stage_window<ELEM>(stage[s][0], words[s], record_end, lane);
        }
    }
    async_commit();
    if (__any_sync(0xffffffffu, bad)) {
        async_wait_all();
        if (lane == 0) set_code(status, SARAPHIS_ERROR_CORRUPT);
        return;
    }
    const bool is_float = d->method == METHOD_FLOAT;
    const uint32_t fold = d->fold, kr = d->kr, m = d->m, dropped = d->dropped, base = d->base;
    const uint32_t M = d->mantissa_bits, sign_shift = d->mantissa_bits + d->exponent_bits;
    const uint32_t high_shift = kr > 8 ? kr - 8 : 0, plane_count = d->plane_count, rest_bits = d->rest_bits;
    const uint32_t limit = (1u << d->exponent_bits) - 1 - base;
    const U field_mask = (U)(((U)1 << m) - 1), fold_mask = (1u << fold) - 1;
    S *out = (S *)dst + begin;
    const uint32_t windows = (count + L::window - 1) / L::window;

    for (uint32_t wi = 0; wi < windows; wi++) {
        /* Window wi's pieces have landed (each lane waits for its own, the barrier for the
         * others'), and every lane is done with the other buffer: stage window wi + 1 into it. */
        async_wait_all();
        __syncwarp();
        const uint32_t buffer = wi & 1;
        if (wi + 1 < windows) {
#pragma unroll
            for (int s = 0; s < ELEM; s++)
                if (mode[s] == STREAM_RAW) stage_window<ELEM>(stage[s][buffer ^ 1], words[s] + (wi + 1) * L::window, record_end, lane);
            async_commit();
        }
        const uint32_t window_end = min(count, (wi + 1) * L::window);
#pragma unroll 2
        for (uint32_t g = wi * L::window; g < window_end; g += 32) {
            const uint32_t i = g + lane;
            const bool active = i < count;
            uint32_t sym[ELEM];
#pragma unroll
            for (int s = 0; s < ELEM; s++) {
                if (mode[s] == STREAM_RANS) {
                    uint32_t state = x[s];
                    bool need = false;
                    if (active) {
                        uint32_t slot = state & (RANS_PROB_SCALE - 1);
                        uint32_t symbol = sym_table[s][slot];
                        uint32_t entry = fc_table[s][symbol];
                        state = (entry & 0xffff) * (state >> RANS_PROB_BITS) + slot - (entry >> 16);
                        need = state < RANS_STATE_LOWER;
                        sym[s] = symbol;
                    } else {
                        sym[s] = 0;
                    }
                    uint32_t mask = __ballot_sync(0xffffffffu, need);
                    if (mask) {
                        uint32_t k = pos[s] + __popc(mask & lanemask_lt(lane));
                        uint32_t r = k - window[s]; /* < 64: pos - window < 32 and at most 31 lanes below */
                        uint32_t a = __shfl_sync(0xffffffffu, w0[s], r & 31);
                        uint32_t b = __shfl_sync(0xffffffffu, w1[s], r & 31);
                        if (need) {
                            bad |= k >= word_count[s];
                            state = (state << 16) | (r < 32 ? a : b);
                        }
                        pos[s] += __popc(mask);
                        if (pos[s] - window[s] >= 32) {
                            w0[s] = w1[s];
                            w1[s] = w2[s];
                            window[s] += 32;
                            w2[s] = load_word(words[s], word_count[s], window[s] + 64 + lane);
                        }
                    }
                    x[s] = state;
                } else if (mode[s] == STREAM_RAW) {
                    sym[s] = stage[s][buffer][skew[s] + (g - wi * L::window) + lane];
                } else {
                    sym[s] = value[s];
                }
            }
            U v;
            if (is_float) {
                uint32_t e = sym[0];
                U exponent;
                if (mode[0] == STREAM_PACKED) {
                    exponent = active ? read_bits(words[0], 0xffffffffu, (uint64_t)(begin + i) * value[0], value[0]) : 0;
                    e = 0;
                } else {
                    exponent = e >> fold;
                    bad |= active && (uint32_t)exponent > limit;
                }
                exponent += base;
                bad |= active && mode[0] == STREAM_PACKED && exponent > 0x7ff;
                uint32_t high = sym[1];
                bad |= active && kr < 8 && (high >> kr) != 0;
                U field = ((U)(e & fold_mask) << kr) | ((U)high << high_shift);
#pragma unroll
                for (int p = 0; p + 2 < ELEM; p++)
                    if ((uint32_t)p < plane_count) field |= (U)sym[2 + p] << (high_shift - 8 * (p + 1));
                if (rest_bits) field |= active ? read_bits(d->rest, d->rest_bytes, (uint64_t)(begin + i) * rest_bits, rest_bits) : 0;
                v = ((field >> m) << sign_shift) | (exponent << M) | ((field & field_mask) << dropped);
            } else {
                v = 0;
#pragma unroll
                for (int s = 0; s < ELEM; s++) v |= (U)sym[s] << (8 * s);
            }
            if (active) out[i] = (S)v;
        }
        /* Decoding past a bad symbol stays in bounds (every read is checked), so the verdict is
         * taken once per window. */
        if (__any_sync(0xffffffffu, bad)) break;
    }
    async_wait_all();
#pragma unroll
    for (int s = 0; s < ELEM; s++)
        if (mode[s] == STREAM_RANS) bad |= pos[s] != word_count[s] || x[s] != RANS_STATE_LOWER;
    if (__any_sync(0xffffffffu, bad) && lane == 0) set_code(status, SARAPHIS_ERROR_CORRUPT);
}

/* The fast path's table: one 32-bit entry per slot, freq | symbol << 12 | (slot - cum) << 20, so a
 * decoding step makes one shared-memory load, and the next state needs one logic op on it
 * besides the multiply-add (the frequency in the low bits, the bias in the high ones). fc gets the
 * per-symbol freq | cum << 16 on the way. */
/* `add` goes into every symbol field: the BF16 and F16 layouts keep there the exponent with the
 * chunk's base added (base << fold), so that their steps need no addition (decode_kernel takes the
 * fast path only when that stays within 8 bits). */
__device__ static void build_packed_table(const uint8_t *table, uint32_t table_bytes, uint32_t *packed, uint32_t *fc, uint32_t lane,
                                          uint32_t add)
{
    rans_freq_cum(table, table_bytes, fc, lane);
    rans_fill_slots(table, fc, lane, [&](uint32_t slot, uint32_t s, uint32_t freq, uint32_t offset) {
        packed[slot] = (freq & 0xfff) | ((s + add) & 0xff) << 12 | offset << 20;
    });
}

/* The fast path for the common float layouts: the exponent channel is rANS, the high channel rANS
 * (HIGH_RANS) or raw, every byte plane raw; the rest bits and the fold are general. It makes the
 * checks of decode_tile, gathered over the tile instead of made per element: a raw high byte with
 * bits at or above kr (the OR of all), a block that runs out of words or does not end in its start
 * state. An exponent symbol beyond the dtype's range cannot occur: decode_kernel sends a chunk
 * whose table reaches such a symbol to decode_tile, which finds the first element that decodes to
 * it, as the CPU does. Decoding past a bad symbol stays in bounds: every word read is checked
 * against the block. */
/* Element layouts the fast path reconstructs with constants: the writer's usual choices for the
 * two 16-bit floats (no dropped bits; BF16 fold 0, F16 fold 3), so that the field is exactly the
 * fold bits and the high byte. Anything else takes the general reconstruction. */
enum { LAYOUT_GENERAL = 0, LAYOUT_BF16 = 1, LAYOUT_F16 = 2 };

/* PTX prmt with a selector whose nibbles are all below 8 (byte picks, no sign replication):
 * __byte_perm masks its selector to that form first, an instruction more in the decode's step. */
__device__ __forceinline__ uint32_t prmt(uint32_t a, uint32_t b, uint32_t selector)
{
    uint32_t d;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(selector));
    return d;
}
/* a & mask, where the compiler cannot see it: the slot's table address is then base + slot * 4,
 * one shift-and-add, instead of (state << 2) & 0x3ffc plus the base (three instructions). */
template <uint32_t MASK> __device__ __forceinline__ uint32_t and_opaque(uint32_t a)
{
    uint32_t d;
    asm("and.b32 %0, %1, %2;" : "=r"(d) : "r"(a), "n"(MASK));
    return d;
}
/* The bits of a where mask has a one, of b elsewhere: one lop3 (the compiler splits the masks
 * into two logic ops when it can prove b has no bits under the mask). */
template <uint32_t MASK> __device__ __forceinline__ uint32_t select_bits(uint32_t a, uint32_t b)
{
    uint32_t d;
    asm("lop3.b32 %0, %1, %2, %3, 0xE4;" : "=r"(d) : "r"(a), "r"(b), "n"(MASK));
    return d;
}

/* `content` (NULL: none) receives the content checksum's hashes of the tile's segments: each whole
 * segment is hashed as soon as its last window is written, while its bytes are in L2, instead of
 * being read back from device memory by a pass after the kernel. */
template <int ELEM, bool HIGH_RANS, int LAYOUT>
__device__ static void decode_tile_fast(const chunk_desc_t *d, uint8_t *dst, const uint8_t *record_end, chunk_status_t *status, uint32_t tile,
                                        uint32_t lane, const uint32_t *packed0, const uint8_t *sym1, const uint32_t *fc1,
                                        uint8_t (*stage)[2][stage_layout<ELEM>::bytes], uint64_t *content_arg)
{
    /* The hash slots wait in shared memory, not in two registers through the decode loop (it is at
     * its register limit: they cost it spills). */
    __shared__ uint64_t *content_of[decode_warps(ELEM)];
    if (lane == 0) content_of[threadIdx.x >> 5] = content_arg;
    __syncwarp();
    typedef typename element_type<ELEM>::work U;
    typedef typename element_type<ELEM>::store S;
    typedef stage_layout<ELEM> L;
    const uint32_t NR = HIGH_RANS ? 2 : 1; /* rANS streams */
    const uint32_t RAW_MAX = ELEM - 1;     /* raw streams: the high channel (unless rANS), the planes */
    const uint32_t begin = tile * TILE_SYMBOLS;
    const uint32_t count = min(TILE_SYMBOLS, d->n - begin);
    /* Each rANS stream's words wait in a register queue 128 words deep, two 16-bit words a
     * register: lane l holds word window + l (low half) and window + 32 + l (high half) in p0,
     * window + 64 + l and window + 96 + l in p1. A refill's word was loaded at least 64 words,
     * several steps, earlier; one shuffle fetches both of its candidates, and moving the window on
     * by 32 words is two byte permutes (a queue of one word a register cost a shuffle more a step,
     * and register moves at every step where the compiler merged its rotated and unrotated forms).
     * `rel` is pos - window, the words the warp has taken from the window. A refill's load is
     * word window + 128 + lane: `load_at` points at it and `remain` counts the block's words from it
     * on (0 or less: past the end, read as 0), so the refill adds to a pointer and a count
     * instead of computing an address and testing it against the block's end and alignment
     * (two byte loads whatever the alignment: a block starts anywhere). */
    uint32_t x[2], p0[2], p1[2], rel[2];
    int32_t remain[2];
    const uint8_t *load_at[2];
    bool bad = false;
#pragma unroll
    for (uint32_t s = 0; s < NR; s++) {
        const uint8_t *words;
        uint32_t word_count;
        bad |= locate_block(&d->stream[s], tile, lane, &words, &word_count, &x[s]);
        rel[s] = 0;
        p0[s] = load_word(words, word_count, lane) | load_word(words, word_count, 32 + lane) << 16;
        p1[s] = load_word(words, word_count, 64 + lane) | load_word(words, word_count, 96 + lane) << 16;
        load_at[s] = words + 2 * (128 + lane);
        remain[s] = (int32_t)word_count - (int32_t)(128 + lane); /* a block holds fewer than 2^31 words */
    }
    /* Raw channels, staged one window ahead into shared memory with cp.async. */
    const uint32_t plane_count = d->plane_count;
    const uint32_t raw_count = (HIGH_RANS ? 0 : 1) + plane_count;
    const uint8_t *raw[RAW_MAX];
    uint32_t skew[RAW_MAX];
#pragma unroll
    for (uint32_t j = 0; j < RAW_MAX; j++) {
        raw[j] = j < raw_count ? d->stream[(HIGH_RANS ? 2 : 1) + j].data + begin : NULL;
        skew[j] = (uint32_t)((uintptr_t)raw[j] & 15);
        if (j < raw_count) stage_window<ELEM>(stage[j][0], raw[j], record_end, lane);
    }
    async_commit();
    if (__any_sync(0xffffffffu, bad)) {
        async_wait_all();
        if (lane == 0) set_code(status, SARAPHIS_ERROR_CORRUPT);
        return;
    }
    const uint32_t fold = d->fold, kr = d->kr, m = d->m, dropped = d->dropped, base = d->base;
    const uint32_t M = d->mantissa_bits, sign_shift = d->mantissa_bits + d->exponent_bits;
    const uint32_t high_shift = kr > 8 ? kr - 8 : 0, rest_bits = d->rest_bits;
    const U field_mask = (U)(((U)1 << m) - 1);
    const uint32_t fold_mask = (1u << fold) - 1;
    const uint8_t *rest = d->rest;
    const uint32_t rest_bytes = d->rest_bytes;
    S *out = (S *)dst + begin;
    uint32_t high_or = 0;

    /* One group of 32 elements; `active` is false only for the lanes past the end of the last
     * group of a tile whose size is not a multiple of 32. `o` is the lane's output element and
     * `high_at` its raw high byte in the staged window: pointers advanced by the loop, so that the
     * unrolled steps address with immediate offsets. */
    auto step = [&](S *o, const uint8_t *high_at, uint32_t g, uint32_t offset, uint32_t buffer, bool active) __attribute__((always_inline)) {
        uint32_t sym[2], entry0 = 0;
#pragma unroll
        for (uint32_t s = 0; s < NR; s++) {
            uint32_t state = x[s], next;
            if (s == 0) {
                const uint32_t entry = packed0[and_opaque<RANS_PROB_SCALE - 1>(state)];
                next = (entry & 0xfff) * (state >> RANS_PROB_BITS) + (entry >> 20);
                sym[s] = (entry >> 12) & 0xff;
                entry0 = entry;
            } else {
                const uint32_t slot = state & (RANS_PROB_SCALE - 1), symbol = sym1[slot], entry = fc1[symbol];
                next = (entry & 0xffff) * (state >> RANS_PROB_BITS) + slot - (entry >> 16);
                sym[s] = symbol;
            }
            const bool need = active && next < RANS_STATE_LOWER;
            if (active) state = next;
            /* Some lane of the warp refills at nearly every step: no branch around the refill. */
            const uint32_t mask = __ballot_sync(0xffffffffu, need);
            const uint32_t r = rel[s] + __popc(mask & lanemask_lt_sreg()); /* < 64: rel < 32, at most 31 lanes below */
            /* Lane r mod 32's pair (the shuffle takes the lane index mod 32); the new state is
             * state << 16 (state < 2^16 here) with the pair's low word for r < 32, else its high. */
            const uint32_t selector = 0x1054u + (r >> 5) * 0x22u; /* known before the shuffle's result */
            const uint32_t pair = __shfl_sync(0xffffffffu, p0[s], r);
            if (need) state = prmt(state, pair, selector);
            rel[s] += __popc(mask);
            if (rel[s] >= 32) {
                rel[s] -= 32;
                const uint32_t word = remain[s] > 0 ? (uint32_t)__ldg(load_at[s]) | (uint32_t)__ldg(load_at[s] + 1) << 8 : 0u;
                load_at[s] += 64;
                remain[s] -= 32;
                p0[s] = __byte_perm(p0[s], p1[s], 0x5432u); /* high half of p0, low half of p1 */
                p1[s] = __byte_perm(p1[s], word, 0x5432u);
            }
            x[s] = state;
        }
        if (!active) return;
        const uint32_t e = sym[0];
        if constexpr (LAYOUT == LAYOUT_BF16) {
            /* The 8-bit field is sign << 7 | mantissa: the high byte; the symbol is exponent +
             * base. high * 0x101 has the sign at bit 15 and the mantissa in bits 0-6, the table
             * entry >> 5 the symbol in bits 7-14: a multiply, a shift and one select (the other
             * bits of entry >> 5 are not selected, or go with the 16-bit store). */
            const uint32_t high = HIGH_RANS ? sym[1] : (uint32_t)*high_at;
            *o = (S)select_bits<0x807fu>(high * 0x101u, entry0 >> 5);
        } else if constexpr (LAYOUT == LAYOUT_F16) {
            /* The 11-bit field sign << 10 | mantissa: its top three bits are the symbol's low
             * three (fold 3), the rest the high byte; e >> 3 is exponent + base. */
            const uint32_t high = HIGH_RANS ? sym[1] : (uint32_t)*high_at;
            const uint32_t field = (e & 7u) << 8 | high;
            *o = (S)(((field & 0x400u) << 5) | ((e >> 3) << 10) | (field & 0x3ffu));
        } else {
            const uint32_t i = g + lane;
            const uint32_t high = HIGH_RANS ? sym[1] : (uint32_t)*high_at;
            high_or |= high;
            U field = ((U)(e & fold_mask) << kr) | ((U)high << high_shift);
#pragma unroll
            for (uint32_t p = 0; p + 2 < (uint32_t)ELEM; p++) {
                const uint32_t j = (HIGH_RANS ? 0 : 1) + p;
                if (p < plane_count) field |= (U)stage[j][buffer][skew[j] + offset + lane] << (high_shift - 8 * (p + 1));
            }
            if (rest_bits) field |= read_bits(rest, rest_bytes, (uint64_t)(begin + i) * rest_bits, rest_bits);
            const U exponent = (U)((e >> fold) + base);
            *o = (S)(((field >> m) << sign_shift) | (exponent << M) | ((field & field_mask) << dropped));
        }
    };

    const uint32_t windows = (count + L::window - 1) / L::window;
    for (uint32_t wi = 0; wi < windows; wi++) {
        async_wait_all();
        __syncwarp();
        const uint32_t buffer = wi & 1;
        if (wi + 1 < windows) {
#pragma unroll
            for (uint32_t j = 0; j < RAW_MAX; j++)
                if (j < raw_count) stage_window<ELEM>(stage[j][buffer ^ 1], raw[j] + (wi + 1) * L::window, record_end, lane);
            async_commit();
        }
        const uint32_t first = wi * L::window, window_end = min(count, first + L::window), full_end = first + ((window_end - first) & ~31u);
        S *o = out + first + lane;
        const uint8_t *high_at = &stage[0][buffer][skew[0] + lane];
        if (window_end - first == L::window) {
            /* A whole window: a fixed count of steps, unrolled, so no step checks for the end. */
#pragma unroll
            for (uint32_t k = 0; k < L::steps; k++) step(o + 32 * k, high_at + 32 * k, first + 32 * k, 32 * k, buffer, true);
        } else {
            uint32_t g = first;
#pragma unroll 4
            for (; g < full_end; g += 32, o += 32, high_at += 32) step(o, high_at, g, g - first, buffer, true);
            if (full_end < window_end) step(o, high_at, full_end, full_end - first, buffer, full_end + lane < count);
        }
        if (wi % L::segment_windows == L::segment_windows - 1 && (wi + 1) * L::window <= count && content_of[threadIdx.x >> 5]) {
            uint64_t *content = content_of[threadIdx.x >> 5];
            __syncwarp(); /* the other lanes' stores of the segment are visible after it */
            const uint32_t segment = wi / L::segment_windows;
            const uint64_t hash = warp_written_segment_hash((const uint8_t *)out + (uint64_t)segment * CHECKSUM_SEGMENT_BYTES, CHECKSUM_SEGMENT_BYTES, lane);
            if (lane == 0) content[segment] = hash;
        }
    }
    if (count % (L::segment_windows * L::window) && content_of[threadIdx.x >> 5]) { /* the tensor's last, partial segment */
        uint64_t *content = content_of[threadIdx.x >> 5];
        __syncwarp();
        const uint32_t segment = count / (L::segment_windows * L::window);
        const uint32_t length = (count - segment * L::segment_windows * L::window) * ELEM;
        const uint64_t hash = warp_written_segment_hash((const uint8_t *)out + (uint64_t)segment * CHECKSUM_SEGMENT_BYTES, length, lane);
        if (lane == 0) content[segment] = hash;
    }
    async_wait_all();
    bad = kr < 8 && (high_or >> kr) != 0;
#pragma unroll
    for (uint32_t s = 0; s < NR; s++) /* every word taken: window + rel == word_count, window being word_count - remain - 128 - lane */
        bad |= (int32_t)rel[s] != remain[s] + 128 + (int32_t)lane || x[s] != RANS_STATE_LOWER;
    if (__any_sync(0xffffffffu, bad) && lane == 0) set_code(status, SARAPHIS_ERROR_CORRUPT);
}

/* The STORED method: the tile's bytes are copied as they are. */
__device__ static void copy_tile(const uint8_t *src, uint8_t *dst, uint64_t begin, uint64_t end, uint32_t lane)
{
    for (uint64_t i = begin + lane; i < end; i += 32) dst[i] = __ldg(src + i);
}

/* The packed F64 exponents use read_bits with an unbounded size: parse_float checked that the
 * channel holds ceil(n * width / 8) bytes, and element i needs only bytes up to that. */
template <int ELEM>
/* Eight 4-warp CTAs per SM for 2-byte elements: 64 registers a thread (seven CTAs with more
 * registers measured 10% slower). */
__global__ void __launch_bounds__(decode_warps(ELEM) * 32, ELEM == 2 ? 8 : 1)
    decode_kernel(const chunk_in_t *chunks, const chunk_desc_t *descs, chunk_status_t *status, const decode_task_t *tasks,
                  const uint32_t *prefix, uint64_t *hashes)
{
    const uint32_t W = decode_warps(ELEM);
    /* The generic path's tables and staging, or the fast path's packed tables: one or the other
     * per chunk (the choice is uniform over the CTA). */
    struct generic_smem {
        uint8_t sym_table[ELEM][RANS_PROB_SCALE];
        uint32_t fc_table[ELEM][256];
        uint8_t stage[W][ELEM][2][stage_layout<ELEM>::bytes];
    };
    /* The exponent stream's table is packed (one load per step); a rANS high stream keeps the
     * two-level form, which is a quarter of the size, so that eight CTAs fit on an SM. */
    struct fast_smem {
        uint32_t packed0[RANS_PROB_SCALE];
        uint8_t sym1[RANS_PROB_SCALE];
        uint32_t fc1[256];
        union {
            uint32_t fc0[256]; /* while the tables are built */
            uint8_t stage[W][ELEM > 1 ? ELEM - 1 : 1][2][stage_layout<ELEM>::bytes];
        };
    };
    __shared__ __align__(16) uint8_t smem_raw[sizeof(generic_smem) > sizeof(fast_smem) ? sizeof(generic_smem) : sizeof(fast_smem)];
    generic_smem &gs = *reinterpret_cast<generic_smem *>(smem_raw);
    fast_smem &fs = *reinterpret_cast<fast_smem *>(smem_raw);
    const decode_task_t task = tasks[blockIdx.x];
    const uint32_t c = task.chunk;
    if (status[c].early | status[c].code) return;
    const chunk_desc_t *d = &descs[c];
    const uint32_t warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint32_t n = d->n, tile = task.first_tile + warp;
    const uint32_t tiles = (n + TILE_SYMBOLS - 1) / TILE_SYMBOLS;
    if (d->method == METHOD_STORED) {
        if (tile < tiles) {
            uint64_t begin = (uint64_t)tile * TILE_SYMBOLS * ELEM, end = min((uint64_t)(tile + 1) * TILE_SYMBOLS, (uint64_t)n) * ELEM;
            copy_tile(d->stream[0].data, chunks[c].dst, begin, end, lane);
        }
    } else {
        bool fast = false;
        if constexpr (ELEM == 2 || ELEM == 4) { /* the fast path: F16, BF16 and F32 in the writer's usual layouts */
            fast = d->method == METHOD_FLOAT && d->stream[0].mode == STREAM_RANS &&
                   (d->stream[1].mode == STREAM_RANS || d->stream[1].mode == STREAM_RAW);
            for (uint32_t s = 2; s < d->stream_count; s++) fast = fast && d->stream[s].mode == STREAM_RAW;
            /* The exponent table's last symbol (byte 1 of its serialized form) within the dtype's
             * range: then no symbol the stream decodes to is beyond it, and the fast path need not
             * check every element. Otherwise decode_tile finds the first element that is. */
            fast = fast && (__ldg(d->stream[0].data + 1) >> d->fold) <= (1u << d->exponent_bits) - 1 - d->base;
            const int layout = d->dropped != 0                                                      ? LAYOUT_GENERAL
                               : d->exponent_bits == 8 && d->mantissa_bits == 7 && d->fold == 0  ? LAYOUT_BF16
                               : d->exponent_bits == 5 && d->mantissa_bits == 10 && d->fold == 3 ? LAYOUT_F16
                                                                                                 : LAYOUT_GENERAL;
            if (fast) {
                const uint32_t rans = d->stream[1].mode == STREAM_RANS ? 2 : 1;
                const uint32_t add = ELEM == 2 && layout != LAYOUT_GENERAL ? (uint32_t)d->base << d->fold : 0;
                if (warp == 0) build_packed_table(d->stream[0].data, d->stream[0].table_bytes, fs.packed0, fs.fc0, lane, add);
                if (rans == 2 && warp == (W > 1 ? 1 : 0)) rans_build_tables(d->stream[1].data, d->stream[1].table_bytes, fs.sym1, fs.fc1, lane);
                __syncthreads();
                const uint8_t *record_end = chunks[c].record + chunks[c].record_size;
                /* Content hashes written as the tiles are decoded (16-byte aligned output only). */
                uint64_t *content = NULL;
                const uint32_t content_span = chunks[c].content_span;
                if (content_span != NO_SPAN && ((uintptr_t)chunks[c].dst & 15) == 0) {
                    content = hashes + prefix[content_span] + (uint64_t)tile * (TILE_SYMBOLS * ELEM / CHECKSUM_SEGMENT_BYTES);
                    if (threadIdx.x == 0) status[c].hashed = 1; /* every CTA of the chunk writes the same */
                }
#define DECODE_FAST(high_rans, layout_)                                                                                       \
    decode_tile_fast<ELEM, high_rans, layout_>(d, chunks[c].dst, record_end, &status[c], tile, lane, fs.packed0, fs.sym1, fs.fc1, \
                                               fs.stage[warp], content)
                if (tile >= tiles) {
                } else if constexpr (ELEM == 4) { /* F32: the general reconstruction */
                    if (rans == 2) DECODE_FAST(true, LAYOUT_GENERAL);
                    else DECODE_FAST(false, LAYOUT_GENERAL);
                } else if (rans == 2) {
                    if (layout == LAYOUT_BF16) DECODE_FAST(true, LAYOUT_BF16);
                    else if (layout == LAYOUT_F16) DECODE_FAST(true, LAYOUT_F16);
                    else DECODE_FAST(true, LAYOUT_GENERAL);
                } else {
                    if (layout == LAYOUT_BF16) DECODE_FAST(false, LAYOUT_BF16);
                    else if (layout == LAYOUT_F16) DECODE_FAST(false, LAYOUT_F16);
                    else DECODE_FAST(false, LAYOUT_GENERAL);
                }
#undef DECODE_FAST
            }
        }
        if (!fast) {
            for (uint32_t s = warp; s < d->stream_count; s += W)
                if (d->stream[s].mode == STREAM_RANS) rans_build_tables(d->stream[s].data, d->stream[s].table_bytes, gs.sym_table[s], gs.fc_table[s], lane);
            __syncthreads();
            if (tile < tiles)
                decode_tile<ELEM>(d, chunks[c].dst, chunks[c].record + chunks[c].record_size, &status[c], tile, lane, gs.sym_table, gs.fc_table, gs.stage[warp]);
        }
    }
}

/* The segment hash of segments [first, end) of the spans, one warp, stepping through the spans
 * (the first one's found by a 32-way search, three rounds for 2048 spans, the next ones' by
 * stepping forward: a search per segment put eleven dependent loads in front of every 4 KiB). */
/* `skip` (NULL: none): content spans of chunks whose status says `hashed` (the decode kernel wrote
 * their content hashes) or `partial` (decoded to fewer planes: no content checksum applies), and
 * record spans of `trusted` chunks, are left alone. */
__device__ __forceinline__ bool skip_span(const hash_span_t &span, const chunk_status_t &status)
{
    return span.kind == SPAN_RECORD ? status.trusted != 0 : (status.hashed | status.partial) != 0;
}

__device__ static void hash_run(const hash_span_t *spans, const uint32_t *prefix, uint32_t span_count, uint32_t first, uint32_t end,
                                uint64_t *hashes, uint32_t lane, const chunk_status_t *skip = NULL)
{
    /* The last span with prefix <= first, 32 candidates a round (lane 0's is lo, which holds). */
    uint32_t lo = 0, hi = span_count - 1;
    while (lo < hi) {
        const uint32_t step = (hi - lo) / 32 + 1;
        const uint32_t below = __ballot_sync(0xffffffffu, prefix[min(hi, lo + lane * step)] <= first);
        const uint32_t l = 31 - __clz(below);
        hi = (uint32_t)min((uint64_t)hi, (uint64_t)lo + (uint64_t)(l + 1) * step - 1);
        lo = min(hi, lo + l * step);
    }
    for (uint32_t g = first; g < end; g++) {
        while (prefix[lo + 1] <= g) lo++; /* prefix[span_count] is the total: lo stays < span_count */
        const hash_span_t span = spans[lo];
        if (skip && skip_span(span, skip[span.chunk])) {
            g = prefix[lo + 1] - 1; /* the span's last segment: the loop steps past it */
            continue;
        }
        const uint64_t offset = (uint64_t)(g - prefix[lo]) * CHECKSUM_SEGMENT_BYTES;
        const uint32_t length = (uint32_t)min((uint64_t)CHECKSUM_SEGMENT_BYTES, span.length - offset);
        const uint64_t hash = warp_segment_hash(span.data + offset, length, lane, offset + CHECKSUM_SEGMENT_BYTES + 16 <= span.length);
        if (lane == 0) hashes[g] = hash;
    }
}

/* Segments [segment_begin, segment_end): each warp a contiguous run of them. */
__global__ void __launch_bounds__(HASH_WARPS * 32)
    hash_segments_kernel(const hash_span_t *spans, const uint32_t *prefix, uint32_t span_count, uint32_t segment_begin,
                         uint32_t segment_end, uint64_t *hashes, const chunk_status_t *skip)
{
    const uint32_t lane = threadIdx.x & 31, warps = gridDim.x * HASH_WARPS, warp = blockIdx.x * HASH_WARPS + (threadIdx.x >> 5);
    const uint32_t per = (segment_end - segment_begin + warps - 1) / warps;
    const uint64_t first = segment_begin + (uint64_t)warp * per;
    if (first >= segment_end) return;
    hash_run(spans, prefix, span_count, (uint32_t)first, (uint32_t)min((uint64_t)segment_end, first + per), hashes, lane, skip);
}

/* ---- Early record checksums ----------------------------------------------------------------
 * The record checksums of a single frame in device memory need only the frame: its size table
 * gives every record's place. They start on the side stream just after the header read-back is
 * queued, and hash while the host reads the header back, plans and uploads, and the expansion and
 * parse kernels run (the device is otherwise idle then); beside the decode they took the CTA
 * slots of a one-wave decode and delayed its tail by most of their own time. The scan is the expansion's rule (a record span
 * per record of more than its header, in chunk order, segments counted from 0), so the spans and
 * segments are the ones expand_kernel numbers. Frames of more than EARLY_MAX_CHUNKS chunks (a
 * 1 GiB tensor at the default chunk size) hash beside the decode as before. */
#define EARLY_MAX_CHUNKS 4096
#define EARLY_THREADS 1024
typedef struct {
    uint32_t valid; /* 1: the table fits the frame and the limits; the spans below are usable */
    uint32_t spans;
    uint32_t total; /* segments */
    uint32_t next;  /* the hash kernel's next segment (a work counter, zeroed by the scan) */
} early_head_t;

/* The early buffer: head, prefix (EARLY_MAX_CHUNKS + 1), spans (EARLY_MAX_CHUNKS), then hashes. */
static size_t early_prefix_at(void) { return 16; }
static size_t early_spans_at(void) { return align_up(16 + 4 * (EARLY_MAX_CHUNKS + 1), 16); }
static size_t early_hashes_at(void) { return early_spans_at() + EARLY_MAX_CHUNKS * sizeof(hash_span_t); }

__global__ void __launch_bounds__(EARLY_THREADS)
    early_scan_kernel(const uint8_t *frame, uint64_t frame_size, early_head_t *head, uint32_t *prefix, hash_span_t *spans)
{
    __shared__ uint64_t warp_total[2][EARLY_THREADS / 32];
    const uint32_t lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const uint32_t chunks = dev_le32(frame + 12); /* the host checked frame_size >= the header */
    if (chunks > EARLY_MAX_CHUNKS || FRAME_HEADER_BYTES + 4 * (uint64_t)chunks > frame_size) {
        if (threadIdx.x == 0) head->valid = 0;
        return;
    }
    const uint8_t *table = frame + FRAME_HEADER_BYTES, *records = table + 4 * (uint64_t)chunks;
    const uint64_t room = frame_size - FRAME_HEADER_BYTES - 4 * (uint64_t)chunks;
    uint64_t offset_carry = 0, rank_carry = 0, segment_carry = 0;
    int outside = 0;
    for (uint32_t base = 0; base < chunks; base += EARLY_THREADS) {
        const uint32_t c = base + threadIdx.x;
        const bool live = c < chunks;
        const uint32_t record = live ? dev_le32(table + 4 * (uint64_t)c) : 0;
        const uint32_t has = live && record >= CHUNK_HEADER_BYTES + 1;
        const uint32_t segments = has ? (record - 8 + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES : 0;
        const uint64_t mine[2] = {record, (uint64_t)segments << 16 | has};
        uint64_t inclusive[2] = {mine[0], mine[1]};
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const uint64_t x = __shfl_up_sync(0xffffffffu, inclusive[0], o), y = __shfl_up_sync(0xffffffffu, inclusive[1], o);
            if (lane >= (uint32_t)o) inclusive[0] += x, inclusive[1] += y;
        }
        if (lane == 31) warp_total[0][warp] = inclusive[0], warp_total[1][warp] = inclusive[1];
        __syncthreads();
        uint64_t before[2] = {0, 0}, tile[2] = {0, 0};
        for (uint32_t w = 0; w < EARLY_THREADS / 32; w++) {
            if (w < warp) before[0] += warp_total[0][w], before[1] += warp_total[1][w];
            tile[0] += warp_total[0][w], tile[1] += warp_total[1][w];
        }
        __syncthreads();
        const uint64_t offset = offset_carry + before[0] + inclusive[0] - mine[0];
        const uint64_t packed = before[1] + inclusive[1] - mine[1];
        const uint64_t rank = rank_carry + (packed & 0xffff), segment = segment_carry + (packed >> 16);
        offset_carry += tile[0];
        rank_carry += tile[1] & 0xffff;
        segment_carry += tile[1] >> 16;
        if (live && offset + record > room) outside = 1;
        if (live && has) {
            const hash_span_t span = {records + offset + 8, records + offset, (uint64_t)record - 8, c, SPAN_RECORD};
            spans[rank] = span;
            prefix[rank] = (uint32_t)segment;
        }
    }
    outside = __syncthreads_or(outside);
    if (threadIdx.x == 0) {
        head->next = 0;
        head->valid = !outside;
        head->spans = (uint32_t)rank_carry;
        head->total = (uint32_t)segment_carry;
        prefix[rank_carry] = (uint32_t)segment_carry;
    }
}

/* Warps take EARLY_GRAB segments at a time from the head's counter rather than a fixed share:
 * segments differ in length (a record's last one is short) and the CTAs share their SMs with the
 * expansion, parse and decode, so warps run at different speeds. */
#define EARLY_GRAB 4
/* Four CTAs an SM at most: with no minimum the compiler took 32 registers, which kept two of a
 * segment's eight loads in flight instead of all of them. */
__global__ void __launch_bounds__(HASH_WARPS * 32, 4)
    early_hash_kernel(early_head_t *head, const hash_span_t *spans, const uint32_t *prefix, uint64_t *hashes)
{
    if (!head->valid || head->spans == 0) return;
    const uint32_t total = head->total, span_count = head->spans, lane = threadIdx.x & 31;
    for (;;) {
        uint32_t first = 0;
        if (lane == 0) first = atomicAdd(&head->next, EARLY_GRAB);
        first = __shfl_sync(0xffffffffu, first, 0);
        if (first >= total) return;
        hash_run(spans, prefix, span_count, first, min(total, first + EARLY_GRAB), hashes, lane);
    }
}

/* ---- Expansion: the batch's per-chunk arrays, built on the device ----------------------------
 * gridDim.y CTAs per frame (blockIdx.x), each a run of its chunks, walk the size table
 * EXPAND_THREADS chunks at a time: a scan of the record sizes gives each record's address, a scan
 * of (has a record checksum, its segments) the record span and first segment; tasks and content
 * spans are uniform per full chunk. A CTA starts from the sums over the chunks before its run,
 * which it adds up itself (at most EXPAND_PARTS runs, so each size is read at most that many
 * times more): one CTA walking a 1024-chunk table took 19 us, on the critical path wherever no
 * early record checksums run beside it. The host uploads a frame descriptor instead of ~170 bytes
 * of descriptors per chunk. */
#define EXPAND_THREADS 256
#define EXPAND_PARTS 16
__global__ void __launch_bounds__(EXPAND_THREADS)
    expand_kernel(const frame_dev_t *frames, chunk_in_t *chunks, decode_task_t *tasks, hash_span_t *spans, uint32_t *prefix,
                  chunk_status_t *status, uint32_t span_count, uint32_t segment_total)
{
    __shared__ uint64_t warp_total[2][EXPAND_THREADS / 32], run_total[3][EXPAND_THREADS / 32];
    const frame_dev_t d = frames[blockIdx.x];
    const uint32_t lane = threadIdx.x & 31, warp = threadIdx.x >> 5, element = dtype_bytes(d.dtype);
    if (blockIdx.x == 0 && blockIdx.y == 0 && threadIdx.x == 0) prefix[span_count] = segment_total;
    /* This CTA's run of chunks [begin, end): whole tiles of EXPAND_THREADS. */
    const uint32_t tiles = (d.chunk_count + EXPAND_THREADS - 1) / EXPAND_THREADS;
    const uint32_t per = (tiles + gridDim.y - 1) / gridDim.y * EXPAND_THREADS;
    const uint32_t begin = (uint32_t)min((uint64_t)blockIdx.y * per, (uint64_t)d.chunk_count);
    const uint32_t end = (uint32_t)min((uint64_t)begin + per, (uint64_t)d.chunk_count);
    if (begin >= end) return;
    /* The sums over chunks [0, begin): record bytes, records with a span, their segments. */
    uint64_t before_run[3] = {0, 0, 0};
    for (uint32_t c = threadIdx.x; c < begin; c += EXPAND_THREADS) {
        const uint32_t record = dev_le32(d.table + 4 * (uint64_t)c);
        const uint32_t has = record >= CHUNK_HEADER_BYTES + 1;
        before_run[0] += record;
        before_run[1] += has;
        before_run[2] += has ? (record - 8 + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES : 0;
    }
#pragma unroll
    for (int k = 0; k < 3; k++) {
#pragma unroll
        for (int o = 16; o; o >>= 1) before_run[k] += __shfl_xor_sync(0xffffffffu, before_run[k], o);
        if (lane == 0) run_total[k][warp] = before_run[k];
    }
    __syncthreads();
    uint64_t offset_carry = 0, rank_carry = 0, segment_carry = 0;
    for (uint32_t w = 0; w < EXPAND_THREADS / 32; w++) {
        offset_carry += run_total[0][w];
        rank_carry += run_total[1][w];
        segment_carry += run_total[2][w];
    }
    for (uint32_t base = begin; base < end; base += EXPAND_THREADS) {
        const uint32_t c = base + threadIdx.x;
        const bool live = c < end;
        const uint32_t record = live ? dev_le32(d.table + 4 * (uint64_t)c) : 0;
        const uint32_t has = live && record >= CHUNK_HEADER_BYTES + 1;
        const uint32_t segments = has ? (record - 8 + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES : 0;
        /* (segments << 16 | has): within a tile the count of records stays below 2^16. */
        const uint64_t mine[2] = {record, (uint64_t)segments << 16 | has};
        uint64_t inclusive[2] = {mine[0], mine[1]};
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const uint64_t x = __shfl_up_sync(0xffffffffu, inclusive[0], o), y = __shfl_up_sync(0xffffffffu, inclusive[1], o);
            if (lane >= (uint32_t)o) inclusive[0] += x, inclusive[1] += y;
        }
        if (lane == 31) warp_total[0][warp] = inclusive[0], warp_total[1][warp] = inclusive[1];
        __syncthreads();
        uint64_t before[2] = {0, 0}, tile[2] = {0, 0};
#pragma unroll
        for (uint32_t w = 0; w < EXPAND_THREADS / 32; w++) {
            if (w < warp) before[0] += warp_total[0][w], before[1] += warp_total[1][w];
            tile[0] += warp_total[0][w], tile[1] += warp_total[1][w];
        }
        __syncthreads(); /* the next tile overwrites warp_total */
        const uint64_t offset = offset_carry + before[0] + inclusive[0] - mine[0];
        const uint64_t packed = before[1] + inclusive[1] - mine[1];
        const uint64_t rank = rank_carry + (packed & 0xffff), segment = segment_carry + (packed >> 16);
        offset_carry += tile[0];
        rank_carry += tile[1] & 0xffff;
        segment_carry += tile[1] >> 16;
        if (!live) continue;
        const uint32_t g = d.first_chunk + c;
        uint64_t raw = d.raw_size - (uint64_t)c * d.chunk_bytes;
        if (raw > d.chunk_bytes) raw = d.chunk_bytes;
        chunk_in_t ci;
        ci.record = d.records + offset;
        ci.dst = d.dst + (uint64_t)c * d.chunk_bytes;
        ci.record_size = record;
        ci.raw_size = (uint32_t)raw;
        ci.dtype = d.dtype;
        ci.frame = d.frame;
        ci.bounded = d.bounded;
        ci.record_span = has ? d.first_record_span + (uint32_t)rank : NO_SPAN;
        ci.content_span = d.content ? d.first_content_span + c : NO_SPAN;
        ci.content_only = d.content_only;
        chunks[g] = ci;
        chunk_status_t zero = {};
        status[g] = zero;
        const uint64_t tiles = (raw / element + TILE_SYMBOLS - 1) / TILE_SYMBOLS;
        const uint32_t first_task = d.first_task + c * d.tasks_full;
        for (uint32_t t = 0; (uint64_t)t * d.warps < tiles; t++) {
            decode_task_t task = {g, t * d.warps};
            tasks[first_task + t] = task;
        }
        if (has) {
            const hash_span_t span = {ci.record + 8, ci.record, (uint64_t)record - 8, g, SPAN_RECORD};
            spans[ci.record_span] = span;
            prefix[ci.record_span] = d.first_record_segment + (uint32_t)segment;
        }
        if (d.content) {
            const hash_span_t span = {ci.dst, ci.record + 16, raw, g, SPAN_CONTENT};
            spans[ci.content_span] = span;
            prefix[ci.content_span] = d.first_content_segment + c * d.segments_full;
        }
    }
}

/* Eight threads per chunk: four for its record span and four for its content span fold the
 * segment hashes (XXH64 seeded with the span's length, as checksum64 computes it, a quarter of
 * the stripes each); then the chunk's first error in the CPU's order of checks inside a record;
 * the first failing chunk wins (atomicMin). A content checksum stored as 0 is "not kept": never
 * differs. The last CTA to finish writes the verdict straight to the caller-visible host word
 * (mapped pinned memory), so no copy follows. */
/* Record hashes come from `record_hashes` (segment g of the record spans at [g]), content hashes
 * from `content_hashes` (segment g at [g - record_total]); `early`, when not NULL, says whether the
 * early record checksums ran (if not, every record fails: never a silent pass). */
#define VERDICT_THREADS 128
__global__ void __launch_bounds__(VERDICT_THREADS) verdict_kernel(const chunk_in_t *chunks, const hash_span_t *spans, const uint32_t *prefix,
                                                                  const uint64_t *record_hashes, const uint64_t *content_hashes,
                                                                  uint32_t record_total, const early_head_t *early,
                                                                  const chunk_status_t *status, uint32_t count, unsigned long long *first_error,
                                                                  uint32_t *done, volatile unsigned long long *verdict)
{
    const uint32_t t = blockIdx.x * blockDim.x + threadIdx.x, i = t >> 3, lane = threadIdx.x & 31;
    const bool content = (t >> 2) & 1;
    const uint32_t span = i < count ? (content ? chunks[i].content_span : chunks[i].record_span) : NO_SPAN;
    const uint64_t *hashes = record_hashes;
    uint32_t segments = 0;
    uint64_t seed = 0, expected = 0;
    bool kept = false;
    if (span != NO_SPAN) {
        const hash_span_t s = spans[span];
        hashes = content ? content_hashes + (prefix[span] - record_total) : record_hashes + prefix[span];
        segments = prefix[span + 1] - prefix[span];
        seed = s.length * 0x9E3779B97F4A7C15ULL;
        expected = dev_le64(s.expected);
        kept = !(s.kind == SPAN_CONTENT && expected == 0);
    }
    const uint64_t hash = xxh64_hashes_by4(hashes, segments, seed, lane);
    uint32_t fails = 0;
    if (span != NO_SPAN && !(!content && status[i].trusted)) { /* a trusted record's hash was not computed */
        const bool unverified = !content && early && !early->valid;
        if (unverified || (kept && hash != expected)) fails = content ? 2u : 1u;
    }
    fails |= __shfl_xor_sync(0xffffffffu, fails, 4);
    if (i < count && (t & 7) == 0) {
        const chunk_status_t s = status[i];
        const uint32_t checks = s.checks | (s.partial ? fails & 1u : fails);
        const uint32_t code = s.early       ? s.early
                              : checks & 1  ? (uint32_t)SARAPHIS_ERROR_CHECKSUM
                              : s.code      ? s.code
                              : checks & 2  ? (uint32_t)SARAPHIS_ERROR_CHECKSUM
                                            : 0u;
        if (code) atomicMin(first_error, ((unsigned long long)i << 8) | code);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        if (atomicAdd(done, 1u) == gridDim.x - 1) {
            *verdict = atomicMin(first_error, ~0ull); /* a read at L2, after every CTA's atomics */
            __threadfence_system();
        }
    }
}

/* ---- Host side: decode a batch ---------------------------------------------------------- */

/* A frame's header plus a size table of up to 1024 chunks (a 256 MiB tensor at the default chunk
 * size): what one gather brings back per frame. */
#define FRAME_PREFIX_BYTES (FRAME_HEADER_BYTES + 4 * 1024)
#define GATHER_THREADS 256

typedef struct {
    const uint8_t *src;
    uint64_t length;
    uint64_t at; /* offset in the gathered bytes */
} gather_piece_t;

/* One CTA per piece: bytes [0, length) of src to dst + at (16-byte aligned; the bytes up to the
 * next multiple of 16 are written too). dst is pinned host memory: each thread assembles 16 bytes
 * from byte loads (the source has any alignment) and writes them with one store, so the bus sees
 * 512-byte runs per warp rather than byte writes. */
__global__ void __launch_bounds__(GATHER_THREADS) gather_kernel(const gather_piece_t *pieces, uint8_t *dst)
{
    const gather_piece_t p = pieces[blockIdx.x];
    for (uint64_t u = threadIdx.x; 16 * u < p.length; u += GATHER_THREADS) {
        uint32_t w[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            w[j] = 0;
#pragma unroll
            for (int b = 0; b < 4; b++) {
                const uint64_t i = 16 * u + 4 * j + b;
                if (i < p.length) w[j] |= (uint32_t)__ldg(p.src + i) << (8 * b);
            }
        }
        *(uint4 *)(dst + p.at + 16 * u) = make_uint4(w[0], w[1], w[2], w[3]);
    }
}

/* The early scan and hash (above), on the side stream. gather_to_host starts them just after it
 * queues the header read-back: queued first, the hash took every SM and the read-back, the host's
 * plan behind it and the expansion and parse waited for its end (a 256 MiB BF16 decode on an
 * H200: the host planned at 85-96 us, now at 23-27 on an H100; docs/gpu.md).
 * The hash's CTAs fill EARLY_HASH_CTAS_PER_SM of an SM's four slots: it is bound by DRAM, not by
 * its warps, and the expansion, parse and decode start in the room it leaves. */
#define EARLY_HASH_CTAS_PER_SM 2
static cudaError_t early_kernels_start(gpu_state_t *state, const uint8_t *d_frame, size_t frame_size)
{
    uint8_t *e = (uint8_t *)state->d_early;
    early_scan_kernel<<<1, EARLY_THREADS, 0, state->side>>>(d_frame, frame_size, (early_head_t *)e, (uint32_t *)(e + early_prefix_at()),
                                                            (hash_span_t *)(e + early_spans_at()));
    early_hash_kernel<<<(uint32_t)state->sm_count * EARLY_HASH_CTAS_PER_SM, HASH_WARPS * 32, 0, state->side>>>(
        (early_head_t *)e, (const hash_span_t *)(e + early_spans_at()), (const uint32_t *)(e + early_prefix_at()),
        (uint64_t *)(e + early_hashes_at()));
    cudaError_t error = cudaGetLastError();
    if (error == cudaSuccess) error = cudaEventRecord(state->early_done, state->side);
    return error;
}

/* Copies length[k] bytes from device address src[k] for every k, back to back, into out (host
 * memory): one kernel and one synchronisation for any number of pieces (a copy per piece costs
 * several microseconds; a batch of small tensors would be dominated by them). The kernel reads the
 * piece list from, and writes the bytes to, the pinned staging buffer through its device mapping
 * (unified addressing maps all pinned memory), so no copy runs before or after it. */
static saraphis_status_t gather_to_host(gpu_state_t *state, cudaStream_t stream, size_t count, const uint8_t *const *src,
                                        const size_t *length, uint8_t *out, const uint8_t *early_frame = NULL, size_t early_frame_size = 0)
{
    size_t total = 0;
    for (size_t k = 0; k < count; k++) total += align_up(length[k], 16);
    if (count == 0 || total == 0) return SARAPHIS_OK;
    const size_t list = align_up(count * sizeof(gather_piece_t), 16);
    SPS_TRY(gpu_reserve_staging(state, list + total));
    gather_piece_t *pieces = (gather_piece_t *)state->h_staging;
    for (size_t k = 0, at = 0; k < count; at += align_up(length[k], 16), k++) {
        pieces[k].src = src[k];
        pieces[k].length = length[k];
        pieces[k].at = at;
    }
    uint8_t *h = (uint8_t *)state->h_staging, *mapped = NULL;
    cudaError_t error = cudaHostGetDevicePointer((void **)&mapped, h, 0);
    for (size_t first = 0; first < count && error == cudaSuccess; first += 65535) {
        const unsigned grid = (unsigned)(count - first < 65535 ? count - first : 65535);
        gather_kernel<<<grid, GATHER_THREADS, 0, stream>>>((const gather_piece_t *)mapped + first, mapped + list);
        error = cudaGetLastError();
    }
    if (error == cudaSuccess && early_frame) {
        error = early_kernels_start(state, early_frame, early_frame_size);
        if (error != cudaSuccess) return gpu_cuda_fail(error, "gpu_decompress: starting the record checksum kernels");
    }
    if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
    if (error != cudaSuccess) return gpu_cuda_fail(error, "gpu_decompress: reading frame headers and size tables");
    for (size_t k = 0, at = 0; k < count; at += length[k], k++) memcpy(out + at, h + list + pieces[k].at, length[k]);
    return SARAPHIS_OK;
}

typedef struct {
    saraphis_frame_info_t info;
    uint64_t first_chunk;
    int content_checksums;
} frame_plan_t;

static int elem_kind(uint32_t element) { return element == 1 ? 0 : element == 2 ? 1 : element == 4 ? 2 : 3; }

/* Where each chunk's pieces start, for decoding a frame from host memory group by group (one
 * frame: one element size). Arrays of chunk_total + 1, the last entry the total. */
typedef struct {
    uint64_t *record_at;   /* byte offset of the chunk's record in the frame */
    uint64_t *task_at;     /* its first decode task */
    uint64_t *record_seg;  /* its first record-hash segment */
    uint64_t *content_seg; /* its first content-hash segment */
    int kind;              /* elem_kind of the frame's dtype */
} group_plan_t;

/* The records of a host frame to its device copy, group by group on the copy stream (through two
 * pinned slots, or straight from the caller's memory when it is pinned: gpu_upload_*), each
 * group's kernels started as soon as its copy has arrived, on the lanes in turn: the host fills
 * one slot while the other is on its way and the GPU decodes the groups before. */
template <typename Launch>
static saraphis_status_t staged_launch(gpu_state_t *state, cudaStream_t stream, const uint8_t *h_frame, uint8_t *d_frame,
                                       uint64_t chunk_total, const group_plan_t *plan, bool one_lane, Launch &launch)
{
    SPS_TRY(gpu_lanes_ready(state));
    /* The groups: consecutive chunks up to GPU_HOST_GROUP_BYTES of records (at least one chunk). */
    uint64_t slot_bytes = 0;
    for (uint64_t a = 0, b; a < chunk_total; a = b) {
        for (b = a + 1; b < chunk_total && plan->record_at[b + 1] - plan->record_at[a] <= GPU_HOST_GROUP_BYTES; b++) {}
        slot_bytes = max(slot_bytes, plan->record_at[b] - plan->record_at[a]);
    }
    gpu_upload_t upload;
    SPS_TRY(gpu_upload_begin(state, h_frame, d_frame, slot_bytes, NULL, &upload));
    /* The lanes start after the caller's stream (the descriptors' upload) and it waits for them. */
    SPS_TRY(gpu_lanes_start(state, stream));
    cudaError_t error = cudaSuccess;
    uint64_t ta[4] = {0, 0, 0, 0}, tb[4] = {0, 0, 0, 0};
    int k = 0;
    for (uint64_t a = 0, b; a < chunk_total && error == cudaSuccess; a = b, k++) {
        for (b = a + 1; b < chunk_total && plan->record_at[b + 1] - plan->record_at[a] <= GPU_HOST_GROUP_BYTES; b++) {}
        const uint64_t offset = plan->record_at[a], bytes = plan->record_at[b] - offset;
        error = gpu_upload_group(state, &upload, (uint64_t)k, offset, bytes);
        /* One lane for a bounded frame: the bounded decoder's descriptors, work areas and digits
         * are one set per context, reused by each group in turn. */
        cudaStream_t lane = state->lanes[one_lane ? 0 : k % GPU_HOST_LANES];
        if (error == cudaSuccess) error = cudaStreamWaitEvent(lane, state->arrived, 0);
        ta[plan->kind] = plan->task_at[a];
        tb[plan->kind] = plan->task_at[b];
        if (error == cudaSuccess)
            error = launch(lane, a, b, ta, tb, plan->record_seg[a], plan->record_seg[b], plan->content_seg[a], plan->content_seg[b], false);
    }
    if (error != cudaSuccess) {
        /* Nothing in flight reads a slot or the scratch once we return. */
        cudaStreamSynchronize(state->copy);
        gpu_lanes_drain(state);
        return gpu_cuda_fail(error, "gpu_decompress_host: copying and decoding the records");
    }
    return gpu_lanes_join(state, stream);
}

/* Decodes count frames at d_frames (device memory). With h_frame (count 1 only), the frame's bytes
 * are at h_frame in host memory and d_frames[0] is device memory of frame_sizes[0] bytes that
 * receives them: the header and size table are read on the host, and the records go over in
 * groups (staged_launch), each decoded as soon as it has arrived. Bounded records are decoded to
 * their top `planes` planes (0: all); *bound_out (may be NULL) gets the largest bound they meet. */
static saraphis_status_t decode_planned(gpu_state_t *state, size_t count, const void *const *d_frames, const size_t *frame_sizes,
                                        void *const *d_dsts, const size_t *dst_capacities, size_t *dst_sizes, cudaStream_t stream,
                                        const uint8_t *h_frame, bool early_started, unsigned planes, double *bound_out,
                                        bool verify_records)
{
    for (size_t f = 0; f < count; f++) {
        if (!d_frames[f]) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_decompress: frame %zu is NULL", f);
        if (frame_sizes[f] < FRAME_HEADER_BYTES)
            return error_set(SARAPHIS_ERROR_TRUNCATED, "gpu_decompress: frame %zu: %zu bytes, header needs %d", f, frame_sizes[f], FRAME_HEADER_BYTES);
    }

    /* 1. Every frame's header and size table back to the host: one gather of each frame's first
     * FRAME_PREFIX_BYTES (a whole table up to 1024 chunks), then one more for the rest of longer
     * tables. */
    size_t *table_offset = (size_t *)malloc((count + 1) * sizeof *table_offset);
    size_t *prefix = (size_t *)malloc(count * sizeof *prefix);
    frame_plan_t *plans = (frame_plan_t *)calloc(count, sizeof *plans);
    uint8_t *host_frames = NULL;
    saraphis_status_t status = table_offset && plans && prefix ? SARAPHIS_OK : error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_decompress: no host memory");
    size_t prefix_total = 0;
    for (size_t f = 0; f < count && status == SARAPHIS_OK; f++) {
        prefix[f] = frame_sizes[f] < FRAME_PREFIX_BYTES ? frame_sizes[f] : FRAME_PREFIX_BYTES;
        prefix_total += prefix[f];
    }
    uint8_t *prefixes = status == SARAPHIS_OK ? (uint8_t *)malloc(prefix_total) : NULL;
    if (status == SARAPHIS_OK && !prefixes) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_decompress: no host memory for %zu header bytes", prefix_total);
    if (status == SARAPHIS_OK && h_frame) memcpy(prefixes, h_frame, prefix_total);
    else if (status == SARAPHIS_OK) status = gather_to_host(state, stream, count, (const uint8_t *const *)d_frames, prefix, prefixes,
                                                                   early_started ? (const uint8_t *)d_frames[0] : NULL, frame_sizes[0]);
    size_t total = 0;
    for (size_t f = 0, at = 0; f < count && status == SARAPHIS_OK; at += prefix[f], f++) {
        table_offset[f] = total;
        uint32_t chunks = load_le32(prefixes + at + 12);
        if ((size_t)chunks > (frame_sizes[f] - FRAME_HEADER_BYTES) / 4)
            status = error_set(SARAPHIS_ERROR_TRUNCATED, "gpu_decompress: frame %zu: %u chunk sizes do not fit in %zu bytes", f, chunks, frame_sizes[f]);
        total += FRAME_HEADER_BYTES + 4 * (size_t)chunks;
    }
    if (status == SARAPHIS_OK) {
        table_offset[count] = total;
        host_frames = (uint8_t *)malloc(total);
        if (!host_frames) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_decompress: no host memory for %zu header bytes", total);
    }
    if (status == SARAPHIS_OK) {
        /* What the prefix holds goes in place; the rest of longer tables comes in a second gather. */
        size_t rest_count = 0;
        for (size_t f = 0, at = 0; f < count; at += prefix[f], f++) {
            size_t need = table_offset[f + 1] - table_offset[f], have = need < prefix[f] ? need : prefix[f];
            memcpy(host_frames + table_offset[f], prefixes + at, have);
            if (need > have) rest_count++;
        }
        if (rest_count) {
            const uint8_t **rest_src = (const uint8_t **)malloc(rest_count * sizeof *rest_src);
            size_t *rest_length = (size_t *)malloc(rest_count * sizeof *rest_length), *rest_at = (size_t *)malloc(rest_count * sizeof *rest_at);
            size_t r = 0, rest_total = 0;
            if (rest_src && rest_length && rest_at) {
                for (size_t f = 0; f < count; f++) {
                    size_t need = table_offset[f + 1] - table_offset[f];
                    if (need <= prefix[f]) continue;
                    rest_src[r] = (const uint8_t *)d_frames[f] + prefix[f];
                    rest_length[r] = need - prefix[f];
                    rest_at[r] = table_offset[f] + prefix[f];
                    rest_total += rest_length[r++];
                }
                uint8_t *rest = (uint8_t *)malloc(rest_total);
                if (!rest) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_decompress: no host memory for %zu size-table bytes", rest_total);
                else if (h_frame) memcpy(rest, h_frame + prefix[0], rest_total); /* count is 1 */
                else status = gather_to_host(state, stream, rest_count, rest_src, rest_length, rest);
                for (size_t k = 0, at = 0; k < rest_count && status == SARAPHIS_OK; at += rest_length[k], k++)
                    memcpy(host_frames + rest_at[k], rest + at, rest_length[k]);
                free(rest);
            } else {
                status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_decompress: no host memory");
            }
            free(rest_src); free(rest_length); free(rest_at);
        }
    }
    free(prefixes);
    free(prefix);
    uint64_t chunk_total = 0;
    for (size_t f = 0; f < count && status == SARAPHIS_OK; f++) {
        const uint8_t *frame = host_frames + table_offset[f];
        status = saraphis_frame_info(frame, frame_sizes[f], &plans[f].info);
        if (status != SARAPHIS_OK) {
            error_wrap(status, "gpu_decompress: frame %zu: ", f);
            break;
        }
        size_t element = saraphis_dtype_size(plans[f].info.dtype);
        if (plans[f].info.raw_size > dst_capacities[f])
            status = error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "gpu_decompress: frame %zu holds %llu bytes, destination %zu", f,
                               (unsigned long long)plans[f].info.raw_size, dst_capacities[f]);
        else if (plans[f].info.raw_size && (!d_dsts[f] || (uintptr_t)d_dsts[f] % element))
            status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_decompress: destination %zu is NULL or not aligned to %zu bytes", f, element);
        plans[f].first_chunk = chunk_total;
        plans[f].content_checksums = frame[7] & 1;
        chunk_total += plans[f].info.chunk_count;
    }
    if (status == SARAPHIS_OK && chunk_total >= (1ull << 32) / 2)
        status = error_set(SARAPHIS_ERROR_LIMIT, "gpu_decompress: %llu chunks in one batch", (unsigned long long)chunk_total);

    /* 2. The plan, per frame: where its chunks, decode tasks, checksum spans and segments start
     * in the batch's arrays (the expansion kernel fills them on the device from the size tables).
     * Tasks are grouped by element size; record spans (and their segments) come first, content
     * spans after them. The host only counts: it writes nothing per chunk, except for what the
     * host-frame copy (group starts) and the bounded decoder (its chunk list) need. */
    uint64_t task_count[4] = {0, 0, 0, 0}, record_spans = 0, content_spans = 0, record_segments = 0, content_segments = 0;
    frame_dev_t *fd = (frame_dev_t *)calloc(count ? count : 1, sizeof *fd);
    if (status == SARAPHIS_OK && !fd) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_decompress: no host memory");
    int bounded = 0;
    bool trusting = false; /* some frame's records are verified by their content checksums */
    for (size_t f = 0; f < count && status == SARAPHIS_OK; f++) {
        const frame_plan_t *p = &plans[f];
        const uint8_t *table = host_frames + table_offset[f] + FRAME_HEADER_BYTES;
        const uint32_t element = (uint32_t)saraphis_dtype_size(p->info.dtype), kind = (uint32_t)elem_kind(element);
        const uint32_t warps = decode_warps((int)element);
        frame_dev_t *d = &fd[f];
        d->chunk_bytes = p->info.chunk_bytes;
        d->chunk_count = p->info.chunk_count;
        d->raw_size = p->info.raw_size;
        d->first_chunk = (uint32_t)p->first_chunk;
        d->dtype = (uint32_t)p->info.dtype;
        d->frame = (uint32_t)f;
        d->warps = warps;
        d->bounded = p->info.codec == SARAPHIS_CODEC_BOUNDED;
        d->content = (uint32_t)p->content_checksums;
        d->content_only = !verify_records && planes == 0 && p->content_checksums;
        bounded |= (int)d->bounded;
        trusting = trusting || d->content_only;
        if (!p->info.chunk_count) continue;
        /* Every chunk but the last holds chunk_bytes: its tasks and content segments are uniform. */
        const uint64_t full_tiles = ((uint64_t)p->info.chunk_bytes / element + TILE_SYMBOLS - 1) / TILE_SYMBOLS;
        const uint64_t last_raw = p->info.raw_size - (uint64_t)(p->info.chunk_count - 1) * p->info.chunk_bytes;
        const uint64_t last_tiles = (last_raw / element + TILE_SYMBOLS - 1) / TILE_SYMBOLS;
        d->tasks_full = (uint32_t)((full_tiles + warps - 1) / warps);
        d->segments_full = (uint32_t)(((uint64_t)p->info.chunk_bytes + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES);
        d->first_task = (uint32_t)task_count[kind]; /* within its kind: the kind's base is added below */
        d->kind = kind;
        task_count[kind] += (uint64_t)d->tasks_full * (p->info.chunk_count - 1) + (last_tiles + warps - 1) / warps;
        d->first_record_span = (uint32_t)record_spans;
        d->first_record_segment = (uint32_t)record_segments;
        for (uint32_t c = 0; c < p->info.chunk_count; c++) {
            const uint32_t record = load_le32(table + 4 * (size_t)c);
            if (record >= CHUNK_HEADER_BYTES + 1) {
                record_spans++;
                record_segments += (record - 8 + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES;
            }
        }
        if (p->content_checksums) {
            d->first_content_span = (uint32_t)content_spans;
            d->first_content_segment = (uint32_t)content_segments;
            content_spans += p->info.chunk_count;
            content_segments += (uint64_t)d->segments_full * (p->info.chunk_count - 1) + (last_raw + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES;
        }
    }
    const uint64_t span_count = record_spans + content_spans;
    uint64_t tasks_total = task_count[0] + task_count[1] + task_count[2] + task_count[3];
    if (status == SARAPHIS_OK && (record_segments + content_segments >= (1ull << 32) || tasks_total >= (1ull << 31) || span_count >= (1ull << 31)))
        status = error_set(SARAPHIS_ERROR_LIMIT, "gpu_decompress: batch too large for one pass");
    uint64_t task_base[4] = {0, task_count[0], task_count[0] + task_count[1], task_count[0] + task_count[1] + task_count[2]};
    /* Upload block (frame descriptors, a host frame's size table, the verdict words), then the
     * device-only arrays the expansion kernel fills, all 16-byte aligned. */
    const size_t host_table_bytes = h_frame && count ? 4 * (size_t)plans[0].info.chunk_count : 0;
    size_t off_frames = 0;
    size_t off_table = align_up(off_frames + count * sizeof(frame_dev_t), 16);
    size_t off_result = align_up(off_table + host_table_bytes, 16);
    size_t upload = off_result + 16;
    size_t off_chunks = upload;
    size_t off_tasks = align_up(off_chunks + chunk_total * sizeof(chunk_in_t), 16);
    size_t off_spans = align_up(off_tasks + tasks_total * sizeof(decode_task_t), 16);
    size_t off_prefix = align_up(off_spans + span_count * sizeof(hash_span_t), 16);
    size_t off_status = align_up(off_prefix + (span_count + 1) * sizeof(uint32_t), 16);
    size_t off_descs = align_up(off_status + chunk_total * sizeof(chunk_status_t), 16);
    size_t off_hashes = align_up(off_descs + chunk_total * sizeof(chunk_desc_t), 16);
    size_t scratch_size = align_up(off_hashes + (record_segments + content_segments) * sizeof(uint64_t), 16);
    if (status == SARAPHIS_OK) status = gpu_reserve_staging(state, upload);
    if (status == SARAPHIS_OK) status = gpu_reserve_scratch(state, scratch_size);
    /* The host's own per-chunk lists: a host frame's group starts (staged_launch), the bounded
     * decoder's chunk list (gpu_padic_decode). */
    group_plan_t group;
    memset(&group, 0, sizeof group);
    gpu_padic_chunk_t *padic_list = NULL;
    if (status == SARAPHIS_OK && h_frame) {
        group.record_at = (uint64_t *)malloc(4 * (chunk_total + 1) * sizeof(uint64_t));
        if (!group.record_at) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_decompress_host: no host memory for %llu chunks", (unsigned long long)chunk_total);
    }
    if (status == SARAPHIS_OK && bounded) {
        padic_list = (gpu_padic_chunk_t *)malloc(chunk_total * sizeof *padic_list);
        if (!padic_list) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_decompress: no host memory for %llu chunks", (unsigned long long)chunk_total);
    }
    /* The host's lists, freed on every return from here on. */
    auto free_lists = [&]() {
        free(table_offset);
        free(plans);
        free(host_frames);
        free(group.record_at);
        free(fd);
        free(padic_list);
    };
    if (status != SARAPHIS_OK) {
        free_lists();
        return status;
    }
    uint8_t *h = (uint8_t *)state->h_staging, *dev = (uint8_t *)state->d_scratch;
    for (size_t f = 0; f < count; f++) {
        frame_dev_t *d = &fd[f];
        d->first_task += (uint32_t)task_base[d->kind];
        d->first_content_span += (uint32_t)record_spans;
        d->first_content_segment += (uint32_t)record_segments;
        d->records = (const uint8_t *)d_frames[f] + FRAME_HEADER_BYTES + 4 * (uint64_t)d->chunk_count;
        d->table = h_frame ? dev + off_table : (const uint8_t *)d_frames[f] + FRAME_HEADER_BYTES;
        d->dst = (uint8_t *)d_dsts[f];
    }
    if (h_frame) {
        const frame_dev_t *d = &fd[0];
        const uint8_t *table = host_frames + FRAME_HEADER_BYTES;
        memcpy(h + off_table, table, host_table_bytes);
        group.task_at = group.record_at + (chunk_total + 1);
        group.record_seg = group.task_at + (chunk_total + 1);
        group.content_seg = group.record_seg + (chunk_total + 1);
        group.kind = (int)d->kind;
        uint64_t at = FRAME_HEADER_BYTES + 4 * (uint64_t)d->chunk_count, rseg = d->first_record_segment;
        for (uint32_t c = 0; c < d->chunk_count; c++) {
            const uint32_t record = load_le32(table + 4 * (size_t)c);
            group.record_at[c] = at;
            group.task_at[c] = d->first_task + (uint64_t)c * d->tasks_full;
            group.record_seg[c] = rseg;
            group.content_seg[c] = d->first_content_segment + (d->content ? (uint64_t)c * d->segments_full : 0);
            if (record >= CHUNK_HEADER_BYTES + 1) rseg += (record - 8 + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES;
            at += record;
        }
        group.record_at[chunk_total] = frame_sizes[0];
        group.task_at[chunk_total] = d->first_task + task_count[d->kind];
        group.record_seg[chunk_total] = rseg;
        group.content_seg[chunk_total] = record_segments + content_segments;
    }
    if (bounded) {
        for (size_t f = 0; f < count; f++) {
            const frame_dev_t *d = &fd[f];
            const uint8_t *table = host_frames + table_offset[f] + FRAME_HEADER_BYTES;
            chunk_status_t *status_of = (chunk_status_t *)(dev + off_status) + d->first_chunk;
            uint64_t *content_of = (uint64_t *)(dev + off_hashes) + d->first_content_segment;
            uint64_t at = 0;
            for (uint32_t c = 0; c < d->chunk_count; c++) {
                gpu_padic_chunk_t *pc = &padic_list[d->first_chunk + c];
                const uint64_t raw = d->raw_size - (uint64_t)c * d->chunk_bytes;
                pc->record = d->records + at;
                pc->dst = d->dst + (uint64_t)c * d->chunk_bytes;
                pc->code = &status_of[c].code;
                pc->partial = &status_of[c].partial;
                pc->content = d->content ? content_of + (uint64_t)c * d->segments_full : NULL;
                pc->hashed = &status_of[c].hashed;
                pc->record_size = load_le32(table + 4 * (size_t)c);
                pc->raw_size = (uint32_t)(raw > d->chunk_bytes ? d->chunk_bytes : raw);
                pc->dtype = d->dtype;
                pc->pad = 0;
                at += pc->record_size;
            }
        }
    }
    /* Device frames: the bounded decoder's head kernel and piece checksums start now, on its side
     * stream, beside the expansion, parse and decode below (they need only the records); its
     * rounds follow the decode kernels (launch_group). */
    gpu_padic_plan_t padic_plan;
    const bool padic_begun = bounded && !h_frame;
    if (padic_begun) {
        status = gpu_padic_begin(state, stream, true, padic_list, (size_t)chunk_total, planes, &padic_plan);
        if (status != SARAPHIS_OK) {
            free_lists();
            return status;
        }
    }
    memcpy(h + off_frames, fd, count * sizeof *fd);

    /* 3. One upload, the expansion, then the kernels; the verdict comes back in mapped memory. */
    const frame_dev_t *d_fd = (const frame_dev_t *)(dev + off_frames);
    chunk_in_t *d_chunks = (chunk_in_t *)(dev + off_chunks);
    decode_task_t *d_tasks = (decode_task_t *)(dev + off_tasks);
    hash_span_t *d_spans = (hash_span_t *)(dev + off_spans);
    uint32_t *d_prefix = (uint32_t *)(dev + off_prefix);
    chunk_desc_t *d_descs = (chunk_desc_t *)(dev + off_descs);
    chunk_status_t *d_status = (chunk_status_t *)(dev + off_status);
    uint64_t *d_hashes = (uint64_t *)(dev + off_hashes);
    unsigned long long *d_result = (unsigned long long *)(dev + off_result);
    memset(h + off_result, 0xff, sizeof *d_result);   /* the first error: none */
    memset(h + off_result + 8, 0, 8);                  /* the verdict kernel's count of finished CTAs */
    volatile unsigned long long *verdict = state->h_verdict;
    *verdict = ~0ull;
    cudaError_t error = cudaMemcpyAsync(dev, h, upload, cudaMemcpyHostToDevice, stream);
    uint32_t expand_parts = 1; /* the expansion's CTAs per frame: enough for the longest size table */
    for (size_t f = 0; f < count; f++)
        expand_parts = max(expand_parts, min((uint32_t)EXPAND_PARTS, (fd[f].chunk_count + EXPAND_THREADS - 1) / EXPAND_THREADS));
    if (error == cudaSuccess && chunk_total)
        expand_kernel<<<dim3((uint32_t)count, expand_parts), EXPAND_THREADS, 0, stream>>>(d_fd, d_chunks, d_tasks, d_spans, d_prefix, d_status,
                                                                       (uint32_t)span_count, (uint32_t)(record_segments + content_segments));
    uint64_t task_next[4];
    for (int k = 0; k < 4; k++) task_next[k] = task_base[k] + task_count[k];
    /* The early kernels cover the record checksums of a single device frame of at most
     * EARLY_MAX_CHUNKS chunks (the same test early_scan_kernel makes on the same bytes); they are
     * never started when `trusting` can be (decode_frames). */
    const bool use_early = early_started && count == 1 && plans[0].info.chunk_count <= EARLY_MAX_CHUNKS;
    const uint32_t hash_grid_cap = (uint32_t)state->sm_count * 4;
    double padic_bound = 0;
    /* The kernels of chunks [a, b): tasks [ta[k], tb[k]) of each element size, record-hash
     * segments [ra, rb), content-hash segments [ca, cb). The record hashes need only the frame:
     * with `beside` they run on the side stream, beside parse and decode (the digest waits).
     * When `trusting`, they wait for parse, which marks the records their content checksums
     * verify (`trusted`, left alone), and run with the content hashes after the decode. */
    auto launch_group = [&](cudaStream_t stream, uint64_t a, uint64_t b, const uint64_t *ta, const uint64_t *tb, uint64_t ra, uint64_t rb,
                            uint64_t ca, uint64_t cb, bool beside) -> cudaError_t {
        cudaError_t e = cudaSuccess;
        beside = beside && !trusting;
        if (rb > ra && !trusting) {
            const uint32_t grid = (uint32_t)min((uint64_t)hash_grid_cap, (rb - ra + HASH_WARPS - 1) / HASH_WARPS);
            cudaStream_t on = beside ? state->side : stream;
            if (beside) {
                e = cudaEventRecord(state->fork, stream);
                if (e == cudaSuccess) e = cudaStreamWaitEvent(state->side, state->fork, 0);
            }
            if (e == cudaSuccess)
                hash_segments_kernel<<<grid, HASH_WARPS * 32, 0, on>>>(d_spans, d_prefix, (uint32_t)span_count, (uint32_t)ra, (uint32_t)rb, d_hashes, NULL);
            if (e == cudaSuccess && beside) e = cudaEventRecord(state->join, state->side);
        }
        const uint32_t n = (uint32_t)(b - a);
        parse_kernel<<<(n + PARSE_WARPS - 1) / PARSE_WARPS, PARSE_WARPS * 32, 0, stream>>>(d_chunks + a, d_descs + a, d_status + a, n);
        if (tb[0] > ta[0]) decode_kernel<1><<<(uint32_t)(tb[0] - ta[0]), decode_warps(1) * 32, 0, stream>>>(d_chunks, d_descs, d_status, d_tasks + ta[0], d_prefix, d_hashes);
        if (tb[1] > ta[1]) decode_kernel<2><<<(uint32_t)(tb[1] - ta[1]), decode_warps(2) * 32, 0, stream>>>(d_chunks, d_descs, d_status, d_tasks + ta[1], d_prefix, d_hashes);
        if (tb[2] > ta[2]) decode_kernel<4><<<(uint32_t)(tb[2] - ta[2]), decode_warps(4) * 32, 0, stream>>>(d_chunks, d_descs, d_status, d_tasks + ta[2], d_prefix, d_hashes);
        if (tb[3] > ta[3]) decode_kernel<8><<<(uint32_t)(tb[3] - ta[3]), decode_warps(8) * 32, 0, stream>>>(d_chunks, d_descs, d_status, d_tasks + ta[3], d_prefix, d_hashes);
        /* ---- p-adic hook: gpu_padic.cu decodes the CHUNK_PADIC records (to their top `planes`
         * planes) after the decode kernels, before the content checksums, which cover its output.
         * Its chunk list holds each chunk's record, destination, status words and content-hash
         * segments, where it may write the hashes itself and mark the chunk `hashed`; its errors
         * go to the status words. The bound is the largest over the groups. */
        if (e == cudaSuccess && bounded && status == SARAPHIS_OK) {
            double group_bound = 0;
            status = padic_begun ? gpu_padic_finish(state, stream, &padic_plan, &group_bound) /* the whole batch: a == 0, b == chunk_total */
                                 : gpu_padic_decode(state, stream, padic_list + a, (size_t)(b - a), planes, &group_bound);
            if (group_bound > padic_bound) padic_bound = group_bound;
        }
        auto hash_after = [&](uint64_t first, uint64_t end) {
            const uint32_t grid = (uint32_t)min((uint64_t)hash_grid_cap, (end - first + HASH_WARPS - 1) / HASH_WARPS);
            hash_segments_kernel<<<grid, HASH_WARPS * 32, 0, stream>>>(d_spans, d_prefix, (uint32_t)span_count, (uint32_t)first, (uint32_t)end, d_hashes, d_status);
        };
        if (trusting && rb > ra && rb == ca) { /* record and content hashes in one pass */
            hash_after(ra, cb > ca ? cb : rb);
        } else {
            if (trusting && rb > ra) hash_after(ra, rb);
            if (cb > ca) hash_after(ca, cb);
        }
        if (e == cudaSuccess && beside && rb > ra) e = cudaStreamWaitEvent(stream, state->join, 0);
        return e;
    };
    if (error == cudaSuccess && chunk_total) {
        uint32_t chunks32 = (uint32_t)chunk_total;
        if (!h_frame) {
            uint64_t ta[4], tb[4];
            for (int k = 0; k < 4; k++) ta[k] = task_next[k] - task_count[k], tb[k] = task_next[k];
            const uint64_t record_end = use_early ? 0 : record_segments; /* the early kernels have them */
            error = launch_group(stream, 0, chunk_total, ta, tb, 0, record_end, record_segments, record_segments + content_segments, true);
        } else {
            status = staged_launch(state, stream, h_frame, (uint8_t *)d_frames[0], chunk_total, &group, bounded != 0, launch_group);
        }
        uint8_t *early = (uint8_t *)state->d_early;
        if (use_early && error == cudaSuccess) error = cudaStreamWaitEvent(stream, state->early_done, 0);
        verdict_kernel<<<(uint32_t)((8 * (uint64_t)chunks32 + VERDICT_THREADS - 1) / VERDICT_THREADS), VERDICT_THREADS, 0, stream>>>(
            d_chunks, d_spans, d_prefix, use_early ? (const uint64_t *)(early + early_hashes_at()) : d_hashes, d_hashes + record_segments,
            (uint32_t)record_segments, use_early ? (const early_head_t *)early : NULL, d_status, chunks32, d_result, (uint32_t *)(d_result + 1),
            state->d_verdict);
        cudaError_t launched = cudaGetLastError();
        if (error == cudaSuccess) error = launched;
    }
    if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
    if (error != cudaSuccess) status = gpu_cuda_fail(error, "gpu_decompress: kernels");
    const unsigned long long first_error = *verdict;
    if (status == SARAPHIS_OK && first_error != ~0ull) {
        uint64_t chunk = first_error >> 8;
        saraphis_status_t code = (saraphis_status_t)(first_error & 0xff);
        size_t f = 0;
        while (f + 1 < count && plans[f + 1].first_chunk <= chunk) f++;
        const char *what = code == SARAPHIS_ERROR_CHECKSUM   ? "checksum mismatch (record or decoded bytes)"
                           : code == SARAPHIS_ERROR_TRUNCATED ? "record or stream cut short"
                           : code == SARAPHIS_ERROR_UNSUPPORTED ? "unknown chunk method"
                                                                : "corrupt record (structure, table or rANS block)";
        status = error_set(code, "gpu_decompress: frame %zu chunk %llu: %s (found on the GPU)", f,
                           (unsigned long long)(chunk - plans[f].first_chunk), what);
    }
    if (status == SARAPHIS_OK && dst_sizes)
        for (size_t f = 0; f < count; f++) dst_sizes[f] = plans[f].info.raw_size;
    if (status == SARAPHIS_OK && bound_out) *bound_out = padic_bound;
    if (padic_begun) cudaStreamSynchronize(state->padic_side); /* whatever ended the call, nothing there still runs */
    free_lists();
    return status;
}

/* Readies the early record checksums of one device frame: their buffer, and the side stream's
 * place after what the caller's stream has queued (the frame may still be arriving). The kernels
 * start once the header read-back is queued (early_kernels_start). */
static saraphis_status_t early_start(gpu_state_t *state, cudaStream_t stream, size_t frame_size)
{
    const size_t need = early_hashes_at() + (frame_size / CHECKSUM_SEGMENT_BYTES + EARLY_MAX_CHUNKS + 1) * sizeof(uint64_t);
    if (!state->early_fork) {
        CUDA_TRY(cudaEventCreateWithFlags(&state->early_fork, cudaEventDisableTiming), "gpu_decompress: an event");
        CUDA_TRY(cudaEventCreateWithFlags(&state->early_done, cudaEventDisableTiming), "gpu_decompress: an event");
    }
    if (state->early_capacity < need) {
        CUDA_TRY(cudaStreamSynchronize(state->side), "gpu_decompress: the checksum stream");
        SPS_TRY(gpu_grow_device(state, &state->d_early, &state->early_capacity, need));
    }
    CUDA_TRY(cudaEventRecord(state->early_fork, stream), "gpu_decompress: ordering the record checksums");
    CUDA_TRY(cudaStreamWaitEvent(state->side, state->early_fork, 0), "gpu_decompress: ordering the record checksums");
    return SARAPHIS_OK;
}

/* A single device frame gets its record checksums started before anything else; whatever
 * happens next, nothing started here still reads the caller's frame when the call returns. */
static saraphis_status_t decode_frames(gpu_state_t *state, bool verify_records, size_t count, const void *const *d_frames,
                                       const size_t *frame_sizes, void *const *d_dsts, const size_t *dst_capacities, size_t *dst_sizes,
                                       cudaStream_t stream, const uint8_t *h_frame, unsigned planes = 0, double *bound_out = NULL)
{
    /* Not when records may be verified by their content checksums (verify_records 0): the frame's
     * flag is not known yet, and launching the early kernels costs the host about 9 us. */
    bool early = count == 1 && !h_frame && d_frames[0] && frame_sizes[0] >= FRAME_HEADER_BYTES && (verify_records || planes != 0);
    if (early && early_start(state, stream, frame_sizes[0]) != SARAPHIS_OK) {
        cudaStreamSynchronize(state->side);
        error_clear(); /* the call goes on without them: the record checksums run beside the decode */
        early = false;
    }
    saraphis_status_t status =
        decode_planned(state, count, d_frames, frame_sizes, d_dsts, dst_capacities, dst_sizes, stream, h_frame, early, planes, bound_out,
                       verify_records);
    if (early) cudaEventSynchronize(state->early_done);
    return status;
}

extern "C" saraphis_status_t saraphis_gpu_decompress_batch(saraphis_ctx_t *ctx, size_t count, const void *const *d_frames,
                                                           const size_t *frame_sizes, void *const *d_dsts,
                                                           const size_t *dst_capacities, size_t *dst_sizes, void *cuda_stream)
{
    error_clear();
    if (!ctx || (count && (!d_frames || !frame_sizes || !d_dsts || !dst_capacities)))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_decompress: NULL argument");
    gpu_state_t *state;
    SPS_TRY(gpu_state_get(ctx, &state));
    if (count == 0) return SARAPHIS_OK;
    return decode_frames(state, ctx->verify_records != 0, count, d_frames, frame_sizes, d_dsts, dst_capacities, dst_sizes,
                         (cudaStream_t)cuda_stream, NULL);
}

extern "C" saraphis_status_t saraphis_gpu_decompress_host(saraphis_ctx_t *ctx, const void *frame, size_t frame_size, void *d_dst,
                                                          size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    error_clear();
    if (!ctx || !frame || !dst_size) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_decompress_host: NULL argument");
    gpu_state_t *state;
    SPS_TRY(gpu_state_get(ctx, &state));
    SPS_TRY(gpu_grow_device(state, &state->d_host_frame, &state->host_frame_capacity, frame_size ? frame_size : 1));
    const void *d_frame = state->d_host_frame;
    return decode_frames(state, ctx->verify_records != 0, 1, &d_frame, &frame_size, &d_dst, &dst_capacity, dst_size,
                         (cudaStream_t)cuda_stream, (const uint8_t *)frame);
}

extern "C" saraphis_status_t saraphis_gpu_decompress(saraphis_ctx_t *ctx, const void *d_frame, size_t frame_size, void *d_dst,
                                                     size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    if (!dst_size) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_decompress: NULL argument");
    return saraphis_gpu_decompress_batch(ctx, 1, &d_frame, &frame_size, &d_dst, &dst_capacity, dst_size, cuda_stream);
}

extern "C" saraphis_status_t saraphis_gpu_decompress_planes(saraphis_ctx_t *ctx, const void *d_frame, size_t frame_size, unsigned planes,
                                                            void *d_dst, size_t dst_capacity, size_t *dst_size, double *bound_out,
                                                            void *cuda_stream)
{
    error_clear();
    if (!ctx || !dst_size) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_decompress_planes: NULL argument");
    gpu_state_t *state;
    SPS_TRY(gpu_state_get(ctx, &state));
    return decode_frames(state, ctx->verify_records != 0, 1, &d_frame, &frame_size, &d_dst, &dst_capacity, dst_size,
                         (cudaStream_t)cuda_stream, NULL, planes, bound_out);
}
