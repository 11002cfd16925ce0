/* safetensors: header parser and builder (format notes in safetensors.h).
 *
 * Invariant: nothing from the file is trusted before it is checked. N is bounded against the
 * reference limit and the file size before anything is copied; every number in the JSON is
 * read with an overflow-checked getter; every size product is checked before multiplication;
 * and regions are compared only after each one is known to lie inside the data section.
 */
#include "container/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"

#define ST_NAME_FOR_MESSAGES 96

static const char *st_path(const char *path) { return path ? path : "safetensors file"; }

static uint64_t st_read_le64(const uint8_t *bytes)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) value = value << 8 | bytes[i];
    return value;
}

static void st_write_le64(uint8_t *bytes, uint64_t value)
{
    for (int i = 0; i < 8; i++) bytes[i] = (uint8_t)(value >> (8 * i));
}

/* The reference spells dtypes in upper case and compares exactly, so "f32" is not "F32" here
 * either (saraphis_dtype_from_name is deliberately lenient, which a format parser must not be). */
static saraphis_dtype_t st_dtype_from_name(const char *name, size_t length)
{
    for (int dtype = 1; dtype < SARAPHIS_DTYPE_COUNT_; dtype++) {
        const char *candidate = saraphis_dtype_name((saraphis_dtype_t)dtype);
        if (strlen(candidate) == length && memcmp(candidate, name, length) == 0)
            return (saraphis_dtype_t)dtype;
    }
    return SARAPHIS_DTYPE_UNKNOWN;
}

saraphis_status_t safetensors_header_size(const uint8_t *prefix, size_t prefix_size,
                                          uint64_t file_size, const char *path_for_errors,
                                          uint64_t *need)
{
    const char *path = st_path(path_for_errors);
    if (!need) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: need is NULL", path);
    if (file_size < SAFETENSORS_LENGTH_BYTES)
        return error_set(SARAPHIS_ERROR_TRUNCATED,
                         "%s: file is %llu bytes, shorter than the 8-byte header length", path,
                         (unsigned long long)file_size);
    if (!prefix || prefix_size < SAFETENSORS_LENGTH_BYTES)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "%s: the first 8 bytes are needed to read the header length, got %zu",
                         path, prefix ? prefix_size : 0);
    uint64_t header_length = st_read_le64(prefix);
    if (header_length > SAFETENSORS_MAX_HEADER_BYTES)
        return error_set(SARAPHIS_ERROR_LIMIT,
                         "%s: byte 0: header length %llu exceeds the limit of %llu bytes", path,
                         (unsigned long long)header_length,
                         (unsigned long long)SAFETENSORS_MAX_HEADER_BYTES);
    if (header_length > file_size - SAFETENSORS_LENGTH_BYTES)
        return error_set(SARAPHIS_ERROR_TRUNCATED,
                         "%s: byte 0: header length %llu runs past the end of the file "
                         "(%llu bytes, so at most %llu)",
                         path, (unsigned long long)header_length, (unsigned long long)file_size,
                         (unsigned long long)(file_size - SAFETENSORS_LENGTH_BYTES));
    *need = SAFETENSORS_LENGTH_BYTES + header_length;
    return SARAPHIS_OK;
}

void safetensors_file_free(safetensors_file_t *file)
{
    if (!file) return;
    for (size_t i = 0; i < file->tensor_count; i++) free(file->tensors[i].name);
    free(file->tensors);
    for (size_t i = 0; i < file->metadata_count; i++) {
        free(file->metadata[i].key);
        free(file->metadata[i].value);
    }
    free(file->metadata);
    free(file->header_bytes);
    free(file->gaps);
    memset(file, 0, sizeof *file);
}

static char *st_strdup(const char *text, size_t length)
{
    char *copy = malloc(length + 1);
    if (!copy) return NULL;
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

/* What a parse needs to report errors and to fill in the result. */
typedef struct {
    const char *path;
    uint64_t data_size;
    safetensors_file_t *out;
} st_parser_t;

static saraphis_status_t st_parse_metadata(st_parser_t *parser, const json_value_t *metadata)
{
    /* The reference reads "__metadata__" as Option<HashMap<String, String>>: null is "none". */
    if (json_is_null(metadata)) return SARAPHIS_OK;
    SPS_TRY(json_expect_type(metadata, JSON_OBJECT, SARAPHIS_ERROR_BAD_INPUT_FORMAT, parser->path,
                             "__metadata__"));
    size_t count = json_object_size(metadata);
    if (count == 0) return SARAPHIS_OK;
    parser->out->metadata = calloc(count, sizeof *parser->out->metadata);
    if (!parser->out->metadata)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: out of memory for metadata", parser->path);
    for (size_t i = 0; i < count; i++) {
        size_t key_length, value_length;
        const char *key = json_object_key_at(metadata, i, &key_length);
        char key_quoted[ST_NAME_FOR_MESSAGES], field[ST_NAME_FOR_MESSAGES + 32];
        json_quote_for_message(key, key_length, key_quoted, sizeof key_quoted);
        snprintf(field, sizeof field, "__metadata__ '%s'", key_quoted);
        const char *value;
        SPS_TRY(json_expect_string(json_object_value_at(metadata, i),
                                   SARAPHIS_ERROR_BAD_INPUT_FORMAT, parser->path, field, &value,
                                   &value_length));
        /* Keys and values are handed on as C strings, which cannot hold NUL. */
        if (memchr(key, '\0', key_length) || memchr(value, '\0', value_length))
            return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                             "%s: byte %llu: %s: a NUL character (\\u0000) is not supported",
                             parser->path, (unsigned long long)json_object_key_offset(metadata, i),
                             field);
        safetensors_metadata_t *entry = &parser->out->metadata[i];
        entry->key = st_strdup(key, key_length);
        entry->value = st_strdup(value, value_length);
        parser->out->metadata_count = i + 1; /* so that free() releases this entry */
        if (!entry->key || !entry->value)
            return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: out of memory for metadata",
                             parser->path);
    }
    return SARAPHIS_OK;
}

/* Names the tensor and field for a message: "tensor 'w' field 'shape[2]'". Built only once a
 * check has failed, since formatting it for every tensor of a large header costs real time. */
typedef struct {
    char text[ST_NAME_FOR_MESSAGES + 64];
} st_label_t;

static const char *st_label(st_label_t *label, const char *name, size_t name_length,
                            const char *field, long index)
{
    char quoted[ST_NAME_FOR_MESSAGES];
    json_quote_for_message(name, name_length, quoted, sizeof quoted);
    if (!field)
        snprintf(label->text, sizeof label->text, "tensor '%s'", quoted);
    else if (index < 0)
        snprintf(label->text, sizeof label->text, "tensor '%s' field '%s'", quoted, field);
    else
        snprintf(label->text, sizeof label->text, "tensor '%s' field '%s[%ld]'", quoted, field, index);
    return label->text;
}

static bool st_is_key(const char *key, size_t key_length, const char *known)
{
    size_t known_length = strlen(known);
    return key_length == known_length && memcmp(key, known, known_length) == 0;
}

static saraphis_status_t st_parse_tensor(st_parser_t *parser, const char *name, size_t name_length,
                                         uint64_t name_offset, const json_value_t *entry,
                                         safetensors_tensor_t *tensor)
{
    const char *path = parser->path;
    st_label_t label;
    if (memchr(name, '\0', name_length))
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                         "%s: byte %llu: %s: a NUL character (\\u0000) in a tensor name is not "
                         "supported",
                         path, (unsigned long long)name_offset,
                         st_label(&label, name, name_length, NULL, -1));
    if (json_type(entry) != JSON_OBJECT)
        return json_expect_type(entry, JSON_OBJECT, SARAPHIS_ERROR_BAD_INPUT_FORMAT, path,
                                st_label(&label, name, name_length, NULL, -1));

    /* Exactly the three known members: anything else has a meaning we do not know. */
    const json_value_t *dtype_value = NULL, *shape = NULL, *offsets = NULL;
    for (size_t i = 0; i < json_object_size(entry); i++) {
        size_t key_length;
        const char *key = json_object_key_at(entry, i, &key_length);
        const json_value_t *value = json_object_value_at(entry, i);
        if (st_is_key(key, key_length, "dtype")) {
            dtype_value = value;
        } else if (st_is_key(key, key_length, "shape")) {
            shape = value;
        } else if (st_is_key(key, key_length, "data_offsets")) {
            offsets = value;
        } else {
            char key_quoted[64];
            json_quote_for_message(key, key_length, key_quoted, sizeof key_quoted);
            return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                             "%s: byte %llu: %s: unknown field '%s' (expected only dtype, shape, "
                             "data_offsets)",
                             path, (unsigned long long)json_object_key_offset(entry, i),
                             st_label(&label, name, name_length, NULL, -1), key_quoted);
        }
    }
    const char *missing = !dtype_value ? "dtype" : !shape ? "shape" : !offsets ? "data_offsets" : NULL;
    if (missing)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT, "%s: byte %llu: %s: missing field '%s'",
                         path, (unsigned long long)json_offset(entry),
                         st_label(&label, name, name_length, NULL, -1), missing);

    /* dtype */
    size_t dtype_length;
    const char *dtype_name = json_get_string(dtype_value, &dtype_length);
    if (!dtype_name)
        return json_expect_string(dtype_value, SARAPHIS_ERROR_BAD_INPUT_FORMAT, path,
                                  st_label(&label, name, name_length, "dtype", -1), &dtype_name,
                                  &dtype_length);
    tensor->dtype = st_dtype_from_name(dtype_name, dtype_length);
    if (tensor->dtype == SARAPHIS_DTYPE_UNKNOWN) {
        char dtype_quoted[48];
        json_quote_for_message(dtype_name, dtype_length, dtype_quoted, sizeof dtype_quoted);
        return error_set(SARAPHIS_ERROR_DTYPE, "%s: byte %llu: %s: unknown dtype '%s'", path,
                         (unsigned long long)json_offset(dtype_value),
                         st_label(&label, name, name_length, NULL, -1), dtype_quoted);
    }
    uint64_t element_size = saraphis_dtype_size(tensor->dtype);

    /* shape: the element count is folded left to right and fails on the first overflow, as the
     * reference's checked_mul fold does, so both accept exactly the same shapes. */
    if (json_type(shape) != JSON_ARRAY)
        return json_expect_type(shape, JSON_ARRAY, SARAPHIS_ERROR_BAD_INPUT_FORMAT, path,
                                st_label(&label, name, name_length, "shape", -1));
    size_t ndim = json_array_size(shape);
    if (ndim > SARAPHIS_MAX_DIMS)
        return error_set(SARAPHIS_ERROR_LIMIT,
                         "%s: byte %llu: %s: %zu dimensions, this build accepts at most %d", path,
                         (unsigned long long)json_offset(shape),
                         st_label(&label, name, name_length, "shape", -1), ndim, SARAPHIS_MAX_DIMS);
    tensor->ndim = (uint32_t)ndim;
    uint64_t element_count = 1;
    for (size_t i = 0; i < ndim; i++) {
        const json_value_t *dim_value = json_array_at(shape, i);
        if (!json_get_uint64(dim_value, &tensor->shape[i]))
            return json_expect_uint64(dim_value, SARAPHIS_ERROR_BAD_INPUT_FORMAT, path,
                                      st_label(&label, name, name_length, "shape", (long)i),
                                      &tensor->shape[i]);
        uint64_t dim = tensor->shape[i];
        if (dim != 0 && element_count > UINT64_MAX / dim)
            return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                             "%s: byte %llu: %s: element count overflows 64 bits", path,
                             (unsigned long long)json_offset(shape),
                             st_label(&label, name, name_length, "shape", -1));
        element_count *= dim;
    }
    if (element_count > UINT64_MAX / element_size)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT, "%s: byte %llu: %s: byte size overflows 64 bits",
                         path, (unsigned long long)json_offset(shape),
                         st_label(&label, name, name_length, "shape", -1));
    uint64_t byte_size = element_count * element_size;

    /* data_offsets */
    if (json_type(offsets) != JSON_ARRAY)
        return json_expect_type(offsets, JSON_ARRAY, SARAPHIS_ERROR_BAD_INPUT_FORMAT, path,
                                st_label(&label, name, name_length, "data_offsets", -1));
    if (json_array_size(offsets) != 2)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                         "%s: byte %llu: %s: expected [begin, end], found %zu elements", path,
                         (unsigned long long)json_offset(offsets),
                         st_label(&label, name, name_length, "data_offsets", -1),
                         json_array_size(offsets));
    uint64_t *bounds[2] = {&tensor->begin, &tensor->end};
    for (size_t i = 0; i < 2; i++) {
        const json_value_t *bound = json_array_at(offsets, i);
        if (!json_get_uint64(bound, bounds[i]))
            return json_expect_uint64(bound, SARAPHIS_ERROR_BAD_INPUT_FORMAT, path,
                                      st_label(&label, name, name_length, "data_offsets", (long)i),
                                      bounds[i]);
    }
    if (tensor->begin > tensor->end)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT, "%s: byte %llu: %s: begin %llu is after end %llu",
                         path, (unsigned long long)json_offset(offsets),
                         st_label(&label, name, name_length, "data_offsets", -1),
                         (unsigned long long)tensor->begin, (unsigned long long)tensor->end);
    if (tensor->end > parser->data_size)
        return error_set(SARAPHIS_ERROR_TRUNCATED,
                         "%s: byte %llu: %s: [%llu, %llu) runs past the end of the %llu-byte data "
                         "section",
                         path, (unsigned long long)json_offset(offsets),
                         st_label(&label, name, name_length, "data_offsets", -1),
                         (unsigned long long)tensor->begin, (unsigned long long)tensor->end,
                         (unsigned long long)parser->data_size);
    if (tensor->end - tensor->begin != byte_size)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                         "%s: byte %llu: %s: [%llu, %llu) holds %llu bytes but shape and dtype %s "
                         "need %llu",
                         path, (unsigned long long)json_offset(offsets),
                         st_label(&label, name, name_length, "data_offsets", -1),
                         (unsigned long long)tensor->begin, (unsigned long long)tensor->end,
                         (unsigned long long)(tensor->end - tensor->begin),
                         saraphis_dtype_name(tensor->dtype), (unsigned long long)byte_size);

    tensor->name = st_strdup(name, name_length);
    if (!tensor->name)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: out of memory for tensor names", path);
    return SARAPHIS_OK;
}

static int st_compare_regions(const void *left, const void *right)
{
    const safetensors_tensor_t *a = left, *b = right;
    if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return strcmp(a->name, b->name); /* names are unique: a total order, so a stable result */
}

/* Sorts regions, rejects overlaps and lists the bytes no tensor covers. */
static saraphis_status_t st_check_layout(st_parser_t *parser)
{
    safetensors_file_t *file = parser->out;
    if (file->tensor_count > 1)
        qsort(file->tensors, file->tensor_count, sizeof *file->tensors, st_compare_regions);
    /* At most one gap before each tensor plus one after the last. */
    file->gaps = malloc((file->tensor_count + 1) * sizeof *file->gaps);
    if (!file->gaps)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: out of memory", parser->path);
    uint64_t covered_to = 0;  /* end of the furthest-reaching region so far */
    size_t furthest = 0;      /* index of that region */
    for (size_t i = 0; i < file->tensor_count; i++) {
        const safetensors_tensor_t *tensor = &file->tensors[i];
        if (tensor->begin < covered_to) {
            const safetensors_tensor_t *other = &file->tensors[furthest];
            char a[ST_NAME_FOR_MESSAGES], b[ST_NAME_FOR_MESSAGES];
            json_quote_for_message(other->name, strlen(other->name), a, sizeof a);
            json_quote_for_message(tensor->name, strlen(tensor->name), b, sizeof b);
            return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                             "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap in "
                             "field 'data_offsets'",
                             parser->path, a, (unsigned long long)other->begin,
                             (unsigned long long)other->end, b, (unsigned long long)tensor->begin,
                             (unsigned long long)tensor->end);
        }
        if (tensor->begin > covered_to)
            file->gaps[file->gap_count++] = (safetensors_gap_t){covered_to, tensor->begin};
        if (tensor->end >= covered_to) {
            covered_to = tensor->end;
            furthest = i;
        }
    }
    if (covered_to < parser->data_size)
        file->gaps[file->gap_count++] = (safetensors_gap_t){covered_to, parser->data_size};
    file->tiled = file->gap_count == 0;
    return SARAPHIS_OK;
}

static saraphis_status_t st_parse_into(const uint8_t *prefix, size_t prefix_size,
                                       uint64_t file_size, const char *path,
                                       safetensors_file_t *out)
{
    uint64_t need;
    SPS_TRY(safetensors_header_size(prefix, prefix_size, file_size, path, &need));
    if (prefix_size < need)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "%s: the header is %llu bytes but only %zu were passed", path,
                         (unsigned long long)need, prefix_size);
    /* need <= 8 + 100 MB, so it fits size_t on any platform we build for */
    out->header_bytes = malloc((size_t)need);
    if (!out->header_bytes)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: out of memory for the header", path);
    memcpy(out->header_bytes, prefix, (size_t)need);
    out->header_size = (size_t)need;
    out->data_offset = need;
    out->data_size = file_size - need;

    const char *json_text = (const char *)prefix + SAFETENSORS_LENGTH_BYTES;
    size_t json_length = (size_t)need - SAFETENSORS_LENGTH_BYTES;
    /* The reference refuses a header that does not start with '{' (no leading whitespace). */
    if (json_length == 0 || json_text[0] != '{') {
        char found[24];
        if (json_length == 0)
            snprintf(found, sizeof found, "an empty header");
        else
            snprintf(found, sizeof found, "byte 0x%02x", (unsigned char)json_text[0]);
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                         "%s: byte 8: expected '{' to open the JSON header, found %s", path, found);
    }
    json_options_t options = {0};
    options.offset_base = SAFETENSORS_LENGTH_BYTES;
    options.max_bytes = SAFETENSORS_MAX_HEADER_BYTES;
    json_value_t *root;
    SPS_TRY(json_parse_ex(json_text, json_length, &options, &root, path));

    st_parser_t parser = {path, out->data_size, out};
    saraphis_status_t status = SARAPHIS_OK;
    size_t member_count = json_object_size(root);
    const json_value_t *metadata = json_object_get(root, SAFETENSORS_METADATA_KEY);
    size_t tensor_capacity = member_count - (metadata ? 1 : 0);
    if (tensor_capacity) {
        out->tensors = calloc(tensor_capacity, sizeof *out->tensors);
        if (!out->tensors)
            status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: out of memory for %zu tensors",
                               path, tensor_capacity);
    }
    if (status == SARAPHIS_OK && metadata) status = st_parse_metadata(&parser, metadata);
    for (size_t i = 0; status == SARAPHIS_OK && i < member_count; i++) {
        size_t name_length;
        const char *name = json_object_key_at(root, i, &name_length);
        const json_value_t *entry = json_object_value_at(root, i);
        if (entry == metadata) continue;
        status = st_parse_tensor(&parser, name, name_length, json_object_key_offset(root, i), entry,
                                 &out->tensors[out->tensor_count]);
        /* Count the entry even when it failed part way, so its name is freed. */
        out->tensor_count++;
    }
    json_free(root);
    if (status != SARAPHIS_OK) return status;
    return st_check_layout(&parser);
}

saraphis_status_t safetensors_parse(const uint8_t *prefix, size_t prefix_size, uint64_t file_size,
                                    const char *path_for_errors, safetensors_file_t *out)
{
    const char *path = st_path(path_for_errors);
    if (!out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: out is NULL", path);
    memset(out, 0, sizeof *out);
    saraphis_status_t status = st_parse_into(prefix, prefix_size, file_size, path, out);
    if (status != SARAPHIS_OK) safetensors_file_free(out);
    return status;
}

/* ---------------------------------------------------------------------------------------------
 * Builder
 * ------------------------------------------------------------------------------------------- */
static int st_compare_strings(const void *left, const void *right)
{
    return strcmp(*(const char *const *)left, *(const char *const *)right);
}

/* Fails when two of count strings are equal (what names the kind in the message). */
static saraphis_status_t st_check_unique(const char **strings, size_t count, const char *what)
{
    if (count < 2) return SARAPHIS_OK;
    qsort(strings, count, sizeof *strings, st_compare_strings);
    for (size_t i = 1; i < count; i++)
        if (strcmp(strings[i - 1], strings[i]) == 0) {
            char quoted[ST_NAME_FOR_MESSAGES];
            json_quote_for_message(strings[i], strlen(strings[i]), quoted, sizeof quoted);
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "safetensors header: duplicate %s '%s'", what, quoted);
        }
    return SARAPHIS_OK;
}

static saraphis_status_t st_validate_for_build(safetensors_tensor_t *tensors, size_t tensor_count,
                                               const safetensors_metadata_t *metadata,
                                               size_t metadata_count)
{
    uint64_t offset = 0;
    for (size_t i = 0; i < tensor_count; i++) {
        safetensors_tensor_t *tensor = &tensors[i];
        if (!tensor->name)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "safetensors header: tensor %zu has no name", i);
        char quoted[ST_NAME_FOR_MESSAGES];
        json_quote_for_message(tensor->name, strlen(tensor->name), quoted, sizeof quoted);
        if (strcmp(tensor->name, SAFETENSORS_METADATA_KEY) == 0)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "safetensors header: tensor %zu: the name '__metadata__' is reserved",
                             i);
        if (json_utf8_valid_prefix((const uint8_t *)tensor->name, strlen(tensor->name)) !=
            strlen(tensor->name))
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "safetensors header: tensor '%s': name is not valid UTF-8", quoted);
        size_t element_size = saraphis_dtype_size(tensor->dtype);
        if (element_size == 0)
            return error_set(SARAPHIS_ERROR_DTYPE, "safetensors header: tensor '%s': unknown dtype %d",
                             quoted, (int)tensor->dtype);
        if (tensor->ndim > SARAPHIS_MAX_DIMS)
            return error_set(SARAPHIS_ERROR_LIMIT,
                             "safetensors header: tensor '%s': %u dimensions, at most %d", quoted,
                             tensor->ndim, SARAPHIS_MAX_DIMS);
        uint64_t element_count = 1;
        for (uint32_t d = 0; d < tensor->ndim; d++) {
            uint64_t dim = tensor->shape[d];
            if (dim != 0 && element_count > UINT64_MAX / dim)
                return error_set(SARAPHIS_ERROR_LIMIT,
                                 "safetensors header: tensor '%s': element count overflows 64 bits",
                                 quoted);
            element_count *= dim;
        }
        if (element_count > UINT64_MAX / element_size ||
            element_count * element_size > UINT64_MAX - offset)
            return error_set(SARAPHIS_ERROR_LIMIT,
                             "safetensors header: tensor '%s': data offsets overflow 64 bits",
                             quoted);
        tensor->begin = offset;
        offset += element_count * element_size;
        tensor->end = offset;
    }
    for (size_t i = 0; i < metadata_count; i++) {
        const safetensors_metadata_t *entry = &metadata[i];
        if (!entry->key || !entry->value)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "safetensors header: metadata entry %zu has a NULL key or value", i);
        if (json_utf8_valid_prefix((const uint8_t *)entry->key, strlen(entry->key)) !=
                strlen(entry->key) ||
            json_utf8_valid_prefix((const uint8_t *)entry->value, strlen(entry->value)) !=
                strlen(entry->value))
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "safetensors header: metadata entry %zu is not valid UTF-8", i);
    }
    /* Uniqueness: sort copies of the name pointers (the caller's order is the data order). */
    size_t most = tensor_count > metadata_count ? tensor_count : metadata_count;
    if (most < 2) return SARAPHIS_OK;
    const char **names = malloc(most * sizeof *names);
    if (!names)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "safetensors header: out of memory");
    for (size_t i = 0; i < tensor_count; i++) names[i] = tensors[i].name;
    saraphis_status_t status = st_check_unique(names, tensor_count, "tensor name");
    if (status == SARAPHIS_OK) {
        for (size_t i = 0; i < metadata_count; i++) names[i] = metadata[i].key;
        status = st_check_unique(names, metadata_count, "metadata key");
    }
    free(names);
    return status;
}

saraphis_status_t safetensors_build_header(safetensors_tensor_t *tensors, size_t tensor_count,
                                           const safetensors_metadata_t *metadata,
                                           size_t metadata_count, uint8_t **bytes, size_t *size)
{
    if (!bytes || !size || (tensor_count && !tensors) || (metadata_count && !metadata))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "safetensors header: NULL argument");
    *bytes = NULL;
    *size = 0;
    SPS_TRY(st_validate_for_build(tensors, tensor_count, metadata, metadata_count));

    /* Compact JSON, member order as the reference's serializer writes it. */
    json_writer_t writer;
    json_writer_init(&writer, 0);
    json_write_object_begin(&writer);
    if (metadata_count) {
        json_write_key(&writer, SAFETENSORS_METADATA_KEY);
        json_write_object_begin(&writer);
        for (size_t i = 0; i < metadata_count; i++) {
            json_write_key(&writer, metadata[i].key);
            json_write_string(&writer, metadata[i].value);
        }
        json_write_object_end(&writer);
    }
    for (size_t i = 0; i < tensor_count; i++) {
        const safetensors_tensor_t *tensor = &tensors[i];
        json_write_key(&writer, tensor->name);
        json_write_object_begin(&writer);
        json_write_key(&writer, "dtype");
        json_write_string(&writer, saraphis_dtype_name(tensor->dtype));
        json_write_key(&writer, "shape");
        json_write_array_begin(&writer);
        for (uint32_t d = 0; d < tensor->ndim; d++) json_write_uint64(&writer, tensor->shape[d]);
        json_write_array_end(&writer);
        json_write_key(&writer, "data_offsets");
        json_write_array_begin(&writer);
        json_write_uint64(&writer, tensor->begin);
        json_write_uint64(&writer, tensor->end);
        json_write_array_end(&writer);
        json_write_object_end(&writer);
    }
    json_write_object_end(&writer);
    char *json_text;
    size_t json_length;
    SPS_TRY(json_writer_finish(&writer, &json_text, &json_length));

    /* Spaces pad the header to a multiple of 8 so the data section starts aligned. */
    size_t padding = (8 - json_length % 8) % 8;
    if (json_length > SAFETENSORS_MAX_HEADER_BYTES - padding) {
        free(json_text);
        return error_set(SARAPHIS_ERROR_LIMIT,
                         "safetensors header: %zu bytes of JSON exceed the %llu-byte limit",
                         json_length, (unsigned long long)SAFETENSORS_MAX_HEADER_BYTES);
    }
    size_t header_length = json_length + padding;
    uint8_t *result = malloc(SAFETENSORS_LENGTH_BYTES + header_length);
    if (!result) {
        free(json_text);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "safetensors header: out of memory");
    }
    st_write_le64(result, header_length);
    memcpy(result + SAFETENSORS_LENGTH_BYTES, json_text, json_length);
    memset(result + SAFETENSORS_LENGTH_BYTES + json_length, ' ', padding);
    free(json_text);
    *bytes = result;
    *size = SAFETENSORS_LENGTH_BYTES + header_length;
    return SARAPHIS_OK;
}
