/* Context parameters (saraphis.h) and the worker resources they imply. */
#include "engine/context.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "gpu/gpu.h"

typedef struct {
    saraphis_param_t param;
    const char *name;
    int64_t lower, upper;
} param_bounds_t;

static const param_bounds_t param_table[] = {
    {SARAPHIS_PARAM_CODEC, "codec", SARAPHIS_CODEC_LOSSLESS, SARAPHIS_CODEC_BOUNDED},
    {SARAPHIS_PARAM_CHUNK_BYTES, "chunk_bytes", CTX_MIN_CHUNK_BYTES, CTX_MAX_CHUNK_BYTES},
    {SARAPHIS_PARAM_THREADS, "threads", 0, 1024},
    {SARAPHIS_PARAM_CONTENT_CHECKSUM, "content_checksum", 0, 1},
    {SARAPHIS_PARAM_VERIFY_RECORDS, "verify_records", 0, 1},
};

static const param_bounds_t *find_param(saraphis_param_t param)
{
    for (size_t i = 0; i < sizeof param_table / sizeof param_table[0]; i++)
        if (param_table[i].param == param) return &param_table[i];
    return NULL;
}

saraphis_status_t saraphis_param_bounds(saraphis_param_t param, int64_t *lower, int64_t *upper)
{
    const param_bounds_t *bounds = find_param(param);
    if (!bounds) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "unknown parameter %d", (int)param);
    *lower = bounds->lower;
    *upper = bounds->upper;
    return SARAPHIS_OK;
}

saraphis_ctx_t *saraphis_ctx_create(void)
{
    saraphis_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->codec = SARAPHIS_CODEC_LOSSLESS;
    ctx->chunk_bytes = CTX_DEFAULT_CHUNK_BYTES;
    ctx->threads = 1;
    ctx->content_checksum = 1;
    ctx->verify_records = 1;
    return ctx;
}

static void release_workers(saraphis_ctx_t *ctx)
{
    threadpool_free(ctx->pool);
    ctx->pool = NULL;
    for (unsigned i = 0; i < ctx->worker_count; i++) codec_scratch_release(&ctx->scratch[i]);
    free(ctx->scratch);
    ctx->scratch = NULL;
    ctx->worker_count = 0;
}

void saraphis_ctx_free(saraphis_ctx_t *ctx)
{
    if (!ctx) return;
    release_workers(ctx);
    gpu_context_release(ctx->gpu);
    free(ctx);
}

saraphis_status_t saraphis_ctx_set_param(saraphis_ctx_t *ctx, saraphis_param_t param, int64_t value)
{
    if (!ctx) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "set_param: ctx is NULL");
    const param_bounds_t *bounds = find_param(param);
    if (!bounds) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "unknown parameter %d", (int)param);
    if (value < bounds->lower || value > bounds->upper)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "parameter %s = %lld is outside [%lld, %lld]", bounds->name,
                         (long long)value, (long long)bounds->lower, (long long)bounds->upper);
    switch (param) {
    case SARAPHIS_PARAM_CODEC:
        if (value == SARAPHIS_CODEC_BOUNDED && !ctx->bound.set)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "parameter codec = bounded needs an error bound: call saraphis_ctx_set_error_bound");
        ctx->codec = (saraphis_codec_t)value;
        break;
    case SARAPHIS_PARAM_CHUNK_BYTES:
        if (value % 64) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "parameter chunk_bytes = %lld is not a multiple of 64", (long long)value);
        ctx->chunk_bytes = (size_t)value;
        break;
    case SARAPHIS_PARAM_THREADS:
        if ((unsigned)value != ctx->threads) release_workers(ctx);
        ctx->threads = (unsigned)value;
        break;
    case SARAPHIS_PARAM_CONTENT_CHECKSUM: ctx->content_checksum = (int)value; break;
    case SARAPHIS_PARAM_VERIFY_RECORDS: ctx->verify_records = (int)value; break;
    }
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_ctx_get_param(const saraphis_ctx_t *ctx, saraphis_param_t param, int64_t *value)
{
    if (!ctx || !value) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "get_param: NULL argument");
    switch (param) {
    case SARAPHIS_PARAM_CODEC: *value = ctx->codec; return SARAPHIS_OK;
    case SARAPHIS_PARAM_CHUNK_BYTES: *value = (int64_t)ctx->chunk_bytes; return SARAPHIS_OK;
    case SARAPHIS_PARAM_THREADS: *value = ctx->threads; return SARAPHIS_OK;
    case SARAPHIS_PARAM_CONTENT_CHECKSUM: *value = ctx->content_checksum; return SARAPHIS_OK;
    case SARAPHIS_PARAM_VERIFY_RECORDS: *value = ctx->verify_records; return SARAPHIS_OK;
    }
    return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "unknown parameter %d", (int)param);
}

int ctx_padic_mode(saraphis_bound_mode_t mode)
{
    switch (mode) {
    case SARAPHIS_BOUND_ABSOLUTE: return PADIC_ABSOLUTE;
    case SARAPHIS_BOUND_RELATIVE_RANGE: return PADIC_RELATIVE_RANGE;
    case SARAPHIS_BOUND_RELATIVE_STD: return PADIC_RELATIVE_STD;
    }
    return -1;
}

saraphis_status_t saraphis_ctx_set_error_bound(saraphis_ctx_t *ctx, saraphis_bound_mode_t mode, double bound, unsigned prime,
                                               unsigned precision)
{
    error_clear();
    if (!ctx) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "set_error_bound: ctx is NULL");
    if (ctx_padic_mode(mode) < 0)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "error bound mode %d is unknown (1 absolute, 2 relative to range, 3 relative to std)", (int)mode);
    if (!(bound > 0) || !isfinite(bound) || (mode == SARAPHIS_BOUND_ABSOLUTE && (bound < DBL_MIN || !isfinite(2 * bound))))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "error bound %g must be a finite number greater than 0", bound);
    /* Prime and precision are checked with a stand-in eps for relative modes. */
    padic_params_t params = {mode == SARAPHIS_BOUND_ABSOLUTE ? bound : 1.0, prime ? prime : PADIC_PRIME_MAX, precision ? precision : 1};
    SPS_TRY(padic_validate(&params));
    ctx->bound = (ctx_bound_t){1, mode, bound, prime, precision};
    ctx->codec = SARAPHIS_CODEC_BOUNDED;
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_ctx_get_error_bound(const saraphis_ctx_t *ctx, saraphis_bound_mode_t *mode, double *bound, unsigned *prime,
                                               unsigned *precision)
{
    if (!ctx) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "get_error_bound: ctx is NULL");
    if (!ctx->bound.set) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "get_error_bound: no error bound was set on this context");
    if (mode) *mode = ctx->bound.mode;
    if (bound) *bound = ctx->bound.bound;
    if (prime) *prime = ctx->bound.prime;
    if (precision) *precision = ctx->bound.precision;
    return SARAPHIS_OK;
}

void ctx_bound_params(const ctx_bound_t *bound, double eps, padic_params_t *params)
{
    params->eps = eps;
    params->prime = bound->prime ? bound->prime : PADIC_PRIME_MAX;
    params->precision = bound->precision;
}

saraphis_status_t ctx_resolve_bound(const ctx_bound_t *bound, saraphis_dtype_t dtype, const void *data, size_t size,
                                    padic_params_t *params, int *bounded)
{
    *bounded = 0;
    memset(params, 0, sizeof *params);
    if (dtype != SARAPHIS_DTYPE_F32 && dtype != SARAPHIS_DTYPE_F64 && dtype != SARAPHIS_DTYPE_F16 && dtype != SARAPHIS_DTYPE_BF16)
        return SARAPHIS_OK;
    double eps;
    SPS_TRY(padic_resolve_bound(dtype, data, size, ctx_padic_mode(bound->mode), bound->bound, &eps));
    if (eps == 0) return SARAPHIS_OK;
    ctx_bound_params(bound, eps, params);
    if (params->precision == 0) SPS_TRY(padic_required_precision(params, dtype, data, size, &params->precision));
    SPS_TRY(padic_validate(params));
    *bounded = 1;
    return SARAPHIS_OK;
}

void saraphis_ctx_set_progress(saraphis_ctx_t *ctx, saraphis_progress_fn fn, void *user)
{
    if (!ctx) return;
    ctx->progress = fn;
    ctx->progress_user = user;
}

saraphis_status_t ctx_prepare(saraphis_ctx_t *ctx)
{
    if (ctx->scratch) return SARAPHIS_OK;
    unsigned threads = ctx->threads ? ctx->threads : threadpool_online_cores();
    SPS_TRY(threadpool_create(&ctx->pool, threads));
    ctx->worker_count = threadpool_size(ctx->pool);
    ctx->scratch = calloc(ctx->worker_count, sizeof *ctx->scratch);
    if (!ctx->scratch) {
        release_workers(ctx);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "context: no memory for worker scratch");
    }
    return SARAPHIS_OK;
}

unsigned ctx_workers(const saraphis_ctx_t *ctx) { return ctx->worker_count ? ctx->worker_count : 1; }
