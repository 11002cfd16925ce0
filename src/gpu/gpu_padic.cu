/* The p-adic codec's chunks (CHUNK_PADIC, docs/padic.md) decoded on a CUDA device, chunk-parallel,
 * with padic_decode_chunk's bytes out and its error codes (src/codec/padic.c is the reference;
 * every check below mirrors one there, in the same order).
 *
 * A chunk's planes depend on each other (the symbol counts of plane j's context streams are the
 * histogram of the prefixes the planes above leave), so the planes go one round at a time, every
 * chunk of the batch in each round:
 *   head:     one warp per chunk checks the header, the plane table, the escape section (varints
 *             walked 32 bytes at a time; a bitmap's stream is parsed for decoding) and lists the
 *             checksummed pieces (head, each plane).
 *   checksum: the segment hashes of every piece (one warp per 4 KiB segment, gpu_device.cuh), then
 *             XXH64 over them per piece, as checksum64 does; on a side stream, beside the rounds
 *             (for device frames the head kernel runs there too, beside the batch decoder's
 *             expansion, parse and decode: gpu_padic_begin).
 *   rounds:   per plane, one warp per chunk parses the plane (form, sign stream, context streams
 *             sized by the histogram); one warp per 32768-symbol rANS block (or 32 KiB of a raw /
 *             constant stream) decodes every stream into the chunk's work area, its words from a
 *             shared-memory ring that cp.async keeps filled ahead; one CTA per chunk
 *             then gives each element its digit by its rank among the elements of its context and
 *             its sign by its rank among the magnitudes starting there: each warp owns a segment
 *             of the chunk whose first symbol in every context follows from the per-segment prefix
 *             counts the plane before left (no barrier per element group). Dense planes with one
 *             or two contexts and 32-bit magnitudes (nearly all) take apply_narrow, four elements
 *             a lane with ranks from warp scans, in their own instance of the kernel; the others
 *             rank with match_any. It keeps the plane's digits and a 4-bit saturated prefix per
 *             element (all a context needs: min(prefix, C - 1) with C <= 16); a zero plane stores
 *             nothing, and zero top planes leave the states unwritten (all 0). A sparse plane's
 *             positions are taken by every warp of the CTA, each a run of their words, in passes
 *             (entries and index steps, starting magnitudes, then the digits).
 *   content:  a dense narrow last plane sums the content checksum's segment hashes as it writes
 *             the output (escapes written later are hashed again by their segments), so the batch
 *             decoder's hash pass skips the chunk.
 *   output:   the last plane, when dense, writes x' = R((double)q * step) itself (q by Horner over
 *             the digit planes), with the CPU's roundings written out as explicit round-to-nearest
 *             intrinsics (no fused multiply-add); otherwise one more pass does; then the escapes'
 *             bytes go over their elements.
 *   progressive: asked for the top k < P planes (saraphis_gpu_decompress_planes), a chunk lists,
 *             checksums, parses and applies only those (the rounds stop at the largest k of the
 *             batch), and its last one writes the centre of the magnitudes they allow,
 *             R(+-(prefix * p^(P-k) + (p^(P-k) - 1) / 2) * step), +0 for a zero prefix, as
 *             padic_decode_chunk does with `planes`. With planes 0 nothing else changes.
 * Errors: each check has a key (stage, step within it, rANS block, code) ordered as the CPU meets
 * them: stage 0 the header (then its checksum), 1 the escapes, 2 + 2j plane j's checksum, 3 + 2j
 * its decoding. A chunk keeps the smallest key (atomicMin per chunk, never per element), which is
 * the CPU's first error: a stage's checks run whenever the stages before it have not failed (the
 * rounds skip a chunk whose key is below them), and may run even when they have (the checksums
 * run beside the rounds), so every decoder is safe on any bytes, and a later failure's key never
 * wins over an earlier one's. */
#include <cuda_runtime.h>

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <type_traits>

extern "C" {
#include "codec/chunk.h"
#include "codec/padic.h"
#include "codec/padic_values.h"
#include "codec/rans.h"
#include "common/checksum.h"
#include "common/error.h"
}

#include "gpu/gpu_device.cuh"
#include "gpu/gpu_internal.h"
#include "gpu/gpu_padic.h"

#define FULL_MASK 0xffffffffu
#define BLOCK_SYMBOLS ((uint32_t)RANS_BLOCK_SYMBOLS)
#define STREAMS_MAX (PADIC_MAX_CONTEXTS + 2) /* a plane's sign stream and its context streams */
#define PIECES_MAX (PADIC_MAX_PLANES + 1)    /* the head and every plane */
#define HEAD_WARPS 4
#define DECODE_WARPS 4
#define HASH_WARPS_PER_CTA 8
#define APPLY_THREADS 512 /* 16 warps: one per context in the scan */
#define APPLY_WARPS (APPLY_THREADS / 32)
#define KEY_NONE 0xffffffffffffffffull
#define SATURATED 15u /* prefixes are kept as min(prefix, 15): context min(prefix, C - 1) needs no more */
#define SIGN_FLAG 0x80u

enum { FORM_ZERO = 0, FORM_DENSE = 1, FORM_SPARSE = 2, FORM_SKIP = 255 };
enum { ESCAPES_NONE = 0, ESCAPES_DELTAS = 1, ESCAPES_BITMAP = 2 };
enum { ENTROPY_RAW = 0, ENTROPY_RANS = 1, ENTROPY_CONSTANT = 2 };
/* Steps within a plane's stage, in the CPU's order. */
enum { SUB_FORM = 0, SUB_SIGNS = 1, SUB_LAYOUT = 2, SUB_STREAMS = 3, SUB_TRAILING = SUB_STREAMS + PADIC_MAX_CONTEXTS, SUB_DIGITS };
/* Steps within the head and escape stages. */
enum { SUB_HEADER = 0, SUB_HEAD_CHECKSUM = 1 };
enum { SUB_ESCAPE_LIST = 0, SUB_ESCAPE_COUNT = 1, SUB_ESCAPE_VALUES = 2 };

__host__ __device__ static inline unsigned long long key_make(uint32_t stage, uint32_t sub, uint32_t block, uint32_t code)
{
    return (unsigned long long)stage << 48 | (unsigned long long)sub << 40 | (unsigned long long)block << 8 | code;
}
__host__ __device__ static inline uint32_t stage_checksum(uint32_t plane) { return 2 + 2 * plane; }
__host__ __device__ static inline uint32_t stage_plane(uint32_t plane) { return 3 + 2 * plane; }

/* ---- Descriptors ---------------------------------------------------------------------------- */

/* Host-built, one per chunk. */
typedef struct {
    const uint8_t *record;
    uint8_t *dst;
    uint32_t *code;
    uint32_t *partial; /* NULL, or set to 1 when fewer planes than the precision are decoded */
    uint64_t *content; /* NULL, or the chunk's content-checksum segment hashes (see pchunk_t) */
    uint32_t *hashed;
    uint64_t work;  /* byte offset of the chunk's work area */
    uint64_t ebase; /* element offset of the chunk in each digit plane */
    uint32_t record_size, raw_size, dtype, n;
} padic_in_t;

/* One entropy stream to decode into the work area. */
typedef struct {
    const uint8_t *data;   /* RAW: the symbols; RANS: the serialized table */
    const uint8_t *sizes;  /* RANS: u32 block sizes */
    const uint8_t *blocks; /* RANS: the first block */
    uint8_t *dst;
    unsigned long long key; /* stage and step of the stream, for its blocks' errors */
    uint32_t n, mode, value, table_bytes;
    uint32_t items;      /* RANS: blocks to decode (those before the first one the parse rejected); else 32 KiB pieces */
    uint32_t first_item; /* within the chunk's round */
} pstream_t;

/* One 4 KiB checksum segment of a chunk's pieces (length 0: an unused slot). */
typedef struct {
    const uint8_t *data;
    uint32_t length;
    uint32_t pad;
} segment_t;

/* Device-built by the head kernel; the plane fields are rewritten each round. */
typedef struct {
    const uint8_t *payload; /* after the record's method byte */
    uint8_t *dst;
    uint32_t *code;
    /* NULL, or where the content checksum's segment hashes of the chunk's output go: a dense
     * narrow last plane writes them as it writes the output (every plane decoded; with escapes
     * only into 16-byte aligned output, whose escaped segments escape_kernel hashes again) and
     * sets *hashed, so the batch decoder's hash pass leaves the chunk alone. */
    uint64_t *content;
    uint32_t *hashed;
    uint32_t *partial; /* NULL, or the caller's word finalize_kernel raises: fewer planes decoded than the precision */
    uint32_t content_hashed; /* 1: the last plane wrote the content hashes */
    /* 1 + the digit row of a sparse plane below only zero planes whose next plane, the last, is
     * dense: only its entries are written (that plane reads the row only where the prefix is not
     * 0, which there means an entry); 0: every row read is whole. */
    uint32_t loose_row;
    uint8_t *state; /* per element: saturated prefix (bits 0-3), sign (bit 7) */
    uint8_t *symbols, *signs, *bitmap;
    /* An escape bitmap's stream (form 2; items 0: none), kept apart from the rounds' streams so
     * that its stage can run after them, and only in a batch that has one. */
    pstream_t escape_stream;
    unsigned long long key;
    double step;
    uint64_t ebase;
    uint64_t planes_start;
    uint64_t plane_offset[PADIC_MAX_PLANES];
    uint32_t plane_bytes[PADIC_MAX_PLANES];
    uint32_t n, escapes, escape_form, escape_list, escape_values, escape_bytes;
    uint32_t prime, precision, element, dtype, active;
    uint32_t planes; /* planes decoded: the top `planes` of `precision` (progressive decode) */
    double width, centre; /* fewer planes: x' = R(+-(prefix * width + centre) * step); width 1: all */
    uint32_t hist[16]; /* elements by saturated prefix, for the next plane's context sizes */
    uint32_t segment_hist[APPLY_WARPS][16]; /* the same per warp segment (see segment_of) */
    uint32_t fused; /* the last plane was dense and wrote the output itself */
    uint64_t zero_planes; /* bit j: plane j is a zero plane (its digits are never stored or read) */
    uint32_t piece_count;
    uint32_t piece_segment[PIECES_MAX + 1]; /* first checksum segment of each piece within the chunk */
    /* the current round's plane */
    uint32_t form, sign_count, contexts, sparse_count, positions, position_bytes;
    uint32_t ctx_start[PADIC_MAX_CONTEXTS + 1];
    uint32_t stream_count, item_total;
    pstream_t stream[STREAMS_MAX];
} pchunk_t;

__device__ __forceinline__ void report(pchunk_t *d, unsigned long long key) { atomicMin(&d->key, key); }

__host__ __device__ static inline uint32_t padic_element(uint32_t dtype)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: return 4;
    case SARAPHIS_DTYPE_F64: return 8;
    case SARAPHIS_DTYPE_F16: case SARAPHIS_DTYPE_BF16: return 2;
    default: return 0;
    }
}

__host__ __device__ static inline uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* Upper bounds the host sizes the launches with; the device never exceeds them (see the parse). */
__host__ __device__ static inline uint32_t item_cap(uint32_t n)
{
    return (uint32_t)(ceil_div(ceil_div(n, 8), BLOCK_SYMBOLS) + ceil_div(n, BLOCK_SYMBOLS) + PADIC_MAX_CONTEXTS + 1);
}
__host__ __device__ static inline uint32_t segment_cap(uint32_t record_size)
{
    return (uint32_t)(ceil_div(record_size, CHECKSUM_SEGMENT_BYTES) + PIECES_MAX);
}
__host__ __device__ static inline uint64_t work_bytes(uint32_t n) { return ((2 * (uint64_t)n + 2 * ((uint64_t)n / 8 + 16)) + 15) & ~(uint64_t)15; }

/* ---- Warp helpers ---------------------------------------------------------------------------- */

__device__ __forceinline__ uint64_t warp_inclusive64(uint64_t v, uint32_t lane)
{
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        uint64_t other = __shfl_up_sync(FULL_MASK, v, o);
        if (lane >= (uint32_t)o) v += other;
    }
    return v;
}


/* entropy_decode's structure on a warp (every lane gets the same answer): fills the stream with
 * what its blocks need. On an error, *fail_block is the rANS block where the CPU stops (0 for the
 * stream's own header) and the stream keeps the blocks before it, which the CPU decodes first: a
 * block among them that fails has the smaller key. */
__device__ static uint32_t parse_entropy(const uint8_t *src, uint64_t size, uint32_t n, pstream_t *st, uint64_t *consumed,
                                         uint32_t *fail_block, uint32_t lane)
{
    *fail_block = 0;
    st->n = n;
    st->items = 0;
    st->mode = ENTROPY_RAW;
    st->value = 0;
    st->table_bytes = 0;
    st->data = st->sizes = st->blocks = NULL;
    if (size < 1) return SARAPHIS_ERROR_TRUNCATED;
    const uint32_t mode = __ldg(src);
    st->mode = mode;
    if (mode == ENTROPY_RAW) {
        if (size - 1 < n) return SARAPHIS_ERROR_TRUNCATED;
        st->data = src + 1;
        st->items = (uint32_t)ceil_div(n, BLOCK_SYMBOLS);
        *consumed = 1 + (uint64_t)n;
        return SARAPHIS_OK;
    }
    if (mode == ENTROPY_CONSTANT) {
        if (size < 2) return SARAPHIS_ERROR_TRUNCATED;
        st->value = __ldg(src + 1);
        st->items = (uint32_t)ceil_div(n, BLOCK_SYMBOLS);
        *consumed = 2;
        return SARAPHIS_OK;
    }
    if (mode != ENTROPY_RANS) return SARAPHIS_ERROR_CORRUPT;
    const uint32_t table_bytes = rans_parse_table(src + 1, size - 1, lane);
    if (table_bytes == 0) return SARAPHIS_ERROR_CORRUPT;
    const uint64_t blocks = ceil_div(n, BLOCK_SYMBOLS);
    const uint64_t header = 1 + (uint64_t)table_bytes + 4 * blocks;
    if (header > size) return SARAPHIS_ERROR_TRUNCATED;
    st->data = src + 1;
    st->table_bytes = table_bytes;
    st->sizes = src + 1 + table_bytes;
    st->blocks = src + header;
    uint64_t pos = header;
    for (uint64_t b0 = 0; b0 < blocks; b0 += 32) {
        const uint64_t b = b0 + lane;
        const uint64_t block_size = b < blocks ? dev_le32(st->sizes + 4 * b) : 0;
        const uint64_t inclusive = warp_inclusive64(block_size, lane);
        uint32_t code = SARAPHIS_OK;
        if (b < blocks) {
            if (pos + inclusive > size) code = SARAPHIS_ERROR_TRUNCATED;
            else if (block_size < RANS_BLOCK_HEADER_BYTES || ((block_size - RANS_BLOCK_HEADER_BYTES) & 1)) code = SARAPHIS_ERROR_CORRUPT;
        }
        const uint32_t failing = __ballot_sync(FULL_MASK, code != SARAPHIS_OK);
        if (failing) {
            const uint32_t f = __ffs(failing) - 1;
            *fail_block = (uint32_t)(b0 + f);
            st->items = (uint32_t)(b0 + f);
            return __shfl_sync(FULL_MASK, code, f);
        }
        pos += __shfl_sync(FULL_MASK, inclusive, 31);
    }
    st->items = (uint32_t)blocks;
    *consumed = pos;
    return SARAPHIS_OK;
}

/* Walks `count` LEB128 varints (at most 5 bytes and 32 bits each, varint_get's rule) in
 * p[0, limit), 32 bytes at a time: a byte without the 0x80 bit ends a varint. Entry k's index is
 * gap_0 + sum_{0 < i <= k} (1 + gap_i), escape form 1's and sparse positions' rule. visit(mine, k,
 * index) runs on the whole warp for each window (mine: the lane holds entry k) and returns false
 * (uniformly) to stop. Returns false when an entry is malformed or the bytes run out; *bytes gets
 * the bytes the entries take. */
template <typename Visit>
__device__ static bool walk_varints(const uint8_t *p, uint64_t limit, uint32_t count, uint32_t lane, uint64_t *bytes, Visit visit)
{
    uint32_t done = 0, previous = 0x80u;
    int64_t last_end = -1;
    uint64_t running = 0;
    *bytes = 0;
    for (uint64_t base = 0; done < count; base += 32) {
        if (base >= limit) return false;
        const uint64_t q = base + lane;
        const bool valid = q < limit;
        const uint32_t byte = valid ? __ldg(p + q) : 0x80u;
        const bool ends = valid && !(byte & 0x80);
        const uint32_t mask = __ballot_sync(FULL_MASK, ends);
        const uint32_t below = mask & lanemask_lt(lane);
        const uint32_t rank = __popc(below);
        const bool mine = ends && done + rank < count;
        const int64_t start = below ? (int64_t)(base + 31 - __clz(below)) + 1 : last_end + 1;
        const uint64_t length = mine ? (uint64_t)((int64_t)q - start + 1) : 0;
        const bool bad = mine && (length > 5 || (length == 5 && byte > 15));
        /* A valid entry's bytes lie in this window or the 4 bytes before it: taken from the lanes
         * that read them (this window's or the previous one's). */
        uint64_t value = 0;
#pragma unroll
        for (uint32_t k = 0; k < 5; k++) {
            const int64_t from = start + k - (int64_t)base; /* in [-4, 32) for a valid entry */
            const uint32_t here = __shfl_sync(FULL_MASK, byte, (uint32_t)from & 31);
            const uint32_t before = __shfl_sync(FULL_MASK, previous, (uint32_t)from & 31);
            if (mine && !bad && k < length) value |= (uint64_t)((from >= 0 ? here : before) & 0x7f) << (7 * k);
        }
        previous = byte;
        const uint64_t inclusive = warp_inclusive64(mine ? value + 1 : 0, lane);
        if (__any_sync(FULL_MASK, bad)) return false;
        if (!visit(mine, done + rank, running + inclusive - 1)) return false;
        running += __shfl_sync(FULL_MASK, inclusive, 31);
        const uint32_t taken = min((uint32_t)__popc(mask), count - done);
        if (done + taken == count) {
            const uint32_t last = __ballot_sync(FULL_MASK, mine && done + rank == count - 1);
            *bytes = base + (__ffs(last) - 1) + 1;
        }
        done += taken;
        if (mask) last_end = (int64_t)(base + 31 - __clz(mask));
    }
    return true;
}

/* Bit k (k < 4) set where byte k of w has its 0x80 bit. */
__device__ __forceinline__ uint32_t high_bits4(uint32_t w) { return (((w >> 7) & 0x01010101u) * 0x00204081u) >> 21 & 0xfu; }

/* The bytes the first `count` varints of p[0, limit) take, walk_varints' rule (at most 5 bytes, a
 * fifth byte below 16), with no values: a warp looks at 512 bytes at a time, 16 a lane, as bit
 * masks (which bytes continue an entry, which end one with a value of 16 or more). An entry is
 * too long where five bytes in a row continue, and a five-byte entry ends in a byte of 16 or more
 * after four that continue; four bytes from the lane before (the window before, for lane 0) are
 * enough to see both. Only the entries up to the count-th are checked. Returns false when one is
 * malformed or the bytes run out. Reads the 16-byte-aligned pieces around p[0, limit) only where
 * they lie inside it, apart from the first piece's bytes before p (the caller's bytes). */
__device__ static bool varint_extent(const uint8_t *p, uint64_t limit, uint32_t count, uint32_t lane, uint64_t *bytes)
{
    *bytes = 0;
    if (count == 0) return true;
    const uint8_t *aligned = (const uint8_t *)((uintptr_t)p & ~(uintptr_t)15);
    const uint32_t lead = (uint32_t)((uintptr_t)p & 15);
    const uint64_t end = lead + limit; /* in bytes from `aligned` */
    uint32_t done = 0, carry = 0;      /* carry: the high bits of the 4 bytes before the window */
    for (uint64_t base = 0;; base += 512) {
        if (base >= end) return false;
        const uint64_t t0 = base + 16 * lane;
        uint32_t w[4];
        if (t0 + 16 <= end) {
            const uint4 v = __ldg((const uint4 *)(aligned + t0));
            w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
        } else {
#pragma unroll
            for (int j = 0; j < 4; j++) {
                w[j] = 0;
                for (uint32_t b = 0; b < 4; b++) {
                    const uint64_t t = t0 + 4 * j + b;
                    w[j] |= (t < end ? (uint32_t)__ldg(aligned + t) : 0x80u) << (8 * b); /* past the end: continuing */
                }
            }
        }
        uint32_t cont = 0, big = 0;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            cont |= high_bits4(w[j]) << (4 * j);
            big |= high_bits4(__vcmpgtu4(w[j] & 0x7f7f7f7fu, 0x0f0f0f0fu) & ~w[j] & 0x80808080u) << (4 * j);
        }
        const uint32_t before = t0 == 0 ? (1u << lead) - 1 : 0u; /* the bytes before p: not entries */
        cont &= ~before;
        big &= ~before;
        const uint32_t ends = ~cont & 0xffffu & ~before;
        const uint32_t prior = __shfl_up_sync(FULL_MASK, cont >> 12, 1);
        const uint32_t view = (lane ? prior : carry) | cont << 4; /* bit i: byte t0 - 4 + i continues */
        const uint32_t four = view & view >> 1 & view >> 2 & view >> 3, five = four & view >> 4;
        const uint32_t bad_here = (five | (four & big)) & 0xffffu;
        const uint32_t mine = __popc(ends), inclusive = warp_inclusive32(mine, lane);
        const uint32_t total = __shfl_sync(FULL_MASK, inclusive, 31);
        /* Bytes up to the count-th end are checked; the rest belong to what follows. */
        uint32_t checked = 0xffffu;
        bool last = false;
        uint32_t last_byte = 0;
        if (done + total >= count) {
            const uint32_t first = done + inclusive - mine;
            if (first >= count) checked = 0;
            else if (first + mine >= count) {
                uint32_t e = ends;
                for (uint32_t r = count - 1 - first; r; r--) e &= e - 1;
                last_byte = __ffs(e) - 1;
                checked = (2u << last_byte) - 1;
                last = true;
            }
        }
        if (__any_sync(FULL_MASK, (bad_here & checked) != 0)) return false;
        const uint32_t owner = __ballot_sync(FULL_MASK, last);
        if (owner) {
            const uint32_t l = __ffs(owner) - 1;
            *bytes = base + 16 * l + __shfl_sync(FULL_MASK, last_byte, l) + 1 - lead;
            return true;
        }
        done += total;
        carry = __shfl_sync(FULL_MASK, cont >> 12, 31);
    }
}

/* ---- Head: one warp per chunk ------------------------------------------------------------------ */

__device__ static bool prime_ok(uint32_t p)
{
    if (p < 2) return false;
    for (uint32_t d = 2; d * d <= p; d++)
        if (p % d == 0) return false;
    return true;
}

__device__ static uint32_t max_precision(uint32_t prime)
{
    uint32_t precision = 1;
    uint64_t power = 1;
    while (power * prime < ((uint64_t)1 << PADIC_MAGNITUDE_BITS)) {
        power *= prime;
        precision++;
    }
    return precision;
}

/* padic_decode_chunk's checks up to the head checksum (stage 0), in its order, for a decode of
 * the top `planes` planes (0: all; *decoded_out gets how many are decoded). */
__device__ static uint32_t check_header(const padic_in_t &in, const uint8_t *payload, uint64_t size, uint32_t planes,
                                        uint32_t *precision_out, uint32_t *decoded_out, uint64_t *planes_start_out, uint64_t *head_out)
{
    const uint32_t element = padic_element(in.dtype);
    if (!element || in.raw_size % element) return SARAPHIS_ERROR_DTYPE;
    if (size < 24) return SARAPHIS_ERROR_TRUNCATED;
    if (__ldg(payload) != PADIC_FORMAT_VERSION) return SARAPHIS_ERROR_UNSUPPORTED;
    const uint32_t dtype = __ldg(payload + 1), prime = __ldg(payload + 2), precision = __ldg(payload + 3);
    const double eps = __longlong_as_double((long long)dev_le64(payload + 4));
    const uint32_t elements = dev_le32(payload + 12), escapes = dev_le32(payload + 16), escape_bytes = dev_le32(payload + 20);
    if (!padic_element(dtype)) return SARAPHIS_ERROR_CORRUPT;
    if (prime < 2 || prime > PADIC_PRIME_MAX || !prime_ok(prime)) return SARAPHIS_ERROR_CORRUPT;
    if (!(eps > 0) || !isfinite(eps) || !isfinite(2 * eps) || eps < DBL_MIN) return SARAPHIS_ERROR_CORRUPT;
    if (precision < 1 || precision > max_precision(prime)) return SARAPHIS_ERROR_CORRUPT;
    if (escapes > elements) return SARAPHIS_ERROR_CORRUPT;
    const uint64_t head = 24 + 12 * (uint64_t)precision;
    if (size < head) return SARAPHIS_ERROR_TRUNCATED;
    const uint64_t planes_start = head + escape_bytes + 8;
    if (dtype != in.dtype) return SARAPHIS_ERROR_CORRUPT;
    if (elements != in.n) return SARAPHIS_ERROR_CORRUPT;
    const uint32_t decoded = planes == 0 || planes > precision ? precision : planes;
    uint64_t needed = planes_start;
    for (uint32_t j = 0; j < decoded; j++) needed += dev_le32(payload + 24 + 12 * j);
    if (needed > size) return SARAPHIS_ERROR_TRUNCATED;
    if (decoded == precision && needed != size) return SARAPHIS_ERROR_CORRUPT;
    *precision_out = precision;
    *decoded_out = decoded;
    *planes_start_out = planes_start;
    *head_out = head;
    return SARAPHIS_OK;
}

/* summary: [0] the most planes any chunk decodes, [1] some escape bitmap has blocks, [2, 3] the
 * largest progressive bound (a u64 of its bits: positive doubles order as their bits do). */
__device__ static void head_chunk(const padic_in_t &in, pchunk_t *d, uint8_t *work, uint32_t *summary, uint32_t planes, uint32_t lane)
{
    if (lane == 0) {
        d->key = KEY_NONE;
        d->active = 0;
        d->code = in.code;
        d->form = FORM_SKIP;
        d->stream_count = 0;
        d->item_total = 0;
        d->piece_count = 0;
        d->precision = 0;
        d->planes = 0;
        d->escape_form = ESCAPES_NONE;
        d->escape_stream.items = 0;
        d->fused = 0;
        d->zero_planes = 0;
        d->content = NULL;
        d->hashed = NULL;
        d->partial = NULL;
        d->content_hashed = 0;
        d->loose_row = 0;
    }
    /* The caller's parse reported a record whose framing is wrong; only PADIC records are ours. */
    if (in.record_size < CHUNK_HEADER_BYTES + 1) return;
    const uint32_t payload_size = dev_le32(in.record + 8);
    if ((uint64_t)payload_size + CHUNK_HEADER_BYTES != in.record_size || dev_le32(in.record + 12) != in.raw_size) return;
    if (__ldg(in.record + CHUNK_HEADER_BYTES) != CHUNK_PADIC) return;
    const uint8_t *payload = in.record + CHUNK_HEADER_BYTES + 1;
    const uint64_t size = payload_size - 1;
    uint32_t precision = 0, decoded = 0;
    uint64_t planes_start = 0, head = 0;
    const uint32_t code = check_header(in, payload, size, planes, &precision, &decoded, &planes_start, &head);
    if (code) {
        if (lane == 0) d->key = key_make(0, SUB_HEADER, 0, code);
        return;
    }
    const uint32_t n = in.n, element = padic_element(in.dtype);
    uint8_t *state = work + in.work;
    if (lane == 0) {
        d->payload = payload;
        d->dst = in.dst;
        d->content = in.content;
        d->hashed = in.hashed;
        d->state = state;
        d->symbols = state + n;
        d->signs = state + 2 * (uint64_t)n;
        d->bitmap = d->signs + n / 8 + 16;
        d->ebase = in.ebase;
        d->planes_start = planes_start;
        d->n = n;
        d->escapes = dev_le32(payload + 16);
        d->escape_bytes = dev_le32(payload + 20);
        d->prime = __ldg(payload + 2);
        d->precision = precision;
        d->planes = decoded;
        d->element = element;
        d->dtype = in.dtype;
        const double eps = __longlong_as_double((long long)dev_le64(payload + 4));
        d->step = 2 * eps;
        d->active = 1;
        /* padic_progressive_bound and the reconstruction's interval, in the CPU's arithmetic
         * (width and centre are integers below 2^48: exact). */
        uint64_t width = 1;
        for (uint32_t j = decoded; j < precision; j++) width *= d->prime;
        d->width = (double)width;
        d->centre = (double)((width - 1) / 2);
        const double bound = decoded < precision ? __dmul_rn(__dadd_rn(__dmul_rn(2.0, (double)width), 3.0), eps) : eps;
        atomicMax((unsigned long long *)(summary + 2), (unsigned long long)__double_as_longlong(bound));
        /* Fewer planes than the precision: the caller's `partial` word is raised by finalize_kernel,
         * after the caller's own kernels have cleared it (this kernel may run beside them). */
        d->partial = decoded < precision ? in.partial : NULL;
        for (uint32_t k = 0; k < 16; k++) d->hist[k] = k == 0 ? n : 0;
        /* The checksummed pieces: the head (seed 0), then plane j (seed j). */
        uint64_t offset = planes_start;
        uint32_t segments = (uint32_t)ceil_div(planes_start - 8, CHECKSUM_SEGMENT_BYTES);
        d->piece_segment[0] = 0;
        for (uint32_t j = 0; j < decoded; j++) {
            const uint32_t bytes = dev_le32(payload + 24 + 12 * j);
            d->plane_offset[j] = offset;
            d->plane_bytes[j] = bytes;
            offset += bytes;
            d->piece_segment[1 + j] = segments;
            segments += (uint32_t)ceil_div(bytes, CHECKSUM_SEGMENT_BYTES);
        }
        d->piece_segment[1 + decoded] = segments;
        d->piece_count = 1 + decoded;
        atomicMax(&summary[0], decoded);
    }

    /* read_escapes (stage 1). */
    const uint8_t *section = payload + head;
    const uint64_t section_size = dev_le32(payload + 20);
    const uint32_t escapes = dev_le32(payload + 16);
    if (section_size < 1) {
        if (lane == 0) report(d, key_make(1, SUB_ESCAPE_LIST, 0, SARAPHIS_ERROR_CORRUPT));
        return;
    }
    const uint32_t form = __ldg(section);
    uint64_t pos = 1;
    if (lane == 0) {
        d->escape_form = form;
        d->escape_list = (uint32_t)(head + 1);
    }
    if (form == ESCAPES_NONE) {
        if (escapes != 0) {
            if (lane == 0) report(d, key_make(1, SUB_ESCAPE_LIST, 0, SARAPHIS_ERROR_CORRUPT));
            return;
        }
    } else if (form == ESCAPES_DELTAS) {
        uint64_t bytes = 0;
        bool ok = walk_varints(section + 1, section_size - 1, escapes, lane, &bytes,
                               [&](bool mine, uint32_t, uint64_t index) { return !__any_sync(FULL_MASK, mine && index >= n); });
        if (!ok) {
            if (lane == 0) report(d, key_make(1, SUB_ESCAPE_LIST, 0, SARAPHIS_ERROR_CORRUPT));
            return;
        }
        pos += bytes;
    } else if (form == ESCAPES_BITMAP) {
        pstream_t st;
        uint64_t consumed = 0;
        uint32_t fail_block = 0;
        const uint32_t status = parse_entropy(section + 1, section_size - 1, (uint32_t)ceil_div(n, 8), &st, &consumed, &fail_block, lane);
        st.dst = d->bitmap;
        st.key = key_make(1, SUB_ESCAPE_LIST, 0, 0);
        st.first_item = 0;
        if (lane == 0) {
            d->escape_stream = st;
            if (st.items) summary[1] = 1;
        }
        if (status) {
            if (lane == 0) report(d, key_make(1, SUB_ESCAPE_LIST, fail_block, status));
            return;
        }
        pos += consumed;
    } else {
        if (lane == 0) report(d, key_make(1, SUB_ESCAPE_LIST, 0, SARAPHIS_ERROR_CORRUPT));
        return;
    }
    if (section_size - pos != (uint64_t)escapes * element) {
        if (lane == 0) report(d, key_make(1, SUB_ESCAPE_VALUES, 0, SARAPHIS_ERROR_CORRUPT));
        return;
    }
    if (lane == 0) d->escape_values = (uint32_t)(head + pos);
}

__device__ static void piece_span(const pchunk_t *d, uint32_t piece, const uint8_t **data, uint64_t *length)
{
    if (piece == 0) {
        *data = d->payload;
        *length = d->planes_start - 8;
    } else {
        *data = d->payload + d->plane_offset[piece - 1];
        *length = d->plane_bytes[piece - 1];
    }
}

/* Every slot of the chunk's checksum segments: the pieces' 4 KiB segments, then unused ones. */
__device__ static void list_segments(const pchunk_t *d, segment_t *slots, uint32_t slot_count, uint32_t lane)
{
    const uint32_t used = d->active ? d->piece_segment[d->piece_count] : 0;
    for (uint32_t k = lane; k < slot_count; k += 32) {
        segment_t seg = {NULL, 0, 0};
        if (k < used) {
            uint32_t piece = 0;
            while (d->piece_segment[piece + 1] <= k) piece++;
            const uint8_t *data;
            uint64_t length;
            piece_span(d, piece, &data, &length);
            const uint64_t offset = (uint64_t)(k - d->piece_segment[piece]) * CHECKSUM_SEGMENT_BYTES;
            seg.data = data + offset;
            seg.length = (uint32_t)min((uint64_t)CHECKSUM_SEGMENT_BYTES, length - offset);
        }
        slots[k] = seg;
    }
}

__global__ void __launch_bounds__(HEAD_WARPS * 32) head_kernel(const padic_in_t *ins, pchunk_t *chunks, uint32_t count, uint8_t *work,
                                                             uint32_t *summary, uint32_t planes, const uint32_t *segment_prefix,
                                                             segment_t *segments)
{
    const uint32_t i = blockIdx.x * HEAD_WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (i >= count) return;
    const padic_in_t in = ins[i];
    pchunk_t *d = &chunks[i];
    head_chunk(in, d, work, summary, planes, lane);
    __syncwarp();
    list_segments(d, segments + segment_prefix[i], segment_prefix[i + 1] - segment_prefix[i], lane);
}

/* ---- Checksums of the pieces ------------------------------------------------------------------- */

__global__ void __launch_bounds__(HASH_WARPS_PER_CTA * 32) hash_kernel(const segment_t *segments, uint32_t total, uint64_t *hashes)
{
    const uint32_t lane = threadIdx.x & 31, warps = gridDim.x * HASH_WARPS_PER_CTA;
    for (uint32_t g = blockIdx.x * HASH_WARPS_PER_CTA + (threadIdx.x >> 5); g < total; g += warps) {
        const segment_t seg = segments[g];
        if (seg.length == 0) continue;
        const uint64_t hash = warp_segment_hash(seg.data, seg.length, lane);
        if (lane == 0) hashes[g] = hash;
    }
}

/* One thread per (chunk, piece): XXH64 of the piece's segment hashes, seeded as checksum64 seeds it. */
__global__ void digest_kernel(pchunk_t *chunks, const uint32_t *segment_prefix, uint32_t count, const uint64_t *hashes)
{
    const uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const uint32_t c = (uint32_t)(t / PIECES_MAX), piece = (uint32_t)(t % PIECES_MAX);
    if (c >= count) return;
    pchunk_t *d = &chunks[c];
    if (!d->active || piece >= d->piece_count) return;
    const uint8_t *data;
    uint64_t length;
    piece_span(d, piece, &data, &length);
    const uint64_t seed = piece == 0 ? 0 : piece - 1;
    const uint32_t first = d->piece_segment[piece], segments = d->piece_segment[piece + 1] - first;
    const uint64_t hash = xxh64_hashes(hashes + segment_prefix[c] + first, segments, seed ^ (length * 0x9E3779B97F4A7C15ULL));
    const uint8_t *stored = piece == 0 ? d->payload + d->planes_start - 8 : d->payload + 24 + 12 * (piece - 1) + 4;
    if (hash != dev_le64(stored))
        report(d, piece == 0 ? key_make(0, SUB_HEAD_CHECKSUM, 0, SARAPHIS_ERROR_CHECKSUM)
                             : key_make(stage_checksum(piece - 1), 0, 0, SARAPHIS_ERROR_CHECKSUM));
}

/* ---- Streams: one warp per rANS block or 32 KiB of a raw / constant stream ------------------- */



/* A decoding warp's words wait in a ring of shared memory that cp.async fills 512 bytes (16 per
 * lane) at a time: the fill being read and the two after it have landed, the next is in flight
 * (a dense digit plane takes about 15 words a step, so a fill is loaded some 50 steps ahead).
 * Words in registers (a queue shifted along as it is used) made every shift wait for the load
 * behind it: a digit plane's streams take up to 15 words a step, so that load was only two steps
 * old, and the decoder stalled on it (ncu: 59% of stalls on global loads). */
#define RING_BYTES 2048u
#define RING_FILL 512u
#define RING_FILLS (RING_BYTES / RING_FILL)

/* Fill f: bytes [base + 512 f, + 512) of the block (base: its words' start rounded down to 16
 * bytes, inside the block's state header) into the ring, zeros past `end` (never read by a block
 * whose words are all within it). */
__device__ __forceinline__ void ring_fill(uint8_t *ring, const uint8_t *base, const uint8_t *end, uint32_t f, uint32_t lane)
{
    const uint8_t *from = base + (size_t)RING_FILL * f + 16 * lane;
    uint8_t *to = ring + ((RING_FILL * f) & (RING_BYTES - 1)) + 16 * lane;
    if (from + 16 <= end) {
        copy16_async(to, from);
    } else { /* the block's last piece: only its own bytes are read */
        for (uint32_t j = 0; j < 16; j++) to[j] = from + j < end ? __ldg(from + j) : 0;
    }
}

/* rans_decode_block on a warp: lane l owns symbol l of every group of 32; a lane needing a refill
 * takes the word at (words used so far + refills of the lanes below it), from the ring. ODD: the
 * words start at an odd address, so a word is two byte loads (else one 16-bit load). Whole
 * groups go two steps between ring checks without per-lane branches; words read past the block
 * (a corrupt one) come from the ring's other bytes and fail the final check. False when the
 * block does not end exactly where its words do with every state back at its start. */
template <bool ODD>
__device__ static bool decode_block(const uint8_t *block, uint32_t block_size, uint32_t count, uint8_t *dst, const uint8_t *sym,
                                    const uint32_t *fc, uint8_t *ring, uint32_t lane)
{
    uint32_t x = dev_le32(block + 4 * lane);
    if (__any_sync(FULL_MASK, x < RANS_STATE_LOWER)) return false;
    const uint8_t *words = block + RANS_BLOCK_HEADER_BYTES, *end = block + block_size;
    const uint32_t word_count = (block_size - RANS_BLOCK_HEADER_BYTES) / 2;
    const uint8_t *base = (const uint8_t *)((uintptr_t)words & ~(uintptr_t)15);
    const uint32_t skew = (uint32_t)((uintptr_t)words & 15);
#pragma unroll
    for (uint32_t f = 0; f < RING_FILLS; f++) {
        ring_fill(ring, base, end, f, lane);
        async_commit();
    }
    /* Invariant at each check: the fill holding the next word and the two after it have landed,
     * so two steps (at most 64 words, 128 bytes) may follow. */
    async_wait_pending<1>();
    __syncwarp();
    const uint32_t lower = lanemask_lt(lane);
    /* `next_at`: the ring offset of the next word (skew + 2 x the words used), so that a refill's
     * offset is one shift-and-add and a mask. */
    uint32_t next_at = skew, fill = 0;
    auto step = [&](uint32_t i, bool active) __attribute__((always_inline)) {
        const uint32_t slot = x & (RANS_PROB_SCALE - 1);
        const uint32_t symbol = sym[slot];
        const uint32_t entry = fc[symbol];
        const uint32_t next = (entry & 0xffff) * (x >> RANS_PROB_BITS) + slot - (entry >> 16);
        const bool need = active && next < RANS_STATE_LOWER;
        const uint32_t mask = __ballot_sync(FULL_MASK, need);
        const uint32_t at = (next_at + 2 * __popc(mask & lower)) & (RING_BYTES - 1);
        uint32_t word;
        if (ODD) word = ring[at] | (uint32_t)ring[(at + 1) & (RING_BYTES - 1)] << 8;
        else word = *(const uint16_t *)(ring + at);
        if (active) x = need ? (next << 16) | word : next;
        next_at += 2 * __popc(mask);
        if (active) dst[i] = (uint8_t)symbol;
    };
    auto check = [&]() __attribute__((always_inline)) {
        const uint32_t now = next_at / RING_FILL;
        if (now != fill) { /* the old fill is read: load the one four ahead into its place */
            __syncwarp();
            ring_fill(ring, base, end, fill + RING_FILLS, lane);
            async_commit();
            fill = now;
            async_wait_pending<1>();
            __syncwarp();
        }
    };
    const uint32_t whole = count & ~63u;
    uint32_t g = 0;
    for (; g < whole; g += 64) {
        step(g + lane, true);
        step(g + 32 + lane, true);
        check();
    }
    for (; g < count; g += 32) {
        step(g + lane, g + lane < count);
        check();
    }
    async_wait_all(); /* nothing in flight into the ring when the warp moves on */
    const bool bad = (next_at - skew) / 2 != word_count || x != RANS_STATE_LOWER;
    return !__any_sync(FULL_MASK, bad);
}

__global__ void __launch_bounds__(DECODE_WARPS * 32)
    stream_kernel(pchunk_t *chunks, uint32_t count, uint32_t item_stride, uint32_t stage)
{
    __shared__ uint8_t sym_table[DECODE_WARPS][RANS_PROB_SCALE];
    __shared__ uint32_t fc_table[DECODE_WARPS][256];
    __shared__ __align__(16) uint8_t ring[DECODE_WARPS][RING_BYTES];
    const uint32_t warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint32_t g = blockIdx.x * DECODE_WARPS + warp;
    /* Warp g takes item g / count of chunk g % count: the items that exist (a few per chunk of
     * the item_stride each could have) are the grid's first CTAs, which run first and together. */
    if (g >= item_stride * count) return;
    const uint32_t c = g % count, k = g / count;
    pchunk_t *d = &chunks[c];
    /* Stage 1 decodes the escape bitmap's stream, the later stages the round's streams. */
    const bool bitmap_stage = stage == 1;
    if (!d->active || k >= (bitmap_stage ? d->escape_stream.items : d->item_total) || d->key < key_make(stage, 0, 0, 0)) return;
    uint32_t s = 0;
    if (!bitmap_stage)
        while (s + 1 < d->stream_count && d->stream[s + 1].first_item <= k) s++;
    const pstream_t *st = bitmap_stage ? &d->escape_stream : &d->stream[s];
    const uint32_t item = k - st->first_item;
    const uint32_t begin = item * BLOCK_SYMBOLS, end = min(st->n, begin + BLOCK_SYMBOLS);
    if (st->mode == ENTROPY_RAW) {
        /* Sixteen loads in flight per lane before their stores (one at a time, each store would
         * wait for its load: the compiler cannot tell the buffers apart). */
        for (uint32_t base = begin; base < end; base += 32 * 16) {
            uint8_t v[16];
#pragma unroll
            for (uint32_t k = 0; k < 16; k++) {
                const uint32_t i = base + 32 * k + lane;
                v[k] = i < end ? __ldg(st->data + i) : 0;
            }
#pragma unroll
            for (uint32_t k = 0; k < 16; k++) {
                const uint32_t i = base + 32 * k + lane;
                if (i < end) st->dst[i] = v[k];
            }
        }
    } else if (st->mode == ENTROPY_CONSTANT) {
        const uint8_t value = (uint8_t)st->value;
        for (uint32_t i = begin + lane; i < end; i += 32) st->dst[i] = value;
    } else {
        rans_build_tables(st->data, st->table_bytes, sym_table[warp], fc_table[warp], lane);
        uint64_t offset = 0;
        for (uint32_t j = lane; j < item; j += 32) offset += dev_le32(st->sizes + 4 * (size_t)j);
#pragma unroll
        for (int o = 16; o >= 1; o >>= 1) offset += __shfl_xor_sync(FULL_MASK, offset, o);
        const uint32_t block_size = dev_le32(st->sizes + 4 * (size_t)item);
        const uint8_t *block = st->blocks + offset;
        const bool ok = ((uintptr_t)block & 1)
                            ? decode_block<true>(block, block_size, end - begin, st->dst + begin, sym_table[warp], fc_table[warp], ring[warp], lane)
                            : decode_block<false>(block, block_size, end - begin, st->dst + begin, sym_table[warp], fc_table[warp], ring[warp], lane);
        if (!ok && lane == 0)
            report(d, st->key | key_make(0, 0, item, SARAPHIS_ERROR_CORRUPT));
    }
}

/* ---- Escape bitmap checks (form 2): one CTA per chunk ------------------------------------------- */

__global__ void __launch_bounds__(APPLY_THREADS) bitmap_check_kernel(pchunk_t *chunks)
{
    __shared__ uint32_t total, tail;
    pchunk_t *d = &chunks[blockIdx.x];
    if (!d->active || d->escape_form != ESCAPES_BITMAP || d->key < key_make(1, SUB_ESCAPE_COUNT, 0, 0)) return;
    if (threadIdx.x == 0) total = tail = 0;
    __syncthreads();
    const uint32_t n = d->n, bytes = (n + 7) / 8;
    uint32_t count = 0, past = 0;
    for (uint32_t b = threadIdx.x; b < bytes; b += APPLY_THREADS) {
        uint32_t byte = d->bitmap[b];
        if (b == n / 8 && n % 8) {
            past |= byte >> (n % 8);
            byte &= (1u << (n % 8)) - 1;
        }
        count += __popc(byte);
    }
    count = warp_sum32(count);
    if ((threadIdx.x & 31) == 0) atomicAdd(&total, count);
    if (past) atomicOr(&tail, 1u);
    __syncthreads();
    if (threadIdx.x == 0 && (total != d->escapes || tail)) report(d, key_make(1, SUB_ESCAPE_COUNT, 0, SARAPHIS_ERROR_CORRUPT));
}

/* ---- Plane rounds ---------------------------------------------------------------------------- */

/* decode_plane's parsing on a warp per chunk: fills the round's streams. */
__global__ void __launch_bounds__(HEAD_WARPS * 32) plane_parse_kernel(pchunk_t *chunks, uint32_t count, uint32_t plane)
{
    const uint32_t i = blockIdx.x * HEAD_WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (i >= count) return;
    pchunk_t *d = &chunks[i];
    if (lane == 0) {
        d->form = FORM_SKIP;
        d->stream_count = 0;
        d->item_total = 0;
    }
    const uint32_t stage = stage_plane(plane);
    if (!d->active || plane >= d->planes || d->key < key_make(stage, 0, 0, 0)) return;
    const uint8_t *src = d->payload + d->plane_offset[plane];
    const uint64_t size = d->plane_bytes[plane];
    const uint32_t n = d->n;
#define PLANE_FAIL(sub, block, code)                                   \
    do {                                                               \
        if (lane == 0) report(d, key_make(stage, sub, block, code));  \
        return;                                                        \
    } while (0)
    if (size < 5) PLANE_FAIL(SUB_FORM, 0, SARAPHIS_ERROR_CORRUPT);
    const uint32_t form = __ldg(src), sign_count = dev_le32(src + 1);
    uint64_t pos = 5, consumed = 0;
    if (form == FORM_ZERO) {
        if (sign_count || size != 5) PLANE_FAIL(SUB_FORM, 0, SARAPHIS_ERROR_CORRUPT);
        if (lane == 0) {
            d->form = FORM_ZERO;
            d->sign_count = 0;
        }
        return;
    }
    if (form != FORM_DENSE && form != FORM_SPARSE) PLANE_FAIL(SUB_FORM, 0, SARAPHIS_ERROR_CORRUPT);
    if (sign_count > n) PLANE_FAIL(SUB_FORM, 0, SARAPHIS_ERROR_CORRUPT);
    uint32_t streams = 0, items = 0, fail_block = 0, status;
    pstream_t st;
    /* Registers a parsed stream (also one that failed: its blocks before the failure). */
#define PLANE_STREAM(sub, target)                                  \
    do {                                                           \
        st.dst = (target);                                         \
        st.key = key_make(stage, sub, 0, 0);                       \
        st.first_item = items;                                     \
        if (lane == 0) d->stream[streams] = st;                    \
        streams++;                                                 \
        items += st.items;                                         \
        if (lane == 0) {                                           \
            d->stream_count = streams;                             \
            d->item_total = items;                                 \
        }                                                          \
        if (status) PLANE_FAIL(sub, fail_block, status);           \
    } while (0)
    if (sign_count) {
        status = parse_entropy(src + pos, size - pos, (sign_count + 7) / 8, &st, &consumed, &fail_block, lane);
        PLANE_STREAM(SUB_SIGNS, d->signs);
        pos += consumed;
    }
    if (form == FORM_SPARSE) {
        if (size - pos < 4) PLANE_FAIL(SUB_LAYOUT, 0, SARAPHIS_ERROR_CORRUPT);
        const uint32_t m = dev_le32(src + pos);
        pos += 4;
        if (m > n) PLANE_FAIL(SUB_LAYOUT, 0, SARAPHIS_ERROR_CORRUPT);
        uint64_t bytes = 0;
        if (!varint_extent(src + pos, size - pos, m, lane, &bytes)) PLANE_FAIL(SUB_LAYOUT, 0, SARAPHIS_ERROR_CORRUPT);
        if (lane == 0) {
            d->sparse_count = m;
            d->positions = (uint32_t)(d->plane_offset[plane] + pos);
            d->position_bytes = (uint32_t)bytes;
        }
        pos += bytes;
        status = parse_entropy(src + pos, size - pos, m, &st, &consumed, &fail_block, lane);
        PLANE_STREAM(SUB_STREAMS, d->symbols);
        pos += consumed;
    } else {
        if (size - pos < 1) PLANE_FAIL(SUB_LAYOUT, 0, SARAPHIS_ERROR_CORRUPT);
        const uint32_t contexts = __ldg(src + pos);
        pos++;
        if (contexts < 1 || contexts > PADIC_MAX_CONTEXTS) PLANE_FAIL(SUB_LAYOUT, 0, SARAPHIS_ERROR_CORRUPT);
        uint32_t start = 0;
        for (uint32_t c = 0; c < contexts; c++) {
            uint32_t symbols = 0;
            if (c + 1 < contexts) symbols = d->hist[c];
            else
                for (uint32_t b = c; b < 16; b++) symbols += d->hist[b];
            if (lane == 0) d->ctx_start[c] = start;
            status = parse_entropy(src + pos, size - pos, symbols, &st, &consumed, &fail_block, lane);
            PLANE_STREAM(SUB_STREAMS + c, d->symbols + start);
            pos += consumed;
            start += symbols;
        }
        if (lane == 0) {
            d->ctx_start[contexts] = start;
            d->contexts = contexts;
        }
    }
    if (pos != size) PLANE_FAIL(SUB_TRAILING, 0, SARAPHIS_ERROR_CORRUPT);
    if (lane == 0) {
        d->form = form;
        d->sign_count = sign_count;
    }
#undef PLANE_STREAM
#undef PLANE_FAIL
}

__device__ __forceinline__ uint32_t sign_bit(const uint8_t *signs, uint32_t k, uint32_t sign_count)
{
    return k < sign_count ? (signs[k >> 3] >> (k & 7)) & 1u : 0u;
}

/* Warp w of a chunk's CTA owns elements [w * seg, (w + 1) * seg) (seg a multiple of 32), in
 * every plane: the per-segment prefix counts one plane leaves give the next plane each warp's
 * first symbol in every context, so a warp then walks its segment alone. */
__host__ __device__ static inline void segment_of(uint32_t n, uint32_t warp, uint32_t *begin, uint32_t *end)
{
    const uint32_t seg = (uint32_t)(ceil_div(ceil_div(n, APPLY_WARPS), 32) * 32);
    *begin = min(n, warp * seg);
    *end = min(n, (warp + 1) * seg);
}

/* x' = R(+-(double)|q| * step), the sign put on after the product as on the CPU. */
__device__ __forceinline__ double signed_value(uint64_t magnitude, double step, bool negative)
{
    double v = __dmul_rn(__ull2double_rn(magnitude), step);
    if (negative) v = __longlong_as_double(__double_as_longlong(v) | (long long)0x8000000000000000ull);
    return v;
}

/* After fewer planes than the precision, the centre of the magnitudes they allow (+0 where the
 * prefix is 0), the sign put on after the product; the CPU's reconstruct_*_partial. */
__device__ __forceinline__ double centre_value(uint64_t prefix, double width, double centre, double step, bool negative)
{
    double v = prefix ? __dmul_rn(__dadd_rn(__dmul_rn(__ull2double_rn(prefix), width), centre), step) : 0.0;
    if (negative) v = __longlong_as_double(__double_as_longlong(v) | (long long)0x8000000000000000ull);
    return v;
}

__device__ static void store_value(uint8_t *dst, uint64_t i, uint32_t dtype, double v);
template <bool LAST, uint32_t DTYPE, uint32_t ELEMENT>
__device__ static uint32_t apply_narrow(const pchunk_t *d, uint8_t *digits, uint64_t plane_stride, uint32_t plane, bool fresh,
                                        uint32_t seg_begin, uint32_t seg_end, uint32_t run0, uint32_t run1,
                                        uint32_t sign_at, const uint8_t *signs, uint32_t lane, uint32_t *seg_hist,
                                        unsigned long long *content, uint32_t *prefetch_ring);

#define UNROLL 4 /* groups of 32 elements a warp has in flight */
/* Words of four symbols (and states) a lane has in flight when counting the magnitudes starting
 * in its warp's segment: a 256 KiB chunk's segment (4096 symbols) takes two rounds of loads; with
 * four it took eight, each waiting out a load from device memory (7% of the pass's time). */
#define COUNT_UNROLL 16
/* The dense narrow pass loads each group's states, digits (one context) and earlier-digit row
 * PREFETCH_AHEAD groups ahead, as cp.async copies into a ring of PREFETCH_SLOTS slots a warp
 * (3 x 32 words each), read back from shared memory. Loaded into registers one group ahead they
 * still stalled the pass (ncu: a third of its stall samples waited on device loads): a first use
 * of the group's own loads (digits with two contexts, sign bits) waited on the scoreboard those
 * shared, so the loads for the next group came in before the group could go on, and the copy of
 * a register loaded ahead into the loop's own waited out its latency once a group. */
#define PREFETCH_AHEAD 2u
#define PREFETCH_SLOTS 4u
#define PREFETCH_SLOT_WORDS 96u /* a row of 32 lanes' words each: states, digits, earlier digits */
#define PREFETCH_WORDS (PREFETCH_SLOTS * PREFETCH_SLOT_WORDS)
#define SIGN_STAGE_BYTES 8192u /* a dense plane's sign bits in shared memory: 65536 elements */
#define CONTENT_SLOTS 256u      /* content-checksum segments a CTA sums in shared memory: 1 MiB chunks */

/* One plane of one chunk per CTA. Dense: each element takes the next symbol of its context
 * (min(prefix, C - 1)) in element order, and a magnitude starting here (prefix 0, digit non-zero)
 * the next sign bit. The last plane, when dense, writes the output itself; otherwise the plane's
 * digits and the new saturated prefixes are kept, and their per-segment counts. */
/* The planes apply_narrow takes: dense, one or two contexts, magnitudes in 32 bits (p^P <= 2^32:
 * up to four digits of 251). */
/* p^P, or the first power past 2^32 when p^P is larger (then no more is needed). */
__device__ __forceinline__ uint64_t magnitude_reach(const pchunk_t *d)
{
    uint64_t reach = 1;
    for (uint32_t j = 0; j < d->precision && reach <= (1ull << 32); j++) reach *= d->prime;
    return reach;
}

__device__ __forceinline__ bool narrow_chunk(const pchunk_t *d)
{
    return d->form == FORM_DENSE && d->contexts <= 2 && magnitude_reach(d) <= (1ull << 32);
}

/* Four states after a zero digit: each prefix times p (saturated at 15), the sign kept. */
__device__ __forceinline__ uint32_t prefixes_times(uint32_t x, uint32_t p)
{
    if (p >= SATURATED) return (x & 0x80808080u) | (__vcmpne4(x & 0x0f0f0f0fu, 0u) & 0x0f0f0f0fu);
    uint32_t r = x & 0x80808080u;
#pragma unroll
    for (uint32_t e = 0; e < 4; e++) r |= min(((x >> (8 * e)) & SATURATED) * p, SATURATED) << (8 * e);
    return r;
}

/* A sparse plane's positions (varints the parse has checked: at most 5 bytes, 32 bits), seen as
 * the 4-byte-aligned words around them: bytes [lead, end) of the view from `aligned`. Word x's
 * entries are those whose last byte is in it; an entry starts at most four bytes earlier, in the
 * word before. A word is read whole where it lies inside the positions (the bytes before them are
 * the plane's own), byte by byte where it reaches past them. */
typedef struct {
    uint32_t ends;     /* bit j: byte j of the word ends an entry */
    uint32_t value[4]; /* that entry's value (the gap) */
} position_word_t;

__device__ __forceinline__ void position_word(const uint8_t *aligned, uint32_t lead, uint32_t end, uint32_t x, position_word_t *r)
{
    const uint32_t t = 4 * x;
    uint32_t word = 0, before = 0;
    if (t + 4 <= end) word = __ldg((const uint32_t *)(aligned + t));
    else
        for (uint32_t b = 0; b < 4; b++) word |= (t + b < end ? (uint32_t)__ldg(aligned + t + b) : 0x80u) << (8 * b);
    if (x > 0) before = __ldg((const uint32_t *)(aligned + t - 4));
    /* The bytes ahead of the first entry end no entry and belong to none. */
    if (x == 0) word &= 0xffffffffu << (8 * lead);
    if (x == 1) before &= 0xffffffffu << (8 * lead);
    uint32_t value = 0, shift = 0, ends = 0;
#pragma unroll
    for (uint32_t b = 0; b < 8; b++) {
        const uint32_t byte = (b < 4 ? before >> (8 * b) : word >> (8 * (b - 4))) & 0xffu;
        const uint32_t piece = shift < 32 ? (byte & 0x7fu) << shift : 0u;
        if (b >= 4) {
            r->value[b - 4] = value | piece;
            if (!(byte & 0x80u)) ends |= 1u << (b - 4);
        }
        value = byte & 0x80u ? value | piece : 0u;
        shift = byte & 0x80u ? shift + 7 : 0u;
    }
    if (x == 0) ends &= ~((1u << lead) - 1);
    r->ends = ends;
}

template <bool NARROW>
__global__ void __launch_bounds__(APPLY_THREADS, 2) plane_apply_kernel(pchunk_t *chunks, uint8_t *digits, uint64_t plane_stride, uint32_t plane)
{
    __shared__ uint32_t run[APPLY_WARPS][16], counts[APPLY_WARPS][16], seg_hist[APPLY_WARPS][16];
    __shared__ uint32_t warp_starts[APPLY_WARPS], sign_first[APPLY_WARPS], starts_total, sign_cursor, bad_flag;
    __shared__ uint32_t sparse_entries[APPLY_WARPS]; /* a sparse plane's entries before each warp's run */
    __shared__ unsigned long long sparse_steps[APPLY_WARPS]; /* the sum of their gaps + 1 */
    __shared__ __align__(16) uint8_t sign_stage[SIGN_STAGE_BYTES + 16]; /* + 16: a read one byte past the stream */
    __shared__ unsigned long long content_sum[NARROW ? CONTENT_SLOTS : 1];
    pchunk_t *d = &chunks[blockIdx.x];
    const uint32_t stage = stage_plane(plane);
    if (d->form == FORM_SKIP || d->key < key_make(stage, SUB_DIGITS, 0, 0)) return;
    /* Two instances, so that each has the registers its loop needs: NARROW takes the dense planes
     * with one or two contexts (apply_narrow), the other every other plane. */
    if (NARROW != narrow_chunk(d)) return;
    const uint32_t tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const uint32_t n = d->n, p = d->prime, form = d->form, sign_count = d->sign_count;
    /* Before the first plane that is not a zero plane every state is 0, and the work area holds
     * none: it is not cleared, and zero planes there do not write it. */
    const bool fresh = d->zero_planes + 1 == 1ull << plane;
    const bool last_plane = plane + 1 == d->planes;
    uint8_t *state = d->state;
    const uint8_t *symbols = d->symbols, *signs = d->signs;
    uint8_t *out = digits + plane * plane_stride + d->ebase;
    uint32_t seg_begin, seg_end;
    segment_of(n, warp, &seg_begin, &seg_end);
    const uint32_t segment = (uint32_t)(ceil_div(ceil_div(n, APPLY_WARPS), 32) * 32);
    /* The content checksum's segment hashes, summed here as the narrow last plane writes the
     * output: the pass that would read the output back is skipped. Not for a partial decode (no
     * content checksum applies); with escapes only where the output is 16-byte aligned, for
     * escape_kernel hashes the segments it writes into again. */
    const uint32_t content_segments = (uint32_t)ceil_div((uint64_t)n * d->element, CHECKSUM_SEGMENT_BYTES);
    const bool hash_output = NARROW && last_plane && form == FORM_DENSE && d->content && d->planes == d->precision &&
                             content_segments <= CONTENT_SLOTS && (d->escapes == 0 || ((uintptr_t)d->dst & 15) == 0);
    if (hash_output)
        for (uint32_t k = tid; k < content_segments; k += APPLY_THREADS) content_sum[k] = 0;
    if (tid == 0) {
        starts_total = 0;
        sign_cursor = 0;
        bad_flag = 0;
    }
    if (tid < APPLY_WARPS * 16) {
        const uint32_t w = tid / 16, b = tid % 16;
        uint32_t wb, we;
        segment_of(n, w, &wb, &we);
        counts[w][b] = fresh ? (b == 0 ? we - wb : 0) : d->segment_hist[w][b];
        seg_hist[w][b] = 0;
    }
    /* A dense plane's sign bits (a 256 KiB chunk's fit) are read from shared memory: in the
     * element pass their load waits on a scan, and from device memory it was the third latency
     * in a row. */
    const uint32_t sign_bytes = (sign_count + 7) / 8;
    const bool signs_staged = NARROW && sign_bytes <= SIGN_STAGE_BYTES;
    if (signs_staged) {
        if (((uintptr_t)signs & 3) == 0)
            for (uint32_t b = 4 * tid; b < sign_bytes; b += 4 * APPLY_THREADS) *(uint32_t *)&sign_stage[b] = *(const uint32_t *)(signs + b);
        else
            for (uint32_t b = tid; b < sign_bytes; b += APPLY_THREADS) sign_stage[b] = signs[b];
    }
    __syncthreads();
    uint32_t bad = 0;
    if (form == FORM_DENSE) {
        const uint32_t contexts = d->contexts, last = contexts - 1, limit = d->ctx_start[contexts];
        if (warp < contexts) { /* warp c: context c's first symbol for every segment */
            uint32_t v = 0;
            if (lane < APPLY_WARPS) {
                if (warp < last) v = counts[lane][warp];
                else
                    for (uint32_t b = last; b < 16; b++) v += counts[lane][b];
            }
            const uint32_t inclusive = warp_inclusive32(v, lane);
            if (lane < APPLY_WARPS) run[lane][warp] = d->ctx_start[warp] + inclusive - v;
        }
        __syncthreads();
        /* The segment's first sign: magnitudes start only in context 0 (prefix 0), whose symbols
         * for this segment are one run; with one context that run is the segment itself and the
         * prefix must be looked at. */
        {
            uint32_t zero_count = 0;
            if (last == 0) zero_count = seg_end - seg_begin;
            else zero_count = counts[warp][0];
            const uint32_t first = run[warp][0];
            const bool look = last == 0 && !fresh;
            uint32_t starts = 0;
            if (NARROW && (!look || ((uintptr_t)(symbols + first) & 3) == 0)) {
                /* Four symbols (and states) per lane and load, counted with byte compares: the
                 * symbols first .. stop - 1, read as words from the 4-byte boundary at or below
                 * `first` (the bytes around the run are inside the work area, and masked). */
                const uint32_t stop = min(first + zero_count, max(limit, first));
                const uint8_t *aligned = (const uint8_t *)((uintptr_t)(symbols + first) & ~(uintptr_t)3);
                const uint32_t lead = (uint32_t)(symbols + first - aligned), span = stop - first + lead;
                for (uint32_t b0 = 0; b0 < span; b0 += 128 * COUNT_UNROLL) {
                    uint32_t w[COUNT_UNROLL], z[COUNT_UNROLL];
#pragma unroll
                    for (uint32_t u = 0; u < COUNT_UNROLL; u++) {
                        const uint32_t b = b0 + 128 * u + 4 * lane;
                        w[u] = b < span ? *(const uint32_t *)(aligned + b) : 0u;
                        z[u] = look && b < span ? *(const uint32_t *)(state + seg_begin + b) : 0u; /* look: lead is 0 */
                    }
#pragma unroll
                    for (uint32_t u = 0; u < COUNT_UNROLL; u++) {
                        const uint32_t b = b0 + 128 * u + 4 * lane;
                        uint32_t m = __vcmpne4(w[u], 0u) & __vcmpeq4(z[u] & 0x0f0f0f0fu, 0u);
                        if (b < lead) m &= b + 4 <= lead ? 0u : 0xffffffffu << (8 * (lead - b));
                        if (b + 4 > span) m &= b >= span ? 0u : 0xffffffffu >> (8 * (b + 4 - span));
                        starts += __popc(m) >> 3;
                    }
                }
                starts = warp_sum32(starts);
            } else {
                for (uint32_t k0 = 0; k0 < zero_count; k0 += 32 * UNROLL) {
                    uint32_t sym[UNROLL];
                    bool zero[UNROLL];
#pragma unroll
                    for (uint32_t u = 0; u < UNROLL; u++) {
                        const uint32_t k = k0 + 32 * u + lane;
                        const bool in = k < zero_count && first + k < limit;
                        sym[u] = in ? symbols[first + k] : 0;
                        zero[u] = !look || (in && (state[seg_begin + k] & SATURATED) == 0);
                    }
#pragma unroll
                    for (uint32_t u = 0; u < UNROLL; u++) starts += __popc(__ballot_sync(FULL_MASK, sym[u] != 0 && zero[u]));
                }
            }
            if (lane == 0) warp_starts[warp] = starts;
        }
        __syncthreads();
        if (warp == 0) {
            const uint32_t v = lane < APPLY_WARPS ? warp_starts[lane] : 0, inclusive = warp_inclusive32(v, lane);
            if (lane < APPLY_WARPS) sign_first[lane] = inclusive - v;
            if (lane == 31) starts_total = inclusive;
        }
        __syncthreads();
        uint32_t sign_at = sign_first[warp];
        const uint32_t dtype = d->dtype;
        if constexpr (NARROW) {
            const uint32_t run0 = run[warp][0], run1 = contexts == 2 ? run[warp][1] : 0;
            unsigned long long *const content = hash_output ? content_sum : NULL;
            __shared__ uint32_t prefetch[APPLY_WARPS][PREFETCH_WORDS];
#define NARROW(DTYPE, ELEMENT) apply_narrow<true, DTYPE, ELEMENT>(d, digits, plane_stride, plane, fresh, seg_begin, seg_end, run0, run1, sign_at, signs_staged ? sign_stage : signs, lane, seg_hist[warp], content, prefetch[warp])
            if (!last_plane) bad |= apply_narrow<false, SARAPHIS_DTYPE_F32, 4>(d, digits, plane_stride, plane, fresh, seg_begin, seg_end, run0, run1, sign_at, signs_staged ? sign_stage : signs, lane, seg_hist[warp], NULL, prefetch[warp]);
            else if (dtype == SARAPHIS_DTYPE_F32) bad |= NARROW(SARAPHIS_DTYPE_F32, 4);
            else if (dtype == SARAPHIS_DTYPE_F64) bad |= NARROW(SARAPHIS_DTYPE_F64, 8);
            else if (dtype == SARAPHIS_DTYPE_F16) bad |= NARROW(SARAPHIS_DTYPE_F16, 2);
            else bad |= NARROW(SARAPHIS_DTYPE_BF16, 2);
#undef NARROW
        } else {
            const double step = d->step;
            const uint8_t *previous = digits + d->ebase;
            const uint64_t zero_planes = d->zero_planes;
            const bool partial = d->planes < d->precision;
            const double width = d->width, centre = d->centre;
            uint8_t *dst = d->dst;
            for (uint32_t base = seg_begin; base < seg_end; base += 32 * UNROLL) {
                uint32_t st[UNROLL], at[UNROLL], digit[UNROLL];
                uint64_t magnitude[UNROLL];
#pragma unroll
                for (uint32_t u = 0; u < UNROLL; u++) {
                    const uint32_t i = base + 32 * u + lane;
                    st[u] = i < seg_end && !fresh ? state[i] : 0;
                    magnitude[u] = 0;
                }
                if (last_plane) {
                    for (uint32_t j = 0; j < plane; j++) {
                        const bool zero = (zero_planes >> j) & 1;
#pragma unroll
                        for (uint32_t u = 0; u < UNROLL; u++) {
                            const uint32_t i = base + 32 * u + lane;
                            magnitude[u] = magnitude[u] * p + (i < seg_end && !zero ? previous[j * plane_stride + i] : 0);
                        }
                    }
                    /* A loose row is the only row above that is not a zero plane: where the
                     * prefix is 0 its byte was never written, and the magnitude is 0. */
                    if (d->loose_row)
#pragma unroll
                        for (uint32_t u = 0; u < UNROLL; u++)
                            if (!(st[u] & SATURATED)) magnitude[u] = 0;
                }
#pragma unroll
                for (uint32_t u = 0; u < UNROLL; u++) {
                    const uint32_t i = base + 32 * u + lane;
                    const bool active = i < seg_end;
                    const uint32_t c = active ? min(st[u] & SATURATED, last) : 16u;
                    const uint32_t peers = __match_any_sync(FULL_MASK, c);
                    const uint32_t rank = __popc(peers & lanemask_lt(lane));
                    at[u] = active ? run[warp][c] + rank : limit;
                    __syncwarp();
                    if (active && rank == 0) run[warp][c] += __popc(peers);
                    __syncwarp();
                }
#pragma unroll
                for (uint32_t u = 0; u < UNROLL; u++) digit[u] = at[u] < limit ? symbols[at[u]] : 0;
#pragma unroll
                for (uint32_t u = 0; u < UNROLL; u++) {
                    const uint32_t i = base + 32 * u + lane;
                    const bool active = i < seg_end;
                    const uint32_t prefix = st[u] & SATURATED;
                    const bool starts = active && prefix == 0 && digit[u] != 0;
                    const uint32_t smask = __ballot_sync(FULL_MASK, starts);
                    const uint32_t sign = starts ? sign_bit(signs, sign_at + __popc(smask & lanemask_lt(lane)), sign_count) : 0;
                    sign_at += __popc(smask);
                    const uint32_t next = min(prefix * p + digit[u], SATURATED);
                    if (active) {
                        bad |= digit[u] >= p;
                        const uint32_t flag = (st[u] & SIGN_FLAG) | sign << 7;
                        if (last_plane) {
                            const uint64_t q = magnitude[u] * p + digit[u];
                            store_value(dst, i, dtype,
                                        partial ? centre_value(q, width, centre, step, flag != 0) : signed_value(q, step, flag != 0));
                        } else {
                            state[i] = (uint8_t)(flag | next);
                            out[i] = (uint8_t)digit[u];
                        }
                    }
                    if (!last_plane) { /* the new prefixes, counted for the next plane */
                        const uint32_t bin = active ? next : 16u, peers = __match_any_sync(FULL_MASK, bin);
                        if (active && __popc(peers & lanemask_lt(lane)) == 0) atomicAdd(&seg_hist[warp][bin], __popc(peers));
                    }
                }
            }
        }
    } else {
        /* Every prefix times p (a zero digit); a zero plane's digits are not stored. Sixteen
         * elements per thread and access (the work area is 16-byte aligned; a sparse plane's
         * digit row may not be), two accesses in flight. */
        const bool sparse = form == FORM_SPARSE, out_aligned = ((uintptr_t)out & 15) == 0;
        /* A sparse plane below only zero planes, before a dense last plane: its row is left
         * unwritten but for the entries (see loose_row). */
        const bool loose = sparse && fresh && plane + 2 == d->planes && d->plane_bytes[plane + 1] >= 1 &&
                           __ldg(d->payload + d->plane_offset[plane + 1]) == FORM_DENSE;
        const bool zero_row = sparse && !loose;
        if (loose && tid == 0) d->loose_row = plane + 1;
        const uint32_t vectors = fresh && !sparse ? 0 : n / 16;
        for (uint32_t v0 = tid; v0 < vectors; v0 += 2 * APPLY_THREADS) {
            uint4 st[2];
#pragma unroll
            for (uint32_t u = 0; u < 2; u++) {
                const uint32_t v = v0 + APPLY_THREADS * u;
                st[u] = v < vectors && !fresh ? ((const uint4 *)state)[v] : make_uint4(0, 0, 0, 0);
            }
#pragma unroll
            for (uint32_t u = 0; u < 2; u++) {
                const uint32_t v = v0 + APPLY_THREADS * u;
                if (v < vectors) {
                    ((uint4 *)state)[v] = make_uint4(prefixes_times(st[u].x, p), prefixes_times(st[u].y, p), prefixes_times(st[u].z, p),
                                                     prefixes_times(st[u].w, p));
                    if (zero_row && out_aligned) ((uint4 *)out)[v] = make_uint4(0, 0, 0, 0);
                }
            }
        }
        for (uint32_t i = 16 * vectors + tid; i < n && !(fresh && !sparse); i += APPLY_THREADS) {
            const uint32_t st = fresh ? 0 : state[i];
            state[i] = (uint8_t)((st & SIGN_FLAG) | min((st & SATURATED) * p, SATURATED));
        }
        if (zero_row)
            for (uint32_t i = out_aligned ? 16 * vectors + tid : tid; i < n; i += APPLY_THREADS) out[i] = 0;
        /* The counts move with the prefixes: bin b goes to min(b * p, 15) (the sparse entries
         * move their elements once more below). */
        if (!last_plane && tid < APPLY_WARPS * 16) {
            const uint32_t w = tid / 16, b = tid % 16;
            if (counts[w][b]) atomicAdd(&seg_hist[w][min(b * p, SATURATED)], counts[w][b]);
        }
        __syncthreads();
        if (form == FORM_SPARSE) {
            /* The entries, with every warp on its own run of the positions' 4-byte words (an
             * entry belongs to the word holding its last byte), in three passes: the entries
             * and index steps of each run, so that every warp knows its first entry and index;
             * the magnitudes starting in each run (not needed before any non-zero plane: all
             * start), so that every warp knows its first sign; then the digits, signs and
             * prefixes. Indices strictly increase, so no two lanes touch one element. The prefix
             * test sees the plane's zero already applied: prefix * p is 0 only for 0. */
            const uint8_t *positions = d->payload + d->positions;
            const uint8_t *aligned = (const uint8_t *)((uintptr_t)positions & ~(uintptr_t)3);
            const uint32_t lead = (uint32_t)((uintptr_t)positions & 3), end = lead + d->position_bytes;
            const uint32_t words = d->sparse_count ? (end + 3) / 4 : 0, per = (uint32_t)ceil_div(words, APPLY_WARPS);
            const uint32_t word_begin = min(words, warp * per), word_end = min(words, word_begin + per);
            uint32_t entries = 0;
            uint64_t steps = 0;
            for (uint32_t x = word_begin + lane; x < word_end; x += 32) {
                position_word_t pw;
                position_word(aligned, lead, end, x, &pw);
                entries += __popc(pw.ends);
#pragma unroll
                for (uint32_t j = 0; j < 4; j++)
                    if ((pw.ends >> j) & 1) steps += (uint64_t)pw.value[j] + 1;
            }
            entries = warp_sum32(entries);
#pragma unroll
            for (int o = 16; o; o >>= 1) steps += __shfl_xor_sync(FULL_MASK, steps, o);
            if (lane == 0) {
                sparse_entries[warp] = entries;
                sparse_steps[warp] = steps;
            }
            __syncthreads();
            if (warp == 0) {
                const uint32_t v = lane < APPLY_WARPS ? sparse_entries[lane] : 0, inclusive = warp_inclusive32(v, lane);
                const uint64_t u = lane < APPLY_WARPS ? sparse_steps[lane] : 0, inclusive64 = warp_inclusive64(u, lane);
                if (lane < APPLY_WARPS) {
                    sparse_entries[lane] = inclusive - v;
                    sparse_steps[lane] = inclusive64 - u;
                }
            }
            __syncthreads();
            uint32_t entry_at = sparse_entries[warp];
            uint64_t step_at = sparse_steps[warp];
            /* One word per lane: its entries' indices, digits and earlier states. */
            auto entries_of = [&](uint32_t x, uint32_t &ends, uint32_t (&index)[4], uint32_t (&digit)[4], uint32_t (&st)[4],
                                  uint32_t &starts, uint32_t &invalid) {
                position_word_t pw;
                if (x < word_end) position_word(aligned, lead, end, x, &pw);
                else pw.ends = 0;
                ends = pw.ends;
                uint32_t count = __popc(ends);
                uint64_t lane_steps = 0;
#pragma unroll
                for (uint32_t j = 0; j < 4; j++)
                    if ((ends >> j) & 1) lane_steps += (uint64_t)pw.value[j] + 1;
                const uint32_t count_inclusive = warp_inclusive32(count, lane);
                const uint64_t steps_inclusive = warp_inclusive64(lane_steps, lane);
                uint32_t k = entry_at + count_inclusive - count;
                uint64_t at = step_at + steps_inclusive - lane_steps; /* the next entry's index is at + its gap */
                starts = invalid = 0;
#pragma unroll
                for (uint32_t j = 0; j < 4; j++) {
                    index[j] = 0, digit[j] = 0, st[j] = 0;
                    if (!((ends >> j) & 1)) continue;
                    const uint64_t i = at + pw.value[j];
                    at = i + 1;
                    digit[j] = symbols[k++]; /* k < sparse_count: the parse found that many entries */
                    if (i < n) {
                        index[j] = (uint32_t)i;
                        st[j] = fresh ? 0 : state[i];
                    }
                    if (i >= n || digit[j] == 0 || digit[j] >= p) invalid |= 1u << j;
                    if ((st[j] & SATURATED) == 0) starts |= 1u << j;
                }
                entry_at += __shfl_sync(FULL_MASK, count_inclusive, 31);
                step_at += __shfl_sync(FULL_MASK, steps_inclusive, 31);
            };
            const uint32_t rounds = (uint32_t)ceil_div(word_end - word_begin, 32);
            if (!fresh) {
                uint32_t started = 0;
                for (uint32_t r = 0; r < rounds; r++) {
                    uint32_t ends, index[4], digit[4], st[4], starts, invalid;
                    entries_of(word_begin + 32 * r + lane, ends, index, digit, st, starts, invalid);
                    started += __popc(starts);
                }
                started = warp_sum32(started);
                if (lane == 0) warp_starts[warp] = started;
                __syncthreads();
                if (warp == 0) {
                    const uint32_t v = lane < APPLY_WARPS ? warp_starts[lane] : 0, inclusive = warp_inclusive32(v, lane);
                    if (lane < APPLY_WARPS) sign_first[lane] = inclusive - v;
                }
                __syncthreads();
                entry_at = sparse_entries[warp];
                step_at = sparse_steps[warp];
            }
            uint32_t sign_at = fresh ? entry_at : sign_first[warp], signs_taken = 0;
            for (uint32_t r = 0; r < rounds; r++) {
                uint32_t ends, index[4], digit[4], st[4], starts, invalid;
                entries_of(word_begin + 32 * r + lane, ends, index, digit, st, starts, invalid);
                const uint32_t start_count = __popc(starts), start_inclusive = warp_inclusive32(start_count, lane);
                uint32_t sk = sign_at + start_inclusive - start_count;
                bad |= invalid;
#pragma unroll
                for (uint32_t j = 0; j < 4; j++) {
                    if (!((ends >> j) & 1)) continue;
                    uint32_t sign = 0;
                    if ((starts >> j) & 1) {
                        bad |= sk >= sign_count;
                        sign = sign_bit(signs, sk++, sign_count);
                    }
                    if ((invalid >> j) & 1) continue;
                    const uint32_t s = st[j], i = index[j], next = min((s & SATURATED) + digit[j], SATURATED);
                    state[i] = (uint8_t)((s & SIGN_FLAG) | sign << 7 | next);
                    out[i] = (uint8_t)digit[j];
                    if (!last_plane && next != (s & SATURATED)) {
                        const uint32_t w = i / segment;
                        atomicSub(&seg_hist[w][s & SATURATED], 1u);
                        atomicAdd(&seg_hist[w][next], 1u);
                    }
                }
                const uint32_t taken = __shfl_sync(FULL_MASK, start_inclusive, 31);
                sign_at += taken;
                signs_taken += taken;
            }
            if (lane == 0) atomicAdd(&sign_cursor, signs_taken);
        }
    }
    if (bad) atomicOr(&bad_flag, 1u);
    __syncthreads();
    if (tid == 0) {
        const uint32_t signs_used = form == FORM_DENSE ? starts_total : sign_cursor;
        if (bad_flag || signs_used != sign_count) report(d, key_make(stage, SUB_DIGITS, 0, SARAPHIS_ERROR_CORRUPT));
        d->fused = form == FORM_DENSE && last_plane;
        if (form == FORM_ZERO) d->zero_planes |= 1ull << plane;
        if (hash_output) {
            *d->hashed = 1;
            d->content_hashed = 1;
        }
    }
    if (hash_output)
        for (uint32_t k = tid; k < content_segments; k += APPLY_THREADS) d->content[k] = content_sum[k];
    if (!last_plane) {
        if (tid < APPLY_WARPS * 16) d->segment_hist[tid / 16][tid % 16] = seg_hist[tid / 16][tid % 16];
        if (tid < 16) {
            uint32_t total = 0;
            for (uint32_t w = 0; w < APPLY_WARPS; w++) total += seg_hist[w][tid];
            d->hist[tid] = total;
        }
    }
}

/* ---- Output ------------------------------------------------------------------------------------- */

/* padic_values.h's roundings, with every product and sum rounded on its own. */
__device__ __forceinline__ double round_to_quantum(double a, double quantum, double inverse)
{
    return __dmul_rn(__dsub_rn(__dadd_rn(__dmul_rn(a, inverse), 0x1p52), 0x1p52), quantum);
}
__device__ __forceinline__ double round_mantissa(double a, unsigned dropped)
{
    uint64_t bits = (uint64_t)__double_as_longlong(a);
    uint64_t half = ((uint64_t)1 << (dropped - 1)) - 1 + ((bits >> dropped) & 1);
    bits = (bits + half) & ~(((uint64_t)1 << dropped) - 1);
    return __longlong_as_double((long long)bits);
}

/* x' = R(v) in the dtype, as its bytes (little-endian in the low bits). */
__device__ __forceinline__ uint64_t value_bits(uint32_t dtype, double v, bool clamp = true)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: {
        if (clamp && v > FLT_MAX) v = FLT_MAX;
        else if (clamp && v < -FLT_MAX) v = -FLT_MAX;
        return __float_as_uint(__double2float_rn(v));
    }
    case SARAPHIS_DTYPE_F64: return (uint64_t)__double_as_longlong(v);
    case SARAPHIS_DTYPE_F16: {
        const double a = fabs(v);
        double r;
        if (!(a < PADIC_F16_MAX)) r = PADIC_F16_MAX;
        else if (a < 0x1p-14) r = round_to_quantum(a, 0x1p-24, 0x1p24);
        else r = round_mantissa(a, 42);
        uint32_t h = signbit(v) ? 0x8000u : 0u;
        if (r < 0x1p-14) {
            h |= (uint32_t)(uint16_t)__dmul_rn(r, 0x1p24);
        } else {
            const uint64_t bits = (uint64_t)__double_as_longlong(r);
            const uint32_t exponent = (uint32_t)(bits >> 52) - 1023u + 15u;
            h |= (exponent << 10 | (uint32_t)((bits >> 42) & 0x3ffu)) & 0xffffu;
        }
        return h & 0xffffu;
    }
    default: { /* BF16 */
        const double a = fabs(v);
        double r;
        if (!(a < PADIC_BF16_MAX)) r = PADIC_BF16_MAX;
        else if (a < 0x1p-126) r = round_to_quantum(a, 0x1p-133, 0x1p133);
        else r = round_mantissa(a, 45);
        const float f = __double2float_rn(signbit(v) ? -r : r);
        return __float_as_uint(f) >> 16;
    }
    }
}

__device__ static void store_value(uint8_t *dst, uint64_t i, uint32_t dtype, double v)
{
    const uint64_t bits = value_bits(dtype, v);
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: ((uint32_t *)dst)[i] = (uint32_t)bits; return;
    case SARAPHIS_DTYPE_F64: ((uint64_t *)dst)[i] = bits; return;
    default: ((uint16_t *)dst)[i] = (uint16_t)bits; return;
    }
}

/* The dense plane with one or two contexts (context 1: the elements with a non-zero prefix) and
 * magnitudes below 2^32 (narrow_chunk), nearly every dense plane of real weights. Same results as the general loop, with fewer
 * instructions: lane l takes elements 4l .. 4l + 3 of each 128 of the warp's segment, the ranks in
 * each context and among the magnitudes starting here come from warp scans of per-lane counts
 * (no match_any), states, digits and outputs move four elements per access where aligned, the
 * whole groups' states, digits and earlier row come two groups ahead through `prefetch_ring` (the
 * warp's PREFETCH_WORDS words in shared memory), and the next plane's prefix counts wait in
 * per-lane byte counters. */
template <bool LAST, uint32_t DTYPE, uint32_t ELEMENT>
__device__ static uint32_t apply_narrow(const pchunk_t *d, uint8_t *digits, uint64_t plane_stride, uint32_t plane, bool fresh,
                                        uint32_t seg_begin, uint32_t seg_end, uint32_t run0, uint32_t run1,
                                        uint32_t sign_at, const uint8_t *signs, uint32_t lane, uint32_t *seg_hist,
                                        unsigned long long *content, uint32_t *prefetch_ring)
{
    const bool two = d->contexts == 2;
    const uint32_t p = d->prime, limit = d->ctx_start[d->contexts];
    const uint8_t *symbols = d->symbols;
    uint8_t *state = d->state;
    const uint8_t *previous = digits + d->ebase;
    uint8_t *out = digits + plane * plane_stride + d->ebase;
    const bool out_aligned = ((uintptr_t)out & 3) == 0;
    const uint64_t zero_planes = d->zero_planes;
    const uint32_t loose_row = LAST ? d->loose_row : 0;
    const bool partial = d->planes < d->precision;
    const double step = d->step;
    uint8_t *dst = d->dst;
    const bool dst_aligned = ((uintptr_t)dst & 15) == 0;
    /* One context: symbol k of the segment's run is element k's digit, four at a time. */
    const bool symbols_aligned = !two && ((uintptr_t)(symbols + run0) & 3) == 0;
    /* Every magnitude is below p^P <= 2^32 (narrow_chunk); when p^P * step stays below 2^127 no
     * value reaches FLT_MAX, so F32 needs no clamp (the centres of a partial decode are below p^P
     * too). */
    const bool clamp = !((double)magnitude_reach(d) * step < 0x1p127);
    uint32_t bad = 0, groups = 0;
    /* The content hash (LAST, content not NULL): each lane's output bytes are whole NH pairs of
     * one 4 KiB segment (16-byte aligned pieces of the chunk); a lane sums the pairs of the
     * segment its group starts in, and the warp adds the sums into the CTA's slot when the groups
     * move on to the next segment. A lane in a group that reaches into the next segment (only
     * where a warp's segment is not a multiple of 128 elements) adds its pairs to that slot. */
    uint64_t hash_sum = 0;
    uint32_t hash_segment = ~0u;
    auto hash_flush = [&]() {
        uint64_t total = hash_sum;
#pragma unroll
        for (int o = 16; o; o >>= 1) total += __shfl_xor_sync(FULL_MASK, total, o);
        if (lane == 0 && hash_segment != ~0u) atomicAdd(&content[hash_segment], (unsigned long long)total);
        hash_sum = 0;
    };
    uint64_t hist_lo = 0, hist_hi = 0; /* byte b of lo (hi): elements whose new prefix is b (8 + b) */
    auto flush = [&]() {
#pragma unroll
        for (uint32_t q = 0; q < 4; q++) {
            const uint32_t half = (uint32_t)((q < 2 ? hist_lo : hist_hi) >> (32 * (q & 1)));
            uint64_t wide = (uint64_t)(half & 0xff) | (uint64_t)((half >> 8) & 0xff) << 16 | (uint64_t)((half >> 16) & 0xff) << 32 |
                            (uint64_t)(half >> 24) << 48;
#pragma unroll
            for (int o = 16; o >= 1; o >>= 1) wide += __shfl_xor_sync(FULL_MASK, wide, o);
            if (lane == 0)
                for (uint32_t b = 0; b < 4; b++) seg_hist[4 * q + b] += (uint32_t)(wide >> (16 * b)) & 0xffffu;
        }
        hist_lo = hist_hi = 0;
    };
    /* The partial last group's states, read where they are. */
    auto load_state = [&](uint32_t i0, uint32_t valid) -> uint32_t {
        uint32_t v = 0;
        if (fresh) return 0;
        for (uint32_t e = 0; e < valid; e++) v |= (uint32_t)state[i0 + e] << (8 * e);
        return v;
    };
    /* The whole groups' loads ahead (PREFETCH_AHEAD): group g's states, its digits with one
     * context (symbol k of the segment's run is element k's, and every group before it is whole:
     * they start at run0 + 128 g), and the last plane of a two-plane chunk (the usual one) its one
     * row of earlier digits, into slot g % PREFETCH_SLOTS. One cp.async group per group, empty
     * past the whole ones, so that waiting for PREFETCH_AHEAD - 1 pending leaves group g landed. */
    const bool previous_aligned = LAST && plane == 1 && !(zero_planes & 1) && ((uintptr_t)previous & 3) == 0;
    const uint32_t run_first = run0, whole_groups = seg_begin < seg_end ? (seg_end - seg_begin) / 128 : 0;
    auto digits_ahead = [&](uint32_t g) { return symbols_aligned && run_first + 128 * g + 4 * lane + 4 <= limit; };
    const uint32_t ring_at = shared_address(prefetch_ring) + 4 * lane; /* this lane's word of row 0, slot 0 */
    auto fetch = [&](uint32_t g) {
        if (g < whole_groups) {
            const uint32_t slot = ring_at + 4 * (g % PREFETCH_SLOTS) * PREFETCH_SLOT_WORDS;
            const uint32_t i0 = seg_begin + 128 * g + 4 * lane;
            if (!fresh) copy4_async(slot, state + i0);
            if (digits_ahead(g)) copy4_async(slot + 4 * 32, symbols + run_first + 128 * g + 4 * lane);
            if (previous_aligned) copy4_async(slot + 4 * 64, previous + i0);
        }
        async_commit();
    };
#pragma unroll
    for (uint32_t g = 0; g < PREFETCH_AHEAD; g++) fetch(g);
    /* One group of 128 elements; WHOLE: all 128 are in the segment (every group but its last). */
    auto group = [&](uint32_t g, auto whole) __attribute__((always_inline)) {
        constexpr bool WHOLE = decltype(whole)::value;
        const uint32_t base = seg_begin + 128 * g, i0 = base + 4 * lane;
        const uint32_t valid = WHOLE ? 4u : i0 < seg_end ? min(4u, seg_end - i0) : 0;
        const uint32_t before = WHOLE ? 4 * lane : min(4 * lane, seg_end - base), group_valid = WHOLE ? 128u : min(128u, seg_end - base);
        uint32_t st4, digit_word = 0, previous_word = 0;
        bool have_digits = false, have_previous = false;
        if (WHOLE) {
            async_wait_pending<PREFETCH_AHEAD - 1>();
            const uint32_t *slot = prefetch_ring + (g % PREFETCH_SLOTS) * PREFETCH_SLOT_WORDS;
            st4 = fresh ? 0u : slot[lane];
            have_digits = digits_ahead(g);
            if (have_digits) digit_word = slot[32 + lane];
            have_previous = previous_aligned;
            if (have_previous) previous_word = slot[64 + lane];
            fetch(g + PREFETCH_AHEAD); /* into the slot of group g - 2, read before */
        } else {
            st4 = load_state(i0, valid);
        }
        (void)previous_word, (void)have_previous; /* the last plane's */
        uint32_t ones = 0; /* bit e: element e is in context 1 */
        if (two)
#pragma unroll
            for (uint32_t e = 0; e < 4; e++) ones |= (e < valid && ((st4 >> (8 * e)) & SATURATED)) ? 1u << e : 0u;
        const uint32_t count1 = __popc(ones);
        const uint32_t inclusive1 = two ? warp_inclusive32(count1, lane) : 0;
        const uint32_t total1 = two ? __shfl_sync(FULL_MASK, inclusive1, 31) : 0;
        const uint32_t below1 = inclusive1 - count1, below0 = before - below1;
        uint32_t digit[4];
        if (have_digits) { /* one context: below0 is 4 * lane */
#pragma unroll
            for (uint32_t e = 0; e < 4; e++) digit[e] = (digit_word >> (8 * e)) & 0xff;
        } else {
            uint32_t at0 = run0 + below0, at1 = run1 + below1;
#pragma unroll
            for (uint32_t e = 0; e < 4; e++) {
                const bool one = (ones >> e) & 1;
                const uint32_t at = one ? at1 : at0;
                at1 += one;
                at0 += !one;
                digit[e] = e < valid && at < limit ? symbols[at] : 0;
            }
        }
        run0 += group_valid - total1;
        run1 += total1;
        /* Magnitudes starting here take the next sign bits, in element order. */
        uint32_t starts = 0;
#pragma unroll
        for (uint32_t e = 0; e < 4; e++) starts |= (e < valid && ((st4 >> (8 * e)) & SATURATED) == 0 && digit[e] != 0) ? 1u << e : 0u;
        const uint32_t start_count = __popc(starts), start_inclusive = warp_inclusive32(start_count, lane);
        uint32_t sign = 0; /* bit e: element e's new sign */
        if (starts) {
            const uint32_t k = sign_at + start_inclusive - start_count, byte = k >> 3;
            /* Bits past the stream (k + 3 >= sign_count) are read as they are: only a stream
             * with more starting magnitudes than signs asks for them, and that one fails the
             * count check (SUB_DIGITS) whatever they hold. Both bytes are inside the work area's
             * sign region (n / 8 + 16 bytes) or the padded stage. */
            const uint32_t w = ((uint32_t)signs[byte] | (uint32_t)signs[byte + 1] << 8) >> (k & 7);
            sign = (w & starts & 1u) | ((w >> __popc(starts & 1u)) & (starts >> 1) & 1u) << 1 |
                   ((w >> __popc(starts & 3u)) & (starts >> 2) & 1u) << 2 | ((w >> __popc(starts & 7u)) & (starts >> 3) & 1u) << 3;
        }
        sign_at += __shfl_sync(FULL_MASK, start_inclusive, 31);
        if constexpr (LAST) {
            uint32_t magnitude[4] = {0, 0, 0, 0}; /* below p^P <= 2^32 */
            /* The usual two-plane chunk's one earlier row came with the loads ahead; the other
             * rows are loaded and used inside their own branch. */
            if (have_previous) {
                uint32_t w = previous_word;
                if (loose_row == 1) w &= __vcmpne4(st4 & 0x0f0f0f0fu, 0u); /* its digits where the prefix is not 0 */
#pragma unroll
                for (uint32_t e = 0; e < 4; e++) magnitude[e] = (w >> (8 * e)) & 0xff;
            } else {
                for (uint32_t j = 0; j < plane; j++) {
                    if ((zero_planes >> j) & 1) { /* digits 0, nothing loaded (half the chunks at 1e-3: a zero top plane) */
#pragma unroll
                        for (uint32_t e = 0; e < 4; e++) magnitude[e] *= p;
                        continue;
                    }
                    uint32_t w = 0;
                    const uint8_t *from = previous + j * plane_stride + i0;
                    if (valid == 4 && ((uintptr_t)from & 3) == 0) w = *(const uint32_t *)from;
                    else
                        for (uint32_t e = 0; e < valid; e++) w |= (uint32_t)from[e] << (8 * e);
                    if (j + 1 == loose_row) w &= __vcmpne4(st4 & 0x0f0f0f0fu, 0u);
#pragma unroll
                    for (uint32_t e = 0; e < 4; e++) magnitude[e] = magnitude[e] * p + ((w >> (8 * e)) & 0xff);
                }
            }
            uint64_t bits[4];
#pragma unroll
            for (uint32_t e = 0; e < 4; e++) {
                const uint32_t s = (st4 >> (8 * e)) & 0xff;
                bad |= e < valid && digit[e] >= p;
                const bool negative = (s & SIGN_FLAG) || ((sign >> e) & 1);
                const uint32_t q = magnitude[e] * p + digit[e];
                double v;
                if (partial) v = centre_value(q, d->width, d->centre, step, negative);
                else { /* the CPU's (double)q * step, then the sign */
                    v = __dmul_rn(__uint2double_rn(q), step);
                    if (negative) v = __longlong_as_double(__double_as_longlong(v) | (long long)0x8000000000000000ull);
                }
                bits[e] = value_bits(DTYPE, v, clamp);
            }
            if (content) {
                /* NH pairs (w[2j] + key(2j)) * (w[2j+1] + key(2j+1)), the bytes past the chunk's
                 * end zero, and a pair counted only when it holds one of the chunk's bytes. */
                const uint32_t at = i0 * ELEMENT, word = (at & (CHECKSUM_SEGMENT_BYTES - 1)) >> 2;
                uint64_t h = 0;
#pragma unroll
                for (uint32_t j = 0; j < ELEMENT / 2; j++) { /* pair j: output bytes 8j .. 8j + 7 */
                    uint32_t lo, hi;
                    if (ELEMENT == 2) {
                        lo = (valid > 0 ? (uint32_t)bits[0] : 0u) | (valid > 1 ? (uint32_t)bits[1] << 16 : 0u);
                        hi = (valid > 2 ? (uint32_t)bits[2] : 0u) | (valid > 3 ? (uint32_t)bits[3] << 16 : 0u);
                    } else if (ELEMENT == 4) {
                        lo = 2 * j < valid ? (uint32_t)bits[2 * j] : 0u;
                        hi = 2 * j + 1 < valid ? (uint32_t)bits[2 * j + 1] : 0u;
                    } else {
                        lo = j < valid ? (uint32_t)bits[j] : 0u;
                        hi = j < valid ? (uint32_t)(bits[j] >> 32) : 0u;
                    }
                    const uint32_t first_element = ELEMENT == 2 ? 0 : ELEMENT == 4 ? 2 * j : j;
                    if (first_element < valid) h += nh_pair(lo, hi, word + 2 * j);
                }
                const uint32_t group_segment = (base * ELEMENT) / CHECKSUM_SEGMENT_BYTES, mine = at / CHECKSUM_SEGMENT_BYTES;
                if (group_segment != hash_segment) { /* uniform over the warp */
                    hash_flush();
                    hash_segment = group_segment;
                }
                if (mine == hash_segment) hash_sum += h;
                else if (valid) atomicAdd(&content[mine], (unsigned long long)h);
            }
            if (valid == 4 && dst_aligned && ELEMENT == 4) {
                *(uint4 *)(dst + 4 * (uint64_t)i0) = make_uint4((uint32_t)bits[0], (uint32_t)bits[1], (uint32_t)bits[2], (uint32_t)bits[3]);
            } else if (valid == 4 && dst_aligned && ELEMENT == 2) {
                *(uint2 *)(dst + 2 * (uint64_t)i0) = make_uint2((uint32_t)(bits[0] | bits[1] << 16), (uint32_t)(bits[2] | bits[3] << 16));
            } else if (valid == 4 && dst_aligned && ELEMENT == 8) {
                uint4 *to = (uint4 *)(dst + 8 * (uint64_t)i0);
                to[0] = make_uint4((uint32_t)bits[0], (uint32_t)(bits[0] >> 32), (uint32_t)bits[1], (uint32_t)(bits[1] >> 32));
                to[1] = make_uint4((uint32_t)bits[2], (uint32_t)(bits[2] >> 32), (uint32_t)bits[3], (uint32_t)(bits[3] >> 32));
            } else {
#pragma unroll
                for (uint32_t e = 0; e < 4; e++) {
                    if (e >= valid) break;
                    if (ELEMENT == 4) ((uint32_t *)dst)[i0 + e] = (uint32_t)bits[e];
                    else if (ELEMENT == 8) ((uint64_t *)dst)[i0 + e] = bits[e];
                    else ((uint16_t *)dst)[i0 + e] = (uint16_t)bits[e];
                }
            }
        } else {
            uint32_t new_state = 0, new_digits = 0;
#pragma unroll
            for (uint32_t e = 0; e < 4; e++) {
                const uint32_t s = (st4 >> (8 * e)) & 0xff, prefix = s & SATURATED;
                const uint32_t next = min(prefix * p + digit[e], SATURATED);
                bad |= e < valid && digit[e] >= p;
                new_state |= ((s & SIGN_FLAG) | ((sign >> e) & 1) << 7 | next) << (8 * e);
                new_digits |= digit[e] << (8 * e);
                if (e < valid) {
                    if (next < 8) hist_lo += 1ull << (8 * next);
                    else hist_hi += 1ull << (8 * (next - 8));
                }
            }
            if (valid == 4) {
                *(uint32_t *)(state + i0) = new_state;
                if (out_aligned) *(uint32_t *)(out + i0) = new_digits;
                else
                    for (uint32_t e = 0; e < 4; e++) out[i0 + e] = (uint8_t)(new_digits >> (8 * e));
            } else {
                for (uint32_t e = 0; e < valid; e++) {
                    state[i0 + e] = (uint8_t)(new_state >> (8 * e));
                    out[i0 + e] = (uint8_t)(new_digits >> (8 * e));
                }
            }
            if (++groups == 32) { /* at most 4 x 32 = 128 per byte counter */
                flush();
                groups = 0;
            }
        }
    };
    for (uint32_t g = 0; g < whole_groups; g++) group(g, std::true_type());
    if (seg_begin + 128 * whole_groups < seg_end) group(whole_groups, std::false_type());
    async_wait_all(); /* nothing in flight into the ring when the warp moves on */
    if (!LAST) flush();
    if (LAST && content) hash_flush();
    return bad;
}

/* After a zero or sparse last plane: |q| (or the prefix of the planes decoded) from the digit
 * planes by Horner (below p^P < 2^48, so exact in a double), then x' as the dense last plane
 * computes it. */
__global__ void __launch_bounds__(APPLY_THREADS) reconstruct_kernel(const pchunk_t *chunks, const uint8_t *digits, uint64_t plane_stride)
{
    const pchunk_t *d = &chunks[blockIdx.x];
    if (!d->active || d->key != KEY_NONE || d->fused) return;
    const uint32_t n = d->n, planes = d->planes, dtype = d->dtype;
    const uint64_t p = d->prime;
    const double step = d->step, width = d->width, centre = d->centre;
    const bool partial = planes < d->precision;
    const uint8_t *state = d->state, *first = digits + d->ebase;
    const uint64_t zero_planes = d->zero_planes;
    const bool all_zero = zero_planes + 1 == 1ull << planes; /* no state was written: every element is +0 */
    uint8_t *dst = d->dst;
    for (uint32_t i = threadIdx.x; i < n; i += APPLY_THREADS) {
        uint64_t magnitude = 0;
        for (uint32_t j = 0; j < planes; j++) magnitude = magnitude * p + ((zero_planes >> j) & 1 ? 0 : first[j * plane_stride + i]);
        const bool negative = !all_zero && (state[i] & SIGN_FLAG) != 0;
        store_value(dst, i, dtype, partial ? centre_value(magnitude, width, centre, step, negative) : signed_value(magnitude, step, negative));
    }
}

/* Bitmap escapes: a set bit's rank among the set bits is its value's index; put(index, rank) for
 * each, by the whole CTA. */
template <typename Put>
__device__ static void rewrite_bitmap_escapes(const pchunk_t *d, Put put, uint32_t *warp_total, uint32_t *warp_start, uint32_t *cursor_at)
{
    const uint32_t tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, n = d->n;
    uint32_t &cursor = *cursor_at;
    const uint32_t bytes = (n + 7) / 8;
    for (uint32_t b0 = 0; b0 < bytes; b0 += APPLY_THREADS) {
        const uint32_t b = b0 + tid;
        uint32_t byte = b < bytes ? d->bitmap[b] : 0;
        if (b == n / 8 && n % 8) byte &= (1u << (n % 8)) - 1;
        const uint32_t bits = __popc(byte), inclusive = warp_inclusive32(bits, lane);
        if (lane == 31) warp_total[warp] = inclusive;
        __syncthreads();
        if (warp == 0) {
            const uint32_t v = lane < APPLY_WARPS ? warp_total[lane] : 0, scan = warp_inclusive32(v, lane);
            if (lane < APPLY_WARPS) warp_start[lane] = cursor + scan - v;
        }
        __syncthreads();
        uint32_t k = warp_start[warp] + inclusive - bits;
        for (uint32_t bit = 0; bit < 8; bit++) {
            if (!(byte >> bit & 1)) continue;
            put((uint64_t)b * 8 + bit, k);
            k++;
        }
        __syncthreads();
        if (tid == APPLY_THREADS - 1) cursor = warp_start[warp] + inclusive;
        __syncthreads();
    }
}

/* The escapes' bytes over their elements, after the reconstruction; the content hashes of the
 * segments they land in again where the last plane wrote the hashes. */
__global__ void __launch_bounds__(APPLY_THREADS) escape_kernel(const pchunk_t *chunks)
{
    __shared__ uint32_t warp_total[APPLY_WARPS], warp_start[APPLY_WARPS], cursor;
    __shared__ uint32_t touched[CONTENT_SLOTS / 32]; /* content segments an escape was written into */
    const pchunk_t *d = &chunks[blockIdx.x];
    if (!d->active || d->key != KEY_NONE || d->escapes == 0) return;
    const uint32_t tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, element = d->element, n = d->n;
    const uint8_t *values = d->payload + d->escape_values;
    uint8_t *dst = d->dst;
    const bool rehash = d->content_hashed;
    if (tid < CONTENT_SLOTS / 32) touched[tid] = 0;
    if (tid == 0) cursor = 0;
    __syncthreads();
    auto put = [&](uint64_t index, uint32_t k) {
        for (uint32_t b = 0; b < element; b++) dst[index * element + b] = __ldg(values + (uint64_t)k * element + b);
        if (rehash) {
            const uint32_t segment = (uint32_t)(index * element / CHECKSUM_SEGMENT_BYTES);
            atomicOr(&touched[segment / 32], 1u << (segment % 32));
        }
    };
    if (d->escape_form == ESCAPES_DELTAS) {
        if (warp == 0) {
            uint64_t bytes = 0;
            walk_varints(d->payload + d->escape_list, d->escape_values - d->escape_list, d->escapes, lane, &bytes,
                         [&](bool mine, uint32_t k, uint64_t index) {
                             if (mine) put(index, k);
                             return true;
                         });
        }
    } else {
        rewrite_bitmap_escapes(d, put, warp_total, warp_start, &cursor);
    }
    if (!rehash) return;
    /* The segments written into, hashed again (the last plane hashed them before the escapes). */
    __syncthreads();
    const uint64_t raw = (uint64_t)n * element;
    const uint32_t segments = (uint32_t)ceil_div(raw, CHECKSUM_SEGMENT_BYTES);
    for (uint32_t s = warp; s < segments; s += APPLY_WARPS) {
        if (!((touched[s / 32] >> (s % 32)) & 1)) continue;
        const uint64_t at = (uint64_t)s * CHECKSUM_SEGMENT_BYTES;
        const uint64_t hash = warp_written_segment_hash(dst + at, (uint32_t)min((uint64_t)CHECKSUM_SEGMENT_BYTES, raw - at), lane);
        if (lane == 0) d->content[s] = hash;
    }
}

__global__ void finalize_kernel(const pchunk_t *chunks, uint32_t count)
{
    const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const unsigned long long key = chunks[i].key;
    if (key != KEY_NONE) atomicCAS(chunks[i].code, 0u, (uint32_t)(key & 0xff));
    if (chunks[i].partial) *chunks[i].partial = 1;
}

/* ---- Host ---------------------------------------------------------------------------------------- */

/* Grows a work area only once nothing queued still uses it: a host frame's record groups reuse
 * the areas one after another on one stream (decode_planned), and the side stream's checksums
 * read them. */
static saraphis_status_t reserve_device(gpu_state_t *state, cudaStream_t stream, int which, size_t size)
{
    if (state->padic_capacity[which] < size) {
        CUDA_TRY(cudaStreamSynchronize(stream), "gpu_decompress: the bounded decoder's work before its areas grow");
        if (state->padic_side) CUDA_TRY(cudaStreamSynchronize(state->padic_side), "gpu_decompress: the bounded checksums before the areas grow");
    }
    return gpu_grow_device(state, &state->d_padic[which], &state->padic_capacity[which], size);
}

static saraphis_status_t reserve_host(gpu_state_t *state, size_t size)
{
    return gpu_grow_pinned(&state->h_padic, &state->h_padic_capacity, size, "gpu_decompress: pinned memory for the bounded chunks");
}

void gpu_padic_release(gpu_state_t *state)
{
    for (int k = 0; k < 2; k++) {
        if (state->d_padic[k]) state->allocator.release(state->allocator.user, state->d_padic[k]);
        state->d_padic[k] = NULL;
        state->padic_capacity[k] = 0;
    }
    if (state->h_padic) cudaFreeHost(state->h_padic);
    state->h_padic = NULL;
    state->h_padic_capacity = 0;
    if (state->padic_side) cudaStreamDestroy(state->padic_side);
    if (state->padic_fork) cudaEventDestroy(state->padic_fork);
    if (state->padic_join) cudaEventDestroy(state->padic_join);
    if (state->padic_start) cudaEventDestroy(state->padic_start);
    state->padic_side = NULL;
    state->padic_fork = state->padic_join = state->padic_start = NULL;
}

static saraphis_status_t side_stream(gpu_state_t *state)
{
    if (!state->padic_side) CUDA_TRY(cudaStreamCreateWithFlags(&state->padic_side, cudaStreamNonBlocking), "gpu_decompress: a stream");
    if (!state->padic_fork) CUDA_TRY(cudaEventCreateWithFlags(&state->padic_fork, cudaEventDisableTiming), "gpu_decompress: an event");
    if (!state->padic_join) CUDA_TRY(cudaEventCreateWithFlags(&state->padic_join, cudaEventDisableTiming), "gpu_decompress: an event");
    if (!state->padic_start) CUDA_TRY(cudaEventCreateWithFlags(&state->padic_start, cudaEventDisableTiming), "gpu_decompress: an event");
    return SARAPHIS_OK;
}

saraphis_status_t gpu_padic_begin(gpu_state_t *state, cudaStream_t stream, bool beside, const gpu_padic_chunk_t *chunks, size_t count,
                                  unsigned planes, gpu_padic_plan_t *plan)
{
    plan->count = count;
    plan->beside = beside;
    if (count == 0) return SARAPHIS_OK;
    if (count >= (1u << 26)) return error_set(SARAPHIS_ERROR_LIMIT, "gpu_decompress: %zu chunks in one batch", count);
    /* The upload block (chunk list, segment starts, summary) is laid out from the count alone, so
     * that one pass over the chunks fills it and sums the sizes from the host's knowledge (the
     * frames' dtypes and chunk sizes): the work areas, the stream work items and checksum
     * segments any record of that size can need. */
    const size_t off_ins = 0;
    const size_t off_segments = align_up(off_ins + count * sizeof(padic_in_t), 16);
    const size_t off_summary = align_up(off_segments + (count + 1) * sizeof(uint32_t), 16);
    const size_t upload = off_summary + 16; /* summary: u32 [0], [1], u64 [2, 3] (head_chunk) */
    SPS_TRY(reserve_host(state, upload + 16)); /* the summary comes back after the upload */
    SPS_TRY(side_stream(state));
    uint8_t *h = (uint8_t *)state->h_padic;
    padic_in_t *h_ins = (padic_in_t *)(h + off_ins);
    uint32_t *h_segments = (uint32_t *)(h + off_segments);
    uint64_t work_at = 0, elements = 0, segments = 0;
    uint32_t item_stride = 0;   /* the most stream work items a chunk of the batch can have */
    uint32_t bitmap_stride = 0; /* the most an escape bitmap can have */
    for (size_t c = 0; c < count; c++) {
        const uint32_t element = padic_element(chunks[c].dtype);
        const uint32_t n = element && chunks[c].raw_size % element == 0 ? chunks[c].raw_size / element : 0;
        padic_in_t *in = &h_ins[c];
        in->record = chunks[c].record;
        in->dst = chunks[c].dst;
        in->code = chunks[c].code;
        in->partial = chunks[c].partial;
        in->content = chunks[c].content;
        in->hashed = chunks[c].hashed;
        in->work = work_at;
        in->ebase = elements;
        in->record_size = chunks[c].record_size;
        in->raw_size = chunks[c].raw_size;
        in->dtype = chunks[c].dtype;
        in->n = n;
        h_segments[c] = (uint32_t)segments; /* below 2^31, or the call fails below */
        work_at += work_bytes(n);
        elements += n;
        segments += segment_cap(chunks[c].record_size);
        item_stride = max(item_stride, item_cap(n));
        bitmap_stride = max(bitmap_stride, (uint32_t)ceil_div(ceil_div(n, 8), BLOCK_SYMBOLS));
    }
    if ((uint64_t)item_stride * count >= (1ull << 31) || segments >= (1ull << 31))
        return error_set(SARAPHIS_ERROR_LIMIT, "gpu_decompress: bounded chunks too large for one pass");
    h_segments[count] = (uint32_t)segments;
    memset(h + off_summary, 0, 16);
    const size_t off_chunks = align_up(upload, 256);
    const size_t off_hashes = align_up(off_chunks + count * sizeof(pchunk_t), 256);
    const size_t off_slots = align_up(off_hashes + segments * sizeof(uint64_t), 256);
    const size_t off_work = align_up(off_slots + segments * sizeof(segment_t), 256);
    SPS_TRY(reserve_device(state, stream, 0, off_work + work_at));
    plan->upload = upload;
    plan->off_chunks = off_chunks;
    plan->elements = elements;
    plan->item_stride = item_stride;
    plan->bitmap_stride = bitmap_stride;
    uint8_t *dev = (uint8_t *)state->d_padic[0];
    const padic_in_t *d_ins = (const padic_in_t *)(dev + off_ins);
    const uint32_t *d_segments = (const uint32_t *)(dev + off_segments);
    uint32_t *d_summary = (uint32_t *)(dev + off_summary);
    pchunk_t *d_chunks = (pchunk_t *)(dev + off_chunks);
    uint64_t *d_hashes = (uint64_t *)(dev + off_hashes);
    segment_t *d_slots = (segment_t *)(dev + off_slots);
    uint8_t *d_work = dev + off_work;
    const uint32_t chunk_count = (uint32_t)count;
    const uint32_t chunk_grid = (chunk_count + HEAD_WARPS - 1) / HEAD_WARPS;
    const uint32_t hash_grid = (uint32_t)min((uint64_t)state->sm_count * 4, (segments + HASH_WARPS_PER_CTA - 1) / HASH_WARPS_PER_CTA);
    /* The head kernel needs only the records and this upload. `beside`: it runs on the side
     * stream, from where the caller's stream is now (the records are there), beside whatever the
     * caller queues next (the batch decoder's expansion, parse and decode), and the piece
     * checksums follow it there. Otherwise it runs on the caller's stream. The summary comes
     * back behind it, and padic_fork marks both. */
    cudaStream_t side = state->padic_side, head_stream = beside ? side : stream;
    if (beside) {
        CUDA_TRY(cudaEventRecord(state->padic_start, stream), "gpu_decompress: ordering the bounded chunk headers");
        CUDA_TRY(cudaStreamWaitEvent(side, state->padic_start, 0), "gpu_decompress: ordering the bounded chunk headers");
    }
    CUDA_TRY(cudaMemcpyAsync(dev, h, upload, cudaMemcpyHostToDevice, head_stream), "gpu_decompress: bounded chunk plan");
    head_kernel<<<chunk_grid, HEAD_WARPS * 32, 0, head_stream>>>(d_ins, d_chunks, chunk_count, d_work, d_summary, planes, d_segments, d_slots);
    /* The one synchronisation (in finish): the most planes decoded set the rounds and the digit
     * planes' size. On the side stream the piece checksums (they need the head kernel's segment
     * lists); they only lower chunks' error keys (a failing stage's key is below those of the
     * stages after it, whatever ran); finalize waits for them. From here on, every return joins
     * the side stream first: nothing it runs may still read the caller's records when the call
     * returns. */
    uint32_t *h_summary = (uint32_t *)(h + upload);
    cudaError_t e = cudaMemcpyAsync(h_summary, d_summary, 16, cudaMemcpyDeviceToHost, head_stream);
    if (e == cudaSuccess) e = cudaEventRecord(state->padic_fork, head_stream);
    if (e == cudaSuccess && !beside) e = cudaStreamWaitEvent(side, state->padic_fork, 0);
    if (e == cudaSuccess) {
        if (hash_grid) hash_kernel<<<hash_grid, HASH_WARPS_PER_CTA * 32, 0, side>>>(d_slots, (uint32_t)segments, d_hashes);
        digest_kernel<<<(uint32_t)(((uint64_t)chunk_count * PIECES_MAX + 127) / 128), 128, 0, side>>>(d_chunks, d_segments, chunk_count, d_hashes);
        e = cudaEventRecord(state->padic_join, side);
    }
    if (e == cudaSuccess) e = cudaGetLastError();
    if (e != cudaSuccess) {
        cudaStreamSynchronize(stream);
        cudaStreamSynchronize(side);
        return gpu_cuda_fail(e, "gpu_decompress: bounded chunk headers");
    }
    return SARAPHIS_OK;
}

saraphis_status_t gpu_padic_finish(gpu_state_t *state, cudaStream_t stream, const gpu_padic_plan_t *plan, double *bound_out)
{
    *bound_out = 0;
    if (plan->count == 0) return SARAPHIS_OK;
    uint8_t *h = (uint8_t *)state->h_padic;
    uint8_t *dev = (uint8_t *)state->d_padic[0];
    pchunk_t *d_chunks = (pchunk_t *)(dev + plan->off_chunks);
    const uint64_t elements = plan->elements;
    const uint32_t item_stride = plan->item_stride, bitmap_stride = plan->bitmap_stride;
    const uint32_t chunk_count = (uint32_t)plan->count;
    const uint32_t chunk_grid = (chunk_count + HEAD_WARPS - 1) / HEAD_WARPS;
    const uint32_t finalize_grid = (chunk_count + 127) / 128;
    const uint32_t stream_grid = (item_stride * chunk_count + DECODE_WARPS - 1) / DECODE_WARPS;
    const uint32_t bitmap_grid = (bitmap_stride * chunk_count + DECODE_WARPS - 1) / DECODE_WARPS;
    cudaStream_t side = state->padic_side;
    /* The first round's parse and streams need no answer from the summary (they leave alone a
     * chunk with fewer planes: with none to decode, rounds is 0, and they do nothing): queued
     * before the host waits, so that the device has work while the summary comes back. */
    cudaError_t e = plan->beside ? cudaStreamWaitEvent(stream, state->padic_fork, 0) : cudaSuccess;
    if (e == cudaSuccess) {
        plane_parse_kernel<<<chunk_grid, HEAD_WARPS * 32, 0, stream>>>(d_chunks, chunk_count, 0);
        stream_kernel<<<stream_grid, DECODE_WARPS * 32, 0, stream>>>(d_chunks, chunk_count, item_stride, stage_plane(0));
        e = cudaGetLastError();
    }
    if (e == cudaSuccess) e = cudaEventSynchronize(state->padic_fork);
    if (e != cudaSuccess) {
        cudaStreamSynchronize(side);
        return gpu_cuda_fail(e, "gpu_decompress: bounded chunk headers");
    }
    const uint32_t *h_summary = (const uint32_t *)(h + plan->upload);
    const uint32_t rounds = h_summary[0], bitmaps = h_summary[1];
    uint64_t bound_bits;
    memcpy(&bound_bits, h_summary + 2, 8);
    memcpy(bound_out, &bound_bits, 8);
    uint8_t *d_digits = NULL;
    saraphis_status_t status = SARAPHIS_OK;
    if (rounds) {
        status = reserve_device(state, stream, 1, (size_t)rounds * elements + 16);
        d_digits = (uint8_t *)state->d_padic[1];
    }
    for (uint32_t j = 0; j < rounds && status == SARAPHIS_OK; j++) {
        if (j) {
            plane_parse_kernel<<<chunk_grid, HEAD_WARPS * 32, 0, stream>>>(d_chunks, chunk_count, j);
            stream_kernel<<<stream_grid, DECODE_WARPS * 32, 0, stream>>>(d_chunks, chunk_count, item_stride, stage_plane(j));
        }
        plane_apply_kernel<true><<<chunk_count, APPLY_THREADS, 0, stream>>>(d_chunks, d_digits, elements, j);
        plane_apply_kernel<false><<<chunk_count, APPLY_THREADS, 0, stream>>>(d_chunks, d_digits, elements, j);
    }
    if (status != SARAPHIS_OK) {
        cudaStreamSynchronize(side);
        return status;
    }
    /* The escape bitmaps' stage, only in a batch that has a bitmap: the escape pass is the first
     * to read one. */
    if (bitmaps) {
        stream_kernel<<<bitmap_grid, DECODE_WARPS * 32, 0, stream>>>(d_chunks, chunk_count, bitmap_stride, 1);
        bitmap_check_kernel<<<chunk_count, APPLY_THREADS, 0, stream>>>(d_chunks);
    }
    if (rounds) {
        reconstruct_kernel<<<chunk_count, APPLY_THREADS, 0, stream>>>(d_chunks, d_digits, elements);
        escape_kernel<<<chunk_count, APPLY_THREADS, 0, stream>>>(d_chunks);
    }
    e = cudaStreamWaitEvent(stream, state->padic_join, 0);
    if (e != cudaSuccess) {
        cudaStreamSynchronize(side);
        return gpu_cuda_fail(e, "gpu_decompress: bounded chunk checksums");
    }
    finalize_kernel<<<finalize_grid, 128, 0, stream>>>(d_chunks, chunk_count);
    CUDA_TRY(cudaGetLastError(), "gpu_decompress: bounded chunk kernels");
    return SARAPHIS_OK;
}

saraphis_status_t gpu_padic_decode(gpu_state_t *state, cudaStream_t stream, const gpu_padic_chunk_t *chunks, size_t count,
                                   unsigned planes, double *bound_out)
{
    gpu_padic_plan_t plan;
    *bound_out = 0;
    SPS_TRY(gpu_padic_begin(state, stream, false, chunks, count, planes, &plan));
    return gpu_padic_finish(state, stream, &plan, bound_out);
}
