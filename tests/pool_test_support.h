/* Test support for SmartPool tests: a CHECK macro, and a "device" segment source that hands out
 * simulated addresses (never touched) while keeping its own record of what is reserved and
 * mapped, plus an occupancy bitmap, so tests verify the pool against state the pool does not
 * own: every live block lies in reserved (or mapped) memory, is aligned, and overlaps no other.
 */
#ifndef SARAPHIS_TESTS_POOL_TEST_SUPPORT_H
#define SARAPHIS_TESTS_POOL_TEST_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "memory/pool.h"

static int check_failures;

#define CHECK(condition)                                                              \
    do {                                                                              \
        if (!(condition)) {                                                           \
            check_failures++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
        }                                                                             \
    } while (0)

#define CHECK_OK(expression)                                                                \
    do {                                                                                    \
        saraphis_status_t check_status_ = (expression);                                     \
        if (check_status_ != SARAPHIS_OK) {                                                 \
            check_failures++;                                                               \
            fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #expression, \
                    saraphis_status_name(check_status_), saraphis_last_error());            \
        }                                                                                   \
    } while (0)

static int tests_passed, tests_failed;

static inline void run_test(const char *name, void (*test)(void))
{
    int before = check_failures;
    test();
    if (check_failures == before) {
        tests_passed++;
    } else {
        tests_failed++;
        fprintf(stderr, "FAILED: %s\n", name);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The fake device: an address span starting at 1 TiB; reserve() takes first fit from it (so
 * released ranges are reused and the span stays near the peak), map() marks 2 MiB pages. */

#define DEVICE_BASE ((uint64_t)1 << 40)
#define DEVICE_UNIT 512u /* occupancy granularity: the pool's default alignment */

typedef struct {
    uint64_t base, size;
} device_range_t;

typedef struct {
    uint64_t span;               /* bytes of address space the device has */
    device_range_t *free_ranges; /* sorted by base, coalesced */
    size_t free_count, free_capacity;
    device_range_t *reserved;    /* reserve()d ranges, sorted by base */
    size_t reserved_count, reserved_capacity;
    uint64_t reserved_bytes;     /* segments reserved now (reserve) */
    uint64_t mapped_bytes;       /* pages mapped now (map) */
    uint64_t page_size;
    uint8_t *page_mapped;        /* per page of the span */
    uint64_t *occupied;          /* bitmap of DEVICE_UNIT units held by live blocks */
    int fail_next_reserve;       /* inject one reserve() failure */
    int fail_next_map;
    uint64_t reserve_calls, map_calls, unmap_calls;
    /* Optional, per page of the span: how many live blocks the test knows touch it. unmap()
     * of a page with a nonzero count is a failure (the pool gave back memory in use). */
    const uint32_t *page_touched;
} device_t;

static inline int device_init(device_t *device, uint64_t span, uint64_t page_size)
{
    memset(device, 0, sizeof *device);
    device->span = span;
    device->page_size = page_size;
    device->free_capacity = 64;
    device->free_ranges = malloc(device->free_capacity * sizeof *device->free_ranges);
    device->reserved_capacity = 64;
    device->reserved = malloc(device->reserved_capacity * sizeof *device->reserved);
    device->page_mapped = calloc(span / page_size + 1, 1);
    device->occupied = calloc(span / DEVICE_UNIT / 64 + 1, sizeof(uint64_t));
    if (!device->free_ranges || !device->reserved || !device->page_mapped || !device->occupied)
        return 0;
    device->free_ranges[0] = (device_range_t){DEVICE_BASE, span};
    device->free_count = 1;
    return 1;
}

static inline void device_destroy(device_t *device)
{
    free(device->free_ranges);
    free(device->reserved);
    free(device->page_mapped);
    free(device->occupied);
}

static inline saraphis_status_t device_reserve_range(device_t *device, size_t size, uintptr_t *base)
{
    /* Keep segment bases aligned like cudaMalloc's (2 MiB) to model the real device. */
    uint64_t rounded = (size + device->page_size - 1) / device->page_size * device->page_size;
    for (size_t i = 0; i < device->free_count; i++) {
        device_range_t *range = &device->free_ranges[i];
        if (range->size < rounded) continue;
        *base = (uintptr_t)range->base;
        range->base += rounded;
        range->size -= rounded;
        if (range->size == 0) {
            memmove(range, range + 1, (device->free_count - i - 1) * sizeof *range);
            device->free_count--;
        }
        return SARAPHIS_OK;
    }
    return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "fake device: %zu bytes do not fit", size);
}

static inline void device_release_range(device_t *device, uint64_t base, uint64_t size)
{
    size = (size + device->page_size - 1) / device->page_size * device->page_size;
    size_t at = 0;
    while (at < device->free_count && device->free_ranges[at].base < base) at++;
    if (device->free_count == device->free_capacity) {
        device->free_capacity *= 2;
        device->free_ranges =
            realloc(device->free_ranges, device->free_capacity * sizeof *device->free_ranges);
    }
    memmove(&device->free_ranges[at + 1], &device->free_ranges[at],
            (device->free_count - at) * sizeof *device->free_ranges);
    device->free_ranges[at] = (device_range_t){base, size};
    device->free_count++;
    /* Coalesce with the following and the preceding range. */
    if (at + 1 < device->free_count &&
        device->free_ranges[at].base + device->free_ranges[at].size ==
            device->free_ranges[at + 1].base) {
        device->free_ranges[at].size += device->free_ranges[at + 1].size;
        memmove(&device->free_ranges[at + 1], &device->free_ranges[at + 2],
                (device->free_count - at - 2) * sizeof *device->free_ranges);
        device->free_count--;
    }
    if (at > 0 && device->free_ranges[at - 1].base + device->free_ranges[at - 1].size ==
                      device->free_ranges[at].base) {
        device->free_ranges[at - 1].size += device->free_ranges[at].size;
        memmove(&device->free_ranges[at], &device->free_ranges[at + 1],
                (device->free_count - at - 1) * sizeof *device->free_ranges);
        device->free_count--;
    }
}

static saraphis_status_t device_reserve(void *context, size_t size, uintptr_t *base)
{
    device_t *device = context;
    if (device->fail_next_reserve) {
        device->fail_next_reserve = 0;
        return error_set(SARAPHIS_ERROR_GPU, "fake device: injected reserve failure");
    }
    SPS_TRY(device_reserve_range(device, size, base));
    size_t at = 0;
    while (at < device->reserved_count && device->reserved[at].base < *base) at++;
    if (device->reserved_count == device->reserved_capacity) {
        device->reserved_capacity *= 2;
        device->reserved =
            realloc(device->reserved, device->reserved_capacity * sizeof *device->reserved);
    }
    memmove(&device->reserved[at + 1], &device->reserved[at],
            (device->reserved_count - at) * sizeof *device->reserved);
    device->reserved[at] = (device_range_t){*base, size};
    device->reserved_count++;
    device->reserved_bytes += size;
    device->reserve_calls++;
    return SARAPHIS_OK;
}

static void device_release(void *context, uintptr_t base, size_t size)
{
    device_t *device = context;
    size_t at = 0;
    while (at < device->reserved_count && device->reserved[at].base != base) at++;
    if (at == device->reserved_count || device->reserved[at].size != size) {
        fprintf(stderr, "fake device: release of %#llx (%zu bytes) that was not reserved\n",
                (unsigned long long)base, size);
        check_failures++;
        return;
    }
    memmove(&device->reserved[at], &device->reserved[at + 1],
            (device->reserved_count - at - 1) * sizeof *device->reserved);
    device->reserved_count--;
    device->reserved_bytes -= size;
    device_release_range(device, base, size);
}

static saraphis_status_t device_reserve_address(void *context, size_t size, uintptr_t *base)
{
    return device_reserve_range(context, size, base);
}

static void device_release_address(void *context, uintptr_t base, size_t size)
{
    device_release_range(context, base, size);
}

static saraphis_status_t device_map(void *context, uintptr_t address, size_t size)
{
    device_t *device = context;
    if (device->fail_next_map) {
        device->fail_next_map = 0;
        return error_set(SARAPHIS_ERROR_GPU, "fake device: injected map failure");
    }
    for (uint64_t page = (address - DEVICE_BASE) / device->page_size;
         page < (address + size - DEVICE_BASE) / device->page_size; page++) {
        if (device->page_mapped[page]) {
            fprintf(stderr, "fake device: page %llu mapped twice\n", (unsigned long long)page);
            check_failures++;
        }
        device->page_mapped[page] = 1;
    }
    device->mapped_bytes += size;
    device->map_calls++;
    return SARAPHIS_OK;
}

static void device_unmap(void *context, uintptr_t address, size_t size)
{
    device_t *device = context;
    for (uint64_t page = (address - DEVICE_BASE) / device->page_size;
         page < (address + size - DEVICE_BASE) / device->page_size; page++) {
        if (!device->page_mapped[page]) {
            fprintf(stderr, "fake device: page %llu unmapped while not mapped\n",
                    (unsigned long long)page);
            check_failures++;
        }
        if (device->page_touched && device->page_touched[page]) {
            fprintf(stderr, "fake device: page %llu unmapped while %u live blocks touch it\n",
                    (unsigned long long)page, (unsigned)device->page_touched[page]);
            check_failures++;
        }
        device->page_mapped[page] = 0;
    }
    device->mapped_bytes -= size;
    device->unmap_calls++;
}

static inline void device_source(device_t *device, pool_source_t *source, int with_pages)
{
    memset(source, 0, sizeof *source);
    source->name = "fake-device";
    source->context = device;
    source->reserve = device_reserve;
    source->release = device_release;
    if (with_pages) {
        source->reserve_address = device_reserve_address;
        source->release_address = device_release_address;
        source->map = device_map;
        source->unmap = device_unmap;
    }
}

/* Is [address, address + size) inside one reserved segment (or, pages = 1, on mapped pages)? */
static inline int device_contains(const device_t *device, uint64_t address, uint64_t size, int pages)
{
    if (address < DEVICE_BASE || address + size > DEVICE_BASE + device->span) return 0;
    if (pages) {
        for (uint64_t page = (address - DEVICE_BASE) / device->page_size;
             page <= (address + size - 1 - DEVICE_BASE) / device->page_size; page++)
            if (!device->page_mapped[page]) return 0;
        return 1;
    }
    size_t low = 0, high = device->reserved_count;
    while (low < high) { /* last segment with base <= address */
        size_t mid = (low + high) / 2;
        if (device->reserved[mid].base <= address) low = mid + 1;
        else high = mid;
    }
    if (low == 0) return 0;
    const device_range_t *segment = &device->reserved[low - 1];
    return address + size <= segment->base + segment->size;
}

/* Marks (set = 1) or clears the units of a block; returns 0 when a unit was already in the
 * requested state (an overlap on marking, a double free on clearing). */
static inline int device_occupy(device_t *device, uint64_t address, uint64_t size, int set)
{
    uint64_t first = (address - DEVICE_BASE) / DEVICE_UNIT;
    uint64_t end = (address - DEVICE_BASE + size + DEVICE_UNIT - 1) / DEVICE_UNIT;
    int clean = 1;
    for (uint64_t unit = first; unit < end;) {
        uint64_t word = unit / 64, bit = unit % 64;
        uint64_t count = 64 - bit < end - unit ? 64 - bit : end - unit;
        uint64_t mask = (count == 64 ? ~(uint64_t)0 : (((uint64_t)1 << count) - 1)) << bit;
        if (set) {
            if (device->occupied[word] & mask) clean = 0;
            device->occupied[word] |= mask;
        } else {
            if ((device->occupied[word] & mask) != mask) clean = 0;
            device->occupied[word] &= ~mask;
        }
        unit += count;
    }
    return clean;
}

#endif
