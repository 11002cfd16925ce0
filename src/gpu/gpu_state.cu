/* The GPU codec's per-context state (gpu_internal.h): created on a context's first GPU call,
 * released with the context. */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu_device.cuh"
#include "gpu/gpu_internal.h"
#include "gpu/gpu_padic.h"

extern "C" {
#include "gpu/gpu.h"
}

/* ---- Per-context state -------------------------------------------------------- */


static saraphis_status_t plain_allocate(void *user, size_t size, void **pointer)
{
    (void)user;
    cudaError_t error = cudaMalloc(pointer, size);
    if (error != cudaSuccess) {
        cudaGetLastError();
        return error_set(error == cudaErrorMemoryAllocation ? SARAPHIS_ERROR_OUT_OF_MEMORY : SARAPHIS_ERROR_GPU,
                         "cudaMalloc of %zu bytes: %s", size, cudaGetErrorString(error));
    }
    return SARAPHIS_OK;
}

static void plain_release(void *user, void *pointer)
{
    (void)user;
    if (pointer) cudaFree(pointer);
}

/* SmartPool as the scratch allocator. Every GPU call of a context ends with its stream
 * synchronised, so a block given back is idle when the pool hands it out again. */
static saraphis_status_t pool_allocate(void *user, size_t size, void **pointer)
{
    saraphis_status_t status = pool_alloc((pool_t *)user, size, 0, pointer);
    if (status != SARAPHIS_OK) error_wrap(status, "gpu scratch of %zu bytes from SmartPool: ", size);
    return status;
}

static void pool_release(void *user, void *pointer)
{
    if (pointer) pool_dealloc((pool_t *)user, pointer);
}

/* Segments (cudaMalloc) backing: the scratch is a few large blocks that grow, which whole
 * segments serve without the page-mapping calls. */
static void scratch_pool_create(gpu_state_t *state)
{
    if (pool_source_cuda_create(&state->pool_source, state->device, 0) != SARAPHIS_OK) return;
    pool_config_t config;
    pool_config_default(&config);
    config.backing = POOL_BACKING_SEGMENTS;
    config.release_empty_on_free = 1; /* a grown scratch gives its old segment back at once */
    if (pool_create(&state->pool, &config, &state->pool_source) != SARAPHIS_OK) {
        state->pool = NULL;
        pool_source_cuda_destroy(&state->pool_source);
        error_clear();
        return;
    }
    state->allocator.allocate = pool_allocate;
    state->allocator.release = pool_release;
    state->allocator.user = state->pool;
}


extern "C" void gpu_context_release(void *state_ptr)
{
    gpu_state_t *state = (gpu_state_t *)state_ptr;
    if (!state) return;
    int current = -1;
    cudaGetDevice(&current);
    cudaSetDevice(state->device);
    state->allocator.release(state->allocator.user, state->d_scratch);
    state->allocator.release(state->allocator.user, state->d_host_frame);
    state->allocator.release(state->allocator.user, state->d_host_out);
    state->allocator.release(state->allocator.user, state->d_early);
    if (state->early_fork) cudaEventDestroy(state->early_fork);
    if (state->early_done) cudaEventDestroy(state->early_done);
    gpu_padic_release(state);
    if (state->pool) {
        pool_free(state->pool);
        pool_source_cuda_destroy(&state->pool_source);
    }
    if (state->h_staging) cudaFreeHost(state->h_staging);
    if (state->side) cudaStreamDestroy(state->side);
    if (state->fork) cudaEventDestroy(state->fork);
    if (state->join) cudaEventDestroy(state->join);
    if (state->h_ring) cudaFreeHost(state->h_ring);
    if (state->copy) cudaStreamDestroy(state->copy);
    if (state->arrived) cudaEventDestroy(state->arrived);
    for (int k = 0; k < 2; k++)
        if (state->slot_free[k]) cudaEventDestroy(state->slot_free[k]);
    for (int k = 0; k < GPU_HOST_LANES; k++) {
        if (state->lanes[k]) cudaStreamDestroy(state->lanes[k]);
        if (state->lane_done[k]) cudaEventDestroy(state->lane_done[k]);
    }
    if (state->lanes_start) cudaEventDestroy(state->lanes_start);
    if (state->h_verdict) cudaFreeHost(state->h_verdict);
    if (current >= 0) cudaSetDevice(current);
    free(state);
}

/* Errors after which the CUDA context cannot be used again in this process (CUDA's "sticky"
 * errors: a kernel faulted). */
static bool context_lost(cudaError_t error)
{
    switch (error) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout: return true;
    default: return false;
    }
}

saraphis_status_t gpu_cuda_fail(cudaError_t error, const char *what)
{
    cudaGetLastError(); /* clear a sticky-free error so later calls start clean */
    saraphis_status_t status = error == cudaErrorMemoryAllocation ? SARAPHIS_ERROR_OUT_OF_MEMORY : SARAPHIS_ERROR_GPU;
    return error_set(status, "%s: %s (%s)%s", what, cudaGetErrorString(error), cudaGetErrorName(error),
                     context_lost(error) ? "; the process's CUDA context is lost: every later GPU call in it fails, the process must restart to use the GPU"
                                         : "");
}


saraphis_status_t gpu_state_get(saraphis_ctx_t *ctx, gpu_state_t **out)
{
    int device_count = 0;
    cudaError_t error = cudaGetDeviceCount(&device_count);
    if (error != cudaSuccess || device_count == 0) {
        cudaGetLastError();
        return error_set(SARAPHIS_ERROR_GPU, "no CUDA device (%s)", error != cudaSuccess ? cudaGetErrorString(error) : "none visible");
    }
    int device = 0;
    CUDA_TRY(cudaGetDevice(&device), "cudaGetDevice");
    gpu_state_t *state = (gpu_state_t *)ctx->gpu;
    if (state && state->device != device) {
        gpu_context_release(state);
        ctx->gpu = state = NULL;
    }
    if (!state) {
        state = (gpu_state_t *)calloc(1, sizeof *state);
        if (!state) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "gpu: no memory for the context state");
        state->device = device;
        state->allocator.allocate = plain_allocate;
        state->allocator.release = plain_release;
        scratch_pool_create(state);
        cudaDeviceGetAttribute(&state->sm_count, cudaDevAttrMultiProcessorCount, device);
        if (state->sm_count <= 0) state->sm_count = 1;
        saraphis_status_t status = SARAPHIS_OK;
        if (status == SARAPHIS_OK) {
            error = cudaStreamCreateWithFlags(&state->side, cudaStreamNonBlocking);
            if (error == cudaSuccess) error = cudaEventCreateWithFlags(&state->fork, cudaEventDisableTiming);
            if (error == cudaSuccess) error = cudaEventCreateWithFlags(&state->join, cudaEventDisableTiming);
            if (error != cudaSuccess) status = gpu_cuda_fail(error, "creating the checksum stream");
        }
        if (status == SARAPHIS_OK) {
            error = cudaHostAlloc((void **)&state->h_verdict, 2 * sizeof *state->h_verdict, cudaHostAllocMapped);
            if (error == cudaSuccess) error = cudaHostGetDevicePointer((void **)&state->d_verdict, state->h_verdict, 0);
            if (error != cudaSuccess) status = gpu_cuda_fail(error, "cudaHostAlloc (the decode's verdict word)");
        }
        if (status != SARAPHIS_OK) {
            gpu_context_release(state);
            return status;
        }
        ctx->gpu = state;
    }
    *out = state;
    return SARAPHIS_OK;
}

saraphis_status_t gpu_grow_device(gpu_state_t *state, void **buffer, size_t *capacity, size_t size)
{
    if (*capacity >= size) return SARAPHIS_OK;
    state->allocator.release(state->allocator.user, *buffer);
    *buffer = NULL;
    *capacity = 0;
    size_t grown = size + size / 4;
    SPS_TRY(state->allocator.allocate(state->allocator.user, grown, buffer));
    *capacity = grown;
    return SARAPHIS_OK;
}

saraphis_status_t gpu_grow_pinned(void **buffer, size_t *capacity, size_t size, const char *what)
{
    if (*capacity >= size) return SARAPHIS_OK;
    if (*buffer) cudaFreeHost(*buffer);
    *buffer = NULL;
    *capacity = 0;
    size_t grown = size + size / 4;
    CUDA_TRY(cudaMallocHost(buffer, grown), what);
    *capacity = grown;
    return SARAPHIS_OK;
}

saraphis_status_t gpu_lanes_ready(gpu_state_t *state)
{
    if (state->lanes[0]) return SARAPHIS_OK;
    cudaError_t e = cudaEventCreateWithFlags(&state->lanes_start, cudaEventDisableTiming);
    for (int k = 0; k < GPU_HOST_LANES && e == cudaSuccess; k++) {
        e = cudaStreamCreateWithFlags(&state->lanes[k], cudaStreamNonBlocking);
        if (e == cudaSuccess) e = cudaEventCreateWithFlags(&state->lane_done[k], cudaEventDisableTiming);
    }
    if (e != cudaSuccess) return gpu_cuda_fail(e, "creating the decode and encode streams");
    return SARAPHIS_OK;
}

saraphis_status_t gpu_lanes_start(gpu_state_t *state, cudaStream_t stream)
{
    CUDA_TRY(cudaEventRecord(state->lanes_start, stream), "ordering the lanes after the caller's stream");
    for (int k = 0; k < GPU_HOST_LANES; k++) CUDA_TRY(cudaStreamWaitEvent(state->lanes[k], state->lanes_start, 0), "ordering the lanes");
    return SARAPHIS_OK;
}

saraphis_status_t gpu_lanes_join(gpu_state_t *state, cudaStream_t stream)
{
    for (int k = 0; k < GPU_HOST_LANES; k++) {
        CUDA_TRY(cudaEventRecord(state->lane_done[k], state->lanes[k]), "ordering the caller's stream after the lanes");
        CUDA_TRY(cudaStreamWaitEvent(stream, state->lane_done[k], 0), "ordering the caller's stream after the lanes");
    }
    return SARAPHIS_OK;
}

void gpu_lanes_drain(gpu_state_t *state)
{
    for (int k = 0; k < GPU_HOST_LANES; k++)
        if (state->lanes[k]) cudaStreamSynchronize(state->lanes[k]);
}

saraphis_status_t gpu_reserve_scratch(gpu_state_t *state, size_t size)
{
    return gpu_grow_device(state, &state->d_scratch, &state->scratch_capacity, size);
}

saraphis_status_t gpu_reserve_staging(gpu_state_t *state, size_t size)
{
    return gpu_grow_pinned(&state->h_staging, &state->staging_capacity, size, "cudaMallocHost (pinned staging)");
}

/* ---- Host buffers in groups ------------------------------------------------------------------ */

/* Pageable bytes into a pinned slot, in pieces on the context's threads (one thread's memcpy
 * falls well short of the bus). */
#define HOST_COPY_PIECE (1u << 20)

typedef struct {
    uint8_t *to;
    const uint8_t *from;
    size_t size;
} host_copy_t;

static saraphis_status_t host_copy_piece(void *job_ptr, size_t item, unsigned worker)
{
    (void)worker;
    const host_copy_t *job = (const host_copy_t *)job_ptr;
    const size_t at = item * HOST_COPY_PIECE, length = job->size - at < HOST_COPY_PIECE ? job->size - at : HOST_COPY_PIECE;
    memcpy(job->to + at, job->from + at, length);
    return SARAPHIS_OK;
}

static void host_copy(threadpool_t *pool, void *to, const void *from, size_t size)
{
    if (!pool || threadpool_size(pool) < 2 || size <= 2 * HOST_COPY_PIECE) {
        memcpy(to, from, size);
        return;
    }
    host_copy_t job = {(uint8_t *)to, (const uint8_t *)from, size};
    threadpool_run(pool, (size + HOST_COPY_PIECE - 1) / HOST_COPY_PIECE, host_copy_piece, &job); /* cannot fail */
}

/* Pinned (cudaMallocHost, cudaHostAlloc) or registered (cudaHostRegister) host memory. */
static int host_pinned(const void *pointer)
{
    cudaPointerAttributes attributes;
    const int pinned = cudaPointerGetAttributes(&attributes, pointer) == cudaSuccess && attributes.type == cudaMemoryTypeHost;
    cudaGetLastError(); /* a pageable pointer may leave an error behind on older runtimes */
    return pinned;
}

static saraphis_status_t copy_stream_ready(gpu_state_t *state)
{
    if (state->copy) return SARAPHIS_OK;
    cudaError_t e = cudaStreamCreateWithFlags(&state->copy, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&state->arrived, cudaEventDisableTiming);
    for (int k = 0; k < 2 && e == cudaSuccess; k++) e = cudaEventCreateWithFlags(&state->slot_free[k], cudaEventDisableTiming);
    if (e != cudaSuccess) return gpu_cuda_fail(e, "creating the copy stream");
    return SARAPHIS_OK;
}

saraphis_status_t gpu_upload_begin(gpu_state_t *state, const void *host, void *device, size_t slot_bytes, threadpool_t *pool,
                                   gpu_upload_t *upload)
{
    upload->host = (const uint8_t *)host;
    upload->device = (uint8_t *)device;
    upload->slot_bytes = slot_bytes;
    upload->pinned = host_pinned(host);
    upload->pool = pool;
    SPS_TRY(copy_stream_ready(state));
    if (!upload->pinned && slot_bytes)
        SPS_TRY(gpu_grow_pinned(&state->h_ring, &state->ring_capacity, 2 * slot_bytes, "cudaMallocHost (host staging slots)"));
    return SARAPHIS_OK;
}

cudaError_t gpu_upload_group(gpu_state_t *state, const gpu_upload_t *upload, uint64_t k, uint64_t offset, size_t bytes)
{
    const uint8_t *from = upload->host + offset;
    cudaError_t error = cudaSuccess;
    if (!upload->pinned) {
        uint8_t *slot = (uint8_t *)state->h_ring + (k & 1) * upload->slot_bytes;
        error = cudaEventSynchronize(state->slot_free[k & 1]); /* its previous group has left */
        if (error != cudaSuccess) return error;
        host_copy(upload->pool, slot, from, bytes);
        from = slot;
    }
    error = cudaMemcpyAsync(upload->device + offset, from, bytes, cudaMemcpyHostToDevice, state->copy);
    if (error == cudaSuccess && !upload->pinned) error = cudaEventRecord(state->slot_free[k & 1], state->copy);
    if (error == cudaSuccess) error = cudaEventRecord(state->arrived, state->copy);
    return error;
}

saraphis_status_t gpu_download(gpu_state_t *state, cudaStream_t stream, void *host, const void *device, size_t size, threadpool_t *pool,
                               const char *what)
{
    cudaError_t error = cudaSuccess;
    if (size && host_pinned(host)) {
        error = cudaMemcpyAsync(host, device, size, cudaMemcpyDeviceToHost, stream);
    } else if (size) {
        /* Piece k goes to slot k & 1; the host copies it out while piece k + 1 crosses the bus. */
        const size_t piece = size < GPU_HOST_GROUP_BYTES ? size : GPU_HOST_GROUP_BYTES, pieces = (size + piece - 1) / piece;
        SPS_TRY(copy_stream_ready(state));
        SPS_TRY(gpu_grow_pinned(&state->h_ring, &state->ring_capacity, 2 * piece, "cudaMallocHost (host staging slots)"));
        uint8_t *ring = (uint8_t *)state->h_ring, *out = (uint8_t *)host;
        const uint8_t *in = (const uint8_t *)device;
        auto queue = [&](size_t k) -> cudaError_t {
            const size_t at = k * piece, length = size - at < piece ? size - at : piece;
            cudaError_t e = cudaMemcpyAsync(ring + (k & 1) * piece, in + at, length, cudaMemcpyDeviceToHost, stream);
            return e == cudaSuccess ? cudaEventRecord(state->slot_free[k & 1], stream) : e;
        };
        for (size_t k = 0; k < 2 && k < pieces && error == cudaSuccess; k++) error = queue(k);
        for (size_t k = 0; k < pieces && error == cudaSuccess; k++) {
            error = cudaEventSynchronize(state->slot_free[k & 1]);
            if (error != cudaSuccess) break;
            const size_t at = k * piece, length = size - at < piece ? size - at : piece;
            host_copy(pool, out + at, ring + (k & 1) * piece, length);
            if (k + 2 < pieces) error = queue(k + 2);
        }
    }
    cudaError_t synced = cudaStreamSynchronize(stream); /* also when a copy failed: nothing may still write a slot */
    if (error == cudaSuccess) error = synced;
    if (error != cudaSuccess) return gpu_cuda_fail(error, what);
    return SARAPHIS_OK;
}

extern "C" int saraphis_gpu_available(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return count > 0;
}

