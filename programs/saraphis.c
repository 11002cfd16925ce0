/* saraphis: the command-line tool. compress / decompress / info / verify / bench over .sps files,
 * with safetensors, .npy and raw buffers as inputs and outputs. Exit status: 0 on success, 1 for
 * a usage error, otherwise the library's saraphis_status_t of the failure (docs/cli.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fileio.h"
#include "container/npy.h"
#include "container/safetensors.h"
#include "progress.h"
#include "saraphis.h"

#define EXIT_USAGE 1
#define GAP_PREFIX "__saraphis_gap__"

typedef struct {
    const char *output;
    int threads;
    long long chunk_bytes;
    saraphis_codec_t codec;
    int force;
    int quiet;
    int progress; /* -1 auto (terminal), 0 off, 1 on */
    saraphis_dtype_t raw_dtype;
    uint32_t raw_ndim;
    uint64_t raw_shape[SARAPHIS_MAX_DIMS];
    int have_shape;
    int reps;
    double error_bound;              /* 0: exact codecs */
    int have_error_bound;
    saraphis_bound_mode_t bound_mode; /* --relative, else absolute */
    unsigned prime, precision;       /* 0: defaults */
    unsigned planes;                 /* decompress: top digit planes of bounded tensors; 0 all */
    int content_checksum;            /* compress: checksum the decoded bytes too (default 1) */
    int verify_records;              /* decompress, bench: 1 record and content checksums; 0 records by their content checksums */
} options_t;

static const char *program = "saraphis";

/* --stats: a coordinator (saraphis_system_t, configured from the SARAPHIS_* environment) is
 * created before the command and its status JSON printed to stdout after it. */
static saraphis_system_t *stats_system;

static int start_stats(void)
{
    saraphis_status_t status = saraphis_system_create(&stats_system, NULL);
    if (status != SARAPHIS_OK) {
        fprintf(stderr, "%s: --stats: error (%s): %s\n", program, saraphis_status_name(status), saraphis_last_error());
        return (int)status;
    }
    return 0;
}

static int finish_stats(int rc)
{
    if (!stats_system) return rc;
    char *json = NULL;
    saraphis_system_shutdown(stats_system);
    saraphis_status_t status = saraphis_system_status_json(stats_system, &json);
    if (status == SARAPHIS_OK) printf("%s\n", json);
    else fprintf(stderr, "%s: --stats: error (%s): %s\n", program, saraphis_status_name(status), saraphis_last_error());
    free(json);
    saraphis_system_free(stats_system);
    stats_system = NULL;
    return rc ? rc : (int)status;
}

static void print_help(FILE *out)
{
    fprintf(out,
            "Saraphis %s: compression of neural-network tensors, lossless or error-bounded.\n"
            "\n"
            "Usage:\n"
            "  saraphis compress [options] INPUT        safetensors, .npy or raw -> .sps\n"
            "  saraphis decompress [options] FILE.sps   .sps -> the original file, byte for byte (lossless);\n"
            "                                           a bounded .sps gives a file of the same layout and\n"
            "                                           dtypes whose values are within the bound\n"
            "  saraphis info FILE.sps...                a row per tensor: dtype, shape, sizes, ratio, codec,\n"
            "                                           bound and measured max error\n"
            "  saraphis verify FILE.sps...              check every checksum; writes nothing\n"
            "  saraphis bench [options] INPUT           in-memory ratio and speed, 1 thread and all\n"
            "\n"
            "Options:\n"
            "  -o, --output PATH      output file (compress: INPUT with .sps; decompress: the\n"
            "                         original name kept in the file)\n"
            "  -t, --threads N        worker threads (default: all cores; 1 = single-threaded)\n"
            "      --chunk-size SIZE  bytes per independent chunk, e.g. 256K, 1M (default 256K)\n"
            "      --codec NAME       lossless (default) or stored\n"
            "      --error-bound X    lossy, every float value within X of the original (absolute\n"
            "                         unless --relative); other dtypes stay lossless\n"
            "      --relative range|std  X is a fraction of each tensor's range or standard deviation\n"
            "      --prime P          digit base of the bounded codec, a prime from 2 to 251 (default 251)\n"
            "      --precision N      base-P digits per value (default: the fewest each tensor needs)\n"
            "      --planes K         decompress: only the top K digit planes of bounded tensors (reads\n"
            "                         less; prints the coarser bound it guarantees)\n"
            "      --no-content-checksum  compress: checksum each record only, not its decoded bytes\n"
            "      --verify-records 0|1   decompress, bench: 1 (default) checks every record's checksum and\n"
            "                         its content checksum; 0 checks a record that has a content checksum by\n"
            "                         that alone (every decoded byte still checked, the compressed bytes\n"
            "                         read once); verify always checks both\n"
            "      --dtype NAME       raw input: element type (F32, BF16, F16, F64, I8, ...)\n"
            "      --shape D0,D1,...  raw input: shape (default: one dimension)\n"
            "  -f, --force            overwrite an existing output file\n"
            "  -q, --quiet            print errors only\n"
            "      --progress / --no-progress   progress bar (default: when stderr is a terminal)\n"
            "      --reps N           bench: repetitions, the median is reported (default 5)\n"
            "      --stats            print the coordinator's status JSON after the command\n"
            "  -h, --help             this text\n"
            "  -V, --version          print the version\n"
            "\n"
            "Examples:\n"
            "  saraphis compress model.safetensors                 # writes model.sps\n"
            "  saraphis decompress model.sps -o restored.safetensors\n"
            "  saraphis info model.sps\n"
            "  saraphis verify model.sps && echo intact\n"
            "  saraphis compress --dtype BF16 --shape 4096,4096 weights.bin -o weights.sps\n"
            "  saraphis compress --error-bound 0.01 --relative std model.safetensors\n"
            "  saraphis decompress --planes 2 model.sps -o coarse.safetensors\n"
            "  saraphis bench -t 1 model.safetensors\n"
            "\n"
            "Exit status: 0 success, 1 usage error, otherwise the error's code (docs/cli.md).\n",
            saraphis_version_string());
}

static int fail(saraphis_status_t status)
{
    fprintf(stderr, "%s: error (%s): %s\n", program, saraphis_status_name(status), saraphis_last_error());
    return (int)status;
}

static int usage_error(const char *message, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\nTry 'saraphis --help'.\n", program, message, detail ? ": " : "", detail ? detail : "");
    return EXIT_USAGE;
}

static int parse_size(const char *text, long long *value)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || v <= 0) return 0;
    if (*end == 'K' || *end == 'k') { v <<= 10; end++; }
    else if (*end == 'M' || *end == 'm') { v <<= 20; end++; }
    if (*end == 'i' || *end == 'B') end++;
    if (*end == 'B') end++;
    if (*end) return 0;
    *value = v;
    return 1;
}

static int parse_shape(const char *text, options_t *options)
{
    options->raw_ndim = 0;
    const char *p = text;
    while (*p) {
        if (options->raw_ndim >= SARAPHIS_MAX_DIMS) return 0;
        char *end;
        errno = 0;
        unsigned long long d = strtoull(p, &end, 10);
        if (errno || end == p || *p == '-') return 0;
        options->raw_shape[options->raw_ndim++] = d;
        p = end;
        if (*p == ',' || *p == 'x') p++;
        else if (*p) return 0;
    }
    options->have_shape = 1;
    return options->raw_ndim > 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* model.safetensors -> model.sps, x.npy -> x.sps, anything else gets .sps appended. */
static char *default_compress_output(const char *input)
{
    size_t length = strlen(input);
    char *out = malloc(length + 8);
    if (!out) return NULL;
    strcpy(out, input);
    if (ends_with(out, ".safetensors")) out[length - strlen(".safetensors")] = '\0';
    else if (ends_with(out, ".npy")) out[length - 4] = '\0';
    strcat(out, ".sps");
    return out;
}

static saraphis_ctx_t *make_ctx(const options_t *options, saraphis_status_t *status)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    if (!ctx) { *status = SARAPHIS_ERROR_OUT_OF_MEMORY; return NULL; }
    *status = saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, options->threads);
    if (*status == SARAPHIS_OK && options->chunk_bytes)
        *status = saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, options->chunk_bytes);
    if (*status == SARAPHIS_OK) *status = saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CODEC, options->codec);
    if (*status == SARAPHIS_OK) *status = saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, options->content_checksum);
    if (*status == SARAPHIS_OK) *status = saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, options->verify_records);
    if (*status == SARAPHIS_OK && options->have_error_bound)
        *status = saraphis_ctx_set_error_bound(ctx, options->bound_mode, options->error_bound, options->prime, options->precision);
    if (*status != SARAPHIS_OK) { saraphis_ctx_free(ctx); return NULL; }
    return ctx;
}

static int output_allowed(const char *path, const options_t *options)
{
    struct stat info;
    if (!options->force && stat(path, &info) == 0) {
        fprintf(stderr, "%s: %s already exists; use -f to overwrite it\n", program, path);
        return 0;
    }
    return 1;
}

static int use_progress(const options_t *options)
{
    if (options->quiet) return 0;
    if (options->progress >= 0) return options->progress;
    return isatty(STDERR_FILENO);
}

/* ---- Input description ----------------------------------------------------------------- */

typedef enum { SOURCE_SAFETENSORS, SOURCE_NPY, SOURCE_RAW } source_kind_t;

typedef struct {
    source_kind_t kind;
    int fd;
    uint64_t file_size;
    safetensors_file_t safetensors;
    npy_file_t npy;
} source_t;

static void source_close(source_t *source)
{
    if (source->fd >= 0) close(source->fd);
    safetensors_file_free(&source->safetensors);
    npy_file_free(&source->npy);
}

static saraphis_status_t read_prefix(int fd, uint64_t size, const char *path, uint8_t **out)
{
    *out = malloc(size ? size : 1);
    if (!*out) return SARAPHIS_ERROR_OUT_OF_MEMORY;
    saraphis_status_t status = file_pread_full(fd, *out, size, 0, path);
    if (status != SARAPHIS_OK) { free(*out); *out = NULL; }
    return status;
}

static saraphis_status_t source_open(source_t *source, const char *path, const options_t *options)
{
    memset(source, 0, sizeof *source);
    source->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (source->fd < 0) return error_set(SARAPHIS_ERROR_IO, "cannot open %s: %s", path, strerror(errno));
    saraphis_status_t status = file_size_of(source->fd, &source->file_size, path);
    if (status != SARAPHIS_OK) return status;
    if (options->raw_dtype != SARAPHIS_DTYPE_UNKNOWN) {
        source->kind = SOURCE_RAW;
        return SARAPHIS_OK;
    }
    uint8_t probe[16] = {0};
    size_t probe_size = source->file_size < sizeof probe ? (size_t)source->file_size : sizeof probe;
    status = file_pread_full(source->fd, probe, probe_size, 0, path);
    if (status != SARAPHIS_OK) return status;
    uint64_t need;
    uint8_t *prefix;
    if (probe_size >= 6 && memcmp(probe, "\x93NUMPY", 6) == 0) {
        source->kind = SOURCE_NPY;
        status = npy_header_size(probe, probe_size, source->file_size, path, &need);
        if (status != SARAPHIS_OK) return status;
        status = read_prefix(source->fd, need, path, &prefix);
        if (status != SARAPHIS_OK) return status;
        status = npy_parse(prefix, need, source->file_size, path, &source->npy);
        free(prefix);
        return status;
    }
    source->kind = SOURCE_SAFETENSORS;
    status = safetensors_header_size(probe, probe_size, source->file_size, path, &need);
    if (status != SARAPHIS_OK)
        return error_wrap(status, "%s is neither safetensors nor .npy (for raw data give --dtype and --shape): ", path);
    status = read_prefix(source->fd, need, path, &prefix);
    if (status != SARAPHIS_OK) return status;
    status = safetensors_parse(prefix, need, source->file_size, path, &source->safetensors);
    free(prefix);
    return status;
}

static char *hex_encode(const uint8_t *bytes, size_t size)
{
    char *out = malloc(2 * size + 1);
    if (!out) return NULL;
    for (size_t i = 0; i < size; i++) sprintf(out + 2 * i, "%02x", bytes[i]);
    out[2 * size] = '\0';
    return out;
}

static uint8_t *hex_decode(const char *text, size_t *size)
{
    size_t length = strlen(text);
    if (length % 2) return NULL;
    uint8_t *out = malloc(length / 2 + 1);
    if (!out) return NULL;
    for (size_t i = 0; i < length / 2; i++) {
        unsigned value;
        if (sscanf(text + 2 * i, "%2x", &value) != 1) { free(out); return NULL; }
        out[i] = (uint8_t)value;
    }
    *size = length / 2;
    return out;
}

/* The data regions of a safetensors file in offset order: its tensors and the gaps between them
 * (stored as U8 entries named GAP_PREFIX<offset>). Compression and decompression walk the same
 * sequence, which is what makes the rebuilt file identical. */
typedef struct {
    const safetensors_file_t *file;
    size_t next_tensor, next_gap;
    char gap_name[64];
} region_walk_t;

typedef struct {
    const char *name;
    const safetensors_tensor_t *tensor; /* NULL for a gap */
    uint64_t begin, end;
} region_t;

static int next_region(region_walk_t *walk, region_t *region)
{
    const safetensors_file_t *st = walk->file;
    size_t i = walk->next_tensor, g = walk->next_gap;
    if (i >= st->tensor_count && g >= st->gap_count) return 0;
    if (g < st->gap_count && (i >= st->tensor_count || st->gaps[g].begin < st->tensors[i].begin)) {
        snprintf(walk->gap_name, sizeof walk->gap_name, GAP_PREFIX "%llu", (unsigned long long)st->gaps[g].begin);
        *region = (region_t){walk->gap_name, NULL, st->gaps[g].begin, st->gaps[g].end};
        walk->next_gap++;
    } else {
        const safetensors_tensor_t *t = &st->tensors[i];
        *region = (region_t){t->name, t, t->begin, t->end};
        walk->next_tensor++;
    }
    return 1;
}

/* ---- compress ------------------------------------------------------------------------------ */

static int command_compress(const char *input, const options_t *options)
{
    source_t source;
    saraphis_status_t status = source_open(&source, input, options);
    if (status != SARAPHIS_OK) { source_close(&source); return fail(status); }
    char *output = options->output ? strdup(options->output) : default_compress_output(input);
    if (!output || !output_allowed(output, options)) { free(output); source_close(&source); return output ? (int)SARAPHIS_ERROR_IO : fail(SARAPHIS_ERROR_OUT_OF_MEMORY); }
    saraphis_ctx_t *ctx = make_ctx(options, &status);
    saraphis_writer_t *writer = NULL;
    progress_t progress;
    progress_start(&progress, use_progress(options), "compress", source.file_size);
    if (ctx) {
        saraphis_ctx_set_progress(ctx, progress_update, &progress);
        status = saraphis_writer_open(&writer, output, ctx);
    }
    double started = progress_now();
    if (status == SARAPHIS_OK && source.kind == SOURCE_SAFETENSORS) {
        safetensors_file_t *st = &source.safetensors;
        status = saraphis_writer_set_metadata(writer, "saraphis.source", "safetensors");
        if (status == SARAPHIS_OK) {
            /* The JSON header is kept verbatim (padding included) to restore the file exactly. */
            char *json = malloc(st->header_size - 8 + 1);
            if (!json) status = SARAPHIS_ERROR_OUT_OF_MEMORY;
            else {
                memcpy(json, st->header_bytes + 8, st->header_size - 8);
                json[st->header_size - 8] = '\0';
                if (strlen(json) != st->header_size - 8) {
                    char *hex = hex_encode(st->header_bytes + 8, st->header_size - 8);
                    status = hex ? saraphis_writer_set_metadata(writer, "safetensors.header_hex", hex) : SARAPHIS_ERROR_OUT_OF_MEMORY;
                    free(hex);
                } else status = saraphis_writer_set_metadata(writer, "safetensors.header", json);
                free(json);
            }
        }
        /* Tensors and any gap bytes, in data-offset order. */
        region_walk_t walk = {.file = st};
        region_t region;
        while (status == SARAPHIS_OK && next_region(&walk, &region)) {
            saraphis_tensor_desc_t desc = {.name = region.name, .dtype = SARAPHIS_DTYPE_U8, .ndim = 1, .shape = {region.end - region.begin}};
            if (region.tensor) {
                desc.dtype = region.tensor->dtype;
                desc.ndim = region.tensor->ndim;
                memcpy(desc.shape, region.tensor->shape, sizeof desc.shape);
            }
            status = saraphis_writer_add_tensor_fd(writer, &desc, source.fd, st->data_offset + region.begin, region.end - region.begin);
            progress_next_tensor(&progress, region.end - region.begin);
        }
    } else if (status == SARAPHIS_OK && source.kind == SOURCE_NPY) {
        npy_file_t *npy = &source.npy;
        char *hex = hex_encode(npy->header_bytes, npy->header_size);
        status = hex ? saraphis_writer_set_metadata(writer, "saraphis.source", "npy") : SARAPHIS_ERROR_OUT_OF_MEMORY;
        if (status == SARAPHIS_OK) status = saraphis_writer_set_metadata(writer, "npy.header_hex", hex);
        free(hex);
        saraphis_tensor_desc_t desc = {.name = "array", .dtype = npy->dtype, .ndim = npy->ndim};
        memcpy(desc.shape, npy->shape, sizeof desc.shape);
        if (status == SARAPHIS_OK) status = saraphis_writer_add_tensor_fd(writer, &desc, source.fd, npy->data_offset, npy->data_size);
    } else if (status == SARAPHIS_OK) {
        size_t element = saraphis_dtype_size(options->raw_dtype);
        saraphis_tensor_desc_t desc = {.name = "data", .dtype = options->raw_dtype, .ndim = 1};
        if (options->have_shape) {
            desc.ndim = options->raw_ndim;
            memcpy(desc.shape, options->raw_shape, sizeof desc.shape);
        } else {
            desc.shape[0] = source.file_size / element;
            if (source.file_size % element) {
                status = error_set(SARAPHIS_ERROR_DTYPE, "%s holds %llu bytes, not a whole number of %s elements", input,
                                   (unsigned long long)source.file_size, saraphis_dtype_name(options->raw_dtype));
            }
        }
        if (status == SARAPHIS_OK) status = saraphis_writer_set_metadata(writer, "saraphis.source", "raw");
        if (status == SARAPHIS_OK) status = saraphis_writer_add_tensor_fd(writer, &desc, source.fd, 0, source.file_size);
    }
    if (status == SARAPHIS_OK) status = saraphis_writer_finish(writer);
    double elapsed = progress_now() - started;
    progress_finish(&progress);
    int rc = 0;
    if (status != SARAPHIS_OK) rc = fail(status);
    else if (!options->quiet) {
        struct stat info;
        stat(output, &info);
        printf("%s -> %s: %llu -> %llu bytes (ratio %.4f) in %.2f s, %.1f MB/s\n", input, output, (unsigned long long)source.file_size,
               (unsigned long long)info.st_size, (double)source.file_size / (double)(info.st_size ? info.st_size : 1), elapsed,
               elapsed > 0 ? source.file_size / elapsed / 1e6 : 0.0);
    }
    saraphis_writer_free(writer);
    saraphis_ctx_free(ctx);
    source_close(&source);
    free(output);
    return rc;
}

/* ---- decompress ---------------------------------------------------------------------------- */

/* Writes one tensor to fd: whole, or with --planes only the top planes of a bounded tensor
 * (decoded into memory, then written). *worst gets the largest bound guaranteed so far. */
static saraphis_status_t write_tensor(saraphis_reader_t *reader, size_t index, int fd, const char *output,
                                      const options_t *options, double *worst)
{
    saraphis_tensor_info_t info;
    SPS_TRY(saraphis_reader_tensor_info(reader, index, &info));
    if (info.codec == SARAPHIS_CODEC_BOUNDED && info.eps > *worst && !options->planes) *worst = info.eps;
    if (!options->planes || info.codec != SARAPHIS_CODEC_BOUNDED) return saraphis_reader_write_tensor_fd(reader, index, fd);
    if (info.raw_size > SIZE_MAX) return error_set(SARAPHIS_ERROR_LIMIT, "tensor '%s' does not fit in memory", info.name);
    uint8_t *buffer = malloc(info.raw_size ? (size_t)info.raw_size : 1);
    if (!buffer) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "tensor '%s': no memory for %llu bytes", info.name, (unsigned long long)info.raw_size);
    double bound = 0;
    saraphis_status_t status = saraphis_reader_read_tensor_planes(reader, index, options->planes, buffer, (size_t)info.raw_size, &bound);
    if (status == SARAPHIS_OK) status = file_write_full(fd, buffer, (size_t)info.raw_size, output);
    free(buffer);
    if (bound > *worst) *worst = bound;
    return status;
}

static char *default_decompress_output(const char *input, const char *source_kind)
{
    size_t length = strlen(input);
    char *out = malloc(length + 16);
    if (!out) return NULL;
    strcpy(out, input);
    int had_sps = ends_with(out, ".sps");
    if (had_sps) out[length - 4] = '\0';
    if (source_kind && strcmp(source_kind, "safetensors") == 0) strcat(out, ".safetensors");
    else if (source_kind && strcmp(source_kind, "npy") == 0) strcat(out, ".npy");
    else if (!had_sps) strcat(out, ".raw");
    return out;
}

static int command_decompress(const char *input, const options_t *options)
{
    saraphis_status_t status;
    saraphis_ctx_t *ctx = make_ctx(options, &status);
    if (!ctx) return fail(status);
    saraphis_reader_t *reader = NULL;
    status = saraphis_reader_open(&reader, input, ctx);
    if (status != SARAPHIS_OK) { saraphis_ctx_free(ctx); return fail(status); }
    const char *source_kind = saraphis_reader_metadata_get(reader, "saraphis.source");
    char *output = options->output ? strdup(options->output) : default_decompress_output(input, source_kind);
    if (!output || !output_allowed(output, options)) {
        free(output); saraphis_reader_free(reader); saraphis_ctx_free(ctx);
        return output ? (int)SARAPHIS_ERROR_IO : fail(SARAPHIS_ERROR_OUT_OF_MEMORY);
    }
    uint64_t total = 0;
    size_t count = saraphis_reader_tensor_count(reader);
    for (size_t i = 0; i < count; i++) {
        saraphis_tensor_info_t info;
        saraphis_reader_tensor_info(reader, i, &info);
        total += info.raw_size;
    }
    progress_t progress;
    progress_start(&progress, use_progress(options), "decompress", total);
    saraphis_ctx_set_progress(ctx, progress_update, &progress);
    atomic_file_t file;
    double worst_bound = 0;
    double started = progress_now();
    status = atomic_file_open(&file, output);
    if (status == SARAPHIS_OK && source_kind && strcmp(source_kind, "safetensors") == 0) {
        /* Rebuild: the header as it was, then every data region in offset order, each from the
         * tensor (or gap entry) that holds it. */
        const char *json = saraphis_reader_metadata_get(reader, "safetensors.header");
        const char *json_hex = saraphis_reader_metadata_get(reader, "safetensors.header_hex");
        uint8_t *header_json = NULL;
        size_t json_size = 0;
        if (json) { json_size = strlen(json); header_json = (uint8_t *)strdup(json); }
        else if (json_hex) header_json = hex_decode(json_hex, &json_size);
        if (!header_json) {
            status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: safetensors header missing from the metadata", input);
        } else {
            uint8_t *prefix = malloc(8 + json_size);
            safetensors_file_t st = {0};
            if (!prefix) status = SARAPHIS_ERROR_OUT_OF_MEMORY;
            else {
                for (int b = 0; b < 8; b++) prefix[b] = (uint8_t)((uint64_t)json_size >> (8 * b));
                memcpy(prefix + 8, header_json, json_size);
                /* The data section size is what the .sps holds; parse against that. */
                status = safetensors_parse(prefix, 8 + json_size, 8 + json_size + total, input, &st);
            }
            if (status == SARAPHIS_OK) status = file_write_full(file.fd, prefix, 8 + json_size, output);
            region_walk_t walk = {.file = &st};
            region_t region;
            while (status == SARAPHIS_OK && next_region(&walk, &region)) {
                uint64_t size = region.end - region.begin;
                size_t index;
                status = saraphis_reader_find(reader, region.name, &index);
                saraphis_tensor_info_t info;
                if (status == SARAPHIS_OK) status = saraphis_reader_tensor_info(reader, index, &info);
                if (status == SARAPHIS_OK && info.raw_size != size)
                    status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: tensor '%s' holds %llu bytes, the header says %llu", input, region.name,
                                       (unsigned long long)info.raw_size, (unsigned long long)size);
                if (status == SARAPHIS_OK) status = write_tensor(reader, index, file.fd, output, options, &worst_bound);
                progress_next_tensor(&progress, size);
            }
            safetensors_file_free(&st);
            free(prefix);
        }
        free(header_json);
    } else if (status == SARAPHIS_OK) {
        if (source_kind && strcmp(source_kind, "npy") == 0) {
            size_t header_size = 0;
            const char *hex = saraphis_reader_metadata_get(reader, "npy.header_hex");
            uint8_t *header = hex ? hex_decode(hex, &header_size) : NULL;
            if (!header) {
                status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: .npy header missing from the metadata", input);
            } else status = file_write_full(file.fd, header, header_size, output);
            free(header);
        }
        for (size_t i = 0; status == SARAPHIS_OK && i < count; i++) {
            saraphis_tensor_info_t info;
            saraphis_reader_tensor_info(reader, i, &info);
            status = write_tensor(reader, i, file.fd, output, options, &worst_bound);
            progress_next_tensor(&progress, info.raw_size);
        }
    }
    if (status == SARAPHIS_OK) status = atomic_file_commit(&file);
    else atomic_file_abort(&file);
    double elapsed = progress_now() - started;
    progress_finish(&progress);
    int rc = 0;
    if (status != SARAPHIS_OK) rc = fail(status);
    else if (!options->quiet) {
        printf("%s -> %s: %llu bytes in %.2f s, %.1f MB/s\n", input, output, (unsigned long long)total, elapsed,
               elapsed > 0 ? total / elapsed / 1e6 : 0.0);
        if (worst_bound > 0)
            printf("bounded tensors%s: every finite value within %.6g of the original (largest bound over the tensors)\n",
                   options->planes ? " (top planes only)" : "", worst_bound);
    }
    free(output);
    saraphis_reader_free(reader);
    saraphis_ctx_free(ctx);
    return rc;
}

/* ---- info and verify ------------------------------------------------------------------------ */

static const char *codec_name(saraphis_codec_t codec)
{
    switch (codec) {
    case SARAPHIS_CODEC_LOSSLESS: return "lossless";
    case SARAPHIS_CODEC_STORED: return "stored";
    case SARAPHIS_CODEC_BOUNDED: return "bounded";
    }
    return "unknown";
}

/* "abs 1e-06", "range 0.001", "std 0.01"; "-" for exact codecs. */
static void bound_text(const saraphis_tensor_info_t *info, char *text, size_t size)
{
    const char *mode = info->error_bound_mode == SARAPHIS_BOUND_RELATIVE_RANGE ? "range"
                       : info->error_bound_mode == SARAPHIS_BOUND_RELATIVE_STD ? "std" : "abs";
    if (info->codec != SARAPHIS_CODEC_BOUNDED) snprintf(text, size, "-");
    else snprintf(text, size, "%s %g", mode, info->error_bound);
}

static int command_info(const char *input, const options_t *options)
{
    saraphis_status_t status;
    saraphis_ctx_t *ctx = make_ctx(options, &status);
    if (!ctx) return fail(status);
    saraphis_reader_t *reader = NULL;
    status = saraphis_reader_open(&reader, input, ctx);
    if (status != SARAPHIS_OK) { saraphis_ctx_free(ctx); return fail(status); }
    size_t count = saraphis_reader_tensor_count(reader);
    const char *source_kind = saraphis_reader_metadata_get(reader, "saraphis.source");
    printf("%s: %zu tensors, source %s\n", input, count, source_kind ? source_kind : "unknown");
    printf("%-48s %-7s %-20s %14s %14s %8s %-8s %-12s %10s %10s\n", "tensor", "dtype", "shape", "bytes", "compressed", "ratio", "codec",
           "bound", "eps", "max error");
    uint64_t raw_total = 0, compressed_total = 0;
    for (size_t i = 0; i < count; i++) {
        saraphis_tensor_info_t info;
        saraphis_reader_tensor_info(reader, i, &info);
        char shape[128] = "(";
        for (uint32_t d = 0; d < info.ndim; d++) {
            char dim[32];
            snprintf(dim, sizeof dim, "%s%llu", d ? "," : "", (unsigned long long)info.shape[d]);
            if (strlen(shape) + strlen(dim) + 2 < sizeof shape) strcat(shape, dim);
        }
        strcat(shape, ")");
        char bound[48], eps[24] = "-", max_error[24] = "-";
        bound_text(&info, bound, sizeof bound);
        if (info.codec == SARAPHIS_CODEC_BOUNDED) {
            snprintf(eps, sizeof eps, "%.3g", info.eps);
            snprintf(max_error, sizeof max_error, "%.3g", info.max_error);
        }
        printf("%-48s %-7s %-20s %14llu %14llu %8.4f %-8s %-12s %10s %10s\n", info.name, saraphis_dtype_name(info.dtype), shape,
               (unsigned long long)info.raw_size, (unsigned long long)info.compressed_size,
               info.compressed_size ? (double)info.raw_size / (double)info.compressed_size : 0.0, codec_name(info.codec), bound, eps,
               max_error);
        raw_total += info.raw_size;
        compressed_total += info.compressed_size;
    }
    struct stat file_info;
    stat(input, &file_info);
    printf("%-48s %-7s %-20s %14llu %14llu %8.4f\n", "total (records)", "", "", (unsigned long long)raw_total,
           (unsigned long long)compressed_total, compressed_total ? (double)raw_total / (double)compressed_total : 0.0);
    printf("%-48s %-7s %-20s %14s %14llu %8.4f\n", "total (file, with index)", "", "", "", (unsigned long long)file_info.st_size,
           file_info.st_size ? (double)raw_total / (double)file_info.st_size : 0.0);
    saraphis_reader_free(reader);
    saraphis_ctx_free(ctx);
    return 0;
}

static int command_verify(const char *input, const options_t *options)
{
    saraphis_status_t status;
    saraphis_ctx_t *ctx = make_ctx(options, &status);
    if (!ctx) return fail(status);
    saraphis_reader_t *reader = NULL;
    status = saraphis_reader_open(&reader, input, ctx);
    if (status == SARAPHIS_OK) status = saraphis_reader_verify(reader);
    int rc = 0;
    if (status != SARAPHIS_OK) rc = fail(status);
    else if (!options->quiet) printf("%s: OK (%zu tensors, every checksum verified)\n", input, saraphis_reader_tensor_count(reader));
    saraphis_reader_free(reader);
    saraphis_ctx_free(ctx);
    return rc;
}

/* ---- bench ------------------------------------------------------------------------------------ */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int command_bench(const char *input, const options_t *options)
{
    source_t source;
    saraphis_status_t status = source_open(&source, input, options);
    if (status != SARAPHIS_OK) { source_close(&source); return fail(status); }
    /* The tensors to compress, as (dtype, offset, size). */
    size_t count = source.kind == SOURCE_SAFETENSORS ? source.safetensors.tensor_count : 1;
    saraphis_dtype_t *dtypes = calloc(count ? count : 1, sizeof *dtypes);
    uint64_t *offsets = calloc(count ? count : 1, sizeof *offsets), *sizes = calloc(count ? count : 1, sizeof *sizes);
    uint64_t total = 0, largest = 0;
    for (size_t i = 0; i < count; i++) {
        if (source.kind == SOURCE_SAFETENSORS) {
            const safetensors_tensor_t *t = &source.safetensors.tensors[i];
            dtypes[i] = t->dtype; offsets[i] = source.safetensors.data_offset + t->begin; sizes[i] = t->end - t->begin;
        } else if (source.kind == SOURCE_NPY) {
            dtypes[i] = source.npy.dtype; offsets[i] = source.npy.data_offset; sizes[i] = source.npy.data_size;
        } else {
            dtypes[i] = options->raw_dtype; offsets[i] = 0;
            sizes[i] = source.file_size - source.file_size % saraphis_dtype_size(options->raw_dtype);
        }
        total += sizes[i];
        if (sizes[i] > largest) largest = sizes[i];
    }
    uint8_t *data = malloc(total ? total : 1), *restored = malloc(largest ? largest : 1);
    size_t capacity = saraphis_compress_bound((size_t)largest, options->chunk_bytes ? (size_t)options->chunk_bytes : 0);
    uint8_t **frames = calloc(count ? count : 1, sizeof *frames);
    size_t *frame_sizes = calloc(count ? count : 1, sizeof *frame_sizes);
    if (!data || !restored || !frames || !frame_sizes) status = SARAPHIS_ERROR_OUT_OF_MEMORY;
    uint64_t position = 0;
    for (size_t i = 0; status == SARAPHIS_OK && i < count; i++) {
        status = file_pread_full(source.fd, data + position, sizes[i], offsets[i], input);
        position += sizes[i];
        frames[i] = malloc(saraphis_compress_bound((size_t)sizes[i], options->chunk_bytes ? (size_t)options->chunk_bytes : 0));
        if (!frames[i]) status = SARAPHIS_ERROR_OUT_OF_MEMORY;
    }
    (void)capacity;
    int thread_settings[2] = {1, options->threads};
    if (status == SARAPHIS_OK)
        printf("%s: %zu tensors, %llu bytes; median of %d runs\n%-8s %10s %14s %14s\n", input, count, (unsigned long long)total,
               options->reps, "threads", "ratio", "compress MB/s", "decompress MB/s");
    for (int setting = 0; status == SARAPHIS_OK && setting < 2; setting++) {
        options_t local = *options;
        local.threads = thread_settings[setting];
        saraphis_ctx_t *ctx = make_ctx(&local, &status);
        if (!ctx) break;
        double *compress_times = calloc((size_t)options->reps, sizeof(double)), *decompress_times = calloc((size_t)options->reps, sizeof(double));
        uint64_t compressed_total = 0;
        for (int rep = 0; status == SARAPHIS_OK && rep < options->reps; rep++) {
            double t0 = progress_now();
            position = 0;
            compressed_total = 0;
            for (size_t i = 0; status == SARAPHIS_OK && i < count; i++) {
                status = saraphis_compress(ctx, dtypes[i], data + position, (size_t)sizes[i], frames[i],
                                           saraphis_compress_bound((size_t)sizes[i], options->chunk_bytes ? (size_t)options->chunk_bytes : 0), &frame_sizes[i]);
                position += sizes[i];
                compressed_total += frame_sizes[i];
            }
            double t1 = progress_now();
            position = 0;
            for (size_t i = 0; status == SARAPHIS_OK && i < count; i++) {
                size_t restored_size;
                status = saraphis_decompress(ctx, frames[i], frame_sizes[i], restored, (size_t)largest, &restored_size);
                if (status == SARAPHIS_OK && (restored_size != sizes[i] ||
                                              (!options->have_error_bound && memcmp(restored, data + position, restored_size) != 0))) {
                    status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: round trip mismatch on tensor %zu", input, i);
                }
                position += sizes[i];
            }
            double t2 = progress_now();
            compress_times[rep] = t1 - t0;
            decompress_times[rep] = t2 - t1;
        }
        if (status == SARAPHIS_OK) {
            qsort(compress_times, (size_t)options->reps, sizeof(double), compare_double);
            qsort(decompress_times, (size_t)options->reps, sizeof(double), compare_double);
            double ct = compress_times[options->reps / 2], dt = decompress_times[options->reps / 2];
            char label[16];
            snprintf(label, sizeof label, "%s", local.threads ? "" : "all");
            if (local.threads) snprintf(label, sizeof label, "%d", local.threads);
            printf("%-8s %10.4f %14.1f %14.1f\n", label, (double)total / (double)(compressed_total ? compressed_total : 1), total / ct / 1e6,
                   total / dt / 1e6);
        }
        free(compress_times);
        free(decompress_times);
        saraphis_ctx_free(ctx);
    }
    /* With --stats, one more pass sends every tensor through the coordinator (compress, then
     * decompress into a caller tensor, checked), so the status printed after the command holds
     * real figures for this input. */
    if (status == SARAPHIS_OK && stats_system) {
        position = 0;
        for (size_t i = 0; status == SARAPHIS_OK && i < count; i++) {
            size_t element = saraphis_dtype_size(dtypes[i]);
            int64_t shape[1] = {(int64_t)(sizes[i] / element)};
            DLTensor tensor = {.data = data + position, .device = {kDLCPU, 0}, .ndim = 1,
                               .dtype = saraphis_dtype_to_dlpack(dtypes[i]), .shape = shape};
            saraphis_result_t *result = NULL;
            status = saraphis_system_compress(stats_system, &tensor, SARAPHIS_PRIORITY_MEDIUM, "{\"source\": \"saraphis bench\"}", &result);
            if (status == SARAPHIS_OK) {
                DLTensor back = tensor;
                back.data = restored;
                status = saraphis_system_decompress_into(stats_system, saraphis_result_data(result), saraphis_result_size(result), &back,
                                                         SARAPHIS_PRIORITY_MEDIUM);
                if (status == SARAPHIS_OK && !options->have_error_bound && memcmp(restored, data + position, (size_t)sizes[i]) != 0)
                    status = error_set(SARAPHIS_ERROR_CORRUPT, "%s: coordinator round trip mismatch on tensor %zu", input, i);
            }
            saraphis_result_free(result);
            position += sizes[i];
        }
        if (status == SARAPHIS_OK) printf("coordinator: %zu tensors compressed and decompressed through saraphis_system_* (see the status below)\n", count);
    }
    for (size_t i = 0; i < count; i++) free(frames[i]);
    free(frames); free(frame_sizes); free(data); free(restored); free(dtypes); free(offsets); free(sizes);
    source_close(&source);
    return status == SARAPHIS_OK ? 0 : fail(status);
}

int main(int argc, char **argv)
{
    options_t options = {.threads = 0, .codec = SARAPHIS_CODEC_LOSSLESS, .progress = -1, .reps = 5, .bound_mode = SARAPHIS_BOUND_ABSOLUTE,
                         .content_checksum = 1, .verify_records = 1};
    int have_relative = 0, have_prime = 0, have_precision = 0;
    enum { OPT_CHUNK = 256, OPT_CODEC, OPT_DTYPE, OPT_SHAPE, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_REPS, OPT_STATS,
           OPT_ERROR_BOUND, OPT_RELATIVE, OPT_PRIME, OPT_PRECISION, OPT_PLANES, OPT_NO_CONTENT_CHECKSUM, OPT_VERIFY_RECORDS };
    static const struct option long_options[] = {
        {"output", required_argument, 0, 'o'},   {"threads", required_argument, 0, 't'},
        {"chunk-size", required_argument, 0, OPT_CHUNK}, {"codec", required_argument, 0, OPT_CODEC},
        {"dtype", required_argument, 0, OPT_DTYPE}, {"shape", required_argument, 0, OPT_SHAPE},
        {"force", no_argument, 0, 'f'},          {"quiet", no_argument, 0, 'q'},
        {"progress", no_argument, 0, OPT_PROGRESS}, {"no-progress", no_argument, 0, OPT_NO_PROGRESS},
        {"reps", required_argument, 0, OPT_REPS}, {"help", no_argument, 0, 'h'},
        {"stats", no_argument, 0, OPT_STATS},
        {"error-bound", required_argument, 0, OPT_ERROR_BOUND}, {"relative", required_argument, 0, OPT_RELATIVE},
        {"prime", required_argument, 0, OPT_PRIME}, {"precision", required_argument, 0, OPT_PRECISION},
        {"planes", required_argument, 0, OPT_PLANES},
        {"no-content-checksum", no_argument, 0, OPT_NO_CONTENT_CHECKSUM}, {"verify-records", required_argument, 0, OPT_VERIFY_RECORDS},
        {"version", no_argument, 0, 'V'},        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:t:fqhV", long_options, NULL)) != -1) {
        long long value;
        switch (c) {
        case 'o': options.output = optarg; break;
        case 't': {
            char *end;
            long threads = strtol(optarg, &end, 10);
            if (*end || threads < 0 || threads > 1024) return usage_error("--threads takes a number from 0 to 1024", optarg);
            options.threads = (int)threads;
            break;
        }
        case OPT_CHUNK:
            if (!parse_size(optarg, &value)) return usage_error("--chunk-size takes a size such as 256K or 1M", optarg);
            options.chunk_bytes = value;
            break;
        case OPT_CODEC:
            if (strcmp(optarg, "lossless") == 0) options.codec = SARAPHIS_CODEC_LOSSLESS;
            else if (strcmp(optarg, "stored") == 0) options.codec = SARAPHIS_CODEC_STORED;
            else return usage_error("--codec takes lossless or stored", optarg);
            break;
        case OPT_DTYPE:
            options.raw_dtype = saraphis_dtype_from_name(optarg);
            if (options.raw_dtype == SARAPHIS_DTYPE_UNKNOWN) return usage_error("unknown --dtype (F32, F16, BF16, F64, F8_E4M3, F8_E5M2, I8..U64, BOOL)", optarg);
            break;
        case OPT_SHAPE:
            if (!parse_shape(optarg, &options)) return usage_error("--shape takes dimensions such as 4096,4096", optarg);
            break;
        case OPT_ERROR_BOUND: {
            /* The value's range (> 0, finite) is the library's to check: its message names the bound. */
            char *end;
            errno = 0;
            options.error_bound = strtod(optarg, &end);
            if (errno || end == optarg || *end) return usage_error("--error-bound takes a number such as 1e-3", optarg);
            options.have_error_bound = 1;
            break;
        }
        case OPT_RELATIVE:
            if (strcmp(optarg, "range") == 0) options.bound_mode = SARAPHIS_BOUND_RELATIVE_RANGE;
            else if (strcmp(optarg, "std") == 0) options.bound_mode = SARAPHIS_BOUND_RELATIVE_STD;
            else return usage_error("--relative takes range or std", optarg);
            have_relative = 1;
            break;
        case OPT_PRIME:
        case OPT_PRECISION:
        case OPT_PLANES: {
            char *end;
            errno = 0;
            unsigned long number = strtoul(optarg, &end, 10);
            const char *name = c == OPT_PRIME ? "--prime" : c == OPT_PRECISION ? "--precision" : "--planes";
            if (errno || end == optarg || *end || *optarg == '-' || number > 1000000) {
                char message[64];
                snprintf(message, sizeof message, "%s takes a whole number", name);
                return usage_error(message, optarg);
            }
            if (c == OPT_PRIME) { options.prime = (unsigned)number; have_prime = 1; }
            else if (c == OPT_PRECISION) { options.precision = (unsigned)number; have_precision = 1; }
            else options.planes = (unsigned)number;
            break;
        }
        case OPT_NO_CONTENT_CHECKSUM: options.content_checksum = 0; break;
        case OPT_VERIFY_RECORDS:
            if (strcmp(optarg, "1") == 0) options.verify_records = 1;
            else if (strcmp(optarg, "0") == 0) options.verify_records = 0;
            else return usage_error("--verify-records takes 1 (record and content checksums) or 0 (records by their content checksums)", optarg);
            break;
        case 'f': options.force = 1; break;
        case 'q': options.quiet = 1; break;
        case OPT_PROGRESS: options.progress = 1; break;
        case OPT_NO_PROGRESS: options.progress = 0; break;
        case OPT_REPS:
            options.reps = atoi(optarg);
            if (options.reps < 1 || options.reps > 1000) return usage_error("--reps takes 1 to 1000", optarg);
            break;
        case OPT_STATS: {
            int stats_rc = stats_system ? 0 : start_stats();
            if (stats_rc) return stats_rc;
            break;
        }
        case 'h': print_help(stdout); return 0;
        case 'V': printf("saraphis %s\n", saraphis_version_string()); return 0;
        default: return usage_error("unknown option", NULL);
        }
    }
    if (optind >= argc) return usage_error("no command given", NULL);
    const char *command = argv[optind++];
    if (optind >= argc) return usage_error("no input file given", command);
    if (options.have_shape && options.raw_dtype == SARAPHIS_DTYPE_UNKNOWN) return usage_error("--shape needs --dtype", NULL);
    if ((have_relative || have_prime || have_precision) && !options.have_error_bound)
        return usage_error("--relative, --prime and --precision need --error-bound", NULL);
    if (options.have_error_bound && options.prime == 0 && have_prime)
        return usage_error("--prime takes a prime from 2 to 251", "0");
    if (options.have_error_bound && options.precision == 0 && have_precision)
        return usage_error("--precision takes a number of digits from 1 (0 is not one)", "0");
    int files = argc - optind;
    if (strcmp(command, "compress") == 0 || strcmp(command, "decompress") == 0 || strcmp(command, "bench") == 0) {
        if (files != 1) return usage_error("this command takes one input file", command);
        if (command[0] == 'c') return finish_stats(command_compress(argv[optind], &options));
        if (command[0] == 'd') return finish_stats(command_decompress(argv[optind], &options));
        return finish_stats(command_bench(argv[optind], &options));
    }
    int (*each)(const char *, const options_t *) = NULL;
    if (strcmp(command, "info") == 0) each = command_info;
    else if (strcmp(command, "verify") == 0) each = command_verify;
    else return usage_error("unknown command", command);
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        int file_rc = each(argv[i], &options);
        if (file_rc && !rc) rc = file_rc;
    }
    return finish_stats(rc);
}
