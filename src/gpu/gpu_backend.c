/* The GPU codec's entry points in a build without CUDA: every call reports UNSUPPORTED with a
 * message, so the API (and programs linking it) is the same in every build. The CUDA build has
 * the real ones in gpu_lossless.cu and gpu_encode.cu. */
#ifndef SARAPHIS_WITH_CUDA

#include "common/error.h"
#include "gpu/gpu.h"
#include "saraphis.h"

void gpu_context_release(void *gpu_state) { (void)gpu_state; }

int saraphis_gpu_available(void) { return 0; }

static saraphis_status_t no_cuda(const char *call)
{
    return error_set(SARAPHIS_ERROR_UNSUPPORTED, "%s: this build has no CUDA backend (rebuild with nvcc present and SARAPHIS_CUDA=ON)", call);
}

saraphis_status_t saraphis_gpu_decompress(saraphis_ctx_t *ctx, const void *d_frame, size_t frame_size, void *d_dst,
                                          size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    (void)ctx; (void)d_frame; (void)frame_size; (void)d_dst; (void)dst_capacity; (void)dst_size; (void)cuda_stream;
    return no_cuda("gpu_decompress");
}

saraphis_status_t saraphis_gpu_decompress_planes(saraphis_ctx_t *ctx, const void *d_frame, size_t frame_size, unsigned planes,
                                                 void *d_dst, size_t dst_capacity, size_t *dst_size, double *bound_out,
                                                 void *cuda_stream)
{
    (void)ctx; (void)d_frame; (void)frame_size; (void)planes; (void)d_dst; (void)dst_capacity; (void)dst_size; (void)bound_out;
    (void)cuda_stream;
    return no_cuda("gpu_decompress_planes");
}

saraphis_status_t saraphis_gpu_decompress_host(saraphis_ctx_t *ctx, const void *frame, size_t frame_size, void *d_dst,
                                               size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    (void)ctx; (void)frame; (void)frame_size; (void)d_dst; (void)dst_capacity; (void)dst_size; (void)cuda_stream;
    return no_cuda("gpu_decompress_host");
}

saraphis_status_t saraphis_gpu_decompress_batch(saraphis_ctx_t *ctx, size_t count, const void *const *d_frames,
                                                const size_t *frame_sizes, void *const *d_dsts,
                                                const size_t *dst_capacities, size_t *dst_sizes, void *cuda_stream)
{
    (void)ctx; (void)count; (void)d_frames; (void)frame_sizes; (void)d_dsts; (void)dst_capacities; (void)dst_sizes;
    (void)cuda_stream;
    return no_cuda("gpu_decompress_batch");
}

saraphis_status_t saraphis_gpu_compress(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *d_src, size_t src_size,
                                        void *d_dst, size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    (void)ctx; (void)dtype; (void)d_src; (void)src_size; (void)d_dst; (void)dst_capacity; (void)dst_size; (void)cuda_stream;
    return no_cuda("gpu_compress");
}

saraphis_status_t saraphis_gpu_compress_host(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *src, size_t src_size, void *dst,
                                             size_t dst_capacity, size_t *dst_size, void *cuda_stream)
{
    (void)ctx; (void)dtype; (void)src; (void)src_size; (void)dst; (void)dst_capacity; (void)dst_size; (void)cuda_stream;
    return no_cuda("gpu_compress_host");
}

#else
typedef int saraphis_gpu_backend_uses_cuda_t;
#endif
