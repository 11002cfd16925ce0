/* npy: .npy header parser and builder (format notes in npy.h).
 *
 * The header dict is a Python literal, so instead of evaluating it we accept the narrow
 * grammar NumPy writes (and a little slack: either quote style, any key order, whitespace
 * between tokens, a trailing comma, Python 2's "3L" integers). Invariant: the lexer never reads
 * at or past `length`; every integer is overflow-checked as it is accumulated; the header length
 * is bounded and checked against the file size before anything is copied.
 */
#include "container/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h" /* json_quote_for_message */

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
#define NPY_MAGIC_AND_VERSION 8
#define NPY_ALIGNMENT 64
#define NPY_GROWTH_AXIS_MAX_DIGITS 21 /* NumPy's spare room for in-place growth of shape[0] */

static const char *npy_path(const char *path) { return path ? path : ".npy file"; }

/* The descrs NumPy writes for the dtypes Saraphis has; one-byte types carry '|'. */
static const struct {
    const char *descr;
    saraphis_dtype_t dtype;
} npy_descr_table[] = {
    {"<f2", SARAPHIS_DTYPE_F16}, {"<f4", SARAPHIS_DTYPE_F32}, {"<f8", SARAPHIS_DTYPE_F64},
    {"|i1", SARAPHIS_DTYPE_I8},  {"|u1", SARAPHIS_DTYPE_U8},  {"<i2", SARAPHIS_DTYPE_I16},
    {"<u2", SARAPHIS_DTYPE_U16}, {"<i4", SARAPHIS_DTYPE_I32}, {"<u4", SARAPHIS_DTYPE_U32},
    {"<i8", SARAPHIS_DTYPE_I64}, {"<u8", SARAPHIS_DTYPE_U64}, {"|b1", SARAPHIS_DTYPE_BOOL},
};
#define NPY_DESCR_COUNT (sizeof npy_descr_table / sizeof npy_descr_table[0])

const char *npy_descr_for_dtype(saraphis_dtype_t dtype)
{
    for (size_t i = 0; i < NPY_DESCR_COUNT; i++)
        if (npy_descr_table[i].dtype == dtype) return npy_descr_table[i].descr;
    if (dtype == SARAPHIS_DTYPE_BF16) return "<V2"; /* as ml_dtypes writes bfloat16 */
    if (dtype == SARAPHIS_DTYPE_F8_E4M3 || dtype == SARAPHIS_DTYPE_F8_E5M2) return "<V1";
    return NULL;
}

saraphis_status_t npy_header_size(const uint8_t *prefix, size_t prefix_size, uint64_t file_size,
                                  const char *path_for_errors, uint64_t *need)
{
    const char *path = npy_path(path_for_errors);
    if (!need || (!prefix && prefix_size))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: NULL argument", path);
    size_t magic_bytes = prefix_size < sizeof npy_magic ? prefix_size : sizeof npy_magic;
    if (magic_bytes && memcmp(prefix, npy_magic, magic_bytes) != 0)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                         "%s: byte 0: expected the magic \\x93NUMPY, this is not a .npy file",
                         path);
    if (file_size < NPY_MAGIC_AND_VERSION + 2)
        return error_set(SARAPHIS_ERROR_TRUNCATED,
                         "%s: file is %llu bytes, shorter than the smallest .npy header", path,
                         (unsigned long long)file_size);
    if (prefix_size < NPY_MAGIC_AND_VERSION)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "%s: need the first %d bytes to read the version, got %zu", path,
                         NPY_MAGIC_AND_VERSION, prefix_size);
    uint8_t major = prefix[6], minor = prefix[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                         "%s: byte 6: format version %u.%u is not supported (1.0, 2.0 and 3.0 are)",
                         path, major, minor);
    size_t length_bytes = major == 1 ? 2 : 4;
    if (file_size < NPY_MAGIC_AND_VERSION + length_bytes)
        return error_set(SARAPHIS_ERROR_TRUNCATED,
                         "%s: file is %llu bytes, shorter than a version %u.0 header", path,
                         (unsigned long long)file_size, major);
    if (prefix_size < NPY_MAGIC_AND_VERSION + length_bytes)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "%s: need the first %zu bytes to read the header length, got %zu", path,
                         NPY_MAGIC_AND_VERSION + length_bytes, prefix_size);
    uint64_t header_length = (uint64_t)prefix[8] | (uint64_t)prefix[9] << 8;
    if (length_bytes == 4) header_length |= (uint64_t)prefix[10] << 16 | (uint64_t)prefix[11] << 24;
    if (header_length > NPY_MAX_HEADER_BYTES)
        return error_set(SARAPHIS_ERROR_LIMIT,
                         "%s: byte 8: header length %llu exceeds the limit of %u bytes", path,
                         (unsigned long long)header_length, (unsigned)NPY_MAX_HEADER_BYTES);
    uint64_t total = NPY_MAGIC_AND_VERSION + length_bytes + header_length;
    if (total > file_size)
        return error_set(SARAPHIS_ERROR_TRUNCATED,
                         "%s: byte 8: header length %llu runs past the end of the file (%llu bytes)",
                         path, (unsigned long long)header_length, (unsigned long long)file_size);
    *need = total;
    return SARAPHIS_OK;
}

void npy_file_free(npy_file_t *file)
{
    if (!file) return;
    free(file->header_bytes);
    memset(file, 0, sizeof *file);
}

/* ---------------------------------------------------------------------------------------------
 * The header dict
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    const uint8_t *text; /* the dict text, after the length field */
    size_t length;
    size_t pos;
    uint64_t base; /* file offset of text[0], for messages */
    const char *path;
} npy_lexer_t;

static saraphis_status_t npy_fail(const npy_lexer_t *lexer, const char *expected)
{
    char found[24];
    if (lexer->pos >= lexer->length)
        snprintf(found, sizeof found, "end of header");
    else if (lexer->text[lexer->pos] >= 0x20 && lexer->text[lexer->pos] < 0x7f)
        snprintf(found, sizeof found, "'%c'", lexer->text[lexer->pos]);
    else
        snprintf(found, sizeof found, "byte 0x%02x", lexer->text[lexer->pos]);
    return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT, "%s: byte %llu: expected %s, found %s",
                     lexer->path, (unsigned long long)(lexer->base + lexer->pos), expected, found);
}

static void npy_skip_space(npy_lexer_t *lexer)
{
    while (lexer->pos < lexer->length) {
        uint8_t c = lexer->text[lexer->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        lexer->pos++;
    }
}

static bool npy_peek(const npy_lexer_t *lexer, uint8_t c)
{
    return lexer->pos < lexer->length && lexer->text[lexer->pos] == c;
}

/* A Python string literal without escapes; returns its span. */
static saraphis_status_t npy_string(npy_lexer_t *lexer, const char *expected, size_t *start,
                                    size_t *length)
{
    if (!npy_peek(lexer, '\'') && !npy_peek(lexer, '"')) return npy_fail(lexer, expected);
    uint8_t quote = lexer->text[lexer->pos++];
    *start = lexer->pos;
    while (lexer->pos < lexer->length && lexer->text[lexer->pos] != quote) {
        uint8_t c = lexer->text[lexer->pos];
        if (c == '\\' || c == '\n') return npy_fail(lexer, "a plain string (no escapes or newlines)");
        lexer->pos++;
    }
    if (lexer->pos >= lexer->length) return npy_fail(lexer, "a closing quote");
    *length = lexer->pos - *start;
    lexer->pos++;
    return SARAPHIS_OK;
}

static bool npy_is_identifier_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static saraphis_status_t npy_boolean(npy_lexer_t *lexer, bool *value)
{
    size_t start = lexer->pos;
    while (lexer->pos < lexer->length && npy_is_identifier_char(lexer->text[lexer->pos]))
        lexer->pos++;
    size_t length = lexer->pos - start;
    if (length == 4 && memcmp(lexer->text + start, "True", 4) == 0) {
        *value = true;
        return SARAPHIS_OK;
    }
    if (length == 5 && memcmp(lexer->text + start, "False", 5) == 0) {
        *value = false;
        return SARAPHIS_OK;
    }
    lexer->pos = start;
    return npy_fail(lexer, "True or False for 'fortran_order'");
}

static saraphis_status_t npy_dimension(npy_lexer_t *lexer, uint64_t *value)
{
    if (lexer->pos >= lexer->length || lexer->text[lexer->pos] < '0' || lexer->text[lexer->pos] > '9')
        return npy_fail(lexer, "a non-negative integer in 'shape'");
    size_t start = lexer->pos;
    uint64_t result = 0;
    while (lexer->pos < lexer->length && lexer->text[lexer->pos] >= '0' &&
           lexer->text[lexer->pos] <= '9') {
        uint64_t digit = (uint64_t)(lexer->text[lexer->pos] - '0');
        if (result > (UINT64_MAX - digit) / 10) {
            lexer->pos = start;
            return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                             "%s: byte %llu: key 'shape': dimension overflows 64 bits", lexer->path,
                             (unsigned long long)(lexer->base + start));
        }
        result = result * 10 + digit;
        lexer->pos++;
    }
    if (lexer->text[start] == '0' && lexer->pos - start > 1) {
        lexer->pos = start + 1;
        return npy_fail(lexer, "an integer without leading zeros in 'shape'");
    }
    if (npy_peek(lexer, 'L') || npy_peek(lexer, 'l')) lexer->pos++; /* Python 2 long */
    *value = result;
    return SARAPHIS_OK;
}

static saraphis_status_t npy_shape(npy_lexer_t *lexer, npy_file_t *out)
{
    if (!npy_peek(lexer, '(')) return npy_fail(lexer, "'(' to open the 'shape' tuple");
    lexer->pos++;
    npy_skip_space(lexer);
    out->ndim = 0;
    if (npy_peek(lexer, ')')) {
        lexer->pos++;
        return SARAPHIS_OK;
    }
    for (;;) {
        if (out->ndim >= SARAPHIS_MAX_DIMS)
            return error_set(SARAPHIS_ERROR_LIMIT,
                             "%s: byte %llu: key 'shape': more than %d dimensions", lexer->path,
                             (unsigned long long)(lexer->base + lexer->pos), SARAPHIS_MAX_DIMS);
        SPS_TRY(npy_dimension(lexer, &out->shape[out->ndim]));
        out->ndim++;
        npy_skip_space(lexer);
        if (npy_peek(lexer, ',')) {
            lexer->pos++;
            npy_skip_space(lexer);
            if (npy_peek(lexer, ')')) {
                lexer->pos++;
                return SARAPHIS_OK;
            }
            continue;
        }
        if (npy_peek(lexer, ')')) {
            /* "(3)" is the integer 3 in Python, not a tuple; NumPy would refuse it too. */
            if (out->ndim == 1) return npy_fail(lexer, "',' in a one-element 'shape' tuple");
            lexer->pos++;
            return SARAPHIS_OK;
        }
        return npy_fail(lexer, "',' or ')' in 'shape'");
    }
}

/* Maps descr to a dtype, applying the override. descr_offset is its file offset. */
static saraphis_status_t npy_resolve_dtype(const char *path, uint64_t descr_offset,
                                          const npy_options_t *options, npy_file_t *out)
{
    const char *descr = out->descr;
    size_t length = strlen(descr);
    char order = length ? descr[0] : '\0';
    size_t item_size = 0;
    saraphis_dtype_t dtype = SARAPHIS_DTYPE_UNKNOWN;
    bool is_void = false;
    for (size_t i = 0; i < NPY_DESCR_COUNT; i++) {
        const char *known = npy_descr_table[i].descr;
        if (length == 3 && strcmp(descr + 1, known + 1) == 0) {
            item_size = saraphis_dtype_size(npy_descr_table[i].dtype);
            if (item_size == 1 ? (order == '|' || order == '<' || order == '>' || order == '=')
                               : order == '<')
                dtype = npy_descr_table[i].dtype;
            else if (item_size > 1 && order == '>')
                return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                                 "%s: byte %llu: key 'descr': big-endian dtype '%s' is not "
                                 "supported; save it little-endian (arr.astype('<%s'))",
                                 path, (unsigned long long)descr_offset, descr, descr + 1);
            else if (item_size > 1 && order == '=')
                return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                                 "%s: byte %llu: key 'descr': native byte order '%s' does not say "
                                 "which byte order the data has",
                                 path, (unsigned long long)descr_offset, descr);
            break;
        }
    }
    if (dtype == SARAPHIS_DTYPE_UNKNOWN && length >= 3 && (order == '<' || order == '|') &&
        descr[1] == 'V') {
        /* Raw bytes: "<V2" is what ml_dtypes writes for bfloat16. */
        item_size = 0;
        for (size_t i = 2; i < length; i++) {
            if (descr[i] < '0' || descr[i] > '9' || item_size > 1000000) {
                item_size = 0;
                break;
            }
            item_size = item_size * 10 + (size_t)(descr[i] - '0');
        }
        is_void = item_size > 0;
    }
    char quoted[NPY_DESCR_CAPACITY + 8];
    json_quote_for_message(descr, length, quoted, sizeof quoted);
    saraphis_dtype_t override = options ? options->dtype_override : SARAPHIS_DTYPE_UNKNOWN;
    if (is_void && override == SARAPHIS_DTYPE_UNKNOWN)
        return error_set(SARAPHIS_ERROR_DTYPE,
                         "%s: byte %llu: key 'descr': '%s' is raw %zu-byte items (ml_dtypes writes "
                         "bfloat16 as '<V2'); the caller must say which dtype they hold",
                         path, (unsigned long long)descr_offset, quoted, item_size);
    if (dtype == SARAPHIS_DTYPE_UNKNOWN && !is_void)
        return error_set(SARAPHIS_ERROR_DTYPE,
                         "%s: byte %llu: key 'descr': '%s' has no Saraphis dtype", path,
                         (unsigned long long)descr_offset, quoted);
    if (override != SARAPHIS_DTYPE_UNKNOWN) {
        if (saraphis_dtype_size(override) != item_size)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "%s: byte %llu: key 'descr': '%s' has %zu-byte items but the dtype "
                             "override %s has %zu",
                             path, (unsigned long long)descr_offset, quoted, item_size,
                             saraphis_dtype_name(override), saraphis_dtype_size(override));
        dtype = override;
    }
    out->dtype = dtype;
    return SARAPHIS_OK;
}

static saraphis_status_t npy_parse_into(const uint8_t *prefix, size_t prefix_size,
                                        uint64_t file_size, const npy_options_t *options,
                                        const char *path, npy_file_t *out)
{
    uint64_t need;
    SPS_TRY(npy_header_size(prefix, prefix_size, file_size, path, &need));
    if (prefix_size < need)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "%s: the header is %llu bytes but only %zu were passed", path,
                         (unsigned long long)need, prefix_size);
    out->major_version = prefix[6];
    out->minor_version = prefix[7];
    /* need <= 12 + NPY_MAX_HEADER_BYTES, so it fits size_t */
    out->header_bytes = malloc((size_t)need);
    if (!out->header_bytes)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: out of memory for the header", path);
    memcpy(out->header_bytes, prefix, (size_t)need);
    out->header_size = (size_t)need;
    out->data_offset = need;

    size_t dict_offset = NPY_MAGIC_AND_VERSION + (out->major_version == 1 ? 2 : 4);
    npy_lexer_t lexer = {prefix + dict_offset, (size_t)need - dict_offset, 0, dict_offset, path};
    /* ast.literal_eval, which NumPy uses, forgives leading spaces and tabs */
    while (npy_peek(&lexer, ' ') || npy_peek(&lexer, '\t')) lexer.pos++;
    if (!npy_peek(&lexer, '{')) return npy_fail(&lexer, "'{' to open the header dict");
    lexer.pos++;

    bool have_descr = false, have_fortran = false, have_shape = false;
    uint64_t descr_offset = 0;
    for (;;) {
        npy_skip_space(&lexer);
        if (npy_peek(&lexer, '}')) break; /* empty dict or after a trailing comma */
        size_t key_start, key_length;
        uint64_t key_offset = lexer.base + lexer.pos;
        SPS_TRY(npy_string(&lexer, "a quoted key or '}'", &key_start, &key_length));
        const char *key = (const char *)lexer.text + key_start;
        npy_skip_space(&lexer);
        if (!npy_peek(&lexer, ':')) return npy_fail(&lexer, "':' after a key");
        lexer.pos++;
        npy_skip_space(&lexer);
        bool *seen;
        if (key_length == 5 && memcmp(key, "descr", 5) == 0) {
            seen = &have_descr;
            if (npy_peek(&lexer, '['))
                return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                                 "%s: byte %llu: key 'descr': structured dtypes are not supported",
                                 path, (unsigned long long)(lexer.base + lexer.pos));
            descr_offset = lexer.base + lexer.pos;
            size_t value_start, value_length;
            SPS_TRY(npy_string(&lexer, "a quoted dtype string for 'descr'", &value_start,
                               &value_length));
            /* A descr longer than any we know is unknown; keep a cut copy for the message. */
            size_t kept = value_length < NPY_DESCR_CAPACITY - 1 ? value_length : NPY_DESCR_CAPACITY - 1;
            memcpy(out->descr, lexer.text + value_start, kept);
            out->descr[kept] = '\0';
            if (kept < value_length) out->descr[0] = '?'; /* cannot match a known descr */
        } else if (key_length == 13 && memcmp(key, "fortran_order", 13) == 0) {
            seen = &have_fortran;
            SPS_TRY(npy_boolean(&lexer, &out->fortran_order));
        } else if (key_length == 5 && memcmp(key, "shape", 5) == 0) {
            seen = &have_shape;
            SPS_TRY(npy_shape(&lexer, out));
        } else {
            char quoted[48];
            json_quote_for_message(key, key_length, quoted, sizeof quoted);
            return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                             "%s: byte %llu: unexpected key '%s' (expected descr, fortran_order, "
                             "shape)",
                             path, (unsigned long long)key_offset, quoted);
        }
        if (*seen)
            return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT, "%s: byte %llu: duplicate key '%.*s'",
                             path, (unsigned long long)key_offset, (int)key_length, key);
        *seen = true;
        npy_skip_space(&lexer);
        if (npy_peek(&lexer, ',')) {
            lexer.pos++;
            continue;
        }
        if (npy_peek(&lexer, '}')) break;
        return npy_fail(&lexer, "',' or '}' after a value");
    }
    lexer.pos++; /* '}' */
    npy_skip_space(&lexer);
    if (lexer.pos != lexer.length) return npy_fail(&lexer, "only spaces and '\\n' after the dict");
    const char *missing = !have_descr ? "descr" : !have_fortran ? "fortran_order" : !have_shape ? "shape" : NULL;
    if (missing)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT, "%s: byte %zu: missing key '%s'", path,
                         dict_offset, missing);

    SPS_TRY(npy_resolve_dtype(path, descr_offset, options, out));
    if (out->fortran_order && !(options && options->allow_fortran_order))
        return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                         "%s: key 'fortran_order': Fortran-order arrays are not supported; save "
                         "np.ascontiguousarray(arr)",
                         path);

    /* Any zero dimension makes the array empty whatever the others are, as in NumPy. */
    uint64_t element_count = 1;
    bool empty = false;
    for (uint32_t d = 0; d < out->ndim; d++) empty |= out->shape[d] == 0;
    for (uint32_t d = 0; d < out->ndim && !empty; d++) {
        if (element_count > UINT64_MAX / out->shape[d])
            return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                             "%s: key 'shape': element count overflows 64 bits", path);
        element_count *= out->shape[d];
    }
    if (empty) element_count = 0;
    uint64_t item_size = saraphis_dtype_size(out->dtype);
    if (element_count > UINT64_MAX / item_size)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                         "%s: key 'shape': byte size overflows 64 bits", path);
    out->element_count = element_count;
    out->data_size = element_count * item_size;
    uint64_t available = file_size - need;
    if (out->data_size > available)
        return error_set(SARAPHIS_ERROR_TRUNCATED,
                         "%s: key 'shape': %llu elements of '%s' need %llu bytes but the file holds "
                         "%llu after the header",
                         path, (unsigned long long)element_count, out->descr,
                         (unsigned long long)out->data_size, (unsigned long long)available);
    if (out->data_size < available)
        return error_set(SARAPHIS_ERROR_BAD_INPUT_FORMAT,
                         "%s: key 'shape': %llu elements of '%s' need %llu bytes but the file holds "
                         "%llu after the header (%llu bytes too many)",
                         path, (unsigned long long)element_count, out->descr,
                         (unsigned long long)out->data_size, (unsigned long long)available,
                         (unsigned long long)(available - out->data_size));
    return SARAPHIS_OK;
}

saraphis_status_t npy_parse_ex(const uint8_t *prefix, size_t prefix_size, uint64_t file_size,
                               const npy_options_t *options, const char *path_for_errors,
                               npy_file_t *out)
{
    const char *path = npy_path(path_for_errors);
    if (!out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: out is NULL", path);
    memset(out, 0, sizeof *out);
    saraphis_status_t status = npy_parse_into(prefix, prefix_size, file_size, options, path, out);
    if (status != SARAPHIS_OK) npy_file_free(out);
    return status;
}

saraphis_status_t npy_parse(const uint8_t *prefix, size_t prefix_size, uint64_t file_size,
                            const char *path_for_errors, npy_file_t *out)
{
    return npy_parse_ex(prefix, prefix_size, file_size, NULL, path_for_errors, out);
}

/* ---------------------------------------------------------------------------------------------
 * Builder: NumPy's _write_array_header and _wrap_header, transcribed.
 * ------------------------------------------------------------------------------------------- */
saraphis_status_t npy_build_header(saraphis_dtype_t dtype, uint32_t ndim, const uint64_t *shape,
                                   uint8_t **bytes, size_t *size)
{
    if (!bytes || !size || (ndim && !shape))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, ".npy header: NULL argument");
    *bytes = NULL;
    *size = 0;
    const char *descr = npy_descr_for_dtype(dtype);
    if (!descr)
        return error_set(SARAPHIS_ERROR_DTYPE, ".npy header: dtype %d has no .npy descr", (int)dtype);
    if (ndim > SARAPHIS_MAX_DIMS)
        return error_set(SARAPHIS_ERROR_LIMIT, ".npy header: %u dimensions, at most %d", ndim,
                         SARAPHIS_MAX_DIMS);

    /* 16 dims of at most 20 digits plus ", " each, the fixed text and 21 growth spaces fit. */
    char dict[640];
    size_t length = (size_t)snprintf(dict, sizeof dict,
                                     "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (uint32_t d = 0; d < ndim; d++)
        length += (size_t)snprintf(dict + length, sizeof dict - length, "%s%llu", d ? ", " : "",
                                   (unsigned long long)shape[d]);
    length += (size_t)snprintf(dict + length, sizeof dict - length, "%s), }", ndim == 1 ? "," : "");
    if (ndim > 0) {
        char first[24];
        size_t digits = (size_t)snprintf(first, sizeof first, "%llu", (unsigned long long)shape[0]);
        size_t spaces = digits < NPY_GROWTH_AXIS_MAX_DIGITS ? NPY_GROWTH_AXIS_MAX_DIGITS - digits : 0;
        memset(dict + length, ' ', spaces);
        length += spaces;
    }
    size_t with_newline = length + 1;
    size_t length_bytes = 2;
    size_t padding = NPY_ALIGNMENT - (NPY_MAGIC_AND_VERSION + length_bytes + with_newline) % NPY_ALIGNMENT;
    uint8_t major = 1;
    if (with_newline + padding > 65535) { /* cannot happen with <= 16 dims; kept for fidelity */
        major = 2;
        length_bytes = 4;
        padding = NPY_ALIGNMENT - (NPY_MAGIC_AND_VERSION + length_bytes + with_newline) % NPY_ALIGNMENT;
    }
    size_t header_length = with_newline + padding;
    size_t total = NPY_MAGIC_AND_VERSION + length_bytes + header_length;
    uint8_t *result = malloc(total);
    if (!result) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, ".npy header: out of memory");
    memcpy(result, npy_magic, sizeof npy_magic);
    result[6] = major;
    result[7] = 0;
    for (size_t i = 0; i < length_bytes; i++) result[8 + i] = (uint8_t)(header_length >> (8 * i));
    uint8_t *text = result + NPY_MAGIC_AND_VERSION + length_bytes;
    memcpy(text, dict, length);
    memset(text + length, ' ', padding);
    text[length + padding] = '\n';
    *bytes = result;
    *size = total;
    return SARAPHIS_OK;
}
