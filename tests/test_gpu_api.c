/* The GPU API in every build: without CUDA (or without a device) each call fails cleanly with a
 * status and a message (UNSUPPORTED in a build without CUDA, GPU "no CUDA device" in a CUDA build
 * on a machine without one) and never touches its pointers. The GPU codec itself is tested on a
 * GPU machine by tests/gpu/test_gpu_lossless.c (scripts/gpu_test.sh). */
#include <stdint.h>
#include <string.h>

#include "saraphis.h"
#include "testing.h"

int main(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    CHECK(ctx != NULL);
    if (saraphis_gpu_available()) {
        printf("test_gpu_api: a CUDA device is present; the GPU codec is tested by tests/gpu (skipped here)\n");
        saraphis_ctx_free(ctx);
        return TEST_SUMMARY("test_gpu_api");
    }
#ifdef SARAPHIS_WITH_CUDA
    const saraphis_status_t expected = SARAPHIS_ERROR_GPU;
#else
    const saraphis_status_t expected = SARAPHIS_ERROR_UNSUPPORTED;
#endif
    /* Bogus device pointers: a clean failure must come before any use of them. */
    void *fake = (void *)(uintptr_t)0x1000;
    size_t size = 0;
    CHECK(saraphis_gpu_decompress(ctx, fake, 64, fake, 64, &size, NULL) == expected);
    CHECK(strlen(saraphis_last_error()) > 0);
    const void *frames[1] = {fake};
    void *dsts[1] = {fake};
    size_t sizes[1] = {64}, capacities[1] = {64};
    CHECK(saraphis_gpu_decompress_batch(ctx, 1, frames, sizes, dsts, capacities, NULL, NULL) == expected);
    /* Host buffers: the call fails before writing to dst. */
    uint8_t host_in[64], host_frame[1024];
    memset(host_in, 0, sizeof host_in);
    memset(host_frame, 0xEE, sizeof host_frame);
    CHECK(saraphis_gpu_compress_host(ctx, SARAPHIS_DTYPE_BF16, host_in, sizeof host_in, host_frame, sizeof host_frame, &size, NULL) == expected);
    CHECK(host_frame[0] == 0xEE && host_frame[sizeof host_frame - 1] == 0xEE);
    double bound = -1;
    CHECK(saraphis_gpu_decompress_planes(ctx, fake, 64, 1, fake, 64, &size, &bound, NULL) == expected);
    CHECK(strstr(saraphis_last_error(), "decompress_planes") != NULL || strstr(saraphis_last_error(), "no CUDA device") != NULL);
    CHECK(bound == -1);
    CHECK(saraphis_gpu_compress(ctx, SARAPHIS_DTYPE_BF16, fake, 64, fake, 1024, &size, NULL) == expected);
#ifdef SARAPHIS_WITH_CUDA
    CHECK(strstr(saraphis_last_error(), "no CUDA device") != NULL);
#endif
    printf("test_gpu_api: calls fail cleanly: %s\n", saraphis_last_error());
    saraphis_ctx_free(ctx);
    return TEST_SUMMARY("test_gpu_api");
}
