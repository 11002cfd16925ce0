/* planner: static placement of one iteration's memory requests (Zhang et al. 2019).
 *
 * Each request is an interval [start, end) on the iteration's event axis with a size in bytes.
 * Two intervals whose lifetimes overlap must get disjoint byte ranges. Finding the smallest
 * arena is NP-hard (dynamic storage allocation); the heuristic of Zhang, Yeung, Shu, He and Wang,
 * "Efficient Memory Management for GPU-based Deep Learning Systems" (arXiv:1903.06631, 2019),
 * treats it as weighted interval-graph colouring: visit intervals by size, largest first, and put
 * each at the lowest offset where it overlaps no already-placed interval that is live at the same
 * time. planner_place() runs that rule (first fit on the offset axis) and a best-fit variant (the
 * smallest gap that fits among the same live neighbours) and keeps the smaller arena; ties go to
 * first fit, the paper's rule.
 *
 * Thread-safety: every function works only on its arguments; call from any thread.
 */
#ifndef SARAPHIS_MEMORY_PLANNER_H
#define SARAPHIS_MEMORY_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

typedef struct {
    uint64_t size;  /* bytes, already rounded to the arena's alignment */
    uint64_t start; /* first event at which the request is live */
    uint64_t end;   /* first event at which it is dead again; end > start */
    uint32_t group; /* intervals of different groups never share bytes (CUDA streams) */
} planner_interval_t;

typedef enum {
    PLANNER_FIRST_FIT = 0, /* the paper's rule: lowest free offset */
    PLANNER_BEST_FIT = 1,  /* smallest gap that fits, else the top */
    PLANNER_BEST_OF_BOTH = 2
} planner_rule_t;

/* Computes offsets[i] for every interval so that lifetime-overlapping intervals never share a
 * byte; *arena_size receives max(offset + size). Offsets are multiples of alignment (a power of
 * two) provided every size is. O(n^2) time, O(n) memory. *rule_used (may be NULL) tells which
 * variant won under PLANNER_BEST_OF_BOTH. */
saraphis_status_t planner_place(const planner_interval_t *intervals, size_t count,
                                uint64_t alignment, planner_rule_t rule, uint64_t *offsets,
                                uint64_t *arena_size, planner_rule_t *rule_used);

/* The largest number of bytes live at once over the intervals: the bound no placement beats. */
uint64_t planner_peak_live(const planner_interval_t *intervals, size_t count);

/* Finds the repeating part of a request sequence (a training loop): the period P and first index
 * S that maximise the run of values[i] == values[i + P] starting at S, for P >= min_period.
 * *repeats receives how many whole periods the run covers (run / P + 1). Returns NOT_FOUND when
 * no period repeats at least twice. O(n^2 / 2) comparisons. */
saraphis_status_t planner_find_period(const uint64_t *values, size_t count, size_t min_period,
                                      size_t *start, size_t *period, size_t *repeats);

#endif
