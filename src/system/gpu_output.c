/* Decompression into CUDA device memory for the coordinator (gpu_output.h). Kept small: copy the
 * frame to the device, call the GPU decoder, copy nothing back. */
#include "system/gpu_output.h"

#include <stdlib.h>

#include "common/error.h"

#ifdef SARAPHIS_WITH_CUDA
#include <cuda_runtime.h>

static saraphis_status_t cuda_failure(cudaError_t error, const char *call, int device)
{
    saraphis_status_t status = error == cudaErrorMemoryAllocation ? SARAPHIS_ERROR_OUT_OF_MEMORY : SARAPHIS_ERROR_GPU;
    return error_set(status, "%s on CUDA device %d: %s", call, device, cudaGetErrorString(error));
}

/* Makes `device` current, remembering the previous one in *previous. */
static saraphis_status_t enter_device(int device, int *previous)
{
    cudaError_t error = cudaGetDevice(previous);
    if (error == cudaSuccess) error = cudaSetDevice(device);
    if (error != cudaSuccess) return cuda_failure(error, "cudaSetDevice", device);
    return SARAPHIS_OK;
}

saraphis_status_t gpu_output_check(int system_gpu_available, const char *system_reason, int device, const char *what)
{
    if (!system_gpu_available)
        return error_set(SARAPHIS_ERROR_UNSUPPORTED, "%s to kDLCUDA:%d: no GPU: %s; decompress to kDLCPU instead", what,
                         device, system_reason ? system_reason : "unknown reason");
    if (!saraphis_gpu_available())
        return error_set(SARAPHIS_ERROR_UNSUPPORTED, "%s to kDLCUDA:%d: no GPU: the CUDA backend sees no device", what,
                         device);
    int count = 0;
    cudaError_t error = cudaGetDeviceCount(&count);
    if (error != cudaSuccess) return cuda_failure(error, "cudaGetDeviceCount", device);
    if (device < 0 || device >= count)
        return error_set(SARAPHIS_ERROR_UNSUPPORTED, "%s to kDLCUDA:%d: no such CUDA device (%d visible)", what, device,
                         count);
    return SARAPHIS_OK;
}

saraphis_status_t gpu_output_alloc(int device, size_t bytes, void **pointer)
{
    *pointer = NULL;
    int previous = 0;
    SPS_TRY(enter_device(device, &previous));
    cudaError_t error = cudaMalloc(pointer, bytes ? bytes : 1);
    cudaSetDevice(previous);
    if (error != cudaSuccess) {
        *pointer = NULL;
        return cuda_failure(error, "cudaMalloc", device);
    }
    return SARAPHIS_OK;
}

void gpu_output_free(int device, void *pointer)
{
    if (!pointer) return;
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess) previous = device;
    cudaSetDevice(device);
    cudaFree(pointer);
    cudaSetDevice(previous);
}

saraphis_status_t gpu_output_decode(saraphis_ctx_t *ctx, const void *frame, size_t frame_size, saraphis_codec_t codec,
                                    int device, void *d_dst, size_t capacity, size_t *produced, int *on_gpu)
{
    *produced = 0;
    *on_gpu = 0;
    int previous = 0;
    SPS_TRY(enter_device(device, &previous));
    saraphis_status_t status = SARAPHIS_OK;
    if (codec == SARAPHIS_CODEC_BOUNDED) {
        /* The GPU decoder handles lossless and stored chunks only: decode here, copy over. */
        void *host = malloc(capacity ? capacity : 1);
        if (!host) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "decompress: no host memory for %zu bytes", capacity);
        if (status == SARAPHIS_OK) status = saraphis_decompress(ctx, frame, frame_size, host, capacity, produced);
        if (status == SARAPHIS_OK && *produced) {
            cudaError_t error = cudaMemcpy(d_dst, host, *produced, cudaMemcpyHostToDevice);
            if (error != cudaSuccess) status = cuda_failure(error, "cudaMemcpy (host to device)", device);
        }
        free(host);
    } else {
        /* The compressed bytes cross the bus, in groups decoded as they arrive. */
        status = saraphis_gpu_decompress_host(ctx, frame, frame_size, d_dst, capacity, produced, NULL);
        if (status == SARAPHIS_OK) *on_gpu = 1;
    }
    cudaSetDevice(previous);
    return status;
}

#else /* no CUDA in this build */

saraphis_status_t gpu_output_check(int system_gpu_available, const char *system_reason, int device, const char *what)
{
    (void)system_gpu_available;
    (void)system_reason;
    return error_set(SARAPHIS_ERROR_UNSUPPORTED, "%s to kDLCUDA:%d: no GPU: built without CUDA; decompress to kDLCPU instead",
                     what, device);
}

saraphis_status_t gpu_output_alloc(int device, size_t bytes, void **pointer)
{
    (void)bytes;
    *pointer = NULL;
    return error_set(SARAPHIS_ERROR_UNSUPPORTED, "kDLCUDA:%d: built without CUDA", device);
}

void gpu_output_free(int device, void *pointer)
{
    (void)device;
    (void)pointer;
}

saraphis_status_t gpu_output_decode(saraphis_ctx_t *ctx, const void *frame, size_t frame_size, saraphis_codec_t codec,
                                    int device, void *d_dst, size_t capacity, size_t *produced, int *on_gpu)
{
    (void)ctx;
    (void)frame;
    (void)frame_size;
    (void)codec;
    (void)d_dst;
    (void)capacity;
    *produced = 0;
    *on_gpu = 0;
    return error_set(SARAPHIS_ERROR_UNSUPPORTED, "kDLCUDA:%d: built without CUDA", device);
}

#endif
