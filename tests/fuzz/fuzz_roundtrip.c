/* Fuzz target: any bytes, read as any dtype and chunk size, compress and decompress to the same
 * bytes. */
#include <stdlib.h>
#include <string.h>

#include "saraphis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static saraphis_ctx_t *ctx;
    if (!ctx) ctx = saraphis_ctx_create();
    if (size < 1) return 0;
    saraphis_dtype_t dtype = (saraphis_dtype_t)(1 + data[0] % (SARAPHIS_DTYPE_COUNT_ - 1));
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, (data[0] & 0x80) ? 4096 : 65536);
    data++;
    size--;
    size -= size % saraphis_dtype_size(dtype);
    size_t capacity = saraphis_compress_bound(size, 4096);
    uint8_t *frame = malloc(capacity), *back = malloc(size ? size : 1);
    size_t frame_size, back_size;
    if (saraphis_compress(ctx, dtype, data, size, frame, capacity, &frame_size) != SARAPHIS_OK) abort();
    if (saraphis_decompress(ctx, frame, frame_size, back, size, &back_size) != SARAPHIS_OK) abort();
    if (back_size != size || memcmp(back, data, size) != 0) abort();
    free(frame);
    free(back);
    return 0;
}
