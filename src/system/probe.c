/* The host memory probe for the pressure handler when there is no GPU: available and total
 * physical memory from /proc/meminfo (MemAvailable counts reclaimable cache, which is what a
 * new allocation can get), else sysconf's free and total pages. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "system/system.h"

static saraphis_status_t host_query(void *context, uint64_t *free_bytes, uint64_t *total_bytes)
{
    (void)context;
    FILE *file = fopen("/proc/meminfo", "r");
    unsigned long long total_kib = 0, available_kib = 0;
    if (file) {
        char line[256];
        while (fgets(line, sizeof line, file)) {
            unsigned long long value;
            if (sscanf(line, "MemTotal: %llu kB", &value) == 1) total_kib = value;
            else if (sscanf(line, "MemAvailable: %llu kB", &value) == 1) available_kib = value;
        }
        fclose(file);
    }
    if (total_kib && available_kib <= total_kib) {
        *free_bytes = (uint64_t)available_kib * 1024;
        *total_bytes = (uint64_t)total_kib * 1024;
        return SARAPHIS_OK;
    }
    long page = sysconf(_SC_PAGESIZE), pages = sysconf(_SC_PHYS_PAGES), free_pages = sysconf(_SC_AVPHYS_PAGES);
    if (page <= 0 || pages <= 0 || free_pages < 0 || free_pages > pages)
        return error_set(SARAPHIS_ERROR_IO, "host memory probe: neither /proc/meminfo nor sysconf answered");
    *free_bytes = (uint64_t)free_pages * (uint64_t)page;
    *total_bytes = (uint64_t)pages * (uint64_t)page;
    return SARAPHIS_OK;
}

void system_probe_host(pressure_probe_t *probe)
{
    probe->context = NULL;
    probe->query = host_query;
}
