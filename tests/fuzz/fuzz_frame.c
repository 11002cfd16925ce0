/* Fuzz target: saraphis_decompress, and saraphis_decompress_planes with a few plane counts, on
 * arbitrary bytes must never crash, hang or read out of bounds; whatever they accept must be a
 * frame they can describe. */
#include <stdlib.h>
#include <string.h>

#include "saraphis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static saraphis_ctx_t *ctx;
    if (!ctx) ctx = saraphis_ctx_create();
    saraphis_frame_info_t info;
    if (saraphis_frame_info(data, size, &info) != SARAPHIS_OK) return 0;
    if (info.raw_size > (64u << 20)) return 0; /* bounded by the harness, not the library */
    uint8_t *out = malloc(info.raw_size ? info.raw_size : 1);
    size_t out_size;
    saraphis_decompress(ctx, data, size, out, info.raw_size, &out_size);
    double bound;
    saraphis_decompress_planes(ctx, data, size, 1 + (unsigned)(size % 3), out, info.raw_size, &out_size, &bound);
    free(out);
    return 0;
}
