/* 64-bit checksum of byte ranges (the XXH64 algorithm, implemented here from its specification).
 * Used for every chunk, the index and the headers of the .sps format. */
#ifndef SARAPHIS_COMMON_CHECKSUM_H
#define SARAPHIS_COMMON_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t checksum64(const void *data, size_t size, uint64_t seed);

#endif
