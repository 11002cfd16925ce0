/* GPU encode (saraphis_gpu_compress). */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu_internal.h"

extern "C" {
#include "saraphis.h"
}

/* ---- Encode ------------------------------------------------------------------------------ */

/* For now: device -> pinned host (in slices), the CPU encoder, host -> device. The frame is the
 * CPU's by construction; the kernels that encode on the device come next. */
extern "C" saraphis_status_t saraphis_gpu_compress(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *d_src, size_t src_size,
                                                   void *d_dst, size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    error_clear();
    if (!ctx || (!d_src && src_size) || !d_dst || !dst_size) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "gpu_compress: NULL argument");
    gpu_state_t *state;
    SPS_TRY(gpu_state_get(ctx, &state));
    cudaStream_t stream = (cudaStream_t)cuda_stream;
    uint8_t *host_src = (uint8_t *)malloc(src_size ? src_size : 1);
    size_t bound = saraphis_compress_bound(src_size, ctx->chunk_bytes);
    uint8_t *host_dst = (uint8_t *)malloc(bound);
    saraphis_status_t status = host_src && host_dst ? SARAPHIS_OK : error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu_compress: no host memory");
    cudaError_t error = cudaSuccess;
    if (status == SARAPHIS_OK && src_size) {
        error = cudaMemcpyAsync(host_src, d_src, src_size, cudaMemcpyDeviceToHost, stream);
        if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
        if (error != cudaSuccess) status = gpu_cuda_fail(error, "gpu_compress: reading the input");
    }
    size_t written = 0;
    if (status == SARAPHIS_OK) status = saraphis_compress(ctx, dtype, host_src, src_size, host_dst, bound, &written);
    if (status == SARAPHIS_OK && written > dst_capacity)
        status = error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "gpu_compress: frame of %zu bytes, destination %zu", written, dst_capacity);
    if (status == SARAPHIS_OK) {
        error = cudaMemcpyAsync(d_dst, host_dst, written, cudaMemcpyHostToDevice, stream);
        if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
        if (error != cudaSuccess) status = gpu_cuda_fail(error, "gpu_compress: writing the frame");
    }
    free(host_src);
    free(host_dst);
    if (status == SARAPHIS_OK) *dst_size = written;
    return status;
}

