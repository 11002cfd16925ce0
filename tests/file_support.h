/* File helpers shared by the container tests: read a whole file, write bytes to one, and open
 * plus verify a .sps file through the public reader. */
#ifndef SARAPHIS_TESTS_FILE_SUPPORT_H
#define SARAPHIS_TESTS_FILE_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "saraphis.h"

static inline uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc(*size ? *size : 1);
    if (fread(bytes, 1, *size, f) != *size) { free(bytes); bytes = NULL; }
    fclose(f);
    return bytes;
}

static inline void spill(const char *path, const uint8_t *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, size, f);
    fclose(f);
}

static inline saraphis_status_t open_and_verify(const char *path, saraphis_ctx_t *ctx)
{
    saraphis_reader_t *reader = NULL;
    saraphis_status_t status = saraphis_reader_open(&reader, path, ctx);
    if (status == SARAPHIS_OK) status = saraphis_reader_verify(reader);
    saraphis_reader_free(reader);
    return status;
}

#endif
