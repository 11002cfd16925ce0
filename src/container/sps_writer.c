/* .sps writer: streams chunk records to a temporary file as batches of chunks are compressed in
 * parallel, keeps the index in memory, and at finish appends index and footer, fsyncs and renames
 * the file into place. Until then the destination path is untouched. */
#include <stdlib.h>
#include <string.h>

#include "codec/chunk.h"
#include "common/bits.h"
#include "common/checksum.h"
#include "common/error.h"
#include "common/fileio.h"
#include "container/sps_format.h"
#include "codec/padic_values.h"
#include "engine/context.h"

struct saraphis_writer_s {
    saraphis_ctx_t *ctx;
    atomic_file_t file;
    uint64_t position;
    sps_tensor_t *tensors;
    size_t tensor_count, tensor_capacity;
    sps_metadata_t *metadata;
    size_t metadata_count, metadata_capacity;
    uint8_t *input;       /* a batch of raw chunks read from a file descriptor */
    uint8_t *slots;       /* a batch of compressed records */
    size_t *slot_used;
    padic_chunk_stats_t *slot_stats;
    size_t batch_chunks, slot_size;
    size_t chunk_bytes; /* fixed at open: every tensor of a file is chunked alike */
    int failed;
    int finished;
};

static saraphis_status_t writer_fail(saraphis_writer_t *writer, saraphis_status_t status)
{
    writer->failed = 1;
    return status;
}

saraphis_status_t saraphis_writer_open(saraphis_writer_t **out, const char *path, saraphis_ctx_t *ctx)
{
    error_clear();
    if (!out || !path || !ctx) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "writer_open: NULL argument");
    *out = NULL;
    saraphis_writer_t *writer = calloc(1, sizeof *writer);
    if (!writer) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for a writer", path);
    writer->ctx = ctx;
    writer->chunk_bytes = ctx->chunk_bytes;
    writer->file.fd = -1;
    saraphis_status_t status = ctx_prepare(ctx);
    if (status == SARAPHIS_OK) status = atomic_file_open(&writer->file, path);
    if (status != SARAPHIS_OK) { free(writer); return status; }
    uint8_t header[SPS_HEADER_BYTES] = {0};
    memcpy(header, SPS_MAGIC, 8);
    store_le16(header + 8, SPS_VERSION_MAJOR);
    store_le16(header + 10, SPS_VERSION_MINOR);
    store_le64(header + 56, checksum64(header, 56, 0));
    status = file_write_full(writer->file.fd, header, sizeof header, writer->file.temporary_path);
    if (status != SARAPHIS_OK) { saraphis_writer_free(writer); return status; }
    writer->position = SPS_HEADER_BYTES;
    *out = writer;
    return SARAPHIS_OK;
}

static saraphis_status_t validate_desc(const saraphis_tensor_desc_t *desc, uint64_t size)
{
    if (!desc || !desc->name || !desc->name[0]) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "add_tensor: tensor without a name");
    if (strlen(desc->name) > SARAPHIS_MAX_NAME)
        return error_set(SARAPHIS_ERROR_LIMIT, "add_tensor: name of %zu bytes exceeds %d", strlen(desc->name), SARAPHIS_MAX_NAME);
    size_t element = saraphis_dtype_size(desc->dtype);
    if (element == 0) return error_set(SARAPHIS_ERROR_DTYPE, "tensor '%s': unknown dtype %d", desc->name, (int)desc->dtype);
    if (desc->ndim > SARAPHIS_MAX_DIMS) return error_set(SARAPHIS_ERROR_LIMIT, "tensor '%s': %u dimensions exceed %d", desc->name, desc->ndim, SARAPHIS_MAX_DIMS);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < desc->ndim; d++) {
        if (desc->shape[d] && elements > UINT64_MAX / desc->shape[d]) return error_set(SARAPHIS_ERROR_LIMIT, "tensor '%s': shape overflows", desc->name);
        elements *= desc->shape[d];
    }
    if (elements > UINT64_MAX / element || elements * element != size)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "tensor '%s': shape gives %llu elements of %s but %llu bytes were given",
                         desc->name, (unsigned long long)elements, saraphis_dtype_name(desc->dtype), (unsigned long long)size);
    return SARAPHIS_OK;
}

typedef struct {
    saraphis_writer_t *writer;
    const chunk_method_t *method;
    saraphis_dtype_t dtype;
    const uint8_t *raw;     /* the batch's raw bytes */
    size_t raw_size;        /* bytes in this batch */
    const char *name;
    uint32_t first_chunk;
} encode_job_t;

static saraphis_status_t encode_item(void *job_ptr, size_t item, unsigned worker)
{
    encode_job_t *job = job_ptr;
    saraphis_writer_t *writer = job->writer;
    size_t chunk_bytes = writer->chunk_bytes;
    size_t begin = item * chunk_bytes;
    size_t size = job->raw_size - begin < chunk_bytes ? job->raw_size - begin : chunk_bytes;
    saraphis_status_t status = chunk_encode_with(job->method, job->dtype, job->raw + begin, size, writer->ctx->content_checksum,
                                                 writer->slots + item * writer->slot_size, writer->slot_size, &writer->slot_used[item],
                                                 &writer->ctx->scratch[worker], &writer->slot_stats[item]);
    if (status != SARAPHIS_OK) return error_wrap(status, "tensor '%s' chunk %zu: ", job->name, job->first_chunk + item);
    return SARAPHIS_OK;
}

/* slot_size: what one chunk's encoder needs (chunk_encode_capacity); slots grow to it. */
static saraphis_status_t ensure_batch_buffers(saraphis_writer_t *writer, int need_input, size_t slot_size)
{
    size_t chunk_bytes = writer->chunk_bytes;
    if (!writer->slot_used) {
        writer->batch_chunks = (size_t)ctx_workers(writer->ctx) * 4;
        writer->slot_used = malloc(writer->batch_chunks * sizeof *writer->slot_used);
        writer->slot_stats = malloc(writer->batch_chunks * sizeof *writer->slot_stats);
        if (!writer->slot_used || !writer->slot_stats) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "writer: no memory for %zu chunk slots", writer->batch_chunks);
    }
    if (!writer->slots || writer->slot_size < slot_size) {
        free(writer->slots);
        writer->slot_size = slot_size;
        writer->slots = malloc(writer->batch_chunks * writer->slot_size);
        if (!writer->slots) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "writer: no memory for %zu chunk slots", writer->batch_chunks);
    }
    if (need_input && !writer->input) {
        writer->input = malloc(writer->batch_chunks * chunk_bytes);
        if (!writer->input) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "writer: no memory for the input batch");
    }
    return SARAPHIS_OK;
}

/* Reads a tensor batch by batch from memory or fd and hands each batch to visit. */
typedef saraphis_status_t (*batch_visit_fn)(void *state, saraphis_dtype_t dtype, const void *bytes, size_t size);

static saraphis_status_t visit_batches(saraphis_writer_t *writer, const saraphis_tensor_desc_t *desc, const uint8_t *data, int fd,
                                       uint64_t offset, uint64_t size, batch_visit_fn visit, void *state)
{
    if (data || size == 0) return visit(state, desc->dtype, data ? data : writer->input, (size_t)size);
    size_t batch_bytes = writer->batch_chunks * writer->chunk_bytes;
    for (uint64_t begin = 0; begin < size; begin += batch_bytes) {
        size_t bytes = (size_t)(size - begin < batch_bytes ? size - begin : batch_bytes);
        saraphis_status_t status = file_pread_full(fd, writer->input, bytes, offset + begin, desc->name);
        if (status != SARAPHIS_OK) return error_wrap(status, "reading tensor ");
        SPS_TRY(visit(state, desc->dtype, writer->input, bytes));
    }
    return SARAPHIS_OK;
}

static saraphis_status_t visit_moments(void *scan, saraphis_dtype_t dtype, const void *bytes, size_t size)
{
    return padic_scan_moments(scan, dtype, bytes, size);
}

static saraphis_status_t visit_squares(void *scan, saraphis_dtype_t dtype, const void *bytes, size_t size)
{
    return padic_scan_squares(scan, dtype, bytes, size);
}

typedef struct {
    padic_params_t params;
    unsigned precision; /* the largest any batch needs */
} precision_scan_t;

static saraphis_status_t visit_precision(void *state, saraphis_dtype_t dtype, const void *bytes, size_t size)
{
    precision_scan_t *scan = state;
    unsigned needed;
    SPS_TRY(padic_required_precision(&scan->params, dtype, bytes, size, &needed));
    if (needed > scan->precision) scan->precision = needed;
    return SARAPHIS_OK;
}

/* The method a tensor is written with. Under BOUNDED, the pre-pass over the tensor (batch by
 * batch for a file) resolves eps for relative bounds and the precision when it is automatic; the
 * statistics accumulate in element order, so a file and the same bytes in memory give the same
 * eps. Tensors the bounded codec cannot take go LOSSLESS (ctx_resolve_bound's rules). */
static saraphis_status_t resolve_method(saraphis_writer_t *writer, const saraphis_tensor_desc_t *desc, const uint8_t *data, int fd,
                                        uint64_t offset, uint64_t size, chunk_method_t *method)
{
    saraphis_ctx_t *ctx = writer->ctx;
    memset(method, 0, sizeof *method);
    method->codec = ctx->codec == SARAPHIS_CODEC_STORED ? SARAPHIS_CODEC_STORED : SARAPHIS_CODEC_LOSSLESS;
    if (ctx->codec != SARAPHIS_CODEC_BOUNDED) return SARAPHIS_OK;
    saraphis_dtype_t dtype = desc->dtype;
    if (dtype != SARAPHIS_DTYPE_F32 && dtype != SARAPHIS_DTYPE_F64 && dtype != SARAPHIS_DTYPE_F16 && dtype != SARAPHIS_DTYPE_BF16)
        return SARAPHIS_OK;
    int mode = ctx_padic_mode(ctx->bound.mode);
    padic_scan_t scan;
    padic_scan_init(&scan);
    if (mode != PADIC_ABSOLUTE) SPS_TRY(visit_batches(writer, desc, data, fd, offset, size, visit_moments, &scan));
    if (mode == PADIC_RELATIVE_STD) SPS_TRY(visit_batches(writer, desc, data, fd, offset, size, visit_squares, &scan));
    double eps;
    SPS_TRY(padic_scan_eps(&scan, mode, ctx->bound.bound, &eps));
    if (eps == 0) return SARAPHIS_OK;
    ctx_bound_params(&ctx->bound, eps, &method->padic);
    if (method->padic.precision == 0) {
        precision_scan_t precision = {method->padic, 0};
        SPS_TRY(visit_batches(writer, desc, data, fd, offset, size, visit_precision, &precision));
        method->padic.precision = precision.precision;
    }
    SPS_TRY(padic_validate(&method->padic));
    method->codec = SARAPHIS_CODEC_BOUNDED;
    return SARAPHIS_OK;
}

/* Compresses a tensor from memory (data) or from fd at offset, batch by batch. */
static saraphis_status_t add_tensor(saraphis_writer_t *writer, const saraphis_tensor_desc_t *desc, const uint8_t *data,
                                    int fd, uint64_t offset, uint64_t size)
{
    error_clear();
    if (!writer) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "add_tensor: writer is NULL");
    if (writer->failed || writer->finished)
        return error_set(SARAPHIS_ERROR_STATE, "%s: writer already %s", writer->file.path ? writer->file.path : "(closed)", writer->finished ? "finished" : "failed");
    SPS_TRY(validate_desc(desc, size));
    SPS_TRY(ctx_prepare(writer->ctx));
    size_t chunk_bytes = writer->chunk_bytes;
    chunk_method_t method;
    saraphis_status_t status = ensure_batch_buffers(writer, data == NULL, chunk_record_bound(chunk_bytes));
    if (status != SARAPHIS_OK) return writer_fail(writer, status);
    SPS_TRY(resolve_method(writer, desc, data, fd, offset, size, &method));
    status = ensure_batch_buffers(writer, data == NULL, chunk_encode_capacity(&method, desc->dtype, chunk_bytes));
    if (status != SARAPHIS_OK) return writer_fail(writer, status);
    uint64_t chunk_count = (size + chunk_bytes - 1) / chunk_bytes;
    if (chunk_count > UINT32_MAX) return error_set(SARAPHIS_ERROR_LIMIT, "tensor '%s': %llu chunks exceed the limit", desc->name, (unsigned long long)chunk_count);
    if (writer->tensor_count >= SPS_MAX_TENSORS) return error_set(SARAPHIS_ERROR_LIMIT, "writer: more than %u tensors", SPS_MAX_TENSORS);
    if (writer->tensor_count == writer->tensor_capacity) {
        size_t capacity = writer->tensor_capacity ? writer->tensor_capacity * 2 : 64;
        sps_tensor_t *grown = realloc(writer->tensors, capacity * sizeof *grown);
        if (!grown) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "writer: no memory for the index");
        writer->tensors = grown;
        writer->tensor_capacity = capacity;
    }
    sps_tensor_t *tensor = &writer->tensors[writer->tensor_count];
    memset(tensor, 0, sizeof *tensor);
    tensor->name = strdup(desc->name);
    tensor->record_sizes = malloc((chunk_count ? chunk_count : 1) * sizeof *tensor->record_sizes);
    if (!tensor->name || !tensor->record_sizes) {
        free(tensor->name); free(tensor->record_sizes);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "tensor '%s': no memory for its index entry", desc->name);
    }
    tensor->dtype = desc->dtype;
    tensor->codec = method.codec;
    if (method.codec == SARAPHIS_CODEC_BOUNDED) {
        tensor->flags = SPS_FLAG_CODEC_PARAMS;
        tensor->bound_mode = writer->ctx->bound.mode;
        tensor->bound = writer->ctx->bound.bound;
        tensor->eps = method.padic.eps;
        tensor->prime = method.padic.prime;
        tensor->precision = method.padic.precision;
    }
    tensor->ndim = desc->ndim;
    memcpy(tensor->shape, desc->shape, sizeof tensor->shape);
    for (uint32_t d = desc->ndim; d < SARAPHIS_MAX_DIMS; d++) tensor->shape[d] = 0;
    tensor->raw_size = size;
    tensor->chunk_bytes = (uint32_t)chunk_bytes;
    tensor->chunk_count = (uint32_t)chunk_count;
    tensor->first_record = writer->position;
    writer->tensor_count++; /* owned by the writer from here on, freed with it */

    for (uint64_t first = 0; first < chunk_count; first += writer->batch_chunks) {
        size_t count = chunk_count - first < writer->batch_chunks ? (size_t)(chunk_count - first) : writer->batch_chunks;
        uint64_t begin = first * chunk_bytes;
        size_t batch_bytes = (size_t)(size - begin < (uint64_t)count * chunk_bytes ? size - begin : (uint64_t)count * chunk_bytes);
        const uint8_t *raw = data ? data + begin : writer->input;
        if (!data) {
            status = file_pread_full(fd, writer->input, batch_bytes, offset + begin, desc->name);
            if (status != SARAPHIS_OK) return writer_fail(writer, error_wrap(status, "reading tensor "));
        }
        encode_job_t job = {writer, &method, desc->dtype, raw, batch_bytes, desc->name, (uint32_t)first};
        status = threadpool_run(writer->ctx->pool, count, encode_item, &job);
        if (status != SARAPHIS_OK) return writer_fail(writer, status);
        for (size_t i = 0; i < count; i++) {
            status = file_write_full(writer->file.fd, writer->slots + i * writer->slot_size, writer->slot_used[i], writer->file.path);
            if (status != SARAPHIS_OK) return writer_fail(writer, status);
            tensor->record_sizes[first + i] = (uint32_t)writer->slot_used[i];
            writer->position += writer->slot_used[i];
            tensor->compressed_size += writer->slot_used[i];
            if (writer->slot_stats[i].max_error > tensor->max_error) tensor->max_error = writer->slot_stats[i].max_error;
            tensor->escapes += writer->slot_stats[i].escapes;
        }
        if (writer->ctx->progress) writer->ctx->progress(writer->ctx->progress_user, begin + batch_bytes, size);
    }
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_writer_add_tensor(saraphis_writer_t *writer, const saraphis_tensor_desc_t *desc, const void *data, size_t size)
{
    if (!data && size) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "add_tensor: data is NULL");
    static const uint8_t empty;
    return add_tensor(writer, desc, data ? data : &empty, -1, 0, size);
}

saraphis_status_t saraphis_writer_add_tensor_fd(saraphis_writer_t *writer, const saraphis_tensor_desc_t *desc, int fd, uint64_t offset,
                                                uint64_t size)
{
    if (fd < 0) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "add_tensor_fd: invalid file descriptor");
    return add_tensor(writer, desc, NULL, fd, offset, size);
}

saraphis_status_t saraphis_writer_set_metadata(saraphis_writer_t *writer, const char *key, const char *value)
{
    error_clear();
    if (!writer || !key || !value) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "set_metadata: NULL argument");
    if (writer->finished) return error_set(SARAPHIS_ERROR_STATE, "set_metadata: writer already finished");
    size_t key_size = strlen(key), value_size = strlen(value);
    if (key_size == 0 || key_size > SARAPHIS_MAX_NAME) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "set_metadata: key must be 1 to %d bytes", SARAPHIS_MAX_NAME);
    if (value_size > SPS_MAX_METADATA_BYTES) return error_set(SARAPHIS_ERROR_LIMIT, "set_metadata: value for '%s' exceeds %u bytes", key, SPS_MAX_METADATA_BYTES);
    for (size_t i = 0; i < writer->metadata_count; i++) {
        if (strcmp(writer->metadata[i].key, key) == 0) {
            char *copy = strdup(value);
            if (!copy) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "set_metadata: no memory");
            free(writer->metadata[i].value);
            writer->metadata[i].value = copy;
            writer->metadata[i].value_size = (uint32_t)value_size;
            return SARAPHIS_OK;
        }
    }
    if (writer->metadata_count == writer->metadata_capacity) {
        size_t capacity = writer->metadata_capacity ? writer->metadata_capacity * 2 : 8;
        sps_metadata_t *grown = realloc(writer->metadata, capacity * sizeof *grown);
        if (!grown) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "set_metadata: no memory");
        writer->metadata = grown;
        writer->metadata_capacity = capacity;
    }
    sps_metadata_t *entry = &writer->metadata[writer->metadata_count];
    entry->key = strdup(key);
    entry->value = strdup(value);
    if (!entry->key || !entry->value) {
        free(entry->key); free(entry->value);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "set_metadata: no memory");
    }
    entry->key_size = (uint32_t)key_size;
    entry->value_size = (uint32_t)value_size;
    writer->metadata_count++;
    return SARAPHIS_OK;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static saraphis_status_t check_unique_names(const saraphis_writer_t *writer)
{
    if (writer->tensor_count < 2) return SARAPHIS_OK;
    char **names = malloc(writer->tensor_count * sizeof *names);
    if (!names) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "writer: no memory to check names");
    for (size_t i = 0; i < writer->tensor_count; i++) names[i] = writer->tensors[i].name;
    qsort(names, writer->tensor_count, sizeof *names, compare_names);
    saraphis_status_t status = SARAPHIS_OK;
    for (size_t i = 1; i < writer->tensor_count; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: tensor name '%s' is used twice", writer->file.path, names[i]);
            break;
        }
    free(names);
    return status;
}

/* Index layout: see docs/format.md ("Index"). */
static size_t index_size(const saraphis_writer_t *writer)
{
    size_t size = 8;
    for (size_t i = 0; i < writer->tensor_count; i++) {
        const sps_tensor_t *t = &writer->tensors[i];
        size += 2 + strlen(t->name) + 4 + 8 * (size_t)t->ndim + 8 + 4 + 4 + 8 + 4 * (size_t)t->chunk_count;
        if (t->flags & SPS_FLAG_CODEC_PARAMS) size += 2 + SPS_BOUNDED_PARAMS_BYTES;
    }
    for (size_t i = 0; i < writer->metadata_count; i++) size += 8 + writer->metadata[i].key_size + writer->metadata[i].value_size;
    return size;
}

static void serialize_index(const saraphis_writer_t *writer, uint8_t *out)
{
    uint8_t *p = out;
    store_le32(p, (uint32_t)writer->tensor_count); p += 4;
    store_le32(p, (uint32_t)writer->metadata_count); p += 4;
    for (size_t i = 0; i < writer->tensor_count; i++) {
        const sps_tensor_t *t = &writer->tensors[i];
        size_t name_size = strlen(t->name);
        store_le16(p, (uint16_t)name_size); p += 2;
        memcpy(p, t->name, name_size); p += name_size;
        *p++ = (uint8_t)t->dtype;
        *p++ = (uint8_t)t->codec;
        *p++ = (uint8_t)t->ndim;
        *p++ = t->flags;
        if (t->flags & SPS_FLAG_CODEC_PARAMS) {
            store_le16(p, SPS_BOUNDED_PARAMS_BYTES); p += 2;
            *p++ = (uint8_t)t->bound_mode;
            store_le64(p, padic_double_bits(t->bound)); p += 8;
            store_le64(p, padic_double_bits(t->eps)); p += 8;
            store_le16(p, (uint16_t)t->prime); p += 2;
            *p++ = (uint8_t)t->precision;
            store_le64(p, padic_double_bits(t->max_error)); p += 8;
            store_le64(p, t->escapes); p += 8;
        }
        for (uint32_t d = 0; d < t->ndim; d++) { store_le64(p, t->shape[d]); p += 8; }
        store_le64(p, t->raw_size); p += 8;
        store_le32(p, t->chunk_bytes); p += 4;
        store_le32(p, t->chunk_count); p += 4;
        store_le64(p, t->first_record); p += 8;
        for (uint32_t c = 0; c < t->chunk_count; c++) { store_le32(p, t->record_sizes[c]); p += 4; }
    }
    for (size_t i = 0; i < writer->metadata_count; i++) {
        const sps_metadata_t *m = &writer->metadata[i];
        store_le32(p, m->key_size); p += 4;
        memcpy(p, m->key, m->key_size); p += m->key_size;
        store_le32(p, m->value_size); p += 4;
        memcpy(p, m->value, m->value_size); p += m->value_size;
    }
}

saraphis_status_t saraphis_writer_finish(saraphis_writer_t *writer)
{
    error_clear();
    if (!writer) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "writer_finish: writer is NULL");
    if (writer->failed || writer->finished) return error_set(SARAPHIS_ERROR_STATE, "writer_finish: writer already %s", writer->finished ? "finished" : "failed");
    saraphis_status_t status = check_unique_names(writer);
    if (status != SARAPHIS_OK) return writer_fail(writer, status);
    size_t size = index_size(writer);
    if (size > SPS_MAX_INDEX_BYTES) return writer_fail(writer, error_set(SARAPHIS_ERROR_LIMIT, "writer: index of %zu bytes exceeds the limit", size));
    uint8_t *index = malloc(size + SPS_FOOTER_BYTES);
    if (!index) return writer_fail(writer, error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "writer: no memory for the index"));
    serialize_index(writer, index);
    uint8_t *footer = index + size;
    store_le64(footer, writer->position);
    store_le64(footer + 8, size);
    store_le64(footer + 16, checksum64(index, size, 0));
    memcpy(footer + 24, SPS_END_MAGIC, 8);
    status = file_write_full(writer->file.fd, index, size + SPS_FOOTER_BYTES, writer->file.path);
    free(index);
    if (status == SARAPHIS_OK) status = atomic_file_commit(&writer->file);
    if (status != SARAPHIS_OK) return writer_fail(writer, status);
    writer->finished = 1;
    return SARAPHIS_OK;
}

void saraphis_writer_free(saraphis_writer_t *writer)
{
    if (!writer) return;
    if (!writer->finished) atomic_file_abort(&writer->file);
    for (size_t i = 0; i < writer->tensor_count; i++) {
        free(writer->tensors[i].name);
        free(writer->tensors[i].record_sizes);
    }
    free(writer->tensors);
    for (size_t i = 0; i < writer->metadata_count; i++) {
        free(writer->metadata[i].key);
        free(writer->metadata[i].value);
    }
    free(writer->metadata);
    free(writer->input);
    free(writer->slots);
    free(writer->slot_used);
    free(writer->slot_stats);
    free(writer);
}
