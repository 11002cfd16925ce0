/* Host segment source: anonymous private mappings. The pool never touches the bytes it manages,
 * and MAP_NORESERVE keeps the kernel from charging a mapping before its pages are written, so
 * replaying a GPU trace that reserves 9 GB costs address space, not RAM. */
#include "memory/pool.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "common/error.h"

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

static saraphis_status_t host_reserve(void *context, size_t size, uintptr_t *base)
{
    (void)context;
    if (size == 0)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "host source: reserve of 0 bytes");
    void *mapping = mmap(NULL, size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "host source: mmap of %zu bytes: %s", size,
                         strerror(errno));
    *base = (uintptr_t)mapping;
    return SARAPHIS_OK;
}

static void host_release(void *context, uintptr_t base, size_t size)
{
    (void)context;
    munmap((void *)base, size);
}

/* Address space only: nothing is accessible until mapped. */
static saraphis_status_t host_reserve_address(void *context, size_t size, uintptr_t *base)
{
    (void)context;
    if (size == 0)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "host source: reserve of 0 bytes");
    void *mapping = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                         0);
    if (mapping == MAP_FAILED)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY,
                         "host source: reserving %zu bytes of address space: %s", size,
                         strerror(errno));
    *base = (uintptr_t)mapping;
    return SARAPHIS_OK;
}

static saraphis_status_t host_map(void *context, uintptr_t address, size_t size)
{
    (void)context;
    if (mprotect((void *)address, size, PROT_READ | PROT_WRITE) != 0)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "host source: mapping %zu bytes: %s", size,
                         strerror(errno));
    return SARAPHIS_OK;
}

/* Drops the contents (the kernel frees the frames) and makes the range inaccessible again, so a
 * stray access through a stale pointer faults instead of reading recycled memory. */
static void host_unmap(void *context, uintptr_t address, size_t size)
{
    (void)context;
    madvise((void *)address, size, MADV_DONTNEED);
    mprotect((void *)address, size, PROT_NONE);
}

void pool_source_host_segments(pool_source_t *source)
{
    memset(source, 0, sizeof *source);
    source->name = "host";
    source->reserve = host_reserve;
    source->release = host_release;
}

void pool_source_host(pool_source_t *source)
{
    pool_source_host_segments(source);
    source->reserve_address = host_reserve_address;
    source->release_address = host_release;
    source->map = host_map;
    source->unmap = host_unmap;
}
