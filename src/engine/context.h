/* The compression context behind saraphis_ctx_t: parameters, a lazily started thread pool and
 * one codec scratch per worker. Shared by the frame API and the .sps container. */
#ifndef SARAPHIS_ENGINE_CONTEXT_H
#define SARAPHIS_ENGINE_CONTEXT_H

#include "codec/lossless.h"
#include "engine/threadpool.h"
#include "saraphis.h"

#define CTX_DEFAULT_CHUNK_BYTES (256u << 10)
#define CTX_MIN_CHUNK_BYTES (4u << 10)
#define CTX_MAX_CHUNK_BYTES (64u << 20)

struct saraphis_ctx_s {
    saraphis_codec_t codec;
    size_t chunk_bytes;
    unsigned threads; /* as asked: 0 = all cores */
    int content_checksum;
    threadpool_t *pool;
    codec_scratch_t *scratch;
    unsigned worker_count;
    saraphis_progress_fn progress;
    void *progress_user;
    void *gpu; /* gpu_state of the CUDA backend (gpu/gpu.h), created on first use */
};

/* Starts the pool and scratch for the current thread setting (no-op when already matching). */
saraphis_status_t ctx_prepare(saraphis_ctx_t *ctx);
unsigned ctx_workers(const saraphis_ctx_t *ctx);

#endif
