/* Standalone frames: saraphis_compress / saraphis_decompress / saraphis_decompress_planes (layout
 * in docs/format.md):
 *   [0,4) magic "SPSF"  [4] version  [5] dtype  [6] codec  [7] flags (bit 0: content checksums)
 *   [8,12) chunk_bytes  [12,16) chunk_count  [16,24) raw_size
 *   [24,32) XXH64 of bytes [0,24) followed by the record-size table
 *   [32, 32 + 4 * chunk_count) u32 size of each chunk record, then the records in order.
 * Chunks are compressed in parallel batches into per-chunk slots and copied out in order, so the
 * bytes never depend on the thread count. */
#include <stdlib.h>
#include <string.h>

#include "codec/chunk.h"
#include "common/bits.h"
#include "common/checksum.h"
#include "common/error.h"
#include "engine/context.h"

#define FRAME_MAGIC "SPSF"
#define FRAME_HEADER_BYTES 32

size_t saraphis_compress_bound(size_t src_size, size_t chunk_bytes)
{
    if (chunk_bytes == 0) chunk_bytes = CTX_DEFAULT_CHUNK_BYTES;
    size_t chunks = (src_size + chunk_bytes - 1) / chunk_bytes;
    return FRAME_HEADER_BYTES + src_size + chunks * (4 + chunk_record_bound(0));
}

typedef struct {
    saraphis_ctx_t *ctx;
    const chunk_method_t *method;
    saraphis_dtype_t dtype;
    const uint8_t *src;
    size_t src_size;
    size_t first_chunk;
    uint8_t *slots;
    size_t slot_size;
    size_t *slot_used;
} compress_job_t;

static saraphis_status_t compress_item(void *job_ptr, size_t item, unsigned worker)
{
    compress_job_t *job = job_ptr;
    size_t chunk = job->first_chunk + item;
    size_t begin = chunk * job->ctx->chunk_bytes;
    size_t size = job->src_size - begin < job->ctx->chunk_bytes ? job->src_size - begin : job->ctx->chunk_bytes;
    saraphis_status_t status = chunk_encode_with(job->method, job->dtype, job->src + begin, size, job->ctx->content_checksum,
                                                 job->slots + item * job->slot_size, job->slot_size, &job->slot_used[item],
                                                 &job->ctx->scratch[worker], NULL);
    if (status != SARAPHIS_OK) return error_wrap(status, "chunk %zu: ", chunk);
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_compress(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const void *src, size_t src_size,
                                    void *dst_ptr, size_t dst_capacity, size_t *dst_size)
{
    error_clear();
    if (!ctx || (!src && src_size) || !dst_ptr || !dst_size)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "compress: NULL argument");
    size_t element_size = saraphis_dtype_size(dtype);
    if (element_size == 0) return error_set(SARAPHIS_ERROR_DTYPE, "compress: unknown dtype %d", (int)dtype);
    if (src_size % element_size)
        return error_set(SARAPHIS_ERROR_DTYPE, "compress: %zu bytes is not a whole number of %s elements (%zu bytes each)",
                         src_size, saraphis_dtype_name(dtype), element_size);
    size_t chunk_bytes = ctx->chunk_bytes;
    size_t chunks = (src_size + chunk_bytes - 1) / chunk_bytes;
    if (chunks > UINT32_MAX) return error_set(SARAPHIS_ERROR_LIMIT, "compress: %zu chunks exceed the frame limit", chunks);
    size_t table_end = FRAME_HEADER_BYTES + 4 * chunks;
    if (dst_capacity < table_end) return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "compress: destination holds %zu bytes, header needs %zu", dst_capacity, table_end);
    SPS_TRY(ctx_prepare(ctx));
    /* The bounded codec resolves eps (relative modes) and precision over the whole tensor first;
     * a tensor it cannot take (another dtype, a constant tensor under a relative bound) is
     * compressed losslessly and the frame says so. */
    chunk_method_t method = {ctx->codec == SARAPHIS_CODEC_STORED ? SARAPHIS_CODEC_STORED : SARAPHIS_CODEC_LOSSLESS, {0, 0, 0}};
    if (ctx->codec == SARAPHIS_CODEC_BOUNDED) {
        int bounded;
        SPS_TRY(ctx_resolve_bound(&ctx->bound, dtype, src, src_size, &method.padic, &bounded));
        if (bounded) method.codec = SARAPHIS_CODEC_BOUNDED;
    }

    uint8_t *dst = dst_ptr;
    size_t batch = (size_t)ctx_workers(ctx) * 4;
    if (batch > chunks) batch = chunks ? chunks : 1;
    size_t slot_size = chunk_encode_capacity(&method, dtype, chunk_bytes);
    uint8_t *slots = malloc(batch * slot_size);
    size_t *slot_used = malloc(batch * sizeof *slot_used);
    if (!slots || !slot_used) {
        free(slots); free(slot_used);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "compress: no memory for %zu chunk slots", batch);
    }
    saraphis_status_t status = SARAPHIS_OK;
    size_t pos = table_end;
    for (size_t first = 0; first < chunks && status == SARAPHIS_OK; first += batch) {
        size_t count = chunks - first < batch ? chunks - first : batch;
        compress_job_t job = {ctx, &method, dtype, src, src_size, first, slots, slot_size, slot_used};
        status = threadpool_run(ctx->pool, count, compress_item, &job);
        for (size_t i = 0; i < count && status == SARAPHIS_OK; i++) {
            if (slot_used[i] > dst_capacity - pos) {
                status = error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "compress: destination full at chunk %zu (capacity %zu)", first + i, dst_capacity);
                break;
            }
            memcpy(dst + pos, slots + i * slot_size, slot_used[i]);
            store_le32(dst + FRAME_HEADER_BYTES + 4 * (first + i), (uint32_t)slot_used[i]);
            pos += slot_used[i];
        }
        if (ctx->progress && status == SARAPHIS_OK) {
            size_t done = (first + count) * chunk_bytes;
            ctx->progress(ctx->progress_user, done < src_size ? done : src_size, src_size);
        }
    }
    free(slots);
    free(slot_used);
    if (status != SARAPHIS_OK) return status;
    memcpy(dst, FRAME_MAGIC, 4);
    dst[4] = FRAME_VERSION;
    dst[5] = (uint8_t)dtype;
    dst[6] = (uint8_t)method.codec;
    dst[7] = ctx->content_checksum ? 1 : 0;
    store_le32(dst + 8, (uint32_t)chunk_bytes);
    store_le32(dst + 12, (uint32_t)chunks);
    store_le64(dst + 16, src_size);
    /* The checksum covers the fixed header and the size table, read as one span with the
     * checksum field itself skipped. */
    uint64_t header_checksum = checksum64(dst, 24, 0) ^ checksum64(dst + FRAME_HEADER_BYTES, 4 * chunks, 1);
    store_le64(dst + 24, header_checksum);
    *dst_size = pos;
    return SARAPHIS_OK;
}

typedef struct {
    saraphis_frame_info_t info;
    const uint8_t *table;
    size_t records_begin;
} frame_view_t;

static saraphis_status_t frame_parse(const uint8_t *src, size_t src_size, frame_view_t *view)
{
    if (src_size < FRAME_HEADER_BYTES) return error_set(SARAPHIS_ERROR_TRUNCATED, "frame: %zu bytes, header needs %d", src_size, FRAME_HEADER_BYTES);
    if (memcmp(src, FRAME_MAGIC, 4) != 0) return error_set(SARAPHIS_ERROR_CORRUPT, "frame: bad magic (not a Saraphis frame)");
    if (src[4] != FRAME_VERSION) return error_set(SARAPHIS_ERROR_UNSUPPORTED, "frame: version %u (this build reads %d)", src[4], FRAME_VERSION);
    uint32_t chunks = load_le32(src + 12);
    if ((size_t)chunks > (src_size - FRAME_HEADER_BYTES) / 4)
        return error_set(SARAPHIS_ERROR_TRUNCATED, "frame: %u chunk sizes do not fit in %zu bytes", chunks, src_size);
    uint64_t computed = checksum64(src, 24, 0) ^ checksum64(src + FRAME_HEADER_BYTES, 4 * (size_t)chunks, 1);
    if (computed != load_le64(src + 24) && !SARAPHIS_FUZZING) return error_set(SARAPHIS_ERROR_CHECKSUM, "frame: header checksum mismatch");
    view->info.dtype = (saraphis_dtype_t)src[5];
    view->info.codec = (saraphis_codec_t)src[6];
    view->info.chunk_bytes = load_le32(src + 8);
    view->info.chunk_count = chunks;
    view->info.raw_size = load_le64(src + 16);
    if (saraphis_dtype_size(view->info.dtype) == 0) return error_set(SARAPHIS_ERROR_CORRUPT, "frame: unknown dtype %u", src[5]);
    if (view->info.chunk_bytes < CTX_MIN_CHUNK_BYTES || view->info.chunk_bytes > CTX_MAX_CHUNK_BYTES || view->info.chunk_bytes % 64)
        return error_set(SARAPHIS_ERROR_CORRUPT, "frame: chunk size %u out of range", view->info.chunk_bytes);
    uint64_t expected_chunks = (view->info.raw_size + view->info.chunk_bytes - 1) / view->info.chunk_bytes;
    if (expected_chunks != chunks) return error_set(SARAPHIS_ERROR_CORRUPT, "frame: %u chunks for %llu bytes", chunks, (unsigned long long)view->info.raw_size);
    view->table = src + FRAME_HEADER_BYTES;
    view->records_begin = FRAME_HEADER_BYTES + 4 * (size_t)chunks;
    uint64_t total = view->records_begin;
    for (uint32_t i = 0; i < chunks; i++) total += load_le32(view->table + 4 * (size_t)i);
    if (total > src_size) return error_set(SARAPHIS_ERROR_TRUNCATED, "frame: records need %llu bytes, %zu given", (unsigned long long)total, src_size);
    view->info.compressed_size = total;
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_frame_info(const void *src, size_t src_size, saraphis_frame_info_t *info)
{
    error_clear();
    if (!src || !info) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "frame_info: NULL argument");
    frame_view_t view;
    SPS_TRY(frame_parse(src, src_size, &view));
    *info = view.info;
    return SARAPHIS_OK;
}

typedef struct {
    saraphis_ctx_t *ctx;
    const frame_view_t *view;
    const uint8_t *src;
    const uint64_t *offsets;
    uint8_t *dst;
    unsigned planes; /* 0: every plane (saraphis_decompress) */
    double *bounds;  /* per chunk, or NULL when no bound is asked for */
} decompress_job_t;

static saraphis_status_t decompress_item(void *job_ptr, size_t chunk, unsigned worker)
{
    decompress_job_t *job = job_ptr;
    size_t chunk_bytes = job->view->info.chunk_bytes;
    size_t begin = chunk * chunk_bytes;
    size_t raw = job->view->info.raw_size - begin < chunk_bytes ? job->view->info.raw_size - begin : chunk_bytes;
    size_t record_size = job->offsets[chunk + 1] - job->offsets[chunk];
    const uint8_t *record = job->src + job->offsets[chunk];
    saraphis_status_t status = chunk_decode_planes(job->view->info.dtype, record, record_size, job->dst + begin, raw, job->planes,
                                                   &job->ctx->scratch[worker], job->bounds ? &job->bounds[chunk] : NULL,
                                                   job->ctx->verify_records);
    if (status != SARAPHIS_OK) return error_wrap(status, "chunk %zu: ", chunk);
    return SARAPHIS_OK;
}

/* The frame walk shared by saraphis_decompress and saraphis_decompress_planes: the header and
 * size table checked, every chunk decoded on the context's threads (to its top `planes` planes;
 * 0: all). bound_out (may be NULL): the largest of the chunks' bounds. */
static saraphis_status_t decompress_frame(saraphis_ctx_t *ctx, const void *src, size_t src_size, unsigned planes, void *dst,
                                          size_t dst_capacity, size_t *dst_size, double *bound_out, const char *call)
{
    error_clear();
    if (!ctx || !src || (!dst && dst_capacity) || !dst_size) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: NULL argument", call);
    frame_view_t view;
    SPS_TRY(frame_parse(src, src_size, &view));
    if (view.info.raw_size > dst_capacity)
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "%s: frame holds %llu bytes, destination %zu", call,
                         (unsigned long long)view.info.raw_size, dst_capacity);
    SPS_TRY(ctx_prepare(ctx));
    uint64_t *offsets = malloc(((size_t)view.info.chunk_count + 1) * sizeof *offsets);
    double *bounds = bound_out ? calloc((size_t)view.info.chunk_count + 1, sizeof *bounds) : NULL;
    if (!offsets || (bound_out && !bounds)) {
        free(offsets);
        free(bounds);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for the chunk table", call);
    }
    offsets[0] = view.records_begin;
    for (uint32_t i = 0; i < view.info.chunk_count; i++) offsets[i + 1] = offsets[i] + load_le32(view.table + 4 * (size_t)i);
    decompress_job_t job = {ctx, &view, src, offsets, dst, planes, bounds};
    saraphis_status_t status = threadpool_run(ctx->pool, view.info.chunk_count, decompress_item, &job);
    if (status == SARAPHIS_OK && bound_out) {
        double worst = 0;
        for (uint32_t i = 0; i < view.info.chunk_count; i++) worst = bounds[i] > worst ? bounds[i] : worst;
        *bound_out = worst;
    }
    free(offsets);
    free(bounds);
    if (status != SARAPHIS_OK) return status;
    *dst_size = view.info.raw_size;
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_decompress(saraphis_ctx_t *ctx, const void *src, size_t src_size, void *dst,
                                      size_t dst_capacity, size_t *dst_size)
{
    return decompress_frame(ctx, src, src_size, 0, dst, dst_capacity, dst_size, NULL, "decompress");
}

saraphis_status_t saraphis_decompress_planes(saraphis_ctx_t *ctx, const void *src, size_t src_size, unsigned planes, void *dst,
                                             size_t dst_capacity, size_t *dst_size, double *bound_out)
{
    return decompress_frame(ctx, src, src_size, planes, dst, dst_capacity, dst_size, bound_out, "decompress_planes");
}
