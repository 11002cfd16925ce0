/* The .sps container through the public API: round trips of many tensors, random access to one
 * tensor, metadata, every flipped byte and every truncation detected with a message naming the
 * tensor and chunk, atomic writes that leave the destination untouched, hostile sizes refused. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "saraphis.h"
#include "file_support.h"
#include "testing.h"

static char folder[256];

static void make_folder(void)
{
    /* Memory-backed when available: the flip test rewrites the file thousands of times. */
    struct stat info;
    const char *base = (stat("/dev/shm", &info) == 0 && S_ISDIR(info.st_mode)) ? "/dev/shm" : "/tmp";
    snprintf(folder, sizeof folder, "%s/saraphis-test-container-XXXXXX", base);
    CHECK(mkdtemp(folder) != NULL);
}

static char *path_in_folder(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    return path;
}

typedef struct {
    const char *name;
    saraphis_dtype_t dtype;
    size_t count;
    uint8_t *data;
    size_t size;
} sample_t;

static sample_t samples[] = {
    {"layer.0.weight", SARAPHIS_DTYPE_BF16, 300000, 0, 0},
    {"layer.0.bias", SARAPHIS_DTYPE_F32, 1000, 0, 0},
    {"embeddings", SARAPHIS_DTYPE_F16, 70001, 0, 0},
    {"counts", SARAPHIS_DTYPE_I64, 5000, 0, 0},
    {"empty", SARAPHIS_DTYPE_F32, 0, 0, 0},
    {"mask", SARAPHIS_DTYPE_BOOL, 777, 0, 0},
};
#define SAMPLE_COUNT (sizeof samples / sizeof samples[0])

static void make_samples(void)
{
    unsigned long long rng = 99;
    for (size_t i = 0; i < SAMPLE_COUNT; i++) {
        samples[i].size = samples[i].count * saraphis_dtype_size(samples[i].dtype);
        samples[i].data = malloc(samples[i].size + 1);
        for (size_t b = 0; b < samples[i].size; b++) {
            unsigned long long r = test_random(&rng);
            /* Low-entropy high bytes make the samples compressible, like real weights. */
            samples[i].data[b] = (b % 2) ? (uint8_t)(0x3c + (r & 3)) : (uint8_t)r;
            if (samples[i].dtype == SARAPHIS_DTYPE_BOOL) samples[i].data[b] = r & 1;
        }
    }
}

static saraphis_status_t write_file(const char *path, saraphis_ctx_t *ctx)
{
    saraphis_writer_t *writer = NULL;
    saraphis_status_t status = saraphis_writer_open(&writer, path, ctx);
    if (status != SARAPHIS_OK) return status;
    for (size_t i = 0; i < SAMPLE_COUNT && status == SARAPHIS_OK; i++) {
        saraphis_tensor_desc_t desc = {.name = samples[i].name, .dtype = samples[i].dtype, .ndim = 1, .shape = {samples[i].count}};
        status = saraphis_writer_add_tensor(writer, &desc, samples[i].data, samples[i].size);
    }
    if (status == SARAPHIS_OK) status = saraphis_writer_set_metadata(writer, "model_name", "test-model");
    if (status == SARAPHIS_OK) status = saraphis_writer_set_metadata(writer, "note", "a value with \"quotes\" and\nnewlines");
    if (status == SARAPHIS_OK) status = saraphis_writer_finish(writer);
    saraphis_writer_free(writer);
    return status;
}

static int read_all_and_compare(const char *path, saraphis_ctx_t *ctx)
{
    saraphis_reader_t *reader = NULL;
    saraphis_status_t status = saraphis_reader_open(&reader, path, ctx);
    if (status != SARAPHIS_OK) return status;
    for (size_t i = 0; i < SAMPLE_COUNT && status == SARAPHIS_OK; i++) {
        size_t index;
        status = saraphis_reader_find(reader, samples[i].name, &index);
        if (status != SARAPHIS_OK) break;
        uint8_t *out = malloc(samples[i].size + 1);
        status = saraphis_reader_read_tensor(reader, index, out, samples[i].size);
        if (status == SARAPHIS_OK && memcmp(out, samples[i].data, samples[i].size) != 0) status = SARAPHIS_ERROR_CORRUPT;
        free(out);
    }
    saraphis_reader_free(reader);
    return status;
}

static void test_round_trip(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 65536);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 3);
    const char *path = path_in_folder("model.sps");
    CHECK_MSG(write_file(path, ctx) == SARAPHIS_OK, "%s", saraphis_last_error());
    CHECK_MSG(read_all_and_compare(path, ctx) == SARAPHIS_OK, "%s", saraphis_last_error());
    saraphis_reader_t *reader = NULL;
    CHECK(saraphis_reader_open(&reader, path, ctx) == SARAPHIS_OK);
    CHECK(saraphis_reader_tensor_count(reader) == SAMPLE_COUNT);
    CHECK(saraphis_reader_metadata_get(reader, "model_name") && strcmp(saraphis_reader_metadata_get(reader, "model_name"), "test-model") == 0);
    CHECK(saraphis_reader_metadata_get(reader, "absent") == NULL);
    saraphis_tensor_info_t info;
    CHECK(saraphis_reader_tensor_info(reader, 0, &info) == SARAPHIS_OK);
    CHECK(strcmp(info.name, "layer.0.weight") == 0 && info.dtype == SARAPHIS_DTYPE_BF16 && info.ndim == 1 && info.shape[0] == 300000);
    CHECK(info.compressed_size < info.raw_size);
    CHECK(saraphis_reader_verify(reader) == SARAPHIS_OK);
    size_t index;
    CHECK(saraphis_reader_find(reader, "missing", &index) == SARAPHIS_ERROR_NOT_FOUND);
    uint8_t small[16];
    CHECK(saraphis_reader_read_tensor(reader, 0, small, sizeof small) == SARAPHIS_ERROR_BUFFER_TOO_SMALL);
    saraphis_reader_free(reader);
    /* Thread count does not change the bytes. */
    saraphis_ctx_t *single = saraphis_ctx_create();
    saraphis_ctx_set_param(single, SARAPHIS_PARAM_CHUNK_BYTES, 65536);
    const char *other = path_in_folder("model-1thread.sps");
    CHECK(write_file(other, single) == SARAPHIS_OK);
    FILE *a = fopen(path, "rb"), *b = fopen(other, "rb");
    int same = a && b;
    while (same) {
        int ca = fgetc(a), cb = fgetc(b);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (a) fclose(a);
    if (b) fclose(b);
    CHECK_MSG(same, "files written with 3 threads and 1 thread differ");
    saraphis_ctx_free(single);
    saraphis_ctx_free(ctx);
}

static void test_every_byte_flip_detected(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 8192);
    /* A smaller file so every byte can be flipped. */
    const char *path = path_in_folder("small.sps");
    saraphis_writer_t *writer = NULL;
    CHECK(saraphis_writer_open(&writer, path, ctx) == SARAPHIS_OK);
    saraphis_tensor_desc_t desc = {.name = "w", .dtype = SARAPHIS_DTYPE_BF16, .ndim = 2, .shape = {50, 160}};
    CHECK(saraphis_writer_add_tensor(writer, &desc, samples[0].data, 16000) == SARAPHIS_OK);
    saraphis_tensor_desc_t desc2 = {.name = "b", .dtype = SARAPHIS_DTYPE_F32, .ndim = 1, .shape = {1000}};
    CHECK(saraphis_writer_add_tensor(writer, &desc2, samples[1].data, 4000) == SARAPHIS_OK);
    CHECK(saraphis_writer_set_metadata(writer, "k", "v") == SARAPHIS_OK);
    CHECK(saraphis_writer_finish(writer) == SARAPHIS_OK);
    saraphis_writer_free(writer);
    size_t size = 0;
    uint8_t *bytes = slurp(path, &size);
    CHECK(bytes != NULL);
    const char *corrupt = path_in_folder("corrupt.sps");
    size_t undetected = 0, named = 0, record_flips = 0;
    for (size_t pos = 0; bytes && pos < size; pos++) {
        bytes[pos] ^= 0x04;
        spill(corrupt, bytes, size);
        saraphis_status_t status = open_and_verify(corrupt, ctx);
        if (status == SARAPHIS_OK) undetected++;
        else if (pos >= 64 && pos < size - 200) {
            record_flips++;
            if (strstr(saraphis_last_error(), "tensor '") && strstr(saraphis_last_error(), "chunk ")) named++;
        }
        bytes[pos] ^= 0x04;
    }
    CHECK_MSG(undetected == 0, "%zu of %zu flipped bytes went undetected", undetected, size);
    CHECK_MSG(named > record_flips / 2, "only %zu of %zu record corruptions named tensor and chunk", named, record_flips);
    /* SARAPHIS_PARAM_VERIFY_RECORDS 0: reading a tensor whose first record's checksum field is
     * flipped succeeds (its content checksum verifies the bytes); verify still reports it. */
    if (bytes) {
        bytes[64 + 3] ^= 0x04;
        spill(corrupt, bytes, size);
        bytes[64 + 3] ^= 0x04;
        for (int verify = 1; verify >= 0; verify--) {
            saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, verify);
            saraphis_reader_t *reader = NULL;
            uint8_t out[16000];
            CHECK(saraphis_reader_open(&reader, corrupt, ctx) == SARAPHIS_OK);
            saraphis_status_t status = saraphis_reader_read_tensor(reader, 0, out, sizeof out);
            CHECK_MSG(status == (verify ? SARAPHIS_ERROR_CHECKSUM : SARAPHIS_OK), "verify_records %d: %s", verify, saraphis_status_name(status));
            if (!verify) CHECK(memcmp(out, samples[0].data, sizeof out) == 0);
            status = saraphis_reader_verify(reader);
            CHECK_MSG(status == SARAPHIS_ERROR_CHECKSUM, "verify_records %d: reader_verify: %s %s", verify, saraphis_status_name(status), saraphis_last_error());
            saraphis_reader_free(reader);
        }
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, 1);
    }
    /* Truncation anywhere is an error. */
    for (size_t cut = 0; bytes && cut < size; cut += (cut < 200 ? 1 : 37)) {
        spill(corrupt, bytes, cut);
        CHECK_MSG(open_and_verify(corrupt, ctx) != SARAPHIS_OK, "truncated at %zu accepted", cut);
    }
    free(bytes);
    saraphis_ctx_free(ctx);
}

static void test_atomic_writes(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    const char *path = path_in_folder("precious.sps");
    spill(path, (const uint8_t *)"precious", 8);
    /* A writer that fails (bad shape) or is freed without finish leaves the file as it was. */
    saraphis_writer_t *writer = NULL;
    CHECK(saraphis_writer_open(&writer, path, ctx) == SARAPHIS_OK);
    saraphis_tensor_desc_t bad = {.name = "x", .dtype = SARAPHIS_DTYPE_F32, .ndim = 1, .shape = {3}};
    CHECK(saraphis_writer_add_tensor(writer, &bad, samples[1].data, 16) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "'x'") != NULL);
    saraphis_tensor_desc_t dup = {.name = "same", .dtype = SARAPHIS_DTYPE_F32, .ndim = 1, .shape = {4}};
    CHECK(saraphis_writer_add_tensor(writer, &dup, samples[1].data, 16) == SARAPHIS_OK);
    CHECK(saraphis_writer_add_tensor(writer, &dup, samples[1].data, 16) == SARAPHIS_OK);
    CHECK(saraphis_writer_finish(writer) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "same") != NULL);
    saraphis_writer_free(writer);
    size_t size = 0;
    uint8_t *bytes = slurp(path, &size);
    CHECK(bytes && size == 8 && memcmp(bytes, "precious", 8) == 0);
    free(bytes);
    /* No temporary files are left behind. */
    char command[600];
    snprintf(command, sizeof command, "ls %s | grep -c tmp > /dev/null", folder);
    CHECK(system(command) != 0);
    /* Unknown dtype, too many dims, NULLs. */
    CHECK(saraphis_writer_open(&writer, path, ctx) == SARAPHIS_OK);
    saraphis_tensor_desc_t unknown = {.name = "u", .dtype = (saraphis_dtype_t)77, .ndim = 1, .shape = {1}};
    CHECK(saraphis_writer_add_tensor(writer, &unknown, samples[1].data, 4) == SARAPHIS_ERROR_DTYPE);
    saraphis_tensor_desc_t deep = {.name = "d", .dtype = SARAPHIS_DTYPE_U8, .ndim = 17};
    CHECK(saraphis_writer_add_tensor(writer, &deep, samples[1].data, 1) == SARAPHIS_ERROR_LIMIT);
    CHECK(saraphis_writer_add_tensor(writer, NULL, samples[1].data, 1) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    saraphis_writer_free(writer);
    saraphis_writer_free(NULL);
    saraphis_reader_free(NULL);
    /* A writer into a folder that does not exist fails cleanly. */
    CHECK(saraphis_writer_open(&writer, "/nonexistent-folder/x.sps", ctx) == SARAPHIS_ERROR_IO);
    saraphis_reader_t *reader = NULL;
    CHECK(saraphis_reader_open(&reader, "/nonexistent-folder/x.sps", ctx) == SARAPHIS_ERROR_IO);
    CHECK(saraphis_reader_open(&reader, path, ctx) != SARAPHIS_OK);
    saraphis_ctx_free(ctx);
}

static void test_streamed_input(void)
{
    /* add_tensor_fd reads from a file at an offset, batch by batch. */
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 4096);
    const char *raw = path_in_folder("raw.bin");
    spill(raw, samples[0].data, samples[0].size);
    int fd = open(raw, O_RDONLY);
    saraphis_writer_t *writer = NULL;
    const char *path = path_in_folder("streamed.sps");
    CHECK(saraphis_writer_open(&writer, path, ctx) == SARAPHIS_OK);
    saraphis_tensor_desc_t desc = {.name = "tail", .dtype = SARAPHIS_DTYPE_BF16, .ndim = 1, .shape = {(samples[0].size - 1000) / 2}};
    CHECK(saraphis_writer_add_tensor_fd(writer, &desc, fd, 1000, samples[0].size - 1000) == SARAPHIS_OK);
    saraphis_tensor_desc_t past = {.name = "past", .dtype = SARAPHIS_DTYPE_U8, .ndim = 1, .shape = {100}};
    CHECK(saraphis_writer_add_tensor_fd(writer, &past, fd, samples[0].size - 50, 100) == SARAPHIS_ERROR_TRUNCATED);
    saraphis_writer_free(writer);
    CHECK(saraphis_writer_open(&writer, path, ctx) == SARAPHIS_OK);
    CHECK(saraphis_writer_add_tensor_fd(writer, &desc, fd, 1000, samples[0].size - 1000) == SARAPHIS_OK);
    CHECK(saraphis_writer_finish(writer) == SARAPHIS_OK);
    saraphis_writer_free(writer);
    close(fd);
    saraphis_reader_t *reader = NULL;
    CHECK(saraphis_reader_open(&reader, path, ctx) == SARAPHIS_OK);
    const char *out_path = path_in_folder("out.bin");
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(saraphis_reader_write_tensor_fd(reader, 0, out) == SARAPHIS_OK);
    close(out);
    size_t size = 0;
    uint8_t *bytes = slurp(out_path, &size);
    CHECK(bytes && size == samples[0].size - 1000 && memcmp(bytes, samples[0].data + 1000, size) == 0);
    free(bytes);
    saraphis_reader_free(reader);
    saraphis_ctx_free(ctx);
}

int main(void)
{
    make_folder();
    make_samples();
    test_round_trip();
    test_every_byte_flip_detected();
    test_atomic_writes();
    test_streamed_input();
    char command[600];
    snprintf(command, sizeof command, "rm -rf %s", folder);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", folder);
    for (size_t i = 0; i < SAMPLE_COUNT; i++) free(samples[i].data);
    return TEST_SUMMARY("container");
}
