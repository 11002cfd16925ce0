/* SmartPool core: segments, pages, blocks, the free bins, the address map, plans (see pool.h).
 *
 * Block records live in host memory, carved from chunks and recycled through a spare list, so
 * the hot path never calls malloc. Every block is in exactly one of: the free bins (is_free),
 * the arena tree (live, in_arena), or neither (live, online). Live blocks are in the address map.
 */
#include "memory/pool.h"

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
    pool_tree_node_t node; /* arena blocks: first member, a tree node pointer is the block */
    struct pool_block_s *free_prev, *free_next; /* free blocks: the list of their size bin */
    pool_bins_t *bins;                          /* free blocks: the bin set they are filed in */
    uintptr_t address;
    size_t size;      /* rounded to the alignment */
    size_t requested; /* as asked, for the requested-bytes statistics */
    struct pool_block_s *prev, *next; /* address neighbours in an online segment; next also links
                                         the spare list */
    pool_segment_t *segment;
    uint64_t record_serial; /* iteration serial in which the block was recorded; 0: not recorded */
    size_t record_index;
    pool_stream_t stream; /* owner when live, tag when free (POOL_STREAM_ANY once synced) */
    uint8_t is_free;
    uint8_t in_arena;
    uint8_t bin_first, bin_second; /* free blocks: their bin */
} pool_block_t;

/* Free blocks are filed by stream tag, then by size in two-level segregated bins (as in TLSF):
 * sizes in units of the alignment; below 16 units one bin per unit, above that 16 bins per
 * power of two. Bins cover disjoint, ascending size ranges, so the best fit is the smallest
 * fitting block of the first bin that holds one: the request's own bin is scanned for a fit,
 * then the next non-empty bin (found by bitmap) is scanned for its smallest block. Filing and
 * unfiling are O(1); a search costs the length of at most two bin lists. */
#define BIN_SECOND_BITS 4
#define BIN_SECOND_COUNT (1u << BIN_SECOND_BITS)
#define BIN_FIRST_COUNT 64

struct pool_bins_s {
    pool_stream_t tag;
    uint64_t first_bitmap;                    /* bit f: some second-level bin of f is non-empty */
    uint32_t second_bitmap[BIN_FIRST_COUNT];  /* bit s: bin (f, s) is non-empty */
    pool_block_t *heads[BIN_FIRST_COUNT][BIN_SECOND_COUNT];
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

struct pool_s {
    pool_config_t config;
    pool_source_t source;
    pool_bins_t **bin_sets; /* one per stream tag seen, POOL_STREAM_ANY included */
    size_t bin_set_count, bin_set_capacity;
    pool_bins_t *any_bins;  /* the POOL_STREAM_ANY set */
    pool_bins_t *last_bins; /* the set found last: most programs use one stream */
    size_t free_block_count;
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

    /* PAGES backing. A page is mapped iff page_mapped; it is idle iff mapped with no user, and
     * then sits in the idle list, longest idle at the head. */
    int use_pages;
    pool_segment_t *space;
    uintptr_t page_base; /* the address range's start rounded up to a page */
    size_t page_count;
    uint32_t *page_users; /* live blocks touching each page */
    uint8_t *page_mapped;
    uint32_t *idle_prev, *idle_next;
    uint32_t idle_head, idle_tail;
    size_t idle_count;
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

static pool_block_t *block_new(pool_t *pool)
{
    if (!pool->spare_blocks) {
        if (pool->block_chunk_count == pool->block_chunk_capacity) {
            size_t capacity = pool->block_chunk_capacity ? 2 * pool->block_chunk_capacity : 16;
            void **chunks = realloc(pool->block_chunks, capacity * sizeof *chunks);
            if (!chunks) return NULL;
            pool->block_chunks = chunks;
            pool->block_chunk_capacity = capacity;
        }
        pool_block_t *chunk = malloc(BLOCKS_PER_CHUNK * sizeof *chunk);
        if (!chunk) return NULL;
        pool->block_chunks[pool->block_chunk_count++] = chunk;
        for (size_t i = 0; i < BLOCKS_PER_CHUNK; i++) {
            chunk[i].next = pool->spare_blocks;
            pool->spare_blocks = &chunk[i];
        }
    }
    pool_block_t *block = pool->spare_blocks;
    pool->spare_blocks = block->next;
    memset(block, 0, sizeof *block);
    return block;
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

static saraphis_status_t map_insert(pool_t *pool, pool_block_t *block)
{
    /* Load at most one half keeps probe runs short. */
    if (2 * (pool->map_count + 1) > pool->map_capacity)
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

static void map_remove_slot(pool_t *pool, size_t slot)
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

static inline void bin_of(const pool_t *pool, size_t size, unsigned *first, unsigned *second)
{
    uint64_t units = size / pool->config.alignment;
    if (units < BIN_SECOND_COUNT) {
        *first = 0;
        *second = (unsigned)units;
    } else {
        unsigned top = 63u - (unsigned)__builtin_clzll(units);
        *first = top - BIN_SECOND_BITS + 1;
        *second = (unsigned)(units >> (top - BIN_SECOND_BITS)) & (BIN_SECOND_COUNT - 1);
    }
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
    return bins;
}

/* Files a free block by its tag and size. Callers make sure the tag's set exists (pool_alloc
 * creates the set of its stream before a block of that stream can be freed). */
static inline void free_insert(pool_t *pool, pool_block_t *block)
{
    pool_bins_t *bins = block->stream == POOL_STREAM_ANY ? pool->any_bins
                                                         : bins_for_tag(pool, block->stream, 0);
    unsigned first, second;
    bin_of(pool, block->size, &first, &second);
    pool_block_t **head = &bins->heads[first][second];
    block->bins = bins;
    block->bin_first = (uint8_t)first;
    block->bin_second = (uint8_t)second;
    block->free_prev = NULL;
    block->free_next = *head;
    if (*head) (*head)->free_prev = block;
    *head = block;
    bins->second_bitmap[first] |= 1u << second;
    bins->first_bitmap |= (uint64_t)1 << first;
    pool->free_block_count++;
}

static inline void free_remove(pool_t *pool, pool_block_t *block)
{
    pool_bins_t *bins = block->bins;
    unsigned first = block->bin_first, second = block->bin_second;
    if (block->free_prev) block->free_prev->free_next = block->free_next;
    else bins->heads[first][second] = block->free_next;
    if (block->free_next) block->free_next->free_prev = block->free_prev;
    if (!bins->heads[first][second]) {
        bins->second_bitmap[first] &= ~(1u << second);
        if (!bins->second_bitmap[first]) bins->first_bitmap &= ~((uint64_t)1 << first);
    }
    pool->free_block_count--;
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

static pool_block_t *bins_best_fit(const pool_t *pool, const pool_bins_t *bins, size_t need)
{
    if (!bins) return NULL;
    unsigned first, second;
    bin_of(pool, need, &first, &second);
    pool_block_t *fit = list_best_fit(bins->heads[first][second], need);
    if (fit) return fit;
    /* The next non-empty bin above: every block in it fits. */
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
    return list_best_fit(bins->heads[first][second], need);
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
            if (block->is_free) free_remove(pool, block);
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

static void idle_push(pool_t *pool, uint32_t page)
{
    pool->idle_prev[page] = pool->idle_tail;
    pool->idle_next[page] = NO_PAGE;
    if (pool->idle_tail != NO_PAGE) pool->idle_next[pool->idle_tail] = page;
    else pool->idle_head = page;
    pool->idle_tail = page;
    pool->idle_count++;
}

static void idle_unlink(pool_t *pool, uint32_t page)
{
    uint32_t prev = pool->idle_prev[page], next = pool->idle_next[page];
    if (prev != NO_PAGE) pool->idle_next[prev] = next;
    else pool->idle_head = next;
    if (next != NO_PAGE) pool->idle_prev[next] = prev;
    else pool->idle_tail = prev;
    pool->idle_count--;
}

static void unmap_page(pool_t *pool, uint32_t page)
{
    const size_t page_size = pool->config.segment_granularity;
    idle_unlink(pool, page);
    pool->page_mapped[page] = 0;
    pool->mapped_pages--;
    pool->stats.reserved_bytes -= page_size;
    pool->stats.segment_releases++;
    pool->source.unmap(pool->source.context, pool->page_base + (uintptr_t)page * page_size,
                       page_size);
}

static void pages_trim(pool_t *pool)
{
    while (pool->idle_count) unmap_page(pool, pool->idle_head);
}

static void pages_release(pool_t *pool, uintptr_t address, size_t size)
{
    const size_t page_size = pool->config.segment_granularity;
    size_t first = (address - pool->page_base) / page_size;
    size_t last = (address + size - 1 - pool->page_base) / page_size;
    for (size_t page = first; page <= last; page++)
        if (--pool->page_users[page] == 0) idle_push(pool, (uint32_t)page);
}

/* Makes every page under [address, address + size) mapped and counts the block as a user. */
static saraphis_status_t pages_acquire(pool_t *pool, uintptr_t address, size_t size)
{
    const size_t page_size = pool->config.segment_granularity;
    size_t first = (address - pool->page_base) / page_size;
    size_t last = (address + size - 1 - pool->page_base) / page_size;
    size_t to_map = 0;
    for (size_t page = first; page <= last; page++) {
        if (pool->page_users[page]++ == 0) {
            if (pool->page_mapped[page]) idle_unlink(pool, (uint32_t)page);
            else to_map++;
        }
    }
    if (to_map == 0) return SARAPHIS_OK;
    /* Idle pages go back only when keeping them would raise the high-water mark or pass the
     * cap; below it they are a free cache that spares map/unmap round trips. */
    uint64_t cap = pool->config.max_reserved_bytes;
    while (pool->idle_count) {
        uint64_t after = (uint64_t)(pool->mapped_pages + to_map) * page_size;
        if (after <= pool->high_water_reserved && (!cap || after <= cap)) break;
        if (!pool->config.release_empty_on_grow && (!cap || after <= cap)) break;
        unmap_page(pool, pool->idle_head);
    }
    saraphis_status_t status = SARAPHIS_OK;
    if (cap && (uint64_t)(pool->mapped_pages + to_map) * page_size > cap)
        status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY,
                           "pool: mapping %zu more pages of %zu bytes would exceed the cap of "
                           "%llu bytes", to_map, page_size, (unsigned long long)cap);
    for (size_t page = first; page <= last && status == SARAPHIS_OK;) {
        if (pool->page_mapped[page]) {
            page++;
            continue;
        }
        size_t run = 1;
        while (page + run <= last && !pool->page_mapped[page + run]) run++;
        status = pool->source.map(pool->source.context, pool->page_base + page * page_size,
                                  run * page_size);
        if (status != SARAPHIS_OK) {
            status = error_wrap(status, "pool: mapping %zu pages from '%s': ", run,
                                pool->source.name ? pool->source.name : "source");
            break;
        }
        memset(&pool->page_mapped[page], 1, run);
        pool->mapped_pages += run;
        pool->stats.segment_reservations++;
        note_reserved_bytes(pool, run * page_size);
        page += run;
    }
    if (status != SARAPHIS_OK) {
        /* Undo the user counts; pages mapped above stay mapped, idle. */
        for (size_t page = first; page <= last; page++) {
            if (--pool->page_users[page] == 0 && pool->page_mapped[page])
                idle_push(pool, (uint32_t)page);
        }
    }
    return status;
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
    pool->page_users = calloc(pool->page_count, sizeof *pool->page_users);
    pool->page_mapped = calloc(pool->page_count, sizeof *pool->page_mapped);
    pool->idle_prev = malloc(pool->page_count * sizeof *pool->idle_prev);
    pool->idle_next = malloc(pool->page_count * sizeof *pool->idle_next);
    pool_segment_t *space = calloc(1, sizeof *space);
    pool_block_t *block = block_new(pool);
    if (!pool->page_users || !pool->page_mapped || !pool->idle_prev || !pool->idle_next ||
        !space || !block) {
        free(space);
        pool->source.release_address(pool->source.context, base, reservation);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool_create: page tables for %zu pages",
                         pool->page_count);
    }
    pool->idle_head = pool->idle_tail = NO_PAGE;
    space->base = base;
    space->size = reservation;
    space->is_space = 1;
    space->first_block = block;
    pool->space = space;
    pool->segments = space;
    pool->stats.segment_count = 1;
    block->address = pool->page_base;
    block->size = capacity;
    block->segment = space;
    block->stream = POOL_STREAM_ANY;
    block->is_free = 1;
    free_insert(pool, block);
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
    block->address = first;
    block->size = (segment->base + segment->size - first) & ~(config->alignment - 1);
    block->segment = segment;
    /* A new segment belongs to the stream that asked for it (as in PyTorch's allocator), so its
     * tail and that stream's freed blocks coalesce; other streams get their own segments. */
    block->stream = stream;
    block->is_free = 1;
    segment->first_block = block;
    free_insert(pool, block);
    *out = block;
    return SARAPHIS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Online placement                                                                           */

/* Best fit for `need` bytes among ranges tagged `stream` or untagged. */
static pool_block_t *find_free(pool_t *pool, size_t need, pool_stream_t stream)
{
    pool_block_t *own = bins_best_fit(pool, bins_for_tag(pool, stream, 0), need);
    pool_block_t *any = bins_best_fit(pool, pool->any_bins, need);
    if (!own) return any;
    if (!any) return own;
    return any->size < own->size ? any : own;
}

static saraphis_status_t online_alloc(pool_t *pool, size_t need, pool_stream_t stream,
                                      pool_block_t **out)
{
    pool_block_t *block = find_free(pool, need, stream);
    if (!block) SPS_TRY(grow(pool, need, stream, &block));
    /* Split off the tail first: the only step that can fail, done before anything changes. */
    pool_block_t *tail = NULL;
    if (block->size - need >= pool->config.alignment) {
        tail = block_new(pool);
        if (!tail) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool: block record");
    }
    free_remove(pool, block);
    if (tail) {
        tail->address = block->address + need;
        tail->size = block->size - need;
        tail->segment = block->segment;
        tail->stream = block->stream;
        tail->is_free = 1;
        tail->prev = block;
        tail->next = block->next;
        if (block->next) block->next->prev = tail;
        block->next = tail;
        block->size = need;
        free_insert(pool, tail);
    }
    block->is_free = 0;
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
    block->is_free = 1;
    pool_block_t *prev = block->prev;
    if (prev && prev->is_free && tags_compatible(prev->stream, block->stream)) {
        free_remove(pool, prev);
        prev->size += block->size;
        prev->stream = tags_merged(prev->stream, block->stream);
        prev->next = block->next;
        if (block->next) block->next->prev = prev;
        block_recycle(pool, block);
        block = prev;
    }
    pool_block_t *next = block->next;
    if (next && next->is_free && tags_compatible(next->stream, block->stream)) {
        free_remove(pool, next);
        block->size += next->size;
        block->stream = tags_merged(block->stream, next->stream);
        block->next = next->next;
        if (next->next) next->next->prev = block;
        block_recycle(pool, next);
    }
    free_insert(pool, block);
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
        for (size_t page = 0; pool->page_mapped && page < pool->page_count;) {
            if (!pool->page_mapped[page]) {
                page++;
                continue;
            }
            size_t run = 1;
            while (page + run < pool->page_count && pool->page_mapped[page + run]) run++;
            pool->source.unmap(pool->source.context, pool->page_base + page * page_size,
                               run * page_size);
            page += run;
        }
        while (pool->segments) {
            pool_segment_t *segment = pool->segments;
            pool->segments = segment->next;
            if (segment->is_space)
                pool->source.release_address(pool->source.context, segment->base, segment->size);
            free(segment);
        }
        free(pool->page_users);
        free(pool->page_mapped);
        free(pool->idle_prev);
        free(pool->idle_next);
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
    const pool_block_t *block = (const pool_block_t *)node;
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
    block->address = address;
    block->size = need;
    block->requested = requested;
    block->segment = pool->arena;
    block->stream = stream;
    block->in_arena = 1;
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
    if (!bins_for_tag(pool, stream, 1))
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool_alloc: free bins of stream %u",
                         (unsigned)stream);

    pool_block_t *block = NULL;
    if (pool->plan && pool->in_iteration) SPS_TRY(plan_alloc(pool, need, size, stream, &block));
    if (!block) {
        SPS_TRY(online_alloc(pool, need, stream, &block));
        block->requested = size;
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
    pool->stats.live_requested_bytes -= block->requested;
    if (pool->recording) {
        if (block->record_serial == pool->iteration_serial)
            pool->records[block->record_index].end = pool->event_clock;
        pool->event_clock++;
    }
    pool_segment_t *segment = block->segment;
    segment->live_count--;
    if (pool->use_pages) pages_release(pool, block->address, block->size);
    if (block->in_arena) {
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
        pool_block_t *block = bins->heads[first][second];
        free_remove(pool, block);
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
            visitor(user, block->address, block->size, block->stream, block->in_arena);
    }
}

void pool_visit_segments(const pool_t *pool, pool_segment_visitor_fn visitor, void *user)
{
    if (!pool || !visitor) return;
    for (const pool_segment_t *segment = pool->segments; segment; segment = segment->next)
        visitor(user, segment->base, segment->size, segment->is_arena);
}
