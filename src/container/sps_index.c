/* .sps index parser (sps_index.h). */
#include "container/sps_index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/chunk.h"
#include "codec/padic_values.h"
#include "common/bits.h"
#include "common/error.h"
#include "engine/context.h"

typedef struct {
    const uint8_t *p;
    size_t left;
} cursor_t;

static int take(cursor_t *c, void *out, size_t n)
{
    if (c->left < n) return 0;
    if (out) memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
    return 1;
}

void sps_index_free(sps_index_t *index)
{
    for (size_t i = 0; i < index->tensor_count; i++) {
        free(index->tensors[i].name);
        free(index->tensors[i].record_sizes);
    }
    free(index->tensors);
    for (size_t i = 0; i < index->metadata_count; i++) {
        free(index->metadata[i].key);
        free(index->metadata[i].value);
    }
    free(index->metadata);
    memset(index, 0, sizeof *index);
}

static char *take_string(cursor_t *c, size_t n)
{
    if (c->left < n) return NULL;
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, c->p, n);
    s[n] = '\0';
    c->p += n;
    c->left -= n;
    return s;
}

/* The BOUNDED parameter block (docs/format.md): every value is checked, so a hostile index can
 * make a reader promise no bound the records do not keep (the records' own headers are checked
 * against these values when decoded). */
static saraphis_status_t parse_bounded_params(cursor_t *c, const char *path, sps_tensor_t *t)
{
    uint8_t word[2], block[SPS_BOUNDED_PARAMS_BYTES];
    if (!take(c, word, 2)) return error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s': index ends inside its codec parameters", path, t->name);
    uint16_t size = load_le16(word);
    if (size != SPS_BOUNDED_PARAMS_BYTES)
        return error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s': bounded codec parameters of %u bytes (expected %u)", path, t->name, size,
                         SPS_BOUNDED_PARAMS_BYTES);
    if (!take(c, block, sizeof block)) return error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s': index ends inside its codec parameters", path, t->name);
    t->bound_mode = (saraphis_bound_mode_t)block[0];
    t->bound = padic_bits_double(load_le64(block + 1));
    t->eps = padic_bits_double(load_le64(block + 9));
    t->prime = load_le16(block + 17);
    t->precision = block[19];
    t->max_error = padic_bits_double(load_le64(block + 20));
    t->escapes = load_le64(block + 28);
    int float_dtype = t->dtype == SARAPHIS_DTYPE_F32 || t->dtype == SARAPHIS_DTYPE_F64 || t->dtype == SARAPHIS_DTYPE_F16 || t->dtype == SARAPHIS_DTYPE_BF16;
    const char *bad = NULL;
    padic_params_t params = {t->eps, t->prime, t->precision};
    if (!float_dtype) bad = "dtype";
    else if (ctx_padic_mode(t->bound_mode) < 0) bad = "mode";
    else if (!(t->bound > 0) || !isfinite(t->bound)) bad = "bound";
    else if (padic_validate(&params) != SARAPHIS_OK) bad = "eps, prime or precision";
    else if (t->bound_mode == SARAPHIS_BOUND_ABSOLUTE && t->eps != t->bound) bad = "eps";
    else if (!(t->max_error >= 0) || !(t->max_error <= t->eps)) bad = "max error";
    if (bad) {
        error_clear();
        return error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s': bounded codec parameters hold an impossible %s", path, t->name, bad);
    }
    return SARAPHIS_OK;
}

saraphis_status_t sps_index_parse(const uint8_t *bytes, size_t size, uint64_t records_end, const char *path, sps_index_t *index)
{
    memset(index, 0, sizeof *index);
    cursor_t c = {bytes, size};
    uint8_t word[8];
    if (!take(&c, word, 8)) return error_set(SARAPHIS_ERROR_CORRUPT, "%s: index of %zu bytes is too short", path, size);
    uint32_t tensor_count = load_le32(word), metadata_count = load_le32(word + 4);
    /* Each tensor entry takes at least 34 bytes and each metadata entry 8: counts beyond what
     * the index could hold are rejected before anything is allocated. */
    if (tensor_count > SPS_MAX_TENSORS || (uint64_t)tensor_count * 34 > c.left)
        return error_set(SARAPHIS_ERROR_CORRUPT, "%s: index claims %u tensors in %zu bytes", path, tensor_count, size);
    if ((uint64_t)metadata_count * 8 > c.left)
        return error_set(SARAPHIS_ERROR_CORRUPT, "%s: index claims %u metadata entries in %zu bytes", path, metadata_count, size);
    index->tensors = calloc(tensor_count ? tensor_count : 1, sizeof *index->tensors);
    index->metadata = calloc(metadata_count ? metadata_count : 1, sizeof *index->metadata);
    if (!index->tensors || !index->metadata) { sps_index_free(index); return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for the index", path); }
    saraphis_status_t status = SARAPHIS_OK;
    uint64_t expected_record = SPS_HEADER_BYTES;
    for (uint32_t i = 0; i < tensor_count; i++) {
        sps_tensor_t *t = &index->tensors[i];
        index->tensor_count = i + 1;
        uint8_t fixed[4];
        uint16_t name_size;
        if (!take(&c, word, 2)) goto truncated;
        name_size = load_le16(word);
        if (name_size == 0 || name_size > SARAPHIS_MAX_NAME) { status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor %u has a name of %u bytes", path, i, name_size); goto fail; }
        if (!(t->name = take_string(&c, name_size))) goto truncated;
        if (strlen(t->name) != name_size) { status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor %u name holds a NUL byte", path, i); goto fail; }
        if (!take(&c, fixed, 4)) goto truncated;
        t->dtype = (saraphis_dtype_t)fixed[0];
        t->codec = (saraphis_codec_t)fixed[1];
        t->ndim = fixed[2];
        if (saraphis_dtype_size(t->dtype) == 0) { status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s' has unknown dtype %u", path, t->name, fixed[0]); goto fail; }
        if (t->codec != SARAPHIS_CODEC_LOSSLESS && t->codec != SARAPHIS_CODEC_STORED && t->codec != SARAPHIS_CODEC_BOUNDED) { status = error_set(SARAPHIS_ERROR_UNSUPPORTED, "%s: tensor '%s' uses codec %u, unknown to this build", path, t->name, fixed[1]); goto fail; }
        t->flags = fixed[3];
        /* Parameters follow exactly when the codec has them (BOUNDED); no other flag is defined. */
        if (t->ndim > SARAPHIS_MAX_DIMS || (t->flags & ~SPS_FLAG_CODEC_PARAMS) ||
            !(t->flags & SPS_FLAG_CODEC_PARAMS) != (t->codec != SARAPHIS_CODEC_BOUNDED)) {
            status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s' has %u dimensions / flags %u with codec %u", path, t->name, t->ndim, fixed[3], fixed[1]);
            goto fail;
        }
        if (t->flags & SPS_FLAG_CODEC_PARAMS) {
            status = parse_bounded_params(&c, path, t);
            if (status != SARAPHIS_OK) goto fail;
        }
        uint64_t elements = 1;
        int overflow = 0;
        for (uint32_t d = 0; d < t->ndim; d++) {
            if (!take(&c, word, 8)) goto truncated;
            t->shape[d] = load_le64(word);
            if (t->shape[d] && elements > UINT64_MAX / t->shape[d]) overflow = 1;
            else elements *= t->shape[d];
        }
        uint8_t sizes[24];
        if (!take(&c, sizes, 24)) goto truncated;
        t->raw_size = load_le64(sizes);
        t->chunk_bytes = load_le32(sizes + 8);
        t->chunk_count = load_le32(sizes + 12);
        t->first_record = load_le64(sizes + 16);
        size_t element = saraphis_dtype_size(t->dtype);
        if (overflow || elements > UINT64_MAX / element || elements * element != t->raw_size) {
            status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s': shape does not match its %llu bytes", path, t->name, (unsigned long long)t->raw_size);
            goto fail;
        }
        if ((t->flags & SPS_FLAG_CODEC_PARAMS) && t->escapes > elements) {
            status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s': bounded codec parameters hold an impossible escapes count", path, t->name);
            goto fail;
        }
        if (t->chunk_bytes < CTX_MIN_CHUNK_BYTES || t->chunk_bytes > CTX_MAX_CHUNK_BYTES || t->chunk_bytes % 64 ||
            (t->raw_size + t->chunk_bytes - 1) / t->chunk_bytes != t->chunk_count) {
            status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s': %u chunks of %u bytes cannot hold %llu bytes", path, t->name,
                               t->chunk_count, t->chunk_bytes, (unsigned long long)t->raw_size);
            goto fail;
        }
        if ((uint64_t)t->chunk_count * 4 > c.left) goto truncated;
        if (t->first_record != expected_record) {
            status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s' records start at %llu, expected %llu", path, t->name,
                               (unsigned long long)t->first_record, (unsigned long long)expected_record);
            goto fail;
        }
        t->record_sizes = malloc((t->chunk_count ? t->chunk_count : 1) * sizeof *t->record_sizes);
        if (!t->record_sizes) { status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory for the index", path); goto fail; }
        uint64_t position = t->first_record;
        for (uint32_t k = 0; k < t->chunk_count; k++) {
            take(&c, word, 4);
            t->record_sizes[k] = load_le32(word);
            uint64_t raw = k + 1 < t->chunk_count ? t->chunk_bytes : t->raw_size - (uint64_t)k * t->chunk_bytes;
            if (t->record_sizes[k] < CHUNK_HEADER_BYTES + 1 || t->record_sizes[k] > chunk_record_bound(raw) || records_end - position < t->record_sizes[k]) {
                status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s' chunk %u: record size %u is impossible here", path, t->name, k, t->record_sizes[k]);
                goto fail;
            }
            position += t->record_sizes[k];
        }
        t->compressed_size = position - t->first_record;
        expected_record = position;
    }
    if (expected_record != records_end) {
        status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: records end at %llu but the index starts at %llu", path,
                           (unsigned long long)expected_record, (unsigned long long)records_end);
        goto fail;
    }
    for (uint32_t i = 0; i < metadata_count; i++) {
        sps_metadata_t *m = &index->metadata[i];
        index->metadata_count = i + 1;
        if (!take(&c, word, 4)) goto truncated;
        m->key_size = load_le32(word);
        if (m->key_size == 0 || m->key_size > SARAPHIS_MAX_NAME) { status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: metadata key %u of %u bytes", path, i, m->key_size); goto fail; }
        if (!(m->key = take_string(&c, m->key_size))) goto truncated;
        if (!take(&c, word, 4)) goto truncated;
        m->value_size = load_le32(word);
        if (m->value_size > SPS_MAX_METADATA_BYTES) { status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: metadata '%s' of %u bytes", path, m->key, m->value_size); goto fail; }
        if (!(m->value = take_string(&c, m->value_size))) goto truncated;
    }
    if (c.left != 0) { status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: %zu unexplained bytes after the index", path, c.left); goto fail; }
    return SARAPHIS_OK;
truncated:
    status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: index ends inside an entry (at byte %zu of %zu)", path, size - c.left, size);
fail:
    sps_index_free(index);
    return status;
}
