/* Trace loading and replay (see pool_trace.h). The loader keeps a private address -> block id
 * map only while parsing; afterwards frees carry block ids. */
#include "memory/pool_trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "memory/planner.h"

#define TRACE_MAX_EVENTS ((size_t)1 << 30)

typedef struct {
    uint64_t *addresses; /* 0 = empty (the trace never allocates address 0: checked) */
    uint32_t *blocks;
    size_t capacity;     /* power of two */
    size_t count;
} address_map_t;

static size_t address_home(uint64_t address, size_t capacity)
{
    return (size_t)((address * 0x9E3779B97F4A7C15ULL) >> 17) & (capacity - 1);
}

static int address_map_grow(address_map_t *map)
{
    size_t capacity = map->capacity ? 2 * map->capacity : 4096;
    uint64_t *addresses = calloc(capacity, sizeof *addresses);
    uint32_t *blocks = calloc(capacity, sizeof *blocks);
    if (!addresses || !blocks) {
        free(addresses);
        free(blocks);
        return 0;
    }
    for (size_t i = 0; i < map->capacity; i++) {
        if (!map->addresses[i]) continue;
        size_t slot = address_home(map->addresses[i], capacity);
        while (addresses[slot]) slot = (slot + 1) & (capacity - 1);
        addresses[slot] = map->addresses[i];
        blocks[slot] = map->blocks[i];
    }
    free(map->addresses);
    free(map->blocks);
    map->addresses = addresses;
    map->blocks = blocks;
    map->capacity = capacity;
    return 1;
}

/* Slot holding address, or the empty slot where it would go. */
static size_t address_map_slot(const address_map_t *map, uint64_t address)
{
    size_t slot = address_home(address, map->capacity);
    while (map->addresses[slot] && map->addresses[slot] != address)
        slot = (slot + 1) & (map->capacity - 1);
    return slot;
}

static void address_map_erase(address_map_t *map, size_t slot)
{
    size_t mask = map->capacity - 1, hole = slot;
    for (size_t next = (hole + 1) & mask; map->addresses[next]; next = (next + 1) & mask) {
        size_t home = address_home(map->addresses[next], map->capacity);
        int home_in_range = hole <= next ? (home > hole && home <= next)
                                         : (home > hole || home <= next);
        if (!home_in_range) {
            map->addresses[hole] = map->addresses[next];
            map->blocks[hole] = map->blocks[next];
            hole = next;
        }
    }
    map->addresses[hole] = 0;
    map->count--;
}

void pool_trace_free(pool_trace_t *trace)
{
    if (!trace) return;
    free(trace->events);
    free(trace->alloc_sizes);
    free(trace->alloc_event);
    free(trace->free_event);
    free(trace);
}

static int parse_u64(const char **cursor, uint64_t *value)
{
    const char *text = *cursor;
    if (*text < '0' || *text > '9') return 0;
    errno = 0;
    char *end;
    unsigned long long parsed = strtoull(text, &end, 10);
    if (errno || end == text) return 0;
    *value = parsed;
    *cursor = end;
    return 1;
}

static int grow_array(void **array, size_t *capacity, size_t element_size)
{
    size_t next = *capacity ? 2 * *capacity : 4096;
    if (next > SIZE_MAX / element_size) return 0;
    void *grown = realloc(*array, next * element_size);
    if (!grown) return 0;
    *array = grown;
    *capacity = next;
    return 1;
}

saraphis_status_t pool_trace_load(const char *path, pool_trace_t **out)
{
    if (!path || !out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_trace_load: NULL");
    *out = NULL;
    FILE *file = fopen(path, "r");
    if (!file) return error_set(SARAPHIS_ERROR_IO, "trace %s: %s", path, strerror(errno));
    pool_trace_t *trace = calloc(1, sizeof *trace);
    address_map_t live = {0};
    char *line = NULL;
    size_t line_capacity = 0, event_capacity = 0, alloc_capacity = 0;
    size_t line_number = 0;
    saraphis_status_t status = SARAPHIS_OK;
    if (!trace || !address_map_grow(&live)) {
        status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "trace %s: tables", path);
        goto done;
    }
    ssize_t length;
    while ((length = getline(&line, &line_capacity, file)) >= 0) {
        line_number++;
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
            line[--length] = '\0';
        if (line_number == 1) {
            if (strncmp(line, "action,addr,size,stream", 23) != 0) {
                status = error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                                   "trace %s line 1: header is not action,addr,size,stream,...",
                                   path);
                goto done;
            }
            continue;
        }
        if (length == 0) continue;
        const char *comma = strchr(line, ',');
        if (!comma) {
            status = error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT, "trace %s line %zu: no fields",
                               path, line_number);
            goto done;
        }
        size_t action_length = (size_t)(comma - line);
        int is_alloc = action_length == 5 && !strncmp(line, "alloc", 5);
        int is_free = action_length == 14 && !strncmp(line, "free_completed", 14);
        if (!is_alloc && !is_free) continue; /* segment_alloc, free_requested, ...: not requests */
        uint64_t address, size, stream;
        const char *cursor = comma + 1;
        if (!parse_u64(&cursor, &address) || *cursor++ != ',' || !parse_u64(&cursor, &size) ||
            *cursor++ != ',' || !parse_u64(&cursor, &stream) || (*cursor && *cursor != ',')) {
            status = error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                               "trace %s line %zu: expected action,addr,size,stream,...", path,
                               line_number);
            goto done;
        }
        if (address == 0 || stream >= UINT32_MAX) {
            status = error_set(SARAPHIS_ERROR_CORRUPT,
                               "trace %s line %zu: address 0 or stream %llu out of range", path,
                               line_number, (unsigned long long)stream);
            goto done;
        }
        if (trace->event_count == event_capacity &&
            (event_capacity >= TRACE_MAX_EVENTS ||
             !grow_array((void **)&trace->events, &event_capacity, sizeof *trace->events))) {
            status = error_set(SARAPHIS_ERROR_LIMIT, "trace %s line %zu: too many events", path,
                               line_number);
            goto done;
        }
        if (2 * (live.count + 1) > live.capacity && !address_map_grow(&live)) {
            status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "trace %s: address map", path);
            goto done;
        }
        size_t slot = address_map_slot(&live, address);
        pool_trace_event_t *event = &trace->events[trace->event_count];
        if (is_alloc) {
            if (live.addresses[slot]) {
                status = error_set(SARAPHIS_ERROR_CORRUPT,
                                   "trace %s line %zu: alloc at live address %llu", path,
                                   line_number, (unsigned long long)address);
                goto done;
            }
            if (size == 0 || size > ((uint64_t)1 << 48)) {
                status = error_set(SARAPHIS_ERROR_CORRUPT, "trace %s line %zu: size %llu", path,
                                   line_number, (unsigned long long)size);
                goto done;
            }
            if (trace->alloc_count == alloc_capacity) {
                size_t capacity = alloc_capacity;
                size_t capacity_b = alloc_capacity, capacity_c = alloc_capacity;
                if (alloc_capacity >= UINT32_MAX / 2 ||
                    !grow_array((void **)&trace->alloc_sizes, &capacity,
                                sizeof *trace->alloc_sizes) ||
                    !grow_array((void **)&trace->alloc_event, &capacity_b,
                                sizeof *trace->alloc_event) ||
                    !grow_array((void **)&trace->free_event, &capacity_c,
                                sizeof *trace->free_event)) {
                    status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "trace %s: %zu allocs",
                                       path, alloc_capacity);
                    goto done;
                }
                alloc_capacity = capacity;
            }
            uint32_t block = (uint32_t)trace->alloc_count++;
            trace->alloc_sizes[block] = size;
            trace->alloc_event[block] = trace->event_count;
            trace->free_event[block] = SIZE_MAX;
            live.addresses[slot] = address;
            live.blocks[slot] = block;
            live.count++;
            *event = (pool_trace_event_t){size, block, (uint32_t)stream, POOL_TRACE_ALLOC};
        } else {
            if (!live.addresses[slot]) {
                status = error_set(SARAPHIS_ERROR_CORRUPT,
                                   "trace %s line %zu: free of address %llu that is not live",
                                   path, line_number, (unsigned long long)address);
                goto done;
            }
            uint32_t block = live.blocks[slot];
            address_map_erase(&live, slot);
            trace->free_event[block] = trace->event_count;
            *event = (pool_trace_event_t){trace->alloc_sizes[block], block, (uint32_t)stream,
                                          POOL_TRACE_FREE};
        }
        trace->event_count++;
    }
    if (ferror(file)) {
        status = error_set(SARAPHIS_ERROR_IO, "trace %s: read error", path);
        goto done;
    }
    if (line_number == 0) {
        status = error_set(SARAPHIS_ERROR_TRUNCATED, "trace %s: empty file", path);
        goto done;
    }
    uint64_t live_bytes = 0;
    for (size_t i = 0; i < trace->event_count; i++) {
        const pool_trace_event_t *event = &trace->events[i];
        if (event->action == POOL_TRACE_ALLOC) {
            live_bytes += event->size;
            if (live_bytes > trace->peak_live_requested) trace->peak_live_requested = live_bytes;
        } else {
            live_bytes -= event->size;
        }
    }
    for (size_t i = 0; i < trace->alloc_count; i++)
        if (trace->free_event[i] == SIZE_MAX) trace->free_event[i] = trace->event_count;
done:
    free(line);
    free(live.addresses);
    free(live.blocks);
    fclose(file);
    if (status != SARAPHIS_OK) {
        pool_trace_free(trace);
        return status;
    }
    *out = trace;
    return SARAPHIS_OK;
}

uint64_t pool_trace_peak_live(const pool_trace_t *trace, size_t alignment)
{
    if (!trace || alignment == 0) return 0;
    uint64_t live = 0, peak = 0;
    for (size_t i = 0; i < trace->event_count; i++) {
        const pool_trace_event_t *event = &trace->events[i];
        uint64_t rounded = (event->size + alignment - 1) / alignment * alignment;
        if (event->action == POOL_TRACE_ALLOC) {
            live += rounded;
            if (live > peak) peak = live;
        } else {
            live -= rounded;
        }
    }
    return peak;
}

saraphis_status_t pool_trace_find_iterations(const pool_trace_t *trace, size_t min_period,
                                             pool_trace_iterations_t *iterations)
{
    if (!trace || !iterations)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_trace_find_iterations: NULL");
    memset(iterations, 0, sizeof *iterations);
    size_t start, period, repeats;
    SPS_TRY(planner_find_period(trace->alloc_sizes, trace->alloc_count, min_period, &start,
                                &period, &repeats));
    if (repeats < 3)
        return error_set(SARAPHIS_ERROR_NOT_FOUND,
                         "trace: the longest repeating run covers %zu periods of %zu allocations; "
                         "a plan needs at least 3", repeats, period);
    /* Live bytes just before each allocation of the first period; the lowest is the boundary
     * between two steps. A boundary later in the period costs at most one iteration's plan. */
    uint64_t live = 0, best_live = UINT64_MAX;
    size_t best_block = start;
    for (size_t i = 0; i < trace->event_count; i++) {
        const pool_trace_event_t *event = &trace->events[i];
        if (event->action == POOL_TRACE_ALLOC) {
            if (event->block >= start && event->block < start + period && live < best_live) {
                best_live = live;
                best_block = event->block;
            }
            if (event->block >= start + period) break;
            live += event->size;
        } else {
            live -= event->size;
        }
    }
    iterations->first_alloc = best_block;
    iterations->length = period;
    iterations->repeats = repeats;
    return SARAPHIS_OK;
}

saraphis_status_t pool_trace_replay(pool_t *pool, const pool_trace_t *trace,
                                    const pool_replay_options_t *options, void **block_ptrs)
{
    if (!pool || !trace)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_trace_replay: NULL");
    pool_replay_options_t defaults;
    memset(&defaults, 0, sizeof defaults);
    if (!options) options = &defaults;
    void **pointers = block_ptrs;
    if (!pointers) {
        pointers = calloc(trace->alloc_count ? trace->alloc_count : 1, sizeof *pointers);
        if (!pointers)
            return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool_trace_replay: %zu pointers",
                             trace->alloc_count);
    }
    const pool_trace_iterations_t *marks = &options->iterations;
    int in_iteration = 0;
    saraphis_status_t status = SARAPHIS_OK;
    for (size_t i = 0; i < trace->event_count && status == SARAPHIS_OK; i++) {
        const pool_trace_event_t *event = &trace->events[i];
        if (event->action == POOL_TRACE_ALLOC) {
            if (marks->length && event->block >= marks->first_alloc &&
                (event->block - marks->first_alloc) % marks->length == 0) {
                if (in_iteration) status = pool_iteration_end(pool);
                if (status == SARAPHIS_OK) status = pool_iteration_begin(pool);
                in_iteration = status == SARAPHIS_OK;
                if (status != SARAPHIS_OK) break;
            }
            status = pool_alloc(pool, (size_t)event->size, event->stream, &pointers[event->block]);
            if (status == SARAPHIS_OK && options->on_alloc)
                options->on_alloc(options->user, event->block, pointers[event->block],
                                  event->size);
        } else {
            if (options->on_free)
                options->on_free(options->user, event->block, pointers[event->block],
                                 event->size);
            status = pool_dealloc(pool, pointers[event->block]);
            pointers[event->block] = NULL;
        }
        if (status != SARAPHIS_OK)
            status = error_wrap(status, "replaying event %zu (block %u): ", i,
                                (unsigned)event->block);
    }
    if (in_iteration && status == SARAPHIS_OK) status = pool_iteration_end(pool);
    if (!block_ptrs) free(pointers);
    return status;
}
