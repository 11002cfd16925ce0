/* Decompression into CUDA device memory (kDLCUDA destinations of saraphis_system_decompress and
 * decompress_into). Compiled with SARAPHIS_WITH_CUDA only; without it every call is UNSUPPORTED
 * ("built without CUDA") and the coordinator never reaches them, since it checks first. */
#ifndef SARAPHIS_SYSTEM_GPU_OUTPUT_H
#define SARAPHIS_SYSTEM_GPU_OUTPUT_H

#include <stddef.h>

#include "saraphis.h"

/* OK when this build can decode into kDLCUDA:device; otherwise UNSUPPORTED naming the reason
 * (system_reason: why the system found no GPU, or NULL when it found one). what names the call. */
saraphis_status_t gpu_output_check(int system_gpu_available, const char *system_reason, int device, const char *what);

/* cudaMalloc on `device` (at least 1 byte); OUT_OF_MEMORY or GPU on failure. */
saraphis_status_t gpu_output_alloc(int device, size_t bytes, void **pointer);
void gpu_output_free(int device, void *pointer); /* NULL does nothing */

/* Decodes frame (host memory) into d_dst (device memory on `device`, capacity bytes). Lossless
 * and stored frames are copied to the device and decoded there by saraphis_gpu_decompress
 * (*on_gpu = 1); bounded (p-adic) frames, which the GPU decoder does not handle, are decoded on
 * the CPU with ctx and copied to the device (*on_gpu = 0). The calling thread's current device is
 * restored. */
saraphis_status_t gpu_output_decode(saraphis_ctx_t *ctx, const void *frame, size_t frame_size, saraphis_codec_t codec,
                                    int device, void *d_dst, size_t capacity, size_t *produced, int *on_gpu);

#endif
