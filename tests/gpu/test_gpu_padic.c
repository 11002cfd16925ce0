/* The GPU decoder of bounded (p-adic) chunks against the CPU reference (needs a CUDA device;
 * scripts/gpu_test.sh runs it).
 *
 *   1. generated data, F32 / F64 / F16 / BF16: weights, mixed magnitudes and signs, NaN / Inf /
 *      huge / tiny / subnormal values, all zero, constant, 90 % zeros, random bits; absolute and
 *      relative bounds, primes 2, 3, 13, 251 and others, automatic and fixed precisions, several
 *      chunk sizes with a partial last chunk: the GPU's bytes equal the CPU decoder's, and the
 *      forms the records use (escape lists and bitmaps, zero / dense / sparse planes, raw /
 *      rANS / constant streams) are tallied so that every path is known to have run;
 *   2. batches: bounded and lossless frames of several dtypes in one call;
 *   3. real weights (minilm_*.safetensors in SARAPHIS_GPU_DATA or .bench/data), whole data
 *      sections and tensor by tensor in one batch;
 *   4. corruption: flipped bytes (CHECKSUM on both); records re-sealed after a change (the record
 *      checksum, and in "deep" trials also the p-adic head and plane checksums, made valid
 *      again, so that the decoders' own structure checks decide); every header field changed;
 *      records cut short. The GPU's code must equal the CPU's every time, for whole decodes and
 *      for decodes of the top plane;
 *   5. progressive decode (saraphis_gpu_decompress_planes against saraphis_decompress_planes):
 *      every plane count from 1 to the precision (and 0, and one past it) on generated data of
 *      the four dtypes with escapes, several primes and precisions, and on the real weights: the
 *      same bytes and bound on both sides, every finite element within the bound, every other
 *      one exact; corrupt records (flips, re-sealed changes in planes read and not read, the
 *      content checksum, a plane table running past the record) give the CPU's code.
 * --quick: small inputs only, and one corruption case with records verified by their content
 * checksums (for compute-sanitizer); --planes: part 5 only. With no device:
 * "skipped", exit 0. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/padic.h"
#include "codec/padic_values.h"
#include "common/bits.h"
#include "common/checksum.h"
#include "container/safetensors.h"
#include "saraphis.h"
#include "file_support.h"
#include "gpu/gpu_test_data.h"
#include "testing.h"

static int quick;

static saraphis_ctx_t *make_ctx(size_t chunk_bytes, int content_checksum)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, (int64_t)chunk_bytes);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, content_checksum);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
    return ctx;
}

static saraphis_ctx_t *bounded_ctx(size_t chunk_bytes, int content_checksum, saraphis_bound_mode_t mode, double bound, unsigned prime,
                                   unsigned precision)
{
    saraphis_ctx_t *ctx = make_ctx(chunk_bytes, content_checksum);
    saraphis_status_t status = saraphis_ctx_set_error_bound(ctx, mode, bound, prime, precision);
    CHECK_MSG(status == SARAPHIS_OK, "set_error_bound(%d, %g, %u, %u): %s", (int)mode, bound, prime, precision, saraphis_last_error());
    return ctx;
}

static uint8_t *compress_frame(saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const uint8_t *data, size_t size, size_t *frame_size)
{
    int64_t chunk_bytes = 0;
    saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, &chunk_bytes);
    size_t bound = saraphis_compress_bound(size, (size_t)chunk_bytes);
    uint8_t *frame = malloc(bound);
    saraphis_status_t status = saraphis_compress(ctx, dtype, data, size, frame, bound, frame_size);
    CHECK_MSG(status == SARAPHIS_OK, "cpu compress: %s", saraphis_last_error());
    if (status != SARAPHIS_OK) { free(frame); return NULL; }
    return frame;
}

/* ---- What the records hold --------------------------------------------------------------- */

typedef struct {
    unsigned long long records[3];    /* by chunk method: stored, lossless, padic */
    unsigned long long escapes[3];    /* by escape form */
    unsigned long long planes[3];     /* by plane form */
    unsigned long long streams[3];    /* entropy modes of the first stream of dense planes */
    unsigned long long primes_seen[256];
} tally_t;

static tally_t tally;

static void tally_payload(const uint8_t *payload, size_t size)
{
    if (size < 24) return;
    unsigned P = payload[3];
    size_t head = 24 + 12 * (size_t)P, E = load_le32(payload + 20);
    if (head + E + 8 > size) return;
    tally.primes_seen[payload[2]]++;
    tally.escapes[payload[head] < 3 ? payload[head] : 0]++;
    size_t offset = head + E + 8;
    for (unsigned j = 0; j < P; j++) {
        size_t bytes = load_le32(payload + 24 + 12 * j);
        if (offset + bytes > size || bytes < 5) return;
        const uint8_t *plane = payload + offset;
        if (plane[0] < 3) tally.planes[plane[0]]++;
        if (plane[0] == 1) {
            size_t pos = 5;
            if (load_le32(plane + 1) == 0 && pos + 1 < bytes && plane[pos + 1] < 3) tally.streams[plane[pos + 1]]++;
        }
        offset += bytes;
    }
}

/* Calls fn(record offset, record size) for every record of a frame. */
static size_t frame_records(const uint8_t *frame, size_t frame_size, size_t *offsets, size_t *sizes, size_t capacity)
{
    if (frame_size < 32) return 0;
    uint32_t chunks = load_le32(frame + 12);
    size_t offset = 32 + 4 * (size_t)chunks, k = 0;
    for (uint32_t c = 0; c < chunks && k < capacity; c++) {
        size_t record = load_le32(frame + 32 + 4 * (size_t)c);
        if (offset + record > frame_size) break;
        offsets[k] = offset;
        sizes[k] = record;
        k++;
        offset += record;
    }
    return k;
}

static unsigned long long tally_frame(const uint8_t *frame, size_t frame_size)
{
    size_t offsets[4096], sizes[4096];
    size_t count = frame_records(frame, frame_size, offsets, sizes, 4096);
    unsigned long long padic = 0;
    for (size_t k = 0; k < count; k++) {
        if (sizes[k] < 25) continue;
        unsigned method = frame[offsets[k] + 24];
        if (method < 3) tally.records[method]++;
        if (method == 2) {
            padic++;
            tally_payload(frame + offsets[k] + 25, sizes[k] - 25);
        }
    }
    return padic;
}

/* ---- Decoding on both sides -------------------------------------------------------------- */

static saraphis_status_t gpu_decode(saraphis_ctx_t *ctx, const uint8_t *frame, size_t frame_size, uint8_t *out, size_t raw)
{
    void *d_frame = device_copy(frame, frame_size), *d_out = NULL;
    cudaMalloc(&d_out, raw ? raw : 1);
    cudaMemset(d_out, 0xA5, raw ? raw : 1);
    size_t out_size = 0;
    saraphis_status_t status = saraphis_gpu_decompress(ctx, d_frame, frame_size, d_out, raw, &out_size, NULL);
    if (out) cudaMemcpy(out, d_out, raw, cudaMemcpyDeviceToHost);
    cudaFree(d_frame);
    cudaFree(d_out);
    return status;
}

static saraphis_status_t gpu_decode_planes(saraphis_ctx_t *ctx, const uint8_t *frame, size_t frame_size, unsigned planes, uint8_t *out,
                                           size_t raw, double *bound)
{
    void *d_frame = device_copy(frame, frame_size), *d_out = NULL;
    cudaMalloc(&d_out, raw ? raw : 1);
    cudaMemset(d_out, 0xA5, raw ? raw : 1);
    size_t out_size = 0;
    saraphis_status_t status = saraphis_gpu_decompress_planes(ctx, d_frame, frame_size, planes, d_out, raw, &out_size, bound, NULL);
    if (status == SARAPHIS_OK && out_size != raw) status = SARAPHIS_ERROR_STATE; /* a wrong size fails the comparison */
    if (out) cudaMemcpy(out, d_out, raw, cudaMemcpyDeviceToHost);
    cudaFree(d_frame);
    cudaFree(d_out);
    return status;
}

static void report_difference(const uint8_t *a, const uint8_t *b, size_t size, size_t element)
{
    for (size_t i = 0; i < size; i++)
        if (a[i] != b[i]) {
            size_t e = i / element;
            fprintf(stderr, "  first difference at element %zu:", e);
            for (size_t k = 0; k < element; k++) fprintf(stderr, " %02x/%02x", a[e * element + k], b[e * element + k]);
            fprintf(stderr, " (cpu/gpu bytes)\n");
            return;
        }
}

/* Compresses on the CPU; the GPU must decode exactly what the CPU decodes. */
static void same_decode(const char *label, saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const uint8_t *data, size_t size, int want_padic)
{
    size_t frame_size = 0, out_size = 0;
    uint8_t *frame = compress_frame(ctx, dtype, data, size, &frame_size);
    if (!frame) return;
    unsigned long long padic = tally_frame(frame, frame_size);
    if (want_padic) CHECK_MSG(padic > 0, "%s: no bounded record in the frame", label);
    uint8_t *cpu = malloc(size ? size : 1), *gpu = malloc(size ? size : 1);
    saraphis_status_t status = saraphis_decompress(ctx, frame, frame_size, cpu, size, &out_size);
    CHECK_MSG(status == SARAPHIS_OK, "%s: cpu decode: %s", label, saraphis_last_error());
    status = gpu_decode(ctx, frame, frame_size, gpu, size);
    CHECK_MSG(status == SARAPHIS_OK, "%s: gpu decode: %s", label, saraphis_last_error());
    int same = status == SARAPHIS_OK && memcmp(cpu, gpu, size) == 0;
    CHECK_MSG(same, "%s: gpu bytes differ from the cpu's (%zu bytes)", label, size);
    if (!same && status == SARAPHIS_OK) report_difference(cpu, gpu, size, saraphis_dtype_size(dtype));
    /* The same frame from host memory (records staged in groups). */
    void *d_out = NULL;
    cudaMalloc(&d_out, size ? size : 1);
    status = saraphis_gpu_decompress_host(ctx, frame, frame_size, d_out, size, &out_size, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "%s: gpu decode from host memory: %s", label, saraphis_last_error());
    memset(gpu, 0, size);
    cudaMemcpy(gpu, d_out, size, cudaMemcpyDeviceToHost);
    cudaFree(d_out);
    CHECK_MSG(status == SARAPHIS_OK && memcmp(cpu, gpu, size) == 0, "%s: gpu decode from host memory differs from the cpu's", label);
    free(cpu);
    free(gpu);
    free(frame);
}

/* ---- Generated data ----------------------------------------------------------------------- */

typedef enum { GEN_WEIGHTS, GEN_MIXED, GEN_SPECIALS, GEN_ZEROS, GEN_CONSTANT, GEN_SPARSE, GEN_SIGNS, GEN_OUTLIERS, GEN_RANDOM_BITS, GEN_COUNT } generator_t;
static const char *generator_name[] = {"weights", "mixed", "specials", "zeros", "constant", "90%-zeros", "signs", "outliers", "random-bits"};

static void generate(uint8_t *p, size_t n, saraphis_dtype_t dtype, generator_t g, unsigned long long seed)
{
    unsigned long long state = seed * 0x9E3779B97F4A7C15ULL + 7;
    size_t element = saraphis_dtype_size(dtype);
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = test_random(&state);
        double w = gaussian_double(&state) * 0.02, v = w;
        switch (g) {
        case GEN_WEIGHTS: break;
        case GEN_MIXED: v = gaussian_double(&state) * pow(10.0, (double)(bits % 10) - 6); break;
        case GEN_SPECIALS: {
            static const double specials[] = {NAN, INFINITY, -INFINITY, 1e30, -3e38, 1e-30, 5e-324, -1e-310, 65504, 70000, 0.0, -0.0,
                                              0.046875, 1e-8, -2.5e-39};
            if (bits % 5 == 0) v = specials[(bits >> 8) % (sizeof specials / sizeof specials[0])];
            break;
        }
        case GEN_ZEROS: v = (bits & 1) ? 0.0 : -0.0; break;
        case GEN_CONSTANT: v = 0.7109375; break;
        case GEN_SPARSE: v = bits % 10 ? 0.0 : w * 50; break;
        case GEN_SIGNS: v = (i & 1 ? -1 : 1) * (fabs(w) * 1000 + 1); break;
        case GEN_OUTLIERS: v = bits % 997 == 0 ? w * 5000 : w; break;
        case GEN_RANDOM_BITS: memcpy(p + i * element, &bits, element); continue;
        default: break;
        }
        store_float_element(p + i * element, dtype, v);
    }
}

typedef struct {
    saraphis_bound_mode_t mode;
    double bound;
    unsigned prime, precision;
} bound_t;

static void generated_tests(void)
{
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_F64, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_BF16};
    static const bound_t bounds[] = {
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 0},      {SARAPHIS_BOUND_ABSOLUTE, 1e-4, 2, 0},     {SARAPHIS_BOUND_RELATIVE_STD, 1e-2, 3, 0},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-2, 13, 0},     {SARAPHIS_BOUND_RELATIVE_RANGE, 1e-3, 0, 0}, {SARAPHIS_BOUND_ABSOLUTE, 1e-6, 251, 4},
        {SARAPHIS_BOUND_ABSOLUTE, 3e-3, 7, 2},      {SARAPHIS_BOUND_ABSOLUTE, 0.25, 2, 3},     {SARAPHIS_BOUND_RELATIVE_STD, 0.3, 251, 1},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-5, 97, 0},     {SARAPHIS_BOUND_ABSOLUTE, 1e-7, 3, 0},
    };
    const size_t bound_count = sizeof bounds / sizeof bounds[0];
    static const size_t elements_full[] = {1, 1000, 65536 + 7, 300001};
    static const size_t elements_quick[] = {1, 777, 9000};
    const size_t *elements = quick ? elements_quick : elements_full;
    const size_t size_count = quick ? 3 : 4;
    /* 100 KiB: element-pass segments that end inside a 4 KiB checksum segment. */
    static const size_t chunks[] = {4096, 65536, 256 << 10, 1 << 20, 100 << 10};
    const size_t chunk_kinds = sizeof chunks / sizeof chunks[0];
    int case_index = 0;
    for (size_t d = 0; d < 4; d++) {
        for (int g = 0; g < GEN_COUNT; g++) {
            for (size_t s = 0; s < size_count; s++) {
                if (quick && g % 3 != (int)s % 3) continue;
                const bound_t *b = &bounds[(size_t)(case_index * 7 + g) % bound_count];
                /* p = 2 with dozens of planes is slow on the CPU: keep it to the smaller sizes. */
                if (b->prime == 2 && elements[s] > 70000) b = &bounds[0];
                size_t element = saraphis_dtype_size(dtypes[d]), n = elements[s], size = n * element;
                size_t chunk = chunks[(case_index++) % chunk_kinds];
                int content = case_index % 3 != 0;
                uint8_t *data = malloc(size);
                generate(data, n, dtypes[d], (generator_t)g, (unsigned long long)case_index);
                char label[200];
                snprintf(label, sizeof label, "%s/%s/%zu elements/chunk %zu/bound %d %g p %u P %u/content %d", saraphis_dtype_name(dtypes[d]),
                         generator_name[g], n, chunk, (int)b->mode, b->bound, b->prime, b->precision, content);
                saraphis_ctx_t *ctx = bounded_ctx(chunk, content, b->mode, b->bound, b->prime, b->precision);
                /* Constant and all-zero tensors under a relative bound are stored losslessly. */
                /* Not every case gets bounded records (a payload larger than the raw bytes is
                 * stored, a constant tensor under a relative bound is lossless): the tally below
                 * checks that the forms all appear. */
                same_decode(label, ctx, dtypes[d], data, size, 0);
                saraphis_ctx_free(ctx);
                free(data);
            }
        }
    }
    /* Every prime's digits on F32 weights, and the sparse top planes of outliers. */
    static const unsigned primes[] = {2, 3, 5, 7, 11, 13, 31, 127, 251};
    for (size_t k = 0; k < sizeof primes / sizeof primes[0]; k += quick ? 3 : 1) {
        size_t n = quick ? 3000 : 40000;
        uint8_t *data = malloc(n * 4);
        generate(data, n, SARAPHIS_DTYPE_F32, k % 2 ? GEN_OUTLIERS : GEN_WEIGHTS, 100 + k);
        char label[120];
        snprintf(label, sizeof label, "F32/prime %u/1e-4", primes[k]);
        saraphis_ctx_t *ctx = bounded_ctx(16384, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-4, primes[k], 0);
        same_decode(label, ctx, SARAPHIS_DTYPE_F32, data, n * 4, 1);
        saraphis_ctx_free(ctx);
        free(data);
    }
    printf("  generated data: records stored %llu, lossless %llu, bounded %llu; escapes none %llu, list %llu, bitmap %llu; "
           "planes zero %llu, dense %llu, sparse %llu; streams raw %llu, rans %llu, constant %llu\n",
           tally.records[0], tally.records[1], tally.records[2], tally.escapes[0], tally.escapes[1], tally.escapes[2], tally.planes[0],
           tally.planes[1], tally.planes[2], tally.streams[0], tally.streams[1], tally.streams[2]);
    CHECK_MSG(tally.records[2] >= (quick ? 20u : 150u), "only %llu bounded records", tally.records[2]);
    if (!quick) {
        for (int k = 0; k < 3; k++) {
            CHECK_MSG(tally.escapes[k] > 0, "no record with escape form %d", k);
            CHECK_MSG(tally.planes[k] > 0, "no plane of form %d", k);
            CHECK_MSG(tally.streams[k] > 0, "no stream of mode %d", k);
        }
    }
}

/* A bounded frame whose records span several of the host decode's 16 MiB groups (consecutive
 * groups go to different streams): each group's bounded chunks must decode as the CPU's, with
 * nothing of one group's descriptors, work areas or digits overwritten by the next group's. From
 * pinned memory the groups arrive fastest; with p = 2 (a plane a digit) each group's decode is
 * longest: the case where the next group's kernels are most likely to start while one runs. */
static void host_groups_case(const char *label, unsigned prime, double bound)
{
    const size_t n = (size_t)24 << 20, size = n * 4; /* 96 MiB of F32 */
    uint8_t *data = malloc(size), *cpu = malloc(size), *gpu = malloc(size), *pinned = NULL;
    generate(data, n, SARAPHIS_DTYPE_F32, GEN_WEIGHTS, 4242 + prime);
    saraphis_ctx_t *ctx = bounded_ctx(256 << 10, 1, SARAPHIS_BOUND_ABSOLUTE, bound, prime, 0);
    size_t frame_size = 0, out_size = 0;
    uint8_t *frame = compress_frame(ctx, SARAPHIS_DTYPE_F32, data, size, &frame_size);
    void *d_out = NULL;
    if (frame && cudaMallocHost((void **)&pinned, frame_size) == cudaSuccess && cudaMalloc(&d_out, size) == cudaSuccess) {
        CHECK_MSG(frame_size > 2 * (size_t)(16u << 20), "%s: the frame (%zu bytes) does not span three record groups", label, frame_size);
        memcpy(pinned, frame, frame_size);
        saraphis_status_t status = saraphis_decompress(ctx, frame, frame_size, cpu, size, &out_size);
        CHECK_MSG(status == SARAPHIS_OK, "%s: cpu decode: %s", label, saraphis_last_error());
        for (int round = 0; round < 3; round++) {
            cudaMemset(d_out, 0xA5, size);
            status = saraphis_gpu_decompress_host(ctx, pinned, frame_size, d_out, size, &out_size, NULL);
            CHECK_MSG(status == SARAPHIS_OK, "%s: gpu decode from pinned host memory: %s", label, saraphis_last_error());
            cudaMemcpy(gpu, d_out, size, cudaMemcpyDeviceToHost);
            const int same = status == SARAPHIS_OK && memcmp(cpu, gpu, size) == 0;
            CHECK_MSG(same, "%s: gpu decode from pinned host memory differs from the cpu's (call %d)", label, round);
            if (!same && status == SARAPHIS_OK) report_difference(cpu, gpu, size, 4);
        }
        /* And from pageable memory, and from device memory, as every case. */
        same_decode(label, ctx, SARAPHIS_DTYPE_F32, data, size, 1);
    } else {
        CHECK_MSG(0, "%s: no frame or no memory", label);
    }
    printf("  %s: %zu bytes of records, three host decodes from pinned memory\n", label, frame_size);
    cudaFree(d_out);
    cudaFreeHost(pinned);
    free(frame);
    saraphis_ctx_free(ctx);
    free(data);
    free(cpu);
    free(gpu);
}

static void host_groups_test(void)
{
    host_groups_case("F32/weights/96 MiB/bound 1e-6 (records in several host groups)", 0, 1e-6);
    host_groups_case("F32/weights/96 MiB/p 2/bound 1e-5 (records in several host groups)", 2, 1e-5);
}

/* ---- Batches ------------------------------------------------------------------------------- */

static void batch_test(void)
{
    enum { FRAMES = 6 };
    static const saraphis_dtype_t dtypes[FRAMES] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F32,
                                                    SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_F64, SARAPHIS_DTYPE_F32};
    static const size_t elements[FRAMES] = {100003, 50001, 70000, 33333, 20000, 1};
    saraphis_ctx_t *ctxs[FRAMES] = {
        bounded_ctx(65536, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 0),
        bounded_ctx(4096, 0, SARAPHIS_BOUND_RELATIVE_STD, 1e-2, 0, 0),
        make_ctx(65536, 1), /* lossless beside bounded */
        bounded_ctx(16384, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-4, 3, 0),
        bounded_ctx(256 << 10, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-9, 251, 0),
        bounded_ctx(4096, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 2, 0),
    };
    const void *d_frames[FRAMES];
    void *d_dsts[FRAMES];
    size_t frame_sizes[FRAMES], capacities[FRAMES], out_sizes[FRAMES];
    uint8_t *cpu[FRAMES];
    int ok = 1;
    for (int f = 0; f < FRAMES; f++) {
        size_t size = elements[f] * saraphis_dtype_size(dtypes[f]), out = 0;
        uint8_t *data = malloc(size);
        generate(data, elements[f], dtypes[f], f == 3 ? GEN_SPECIALS : GEN_WEIGHTS, 500 + f);
        uint8_t *frame = compress_frame(ctxs[f], dtypes[f], data, size, &frame_sizes[f]);
        cpu[f] = malloc(size);
        ok &= frame && saraphis_decompress(ctxs[f], frame, frame_sizes[f], cpu[f], size, &out) == SARAPHIS_OK;
        d_frames[f] = device_copy(frame, frame_sizes[f]);
        cudaMalloc(&d_dsts[f], size);
        capacities[f] = size;
        free(frame);
        free(data);
    }
    CHECK_MSG(ok, "batch: cpu side");
    saraphis_status_t status = saraphis_gpu_decompress_batch(ctxs[0], FRAMES, d_frames, frame_sizes, d_dsts, capacities, out_sizes, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "batch decode: %s", saraphis_last_error());
    for (int f = 0; f < FRAMES; f++) {
        uint8_t *back = malloc(capacities[f]);
        cudaMemcpy(back, d_dsts[f], capacities[f], cudaMemcpyDeviceToHost);
        CHECK_MSG(status == SARAPHIS_OK && out_sizes[f] == capacities[f] && memcmp(back, cpu[f], capacities[f]) == 0,
                  "batch frame %d differs from the cpu's decode", f);
        free(back);
        free(cpu[f]);
        cudaFree((void *)d_frames[f]);
        cudaFree(d_dsts[f]);
        saraphis_ctx_free(ctxs[f]);
    }
    printf("  batch: %d frames (bounded and lossless, four dtypes) in one call\n", FRAMES);
}

/* ---- Real weights -------------------------------------------------------------------------- */

static void batch_tensors(const char *name, const safetensors_file_t *file, const uint8_t *data)
{
    size_t count = file->tensor_count;
    saraphis_ctx_t *ctx = bounded_ctx(256 << 10, 1, SARAPHIS_BOUND_RELATIVE_STD, 1e-2, 0, 0);
    const void **d_frames = calloc(count, sizeof *d_frames);
    void **d_dsts = calloc(count, sizeof *d_dsts);
    size_t *frame_sizes = calloc(count, sizeof *frame_sizes), *capacities = calloc(count, sizeof *capacities);
    size_t *out_sizes = calloc(count, sizeof *out_sizes);
    uint8_t **cpu = calloc(count, sizeof *cpu);
    int ok = 1;
    for (size_t t = 0; t < count; t++) {
        const safetensors_tensor_t *tensor = &file->tensors[t];
        size_t size = tensor->end - tensor->begin, out = 0;
        uint8_t *frame = compress_frame(ctx, tensor->dtype, data + tensor->begin, size, &frame_sizes[t]);
        cpu[t] = malloc(size ? size : 1);
        ok &= frame && saraphis_decompress(ctx, frame, frame_sizes[t], cpu[t], size, &out) == SARAPHIS_OK;
        d_frames[t] = device_copy(frame, frame_sizes[t]);
        cudaMalloc(&d_dsts[t], size ? size : 1);
        capacities[t] = size;
        free(frame);
    }
    CHECK_MSG(ok, "%s: cpu side of the tensors", name);
    saraphis_status_t status = saraphis_gpu_decompress_batch(ctx, count, d_frames, frame_sizes, d_dsts, capacities, out_sizes, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "%s: batch decode of %zu tensors: %s", name, count, saraphis_last_error());
    int same = 1;
    for (size_t t = 0; t < count; t++) {
        uint8_t *back = malloc(capacities[t] ? capacities[t] : 1);
        cudaMemcpy(back, d_dsts[t], capacities[t], cudaMemcpyDeviceToHost);
        same &= out_sizes[t] == capacities[t] && memcmp(back, cpu[t], capacities[t]) == 0;
        free(back);
        free(cpu[t]);
        cudaFree((void *)d_frames[t]);
        cudaFree(d_dsts[t]);
    }
    CHECK_MSG(same, "%s: batch decode differs from the cpu's", name);
    printf("  %s: %zu tensors (each its own frame, 1e-2 x std) decoded in one batch\n", name, count);
    free(d_frames); free(d_dsts); free(frame_sizes); free(capacities); free(out_sizes); free(cpu);
    saraphis_ctx_free(ctx);
}

static void real_weights(void)
{
    static const char *names[] = {"minilm_f32", "minilm_bf16", "minilm_f16"};
    for (size_t k = 0; k < 3; k++) {
        char path[1200];
        safetensors_file_t file;
        uint8_t *bytes = gpu_test_load_weights(names[k], &file, path, sizeof path);
        if (!bytes) continue;
        /* The data section as the dtype of its largest tensor (the others' bytes read as floats of it). */
        const size_t largest = gpu_test_largest_tensor(&file);
        saraphis_dtype_t dtype = file.tensors[largest].dtype;
        size_t element = saraphis_dtype_size(dtype);
        const uint8_t *data = bytes + file.data_offset;
        size_t data_size = (size_t)file.data_size / element * element;
        if (data_size > (quick ? (1u << 20) : (24u << 20))) data_size = (quick ? (1u << 20) : (24u << 20));
        static const bound_t bounds[] = {{SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 0}, {SARAPHIS_BOUND_ABSOLUTE, 1e-4, 0, 0},
                                         {SARAPHIS_BOUND_ABSOLUTE, 1e-6, 0, 0}, {SARAPHIS_BOUND_RELATIVE_STD, 3e-2, 0, 0}};
        for (int b = 0; b < (quick ? 1 : 4); b++) {
            saraphis_ctx_t *ctx = bounded_ctx(256 << 10, 1, bounds[b].mode, bounds[b].bound, bounds[b].prime, bounds[b].precision);
            char label[300];
            snprintf(label, sizeof label, "%s (data section, bound %d %g)", names[k], (int)bounds[b].mode, bounds[b].bound);
            same_decode(label, ctx, dtype, data, data_size, 1);
            saraphis_ctx_free(ctx);
        }
        printf("  %s: %zu bytes of %s, %d bounds\n", names[k], data_size, saraphis_dtype_name(dtype), quick ? 1 : 4);
        if (!quick) batch_tensors(names[k], &file, data);
        safetensors_file_free(&file);
        free(bytes);
    }
}

/* ---- Corruption ----------------------------------------------------------------------------- */

/* Makes the p-adic payload's own checksums valid again (plane checksums first: they sit in the
 * plane table, which the head checksum covers), as far as its header can be followed. */
static void reseal_payload(uint8_t *payload, size_t size)
{
    if (size < 24) return;
    unsigned P = payload[3];
    if (P < 1 || P > 40) return;
    size_t head = 24 + 12 * (size_t)P, E = load_le32(payload + 20);
    if (head > size || head + E + 8 > size) return;
    size_t offset = head + E + 8;
    for (unsigned j = 0; j < P; j++) {
        size_t bytes = load_le32(payload + 24 + 12 * j);
        if (offset + bytes > size) break;
        store_le64(payload + 24 + 12 * j + 4, checksum64(payload + offset, bytes, j));
        offset += bytes;
    }
    store_le64(payload + head + E, checksum64(payload, head + E, 0));
}

static void reseal_record(uint8_t *record, size_t record_size)
{
    store_le64(record, checksum64(record + 8, record_size - 8, 0));
}

static void reseal_frame_header(uint8_t *frame)
{
    uint32_t chunks = load_le32(frame + 12);
    store_le64(frame + 24, checksum64(frame, 24, 0) ^ checksum64(frame + 32, 4 * (size_t)chunks, 1));
}

static int corruption_trials, corruption_rejected;
/* SARAPHIS_PARAM_VERIFY_RECORDS for both decoders: 0 verifies a record that carries a content
 * checksum by that checksum alone (whole decodes; a progressive one still verifies records). */
static int verify_records = 1;

static void compare_codes(const char *what, saraphis_ctx_t *ctx, const uint8_t *bad, size_t frame_size, size_t raw, uint8_t *cpu_out,
                          uint8_t *gpu_out)
{
    size_t out_size = 0;
    CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, verify_records) == SARAPHIS_OK);
    memset(cpu_out, 0, raw);
    saraphis_status_t cpu = saraphis_decompress(ctx, bad, frame_size, cpu_out, raw, &out_size);
    saraphis_status_t gpu = gpu_decode(ctx, bad, frame_size, gpu_out, raw);
    corruption_trials++;
    corruption_rejected += cpu != SARAPHIS_OK;
    CHECK_MSG(cpu == gpu, "%s: cpu %s, gpu %s (%s)", what, saraphis_status_name(cpu), saraphis_status_name(gpu), saraphis_last_error());
    if (cpu == SARAPHIS_OK && gpu == SARAPHIS_OK) CHECK_MSG(memcmp(cpu_out, gpu_out, raw) == 0, "%s: decodes differently", what);
    /* The top plane only: a different set of checks (the planes below are not read). */
    double cpu_bound = -1, gpu_bound = -2;
    cpu = saraphis_decompress_planes(ctx, bad, frame_size, 1, cpu_out, raw, &out_size, &cpu_bound);
    gpu = gpu_decode_planes(ctx, bad, frame_size, 1, gpu_out, raw, &gpu_bound);
    CHECK_MSG(cpu == gpu, "%s, top plane: cpu %s, gpu %s (%s)", what, saraphis_status_name(cpu), saraphis_status_name(gpu), saraphis_last_error());
    if (cpu == SARAPHIS_OK && gpu == SARAPHIS_OK)
        CHECK_MSG(memcmp(cpu_out, gpu_out, raw) == 0 && cpu_bound == gpu_bound, "%s, top plane: decodes differently", what);
}

static void corruption_case(saraphis_dtype_t dtype, generator_t g, const bound_t *b, unsigned long long *state)
{
    size_t element = saraphis_dtype_size(dtype), n = quick ? 6000 : 40000, size = n * element, frame_size = 0;
    uint8_t *data = malloc(size), *cpu_out = malloc(size), *gpu_out = malloc(size);
    generate(data, n, dtype, g, 77 + (unsigned long long)g);
    saraphis_ctx_t *ctx = bounded_ctx(16384, 1, b->mode, b->bound, b->prime, b->precision);
    uint8_t *frame = compress_frame(ctx, dtype, data, size, &frame_size);
    if (!frame) { saraphis_ctx_free(ctx); free(data); free(cpu_out); free(gpu_out); return; }
    uint8_t *bad = malloc(frame_size);
    size_t offsets[1024], sizes[1024];
    size_t records = frame_records(frame, frame_size, offsets, sizes, 1024);
    char what[200];
    /* Plain flips: the record checksum catches them. */
    for (int trial = 0; trial < (quick ? 3 : 10); trial++) {
        memcpy(bad, frame, frame_size);
        size_t at = test_random(state) % frame_size;
        bad[at] ^= (uint8_t)(1u << (test_random(state) % 8));
        snprintf(what, sizeof what, "%s/%s: flip at %zu", saraphis_dtype_name(dtype), generator_name[g], at);
        compare_codes(what, ctx, bad, frame_size, size, cpu_out, gpu_out);
    }
    /* Re-sealed changes anywhere in a bounded record; deep ones re-seal the payload too. */
    for (int trial = 0; trial < (quick ? 16 : 120) && records; trial++) {
        memcpy(bad, frame, frame_size);
        size_t r = test_random(state) % records;
        if (bad[offsets[r] + 24] != 2) continue;
        uint8_t *record = bad + offsets[r];
        size_t at = 25 + test_random(state) % (sizes[r] - 25);
        int deep = trial % 2, content_too = (trial / 2) % 2;
        record[at] ^= (uint8_t)(1u + test_random(state) % 255);
        if (deep) reseal_payload(record + 25, sizes[r] - 25);
        if (content_too) store_le64(record + 16, 0);
        reseal_record(record, sizes[r]);
        snprintf(what, sizeof what, "%s/%s: re-sealed%s change at payload byte %zu", saraphis_dtype_name(dtype), generator_name[g],
                 deep ? " (deep)" : "", at - 25);
        compare_codes(what, ctx, bad, frame_size, size, cpu_out, gpu_out);
    }
    /* Every byte of the first bounded record's header and plane table, changed three ways. */
    for (size_t r = 0; r < records; r++) {
        if (frame[offsets[r] + 24] != 2) continue;
        const uint8_t *payload = frame + offsets[r] + 25;
        size_t table = 24 + 12 * (size_t)payload[3];
        for (size_t at = 0; at < table && at < sizes[r] - 25; at += quick ? 7 : 1) {
            static const uint8_t masks[] = {0x01, 0x80, 0xff};
            for (int m = 0; m < 3; m++) {
                memcpy(bad, frame, frame_size);
                uint8_t *record = bad + offsets[r];
                record[25 + at] ^= masks[m];
                reseal_payload(record + 25, sizes[r] - 25);
                reseal_record(record, sizes[r]);
                snprintf(what, sizeof what, "%s/%s: header byte %zu ^ %02x", saraphis_dtype_name(dtype), generator_name[g], at, masks[m]);
                compare_codes(what, ctx, bad, frame_size, size, cpu_out, gpu_out);
            }
        }
        break;
    }
    /* Records cut short (the frame's size table and checksum follow). */
    for (int trial = 0; trial < (quick ? 3 : 12) && records; trial++) {
        size_t r = test_random(state) % records;
        if (frame[offsets[r] + 24] != 2) continue;
        size_t cut = 1 + test_random(state) % (sizes[r] - 25);
        memcpy(bad, frame, offsets[r] + sizes[r] - cut);
        memcpy(bad + offsets[r] + sizes[r] - cut, frame + offsets[r] + sizes[r], frame_size - offsets[r] - sizes[r]);
        size_t bad_size = frame_size - cut;
        uint8_t *record = bad + offsets[r];
        store_le32(record + 8, (uint32_t)(sizes[r] - cut - 24));
        reseal_record(record, sizes[r] - cut);
        store_le32(bad + 32 + 4 * r, (uint32_t)(sizes[r] - cut));
        reseal_frame_header(bad);
        snprintf(what, sizeof what, "%s/%s: record %zu cut by %zu bytes", saraphis_dtype_name(dtype), generator_name[g], r, cut);
        compare_codes(what, ctx, bad, bad_size, size, cpu_out, gpu_out);
    }
    free(bad);
    free(frame);
    saraphis_ctx_free(ctx);
    free(data);
    free(cpu_out);
    free(gpu_out);
}

/* Changes inside sparse planes (their positions, most of their bytes, are varints decoded by
 * every warp of a chunk at once): set or clear a continuation bit, five continuation bytes in a row,
 * a byte of 16 or more after four continuation bytes, any byte, each re-sealed so that the
 * decoders' own checks meet it. */
static void sparse_corruption(unsigned long long *state)
{
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F64};
    static const generator_t generators[] = {GEN_WEIGHTS, GEN_OUTLIERS, GEN_OUTLIERS};
    static const size_t chunks[] = {65536, 16384, 262144};
    int trials = 0, sparse_planes = 0;
    for (int k = 0; k < 3; k++) {
        const saraphis_dtype_t dtype = dtypes[k];
        size_t element = saraphis_dtype_size(dtype), n = quick ? 20000 : 90000, size = n * element, frame_size = 0;
        uint8_t *data = malloc(size), *cpu_out = malloc(size), *gpu_out = malloc(size);
        generate(data, n, dtype, generators[k], 500 + (unsigned long long)k);
        saraphis_ctx_t *ctx = bounded_ctx(chunks[k], 1, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 251, 0);
        uint8_t *frame = compress_frame(ctx, dtype, data, size, &frame_size);
        CHECK(frame != NULL);
        if (!frame) { saraphis_ctx_free(ctx); free(data); free(cpu_out); free(gpu_out); continue; }
        uint8_t *bad = malloc(frame_size);
        size_t offsets[1024], sizes[1024];
        const size_t records = frame_records(frame, frame_size, offsets, sizes, 1024);
        char what[200];
        for (size_t r = 0; r < records; r++) {
            padic_info_t info;
            if (sizes[r] <= 25 || frame[offsets[r] + 24] != 2 || padic_payload_info(frame + offsets[r] + 25, sizes[r] - 25, &info) != SARAPHIS_OK)
                continue;
            size_t plane_at = 25 + info.head_bytes;
            for (unsigned j = 0; j < info.params.precision; plane_at += info.plane_bytes[j++]) {
                if (frame[offsets[r] + plane_at] != 2 || info.plane_bytes[j] < 16) continue;
                sparse_planes++;
                for (int trial = 0; trial < (quick ? 12 : 40); trial++) {
                    memcpy(bad, frame, frame_size);
                    uint8_t *record = bad + offsets[r];
                    const size_t at = plane_at + 5 + test_random(state) % (info.plane_bytes[j] - 5);
                    const size_t room = offsets[r] + plane_at + info.plane_bytes[j] - (offsets[r] + at);
                    const int kind = trial % 5;
                    switch (kind) {
                    case 0: record[at] ^= 0x80; break;
                    case 1: for (size_t b = 0; b < 5 && b < room; b++) record[at + b] |= 0x80; break;
                    case 2:
                        for (size_t b = 0; b < 4 && b < room; b++) record[at + b] |= 0x80;
                        if (room > 4) record[at + 4] = (uint8_t)(0x10 + test_random(state) % 0x70);
                        break;
                    case 3: record[at] = (uint8_t)(test_random(state) % 0x80); break;
                    default: record[at] ^= (uint8_t)(1u + test_random(state) % 255); break;
                    }
                    reseal_payload(record + 25, sizes[r] - 25);
                    if (trial & 1) store_le64(record + 16, 0); /* no content checksum: a decode that passes is compared */
                    reseal_record(record, sizes[r]);
                    snprintf(what, sizeof what, "%s: record %zu, sparse plane %u, change %d at plane byte %zu", saraphis_dtype_name(dtype), r, j,
                             kind, at - plane_at);
                    compare_codes(what, ctx, bad, frame_size, size, cpu_out, gpu_out);
                    trials++;
                }
            }
        }
        free(bad); free(frame); free(data); free(cpu_out); free(gpu_out);
        saraphis_ctx_free(ctx);
    }
    CHECK_MSG(sparse_planes > 0, "no sparse plane in the sparse-corruption frames");
    printf("  sparse planes: %d changes in %d planes, codes compared on each\n", trials, sparse_planes);
}

static void corruption_tests(int verify)
{
    unsigned long long state = 4242;
    verify_records = verify;
    corruption_trials = corruption_rejected = 0;
    static const bound_t bounds[] = {{SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 0}, {SARAPHIS_BOUND_ABSOLUTE, 1e-4, 3, 0},
                                     {SARAPHIS_BOUND_ABSOLUTE, 1e-5, 251, 0}, {SARAPHIS_BOUND_ABSOLUTE, 1e-2, 2, 0}};
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_F64};
    static const generator_t generators[] = {GEN_WEIGHTS, GEN_SPECIALS, GEN_OUTLIERS, GEN_SPARSE};
    /* --quick with records verified by their content checksums: one case, the paths that mode
     * changes (racecheck of the whole quick test took 537 s of its 540 on an H100 with both modes
     * in full). */
    const int cases = quick ? (verify ? 2 : 1) : 4;
    for (int k = 0; k < cases; k++) corruption_case(dtypes[k], generators[k], &bounds[k], &state);
    if (!quick)
        for (int k = 0; k < 4; k++) corruption_case(SARAPHIS_DTYPE_F32, generators[k], &bounds[(k + 1) % 4], &state);
    if (!quick || verify) sparse_corruption(&state);
    printf("  corruption (verify_records %d): %d trials, %d rejected by the cpu, codes compared on each\n", verify, corruption_trials,
           corruption_rejected);
    verify_records = 1;
}

/* ---- Progressive decode ---------------------------------------------------------------------- */

static double load_element(saraphis_dtype_t dtype, const uint8_t *p)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: return padic_load_f32(p);
    case SARAPHIS_DTYPE_F64: return padic_load_f64(p);
    case SARAPHIS_DTYPE_F16: return padic_load_f16(p);
    default: return padic_load_bf16(p);
    }
}

/* The largest precision among the frame's bounded records (0: none). */
static unsigned frame_precision(const uint8_t *frame, size_t frame_size)
{
    size_t offsets[4096], sizes[4096];
    size_t count = frame_records(frame, frame_size, offsets, sizes, 4096);
    unsigned precision = 0;
    for (size_t k = 0; k < count; k++) {
        padic_info_t info;
        if (sizes[k] > 25 && frame[offsets[k] + 24] == 2 && padic_payload_info(frame + offsets[k] + 25, sizes[k] - 25, &info) == SARAPHIS_OK &&
            info.params.precision > precision)
            precision = info.params.precision;
    }
    return precision;
}

static unsigned long long planes_compared, planes_partial;

/* Every plane count on both sides: same bytes, same bound, finite elements within it, the others
 * exact. Returns the frame's precision. */
static unsigned same_planes(const char *label, saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const uint8_t *data, size_t size)
{
    size_t frame_size = 0, out_size = 0, element = saraphis_dtype_size(dtype);
    uint8_t *frame = compress_frame(ctx, dtype, data, size, &frame_size);
    if (!frame) return 0;
    const unsigned precision = frame_precision(frame, frame_size);
    uint8_t *cpu = malloc(size ? size : 1), *gpu = malloc(size ? size : 1), *whole = malloc(size ? size : 1);
    saraphis_status_t status = gpu_decode(ctx, frame, frame_size, whole, size);
    CHECK_MSG(status == SARAPHIS_OK, "%s: gpu decode: %s", label, saraphis_last_error());
    for (unsigned planes = 0; planes <= precision + 1; planes++) {
        double cpu_bound = -1, gpu_bound = -2;
        status = saraphis_decompress_planes(ctx, frame, frame_size, planes, cpu, size, &out_size, &cpu_bound);
        CHECK_MSG(status == SARAPHIS_OK, "%s, %u planes: cpu: %s", label, planes, saraphis_last_error());
        memset(gpu, 0, size);
        status = gpu_decode_planes(ctx, frame, frame_size, planes, gpu, size, &gpu_bound);
        CHECK_MSG(status == SARAPHIS_OK, "%s, %u planes: gpu: %s", label, planes, saraphis_last_error());
        const int same = memcmp(cpu, gpu, size) == 0;
        CHECK_MSG(same, "%s, %u of %u planes: gpu bytes differ from the cpu's", label, planes, precision);
        if (!same) report_difference(cpu, gpu, size, element);
        CHECK_MSG(cpu_bound == gpu_bound, "%s, %u planes: bound cpu %.17g, gpu %.17g", label, planes, cpu_bound, gpu_bound);
        if (planes == 0 || planes >= precision)
            CHECK_MSG(memcmp(gpu, whole, size) == 0, "%s, %u planes: differs from saraphis_gpu_decompress", label, planes);
        size_t outside = 0;
        for (size_t i = 0; i < size / element; i++) {
            const double x = load_element(dtype, data + i * element), y = load_element(dtype, gpu + i * element);
            if (!isfinite(x)) outside += memcmp(data + i * element, gpu + i * element, element) != 0;
            else outside += !(fabs(x - y) <= gpu_bound);
        }
        CHECK_MSG(outside == 0, "%s, %u planes: %zu elements beyond the bound %g", label, planes, outside, gpu_bound);
        planes_compared++;
        planes_partial += planes > 0 && planes < precision;
    }
    free(cpu); free(gpu); free(whole); free(frame);
    return precision;
}

/* Corrupt records under progressive decode: the GPU's code (and message naming the chunk) must be
 * the CPU's. */
static void planes_corruption(void)
{
    const size_t n = quick ? 20000 : 60000, size = n * 4;
    uint8_t *data = malloc(size), *cpu = malloc(size), *gpu = malloc(size);
    generate(data, n, SARAPHIS_DTYPE_F32, GEN_OUTLIERS, 901);
    for (size_t i = 3; i < n; i += 311) store_float_element(data + 4 * i, SARAPHIS_DTYPE_F32, i % 2 ? NAN : -INFINITY); /* escapes */
    saraphis_ctx_t *ctx = bounded_ctx(16384, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-6, 0, 3);
    size_t frame_size = 0, out_size = 0;
    uint8_t *frame = compress_frame(ctx, SARAPHIS_DTYPE_F32, data, size, &frame_size);
    if (!frame) { saraphis_ctx_free(ctx); free(data); free(cpu); free(gpu); return; }
    uint8_t *bad = malloc(frame_size);
    size_t offsets[1024], sizes[1024];
    size_t records = frame_records(frame, frame_size, offsets, sizes, 1024);
    const size_t r = 2;
    padic_info_t info;
    CHECK(records > r && frame[offsets[r] + 24] == 2 && padic_payload_info(frame + offsets[r] + 25, sizes[r] - 25, &info) == SARAPHIS_OK);
    CHECK(info.params.precision == 3);
    const size_t plane0 = offsets[r] + 25 + info.head_bytes, plane2 = plane0 + info.plane_bytes[0] + info.plane_bytes[1];
    int trials = 0;
    char expected_chunk[32];
    snprintf(expected_chunk, sizeof expected_chunk, "chunk %zu", r);
    for (int kind = 0; kind < 5; kind++) {
        memcpy(bad, frame, frame_size);
        uint8_t *record = bad + offsets[r];
        const char *what = "";
        switch (kind) {
        case 0: what = "flip in a plane not read"; bad[plane2 + 9] ^= 0x04; break;
        case 1: what = "re-sealed change in a plane not read"; bad[plane2 + 9] ^= 0x04; reseal_record(record, sizes[r]); break;
        case 2: what = "re-sealed change in the top plane"; bad[plane0 + 1] ^= 0x01; reseal_record(record, sizes[r]); break;
        case 3: what = "re-sealed content checksum"; record[16] ^= 0x40; reseal_record(record, sizes[r]); break;
        default:
            what = "plane table past the record";
            uint8_t *payload_at = record + 25;
            store_le32(payload_at + 24 + 12 * 2, info.plane_bytes[2] + 999);
            store_le64(payload_at + info.head_bytes - 8, checksum64(payload_at, info.head_bytes - 8, 0));
            reseal_record(record, sizes[r]);
            break;
        }
        for (unsigned planes = 0; planes <= 3; planes++) {
            double cpu_bound = -1, gpu_bound = -2;
            saraphis_status_t c = saraphis_decompress_planes(ctx, bad, frame_size, planes, cpu, size, &out_size, &cpu_bound);
            saraphis_status_t g = gpu_decode_planes(ctx, bad, frame_size, planes, gpu, size, &gpu_bound);
            CHECK_MSG(c == g, "%s, %u planes: cpu %s, gpu %s (%s)", what, planes, saraphis_status_name(c), saraphis_status_name(g),
                      saraphis_last_error());
            if (g != SARAPHIS_OK) CHECK_MSG(strstr(saraphis_last_error(), expected_chunk) != NULL, "%s: message '%s'", what, saraphis_last_error());
            else CHECK_MSG(memcmp(cpu, gpu, size) == 0 && cpu_bound == gpu_bound, "%s, %u planes: decodes differently", what, planes);
            /* What the CPU gives, so that a change on both sides cannot pass unseen: the record
             * checksum and the top plane's always count; the last plane, the content checksum
             * and the plane table's total only for a decode of every plane. */
            const int every = planes == 0 || planes == 3;
            const saraphis_status_t want = kind == 0 || kind == 2 ? SARAPHIS_ERROR_CHECKSUM
                                           : !every              ? SARAPHIS_OK
                                           : kind == 4           ? SARAPHIS_ERROR_TRUNCATED
                                                                 : SARAPHIS_ERROR_CHECKSUM;
            CHECK_MSG(c == want, "%s, %u planes: cpu %s, expected %s", what, planes, saraphis_status_name(c), saraphis_status_name(want));
            trials++;
        }
    }
    printf("  progressive corruption: %d decodes, codes and messages compared\n", trials);
    free(bad); free(frame); free(data); free(cpu); free(gpu);
    saraphis_ctx_free(ctx);
}

static void planes_tests(void)
{
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F64};
    static const bound_t bounds[] = {
        {SARAPHIS_BOUND_ABSOLUTE, 1e-6, 251, 0}, {SARAPHIS_BOUND_ABSOLUTE, 1e-4, 3, 0},  {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 13, 0},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-5, 251, 4}, {SARAPHIS_BOUND_ABSOLUTE, 3e-3, 7, 2},   {SARAPHIS_BOUND_RELATIVE_STD, 1e-2, 2, 0},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-7, 251, 0}, {SARAPHIS_BOUND_RELATIVE_RANGE, 1e-4, 31, 0},
    };
    static const generator_t generators[] = {GEN_WEIGHTS, GEN_SPECIALS, GEN_OUTLIERS, GEN_SPARSE, GEN_MIXED, GEN_SIGNS};
    const size_t bound_count = sizeof bounds / sizeof bounds[0], generator_count = sizeof generators / sizeof generators[0];
    unsigned widest = 0;
    int index = 0;
    for (size_t d = 0; d < 4; d++) {
        for (size_t b = 0; b < bound_count; b++) {
            if (quick && (b + d) % 3) continue;
            const generator_t g = generators[(b + d) % generator_count];
            const size_t n = quick ? 5000 : (b % 2 ? 70001 : 150000);
            const size_t element = saraphis_dtype_size(dtypes[d]), size = n * element;
            uint8_t *data = malloc(size);
            generate(data, n, dtypes[d], g, 3000 + (unsigned long long)index);
            /* Escapes in every case: a few non-finite elements. */
            for (size_t i = 17; i < n; i += 1009) store_float_element(data + i * element, dtypes[d], i % 2 ? NAN : INFINITY);
            const size_t chunk = index % 3 == 0 ? 16384 : index % 3 == 1 ? 65536 : 256 << 10;
            char label[200];
            snprintf(label, sizeof label, "%s/%s/%zu elements/chunk %zu/bound %d %g p %u P %u", saraphis_dtype_name(dtypes[d]), generator_name[g],
                     n, chunk, (int)bounds[b].mode, bounds[b].bound, bounds[b].prime, bounds[b].precision);
            saraphis_ctx_t *ctx = bounded_ctx(chunk, index % 2, bounds[b].mode, bounds[b].bound, bounds[b].prime, bounds[b].precision);
            const unsigned precision = same_planes(label, ctx, dtypes[d], data, size);
            if (precision > widest) widest = precision;
            saraphis_ctx_free(ctx);
            free(data);
            index++;
        }
    }
    /* A lossless frame: read whole, bound 0. */
    {
        const size_t n = 30000;
        uint8_t *data = malloc(n * 4);
        generate(data, n, SARAPHIS_DTYPE_F32, GEN_WEIGHTS, 77);
        saraphis_ctx_t *ctx = make_ctx(65536, 1);
        CHECK(same_planes("lossless F32", ctx, SARAPHIS_DTYPE_F32, data, n * 4) == 0);
        saraphis_ctx_free(ctx);
        free(data);
    }
    /* The real weights: every plane count at two bounds. */
    static const char *names[] = {"minilm_f32", "minilm_bf16", "minilm_f16"};
    for (size_t k = 0; k < 3; k++) {
        char path[1200];
        safetensors_file_t file;
        uint8_t *bytes = gpu_test_load_weights(names[k], &file, path, sizeof path);
        if (!bytes) continue;
        const size_t largest = gpu_test_largest_tensor(&file);
        const saraphis_dtype_t dtype = file.tensors[largest].dtype;
        const size_t element = saraphis_dtype_size(dtype);
        size_t data_size = (size_t)file.data_size / element * element;
        const size_t cap = quick ? (1u << 20) : (16u << 20);
        if (data_size > cap) data_size = cap;
        static const bound_t real[] = {{SARAPHIS_BOUND_ABSOLUTE, 1e-6, 0, 0}, {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 0, 0}};
        for (int b = 0; b < (quick ? 1 : 2); b++) {
            saraphis_ctx_t *ctx = bounded_ctx(256 << 10, 1, real[b].mode, real[b].bound, 0, 0);
            char label[300];
            snprintf(label, sizeof label, "%s (data section, eps %g)", names[k], real[b].bound);
            const unsigned precision = same_planes(label, ctx, dtype, bytes + file.data_offset, data_size);
            CHECK_MSG(precision >= 1, "%s: no bounded record", label);
            printf("  %s: %zu bytes, planes 0 .. %u of %u\n", label, data_size, precision + 1, precision);
            saraphis_ctx_free(ctx);
        }
        safetensors_file_free(&file);
        free(bytes);
    }
    printf("  progressive: %llu plane counts compared (%llu partial), precisions up to %u\n", planes_compared, planes_partial, widest);
    CHECK_MSG(planes_partial >= (quick ? 8u : 60u), "only %llu partial decodes compared", planes_partial);
    planes_corruption();
}

int main(int argc, char **argv)
{
    int only_planes = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--planes") == 0) only_planes = 1;
    }
    if (!saraphis_gpu_available()) {
        printf("test_gpu_padic: skipped (no CUDA device)\n");
        return TEST_SUMMARY("test_gpu_padic");
    }
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    printf("device: %s, %d SMs%s\n", prop.name, prop.multiProcessorCount, quick ? " (quick)" : "");
    if (!only_planes) {
        generated_tests();
        batch_test();
        if (!quick) host_groups_test(); /* 2 x 96 MiB: too long under the sanitizers */
        real_weights();
        corruption_tests(1);
        corruption_tests(0);
    }
    planes_tests();
    return TEST_SUMMARY("test_gpu_padic");
}
