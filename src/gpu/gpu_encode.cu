/* GPU encode (saraphis_gpu_compress): the frame of saraphis_compress (engine/frame.c), byte for
 * byte, built on the device. Every choice the CPU makes is made here by the same code: the device
 * gathers the statistics, the host decides through lossless_plan.h (float_plan) and entropy.c
 * (entropy_plan, rans_normalize, entropy_rans_smaller), and the device writes the bytes.
 *
 * A tile is 32768 elements of a chunk (one rANS block of each of its streams). Phases, each one
 * launch over the whole tensor (or over each batch of chunks, see ENC_BATCHES):
 *   content:   the content checksums' segment hashes: for float sources whose pieces start at
 *              multiples of 4 KiB, by the stats kernel from its own loads; otherwise on the side
 *              stream from the start (they need only the source), beside everything up to the
 *              records' assembly;
 *   stats:     per piece of a chunk (up to 32 KiB, a CTA each), the mantissa OR and the smallest
 *              and largest exponent, merged per chunk with atomics (float dtypes);
 *   histogram: per piece, every entropy stream's symbols (float_plan of the chunk's statistics)
 *              counted in shared memory, merged per chunk; stats and histograms go to the host;
 *   host:      per chunk (on the context's thread pool), float_plan and entropy_plan of each
 *              stream: CONSTANT, RAW or a rANS candidate with its normalised table, written
 *              straight into pinned staging at the chunk's fixed place;
 *   encode:    one warp per tile encodes every rANS candidate stream's block, last group of 32
 *              first, loading the next groups while it encodes; lane l owns the symbols
 *              i = l mod 32; the lanes that shed a 16-bit word store it below the cursor in
 *              descending lane order (ballot + popc), the order rans_encode_block_portable writes
 *              them. Blocks go to per-tile slots in scratch; their sizes go to the host;
 *   host:      final stream modes (a candidate whose coded size reaches raw + 1 is RAW), record
 *              sizes (a payload beyond the raw size is STORED) and every small piece of every
 *              record (headers, tables, block sizes) in one blob, the copy spans and the channel
 *              tasks: on the context's threads, each record counted, placed by a prefix sum and
 *              written at its place; the batch's layout goes up in one copy;
 *   assemble:  copies (blob pieces, rANS blocks, STORED bytes), RAW channels and packed bits
 *              (rest bits, wide F64 exponents) written straight from the source;
 *   checksums: segment hashes + XXH64 (gpu_device.cuh): the content digests into the record
 *              headers, then the record checksums over the finished records;
 *   header:    the frame header and the size table, last.
 * The last three phases run per batch, on the batch's lane, as soon as its block sizes are back
 * (the host lays out batch b while the device encodes batch b + 1), when the destination holds
 * the largest frame the chunks can make (every record STORED: saraphis_compress_bound is enough);
 * into a smaller destination every size is known first, so that nothing is written to it unless
 * the frame fits. Scratch and staging are reserved once per call from bounds that do not depend on
 * the data (the rANS slots, two bytes per symbol, make the scratch about twice the input).
 *
 * From host memory (saraphis_gpu_compress_host) the input crosses the bus in groups of whole
 * chunks (gpu_upload_*: two pinned slots on the copy stream, or straight from pinned memory), and
 * the batches are the groups: a group's statistics, histograms and content checksums wait only
 * for its own copy, and the host plans and the lanes encode a group while the next one crosses.
 * The frame is built in device memory of the context and copied back once it is complete. The
 * bounded codec takes the whole tensor over first (its bound is a statistic of all of it). */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "codec/chunk.h"
#include "codec/entropy.h"
#include "codec/lossless_plan.h"
#include "codec/rans.h"
#include "common/bits.h"
#include "common/bitstream.h"
#include "common/checksum.h"
#include "common/error.h"
#include "engine/context.h"
#include "engine/threadpool.h"
#include "saraphis.h"
}

#include "gpu/gpu_device.cuh"
#include "gpu/gpu_internal.h"
#include "gpu/gpu_padic_encode.h"

/* docs/format.md, section 3 (engine/frame.c writes the same). */
#define FRAME_MAGIC "SPSF"
#define FRAME_HEADER_BYTES 32

#define ENC_TILE 32768u /* = RANS_BLOCK_SYMBOLS */
#define ENC_MAX_STREAMS 8
#define ENC_THREADS 256
#define ENC_FULL_SLOT (RANS_BLOCK_HEADER_BYTES + 2 * ENC_TILE) /* a block of a full tile, at most */
#define ENC_COPY_PIECE 65536u                                  /* copy spans are cut to this */
#define ENC_PACKED_PIECE 32768u                                /* packed-bits tasks: output bytes each */
#define ENC_HASH_WARPS 8
/* Chunk batches: the host plans a batch while the device gathers the next one's histograms and
 * encodes the previous ones. Each encode launch then has a fraction of the tiles, and one warp's
 * chain through a tile is what bounds it, so consecutive batches encode on different streams (the
 * lanes) and overlap; on one stream, 4 batches were slower than 1 (H200: 92 against 101 GB/s).
 * H100, 256 MiB of MiniLM weights, BF16/F16/F32 twice each, median GB/s over the six (checksums on
 * / off): 1 batch about 170 / 185, 2 231 / 264, 3 247 / 273, 4 238 / 267, 6 217 / 245. */
#define ENC_BATCHES 3
#define ENC_BATCHES_MAX 1024

/* SARAPHIS_GPU_ENCODE_BATCHES=n (1 to ENC_BATCHES_MAX, at most one a chunk) replaces ENC_BATCHES
 * for inputs in device memory of 64 chunks and more: for tuning, and for the tests, which run more
 * batches than there are lanes. */
static saraphis_status_t device_batches(uint64_t chunks, uint32_t *batches)
{
    *batches = ENC_BATCHES;
    const char *text = getenv("SARAPHIS_GPU_ENCODE_BATCHES");
    if (!text || !text[0]) return SARAPHIS_OK;
    char *end = NULL;
    const unsigned long value = strtoul(text, &end, 10);
    if (*end || text[0] == '-' || value < 1 || value > ENC_BATCHES_MAX)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_compress: SARAPHIS_GPU_ENCODE_BATCHES=\"%s\" is not a whole number from 1 to %d", text,
                         ENC_BATCHES_MAX);
    *batches = (uint32_t)(value < chunks ? value : chunks);
    return SARAPHIS_OK;
}
#define ENC_PREFETCH 8 /* groups of 32 elements loaded ahead by each encoding warp */

/* Stream modes: ENTROPY_RAW, ENTROPY_RANS, ENTROPY_CONSTANT, and the raw-packed F64 exponents. */
enum { STREAM_PACKED = 3 };

/* ---- Shapes shared by host and device ----------------------------------------------------- */

typedef struct {
    uint64_t src_size;
    uint32_t chunk_bytes, chunk_count, tiles_per_chunk, is_float;
    float_layout_t layout;
} enc_geometry_t;

typedef struct {
    uint32_t not_min; /* ~(smallest exponent): atomicMax from zero */
    uint32_t max;
    unsigned long long mantissa_or;
} chunk_stats_t;

typedef struct {
    float_plan_t plan;
    uint64_t src;                         /* byte offset of the chunk in the source */
    uint64_t slot[ENC_MAX_STREAMS];       /* rANS candidates: scratch offset of tile 0's slot */
    uint32_t table[ENC_MAX_STREAMS];      /* rANS candidates: index of the frequency table */
    uint32_t size_index[ENC_MAX_STREAMS]; /* rANS candidates: index of tile 0's block size */
    uint32_t n, raw, tiles;
    uint8_t mode[ENC_MAX_STREAMS];
    uint8_t stream_count, stored, pad[2];
} enc_chunk_t;

typedef struct {
    uint32_t chunk, first_tile;
} enc_task_t;

typedef struct {
    const uint8_t *src;
    uint64_t dst;
    uint32_t length, pad;
} copy_span_t;

typedef struct {
    uint64_t dst; /* the channel's first byte in the destination (RAW: the tile's first symbol) */
    uint32_t chunk, stream; /* packed tasks: stream 0 = rest bits, 1 = exponents */
    uint32_t begin, end;    /* RAW: the tile; packed: output bytes [begin, end) */
} channel_task_t;

typedef struct {
    const uint8_t *data;
    uint8_t *out; /* where the 8-byte checksum goes */
    uint64_t length;
} hash_span_t;

/* ---- Symbols ------------------------------------------------------------------------------ */

/* The split of lossless.c (split_generic) for one element, from the chunk's plan. */
typedef struct {
    uint32_t is_float, M, exponent_mask, sign_shift, m, dropped, base, fold, kr, high_shift, rest_bits, stream_count;
    uint64_t mantissa_mask;
} sym_params_t;

__host__ __device__ static inline sym_params_t sym_params(uint32_t is_float, uint32_t element, float_layout_t layout,
                                                          const float_plan_t &plan)
{
    sym_params_t p;
    memset(&p, 0, sizeof p);
    p.is_float = is_float;
    if (!is_float) {
        p.stream_count = element;
        return p;
    }
    p.M = layout.mantissa_bits;
    p.exponent_mask = (1u << layout.exponent_bits) - 1;
    p.sign_shift = layout.mantissa_bits + layout.exponent_bits;
    p.mantissa_mask = ((uint64_t)1 << layout.mantissa_bits) - 1;
    p.m = plan.field.m;
    p.dropped = plan.field.dropped;
    p.base = plan.base;
    p.fold = plan.field.fold;
    p.kr = plan.field.kr;
    p.high_shift = plan.field.kr > 8 ? plan.field.kr - 8 : 0;
    p.rest_bits = plan.field.rest_bits;
    p.stream_count = 2 + plan.field.plane_count;
    return p;
}

template <int ELEM> struct enc_word;
template <> struct enc_word<1> { typedef uint8_t store; typedef uint32_t work; };
template <> struct enc_word<2> { typedef uint16_t store; typedef uint32_t work; };
template <> struct enc_word<4> { typedef uint32_t store; typedef uint32_t work; };
template <> struct enc_word<8> { typedef uint64_t store; typedef uint64_t work; };

template <int ELEM>
__device__ __forceinline__ typename enc_word<ELEM>::work load_element(const uint8_t *chunk, uint32_t i)
{
    return (typename enc_word<ELEM>::work)__ldg((const typename enc_word<ELEM>::store *)chunk + i);
}

/* Stream s's symbol of element v: s = 0 exponent (with the fold), 1 high, 2.. planes; or byte s. */
template <typename U>
__device__ __forceinline__ uint32_t symbol_of(const sym_params_t &p, U v, uint32_t s)
{
    if (!p.is_float) return (uint32_t)(v >> (8 * s)) & 0xff;
    U field = ((v >> p.sign_shift) << p.m) | ((v & (U)p.mantissa_mask) >> p.dropped);
    if (s == 0) return (uint32_t)(((((v >> p.M) & p.exponent_mask) - p.base) << p.fold) | (field >> p.kr)) & 0xff;
    field &= ((U)1 << p.kr) - 1;
    return (uint32_t)(field >> (p.high_shift - 8 * (s - 1))) & 0xff;
}

/* The packed channels: rest bits (kind 0) and the raw F64 exponents (kind 1). */
template <typename U>
__device__ __forceinline__ uint64_t packed_value(const sym_params_t &p, U v, uint32_t kind)
{
    if (kind) return (uint64_t)(((v >> p.M) & p.exponent_mask) - p.base);
    U field = (v & (U)p.mantissa_mask) >> p.dropped;
    return (uint64_t)(field & (((U)1 << p.rest_bits) - 1));
}

__device__ __forceinline__ uint32_t chunk_raw(const enc_geometry_t &g, uint32_t c)
{
    uint64_t begin = (uint64_t)c * g.chunk_bytes;
    return (uint32_t)min((uint64_t)g.chunk_bytes, g.src_size - begin);
}

/* ---- Phase 1: statistics and histograms -------------------------------------------------- */

/* Both kernels read each chunk in pieces of at most PHASE1_PIECE bytes, one CTA per piece: every
 * thread loads its PHASE1_VECTORS 16-byte vectors at once (vector i of thread t at byte
 * 16 * (i * PHASE1_THREADS + t) of the piece) and keeps them in registers. The histograms need
 * the plan, and so the whole chunk's statistics: stats_kernel gathers them in a pass of its own.
 * (One pass, with each chunk's pieces a thread-block cluster that merged their statistics through
 * distributed shared memory before counting, took 62 us per 64 MiB of BF16 against 67 for the two
 * kernels, but it held back the encode kernels of the batches running beside it: the call was
 * slower, 196 against 212 GB/s, H100.) */
#define PHASE1_THREADS 256
#define PHASE1_VECTORS 8
#define PHASE1_PIECE (PHASE1_THREADS * PHASE1_VECTORS * 16)

/* A chunk's pieces, of one size (a multiple of 16 bytes), so that its CTAs share its work evenly. */
static inline uint32_t phase1_pieces(uint32_t chunk_bytes) { return (chunk_bytes + PHASE1_PIECE - 1) / PHASE1_PIECE; }
static inline uint32_t phase1_piece_bytes(uint32_t chunk_bytes)
{
    const uint32_t pieces = phase1_pieces(chunk_bytes);
    return ((chunk_bytes + pieces - 1) / pieces + 15) & ~15u;
}

/* Element j (of 16 / ELEM) of a 16-byte vector, little-endian. */
template <int ELEM>
__device__ __forceinline__ typename enc_word<ELEM>::work vector_element(const uint4 &x, int j)
{
    const uint32_t w[4] = {x.x, x.y, x.z, x.w};
    if constexpr (ELEM == 8) return (uint64_t)w[2 * j + 1] << 32 | w[2 * j];
    else if constexpr (ELEM == 4) return w[j];
    else if constexpr (ELEM == 2) return j & 1 ? w[j / 2] >> 16 : w[j / 2] & 0xffff;
    else return (w[j / 4] >> (8 * (j & 3))) & 0xff;
}

/* The 16 bytes at chunk + offset, of which the first `valid` (whole elements) are read and the
 * rest are zero: one load when they are all there and the source is 16-byte aligned, else
 * element by element. */
template <int ELEM>
__device__ __forceinline__ uint4 load_vector(const uint8_t *chunk, uint32_t offset, uint32_t valid, bool aligned)
{
    if (valid == 16 && aligned) return __ldg((const uint4 *)(chunk + offset));
    uint32_t w[4] = {0, 0, 0, 0};
#pragma unroll
    for (int j = 0; j < 16 / ELEM; j++) {
        if ((uint32_t)j * ELEM >= valid) break;
        const uint64_t v = load_element<ELEM>(chunk + offset, (uint32_t)j);
        if constexpr (ELEM == 8) {
            w[2 * j] = (uint32_t)v;
            w[2 * j + 1] = (uint32_t)(v >> 32);
        } else {
            w[j * ELEM / 4] |= (uint32_t)v << (8 * (j * ELEM % 4));
        }
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
}

/* A piece: chunk c, bytes [begin, end) of it, and this thread's vectors. */
template <int ELEM>
struct phase1_piece_t {
    uint32_t c, begin, end, raw;
    uint4 x[PHASE1_VECTORS];

    /* Bytes of vector i inside the piece: 16, except at the end of a chunk. */
    __device__ __forceinline__ uint32_t valid(int i) const
    {
        const uint32_t offset = begin + 16 * ((uint32_t)i * PHASE1_THREADS + threadIdx.x);
        return offset < end ? min(16u, end - offset) : 0;
    }

    __device__ __forceinline__ void load(const uint8_t *src, const enc_geometry_t &g, uint32_t first_chunk, uint32_t pieces,
                                         uint32_t piece_bytes, bool aligned)
    {
        c = first_chunk + blockIdx.x / pieces;
        raw = chunk_raw(g, c);
        begin = min(raw, blockIdx.x % pieces * piece_bytes);
        end = min(raw, begin + piece_bytes);
        const uint8_t *chunk = src + (uint64_t)c * g.chunk_bytes;
#pragma unroll
        for (int i = 0; i < PHASE1_VECTORS; i++) {
            const uint32_t v = valid(i);
            x[i] = v ? load_vector<ELEM>(chunk, begin + 16 * ((uint32_t)i * PHASE1_THREADS + threadIdx.x), v, aligned) : make_uint4(0, 0, 0, 0);
        }
    }
};

/* A float chunk's statistics (or a part's): the OR of the mantissas and the exponent range. */
typedef struct {
    unsigned long long mantissa_or;
    uint32_t lo, hi;
} float_stats_t;

__device__ __forceinline__ void merge_stats(float_stats_t &into, const float_stats_t &s)
{
    into.mantissa_or |= s.mantissa_or;
    into.lo = min(into.lo, s.lo);
    into.hi = max(into.hi, s.hi);
}

/* The thread's statistics, warp-merged. The exponent range comes from the smallest and largest
 * magnitude (the element without its sign), whose exponents they are; 2-byte elements go two at
 * a time in 16-bit halves. */
template <int ELEM>
__device__ __forceinline__ float_stats_t piece_stats(const phase1_piece_t<ELEM> &piece, const float_layout_t &layout)
{
    typedef typename enc_word<ELEM>::work U;
    const uint32_t M = layout.mantissa_bits;
    const U magnitude = ((U)1 << (M + layout.exponent_bits)) - 1;
    U or_acc = 0, lo = magnitude, hi = 0; /* 2-byte elements: both halves */
    if (ELEM == 2) lo |= lo << 16;
#pragma unroll
    for (int i = 0; i < PHASE1_VECTORS; i++) {
        const uint32_t valid = piece.valid(i);
        const uint4 x = piece.x[i];
        if (valid == 16) {
            if constexpr (ELEM == 2) {
                or_acc |= x.x | x.y | x.z | x.w;
                const uint32_t w[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
                for (int k = 0; k < 4; k++) {
                    const uint32_t m = w[k] & (magnitude * 0x10001u);
                    lo = __vminu2(lo, m);
                    hi = __vmaxu2(hi, m);
                }
                continue;
            }
        }
#pragma unroll
        for (int j = 0; j < 16 / ELEM; j++) {
            if ((uint32_t)j * ELEM >= valid) break;
            const U v = vector_element<ELEM>(x, j);
            or_acc |= v;
            if constexpr (ELEM == 2) {
                lo = __vminu2(lo, (v & magnitude) * 0x10001u);
                hi = __vmaxu2(hi, (v & magnitude) * 0x10001u);
            } else {
                lo = min(lo, v & magnitude);
                hi = max(hi, v & magnitude);
            }
        }
    }
    if (ELEM == 2) {
        or_acc |= or_acc >> 16;
        lo = min(lo & 0xffff, lo >> 16);
        hi = max(hi & 0xffff, hi >> 16);
    }
    float_stats_t s = {(unsigned long long)(or_acc & (((U)1 << M) - 1)), (uint32_t)(lo >> M), (uint32_t)(hi >> M)};
#pragma unroll
    for (int k = 16; k; k >>= 1) {
        s.mantissa_or |= __shfl_xor_sync(0xffffffffu, s.mantissa_or, k);
        s.lo = min(s.lo, __shfl_xor_sync(0xffffffffu, s.lo, k));
        s.hi = max(s.hi, __shfl_xor_sync(0xffffffffu, s.hi, k));
    }
    return s;
}

/* The CTA's statistics (warp results through `warps`), valid in thread 0. */
template <int ELEM>
__device__ __forceinline__ float_stats_t block_stats(const phase1_piece_t<ELEM> &piece, const float_layout_t &layout, float_stats_t *warps)
{
    float_stats_t s = piece_stats<ELEM>(piece, layout);
    if ((threadIdx.x & 31) == 0) warps[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0)
        for (uint32_t w = 1; w < PHASE1_THREADS / 32; w++) merge_stats(s, warps[w]);
    return s;
}

/* The content checksum's segment hashes of a piece whose start is a multiple of 4 KiB: vector i
 * of every thread lies in segment i of the piece (PHASE1_THREADS * 16 bytes = 4 KiB), word 4t of
 * it for thread t, so each thread adds its two NH pairs to value i, and the block sums the eight
 * values: a warp halves them over lanes 16 apart, then 8, then 4 (nine exchanges instead of eight
 * full sums), and its lanes 4j hold value j. Pairs with no byte of the chunk are left out (the
 * loaded bytes past its end are zero, as the format pads). */
template <int ELEM>
__device__ static void piece_content_hashes(const phase1_piece_t<ELEM> &piece, uint64_t *content, uint32_t segments_per_chunk,
                                            unsigned long long *sums)
{
    static_assert(PHASE1_THREADS * 16 == CHECKSUM_SEGMENT_BYTES, "one vector per thread and segment");
    const uint32_t lane = threadIdx.x & 31, word = 4 * (threadIdx.x % PHASE1_THREADS);
    uint64_t h[PHASE1_VECTORS];
#pragma unroll
    for (int i = 0; i < PHASE1_VECTORS; i++) {
        const uint32_t valid = piece.valid(i);
        const uint4 x = piece.x[i];
        h[i] = valid ? nh_pair(x.x, x.y, word) : 0;
        if (valid > 8) h[i] += nh_pair(x.z, x.w, word + 2);
    }
    static_assert(PHASE1_VECTORS == 8, "the exchanges below halve eight values three times");
#pragma unroll
    for (int k = 0; k < 4; k++) {
        const bool upper = lane & 16;
        const uint64_t send = upper ? h[k] : h[k + 4], keep = upper ? h[k + 4] : h[k];
        h[k] = keep + __shfl_xor_sync(0xffffffffu, send, 16);
    }
#pragma unroll
    for (int k = 0; k < 2; k++) {
        const bool upper = lane & 8;
        const uint64_t send = upper ? h[k] : h[k + 2], keep = upper ? h[k + 2] : h[k];
        h[k] = keep + __shfl_xor_sync(0xffffffffu, send, 8);
    }
    {
        const bool upper = lane & 4;
        const uint64_t send = upper ? h[0] : h[1], keep = upper ? h[1] : h[0];
        h[0] = keep + __shfl_xor_sync(0xffffffffu, send, 4);
    }
    h[0] += __shfl_xor_sync(0xffffffffu, h[0], 2);
    h[0] += __shfl_xor_sync(0xffffffffu, h[0], 1);
    if ((lane & 3) == 0) atomicAdd(&sums[lane >> 2], (unsigned long long)h[0]);
    __syncthreads();
    if (threadIdx.x < PHASE1_VECTORS && piece.begin + threadIdx.x * CHECKSUM_SEGMENT_BYTES < piece.end)
        content[(uint64_t)piece.c * segments_per_chunk + piece.begin / CHECKSUM_SEGMENT_BYTES + threadIdx.x] = sums[threadIdx.x];
}

/* The statistics of float chunks, merged per chunk with atomics; with `content` (not NULL: the
 * pieces start at multiples of 4 KiB), the content checksum's segment hashes too, from the same
 * loads (the source is read once for both). */
template <int ELEM>
__global__ void __launch_bounds__(PHASE1_THREADS) stats_kernel(const uint8_t *src, enc_geometry_t g, uint32_t first_chunk, uint32_t pieces,
                                                               uint32_t piece_bytes, bool aligned, chunk_stats_t *stats, uint64_t *content,
                                                               uint32_t segments_per_chunk)
{
    __shared__ float_stats_t warps[PHASE1_THREADS / 32];
    __shared__ unsigned long long sums[PHASE1_VECTORS];
    phase1_piece_t<ELEM> piece;
    piece.load(src, g, first_chunk, pieces, piece_bytes, aligned);
    if (content && threadIdx.x < PHASE1_VECTORS) sums[threadIdx.x] = 0; /* block_stats' barrier comes before the sums */
    const float_stats_t s = block_stats<ELEM>(piece, g.layout, warps);
    if (threadIdx.x == 0 && piece.begin < piece.end) {
        atomicMax(&stats[piece.c].not_min, ~s.lo);
        atomicMax(&stats[piece.c].max, s.hi);
        if (s.mantissa_or) atomicOr(&stats[piece.c].mantissa_or, s.mantissa_or);
    }
    if (content) piece_content_hashes<ELEM>(piece, content, segments_per_chunk, sums);
}

/* Shared-memory histograms of a piece. The first lane_streams streams count per lane: lane l adds
 * to column l of its symbol's row, so the lanes of a warp never meet on a bank whatever few
 * values they hold (stream 0: the exponent symbols of floats, the low bytes of integers; with
 * 2-byte elements both streams). The others (float planes, which spread over many symbols, and
 * the upper bytes of wide integers) go to `copies` sub-histograms, one per group of warps. */
template <int ELEM> struct phase1_counts {
    static const uint32_t lane_streams = ELEM <= 2 ? ELEM : 1;
    static const uint32_t copies = ELEM == 4 ? 4 : 2;
    static const uint32_t other_streams = ELEM - lane_streams;
    static const uint32_t words = lane_streams * 256 * 32 + copies * other_streams * 256;
};
#define LANE_STREAM_BYTES (256 * 32 * 4)

/* The symbol split of a float chunk (symbol_of), arranged for counting. With the field
 * f = sign << m | mantissa >> dropped (k = m + 1 bits) and t = (exponent - base) << k | f,
 * stream 0's symbol is t >> kr, stream 1's (t >> high_shift) & high_mask and plane s's
 * (t >> (high_shift - 8 (s - 1))) & 0xff. t is computed without taking the field apart:
 * r = (magnitude >> dropped) - (base << m) = (exponent - base) << m | mantissa >> dropped (the
 * dropped bits are zero in the whole chunk), then t = r + (r & ~(2^m - 1)) + (sign << m). */
typedef struct {
    unsigned long long base_m, magnitude;
    uint32_t dropped, m, kr, high_shift, high_mask, sign_shift, exponent_bits, base, stream_count, first;
} count_plan_t;

__device__ static inline count_plan_t count_plan(const float_layout_t &layout, const float_plan_t &plan)
{
    count_plan_t q;
    q.dropped = plan.field.dropped;
    q.m = plan.field.m;
    q.kr = plan.field.kr;
    q.high_shift = plan.field.kr > 8 ? plan.field.kr - 8 : 0;
    q.high_mask = plan.field.kr >= 8 ? 0xff : (1u << plan.field.kr) - 1;
    q.sign_shift = layout.mantissa_bits + layout.exponent_bits;
    q.exponent_bits = layout.exponent_bits;
    q.base = plan.base;
    q.base_m = (unsigned long long)plan.base << plan.field.m;
    q.magnitude = ((unsigned long long)1 << q.sign_shift) - 1;
    q.stream_count = 2 + plan.field.plane_count;
    q.first = plan.exponent_raw ? 1 : 0;
    return q;
}

template <typename U>
__device__ __forceinline__ U float_t_of(const count_plan_t &q, U v)
{
    const U r = ((v & (U)q.magnitude) >> q.dropped) - (U)q.base_m;
    return r + (r & ~(((U)1 << q.m) - 1)) + ((v >> q.sign_shift) << q.m);
}

__device__ __forceinline__ void count_at(uint32_t *counts, uint32_t byte_offset) { atomicAdd((uint32_t *)((char *)counts + byte_offset), 1u); }

/* One vector, element by element (the first `valid` bytes; FULL: all 16). */
template <int ELEM, bool FLOAT, bool FULL>
__device__ __forceinline__ void count_elements(const uint4 &x, uint32_t valid, const count_plan_t &q, uint32_t *lane_counts, uint32_t *copy_counts)
{
    typedef typename enc_word<ELEM>::work U;
    typedef phase1_counts<ELEM> K;
    const uint32_t lane = threadIdx.x & 31;
    U t[16 / ELEM];
#pragma unroll
    for (int j = 0; j < 16 / ELEM; j++) t[j] = FLOAT ? float_t_of<U>(q, vector_element<ELEM>(x, j)) : vector_element<ELEM>(x, j);
#pragma unroll
    for (int s = 0; s < ELEM; s++) {
        /* Streams beyond the plan's and the raw-packed F64 exponents are not counted; a float of 2
         * bytes always has 2 streams, of 4 bytes at least 2. */
        if (FLOAT && ELEM > 2 && (s == 0 ? q.first != 0 : s >= 2 && (uint32_t)s >= q.stream_count)) continue;
#pragma unroll
        for (int j = 0; j < 16 / ELEM; j++) {
            const bool active = FULL || (uint32_t)j * ELEM < valid;
            uint32_t sym;
            if (!FLOAT) sym = (uint32_t)(t[j] >> (8 * s)) & 0xff;
            else if (s == 0) sym = (uint32_t)(t[j] >> q.kr) & 0xff;
            else if (s == 1) sym = (uint32_t)(t[j] >> q.high_shift) & q.high_mask;
            else sym = (uint32_t)(t[j] >> (q.high_shift - 8 * (s - 1))) & 0xff;
            if (s < (int)K::lane_streams) {
                if (active) count_at(lane_counts, s * LANE_STREAM_BYTES + sym * 128 + lane * 4);
            } else if (FLOAT) {
                if (active) count_at(copy_counts, ((s - K::lane_streams) * 256 + sym) * 4);
            } else {
                /* The upper bytes of integers may take few values too: lanes with the same symbol
                 * add once (match + popc) instead of colliding on one word. */
                const uint32_t peers = __match_any_sync(0xffffffffu, active ? sym : 0x100u);
                if (active && lane == (uint32_t)__ffs(peers) - 1) atomicAdd(&copy_counts[(s - K::lane_streams) * 256 + sym], (uint32_t)__popc(peers));
            }
        }
    }
}

/* The constants of count_halves, both 16-bit halves at once. */
typedef struct {
    uint32_t lanes, dropped, exponent_bits, kr, mantissas, signs, exponents, bases, highs;
} halves_plan_t;

__device__ __forceinline__ halves_plan_t halves_plan(const count_plan_t &q)
{
    halves_plan_t h;
    const uint32_t k = q.m + 1;
    h.lanes = (threadIdx.x & 31) * 4 * 0x10001u;
    h.dropped = q.dropped;
    h.exponent_bits = q.exponent_bits;
    h.kr = q.kr;
    h.mantissas = ((1u << q.m) - 1) * 0x10001u;
    h.signs = (1u << q.m) * 0x10001u;
    h.exponents = (((1u << q.exponent_bits) - 1) << k) * 0x10001u;
    h.bases = (q.base << k) * 0x10001u;
    h.highs = q.high_mask * 0x10001u;
    return h;
}

/* A whole vector of 1- or 2-byte elements, two per 32-bit word: each half's row offset
 * (symbol * 128 + lane * 4) is formed in its 16 bits, then the halves are counted. For 2-byte
 * floats, t (count_plan_t) of both halves at once: no half borrows from or carries into the other
 * (each exponent is at least the base; the bits shifted across the middle are dropped ones, zero),
 * and kr <= 8 with no planes (choose_fold folds an F16 field of 9 to 11 bits down to 8). */
template <int ELEM, bool FLOAT>
__device__ __forceinline__ void count_halves(const uint4 &x, const halves_plan_t &h, uint32_t *lane_counts)
{
    const uint32_t w[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        uint32_t first, second; /* the two streams' offsets (1-byte elements: bytes 0, 2 and 1, 3 of stream 0) */
        if constexpr (FLOAT) {
            const uint32_t shifted = w[i] >> h.dropped;
            const uint32_t t = ((shifted << 1) & h.exponents) + (((shifted >> h.exponent_bits) & h.signs) | (shifted & h.mantissas)) - h.bases;
            first = ((t >> h.kr << 7) & 0x7f807f80u) | h.lanes;
            second = ((t & h.highs) << 7) + h.lanes;
        } else {
            first = ((w[i] << 7) & 0x7f807f80u) | h.lanes;
            second = ((w[i] >> 1) & 0x7f807f80u) | h.lanes;
        }
        const uint32_t second_base = ELEM == 2 ? LANE_STREAM_BYTES : 0;
        count_at(lane_counts, first & 0xffff);
        count_at(lane_counts, first >> 16);
        count_at(lane_counts, second_base + (second & 0xffff));
        count_at(lane_counts, second_base + (second >> 16));
    }
}

template <int ELEM, bool FLOAT>
__global__ void __launch_bounds__(PHASE1_THREADS) histogram_kernel(const uint8_t *src, enc_geometry_t g, uint32_t first_chunk, uint32_t pieces,
                                                                   uint32_t piece_bytes, bool aligned, const chunk_stats_t *stats,
                                                                   uint32_t *histograms)
{
    typedef phase1_counts<ELEM> K;
    static_assert(PHASE1_THREADS == 256, "the merge gives each thread one symbol");
    extern __shared__ uint4 phase1_shared[];
    uint32_t *lane_counts = (uint32_t *)phase1_shared;          /* [lane_streams][256][32] */
    uint32_t *counts = lane_counts + K::lane_streams * 256 * 32; /* [copies][other_streams][256] */
    __shared__ count_plan_t shared_plan;
    phase1_piece_t<ELEM> piece;
    piece.load(src, g, first_chunk, pieces, piece_bytes, aligned);
    const bool empty = piece.begin >= piece.end; /* pieces past the end of the last chunk */
    if (empty) return;
    for (uint32_t j = threadIdx.x; j < K::words / 4; j += PHASE1_THREADS) phase1_shared[j] = make_uint4(0, 0, 0, 0);
    /* The chunk's plan, once per CTA. */
    if (FLOAT && threadIdx.x == 0) {
        const chunk_stats_t s = stats[piece.c];
        shared_plan = count_plan(g.layout, float_plan(g.layout, piece.raw / ELEM, s.mantissa_or, ~s.not_min, s.max));
    }
    __syncthreads();
    {
        count_plan_t q;
        if constexpr (FLOAT) q = shared_plan;
        else memset(&q, 0, sizeof q);
        uint32_t *copy_counts = counts + (threadIdx.x >> 5) % K::copies * K::other_streams * 256;
        const halves_plan_t h = halves_plan(q);
#pragma unroll
        for (int i = 0; i < PHASE1_VECTORS; i++) {
            const uint32_t valid = piece.valid(i);
            /* Warp-uniform (the integers' match needs it): only the last vector of a chunk is partial. */
            if (__all_sync(0xffffffffu, valid == 16)) {
                if constexpr (ELEM <= 2) count_halves<ELEM, FLOAT>(piece.x[i], h, lane_counts);
                else count_elements<ELEM, FLOAT, true>(piece.x[i], 16, q, lane_counts, copy_counts);
            } else if (__any_sync(0xffffffffu, valid != 0)) {
                count_elements<ELEM, FLOAT, false>(piece.x[i], valid, q, lane_counts, copy_counts);
            }
        }
        __syncthreads();
        uint32_t *out = histograms + (size_t)piece.c * ELEM * 256;
        const uint32_t sym = threadIdx.x;
#pragma unroll
        for (uint32_t s = 0; s < K::lane_streams; s++) {
            /* Row sym, its 16-byte groups rotated by sym: the 8 threads of a phase read 8 banks apart. */
            const uint4 *row = (const uint4 *)(lane_counts + (s * 256 + sym) * 32);
            uint32_t v = 0;
#pragma unroll
            for (uint32_t r = 0; r < 8; r++) {
                const uint4 t = row[(r + sym) & 7];
                v += t.x + t.y + t.z + t.w;
            }
            if (v) atomicAdd(&out[s * 256 + sym], v);
        }
#pragma unroll
        for (int s = 0; s < (int)K::other_streams; s++) {
            uint32_t v = 0;
#pragma unroll
            for (uint32_t c = 0; c < K::copies; c++) v += counts[(c * K::other_streams + s) * 256 + sym];
            if (v) atomicAdd(&out[(K::lane_streams + s) * 256 + sym], v);
        }
    }
}

/* ---- Phase 2: rANS blocks ------------------------------------------------------------------ */

__host__ __device__ constexpr uint32_t encode_warps(int elem) { return elem == 4 || elem == 8 ? 2u : 4u; }

__host__ __device__ static inline uint32_t slot_bytes(uint32_t count) { return (uint32_t)((RANS_BLOCK_HEADER_BYTES + 2 * (uint64_t)count + 15) & ~15ull); }

/* The bits of an element that stream s's symbol depends on, when they lie within the 8 bits from
 * *low_bit up (the symbol is then a function of those 8 bits alone); 0 when they do not (a field
 * byte holding the sign, the bits of a wide folded exponent symbol, or F64: any 64-bit stream). */
__host__ __device__ static inline int symbol_window(const sym_params_t &p, uint32_t element, uint32_t s, uint32_t *low_bit)
{
    if (element > 4) return 0;
    if (!p.is_float) {
        *low_bit = 8 * s;
        return 1;
    }
    uint32_t low, high; /* the bits [low, high) */
    if (s == 0) {
        /* The exponent; with a fold also the top field bits: the sign above the exponent and the
         * top fold - 1 kept mantissa bits below it. */
        low = p.fold ? p.M + 1 - p.fold : p.M;
        high = p.sign_shift + (p.fold ? 1 : 0);
    } else {
        /* Field bits [from, to) of the kr bits left after the fold: mantissa bits unless they reach
         * the sign (field bit m), which lies apart from them in the element. */
        const uint32_t from = p.high_shift - 8 * (s - 1), to = min(from + 8, p.kr);
        if (to > p.m) return 0;
        low = from + p.dropped;
        high = to + p.dropped;
    }
    if (high - low > 8) return 0;
    *low_bit = low;
    return 1;
}

/* How a step finds its symbol's entry in the stream's table: */
enum {
    ENTRY_BY_SYMBOL, /* by the symbol (symbol_of); the table in symbol order */
    ENTRY_BY_WINDOW, /* by the 8 bits of the element from the stream's low bit (symbol_window) */
    ENTRY_BY_TOP     /* by all the element's bits from the low bit up, at most 9 (one stream): a shift */
};

/* The element bits above the low bit that ENTRY_BY_TOP takes, when a table of them fits the
 * ELEM * 256 entries and the prologue's staging (512). */
__host__ __device__ constexpr uint32_t top_entries_max(int elem) { return elem == 1 ? 256u : 512u; }

template <int ELEM, int INDEX>
__device__ __forceinline__ uint32_t entry_index(typename enc_word<ELEM>::work v, const sym_params_t &p, uint32_t s, uint32_t low_bit)
{
    if constexpr (INDEX == ENTRY_BY_SYMBOL) {
        return symbol_of(p, v, s);
    } else if constexpr (INDEX == ENTRY_BY_TOP) {
        return (uint32_t)v >> low_bit;
    } else {
        return ((uint32_t)v >> low_bit) & 0xff;
    }
}

/* A warp encodes its tile's block of every coded stream (coded: the streams as a bit mask; at most
 * NS of them, one when NS is 1). Groups of 32 elements go last to first; the partial last group,
 * if any, first and alone, then the full ones ENC_PREFETCH at a time, each batch loaded while the
 * one before it is encoded (a warp's groups are a chain through the states). */
template <int ELEM, int NS, int INDEX>
__device__ __forceinline__ void encode_tile(const typename enc_word<ELEM>::store *elements, uint32_t count, const sym_params_t &p,
                                            uint32_t coded, const uint4 (&entries)[ELEM][256], const enc_chunk_t *d, uint32_t tile,
                                            uint8_t *scratch, uint32_t *block_sizes, uint32_t lane)
{
    typedef typename enc_word<ELEM>::work U;
    const uint32_t streams = __popc(coded), lanemask_ge = ~lanemask_lt(lane);
    uint32_t x[NS], stream[NS], low_bit[NS];
    uint16_t *cursor[NS], *end[NS];
#pragma unroll
    for (int k = 0; k < NS; k++) {
        stream[k] = __ffs(coded) - 1;
        coded &= coded - 1;
        low_bit[k] = 0;
        if (INDEX != ENTRY_BY_SYMBOL && k < (int)streams) symbol_window(p, ELEM, stream[k], &low_bit[k]);
        x[k] = RANS_STATE_LOWER;
        end[k] = (uint16_t *)(scratch + (k < (int)streams ? d->slot[stream[k]] + (uint64_t)tile * ENC_FULL_SLOT : 0)) + slot_bytes(count) / 2;
        cursor[k] = end[k];
    }
    auto encode_group = [&](U v, bool active) {
#pragma unroll
        for (int k = 0; k < NS; k++) {
            if (NS > 1 && k >= (int)streams) break;
            const uint4 entry = (&entries[k][0])[entry_index<ELEM, INDEX>(v, p, stream[k], low_bit[k])];
            x[k] = rans_encode_entry_step(x[k], entry, active, cursor[k], lanemask_ge);
        }
    };
    const uint32_t full = count / 32;
    if (count % 32) {
        const bool active = full * 32 + lane < count;
        encode_group(active ? (U)__ldg(elements + full * 32) : 0, active);
    }
    uint32_t top = full;
    for (; top % ENC_PREFETCH; top--) encode_group((U)__ldg(elements + (top - 1) * 32), true);
    /* group: this lane's element of group top - 1; the batch is it and the ENC_PREFETCH - 1 below. */
    const typename enc_word<ELEM>::store *group = elements + (size_t)top * 32 - 32;
    U current[ENC_PREFETCH], next[ENC_PREFETCH];
#pragma unroll
    for (int j = 0; j < ENC_PREFETCH; j++) current[j] = top ? (U)__ldg(group - 32 * j) : 0;
    for (; top; top -= ENC_PREFETCH) {
        const bool more = top > ENC_PREFETCH;
        group -= 32 * ENC_PREFETCH;
#pragma unroll
        for (int j = 0; j < ENC_PREFETCH; j++) next[j] = more ? (U)__ldg(group - 32 * j) : 0;
#pragma unroll
        for (int j = 0; j < ENC_PREFETCH; j++) encode_group(current[j], true);
#pragma unroll
        for (int j = 0; j < ENC_PREFETCH; j++) current[j] = next[j];
    }
    /* The block: the 32 final states just below the words, so it is one contiguous span. */
#pragma unroll
    for (int k = 0; k < NS; k++) {
        if (NS > 1 && k >= (int)streams) break;
        uint16_t *state_words = cursor[k] - RANS_BLOCK_HEADER_BYTES / 2 + 2 * lane;
        state_words[0] = (uint16_t)x[k];
        state_words[1] = (uint16_t)(x[k] >> 16);
        if (lane == 0) block_sizes[d->size_index[stream[k]] + tile] = (uint32_t)(2 * (end[k] - cursor[k]) + RANS_BLOCK_HEADER_BYTES);
    }
}

/* One CTA per group of consecutive tiles of a chunk, one warp per tile. Each coded stream's table
 * becomes 256 entries (rans_encoder_entry) in shared memory: in symbol order, or, when every coded
 * stream's symbol is a function of 8 bits of the element (symbol_window), in the order of those
 * bits, so that a step finds its entry with a shift and a mask, without computing the symbol. */
template <int ELEM>
__global__ void __launch_bounds__(encode_warps(ELEM) * 32)
    encode_kernel(const uint8_t *src, enc_geometry_t g, const enc_chunk_t *chunks, const uint16_t *tables, uint32_t first_chunk,
                  uint32_t tasks_per_chunk, uint8_t *scratch, uint32_t *block_sizes)
{
    typedef typename enc_word<ELEM>::work U;
    const uint32_t W = encode_warps(ELEM);
    __shared__ uint4 entries[ELEM][256];
    const enc_task_t task = {first_chunk + blockIdx.x / tasks_per_chunk, (blockIdx.x % tasks_per_chunk) * W};
    const enc_chunk_t *d = &chunks[task.chunk];
    const uint32_t warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const sym_params_t p = sym_params(g.is_float, ELEM, g.layout, d->plan);
    const uint32_t stream_count = d->stream_count;
    uint32_t coded = 0;
    int windows = 1;
#pragma unroll
    for (int s = 0; s < ELEM; s++) {
        if (s < (int)stream_count && d->mode[s] == ENTROPY_RANS) {
            uint32_t low_bit;
            coded |= 1u << s;
            windows &= symbol_window(p, ELEM, s, &low_bit);
        }
    }
    /* Symbol order first; each warp makes every W-th entry (the reciprocals' 64-bit divisions). */
    uint32_t k = 0;
    for (uint32_t rest = coded; rest; rest &= rest - 1, k++) {
        const uint16_t *freq = tables + (size_t)d->table[__ffs(rest) - 1] * 256;
        uint32_t f8[8], local = 0;
#pragma unroll
        for (int j = 0; j < 8; j++) { f8[j] = freq[8 * lane + j]; local += f8[j]; }
        uint32_t cum = warp_inclusive32(local, lane) - local;
#pragma unroll
        for (uint32_t j = 0; j < 8; j++) {
            if (j % W == warp) entries[k][8 * lane + j] = rans_encoder_entry(f8[j], cum);
            cum += f8[j];
        }
    }
    __syncthreads();
    const bool one = (coded & (coded - 1)) == 0;
    uint32_t top_bits = 0; /* ENTRY_BY_TOP: the element bits from the low bit up */
    if constexpr (ELEM <= 4) {
        if (windows) {
            /* Window order: entry b is the entry of the symbol of the element whose bits from the
             * low bit are b (and whose other bits are zero: they do not change the symbol). */
            const uint32_t PER_THREAD = top_entries_max(ELEM) / (W * 32);
            k = 0;
            for (uint32_t rest = coded; rest; rest &= rest - 1, k++) {
                const uint32_t s = __ffs(rest) - 1;
                uint32_t low_bit = 0;
                symbol_window(p, ELEM, s, &low_bit);
                const uint32_t above = 8 * ELEM - low_bit;
                if (one && above <= 9 && (1u << above) <= top_entries_max(ELEM)) top_bits = above;
                const uint32_t table_entries = top_bits ? 1u << top_bits : 256;
                uint4 e[PER_THREAD];
#pragma unroll
                for (uint32_t r = 0; r < PER_THREAD; r++) {
                    const uint32_t b = threadIdx.x + r * W * 32;
                    if (b < table_entries) e[r] = entries[k][symbol_of(p, (U)b << low_bit, s)];
                }
                __syncthreads();
#pragma unroll
                for (uint32_t r = 0; r < PER_THREAD; r++) {
                    const uint32_t b = threadIdx.x + r * W * 32;
                    if (b < table_entries) (&entries[k][0])[b] = e[r];
                }
            }
            __syncthreads();
        }
    }
    const uint32_t tile = task.first_tile + warp;
    if (tile >= d->tiles || !coded) return;
    const uint32_t begin = tile * ENC_TILE, count = min(ENC_TILE, d->n - begin);
    const typename enc_word<ELEM>::store *elements = (const typename enc_word<ELEM>::store *)(src + d->src) + begin + lane;
    if constexpr (ELEM == 1) {
        encode_tile<ELEM, 1, ENTRY_BY_TOP>(elements, count, p, coded, entries, d, tile, scratch, block_sizes, lane);
    } else {
        if constexpr (ELEM <= 4) {
            if (windows) {
                if (top_bits)
                    encode_tile<ELEM, 1, ENTRY_BY_TOP>(elements, count, p, coded, entries, d, tile, scratch, block_sizes, lane);
                else
                    encode_tile<ELEM, ELEM, ENTRY_BY_WINDOW>(elements, count, p, coded, entries, d, tile, scratch, block_sizes, lane);
                return;
            }
        }
        if (one)
            encode_tile<ELEM, 1, ENTRY_BY_SYMBOL>(elements, count, p, coded, entries, d, tile, scratch, block_sizes, lane);
        else
            encode_tile<ELEM, ELEM, ENTRY_BY_SYMBOL>(elements, count, p, coded, entries, d, tile, scratch, block_sizes, lane);
    }
}

/* ---- Phase 3: assembly --------------------------------------------------------------------- */

/* One CTA per span: aligned 16-byte stores into the destination, four in flight a thread. The
 * bytes before the first aligned store and after the last go one by one, and so do the first and
 * last stores' source bytes, so no read leaves the span's source (the others read at most the
 * aligned words around their own sixteen bytes, all inside it). (With 4-byte stores, one at a
 * time, a batch's 13 MB of rANS blocks took about 20 us on an H200.) */
__global__ void __launch_bounds__(ENC_THREADS) copy_kernel(const copy_span_t *spans, uint8_t *dst)
{
    constexpr uint32_t UNROLL = 4;
    const copy_span_t span = spans[blockIdx.x];
    uint8_t *out = dst + span.dst;
    const uint32_t head = min(span.length, (uint32_t)((16 - ((uintptr_t)out & 15)) & 15));
    const uint32_t vectors = (span.length - head) / 16, tail = head + 16 * vectors;
    for (uint32_t i = threadIdx.x; i < head; i += ENC_THREADS) out[i] = __ldg(span.src + i);
    for (uint32_t i = tail + threadIdx.x; i < span.length; i += ENC_THREADS) out[i] = __ldg(span.src + i);
    uint4 *out_vectors = (uint4 *)(out + head);
    const uint8_t *from = span.src + head;
    const uint32_t misalign = (uint32_t)((uintptr_t)from & 3), shift = 8 * misalign;
    const uint32_t *words = (const uint32_t *)(from - misalign);
    for (uint32_t w0 = threadIdx.x; w0 < vectors; w0 += UNROLL * ENC_THREADS) {
        uint32_t x[UNROLL][5];
#pragma unroll
        for (uint32_t u = 0; u < UNROLL; u++) {
            const uint32_t w = w0 + u * ENC_THREADS;
            if (w == 0 || w + 1 >= vectors) continue;
#pragma unroll
            for (uint32_t k = 0; k < 5; k++) x[u][k] = k < 4 || shift ? __ldg(words + 4 * w + k) : 0;
        }
#pragma unroll
        for (uint32_t u = 0; u < UNROLL; u++) {
            const uint32_t w = w0 + u * ENC_THREADS;
            if (w >= vectors) break;
            if (w == 0 || w + 1 == vectors) {
                uint32_t v[4];
                for (uint32_t k = 0; k < 4; k++) {
                    const uint8_t *b = from + 16 * w + 4 * k;
                    v[k] = (uint32_t)__ldg(b) | (uint32_t)__ldg(b + 1) << 8 | (uint32_t)__ldg(b + 2) << 16 | (uint32_t)__ldg(b + 3) << 24;
                }
                out_vectors[w] = make_uint4(v[0], v[1], v[2], v[3]);
            } else {
                out_vectors[w] = make_uint4(__funnelshift_r(x[u][0], x[u][1], shift), __funnelshift_r(x[u][1], x[u][2], shift),
                                            __funnelshift_r(x[u][2], x[u][3], shift), __funnelshift_r(x[u][3], x[u][4], shift));
            }
        }
    }
}

/* A RAW channel's symbols for one tile, computed from the source. The symbols go to shared memory
 * first, from 16-byte loads of the elements (tiles start at multiples of ENC_TILE elements, so a
 * tile's source is 16-byte aligned when its chunk's is), then out with 16-byte stores, the
 * destination being aligned at any byte. (Straight from 2-byte loads to 4-byte stores, a batch of
 * 341 BF16 chunks took about 70 us on an H200, for 44 MB written.) */
template <int ELEM>
__global__ void __launch_bounds__(ENC_THREADS) raw_kernel(const uint8_t *src, enc_geometry_t g, const enc_chunk_t *chunks,
                                                          const channel_task_t *tasks, uint8_t *dst)
{
    typedef typename enc_word<ELEM>::work U;
    constexpr uint32_t PER = 16 / ELEM; /* elements a vector */
    __shared__ __align__(16) uint32_t words[ENC_TILE / 4 + 4];
    uint8_t *symbols = (uint8_t *)words;
    const channel_task_t task = tasks[blockIdx.x];
    const enc_chunk_t *d = &chunks[task.chunk];
    const sym_params_t p = sym_params(g.is_float, ELEM, g.layout, d->plan);
    const uint8_t *from = src + d->src + (uint64_t)task.begin * ELEM;
    uint8_t *out = dst + task.dst;
    const uint32_t count = task.end - task.begin, s = task.stream;
    const uint32_t vectors = ((uintptr_t)from & 15) == 0 ? count / PER : 0;
    constexpr uint32_t UNROLL = 4; /* vectors in flight a thread */
    for (uint32_t v0 = threadIdx.x; v0 < vectors; v0 += UNROLL * ENC_THREADS) {
        uint4 x[UNROLL];
#pragma unroll
        for (uint32_t u = 0; u < UNROLL; u++)
            if (v0 + u * ENC_THREADS < vectors) x[u] = __ldg((const uint4 *)from + v0 + u * ENC_THREADS);
#pragma unroll
        for (uint32_t u = 0; u < UNROLL; u++) {
            const uint32_t v = v0 + u * ENC_THREADS;
            if (v >= vectors) break;
            if constexpr (PER >= 4) {
#pragma unroll
                for (uint32_t k = 0; k < PER / 4; k++) {
                    uint32_t packed = 0;
#pragma unroll
                    for (uint32_t j = 0; j < 4; j++) packed |= symbol_of<U>(p, vector_element<ELEM>(x[u], (int)(4 * k + j)), s) << (8 * j);
                    words[v * (PER / 4) + k] = packed;
                }
            } else {
#pragma unroll
                for (uint32_t j = 0; j < PER; j++) symbols[v * PER + j] = (uint8_t)symbol_of<U>(p, vector_element<ELEM>(x[u], (int)j), s);
            }
        }
    }
    for (uint32_t j = vectors * PER + threadIdx.x; j < count; j += ENC_THREADS)
        symbols[j] = (uint8_t)symbol_of<U>(p, load_element<ELEM>(from, j), s);
    __syncthreads();
    const uint32_t head = min(count, (uint32_t)((16 - ((uintptr_t)out & 15)) & 15));
    const uint32_t stores = (count - head) / 16, tail = head + 16 * stores;
    for (uint32_t j = threadIdx.x; j < head; j += ENC_THREADS) out[j] = symbols[j];
    for (uint32_t j = tail + threadIdx.x; j < count; j += ENC_THREADS) out[j] = symbols[j];
    /* Store w holds symbols [head + 16 w, head + 16 w + 16): five shared words, shifted. */
    const uint32_t shift = 8 * (head & 3), first_word = head / 4;
    uint4 *out_vectors = (uint4 *)(out + head);
    for (uint32_t w = threadIdx.x; w < stores; w += ENC_THREADS) {
        const uint32_t *at = words + first_word + 4 * w;
        const uint32_t w0 = at[0], w1 = at[1], w2 = at[2], w3 = at[3], w4 = shift ? at[4] : 0;
        out_vectors[w] = make_uint4(__funnelshift_r(w0, w1, shift), __funnelshift_r(w1, w2, shift), __funnelshift_r(w2, w3, shift),
                                    __funnelshift_r(w3, w4, shift));
    }
}

/* Packed bits, LSB first (bitstream.h): output byte j holds stream bits [8j, 8j + 8). */
template <int ELEM>
__global__ void __launch_bounds__(ENC_THREADS) packed_kernel(const uint8_t *src, enc_geometry_t g, const enc_chunk_t *chunks,
                                                             const channel_task_t *tasks, uint8_t *dst)
{
    typedef typename enc_word<ELEM>::work U;
    const channel_task_t task = tasks[blockIdx.x];
    const enc_chunk_t *d = &chunks[task.chunk];
    const sym_params_t p = sym_params(1, ELEM, g.layout, d->plan);
    const uint32_t width = task.stream ? d->plan.exponent_width : d->plan.field.rest_bits;
    const uint8_t *chunk = src + d->src;
    for (uint32_t j = task.begin + threadIdx.x; j < task.end; j += ENC_THREADS) {
        const uint64_t bit = 8 * (uint64_t)j;
        const uint32_t first = (uint32_t)(bit / width), last = (uint32_t)min((uint64_t)d->n - 1, (bit + 7) / width);
        uint64_t acc = 0;
        for (uint32_t i = first; i <= last; i++) {
            const int64_t shift = (int64_t)i * width - (int64_t)bit;
            const uint64_t value = packed_value<U>(p, load_element<ELEM>(chunk, i), task.stream);
            acc |= shift >= 0 ? value << shift : value >> -shift;
        }
        dst[task.dst + j] = (uint8_t)acc;
    }
}

/* ---- Phase 4: checksums (checksum.c's segmented checksum, gpu_device.cuh's warp segment hash) -- */

/* Record checksums: segments of the spans [span_begin, span_end) (the records were written by
 * the earlier kernels of this stream). Each warp hashes a contiguous run of segments, finding the
 * first one's span by binary search and the next ones' by stepping forward. */
__global__ void __launch_bounds__(ENC_HASH_WARPS * 32)
    record_hash_kernel(const hash_span_t *spans, const uint32_t *prefix, uint32_t span_begin, uint32_t span_end, uint64_t *hashes)
{
    const uint32_t lane = threadIdx.x & 31, warps = gridDim.x * ENC_HASH_WARPS, warp = blockIdx.x * ENC_HASH_WARPS + (threadIdx.x >> 5);
    const uint32_t segment_begin = prefix[span_begin], segment_end = prefix[span_end];
    const uint32_t per = (segment_end - segment_begin + warps - 1) / warps;
    const uint64_t first = segment_begin + (uint64_t)warp * per;
    if (first >= segment_end) return;
    const uint32_t end = (uint32_t)min((uint64_t)segment_end, first + per);
    uint32_t lo = span_begin, hi = span_end - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi + 1) / 2;
        if (prefix[mid] <= first) lo = mid;
        else hi = mid - 1;
    }
    for (uint32_t g = (uint32_t)first; g < end; g++) {
        while (prefix[lo + 1] <= g) lo++;
        const hash_span_t span = spans[lo];
        const uint64_t offset = (uint64_t)(g - prefix[lo]) * CHECKSUM_SEGMENT_BYTES;
        const uint64_t hash = warp_segment_hash(span.data + offset, (uint32_t)min((uint64_t)CHECKSUM_SEGMENT_BYTES, span.length - offset), lane,
                                                offset + CHECKSUM_SEGMENT_BYTES + 16 <= span.length);
        if (lane == 0) hashes[g] = hash;
    }
}

/* Content checksums: the source chunks' segments [segment_begin, segment_end), chunk c's at
 * c * segments_per_chunk. Needs only the source, so it runs beside everything up to the records'
 * assembly (from host memory: group by group as the source arrives). */
__global__ void __launch_bounds__(ENC_HASH_WARPS * 32)
    content_hash_kernel(const uint8_t *src, enc_geometry_t g, uint32_t segments_per_chunk, uint32_t segment_begin, uint32_t segment_end,
                        uint64_t *hashes)
{
    const uint32_t lane = threadIdx.x & 31, warps = gridDim.x * ENC_HASH_WARPS;
    for (uint32_t s = segment_begin + blockIdx.x * ENC_HASH_WARPS + (threadIdx.x >> 5); s < segment_end; s += warps) {
        const uint32_t c = s / segments_per_chunk, offset = (s % segments_per_chunk) * CHECKSUM_SEGMENT_BYTES;
        const uint32_t length = min((uint32_t)CHECKSUM_SEGMENT_BYTES, chunk_raw(g, c) - offset);
        const uint64_t hash = warp_segment_hash(src + (uint64_t)c * g.chunk_bytes + offset, length, lane);
        if (lane == 0) hashes[s] = hash;
    }
}

/* The digests of spans [span_begin, span_end): XXH64 of each span's segment hashes, four lanes a
 * span (xxh64_hashes_by4), so that a 256 KiB record's 64 hashes are loaded sixteen a lane, all in
 * flight. (One lane a span took about 13 us a batch on an H200, twice a batch, at the end of it.) */
__global__ void digest_kernel(const hash_span_t *spans, const uint32_t *prefix, uint32_t span_begin, uint32_t span_end, const uint64_t *hashes)
{
    const uint32_t lane = threadIdx.x & 31, i = span_begin + (blockIdx.x * blockDim.x + threadIdx.x) / 4;
    const bool mine = i < span_end; /* every lane of the warp takes part in the shuffles */
    hash_span_t span = {NULL, NULL, 0};
    uint32_t first = 0, count = 0;
    if (mine) {
        span = spans[i];
        first = prefix[i];
        count = prefix[i + 1] - first;
    }
    const uint64_t hash = xxh64_hashes_by4(hashes + first, count, span.length * 0x9E3779B97F4A7C15ULL, lane);
    if (mine && (lane & 3) == 0)
        for (int k = 0; k < 8; k++) span.out[k] = (uint8_t)(hash >> (8 * k));
}

/* ---- Host ---------------------------------------------------------------------------------- */

/* Per stream, what the host decided from its histogram (the final mode may still become RAW). */
typedef struct {
    uint8_t mode, constant;
    uint16_t table_size;
    uint8_t table_bytes[2 + 2 * 256];
} host_stream_t;

/* Sizes that do not depend on the data: every per-chunk array is indexed by chunk (and stream,
 * and tile), so the host workers and the kernels find their places without a prefix pass. */
typedef struct {
    uint32_t chunks, streams, tiles_per_chunk, tasks_per_chunk, segments_per_chunk;
    uint64_t stream_stride; /* scratch bytes of one stream's block slots in a full chunk */
} enc_shape_t;

typedef struct {
    const enc_geometry_t *g;
    const enc_shape_t *shape;
    const chunk_stats_t *stats;
    const uint32_t *histograms;
    enc_chunk_t *chunks;     /* pinned: uploaded as they are */
    uint16_t *tables;        /* pinned: 256 frequencies per (chunk, stream) */
    host_stream_t *streams;
    int stored;
    uint64_t first_chunk;
} plan_job_t;

static uint32_t tile_count(uint32_t n) { return (n + ENC_TILE - 1) / ENC_TILE; }

static saraphis_status_t plan_chunk(void *job_ptr, size_t item, unsigned worker)
{
    (void)worker;
    const plan_job_t *job = (const plan_job_t *)job_ptr;
    const size_t c = job->first_chunk + item;
    const enc_geometry_t *g = job->g;
    const uint32_t S = job->shape->streams;
    enc_chunk_t *d = &job->chunks[c];
    memset(d, 0, sizeof *d);
    d->src = (uint64_t)c * g->chunk_bytes;
    d->raw = (uint32_t)(g->src_size - d->src < g->chunk_bytes ? g->src_size - d->src : g->chunk_bytes);
    d->n = d->raw / S;
    d->tiles = tile_count(d->n);
    d->stored = (uint8_t)job->stored;
    if (job->stored) return SARAPHIS_OK;
    if (g->is_float) {
        const chunk_stats_t *st = &job->stats[c];
        d->plan = float_plan(g->layout, d->n, st->mantissa_or, ~st->not_min, st->max);
        d->stream_count = (uint8_t)(2 + d->plan.field.plane_count);
    } else {
        d->stream_count = (uint8_t)S;
    }
    for (uint32_t s = 0; s < d->stream_count; s++) {
        const size_t index = c * S + s;
        host_stream_t *hs = &job->streams[index];
        if (g->is_float && s == 0 && d->plan.exponent_raw) {
            hs->mode = d->mode[s] = STREAM_PACKED;
            continue;
        }
        entropy_plan_t plan;
        const bool mantissa_plane = g->is_float && s >= 2; /* the float streams after exponent and high */
        entropy_plan(job->histograms + index * 256, d->n, mantissa_plane ? entropy_lossless_plane_min_gain(d->n) : entropy_lossless_min_gain(d->n), &plan);
        hs->mode = d->mode[s] = (uint8_t)plan.mode;
        hs->constant = plan.constant;
        hs->table_size = 0;
        if (plan.mode == ENTROPY_RANS) {
            hs->table_size = (uint16_t)plan.table_size;
            memcpy(hs->table_bytes, plan.table_bytes, plan.table_size);
            memcpy(job->tables + index * 256, plan.table.freq, 256 * sizeof(uint16_t));
            d->table[s] = (uint32_t)index;
            d->size_index[s] = (uint32_t)(index * job->shape->tiles_per_chunk);
            d->slot[s] = index * job->shape->stream_stride;
        }
    }
    return SARAPHIS_OK;
}

/* Writes the layout of one record (or of the frame header): the small pieces (headers, tables,
 * block sizes) into the blob, one copy span per run of them that is contiguous in the destination,
 * the copy spans of everything else, and the RAW and packed channel tasks. Every count starts at
 * the record's own first entry, so the host workers write a batch's records side by side. Without
 * arrays (blob NULL) it only counts: the counts place the records in the batch's arrays (a prefix
 * sum) before they are written. */
typedef struct {
    uint8_t *blob; /* host staging; NULL: count only */
    const uint8_t *d_blob;
    copy_span_t *spans;
    channel_task_t *raw, *packed;
    uint32_t blob_used, span_count, raw_count, packed_count;
    uint64_t open_dst_end; /* where the last blob span ends in the destination (or ~0: none open) */
} layout_writer_t;

static void put_bytes(layout_writer_t *w, uint64_t dst, const void *bytes, size_t size)
{
    if (w->open_dst_end == dst) {
        if (w->blob) w->spans[w->span_count - 1].length += (uint32_t)size;
    } else {
        if (w->blob) w->spans[w->span_count] = copy_span_t{w->d_blob + w->blob_used, dst, (uint32_t)size, 0};
        w->span_count++;
    }
    if (w->blob) memcpy(w->blob + w->blob_used, bytes, size);
    w->blob_used += (uint32_t)size;
    w->open_dst_end = dst + size;
}

static void put_copy(layout_writer_t *w, const uint8_t *src, uint64_t dst, uint64_t size)
{
    for (uint64_t at = 0; at < size; at += ENC_COPY_PIECE) {
        if (w->blob) w->spans[w->span_count] = copy_span_t{src + at, dst + at, (uint32_t)(size - at < ENC_COPY_PIECE ? size - at : ENC_COPY_PIECE), 0};
        w->span_count++;
    }
    w->open_dst_end = ~0ull;
}

static void put_raw(layout_writer_t *w, const channel_task_t &task)
{
    if (w->blob) w->raw[w->raw_count] = task;
    w->raw_count++;
}

static void put_packed(layout_writer_t *w, uint64_t dst, uint32_t chunk, uint32_t kind, uint64_t size)
{
    for (uint64_t b = 0; b < size; b += ENC_PACKED_PIECE) {
        if (w->blob) w->packed[w->packed_count] = channel_task_t{dst, chunk, kind, (uint32_t)b, (uint32_t)(size - b < ENC_PACKED_PIECE ? size : b + ENC_PACKED_PIECE)};
        w->packed_count++;
    }
}

/* Where one record's layout goes: its offset in the frame, and its first entry and its count in
 * each of its batch's arrays. */
typedef struct {
    uint64_t pos;
    uint32_t blob, spans, raw, packed;
    uint32_t blob_count, span_count, raw_count, packed_count;
} record_place_t;

/* threadpool_run over a callable that takes an item's index, in runs of neighbouring items, about
 * two runs a thread: records handed out one by one cost more in the shared counter and in the
 * cache lines their neighbours write than in their own work (a batch of 341 BF16 records took 45
 * us that way on an H200's 16-thread host, against 18 in runs). */
template <class F>
static saraphis_status_t for_each_item(threadpool_t *pool, size_t items, F &body)
{
    struct runs_t {
        F *body;
        size_t items, run;
    } runs = {&body, items, (items + 2 * threadpool_size(pool) - 1) / (2 * threadpool_size(pool))};
    if (runs.run < 4) runs.run = 4;
    auto run_items = [](void *job, size_t k, unsigned) -> saraphis_status_t {
        const runs_t *r = (const runs_t *)job;
        const size_t end = (k + 1) * r->run < r->items ? (k + 1) * r->run : r->items;
        for (size_t item = k * r->run; item < end; item++) SPS_TRY((*r->body)(item));
        return SARAPHIS_OK;
    };
    return threadpool_run(pool, (items + runs.run - 1) / runs.run, run_items, &runs);
}

/* Phase 1 of chunks [first_chunk, first_chunk + chunk_count): statistics (floats), then histograms. */
template <int ELEM>
static cudaError_t launch_phase1(const uint8_t *src, const enc_geometry_t &g, uint32_t first_chunk, uint32_t chunk_count, chunk_stats_t *stats,
                                 uint32_t *hist, uint64_t *content, uint32_t segments_per_chunk, cudaStream_t stream)
{
    const uint32_t pieces = phase1_pieces(g.chunk_bytes), piece_bytes = phase1_piece_bytes(g.chunk_bytes);
    const bool aligned = ((uintptr_t)src & 15) == 0; /* then so is every chunk (chunk_bytes is a multiple of 64) */
    const uint32_t grid = chunk_count * pieces;
    const size_t shared = phase1_counts<ELEM>::words * sizeof(uint32_t);
    constexpr bool FLOATS = ELEM > 1; /* 1-byte elements are integers */
    auto histograms = FLOATS && g.is_float ? histogram_kernel<ELEM, FLOATS> : histogram_kernel<ELEM, false>;
    if (shared > 48 * 1024) {
        const cudaError_t error = cudaFuncSetAttribute(histograms, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)shared);
        if (error != cudaSuccess) return error;
    }
    if constexpr (FLOATS)
        if (g.is_float)
            stats_kernel<ELEM><<<grid, PHASE1_THREADS, 0, stream>>>(src, g, first_chunk, pieces, piece_bytes, aligned, stats, content,
                                                                    segments_per_chunk);
    histograms<<<grid, PHASE1_THREADS, shared, stream>>>(src, g, first_chunk, pieces, piece_bytes, aligned, stats, hist);
    return cudaGetLastError();
}

template <int ELEM>
static void launch_encode(const uint8_t *src, const enc_geometry_t &g, const enc_shape_t &shape, uint32_t first_chunk, uint32_t chunk_count,
                          const enc_chunk_t *chunks, const uint16_t *tables, uint8_t *slots, uint32_t *sizes, cudaStream_t stream)
{
    encode_kernel<ELEM><<<chunk_count * shape.tasks_per_chunk, encode_warps(ELEM) * 32, 0, stream>>>(src, g, chunks, tables, first_chunk,
                                                                                                    shape.tasks_per_chunk, slots, sizes);
}

template <int ELEM>
static void launch_channels(const uint8_t *src, const enc_geometry_t &g, const enc_chunk_t *chunks, const channel_task_t *raw,
                            uint32_t raw_count, const channel_task_t *packed, uint32_t packed_count, uint8_t *dst, cudaStream_t stream)
{
    if (raw_count) raw_kernel<ELEM><<<raw_count, ENC_THREADS, 0, stream>>>(src, g, chunks, raw, dst);
    if (ELEM > 1 && packed_count) packed_kernel<ELEM><<<packed_count, ENC_THREADS, 0, stream>>>(src, g, chunks, packed, dst);
}

#define DISPATCH_ELEM(element, call) \
    do {                             \
        switch (element) {           \
        case 1: call(1); break;      \
        case 2: call(2); break;      \
        case 4: call(4); break;      \
        default: call(8); break;     \
        }                            \
    } while (0)

/* saraphis_compress's frame of host_src into a buffer of its bound (malloc'd; the caller frees
 * it), when it fits dst_capacity. */
static saraphis_status_t host_frame(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *host_src, size_t src_size, size_t dst_capacity,
                                    uint8_t **frame, size_t *written)
{
    const size_t bound = saraphis_compress_bound(src_size, ctx->chunk_bytes);
    *frame = (uint8_t *)malloc(bound);
    if (!*frame) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_compress: no host memory for a frame of %zu bytes", bound);
    saraphis_status_t status = saraphis_compress(ctx, dtype, host_src, src_size, *frame, bound, written);
    if (status == SARAPHIS_OK && *written > dst_capacity)
        status = error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "gpu_compress: frame of %zu bytes, destination %zu", *written, dst_capacity);
    return status;
}

/* The whole frame through the host: for bounded-codec parameters the device encoder does not take
 * (docs/gpu.md). */
static saraphis_status_t compress_through_host(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *d_src, size_t src_size,
                                               void *d_dst, size_t dst_capacity, size_t *dst_size, cudaStream_t stream)
{
    uint8_t *host_src = (uint8_t *)malloc(src_size ? src_size : 1), *frame = NULL;
    saraphis_status_t status = host_src ? SARAPHIS_OK : error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_compress: no host memory");
    cudaError_t error = cudaSuccess;
    if (status == SARAPHIS_OK && src_size) {
        error = cudaMemcpyAsync(host_src, d_src, src_size, cudaMemcpyDeviceToHost, stream);
        if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
        if (error != cudaSuccess) status = gpu_cuda_fail(error, "gpu_compress: reading the input");
    }
    size_t written = 0;
    if (status == SARAPHIS_OK) status = host_frame(ctx, dtype, host_src, src_size, dst_capacity, &frame, &written);
    if (status == SARAPHIS_OK) {
        error = cudaMemcpyAsync(d_dst, frame, written, cudaMemcpyHostToDevice, stream);
        if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
        if (error != cudaSuccess) status = gpu_cuda_fail(error, "gpu_compress: writing the frame");
    }
    free(host_src);
    free(frame);
    if (status == SARAPHIS_OK) *dst_size = written;
    return status;
}

/* Where everything lives: the same offsets in device scratch and in pinned staging (staging only
 * holds what crosses the bus). */
typedef struct {
    size_t stats, hist, plans, tables, sizes, slots, layout, content_hashes, record_hashes, end;
} enc_layout_t;

/* The LOSSLESS (or STORED) frame of src (device memory) into dst (device memory). With h_src, src
 * is filled here from h_src (host memory) group by group (gpu_upload_*), and the chunk batches
 * are the groups: each group's statistics, histograms and content checksums start as soon as it
 * has arrived, and the host plans and encodes one batch while the next crosses the bus. */
static saraphis_status_t encode_lossless(saraphis_ctx_t *ctx, gpu_state_t *state, saraphis_dtype_t dtype, const uint8_t *src, size_t src_size,
                                         uint8_t *dst, size_t dst_capacity, size_t *dst_size, cudaStream_t stream, const uint8_t *h_src)
{
    const size_t element = saraphis_dtype_size(dtype);
    const size_t chunk_bytes = ctx->chunk_bytes;
    const size_t chunks = (src_size + chunk_bytes - 1) / chunk_bytes;
    if (chunks > UINT32_MAX) return error_set(SARAPHIS_ERROR_LIMIT, "gpu_compress: %zu chunks exceed the frame limit", chunks);
    const size_t table_end = FRAME_HEADER_BYTES + 4 * chunks;
    if (dst_capacity < table_end)
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "gpu_compress: destination holds %zu bytes, header needs %zu", dst_capacity, table_end);
    SPS_TRY(ctx_prepare(ctx));
    const int stored = ctx->codec == SARAPHIS_CODEC_STORED, content = ctx->content_checksum != 0;
    uint32_t batches_of_device_input = 1;
    if (!h_src && chunks >= 64 && !stored) SPS_TRY(device_batches(chunks, &batches_of_device_input));

    enc_geometry_t g;
    memset(&g, 0, sizeof g);
    g.src_size = src_size;
    g.chunk_bytes = (uint32_t)chunk_bytes;
    g.chunk_count = (uint32_t)chunks;
    g.tiles_per_chunk = tile_count((uint32_t)(chunk_bytes / element));
    g.is_float = (uint32_t)float_layout(dtype, &g.layout);
    enc_shape_t shape;
    shape.chunks = (uint32_t)chunks;
    shape.streams = (uint32_t)element;
    shape.tiles_per_chunk = g.tiles_per_chunk;
    shape.tasks_per_chunk = (g.tiles_per_chunk + encode_warps((int)element) - 1) / encode_warps((int)element);
    shape.segments_per_chunk = (uint32_t)((chunk_bytes + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES);
    const uint32_t full_n = (uint32_t)(chunk_bytes / element);
    shape.stream_stride = (uint64_t)(shape.tiles_per_chunk - 1) * ENC_FULL_SLOT + slot_bytes(full_n - (shape.tiles_per_chunk - 1) * ENC_TILE);
    const uint64_t C = chunks, S = element, T = shape.tiles_per_chunk;
    const uint64_t last_raw = C ? src_size - (C - 1) * chunk_bytes : 0;
    const uint64_t total_tiles = C ? (C - 1) * T + tile_count((uint32_t)(last_raw / element)) : 0;
    const uint64_t content_segments = C && content ? (C - 1) * shape.segments_per_chunk + (last_raw + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES : 0;
    /* The statistics kernel hashes the content as it reads it (float chunks whose pieces start at
     * multiples of 4 KiB: every chunk size that is a multiple of 32 KiB, the default's 256 KiB
     * among them); otherwise a kernel of its own reads the source again on the side stream. */
    const bool content_in_stats = content_segments && !stored && g.is_float && element > 1 &&
                                  phase1_piece_bytes((uint32_t)chunk_bytes) % CHECKSUM_SEGMENT_BYTES == 0;
    if (total_tiles >= (1u << 31) || C * shape.tasks_per_chunk >= (1u << 31) || C * S * T >= (1ull << 32) ||
        C * phase1_pieces((uint32_t)chunk_bytes) >= (1u << 31))
        return error_set(SARAPHIS_ERROR_LIMIT, "gpu_compress: %zu chunks of %zu bytes in one call", chunks, chunk_bytes);

    /* Bounds of everything written later, so one reservation serves the whole call. */
    const uint64_t coded = stored ? 0 : C * S; /* (chunk, stream) pairs that may hold rANS blocks */
    const uint64_t blob_bound = table_end + C * (CHUNK_HEADER_BYTES + 1 + LOSSLESS_FLOAT_HEADER + (stored ? 0 : S * (2 + 2 + 2 * 256 + 4 * T)));
    /* (Each batch of chunks starts a span, and the frame header has its own.) */
    const uint64_t span_bound = 2 + C * (S + 3 + (stored ? 0 : S * T) + (chunk_bytes + ENC_COPY_PIECE - 1) / ENC_COPY_PIECE);
    const uint64_t raw_bound = coded * T, packed_bound = stored ? 0 : C * 2 * ((chunk_bytes + ENC_PACKED_PIECE - 1) / ENC_PACKED_PIECE + 1);
    const uint64_t record_segment_bound = C * ((chunk_bytes + 17 + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES);
    /* Each batch's layout crosses the bus in one copy, a part of the region at L.layout: its copy
     * spans, RAW and packed tasks, checksum spans (content, record), prefix arrays (n + 1 entries
     * each: at most 4 C + 2 in all, as a batch has a chunk at least) and blob, each 16-aligned;
     * the frame header's part is the last. */
    const uint64_t layout_bound = blob_bound + span_bound * sizeof(copy_span_t) + (raw_bound + packed_bound) * sizeof(channel_task_t) +
                                  2 * C * sizeof(hash_span_t) + (4 * C + 2) * 4 + (C + 1) * 7 * 16;
    enc_layout_t L;
    L.stats = 0;
    L.hist = align_up(L.stats + (stored ? 0 : C * sizeof(chunk_stats_t)), 16);
    L.plans = align_up(L.hist + coded * 256 * sizeof(uint32_t), 16);
    L.tables = align_up(L.plans + C * sizeof(enc_chunk_t), 16);
    L.sizes = align_up(L.tables + coded * 256 * sizeof(uint16_t), 16);
    L.slots = align_up(L.sizes + coded * T * 4, 256);
    L.layout = align_up(L.slots + coded * shape.stream_stride, 256);
    L.content_hashes = align_up(L.layout + layout_bound, 16);
    L.record_hashes = L.content_hashes + content_segments * 8; /* one array of u64: content segments, then record segments */
    L.end = align_up(L.record_hashes + record_segment_bound * 8, 16);
    /* Staging holds what crosses the bus: everything but the slots and the checksum words. */
    SPS_TRY(gpu_reserve_scratch(state, L.end));
    SPS_TRY(gpu_reserve_staging(state, L.slots + (L.content_hashes - L.layout)));
    uint8_t *dev = (uint8_t *)state->d_scratch, *h = (uint8_t *)state->h_staging;
    uint8_t *h3 = h + L.slots - L.layout; /* h3 + L.layout on: the staging copy of dev + L.layout on */
    const enc_chunk_t *d_chunks = (const enc_chunk_t *)(dev + L.plans);
    enc_chunk_t *chunk_plans = (enc_chunk_t *)(h + L.plans);

    host_stream_t *streams = (host_stream_t *)malloc((size_t)(coded ? coded : 1) * sizeof *streams);
    uint32_t *record_sizes = (uint32_t *)malloc((size_t)(C + 1) * 4);
    uint8_t *chunk_stored = (uint8_t *)malloc((size_t)(C + 1));
    record_place_t *places = (record_place_t *)malloc((size_t)(C + 1) * sizeof *places);
    int side_busy = 0, lanes_busy = 0, copy_busy = 0;
    uint32_t events_made = 0;
    /* From host memory the batches are the groups (whole chunks, GPU_HOST_GROUP_BYTES or one chunk). */
    const uint64_t group_chunks = chunk_bytes < GPU_HOST_GROUP_BYTES ? GPU_HOST_GROUP_BYTES / chunk_bytes : 1;
    const uint32_t batches = h_src ? (uint32_t)((C + group_chunks - 1) / group_chunks) : batches_of_device_input;
    /* Per batch: its statistics are back (batch_ready), its block sizes are back (sizes_ready), its
     * content segment hashes are done (content_ready; from device memory one event for all). */
    cudaEvent_t *batch_ready = (cudaEvent_t *)malloc((3 * (size_t)batches + 1) * sizeof(cudaEvent_t));
    cudaEvent_t *sizes_ready = batch_ready + batches, *content_ready = batch_ready + 2 * batches;
    /* Phase 3 writes a batch's records as soon as its block sizes are back, while the later
     * batches are planned and encoded, when the destination holds the largest frame the chunks can
     * make (every record STORED): then nothing can fail to fit. Otherwise every size is known
     * before the first byte is written. */
    const uint64_t worst_frame = table_end + C * (CHUNK_HEADER_BYTES + 1) + src_size;
    const int pipelined = batches > 1 && dst_capacity >= worst_frame;
    uint32_t encoded = 0, assembled = 0; /* batches planned and encoded, batches whose records are queued */
    uint64_t pos = table_end, frame_size = table_end, record_segments = content_segments, layout_used = 0;
    gpu_upload_t upload;
    memset(&upload, 0, sizeof upload);
    cudaError_t error = cudaSuccess;
    saraphis_status_t status = streams && record_sizes && chunk_stored && places && batch_ready
                                   ? SARAPHIS_OK
                                   : error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_compress: no host memory for %zu chunks", chunks);
#define CUDA_CHECK(call, what)                                               \
    do {                                                                     \
        if ((error = (call)) != cudaSuccess) {                               \
            status = gpu_cuda_fail(error, what);                             \
            goto done;                                                       \
        }                                                                    \
    } while (0)

    /* Chunks [batch_first(b), batch_first(b + 1)) are batch b. */
    auto batch_first = [&](uint64_t b) -> uint64_t { return h_src ? min(C, b * group_chunks) : C * b / batches; };
    /* The content checksums of chunks [first, end) (segment hashes; the digests come with the
     * records), on the side stream. */
    auto content_hashes = [&](uint64_t first, uint64_t end) -> saraphis_status_t {
        const uint64_t begin = first * shape.segments_per_chunk, stop = min(content_segments, end * shape.segments_per_chunk);
        if (stop <= begin) return SARAPHIS_OK;
        const uint32_t grid = (uint32_t)min((uint64_t)state->sm_count * 4, (stop - begin + ENC_HASH_WARPS - 1) / ENC_HASH_WARPS);
        content_hash_kernel<<<grid, ENC_HASH_WARPS * 32, 0, state->side>>>(src, g, shape.segments_per_chunk, (uint32_t)begin, (uint32_t)stop,
                                                                          (uint64_t *)(dev + L.content_hashes));
        CUDA_TRY(cudaGetLastError(), "gpu_compress: content checksums");
        return SARAPHIS_OK;
    };
    /* Phase 1 of batch b on the caller's stream: statistics and histograms, read back; the copy
     * back is marked by the batch's event. */
    auto gather = [&](uint32_t b) -> saraphis_status_t {
        const uint64_t first = batch_first(b), end = batch_first(b + 1);
        cudaError_t launched = cudaSuccess;
#define PHASE1(E) launched = launch_phase1<E>(src, g, (uint32_t)first, (uint32_t)(end - first), (chunk_stats_t *)(dev + L.stats), \
                                              (uint32_t *)(dev + L.hist), content_in_stats ? (uint64_t *)(dev + L.content_hashes) : NULL, \
                                              shape.segments_per_chunk, stream)
        DISPATCH_ELEM(element, PHASE1);
        CUDA_TRY(launched, "gpu_compress: statistics and histograms");
        if (content_in_stats) CUDA_TRY(cudaEventRecord(content_ready[h_src ? b : 0], stream), "gpu_compress: marking the content checksums");
        CUDA_TRY(cudaMemcpyAsync(h + L.stats + first * sizeof(chunk_stats_t), dev + L.stats + first * sizeof(chunk_stats_t),
                                 (end - first) * sizeof(chunk_stats_t), cudaMemcpyDeviceToHost, stream), "gpu_compress: reading statistics");
        CUDA_TRY(cudaMemcpyAsync(h + L.hist + first * S * 1024, dev + L.hist + first * S * 1024, (end - first) * S * 1024,
                                 cudaMemcpyDeviceToHost, stream), "gpu_compress: reading histograms");
        CUDA_TRY(cudaEventRecord(batch_ready[b], stream), "gpu_compress: marking a batch");
        return SARAPHIS_OK;
    };
    auto plan_and_encode_batch = [&](uint32_t b, cudaStream_t lane) -> saraphis_status_t {
        const uint64_t first = batch_first(b), end = batch_first(b + 1);
        if (C && !stored) CUDA_TRY(cudaEventSynchronize(batch_ready[b]), "gpu_compress: statistics");
        plan_job_t job = {&g, &shape, (const chunk_stats_t *)(h + L.stats), (const uint32_t *)(h + L.hist), chunk_plans,
                          (uint16_t *)(h + L.tables), streams, stored, first};
        SPS_TRY(threadpool_run(ctx->pool, end - first, plan_chunk, &job));
        if (!C || stored) return SARAPHIS_OK;
        int any_rans = 0;
        for (uint64_t c = first; c < end && !any_rans; c++)
            for (uint32_t s = 0; s < chunk_plans[c].stream_count; s++) any_rans |= chunk_plans[c].mode[s] == ENTROPY_RANS;
        CUDA_TRY(cudaMemcpyAsync(dev + L.plans + first * sizeof(enc_chunk_t), h + L.plans + first * sizeof(enc_chunk_t),
                                 (end - first) * sizeof(enc_chunk_t), cudaMemcpyHostToDevice, lane), "gpu_compress: uploading plans");
        if (!any_rans) return SARAPHIS_OK;
        CUDA_TRY(cudaMemcpyAsync(dev + L.tables + first * S * 512, h + L.tables + first * S * 512, (end - first) * S * 512,
                                 cudaMemcpyHostToDevice, lane), "gpu_compress: uploading tables");
#define ENCODE(E) launch_encode<E>(src, g, shape, (uint32_t)first, (uint32_t)(end - first), d_chunks, (const uint16_t *)(dev + L.tables), \
                                   dev + L.slots, (uint32_t *)(dev + L.sizes), lane)
        DISPATCH_ELEM(element, ENCODE);
        CUDA_TRY(cudaGetLastError(), "gpu_compress: rANS encode");
        CUDA_TRY(cudaMemcpyAsync(h + L.sizes + first * S * T * 4, dev + L.sizes + first * S * T * 4, (end - first) * S * T * 4,
                                 cudaMemcpyDeviceToHost, lane), "gpu_compress: reading block sizes");
        return SARAPHIS_OK;
    };
    /* Phase 2 of batch b, once its statistics are back: the host plans its chunks, then its plans
     * and tables go up, its rANS blocks are encoded and their sizes come back, on a lane; the
     * batch's sizes_ready event marks that. (The source it reads is there: its statistics came
     * from it.) */
    auto plan_and_encode = [&](uint32_t b) -> saraphis_status_t {
        cudaStream_t lane = state->lanes[b % GPU_HOST_LANES];
        SPS_TRY(plan_and_encode_batch(b, lane));
        CUDA_TRY(cudaEventRecord(sizes_ready[b], lane), "gpu_compress: marking a batch");
        encoded = b + 1;
        return SARAPHIS_OK;
    };

    /* Phase 3, the records of batches [b0, b1) once their block sizes are back. */
    const uint32_t *block_sizes = (const uint32_t *)(h + L.sizes);
    /* Record c's layout at pos (its offset in the frame) through w; returns where it ends. */
    auto lay_out_record = [&](uint64_t c, uint64_t pos, layout_writer_t *w) -> uint64_t {
        const enc_chunk_t *d = &chunk_plans[c];
        uint8_t bytes[CHUNK_HEADER_BYTES + 2 + LOSSLESS_FLOAT_HEADER];
        memset(bytes, 0, sizeof bytes);
        store_le32(bytes + 8, record_sizes[c] - CHUNK_HEADER_BYTES);
        store_le32(bytes + 12, d->raw);
        size_t used = CHUNK_HEADER_BYTES;
        if (chunk_stored[c]) {
            bytes[used++] = CHUNK_STORED;
            put_bytes(w, pos, bytes, used);
            pos += used;
            put_copy(w, src + d->src, pos, d->raw);
            return pos + d->raw;
        }
        bytes[used++] = CHUNK_LOSSLESS;
        if (g.is_float) {
            bytes[used++] = LOSSLESS_FLOAT;
            bytes[used++] = (uint8_t)d->plan.field.dropped;
            store_le16(bytes + used, (uint16_t)d->plan.base);
            used += 2;
            bytes[used++] = d->plan.exponent_raw ? EXPONENT_RAW : EXPONENT_ENTROPY;
            bytes[used++] = (uint8_t)d->plan.exponent_width;
            bytes[used++] = (uint8_t)d->plan.field.fold;
        } else {
            bytes[used++] = LOSSLESS_BYTE_PLANES;
        }
        put_bytes(w, pos, bytes, used);
        pos += used;
        for (uint32_t s = 0; s < d->stream_count; s++) {
            const host_stream_t *hs = &streams[c * S + s];
            if (hs->mode == STREAM_PACKED) {
                const uint64_t size = packed_bytes(d->n, d->plan.exponent_width);
                put_packed(w, pos, (uint32_t)c, 1, size);
                pos += size;
                continue;
            }
            const uint8_t mode = hs->mode;
            put_bytes(w, pos++, &mode, 1);
            if (mode == ENTROPY_CONSTANT) {
                put_bytes(w, pos++, &hs->constant, 1);
            } else if (mode == ENTROPY_RAW) {
                for (uint32_t t = 0; t < d->tiles; t++) {
                    const uint32_t begin = t * ENC_TILE, stop = begin + ENC_TILE < d->n ? begin + ENC_TILE : d->n;
                    put_raw(w, channel_task_t{pos + begin, (uint32_t)c, s, begin, stop});
                }
                pos += d->n;
            } else {
                put_bytes(w, pos, hs->table_bytes, hs->table_size);
                pos += hs->table_size;
                uint8_t size_bytes[4];
                for (uint32_t t = 0; t < d->tiles; t++) {
                    store_le32(size_bytes, block_sizes[d->size_index[s] + t]);
                    put_bytes(w, pos, size_bytes, 4);
                    pos += 4;
                }
                for (uint32_t t = 0; t < d->tiles; t++) {
                    const uint32_t size = block_sizes[d->size_index[s] + t];
                    const uint32_t count = t + 1 < d->tiles ? ENC_TILE : d->n - t * ENC_TILE;
                    put_copy(w, dev + L.slots + d->slot[s] + (uint64_t)t * ENC_FULL_SLOT + slot_bytes(count) - size, pos, size);
                    pos += size;
                }
            }
        }
        if (g.is_float && d->plan.field.rest_bits) {
            const uint64_t size = packed_bytes(d->n, d->plan.field.rest_bits);
            put_packed(w, pos, (uint32_t)c, 0, size);
            pos += size;
        }
        return pos;
    };
    /* Final stream modes (a candidate whose coded size reaches raw + 1 is RAW), payloads (beyond
     * the raw size: STORED), record sizes (added to frame_size) and each record's layout counts,
     * on the host workers side by side (each chunk writes only its own entries). */
    auto size_records = [&](uint32_t b0, uint32_t b1) -> saraphis_status_t {
        const uint64_t first = batch_first(b0), end = batch_first(b1);
        auto size_record = [&](size_t item) -> saraphis_status_t {
            const uint64_t c = first + item;
            const enc_chunk_t *d = &chunk_plans[c];
            uint64_t payload = 1 + (g.is_float ? LOSSLESS_FLOAT_HEADER + packed_bytes(d->n, d->plan.field.rest_bits) : 1);
            for (uint32_t s = 0; s < d->stream_count; s++) {
                host_stream_t *hs = &streams[c * S + s];
                uint64_t size;
                switch (hs->mode) {
                case ENTROPY_CONSTANT: size = 2; break;
                case STREAM_PACKED: size = packed_bytes(d->n, d->plan.exponent_width); break;
                case ENTROPY_RANS:
                    size = 1 + hs->table_size + 4 * (uint64_t)d->tiles;
                    for (uint32_t t = 0; t < d->tiles; t++) size += block_sizes[d->size_index[s] + t];
                    if (entropy_rans_smaller(size, d->n)) break;
                    hs->mode = ENTROPY_RAW; /* the device plan keeps RANS: its blocks are simply not copied */
                    [[fallthrough]];
                default: size = 1 + (uint64_t)d->n; break;
                }
                payload += size;
            }
            chunk_stored[c] = (uint8_t)(d->stored || payload > d->raw);
            if (chunk_stored[c]) payload = 1 + (uint64_t)d->raw;
            record_sizes[c] = (uint32_t)(CHUNK_HEADER_BYTES + payload);
            layout_writer_t w;
            memset(&w, 0, sizeof w);
            w.open_dst_end = ~0ull;
            const uint64_t record_end = lay_out_record(c, 0, &w);
            if (record_end != record_sizes[c])
                return error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal layout mismatch in chunk %llu (%llu of %u bytes)", (unsigned long long)c,
                                 (unsigned long long)record_end, record_sizes[c]);
            record_place_t *place = &places[c];
            place->blob_count = w.blob_used;
            place->span_count = w.span_count;
            place->raw_count = w.raw_count;
            place->packed_count = w.packed_count;
            return SARAPHIS_OK;
        };
        SPS_TRY(for_each_item(ctx->pool, end - first, size_record));
        for (uint64_t c = first; c < end; c++) frame_size += record_sizes[c];
        return SARAPHIS_OK;
    };
    /* ... then their layout (the blob of small pieces, the copy spans, the channel tasks, the
     * checksum spans and their prefix arrays), sent up in one copy, and the kernels that write the
     * records at pos on, on stream s: copies, RAW channels and packed bits, the content digests
     * into the record headers, then the record checksums over the finished records. */
    auto assemble = [&](uint32_t b0, uint32_t b1, cudaStream_t s) -> saraphis_status_t {
        const uint64_t first = batch_first(b0), end = batch_first(b1), n = end - first;
        if (!n) return SARAPHIS_OK;
        /* Place each record: its offset in the frame and its first entries in the arrays. */
        uint64_t blob_total = 0, span_total = 0, raw_total = 0, packed_total = 0;
        for (uint64_t c = first; c < end; c++) {
            record_place_t *place = &places[c];
            place->pos = pos;
            pos += record_sizes[c];
            place->blob = (uint32_t)blob_total;
            place->spans = (uint32_t)span_total;
            place->raw = (uint32_t)raw_total;
            place->packed = (uint32_t)packed_total;
            blob_total += place->blob_count;
            span_total += place->span_count;
            raw_total += place->raw_count;
            packed_total += place->packed_count;
        }
        uint64_t at = layout_used;
        auto part = [&](uint64_t bytes) -> uint64_t {
            const uint64_t offset = at;
            at = align_up(at + bytes, 16);
            return offset;
        };
        const uint64_t spans_at = part(span_total * sizeof(copy_span_t)), raw_at = part(raw_total * sizeof(channel_task_t)),
                       packed_at = part(packed_total * sizeof(channel_task_t)), content_at = part(content ? n * sizeof(hash_span_t) : 0),
                       record_at = part(n * sizeof(hash_span_t)), prefix_at = part((content ? 2 : 1) * (n + 1) * 4), blob_at = part(blob_total);
        if (pos > frame_size || at > layout_bound)
            return error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal layout mismatch at chunk %llu (%llu of %llu bytes)", (unsigned long long)first,
                             (unsigned long long)pos, (unsigned long long)frame_size);
        uint8_t *h_part = h3 + L.layout, *d_part = dev + L.layout;
        /* Checksum spans and their prefix arrays (entry k: the first segment hash of span k, entry
         * n: the end; each batch has its own, so that no batch reads what another lane uploads).
         * Content spans: every chunk but the last is whole. */
        hash_span_t *content_spans = (hash_span_t *)(h_part + content_at), *record_spans = (hash_span_t *)(h_part + record_at);
        uint32_t *content_prefix = (uint32_t *)(h_part + prefix_at), *record_prefix = content_prefix + (content ? n + 1 : 0);
        for (uint64_t k = 0; k <= n && content; k++)
            content_prefix[k] = (uint32_t)(first + k < C ? (first + k) * shape.segments_per_chunk : content_segments);
        for (uint64_t c = first; c < end; c++) {
            const uint64_t at_record = places[c].pos;
            if (content) content_spans[c - first] = hash_span_t{src + chunk_plans[c].src, dst + at_record + 16, chunk_plans[c].raw};
            record_spans[c - first] = hash_span_t{dst + at_record + 8, dst + at_record, record_sizes[c] - 8u};
            record_prefix[c - first] = (uint32_t)record_segments;
            record_segments += (record_sizes[c] - 8u + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES;
        }
        record_prefix[n] = (uint32_t)record_segments;
        if (record_segments > content_segments + record_segment_bound)
            return error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal layout mismatch at chunk %llu (%llu checksum segments)", (unsigned long long)first,
                             (unsigned long long)record_segments);
        /* The records' layouts, on the host workers side by side. */
        auto write_record = [&](size_t item) -> saraphis_status_t {
            const uint64_t c = first + item;
            const record_place_t *place = &places[c];
            layout_writer_t w;
            memset(&w, 0, sizeof w);
            w.blob = h_part + blob_at + place->blob;
            w.d_blob = d_part + blob_at + place->blob;
            w.spans = (copy_span_t *)(h_part + spans_at) + place->spans;
            w.raw = (channel_task_t *)(h_part + raw_at) + place->raw;
            w.packed = (channel_task_t *)(h_part + packed_at) + place->packed;
            w.open_dst_end = ~0ull;
            const uint64_t record_end = lay_out_record(c, place->pos, &w);
            if (record_end != place->pos + record_sizes[c] || w.blob_used != place->blob_count || w.span_count != place->span_count ||
                w.raw_count != place->raw_count || w.packed_count != place->packed_count)
                return error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal layout mismatch in chunk %llu", (unsigned long long)c);
            return SARAPHIS_OK;
        };
        SPS_TRY(for_each_item(ctx->pool, n, write_record));
        /* Up goes this batch's part, in one copy. */
        CUDA_TRY(cudaMemcpyAsync(d_part + layout_used, h_part + layout_used, at - layout_used, cudaMemcpyHostToDevice, s),
                 "gpu_compress: uploading the layout");
        layout_used = at;
        const uint32_t *d_content_prefix = (const uint32_t *)(d_part + prefix_at), *d_record_prefix = d_content_prefix + (content ? n + 1 : 0);
        uint64_t *d_hashes = (uint64_t *)(dev + L.content_hashes);
        if (span_total) copy_kernel<<<(uint32_t)span_total, ENC_THREADS, 0, s>>>((const copy_span_t *)(d_part + spans_at), dst);
#define CHANNELS(E) launch_channels<E>(src, g, d_chunks, (const channel_task_t *)(d_part + raw_at), (uint32_t)raw_total, \
                                       (const channel_task_t *)(d_part + packed_at), (uint32_t)packed_total, dst, s)
        DISPATCH_ELEM(element, CHANNELS);
        if (content) {
            /* The content segment hashes of these chunks (side stream) come first. */
            for (uint32_t b = h_src ? b0 : 0; b < (h_src ? b1 : 1); b++)
                CUDA_TRY(cudaStreamWaitEvent(s, content_ready[b], 0), "gpu_compress: ordering the checksum stream");
            digest_kernel<<<(uint32_t)((4 * n + 127) / 128), 128, 0, s>>>((const hash_span_t *)(d_part + content_at), d_content_prefix, 0, (uint32_t)n,
                                                                     d_hashes);
        }
        /* The record checksums cover the content checksums just written. */
        const uint64_t segments = record_prefix[n] - record_prefix[0];
        const uint32_t grid = (uint32_t)min((uint64_t)state->sm_count * 4, (segments + ENC_HASH_WARPS - 1) / ENC_HASH_WARPS);
        record_hash_kernel<<<grid, ENC_HASH_WARPS * 32, 0, s>>>((const hash_span_t *)(d_part + record_at), d_record_prefix, 0, (uint32_t)n, d_hashes);
        digest_kernel<<<(uint32_t)((4 * n + 127) / 128), 128, 0, s>>>((const hash_span_t *)(d_part + record_at), d_record_prefix, 0, (uint32_t)n, d_hashes);
        CUDA_TRY(cudaGetLastError(), "gpu_compress: assembling the frame");
        return SARAPHIS_OK;
    };
    /* Pipelined: the encoded batches whose block sizes are back (all of them, waiting, with
     * wait_all), in order, on the lane that encoded them. */
    auto assemble_ready = [&](int wait_all) -> saraphis_status_t {
        for (; assembled < encoded; assembled++) {
            if (!wait_all) {
                const cudaError_t ready = cudaEventQuery(sizes_ready[assembled]);
                if (ready == cudaErrorNotReady) break;
                CUDA_TRY(ready, "gpu_compress: rANS encode");
            } else {
                CUDA_TRY(cudaEventSynchronize(sizes_ready[assembled]), "gpu_compress: rANS encode");
            }
            SPS_TRY(size_records(assembled, assembled + 1));
            SPS_TRY(assemble(assembled, assembled + 1, state->lanes[assembled % GPU_HOST_LANES]));
        }
        return SARAPHIS_OK;
    };
    if (status != SARAPHIS_OK) goto done;

    for (; events_made < 3 * batches; events_made++)
        CUDA_CHECK(cudaEventCreateWithFlags(&batch_ready[events_made], cudaEventDisableTiming), "gpu_compress: creating events");
    if ((status = gpu_lanes_ready(state)) != SARAPHIS_OK) goto done;
    /* The side stream (content checksums) and the copy stream start after what the caller's
     * stream has queued. */
    CUDA_CHECK(cudaEventRecord(state->fork, stream), "gpu_compress: ordering the checksum stream");
    if (content_segments && !content_in_stats) {
        CUDA_CHECK(cudaStreamWaitEvent(state->side, state->fork, 0), "gpu_compress: ordering the checksum stream");
        side_busy = 1;
    }
    if (h_src) {
        const size_t slot = src_size < group_chunks * chunk_bytes ? src_size : group_chunks * chunk_bytes;
        if ((status = gpu_upload_begin(state, h_src, (void *)src, slot, ctx->pool, &upload)) != SARAPHIS_OK) goto done;
        CUDA_CHECK(cudaStreamWaitEvent(state->copy, state->fork, 0), "gpu_compress: ordering the copy stream");
        copy_busy = 1;
    }
    if ((status = gpu_lanes_start(state, stream)) != SARAPHIS_OK) goto done;
    lanes_busy = 1;
    if (C && !stored) CUDA_CHECK(cudaMemsetAsync(dev, 0, L.plans, stream), "gpu_compress: clearing statistics");

    if (!h_src) {
        /* Phases 1 and 2 in batches of chunks, so that the host plans one batch while the device
         * gathers the next one's histograms and encodes the previous one: the content checksums
         * (they need only the source) and all histograms are queued first, and each planned
         * batch's upload, encode and block sizes behind them. */
        if (!content_in_stats) {
            if ((status = content_hashes(0, C)) != SARAPHIS_OK) goto done;
            if (content_segments) CUDA_CHECK(cudaEventRecord(content_ready[0], state->side), "gpu_compress: ordering the checksum stream");
        }
        for (uint32_t b = 0; b < batches && C && !stored; b++)
            if ((status = gather(b)) != SARAPHIS_OK) goto done;
        for (uint32_t b = 0; b < batches; b++) {
            if ((status = plan_and_encode(b)) != SARAPHIS_OK) goto done;
            if (pipelined && (status = assemble_ready(0)) != SARAPHIS_OK) goto done;
        }
    } else {
        /* Each group's kernels wait for its copy (the caller's stream and the side stream wait
         * for every group, so the assembly finds the whole source), and the host plans a batch
         * once its statistics are back while the later groups cross the bus. From pinned memory
         * every copy and gather is queued first (the host has nothing to do for them); from
         * pageable memory the host fills a slot, then plans the batch before, which has arrived
         * meanwhile. */
        const uint32_t lag = upload.pinned ? batches : 1;
        for (uint32_t b = 0; b < batches; b++) {
            const uint64_t first = batch_first(b), end = batch_first(b + 1);
            const uint64_t offset = first * chunk_bytes, bytes = min((uint64_t)src_size, end * chunk_bytes) - offset;
            CUDA_CHECK(gpu_upload_group(state, &upload, b, offset, (size_t)bytes), "gpu_compress_host: copying the input");
            CUDA_CHECK(cudaStreamWaitEvent(stream, state->arrived, 0), "gpu_compress_host: ordering after the copy");
            /* With the STORED codec no statistics come first, so the lane that writes the batch's
             * records (copies of the source) waits for the group itself; otherwise the host has
             * seen the batch's statistics before anything is queued on its lane. */
            if (stored)
                CUDA_CHECK(cudaStreamWaitEvent(state->lanes[b % GPU_HOST_LANES], state->arrived, 0), "gpu_compress_host: ordering after the copy");
            if (content_segments && !content_in_stats) {
                CUDA_CHECK(cudaStreamWaitEvent(state->side, state->arrived, 0), "gpu_compress_host: ordering after the copy");
                if ((status = content_hashes(first, end)) != SARAPHIS_OK) goto done;
                CUDA_CHECK(cudaEventRecord(content_ready[b], state->side), "gpu_compress: ordering the checksum stream");
            }
            if (C && !stored && (status = gather(b)) != SARAPHIS_OK) goto done;
            if (b >= lag && (status = plan_and_encode(b - lag)) != SARAPHIS_OK) goto done;
            if (pipelined && (status = assemble_ready(0)) != SARAPHIS_OK) goto done;
        }
        for (uint32_t b = batches > lag ? batches - lag : 0; b < batches; b++) {
            if ((status = plan_and_encode(b)) != SARAPHIS_OK) goto done;
            if (pipelined && (status = assemble_ready(0)) != SARAPHIS_OK) goto done;
        }
    }
    if (pipelined) {
        if ((status = assemble_ready(1)) != SARAPHIS_OK) goto done;
    } else {
        /* Every size first: the frame must fit before anything is written. */
        if ((status = gpu_lanes_join(state, stream)) != SARAPHIS_OK) goto done;
        CUDA_CHECK(cudaStreamSynchronize(stream), "gpu_compress: rANS encode");
        if ((status = size_records(0, batches)) != SARAPHIS_OK) goto done;
        if (frame_size > dst_capacity) {
            status = error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "gpu_compress: frame of %llu bytes, destination holds %zu",
                               (unsigned long long)frame_size, dst_capacity);
            goto done;
        }
        if ((status = assemble(0, batches, stream)) != SARAPHIS_OK) goto done;
    }
    if (content_segments) CUDA_CHECK(cudaEventRecord(state->join, state->side), "gpu_compress: ordering the checksum stream");
    if ((status = gpu_lanes_join(state, stream)) != SARAPHIS_OK) goto done;
    lanes_busy = 0;
    if (content_segments) {
        CUDA_CHECK(cudaStreamWaitEvent(stream, state->join, 0), "gpu_compress: ordering the checksum stream");
        side_busy = 0;
    }
    {
        /* Last, the frame header and the size table. */
        if (pos != frame_size) {
            status = error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal layout mismatch (%llu of %llu bytes)", (unsigned long long)pos,
                               (unsigned long long)frame_size);
            goto done;
        }
        uint8_t header[FRAME_HEADER_BYTES];
        memcpy(header, FRAME_MAGIC, 4);
        header[4] = FRAME_VERSION;
        header[5] = (uint8_t)dtype;
        header[6] = (uint8_t)(stored ? SARAPHIS_CODEC_STORED : SARAPHIS_CODEC_LOSSLESS);
        header[7] = content ? 1 : 0;
        store_le32(header + 8, (uint32_t)chunk_bytes);
        store_le32(header + 12, (uint32_t)C);
        store_le64(header + 16, src_size);
        for (uint64_t c = 0; c < C; c++) store_le32(&record_sizes[c], record_sizes[c]);
        store_le64(header + 24, checksum64(header, 24, 0) ^ checksum64(record_sizes, 4 * (size_t)C, 1));
        /* Its part of the layout region: two copy spans at most (the pieces are contiguous, so
         * they make one), then the blob. */
        const uint64_t spans_at = layout_used, blob_at = align_up(spans_at + 2 * sizeof(copy_span_t), 16);
        if (blob_at + table_end > L.content_hashes - L.layout) {
            status = error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal layout mismatch (frame header at %llu of %llu bytes)",
                               (unsigned long long)blob_at, (unsigned long long)(L.content_hashes - L.layout));
            goto done;
        }
        layout_writer_t w;
        memset(&w, 0, sizeof w);
        w.blob = h3 + L.layout + blob_at;
        w.d_blob = dev + L.layout + blob_at;
        w.spans = (copy_span_t *)(h3 + L.layout + spans_at);
        w.open_dst_end = ~0ull;
        put_bytes(&w, 0, header, FRAME_HEADER_BYTES);
        put_bytes(&w, FRAME_HEADER_BYTES, record_sizes, 4 * (size_t)C);
        CUDA_CHECK(cudaMemcpyAsync(dev + L.layout + spans_at, h3 + L.layout + spans_at, blob_at + w.blob_used - spans_at, cudaMemcpyHostToDevice, stream),
                   "gpu_compress: uploading the frame header");
        copy_kernel<<<w.span_count, ENC_THREADS, 0, stream>>>((const copy_span_t *)(dev + L.layout + spans_at), dst);
        CUDA_CHECK(cudaGetLastError(), "gpu_compress: writing the frame header");
        CUDA_CHECK(cudaStreamSynchronize(stream), "gpu_compress: assembling the frame");
        *dst_size = frame_size;
    }
done:
    /* On a failure the side stream may still be reading the source into scratch. */
    if (side_busy) cudaStreamSynchronize(state->side);
    if (lanes_busy) gpu_lanes_drain(state);
    if (copy_busy) cudaStreamSynchronize(state->copy); /* nothing still reads a slot or writes the source */
    if (status != SARAPHIS_OK) cudaStreamSynchronize(stream);
    for (uint32_t b = 0; b < events_made; b++) cudaEventDestroy(batch_ready[b]);
    free(batch_ready);
    free(streams);
    free(record_sizes);
    free(chunk_stored);
    free(places);
    return status;
}

/* What both entry points check before anything else. */
static saraphis_status_t check_arguments(const char *call, const saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *src, size_t src_size,
                                         const void *dst, const size_t *dst_size)
{
    if (!ctx || (!src && src_size) || !dst || !dst_size) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: NULL argument", call);
    const size_t element = saraphis_dtype_size(dtype);
    if (element == 0) return error_set(SARAPHIS_ERROR_DTYPE, "%s: unknown dtype %d", call, (int)dtype);
    if (src_size % element)
        return error_set(SARAPHIS_ERROR_DTYPE, "%s: %zu bytes is not a whole number of %s elements (%zu bytes each)", call, src_size,
                         saraphis_dtype_name(dtype), element);
    return SARAPHIS_OK;
}

extern "C" saraphis_status_t saraphis_gpu_compress(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *d_src, size_t src_size,
                                                   void *d_dst, size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    error_clear();
    SPS_TRY(check_arguments("gpu_compress", ctx, dtype, d_src, src_size, d_dst, dst_size));
    const size_t element = saraphis_dtype_size(dtype);
    if (src_size && (uintptr_t)d_src % element)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_compress: source not aligned to its %zu-byte elements", element);
    gpu_state_t *state;
    SPS_TRY(gpu_state_get(ctx, &state));
    cudaStream_t stream = (cudaStream_t)cuda_stream;
    if (ctx->codec == SARAPHIS_CODEC_BOUNDED) {
        /* The bounded encoder (gpu_padic_encode.cu); a tensor it stores exactly falls through to
         * LOSSLESS below, as on the CPU, and parameters it does not take go through the host. */
        gpu_padic_route_t route;
        SPS_TRY(gpu_padic_compress(ctx, state, dtype, d_src, src_size, d_dst, dst_capacity, dst_size, stream, &route));
        if (route == GPU_PADIC_ENCODED) return SARAPHIS_OK;
        if (route == GPU_PADIC_HOST) return compress_through_host(ctx, dtype, d_src, src_size, d_dst, dst_capacity, dst_size, stream);
    }
    return encode_lossless(ctx, state, dtype, (const uint8_t *)d_src, src_size, (uint8_t *)d_dst, dst_capacity, dst_size, stream, NULL);
}

/* All of h_src to d_src (GPU_HOST_GROUP_BYTES at a time through the slots, gpu_upload_*), the
 * caller's stream ordered after it: for the bounded codec, whose bound needs the whole tensor. */
static saraphis_status_t upload_whole(gpu_state_t *state, cudaStream_t stream, const uint8_t *h_src, uint8_t *d_src, size_t size,
                                      threadpool_t *pool)
{
    if (!size) return SARAPHIS_OK;
    const size_t slot = size < GPU_HOST_GROUP_BYTES ? size : GPU_HOST_GROUP_BYTES;
    gpu_upload_t upload;
    SPS_TRY(gpu_upload_begin(state, h_src, d_src, slot, pool, &upload));
    cudaError_t error = cudaEventRecord(state->fork, stream);
    if (error == cudaSuccess) error = cudaStreamWaitEvent(state->copy, state->fork, 0);
    for (size_t k = 0, at = 0; at < size && error == cudaSuccess; k++, at += slot)
        error = gpu_upload_group(state, &upload, k, at, size - at < slot ? size - at : slot);
    if (error == cudaSuccess) error = cudaStreamWaitEvent(stream, state->arrived, 0);
    if (error != cudaSuccess) {
        cudaStreamSynchronize(state->copy);
        return gpu_cuda_fail(error, "gpu_compress_host: copying the input");
    }
    return SARAPHIS_OK;
}

extern "C" saraphis_status_t saraphis_gpu_compress_host(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *src, size_t src_size,
                                                        void *dst, size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    error_clear();
    SPS_TRY(check_arguments("gpu_compress_host", ctx, dtype, src, src_size, dst, dst_size));
    gpu_state_t *state;
    SPS_TRY(gpu_state_get(ctx, &state));
    SPS_TRY(ctx_prepare(ctx));
    cudaStream_t stream = (cudaStream_t)cuda_stream;
    /* The input's device copy, and the frame's before it goes back: never more than the bound,
     * nor than dst holds (a frame larger than dst is refused before anything is written). */
    const size_t bound = saraphis_compress_bound(src_size, ctx->chunk_bytes), capacity = dst_capacity < bound ? dst_capacity : bound;
    SPS_TRY(gpu_grow_device(state, &state->d_host_frame, &state->host_frame_capacity, src_size ? src_size : 1));
    SPS_TRY(gpu_grow_device(state, &state->d_host_out, &state->host_out_capacity, capacity ? capacity : 1));
    const uint8_t *h_src = (const uint8_t *)src;
    uint8_t *d_src = (uint8_t *)state->d_host_frame, *d_frame = (uint8_t *)state->d_host_out;
    size_t frame_size = 0;
    int on_host = 0; /* the CPU encoder wrote the frame straight to dst */
    saraphis_status_t status;
    if (ctx->codec != SARAPHIS_CODEC_BOUNDED) {
        status = encode_lossless(ctx, state, dtype, d_src, src_size, d_frame, capacity, &frame_size, stream, h_src);
    } else {
        /* The bound needs the whole tensor: it goes over first, then the device encoder runs (a
         * tensor stored exactly is encoded LOSSLESS, parameters the device does not take by the
         * CPU encoder, as saraphis_gpu_compress does). */
        gpu_padic_route_t route = GPU_PADIC_HOST;
        status = upload_whole(state, stream, h_src, d_src, src_size, ctx->pool);
        if (status == SARAPHIS_OK) status = gpu_padic_compress(ctx, state, dtype, d_src, src_size, d_frame, capacity, &frame_size, stream, &route);
        if (status == SARAPHIS_OK && route == GPU_PADIC_LOSSLESS)
            status = encode_lossless(ctx, state, dtype, d_src, src_size, d_frame, capacity, &frame_size, stream, NULL);
        if (status == SARAPHIS_OK && route == GPU_PADIC_HOST) {
            uint8_t *frame = NULL;
            status = host_frame(ctx, dtype, src, src_size, dst_capacity, &frame, &frame_size);
            if (status == SARAPHIS_OK) memcpy(dst, frame, frame_size);
            free(frame);
            on_host = 1;
        }
    }
    if (status == SARAPHIS_OK && !on_host)
        status = gpu_download(state, stream, dst, d_frame, frame_size, ctx->pool, "gpu_compress_host: reading the frame back");
    /* Nothing in flight once we return: the copies (also after a failure) and the caller's stream. */
    cudaError_t error = state->copy ? cudaStreamSynchronize(state->copy) : cudaSuccess;
    const cudaError_t synced = cudaStreamSynchronize(stream);
    if (error == cudaSuccess) error = synced;
    if (status == SARAPHIS_OK && error != cudaSuccess) status = gpu_cuda_fail(error, "gpu_compress_host: synchronising");
    if (status == SARAPHIS_OK) *dst_size = frame_size;
    /* The encoders' own messages name saraphis_gpu_compress's steps: say which call ran them. */
    if (status != SARAPHIS_OK && strncmp(saraphis_last_error(), "gpu_compress_host", 17) != 0) status = error_wrap(status, "gpu_compress_host: ");
    return status;
}
