/* The GPU bounded (p-adic) encoder against the CPU encoder (needs a CUDA device;
 * scripts/gpu_test.sh runs it).
 *
 * Every case compresses the same bytes with saraphis_compress and saraphis_gpu_compress under the
 * same bound (mode, eps, prime, precision), chunk size and checksum setting, and requires the two
 * frames to be identical byte for byte. Both frames are then decoded on the CPU and on the GPU
 * (cross decode), and the four outputs must agree. gpu_padic_encode_counts says how many chunks
 * the device encoded and how many the CPU encoder did: the cases the device path must take
 * (p^precision <= 2^31: prime 251 with up to 3 digits) fail when any chunk went to the CPU, so a
 * silent host fallback cannot pass for the device encoder.
 *   1. generated data: F32 / F64 / F16 / BF16 Gaussian weights, mixed magnitudes, 90 % zeros,
 *      all zero, constant, NaN / Inf / huge / tiny / subnormal values (escapes), subnormals only,
 *      exact lattice ties (x = (k + 1/2) 2 eps), alternating signs, outliers (sparse top planes),
 *      random bits; absolute, range-relative and std-relative bounds; primes 2, 3, 13, 127, 251;
 *      automatic and fixed precisions; eps from 0.25 to 1e-7; chunk sizes 4 KiB to 1 MiB with a
 *      partial last chunk; content checksums on and off. The record forms met are tallied
 *      (escape lists and bitmaps, zero / dense / sparse planes, raw / rANS / constant streams);
 *   2. adversarial: escapes everywhere (the bitmap form), rare escapes (gaps), chunks of both
 *      kinds in one tensor, one element, fewer than 64 elements, one value repeated, a constant
 *      tensor under a relative bound and an integer tensor (both stored losslessly);
 *   3. real weights (minilm_*.safetensors in SARAPHIS_GPU_DATA, else .bench/data): the data
 *      sections at eps 1e-3 .. 1e-6 and tensor by tensor;
 *   4. a destination one byte short: BUFFER_TOO_SMALL, nothing written past its capacity.
 * --quick: small inputs only (for compute-sanitizer). With no device: "skipped", exit 0. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/padic_values.h"
#include "codec/rans.h"
#include "common/bits.h"
#include "container/safetensors.h"
#include "saraphis.h"
#include "file_support.h"
#include "gpu/gpu_test_data.h"
#include "testing.h"

saraphis_status_t gpu_padic_encode_counts(saraphis_ctx_t *ctx, uint64_t *device_chunks, uint64_t *host_chunks);

static int quick;
static int identical_frames;
static unsigned long long device_chunks_total, host_chunks_total;

static saraphis_ctx_t *bounded_ctx(size_t chunk_bytes, int content, saraphis_bound_mode_t mode, double bound, unsigned prime, unsigned precision)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, (int64_t)chunk_bytes);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, content);
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
    saraphis_status_t status = saraphis_ctx_set_error_bound(ctx, mode, bound, prime, precision);
    CHECK_MSG(status == SARAPHIS_OK, "set_error_bound(%d, %g, %u, %u): %s", (int)mode, bound, prime, precision, saraphis_last_error());
    return ctx;
}

/* ---- What the records hold ---------------------------------------------------------------- */

typedef struct {
    unsigned long long records[3], escapes[3], planes[3], streams[3];
} tally_t;

static tally_t tally;

/* Bytes of the entropy stream at s holding n symbols (0 when it cannot be parsed). */
static size_t stream_size(const uint8_t *s, size_t available, size_t n)
{
    if (available < 1) return 0;
    if (s[0] == 0) return 1 + n;
    if (s[0] == 2) return 2;
    rans_table_t table;
    size_t table_size = rans_table_read(&table, s + 1, available - 1), blocks = (n + 32767) / 32768;
    if (!table_size || 1 + table_size + 4 * blocks > available) return 0;
    size_t size = 1 + table_size + 4 * blocks;
    for (size_t b = 0; b < blocks; b++) size += load_le32(s + 1 + table_size + 4 * b);
    return size;
}

static void tally_frame(const uint8_t *frame, size_t frame_size)
{
    if (frame_size < 32) return;
    uint32_t chunks = load_le32(frame + 12);
    size_t offset = 32 + 4 * (size_t)chunks;
    for (uint32_t c = 0; c < chunks; c++) {
        size_t record = load_le32(frame + 32 + 4 * (size_t)c);
        if (offset + record > frame_size || record < 25) return;
        unsigned method = frame[offset + 24];
        if (method < 3) tally.records[method]++;
        if (method == 2) {
            const uint8_t *payload = frame + offset + 25;
            size_t size = record - 25;
            unsigned P = payload[3];
            size_t head = 24 + 12 * (size_t)P, E = load_le32(payload + 20);
            if (head + E + 8 <= size) {
                if (payload[head] < 3) tally.escapes[payload[head]]++;
                size_t at = head + E + 8;
                for (unsigned j = 0; j < P; j++) {
                    size_t bytes = load_le32(payload + 24 + 12 * j);
                    if (at + bytes > size || bytes < 5) break;
                    const uint8_t *plane = payload + at;
                    if (plane[0] < 3) tally.planes[plane[0]]++;
                    /* A dense plane's sign stream and first digit stream. */
                    if (plane[0] == 1) {
                        size_t signs = load_le32(plane + 1), pos = 5;
                        if (signs) {
                            if (plane[pos] < 3) tally.streams[plane[pos]]++;
                            size_t used = stream_size(plane + pos, bytes - pos, (signs + 7) / 8);
                            pos = used ? pos + used : bytes;
                        }
                        if (pos + 1 < bytes && plane[pos + 1] < 3) tally.streams[plane[pos + 1]]++;
                    }
                    at += bytes;
                }
            }
        }
        offset += record;
    }
}

/* ---- One case: CPU frame, GPU frame, cross decodes ----------------------------------------- */

/* Where two frames first differ: the record, and in a bounded record the part (header, plane
 * table, escapes, head checksum, plane j). */
static void where_frames_differ(const uint8_t *cpu, size_t cpu_size, const uint8_t *gpu, size_t gpu_size)
{
    size_t i = 0;
    while (i < cpu_size && i < gpu_size && cpu[i] == gpu[i]) i++;
    fprintf(stderr, "  first difference at byte %zu of %zu / %zu: cpu %02x, gpu %02x\n", i, cpu_size, gpu_size, i < cpu_size ? cpu[i] : 0,
            i < gpu_size ? gpu[i] : 0);
    if (cpu_size < 32 || i < 32) return;
    uint32_t chunks = load_le32(cpu + 12);
    size_t offset = 32 + 4 * (size_t)chunks;
    if (i < offset) {
        size_t c = (i - 32) / 4;
        fprintf(stderr, "  in the size table: chunk %zu, cpu %u, gpu %u\n", c, load_le32(cpu + 32 + 4 * c),
                32 + 4 * c + 4 <= gpu_size ? load_le32(gpu + 32 + 4 * c) : 0);
        return;
    }
    for (uint32_t c = 0; c < chunks; c++) {
        size_t record = load_le32(cpu + 32 + 4 * (size_t)c);
        if (i < offset + record) {
            size_t at = i - offset;
            fprintf(stderr, "  record %u (%zu bytes, method %u), byte %zu", c, record, cpu[offset + 24], at);
            if (cpu[offset + 24] == 2 && at >= 25) {
                const uint8_t *payload = cpu + offset + 25;
                size_t in = at - 25, P = payload[3], head = 24 + 12 * P, E = load_le32(payload + 20);
                if (in < 24) fprintf(stderr, ": payload header byte %zu", in);
                else if (in < head) fprintf(stderr, ": plane table, plane %zu", (in - 24) / 12);
                else if (in < head + E) fprintf(stderr, ": escape section byte %zu of %zu", in - head, E);
                else if (in < head + E + 8) fprintf(stderr, ": head checksum");
                else {
                    size_t p0 = head + E + 8;
                    for (size_t j = 0; j < P; j++) {
                        size_t bytes = load_le32(payload + 24 + 12 * j);
                        if (in < p0 + bytes) {
                            fprintf(stderr, ": plane %zu (form %u, %zu bytes), byte %zu", j, payload[p0], bytes, in - p0);
                            break;
                        }
                        p0 += bytes;
                    }
                }
            } else if (at < 24) fprintf(stderr, ": record header");
            fprintf(stderr, "\n");
            return;
        }
        offset += record;
    }
}

enum { EXPECT_ANY, EXPECT_DEVICE };

static void check_frames(const char *label, saraphis_ctx_t *ctx, saraphis_dtype_t dtype, const uint8_t *data, size_t size, int expect)
{
    int64_t chunk_bytes = 0;
    saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, &chunk_bytes);
    size_t bound = saraphis_compress_bound(size, (size_t)chunk_bytes), cpu_size = 0, gpu_size = 0, out_size = 0;
    uint8_t *cpu_frame = malloc(bound), *gpu_frame = malloc(bound);
    uint8_t *from_cpu = malloc(size ? size : 1), *back = malloc(size ? size : 1);
    saraphis_status_t status = saraphis_compress(ctx, dtype, data, size, cpu_frame, bound, &cpu_size);
    CHECK_MSG(status == SARAPHIS_OK, "%s: cpu compress: %s", label, saraphis_last_error());
    void *d_src = device_copy(data, size), *d_frame = NULL, *d_out = NULL;
    cudaMalloc(&d_frame, bound);
    cudaMalloc(&d_out, size ? size : 1);
    cudaMemset(d_frame, 0xA5, bound);
    status = saraphis_gpu_compress(ctx, dtype, d_src, size, d_frame, bound, &gpu_size, NULL);
    CHECK_MSG(status == SARAPHIS_OK, "%s: gpu compress: %s", label, saraphis_last_error());
    uint64_t device_chunks = 0, host_chunks = 0;
    gpu_padic_encode_counts(ctx, &device_chunks, &host_chunks);
    device_chunks_total += device_chunks;
    host_chunks_total += host_chunks;
    if (expect == EXPECT_DEVICE)
        CHECK_MSG(device_chunks > 0 && host_chunks == 0, "%s: %llu chunks on the device, %llu on the cpu (all expected on the device)", label,
                  (unsigned long long)device_chunks, (unsigned long long)host_chunks);
    if (status == SARAPHIS_OK) {
        cudaMemcpy(gpu_frame, d_frame, gpu_size, cudaMemcpyDeviceToHost);
        int same = gpu_size == cpu_size && memcmp(gpu_frame, cpu_frame, cpu_size) == 0;
        CHECK_MSG(same, "%s: gpu frame (%zu bytes) differs from the cpu frame (%zu bytes)", label, gpu_size, cpu_size);
        identical_frames += same;
        if (!same) where_frames_differ(cpu_frame, cpu_size, gpu_frame, gpu_size);
        tally_frame(gpu_frame, gpu_size);
        /* Cross decode: the CPU's frame on the GPU, the GPU's frame on the CPU and the GPU. */
        status = saraphis_decompress(ctx, cpu_frame, cpu_size, from_cpu, size, &out_size);
        CHECK_MSG(status == SARAPHIS_OK, "%s: cpu decode of the cpu frame: %s", label, saraphis_last_error());
        status = saraphis_decompress(ctx, gpu_frame, gpu_size, back, size, &out_size);
        CHECK_MSG(status == SARAPHIS_OK && memcmp(back, from_cpu, size) == 0, "%s: cpu decode of the gpu frame: %s", label,
                  status == SARAPHIS_OK ? "bytes differ" : saraphis_last_error());
        cudaMemset(d_out, 0x5A, size ? size : 1);
        status = saraphis_gpu_decompress(ctx, d_frame, gpu_size, d_out, size, &out_size, NULL);
        cudaMemcpy(back, d_out, size, cudaMemcpyDeviceToHost);
        CHECK_MSG(status == SARAPHIS_OK && memcmp(back, from_cpu, size) == 0, "%s: gpu decode of the gpu frame: %s", label,
                  status == SARAPHIS_OK ? "bytes differ" : saraphis_last_error());
        void *d_cpu_frame = device_copy(cpu_frame, cpu_size);
        status = saraphis_gpu_decompress(ctx, d_cpu_frame, cpu_size, d_out, size, &out_size, NULL);
        cudaMemcpy(back, d_out, size, cudaMemcpyDeviceToHost);
        CHECK_MSG(status == SARAPHIS_OK && memcmp(back, from_cpu, size) == 0, "%s: gpu decode of the cpu frame: %s", label,
                  status == SARAPHIS_OK ? "bytes differ" : saraphis_last_error());
        cudaFree(d_cpu_frame);
    }
    cudaFree(d_src); cudaFree(d_frame); cudaFree(d_out);
    free(cpu_frame); free(gpu_frame); free(from_cpu); free(back);
}

/* ---- Generated data ------------------------------------------------------------------------- */

typedef enum { GEN_WEIGHTS, GEN_MIXED, GEN_SPARSE, GEN_ZEROS, GEN_CONSTANT, GEN_SPECIALS, GEN_SUBNORMAL, GEN_TIES, GEN_SIGNS, GEN_OUTLIERS,
               GEN_RANDOM_BITS, GEN_COUNT } generator_t;
static const char *generator_name[] = {"weights", "mixed", "90%-zeros", "zeros", "constant", "specials", "subnormal", "ties", "signs",
                                       "outliers", "random-bits"};

/* eps: the absolute bound of the case (ties sit halfway between its lattice points). */
static void generate(uint8_t *p, size_t n, saraphis_dtype_t dtype, generator_t g, double eps, unsigned long long seed)
{
    unsigned long long state = seed * 0x9E3779B97F4A7C15ULL + 7;
    size_t element = saraphis_dtype_size(dtype);
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = test_random(&state);
        double w = gaussian_double(&state) * 0.02, v = w;
        switch (g) {
        case GEN_WEIGHTS: break;
        case GEN_MIXED: v = gaussian_double(&state) * pow(10.0, (double)(bits % 10) - 6); break;
        case GEN_SPARSE: v = bits % 10 ? 0.0 : w * 50; break;
        case GEN_ZEROS: v = (bits & 1) ? 0.0 : -0.0; break;
        case GEN_CONSTANT: v = 0.7109375; break;
        case GEN_SPECIALS: {
            static const double specials[] = {NAN, INFINITY, -INFINITY, 1e30, -3e38, 1e-30, 5e-324, -1e-310, 65504, 70000, 0.0, -0.0,
                                              0.046875, 1e-8, -2.5e-39};
            if (bits % 50 == 0) v = specials[(bits >> 8) % (sizeof specials / sizeof specials[0])];
            break;
        }
        case GEN_SUBNORMAL: v = ldexp((double)(bits % 1024) - 512, dtype == SARAPHIS_DTYPE_F16 ? -24 : dtype == SARAPHIS_DTYPE_F64 ? -1074 : -149); break;
        case GEN_TIES: v = ((double)(int64_t)(bits % 2001) - 1000 + 0.5) * 2 * eps; break;
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
    static const saraphis_dtype_t dtypes[] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_BF16, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_F64};
    static const bound_t bounds[] = {
        {SARAPHIS_BOUND_ABSOLUTE, 1e-3, 251, 0},      {SARAPHIS_BOUND_ABSOLUTE, 1e-4, 2, 0},       {SARAPHIS_BOUND_RELATIVE_STD, 1e-2, 3, 0},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-2, 13, 0},       {SARAPHIS_BOUND_RELATIVE_RANGE, 1e-3, 251, 0}, {SARAPHIS_BOUND_ABSOLUTE, 1e-6, 251, 3},
        {SARAPHIS_BOUND_ABSOLUTE, 3e-3, 127, 2},      {SARAPHIS_BOUND_ABSOLUTE, 0.25, 2, 3},       {SARAPHIS_BOUND_RELATIVE_STD, 0.3, 251, 1},
        {SARAPHIS_BOUND_ABSOLUTE, 1e-5, 127, 0},      {SARAPHIS_BOUND_ABSOLUTE, 1e-7, 3, 0},       {SARAPHIS_BOUND_ABSOLUTE, 1e-5, 251, 0},
    };
    const size_t bound_count = sizeof bounds / sizeof bounds[0];
    static const size_t elements_full[] = {1, 63, 1000, 65536 + 7, 300001};
    static const size_t elements_quick[] = {1, 777, 9000};
    const size_t *elements = quick ? elements_quick : elements_full;
    const size_t size_count = quick ? 3 : 5;
    static const size_t chunks[] = {4096, 65536, 256 << 10, 1 << 20};
    int case_index = 0;
    for (size_t d = 0; d < 4; d++) {
        for (int g = 0; g < GEN_COUNT; g++) {
            for (size_t s = 0; s < size_count; s++) {
                if (quick && g % 3 != (int)s % 3) continue;
                const bound_t *b = &bounds[(size_t)(case_index * 7 + g) % bound_count];
                if (b->prime == 2 && elements[s] > 70000) b = &bounds[0]; /* dozens of planes: slow on the CPU */
                size_t element = saraphis_dtype_size(dtypes[d]), n = elements[s], size = n * element;
                size_t chunk = chunks[(case_index++) % 4];
                int content = case_index % 3 != 0;
                uint8_t *data = malloc(size);
                generate(data, n, dtypes[d], (generator_t)g, b->mode == SARAPHIS_BOUND_ABSOLUTE ? b->bound : 1e-3, (unsigned long long)case_index);
                char label[200];
                snprintf(label, sizeof label, "%s/%s/%zu elements/chunk %zu/bound %d %g p %u P %u/content %d", saraphis_dtype_name(dtypes[d]),
                         generator_name[g], n, chunk, (int)b->mode, b->bound, b->prime, b->precision, content);
                saraphis_ctx_t *ctx = bounded_ctx(chunk, content, b->mode, b->bound, b->prime, b->precision);
                check_frames(label, ctx, dtypes[d], data, size, EXPECT_ANY);
                saraphis_ctx_free(ctx);
                free(data);
            }
        }
    }
    /* The common case must run on the device: weights of the three float dtypes of models at prime
     * 251 and eps 1e-3 .. 1e-6 (and smaller primes), every chunk on the device. Outliers (sparse top
     * planes) only down to 1e-4, where their magnitudes still fit 32 bits. */
    static const double eps_list[] = {1e-3, 1e-4, 1e-5, 1e-6};
    static const unsigned primes[] = {251, 127, 13, 3, 2};
    for (size_t d = 0; d < 3; d++)
        for (size_t k = 0; k < 4; k++)
            for (size_t q = 0; q < (quick ? 2u : 5u); q++) {
                const unsigned prime = primes[q];
                /* Small primes need more digits than 32 bits hold at small eps: those go to the host. */
                if (prime < 13 && k > 1) continue;
                size_t n = quick ? 5000 : 200003, element = saraphis_dtype_size(dtypes[d]);
                uint8_t *data = malloc(n * element);
                generate(data, n, dtypes[d], k <= 1 && (k + q) % 2 ? GEN_OUTLIERS : GEN_WEIGHTS, eps_list[k], 1000 + k * 10 + q);
                char label[160];
                snprintf(label, sizeof label, "%s/device/eps %g/prime %u", saraphis_dtype_name(dtypes[d]), eps_list[k], prime);
                saraphis_ctx_t *ctx = bounded_ctx(k % 2 ? 65536 : 256 << 10, (int)(k + q) % 2, SARAPHIS_BOUND_ABSOLUTE, eps_list[k], prime, 0);
                check_frames(label, ctx, dtypes[d], data, n * element, EXPECT_DEVICE);
                saraphis_ctx_free(ctx);
                free(data);
            }
    printf("  generated data: records stored %llu, lossless %llu, bounded %llu; escapes none %llu, list %llu, bitmap %llu; "
           "planes zero %llu, dense %llu, sparse %llu; streams raw %llu, rans %llu, constant %llu\n",
           tally.records[0], tally.records[1], tally.records[2], tally.escapes[0], tally.escapes[1], tally.escapes[2], tally.planes[0],
           tally.planes[1], tally.planes[2], tally.streams[0], tally.streams[1], tally.streams[2]);
    if (!quick)
        for (int k = 0; k < 3; k++) {
            CHECK_MSG(tally.escapes[k] > 0, "no record with escape form %d", k);
            CHECK_MSG(tally.planes[k] > 0, "no plane of form %d", k);
            CHECK_MSG(tally.streams[k] > 0, "no stream of mode %d", k);
        }
}

/* ---- Adversarial inputs --------------------------------------------------------------------- */

static void adversarial_tests(void)
{
    /* Escapes everywhere (NaN in every other element): the bitmap form; a few per chunk: gaps. */
    size_t n = quick ? 30000 : 300000; /* at least the 30000 of the batches case */
    float *values = malloc(n * 4);
    unsigned long long state = 99;
    for (size_t i = 0; i < n; i++) values[i] = i % 2 ? NAN : gaussian(&state) * 0.02f;
    saraphis_ctx_t *ctx = bounded_ctx(65536, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-4, 251, 0);
    const unsigned long long bitmaps_before = tally.escapes[2];
    check_frames("F32/half NaN", ctx, SARAPHIS_DTYPE_F32, (const uint8_t *)values, n * 4, EXPECT_DEVICE);
    CHECK_MSG(tally.escapes[2] > bitmaps_before, "half NaN: no escape bitmap written");
    for (size_t i = 0; i < n; i++) values[i] = i % 5000 == 17 ? INFINITY : i % 7001 == 3 ? 3e38f : gaussian(&state) * 0.02f;
    check_frames("F32/rare escapes", ctx, SARAPHIS_DTYPE_F32, (const uint8_t *)values, n * 4, EXPECT_DEVICE);
    /* Mixed: some chunks dense in escapes, the others not. */
    for (size_t i = 0; i < n; i++) values[i] = (i / 16384) % 3 == 1 && i % 3 == 0 ? NAN : gaussian(&state) * 0.02f;
    check_frames("F32/mixed escape chunks", ctx, SARAPHIS_DTYPE_F32, (const uint8_t *)values, n * 4, EXPECT_DEVICE);
    saraphis_ctx_free(ctx);
    /* Enough chunks for the encoder's batches (4 when there are 16 chunks or more). */
    for (size_t i = 0; i < n; i++) values[i] = gaussian(&state) * 0.02f;
    ctx = bounded_ctx(4096, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-4, 251, 0);
    check_frames("F32/batches", ctx, SARAPHIS_DTYPE_F32, (const uint8_t *)values, 30000 * 4, EXPECT_DEVICE);
    saraphis_ctx_free(ctx);
    uint16_t *halves = malloc(30000 * 2);
    for (size_t i = 0; i < 30000; i++) halves[i] = to_bf16(values[i]);
    ctx = bounded_ctx(4096, 0, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 251, 0);
    check_frames("BF16/batches", ctx, SARAPHIS_DTYPE_BF16, (const uint8_t *)halves, 30000 * 2, EXPECT_DEVICE);
    saraphis_ctx_free(ctx);
    free(halves);
    /* Tiny tensors and a repeated value under an absolute bound (bounded, not lossless). */
    static const size_t tiny[] = {1, 2, 31, 63, 64, 65};
    for (size_t k = 0; k < sizeof tiny / sizeof tiny[0]; k++) {
        ctx = bounded_ctx(4096, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 251, 0);
        char label[80];
        snprintf(label, sizeof label, "F32/%zu elements", tiny[k]);
        check_frames(label, ctx, SARAPHIS_DTYPE_F32, (const uint8_t *)values, tiny[k] * 4, EXPECT_DEVICE);
        saraphis_ctx_free(ctx);
    }
    for (size_t i = 0; i < n; i++) values[i] = 0.123f;
    ctx = bounded_ctx(65536, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 251, 0);
    check_frames("F32/one value", ctx, SARAPHIS_DTYPE_F32, (const uint8_t *)values, n * 4, EXPECT_DEVICE);
    saraphis_ctx_free(ctx);
    /* Relative to the range of a constant tensor: eps 0, stored losslessly on both sides. */
    ctx = bounded_ctx(65536, 1, SARAPHIS_BOUND_RELATIVE_RANGE, 1e-3, 251, 0);
    check_frames("F32/constant, relative", ctx, SARAPHIS_DTYPE_F32, (const uint8_t *)values, n * 4, EXPECT_ANY);
    saraphis_ctx_free(ctx);
    /* A non-float dtype under the bounded codec: lossless on both sides. */
    ctx = bounded_ctx(65536, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-3, 251, 0);
    check_frames("I32/bounded", ctx, SARAPHIS_DTYPE_I32, (const uint8_t *)values, n * 4, EXPECT_ANY);
    saraphis_ctx_free(ctx);
    free(values);
}

/* ---- Real weights ------------------------------------------------------------------------- */

static void real_weights(void)
{
    static const char *names[] = {"minilm_f32", "minilm_bf16", "minilm_f16"};
    static const double eps_list[] = {1e-3, 1e-4, 1e-5, 1e-6};
    for (size_t k = 0; k < 3; k++) {
        char path[1200];
        safetensors_file_t file;
        uint8_t *bytes = gpu_test_load_weights(names[k], &file, path, sizeof path);
        if (!bytes) continue;
        const size_t largest = gpu_test_largest_tensor(&file);
        saraphis_dtype_t dtype = file.tensors[largest].dtype;
        const uint8_t *data = bytes + file.data_offset;
        size_t element = saraphis_dtype_size(dtype);
        size_t data_size = (size_t)file.data_size / element * element;
        if (quick && data_size > (256u << 10)) data_size = 256u << 10;
        for (size_t e = 0; e < (quick ? 1u : 4u); e++) {
            saraphis_ctx_t *ctx = bounded_ctx(256 << 10, e % 2 == 0, SARAPHIS_BOUND_ABSOLUTE, eps_list[e], 251, 0);
            char label[300];
            snprintf(label, sizeof label, "%s (data section, eps %g)", names[k], eps_list[e]);
            check_frames(label, ctx, dtype, data, data_size, EXPECT_DEVICE);
            saraphis_ctx_free(ctx);
        }
        if (!quick) {
            saraphis_ctx_t *ctx = bounded_ctx(1 << 20, 1, SARAPHIS_BOUND_RELATIVE_STD, 1e-2, 251, 0);
            char label[300];
            snprintf(label, sizeof label, "%s (data section, 1e-2 x std)", names[k]);
            check_frames(label, ctx, dtype, data, data_size, EXPECT_ANY);
            saraphis_ctx_free(ctx);
        }
        size_t tensors = quick ? (file.tensor_count < 4 ? file.tensor_count : 4) : file.tensor_count;
        saraphis_ctx_t *ctx = bounded_ctx(256 << 10, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-4, 251, 0);
        for (size_t t = 0; t < tensors; t++) {
            const safetensors_tensor_t *tensor = &file.tensors[t];
            char label[300];
            snprintf(label, sizeof label, "%s tensor %zu", names[k], t);
            size_t tensor_size = tensor->end - tensor->begin;
            if (quick && tensor_size > (64u << 10)) tensor_size = 64u << 10; /* whole elements of any dtype */
            check_frames(label, ctx, tensor->dtype, data + tensor->begin, tensor_size, EXPECT_ANY);
        }
        saraphis_ctx_free(ctx);
        printf("  %s: %zu bytes of %s and %zu tensors checked\n", names[k], data_size, saraphis_dtype_name(dtype), tensors);
        safetensors_file_free(&file);
        free(bytes);
    }
}

/* ---- A destination too small ---------------------------------------------------------------- */

static void short_destination(void)
{
    size_t n = 300000, size = n * 4;
    float *values = malloc(size);
    unsigned long long state = 5;
    for (size_t i = 0; i < n; i++) values[i] = gaussian(&state) * 0.02f;
    saraphis_ctx_t *ctx = bounded_ctx(65536, 1, SARAPHIS_BOUND_ABSOLUTE, 1e-4, 251, 0);
    size_t bound = saraphis_compress_bound(size, 65536), frame_size = 0, out_size = 0;
    uint8_t *frame = malloc(bound), *after = malloc(bound);
    CHECK(saraphis_compress(ctx, SARAPHIS_DTYPE_F32, values, size, frame, bound, &frame_size) == SARAPHIS_OK);
    void *d_src = device_copy(values, size), *d_frame = NULL;
    cudaMalloc(&d_frame, bound);
    static const size_t shorts[] = {1, 1000};
    for (int k = 0; k < 2; k++) {
        size_t capacity = frame_size - shorts[k];
        cudaMemset(d_frame, 0xEE, bound);
        saraphis_status_t status = saraphis_gpu_compress(ctx, SARAPHIS_DTYPE_F32, d_src, size, d_frame, capacity, &out_size, NULL);
        CHECK_MSG(status == SARAPHIS_ERROR_BUFFER_TOO_SMALL, "capacity %zu of %zu: %s", capacity, frame_size, saraphis_status_name(status));
        CHECK_MSG(strstr(saraphis_last_error(), "destination") != NULL, "message: %s", saraphis_last_error());
        cudaMemcpy(after, d_frame, bound, cudaMemcpyDeviceToHost);
        int untouched = 1;
        for (size_t i = capacity; i < bound; i++) untouched &= after[i] == 0xEE;
        CHECK_MSG(untouched, "bytes written past a capacity of %zu", capacity);
    }
    CHECK(saraphis_gpu_compress(ctx, SARAPHIS_DTYPE_F32, d_src, size, d_frame, 20, &out_size, NULL) == SARAPHIS_ERROR_BUFFER_TOO_SMALL);
    cudaFree(d_src); cudaFree(d_frame);
    free(values); free(frame); free(after);
    saraphis_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (!saraphis_gpu_available()) {
        printf("test_gpu_padic_encode: skipped (no CUDA device)\n");
        return TEST_SUMMARY("test_gpu_padic_encode");
    }
    struct cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    printf("device: %s, %d SMs%s\n", prop.name, prop.multiProcessorCount, quick ? " (quick)" : "");
    generated_tests();
    adversarial_tests();
    real_weights();
    short_destination();
    printf("  %d GPU frames identical to the CPU's; chunks encoded on the device %llu, by the CPU encoder %llu\n", identical_frames,
           device_chunks_total, host_chunks_total);
    return TEST_SUMMARY("test_gpu_padic_encode");
}
