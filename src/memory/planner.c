/* Greedy-by-size placement (Zhang et al. 2019) and loop-period detection; see planner.h.
 * Invariant kept while placing: `placed` lists the intervals placed so far in ascending offset,
 * so one pass over it finds the lowest (or tightest) gap among lifetime neighbours. */
#include "memory/planner.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* A sort record carries its own keys, so the comparison needs no shared context. */
typedef struct {
    uint64_t size;
    uint64_t length;
    uint64_t start;
    size_t index;
} sort_record_t;

/* Larger first; among equal sizes the longer lifetime first (it constrains more), then the
 * earlier start, then the index, so the order is a total one and the result deterministic. */
static int compare_by_size(const void *a, const void *b)
{
    const sort_record_t *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (x->length != y->length) return x->length > y->length ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static inline int lifetimes_overlap(const planner_interval_t *x, const planner_interval_t *y)
{
    return x->group != y->group || (x->start < y->end && y->start < x->end);
}

static uint64_t place_with_rule(const planner_interval_t *intervals, size_t count,
                                const size_t *order, planner_rule_t rule, uint64_t *offsets,
                                size_t *placed)
{
    size_t placed_count = 0;
    uint64_t arena = 0;
    for (size_t rank = 0; rank < count; rank++) {
        size_t index = order[rank];
        const planner_interval_t *interval = &intervals[index];
        uint64_t candidate = 0;    /* lowest offset above every neighbour seen so far */
        uint64_t best_offset = 0, best_gap = UINT64_MAX;
        int found = 0;
        for (size_t p = 0; p < placed_count; p++) {
            const planner_interval_t *other = &intervals[placed[p]];
            if (!lifetimes_overlap(interval, other)) continue;
            uint64_t other_offset = offsets[placed[p]];
            if (other_offset >= candidate && other_offset - candidate >= interval->size) {
                uint64_t gap = other_offset - candidate;
                if (rule == PLANNER_FIRST_FIT) {
                    best_offset = candidate;
                    found = 1;
                    break;
                }
                if (gap < best_gap) {
                    best_gap = gap;
                    best_offset = candidate;
                    found = 1;
                }
            }
            uint64_t other_end = other_offset + other->size;
            if (other_end > candidate) candidate = other_end;
        }
        uint64_t offset = found ? best_offset : candidate;
        offsets[index] = offset;
        if (offset + interval->size > arena) arena = offset + interval->size;
        /* Keep `placed` sorted by offset: insertion point by binary search. */
        size_t low = 0, high = placed_count;
        while (low < high) {
            size_t mid = (low + high) / 2;
            if (offsets[placed[mid]] <= offset) low = mid + 1;
            else high = mid;
        }
        memmove(&placed[low + 1], &placed[low], (placed_count - low) * sizeof *placed);
        placed[low] = index;
        placed_count++;
    }
    return arena;
}

saraphis_status_t planner_place(const planner_interval_t *intervals, size_t count,
                                uint64_t alignment, planner_rule_t rule, uint64_t *offsets,
                                uint64_t *arena_size, planner_rule_t *rule_used)
{
    if (!arena_size || (count && (!intervals || !offsets)))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "planner_place: NULL argument");
    if (alignment == 0 || (alignment & (alignment - 1)))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "planner_place: alignment %llu is not a power of two",
                         (unsigned long long)alignment);
    if (rule != PLANNER_FIRST_FIT && rule != PLANNER_BEST_FIT && rule != PLANNER_BEST_OF_BOTH)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "planner_place: unknown rule %d",
                         (int)rule);
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        const planner_interval_t *interval = &intervals[i];
        if (interval->end <= interval->start)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "planner_place: interval %zu has end %llu <= start %llu", i,
                             (unsigned long long)interval->end,
                             (unsigned long long)interval->start);
        if (interval->size % alignment)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "planner_place: interval %zu size %llu is not a multiple of %llu", i,
                             (unsigned long long)interval->size, (unsigned long long)alignment);
        if (interval->size > UINT64_MAX / 2 - total)
            return error_set(SARAPHIS_ERROR_LIMIT, "planner_place: total size overflows");
        total += interval->size;
    }
    *arena_size = 0;
    if (rule_used) *rule_used = rule == PLANNER_BEST_OF_BOTH ? PLANNER_FIRST_FIT : rule;
    if (count == 0) return SARAPHIS_OK;
    if (count > SIZE_MAX / (sizeof(sort_record_t) + 2 * sizeof(size_t) + sizeof(uint64_t)))
        return error_set(SARAPHIS_ERROR_LIMIT, "planner_place: %zu intervals", count);

    sort_record_t *records = malloc(count * sizeof *records);
    size_t *order = malloc(count * sizeof *order);
    size_t *placed = malloc(count * sizeof *placed);
    uint64_t *other_offsets = rule == PLANNER_BEST_OF_BOTH ? malloc(count * sizeof *other_offsets)
                                                           : NULL;
    if (!records || !order || !placed || (rule == PLANNER_BEST_OF_BOTH && !other_offsets)) {
        free(records);
        free(order);
        free(placed);
        free(other_offsets);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "planner_place: %zu intervals", count);
    }
    for (size_t i = 0; i < count; i++)
        records[i] = (sort_record_t){intervals[i].size, intervals[i].end - intervals[i].start,
                                     intervals[i].start, i};
    qsort(records, count, sizeof *records, compare_by_size);
    for (size_t i = 0; i < count; i++) order[i] = records[i].index;
    free(records);

    if (rule == PLANNER_BEST_OF_BOTH) {
        uint64_t first = place_with_rule(intervals, count, order, PLANNER_FIRST_FIT, offsets,
                                         placed);
        uint64_t best = place_with_rule(intervals, count, order, PLANNER_BEST_FIT, other_offsets,
                                        placed);
        if (best < first) {
            memcpy(offsets, other_offsets, count * sizeof *offsets);
            *arena_size = best;
            if (rule_used) *rule_used = PLANNER_BEST_FIT;
        } else {
            *arena_size = first;
        }
    } else {
        *arena_size = place_with_rule(intervals, count, order, rule, offsets, placed);
    }
    free(order);
    free(placed);
    free(other_offsets);
    return SARAPHIS_OK;
}

typedef struct {
    uint64_t time;
    int64_t delta;
} live_event_t;

static int compare_live_events(const void *a, const void *b)
{
    const live_event_t *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    /* Frees (negative) before allocations at the same instant: [start, end) is half-open. */
    return (x->delta > y->delta) - (x->delta < y->delta);
}

uint64_t planner_peak_live(const planner_interval_t *intervals, size_t count)
{
    if (count == 0 || count > SIZE_MAX / (2 * sizeof(live_event_t))) return 0;
    live_event_t *events = malloc(2 * count * sizeof *events);
    if (!events) return 0;
    for (size_t i = 0; i < count; i++) {
        events[2 * i] = (live_event_t){intervals[i].start, (int64_t)intervals[i].size};
        events[2 * i + 1] = (live_event_t){intervals[i].end, -(int64_t)intervals[i].size};
    }
    qsort(events, 2 * count, sizeof *events, compare_live_events);
    int64_t live = 0, peak = 0;
    for (size_t i = 0; i < 2 * count; i++) {
        live += events[i].delta;
        if (live > peak) peak = live;
    }
    free(events);
    return (uint64_t)peak;
}

saraphis_status_t planner_find_period(const uint64_t *values, size_t count, size_t min_period,
                                      size_t *start, size_t *period, size_t *repeats)
{
    if (!values || !start || !period || !repeats)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "planner_find_period: NULL argument");
    if (min_period == 0) min_period = 1;
    size_t best_run = 0, best_start = 0, best_period = 0;
    for (size_t p = min_period; p <= count / 2; p++) {
        size_t run = 0;
        for (size_t i = 0; i + p < count; i++) {
            if (values[i] == values[i + p]) {
                run++;
                /* Strictly longer runs win, so the smallest period of a tie is kept. A run of r
                 * matches spans r + p values: r / p + 1 whole periods. */
                if (run > best_run) {
                    best_run = run;
                    best_start = i + 1 - run;
                    best_period = p;
                }
            } else {
                run = 0;
            }
        }
    }
    if (best_period == 0 || best_run < best_period)
        return error_set(SARAPHIS_ERROR_NOT_FOUND,
                         "planner_find_period: no period >= %zu repeats in %zu values", min_period,
                         count);
    *start = best_start;
    *period = best_period;
    *repeats = best_run / best_period + 1;
    return SARAPHIS_OK;
}
