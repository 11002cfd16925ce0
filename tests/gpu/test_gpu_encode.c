/* The GPU encoder against the CPU encoder (needs a CUDA device; scripts/gpu_test.sh runs it).
 *
 * Every case compresses the same bytes with saraphis_compress and saraphis_gpu_compress under the
 * same context settings and requires the two frames to be identical byte for byte; the GPU frame
 * is then decoded by the CPU and by the GPU and compared with the input, and the same bytes one
 * element past a 16-byte boundary on the device must give the same frame.
 *   1. generated data: Gaussian-like weights of every float dtype (F32 also holding BF16 values
 *      and with low mantissa bits cleared, so the dropped-bit, fold and rest-bit paths all run),
 *      F64 with a wide exponent range (exponents packed raw), NaN/Inf/subnormal mixes, random
 *      bytes, constants, zeros, two-symbol data, integers; sizes 0, 1 element, fewer than 64
 *      elements, odd counts, several chunks with a partial last one; chunk sizes 4 KiB to 4 MiB;
 *      content checksums on and off; the STORED codec; the BOUNDED codec (host path);
 *   2. real weights (minilm_*.safetensors in SARAPHIS_GPU_DATA, else .bench/data): the whole data
 *      section and tensor by tensor;
 *   3. SARAPHIS_GPU_ENCODE_BATCHES from 5 to one batch a chunk (several batches a lane), and values
 *      out of range refused; a destination one byte short: BUFFER_TOO_SMALL, and nothing written
 *      past its capacity; with 64 chunks and more, a destination of exactly the frame's size
 *      (records written after every size is known) as well as the bound (records written batch
 *      by batch as they are sized);
 *   4. host input (saraphis_gpu_compress_host): every case above also from pageable and from
 *      pinned host memory into pageable and pinned destinations, frames compared with the CPU's
 *      and decoded by saraphis_decompress; then tensors of three 16 MiB groups and more (so both
 *      staging slots are reused) of F32, BF16 and F16, sizes no multiple of the group or the chunk,
 *      chunks that do not divide a group and one larger than a group, STORED, BOUNDED, 0 bytes,
 *      and destinations too small (BUFFER_TOO_SMALL with every byte of dst untouched).
 * --quick: small inputs only (for compute-sanitizer). --host: part 4's own cases only. With no
 * device: the calls must fail with SARAPHIS_ERROR_GPU, and the test reports itself skipped. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/safetensors.h"
#include "saraphis.h"
#include "file_support.h"
#include "gpu/gpu_test_data.h"
#include "testing.h"

static int quick;
static int identical_frames; /* GPU frames checked equal to the CPU's */
static int identical_host_frames; /* of them, frames encoded from host memory */

static saraphis_ctx_t *make_ctx(size_t chunk_bytes, int content_checksum, saraphis_codec_t codec)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, (int64_t)chunk_bytes);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, content_checksum);
    if (codec == SARAPHIS_CODEC_BOUNDED) saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 0);
    else saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CODEC, codec);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
    return ctx;
}

/* saraphis_gpu_compress_host's frame == cpu_frame, from pageable and from pinned host memory, into
 * pageable and pinned destinations (nothing written past the frame); it decodes on the CPU to the
 * input (exact) or to what the CPU frame decodes to (lossy codecs). */
static void check_host(const char *label, saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const uint8_t *data, size_t size,
                       const uint8_t *cpu_frame, size_t cpu_size, int exact, cudaStream_t stream)
{
    int64_t chunk_bytes = 0;
    saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, &chunk_bytes);
    const size_t bound = saraphis_compress_bound(size, (size_t)chunk_bytes);
    uint8_t *pinned_src = NULL, *pinned_dst = NULL, *pageable_dst = malloc(bound), *back = malloc(size ? size : 1), *expect = NULL;
    CHECK_MSG(cudaMallocHost((void **)&pinned_src, size ? size : 1) == cudaSuccess && cudaMallocHost((void **)&pinned_dst, bound) == cudaSuccess,
              "%s: cudaMallocHost", label);
    if (!pinned_src || !pinned_dst) goto out;
    memcpy(pinned_src, data, size);
    size_t out_size = 0;
    if (!exact) {
        expect = malloc(size ? size : 1);
        CHECK_MSG(saraphis_decompress(ctx, cpu_frame, cpu_size, expect, size, &out_size) == SARAPHIS_OK, "%s: cpu decode: %s", label,
                  saraphis_last_error());
    }
    static const char *ways[] = {"pageable to pageable", "pinned to pageable", "pinned to pinned"};
    for (int way = 0; way < 3; way++) {
        const uint8_t *src = way ? pinned_src : data;
        uint8_t *dst = way == 2 ? pinned_dst : pageable_dst;
        memset(dst, 0xA5, bound);
        size_t got = 0;
        saraphis_status_t status = saraphis_gpu_compress_host(ctx, dtype, src, size, dst, bound, &got, stream);
        CHECK_MSG(status == SARAPHIS_OK, "%s (host, %s): %s", label, ways[way], saraphis_last_error());
        if (status != SARAPHIS_OK) continue;
        int same = got == cpu_size && memcmp(dst, cpu_frame, cpu_size) == 0;
        CHECK_MSG(same, "%s (host, %s): gpu frame (%zu bytes) differs from the cpu frame (%zu bytes)", label, ways[way], got, cpu_size);
        identical_frames += same;
        identical_host_frames += same;
        if (!same)
            for (size_t i = 0; i < got && i < cpu_size; i++)
                if (dst[i] != cpu_frame[i]) { fprintf(stderr, "  first difference at byte %zu: gpu %02x, cpu %02x\n", i, dst[i], cpu_frame[i]); break; }
        int clean = 1;
        for (size_t i = got; i < bound && i < got + 4096; i++) clean &= dst[i] == 0xA5;
        CHECK_MSG(clean, "%s (host, %s): bytes written past the frame", label, ways[way]);
        memset(back, 0x5A, size);
        status = saraphis_decompress(ctx, dst, got, back, size, &out_size);
        CHECK_MSG(status == SARAPHIS_OK && out_size == size && memcmp(back, exact ? data : expect, size) == 0, "%s (host, %s): cpu decode: %s",
                  label, ways[way], status == SARAPHIS_OK ? "bytes differ" : saraphis_last_error());
    }
out:
    cudaFreeHost(pinned_src);
    cudaFreeHost(pinned_dst);
    free(pageable_dst);
    free(back);
    free(expect);
}

/* CPU frame == GPU frame; the GPU frame decodes back to the input on the CPU and on the GPU. */
static void check_encode(const char *label, saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const uint8_t *data, size_t size)
{
    int64_t chunk_bytes = 0;
    saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, &chunk_bytes);
    size_t bound = saraphis_compress_bound(size, (size_t)chunk_bytes);
    uint8_t *frame = malloc(bound), *gpu_frame = malloc(bound), *back = malloc(size ? size : 1);
    size_t frame_size = 0, gpu_frame_size = 0, out_size = 0;
    saraphis_status_t status = saraphis_compress(ctx, dtype, data, size, frame, bound, &frame_size);
    const saraphis_status_t cpu_status = status;
    CHECK_MSG(status == SARAPHIS_OK, "%s: cpu compress: %s", label, saraphis_last_error());
    void *d_src = NULL, *d_frame = NULL, *d_out = NULL;
    cudaMalloc(&d_src, size ? size : 1);
    cudaMalloc(&d_frame, bound);
    cudaMalloc(&d_out, size ? size : 1);
    cudaMemcpy(d_src, data, size, cudaMemcpyHostToDevice);
    cudaMemset(d_frame, 0xA5, bound);
    status = saraphis_gpu_compress(ctx, dtype, d_src, size, d_frame, bound, &gpu_frame_size, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "%s: gpu compress: %s", label, saraphis_last_error());
    if (status == SARAPHIS_OK) {
        cudaMemcpy(gpu_frame, d_frame, gpu_frame_size, cudaMemcpyDeviceToHost);
        int same = gpu_frame_size == frame_size && memcmp(gpu_frame, frame, frame_size) == 0;
        CHECK_MSG(same, "%s: gpu frame (%zu bytes) differs from the cpu frame (%zu bytes)", label, gpu_frame_size, frame_size);
        identical_frames += same;
        if (!same)
            for (size_t i = 0; i < frame_size && i < gpu_frame_size; i++)
                if (gpu_frame[i] != frame[i]) { fprintf(stderr, "  first difference at byte %zu: gpu %02x, cpu %02x\n", i, gpu_frame[i], frame[i]); break; }
        memset(back, 0, size);
        status = saraphis_decompress(ctx, gpu_frame, gpu_frame_size, back, size, &out_size);
        CHECK_MSG(status == SARAPHIS_OK && out_size == size && memcmp(back, data, size) == 0, "%s: cpu decode of the gpu frame: %s", label,
                  status == SARAPHIS_OK ? "bytes differ" : saraphis_last_error());
        /* With 64 chunks and more the encoder works in batches and, into a destination that holds
         * the largest possible frame (the bound above), writes each batch's records as soon as
         * they are sized; into one that holds exactly the frame it sizes every record first. Both
         * must give the same frame. */
        if (chunk_bytes > 0 && size / (size_t)chunk_bytes >= 64 && same) {
            size_t exact_size = 0;
            cudaMemset(d_frame, 0xA5, bound);
            status = saraphis_gpu_compress(ctx, dtype, d_src, size, d_frame, frame_size, &exact_size, NULL);
            CHECK_MSG(status == SARAPHIS_OK, "%s: gpu compress into exactly the frame's size: %s", label, saraphis_last_error());
            cudaMemcpy(gpu_frame, d_frame, gpu_frame_size, cudaMemcpyDeviceToHost);
            same = status == SARAPHIS_OK && exact_size == frame_size && memcmp(gpu_frame, frame, frame_size) == 0;
            CHECK_MSG(same, "%s: gpu frame into exactly the frame's size differs from the cpu frame", label);
            identical_frames += same;
        }
        cudaMemset(d_out, 0x5A, size ? size : 1);
        status = saraphis_gpu_decompress(ctx, d_frame, gpu_frame_size, d_out, size, &out_size, NULL);
        cudaMemcpy(back, d_out, size, cudaMemcpyDeviceToHost);
        CHECK_MSG(status == SARAPHIS_OK && out_size == size && memcmp(back, data, size) == 0, "%s: gpu decode of the gpu frame: %s", label,
                  status == SARAPHIS_OK ? "bytes differ" : saraphis_last_error());
    }
    /* The same bytes one element past a 16-byte boundary: the encoder's element-wise loads. */
    if (status == SARAPHIS_OK && size) {
        const size_t element = saraphis_dtype_size(dtype);
        uint8_t *d_shifted = NULL;
        size_t shifted_size = 0;
        cudaMalloc((void **)&d_shifted, size + 16);
        cudaMemcpy(d_shifted + element, data, size, cudaMemcpyHostToDevice);
        status = saraphis_gpu_compress(ctx, dtype, d_shifted + element, size, d_frame, bound, &shifted_size, NULL);
        CHECK_MSG(status == SARAPHIS_OK, "%s: gpu compress, unaligned source: %s", label, saraphis_last_error());
        if (status == SARAPHIS_OK) {
            cudaMemcpy(gpu_frame, d_frame, shifted_size, cudaMemcpyDeviceToHost);
            CHECK_MSG(shifted_size == frame_size && memcmp(gpu_frame, frame, frame_size) == 0, "%s: gpu frame from an unaligned source differs", label);
        }
        cudaFree(d_shifted);
    }
    cudaFree(d_src); cudaFree(d_frame); cudaFree(d_out);
    if (cpu_status == SARAPHIS_OK) check_host(label, ctx, dtype, data, size, frame, frame_size, 1, NULL);
    free(frame); free(gpu_frame); free(back);
}

/* ---- Generated data ----------------------------------------------------------------------- */

typedef enum { PAT_WEIGHTS, PAT_HOLDING_BF16, PAT_MASKED, PAT_WIDE, PAT_SPECIALS, PAT_RANDOM, PAT_CONSTANT, PAT_ZEROS, PAT_TWO, PAT_COUNT } pattern_t;
static const char *pattern_name[] = {"weights", "f32-holding-bf16", "low-bits-cleared", "wide-range", "nan-inf-subnormal",
                                     "random-bytes", "constant", "zeros", "two-symbols"};

static void fill(uint8_t *p, size_t size, saraphis_dtype_t dtype, pattern_t pattern, unsigned long long seed)
{
    unsigned long long state = seed * 0x9E3779B97F4A7C15ULL + 1;
    size_t element = saraphis_dtype_size(dtype), n = size / element;
    unsigned cleared = 1 + (unsigned)(seed % 13); /* PAT_MASKED: low mantissa bits cleared */
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = test_random(&state);
        float w = gaussian(&state) * 0.02f;
        uint64_t v = 0;
        switch (pattern) {
        case PAT_WEIGHTS: case PAT_HOLDING_BF16: case PAT_MASKED:
            if (dtype == SARAPHIS_DTYPE_F32) memcpy(&v, &w, 4);
            else if (dtype == SARAPHIS_DTYPE_BF16) v = to_bf16(w);
            else if (dtype == SARAPHIS_DTYPE_F16) v = to_f16(w);
            else if (dtype == SARAPHIS_DTYPE_F64) { double d = (double)w * (1 + 1e-9 * (double)(bits % 1000)); memcpy(&v, &d, 8); }
            else v = (uint64_t)(int64_t)(w * 3000);
            if (pattern == PAT_HOLDING_BF16 && element >= 4) v &= element == 4 ? 0xffff0000ull : 0xffffffffe0000000ull;
            if (pattern == PAT_MASKED) v &= ~((1ull << (cleared % (element == 2 ? 7 : element == 4 ? 20 : element == 8 ? 45 : 4))) - 1);
            break;
        case PAT_WIDE: {
            double d = ldexp((double)w, (int)(bits % 1500) - 750);
            memcpy(&v, &d, 8);
            if (element == 4) { float f = ldexpf(w, (int)(bits % 200) - 100); uint32_t u; memcpy(&u, &f, 4); v = u; }
            else if (element == 2) v = bits & 0xffff;
            break;
        }
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
        case PAT_RANDOM: v = bits; break;
        case PAT_CONSTANT: v = 0x3f80000040490fdbull; break;
        case PAT_ZEROS: v = 0; break;
        case PAT_TWO: v = (bits & 1) ? 0x3c003c003c003c00ull : 0xbc00bc00bc00bc00ull; break;
        default: break;
        }
        memcpy(p + i * element, &v, element);
    }
}

static void generated_tests(void)
{
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_F64,
                                              SARAPHIS_DTYPE_I8, SARAPHIS_DTYPE_U16, SARAPHIS_DTYPE_I32, SARAPHIS_DTYPE_U64,
                                              SARAPHIS_DTYPE_F8_E4M3, SARAPHIS_DTYPE_BOOL};
    /* In elements: 0, 1, under 64 (raw streams), odd, a chunk and a bit, several chunks. */
    static const size_t counts[] = {0, 1, 63, 1001, 70001, 300007, 1500001};
    const size_t count_total = quick ? 5 : sizeof counts / sizeof counts[0];
    /* 100 and 36 KiB: pieces of the statistics kernel that do not start at multiples of 4 KiB,
     * so the content checksums take their own kernel there. (Seven sizes: with content checksums
     * on two cases in three, every size meets both.) */
    static const size_t chunks[] = {4096, 65536, 256 << 10, 1 << 20, 4 << 20, 100 << 10, 36 << 10};
    const size_t chunk_kinds = sizeof chunks / sizeof chunks[0];
    int case_index = 0;
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        for (int pattern = 0; pattern < PAT_COUNT; pattern++) {
            /* --quick: three patterns per dtype (weights, one rotating, random bytes). */
            if (quick && pattern != PAT_WEIGHTS && pattern != PAT_RANDOM && pattern != 1 + (int)((d * 2) % (PAT_COUNT - 1))) continue;
            for (size_t k = quick ? 1 : 0; k < count_total; k++) {
                size_t element = saraphis_dtype_size(dtypes[d]);
                size_t size = counts[k] * element;
                if (quick && size > (1u << 20)) size = (1u << 20) / element * element + element;
                size_t chunk = chunks[(case_index++) % chunk_kinds];
                int content = case_index % 3 != 0;
                saraphis_codec_t codec = case_index % 19 == 0 ? SARAPHIS_CODEC_STORED : SARAPHIS_CODEC_LOSSLESS;
                uint8_t *data = malloc(size ? size : 1);
                fill(data, size, dtypes[d], (pattern_t)pattern, (unsigned long long)case_index);
                char label[200];
                snprintf(label, sizeof label, "%s/%s/%zu bytes/chunk %zu/content %d/codec %d", saraphis_dtype_name(dtypes[d]),
                         pattern_name[pattern], size, chunk, content, (int)codec);
                saraphis_ctx_t *ctx = make_ctx(chunk, content, codec);
                check_encode(label, ctx, dtypes[d], data, size);
                saraphis_ctx_free(ctx);
                free(data);
            }
        }
    }
    /* The bounded codec takes the host path; its frames must still be the CPU's. */
    static const saraphis_dtype_t bounded[] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_I32};
    for (size_t d = 0; d < 3; d++) {
        size_t size = 50001 * saraphis_dtype_size(bounded[d]);
        uint8_t *data = malloc(size);
        fill(data, size, bounded[d], PAT_WEIGHTS, 77 + d);
        saraphis_ctx_t *ctx = make_ctx(65536, 1, SARAPHIS_CODEC_BOUNDED);
        char label[100];
        snprintf(label, sizeof label, "%s/bounded", saraphis_dtype_name(bounded[d]));
        int64_t chunk = 0;
        saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, &chunk);
        /* Lossy: compare frames only (check_encode also requires exact round trips). */
        size_t bound = saraphis_compress_bound(size, (size_t)chunk), cpu_size = 0, gpu_size = 0;
        uint8_t *frame = malloc(bound), *gpu_frame = malloc(bound);
        void *d_src = NULL, *d_frame = NULL;
        cudaMalloc(&d_src, size);
        cudaMalloc(&d_frame, bound);
        cudaMemcpy(d_src, data, size, cudaMemcpyHostToDevice);
        CHECK_MSG(saraphis_compress(ctx, bounded[d], data, size, frame, bound, &cpu_size) == SARAPHIS_OK, "%s: cpu: %s", label, saraphis_last_error());
        CHECK_MSG(saraphis_gpu_compress(ctx, bounded[d], d_src, size, d_frame, bound, &gpu_size, NULL) == SARAPHIS_OK, "%s: gpu: %s", label,
                  saraphis_last_error());
        cudaMemcpy(gpu_frame, d_frame, gpu_size, cudaMemcpyDeviceToHost);
        int same = gpu_size == cpu_size && memcmp(frame, gpu_frame, cpu_size) == 0;
        CHECK_MSG(same, "%s: frames differ", label);
        identical_frames += same;
        check_host(label, ctx, bounded[d], data, size, frame, cpu_size, 0, NULL);
        cudaFree(d_src); cudaFree(d_frame);
        free(frame); free(gpu_frame); free(data);
        saraphis_ctx_free(ctx);
    }
}

/* ---- Real weights ------------------------------------------------------------------------ */

static void real_weights(void)
{
    static const char *names[] = {"minilm_bf16", "minilm_f16", "minilm_f32", "minilm_f32_holding_bf16"};
    for (size_t k = 0; k < 4; k++) {
        char path[1200];
        safetensors_file_t file;
        uint8_t *bytes = gpu_test_load_weights(names[k], &file, path, sizeof path);
        if (!bytes) continue;
        /* The data section as one tensor of the largest tensor's dtype (the first may be I64). */
        const size_t largest = gpu_test_largest_tensor(&file);
        saraphis_dtype_t dtype = file.tensors[largest].dtype;
        const uint8_t *data = bytes + file.data_offset;
        size_t element = saraphis_dtype_size(dtype);
        size_t data_size = (size_t)file.data_size / element * element;
        if (quick && data_size > (1u << 20)) data_size = 1u << 20;
        static const size_t chunks[] = {256 << 10, 4096, 1 << 20};
        for (int c = 0; c < (quick ? 1 : 3); c++) {
            for (int content = 1; content >= (quick ? 1 : 0); content--) {
                saraphis_ctx_t *ctx = make_ctx(chunks[c], content, SARAPHIS_CODEC_LOSSLESS);
                char label[300];
                snprintf(label, sizeof label, "%s (data section, chunk %zu, content %d)", names[k], chunks[c], content);
                check_encode(label, ctx, dtype, data, c == 1 && data_size > (8u << 20) ? (8u << 20) : data_size);
                saraphis_ctx_free(ctx);
            }
        }
        size_t tensors = quick ? (file.tensor_count < 4 ? file.tensor_count : 4) : file.tensor_count;
        saraphis_ctx_t *ctx = make_ctx(256 << 10, 1, SARAPHIS_CODEC_LOSSLESS);
        for (size_t t = 0; t < tensors; t++) {
            const safetensors_tensor_t *tensor = &file.tensors[t];
            char label[300];
            snprintf(label, sizeof label, "%s tensor %zu", names[k], t);
            check_encode(label, ctx, tensor->dtype, data + tensor->begin, tensor->end - tensor->begin);
        }
        saraphis_ctx_free(ctx);
        printf("  %s: %zu bytes of %s and %zu tensors checked\n", names[k], data_size, saraphis_dtype_name(dtype), tensors);
        safetensors_file_free(&file);
        free(bytes);
    }
}

/* ---- More batches than lanes --------------------------------------------------------------- */

/* SARAPHIS_GPU_ENCODE_BATCHES past the four lanes (streams): each lane carries several batches,
 * and each batch's records are written while later batches encode (what the default three
 * batches rarely show), up to one batch a chunk; values out of range are refused, naming the
 * variable. */
static void many_batches(void)
{
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_F64, SARAPHIS_DTYPE_I16};
    static const pattern_t patterns[] = {PAT_WEIGHTS, PAT_SPECIALS, PAT_WIDE, PAT_WEIGHTS};
    static const char *counts[] = {"5", "16", "1024"};
    const size_t chunk = 4096, size = (quick ? 64 : 300) * chunk + 6;
    uint8_t *data = malloc(size);
    char label[160];
    for (int d = 0; d < 4; d++) {
        fill(data, size, dtypes[d], patterns[d], 40 + d);
        for (int k = 0; k < 3; k++) {
            setenv("SARAPHIS_GPU_ENCODE_BATCHES", counts[k], 1);
            saraphis_ctx_t *ctx = make_ctx(chunk, k != 1, SARAPHIS_CODEC_LOSSLESS);
            snprintf(label, sizeof label, "%s/%s/%zu bytes/%s batches", saraphis_dtype_name(dtypes[d]), pattern_name[patterns[d]], size, counts[k]);
            check_encode(label, ctx, dtypes[d], data, size - size % saraphis_dtype_size(dtypes[d]));
            saraphis_ctx_free(ctx);
        }
    }
    static const char *bad[] = {"0", "1025", "-3", "4x", "many"};
    saraphis_ctx_t *ctx = make_ctx(chunk, 1, SARAPHIS_CODEC_LOSSLESS);
    size_t bound = saraphis_compress_bound(size, chunk), out_size = 0;
    void *d_src = NULL, *d_frame = NULL;
    cudaMalloc(&d_src, size);
    cudaMalloc(&d_frame, bound);
    for (int k = 0; k < 5; k++) {
        setenv("SARAPHIS_GPU_ENCODE_BATCHES", bad[k], 1);
        saraphis_status_t status = saraphis_gpu_compress(ctx, SARAPHIS_DTYPE_BF16, d_src, size, d_frame, bound, &out_size, NULL);
        CHECK_MSG(status == SARAPHIS_ERROR_INVALID_ARGUMENT && strstr(saraphis_last_error(), "SARAPHIS_GPU_ENCODE_BATCHES") != NULL,
                  "SARAPHIS_GPU_ENCODE_BATCHES=%s: %s (%s)", bad[k], saraphis_status_name(status), saraphis_last_error());
    }
    unsetenv("SARAPHIS_GPU_ENCODE_BATCHES");
    cudaFree(d_src);
    cudaFree(d_frame);
    saraphis_ctx_free(ctx);
    free(data);
}

/* ---- A destination too small ---------------------------------------------------------------- */

static void short_destination(void)
{
    size_t size = 300000 * 2, chunk = 65536;
    uint8_t *data = malloc(size);
    fill(data, size, SARAPHIS_DTYPE_BF16, PAT_WEIGHTS, 3);
    saraphis_ctx_t *ctx = make_ctx(chunk, 1, SARAPHIS_CODEC_LOSSLESS);
    size_t bound = saraphis_compress_bound(size, chunk), frame_size = 0, out_size = 0;
    uint8_t *frame = malloc(bound), *after = malloc(bound);
    CHECK(saraphis_compress(ctx, SARAPHIS_DTYPE_BF16, data, size, frame, bound, &frame_size) == SARAPHIS_OK);
    void *d_src = NULL, *d_frame = NULL;
    cudaMalloc(&d_src, size);
    cudaMalloc(&d_frame, bound);
    cudaMemcpy(d_src, data, size, cudaMemcpyHostToDevice);
    static const size_t shorts[] = {1, 1000};
    for (int k = 0; k < 2; k++) {
        size_t capacity = frame_size - shorts[k];
        cudaMemset(d_frame, 0xEE, bound);
        saraphis_status_t status = saraphis_gpu_compress(ctx, SARAPHIS_DTYPE_BF16, d_src, size, d_frame, capacity, &out_size, NULL);
        CHECK_MSG(status == SARAPHIS_ERROR_BUFFER_TOO_SMALL, "capacity %zu of %zu: %s", capacity, frame_size, saraphis_status_name(status));
        CHECK_MSG(strstr(saraphis_last_error(), "destination") != NULL, "message: %s", saraphis_last_error());
        cudaMemcpy(after, d_frame, bound, cudaMemcpyDeviceToHost);
        int untouched = 1;
        for (size_t i = capacity; i < bound; i++) untouched &= after[i] == 0xEE;
        CHECK_MSG(untouched, "bytes written past a capacity of %zu", capacity);
    }
    CHECK(saraphis_gpu_compress(ctx, SARAPHIS_DTYPE_BF16, d_src, size, d_frame, 20, &out_size, NULL) == SARAPHIS_ERROR_BUFFER_TOO_SMALL);
    CHECK(saraphis_gpu_compress(ctx, SARAPHIS_DTYPE_BF16, d_src, size - 1, d_frame, bound, &out_size, NULL) == SARAPHIS_ERROR_DTYPE);
    cudaFree(d_src); cudaFree(d_frame);
    free(data); free(frame); free(after);
    saraphis_ctx_free(ctx);
}

/* ---- Host input (saraphis_gpu_compress_host) ------------------------------------------------ */

static void host_tests(void)
{
    /* Full: 41 MiB and a bit, three 16 MiB groups through two slots; quick: 1 MiB, one group. */
    const size_t base = quick ? (1u << 20) : (41u << 20);
    static const struct {
        saraphis_dtype_t dtype;
        pattern_t pattern;
        size_t chunk;
        int content;
        saraphis_codec_t codec;
        size_t extra; /* elements past base: no multiple of the chunk or the group */
    } cases[] = {
        {SARAPHIS_DTYPE_BF16, PAT_WEIGHTS, 256 << 10, 1, SARAPHIS_CODEC_LOSSLESS, 12345},
        {SARAPHIS_DTYPE_BF16, PAT_WEIGHTS, 3 << 20, 0, SARAPHIS_CODEC_LOSSLESS, 777},  /* 5 chunks to a group */
        {SARAPHIS_DTYPE_F16, PAT_WEIGHTS, 20 << 20, 1, SARAPHIS_CODEC_LOSSLESS, 99},   /* a chunk larger than a group */
        {SARAPHIS_DTYPE_F16, PAT_MASKED, 64 << 10, 1, SARAPHIS_CODEC_LOSSLESS, 3},
        {SARAPHIS_DTYPE_F32, PAT_WEIGHTS, 1 << 20, 1, SARAPHIS_CODEC_LOSSLESS, 4097},
        {SARAPHIS_DTYPE_F32, PAT_RANDOM, 256 << 10, 1, SARAPHIS_CODEC_LOSSLESS, 3},   /* stored chunks: a frame above the input */
        {SARAPHIS_DTYPE_BF16, PAT_WEIGHTS, 256 << 10, 1, SARAPHIS_CODEC_STORED, 5},
        {SARAPHIS_DTYPE_F32, PAT_WEIGHTS, 256 << 10, 1, SARAPHIS_CODEC_BOUNDED, 1001},
        {SARAPHIS_DTYPE_BF16, PAT_WEIGHTS, 1 << 20, 0, SARAPHIS_CODEC_BOUNDED, 33},
        {SARAPHIS_DTYPE_F16, PAT_WEIGHTS, 256 << 10, 1, SARAPHIS_CODEC_BOUNDED, 17},
        {SARAPHIS_DTYPE_I32, PAT_WEIGHTS, 256 << 10, 1, SARAPHIS_CODEC_BOUNDED, 7},    /* stored exactly: LOSSLESS on the device */
    };
    cudaStream_t stream;
    cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const size_t element = saraphis_dtype_size(cases[k].dtype);
        saraphis_ctx_t *ctx = make_ctx(cases[k].chunk, cases[k].content, cases[k].codec);
        /* Twice on one context: the full size, then a smaller one (buffers and slots reused). */
        for (int pass = 0; pass < (quick ? 1 : 2); pass++) {
            const size_t size = (pass ? base / 3 : base) / element * element + cases[k].extra * element;
            uint8_t *data = malloc(size);
            fill(data, size, cases[k].dtype, cases[k].pattern, 100 + k);
            const size_t bound = saraphis_compress_bound(size, cases[k].chunk);
            uint8_t *frame = malloc(bound);
            size_t frame_size = 0;
            char label[200];
            snprintf(label, sizeof label, "host input: %s/%s/%zu bytes/chunk %zu/content %d/codec %d", saraphis_dtype_name(cases[k].dtype),
                     pattern_name[cases[k].pattern], size, cases[k].chunk, cases[k].content, (int)cases[k].codec);
            saraphis_status_t status = saraphis_compress(ctx, cases[k].dtype, data, size, frame, bound, &frame_size);
            CHECK_MSG(status == SARAPHIS_OK, "%s: cpu compress: %s", label, saraphis_last_error());
            if (status == SARAPHIS_OK)
                check_host(label, ctx, cases[k].dtype, data, size, frame, frame_size, cases[k].codec != SARAPHIS_CODEC_BOUNDED,
                           pass ? stream : NULL);
            free(frame);
            free(data);
        }
        saraphis_ctx_free(ctx);
    }
    /* 0 bytes, every codec, from a pointer and from NULL. */
    static const saraphis_codec_t codecs[] = {SARAPHIS_CODEC_LOSSLESS, SARAPHIS_CODEC_STORED, SARAPHIS_CODEC_BOUNDED};
    for (int c = 0; c < 3; c++) {
        saraphis_ctx_t *ctx = make_ctx(256 << 10, 1, codecs[c]);
        uint8_t data[4] = {0}, frame[256], gpu_frame[256];
        size_t frame_size = 0, gpu_size = 0;
        char label[64];
        snprintf(label, sizeof label, "host input: 0 bytes/codec %d", (int)codecs[c]);
        CHECK_MSG(saraphis_compress(ctx, SARAPHIS_DTYPE_F32, data, 0, frame, sizeof frame, &frame_size) == SARAPHIS_OK, "%s: cpu: %s", label,
                  saraphis_last_error());
        check_host(label, ctx, SARAPHIS_DTYPE_F32, data, 0, frame, frame_size, 1, NULL);
        memset(gpu_frame, 0xA5, sizeof gpu_frame);
        saraphis_status_t status = saraphis_gpu_compress_host(ctx, SARAPHIS_DTYPE_F32, NULL, 0, gpu_frame, sizeof gpu_frame, &gpu_size, NULL);
        CHECK_MSG(status == SARAPHIS_OK && gpu_size == frame_size && memcmp(gpu_frame, frame, frame_size) == 0, "%s (NULL source): %s", label,
                  status == SARAPHIS_OK ? "frames differ" : saraphis_last_error());
        saraphis_ctx_free(ctx);
    }
    cudaStreamDestroy(stream);
}

/* A destination too small for the frame: BUFFER_TOO_SMALL and not one byte of it written, pageable
 * or pinned, lossless and bounded; then the same context encodes with the exact capacity. */
static void host_short_destination(void)
{
    const size_t size = (quick ? 600000 : (35u << 20) / 2 + 77) * 2, chunk = 256 << 10;
    uint8_t *data = malloc(size);
    fill(data, size, SARAPHIS_DTYPE_BF16, PAT_WEIGHTS, 5);
    const size_t bound = saraphis_compress_bound(size, chunk);
    uint8_t *frame = malloc(bound), *pageable = malloc(bound), *pinned = NULL;
    cudaMallocHost((void **)&pinned, bound);
    static const saraphis_codec_t codecs[] = {SARAPHIS_CODEC_LOSSLESS, SARAPHIS_CODEC_BOUNDED};
    for (int c = 0; c < 2 && pinned; c++) {
        saraphis_ctx_t *ctx = make_ctx(chunk, 1, codecs[c]);
        size_t frame_size = 0, out_size = 0;
        CHECK(saraphis_compress(ctx, SARAPHIS_DTYPE_BF16, data, size, frame, bound, &frame_size) == SARAPHIS_OK);
        for (int way = 0; way < 2; way++) {
            uint8_t *dst = way ? pinned : pageable;
            const size_t capacities[] = {frame_size - 1, frame_size - 1000, 20};
            for (int k = 0; k < 3; k++) {
                memset(dst, 0xEE, bound);
                saraphis_status_t status = saraphis_gpu_compress_host(ctx, SARAPHIS_DTYPE_BF16, data, size, dst, capacities[k], &out_size, NULL);
                CHECK_MSG(status == SARAPHIS_ERROR_BUFFER_TOO_SMALL, "host, codec %d, %s dst, capacity %zu of %zu: %s", (int)codecs[c],
                          way ? "pinned" : "pageable", capacities[k], frame_size, saraphis_status_name(status));
                CHECK_MSG(strstr(saraphis_last_error(), "destination") != NULL && strncmp(saraphis_last_error(), "gpu_compress_host: ", 19) == 0,
                          "message: %s", saraphis_last_error());
                int untouched = 1;
                for (size_t i = 0; i < bound; i++) untouched &= dst[i] == 0xEE;
                CHECK_MSG(untouched, "host, codec %d: dst written with a capacity of %zu", (int)codecs[c], capacities[k]);
            }
            memset(dst, 0xEE, bound);
            saraphis_status_t status = saraphis_gpu_compress_host(ctx, SARAPHIS_DTYPE_BF16, data, size, dst, frame_size, &out_size, NULL);
            int same = status == SARAPHIS_OK && out_size == frame_size && memcmp(dst, frame, frame_size) == 0;
            CHECK_MSG(same, "host, codec %d: exact capacity: %s", (int)codecs[c], status == SARAPHIS_OK ? "frames differ" : saraphis_last_error());
            identical_frames += same;
            identical_host_frames += same;
        }
        CHECK(saraphis_gpu_compress_host(ctx, SARAPHIS_DTYPE_BF16, data, size - 1, pageable, bound, &out_size, NULL) == SARAPHIS_ERROR_DTYPE);
        CHECK(saraphis_gpu_compress_host(ctx, SARAPHIS_DTYPE_BF16, data, size, NULL, bound, &out_size, NULL) == SARAPHIS_ERROR_INVALID_ARGUMENT);
        CHECK(saraphis_gpu_compress_host(ctx, SARAPHIS_DTYPE_BF16, NULL, size, pageable, bound, &out_size, NULL) == SARAPHIS_ERROR_INVALID_ARGUMENT);
        saraphis_ctx_free(ctx);
    }
    cudaFreeHost(pinned);
    free(data); free(frame); free(pageable);
}

int main(int argc, char **argv)
{
    int host_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--host") == 0) host_only = 1;
    }
    if (!saraphis_gpu_available()) {
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        size_t out = 0;
        saraphis_status_t status = saraphis_gpu_compress(ctx, SARAPHIS_DTYPE_F32, (void *)16, 64, (void *)16, 4096, &out, NULL);
        CHECK(status == SARAPHIS_ERROR_GPU || status == SARAPHIS_ERROR_UNSUPPORTED);
        uint8_t in[64] = {0}, frame[4096];
        status = saraphis_gpu_compress_host(ctx, SARAPHIS_DTYPE_F32, in, sizeof in, frame, sizeof frame, &out, NULL);
        CHECK(status == SARAPHIS_ERROR_GPU || status == SARAPHIS_ERROR_UNSUPPORTED);
        saraphis_ctx_free(ctx);
        printf("test_gpu_encode: skipped (no CUDA device: %s)\n", saraphis_last_error());
        return TEST_SUMMARY("test_gpu_encode");
    }
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    printf("device: %s, %d SMs%s%s\n", prop.name, prop.multiProcessorCount, quick ? " (quick)" : "", host_only ? " (host input only)" : "");
    if (!host_only) {
        generated_tests();
        printf("  generated data: done\n");
        real_weights();
        many_batches();
        short_destination();
    }
    host_tests();
    host_short_destination();
    printf("  host input: done\n");
    printf("  %d GPU frames identical to the CPU's (%d of them encoded from host memory)\n", identical_frames, identical_host_frames);
    return TEST_SUMMARY("test_gpu_encode");
}
