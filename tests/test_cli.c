/* The saraphis tool end to end: safetensors (with and without gaps), .npy and raw inputs round
 * trip byte for byte; info and verify; corrupted and truncated files give a non-zero exit and a
 * message naming tensor and chunk; existing outputs are never overwritten without -f. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "container/npy.h"
#include "container/safetensors.h"
#include "saraphis.h"
#include "testing.h"

static char folder[256];

static const char *in_folder(const char *name)
{
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 512, "%s/%s", folder, name);
    return path;
}

/* Runs the tool with arguments; returns its exit code; its stderr goes to folder/stderr. */
static int run_tool(const char *arguments)
{
    char command[4096];
    snprintf(command, sizeof command, "'%s' %s >'%s/stdout' 2>'%s/stderr'", SARAPHIS_CLI_PATH, arguments, folder, folder);
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *read_text(const char *path, size_t *size_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(size + 1);
    size_t got = fread(text, 1, size, f);
    text[got] = '\0';
    fclose(f);
    if (size_out) *size_out = got;
    return text;
}

static int files_equal(const char *a, const char *b)
{
    size_t sa = 0, sb = 0;
    char *x = read_text(a, &sa), *y = read_text(b, &sb);
    int equal = x && y && sa == sb && memcmp(x, y, sa) == 0;
    free(x); free(y);
    return equal;
}

static int stderr_contains(const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stderr", folder);
    char *text = read_text(path, NULL);
    int found = text && strstr(text, needle) != NULL;
    if (!found) fprintf(stderr, "stderr was: %s\n", text ? text : "(none)");
    free(text);
    return found;
}

static void write_bytes(const char *path, const void *bytes, size_t size, const char *mode)
{
    FILE *f = fopen(path, mode);
    fwrite(bytes, 1, size, f);
    fclose(f);
}

/* A safetensors file of a few tensors in several dtypes; with_gap leaves 24 bytes between two. */
static void make_safetensors(const char *path, int with_gap)
{
    unsigned long long rng = 5;
    safetensors_tensor_t tensors[4] = {
        {.name = "encoder.weight", .dtype = SARAPHIS_DTYPE_BF16, .ndim = 2, .shape = {256, 300}},
        {.name = "encoder.bias", .dtype = SARAPHIS_DTYPE_F32, .ndim = 1, .shape = {300}},
        {.name = "head.weight", .dtype = SARAPHIS_DTYPE_F16, .ndim = 2, .shape = {64, 100}},
        {.name = "steps", .dtype = SARAPHIS_DTYPE_I64, .ndim = 0},
    };
    safetensors_metadata_t metadata[1] = {{.key = "format", .value = "pt"}};
    uint8_t *header;
    size_t header_size;
    CHECK(safetensors_build_header(tensors, 4, metadata, 1, &header, &header_size) == SARAPHIS_OK);
    uint64_t data_size = tensors[3].end;
    if (with_gap) {
        /* Move the last two tensors 24 bytes later by editing offsets: rebuild by hand. */
        free(header);
        char json[2048];
        int length = snprintf(json, sizeof json,
                              "{\"__metadata__\":{\"format\":\"pt\"},\"encoder.weight\":{\"dtype\":\"BF16\",\"shape\":[256,300],\"data_offsets\":[0,153600]},"
                              "\"encoder.bias\":{\"dtype\":\"F32\",\"shape\":[300],\"data_offsets\":[153600,154800]},"
                              "\"head.weight\":{\"dtype\":\"F16\",\"shape\":[64,100],\"data_offsets\":[154824,167624]}}");
        header_size = 8 + (size_t)length;
        header = malloc(header_size);
        for (int b = 0; b < 8; b++) header[b] = (uint8_t)((uint64_t)length >> (8 * b));
        memcpy(header + 8, json, (size_t)length);
        data_size = 167624 + 10; /* 24 gap bytes and 10 trailing bytes */
    }
    uint8_t *data = malloc(data_size);
    for (uint64_t i = 0; i < data_size; i++) {
        unsigned long long r = test_random(&rng);
        data[i] = (i % 2) ? (uint8_t)(0x3b + (r % 3)) : (uint8_t)r;
    }
    write_bytes(path, header, header_size, "wb");
    write_bytes(path, data, data_size, "ab");
    free(header);
    free(data);
    for (int i = 0; i < 4; i++) (void)tensors[i];
}

static void test_safetensors_round_trip(int with_gap)
{
    const char *model = in_folder(with_gap ? "gapped.safetensors" : "model.safetensors");
    const char *sps = in_folder(with_gap ? "gapped.sps" : "model.sps");
    const char *restored = in_folder("restored.safetensors");
    make_safetensors(model, with_gap);
    char args[2048];
    snprintf(args, sizeof args, "compress -q '%s'", model);
    CHECK_MSG(run_tool(args) == 0, "compress %s", model);
    struct stat info;
    CHECK(stat(sps, &info) == 0);
    snprintf(args, sizeof args, "info '%s'", sps);
    CHECK(run_tool(args) == 0);
    char stdout_path[512];
    snprintf(stdout_path, sizeof stdout_path, "%s/stdout", folder);
    char *table = read_text(stdout_path, NULL);
    CHECK(table && strstr(table, "encoder.weight") && strstr(table, "BF16") && strstr(table, "(256,300)") && strstr(table, "lossless"));
    free(table);
    snprintf(args, sizeof args, "verify '%s'", sps);
    CHECK(run_tool(args) == 0);
    snprintf(args, sizeof args, "decompress -q -f '%s' -o '%s'", sps, restored);
    CHECK(run_tool(args) == 0);
    CHECK_MSG(files_equal(model, restored), "restored safetensors differs (gap=%d)", with_gap);
    /* Default output name: model.sps -> model.safetensors, refused while it exists. */
    snprintf(args, sizeof args, "decompress -q '%s'", sps);
    CHECK(run_tool(args) != 0);
    CHECK(stderr_contains("already exists"));
    CHECK(files_equal(model, model));
}

static void test_corruption(void)
{
    const char *sps = in_folder("model.sps");
    size_t size;
    char *bytes = read_text(sps, &size);
    CHECK(bytes && size > 4000);
    const char *bad = in_folder("bad.sps");
    char args[1024];
    /* A byte in the middle of the first tensor's records. */
    bytes[3000] ^= 0x20;
    write_bytes(bad, bytes, size, "wb");
    snprintf(args, sizeof args, "verify '%s'", bad);
    int code = run_tool(args);
    CHECK_MSG(code == SARAPHIS_ERROR_CHECKSUM, "verify of a flipped byte exited %d", code);
    CHECK(stderr_contains("tensor '") && stderr_contains("chunk "));
    snprintf(args, sizeof args, "decompress -f '%s' -o '%s'", bad, in_folder("never.safetensors"));
    CHECK(run_tool(args) != 0);
    struct stat info;
    CHECK(stat(in_folder("never.safetensors"), &info) != 0); /* nothing half-written left */
    bytes[3000] ^= 0x20;
    /* Truncated. */
    write_bytes(bad, bytes, size - 100, "wb");
    snprintf(args, sizeof args, "verify '%s'", bad);
    CHECK(run_tool(args) != 0);
    CHECK(stderr_contains("bad.sps"));
    free(bytes);
}

static void test_npy_and_raw(void)
{
    uint64_t shape[2] = {300, 70};
    uint8_t *header;
    size_t header_size;
    CHECK(npy_build_header(SARAPHIS_DTYPE_F32, 2, shape, &header, &header_size) == SARAPHIS_OK);
    size_t data_size = 300 * 70 * 4;
    uint8_t *data = malloc(data_size);
    unsigned long long rng = 8;
    for (size_t i = 0; i < data_size; i++) data[i] = (i % 4 == 3) ? 0x3c : (uint8_t)test_random(&rng);
    const char *npy = in_folder("array.npy");
    write_bytes(npy, header, header_size, "wb");
    write_bytes(npy, data, data_size, "ab");
    char args[1024];
    snprintf(args, sizeof args, "compress -q '%s' -o '%s'", npy, in_folder("array.sps"));
    CHECK(run_tool(args) == 0);
    snprintf(args, sizeof args, "decompress -q '%s' -o '%s'", in_folder("array.sps"), in_folder("array-restored.npy"));
    CHECK(run_tool(args) == 0);
    CHECK(files_equal(npy, in_folder("array-restored.npy")));
    /* Raw buffer with dtype and shape from the command line. */
    const char *raw = in_folder("weights.bin");
    write_bytes(raw, data, data_size, "wb");
    snprintf(args, sizeof args, "compress -q --dtype F32 --shape 70,300 '%s' -o '%s'", raw, in_folder("weights.sps"));
    CHECK(run_tool(args) == 0);
    snprintf(args, sizeof args, "decompress -q '%s' -o '%s'", in_folder("weights.sps"), in_folder("weights.out"));
    CHECK(run_tool(args) == 0);
    CHECK(files_equal(raw, in_folder("weights.out")));
    snprintf(args, sizeof args, "compress -q --dtype F32 --shape 7,3 '%s' -o '%s'", raw, in_folder("wrong.sps"));
    CHECK(run_tool(args) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    write_bytes(in_folder("odd.bin"), data, 1001, "wb");
    snprintf(args, sizeof args, "compress -q --dtype F64 '%s' -o '%s'", in_folder("odd.bin"), in_folder("odd.sps"));
    CHECK(run_tool(args) == SARAPHIS_ERROR_DTYPE);
    CHECK(stderr_contains("odd.bin"));
    free(header);
    free(data);
}

static int stdout_contains(const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stdout", folder);
    char *text = read_text(path, NULL);
    int found = text && strstr(text, needle) != NULL;
    if (!found) fprintf(stderr, "stdout was: %s\n", text ? text : "(none)");
    free(text);
    return found;
}

/* --error-bound: a bounded .sps, its info columns, a safetensors file of the same layout back,
 * a progressive decompression, and parameter errors naming the parameter. */
static void test_bounded(void)
{
    const char *model = in_folder("bounded.safetensors");
    const char *sps = in_folder("bounded.sps");
    make_safetensors(model, 0);
    char args[2048];
    snprintf(args, sizeof args, "compress -q --error-bound 1e-3 '%s' -o '%s'", model, sps);
    CHECK_MSG(run_tool(args) == 0, "compress --error-bound");
    snprintf(args, sizeof args, "info '%s'", sps);
    CHECK(run_tool(args) == 0);
    CHECK(stdout_contains("bounded") && stdout_contains("abs 0.001") && stdout_contains("max error") && stdout_contains("lossless"));
    snprintf(args, sizeof args, "verify '%s'", sps);
    CHECK(run_tool(args) == 0);
    const char *restored = in_folder("bounded-restored.safetensors");
    snprintf(args, sizeof args, "decompress -q -f '%s' -o '%s'", sps, restored);
    CHECK(run_tool(args) == 0);
    size_t size_a = 0, size_b = 0;
    char *a = read_text(model, &size_a), *b = read_text(restored, &size_b);
    CHECK(a && b && size_a == size_b);
    if (a && b && size_a == size_b && size_a > 8) {
        uint64_t header = 0;
        for (int i = 0; i < 8; i++) header |= (uint64_t)(uint8_t)a[i] << (8 * i);
        CHECK(header + 8 <= size_a && memcmp(a, b, 8 + (size_t)header) == 0); /* same header, same layout */
        safetensors_file_t st;
        CHECK(safetensors_parse((const uint8_t *)b, 8 + (size_t)header, size_b, restored, &st) == SARAPHIS_OK);
        safetensors_file_free(&st);
    }
    free(a);
    free(b);
    snprintf(args, sizeof args, "decompress -f --planes 1 '%s' -o '%s'", sps, in_folder("coarse.safetensors"));
    CHECK(run_tool(args) == 0);
    CHECK(stdout_contains("within"));
    snprintf(args, sizeof args, "compress -q -f --error-bound 0.01 --relative std '%s' -o '%s'", model, sps);
    CHECK(run_tool(args) == 0);
    snprintf(args, sizeof args, "info '%s'", sps);
    CHECK(run_tool(args) == 0);
    CHECK(stdout_contains("std 0.01"));
    snprintf(args, sizeof args, "compress -q -f --error-bound 1e-3 --prime 4 '%s' -o '%s'", model, in_folder("never.sps"));
    CHECK(run_tool(args) != 0);
    CHECK(stderr_contains("prime"));
    snprintf(args, sizeof args, "compress -q -f --error-bound 0 '%s' -o '%s'", model, in_folder("never.sps"));
    CHECK(run_tool(args) != 0);
    CHECK(stderr_contains("error bound"));
    snprintf(args, sizeof args, "compress -q -f --error-bound 1e-3 --precision 9 '%s' -o '%s'", model, in_folder("never.sps"));
    CHECK(run_tool(args) != 0);
    CHECK(stderr_contains("precision"));
    snprintf(args, sizeof args, "compress -q -f --prime 3 '%s' -o '%s'", model, in_folder("never.sps"));
    CHECK(run_tool(args) == 1);
    CHECK(stderr_contains("--error-bound"));
    struct stat info;
    CHECK(stat(in_folder("never.sps"), &info) != 0);
}

/* --no-content-checksum and --verify-records: a change to the first record's checksum field (the
 * 8 bytes after the 64-byte file header) is caught by default; with --verify-records 0 the record
 * is checked by its content checksum alone, so the output comes out whole, unless the file was
 * written without content checksums; verify checks record checksums whatever the option. */
static void test_checksum_options(void)
{
    const char *model = in_folder("model.safetensors"), *plain = in_folder("plain.sps"), *bad = in_folder("badsum.sps");
    const char *restored = in_folder("restored2.safetensors");
    char args[2048];
    snprintf(args, sizeof args, "compress -q -f --no-content-checksum '%s' -o '%s'", model, plain);
    CHECK(run_tool(args) == 0);
    for (int content = 1; content >= 0; content--) {
        size_t size;
        char *bytes = read_text(content ? in_folder("model.sps") : plain, &size);
        CHECK(bytes && size > 100);
        if (!bytes) return;
        bytes[64] ^= 0x01;
        write_bytes(bad, bytes, size, "wb");
        free(bytes);
        snprintf(args, sizeof args, "decompress -q -f '%s' -o '%s'", bad, restored);
        int code = run_tool(args);
        CHECK_MSG(code == SARAPHIS_ERROR_CHECKSUM, "default decompress of a changed record checksum exited %d", code);
        snprintf(args, sizeof args, "decompress -q -f --verify-records 0 '%s' -o '%s'", bad, restored);
        code = run_tool(args);
        if (content) {
            CHECK_MSG(code == 0, "--verify-records 0 with content checksums exited %d", code);
            CHECK(files_equal(model, restored));
        } else {
            CHECK_MSG(code == SARAPHIS_ERROR_CHECKSUM, "--verify-records 0 without content checksums exited %d", code);
        }
        snprintf(args, sizeof args, "verify --verify-records 0 '%s'", bad);
        CHECK(run_tool(args) == SARAPHIS_ERROR_CHECKSUM);
    }
    snprintf(args, sizeof args, "decompress -q -f --verify-records 0 '%s' -o '%s'", plain, restored);
    CHECK(run_tool(args) == 0);
    CHECK(files_equal(model, restored));
    CHECK(run_tool("decompress --verify-records 2 x.sps") == 1);
    CHECK(stderr_contains("--verify-records"));
}

static void test_usage(void)
{
    CHECK(run_tool("--help") == 0);
    CHECK(run_tool("") == 1);
    CHECK(run_tool("frobnicate x") == 1);
    CHECK(run_tool("compress --threads -3 x") == 1);
    CHECK(run_tool("compress --dtype F99 x") == 1);
    CHECK(run_tool("info /nonexistent.sps") == SARAPHIS_ERROR_IO);
    CHECK(stderr_contains("/nonexistent.sps"));
    CHECK(run_tool("--version") == 0);
}

int main(void)
{
    struct stat info;
    const char *base = (stat("/dev/shm", &info) == 0 && S_ISDIR(info.st_mode)) ? "/dev/shm" : "/tmp";
    snprintf(folder, sizeof folder, "%s/saraphis-test-cli-XXXXXX", base);
    if (!mkdtemp(folder)) return 2;
    test_safetensors_round_trip(0);
    test_safetensors_round_trip(1);
    test_corruption();
    test_checksum_options();
    test_npy_and_raw();
    test_bounded();
    test_usage();
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", folder);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", folder);
    return TEST_SUMMARY("cli");
}
