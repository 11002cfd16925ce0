/* Host-side pieces shared by the GPU codec's translation units: the per-context state (device
 * scratch, pinned staging, checksum tables, the side stream), the allocator interface scratch
 * comes through, and CUDA error reporting as library codes. */
#ifndef SARAPHIS_GPU_INTERNAL_H
#define SARAPHIS_GPU_INTERNAL_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "common/error.h"
#include "engine/context.h"
#include "memory/pool.h"
}

/* Device scratch comes through this interface: SmartPool (memory/pool.h) over the device's
 * cudaMalloc source, or plain cudaMalloc when the pool cannot be created. */
typedef struct {
    saraphis_status_t (*allocate)(void *user, size_t size, void **pointer);
    void (*release)(void *user, void *pointer);
    void *user;
} gpu_allocator_t;

#define GPU_HOST_LANES 4

typedef struct {
    int device;
    int sm_count;
    gpu_allocator_t allocator;
    pool_t *pool;               /* the scratch pool (NULL: plain cudaMalloc) */
    pool_source_t pool_source;
    void *d_scratch;
    size_t scratch_capacity;
    void *h_staging; /* pinned */
    size_t staging_capacity;
    cudaStream_t side;        /* the record-checksum pass runs here, beside parse and decode */
    cudaEvent_t fork, join;   /* side waits for the upload (fork); the digest waits for side (join) */
    void *d_padic[2];         /* the p-adic decoder's work areas (gpu_padic.cu): descriptors, digits */
    size_t padic_capacity[2];
    void *h_padic;            /* its pinned upload and read-back block */
    size_t h_padic_capacity;
    cudaStream_t padic_side;  /* its piece checksums run here, beside the plane rounds */
    cudaEvent_t padic_fork, padic_join, padic_start; /* start: the side stream's head kernel after the caller's stream */
    /* Host buffers (gpu_upload_*, gpu_download): the device copy of a host frame being decoded
     * (saraphis_gpu_decompress_host) or of a host tensor being encoded
     * (saraphis_gpu_compress_host), the encoded frame before it goes back, the two pinned slots
     * the groups pass through, the copy stream and its events (arrived: the last group queued;
     * slot_free[k]: the last copy through slot k). */
    void *d_host_frame;
    size_t host_frame_capacity;
    void *d_host_out;
    size_t host_out_capacity;
    void *h_ring;
    size_t ring_capacity;
    cudaStream_t copy;
    cudaEvent_t arrived, slot_free[2];
    /* Consecutive groups are decoded on these streams in turn, so that a group whose decode is
     * bound by one tile's latency (F32, a few dozen chunks) overlaps the next ones. */
    cudaStream_t lanes[GPU_HOST_LANES];
    cudaEvent_t lanes_start, lane_done[GPU_HOST_LANES];
    /* The decode's verdict: pinned, mapped host words the last kernel writes directly (no copy
     * back): [0] the verdict, [1] spare. */
    unsigned long long *h_verdict, *d_verdict;
    /* A single device frame's record checksums, started on the side stream as the call begins
     * (gpu_lossless.cu, early_*): their spans, segment starts and hashes. */
    void *d_early;
    size_t early_capacity;
    cudaEvent_t early_fork, early_done;
    /* The last bounded saraphis_gpu_compress: chunks encoded on the device, and by the CPU
     * encoder (gpu_padic_encode.cu; tests read them through gpu_padic_encode_counts). */
    uint64_t padic_device_chunks, padic_host_chunks;
    double padic_phase_ms[4]; /* its host time: bound and scan waits, plans, last encode wait, assembly */
} gpu_state_t;

/* A CUDA error as SARAPHIS_ERROR_OUT_OF_MEMORY (allocation) or SARAPHIS_ERROR_GPU, with `what`
 * and CUDA's name for it in the message; clears the error so later calls start clean. */
saraphis_status_t gpu_cuda_fail(cudaError_t error, const char *what);

#define CUDA_TRY(call, what)                                    \
    do {                                                        \
        cudaError_t cuda_try_error_ = (call);                   \
        if (cuda_try_error_ != cudaSuccess) return gpu_cuda_fail(cuda_try_error_, what); \
    } while (0)

/* The context's GPU state for the current device, created on first use. */
saraphis_status_t gpu_state_get(saraphis_ctx_t *ctx, gpu_state_t **out);
/* Grow-only buffers (contents are not kept across growth; a quarter is added when growing):
 * device memory through the state's allocator, pinned host memory through cudaMallocHost. */
saraphis_status_t gpu_grow_device(gpu_state_t *state, void **buffer, size_t *capacity, size_t size);
saraphis_status_t gpu_grow_pinned(void **buffer, size_t *capacity, size_t size, const char *what);
/* The lanes: GPU_HOST_LANES streams for work cut in pieces (host-frame record groups, encode
 * batches) whose pieces are each bound by one warp's serial chain, so that consecutive pieces
 * overlap. Created on first use; start makes them wait for the caller's stream (what it has
 * queued so far), join makes the caller's stream wait for them, drain waits on the host. */
saraphis_status_t gpu_lanes_ready(gpu_state_t *state);
saraphis_status_t gpu_lanes_start(gpu_state_t *state, cudaStream_t stream);
saraphis_status_t gpu_lanes_join(gpu_state_t *state, cudaStream_t stream);
void gpu_lanes_drain(gpu_state_t *state);
/* Host memory to the device in groups of about GPU_HOST_GROUP_BYTES: big enough that a copy's
 * fixed cost disappears, small enough that the work on the first groups starts soon and overlaps
 * the copies of the next. Group k passes through pinned slot k & 1 (or goes straight from the
 * caller's memory when it is pinned) on the copy stream, and state->arrived is recorded after it:
 * a stream that uses the group waits for that event before the next group is queued. The host
 * fills a slot once the copy of the group two before has left it. */
#define GPU_HOST_GROUP_BYTES (16u << 20)
typedef struct {
    const uint8_t *host;
    uint8_t *device;
    size_t slot_bytes;  /* the largest group */
    int pinned;         /* host is pinned (or registered) memory: no slots */
    threadpool_t *pool; /* fills the slots on the context's threads; NULL: on the calling thread */
} gpu_upload_t;
/* Creates the copy stream on first use, finds out whether host is pinned, grows the slots. */
saraphis_status_t gpu_upload_begin(gpu_state_t *state, const void *host, void *device, size_t slot_bytes, threadpool_t *pool,
                                   gpu_upload_t *upload);
/* Queues group k: bytes [offset, offset + bytes) of host to the same place in device. */
cudaError_t gpu_upload_group(gpu_state_t *state, const gpu_upload_t *upload, uint64_t k, uint64_t offset, size_t bytes);
/* size bytes of device memory to host memory (pageable or pinned) after the work queued on
 * stream; pageable memory gets them in GPU_HOST_GROUP_BYTES pieces through the slots, one piece
 * copied out on the host while the next crosses the bus. Returns with stream synchronised. */
saraphis_status_t gpu_download(gpu_state_t *state, cudaStream_t stream, void *host, const void *device, size_t size, threadpool_t *pool,
                               const char *what);
/* The state's own device scratch and pinned staging. */
saraphis_status_t gpu_reserve_scratch(gpu_state_t *state, size_t size);
saraphis_status_t gpu_reserve_staging(gpu_state_t *state, size_t size);

static inline size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

#endif
