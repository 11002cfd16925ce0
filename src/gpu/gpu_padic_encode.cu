/* GPU encode of the bounded (p-adic) codec (gpu_padic_encode.h): the frame of saraphis_compress
 * with codec BOUNDED (engine/frame.c, codec/chunk.c, codec/padic.c), byte for byte, built on the
 * device. Every choice is the CPU's own code run on the host from statistics the device gathers:
 * padic_required_precision / padic_scan_eps (the bound), padic_plane_choose (plane form and
 * context count), entropy_plan (raw / constant / rANS and the normalised table). Every per-element
 * decision is the CPU's arithmetic: the quantiser's products, sums and dtype roundings are written
 * as explicit round-to-nearest intrinsics (no fused multiply-add can change a bit).
 *
 * Phases (one CTA per chunk where order matters: escapes, signs and context streams are in index
 * order, which a CTA walking its chunk tile by tile with block scans keeps for free):
 *   bound:    min / max / count of the finite elements and the largest |x| below 2^40 steps, by
 *             atomics (order-free), for relative-to-range bounds and automatic precision;
 *   scan:     quantise (magnitudes, sign words, escape list and bitmap with the bitmap's byte
 *             histogram, the decoded values for the content checksum), then per used plane:
 *             per-context digit histograms, the packed sign bits of the magnitudes starting there
 *             and their byte histogram, non-zero count, largest context, varint bytes of the
 *             non-zero positions. All of it goes to the host;
 *   host:     per chunk (thread pool): plane forms, entropy plans (digit streams, sign streams, and
 *             the escape bitmap where write_escapes would try it);
 *   streams:  the escape gaps as varints and the escaped bytes, each dense plane's digits sorted
 *             by context (stable), each sparse plane's non-zero digits and varint positions;
 *   rANS:     a warp per 32768-symbol block of every rANS stream (rans_encode_block_portable's
 *             word order); block sizes to the host;
 *   host:     final stream modes (rANS kept only when smaller than raw), the escape form (bitmap
 *             when no larger than the gaps), plane and record sizes, STORED records, the frame
 *             header, every small piece in one blob, the copy spans;
 *   assemble: copies; then checksums in three rounds (plane checksums and content checksums; the
 *             head checksum over the plane table; the record checksums over everything).
 * Limits (else the caller runs the CPU encoder, identical by construction): p^precision <= 2^31
 * (magnitudes in 32 bits: every F32/F16/BF16/F64 setting with p = 251 and precision <= 3). */
#include <cuda_runtime.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern "C" {
#include "codec/chunk.h"
#include "codec/entropy.h"
#include "codec/padic.h"
#include "codec/padic_values.h"
#include "codec/rans.h"
#include "common/bits.h"
#include "common/checksum.h"
#include "common/error.h"
#include "engine/context.h"
#include "engine/threadpool.h"
#include "saraphis.h"
}

#include "gpu/gpu_device.cuh"
#include "gpu/gpu_internal.h"
#include "gpu/gpu_padic_encode.h"

#define FRAME_MAGIC "SPSF"
#define FRAME_HEADER_BYTES 32
#define PE_THREADS 512
#define PE_WARPS (PE_THREADS / 32)
#define PE_CONTEXTS PADIC_MAX_CONTEXTS
#define PE_STREAMS (PADIC_MAX_CONTEXTS + 1) /* per plane: the sign stream and up to 16 digit streams */
#define PE_COPY_PIECE 65536u
#define PE_RANS_WARPS 4
#define PE_HASH_WARPS 8
#define PE_BATCHES 4 /* chunk batches: the host plans one while the device scans the next */
#define PE_PADIC_HEADER 24u
#define PE_PLANE_ENTRY 12u
#define PE_MAGNITUDE_LIMIT (1ull << 31)
#define PE_FULL 0xffffffffu

enum { PE_PLANE_ZERO = 0, PE_PLANE_DENSE = 1, PE_PLANE_SPARSE = 2 };

/* ---- Shapes shared by host and device ----------------------------------------------------- */

typedef struct {
    double eps, step, inverse_step, limit, t_limit;
    uint64_t src_size;
    uint32_t chunk_bytes, chunk_count, N, element, prime, precision, content, pad;
    uint32_t power[34]; /* prime^e, e = 0 .. precision (below 2^32) */
    /* scratch offsets (bytes) */
    uint64_t mags, signw, escmap, recon, esc, chunk_stats, plane_stats, hist, signhist, eschist, signbytes, sorted, positions, escbuf, escvals, plans;
    /* per-chunk (or per chunk and plane) strides, bytes */
    uint64_t signw_stride, signbytes_stride, sorted_stride, escbuf_stride, escvals_stride;
} pe_geometry_t;

typedef struct {
    uint32_t escapes, delta_bytes, largest, used_digits;
} pe_chunk_stats_t;

typedef struct {
    uint32_t nonzero, sign_count, max_context, positions_bytes;
    uint32_t totals[PE_CONTEXTS];
} pe_plane_stats_t;

typedef struct {
    uint32_t form, contexts;
    uint32_t start[PE_CONTEXTS + 1]; /* dense: where context stream c starts in the sorted digits */
    uint32_t pad;
} pe_plane_plan_t;

typedef struct {
    uint64_t symbols, slot; /* scratch offsets */
    uint32_t count, table, pad[2];
} pe_task_t;

typedef struct {
    const uint8_t *src;
    uint64_t dst;
    uint32_t length, pad;
} pe_span_t;

typedef struct {
    const uint8_t *data;
    uint8_t *out; /* where the 8-byte checksum goes */
    uint64_t length, seed;
} pe_hash_t;

__host__ __device__ static inline uint32_t pe_varint_size(uint32_t v)
{
    return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

__host__ __device__ static inline uint32_t pe_slot_bytes(uint32_t count) { return (uint32_t)((RANS_BLOCK_HEADER_BYTES + 2 * (uint64_t)count + 15) & ~15ull); }

/* ---- Element access (padic_values.h, with every operation rounded on its own) ------------- */

__device__ __forceinline__ double pe_round_to_quantum(double a, double quantum, double inverse)
{
    return __dmul_rn(__dsub_rn(__dadd_rn(__dmul_rn(a, inverse), 0x1p52), 0x1p52), quantum);
}

__device__ __forceinline__ double pe_round_mantissa(double a, unsigned dropped)
{
    uint64_t bits = (uint64_t)__double_as_longlong(a);
    uint64_t half = ((uint64_t)1 << (dropped - 1)) - 1 + ((bits >> dropped) & 1);
    bits = (bits + half) & ~(((uint64_t)1 << dropped) - 1);
    return __longlong_as_double((long long)bits);
}

template <int DT> struct pe_dtype;

template <> struct pe_dtype<SARAPHIS_DTYPE_F32> {
    __device__ static double load(const uint8_t *p, uint64_t i) { return (double)__ldg((const float *)p + i); }
    __device__ static double round(double d)
    {
        if (d > FLT_MAX) d = FLT_MAX;
        else if (d < -FLT_MAX) d = -FLT_MAX;
        return (double)__double2float_rn(d);
    }
    __device__ static void store(uint8_t *p, uint32_t i, double r) { ((float *)p)[i] = __double2float_rn(r); }
    __device__ static void copy(uint8_t *dst, uint32_t k, const uint8_t *src, uint32_t i) { ((uint32_t *)dst)[k] = __ldg((const uint32_t *)src + i); }
};

template <> struct pe_dtype<SARAPHIS_DTYPE_F64> {
    __device__ static double load(const uint8_t *p, uint64_t i) { return __ldg((const double *)p + i); }
    __device__ static double round(double d) { return d; }
    __device__ static void store(uint8_t *p, uint32_t i, double r) { ((double *)p)[i] = r; }
    __device__ static void copy(uint8_t *dst, uint32_t k, const uint8_t *src, uint32_t i)
    {
        ((unsigned long long *)dst)[k] = __ldg((const unsigned long long *)src + i);
    }
};

template <> struct pe_dtype<SARAPHIS_DTYPE_F16> {
    __device__ static double load(const uint8_t *p, uint64_t i)
    {
        const uint32_t h = __ldg((const unsigned short *)p + i);
        const uint64_t sign = (uint64_t)(h >> 15) << 63;
        const uint32_t exponent = (h >> 10) & 31u, mantissa = h & 0x3ffu;
        if (exponent == 0) {
            const double v = __dmul_rn((double)mantissa, 0x1p-24);
            return sign ? -v : v;
        }
        if (exponent == 31) return __longlong_as_double((long long)(sign | (0x7ffull << 52) | ((uint64_t)mantissa << 42)));
        return __longlong_as_double((long long)(sign | ((uint64_t)(exponent - 15 + 1023) << 52) | ((uint64_t)mantissa << 42)));
    }
    __device__ static double round(double d)
    {
        const double a = fabs(d);
        double r;
        if (!(a < PADIC_F16_MAX)) r = PADIC_F16_MAX;
        else if (a < 0x1p-14) r = pe_round_to_quantum(a, 0x1p-24, 0x1p24);
        else r = pe_round_mantissa(a, 42);
        return copysign(r, d);
    }
    __device__ static void store(uint8_t *p, uint32_t i, double r)
    {
        uint32_t h = signbit(r) ? 0x8000u : 0u;
        const double a = fabs(r);
        if (a < 0x1p-14) {
            h |= (uint32_t)(uint16_t)__dmul_rn(a, 0x1p24);
        } else {
            const uint64_t bits = (uint64_t)__double_as_longlong(a);
            const uint32_t exponent = (uint32_t)(bits >> 52) - 1023u + 15u;
            h |= (exponent << 10 | (uint32_t)((bits >> 42) & 0x3ffu)) & 0xffffu;
        }
        ((uint16_t *)p)[i] = (uint16_t)h;
    }
    __device__ static void copy(uint8_t *dst, uint32_t k, const uint8_t *src, uint32_t i) { ((uint16_t *)dst)[k] = __ldg((const unsigned short *)src + i); }
};

template <> struct pe_dtype<SARAPHIS_DTYPE_BF16> {
    __device__ static double load(const uint8_t *p, uint64_t i) { return (double)__uint_as_float((uint32_t)__ldg((const unsigned short *)p + i) << 16); }
    __device__ static double round(double d)
    {
        const double a = fabs(d);
        double r;
        if (!(a < PADIC_BF16_MAX)) r = PADIC_BF16_MAX;
        else if (a < 0x1p-126) r = pe_round_to_quantum(a, 0x1p-133, 0x1p133);
        else r = pe_round_mantissa(a, 45);
        return copysign(r, d);
    }
    __device__ static void store(uint8_t *p, uint32_t i, double r) { ((uint16_t *)p)[i] = (uint16_t)(__float_as_uint(__double2float_rn(r)) >> 16); }
    __device__ static void copy(uint8_t *dst, uint32_t k, const uint8_t *src, uint32_t i) { ((uint16_t *)dst)[k] = __ldg((const unsigned short *)src + i); }
};

/* The encoder's quantiser (padic.c, DEFINE_QUANTISE: the nearest lattice point, else the better
 * of its neighbours, else an escape), in the same IEEE operations. On acceptance: |q|, its sign
 * and the decoded value R(q * step). */
template <int DT>
__device__ __forceinline__ bool pe_quantise(double x, const pe_geometry_t &g, uint32_t *magnitude, bool *negative, double *rounded)
{
    typedef pe_dtype<DT> D;
    const double magic = 0x1.8p52;
    const double t = __dmul_rn(x, g.inverse_step);
    const bool inside = fabs(t) < g.t_limit; /* false for NaN and Inf */
    double qd = __dsub_rn(__dadd_rn(inside ? t : 0.0, magic), magic);
    double rec = __dmul_rn(qd, g.step);
    double r = D::round(rec);
    const double err = fabs(__dsub_rn(x, r));
    const bool ok = inside && fabs(qd) < g.limit && err <= g.eps && fabs(__dsub_rn(x, rec)) <= g.eps;
    if (!ok) {
        if (!(fabs(t) < g.t_limit)) return false;
        const double nearest = __dsub_rn(__dadd_rn(t, magic), magic);
        double best = 0, best_err = INFINITY, best_r = 0;
        for (int delta = -1; delta <= 1; delta++) {
            const double q = __dadd_rn(nearest, (double)delta);
            if (!(fabs(q) < g.limit)) continue;
            const double product = __dmul_rn(q, g.step);
            const double rq = D::round(product);
            const double e = fabs(__dsub_rn(x, rq));
            if (e <= g.eps && fabs(__dsub_rn(x, product)) <= g.eps && e < best_err) {
                best = q;
                best_err = e;
                best_r = rq;
            }
        }
        if (!(best_err <= g.eps)) return false;
        qd = best;
        r = best_r;
    }
    *magnitude = (uint32_t)fabs(qd);
    *negative = qd < 0;
    *rounded = r;
    return true;
}

/* ---- Block-wide helpers (PE_THREADS threads; every thread calls them, in the same order) ------
 *
 * One barrier per call: the per-warp values go to one of two buffers, alternating by call (the
 * block's call count, `turn`, is the same in every thread). A buffer is written again two calls
 * later, after the barrier of the call between, which every thread reaches only once it has read
 * the buffer: so no read can see a later write. */
typedef struct {
    uint32_t sums[2][PE_WARPS];
    int32_t last[2][PE_WARPS];
} pe_block_t;

/* Exclusive prefix of v over the block in thread order; *total gets the sum. */
__device__ __forceinline__ uint32_t block_exclusive(uint32_t v, pe_block_t *shared, uint32_t *turn, uint32_t *total)
{
    const uint32_t lane = threadIdx.x & 31, warp = threadIdx.x >> 5, b = (*turn)++ & 1;
    const uint32_t inclusive = warp_inclusive32(v, lane);
    if (lane == 31) shared->sums[b][warp] = inclusive;
    __syncthreads();
    uint32_t before = 0, all = 0;
#pragma unroll
    for (uint32_t w = 0; w < PE_WARPS; w++) {
        const uint32_t s = shared->sums[b][w];
        before += w < warp ? s : 0;
        all += s;
    }
    *total = all;
    return before + inclusive - v;
}

__device__ __forceinline__ uint32_t block_sum(uint32_t v, pe_block_t *shared, uint32_t *turn)
{
    uint32_t total;
    block_exclusive(v, shared, turn, &total);
    return total;
}

__device__ __forceinline__ uint32_t block_max(uint32_t v, pe_block_t *shared, uint32_t *turn)
{
    const uint32_t b = (*turn)++ & 1;
#pragma unroll
    for (int o = 16; o; o >>= 1) v = max(v, __shfl_xor_sync(PE_FULL, v, o));
    if ((threadIdx.x & 31) == 0) shared->sums[b][threadIdx.x >> 5] = v;
    __syncthreads();
    uint32_t all = 0;
#pragma unroll
    for (uint32_t w = 0; w < PE_WARPS; w++) all = max(all, shared->sums[b][w]);
    return all;
}

/* The index of the last flagged element before element i (index base + thread) among this tile's
 * and, before the tile, *carried (-1: none); *carried becomes the tile's last. */
__device__ __forceinline__ int32_t block_previous(bool flag, uint32_t i, int32_t *carried, pe_block_t *shared, uint32_t *turn)
{
    const uint32_t lane = threadIdx.x & 31, warp = threadIdx.x >> 5, b = (*turn)++ & 1;
    const uint32_t mask = __ballot_sync(PE_FULL, flag);
    const uint32_t first = i - lane;
    if (lane == 0) shared->last[b][warp] = mask ? (int32_t)(first + 31 - __clz(mask)) : -1;
    __syncthreads();
    const uint32_t lower = mask & lanemask_lt(lane);
    int32_t previous = *carried;
    if (lower) previous = (int32_t)(first + 31 - __clz(lower));
    else
        for (int w = (int)warp - 1; w >= 0; w--)
            if (shared->last[b][w] >= 0) { previous = shared->last[b][w]; break; }
    int32_t last = *carried;
    for (int w = PE_WARPS - 1; w >= 0; w--)
        if (shared->last[b][w] >= 0) { last = shared->last[b][w]; break; }
    *carried = last;
    return previous;
}

/* Chunk c's element count. */
__device__ __forceinline__ uint32_t pe_chunk_n(const pe_geometry_t &g, uint32_t c)
{
    const uint64_t begin = (uint64_t)c * g.chunk_bytes;
    return (uint32_t)(min((uint64_t)g.chunk_bytes, g.src_size - begin) / g.element);
}

/* ---- Bound: order-free statistics of the whole tensor ------------------------------------- */

typedef struct {
    unsigned long long lo, hi; /* ordered keys of the smallest and largest finite element */
    unsigned long long finite;
    unsigned long long largest; /* bits of the largest |x| with |x| / (2 eps) below 2^40 */
} pe_bound_t;

__device__ __forceinline__ unsigned long long pe_order_key(double d)
{
    const unsigned long long b = (unsigned long long)__double_as_longlong(d);
    return b >> 63 ? ~b : b | 0x8000000000000000ull;
}

template <int DT>
static __global__ void __launch_bounds__(256) pe_bound_kernel(const uint8_t *src, uint64_t n, double inverse, int want_largest, pe_bound_t *out)
{
    typedef pe_dtype<DT> D;
    unsigned long long lo = ~0ull, hi = 0, finite = 0, largest = 0;
    for (uint64_t i = blockIdx.x * 256ull + threadIdx.x; i < n; i += (uint64_t)gridDim.x * 256) {
        const double x = D::load(src, i);
        if (!isfinite(x)) continue;
        const unsigned long long key = pe_order_key(x);
        lo = min(lo, key);
        hi = max(hi, key);
        finite++;
        /* padic_required_precision's filter: t = |x| / (2 eps) below 2^40 (t grows with |x|, so
         * the largest such |x| gives the largest t). */
        if (want_largest && __dmul_rn(fabs(x), inverse) < (double)(1ull << PADIC_MAGNITUDE_BITS))
            largest = max(largest, (unsigned long long)__double_as_longlong(fabs(x)));
    }
#pragma unroll
    for (int o = 16; o; o >>= 1) {
        lo = min(lo, __shfl_xor_sync(PE_FULL, lo, o));
        hi = max(hi, __shfl_xor_sync(PE_FULL, hi, o));
        finite += __shfl_xor_sync(PE_FULL, finite, o);
        largest = max(largest, __shfl_xor_sync(PE_FULL, largest, o));
    }
    if ((threadIdx.x & 31) == 0 && finite) {
        atomicMin(&out->lo, lo);
        atomicMax(&out->hi, hi);
        atomicAdd(&out->finite, finite);
        atomicMax(&out->largest, largest);
    }
}

/* ---- Scan: quantise, then the statistics of every used plane ------------------------------ */

template <int DT>
static __global__ void __launch_bounds__(PE_THREADS) pe_scan_kernel(const uint8_t *src, pe_geometry_t g, uint8_t *scratch, uint32_t first_chunk)
{
    typedef pe_dtype<DT> D;
    __shared__ pe_block_t block;
    __shared__ uint32_t hist[PE_CONTEXTS * 256];
    __shared__ uint32_t sign_hist[256];
    uint32_t turn = 0;
    const uint32_t c = first_chunk + blockIdx.x, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const uint32_t n = pe_chunk_n(g, c), P = g.precision, p = g.prime;
    const uint8_t *chunk = src + (uint64_t)c * g.chunk_bytes;
    uint32_t *mags = (uint32_t *)(scratch + g.mags) + (uint64_t)c * g.N;
    uint32_t *signw = (uint32_t *)(scratch + g.signw + (uint64_t)c * g.signw_stride);
    uint8_t *recon = scratch + g.recon + (uint64_t)c * g.N * g.element;
    uint32_t *esc = (uint32_t *)(scratch + g.esc) + (uint64_t)c * g.N;
    uint32_t *escmap = (uint32_t *)(scratch + g.escmap + (uint64_t)c * g.signw_stride);

    /* Quantise: escapes listed in index order by a block scan per tile, and as a bitmap. */
    uint32_t escape_count = 0, largest = 0;
    for (uint32_t base = 0; base < n; base += PE_THREADS) {
        const uint32_t i = base + tid;
        const bool active = i < n;
        uint32_t m = 0;
        bool negative = false, ok = false;
        double r = 0;
        if (active) {
            ok = pe_quantise<DT>(D::load(chunk, i), g, &m, &negative, &r);
            if (!ok) m = 0;
            mags[i] = m;
            if (g.content) {
                if (ok) D::store(recon, i, r);
                else D::copy(recon, i, chunk, i);
            }
        }
        largest = max(largest, m);
        const uint32_t negatives = __ballot_sync(PE_FULL, active && ok && negative);
        const uint32_t escaped = __ballot_sync(PE_FULL, active && !ok);
        if (lane == 0 && base + 32 * warp < n) {
            signw[(base >> 5) + warp] = negatives;
            escmap[(base >> 5) + warp] = escaped;
        }
        uint32_t total;
        const uint32_t rank = block_exclusive(active && !ok ? 1u : 0u, &block, &turn, &total);
        if (active && !ok) esc[escape_count + rank] = i;
        escape_count += total;
    }
    largest = block_max(largest, &block, &turn);
    __syncthreads(); /* every escape index is written */
    uint32_t delta = 0;
    for (uint32_t k = tid; k < escape_count; k += PE_THREADS) delta += pe_varint_size(k ? esc[k] - esc[k - 1] - 1 : esc[0]);
    delta = block_sum(delta, &block, &turn);
    uint32_t used = 0;
    for (uint32_t m = largest; m; m /= p) used++;
    /* The bitmap's byte histogram: the CPU tries the bitmap form when the deltas take more than a
     * quarter of it (the host decides; counting it here costs an eighth of a pass). */
    if (escape_count) {
        if (tid < 256) sign_hist[tid] = 0;
        __syncthreads();
        const uint32_t bitmap_bytes = (n + 7) / 8;
        const uint8_t *map = (const uint8_t *)escmap;
        for (uint32_t base = 0; base < bitmap_bytes; base += PE_THREADS) {
            const uint32_t k = base + tid;
            const uint32_t key = k < bitmap_bytes ? map[k] : PE_FULL;
            const uint32_t peers = __match_any_sync(PE_FULL, key);
            if (key != PE_FULL && lane == (uint32_t)__ffs(peers) - 1) atomicAdd(&sign_hist[key], (uint32_t)__popc(peers));
        }
        __syncthreads();
        if (tid < 256) ((uint32_t *)(scratch + g.eschist))[(uint64_t)c * 256 + tid] = sign_hist[tid];
        __syncthreads();
    }
    if (tid == 0) {
        pe_chunk_stats_t *stats = (pe_chunk_stats_t *)(scratch + g.chunk_stats) + c;
        stats->escapes = escape_count;
        stats->delta_bytes = delta;
        stats->largest = largest;
        stats->used_digits = used;
    }

    /* Planes, most significant first; those above the largest magnitude's leading digit are zero. */
    for (uint32_t j = 0; j < P; j++) {
        const uint32_t e = P - 1 - j;
        pe_plane_stats_t *ps = (pe_plane_stats_t *)(scratch + g.plane_stats) + (uint64_t)c * P + j;
        if (e >= used) {
            if (tid < sizeof(pe_plane_stats_t) / 4) ((uint32_t *)ps)[tid] = 0;
            continue;
        }
        const uint32_t place = g.power[e], above = g.power[e + 1];
        uint32_t *sign_words = (uint32_t *)(scratch + g.signbytes + ((uint64_t)c * P + j) * g.signbytes_stride);
        for (uint32_t k = tid; k < PE_CONTEXTS * 256; k += PE_THREADS) hist[k] = 0;
        if (tid < 256) sign_hist[tid] = 0;
        for (uint32_t k = tid; k < g.signbytes_stride / 4; k += PE_THREADS) sign_words[k] = 0;
        __syncthreads();
        uint32_t starts = 0, nonzero = 0, positions = 0, max_context = 0;
        for (uint32_t base = 0; base < n; base += PE_THREADS) {
            const uint32_t i = base + tid;
            const bool active = i < n;
            const uint32_t m = active ? mags[i] : 0;
            const uint32_t prefix = m / above, digit = (m / place) % p;
            const uint32_t context = min(prefix, PE_CONTEXTS - 1);
            const uint32_t key = active ? context * 256 + digit : PE_FULL;
            const uint32_t peers = __match_any_sync(PE_FULL, key);
            if (active && lane == (uint32_t)__ffs(peers) - 1) atomicAdd(&hist[key], (uint32_t)__popc(peers));
            if (active) max_context = max(max_context, context);
            const bool nz = active && digit != 0;
            nonzero += nz;
            const bool starter = nz && prefix == 0;
            uint32_t total;
            const uint32_t rank = starts + block_exclusive(starter ? 1u : 0u, &block, &turn, &total);
            if (starter && (signw[i >> 5] >> (i & 31) & 1)) atomicOr(&sign_words[rank >> 5], 1u << (rank & 31));
            starts += total;
        }
        nonzero = block_sum(nonzero, &block, &turn);
        max_context = block_max(max_context, &block, &turn);
        /* The positions' varint bytes matter only to a plane that may be sparse (padic_plane_choose
         * reads them when at most an eighth of the digits are non-zero): a second pass there. */
        if (nonzero <= n / 8) {
            int32_t last_nonzero = -1;
            for (uint32_t base = 0; base < n; base += PE_THREADS) {
                const uint32_t i = base + tid;
                const bool nz = i < n && (mags[i] / place) % p != 0;
                const int32_t previous = block_previous(nz, i, &last_nonzero, &block, &turn);
                if (nz) positions += pe_varint_size((uint32_t)((int64_t)i - previous - 1));
            }
            positions = block_sum(positions, &block, &turn);
        }
        /* The sign bytes' histogram (the padding bits of the last byte are zero). */
        const uint32_t sign_bytes = (starts + 7) / 8;
        const uint8_t *bytes = (const uint8_t *)sign_words;
        for (uint32_t base = 0; base < sign_bytes; base += PE_THREADS) {
            const uint32_t k = base + tid;
            const uint32_t key = k < sign_bytes ? __ldcg(bytes + k) : PE_FULL; /* written by atomics */
            const uint32_t peers = __match_any_sync(PE_FULL, key);
            if (key != PE_FULL && lane == (uint32_t)__ffs(peers) - 1) atomicAdd(&sign_hist[key], (uint32_t)__popc(peers));
        }
        __syncthreads();
        uint32_t *out_hist = (uint32_t *)(scratch + g.hist) + ((uint64_t)c * P + j) * PE_CONTEXTS * p;
        for (uint32_t k = tid; k < PE_CONTEXTS * p; k += PE_THREADS) out_hist[k] = hist[(k / p) * 256 + k % p];
        uint32_t *out_sign_hist = (uint32_t *)(scratch + g.signhist) + ((uint64_t)c * P + j) * 256;
        if (tid < 256) out_sign_hist[tid] = sign_hist[tid];
        if (tid < PE_CONTEXTS) {
            uint32_t total = 0;
            for (uint32_t d = 0; d < p; d++) total += hist[tid * 256 + d];
            ps->totals[tid] = total;
        }
        if (tid == 0) {
            ps->nonzero = nonzero;
            ps->sign_count = starts;
            ps->max_context = max_context;
            ps->positions_bytes = positions;
        }
        __syncthreads(); /* hist and sign_hist are cleared for the next plane */
    }
}

/* ---- Streams: escape section, context-sorted digits, sparse positions --------------------- */

__device__ __forceinline__ void pe_varint_put(uint8_t *dst, uint32_t v)
{
    uint32_t i = 0;
    while (v >= 0x80) {
        dst[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[i] = (uint8_t)v;
}

template <int DT>
static __global__ void __launch_bounds__(PE_THREADS) pe_streams_kernel(const uint8_t *src, pe_geometry_t g, uint8_t *scratch, uint32_t first_chunk)
{
    typedef pe_dtype<DT> D;
    __shared__ pe_block_t block;
    __shared__ uint32_t warp_counts[PE_WARPS][PE_CONTEXTS];
    __shared__ uint32_t running[PE_CONTEXTS];
    const uint32_t c = first_chunk + blockIdx.x, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const uint32_t n = pe_chunk_n(g, c), P = g.precision, p = g.prime;
    const uint8_t *chunk = src + (uint64_t)c * g.chunk_bytes;
    const uint32_t *mags = (const uint32_t *)(scratch + g.mags) + (uint64_t)c * g.N;
    const uint32_t *esc = (const uint32_t *)(scratch + g.esc) + (uint64_t)c * g.N;
    const pe_chunk_stats_t stats = ((const pe_chunk_stats_t *)(scratch + g.chunk_stats))[c];
    uint32_t turn = 0;

    /* Escape section: gaps as varints, then the escaped elements' bytes. */
    uint8_t *escbuf = scratch + g.escbuf + (uint64_t)c * g.escbuf_stride;
    uint8_t *escvals = scratch + g.escvals + (uint64_t)c * g.escvals_stride;
    uint32_t written = 0;
    for (uint32_t base = 0; base < stats.escapes; base += PE_THREADS) {
        const uint32_t k = base + tid;
        const bool active = k < stats.escapes;
        const uint32_t gap = active ? (k ? esc[k] - esc[k - 1] - 1 : esc[0]) : 0;
        uint32_t total;
        const uint32_t at = written + block_exclusive(active ? pe_varint_size(gap) : 0u, &block, &turn, &total);
        if (active) {
            pe_varint_put(escbuf + at, gap);
            D::copy(escvals, k, chunk, esc[k]);
        }
        written += total;
    }

    for (uint32_t j = 0; j < P; j++) {
        const pe_plane_plan_t plan = ((const pe_plane_plan_t *)(scratch + g.plans))[(uint64_t)c * P + j];
        if (plan.form == PE_PLANE_ZERO) continue;
        const uint32_t e = P - 1 - j, place = g.power[e], above = g.power[e + 1];
        uint8_t *sorted = scratch + g.sorted + ((uint64_t)c * P + j) * g.sorted_stride;
        if (plan.form == PE_PLANE_DENSE && plan.contexts == 1) {
            for (uint32_t i = tid; i < n; i += PE_THREADS) sorted[i] = (uint8_t)((mags[i] / place) % p);
            continue;
        }
        if (plan.form == PE_PLANE_DENSE) {
            /* Stable counting sort by context min(prefix, C - 1): a digit's place is its context's
             * start, the count before this tile, the warps before its own and its rank in the warp. */
            const uint32_t last = plan.contexts - 1;
            if (tid < PE_CONTEXTS) running[tid] = tid <= last ? plan.start[tid] : 0;
            for (uint32_t base = 0; base < n; base += PE_THREADS) {
                const uint32_t i = base + tid;
                const bool active = i < n;
                const uint32_t m = active ? mags[i] : 0;
                const uint32_t digit = (m / place) % p, context = min(m / above, last);
                const uint32_t peers = __match_any_sync(PE_FULL, active ? context : PE_FULL);
                if (tid < PE_WARPS * PE_CONTEXTS) (&warp_counts[0][0])[tid] = 0;
                __syncthreads();
                if (active && lane == (uint32_t)__ffs(peers) - 1) warp_counts[warp][context] = (uint32_t)__popc(peers);
                __syncthreads();
                if (tid < PE_CONTEXTS) { /* exclusive prefix over the warps, per context */
                    uint32_t acc = running[tid];
                    for (uint32_t w = 0; w < PE_WARPS; w++) {
                        const uint32_t v = warp_counts[w][tid];
                        warp_counts[w][tid] = acc;
                        acc += v;
                    }
                    running[tid] = acc;
                }
                __syncthreads();
                if (active) sorted[warp_counts[warp][context] + __popc(peers & lanemask_lt(lane))] = (uint8_t)digit;
                __syncthreads();
            }
            continue;
        }
        /* Sparse: the non-zero digits in index order, and their positions as varint gaps. */
        uint8_t *positions = scratch + g.positions + ((uint64_t)c * P + j) * g.sorted_stride;
        uint32_t count = 0, bytes = 0;
        int32_t last_nonzero = -1;
        for (uint32_t base = 0; base < n; base += PE_THREADS) {
            const uint32_t i = base + tid;
            const bool active = i < n;
            const uint32_t digit = active ? (mags[i] / place) % p : 0;
            const bool nz = digit != 0;
            uint32_t total;
            const uint32_t rank = count + block_exclusive(nz ? 1u : 0u, &block, &turn, &total);
            count += total;
            const int32_t previous = block_previous(nz, i, &last_nonzero, &block, &turn);
            const uint32_t gap = nz ? (uint32_t)((int64_t)i - previous - 1) : 0;
            const uint32_t at = bytes + block_exclusive(nz ? pe_varint_size(gap) : 0u, &block, &turn, &total);
            bytes += total;
            if (nz) {
                sorted[rank] = (uint8_t)digit;
                pe_varint_put(positions + at, gap);
            }
        }
    }
}

/* ---- rANS: a warp per block (gpu_device.cuh's encoder, as the lossless encoder uses it) -------- */

static __global__ void __launch_bounds__(PE_RANS_WARPS * 32)
    pe_rans_kernel(const pe_task_t *tasks, uint32_t task_count, const uint16_t *tables, uint8_t *scratch, uint32_t *sizes)
{
    __shared__ uint32_t freq_cum[PE_RANS_WARPS][256], reciprocal_lo[PE_RANS_WARPS][256], reciprocal_hi[PE_RANS_WARPS][256];
    const uint32_t warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint32_t t = blockIdx.x * PE_RANS_WARPS + warp;
    if (t >= task_count) return;
    const pe_task_t task = tasks[t];
    rans_encoder_tables(tables + (size_t)task.table * 256, freq_cum[warp], reciprocal_lo[warp], reciprocal_hi[warp], lane);
    __syncwarp();
    const uint8_t *symbols = scratch + task.symbols;
    uint16_t *words = (uint16_t *)(scratch + task.slot);
    const uint32_t count = task.count, end_word = pe_slot_bytes(count) / 2;
    uint32_t x = RANS_STATE_LOWER, cursor = end_word;
    for (int32_t group = (int32_t)((count + 31) / 32) - 1; group >= 0; group--) {
        const uint32_t i = (uint32_t)group * 32 + lane;
        const bool active = i < count;
        const uint32_t sym = active ? symbols[i] : 0;
        x = rans_encode_step(x, sym, active, freq_cum[warp][sym], reciprocal_lo[warp], reciprocal_hi[warp], words, &cursor, lane);
    }
    const uint32_t start = 2 * cursor - RANS_BLOCK_HEADER_BYTES;
    uint16_t *state_words = (uint16_t *)((uint8_t *)words + start) + 2 * lane;
    state_words[0] = (uint16_t)x;
    state_words[1] = (uint16_t)(x >> 16);
    if (lane == 0) sizes[t] = 2 * end_word - start;
}

/* ---- Assembly and checksums ----------------------------------------------------------------- */

/* One CTA per span; byte copies (spans are small pieces or up to 64 KiB). */
static __global__ void __launch_bounds__(256) pe_copy_kernel(const pe_span_t *spans, uint8_t *dst)
{
    const pe_span_t span = spans[blockIdx.x];
    uint8_t *out = dst + span.dst;
    for (uint32_t i = threadIdx.x; i < span.length; i += 256) out[i] = __ldg(span.src + i);
}

/* Segment hashes of spans [first, end) (prefix: each span's first segment). */
static __global__ void __launch_bounds__(PE_HASH_WARPS * 32)
    pe_segments_kernel(const pe_hash_t *spans, const uint32_t *prefix, uint32_t first, uint32_t end, uint64_t *hashes)
{
    const uint32_t lane = threadIdx.x & 31, warps = gridDim.x * PE_HASH_WARPS;
    for (uint32_t s = prefix[first] + blockIdx.x * PE_HASH_WARPS + (threadIdx.x >> 5); s < prefix[end]; s += warps) {
        uint32_t lo = first, hi = end - 1;
        while (lo < hi) {
            const uint32_t mid = (lo + hi + 1) / 2;
            if (prefix[mid] <= s) lo = mid;
            else hi = mid - 1;
        }
        const pe_hash_t span = spans[lo];
        const uint64_t offset = (uint64_t)(s - prefix[lo]) * CHECKSUM_SEGMENT_BYTES;
        const uint64_t hash = warp_segment_hash(span.data + offset, (uint32_t)min((uint64_t)CHECKSUM_SEGMENT_BYTES, span.length - offset), lane);
        if (lane == 0) hashes[s] = hash;
    }
}

/* checksum64 of each span from its segment hashes: XXH64 seeded with seed ^ (length * 2^64/phi). */
static __global__ void pe_digest_kernel(const pe_hash_t *spans, const uint32_t *prefix, uint32_t first, uint32_t end, const uint64_t *hashes)
{
    const uint32_t i = first + blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= end) return;
    const pe_hash_t span = spans[i];
    const uint64_t hash = xxh64_hashes(hashes + prefix[i], prefix[i + 1] - prefix[i],
                                      span.seed ^ (span.length * 0x9E3779B97F4A7C15ULL));
    for (int k = 0; k < 8; k++) span.out[k] = (uint8_t)(hash >> (8 * k));
}

/* ---- Host ----------------------------------------------------------------------------------- */

#define PE_DISPATCH(dtype, CALL)                              \
    do {                                                      \
        switch (dtype) {                                      \
        case SARAPHIS_DTYPE_F32: CALL(SARAPHIS_DTYPE_F32); break; \
        case SARAPHIS_DTYPE_F64: CALL(SARAPHIS_DTYPE_F64); break; \
        case SARAPHIS_DTYPE_F16: CALL(SARAPHIS_DTYPE_F16); break; \
        default: CALL(SARAPHIS_DTYPE_BF16); break;            \
        }                                                     \
    } while (0)

static int pe_float_dtype(saraphis_dtype_t dtype)
{
    return dtype == SARAPHIS_DTYPE_F32 || dtype == SARAPHIS_DTYPE_F64 || dtype == SARAPHIS_DTYPE_F16 || dtype == SARAPHIS_DTYPE_BF16;
}

/* One entropy stream as the host planned it. */
typedef struct {
    uint8_t mode, constant;
    uint16_t table_size;
    uint32_t n, blocks, first_task, table;
    uint64_t symbols; /* scratch offset of its first symbol */
    uint8_t table_bytes[2 + 2 * 256];
} pe_stream_t;

/* The whole call's host-side state. */
typedef struct {
    saraphis_ctx_t *ctx;
    saraphis_dtype_t dtype;
    padic_params_t params;
    pe_geometry_t g;
    uint32_t P, C;
    const uint8_t *h_in;              /* staging: chunk stats, plane stats, histograms */
    pe_plane_plan_t *plans;           /* staging */
    pe_stream_t *streams;             /* [C][P][PE_STREAMS] */
    uint8_t *stream_counts;           /* [C][P] */
    pe_stream_t *bitmaps;             /* [C]: the escape bitmap's stream, when the CPU would try it */
    uint8_t *bitmap_tried, *bitmap_used; /* [C] */
    uint32_t first_chunk;             /* of the batch being planned */
} pe_job_t;

static const pe_chunk_stats_t *job_chunk_stats(const pe_job_t *job, uint32_t c)
{
    return (const pe_chunk_stats_t *)(job->h_in + job->g.chunk_stats) + c;
}
static const pe_plane_stats_t *job_plane_stats(const pe_job_t *job, uint32_t c, uint32_t j)
{
    return (const pe_plane_stats_t *)(job->h_in + job->g.plane_stats) + (uint64_t)c * job->P + j;
}

static uint32_t pe_chunk_raw(const pe_geometry_t *g, uint32_t c)
{
    const uint64_t begin = (uint64_t)c * g->chunk_bytes;
    return (uint32_t)(g->src_size - begin < g->chunk_bytes ? g->src_size - begin : g->chunk_bytes);
}


/* Plans one chunk: plane forms (padic_plane_choose) and every stream's entropy plan. */
static saraphis_status_t plan_chunk(void *job_ptr, size_t item, unsigned worker)
{
    (void)worker;
    pe_job_t *job = (pe_job_t *)job_ptr;
    const uint32_t c = job->first_chunk + (uint32_t)item, P = job->P, p = job->g.prime;
    const pe_geometry_t *g = &job->g;
    const uint32_t n = pe_chunk_raw(g, c) / g->element;
    const pe_chunk_stats_t *cs = job_chunk_stats(job, c);
    for (uint32_t j = 0; j < P; j++) {
        pe_plane_plan_t *pp = &job->plans[(uint64_t)c * P + j];
        memset(pp, 0, sizeof *pp);
        job->stream_counts[(uint64_t)c * P + j] = 0;
    }
    /* write_escapes tries the bitmap form (an entropy stream) when the deltas take more than a
     * quarter of it, and keeps it when it is no larger: the sizes decide after encoding. */
    const uint32_t bitmap_bytes = (n + 7) / 8;
    job->bitmap_tried[c] = cs->escapes && cs->delta_bytes > bitmap_bytes / 4;
    if (job->bitmap_tried[c]) {
        pe_stream_t *b = &job->bitmaps[c];
        entropy_plan_t plan;
        entropy_plan((const uint32_t *)(job->h_in + g->eschist) + (uint64_t)c * 256, bitmap_bytes, 0, &plan);
        b->mode = (uint8_t)plan.mode;
        b->constant = plan.constant;
        b->table_size = (uint16_t)plan.table_size;
        if (plan.mode == ENTROPY_RANS) memcpy(b->table_bytes, plan.table_bytes, plan.table_size);
        b->n = bitmap_bytes;
        b->blocks = plan.mode == ENTROPY_RANS ? (bitmap_bytes + RANS_BLOCK_SYMBOLS - 1) / RANS_BLOCK_SYMBOLS : 0;
        b->symbols = g->escmap + (uint64_t)c * g->signw_stride;
    }
    static uint32_t zero_hist[PADIC_MAX_CONTEXTS][256];
    uint32_t hist[PADIC_MAX_CONTEXTS][256];
    for (uint32_t j = 0; j < P; j++) {
        const uint32_t e = P - 1 - j;
        const pe_plane_stats_t *ps = job_plane_stats(job, c, j);
        pe_plane_plan_t *pp = &job->plans[(uint64_t)c * P + j];
        if (e >= cs->used_digits || ps->nonzero == 0) continue; /* zero plane */
        const uint32_t *device_hist = (const uint32_t *)(job->h_in + g->hist) + ((uint64_t)c * P + j) * PE_CONTEXTS * p;
        memcpy(hist, zero_hist, sizeof hist);
        for (uint32_t k = 0; k < PE_CONTEXTS * p; k++) hist[k / p][k % p] = device_hist[k];
        padic_plane_choice_t choice;
        padic_plane_choose(p, n, hist, ps->nonzero, ps->max_context, ps->positions_bytes, &choice);
        pp->form = (uint32_t)choice.form;
        pp->contexts = choice.contexts;
        pe_stream_t *streams = &job->streams[((uint64_t)c * P + j) * PE_STREAMS];
        uint32_t count = 0;
        uint32_t counts[PE_STREAMS][256];
        const uint64_t sorted = g->sorted + ((uint64_t)c * P + j) * g->sorted_stride;
        if (ps->sign_count) {
            memcpy(counts[count], (const uint32_t *)(job->h_in + g->signhist) + ((uint64_t)c * P + j) * 256, 256 * sizeof(uint32_t));
            streams[count].n = (ps->sign_count + 7) / 8;
            streams[count].symbols = g->signbytes + ((uint64_t)c * P + j) * g->signbytes_stride;
            count++;
        }
        if (choice.form == PE_PLANE_DENSE) {
            const uint32_t last = choice.contexts - 1;
            pp->start[0] = 0;
            for (uint32_t k = 0; k < choice.contexts; k++) {
                uint32_t symbols = 0;
                memset(counts[count], 0, sizeof counts[count]);
                for (uint32_t d = k; d <= (k == last ? PE_CONTEXTS - 1 : k); d++) {
                    symbols += ps->totals[d];
                    if (d <= ps->max_context)
                        for (uint32_t s = 0; s < p; s++) counts[count][s] += hist[d][s];
                }
                pp->start[k + 1] = pp->start[k] + symbols;
                streams[count].n = symbols;
                streams[count].symbols = sorted + pp->start[k];
                count++;
            }
        } else {
            memset(counts[count], 0, sizeof counts[count]);
            for (uint32_t d = 0; d <= ps->max_context; d++)
                for (uint32_t s = 1; s < p; s++) counts[count][s] += hist[d][s];
            streams[count].n = ps->nonzero;
            streams[count].symbols = sorted;
            count++;
        }
        for (uint32_t k = 0; k < count; k++) {
            entropy_plan_t plan;
            entropy_plan(counts[k], streams[k].n, 0, &plan);
            streams[k].mode = (uint8_t)plan.mode;
            streams[k].constant = plan.constant;
            streams[k].table_size = (uint16_t)plan.table_size;
            if (plan.mode == ENTROPY_RANS) memcpy(streams[k].table_bytes, plan.table_bytes, plan.table_size);
            streams[k].blocks = plan.mode == ENTROPY_RANS ? (streams[k].n + RANS_BLOCK_SYMBOLS - 1) / RANS_BLOCK_SYMBOLS : 0;
        }
        job->stream_counts[(uint64_t)c * P + j] = (uint8_t)count;
    }
    return SARAPHIS_OK;
}

/* Pieces of the frame: small bytes gather in the blob (one span per contiguous run in the
 * destination); device bytes become spans of at most PE_COPY_PIECE. */
typedef struct {
    uint8_t *blob;
    size_t blob_used, blob_bound;
    const uint8_t *d_blob;
    pe_span_t *spans;
    size_t span_count, span_bound;
    uint64_t open_end;
} pe_assembly_t;

static void put_bytes(pe_assembly_t *a, uint64_t dst, const void *bytes, size_t size)
{
    if (a->blob_used + size > a->blob_bound) { a->blob_used += size; return; } /* caught by the bound check */
    memcpy(a->blob + a->blob_used, bytes, size);
    if (a->span_count && a->open_end == dst && a->spans[a->span_count - 1].length + size <= PE_COPY_PIECE) {
        a->spans[a->span_count - 1].length += (uint32_t)size;
    } else if (a->span_count < a->span_bound) {
        pe_span_t *s = &a->spans[a->span_count++];
        s->src = a->d_blob + a->blob_used;
        s->dst = dst;
        s->length = (uint32_t)size;
        s->pad = 0;
    } else {
        a->span_count++;
    }
    a->blob_used += size;
    a->open_end = dst + size;
}

static void put_copy(pe_assembly_t *a, const uint8_t *src, uint64_t dst, uint64_t size)
{
    for (uint64_t at = 0; at < size; at += PE_COPY_PIECE) {
        if (a->span_count < a->span_bound) {
            pe_span_t *s = &a->spans[a->span_count];
            s->src = src + at;
            s->dst = dst + at;
            s->length = (uint32_t)(size - at < PE_COPY_PIECE ? size - at : PE_COPY_PIECE);
            s->pad = 0;
        }
        a->span_count++;
    }
    a->open_end = ~0ull;
}

static uint64_t stream_bytes(pe_stream_t *s, const uint32_t *block_sizes)
{
    switch (s->mode) {
    case ENTROPY_CONSTANT: return 2;
    case ENTROPY_RANS: {
        uint64_t size = 1 + s->table_size + 4 * (uint64_t)s->blocks;
        for (uint32_t b = 0; b < s->blocks; b++) size += block_sizes[s->first_task + b];
        if (entropy_rans_smaller(size, s->n)) return size;
        s->mode = ENTROPY_RAW; /* its blocks are simply not copied */
        return 1 + (uint64_t)s->n;
    }
    default: return 1 + (uint64_t)s->n;
    }
}

static void put_stream(pe_assembly_t *a, const pe_stream_t *s, uint8_t *dev, uint64_t *pos, const uint32_t *block_sizes, const pe_task_t *tasks)
{
    const uint8_t mode = s->mode;
    put_bytes(a, (*pos)++, &mode, 1);
    if (mode == ENTROPY_CONSTANT) {
        put_bytes(a, (*pos)++, &s->constant, 1);
    } else if (mode == ENTROPY_RAW) {
        put_copy(a, dev + s->symbols, *pos, s->n);
        *pos += s->n;
    } else {
        put_bytes(a, *pos, s->table_bytes, s->table_size);
        *pos += s->table_size;
        for (uint32_t b = 0; b < s->blocks; b++) {
            uint8_t size_bytes[4];
            store_le32(size_bytes, block_sizes[s->first_task + b]);
            put_bytes(a, *pos, size_bytes, 4);
            *pos += 4;
        }
        for (uint32_t b = 0; b < s->blocks; b++) {
            const pe_task_t *t = &tasks[s->first_task + b];
            const uint32_t size = block_sizes[s->first_task + b];
            put_copy(a, dev + t->slot + pe_slot_bytes(t->count) - size, *pos, size);
            *pos += size;
        }
    }
}

static double pe_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The tensor's parameters, as ctx_resolve_bound gives them on the CPU: eps over the whole tensor,
 * the precision when automatic. *bounded = 0: stored exactly (eps resolved to 0). */
static saraphis_status_t resolve_params(saraphis_ctx_t *ctx, gpu_state_t *state, saraphis_dtype_t dtype, const void *d_src, size_t src_size,
                                        cudaStream_t stream, padic_params_t *params, int *bounded)
{
    const ctx_bound_t *bound = &ctx->bound;
    const int mode = ctx_padic_mode(bound->mode);
    *bounded = 0;
    memset(params, 0, sizeof *params);
    if (mode == PADIC_RELATIVE_STD) {
        /* Its sums depend on their order: the CPU's own scan over a host copy. */
        uint8_t *host = (uint8_t *)malloc(src_size ? src_size : 1);
        if (!host) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_compress: no host memory for the bound's statistics");
        cudaError_t error = cudaMemcpyAsync(host, d_src, src_size, cudaMemcpyDeviceToHost, stream);
        if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
        saraphis_status_t status = error != cudaSuccess ? gpu_cuda_fail(error, "gpu_compress: reading the input")
                                                        : ctx_resolve_bound(bound, dtype, host, src_size, params, bounded);
        free(host);
        return status;
    }
    const size_t element = saraphis_dtype_size(dtype);
    const uint64_t n = src_size / element;
    SPS_TRY(gpu_reserve_scratch(state, sizeof(pe_bound_t)));
    SPS_TRY(gpu_reserve_staging(state, sizeof(pe_bound_t)));
    pe_bound_t *d_bound = (pe_bound_t *)state->d_scratch, *h_bound = (pe_bound_t *)state->h_staging;
    const uint32_t grid = (uint32_t)(n / 256 + 1 < (uint64_t)state->sm_count * 8 ? n / 256 + 1 : (uint64_t)state->sm_count * 8);
    double eps = bound->bound;
    for (int pass = 0; pass < 2; pass++) {
        /* Pass 0: the range (relative bounds) and, when eps is known, the largest element; pass 1:
         * the largest element under the eps the range gave. */
        const int want_largest = bound->precision == 0 && (mode == PADIC_ABSOLUTE || pass == 1);
        if (!want_largest && (pass == 1 || mode == PADIC_ABSOLUTE)) break; /* eps: the bound itself, or pass 0's */
        const double inverse = 1 / (2 * eps);
        const pe_bound_t start = {~0ull, 0, 0, 0};
        CUDA_TRY(cudaMemcpyAsync(d_bound, &start, sizeof start, cudaMemcpyHostToDevice, stream), "gpu_compress: the bound's statistics");
#define BOUND(DT) pe_bound_kernel<DT><<<grid, 256, 0, stream>>>((const uint8_t *)d_src, n, inverse, want_largest, d_bound)
        PE_DISPATCH(dtype, BOUND);
#undef BOUND
        CUDA_TRY(cudaGetLastError(), "gpu_compress: the bound's statistics");
        CUDA_TRY(cudaMemcpyAsync(h_bound, d_bound, sizeof *h_bound, cudaMemcpyDeviceToHost, stream), "gpu_compress: the bound's statistics");
        CUDA_TRY(cudaStreamSynchronize(stream), "gpu_compress: the bound's statistics");
        if (pass == 0) {
            padic_scan_t scan;
            padic_scan_init(&scan);
            if (mode == PADIC_RELATIVE_RANGE && h_bound->finite) {
                const unsigned long long lo = h_bound->lo, hi = h_bound->hi;
                const unsigned long long lo_bits = lo >> 63 ? lo & ~0x8000000000000000ull : ~lo;
                const unsigned long long hi_bits = hi >> 63 ? hi & ~0x8000000000000000ull : ~hi;
                memcpy(&scan.lo, &lo_bits, 8);
                memcpy(&scan.hi, &hi_bits, 8);
                scan.finite = h_bound->finite;
            }
            SPS_TRY(padic_scan_eps(&scan, mode, bound->bound, &eps));
            if (eps == 0) return SARAPHIS_OK;
        }
        if (want_largest) break;
    }
    ctx_bound_params(bound, eps, params);
    if (params->precision == 0) {
        /* padic_required_precision over the one element that decides it. */
        double largest;
        memcpy(&largest, &h_bound->largest, 8);
        SPS_TRY(padic_required_precision(params, SARAPHIS_DTYPE_F64, &largest, sizeof largest, &params->precision));
    }
    SPS_TRY(padic_validate(params));
    *bounded = 1;
    return SARAPHIS_OK;
}

/* Bytes one plane's record part takes (its streams' final modes are set on the way). */
static uint64_t plane_bytes(pe_job_t *job, uint32_t c, uint32_t j, const uint32_t *block_sizes)
{
    const pe_plane_plan_t *pp = &job->plans[(uint64_t)c * job->P + j];
    if (pp->form == PE_PLANE_ZERO) return 5;
    const pe_plane_stats_t *ps = job_plane_stats(job, c, j);
    pe_stream_t *streams = &job->streams[((uint64_t)c * job->P + j) * PE_STREAMS];
    const uint32_t count = job->stream_counts[(uint64_t)c * job->P + j];
    uint64_t size = 5 + (pp->form == PE_PLANE_DENSE ? 1 : 4 + (uint64_t)ps->positions_bytes);
    for (uint32_t k = 0; k < count; k++) size += stream_bytes(&streams[k], block_sizes);
    return size;
}

saraphis_status_t gpu_padic_compress(saraphis_ctx_t *ctx, gpu_state_t *state, saraphis_dtype_t dtype, const void *d_src, size_t src_size,
                                     void *d_dst, size_t dst_capacity, size_t *dst_size, cudaStream_t stream, gpu_padic_route_t *route)
{
    *route = GPU_PADIC_HOST;
    double mark = pe_now_ms();
    memset(state->padic_phase_ms, 0, sizeof state->padic_phase_ms);
    state->padic_device_chunks = 0;
    state->padic_host_chunks = (src_size + ctx->chunk_bytes - 1) / ctx->chunk_bytes;
    if (!pe_float_dtype(dtype)) {
        state->padic_host_chunks = 0;
        *route = GPU_PADIC_LOSSLESS;
        return SARAPHIS_OK;
    }
    if (src_size == 0) return SARAPHIS_OK; /* a frame of no chunks: the host writes it at once */
    const size_t element = saraphis_dtype_size(dtype), chunk_bytes = ctx->chunk_bytes;
    const size_t chunks = (src_size + chunk_bytes - 1) / chunk_bytes;
    if (chunks > UINT32_MAX) return error_set(SARAPHIS_ERROR_LIMIT, "gpu_compress: %zu chunks exceed the frame limit", chunks);
    const uint64_t table_end = FRAME_HEADER_BYTES + 4 * (uint64_t)chunks;
    if (dst_capacity < table_end)
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "gpu_compress: destination holds %zu bytes, header needs %llu", dst_capacity,
                         (unsigned long long)table_end);
    SPS_TRY(ctx_prepare(ctx));
    padic_params_t params;
    int bounded;
    SPS_TRY(resolve_params(ctx, state, dtype, d_src, src_size, stream, &params, &bounded));
    if (!bounded) {
        state->padic_host_chunks = 0;
        *route = GPU_PADIC_LOSSLESS;
        return SARAPHIS_OK;
    }
    const uint32_t P = params.precision, p = params.prime, C = (uint32_t)chunks;
    uint64_t full = 1;
    for (uint32_t k = 0; k < P && full <= PE_MAGNITUDE_LIMIT; k++) full *= p;
    if (full > PE_MAGNITUDE_LIMIT) return SARAPHIS_OK; /* magnitudes beyond 32 bits: the CPU encoder */
    *route = GPU_PADIC_ENCODED;

    pe_geometry_t g;
    memset(&g, 0, sizeof g);
    g.eps = params.eps;
    g.step = 2 * params.eps;
    g.inverse_step = 1 / g.step;
    g.limit = (double)full; /* min(p^P, 2^40) */
    g.t_limit = g.limit + 2;
    g.src_size = src_size;
    g.chunk_bytes = (uint32_t)chunk_bytes;
    g.chunk_count = C;
    g.N = (uint32_t)(chunk_bytes / element);
    g.element = (uint32_t)element;
    g.prime = p;
    g.precision = P;
    g.content = ctx->content_checksum != 0;
    g.power[0] = 1;
    for (uint32_t k = 1; k <= P; k++) g.power[k] = g.power[k - 1] * p;
    const uint64_t N = g.N, S = element, CP = (uint64_t)C * P;
    g.signw_stride = align_up((N / 32 + 1) * 4, 16);
    g.signbytes_stride = align_up(N / 8 + 8, 16);
    g.sorted_stride = align_up(N, 16);
    g.escbuf_stride = align_up(N + N / 64 + 16, 16); /* the gaps' varints: at most n + n / 127 bytes */
    g.escvals_stride = align_up(N * S, 16);
    /* Per plane: the digit streams' blocks, the sign stream's; per chunk: the escape bitmap's. */
    const uint64_t tasks_per_plane = N / RANS_BLOCK_SYMBOLS + N / (8 * RANS_BLOCK_SYMBOLS) + PE_STREAMS + 1;
    const uint64_t bitmap_tasks = N / (8 * RANS_BLOCK_SYMBOLS) + 1;
    const uint64_t task_bound = CP * tasks_per_plane + (uint64_t)C * bitmap_tasks, table_bound = CP * PE_STREAMS + C;
    const uint64_t slot_bound = task_bound * (RANS_BLOCK_HEADER_BYTES + 16) + CP * 2 * (N + N / 8 + 8) + (uint64_t)C * 2 * (N / 8 + 8);
    const uint64_t blob_bound = table_end + (uint64_t)C * (24 + 1 + 24 + 12 * P + 1 + 8 + 16 + 2 + 2 * 256 + 4 * bitmap_tasks) +
                                CP * (16 + PE_STREAMS * (2 + 2 + 2 * 256) + 4 * tasks_per_plane);
    const uint64_t span_bound = 2 + (uint64_t)C * (8 + 2 * (N * S / PE_COPY_PIECE + 2)) +
                                CP * 2 * (3 * (N / PE_COPY_PIECE + 1) + 2 * PE_STREAMS + 8 + tasks_per_plane);
    const uint64_t hash_bound = (uint64_t)C * (P + 3);
    const uint64_t segment_bound = (uint64_t)C * (4 * (N * S / CHECKSUM_SEGMENT_BYTES + 2) + P + 8);
    /* Bus regions first (staging mirrors them at the same offsets: statistics back, plans, tasks
     * and tables over, block sizes back, the assembly's pieces over), then the device's own. */
    size_t at = 0;
    g.chunk_stats = at; at = align_up(at + (size_t)C * sizeof(pe_chunk_stats_t), 16);
    g.plane_stats = at; at = align_up(at + CP * sizeof(pe_plane_stats_t), 16);
    g.hist = at; at = align_up(at + CP * PE_CONTEXTS * p * 4, 16);
    g.signhist = at; at = align_up(at + CP * 256 * 4, 16);
    g.eschist = at; at = align_up(at + (size_t)C * 256 * 4, 16);
    g.plans = at; at = align_up(at + CP * sizeof(pe_plane_plan_t), 16);
    const size_t tasks_at = at; at = align_up(at + task_bound * sizeof(pe_task_t), 16);
    const size_t tables_at = at; at = align_up(at + table_bound * 512, 16);
    const size_t sizes_at = at; at = align_up(at + task_bound * 4, 16);
    const size_t blob_at = at; at = align_up(at + blob_bound, 16);
    const size_t spans_at = at; at = align_up(at + span_bound * sizeof(pe_span_t), 16);
    const size_t hashes_at = at; at = align_up(at + hash_bound * sizeof(pe_hash_t), 16);
    const size_t prefix_at = at; at = align_up(at + (hash_bound + 1) * 4, 16);
    const size_t staging_end = at;
    g.mags = at; at = align_up(at + (size_t)C * N * 4, 256);
    g.signw = at; at = align_up(at + (size_t)C * g.signw_stride, 256);
    g.escmap = at; at = align_up(at + (size_t)C * g.signw_stride, 256);
    g.recon = at; at = align_up(at + (g.content ? (size_t)C * N * S : 0), 256);
    g.esc = at; at = align_up(at + (size_t)C * N * 4, 256);
    g.signbytes = at; at = align_up(at + CP * g.signbytes_stride, 256);
    g.sorted = at; at = align_up(at + CP * g.sorted_stride, 256);
    g.positions = at; at = align_up(at + CP * g.sorted_stride, 256);
    g.escbuf = at; at = align_up(at + (size_t)C * g.escbuf_stride, 256);
    g.escvals = at; at = align_up(at + (size_t)C * g.escvals_stride, 256);
    const size_t slots_at = at; at = align_up(at + slot_bound, 256);
    const size_t segments_at = at; at = align_up(at + segment_bound * 8, 256);
    /* About 8 bytes of work area per input byte (F32, three planes, content checksums): a tensor
     * whose work area the device cannot hold goes through the CPU encoder instead. */
    const saraphis_status_t reserved = gpu_reserve_scratch(state, at);
    if (reserved == SARAPHIS_ERROR_OUT_OF_MEMORY) {
        error_clear();
        *route = GPU_PADIC_HOST;
        return SARAPHIS_OK;
    }
    SPS_TRY(reserved);
    SPS_TRY(gpu_reserve_staging(state, staging_end));
    uint8_t *dev = (uint8_t *)state->d_scratch, *h = (uint8_t *)state->h_staging;
    const uint8_t *src = (const uint8_t *)d_src;
    uint8_t *dst = (uint8_t *)d_dst;

    pe_job_t job;
    memset(&job, 0, sizeof job);
    job.ctx = ctx;
    job.dtype = dtype;
    job.params = params;
    job.g = g;
    job.P = P;
    job.C = C;
    job.h_in = h;
    job.plans = (pe_plane_plan_t *)(h + g.plans);
    job.streams = (pe_stream_t *)malloc(CP * PE_STREAMS * sizeof(pe_stream_t));
    job.stream_counts = (uint8_t *)calloc(CP, 1);
    job.bitmaps = (pe_stream_t *)malloc((size_t)C * sizeof(pe_stream_t));
    job.bitmap_tried = (uint8_t *)calloc(C, 1);
    job.bitmap_used = (uint8_t *)calloc(C, 1);
    uint32_t *frame_sizes = (uint32_t *)malloc((size_t)C * 4);
    uint8_t *stored = (uint8_t *)malloc(C);
    uint32_t task_count = 0, table_count = 0, events_made = 0;
    cudaEvent_t batch_ready[PE_BATCHES];
    const uint32_t batches = C >= 4 * PE_BATCHES ? PE_BATCHES : 1;
    int lanes_busy = 0;
    cudaError_t error = cudaSuccess;
    saraphis_status_t status = job.streams && job.stream_counts && job.bitmaps && job.bitmap_tried && job.bitmap_used && frame_sizes && stored
                                   ? SARAPHIS_OK
                                   : error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_compress: no host memory for %u chunks", C);
#define PE_CHECK(call, what)                     \
    do {                                         \
        if ((error = (call)) != cudaSuccess) {   \
            status = gpu_cuda_fail(error, what); \
            goto done;                           \
        }                                        \
    } while (0)
    if (status != SARAPHIS_OK) goto done;

    /* Batches of chunks: every batch's scan is queued first, each marked by an event once its
     * statistics are back; the host plans a batch as soon as they are, and queues its streams and
     * rANS blocks on a lane, so planning overlaps the later scans and the earlier encodes. */
    state->padic_phase_ms[0] = pe_now_ms() - mark; /* the bound and the layout */
    for (; events_made < batches; events_made++)
        PE_CHECK(cudaEventCreateWithFlags(&batch_ready[events_made], cudaEventDisableTiming), "gpu_compress: creating events");
    if ((status = gpu_lanes_ready(state)) != SARAPHIS_OK) goto done;
    for (uint32_t b = 0; b < batches; b++) {
        const uint32_t first = (uint32_t)((uint64_t)C * b / batches), end = (uint32_t)((uint64_t)C * (b + 1) / batches), count = end - first;
#define SCAN(DT) pe_scan_kernel<DT><<<count, PE_THREADS, 0, stream>>>(src, g, dev, first)
        PE_DISPATCH(dtype, SCAN);
#undef SCAN
        PE_CHECK(cudaGetLastError(), "gpu_compress: bounded scan");
        const struct { uint64_t at, per_chunk; } regions[5] = {{g.chunk_stats, sizeof(pe_chunk_stats_t)},
                                                               {g.plane_stats, (uint64_t)P * sizeof(pe_plane_stats_t)},
                                                               {g.hist, (uint64_t)P * PE_CONTEXTS * p * 4},
                                                               {g.signhist, (uint64_t)P * 256 * 4},
                                                               {g.eschist, 256 * 4}};
        for (int r = 0; r < 5; r++)
            PE_CHECK(cudaMemcpyAsync(h + regions[r].at + first * regions[r].per_chunk, dev + regions[r].at + first * regions[r].per_chunk,
                                     count * regions[r].per_chunk, cudaMemcpyDeviceToHost, stream),
                     "gpu_compress: reading the planes' statistics");
        PE_CHECK(cudaEventRecord(batch_ready[b], stream), "gpu_compress: marking a batch");
    }
    lanes_busy = 1;
    {
        pe_task_t *tasks = (pe_task_t *)(h + tasks_at);
        uint16_t *tables = (uint16_t *)(h + tables_at);
        uint64_t slot = slots_at;
        for (uint32_t b = 0; b < batches; b++) {
            const uint32_t first = (uint32_t)((uint64_t)C * b / batches), end = (uint32_t)((uint64_t)C * (b + 1) / batches), count = end - first;
            cudaStream_t lane = state->lanes[b % GPU_HOST_LANES];
            double waited = pe_now_ms();
            PE_CHECK(cudaEventSynchronize(batch_ready[b]), "gpu_compress: bounded scan");
            state->padic_phase_ms[0] += pe_now_ms() - waited;
            mark = pe_now_ms();
            /* Plans, then every rANS stream's table and blocks in order. */
            job.first_chunk = first;
            if ((status = threadpool_run(ctx->pool, count, plan_chunk, &job)) != SARAPHIS_OK) goto done;
            const uint32_t first_task = task_count, first_table = table_count;
            for (uint32_t c = first; c < end; c++) {
                for (int32_t j = -1; j < (int32_t)P; j++) { /* -1: the escape bitmap */
                    pe_stream_t *streams = j < 0 ? &job.bitmaps[c] : &job.streams[((uint64_t)c * P + j) * PE_STREAMS];
                    const uint32_t stream_count = j < 0 ? job.bitmap_tried[c] : job.stream_counts[(uint64_t)c * P + j];
                    for (uint32_t k = 0; k < stream_count; k++) {
                        pe_stream_t *s = &streams[k];
                        if (s->mode != ENTROPY_RANS) continue;
                        rans_table_t table;
                        if (rans_table_read(&table, s->table_bytes, s->table_size) != s->table_size || table_count >= table_bound ||
                            task_count + s->blocks > task_bound) {
                            status = error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal table mismatch in chunk %u", c);
                            goto done;
                        }
                        s->table = table_count++;
                        memcpy(tables + (size_t)s->table * 256, table.freq, 512);
                        s->first_task = task_count;
                        for (uint32_t k2 = 0; k2 < s->blocks; k2++) {
                            const uint32_t begin = k2 * RANS_BLOCK_SYMBOLS;
                            const uint32_t symbols = s->n - begin < RANS_BLOCK_SYMBOLS ? s->n - begin : RANS_BLOCK_SYMBOLS;
                            tasks[task_count++] = pe_task_t{s->symbols + begin, slot, symbols, s->table, {0, 0}};
                            slot += pe_slot_bytes(symbols);
                        }
                    }
                }
            }
            if (slot > slots_at + slot_bound) {
                status = error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal slot overflow");
                goto done;
            }
            state->padic_phase_ms[1] += pe_now_ms() - mark;
            /* The lane waits for this batch's statistics (and so for everything queued before). */
            PE_CHECK(cudaStreamWaitEvent(lane, batch_ready[b], 0), "gpu_compress: ordering a lane");
            PE_CHECK(cudaMemcpyAsync(dev + g.plans + (uint64_t)first * P * sizeof(pe_plane_plan_t), h + g.plans + (uint64_t)first * P * sizeof(pe_plane_plan_t),
                                     (uint64_t)count * P * sizeof(pe_plane_plan_t), cudaMemcpyHostToDevice, lane),
                     "gpu_compress: uploading plans");
            const uint32_t batch_tasks = task_count - first_task;
            if (batch_tasks) {
                PE_CHECK(cudaMemcpyAsync(dev + tasks_at + first_task * sizeof(pe_task_t), h + tasks_at + first_task * sizeof(pe_task_t),
                                         batch_tasks * sizeof(pe_task_t), cudaMemcpyHostToDevice, lane),
                         "gpu_compress: uploading tasks");
                PE_CHECK(cudaMemcpyAsync(dev + tables_at + (size_t)first_table * 512, h + tables_at + (size_t)first_table * 512,
                                         (size_t)(table_count - first_table) * 512, cudaMemcpyHostToDevice, lane),
                         "gpu_compress: uploading tables");
            }
#define STREAMS(DT) pe_streams_kernel<DT><<<count, PE_THREADS, 0, lane>>>(src, g, dev, first)
            PE_DISPATCH(dtype, STREAMS);
#undef STREAMS
            PE_CHECK(cudaGetLastError(), "gpu_compress: bounded streams");
            if (batch_tasks) {
                pe_rans_kernel<<<(batch_tasks + PE_RANS_WARPS - 1) / PE_RANS_WARPS, PE_RANS_WARPS * 32, 0, lane>>>(
                    (const pe_task_t *)(dev + tasks_at) + first_task, batch_tasks, (const uint16_t *)(dev + tables_at), dev,
                    (uint32_t *)(dev + sizes_at) + first_task);
                PE_CHECK(cudaGetLastError(), "gpu_compress: bounded rANS encode");
                PE_CHECK(cudaMemcpyAsync(h + sizes_at + (size_t)first_task * 4, dev + sizes_at + (size_t)first_task * 4, (size_t)batch_tasks * 4,
                                         cudaMemcpyDeviceToHost, lane),
                         "gpu_compress: reading block sizes");
            }
        }
    }
    mark = pe_now_ms();
    if ((status = gpu_lanes_join(state, stream)) != SARAPHIS_OK) goto done;
    lanes_busy = 0;
    PE_CHECK(cudaStreamSynchronize(stream), "gpu_compress: bounded rANS encode");
    state->padic_phase_ms[2] = pe_now_ms() - mark;
    mark = pe_now_ms();

    {
        const uint32_t *block_sizes = (const uint32_t *)(h + sizes_at);
        const pe_task_t *tasks = (const pe_task_t *)(h + tasks_at);
        /* Record sizes: the frame must fit before anything is written. */
        uint64_t frame_size = table_end;
        for (uint32_t c = 0; c < C; c++) {
            const uint32_t raw = pe_chunk_raw(&g, c);
            const pe_chunk_stats_t *cs = job_chunk_stats(&job, c);
            uint64_t escape_form_bytes = cs->delta_bytes;
            if (job.bitmap_tried[c]) {
                const uint64_t bitmap = stream_bytes(&job.bitmaps[c], block_sizes);
                job.bitmap_used[c] = bitmap <= cs->delta_bytes;
                if (job.bitmap_used[c]) escape_form_bytes = bitmap;
            }
            uint64_t payload = 1 + PE_PADIC_HEADER + PE_PLANE_ENTRY * (uint64_t)P + 1 + (cs->escapes ? escape_form_bytes + (uint64_t)cs->escapes * S : 0) + 8;
            for (uint32_t j = 0; j < P; j++) payload += plane_bytes(&job, c, j, block_sizes);
            stored[c] = payload > raw;
            frame_sizes[c] = (uint32_t)(CHUNK_HEADER_BYTES + (stored[c] ? 1 + (uint64_t)raw : payload));
            frame_size += frame_sizes[c];
        }
        if (frame_size > dst_capacity) {
            status = error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "gpu_compress: frame of %llu bytes, destination holds %zu",
                               (unsigned long long)frame_size, dst_capacity);
            goto done;
        }

        pe_assembly_t a;
        memset(&a, 0, sizeof a);
        a.blob = h + blob_at;
        a.blob_bound = blob_bound;
        a.d_blob = dev + blob_at;
        a.spans = (pe_span_t *)(h + spans_at);
        a.span_bound = span_bound;
        a.open_end = ~0ull;
        pe_hash_t *hashes = (pe_hash_t *)(h + hashes_at);
        uint32_t *prefix = (uint32_t *)(h + prefix_at);
        /* Checksum spans in three rounds: planes and contents, heads, records. */
        pe_hash_t *round_a = hashes, *round_b = hashes + (uint64_t)C * (P + 1), *round_c = round_b + C;
        uint32_t count_a = 0, count_b = 0, count_c = 0;

        uint8_t header[FRAME_HEADER_BYTES];
        memcpy(header, FRAME_MAGIC, 4);
        header[4] = FRAME_VERSION;
        header[5] = (uint8_t)dtype;
        header[6] = (uint8_t)SARAPHIS_CODEC_BOUNDED;
        header[7] = g.content ? 1 : 0;
        store_le32(header + 8, (uint32_t)chunk_bytes);
        store_le32(header + 12, C);
        store_le64(header + 16, src_size);
        for (uint32_t c = 0; c < C; c++) store_le32(&frame_sizes[c], frame_sizes[c]);
        store_le64(header + 24, checksum64(header, 24, 0) ^ checksum64(frame_sizes, 4 * (size_t)C, 1));
        put_bytes(&a, 0, header, FRAME_HEADER_BYTES);
        put_bytes(&a, FRAME_HEADER_BYTES, frame_sizes, 4 * (size_t)C);
        uint64_t pos = table_end;
        for (uint32_t c = 0; c < C; c++) {
            const uint32_t raw = pe_chunk_raw(&g, c), record_size = load_le32(&frame_sizes[c]);
            const uint64_t record = pos;
            uint8_t bytes[CHUNK_HEADER_BYTES + 1 + PE_PADIC_HEADER];
            memset(bytes, 0, sizeof bytes);
            store_le32(bytes + 8, record_size - CHUNK_HEADER_BYTES);
            store_le32(bytes + 12, raw);
            const uint8_t *chunk_src = src + (uint64_t)c * chunk_bytes;
            if (stored[c]) {
                bytes[CHUNK_HEADER_BYTES] = CHUNK_STORED;
                put_bytes(&a, pos, bytes, CHUNK_HEADER_BYTES + 1);
                pos += CHUNK_HEADER_BYTES + 1;
                put_copy(&a, chunk_src, pos, raw);
                pos += raw;
                if (g.content) round_a[count_a++] = pe_hash_t{chunk_src, dst + record + 16, raw, 0};
                round_c[count_c++] = pe_hash_t{dst + record + 8, dst + record, record_size - 8u, 0};
                continue;
            }
            const pe_chunk_stats_t *cs = job_chunk_stats(&job, c);
            const uint32_t n = raw / g.element;
            const uint64_t bitmap_bytes = job.bitmap_used[c] ? stream_bytes(&job.bitmaps[c], block_sizes) : 0;
            const uint64_t escape_bytes = 1 + (cs->escapes ? (job.bitmap_used[c] ? bitmap_bytes : cs->delta_bytes) + (uint64_t)cs->escapes * S : 0);
            uint8_t *padic = bytes + CHUNK_HEADER_BYTES + 1;
            bytes[CHUNK_HEADER_BYTES] = CHUNK_PADIC;
            padic[0] = PADIC_FORMAT_VERSION;
            padic[1] = (uint8_t)dtype;
            padic[2] = (uint8_t)p;
            padic[3] = (uint8_t)P;
            store_le64(padic + 4, padic_double_bits(params.eps));
            store_le32(padic + 12, n);
            store_le32(padic + 16, cs->escapes);
            store_le32(padic + 20, (uint32_t)escape_bytes);
            put_bytes(&a, pos, bytes, sizeof bytes);
            pos += sizeof bytes;
            const uint64_t padic_at = pos - PE_PADIC_HEADER, head = PE_PADIC_HEADER + PE_PLANE_ENTRY * (uint64_t)P;
            uint64_t sizes[PADIC_MAX_PLANES];
            for (uint32_t j = 0; j < P; j++) {
                uint8_t entry[PE_PLANE_ENTRY];
                memset(entry, 0, sizeof entry);
                sizes[j] = plane_bytes(&job, c, j, block_sizes);
                store_le32(entry, (uint32_t)sizes[j]);
                put_bytes(&a, pos, entry, sizeof entry);
                pos += sizeof entry;
            }
            if (job.bitmap_used[c]) { /* form 2: the bitmap's stream */
                const uint8_t escape_form = 2;
                put_bytes(&a, pos++, &escape_form, 1);
                put_stream(&a, &job.bitmaps[c], dev, &pos, block_sizes, tasks);
            } else {
                const uint8_t escape_form = cs->escapes ? 1 : 0;
                put_bytes(&a, pos++, &escape_form, 1);
                put_copy(&a, dev + g.escbuf + (uint64_t)c * g.escbuf_stride, pos, cs->escapes ? cs->delta_bytes : 0);
                pos += cs->escapes ? cs->delta_bytes : 0;
            }
            if (cs->escapes) {
                put_copy(&a, dev + g.escvals + (uint64_t)c * g.escvals_stride, pos, (uint64_t)cs->escapes * S);
                pos += (uint64_t)cs->escapes * S;
            }
            round_b[count_b++] = pe_hash_t{dst + padic_at, dst + pos, head + escape_bytes, 0};
            const uint8_t zeros[8] = {0};
            put_bytes(&a, pos, zeros, 8);
            pos += 8;
            for (uint32_t j = 0; j < P; j++) {
                const uint64_t plane_at = pos;
                const pe_plane_plan_t *pp = &job.plans[(uint64_t)c * P + j];
                const pe_plane_stats_t *ps = job_plane_stats(&job, c, j);
                uint8_t plane_head[5] = {(uint8_t)pp->form, 0, 0, 0, 0};
                if (pp->form != PE_PLANE_ZERO) store_le32(plane_head + 1, ps->sign_count);
                put_bytes(&a, pos, plane_head, 5);
                pos += 5;
                if (pp->form != PE_PLANE_ZERO) {
                    const pe_stream_t *streams = &job.streams[((uint64_t)c * P + j) * PE_STREAMS];
                    const uint32_t count = job.stream_counts[(uint64_t)c * P + j];
                    uint32_t k = 0;
                    if (ps->sign_count) put_stream(&a, &streams[k++], dev, &pos, block_sizes, tasks);
                    if (pp->form == PE_PLANE_DENSE) {
                        const uint8_t contexts = (uint8_t)pp->contexts;
                        put_bytes(&a, pos++, &contexts, 1);
                    } else {
                        uint8_t m[4];
                        store_le32(m, ps->nonzero);
                        put_bytes(&a, pos, m, 4);
                        pos += 4;
                        put_copy(&a, dev + g.positions + ((uint64_t)c * P + j) * g.sorted_stride, pos, ps->positions_bytes);
                        pos += ps->positions_bytes;
                    }
                    for (; k < count; k++) put_stream(&a, &streams[k], dev, &pos, block_sizes, tasks);
                }
                if (pos - plane_at != sizes[j]) {
                    status = error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal plane size mismatch (chunk %u, plane %u)", c, j);
                    goto done;
                }
                round_a[count_a++] = pe_hash_t{dst + plane_at, dst + padic_at + PE_PADIC_HEADER + PE_PLANE_ENTRY * j + 4, sizes[j], j};
            }
            if (g.content) round_a[count_a++] = pe_hash_t{dev + g.recon + (uint64_t)c * N * S, dst + record + 16, raw, 0};
            round_c[count_c++] = pe_hash_t{dst + record + 8, dst + record, record_size - 8u, 0};
            if (pos - record != record_size) {
                status = error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal record size mismatch (chunk %u)", c);
                goto done;
            }
        }
        if (pos != frame_size || a.span_count > a.span_bound || a.blob_used > a.blob_bound) {
            status = error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal layout mismatch (%llu of %llu bytes, %zu spans)", (unsigned long long)pos,
                               (unsigned long long)frame_size, a.span_count);
            goto done;
        }
        /* The three rounds side by side, with one prefix of segment counts over them. */
        memmove(hashes + count_a, round_b, count_b * sizeof(pe_hash_t));
        memmove(hashes + count_a + count_b, round_c, count_c * sizeof(pe_hash_t));
        const uint32_t span_total = count_a + count_b + count_c;
        uint64_t segments = 0;
        for (uint32_t i = 0; i < span_total; i++) {
            prefix[i] = (uint32_t)segments;
            segments += (hashes[i].length + CHECKSUM_SEGMENT_BYTES - 1) / CHECKSUM_SEGMENT_BYTES;
        }
        prefix[span_total] = (uint32_t)segments;
        if (segments > segment_bound) {
            status = error_set(SARAPHIS_ERROR_GPU, "gpu_compress: internal checksum overflow");
            goto done;
        }
        error = cudaMemcpyAsync(dev + blob_at, h + blob_at, a.blob_used, cudaMemcpyHostToDevice, stream);
        if (error == cudaSuccess)
            error = cudaMemcpyAsync(dev + spans_at, h + spans_at, a.span_count * sizeof(pe_span_t), cudaMemcpyHostToDevice, stream);
        if (error == cudaSuccess)
            error = cudaMemcpyAsync(dev + hashes_at, h + hashes_at, span_total * sizeof(pe_hash_t), cudaMemcpyHostToDevice, stream);
        if (error == cudaSuccess)
            error = cudaMemcpyAsync(dev + prefix_at, h + prefix_at, (span_total + 1) * sizeof(uint32_t), cudaMemcpyHostToDevice, stream);
        if (error == cudaSuccess && a.span_count) {
            pe_copy_kernel<<<(uint32_t)a.span_count, 256, 0, stream>>>((const pe_span_t *)(dev + spans_at), dst);
            error = cudaGetLastError();
        }
        PE_CHECK(error, "gpu_compress: assembling the frame");
        const pe_hash_t *d_hashes = (const pe_hash_t *)(dev + hashes_at);
        const uint32_t *d_prefix = (const uint32_t *)(dev + prefix_at);
        uint64_t *d_segments = (uint64_t *)(dev + segments_at);
        const uint32_t bounds[4] = {0, count_a, count_a + count_b, span_total};
        for (int r = 0; r < 3; r++) {
            const uint32_t first = bounds[r], end = bounds[r + 1];
            if (first == end) continue;
            const uint64_t round_segments = prefix[end] - prefix[first];
            const uint32_t grid = (uint32_t)(round_segments == 0 ? 1
                                             : min((uint64_t)state->sm_count * 4, (round_segments + PE_HASH_WARPS - 1) / PE_HASH_WARPS));
            pe_segments_kernel<<<grid, PE_HASH_WARPS * 32, 0, stream>>>(d_hashes, d_prefix, first, end, d_segments);
            pe_digest_kernel<<<(end - first + 127) / 128, 128, 0, stream>>>(d_hashes, d_prefix, first, end, d_segments);
        }
        PE_CHECK(cudaGetLastError(), "gpu_compress: checksums");
        PE_CHECK(cudaStreamSynchronize(stream), "gpu_compress: assembling the frame");
        *dst_size = frame_size;
        state->padic_phase_ms[3] = pe_now_ms() - mark;
        state->padic_device_chunks = C;
        state->padic_host_chunks = 0;
    }
done:
    if (lanes_busy) gpu_lanes_drain(state);
    if (status != SARAPHIS_OK) cudaStreamSynchronize(stream);
    for (uint32_t b = 0; b < events_made; b++) cudaEventDestroy(batch_ready[b]);
    free(job.streams);
    free(job.stream_counts);
    free(job.bitmaps);
    free(job.bitmap_tried);
    free(job.bitmap_used);
    free(frame_sizes);
    free(stored);
    return status;
#undef PE_CHECK
}

extern "C" saraphis_status_t gpu_padic_encode_counts(saraphis_ctx_t *ctx, uint64_t *device_chunks, uint64_t *host_chunks)
{
    gpu_state_t *state;
    SPS_TRY(gpu_state_get(ctx, &state));
    *device_chunks = state->padic_device_chunks;
    *host_chunks = state->padic_host_chunks;
    return SARAPHIS_OK;
}

extern "C" saraphis_status_t gpu_padic_encode_phases(saraphis_ctx_t *ctx, double phase_ms[4])
{
    gpu_state_t *state;
    SPS_TRY(gpu_state_get(ctx, &state));
    memcpy(phase_ms, state->padic_phase_ms, sizeof state->padic_phase_ms);
    return SARAPHIS_OK;
}
