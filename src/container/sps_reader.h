/* Internal hooks of the .sps reader, for tests and tools built against the static library. */
#ifndef SARAPHIS_CONTAINER_SPS_READER_H
#define SARAPHIS_CONTAINER_SPS_READER_H

#include <stdint.h>

#include "saraphis.h"

/* Bytes of chunk records this reader has read from its file so far (index and header excluded):
 * what shows that a progressive read fetches only the prefixes it needs. Thread-safe. */
uint64_t sps_reader_record_bytes_read(const saraphis_reader_t *reader);

#endif
