/* The GPU encoder of the bounded (p-adic) codec: saraphis_gpu_compress with codec BOUNDED
 * (gpu_encode.cu calls it first). Its frames are saraphis_compress's, byte for byte: the device
 * gathers every statistic the CPU encoder decides from, the host decides with the CPU's own code
 * (padic_plane_choose, entropy_plan), and the device writes the bytes. docs/gpu.md lists what it
 * leaves to the CPU. */
#ifndef SARAPHIS_GPU_PADIC_ENCODE_H
#define SARAPHIS_GPU_PADIC_ENCODE_H

#include <cuda_runtime.h>
#include <stddef.h>

#include "gpu/gpu_internal.h"

typedef enum {
    GPU_PADIC_ENCODED, /* the frame is written */
    GPU_PADIC_LOSSLESS, /* the tensor is stored exactly (a non-float dtype, eps resolving to 0): the
                           caller encodes it LOSSLESS, as saraphis_compress does */
    GPU_PADIC_HOST      /* parameters the device path does not take: the caller runs the CPU encoder */
} gpu_padic_route_t;

/* Resolves the context's bound over the tensor (eps and precision: device reductions, or for a
 * bound relative to the standard deviation the CPU's scan over a host copy, whose sums depend on
 * their order) and, when the device takes the parameters, writes the frame. *route says what
 * happened; a status other than OK is a failure (nothing usable written). */
saraphis_status_t gpu_padic_compress(saraphis_ctx_t *ctx, gpu_state_t *state, saraphis_dtype_t dtype, const void *d_src, size_t src_size,
                                     void *d_dst, size_t dst_capacity, size_t *dst_size, cudaStream_t stream, gpu_padic_route_t *route);

/* What the context's last bounded saraphis_gpu_compress did: chunks encoded on the device and
 * chunks encoded by the CPU encoder (a tensor taken whole by the host counts all its chunks
 * there; one stored exactly counts none). For tests; C linkage. */
extern "C" saraphis_status_t gpu_padic_encode_counts(saraphis_ctx_t *ctx, uint64_t *device_chunks, uint64_t *host_chunks);
/* The same call's host wall time (ms) by what it did: resolving the bound and waiting for the
 * batches' scans, planning (the CPU's choices), waiting for the last streams and rANS blocks after
 * the last plan, assembly and checksums. For benchmarks. */
extern "C" saraphis_status_t gpu_padic_encode_phases(saraphis_ctx_t *ctx, double phase_ms[4]);

#endif
