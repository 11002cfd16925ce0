/* The compression context behind saraphis_ctx_t: parameters, a lazily started thread pool and
 * one codec scratch per worker. Shared by the frame API and the .sps container. */
#ifndef SARAPHIS_ENGINE_CONTEXT_H
#define SARAPHIS_ENGINE_CONTEXT_H

#include "codec/lossless.h"
#include "codec/padic.h"
#include "engine/threadpool.h"
#include "saraphis.h"

#define CTX_DEFAULT_CHUNK_BYTES (256u << 10)
#define CTX_MIN_CHUNK_BYTES (4u << 10)
#define CTX_MAX_CHUNK_BYTES (64u << 20)

/* The bounded codec's setting, as saraphis_ctx_set_error_bound validated it. */
typedef struct {
    int set;
    saraphis_bound_mode_t mode;
    double bound;
    unsigned prime;     /* as given: 0 = PADIC_PRIME_MAX */
    unsigned precision; /* 0 = per tensor, the smallest that fits */
} ctx_bound_t;

struct saraphis_ctx_s {
    saraphis_codec_t codec;
    size_t chunk_bytes;
    unsigned threads; /* as asked: 0 = all cores */
    int content_checksum;
    int verify_records; /* SARAPHIS_PARAM_VERIFY_RECORDS */
    threadpool_t *pool;
    codec_scratch_t *scratch;
    unsigned worker_count;
    saraphis_progress_fn progress;
    void *progress_user;
    void *gpu; /* gpu_state of the CUDA backend (gpu/gpu.h), created on first use */
    ctx_bound_t bound;
};

/* Starts the pool and scratch for the current thread setting (no-op when already matching). */
saraphis_status_t ctx_prepare(saraphis_ctx_t *ctx);
unsigned ctx_workers(const saraphis_ctx_t *ctx);

/* The PADIC_* mode of a saraphis_bound_mode_t. */
int ctx_padic_mode(saraphis_bound_mode_t mode);
/* The p-adic parameters of one tensor held in memory under the context's bound: eps over the
 * whole tensor, precision resolved when 0. *bounded = 0 when the tensor is to be stored exactly
 * instead (a dtype the p-adic codec refuses, or eps resolving to 0 on a constant tensor). */
saraphis_status_t ctx_resolve_bound(const ctx_bound_t *bound, saraphis_dtype_t dtype, const void *data, size_t size,
                                    padic_params_t *params, int *bounded);
/* Parameters from an eps already resolved; precision as set (0: caller resolves it). */
void ctx_bound_params(const ctx_bound_t *bound, double eps, padic_params_t *params);

#endif
