/* The GPU codec against the CPU reference (needs a CUDA device; scripts/gpu_test.sh runs it).
 *
 *   1. generated data of every dtype, with adversarial bit patterns (random bits, NaN payloads,
 *      signed zeros, subnormals, infinities, constant chunks, two-symbol chunks, F64 with a wide
 *      exponent range, F32 holding BF16, tiny and odd sizes), several chunk sizes, content
 *      checksums on and off, the STORED codec: the GPU decodes every CPU frame exactly, the GPU
 *      encoder writes the CPU's frame byte for byte, and the CPU decodes it;
 *   2. real weights (.bench/data/minilm_{f32,bf16,f16,f32_holding_bf16}.safetensors, or the
 *      folder in SARAPHIS_GPU_DATA), whole data sections and tensor by tensor through the batch
 *      API;
 *   3. corruption: a flipped byte anywhere is CHECKSUM as on the CPU; records re-sealed with a
 *      valid checksum after a change fail on the GPU exactly when they fail on the CPU (the codes
 *      are compared and mismatches reported); truncated frames and short destinations;
 *   4. a record's exponent base moved, in range (the GPU's fast path must give the CPU's bytes)
 *      and beyond (both sides CORRUPT).
 * With no device it checks that the calls fail with SARAPHIS_ERROR_GPU and exits 0 ("skipped"). */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bits.h"
#include "common/checksum.h"
#include "container/safetensors.h"
#include "saraphis.h"
#include "file_support.h"
#include "gpu/gpu_test_data.h"
#include "testing.h"

static saraphis_ctx_t *make_ctx(size_t chunk_bytes, int content_checksum, saraphis_codec_t codec)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, (int64_t)chunk_bytes);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, content_checksum);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CODEC, codec);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
    return ctx;
}

static int mismatched_codes;
static int quick; /* --quick: small inputs only (for compute-sanitizer runs) */

/* CPU frame -> GPU decode; GPU encode == CPU frame; CPU decode of the GPU frame. */
static void round_trip(const char *label, saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const uint8_t *data, size_t size)
{
    size_t bound = saraphis_compress_bound(size, 0);
    int64_t chunk_bytes = 0;
    saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, &chunk_bytes);
    bound = saraphis_compress_bound(size, (size_t)chunk_bytes);
    uint8_t *frame = malloc(bound), *back = malloc(size ? size : 1), *gpu_frame = malloc(bound);
    size_t frame_size = 0;
    saraphis_status_t status = saraphis_compress(ctx, dtype, data, size, frame, bound, &frame_size);
    CHECK_MSG(status == SARAPHIS_OK, "%s: cpu compress: %s", label, saraphis_last_error());
    void *d_frame = device_copy(frame, frame_size), *d_src = device_copy(data, size);
    void *d_out = NULL, *d_gpu_frame = NULL;
    cudaMalloc(&d_out, size ? size : 1);
    cudaMalloc(&d_gpu_frame, bound);
    cudaMemset(d_out, 0xA5, size ? size : 1);
    size_t out_size = 0;
    status = saraphis_gpu_decompress(ctx, d_frame, frame_size, d_out, size, &out_size, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "%s: gpu decompress: %s", label, saraphis_last_error());
    cudaMemcpy(back, d_out, size, cudaMemcpyDeviceToHost);
    CHECK_MSG(out_size == size && memcmp(back, data, size) == 0, "%s: gpu decode differs from the input (%zu bytes)", label, size);
    if (out_size == size && memcmp(back, data, size) != 0) {
        for (size_t i = 0; i < size; i++)
            if (back[i] != data[i]) { fprintf(stderr, "  first difference at byte %zu: %02x vs %02x\n", i, back[i], data[i]); break; }
    }
    /* Into a destination aligned to the element only (not to 16 bytes: the decode kernel then
     * leaves the content hashes to the separate pass). */
    const size_t element = saraphis_dtype_size(dtype) ? saraphis_dtype_size(dtype) : 1;
    if (element < 16 && size) {
        uint8_t *d_shifted = NULL;
        cudaMalloc((void **)&d_shifted, size + 16);
        status = saraphis_gpu_decompress(ctx, d_frame, frame_size, d_shifted + element, size, &out_size, NULL);
        CHECK_MSG(status == SARAPHIS_OK, "%s: gpu decompress at offset %zu: %s", label, element, saraphis_last_error());
        cudaMemcpy(back, d_shifted + element, size, cudaMemcpyDeviceToHost);
        CHECK_MSG(memcmp(back, data, size) == 0, "%s: gpu decode at offset %zu differs", label, element);
        cudaFree(d_shifted);
    }
    /* The same frame decoded from host memory (records staged in groups). */
    cudaMemset(d_out, 0x5A, size ? size : 1);
    out_size = 0;
    status = saraphis_gpu_decompress_host(ctx, frame, frame_size, d_out, size, &out_size, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "%s: gpu decompress from host memory: %s", label, saraphis_last_error());
    cudaMemcpy(back, d_out, size, cudaMemcpyDeviceToHost);
    CHECK_MSG(out_size == size && memcmp(back, data, size) == 0, "%s: gpu decode from host memory differs (%zu bytes)", label, size);
    size_t gpu_frame_size = 0;
    status = saraphis_gpu_compress(ctx, dtype, d_src, size, d_gpu_frame, bound, &gpu_frame_size, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "%s: gpu compress: %s", label, saraphis_last_error());
    cudaMemcpy(gpu_frame, d_gpu_frame, gpu_frame_size, cudaMemcpyDeviceToHost);
    CHECK_MSG(gpu_frame_size == frame_size && memcmp(gpu_frame, frame, frame_size) == 0, "%s: gpu frame differs from the cpu frame", label);
    memset(back, 0, size);
    status = saraphis_decompress(ctx, gpu_frame, gpu_frame_size, back, size, &out_size);
    CHECK_MSG(status == SARAPHIS_OK && out_size == size && memcmp(back, data, size) == 0, "%s: cpu decode of the gpu frame", label);
    cudaFree(d_frame); cudaFree(d_src); cudaFree(d_out); cudaFree(d_gpu_frame);
    free(frame); free(back); free(gpu_frame);
}

/* ---- Generated data ----------------------------------------------------------------------- */

typedef enum { PAT_WEIGHTS, PAT_RANDOM_BITS, PAT_SPECIALS, PAT_CONSTANT, PAT_TWO_SYMBOLS, PAT_ZEROS, PAT_WIDE, PAT_COUNT } pattern_t;
static const char *pattern_name[] = {"weights", "random-bits", "specials", "constant", "two-symbols", "zeros", "wide-range"};

static void fill(uint8_t *p, size_t size, saraphis_dtype_t dtype, pattern_t pattern, unsigned long long seed)
{
    unsigned long long state = seed * 0x9E3779B97F4A7C15ULL + 1;
    size_t element = saraphis_dtype_size(dtype), n = size / element;
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = test_random(&state);
        float w = gaussian(&state) * 0.02f;
        uint64_t v = 0;
        switch (pattern) {
        case PAT_WEIGHTS:
            if (dtype == SARAPHIS_DTYPE_F32) memcpy(&v, &w, 4);
            else if (dtype == SARAPHIS_DTYPE_BF16) v = to_bf16(w);
            else if (dtype == SARAPHIS_DTYPE_F16) v = to_f16(w);
            else if (dtype == SARAPHIS_DTYPE_F64) { double d = w; memcpy(&v, &d, 8); }
            else v = (uint64_t)(int64_t)(w * 3000);
            break;
        case PAT_RANDOM_BITS: v = bits; break;
        case PAT_SPECIALS: {
            static const uint64_t f32[] = {0x7fc00001, 0xffc00000, 0x7f800000, 0xff800000, 0x80000000, 0, 1, 0x807fffff, 0x7f7fffff};
            static const uint64_t h16[] = {0x7e01, 0xfe00, 0x7c00, 0xfc00, 0x8000, 0, 1, 0x83ff, 0x7bff, 0x7f81, 0xff80, 0x7f80};
            static const uint64_t f64[] = {0x7ff8000000000001ull, 0xfff0000000000000ull, 0x8000000000000000ull, 1, 0x000fffffffffffffull, 0x7fefffffffffffffull};
            if (element == 4) v = f32[bits % 9];
            else if (element == 2) v = h16[bits % 12];
            else if (element == 8) v = f64[bits % 6];
            else v = bits & 0x81;
            if ((bits >> 40) % 3 == 0) v ^= (bits >> 8) & 0xff; /* NaN payloads, subnormals */
            break;
        }
        case PAT_CONSTANT: v = 0x3f80000040490fdbull; break;
        case PAT_TWO_SYMBOLS: v = (bits & 1) ? 0x3c003c003c003c00ull : 0xbc00bc00bc00bc00ull; break;
        case PAT_ZEROS: v = 0; break;
        case PAT_WIDE: { double d = ldexp((double)w, (int)(bits % 1500) - 750); memcpy(&v, &d, 8); if (element != 8) v = bits; break; }
        default: break;
        }
        memcpy(p + i * element, &v, element);
    }
}

static void generated_tests(void)
{
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_F64,
                                              SARAPHIS_DTYPE_I8, SARAPHIS_DTYPE_U16, SARAPHIS_DTYPE_I32, SARAPHIS_DTYPE_U64,
                                              SARAPHIS_DTYPE_F8_E4M3, SARAPHIS_DTYPE_BOOL};
    static const size_t sizes[] = {8, 64, 504, 4096, 65536 + 24, 1 << 20, (3 << 20) + 8};
    const size_t size_count = quick ? 5 : sizeof sizes / sizeof sizes[0];
    static const size_t chunks[] = {4096, 65536, 256 << 10, 1 << 20};
    int case_index = 0;
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        for (int pattern = 0; pattern < PAT_COUNT; pattern++) {
            for (size_t s = 0; s < size_count; s++) {
                size_t element = saraphis_dtype_size(dtypes[d]);
                size_t size = sizes[s] / element * element;
                size_t chunk = chunks[(case_index++) % 4];
                int content = case_index % 3 != 0;
                saraphis_codec_t codec = case_index % 17 == 0 ? SARAPHIS_CODEC_STORED : SARAPHIS_CODEC_LOSSLESS;
                uint8_t *data = malloc(size ? size : 1);
                fill(data, size, dtypes[d], (pattern_t)pattern, case_index);
                if (pattern == PAT_WEIGHTS && dtypes[d] == SARAPHIS_DTYPE_F32 && s % 2) /* F32 holding BF16 */
                    for (size_t i = 0; i + 4 <= size; i += 4) data[i] = data[i + 1] = 0;
                char label[160];
                snprintf(label, sizeof label, "%s/%s/%zu bytes/chunk %zu/content %d/codec %d", saraphis_dtype_name(dtypes[d]),
                         pattern_name[pattern], size, chunk, content, (int)codec);
                saraphis_ctx_t *ctx = make_ctx(chunk, content, codec);
                round_trip(label, ctx, dtypes[d], data, size);
                saraphis_ctx_free(ctx);
                free(data);
            }
        }
    }
}

/* A batch whose frames have size tables longer than the first header gather brings back (over
 * 1024 chunks), beside short ones: the second gather must place each frame's rest. */
static void batch_long_tables(void)
{
    static const size_t sizes[] = {(5u << 20) + 6, 100, (4u << 20) + (1u << 19), 65536, (4u << 20) + 4096 + 2};
    enum { COUNT = sizeof sizes / sizeof sizes[0] };
    saraphis_ctx_t *ctx = make_ctx(4096, 1, SARAPHIS_CODEC_LOSSLESS);
    void *d_frames[COUNT], *d_dsts[COUNT];
    size_t frame_sizes[COUNT], capacities[COUNT], out_sizes[COUNT];
    uint8_t *data[COUNT];
    int ok = 1;
    for (size_t t = 0; t < COUNT; t++) {
        data[t] = malloc(sizes[t]);
        fill(data[t], sizes[t], SARAPHIS_DTYPE_BF16, PAT_WEIGHTS, t + 7);
        size_t bound = saraphis_compress_bound(sizes[t], 4096);
        uint8_t *frame = malloc(bound);
        ok &= saraphis_compress(ctx, SARAPHIS_DTYPE_BF16, data[t], sizes[t], frame, bound, &frame_sizes[t]) == SARAPHIS_OK;
        d_frames[t] = device_copy(frame, frame_sizes[t]);
        cudaMalloc(&d_dsts[t], sizes[t]);
        capacities[t] = sizes[t];
        free(frame);
    }
    CHECK_MSG(ok, "long tables: cpu compress");
    saraphis_status_t status = saraphis_gpu_decompress_batch(ctx, COUNT, (const void *const *)d_frames, frame_sizes, d_dsts, capacities,
                                                             out_sizes, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "long tables: batch decode: %s", saraphis_last_error());
    for (size_t t = 0; t < COUNT; t++) {
        uint8_t *back = malloc(sizes[t]);
        cudaMemcpy(back, d_dsts[t], sizes[t], cudaMemcpyDeviceToHost);
        CHECK_MSG(status == SARAPHIS_OK && out_sizes[t] == sizes[t] && memcmp(back, data[t], sizes[t]) == 0,
                  "long tables: frame %zu (%zu bytes, %zu chunks) differs", t, sizes[t], (sizes[t] + 4095) / 4096);
        free(back);
        free(data[t]);
        cudaFree(d_frames[t]);
        cudaFree(d_dsts[t]);
    }
    saraphis_ctx_free(ctx);
}

/* Frames in host memory large enough for several record groups (16 MiB each), from pageable and
 * from pinned memory, with size tables longer than the first header read; a corrupt record in a
 * later group gives the same code as the device-frame path and the CPU. */
static void host_frames(void)
{
    static const size_t chunks[] = {256 << 10, 4096};
    const size_t size = quick ? (6u << 20) : (48u << 20);
    uint8_t *data = malloc(size), *back = malloc(size);
    fill(data, size, SARAPHIS_DTYPE_BF16, PAT_WEIGHTS, 99);
    void *d_out = NULL;
    cudaMalloc(&d_out, size);
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        saraphis_ctx_t *ctx = make_ctx(chunks[k], 1, SARAPHIS_CODEC_LOSSLESS);
        size_t bound = saraphis_compress_bound(size, chunks[k]), frame_size = 0, out_size = 0;
        uint8_t *frame = malloc(bound), *pinned = NULL;
        CHECK(saraphis_compress(ctx, SARAPHIS_DTYPE_BF16, data, size, frame, bound, &frame_size) == SARAPHIS_OK);
        CHECK(cudaMallocHost((void **)&pinned, frame_size) == cudaSuccess);
        memcpy(pinned, frame, frame_size);
        for (int from_pinned = 0; from_pinned < 2; from_pinned++) {
            cudaMemset(d_out, 0, size);
            saraphis_status_t status = saraphis_gpu_decompress_host(ctx, from_pinned ? pinned : frame, frame_size, d_out, size, &out_size, NULL);
            CHECK_MSG(status == SARAPHIS_OK, "host frame (chunk %zu, %s): %s", chunks[k], from_pinned ? "pinned" : "pageable", saraphis_last_error());
            cudaMemcpy(back, d_out, size, cudaMemcpyDeviceToHost);
            CHECK_MSG(out_size == size && memcmp(back, data, size) == 0, "host frame (chunk %zu, %s) differs", chunks[k],
                      from_pinned ? "pinned" : "pageable");
        }
        /* A byte flipped three quarters in: a later group's record. */
        frame[frame_size / 4 * 3] ^= 0x10;
        saraphis_status_t cpu = saraphis_decompress(ctx, frame, frame_size, back, size, &out_size);
        saraphis_status_t host = saraphis_gpu_decompress_host(ctx, frame, frame_size, d_out, size, &out_size, NULL);
        void *d_frame = device_copy(frame, frame_size);
        saraphis_status_t device = saraphis_gpu_decompress(ctx, d_frame, frame_size, d_out, size, &out_size, NULL);
        CHECK_MSG(cpu != SARAPHIS_OK && host == cpu && device == cpu, "corrupt host frame (chunk %zu): cpu %s, host %s, device %s", chunks[k],
                  saraphis_status_name(cpu), saraphis_status_name(host), saraphis_status_name(device));
        cudaFree(d_frame);
        cudaFreeHost(pinned);
        free(frame);
        saraphis_ctx_free(ctx);
    }
    cudaFree(d_out);
    free(data);
    free(back);
}

/* ---- Real weights ------------------------------------------------------------------------ */

static void batch_tensors(const char *name, const safetensors_file_t *file, const uint8_t *data)
{
    size_t count = file->tensor_count;
    saraphis_ctx_t *ctx = make_ctx(256 << 10, 1, SARAPHIS_CODEC_LOSSLESS);
    void **d_frames = calloc(count, sizeof *d_frames), **d_dsts = calloc(count, sizeof *d_dsts);
    size_t *frame_sizes = calloc(count, sizeof *frame_sizes), *capacities = calloc(count, sizeof *capacities);
    size_t *out_sizes = calloc(count, sizeof *out_sizes);
    int ok = 1;
    for (size_t t = 0; t < count; t++) {
        const safetensors_tensor_t *tensor = &file->tensors[t];
        size_t size = tensor->end - tensor->begin, bound = saraphis_compress_bound(size, 256 << 10);
        uint8_t *frame = malloc(bound);
        ok &= saraphis_compress(ctx, tensor->dtype, data + tensor->begin, size, frame, bound, &frame_sizes[t]) == SARAPHIS_OK;
        d_frames[t] = device_copy(frame, frame_sizes[t]);
        cudaMalloc(&d_dsts[t], size ? size : 1);
        capacities[t] = size;
        free(frame);
    }
    CHECK_MSG(ok, "%s: cpu compress of the tensors", name);
    saraphis_status_t status = saraphis_gpu_decompress_batch(ctx, count, (const void *const *)d_frames, frame_sizes, d_dsts,
                                                             capacities, out_sizes, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "%s: batch decode of %zu tensors: %s", name, count, saraphis_last_error());
    int same = 1;
    for (size_t t = 0; t < count; t++) {
        const safetensors_tensor_t *tensor = &file->tensors[t];
        size_t size = tensor->end - tensor->begin;
        uint8_t *back = malloc(size ? size : 1);
        cudaMemcpy(back, d_dsts[t], size, cudaMemcpyDeviceToHost);
        same &= out_sizes[t] == size && memcmp(back, data + tensor->begin, size) == 0;
        free(back);
        cudaFree(d_frames[t]);
        cudaFree(d_dsts[t]);
    }
    CHECK_MSG(same, "%s: batch decode differs", name);
    printf("  %s: %zu tensors decoded in one batch\n", name, count);
    free(d_frames); free(d_dsts); free(frame_sizes); free(capacities); free(out_sizes);
    saraphis_ctx_free(ctx);
}

static void real_weights(void)
{
    static const char *names[] = {"minilm_bf16", "minilm_f16", "minilm_f32", "minilm_f32_holding_bf16"};
    for (size_t k = 0; k < 4; k++) {
        char path[1200];
        safetensors_file_t file;
        uint8_t *bytes = gpu_test_load_weights(names[k], &file, path, sizeof path);
        if (!bytes) continue;
        /* Read as the dtype of the largest tensor (the first may be an integer buffer). */
        saraphis_dtype_t dtype = file.tensors[gpu_test_largest_tensor(&file)].dtype;
        const uint8_t *data = bytes + file.data_offset;
        size_t data_size = (size_t)file.data_size / saraphis_dtype_size(dtype) * saraphis_dtype_size(dtype);
        if (quick && data_size > (2u << 20)) data_size = 2u << 20;
        static const size_t chunks[] = {256 << 10, 1 << 20, 4096};
        for (int c = 0; c < (quick ? 1 : 3); c++) {
            saraphis_ctx_t *ctx = make_ctx(chunks[c], 1, SARAPHIS_CODEC_LOSSLESS);
            char label[300];
            snprintf(label, sizeof label, "%s (whole data section, chunk %zu)", names[k], chunks[c]);
            round_trip(label, ctx, dtype, data, c == 2 ? (data_size < (8u << 20) ? data_size : (8u << 20)) : data_size);
            saraphis_ctx_free(ctx);
        }
        printf("  %s: %zu bytes of %s round-tripped\n", names[k], data_size, saraphis_dtype_name(dtype));
        if (!quick) batch_tensors(names[k], &file, data);
        safetensors_file_free(&file);
        free(bytes);
    }
}

/* ---- Corruption --------------------------------------------------------------------------- */

static saraphis_status_t gpu_decode_status(saraphis_ctx_t *ctx, const uint8_t *frame, size_t frame_size, size_t raw, uint8_t *out)
{
    void *d_frame = device_copy(frame, frame_size), *d_out = NULL;
    cudaMalloc(&d_out, raw ? raw : 1);
    size_t out_size = 0;
    saraphis_status_t status = saraphis_gpu_decompress(ctx, d_frame, frame_size, d_out, raw, &out_size, NULL);
    if (out) cudaMemcpy(out, d_out, raw, cudaMemcpyDeviceToHost);
    cudaFree(d_frame);
    cudaFree(d_out);
    return status;
}

/* A frame of generated weights (chunks of 64 KiB, content checksums on) and the buffers the
 * corruption tests work in: a copy to change, the CPU's and the GPU's outputs. */
typedef struct {
    saraphis_ctx_t *ctx;
    size_t size, frame_size;
    uint8_t *data, *cpu_out, *gpu_out, *frame, *bad;
} weights_frame_t;

static void weights_frame_make(weights_frame_t *w, saraphis_dtype_t dtype, size_t bytes, unsigned long long seed)
{
    const size_t element = saraphis_dtype_size(dtype);
    w->size = (bytes / element) * element;
    w->data = malloc(w->size), w->cpu_out = malloc(w->size), w->gpu_out = malloc(w->size);
    fill(w->data, w->size, dtype, PAT_WEIGHTS, seed);
    w->ctx = make_ctx(65536, 1, SARAPHIS_CODEC_LOSSLESS);
    const size_t bound = saraphis_compress_bound(w->size, 65536);
    w->frame = malloc(bound), w->bad = malloc(bound);
    w->frame_size = 0;
    CHECK(saraphis_compress(w->ctx, dtype, w->data, w->size, w->frame, bound, &w->frame_size) == SARAPHIS_OK);
}

static void weights_frame_free(weights_frame_t *w)
{
    free(w->data); free(w->cpu_out); free(w->gpu_out); free(w->frame); free(w->bad);
    saraphis_ctx_free(w->ctx);
}

/* verify_records (SARAPHIS_PARAM_VERIFY_RECORDS) 0: records with content checksums are verified
 * by them alone on both sides; a plain flip must then fail with the CPU's code or, as on the CPU,
 * decode to the exact data (a flip in a record's checksum field, or in a byte the decoder
 * ignores), also through the batch and host-frame calls. */
static void corruption_tests(int verify_records)
{
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_F64, SARAPHIS_DTYPE_U16};
    unsigned long long state = 99;
    int resealed_trials = 0, resealed_failures = 0;
    mismatched_codes = 0;
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        weights_frame_t w;
        weights_frame_make(&w, dtypes[d], 200000, d + 5);
        saraphis_ctx_t *ctx = w.ctx;
        const size_t size = w.size, frame_size = w.frame_size;
        uint8_t *data = w.data, *cpu_out = w.cpu_out, *gpu_out = w.gpu_out, *frame = w.frame, *bad = w.bad;
        size_t out_size = 0;
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, verify_records);
        uint32_t chunks = load_le32(frame + 12);
        size_t records = 32 + 4 * (size_t)chunks;
        /* Plain flips: the record checksum (or the header checksum) catches them, as on the CPU. */
        for (int trial = 0; trial < (quick ? 8 : 40); trial++) {
            memcpy(bad, frame, frame_size);
            size_t at = test_random(&state) % frame_size;
            bad[at] ^= (uint8_t)(1u << (test_random(&state) % 8));
            memset(cpu_out, 0, size);
            saraphis_status_t cpu = saraphis_decompress(ctx, bad, frame_size, cpu_out, size, &out_size);
            saraphis_status_t gpu = gpu_decode_status(ctx, bad, frame_size, size, gpu_out);
            CHECK_MSG((cpu != SARAPHIS_OK || !verify_records) && gpu == cpu, "%s: flip at byte %zu: cpu %s, gpu %s (%s)",
                      saraphis_dtype_name(dtypes[d]), at, saraphis_status_name(cpu), saraphis_status_name(gpu), saraphis_last_error());
            if (cpu == SARAPHIS_OK && gpu == SARAPHIS_OK)
                CHECK_MSG(memcmp(cpu_out, data, size) == 0 && memcmp(gpu_out, data, size) == 0, "flip at %zu passed with a wrong output", at);
            if (!verify_records) {
                /* The batch call (with an intact frame beside) and the host-frame call agree. */
                void *d_good = device_copy(frame, frame_size), *d_bad = device_copy(bad, frame_size), *d_out2[2] = {NULL, NULL};
                cudaMalloc(&d_out2[0], size);
                cudaMalloc(&d_out2[1], size);
                const void *frames2[2] = {d_good, d_bad};
                size_t sizes2[2] = {frame_size, frame_size}, caps2[2] = {size, size}, outs2[2] = {0, 0};
                saraphis_status_t batch = saraphis_gpu_decompress_batch(ctx, 2, frames2, sizes2, d_out2, caps2, outs2, NULL);
                saraphis_status_t host = saraphis_gpu_decompress_host(ctx, bad, frame_size, d_out2[0], size, &out_size, NULL);
                CHECK_MSG(batch == cpu && host == cpu, "%s: flip at byte %zu: cpu %s, batch %s, host frame %s", saraphis_dtype_name(dtypes[d]),
                          at, saraphis_status_name(cpu), saraphis_status_name(batch), saraphis_status_name(host));
                cudaFree(d_good); cudaFree(d_bad); cudaFree(d_out2[0]); cudaFree(d_out2[1]);
            }
        }
        /* Re-sealed changes: the record checksum is made valid again, so only the decoder's own
         * checks (structure, tables, rANS end states, content checksum) stand in the way. */
        for (int trial = 0; trial < (quick ? 20 : 150); trial++) {
            memcpy(bad, frame, frame_size);
            uint32_t c = (uint32_t)(test_random(&state) % chunks);
            size_t offset = records;
            for (uint32_t k = 0; k < c; k++) offset += load_le32(frame + 32 + 4 * (size_t)k);
            uint32_t record = load_le32(frame + 32 + 4 * (size_t)c);
            size_t at = offset + 24 + test_random(&state) % (record - 24);
            int content_too = trial % 2; /* also re-seal the content checksum: the decode must still be exact or fail */
            bad[at] ^= (uint8_t)(1u + test_random(&state) % 255);
            if (content_too) store_le64(bad + offset + 16, 0);
            store_le64(bad + offset, checksum64(bad + offset + 8, record - 8, 0));
            memset(cpu_out, 0, size);
            saraphis_status_t cpu = saraphis_decompress(ctx, bad, frame_size, cpu_out, size, &out_size);
            saraphis_status_t gpu = gpu_decode_status(ctx, bad, frame_size, size, gpu_out);
            resealed_trials++;
            CHECK_MSG((cpu == SARAPHIS_OK) == (gpu == SARAPHIS_OK), "%s: re-sealed change at %zu: cpu %s, gpu %s (%s)",
                      saraphis_dtype_name(dtypes[d]), at, saraphis_status_name(cpu), saraphis_status_name(gpu), saraphis_last_error());
            if (cpu == SARAPHIS_OK && gpu == SARAPHIS_OK) CHECK_MSG(memcmp(cpu_out, gpu_out, size) == 0, "re-sealed change decodes differently");
            if (cpu != SARAPHIS_OK) resealed_failures++;
            if (cpu != gpu) mismatched_codes++;
        }
        /* Truncated frame and short destination. */
        CHECK(gpu_decode_status(ctx, frame, frame_size - 1, size, NULL) == SARAPHIS_ERROR_TRUNCATED);
        CHECK(gpu_decode_status(ctx, frame, 20, size, NULL) == SARAPHIS_ERROR_TRUNCATED);
        CHECK(gpu_decode_status(ctx, frame, frame_size, size - 1, NULL) == SARAPHIS_ERROR_BUFFER_TOO_SMALL);
        weights_frame_free(&w);
    }
    printf("  corruption (verify_records %d): %d re-sealed changes, %d rejected by the CPU, %d with a different error code on the GPU\n",
           verify_records, resealed_trials, resealed_failures, mismatched_codes);
}

/* The exponent base of one record moved, re-sealed: the decode uses the table's symbols plus the
 * new base. While the table's last symbol plus it stays within the dtype's exponents the GPU's fast
 * path decodes the chunk (its table holds the symbols with the base added) and must give the CPU's
 * bytes; beyond, the chunk goes to the generic path, which must fail where the CPU does (the first
 * element whose exponent is out of range: CORRUPT). With the content checksum kept, a decode that
 * reaches its end is a CHECKSUM mismatch on both sides. */
static void base_shift_tests(void)
{
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_F32};
    static const unsigned exponent_bits[] = {8, 5, 8};
    int cases = 0;
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        weights_frame_t w;
        weights_frame_make(&w, dtypes[d], 3 * 65536, d + 41);
        saraphis_ctx_t *ctx = w.ctx;
        const size_t size = w.size, frame_size = w.frame_size;
        uint8_t *cpu_out = w.cpu_out, *gpu_out = w.gpu_out, *frame = w.frame, *bad = w.bad;
        size_t out_size = 0;
        /* Chunk 0's record: header (24 bytes), chunk method, then the float header (method, dropped
         * bits, u16 base, exponent mode, width, fold) and the exponent stream (mode, table: first
         * symbol, last symbol, ...) (docs/format.md, section 4). */
        const size_t record = 32 + 4 * (size_t)load_le32(frame + 12), float_header = record + 25;
        const uint32_t record_size = load_le32(frame + 32);
        const unsigned base = load_le16(frame + float_header + 2), fold = frame[float_header + 6];
        const unsigned last = frame[float_header + 9] >> fold, top = (1u << exponent_bits[d]) - 1;
        const int usable = frame[record + 24] == 1 && frame[float_header] == 1 && frame[float_header + 4] == 0 &&
                           frame[float_header + 7] == 1 && last + base <= top;
        CHECK_MSG(usable, "%s: chunk 0 is not a float chunk with a rANS exponent stream in range", saraphis_dtype_name(dtypes[d]));
        const unsigned room = usable ? top - last - base : 0; /* the largest shift that stays in range */
        const unsigned shifts[] = {1, room / 2 + 1, room, room + 1, room + 3};
        for (size_t k = 0; usable && k < sizeof shifts / sizeof shifts[0]; k++) {
            if (base + shifts[k] > top) continue; /* the float header's own check (CORRUPT) is not what this tests */
            for (int keep_content = 0; keep_content < 2; keep_content++) {
                memcpy(bad, frame, frame_size);
                store_le16(bad + float_header + 2, (uint16_t)(base + shifts[k]));
                if (!keep_content) store_le64(bad + record + 16, 0);
                store_le64(bad + record, checksum64(bad + record + 8, record_size - 8, 0));
                memset(cpu_out, 0, size);
                memset(gpu_out, 0xa5, size);
                const saraphis_status_t cpu = saraphis_decompress(ctx, bad, frame_size, cpu_out, size, &out_size);
                const saraphis_status_t gpu = gpu_decode_status(ctx, bad, frame_size, size, gpu_out);
                const saraphis_status_t expected = shifts[k] > room ? SARAPHIS_ERROR_CORRUPT
                                                   : keep_content    ? SARAPHIS_ERROR_CHECKSUM
                                                                     : SARAPHIS_OK;
                CHECK_MSG(cpu == expected && gpu == cpu, "%s: base %u + %u (last symbol %u, content checksum %s): expected %s, cpu %s, gpu %s (%s)",
                          saraphis_dtype_name(dtypes[d]), base, shifts[k], last, keep_content ? "kept" : "cleared",
                          saraphis_status_name(expected), saraphis_status_name(cpu), saraphis_status_name(gpu), saraphis_last_error());
                if (cpu == SARAPHIS_OK && gpu == SARAPHIS_OK)
                    CHECK_MSG(memcmp(cpu_out, gpu_out, size) == 0, "%s: base %u + %u decodes differently on the GPU", saraphis_dtype_name(dtypes[d]),
                              base, shifts[k]);
                cases++;
            }
        }
        weights_frame_free(&w);
    }
    CHECK_MSG(cases >= 12, "only %d base shifts were tried", cases);
    printf("  exponent base shifted in range and beyond: %d cases, codes and bytes compared\n", cases);
}

int main(int argc, char **argv)
{
    quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (!saraphis_gpu_available()) {
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        size_t out = 0;
        saraphis_status_t status = saraphis_gpu_decompress(ctx, (void *)16, 64, (void *)16, 64, &out, NULL);
        CHECK(status == SARAPHIS_ERROR_GPU || status == SARAPHIS_ERROR_UNSUPPORTED);
        saraphis_ctx_free(ctx);
        printf("test_gpu_lossless: skipped (no CUDA device: %s)\n", saraphis_last_error());
        return TEST_SUMMARY("test_gpu_lossless");
    }
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
    generated_tests();
    printf("  generated data: done\n");
    batch_long_tables();
    printf("  batch with long size tables: done\n");
    host_frames();
    printf("  frames in host memory: done\n");
    real_weights();
    corruption_tests(1);
    corruption_tests(0);
    base_shift_tests();
    return TEST_SUMMARY("test_gpu_lossless");
}
