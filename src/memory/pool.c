/* SmartPool core: segments, pages, blocks, the free bins, the address map, plans (see pool.h).
 *
 * Block records live in host memory, carved from chunks and recycled through a spare list, so
 * the hot path never calls malloc. Every block is in exactly one of: the free bins (BLOCK_FREE),
 * the arena tree (live, BLOCK_ARENA), or neither (live, online). Live blocks are in the address
 * map.
 * What an alloc/free pair reads of a block sits in its first cache line.
 */
#include "memory/pool.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "memory/pool_tree.h"

#define BLOCKS_PER_CHUNK 512
#define MAP_MIN_CAPACITY 1024
#define PLAN_ENTRY_ONLINE UINT64_MAX /* offset of a plan entry that goes online */

typedef struct pool_segment_s pool_segment_t;
typedef struct pool_bins_s pool_bins_t;

typedef struct pool_block_s {
    /* First cache line: everything an online alloc or free touches. */
    _Alignas(64) uintptr_t address;
    size_t size; /* rounded to the alignment */
    struct pool_block_s *prev, *next; /* address neighbours in an online segment; next also links
                                         the spare list */
    struct pool_block_s *free_prev, *free_next; /* free blocks: the list of their size bin, in the
                                                   bin set of their tag (stream) */
    pool_segment_t *segment;
    pool_stream_t stream; /* owner when live, tag when free (POOL_STREAM_ANY once synced) */
    uint32_t state;       /* BLOCK_FREE, BLOCK_ARENA, and BLOCK_VALUE: live, size - requested
                             (< alignment <= 2^30); free, the block's bin */
    /* Planned mode only. */
    uint64_t record_serial; /* iteration serial in which the block was recorded; 0: not recorded */
    size_t record_index;
    pool_tree_node_t node; /* arena blocks: their node in the arena tree */
} pool_block_t;

#define BLOCK_VALUE 0x3FFFFFFFu
#define BLOCK_FREE 0x40000000u  /* in the free bins */
#define BLOCK_ARENA 0x80000000u /* live in a plan's arena */

static inline int block_is_free(const pool_block_t *block)
{
    return (block->state & BLOCK_FREE) != 0;
}

static inline int block_in_arena(const pool_block_t *block)
{
    return (block->state & BLOCK_ARENA) != 0;
}

static inline pool_block_t *block_of_node(const pool_tree_node_t *node)
{
    return (pool_block_t *)((char *)(uintptr_t)node - offsetof(pool_block_t, node));
}

/* Free blocks are filed by stream tag, then by size in two-level segregated bins (as in TLSF):
 * sizes in units of the alignment; below 16 units one bin per unit, above that 16 bins per
 * power of two. Bins cover disjoint, ascending size ranges, so the best fit is the smallest
 * fitting block of the first bin that holds one: the request's own bin is scanned for a fit,
 * then the next non-empty bin (found by bitmap) is scanned for its smallest block. Filing and
 * unfiling are O(1); a search costs the length of at most two bin lists. A bin is numbered
 * first * BIN_SECOND_COUNT + second; a free block keeps its number in its state word. */
#define BIN_SECOND_BITS 4
#define BIN_SECOND_COUNT (1u << BIN_SECOND_BITS)
#define BIN_FIRST_COUNT 64

struct pool_bins_s {
    pool_stream_t tag;
    uint64_t first_bitmap;                    /* bit f: some second-level bin of f is non-empty */
    uint32_t second_bitmap[BIN_FIRST_COUNT];  /* bit s: bin (f, s) is non-empty */
    pool_block_t *heads[BIN_FIRST_COUNT * BIN_SECOND_COUNT];
};

struct pool_segment_s {
    uintptr_t base; /* as the source returned it */
    size_t size;    /* as reserved */
    size_t live_count;
    pool_block_t *first_block; /* online segments: the lowest block */
    pool_block_t *holder;      /* PAGES arena: the block of the address range it occupies */
    pool_segment_t *prev, *next;
    uint8_t is_arena;
    uint8_t is_space; /* PAGES: the one address range every block lives in */
    uint8_t retired;  /* arena of a dropped plan: released when its last block goes */
};

typedef struct {
    uintptr_t address; /* 0 marks an empty slot: no source hands out address 0 */
    pool_block_t *block;
} pool_map_slot_t;

typedef struct {
    uint64_t size;
    uint64_t start;
    uint64_t end; /* UINT64_MAX while live */
    pool_stream_t stream;
} pool_record_t;

typedef struct {
    uint64_t size;
    uint64_t offset; /* PLAN_ENTRY_ONLINE: served online */
    pool_stream_t stream;
} pool_plan_entry_t;

/* What the pool knows of one page. */
typedef struct {
    uint32_t users; /* live blocks whose first or last page this is */
    uint32_t run;   /* at an idle run's first page: the run's record */
} pool_page_t;

/* An idle run: pages first..last, and its place in the idle list. Records sit in one dense
 * array (recycled through a spare list), so list updates stay within a few cache lines. */
typedef struct {
    uint32_t first, last;
    uint32_t prev, next; /* the idle list, longest idle first (NO_PAGE at the ends); next also
                            links spare records */
} pool_idle_run_t;

struct pool_s {
    pool_config_t config;
    pool_source_t source;
    pool_bins_t **bin_sets; /* one per stream tag seen, POOL_STREAM_ANY included */
    size_t bin_set_count, bin_set_capacity;
    pool_bins_t *any_bins;  /* the POOL_STREAM_ANY set */
    pool_bins_t *last_bins; /* the set found last: most programs use one stream */
    pool_tree_t arena_tree; /* live arena blocks, key (0, address, 0) */
    pool_segment_t *segments;

    pool_block_t *spare_blocks;
    void **block_chunks;
    size_t block_chunk_count, block_chunk_capacity;

    pool_map_slot_t *map;
    size_t map_capacity; /* power of two */
    size_t map_count;
    unsigned map_shift;  /* 64 - log2(capacity) */

    pool_stats_t stats;

    /* Planned mode. */
    int in_iteration;
    int recording;
    uint64_t iteration_serial;
    uint64_t event_clock; /* allocations and deallocations seen while recording */
    size_t request_index; /* allocations so far in the current iteration */
    pool_record_t *records;
    size_t record_count, record_capacity;
    pool_plan_entry_t *plan;
    size_t plan_count;
    pool_segment_t *arena;

    unsigned unit_shift; /* log2(alignment) */

    /* PAGES backing (see "Pages" below). A page is in use while a live block touches it, idle
     * when mapped and not in use. Idle pages form runs of consecutive pages, each with its place
     * in a least-recently-idled list; a run is recorded at its first page. */
    int use_pages;
    pool_segment_t *space;
    uintptr_t page_base; /* the address range's start rounded up to a page */
    size_t page_count;
    pool_page_t *pages;
    uint64_t *mapped_bits;   /* bit per page: mapped */
    uint64_t *idle_bits;     /* bit per page: idle (mapped, not in use) */
    uint64_t *run_bits;      /* bit per page: the first page of an idle run */
    pool_idle_run_t *runs;   /* up to one per page */
    uint32_t run_spare;      /* spare records, linked by next */
    uint32_t run_fresh;      /* records [run_fresh, page_count) were never used */
    unsigned page_shift;     /* log2(page size) when it is a power of two, else 0 */
    uint32_t run_head, run_tail;
    size_t idle_count;   /* idle pages */
    size_t mapped_pages;
    uint64_t high_water_reserved; /* like peak_reserved_bytes, but pool_reset_peaks leaves it */
};

#define NO_PAGE UINT32_MAX

static inline size_t align_up(size_t value, size_t alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

static inline int is_power_of_two(size_t value) { return value && !(value & (value - 1)); }

void pool_config_default(pool_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->mode = POOL_MODE_ONLINE;
    config->alignment = 512;
    config->segment_granularity = (size_t)2 << 20;
    config->small_request_limit = (size_t)1 << 20;
    config->small_segment_size = (size_t)2 << 20;
    config->max_reserved_bytes = 0;
    config->release_empty_on_grow = 1;
    config->release_empty_on_free = 0;
    config->plan_rule = PLANNER_BEST_OF_BOTH;
    config->backing = POOL_BACKING_AUTO;
    config->virtual_capacity = (size_t)256 << 30;
}

/* ------------------------------------------------------------------------------------------ */
/* Block records                                                                              */

/* Refills the spare list with a chunk of records; 0 when out of memory. */
static int block_chunk_add(pool_t *pool)
{
    if (pool->block_chunk_count == pool->block_chunk_capacity) {
        size_t capacity = pool->block_chunk_capacity ? 2 * pool->block_chunk_capacity : 16;
        void **chunks = realloc(pool->block_chunks, capacity * sizeof *chunks);
        if (!chunks) return 0;
        pool->block_chunks = chunks;
        pool->block_chunk_capacity = capacity;
    }
    pool_block_t *chunk = aligned_alloc(_Alignof(pool_block_t), BLOCKS_PER_CHUNK * sizeof *chunk);
    if (!chunk) return 0;
    pool->block_chunks[pool->block_chunk_count++] = chunk;
    for (size_t i = 0; i < BLOCKS_PER_CHUNK; i++) {
        chunk[i].next = pool->spare_blocks;
        pool->spare_blocks = &chunk[i];
    }
    return 1;
}

static inline pool_block_t *block_new(pool_t *pool)
{
    if (!pool->spare_blocks && !block_chunk_add(pool)) return NULL;
    pool_block_t *block = pool->spare_blocks;
    pool->spare_blocks = block->next;
    /* The caller sets the first cache line (block_init); record_serial must read "not
     * recorded"; the tree node is written when an arena block is inserted. */
    block->record_serial = 0;
    return block;
}

/* Sets the fields of a new block record that has no address neighbours yet. */
static inline void block_init(pool_block_t *block, uintptr_t address, size_t size,
                              pool_segment_t *segment, pool_stream_t stream)
{
    block->address = address;
    block->size = size;
    block->prev = block->next = NULL;
    block->free_prev = block->free_next = NULL;
    block->segment = segment;
    block->stream = stream;
    block->state = 0;
}

static inline void block_recycle(pool_t *pool, pool_block_t *block)
{
    block->next = pool->spare_blocks;
    pool->spare_blocks = block;
}

/* ------------------------------------------------------------------------------------------ */
/* Address map: open addressing, linear probing, backward-shift deletion (no tombstones).      */

static inline size_t map_home(const pool_t *pool, uintptr_t address)
{
    /* Fibonacci hashing on the address without its always-zero alignment bits. */
    return (size_t)(((uint64_t)(address >> 9) * 0x9E3779B97F4A7C15ULL) >> pool->map_shift);
}

static saraphis_status_t map_resize(pool_t *pool, size_t capacity)
{
    pool_map_slot_t *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: address map of %zu slots", capacity);
    pool_map_slot_t *old = pool->map;
    size_t old_capacity = pool->map_capacity;
    pool->map = slots;
    pool->map_capacity = capacity;
    unsigned bits = 0;
    while (((size_t)1 << bits) < capacity) bits++;
    pool->map_shift = 64 - bits;
    for (size_t i = 0; i < old_capacity; i++) {
        if (!old[i].address) continue;
        size_t slot = map_home(pool, old[i].address);
        while (slots[slot].address) slot = (slot + 1) & (capacity - 1);
        slots[slot] = old[i];
    }
    free(old);
    return SARAPHIS_OK;
}

static inline saraphis_status_t map_insert(pool_t *pool, pool_block_t *block)
{
    /* Load at most one quarter keeps probe runs to about one slot. */
    if (4 * (pool->map_count + 1) > pool->map_capacity)
        SPS_TRY(map_resize(pool, 2 * pool->map_capacity));
    size_t mask = pool->map_capacity - 1;
    size_t slot = map_home(pool, block->address);
    while (pool->map[slot].address) slot = (slot + 1) & mask;
    pool->map[slot].address = block->address;
    pool->map[slot].block = block;
    pool->map_count++;
    return SARAPHIS_OK;
}

static pool_block_t *map_find(const pool_t *pool, uintptr_t address, size_t *slot_out)
{
    size_t mask = pool->map_capacity - 1;
    size_t slot = map_home(pool, address);
    while (pool->map[slot].address) {
        if (pool->map[slot].address == address) {
            if (slot_out) *slot_out = slot;
            return pool->map[slot].block;
        }
        slot = (slot + 1) & mask;
    }
    return NULL;
}

static inline void map_remove_slot(pool_t *pool, size_t slot)
{
    size_t mask = pool->map_capacity - 1;
    size_t hole = slot;
    /* Shift later members of the probe run back so lookups never stop early at the hole. */
    for (size_t next = (hole + 1) & mask; pool->map[next].address; next = (next + 1) & mask) {
        size_t home = map_home(pool, pool->map[next].address);
        /* The entry may move into the hole when its home is not cyclically in (hole, next]. */
        int home_in_range = hole <= next ? (home > hole && home <= next)
                                         : (home > hole || home <= next);
        if (!home_in_range) {
            pool->map[hole] = pool->map[next];
            hole = next;
        }
    }
    pool->map[hole].address = 0;
    pool->map[hole].block = NULL;
    pool->map_count--;
}

/* ------------------------------------------------------------------------------------------ */
/* Segments                                                                                   */

/* ------------------------------------------------------------------------------------------ */
/* Free bins                                                                                  */

/* The bin of a size: first * BIN_SECOND_COUNT + second. */
static inline unsigned bin_of(const pool_t *pool, size_t size)
{
    uint64_t units = size >> pool->unit_shift;
    if (units < BIN_SECOND_COUNT) return (unsigned)units;
    unsigned top = 63u - (unsigned)__builtin_clzll(units);
    return ((top - BIN_SECOND_BITS + 1) << BIN_SECOND_BITS) |
           ((unsigned)(units >> (top - BIN_SECOND_BITS)) & (BIN_SECOND_COUNT - 1));
}

/* The bin set of a tag; created on first use when create is set (NULL if that fails). */
static pool_bins_t *bins_for_tag(pool_t *pool, pool_stream_t tag, int create)
{
    if (pool->last_bins && pool->last_bins->tag == tag) return pool->last_bins;
    for (size_t i = 0; i < pool->bin_set_count; i++) {
        if (pool->bin_sets[i]->tag == tag) {
            pool->last_bins = pool->bin_sets[i];
            return pool->last_bins;
        }
    }
    if (!create) return NULL;
    if (pool->bin_set_count == pool->bin_set_capacity) {
        size_t capacity = pool->bin_set_capacity ? 2 * pool->bin_set_capacity : 4;
        pool_bins_t **sets = realloc(pool->bin_sets, capacity * sizeof *sets);
        if (!sets) return NULL;
        pool->bin_sets = sets;
        pool->bin_set_capacity = capacity;
    }
    pool_bins_t *bins = calloc(1, sizeof *bins);
    if (!bins) return NULL;
    bins->tag = tag;
    pool->bin_sets[pool->bin_set_count++] = bins;
    if (tag == POOL_STREAM_ANY) pool->any_bins = bins;
    pool->last_bins = bins;
    return bins;
}

/* The bin set of a tag; NULL when it has none. Every tag of a free block has one: pool_alloc
 * creates the set of its stream before a block of that stream can be freed. */
static inline pool_bins_t *bins_of_tag(pool_t *pool, pool_stream_t tag)
{
    if (pool->last_bins->tag == tag) return pool->last_bins;
    return tag == POOL_STREAM_ANY ? pool->any_bins : bins_for_tag(pool, tag, 0);
}

/* Files a free block in `bins`, the set of its tag, by its size. */
static inline void free_insert(pool_bins_t *bins, pool_t *pool, pool_block_t *block)
{
    unsigned bin = bin_of(pool, block->size);
    pool_block_t **head = &bins->heads[bin];
    block->state = BLOCK_FREE | bin;
    block->free_prev = NULL;
    block->free_next = *head;
    if (*head) (*head)->free_prev = block;
    *head = block;
    bins->second_bitmap[bin >> BIN_SECOND_BITS] |= 1u << (bin & (BIN_SECOND_COUNT - 1));
    bins->first_bitmap |= (uint64_t)1 << (bin >> BIN_SECOND_BITS);
}

/* Unfiles a free block from `bins`, the set of its tag. It stays marked free. */
static inline void free_remove(pool_bins_t *bins, pool_block_t *block)
{
    unsigned bin = block->state & BLOCK_VALUE;
    pool_block_t *prev = block->free_prev, *next = block->free_next;
    if (prev) prev->free_next = next;
    else bins->heads[bin] = next;
    if (next) {
        next->free_prev = prev;
    } else if (!prev) {
        unsigned first = bin >> BIN_SECOND_BITS;
        bins->second_bitmap[first] &= ~(1u << (bin & (BIN_SECOND_COUNT - 1)));
        if (!bins->second_bitmap[first]) bins->first_bitmap &= ~((uint64_t)1 << first);
    }
}

/* Smallest block of a list with size >= need; NULL when none. An exact fit ends the scan at once
 * (the most recently freed one: its memory is the warmest); among larger blocks of one size the
 * lowest address wins. */
static inline pool_block_t *list_best_fit(pool_block_t *block, size_t need)
{
    pool_block_t *best = NULL;
    for (; block; block = block->free_next) {
        if (block->size < need) continue;
        if (!best || block->size < best->size ||
            (block->size == best->size && block->address < best->address))
            best = block;
        if (best->size == need) break; /* cannot do better than exact */
    }
    return best;
}

/* Best fit for `need` bytes, whose bin is `bin`, in one bin set, among bins up to `bin_limit`
 * (a larger block is of no use to the caller). */
static inline pool_block_t *bins_best_fit(const pool_bins_t *bins, size_t need, unsigned bin,
                                          unsigned bin_limit)
{
    if (!bins || !bins->first_bitmap) return NULL;
    pool_block_t *fit = list_best_fit(bins->heads[bin], need);
    if (fit || bin >= bin_limit) return fit;
    /* The next non-empty bin above: every block in it fits. */
    unsigned first = bin >> BIN_SECOND_BITS, second = bin & (BIN_SECOND_COUNT - 1);
    uint32_t above = second + 1 < BIN_SECOND_COUNT
                         ? bins->second_bitmap[first] & (~0u << (second + 1))
                         : 0;
    if (!above) {
        uint64_t higher = first + 1 < BIN_FIRST_COUNT
                              ? bins->first_bitmap & (~(uint64_t)0 << (first + 1))
                              : 0;
        if (!higher) return NULL;
        first = (unsigned)__builtin_ctzll(higher);
        above = bins->second_bitmap[first];
    }
    second = (unsigned)__builtin_ctz(above);
    unsigned found = (first << BIN_SECOND_BITS) | second;
    return found <= bin_limit ? list_best_fit(bins->heads[found], need) : NULL;
}

static inline void note_reserved_bytes(pool_t *pool, size_t size)
{
    pool->stats.reserved_bytes += size;
    if (pool->stats.reserved_bytes > pool->stats.peak_reserved_bytes)
        pool->stats.peak_reserved_bytes = pool->stats.reserved_bytes;
    if (pool->stats.reserved_bytes > pool->high_water_reserved)
        pool->high_water_reserved = pool->stats.reserved_bytes;
}

static inline void note_reserved(pool_t *pool, size_t size)
{
    note_reserved_bytes(pool, size);
    pool->stats.segment_count++;
    pool->stats.segment_reservations++;
}

static void online_release(pool_t *pool, pool_block_t *block);

static void segment_release(pool_t *pool, pool_segment_t *segment)
{
    if (pool->use_pages) {
        /* Only arenas are released one by one: their address range goes back to the space. */
        if (segment->prev) segment->prev->next = segment->next;
        else pool->segments = segment->next;
        if (segment->next) segment->next->prev = segment->prev;
        if (pool->arena == segment) pool->arena = NULL;
        pool_block_t *holder = segment->holder;
        /* The arena's blocks are all dead: its range may serve any stream (pool_plan_reset is a
         * sync point for the plan's streams, see pool.h). */
        holder->stream = POOL_STREAM_ANY;
        holder->segment->live_count--;
        online_release(pool, holder);
        free(segment);
        return;
    }
    if (!segment->is_arena) {
        pool_block_t *block = segment->first_block;
        while (block) {
            pool_block_t *next = block->next;
            if (block_is_free(block)) free_remove(bins_of_tag(pool, block->stream), block);
            block_recycle(pool, block);
            block = next;
        }
    }
    if (segment->prev) segment->prev->next = segment->next;
    else pool->segments = segment->next;
    if (segment->next) segment->next->prev = segment->prev;
    pool->source.release(pool->source.context, segment->base, segment->size);
    pool->stats.reserved_bytes -= segment->size;
    pool->stats.segment_count--;
    pool->stats.segment_releases++;
    if (pool->arena == segment) pool->arena = NULL;
    free(segment);
}

static void release_empty_segments(pool_t *pool)
{
    if (pool->use_pages) return; /* pages mode trims pages instead (pages_trim) */
    pool_segment_t *segment = pool->segments;
    while (segment) {
        pool_segment_t *next = segment->next;
        if (!segment->is_arena && segment->live_count == 0) segment_release(pool, segment);
        segment = next;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Pages                                                                                      */
/*
 * A page is in use while a live block touches it. Live blocks are disjoint, so a page strictly
 * between a block's first and last page is touched by that block alone: only first and last
 * pages can be shared, and pages[].users counts, per page, the live blocks that have it as
 * first or last page. A block's alloc or free therefore changes the use of one run of
 * consecutive pages (its interior, plus each end page whose count goes from or to zero),
 * whatever its size. (Counting every page a block covers costs 150 updates for a 300 MB block.)
 *
 * Idle pages (mapped, not in use) are kept as runs, each with a record in a list ordered by the
 * time its pages went idle, longest idle first, beside bitmaps of mapped pages, idle pages and
 * run starts. Taking pages back into use trims or splits the runs it overlaps, whose parts keep
 * their places in the list; a run that goes idle right after the newest run's end extends it.
 * Eviction takes whole runs from the head of the list, one unmap call per run, until enough
 * pages are unmapped. Every operation costs a word operation per 64 pages plus a constant per
 * idle run it touches.
 *
 * Invariants (checked by tests/test_pool.c page_accounting): every page in use is mapped; a
 * page is idle iff mapped and not in use; with release_empty_on_grow the mapped pages never
 * exceed the high-water mark, which is the most pages ever in use at once.
 */

#define BITS_NONE SIZE_MAX

static inline int bit_test(const uint64_t *bits, size_t index)
{
    return (int)((bits[index >> 6] >> (index & 63)) & 1);
}

static inline void bit_set(uint64_t *bits, size_t index)
{
    bits[index >> 6] |= (uint64_t)1 << (index & 63);
}

static inline void bit_clear(uint64_t *bits, size_t index)
{
    bits[index >> 6] &= ~((uint64_t)1 << (index & 63));
}

/* Sets (value 1) or clears (value 0) the bits first..last (first <= last). */
static inline void bits_fill(uint64_t *bits, size_t first, size_t last, int value)
{
    size_t word = first >> 6, last_word = last >> 6;
    uint64_t mask = ~(uint64_t)0 << (first & 63);
    const uint64_t last_mask = ~(uint64_t)0 >> (63 - (last & 63));
    for (;; word++, mask = ~(uint64_t)0) {
        if (word == last_word) mask &= last_mask;
        if (value) bits[word] |= mask;
        else bits[word] &= ~mask;
        if (word == last_word) return;
    }
}

/* How many of the bits first..last (first <= last) are set. */
static inline size_t bits_count(const uint64_t *bits, size_t first, size_t last)
{
    size_t word = first >> 6, last_word = last >> 6, count = 0;
    uint64_t mask = ~(uint64_t)0 << (first & 63);
    const uint64_t last_mask = ~(uint64_t)0 >> (63 - (last & 63));
    for (;; word++, mask = ~(uint64_t)0) {
        if (word == last_word) mask &= last_mask;
        count += (size_t)__builtin_popcountll(bits[word] & mask);
        if (word == last_word) return count;
    }
}

/* The first bit in first..last equal to value, or BITS_NONE (also when first > last). */
static inline size_t bits_find(const uint64_t *bits, size_t first, size_t last, int value)
{
    if (first > last) return BITS_NONE;
    size_t word = first >> 6, last_word = last >> 6;
    const uint64_t flip = value ? 0 : ~(uint64_t)0;
    uint64_t found = (bits[word] ^ flip) & (~(uint64_t)0 << (first & 63));
    while (!found) {
        if (word == last_word) return BITS_NONE;
        found = bits[++word] ^ flip;
    }
    size_t index = (word << 6) + (size_t)__builtin_ctzll(found);
    return index <= last ? index : BITS_NONE;
}

/* The last set bit at or below `at`; one must exist. */
static inline size_t bits_last_set(const uint64_t *bits, size_t at)
{
    size_t word = at >> 6;
    uint64_t found = bits[word] & (~(uint64_t)0 >> (63 - (at & 63)));
    while (!found) found = bits[--word];
    return (word << 6) + 63 - (size_t)__builtin_clzll(found);
}

/* Files a new run first..last in the idle list after the run record `after` (NO_PAGE: at the
 * head). */
static void run_link(pool_t *pool, uint32_t after, uint32_t first, uint32_t last)
{
    uint32_t run = pool->run_spare;
    if (run != NO_PAGE) pool->run_spare = pool->runs[run].next;
    else run = pool->run_fresh++; /* runs never outnumber pages: one is always left */
    pool_idle_run_t *record = &pool->runs[run];
    uint32_t next = after == NO_PAGE ? pool->run_head : pool->runs[after].next;
    record->first = first;
    record->last = last;
    record->prev = after;
    record->next = next;
    if (after == NO_PAGE) pool->run_head = run;
    else pool->runs[after].next = run;
    if (next == NO_PAGE) pool->run_tail = run;
    else pool->runs[next].prev = run;
    pool->pages[first].run = run;
    bit_set(pool->run_bits, first);
}

static void run_unlink(pool_t *pool, uint32_t run)
{
    pool_idle_run_t *record = &pool->runs[run];
    uint32_t prev = record->prev, next = record->next;
    if (prev == NO_PAGE) pool->run_head = next;
    else pool->runs[prev].next = next;
    if (next == NO_PAGE) pool->run_tail = prev;
    else pool->runs[next].prev = prev;
    bit_clear(pool->run_bits, record->first);
    record->next = pool->run_spare;
    pool->run_spare = run;
}

/* A run loses its pages below `to` (to <= its last page) and keeps its place in the list. */
static void run_trim_front(pool_t *pool, uint32_t run, uint32_t to)
{
    bit_clear(pool->run_bits, pool->runs[run].first);
    pool->runs[run].first = to;
    pool->pages[to].run = run;
    bit_set(pool->run_bits, to);
}

/* Pages first..last (mapped, not in use) go idle, as the most recently idled pages. */
static void idle_add(pool_t *pool, size_t first, size_t last)
{
    bits_fill(pool->idle_bits, first, last, 1);
    pool->idle_count += last - first + 1;
    /* Extending the newest run right after its end keeps the page order of the list. */
    uint32_t tail = pool->run_tail;
    if (tail != NO_PAGE && (size_t)pool->runs[tail].last + 1 == first)
        pool->runs[tail].last = (uint32_t)last;
    else
        run_link(pool, tail, (uint32_t)first, (uint32_t)last);
}

/* A run that starts below `first` and reaches it keeps its part below; its part above `last`,
 * if any, becomes a run of its own at the same place in the list. */
static void idle_split_at(pool_t *pool, size_t first, size_t last)
{
    uint32_t run = pool->pages[bits_last_set(pool->run_bits, first)].run;
    uint32_t end = pool->runs[run].last;
    pool->runs[run].last = (uint32_t)first - 1;
    if (end > last) run_link(pool, run, (uint32_t)last + 1, end);
}

/* The run starting at `start`, inside first..last, leaves the idle list, keeping any part above
 * `last` in its place. */
static inline void idle_drop_run(pool_t *pool, uint32_t start, size_t last)
{
    uint32_t run = pool->pages[start].run;
    if (pool->runs[run].last > last) run_trim_front(pool, run, (uint32_t)last + 1);
    else run_unlink(pool, run);
}

/* Pages first..last (none in use) come into use: those that are idle leave the idle runs, the
 * parts of those runs outside first..last keeping their places. Returns how many were idle. */
static size_t idle_take(pool_t *pool, size_t first, size_t last)
{
    const size_t word = first >> 6;
    if (word == last >> 6) {
        /* Within one bitmap word (up to 64 pages): the usual case, done on the words. */
        const uint64_t mask = (~(uint64_t)0 << (first & 63)) &
                              (~(uint64_t)0 >> (63 - (last & 63)));
        const uint64_t idle = pool->idle_bits[word] & mask;
        if (!idle) return 0;
        uint64_t starts = pool->run_bits[word] & mask;
        if (((idle & ~starts) >> (first & 63)) & 1) idle_split_at(pool, first, last);
        for (; starts; starts &= starts - 1)
            idle_drop_run(pool, (uint32_t)((word << 6) + (size_t)__builtin_ctzll(starts)), last);
        pool->idle_bits[word] &= ~mask;
        size_t taken = idle == mask ? last - first + 1 : (size_t)__builtin_popcountll(idle);
        pool->idle_count -= taken;
        return taken;
    }
    /* Pages not in use are idle exactly when mapped; usually all of them are. */
    size_t taken = bits_find(pool->mapped_bits, first, last, 0) == BITS_NONE
                       ? last - first + 1
                       : bits_count(pool->idle_bits, first, last);
    if (taken == 0) return 0;
    if (bit_test(pool->idle_bits, first) && !bit_test(pool->run_bits, first))
        idle_split_at(pool, first, last);
    for (size_t start = bits_find(pool->run_bits, first, last, 1); start != BITS_NONE;
         start = bits_find(pool->run_bits, start + 1, last, 1))
        idle_drop_run(pool, (uint32_t)start, last);
    bits_fill(pool->idle_bits, first, last, 0);
    pool->idle_count -= taken;
    return taken;
}

/* Unmaps at least `count` idle pages (count <= idle_count): whole runs, longest idle first, one
 * call per run. Taking whole runs unmaps a little more than needed at times, but it halves the
 * unmap calls (a run is mostly needed back whole or not at all) and never splits a run. */
static void idle_evict(pool_t *pool, size_t count)
{
    const size_t page_size = pool->config.segment_granularity;
    size_t evicted = 0;
    while (evicted < count) {
        uint32_t run = pool->run_head;
        uint32_t first = pool->runs[run].first, last = pool->runs[run].last;
        size_t pages = (size_t)last - first + 1;
        run_unlink(pool, run);
        bits_fill(pool->idle_bits, first, last, 0);
        bits_fill(pool->mapped_bits, first, last, 0);
        pool->idle_count -= pages;
        pool->mapped_pages -= pages;
        pool->stats.reserved_bytes -= (uint64_t)pages * page_size;
        pool->stats.segment_releases++;
        pool->source.unmap(pool->source.context, pool->page_base + (uintptr_t)first * page_size,
                           pages * page_size);
        evicted += pages;
    }
}

static void pages_trim(pool_t *pool) { idle_evict(pool, pool->idle_count); }

/* Maps the unmapped pages of first..last (to_map of them; none is idle or in use). Idle pages go
 * back first (longest idle first) when keeping them would raise the high-water mark or pass the
 * cap; below it they are a free cache that spares map/unmap round trips. */
static saraphis_status_t pages_map(pool_t *pool, size_t first, size_t last, size_t to_map)
{
    const size_t page_size = pool->config.segment_granularity;
    const uint64_t cap = pool->config.max_reserved_bytes;
    uint64_t limit = UINT64_MAX; /* mapped pages allowed before idle ones must go */
    if (pool->config.release_empty_on_grow) limit = pool->high_water_reserved / page_size;
    if (cap && cap / page_size < limit) limit = cap / page_size;
    uint64_t after = (uint64_t)pool->mapped_pages + to_map;
    if (after > limit && pool->idle_count) {
        uint64_t excess = after - limit;
        idle_evict(pool, excess < pool->idle_count ? (size_t)excess : pool->idle_count);
    }
    if (cap && ((uint64_t)pool->mapped_pages + to_map) * page_size > cap)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY,
                         "pool: mapping %zu more pages of %zu bytes would exceed the cap of "
                         "%llu bytes", to_map, page_size, (unsigned long long)cap);
    for (size_t page = bits_find(pool->mapped_bits, first, last, 0); page != BITS_NONE;) {
        size_t end = bits_find(pool->mapped_bits, page, last, 1);
        size_t run = (end == BITS_NONE ? last + 1 : end) - page;
        saraphis_status_t status = pool->source.map(
            pool->source.context, pool->page_base + page * page_size, run * page_size);
        if (status != SARAPHIS_OK)
            return error_wrap(status, "pool: mapping %zu pages from '%s': ", run,
                              pool->source.name ? pool->source.name : "source");
        bits_fill(pool->mapped_bits, page, page + run - 1, 1);
        pool->mapped_pages += run;
        pool->stats.segment_reservations++;
        note_reserved_bytes(pool, run * page_size);
        page = end == BITS_NONE ? BITS_NONE : bits_find(pool->mapped_bits, end, last, 0);
    }
    return SARAPHIS_OK;
}

/* The page that holds an address of the range. */
static inline size_t page_index(const pool_t *pool, uintptr_t address)
{
    uintptr_t offset = address - pool->page_base;
    return pool->page_shift ? offset >> pool->page_shift
                            : offset / pool->config.segment_granularity;
}

/* Gives up the pages of a live block that is being freed. */
static inline void pages_release(pool_t *pool, uintptr_t address, size_t size)
{
    size_t first = page_index(pool, address), last = page_index(pool, address + size - 1);
    if (first == last) {
        if (--pool->pages[first].users == 0) idle_add(pool, first, first);
        return;
    }
    size_t low = first + (--pool->pages[first].users != 0);
    size_t high = last - (--pool->pages[last].users != 0);
    if (low <= high) idle_add(pool, low, high);
}

/* Takes pages low..end-1 (none in use) into use: idle ones leave the idle runs, the others are
 * mapped. On failure they are all left as they were, the mapped ones idle. */
static saraphis_status_t pages_take(pool_t *pool, size_t low, size_t end)
{
    size_t to_map = (end - low) - idle_take(pool, low, end - 1);
    if (to_map == 0) return SARAPHIS_OK;
    saraphis_status_t status = pages_map(pool, low, end - 1, to_map);
    if (status != SARAPHIS_OK) {
        /* The mapped pages of the range (idle before, or mapped above) go idle again. */
        for (size_t page = bits_find(pool->mapped_bits, low, end - 1, 1); page != BITS_NONE;) {
            size_t stop = bits_find(pool->mapped_bits, page, end - 1, 0);
            idle_add(pool, page, (stop == BITS_NONE ? end : stop) - 1);
            page = stop == BITS_NONE ? BITS_NONE : bits_find(pool->mapped_bits, stop, end - 1, 1);
        }
    }
    return status;
}

/* Makes every page under [address, address + size) mapped and counts the block as a user.
 * Inline: a small block on a page already in use only counts itself in. */
static inline saraphis_status_t pages_acquire(pool_t *pool, uintptr_t address, size_t size)
{
    size_t first = page_index(pool, address), last = page_index(pool, address + size - 1);
    size_t low = first + (pool->pages[first].users != 0);
    size_t end = last + 1 - (pool->pages[last].users != 0); /* one past the last page to take */
    if (low < end) SPS_TRY(pages_take(pool, low, end));
    pool->pages[first].users++;
    if (last != first) pool->pages[last].users++;
    return SARAPHIS_OK;
}

static saraphis_status_t pages_setup(pool_t *pool)
{
    const size_t page_size = pool->config.segment_granularity;
    size_t capacity = pool->config.virtual_capacity;
    if (capacity < page_size || capacity > SIZE_MAX - page_size ||
        capacity / page_size >= NO_PAGE)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pool_create: virtual capacity %zu for pages of %zu bytes", capacity,
                         page_size);
    capacity = align_up(capacity, page_size);
    size_t reservation = capacity + page_size; /* slack to round the start up to a page */
    uintptr_t base = 0;
    saraphis_status_t status =
        pool->source.reserve_address(pool->source.context, reservation, &base);
    if (status != SARAPHIS_OK)
        return error_wrap(status, "pool_create: reserving %zu bytes of address space from '%s': ",
                          reservation, pool->source.name ? pool->source.name : "source");
    pool->page_base = align_up(base, page_size);
    pool->page_count = capacity / page_size;
    if (is_power_of_two(page_size))
        while (((size_t)1 << pool->page_shift) < page_size) pool->page_shift++;
    size_t words = (pool->page_count + 63) / 64;
    pool->pages = calloc(pool->page_count, sizeof *pool->pages);
    pool->mapped_bits = calloc(words, sizeof *pool->mapped_bits);
    pool->idle_bits = calloc(words, sizeof *pool->idle_bits);
    pool->run_bits = calloc(words, sizeof *pool->run_bits);
    pool->runs = malloc(pool->page_count * sizeof *pool->runs);
    pool_segment_t *space = calloc(1, sizeof *space);
    pool_block_t *block = block_new(pool);
    if (!pool->pages || !pool->mapped_bits || !pool->idle_bits || !pool->run_bits ||
        !pool->runs || !space || !block) {
        free(space);
        pool->source.release_address(pool->source.context, base, reservation);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool_create: page tables for %zu pages",
                         pool->page_count);
    }
    pool->run_head = pool->run_tail = pool->run_spare = NO_PAGE;
    space->base = base;
    space->size = reservation;
    space->is_space = 1;
    space->first_block = block;
    pool->space = space;
    pool->segments = space;
    pool->stats.segment_count = 1;
    block_init(block, pool->page_base, capacity, space, POOL_STREAM_ANY);
    free_insert(pool->any_bins, pool, block);
    return SARAPHIS_OK;
}

/* Reserves a segment whose aligned usable range holds at least `usable` bytes; size is the
 * preferred reservation (a multiple of the granularity, >= usable). */
static saraphis_status_t segment_reserve(pool_t *pool, size_t usable, size_t size,
                                         pool_segment_t **out)
{
    const size_t alignment = pool->config.alignment;
    const size_t granularity = pool->config.segment_granularity;
    pool_segment_t *segment = calloc(1, sizeof *segment);
    if (!segment)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: segment record for %zu bytes", size);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (pool->config.max_reserved_bytes &&
            (size > pool->config.max_reserved_bytes ||
             pool->stats.reserved_bytes > pool->config.max_reserved_bytes - size)) {
            free(segment);
            return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY,
                             "pool: reserving %zu bytes would exceed the cap of %zu (%llu held)",
                             size, pool->config.max_reserved_bytes,
                             (unsigned long long)pool->stats.reserved_bytes);
        }
        uintptr_t base = 0;
        saraphis_status_t status = pool->source.reserve(pool->source.context, size, &base);
        if (status != SARAPHIS_OK) {
            free(segment);
            return error_wrap(status, "pool: reserving a %zu-byte segment from '%s': ", size,
                              pool->source.name ? pool->source.name : "source");
        }
        if (base == 0) {
            free(segment);
            return error_set(SARAPHIS_ERROR_STATE, "pool: source '%s' returned address 0",
                             pool->source.name ? pool->source.name : "source");
        }
        uintptr_t first = align_up(base, alignment);
        size_t lost = first - base;
        if (size >= lost && ((size - lost) & ~(alignment - 1)) >= usable) {
            segment->base = base;
            segment->size = size;
            *out = segment;
            return SARAPHIS_OK;
        }
        /* The base was not aligned and the slack ate the room: retry once with room for it. */
        pool->source.release(pool->source.context, base, size);
        if (size > SIZE_MAX - alignment - granularity) break;
        size = align_up(size + alignment, granularity);
    }
    free(segment);
    return error_set(SARAPHIS_ERROR_STATE, "pool: source '%s' returns misaligned bases",
                     pool->source.name ? pool->source.name : "source");
}

static void segment_link(pool_t *pool, pool_segment_t *segment)
{
    segment->next = pool->segments;
    if (pool->segments) pool->segments->prev = segment;
    pool->segments = segment;
    note_reserved(pool, segment->size);
}

/* Adds an online segment able to hold `need` bytes; returns its single free block. */
static saraphis_status_t grow(pool_t *pool, size_t need, pool_stream_t stream,
                              pool_block_t **out)
{
    const pool_config_t *config = &pool->config;
    if (pool->use_pages)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY,
                         "pool: no free range of %zu bytes left in the %zu-byte address range",
                         need, config->virtual_capacity);
    size_t size;
    if (need <= config->small_request_limit && need <= config->small_segment_size) {
        size = config->small_segment_size;
    } else {
        if (need > SIZE_MAX - config->segment_granularity)
            return error_set(SARAPHIS_ERROR_LIMIT, "pool: request of %zu bytes", need);
        size = align_up(need, config->segment_granularity);
    }
    /* Cached empty segments go back only when keeping them would raise the high-water mark:
     * below it they cost nothing extra and spare the source a release/reserve round trip (a
     * synchronizing cudaFree + cudaMalloc on a GPU) for every request that misses the cache. */
    if (config->release_empty_on_grow &&
        pool->stats.reserved_bytes + size > pool->stats.peak_reserved_bytes)
        release_empty_segments(pool);
    pool_block_t *block = block_new(pool);
    if (!block) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: block record");
    pool_segment_t *segment;
    saraphis_status_t status = segment_reserve(pool, need, size, &segment);
    if (status != SARAPHIS_OK && !config->release_empty_on_grow) {
        /* Out of room: cached empty segments are the only reserve left. */
        release_empty_segments(pool);
        status = segment_reserve(pool, need, size, &segment);
    }
    if (status != SARAPHIS_OK) {
        block_recycle(pool, block);
        return status;
    }
    segment_link(pool, segment);
    uintptr_t first = align_up(segment->base, config->alignment);
    /* A new segment belongs to the stream that asked for it (as in PyTorch's allocator), so its
     * tail and that stream's freed blocks coalesce; other streams get their own segments. */
    block_init(block, first, (segment->base + segment->size - first) & ~(config->alignment - 1),
               segment, stream);
    segment->first_block = block;
    free_insert(bins_of_tag(pool, stream), pool, block);
    *out = block;
    return SARAPHIS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Online placement                                                                           */

/* Takes the best fit for `need` bytes among the free ranges tagged `stream` or untagged (a new
 * segment when none fits), splits off the tail and marks the block live on `stream`. */
static saraphis_status_t online_alloc(pool_t *pool, size_t need, pool_stream_t stream,
                                      pool_block_t **out)
{
    unsigned bin = bin_of(pool, need);
    pool_bins_t *bins = bins_of_tag(pool, stream);
    pool_block_t *block = bins_best_fit(bins, need, bin, UINT32_MAX);
    /* An untagged range wins only when strictly smaller (never over an exact fit), so it lies
     * in a bin no higher. */
    pool_block_t *any = NULL;
    if (!block || block->size != need)
        any = bins_best_fit(pool->any_bins, need, bin,
                            block ? bin_of(pool, block->size) : UINT32_MAX);
    if (any && (!block || any->size < block->size)) {
        block = any;
        bins = pool->any_bins;
    }
    if (!block) SPS_TRY(grow(pool, need, stream, &block));
    /* Split off the tail first: the only step that can fail, done before anything changes. */
    pool_block_t *tail = NULL;
    if (block->size - need >= pool->config.alignment) {
        tail = block_new(pool);
        if (!tail) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: block record");
    }
    free_remove(bins, block);
    if (tail) {
        tail->address = block->address + need;
        tail->size = block->size - need;
        tail->segment = block->segment;
        tail->stream = block->stream;
        tail->prev = block;
        tail->next = block->next; /* free_insert sets the rest */
        if (block->next) block->next->prev = tail;
        block->next = tail;
        block->size = need;
        free_insert(bins, pool, tail);
    }
    block->state = 0; /* live online; pool_alloc sets the slack */
    block->stream = stream;
    block->segment->live_count++;
    *out = block;
    return SARAPHIS_OK;
}

/* Free neighbours merge only when their tags are equal. Merging a stream's range into an untagged
 * neighbour would hand the untagged bytes to that one stream until the next sync point (with
 * pages backing: the whole rest of the address range). */
static inline int tags_compatible(pool_stream_t a, pool_stream_t b) { return a == b; }

static inline pool_stream_t tags_merged(pool_stream_t a, pool_stream_t b)
{
    (void)b;
    return a;
}

/* Marks a block (already out of every tree) free, merges it with compatible free neighbours and
 * files the result in the free tree. */
static void online_release(pool_t *pool, pool_block_t *block)
{
    /* Neighbours merge only with an equal tag, so one bin set serves the whole merge. */
    pool_bins_t *bins = bins_of_tag(pool, block->stream);
    pool_block_t *prev = block->prev;
    if (prev && block_is_free(prev) && tags_compatible(prev->stream, block->stream)) {
        free_remove(bins, prev);
        prev->size += block->size;
        prev->stream = tags_merged(prev->stream, block->stream);
        prev->next = block->next;
        if (block->next) block->next->prev = prev;
        block_recycle(pool, block);
        block = prev;
    }
    pool_block_t *next = block->next;
    if (next && block_is_free(next) && tags_compatible(next->stream, block->stream)) {
        free_remove(bins, next);
        block->size += next->size;
        block->stream = tags_merged(block->stream, next->stream);
        block->next = next->next;
        if (next->next) next->next->prev = block;
        block_recycle(pool, next);
    }
    free_insert(bins, pool, block);
}

/* ------------------------------------------------------------------------------------------ */
/* Creation                                                                                   */

saraphis_status_t pool_create(pool_t **out, const pool_config_t *config,
                              const pool_source_t *source)
{
    if (!out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_create: NULL output");
    *out = NULL;
    if (!source || !source->reserve || !source->release)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pool_create: the segment source needs reserve and release");
    pool_config_t settings;
    if (config) settings = *config;
    else pool_config_default(&settings);
    if (settings.mode != POOL_MODE_ONLINE && settings.mode != POOL_MODE_PLANNED)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_create: unknown mode %d",
                         (int)settings.mode);
    if (!is_power_of_two(settings.alignment) || settings.alignment < 16 ||
        settings.alignment > ((size_t)1 << 30))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pool_create: alignment %zu is not a power of two in [16, 1 GiB]",
                         settings.alignment);
    if (settings.segment_granularity == 0 ||
        settings.segment_granularity % settings.alignment != 0)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pool_create: segment granularity %zu is not a multiple of the "
                         "alignment %zu", settings.segment_granularity, settings.alignment);
    if (settings.small_segment_size == 0 ||
        settings.small_segment_size % settings.segment_granularity != 0)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pool_create: small segment size %zu is not a multiple of the "
                         "granularity %zu", settings.small_segment_size,
                         settings.segment_granularity);
    if (settings.plan_rule != PLANNER_FIRST_FIT && settings.plan_rule != PLANNER_BEST_FIT &&
        settings.plan_rule != PLANNER_BEST_OF_BOTH)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_create: unknown plan rule %d",
                         (int)settings.plan_rule);
    int can_map = source->reserve_address && source->release_address && source->map &&
                  source->unmap;
    if (settings.backing == POOL_BACKING_AUTO)
        settings.backing = can_map ? POOL_BACKING_PAGES : POOL_BACKING_SEGMENTS;
    if (settings.backing != POOL_BACKING_SEGMENTS && settings.backing != POOL_BACKING_PAGES)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_create: unknown backing %d",
                         (int)settings.backing);
    if (settings.backing == POOL_BACKING_PAGES && !can_map)
        return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                         "pool_create: source '%s' cannot map pages",
                         source->name ? source->name : "source");
    pool_t *pool = calloc(1, sizeof *pool);
    if (!pool) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool_create: pool record");
    pool->config = settings;
    pool->source = *source;
    pool->use_pages = settings.backing == POOL_BACKING_PAGES;
    while (((size_t)1 << pool->unit_shift) < settings.alignment) pool->unit_shift++;
    saraphis_status_t status = map_resize(pool, MAP_MIN_CAPACITY);
    if (status == SARAPHIS_OK && !bins_for_tag(pool, POOL_STREAM_ANY, 1))
        status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool_create: free bins");
    if (status == SARAPHIS_OK && pool->use_pages) status = pages_setup(pool);
    if (status != SARAPHIS_OK) {
        pool_free(pool);
        return status;
    }
    *out = pool;
    return SARAPHIS_OK;
}

pool_backing_t pool_backing(const pool_t *pool)
{
    return pool && pool->use_pages ? POOL_BACKING_PAGES : POOL_BACKING_SEGMENTS;
}

void pool_free(pool_t *pool)
{
    if (!pool) return;
    if (pool->use_pages) {
        const size_t page_size = pool->config.segment_granularity;
        const size_t last = pool->page_count - 1;
        for (size_t page = pool->mapped_bits ? bits_find(pool->mapped_bits, 0, last, 1)
                                             : BITS_NONE;
             page != BITS_NONE;) {
            size_t stop = bits_find(pool->mapped_bits, page, last, 0);
            size_t end = stop == BITS_NONE ? pool->page_count : stop;
            pool->source.unmap(pool->source.context, pool->page_base + page * page_size,
                               (end - page) * page_size);
            page = stop == BITS_NONE ? BITS_NONE : bits_find(pool->mapped_bits, stop, last, 1);
        }
        while (pool->segments) {
            pool_segment_t *segment = pool->segments;
            pool->segments = segment->next;
            if (segment->is_space)
                pool->source.release_address(pool->source.context, segment->base, segment->size);
            free(segment);
        }
        free(pool->pages);
        free(pool->mapped_bits);
        free(pool->idle_bits);
        free(pool->run_bits);
        free(pool->runs);
    }
    while (pool->segments) segment_release(pool, pool->segments);
    for (size_t i = 0; i < pool->block_chunk_count; i++) free(pool->block_chunks[i]);
    for (size_t i = 0; i < pool->bin_set_count; i++) free(pool->bin_sets[i]);
    free(pool->bin_sets);
    free(pool->block_chunks);
    free(pool->map);
    free(pool->records);
    free(pool->plan);
    free(pool);
}

/* ------------------------------------------------------------------------------------------ */
/* Planned mode                                                                               */

static saraphis_status_t record_request(pool_t *pool, pool_block_t *block, pool_stream_t stream)
{
    if (pool->record_count == pool->record_capacity) {
        size_t capacity = pool->record_capacity ? 2 * pool->record_capacity : 1024;
        if (capacity > SIZE_MAX / sizeof(pool_record_t))
            return error_set(SARAPHIS_ERROR_LIMIT, "pool: %zu recorded requests", capacity);
        pool_record_t *records = realloc(pool->records, capacity * sizeof *records);
        if (!records)
            return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: recording %zu requests",
                             capacity);
        pool->records = records;
        pool->record_capacity = capacity;
    }
    block->record_serial = pool->iteration_serial;
    block->record_index = pool->record_count;
    pool->records[pool->record_count++] =
        (pool_record_t){block->size, pool->event_clock++, UINT64_MAX, stream};
    return SARAPHIS_OK;
}

/* Is [address, address + size) free of live arena blocks? Live arena blocks are disjoint, so
 * their ends ascend with their starts: only the last one starting below the range end can
 * reach into it. */
static int arena_range_free(const pool_t *pool, uintptr_t address, size_t size)
{
    const pool_tree_node_t *node = pool_tree_last_below(&pool->arena_tree, 0, address + size, 0);
    if (!node) return 1;
    const pool_block_t *block = block_of_node(node);
    return block->address + block->size <= address;
}

/* Tries the plan's entry for the current request; *out stays NULL when it does not apply. */
static saraphis_status_t plan_alloc(pool_t *pool, size_t need, size_t requested,
                                    pool_stream_t stream, pool_block_t **out)
{
    *out = NULL;
    size_t index = pool->request_index++;
    if (index >= pool->plan_count) {
        pool->stats.plan_misses++;
        return SARAPHIS_OK;
    }
    const pool_plan_entry_t *entry = &pool->plan[index];
    if (entry->offset == PLAN_ENTRY_ONLINE) {
        pool->stats.plan_online++;
        return SARAPHIS_OK;
    }
    uintptr_t address = align_up(pool->arena->base, pool->config.alignment) + entry->offset;
    if (entry->size != need || entry->stream != stream || !arena_range_free(pool, address, need)) {
        pool->stats.plan_misses++;
        return SARAPHIS_OK;
    }
    pool_block_t *block = block_new(pool);
    if (!block) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: block record");
    block_init(block, address, need, pool->arena, stream);
    block->state = BLOCK_ARENA | (uint32_t)(need - requested);
    block->node.key[0] = 0;
    block->node.key[1] = address;
    block->node.key[2] = 0;
    saraphis_status_t status = SARAPHIS_OK;
    if (pool->use_pages) status = pages_acquire(pool, address, need);
    if (status == SARAPHIS_OK) {
        status = map_insert(pool, block);
        if (status != SARAPHIS_OK && pool->use_pages) pages_release(pool, address, need);
    }
    if (status != SARAPHIS_OK) {
        block_recycle(pool, block);
        return status;
    }
    pool_tree_insert(&pool->arena_tree, &block->node);
    pool->arena->live_count++;
    pool->stats.plan_hits++;
    *out = block;
    return SARAPHIS_OK;
}

static void plan_drop(pool_t *pool)
{
    free(pool->plan);
    pool->plan = NULL;
    pool->plan_count = 0;
    pool->stats.arena_bytes = 0;
    if (pool->arena) {
        if (pool->arena->live_count == 0) segment_release(pool, pool->arena);
        else pool->arena->retired = 1;
        pool->arena = NULL;
    }
}

static saraphis_status_t plan_build(pool_t *pool)
{
    size_t count = pool->record_count;
    size_t interval_count = 0;
    for (size_t i = 0; i < count; i++) interval_count += pool->records[i].end != UINT64_MAX;
    pool_plan_entry_t *plan = malloc((count ? count : 1) * sizeof *plan);
    planner_interval_t *intervals = malloc((interval_count ? interval_count : 1) *
                                           sizeof *intervals);
    uint64_t *offsets = malloc((interval_count ? interval_count : 1) * sizeof *offsets);
    if (!plan || !intervals || !offsets) {
        free(plan);
        free(intervals);
        free(offsets);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: planning %zu requests", count);
    }
    for (size_t i = 0, k = 0; i < count; i++) {
        const pool_record_t *record = &pool->records[i];
        if (record->end == UINT64_MAX) continue;
        intervals[k++] = (planner_interval_t){record->size, record->start, record->end,
                                              record->stream};
    }
    uint64_t arena_size = 0;
    saraphis_status_t status = planner_place(intervals, interval_count, pool->config.alignment,
                                             pool->config.plan_rule, offsets, &arena_size, NULL);
    pool_segment_t *arena = NULL;
    if (status == SARAPHIS_OK && arena_size > 0) {
        const size_t granularity = pool->config.segment_granularity;
        if (arena_size > SIZE_MAX - granularity) {
            status = error_set(SARAPHIS_ERROR_LIMIT, "pool: plan arena of %llu bytes",
                               (unsigned long long)arena_size);
        } else {
            /* The recorded iteration's transient blocks are all free now: give their segments
             * back before the arena takes their place. */
            release_empty_segments(pool);
            if (pool->use_pages) {
                /* The arena is an address range of the space; its pages map as it is used. */
                pool_block_t *holder = NULL;
                arena = calloc(1, sizeof *arena);
                if (!arena)
                    status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: arena record");
                else
                    status = online_alloc(pool, (size_t)arena_size, 0, &holder);
                if (status == SARAPHIS_OK) {
                    arena->base = holder->address;
                    arena->size = holder->size;
                    arena->holder = holder;
                } else {
                    free(arena);
                    arena = NULL;
                }
            } else {
                status = segment_reserve(pool, (size_t)arena_size,
                                         align_up((size_t)arena_size, granularity), &arena);
            }
        }
    }
    if (status != SARAPHIS_OK) {
        free(plan);
        free(intervals);
        free(offsets);
        return error_wrap(status, "pool: building the plan of %zu requests: ", count);
    }
    for (size_t i = 0, k = 0; i < count; i++) {
        const pool_record_t *record = &pool->records[i];
        plan[i].size = record->size;
        plan[i].stream = record->stream;
        plan[i].offset = record->end == UINT64_MAX ? PLAN_ENTRY_ONLINE : offsets[k++];
    }
    free(intervals);
    free(offsets);
    if (arena) {
        arena->is_arena = 1;
        if (pool->use_pages) {
            arena->next = pool->segments;
            if (pool->segments) pool->segments->prev = arena;
            pool->segments = arena;
        } else {
            segment_link(pool, arena);
        }
    }
    pool->plan = plan;
    pool->plan_count = count;
    pool->arena = arena;
    pool->stats.arena_bytes = arena_size;
    pool->stats.plans_built++;
    return SARAPHIS_OK;
}

saraphis_status_t pool_iteration_begin(pool_t *pool)
{
    if (!pool) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_iteration_begin: NULL");
    if (pool->in_iteration)
        return error_set(SARAPHIS_ERROR_STATE, "pool_iteration_begin: iteration %llu still open",
                         (unsigned long long)pool->iteration_serial);
    pool->in_iteration = 1;
    pool->iteration_serial++;
    pool->request_index = 0;
    if (pool->config.mode == POOL_MODE_PLANNED && !pool->plan) {
        pool->recording = 1;
        pool->record_count = 0;
        pool->event_clock = 0;
    }
    return SARAPHIS_OK;
}

saraphis_status_t pool_iteration_end(pool_t *pool)
{
    if (!pool) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_iteration_end: NULL");
    if (!pool->in_iteration)
        return error_set(SARAPHIS_ERROR_STATE, "pool_iteration_end: no iteration is open");
    pool->in_iteration = 0;
    if (!pool->recording) return SARAPHIS_OK;
    pool->recording = 0;
    return plan_build(pool);
}

void pool_plan_reset(pool_t *pool)
{
    if (!pool) return;
    plan_drop(pool);
    pool->recording = 0;
}

int pool_has_plan(const pool_t *pool) { return pool && pool->plan != NULL; }

/* ------------------------------------------------------------------------------------------ */
/* Allocation                                                                                 */

saraphis_status_t pool_alloc(pool_t *pool, size_t size, pool_stream_t stream, void **ptr)
{
    if (!pool || !ptr) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_alloc: NULL");
    *ptr = NULL;
    if (size == 0) return SARAPHIS_OK;
    if (stream == POOL_STREAM_ANY)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pool_alloc: stream %u is reserved", (unsigned)stream);
    if (size > SIZE_MAX / 2)
        return error_set(SARAPHIS_ERROR_LIMIT, "pool_alloc: %zu bytes", size);
    size_t need = align_up(size, pool->config.alignment);
    /* The stream's bin set must exist before one of its blocks can be freed into it. */
    if (pool->last_bins->tag != stream && !bins_for_tag(pool, stream, 1))
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool_alloc: free bins of stream %u",
                         (unsigned)stream);

    pool_block_t *block = NULL;
    if (pool->plan && pool->in_iteration) SPS_TRY(plan_alloc(pool, need, size, stream, &block));
    if (!block) {
        SPS_TRY(online_alloc(pool, need, stream, &block));
        block->state = (uint32_t)(need - size);
        int pages_held = 0;
        saraphis_status_t status = SARAPHIS_OK;
        if (pool->use_pages) {
            status = pages_acquire(pool, block->address, need);
            pages_held = status == SARAPHIS_OK;
        }
        if (status == SARAPHIS_OK) status = map_insert(pool, block);
        if (status == SARAPHIS_OK && pool->recording) status = record_request(pool, block, stream);
        if (status != SARAPHIS_OK) {
            size_t slot;
            if (map_find(pool, block->address, &slot)) map_remove_slot(pool, slot);
            if (pages_held) pages_release(pool, block->address, need);
            block->segment->live_count--;
            online_release(pool, block);
            return status;
        }
    }
    pool->stats.alloc_count++;
    pool->stats.live_bytes += block->size;
    pool->stats.live_requested_bytes += size;
    if (pool->stats.live_bytes > pool->stats.peak_live_bytes)
        pool->stats.peak_live_bytes = pool->stats.live_bytes;
    if (pool->stats.live_requested_bytes > pool->stats.peak_live_requested_bytes)
        pool->stats.peak_live_requested_bytes = pool->stats.live_requested_bytes;
    *ptr = (void *)block->address;
    return SARAPHIS_OK;
}

saraphis_status_t pool_dealloc(pool_t *pool, void *ptr)
{
    if (!pool) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_dealloc: NULL pool");
    if (!ptr) return SARAPHIS_OK;
    size_t slot;
    pool_block_t *block = map_find(pool, (uintptr_t)ptr, &slot);
    if (!block)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "pool_dealloc: %p is not a live block of this pool", ptr);
    map_remove_slot(pool, slot);
    pool->stats.dealloc_count++;
    pool->stats.live_bytes -= block->size;
    pool->stats.live_requested_bytes -= block->size - (block->state & BLOCK_VALUE);
    if (pool->recording) {
        if (block->record_serial == pool->iteration_serial)
            pool->records[block->record_index].end = pool->event_clock;
        pool->event_clock++;
    }
    pool_segment_t *segment = block->segment;
    segment->live_count--;
    if (pool->use_pages) pages_release(pool, block->address, block->size);
    if (block_in_arena(block)) {
        pool_tree_remove(&pool->arena_tree, &block->node);
        block_recycle(pool, block);
        if (segment->retired && segment->live_count == 0) segment_release(pool, segment);
        return SARAPHIS_OK;
    }
    online_release(pool, block);
    if (pool->config.release_empty_on_free && segment->live_count == 0)
        segment_release(pool, segment);
    return SARAPHIS_OK;
}

size_t pool_block_size(const pool_t *pool, const void *ptr)
{
    if (!pool || !ptr) return 0;
    const pool_block_t *block = map_find(pool, (uintptr_t)ptr, NULL);
    return block ? block->size : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Streams, trimming, statistics                                                              */

void pool_stream_synchronized(pool_t *pool, pool_stream_t stream)
{
    if (!pool || stream == POOL_STREAM_ANY) return;
    pool_bins_t *bins = bins_for_tag(pool, stream, 0);
    if (!bins) return;
    while (bins->first_bitmap) {
        unsigned first = (unsigned)__builtin_ctzll(bins->first_bitmap);
        unsigned second = (unsigned)__builtin_ctz(bins->second_bitmap[first]);
        pool_block_t *block = bins->heads[(first << BIN_SECOND_BITS) | second];
        free_remove(bins, block);
        block->stream = POOL_STREAM_ANY;
        /* Re-merge with untagged neighbours; neighbours still tagged `stream` are retagged by
         * a later turn of this loop and merge then. */
        online_release(pool, block);
    }
}

void pool_synchronize(pool_t *pool)
{
    if (!pool) return;
    for (size_t i = 0; i < pool->bin_set_count; i++)
        if (pool->bin_sets[i]->tag != POOL_STREAM_ANY)
            pool_stream_synchronized(pool, pool->bin_sets[i]->tag);
}

void pool_trim(pool_t *pool)
{
    if (!pool) return;
    if (pool->use_pages) pages_trim(pool);
    else release_empty_segments(pool);
}

void pool_get_stats(const pool_t *pool, pool_stats_t *stats)
{
    if (!pool || !stats) return;
    *stats = pool->stats;
    stats->fragmentation = stats->peak_reserved_bytes
                               ? 1.0 - (double)stats->peak_live_bytes /
                                           (double)stats->peak_reserved_bytes
                               : 0.0;
    stats->current_fragmentation =
        stats->reserved_bytes ? 1.0 - (double)stats->live_bytes / (double)stats->reserved_bytes
                              : 0.0;
}

void pool_reset_peaks(pool_t *pool)
{
    if (!pool) return;
    pool->stats.peak_reserved_bytes = pool->stats.reserved_bytes;
    pool->stats.peak_live_bytes = pool->stats.live_bytes;
    pool->stats.peak_live_requested_bytes = pool->stats.live_requested_bytes;
}

void pool_visit_live_blocks(const pool_t *pool, pool_block_visitor_fn visitor, void *user)
{
    if (!pool || !visitor) return;
    for (size_t i = 0; i < pool->map_capacity; i++) {
        const pool_block_t *block = pool->map[i].block;
        if (pool->map[i].address)
            visitor(user, block->address, block->size, block->stream, block_in_arena(block));
    }
}

void pool_visit_segments(const pool_t *pool, pool_segment_visitor_fn visitor, void *user)
{
    if (!pool || !visitor) return;
    for (const pool_segment_t *segment = pool->segments; segment; segment = segment->next)
        visitor(user, segment->base, segment->size, segment->is_arena);
}
