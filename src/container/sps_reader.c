/* .sps reader: validates header, footer and index on open; decodes one tensor at a time by
 * reading only that tensor's records, batch by batch, and decoding each batch in parallel. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/chunk.h"
#include "common/bits.h"
#include "common/checksum.h"
#include "common/error.h"
#include "common/fileio.h"
#include "container/sps_index.h"
#include "container/sps_reader.h"
#include "engine/context.h"

struct saraphis_reader_s {
    saraphis_ctx_t *ctx;
    int fd;
    char *path;
    uint64_t file_size;
    sps_index_t index;
    uint8_t *records;       /* one batch of records */
    size_t records_capacity;
    uint8_t *raw;           /* one batch of decoded chunks (streaming output) */
    size_t raw_capacity;
    _Atomic uint64_t record_bytes_read; /* bytes of records read so far (sps_reader_record_bytes_read) */
};

uint64_t sps_reader_record_bytes_read(const saraphis_reader_t *reader) { return reader ? reader->record_bytes_read : 0; }

/* Reads record bytes, counting them. */
static saraphis_status_t read_records(saraphis_reader_t *reader, uint8_t *dst, size_t size, uint64_t offset)
{
    SPS_TRY(file_pread_full(reader->fd, dst, size, offset, reader->path));
    reader->record_bytes_read += size;
    return SARAPHIS_OK;
}

/* The parameters a bounded tensor's records must carry; NULL for the exact codecs. */
static const padic_params_t *tensor_params(const sps_tensor_t *t, padic_params_t *params)
{
    if (t->codec != SARAPHIS_CODEC_BOUNDED) return NULL;
    *params = (padic_params_t){t->eps, t->prime, t->precision};
    return params;
}

static saraphis_status_t read_and_check_header(saraphis_reader_t *reader)
{
    if (reader->file_size < SPS_HEADER_BYTES + SPS_FOOTER_BYTES)
        return error_set(SARAPHIS_ERROR_TRUNCATED, "%s: %llu bytes is too short for a .sps file", reader->path, (unsigned long long)reader->file_size);
    uint8_t header[SPS_HEADER_BYTES];
    SPS_TRY(file_pread_full(reader->fd, header, sizeof header, 0, reader->path));
    if (memcmp(header, SPS_MAGIC, 8) != 0) return error_set(SARAPHIS_ERROR_CORRUPT, "%s: not a .sps file (bad magic)", reader->path);
    if (checksum64(header, 56, 0) != load_le64(header + 56) && !SARAPHIS_FUZZING) return error_set(SARAPHIS_ERROR_CHECKSUM, "%s: file header checksum mismatch", reader->path);
    if (load_le16(header + 8) != SPS_VERSION_MAJOR)
        return error_set(SARAPHIS_ERROR_UNSUPPORTED, "%s: format version %u.%u, this build reads %d.x", reader->path, load_le16(header + 8), load_le16(header + 10), SPS_VERSION_MAJOR);
    uint8_t footer[SPS_FOOTER_BYTES];
    SPS_TRY(file_pread_full(reader->fd, footer, sizeof footer, reader->file_size - SPS_FOOTER_BYTES, reader->path));
    if (memcmp(footer + 24, SPS_END_MAGIC, 8) != 0)
        return error_set(SARAPHIS_ERROR_TRUNCATED, "%s: no index footer at the end (file truncated or not finished)", reader->path);
    uint64_t index_offset = load_le64(footer), index_size = load_le64(footer + 8);
    if (index_offset < SPS_HEADER_BYTES || index_size > SPS_MAX_INDEX_BYTES || index_offset > reader->file_size - SPS_FOOTER_BYTES ||
        index_size != reader->file_size - SPS_FOOTER_BYTES - index_offset)
        return error_set(SARAPHIS_ERROR_CORRUPT, "%s: footer places a %llu-byte index at offset %llu in a %llu-byte file", reader->path,
                         (unsigned long long)index_size, (unsigned long long)index_offset, (unsigned long long)reader->file_size);
    uint8_t *index_bytes = malloc(index_size ? index_size : 1);
    if (!index_bytes) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for a %llu-byte index", reader->path, (unsigned long long)index_size);
    saraphis_status_t status = file_pread_full(reader->fd, index_bytes, index_size, index_offset, reader->path);
    if (status == SARAPHIS_OK && checksum64(index_bytes, index_size, 0) != load_le64(footer + 16) && !SARAPHIS_FUZZING)
        status = error_set(SARAPHIS_ERROR_CHECKSUM, "%s: index checksum mismatch", reader->path);
    if (status == SARAPHIS_OK) status = sps_index_parse(index_bytes, index_size, index_offset, reader->path, &reader->index);
    free(index_bytes);
    return status;
}

saraphis_status_t saraphis_reader_open(saraphis_reader_t **out, const char *path, saraphis_ctx_t *ctx)
{
    error_clear();
    if (!out || !path || !ctx) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "reader_open: NULL argument");
    *out = NULL;
    saraphis_reader_t *reader = calloc(1, sizeof *reader);
    if (!reader || !(reader->path = strdup(path))) {
        free(reader);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for a reader", path);
    }
    reader->ctx = ctx;
    reader->fd = open(path, O_RDONLY | O_CLOEXEC);
    saraphis_status_t status;
    if (reader->fd < 0) status = error_set(SARAPHIS_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    else status = file_size_of(reader->fd, &reader->file_size, path);
    if (status == SARAPHIS_OK) status = read_and_check_header(reader);
    if (status == SARAPHIS_OK) status = ctx_prepare(ctx);
    if (status != SARAPHIS_OK) { saraphis_reader_free(reader); return status; }
    *out = reader;
    return SARAPHIS_OK;
}

void saraphis_reader_free(saraphis_reader_t *reader)
{
    if (!reader) return;
    if (reader->fd >= 0) close(reader->fd);
    sps_index_free(&reader->index);
    free(reader->records);
    free(reader->raw);
    free(reader->path);
    free(reader);
}

size_t saraphis_reader_tensor_count(const saraphis_reader_t *reader) { return reader ? reader->index.tensor_count : 0; }

saraphis_status_t saraphis_reader_tensor_info(const saraphis_reader_t *reader, size_t index, saraphis_tensor_info_t *info)
{
    if (!reader || !info) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "tensor_info: NULL argument");
    if (index >= reader->index.tensor_count) return error_set(SARAPHIS_ERROR_NOT_FOUND, "%s: no tensor %zu (file holds %zu)", reader->path, index, reader->index.tensor_count);
    const sps_tensor_t *t = &reader->index.tensors[index];
    info->name = t->name;
    info->dtype = t->dtype;
    info->codec = t->codec;
    info->ndim = t->ndim;
    memcpy(info->shape, t->shape, sizeof info->shape);
    info->raw_size = t->raw_size;
    info->compressed_size = t->compressed_size;
    info->chunk_count = t->chunk_count;
    info->error_bound_mode = t->codec == SARAPHIS_CODEC_BOUNDED ? t->bound_mode : (saraphis_bound_mode_t)0;
    info->error_bound = t->codec == SARAPHIS_CODEC_BOUNDED ? t->bound : 0;
    info->eps = t->codec == SARAPHIS_CODEC_BOUNDED ? t->eps : 0;
    info->max_error = t->codec == SARAPHIS_CODEC_BOUNDED ? t->max_error : 0;
    info->prime = t->codec == SARAPHIS_CODEC_BOUNDED ? t->prime : 0;
    info->precision = t->codec == SARAPHIS_CODEC_BOUNDED ? t->precision : 0;
    info->escapes = t->codec == SARAPHIS_CODEC_BOUNDED ? t->escapes : 0;
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_reader_find(const saraphis_reader_t *reader, const char *name, size_t *index)
{
    if (!reader || !name || !index) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "reader_find: NULL argument");
    for (size_t i = 0; i < reader->index.tensor_count; i++)
        if (strcmp(reader->index.tensors[i].name, name) == 0) { *index = i; return SARAPHIS_OK; }
    return error_set(SARAPHIS_ERROR_NOT_FOUND, "%s: no tensor named '%s'", reader->path, name);
}

size_t saraphis_reader_metadata_count(const saraphis_reader_t *reader) { return reader ? reader->index.metadata_count : 0; }

saraphis_status_t saraphis_reader_metadata(const saraphis_reader_t *reader, size_t index, const char **key, const char **value)
{
    if (!reader || !key || !value) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "reader_metadata: NULL argument");
    if (index >= reader->index.metadata_count) return error_set(SARAPHIS_ERROR_NOT_FOUND, "%s: no metadata entry %zu", reader->path, index);
    *key = reader->index.metadata[index].key;
    *value = reader->index.metadata[index].value;
    return SARAPHIS_OK;
}

const char *saraphis_reader_metadata_get(const saraphis_reader_t *reader, const char *key)
{
    if (!reader || !key) return NULL;
    for (size_t i = 0; i < reader->index.metadata_count; i++)
        if (strcmp(reader->index.metadata[i].key, key) == 0) return reader->index.metadata[i].value;
    return NULL;
}

/* ---- Decoding ----------------------------------------------------------------------------- */

typedef struct {
    saraphis_reader_t *reader;
    const sps_tensor_t *tensor;
    uint32_t first_chunk;
    const uint64_t *record_offsets; /* within reader->records, count + 1 entries */
    uint8_t *dst;                   /* where chunk first_chunk's bytes go; NULL: verify only */
    int verify_records;             /* SARAPHIS_PARAM_VERIFY_RECORDS, or 1 for saraphis_reader_verify */
} decode_job_t;

static saraphis_status_t decode_item(void *job_ptr, size_t item, unsigned worker)
{
    decode_job_t *job = job_ptr;
    const sps_tensor_t *t = job->tensor;
    uint32_t chunk = job->first_chunk + (uint32_t)item;
    uint64_t begin = (uint64_t)chunk * t->chunk_bytes;
    size_t raw = (size_t)(t->raw_size - begin < t->chunk_bytes ? t->raw_size - begin : t->chunk_bytes);
    const uint8_t *record = job->reader->records + job->record_offsets[item];
    size_t record_size = t->record_sizes[chunk];
    saraphis_status_t status;
    padic_params_t params;
    if (job->dst)
        status = chunk_decode_expect(t->dtype, record, record_size, job->dst + (size_t)item * t->chunk_bytes, raw,
                                     &job->reader->ctx->scratch[worker], tensor_params(t, &params), job->verify_records);
    else status = chunk_verify(record, record_size, raw);
    if (status != SARAPHIS_OK) {
        uint64_t file_offset = t->first_record + (job->record_offsets[item] - job->record_offsets[0]);
        for (uint32_t k = 0; k < job->first_chunk; k++) file_offset += t->record_sizes[k];
        return error_wrap(status, "%s: tensor '%s' chunk %u (record at offset %llu): ", job->reader->path, t->name, chunk,
                          (unsigned long long)file_offset);
    }
    return SARAPHIS_OK;
}

/* Visits a tensor batch by batch; emit() receives each decoded batch (or NULL when verifying). */
typedef saraphis_status_t (*batch_sink_fn)(void *sink, const uint8_t *bytes, size_t size);

static saraphis_status_t process_tensor(saraphis_reader_t *reader, size_t index, uint8_t *direct_dst, int verify_only,
                                        batch_sink_fn sink_fn, void *sink)
{
    if (index >= reader->index.tensor_count) return error_set(SARAPHIS_ERROR_NOT_FOUND, "%s: no tensor %zu", reader->path, index);
    SPS_TRY(ctx_prepare(reader->ctx));
    const sps_tensor_t *t = &reader->index.tensors[index];
    size_t batch = (size_t)ctx_workers(reader->ctx) * 4;
    uint64_t offsets[1024 + 1];
    if (batch > 1024) batch = 1024;
    uint64_t file_position = t->first_record;
    for (uint32_t first = 0; first < t->chunk_count; first += (uint32_t)batch) {
        size_t count = t->chunk_count - first < batch ? t->chunk_count - first : batch;
        offsets[0] = 0;
        for (size_t i = 0; i < count; i++) offsets[i + 1] = offsets[i] + t->record_sizes[first + i];
        size_t bytes = (size_t)offsets[count];
        if (bytes > reader->records_capacity) {
            uint8_t *grown = realloc(reader->records, bytes);
            if (!grown) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for %zu bytes of records", reader->path, bytes);
            reader->records = grown;
            reader->records_capacity = bytes;
        }
        saraphis_status_t status = read_records(reader, reader->records, bytes, file_position);
        if (status != SARAPHIS_OK) return error_wrap(status, "tensor '%s' chunk %u: ", t->name, first);
        file_position += bytes;
        uint64_t begin = (uint64_t)first * t->chunk_bytes;
        size_t raw_bytes = (size_t)(t->raw_size - begin < (uint64_t)count * t->chunk_bytes ? t->raw_size - begin : (uint64_t)count * t->chunk_bytes);
        /* Verification decodes too (into the batch buffer): it proves the records restore
         * bytes matching their content checksums, not only that the records are intact. */
        uint8_t *dst = NULL;
        {
            if (direct_dst) dst = direct_dst + begin;
            else {
                if (raw_bytes > reader->raw_capacity) {
                    uint8_t *grown = realloc(reader->raw, raw_bytes);
                    if (!grown) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for %zu decoded bytes", reader->path, raw_bytes);
                    reader->raw = grown;
                    reader->raw_capacity = raw_bytes;
                }
                dst = reader->raw;
            }
        }
        decode_job_t job = {reader, t, first, offsets, dst, verify_only ? 1 : reader->ctx->verify_records};
        SPS_TRY(threadpool_run(reader->ctx->pool, count, decode_item, &job));
        if (sink_fn && !verify_only) SPS_TRY(sink_fn(sink, dst, raw_bytes));
        if (reader->ctx->progress) reader->ctx->progress(reader->ctx->progress_user, begin + raw_bytes, t->raw_size);
    }
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_reader_read_tensor(saraphis_reader_t *reader, size_t index, void *dst, size_t dst_capacity)
{
    error_clear();
    if (!reader || (!dst && dst_capacity)) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "read_tensor: NULL argument");
    if (index >= reader->index.tensor_count) return error_set(SARAPHIS_ERROR_NOT_FOUND, "%s: no tensor %zu", reader->path, index);
    const sps_tensor_t *t = &reader->index.tensors[index];
    if (t->raw_size > dst_capacity)
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "%s: tensor '%s' needs %llu bytes, buffer holds %zu", reader->path, t->name,
                         (unsigned long long)t->raw_size, dst_capacity);
    static uint8_t empty;
    return process_tensor(reader, index, dst ? dst : &empty, 0, NULL, NULL);
}

typedef struct {
    int fd;
    const char *path;
} fd_sink_t;

static saraphis_status_t write_to_fd(void *sink_ptr, const uint8_t *bytes, size_t size)
{
    fd_sink_t *sink = sink_ptr;
    return file_write_full(sink->fd, bytes, size, sink->path);
}

saraphis_status_t saraphis_reader_write_tensor_fd(saraphis_reader_t *reader, size_t index, int fd)
{
    error_clear();
    if (!reader || fd < 0) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "write_tensor_fd: invalid argument");
    fd_sink_t sink = {fd, "output"};
    return process_tensor(reader, index, NULL, 0, write_to_fd, &sink);
}

saraphis_status_t saraphis_reader_verify(saraphis_reader_t *reader)
{
    error_clear();
    if (!reader) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "reader_verify: NULL argument");
    for (size_t i = 0; i < reader->index.tensor_count; i++) SPS_TRY(process_tensor(reader, i, NULL, 1, NULL, NULL));
    return SARAPHIS_OK;
}

/* ---- Progressive reads -------------------------------------------------------------------- */

typedef struct {
    saraphis_reader_t *reader;
    const sps_tensor_t *tensor;
    unsigned planes;
    uint32_t first_chunk;
    const uint64_t *record_offsets; /* file offset of each record of the batch, count + 1 entries */
    const uint64_t *slot_offsets;   /* where each record's bytes go in reader->records */
    uint8_t *dst;
    double *bounds;                 /* per item */
} planes_job_t;

/* One record: read the head (enough for the plane table), then the prefix the planes need,
 * then decode. Workers pread disjoint slots of the batch buffer. */
static saraphis_status_t planes_item(void *job_ptr, size_t item, unsigned worker)
{
    planes_job_t *job = job_ptr;
    saraphis_reader_t *reader = job->reader;
    const sps_tensor_t *t = job->tensor;
    uint32_t chunk = job->first_chunk + (uint32_t)item;
    uint64_t begin = (uint64_t)chunk * t->chunk_bytes;
    size_t raw = (size_t)(t->raw_size - begin < t->chunk_bytes ? t->raw_size - begin : t->chunk_bytes);
    size_t record_size = t->record_sizes[chunk];
    uint64_t file_offset = job->record_offsets[item];
    uint8_t *record = reader->records + job->slot_offsets[item];
    /* The record header, method byte, p-adic header and plane table: all a prefix length needs. */
    size_t probe = CHUNK_HEADER_BYTES + 1 + 24 + 12 * (size_t)t->precision;
    if (probe > record_size) probe = record_size;
    saraphis_status_t status = read_records(reader, record, probe, file_offset);
    size_t prefix = 0;
    if (status == SARAPHIS_OK) {
        prefix = chunk_prefix_bytes(record, probe, record_size, job->planes);
        if (prefix == 0) status = error_set(SARAPHIS_ERROR_CORRUPT, "record header or p-adic plane table is invalid");
    }
    if (status == SARAPHIS_OK && prefix > probe) status = read_records(reader, record + probe, prefix - probe, file_offset + probe);
    padic_params_t params;
    if (status == SARAPHIS_OK)
        status = chunk_decode_prefix(t->dtype, record, prefix, record_size, job->dst + (size_t)item * t->chunk_bytes, raw, job->planes,
                                     &reader->ctx->scratch[worker], tensor_params(t, &params), &job->bounds[item]);
    if (status != SARAPHIS_OK)
        return error_wrap(status, "%s: tensor '%s' chunk %u (record at offset %llu): ", reader->path, t->name, chunk, (unsigned long long)file_offset);
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_reader_read_tensor_planes(saraphis_reader_t *reader, size_t index, unsigned planes, void *dst_ptr,
                                                     size_t dst_capacity, double *bound_out)
{
    error_clear();
    if (!reader || (!dst_ptr && dst_capacity)) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "read_tensor_planes: NULL argument");
    if (index >= reader->index.tensor_count) return error_set(SARAPHIS_ERROR_NOT_FOUND, "%s: no tensor %zu", reader->path, index);
    const sps_tensor_t *t = &reader->index.tensors[index];
    if (t->raw_size > dst_capacity)
        return error_set(SARAPHIS_ERROR_BUFFER_TOO_SMALL, "%s: tensor '%s' needs %llu bytes, buffer holds %zu", reader->path, t->name,
                         (unsigned long long)t->raw_size, dst_capacity);
    if (t->codec != SARAPHIS_CODEC_BOUNDED || planes == 0 || planes >= t->precision) {
        /* Every plane (or an exact tensor): the whole records, every checksum. */
        static uint8_t empty;
        SPS_TRY(process_tensor(reader, index, dst_ptr ? dst_ptr : &empty, 0, NULL, NULL));
        if (bound_out) *bound_out = t->codec == SARAPHIS_CODEC_BOUNDED ? t->eps : 0;
        return SARAPHIS_OK;
    }
    SPS_TRY(ctx_prepare(reader->ctx));
    uint8_t *dst = dst_ptr;
    size_t batch = (size_t)ctx_workers(reader->ctx) * 4;
    if (batch > 1024) batch = 1024;
    uint64_t record_offsets[1024 + 1], slot_offsets[1024 + 1];
    double bounds[1024], worst = 0;
    uint64_t file_position = t->first_record;
    for (uint32_t first = 0; first < t->chunk_count; first += (uint32_t)batch) {
        size_t count = t->chunk_count - first < batch ? t->chunk_count - first : batch;
        record_offsets[0] = file_position;
        slot_offsets[0] = 0;
        for (size_t i = 0; i < count; i++) {
            record_offsets[i + 1] = record_offsets[i] + t->record_sizes[first + i];
            slot_offsets[i + 1] = slot_offsets[i] + t->record_sizes[first + i];
        }
        size_t bytes = (size_t)slot_offsets[count];
        if (bytes > reader->records_capacity) {
            uint8_t *grown = realloc(reader->records, bytes);
            if (!grown) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for %zu bytes of records", reader->path, bytes);
            reader->records = grown;
            reader->records_capacity = bytes;
        }
        uint64_t begin = (uint64_t)first * t->chunk_bytes;
        planes_job_t job = {reader, t, planes, first, record_offsets, slot_offsets, dst + begin, bounds};
        SPS_TRY(threadpool_run(reader->ctx->pool, count, planes_item, &job));
        for (size_t i = 0; i < count; i++) worst = bounds[i] > worst ? bounds[i] : worst;
        file_position = record_offsets[count];
        if (reader->ctx->progress) {
            uint64_t done = begin + (uint64_t)count * t->chunk_bytes;
            reader->ctx->progress(reader->ctx->progress_user, done < t->raw_size ? done : t->raw_size, t->raw_size);
        }
    }
    /* Every chunk carries the index's parameters (checked), so their bounds agree; an exact
     * (stored) chunk reports 0. */
    if (bound_out) *bound_out = worst > 0 ? worst : padic_progressive_bound(&(padic_params_t){t->eps, t->prime, t->precision}, planes);
    return SARAPHIS_OK;
}
