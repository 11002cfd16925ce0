/* Device helpers shared by the GPU codec's kernels (decode, encode, checksums): little-endian
 * loads, warp sums, cp.async staging, the segment hash of the checksum and XXH64 over the hashes.
 * Header-only: every .cu file compiles its own copy (no relocatable device code). */
#ifndef SARAPHIS_GPU_DEVICE_CUH
#define SARAPHIS_GPU_DEVICE_CUH

#include <stdint.h>

extern "C" {
#include "codec/rans.h"
#include "common/checksum.h"
}

__device__ __forceinline__ uint32_t dev_le16(const uint8_t *p) { return (uint32_t)__ldg(p) | (uint32_t)__ldg(p + 1) << 8; }
__device__ __forceinline__ uint32_t dev_le32(const uint8_t *p)
{
    return (uint32_t)__ldg(p) | (uint32_t)__ldg(p + 1) << 8 | (uint32_t)__ldg(p + 2) << 16 | (uint32_t)__ldg(p + 3) << 24;
}
__device__ __forceinline__ uint64_t dev_le64(const uint8_t *p) { return (uint64_t)dev_le32(p) | (uint64_t)dev_le32(p + 4) << 32; }
__device__ __forceinline__ uint32_t lanemask_lt(uint32_t lane) { return (1u << lane) - 1u; }
/* The same mask read from the special register: one instruction where the compiler would rather
 * recompute than keep a register for it (the decode loop). */
__device__ __forceinline__ uint32_t lanemask_lt_sreg(void)
{
    uint32_t mask;
    asm("mov.u32 %0, %%lanemask_lt;" : "=r"(mask));
    return mask;
}


/* Warp sums (every lane gets the total). */
__device__ __forceinline__ uint32_t warp_sum32(uint32_t v)
{
#pragma unroll
    for (int o = 16; o; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* A shared-memory pointer as its 32-bit address in the shared window (what cp.async takes). */
__device__ __forceinline__ uint32_t shared_address(const void *smem) { return (uint32_t)__cvta_generic_to_shared(smem); }
__device__ __forceinline__ void copy16_async(uint8_t *smem, const uint8_t *global)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared_address(smem)), "l"(global) : "memory");
#else
    *(uint4 *)smem = __ldg((const uint4 *)global);
#endif
}
/* Four bytes (both addresses 4-byte aligned; smem from shared_address) copied to shared memory
 * without a register: a load ahead that nothing waits on until its group is waited for. */
__device__ __forceinline__ void copy4_async(uint32_t smem, const void *global)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(smem), "l"(global) : "memory");
#else
    asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(smem), "r"(*(const uint32_t *)global) : "memory");
#endif
}
/* Waits until at most N of this thread's committed cp.async groups are still in flight. */
template <int N>
__device__ __forceinline__ void async_wait_pending(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}
__device__ __forceinline__ void async_commit(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void async_wait_all(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
#endif
}

/* ---- The segment hash of the segmented checksum (common/checksum.h) ------------------------ */

/* One NH pair: words `word` and `word + 1` of a segment, a and b, with their keys. */
__device__ __forceinline__ uint64_t nh_pair(uint32_t a, uint32_t b, uint32_t word)
{
    return (uint64_t)(a + checksum_key(word)) * (uint32_t)(b + checksum_key(word + 1));
}

/* NH of one segment (length <= CHECKSUM_SEGMENT_BYTES bytes at start), by a whole warp; every
 * lane gets the result. Lane l takes the 16 bytes at 16 l + 512 k (two pairs): one 16-byte load
 * where aligned, else five aligned words and funnel shifts, byte loads (zeros past the end) for a
 * piece too close to the end for those. The bytes must not change during the kernel (read-only
 * cache loads); bytes an earlier kernel wrote are fine. */
/* A whole, 16-byte aligned segment: every lane issues its eight 16-byte loads before the first
 * multiply, so a warp has the whole 4 KiB in flight (one load at a time left the hash kernels
 * latency-bound, well under the memory's bandwidth). */
#define SEGMENT_LOADS (CHECKSUM_SEGMENT_BYTES / 512)
__device__ static uint64_t warp_full_segment_hash(const uint4 *start, uint32_t lane)
{
    uint4 v[SEGMENT_LOADS];
#pragma unroll
    for (int j = 0; j < SEGMENT_LOADS; j++) v[j] = __ldg(start + lane + 32 * j);
    uint64_t sum = 0;
#pragma unroll
    for (int j = 0; j < SEGMENT_LOADS; j++) {
        const uint32_t i = 4 * lane + 128 * j; /* index of the u32 word v[j].x */
        sum += nh_pair(v[j].x, v[j].y, i);
        sum += nh_pair(v[j].z, v[j].w, i + 2);
    }
#pragma unroll
    for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    return sum;
}

/* NH of bytes this warp wrote earlier in the same kernel (after a __syncwarp): loads through L2
 * (ld.global.cg: the read-only path may not see them), four 16-byte loads in flight at a time, so
 * that a decode loop calling it between windows needs few registers for it. `start` is 16-byte
 * aligned; `length` (<= CHECKSUM_SEGMENT_BYTES) is zero-padded to a multiple of 8 as the format
 * says. */
__device__ static uint64_t warp_written_segment_hash(const uint8_t *start, uint32_t length, uint32_t lane)
{
    uint64_t sum = 0;
    if (length == CHECKSUM_SEGMENT_BYTES) {
#pragma unroll 1
        for (int half = 0; half < 2; half++) {
            uint4 v[SEGMENT_LOADS / 2];
#pragma unroll
            for (int j = 0; j < SEGMENT_LOADS / 2; j++) v[j] = __ldcg((const uint4 *)start + lane + 32 * (j + half * SEGMENT_LOADS / 2));
#pragma unroll
            for (int j = 0; j < SEGMENT_LOADS / 2; j++) {
                const uint32_t i = 4 * lane + 128 * (j + half * SEGMENT_LOADS / 2);
                sum += nh_pair(v[j].x, v[j].y, i);
                sum += nh_pair(v[j].z, v[j].w, i + 2);
            }
        }
    } else {
        /* The last, partial segment of a tensor: word by word, the last word byte by byte. */
        for (uint32_t u = 16 * lane; u < length; u += 512) {
            uint32_t w[4];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const uint32_t at = u + 4 * j;
                if (at + 4 <= length) {
                    w[j] = __ldcg((const unsigned int *)(start + at));
                } else {
                    w[j] = 0;
                    for (uint32_t b = 0; at + b < length; b++) w[j] |= (uint32_t)__ldcg((const unsigned char *)(start + at + b)) << (8 * b);
                }
            }
            const uint32_t i = u / 4;
            sum += nh_pair(w[0], w[1], i);
            if (u + 8 < length) sum += nh_pair(w[2], w[3], i + 2);
        }
    }
#pragma unroll
    for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    return sum;
}

/* Words [k, k + 4) of the 32-byte window a:b shifted right by `shift` bits (k, shift uniform over the
 * warp): the 16 bytes at byte offset 4k + shift/8 of the window. */
__device__ __forceinline__ void window_words(const uint4 &a, const uint4 &b, uint32_t k, uint32_t shift, uint32_t w[4])
{
    uint32_t y0 = a.x, y1 = a.y, y2 = a.z, y3 = a.w, y4 = b.x, y5 = b.y, y6 = b.z;
    if (k & 2) y0 = y2, y1 = y3, y2 = y4, y3 = y5, y4 = y6;
    if (k & 1) y0 = y1, y1 = y2, y2 = y3, y3 = y4, y4 = (k & 2) ? b.w : y5;
    w[0] = __funnelshift_r(y0, y1, shift);
    w[1] = __funnelshift_r(y1, y2, shift);
    w[2] = __funnelshift_r(y2, y3, shift);
    w[3] = __funnelshift_r(y3, y4, shift);
}

/* A whole segment at any alignment (a record's bytes start anywhere): the aligned 16-byte pieces
 * covering it, all loads in flight first, the words taken out of each pair of neighbouring pieces.
 * Reads up to 16 bytes past the segment: the caller says they are inside the same buffer. */
__device__ static uint64_t warp_full_segment_hash_shifted(const uint8_t *start, uint32_t lane)
{
    const uint4 *base = (const uint4 *)((uintptr_t)start & ~(uintptr_t)15);
    const uint32_t offset = (uint32_t)((uintptr_t)start & 15), k = offset >> 2, shift = (offset & 3) * 8;
    uint4 a[SEGMENT_LOADS], b[SEGMENT_LOADS];
#pragma unroll
    for (int j = 0; j < SEGMENT_LOADS; j++) {
        a[j] = __ldg(base + lane + 32 * j);
        b[j] = __ldg(base + lane + 32 * j + 1);
    }
    uint64_t sum = 0;
#pragma unroll
    for (int j = 0; j < SEGMENT_LOADS; j++) {
        uint32_t w[4];
        window_words(a[j], b[j], k, shift, w);
        const uint32_t i = 4 * lane + 128 * j;
        sum += nh_pair(w[0], w[1], i);
        sum += nh_pair(w[2], w[3], i + 2);
    }
#pragma unroll
    for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    return sum;
}

/* `readable_past`: the 16 bytes after [start, start + length) may be read (same buffer). */
__device__ static uint64_t warp_segment_hash(const uint8_t *start, uint32_t length, uint32_t lane, bool readable_past = false)
{
    if (length == CHECKSUM_SEGMENT_BYTES && ((uintptr_t)start & 15) == 0) return warp_full_segment_hash((const uint4 *)start, lane);
    if (length == CHECKSUM_SEGMENT_BYTES && readable_past) return warp_full_segment_hash_shifted(start, lane);
    uint64_t sum = 0;
    const uint32_t shift = (uint32_t)((uintptr_t)start & 3) * 8;
    for (uint32_t u = 16 * lane; u < length; u += 512) {
        const uint8_t *p = start + u;
        uint32_t w[4];
        if (u + 16 <= length && ((uintptr_t)p & 15) == 0) {
            const uint4 v = __ldg((const uint4 *)p);
            w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
        } else if (u + 16 <= length && shift == 0) {
#pragma unroll
            for (int j = 0; j < 4; j++) w[j] = __ldg((const uint32_t *)p + j);
        } else if (u + 20 <= length) {
            const uint32_t *base = (const uint32_t *)((uintptr_t)p & ~(uintptr_t)3);
            uint32_t x[5];
#pragma unroll
            for (int j = 0; j < 5; j++) x[j] = __ldg(base + j);
#pragma unroll
            for (int j = 0; j < 4; j++) w[j] = __funnelshift_r(x[j], x[j + 1], shift);
        } else {
#pragma unroll
            for (int j = 0; j < 4; j++) {
                w[j] = 0;
                for (uint32_t b = 0; b < 4; b++)
                    if (u + 4 * j + b < length) w[j] |= (uint32_t)__ldg(p + 4 * j + b) << (8 * b);
            }
        }
        const uint32_t i = u >> 2;
        sum += nh_pair(w[0], w[1], i);
        if (u + 8 < length) sum += nh_pair(w[2], w[3], i + 2);
    }
#pragma unroll
    for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    return sum;
}

/* Inclusive prefix sum over the warp. */
__device__ __forceinline__ uint32_t warp_inclusive32(uint32_t v, uint32_t lane)
{
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        uint32_t other = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= (uint32_t)o) v += other;
    }
    return v;
}

/* ---- rANS encoding (rans_encode_block_portable's words), by a whole warp ----------------------- */

/* The encoder's view of a normalised table (256 frequencies): fc[s] = freq | cum << 16 and the
 * two halves of rans_encoder_table_init's reciprocal ceil-ish(2^64 / freq), built by a warp. */
__device__ __forceinline__ void rans_encoder_tables(const uint16_t *freq, uint32_t *fc, uint32_t *reciprocal_lo, uint32_t *reciprocal_hi,
                                                    uint32_t lane)
{
    uint32_t f8[8], local = 0;
#pragma unroll
    for (int k = 0; k < 8; k++) { f8[k] = freq[8 * lane + k]; local += f8[k]; }
    uint32_t cum = warp_inclusive32(local, lane) - local;
#pragma unroll
    for (int k = 0; k < 8; k++) {
        const uint32_t f = f8[k], sym = 8 * lane + k;
        fc[sym] = f | cum << 16;
        const unsigned long long r = f > 1 ? ~0ull / f + ((f & (f - 1)) == 0) + 1 : 0;
        reciprocal_lo[sym] = (uint32_t)r;
        reciprocal_hi[sym] = (uint32_t)(r >> 32);
        cum += f;
    }
}

/* One step of a block's encoding, a symbol per lane (lane l: symbol l of a group of 32; lanes
 * past the block's end inactive), groups taken last to first: the lanes that shed a 16-bit word
 * store it below *cursor in descending lane order (the order rans_encode_block_portable writes
 * them), then every active lane's state takes its symbol. Returns the new state. */
__device__ __forceinline__ uint32_t rans_encode_step(uint32_t x, uint32_t sym, bool active, uint32_t fc, const uint32_t *reciprocal_lo,
                                                     const uint32_t *reciprocal_hi, uint16_t *words, uint32_t *cursor, uint32_t lane)
{
    const uint32_t f = fc & 0xffff;
    const bool shed = active && x >= (f << (32 - RANS_PROB_BITS));
    const uint32_t mask = __ballot_sync(0xffffffffu, shed);
    const uint32_t low = *cursor - __popc(mask);
    if (shed) {
        words[low + __popc(mask & lanemask_lt(lane))] = (uint16_t)x;
        x >>= 16;
    }
    *cursor = low;
    if (active) {
        /* floor(x * reciprocal / 2^64) from the reciprocal's 32-bit halves: the low half's product
         * contributes only its high word (it cannot carry). */
        const uint32_t q = f > 1 ? (uint32_t)(((unsigned long long)x * reciprocal_hi[sym] + __umulhi(x, reciprocal_lo[sym])) >> 32) : x;
        x = x + q * (RANS_PROB_SCALE - f) + (fc >> 16);
    }
    return x;
}

/* A symbol of rans_encoder_table_init as one 16-byte entry, so that a step reads it with one
 * shared-memory load: the reciprocal's low and high halves, the complement RANS_PROB_SCALE - f and
 * cum. A frequency of 1 has no 64-bit reciprocal: it takes 2^64 - 1, whose quotient x - 1 is one
 * short for every state x >= 1 (after renormalisation x >= 16), and the complement that the
 * missing 1 would have added is added to its cum instead. Absent symbols are all zero. */
__host__ __device__ inline uint4 rans_encoder_entry(uint32_t f, uint32_t cum)
{
    if (!f) return make_uint4(0, 0, 0, 0);
    const unsigned long long r = f > 1 ? ~0ull / f + ((f & (f - 1)) == 0) + 1 : ~0ull;
    const uint32_t complement = RANS_PROB_SCALE - f;
    return make_uint4((uint32_t)r, (uint32_t)(r >> 32), complement, cum + (f == 1 ? complement : 0));
}

/* rans_encode_step from the symbol's entry (rans_encoder_entry): the lanes that shed a word store
 * it at cursor[-(shedding lanes at or above it)], which is descending lane order below the cursor,
 * and the cursor moves below them. lanemask_ge: the lanes at or above this one. Inactive lanes
 * (past a block's end, only in its last group) keep their state. */
__device__ __forceinline__ uint32_t rans_encode_entry_step(uint32_t x, uint4 entry, bool active, uint16_t *&cursor, uint32_t lanemask_ge)
{
    const uint32_t complement = entry.z;
    /* x >= f << (32 - RANS_PROB_BITS), from the complement: (x >> 20) >= f. */
    const bool shed = active && (x >> (32 - RANS_PROB_BITS)) + complement >= RANS_PROB_SCALE;
    const uint32_t mask = __ballot_sync(0xffffffffu, shed);
    if (shed) cursor[-(int32_t)__popc(mask & lanemask_ge)] = (uint16_t)x;
    cursor -= __popc(mask);
    x = shed ? x >> 16 : x;
    /* floor(x * reciprocal / 2^64) from the reciprocal's halves (the low half's product adds only
     * its high word: it cannot carry). */
    const uint32_t q = (uint32_t)(((unsigned long long)x * entry.y + __umulhi(x, entry.x)) >> 32);
    const uint32_t next = x + q * complement + entry.w;
    return active ? next : x;
}

/* ---- rANS tables (codec/rans.c's serialised form), by a whole warp ----------------------------- */

/* rans_table_read: returns the table's byte count, 0 when invalid. Run by a whole warp (every lane
 * gets the answer). Lane l looks at byte base + l of each 32-byte window; a byte starts an entry when
 * the byte before it has no 0x80 bit. That rule and the CPU's sequential walk agree on every entry up
 * to the first two-byte entry whose second byte has the 0x80 bit, and that entry's frequency is at
 * least 2^14 >= RANS_PROB_SCALE, so both call the table invalid there: validity (the only outcome)
 * is the same. */
__device__ static uint32_t rans_parse_table(const uint8_t *src, uint64_t size, uint32_t lane)
{
    if (size < 2) return 0;
    uint32_t first = __ldg(src), last = __ldg(src + 1);
    if (last < first) return 0;
    const uint32_t count = last - first + 1;
    const uint64_t limit = min(size, (uint64_t)2 + 2 * (uint64_t)count);
    uint32_t running = 0, total = 0, present = 0, bad = 0, end = 0;
    for (uint64_t base = 2; base < limit && running < count; base += 32) {
        uint64_t q = base + lane;
        bool valid = q < limit;
        uint32_t byte = valid ? __ldg(src + q) : 0;
        uint32_t previous = valid && q > 2 ? __ldg(src + q - 1) : 0;
        bool lead = valid && !(previous & 0x80);
        uint32_t mask = __ballot_sync(0xffffffffu, lead);
        uint32_t index = running + __popc(mask & lanemask_lt(lane));
        running += __popc(mask);
        if (lead && index < count) {
            uint32_t f = byte, bytes = 1;
            if (byte & 0x80) {
                bytes = 2;
                if (q + 1 >= size) bad = 1, f = 0;
                else f = (byte & 0x7f) | ((uint32_t)__ldg(src + q + 1) << 7);
            }
            if (f >= RANS_PROB_SCALE) bad = 1;
            total += f;
            present += f != 0;
            if (index == count - 1) end = (uint32_t)(q + bytes);
        }
    }
    if (running < count) return 0;
    bad = __any_sync(0xffffffffu, bad);
    total = warp_sum32(total);
    present = warp_sum32(present);
    end = warp_sum32(end);
    if (bad || total != RANS_PROB_SCALE || present < 2) return 0;
    return end;
}

/* The frequencies of a table rans_parse_table accepted, as fc[s] = freq | cum << 16. */
__device__ static void rans_freq_cum(const uint8_t *table, uint32_t table_bytes, uint32_t *fc, uint32_t lane)
{
    for (uint32_t j = lane; j < 256; j += 32) fc[j] = 0;
    __syncwarp();
    uint32_t first = __ldg(table), running = 0;
    for (uint32_t base = 2; base < table_bytes; base += 32) {
        uint32_t q = base + lane;
        bool valid = q < table_bytes;
        uint32_t byte = valid ? __ldg(table + q) : 0;
        uint32_t previous = valid && q > 2 ? __ldg(table + q - 1) : 0;
        bool lead = valid && !(previous & 0x80);
        uint32_t mask = __ballot_sync(0xffffffffu, lead);
        uint32_t index = running + __popc(mask & lanemask_lt(lane));
        running += __popc(mask);
        if (lead) {
            uint32_t f = byte & 0x80 ? (byte & 0x7f) | ((uint32_t)__ldg(table + q + 1) << 7) : byte;
            fc[(first + index) & 255] = f;
        }
    }
    __syncwarp();
    uint32_t f8[8], local = 0;
#pragma unroll
    for (int k = 0; k < 8; k++) { f8[k] = fc[8 * lane + k]; local += f8[k]; }
    uint32_t run = warp_inclusive32(local, lane) - local;
    __syncwarp();
#pragma unroll
    for (int k = 0; k < 8; k++) { fc[8 * lane + k] = f8[k] | run << 16; run += f8[k]; }
    __syncwarp();
}

/* Calls fill(slot, symbol, freq, slot - cum) for every one of the 4096 slots of a table whose
 * fc (freq | cum << 16) is built: the warp takes the symbols in [first, last] one after another
 * and spreads each one's slots over the lanes, so consecutive lanes write consecutive slots (no
 * bank conflicts) and no lane walks the symbols alone (a per-lane walk is a chain of ~400
 * dependent shared-memory loads, which made table building a large part of a small tensor's
 * decode). */
template <typename Fill>
__device__ __forceinline__ void rans_fill_slots(const uint8_t *table, const uint32_t *fc, uint32_t lane, Fill fill)
{
    const uint32_t first = __ldg(table), last = __ldg(table + 1);
    for (uint32_t s = first; s <= last; s++) {
        const uint32_t entry = fc[s], freq = entry & 0xffff, cum = entry >> 16;
        for (uint32_t k = lane; k < freq; k += 32) fill(cum + k, s, freq, k);
    }
    __syncwarp();
}

/* The two-level decode table: sym[slot] and fc (freq | cum << 16). */
__device__ static void rans_build_tables(const uint8_t *table, uint32_t table_bytes, uint8_t *sym, uint32_t *fc, uint32_t lane)
{
    rans_freq_cum(table, table_bytes, fc, lane);
    rans_fill_slots(table, fc, lane, [&](uint32_t slot, uint32_t s, uint32_t, uint32_t) { sym[slot] = (uint8_t)s; });
}

/* Word j of a rANS block's 16-bit word stream (0 past its end), at any byte alignment. */
__device__ __forceinline__ uint32_t load_word(const uint8_t *words, uint32_t word_count, uint32_t j)
{
    if (j >= word_count) return 0;
    const uint8_t *p = words + 2 * (size_t)j;
    if (((uintptr_t)p & 1) == 0) return __ldg((const unsigned short *)p);
    return (uint32_t)__ldg(p) | (uint32_t)__ldg(p + 1) << 8;
}

#define XXH_PRIME1 0x9E3779B185EBCA87ULL
#define XXH_PRIME2 0xC2B2AE3D27D4EB4FULL
#define XXH_PRIME3 0x165667B19E3779F9ULL
#define XXH_PRIME4 0x85EBCA77C2B2AE63ULL
#define XXH_PRIME5 0x27D4EB2F165667C5ULL

__device__ __forceinline__ uint64_t xxh_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
__device__ __forceinline__ uint64_t xxh_round(uint64_t acc, uint64_t input) { return xxh_rotl(acc + input * XXH_PRIME2, 31) * XXH_PRIME1; }
__device__ __forceinline__ uint64_t xxh_merge(uint64_t acc, uint64_t lane) { return (acc ^ xxh_round(0, lane)) * XXH_PRIME1 + XXH_PRIME4; }

/* XXH64's end over `count` u64 values: the four accumulators merged (when there was a stripe),
 * the length, the values from h[from] on one at a time, the avalanche. */
__device__ __forceinline__ uint64_t xxh64_finish(uint64_t v1, uint64_t v2, uint64_t v3, uint64_t v4, const uint64_t *h, uint32_t from,
                                                 uint32_t count, uint64_t seed)
{
    uint64_t hash;
    if (count >= 4) {
        hash = xxh_rotl(v1, 1) + xxh_rotl(v2, 7) + xxh_rotl(v3, 12) + xxh_rotl(v4, 18);
        hash = xxh_merge(hash, v1);
        hash = xxh_merge(hash, v2);
        hash = xxh_merge(hash, v3);
        hash = xxh_merge(hash, v4);
    } else {
        hash = seed + XXH_PRIME5;
    }
    hash += 8 * (uint64_t)count;
    for (uint32_t i = from; i < count; i++) {
        hash ^= xxh_round(0, h[i]);
        hash = xxh_rotl(hash, 27) * XXH_PRIME1 + XXH_PRIME4;
    }
    hash ^= hash >> 33;
    hash *= XXH_PRIME2;
    hash ^= hash >> 29;
    hash *= XXH_PRIME3;
    hash ^= hash >> 32;
    return hash;
}

/* XXH64 of `count` u64 values (segment hashes, as the CPU lays them out: little-endian). The
 * stripes go four at a time so that their loads are in flight together (one stripe's loads
 * waited behind the previous stripe's rounds). */
__device__ static uint64_t xxh64_hashes(const uint64_t *h, uint32_t count, uint64_t seed)
{
    uint64_t v1 = seed + XXH_PRIME1 + XXH_PRIME2, v2 = seed + XXH_PRIME2, v3 = seed, v4 = seed - XXH_PRIME1;
    uint32_t i = 0;
#pragma unroll 4
    for (; i + 4 <= count; i += 4) {
        v1 = xxh_round(v1, h[i]);
        v2 = xxh_round(v2, h[i + 1]);
        v3 = xxh_round(v3, h[i + 2]);
        v4 = xxh_round(v4, h[i + 3]);
    }
    return xxh64_finish(v1, v2, v3, v4, h, i, count, seed);
}

/* xxh64_hashes by four lanes (lanes 4k .. 4k + 3 of the warp hold one input each; every lane of
 * the warp calls it, `count` 0 for a lane with none): lane 4k + q runs accumulator q over the
 * stripes, all its loads in flight, and every lane of the four gets the hash. */
__device__ static uint64_t xxh64_hashes_by4(const uint64_t *h, uint32_t count, uint64_t seed, uint32_t lane)
{
    const uint32_t q = lane & 3, first = lane & ~3u, stripes = count / 4;
    uint64_t v = q == 0 ? seed + XXH_PRIME1 + XXH_PRIME2 : q == 1 ? seed + XXH_PRIME2 : q == 2 ? seed : seed - XXH_PRIME1;
#pragma unroll 8
    for (uint32_t k = 0; k < stripes; k++) v = xxh_round(v, h[4 * k + q]);
    const uint64_t v1 = __shfl_sync(0xffffffffu, v, first), v2 = __shfl_sync(0xffffffffu, v, first + 1);
    const uint64_t v3 = __shfl_sync(0xffffffffu, v, first + 2), v4 = __shfl_sync(0xffffffffu, v, first + 3);
    return xxh64_finish(v1, v2, v3, v4, h, 4 * stripes, count, seed);
}

#endif
