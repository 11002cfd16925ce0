/* Parsing the .sps index: every count, size and offset is checked against the file before use,
 * so a hostile index can neither drive a large allocation nor point outside the record area. */
#ifndef SARAPHIS_CONTAINER_SPS_INDEX_H
#define SARAPHIS_CONTAINER_SPS_INDEX_H

#include "container/sps_format.h"

typedef struct {
    sps_tensor_t *tensors;
    size_t tensor_count;
    sps_metadata_t *metadata;
    size_t metadata_count;
} sps_index_t;

/* records_end is the index offset: every record must lie in [SPS_HEADER_BYTES, records_end). */
saraphis_status_t sps_index_parse(const uint8_t *bytes, size_t size, uint64_t records_end, const char *path, sps_index_t *index);
void sps_index_free(sps_index_t *index);

#endif
