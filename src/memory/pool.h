/* SmartPool: a memory pool that carves blocks out of large segments reserved from a segment
 * source (host memory, cudaMalloc, or anything with reserve/release), for GPU-style memory whose
 * bytes the pool never touches: every piece of bookkeeping lives in host-side structures.
 *
 * Placement modes
 *   ONLINE   exact best fit over the free ranges, filed per stream tag in two-level segregated
 *            size bins (TLSF-style bitmaps, O(1) filing, a search scans at most two bin lists).
 *            A chosen range is split, the tail staying free; a freed block merges with free
 *            neighbours of the same tag. When nothing fits (SEGMENTS backing) one new segment is
 *            reserved: small_segment_size for requests up to small_request_limit (small blocks
 *            share segments), else the request rounded up to segment_granularity; segments
 *            with no live block are given back first when keeping them would raise the
 *            high-water mark of reserved bytes (release_empty_on_grow). PAGES backing: below.
 *   PLANNED  between pool_iteration_begin() and pool_iteration_end() the first iteration is
 *            served online and recorded (size, stream and lifetime of each request); at its end
 *            the planner (planner.h, Zhang et al. 2019) gives every request that was freed inside
 *            the iteration an offset in one arena of the plan's peak, reserved as one segment.
 *            Later iterations: the k-th request is served from the arena when it matches the
 *            plan's k-th entry (same rounded size, same stream) and its range is not occupied
 *            (an AVL tree of live arena blocks keyed by address); anything else goes online (a
 *            plan miss). Requests that outlived the recorded iteration (weights, optimizer
 *            state) are planned as online. Building the plan gives back empty online segments
 *            first. pool_plan_reset is a sync point for the plan's streams.
 *
 * Streams. A live block belongs to the stream it was allocated on, and a new segment to the
 * stream whose request made the pool grow. When freed, a block's range keeps
 * that stream as its tag and is reused only by allocations on the same stream, whose work is
 * ordered after the old user's, until the caller declares a sync point: pool_stream_synchronized
 * (one stream) or pool_synchronize (all) retag the ranges as usable by every stream. Free
 * neighbours merge only when their tags are equal (after a sync point they all are). Plans never
 * let requests of different streams share bytes.
 *
 * Invariants: live blocks are disjoint, each lies inside one segment, starts at a multiple of
 * `alignment` and spans its size rounded up to `alignment`; the blocks of an online segment tile
 * its aligned usable range.
 *
 * Thread-safety: a pool is not thread-safe; one thread at a time per pool (callers that share a
 * pool wrap it in their own lock). Different pools are independent.
 */
#ifndef SARAPHIS_MEMORY_POOL_H
#define SARAPHIS_MEMORY_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "memory/planner.h"
#include "saraphis.h"

/* Where memory comes from. reserve() returns a base address (never 0) of at least `size` usable
 * bytes; release() gives back exactly what one reserve() returned. A source that can also back
 * an address range page by page (CUDA's cuMemAddressReserve/cuMemMap, mmap + mprotect) fills
 * the four optional members: reserve_address() takes address space only, map()/unmap() back and
 * unback whole pages inside it. The pool calls a source from the thread that calls the pool. */
typedef struct {
    const char *name; /* for error messages: "host", "cuda" */
    void *context;
    saraphis_status_t (*reserve)(void *context, size_t size, uintptr_t *base);
    void (*release)(void *context, uintptr_t base, size_t size);
    /* Optional (all four or none). */
    saraphis_status_t (*reserve_address)(void *context, size_t size, uintptr_t *base);
    void (*release_address)(void *context, uintptr_t base, size_t size);
    saraphis_status_t (*map)(void *context, uintptr_t address, size_t size);
    void (*unmap)(void *context, uintptr_t address, size_t size);
} pool_source_t;

/* Host memory through mmap (anonymous, private, MAP_NORESERVE): pages are committed on first
 * touch, so a test can reserve what a GPU trace reserves without using that much RAM. Page
 * capable: unmapped pages are PROT_NONE and their contents dropped (MADV_DONTNEED). */
void pool_source_host(pool_source_t *source);
/* The same without the page capability: the pool can only use whole segments, as with a
 * cudaMalloc-only device. */
void pool_source_host_segments(pool_source_t *source);

#ifdef SARAPHIS_WITH_CUDA
/* Device memory of `device` (src/gpu/pool_cuda.c): segments through cudaMalloc/cudaFree; with
 * want_pages also page capable through the CUDA virtual memory management API when the device
 * and driver support it (check source->map). One pool per source. Destroy after the pool. */
saraphis_status_t pool_source_cuda_create(pool_source_t *source, int device, int want_pages);
void pool_source_cuda_destroy(pool_source_t *source);
/* The driver's page granularity (a pool's segment_granularity must be a multiple); 0 when the
 * source is not page capable. */
size_t pool_source_cuda_page_size(const pool_source_t *source);
#endif

typedef enum { POOL_MODE_ONLINE = 0, POOL_MODE_PLANNED = 1 } pool_mode_t;

/* How blocks are backed.
 *   SEGMENTS  blocks live in segments reserved whole (cudaMalloc-style); a block never spans two.
 *   PAGES     one address range of virtual_capacity bytes is reserved up front and blocks are
 *             placed in it by the same best fit; a page (segment_granularity bytes) is mapped
 *             while any live block touches it. Pages left with no live block stay mapped (a
 *             cache) until mapping new ones would raise the high-water mark (or pass the cap);
 *             then runs of idle pages go back whole, those idle longest first, one unmap call
 *             per run. The high-water mark is thus the most pages ever in use at once.
 *             Fragmentation of the address range costs nothing, so reserved tracks the pages
 *             live blocks touch (the idea behind PyTorch's expandable_segments and GMLake's
 *             virtual memory stitching). Page bookkeeping costs O(1) per alloc and free plus a
 *             word operation per 64 pages of the block, whatever its size.
 *   AUTO      PAGES when the source can map, else SEGMENTS. */
typedef enum { POOL_BACKING_AUTO = 0, POOL_BACKING_SEGMENTS = 1, POOL_BACKING_PAGES = 2 } pool_backing_t;

typedef uint32_t pool_stream_t;                 /* 0 is the default stream */
#define POOL_STREAM_ANY ((pool_stream_t)UINT32_MAX) /* reserved: the tag of synced free ranges */

typedef struct {
    pool_mode_t mode;           /* default ONLINE */
    size_t alignment;           /* block alignment and size rounding; power of two >= 16; 512 */
    size_t segment_granularity; /* every segment is a multiple of it; 2 MiB (GPU page size) */
    size_t small_request_limit; /* requests up to this share segments of small_segment_size; 1 MiB */
    size_t small_segment_size;  /* 2 MiB */
    size_t max_reserved_bytes;  /* reservation cap, OUT_OF_MEMORY beyond; 0 = none */
    int release_empty_on_grow;  /* before reserving, give back segments with no live block; 1 */
    int release_empty_on_free;  /* give back a segment as soon as its last block is freed; 0 */
    planner_rule_t plan_rule;   /* default PLANNER_BEST_OF_BOTH */
    pool_backing_t backing;     /* default AUTO */
    size_t virtual_capacity;    /* PAGES: address range to reserve; default 256 GiB */
} pool_config_t;

/* Counters since creation (peaks since creation or the last pool_reset_peaks). */
typedef struct {
    uint64_t reserved_bytes;       /* held from the source now (segments and arenas) */
    uint64_t peak_reserved_bytes;
    uint64_t live_bytes;           /* live blocks, each rounded up to the alignment */
    uint64_t peak_live_bytes;
    uint64_t live_requested_bytes; /* the same, as requested (unrounded) */
    uint64_t peak_live_requested_bytes;
    uint64_t segment_count;        /* segments held now, arenas included (PAGES: 1) */
    uint64_t segment_reservations; /* reserve() calls that succeeded, or map() calls (PAGES) */
    uint64_t segment_releases;     /* release() calls, or unmap() calls (PAGES) */
    uint64_t alloc_count;
    uint64_t dealloc_count;
    uint64_t plans_built;
    uint64_t plan_hits;            /* requests served from a plan's arena */
    uint64_t plan_misses;          /* requests in a planned iteration that did not match */
    uint64_t plan_online;          /* requests the plan itself sends online (outlived the iteration) */
    uint64_t arena_bytes;          /* the current plan's arena size (before segment rounding) */
    /* 1 - peak_live / peak_reserved: the share of the high-water reservation that was never
     * needed at once. It is the trace figure of merit (reserved/live = 1 / (1 - fragmentation)). */
    double fragmentation;
    double current_fragmentation; /* 1 - live / reserved, now; 0 when nothing is reserved */
} pool_stats_t;

typedef struct pool_s pool_t;

void pool_config_default(pool_config_t *config);

/* Creates a pool; config NULL means defaults. The source is copied. */
saraphis_status_t pool_create(pool_t **pool, const pool_config_t *config,
                              const pool_source_t *source);
/* The backing the pool chose (never AUTO). */
pool_backing_t pool_backing(const pool_t *pool);
/* Releases every segment and frees the pool. Live blocks become invalid. NULL does nothing. */
void pool_free(pool_t *pool);

/* A block of at least size bytes for use on stream. size 0 gives *ptr = NULL and SARAPHIS_OK. */
saraphis_status_t pool_alloc(pool_t *pool, size_t size, pool_stream_t stream, void **ptr);
/* Gives a block back. NULL does nothing; a pointer the pool did not hand out (or already took
 * back) is INVALID_ARGUMENT and changes nothing. */
saraphis_status_t pool_dealloc(pool_t *pool, void *ptr);
/* The rounded size of a live block; 0 when ptr is not one. */
size_t pool_block_size(const pool_t *pool, const void *ptr);

/* Sync points: the caller promises that all work queued on `stream` (or on every stream) before
 * this call has completed, so ranges freed there may now serve any stream. */
void pool_stream_synchronized(pool_t *pool, pool_stream_t stream);
void pool_synchronize(pool_t *pool);

/* Gives back every online segment that has no live block. */
void pool_trim(pool_t *pool);

/* Iteration marks for PLANNED mode (ignored, apart from nesting checks, in ONLINE mode). */
saraphis_status_t pool_iteration_begin(pool_t *pool);
saraphis_status_t pool_iteration_end(pool_t *pool);
/* Drops the plan; the next iteration is recorded again. The arena is released once empty. */
void pool_plan_reset(pool_t *pool);
/* 1 when a plan is active. */
int pool_has_plan(const pool_t *pool);

void pool_get_stats(const pool_t *pool, pool_stats_t *stats);
/* Restarts the peaks from the current values (to measure one phase). */
void pool_reset_peaks(pool_t *pool);

/* Walks the live blocks (online and arena) in no particular order; for checks and tools. */
typedef void (*pool_block_visitor_fn)(void *user, uintptr_t address, size_t size,
                                      pool_stream_t stream, int in_arena);
void pool_visit_live_blocks(const pool_t *pool, pool_block_visitor_fn visitor, void *user);
/* Walks the segments held now. */
typedef void (*pool_segment_visitor_fn)(void *user, uintptr_t base, size_t size, int is_arena);
void pool_visit_segments(const pool_t *pool, pool_segment_visitor_fn visitor, void *user);

#endif
