/* The bounded (p-adic) codec through the public API: frames and the .sps container at several
 * bounds and modes, every finite element within the bound and every other one exact, the
 * measured max error the index records, the codec each tensor got, progressive reads within their
 * bounds that read fewer record bytes, progressive frame decodes (saraphis_decompress_planes)
 * equal to the codec's own chunk by chunk and their error cases, hostile parameter blocks
 * rejected, every flipped byte of a bounded file detected by verify, and the parameter checks
 * naming the parameter. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/padic.h"
#include "codec/padic_values.h"
#include "common/bits.h"
#include "common/checksum.h"
#include "container/sps_reader.h"
#include "saraphis.h"
#include "file_support.h"
#include "testing.h"

static char folder[256];

static const char *in_folder(const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 512, "%s/%s", folder, name);
    return path;
}

/* A roughly Gaussian value (sum of uniforms) of deviation `scale`. */
static double gaussian(unsigned long long *rng, double scale)
{
    double sum = 0;
    for (int k = 0; k < 4; k++) sum += (double)(test_random(rng) >> 11) / 9007199254740992.0;
    return (sum - 2) * 1.7 * scale;
}

static double load(saraphis_dtype_t dtype, const uint8_t *p)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: return padic_load_f32(p);
    case SARAPHIS_DTYPE_F64: return padic_load_f64(p);
    case SARAPHIS_DTYPE_F16: return padic_load_f16(p);
    default: return padic_load_bf16(p);
    }
}

static void store(saraphis_dtype_t dtype, uint8_t *p, double x)
{
    if (dtype == SARAPHIS_DTYPE_F32) { float f = (float)x; memcpy(p, &f, 4); }
    else if (dtype == SARAPHIS_DTYPE_F64) memcpy(p, &x, 8);
    else if (dtype == SARAPHIS_DTYPE_BF16) padic_store_bf16(p, padic_round_bf16(x));
    else if (isnan(x)) { p[0] = 0x00; p[1] = 0x7e; }
    else if (isinf(x)) { p[0] = 0x00; p[1] = 0x7c; }
    else padic_store_f16(p, padic_round_f16(x));
}

typedef struct {
    const char *name;
    saraphis_dtype_t dtype;
    size_t count;
    double scale;
    int specials; /* NaN, Inf, -0 and a huge value sprinkled in */
    int constant;
    uint8_t *data;
    size_t size;
} tensor_t;

static tensor_t tensors[] = {
    {"w.f32", SARAPHIS_DTYPE_F32, 150000, 0.05, 1, 0, 0, 0},
    {"w.bf16", SARAPHIS_DTYPE_BF16, 70001, 0.02, 0, 0, 0, 0},
    {"w.f16", SARAPHIS_DTYPE_F16, 30000, 0.5, 1, 0, 0, 0},
    {"w.f64", SARAPHIS_DTYPE_F64, 9000, 3.0, 0, 0, 0, 0},
    {"steps.i32", SARAPHIS_DTYPE_I32, 5000, 0, 0, 0, 0, 0},
    {"flat.f32", SARAPHIS_DTYPE_F32, 4000, 0.25, 0, 1, 0, 0},
    {"empty.f32", SARAPHIS_DTYPE_F32, 0, 0, 0, 0, 0, 0},
};
#define TENSOR_COUNT (sizeof tensors / sizeof tensors[0])

static int is_float(saraphis_dtype_t dtype)
{
    return dtype == SARAPHIS_DTYPE_F32 || dtype == SARAPHIS_DTYPE_F64 || dtype == SARAPHIS_DTYPE_F16 || dtype == SARAPHIS_DTYPE_BF16;
}

static void make_tensors(void)
{
    unsigned long long rng = 1234;
    for (size_t i = 0; i < TENSOR_COUNT; i++) {
        tensor_t *t = &tensors[i];
        size_t element = saraphis_dtype_size(t->dtype);
        t->size = t->count * element;
        t->data = malloc(t->size + 1);
        for (size_t k = 0; k < t->count; k++) {
            uint8_t *p = t->data + k * element;
            if (!is_float(t->dtype)) { uint32_t v = (uint32_t)(k * 7 + (test_random(&rng) & 3)); memcpy(p, &v, 4); continue; }
            double x = t->constant ? t->scale : gaussian(&rng, t->scale);
            if (t->specials && k % 997 == 5) x = (k / 997) % 4 == 0 ? NAN : (k / 997) % 4 == 1 ? INFINITY : (k / 997) % 4 == 2 ? -0.0 : 6e4;
            store(t->dtype, p, x);
        }
    }
}

/* Checks dst against the tensor: finite elements within bound (largest error returned), others
 * bit-exact. Returns the number of violations. */
static size_t check_within(const tensor_t *t, const uint8_t *dst, double bound, double *largest)
{
    size_t element = saraphis_dtype_size(t->dtype), bad = 0;
    *largest = 0;
    for (size_t k = 0; k < t->count; k++) {
        const uint8_t *a = t->data + k * element, *b = dst + k * element;
        double x = load(t->dtype, a), y = load(t->dtype, b);
        if (!isfinite(x)) { if (memcmp(a, b, element) != 0) bad++; continue; }
        double error = fabs(x - y);
        if (!(error <= bound)) bad++;
        else if (error > *largest) *largest = error;
    }
    return bad;
}

static saraphis_status_t write_model(const char *path, saraphis_ctx_t *ctx, int from_fd)
{
    saraphis_writer_t *writer = NULL;
    saraphis_status_t status = saraphis_writer_open(&writer, path, ctx);
    const char *raw_path = in_folder("tensor.raw");
    for (size_t i = 0; i < TENSOR_COUNT && status == SARAPHIS_OK; i++) {
        const tensor_t *t = &tensors[i];
        saraphis_tensor_desc_t desc = {.name = t->name, .dtype = t->dtype, .ndim = 1, .shape = {t->count}};
        if (!from_fd) {
            status = saraphis_writer_add_tensor(writer, &desc, t->data, t->size);
            continue;
        }
        /* 100 bytes of something else first, to read at an offset. */
        FILE *f = fopen(raw_path, "wb");
        fwrite("0123456789", 1, 10, f);
        fwrite(t->data, 1, t->size, f);
        fclose(f);
        int fd = open(raw_path, O_RDONLY);
        status = saraphis_writer_add_tensor_fd(writer, &desc, fd, 10, t->size);
        close(fd);
    }
    if (status == SARAPHIS_OK) status = saraphis_writer_finish(writer);
    saraphis_writer_free(writer);
    return status;
}

typedef struct {
    saraphis_bound_mode_t mode;
    double bound;
    unsigned prime, precision;
} setting_t;

static void test_container_round_trips(void)
{
    static const setting_t settings[] = {
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 0},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-6, 0, 0},
        {SARAPHIS_BOUND_RELATIVE_RANGE, 1e-3, 0, 0},
        {SARAPHIS_BOUND_RELATIVE_STD, 1e-2, 0, 0},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-2, 2, 0},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 3, 26},
    };
    for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
        const setting_t *setting = &settings[s];
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 65536);
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 2);
        CHECK(saraphis_ctx_set_error_bound(ctx, setting->mode, setting->bound, setting->prime, setting->precision) == SARAPHIS_OK);
        const char *path = in_folder("bounded.sps");
        CHECK_MSG(write_model(path, ctx, 0) == SARAPHIS_OK, "setting %zu: %s", s, saraphis_last_error());
        const char *fd_path = in_folder("bounded-fd.sps");
        CHECK_MSG(write_model(fd_path, ctx, 1) == SARAPHIS_OK, "setting %zu (fd): %s", s, saraphis_last_error());
        size_t size_a = 0, size_b = 0;
        uint8_t *a = slurp(path, &size_a), *b = slurp(fd_path, &size_b);
        CHECK_MSG(a && b && size_a == size_b && memcmp(a, b, size_a) == 0, "setting %zu: memory and file inputs give different files", s);
        free(a);
        free(b);

        saraphis_reader_t *reader = NULL;
        CHECK(saraphis_reader_open(&reader, path, ctx) == SARAPHIS_OK);
        if (!reader) { saraphis_ctx_free(ctx); continue; }
        CHECK_MSG(saraphis_reader_verify(reader) == SARAPHIS_OK, "%s", saraphis_last_error());
        for (size_t i = 0; i < TENSOR_COUNT; i++) {
            const tensor_t *t = &tensors[i];
            saraphis_tensor_info_t info;
            CHECK(saraphis_reader_tensor_info(reader, i, &info) == SARAPHIS_OK);
            uint8_t *out = malloc(t->size + 1);
            CHECK_MSG(saraphis_reader_read_tensor(reader, i, out, t->size) == SARAPHIS_OK, "%s: %s", t->name, saraphis_last_error());
            double eps = 0;
            int expect_bounded = is_float(t->dtype);
            if (expect_bounded) {
                padic_resolve_bound(t->dtype, t->data, t->size, (int)setting->mode - 1, setting->bound, &eps);
                expect_bounded = eps > 0;
            }
            if (!expect_bounded) {
                CHECK_MSG(info.codec == SARAPHIS_CODEC_LOSSLESS && info.eps == 0 && info.error_bound_mode == 0, "%s codec %d", t->name, info.codec);
                CHECK_MSG(memcmp(out, t->data, t->size) == 0, "%s: exact tensor differs", t->name);
                free(out);
                continue;
            }
            CHECK_MSG(info.codec == SARAPHIS_CODEC_BOUNDED, "%s codec %d", t->name, info.codec);
            CHECK(info.error_bound_mode == setting->mode && info.error_bound == setting->bound);
            CHECK_MSG(info.eps == eps, "%s: eps %g, expected %g", t->name, info.eps, eps);
            CHECK(info.prime == (setting->prime ? setting->prime : 251));
            if (setting->precision) CHECK(info.precision == setting->precision);
            else {
                padic_params_t params = {eps, info.prime, 0};
                unsigned needed = 0;
                padic_required_precision(&params, t->dtype, t->data, t->size, &needed);
                CHECK_MSG(info.precision == needed, "%s: precision %u, expected %u", t->name, info.precision, needed);
            }
            double largest;
            size_t bad = check_within(t, out, info.eps, &largest);
            CHECK_MSG(bad == 0, "setting %zu %s: %zu elements outside eps %g", s, t->name, bad, info.eps);
            CHECK_MSG(info.max_error == largest, "%s: index says max error %.17g, measured %.17g", t->name, info.max_error, largest);
            CHECK(info.max_error <= info.eps);
            /* Never more than the stored size plus the record headers (F16 at 1e-6 stores). */
            CHECK(info.compressed_size <= t->size + 25ull * info.chunk_count);
            if (t->count > 1000 && t->dtype != SARAPHIS_DTYPE_F16 && !t->constant)
                CHECK_MSG(info.compressed_size < t->size, "%s: %llu >= %zu", t->name, (unsigned long long)info.compressed_size, t->size);
            free(out);
        }
        saraphis_reader_free(reader);
        saraphis_ctx_free(ctx);
    }
}

static void test_progressive(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 65536);
    CHECK(saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_ABSOLUTE, 1e-6, 0, 0) == SARAPHIS_OK);
    const char *path = in_folder("progressive.sps");
    CHECK(write_model(path, ctx, 0) == SARAPHIS_OK);
    saraphis_reader_t *reader = NULL;
    CHECK(saraphis_reader_open(&reader, path, ctx) == SARAPHIS_OK);
    if (!reader) { saraphis_ctx_free(ctx); return; }
    size_t tested = 0;
    for (size_t i = 0; i < TENSOR_COUNT; i++) {
        const tensor_t *t = &tensors[i];
        saraphis_tensor_info_t info;
        saraphis_reader_tensor_info(reader, i, &info);
        uint8_t *out = malloc(t->size + 1);
        uint64_t previous_bytes = 0;
        double previous_bound = INFINITY;
        for (unsigned planes = 1; planes <= info.precision + 1; planes++) {
            uint64_t before = sps_reader_record_bytes_read(reader);
            double bound = -1;
            saraphis_status_t status = saraphis_reader_read_tensor_planes(reader, i, planes, out, t->size, &bound);
            uint64_t bytes = sps_reader_record_bytes_read(reader) - before;
            CHECK_MSG(status == SARAPHIS_OK, "%s planes %u: %s", t->name, planes, saraphis_last_error());
            padic_params_t params = {info.eps, info.prime, info.precision};
            double expected = padic_progressive_bound(&params, planes);
            CHECK_MSG(bound == expected, "%s planes %u: bound %g, expected %g", t->name, planes, bound, expected);
            double largest;
            CHECK_MSG(check_within(t, out, bound, &largest) == 0, "%s planes %u: elements outside %g", t->name, planes, bound);
            CHECK(bound <= previous_bound);
            if (planes < info.precision && info.compressed_size < t->size) { /* coded (not stored) */
                CHECK_MSG(bytes < info.compressed_size, "%s planes %u read %llu of %llu bytes", t->name, planes, (unsigned long long)bytes,
                          (unsigned long long)info.compressed_size);
                CHECK(bytes >= previous_bytes);
                tested++;
            } else if (planes >= info.precision) {
                CHECK(bytes == info.compressed_size);
                CHECK(bound == info.eps);
            }
            previous_bytes = bytes;
            previous_bound = bound;
        }
        free(out);
    }
    CHECK_MSG(tested >= 4, "only %zu partial reads tested", tested);
    /* The I32 tensor (lossless) is read whole, bound 0. */
    size_t index;
    CHECK(saraphis_reader_find(reader, "steps.i32", &index) == SARAPHIS_OK);
    uint8_t *out = malloc(tensors[4].size);
    double bound = -1;
    CHECK(saraphis_reader_read_tensor_planes(reader, index, 1, out, tensors[4].size, &bound) == SARAPHIS_OK);
    CHECK(bound == 0 && memcmp(out, tensors[4].data, tensors[4].size) == 0);
    free(out);
    saraphis_reader_free(reader);
    saraphis_ctx_free(ctx);
}

/* Rewrites the index checksum in the footer so that the parser, not the checksum, meets the edit. */
static void fix_index_checksum(uint8_t *bytes, size_t size)
{
    uint64_t index_offset = load_le64(bytes + size - 32), index_size = load_le64(bytes + size - 24);
    store_le64(bytes + size - 16, checksum64(bytes + index_offset, (size_t)index_size, 0));
}

static void test_hostile_parameters(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    CHECK(saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_RELATIVE_STD, 0.01, 0, 0) == SARAPHIS_OK);
    const char *path = in_folder("one.sps");
    saraphis_writer_t *writer = NULL;
    CHECK(saraphis_writer_open(&writer, path, ctx) == SARAPHIS_OK);
    saraphis_tensor_desc_t desc = {.name = "w", .dtype = SARAPHIS_DTYPE_F32, .ndim = 1, .shape = {tensors[0].count}};
    CHECK(saraphis_writer_add_tensor(writer, &desc, tensors[0].data, tensors[0].size) == SARAPHIS_OK);
    CHECK(saraphis_writer_finish(writer) == SARAPHIS_OK);
    saraphis_writer_free(writer);
    size_t size = 0;
    uint8_t *bytes = slurp(path, &size);
    if (!bytes) { CHECK(0); saraphis_ctx_free(ctx); return; }
    uint64_t index_offset = load_le64(bytes + size - 32);
    size_t entry = (size_t)index_offset + 8;
    CHECK(load_le16(bytes + entry) == 1 && bytes[entry + 2] == 'w');
    size_t fixed = entry + 3;   /* dtype, codec, ndim, flags */
    size_t block = fixed + 4 + 2;
    CHECK(bytes[fixed + 1] == SARAPHIS_CODEC_BOUNDED && bytes[fixed + 3] == 1 && load_le16(bytes + fixed + 4) == 36);
    CHECK(bytes[block] == SARAPHIS_BOUND_RELATIVE_STD);
    const char *bad_path = in_folder("hostile.sps");
    typedef struct { const char *what; size_t offset; int width; uint64_t value; } edit_t;
    double nan_value = NAN, negative = -1e-3, huge = 1e300;
    uint64_t nan_bits = padic_double_bits(nan_value), negative_bits = padic_double_bits(negative), huge_bits = padic_double_bits(huge);
    const edit_t edits[] = {
        {"mode 0", block, 1, 0},
        {"mode 9", block, 1, 9},
        {"bound NaN", block + 1, 8, nan_bits},
        {"bound negative", block + 1, 8, negative_bits},
        {"eps NaN", block + 9, 8, nan_bits},
        {"eps negative", block + 9, 8, negative_bits},
        {"prime 4", block + 17, 2, 4},
        {"prime 257", block + 17, 2, 257},
        {"prime 0", block + 17, 2, 0},
        {"precision 0", block + 19, 1, 0},
        {"precision 7", block + 19, 1, 7},
        {"max error NaN", block + 20, 8, nan_bits},
        {"max error negative", block + 20, 8, negative_bits},
        {"max error above eps", block + 20, 8, huge_bits},
        {"escapes beyond elements", block + 28, 8, 1ull << 40},
        {"parameter size 35", fixed + 4, 2, 35},
        {"parameter size 37", fixed + 4, 2, 37},
        {"flags 0 with codec bounded", fixed + 3, 1, 0},
        {"flags 3", fixed + 3, 1, 3},
        {"codec lossless with parameters", fixed + 1, 1, SARAPHIS_CODEC_LOSSLESS},
        {"dtype I32 with parameters", fixed, 1, SARAPHIS_DTYPE_I32},
    };
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, bytes, size);
        for (int b = 0; b < edits[e].width; b++) copy[edits[e].offset + b] = (uint8_t)(edits[e].value >> (8 * b));
        fix_index_checksum(copy, size);
        spill(bad_path, copy, size);
        saraphis_reader_t *reader = NULL;
        saraphis_status_t status = saraphis_reader_open(&reader, bad_path, ctx);
        CHECK_MSG(status == SARAPHIS_ERROR_CORRUPT, "%s: open gave %d", edits[e].what, status);
        CHECK_MSG(strstr(saraphis_last_error(), "'w'") != NULL, "%s: message '%s'", edits[e].what, saraphis_last_error());
        saraphis_reader_free(reader);
        free(copy);
    }
    /* eps edited to another valid value: the index parses, the records' own parameters disagree. */
    uint8_t *copy = malloc(size);
    memcpy(copy, bytes, size);
    double other = padic_bits_double(load_le64(copy + block + 9)) * 2;
    store_le64(copy + block + 9, padic_double_bits(other));
    fix_index_checksum(copy, size);
    spill(bad_path, copy, size);
    saraphis_reader_t *reader = NULL;
    CHECK(saraphis_reader_open(&reader, bad_path, ctx) == SARAPHIS_OK);
    uint8_t *out = malloc(tensors[0].size);
    CHECK(saraphis_reader_read_tensor(reader, 0, out, tensors[0].size) == SARAPHIS_ERROR_CORRUPT);
    CHECK(strstr(saraphis_last_error(), "index says") != NULL);
    double bound;
    CHECK(saraphis_reader_read_tensor_planes(reader, 0, 1, out, tensors[0].size, &bound) == SARAPHIS_ERROR_CORRUPT);
    free(out);
    saraphis_reader_free(reader);
    free(copy);
    free(bytes);
    saraphis_ctx_free(ctx);
}

static void test_every_byte_flip_detected(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 4096);
    CHECK(saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 0) == SARAPHIS_OK);
    const char *path = in_folder("small-bounded.sps");
    saraphis_writer_t *writer = NULL;
    CHECK(saraphis_writer_open(&writer, path, ctx) == SARAPHIS_OK);
    saraphis_tensor_desc_t desc = {.name = "w", .dtype = SARAPHIS_DTYPE_F32, .ndim = 2, .shape = {3, 1000}};
    CHECK(saraphis_writer_add_tensor(writer, &desc, tensors[0].data, 12000) == SARAPHIS_OK);
    saraphis_tensor_desc_t desc2 = {.name = "i", .dtype = SARAPHIS_DTYPE_I32, .ndim = 1, .shape = {500}};
    CHECK(saraphis_writer_add_tensor(writer, &desc2, tensors[4].data, 2000) == SARAPHIS_OK);
    CHECK(saraphis_writer_finish(writer) == SARAPHIS_OK);
    saraphis_writer_free(writer);
    size_t size = 0;
    uint8_t *bytes = slurp(path, &size);
    CHECK(bytes != NULL);
    const char *corrupt = in_folder("flipped.sps");
    size_t undetected = 0;
    for (size_t pos = 0; bytes && pos < size; pos++) {
        bytes[pos] ^= 0x10;
        spill(corrupt, bytes, size);
        if (open_and_verify(corrupt, ctx) == SARAPHIS_OK) {
            undetected++;
            fprintf(stderr, "flip at %zu of %zu undetected\n", pos, size);
        }
        bytes[pos] ^= 0x10;
    }
    CHECK_MSG(undetected == 0, "%zu of %zu flipped bytes went undetected", undetected, size);
    free(bytes);
    saraphis_ctx_free(ctx);
}

static void test_frames(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 16384);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 2);
    CHECK(saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_RELATIVE_RANGE, 1e-4, 0, 0) == SARAPHIS_OK);
    for (size_t i = 0; i < TENSOR_COUNT; i++) {
        const tensor_t *t = &tensors[i];
        size_t capacity = saraphis_compress_bound(t->size, 16384), frame_size = 0, out_size = 0;
        uint8_t *frame = malloc(capacity), *out = malloc(t->size + 1);
        CHECK_MSG(saraphis_compress(ctx, t->dtype, t->data, t->size, frame, capacity, &frame_size) == SARAPHIS_OK, "%s: %s", t->name,
                  saraphis_last_error());
        saraphis_frame_info_t info;
        CHECK(saraphis_frame_info(frame, frame_size, &info) == SARAPHIS_OK);
        CHECK(saraphis_decompress(ctx, frame, frame_size, out, t->size, &out_size) == SARAPHIS_OK && out_size == t->size);
        double eps = 0;
        if (is_float(t->dtype)) padic_resolve_bound(t->dtype, t->data, t->size, PADIC_RELATIVE_RANGE, 1e-4, &eps);
        if (eps > 0) {
            double largest;
            CHECK_MSG(info.codec == SARAPHIS_CODEC_BOUNDED, "%s: frame codec %d", t->name, info.codec);
            CHECK_MSG(check_within(t, out, eps, &largest) == 0, "%s: frame elements outside %g", t->name, eps);
        } else {
            CHECK_MSG(info.codec == SARAPHIS_CODEC_LOSSLESS, "%s: frame codec %d", t->name, info.codec);
            CHECK(memcmp(out, t->data, t->size) == 0);
        }
        free(frame);
        free(out);
    }
    saraphis_ctx_free(ctx);
}

/* ---- Progressive frames: saraphis_decompress_planes ------------------------------------ */

/* The reference: each record of the frame decoded on its own by the codec (padic_decode_chunk
 * with `planes` for bounded records, saraphis_decompress's bytes otherwise); the largest bound. */
static int reference_planes(const uint8_t *frame, size_t frame_size, const uint8_t *whole, unsigned planes, uint8_t *dst,
                            double *bound)
{
    saraphis_frame_info_t info;
    if (saraphis_frame_info(frame, frame_size, &info) != SARAPHIS_OK) return 0;
    size_t element = saraphis_dtype_size(info.dtype), offset = 32 + 4 * (size_t)info.chunk_count;
    *bound = 0;
    for (uint32_t c = 0; c < info.chunk_count; c++) {
        size_t record_size = load_le32(frame + 32 + 4 * (size_t)c), begin = (size_t)c * info.chunk_bytes;
        size_t raw = info.raw_size - begin < info.chunk_bytes ? (size_t)(info.raw_size - begin) : info.chunk_bytes;
        const uint8_t *record = frame + offset;
        offset += record_size;
        if (record[24] != 2) { /* CHUNK_PADIC */
            memcpy(dst + begin, whole + begin, raw);
            continue;
        }
        double b = 0;
        if (padic_decode_chunk(info.dtype, record + 25, record_size - 25, dst + begin, raw, planes, NULL, &b) != SARAPHIS_OK) return 0;
        (void)element;
        if (b > *bound) *bound = b;
    }
    return 1;
}

static void reseal_record_at(uint8_t *record, size_t record_size)
{
    store_le64(record, checksum64(record + 8, record_size - 8, 0));
}

static void test_frame_planes(void)
{
    static const setting_t settings[] = {
        {SARAPHIS_BOUND_ABSOLUTE, 1e-6, 0, 0},       /* p 251, P 3 on the weights */
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 3, 0},       /* p 3, more planes */
        {SARAPHIS_BOUND_RELATIVE_RANGE, 1e-4, 13, 0},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-4, 251, 5},     /* zero top planes */
        {SARAPHIS_BOUND_ABSOLUTE, 1e-2, 2, 0},
    };
    size_t partial_checked = 0;
    for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
        const setting_t *setting = &settings[s];
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 16384);
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 2);
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, s % 2 == 0);
        CHECK(saraphis_ctx_set_error_bound(ctx, setting->mode, setting->bound, setting->prime, setting->precision) == SARAPHIS_OK);
        for (size_t i = 0; i < TENSOR_COUNT; i++) {
            const tensor_t *t = &tensors[i];
            size_t capacity = saraphis_compress_bound(t->size, 16384), frame_size = 0, out_size = 0;
            uint8_t *frame = malloc(capacity), *whole = malloc(t->size + 1), *out = malloc(t->size + 1), *expected = malloc(t->size + 1);
            CHECK(saraphis_compress(ctx, t->dtype, t->data, t->size, frame, capacity, &frame_size) == SARAPHIS_OK);
            CHECK(saraphis_decompress(ctx, frame, frame_size, whole, t->size, &out_size) == SARAPHIS_OK);
            saraphis_frame_info_t info;
            CHECK(saraphis_frame_info(frame, frame_size, &info) == SARAPHIS_OK);
            /* The frame's precision: the first bounded record's. */
            unsigned precision = 0, prime = 0;
            double eps = 0;
            for (size_t c = 0, offset = 32 + 4 * (size_t)info.chunk_count; c < info.chunk_count; c++) {
                size_t record_size = load_le32(frame + 32 + 4 * c);
                if (frame[offset + 24] == 2) {
                    padic_info_t pinfo;
                    CHECK(padic_payload_info(frame + offset + 25, record_size - 25, &pinfo) == SARAPHIS_OK);
                    precision = pinfo.params.precision;
                    prime = pinfo.params.prime;
                    eps = pinfo.params.eps;
                    break;
                }
                offset += record_size;
            }
            double previous = INFINITY;
            for (unsigned planes = 0; planes <= precision + 1; planes++) {
                double bound = -1, reference = -1;
                memset(out, 0x5a, t->size + 1);
                saraphis_status_t status = saraphis_decompress_planes(ctx, frame, frame_size, planes, out, t->size, &out_size, &bound);
                CHECK_MSG(status == SARAPHIS_OK && out_size == t->size, "%s setting %zu planes %u: %s", t->name, s, planes, saraphis_last_error());
                CHECK_MSG(reference_planes(frame, frame_size, whole, planes, expected, &reference), "%s planes %u: reference", t->name, planes);
                CHECK_MSG(memcmp(out, expected, t->size) == 0, "%s setting %zu planes %u: differs from the codec's progressive decode", t->name, s,
                          planes);
                CHECK_MSG(bound == reference, "%s planes %u: bound %g, chunks say %g", t->name, planes, bound, reference);
                if (planes == 0 || planes >= precision) {
                    CHECK_MSG(memcmp(out, whole, t->size) == 0, "%s planes %u: differs from saraphis_decompress", t->name, planes);
                    CHECK(bound == (precision ? eps : 0));
                } else {
                    padic_params_t params = {eps, prime, precision};
                    CHECK_MSG(bound == padic_progressive_bound(&params, planes), "%s planes %u: bound %g", t->name, planes, bound);
                    CHECK(bound <= previous);
                    partial_checked++;
                }
                double largest;
                if (precision) CHECK_MSG(check_within(t, out, bound, &largest) == 0, "%s planes %u: elements outside %g", t->name, planes, bound);
                else CHECK(memcmp(out, t->data, t->size) == 0 && bound == 0);
                if (planes) previous = bound;
            }
            free(frame); free(whole); free(out); free(expected);
        }
        saraphis_ctx_free(ctx);
    }
    CHECK_MSG(partial_checked >= 20, "only %zu partial frame decodes", partial_checked);

    /* Errors: arguments, a short destination, a cut frame, corrupt records (reported with the
     * chunk), and what a decode of fewer planes does not read or check. */
    unsigned long long rng = 99;
    tensor_t local = {"errors.f32", SARAPHIS_DTYPE_F32, 20000, 0.05, 0, 0, NULL, 20000 * 4};
    local.data = malloc(local.size);
    for (size_t k = 0; k < local.count; k++) store(SARAPHIS_DTYPE_F32, local.data + 4 * k, k % 500 == 7 ? NAN : gaussian(&rng, 0.05));
    const tensor_t *t = &local;
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 16384);
    CHECK(saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_ABSOLUTE, 1e-6, 0, 0) == SARAPHIS_OK);
    size_t capacity = saraphis_compress_bound(t->size, 16384), frame_size = 0, out_size = 0;
    uint8_t *frame = malloc(capacity), *bad = malloc(capacity), *out = malloc(t->size), *one = malloc(t->size), *again = malloc(t->size);
    CHECK(saraphis_compress(ctx, t->dtype, t->data, t->size, frame, capacity, &frame_size) == SARAPHIS_OK);
    double bound = 0;
    CHECK(saraphis_decompress_planes(NULL, frame, frame_size, 1, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(saraphis_decompress_planes(ctx, NULL, frame_size, 1, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(saraphis_decompress_planes(ctx, frame, frame_size, 1, out, t->size, NULL, &bound) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(saraphis_decompress_planes(ctx, frame, frame_size, 1, out, t->size - 1, &out_size, &bound) == SARAPHIS_ERROR_BUFFER_TOO_SMALL);
    CHECK(strstr(saraphis_last_error(), "decompress_planes") != NULL);
    CHECK(saraphis_decompress_planes(ctx, frame, frame_size - 1, 1, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_TRUNCATED);
    CHECK(saraphis_decompress_planes(ctx, frame, frame_size, 1, out, t->size, &out_size, NULL) == SARAPHIS_OK);
    CHECK(saraphis_decompress_planes(ctx, frame, frame_size, 1, one, t->size, &out_size, &bound) == SARAPHIS_OK);
    CHECK(memcmp(out, one, t->size) == 0);
    /* Record 2 (a bounded one): its layout. */
    uint32_t chunks = load_le32(frame + 12);
    size_t offset = 32 + 4 * (size_t)chunks;
    for (int c = 0; c < 2; c++) offset += load_le32(frame + 32 + 4 * (size_t)c);
    size_t record_size = load_le32(frame + 32 + 8);
    CHECK(chunks > 3 && frame[offset + 24] == 2);
    padic_info_t pinfo;
    CHECK(padic_payload_info(frame + offset + 25, record_size - 25, &pinfo) == SARAPHIS_OK);
    CHECK(pinfo.params.precision == 3);
    size_t plane0 = offset + 25 + pinfo.head_bytes, last_plane = plane0 + pinfo.plane_bytes[0] + pinfo.plane_bytes[1];
    /* A flipped bit in a plane the decode does not read: still the record checksum, naming chunk 2. */
    memcpy(bad, frame, frame_size);
    bad[last_plane + 3] ^= 0x10;
    CHECK(saraphis_decompress_planes(ctx, bad, frame_size, 1, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_CHECKSUM);
    CHECK_MSG(strstr(saraphis_last_error(), "chunk 2") != NULL, "message: %s", saraphis_last_error());
    /* Re-sealed (the record checksum made valid again): a change in the last plane breaks only a
     * decode that reads it (its plane checksum); the top planes decode as before. */
    reseal_record_at(bad + offset, record_size);
    CHECK(saraphis_decompress_planes(ctx, bad, frame_size, 0, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_CHECKSUM);
    CHECK(strstr(saraphis_last_error(), "chunk 2") != NULL && strstr(saraphis_last_error(), "plane 2") != NULL);
    CHECK(saraphis_decompress_planes(ctx, bad, frame_size, 2, again, t->size, &out_size, &bound) == SARAPHIS_OK);
    CHECK(saraphis_decompress_planes(ctx, frame, frame_size, 2, out, t->size, &out_size, &bound) == SARAPHIS_OK);
    CHECK(memcmp(out, again, t->size) == 0);
    /* A change in the top plane, re-sealed: the plane checksum, with any number of planes. */
    memcpy(bad, frame, frame_size);
    bad[plane0 + 6] ^= 0x01;
    reseal_record_at(bad + offset, record_size);
    for (unsigned planes = 0; planes <= 3; planes++) {
        CHECK(saraphis_decompress_planes(ctx, bad, frame_size, planes, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_CHECKSUM);
        CHECK(strstr(saraphis_last_error(), "chunk 2") != NULL);
    }
    /* The content checksum (changed and re-sealed) is checked only when every plane is decoded. */
    memcpy(bad, frame, frame_size);
    bad[offset + 16] ^= 0x40;
    reseal_record_at(bad + offset, record_size);
    CHECK(saraphis_decompress_planes(ctx, bad, frame_size, 0, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_CHECKSUM);
    CHECK(strstr(saraphis_last_error(), "content checksum") != NULL);
    CHECK(saraphis_decompress_planes(ctx, bad, frame_size, 3, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_CHECKSUM);
    CHECK(saraphis_decompress_planes(ctx, bad, frame_size, 1, out, t->size, &out_size, &bound) == SARAPHIS_OK);
    CHECK(memcmp(out, one, t->size) == 0);
    /* A plane table that claims more bytes than the record has: truncated for a decode that needs
     * them, unnoticed by one that reads only the top plane (as padic_decode_chunk). */
    memcpy(bad, frame, frame_size);
    store_le32(bad + offset + 25 + 24 + 12 * 2, pinfo.plane_bytes[2] + 1000);
    {
        uint8_t *payload = bad + offset + 25;
        size_t head_end = pinfo.head_bytes - 8;
        store_le64(payload + head_end, checksum64(payload, head_end, 0));
    }
    reseal_record_at(bad + offset, record_size);
    CHECK(saraphis_decompress_planes(ctx, bad, frame_size, 3, out, t->size, &out_size, &bound) == SARAPHIS_ERROR_TRUNCATED);
    CHECK(saraphis_decompress_planes(ctx, bad, frame_size, 1, out, t->size, &out_size, &bound) == SARAPHIS_OK);
    CHECK(memcmp(out, one, t->size) == 0);
    free(frame); free(bad); free(out); free(one); free(again);
    free(local.data);
    saraphis_ctx_free(ctx);
}

static void test_parameter_checks(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CODEC, SARAPHIS_CODEC_BOUNDED) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "error bound") != NULL);
    CHECK(saraphis_ctx_get_error_bound(ctx, NULL, NULL, NULL, NULL) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    struct { saraphis_bound_mode_t mode; double bound; unsigned prime, precision; const char *names; } bad[] = {
        {SARAPHIS_BOUND_ABSOLUTE, 0, 0, 0, "error bound"},
        {SARAPHIS_BOUND_ABSOLUTE, -1, 0, 0, "error bound"},
        {SARAPHIS_BOUND_RELATIVE_STD, NAN, 0, 0, "error bound"},
        {SARAPHIS_BOUND_ABSOLUTE, INFINITY, 0, 0, "error bound"},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 4, 0, "prime"},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 1, 0, "prime"},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 257, 0, "prime"},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 7, "precision"},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 2, 41, "precision"},
        {(saraphis_bound_mode_t)9, 1e-3, 0, 0, "mode"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(saraphis_ctx_set_error_bound(ctx, bad[i].mode, bad[i].bound, bad[i].prime, bad[i].precision) == SARAPHIS_ERROR_INVALID_ARGUMENT);
        CHECK_MSG(strstr(saraphis_last_error(), bad[i].names) != NULL, "case %zu: '%s' lacks '%s'", i, saraphis_last_error(), bad[i].names);
    }
    int64_t codec = 0;
    CHECK(saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_CODEC, &codec) == SARAPHIS_OK && codec == SARAPHIS_CODEC_LOSSLESS);
    CHECK(saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_RELATIVE_STD, 0.05, 3, 0) == SARAPHIS_OK);
    CHECK(saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_CODEC, &codec) == SARAPHIS_OK && codec == SARAPHIS_CODEC_BOUNDED);
    saraphis_bound_mode_t mode;
    double bound;
    unsigned prime, precision;
    CHECK(saraphis_ctx_get_error_bound(ctx, &mode, &bound, &prime, &precision) == SARAPHIS_OK);
    CHECK(mode == SARAPHIS_BOUND_RELATIVE_STD && bound == 0.05 && prime == 3 && precision == 0);
    /* Back to lossless and to bounded again through the parameter. */
    CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CODEC, SARAPHIS_CODEC_LOSSLESS) == SARAPHIS_OK);
    CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CODEC, SARAPHIS_CODEC_BOUNDED) == SARAPHIS_OK);
    saraphis_ctx_free(ctx);
}

int main(void)
{
    struct stat info;
    const char *base = (stat("/dev/shm", &info) == 0 && S_ISDIR(info.st_mode)) ? "/dev/shm" : "/tmp";
    snprintf(folder, sizeof folder, "%s/saraphis-test-bounded-XXXXXX", base);
    if (!mkdtemp(folder)) return 2;
    make_tensors();
    test_parameter_checks();
    test_frames();
    test_frame_planes();
    test_container_round_trips();
    test_progressive();
    test_hostile_parameters();
    test_every_byte_flip_detected();
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", folder);
    if (!getenv("SARAPHIS_TEST_KEEP") && system(command) != 0) fprintf(stderr, "could not remove %s\n", folder);
    for (size_t i = 0; i < TENSOR_COUNT; i++) free(tensors[i].data);
    return TEST_SUMMARY("bounded_container");
}
