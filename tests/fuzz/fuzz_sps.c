/* Fuzz target: the .sps reader (header, footer, index, records) on an arbitrary file: open,
 * list, verify and read every tensor within a size budget. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "saraphis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static saraphis_ctx_t *ctx;
    static int fd = -1;
    static char path[64];
    if (!ctx) {
        ctx = saraphis_ctx_create();
        fd = memfd_create("fuzz.sps", 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) return 0;
    saraphis_reader_t *reader = NULL;
    if (saraphis_reader_open(&reader, path, ctx) != SARAPHIS_OK) return 0;
    size_t count = saraphis_reader_tensor_count(reader);
    for (size_t i = 0; i < count; i++) {
        saraphis_tensor_info_t info;
        if (saraphis_reader_tensor_info(reader, i, &info) != SARAPHIS_OK) abort();
        if (info.raw_size > (16u << 20)) continue;
        void *out = malloc(info.raw_size ? info.raw_size : 1);
        saraphis_reader_read_tensor(reader, i, out, info.raw_size);
        free(out);
    }
    saraphis_reader_verify(reader);
    saraphis_reader_free(reader);
    return 0;
}
