/* GPU benchmark of the bounded (p-adic) codec: Saraphis GPU decode of F32 weights at absolute
 * bounds 1e-3 and 1e-4 beside the CPU decoder on the same frame (every core, and one), a
 * device-to-device copy (the ceiling), progressive decodes (the top 1 .. P-1 of P digit planes,
 * saraphis_gpu_decompress_planes beside saraphis_decompress_planes on every core) at 1e-4 and
 * 1e-6, and GPU encode (saraphis_gpu_compress, codec BOUNDED) of
 * F32 at 1e-3, 1e-4, 1e-6 and of the same weights as BF16 at 1e-3 beside the CPU encoder
 * (saraphis_compress, every core and one), its frame compared with the CPU's byte for byte.
 *
 * Data: the data section of .bench/data/minilm_f32.safetensors (or the folder in
 * SARAPHIS_GPU_DATA), repeated to --bytes (default 256 MiB) so that the working set exceeds L2;
 * synthetic Gaussian weights (sd 0.02) when the file is missing (marked "synthetic").
 *
 * Figures: GB/s of uncompressed bytes; GPU: the median of --runs timed calls (CUDA events around
 * the whole API call, host work and its synchronisations included); CPU: the median of 3 calls of
 * saraphis_decompress (wall clock). The GPU's output is compared with the CPU's once.
 * "of limit" is a GPU figure over the memory-bandwidth limit for that operation: with B the
 * device copy's bandwidth counting bytes read and written, a codec that reads `compressed` bytes
 * and writes `raw` ones (or the reverse) can reach at most B * raw / (raw + compressed)
 * uncompressed GB/s. A progressive decode of fewer planes reads only a part of the frame, so its
 * limit counts the written bytes alone (B): its fraction is a lower bound.
 * Options: --bytes N, --runs N, --data FOLDER; --eps 1e-3 (or 1e-4) decodes at that bound only;
 * --decode-only leaves out the CPU decoders, the progressive decodes and the encoders (profiling).
 * Benchmarks measure; they never fail (exit 0 unless nothing could run). */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/padic.h"
#include "container/safetensors.h"
#include "saraphis.h"

#include "bench_gpu_support.h"

/* The GPU bounded encoder's phase times of its last call (gpu/gpu_padic_encode.h). */
saraphis_status_t gpu_padic_encode_phases(saraphis_ctx_t *ctx, double phase_ms[4]);

/* The memory-bandwidth limit, in uncompressed GB/s, of a pass that moves `raw` and `compressed`
 * bytes at `bandwidth` GB/s (read plus written). */
static double limit_gbs(double bandwidth, size_t raw, size_t compressed)
{
    return bandwidth * (double)raw / (double)(raw + compressed);
}

/* The float tensors of a safetensors file, concatenated and repeated to `bytes`. */
static uint8_t *load_weights(const char *folder, size_t bytes, int *synthetic)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/minilm_f32.safetensors", folder);
    uint8_t *out = malloc(bytes);
    if (!out) return NULL;
    *synthetic = 1;
    FILE *file = fopen(path, "rb");
    if (file) {
        fseek(file, 0, SEEK_END);
        size_t size = (size_t)ftell(file);
        fseek(file, 0, SEEK_SET);
        uint8_t *whole = malloc(size);
        safetensors_file_t st;
        memset(&st, 0, sizeof st);
        if (whole && fread(whole, 1, size, file) == size && safetensors_parse(whole, size, size, path, &st) == SARAPHIS_OK) {
            size_t filled = 0;
            for (int pass = 0; filled < bytes && pass < 1000; pass++) {
                size_t before = filled;
                for (size_t t = 0; t < st.tensor_count && filled < bytes; t++) {
                    if (st.tensors[t].dtype != SARAPHIS_DTYPE_F32) continue;
                    size_t length = st.tensors[t].end - st.tensors[t].begin;
                    if (length > bytes - filled) length = bytes - filled;
                    memcpy(out + filled, whole + st.data_offset + st.tensors[t].begin, length);
                    filled += length;
                }
                if (filled == before) break;
            }
            if (filled == bytes) *synthetic = 0;
            safetensors_file_free(&st);
        }
        free(whole);
        fclose(file);
    }
    if (*synthetic) {
        unsigned long long s = 12345;
        float *f = (float *)out;
        for (size_t i = 0; i < bytes / 4; i++) {
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
            double u = (((s * 0x2545F4914F6CDD1DULL) >> 11) + 0.5) / 9007199254740992.0;
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
            double v = (((s * 0x2545F4914F6CDD1DULL) >> 11) + 0.5) / 9007199254740992.0;
            f[i] = (float)(0.02 * sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
        }
    }
    return out;
}

static double cpu_decode_gbs(saraphis_ctx_t *ctx, const uint8_t *frame, size_t frame_size, uint8_t *out, size_t bytes, int threads)
{
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, threads);
    double times[3];
    size_t out_size = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = now_ms();
        if (saraphis_decompress(ctx, frame, frame_size, out, bytes, &out_size) != SARAPHIS_OK) return 0;
        times[r] = now_ms() - t0;
    }
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
    return bytes / median(times, 3) / 1e6;
}

int main(int argc, char **argv)
{
    size_t bytes = 256u << 20;
    int runs = 20, decode_only = 0;
    double only_eps = 0;
    const char *folder = getenv("SARAPHIS_GPU_DATA");
    char default_folder[1024];
    snprintf(default_folder, sizeof default_folder, "%s/.bench/data", SARAPHIS_SOURCE_DIR);
    if (!folder) folder = default_folder;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--decode-only") == 0) decode_only = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--decode-only") == 0) i--;
        else if (strcmp(argv[i], "--eps") == 0) only_eps = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--bytes") == 0) bytes = (size_t)strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--data") == 0) folder = argv[i + 1];
    }
    if (runs < 1) runs = 1;
    bytes = bytes / 4 * 4;
    if (!saraphis_gpu_available()) {
        printf("bench_gpu_padic: no CUDA device, nothing to measure\n");
        return 0;
    }
    struct cudaDeviceProp prop;
    int device = 0;
    cudaGetDevice(&device);
    cudaGetDeviceProperties(&prop, device);
    int synthetic = 0;
    uint8_t *data = load_weights(folder, bytes, &synthetic);
    uint8_t *cpu_out = malloc(bytes), *gpu_out = malloc(bytes);
    if (!data || !cpu_out || !gpu_out) return 0;
    printf("device: %s (%d SMs); %zu MiB of F32 %s, 256 KiB chunks; GPU: median of %d runs\n", prop.name, prop.multiProcessorCount,
           bytes >> 20, synthetic ? "synthetic weights" : "weights (minilm_f32, repeated)", runs);

    cudaStream_t stream;
    cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    double *times = malloc(sizeof(double) * (size_t)(runs + 2));
    void *d_a = NULL, *d_b = NULL;
    if (cudaMalloc(&d_a, bytes) != cudaSuccess || cudaMalloc(&d_b, bytes) != cudaSuccess) {
        printf("bench_gpu_padic: cannot allocate 2 x %zu bytes\n", bytes);
        return 0;
    }
    const double copy_ms = copy_median_ms(d_b, d_a, bytes, cudaMemcpyDeviceToDevice, stream, start, stop, times, runs);
    const double bandwidth = 2 * bytes / copy_ms / 1e6; /* bytes read plus bytes written */
    printf("%-24s %6s %8s %10s %9s  %s\n", "decoder", "eps", "ratio", "GB/s", "of limit", "note");
    printf("%-24s %6s %8s %10.1f %8.1f%%  %s\n", "device-to-device copy", "-", "-", bytes / copy_ms / 1e6, 100.0,
           "the ceiling; moves 2x these bytes (read + write)");
    cudaFree(d_b);

    static const double bounds[] = {1e-3, 1e-4};
    for (int b = 0; b < 2; b++) {
        if (only_eps > 0 && bounds[b] != only_eps) continue;
        for (int content = 1; content >= 0; content--) {
            saraphis_ctx_t *ctx = saraphis_ctx_create();
            saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
            saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, content);
            saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_ABSOLUTE, bounds[b], 0, 0);
            size_t bound = saraphis_compress_bound(bytes, 0), frame_size = 0, out_size = 0;
            uint8_t *frame = malloc(bound);
            if (saraphis_compress(ctx, SARAPHIS_DTYPE_F32, data, bytes, frame, bound, &frame_size) != SARAPHIS_OK) {
                printf("cpu compress failed: %s\n", saraphis_last_error());
                free(frame);
                saraphis_ctx_free(ctx);
                continue;
            }
            double ratio = (double)bytes / frame_size, limit = limit_gbs(bandwidth, bytes, frame_size);
            const char *note = content ? "content checksums on (default)" : "content checksums off";
            if (content && !decode_only) {
                printf("%-24s %6.0e %8.3f %10.2f %9s  %s\n", "cpu (all cores)", bounds[b], ratio,
                       cpu_decode_gbs(ctx, frame, frame_size, cpu_out, bytes, 0), "-", note);
                printf("%-24s %6.0e %8.3f %10.2f %9s  %s\n", "cpu (1 thread)", bounds[b], ratio,
                       cpu_decode_gbs(ctx, frame, frame_size, cpu_out, bytes, 1), "-", note);
            }
            saraphis_decompress(ctx, frame, frame_size, cpu_out, bytes, &out_size);
            void *d_frame = NULL;
            cudaMalloc(&d_frame, frame_size);
            cudaMemcpy(d_frame, frame, frame_size, cudaMemcpyHostToDevice);
            saraphis_status_t status = SARAPHIS_OK;
            TIME_GPU_CALLS(status, saraphis_gpu_decompress(ctx, d_frame, frame_size, d_a, bytes, &out_size, stream), stream, start, stop, times, runs);
            if (status != SARAPHIS_OK) {
                printf("%-24s %6.0e failed: %s\n", "saraphis-gpu", bounds[b], saraphis_last_error());
            } else {
                cudaMemcpy(gpu_out, d_a, bytes, cudaMemcpyDeviceToHost);
                int same = memcmp(gpu_out, cpu_out, bytes) == 0;
                const double gbs = bytes / median(times, runs) / 1e6;
                printf("%-24s %6.0e %8.3f %10.1f %8.1f%%  %s%s\n", "saraphis-gpu", bounds[b], ratio, gbs, 100 * gbs / limit, note,
                       same ? "" : " [OUTPUT DIFFERS FROM THE CPU'S]");
                /* SARAPHIS_PARAM_VERIFY_RECORDS 0: the records verified by their content checksums alone. */
                if (content) {
                    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, 0);
                    cudaMemset(d_a, 0, bytes);
                    TIME_GPU_CALLS(status, saraphis_gpu_decompress(ctx, d_frame, frame_size, d_a, bytes, &out_size, stream), stream, start, stop,
                                   times, runs);
                    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, 1);
                    if (status != SARAPHIS_OK) {
                        printf("%-24s %6.0e failed: %s\n", "saraphis-gpu", bounds[b], saraphis_last_error());
                    } else {
                        cudaMemcpy(gpu_out, d_a, bytes, cudaMemcpyDeviceToHost);
                        same = memcmp(gpu_out, cpu_out, bytes) == 0;
                        const double verified_gbs = bytes / median(times, runs) / 1e6;
                        printf("%-24s %6.0e %8.3f %10.1f %8.1f%%  %s%s\n", "saraphis-gpu", bounds[b], ratio, verified_gbs, 100 * verified_gbs / limit,
                               "content checksums on; records verified by them alone (verify_records 0)", same ? "" : " [OUTPUT DIFFERS FROM THE CPU'S]");
                    }
                }
            }
            cudaFree(d_frame);
            free(frame);
            saraphis_ctx_free(ctx);
        }
    }

    /* Progressive decode: the top planes only, GB/s of output bytes; the whole decode (planes 0)
     * timed again in the same loop for comparison. */
    printf("%-24s %6s %8s %7s %10s %10s %9s  %s\n", "progressive decoder", "eps", "ratio", "planes", "bound", "GB/s", "of limit", "note");
    static const double progressive_bounds[] = {1e-4, 1e-6};
    for (int b = 0; b < 2 && !decode_only; b++) {
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
        saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_ABSOLUTE, progressive_bounds[b], 0, 0);
        size_t bound = saraphis_compress_bound(bytes, 0), frame_size = 0, out_size = 0;
        uint8_t *frame = malloc(bound);
        void *d_frame = NULL;
        if (!frame || saraphis_compress(ctx, SARAPHIS_DTYPE_F32, data, bytes, frame, bound, &frame_size) != SARAPHIS_OK ||
            cudaMalloc(&d_frame, frame_size) != cudaSuccess) {
            printf("progressive: cannot compress or allocate (%s)\n", saraphis_last_error());
            free(frame);
            saraphis_ctx_free(ctx);
            continue;
        }
        cudaMemcpy(d_frame, frame, frame_size, cudaMemcpyHostToDevice);
        /* The frame's precision, from its first record (every record has the tensor's). */
        padic_info_t info;
        const uint32_t chunks = (uint32_t)frame[12] | (uint32_t)frame[13] << 8 | (uint32_t)frame[14] << 16 | (uint32_t)frame[15] << 24;
        const uint32_t record = (uint32_t)frame[32] | (uint32_t)frame[33] << 8 | (uint32_t)frame[34] << 16 | (uint32_t)frame[35] << 24;
        const uint8_t *first = frame + 32 + 4 * (size_t)chunks;
        unsigned precision = 0;
        if (record > 25 && first[24] == 2 && padic_payload_info(first + 25, record - 25, &info) == SARAPHIS_OK) precision = info.params.precision;
        const double ratio = (double)bytes / frame_size;
        for (unsigned planes = 0; planes < precision; planes++) {
            double cpu_times[3], cpu_bound = 0, gpu_bound = 0;
            for (int r = 0; r < 3; r++) {
                double t0 = now_ms();
                saraphis_decompress_planes(ctx, frame, frame_size, planes, cpu_out, bytes, &out_size, &cpu_bound);
                cpu_times[r] = now_ms() - t0;
            }
            char shown[16];
            snprintf(shown, sizeof shown, "%u/%u", planes ? planes : precision, precision);
            printf("%-24s %6.0e %8.3f %7s %10.3g %10.2f %9s  %s\n", "cpu (all cores)", progressive_bounds[b], ratio, shown, cpu_bound,
                   bytes / median(cpu_times, 3) / 1e6, "-", planes ? "saraphis_decompress_planes" : "every plane");
            saraphis_status_t status = SARAPHIS_OK;
            TIME_GPU_CALLS(status, saraphis_gpu_decompress_planes(ctx, d_frame, frame_size, planes, d_a, bytes, &out_size, &gpu_bound, stream), stream, start, stop, times, runs);
            if (status != SARAPHIS_OK) {
                printf("%-24s %6.0e failed: %s\n", "saraphis-gpu", progressive_bounds[b], saraphis_last_error());
                continue;
            }
            cudaMemcpy(gpu_out, d_a, bytes, cudaMemcpyDeviceToHost);
            const int same = memcmp(gpu_out, cpu_out, bytes) == 0 && gpu_bound == cpu_bound;
            /* Fewer planes read a part of the frame: the limit then counts the written bytes alone. */
            const double gbs = bytes / median(times, runs) / 1e6, limit = planes ? bandwidth : limit_gbs(bandwidth, bytes, frame_size);
            printf("%-24s %6.0e %8.3f %7s %10.3g %10.1f %8.1f%%  %s%s\n", "saraphis-gpu", progressive_bounds[b], ratio, shown, gpu_bound, gbs,
                   100 * gbs / limit, planes ? "saraphis_gpu_decompress_planes" : "every plane",
                   same ? "" : " [OUTPUT OR BOUND DIFFERS FROM THE CPU'S]");
        }
        cudaFree(d_frame);
        free(frame);
        saraphis_ctx_free(ctx);
    }

    /* Encode: the same weights (and their BF16 truncation) from device memory. */
    printf("%-24s %6s %6s %8s %10s %9s  %s\n", "encoder", "dtype", "eps", "ratio", "GB/s", "of limit", "note");
    uint16_t *bf16 = malloc(bytes / 2);
    for (size_t i = 0; bf16 && i < bytes / 4; i++) {
        uint32_t u;
        memcpy(&u, data + 4 * i, 4);
        bf16[i] = (uint16_t)(u >> 16);
    }
    static const struct { saraphis_dtype_t dtype; double eps; } cases[] = {
        {SARAPHIS_DTYPE_F32, 1e-3}, {SARAPHIS_DTYPE_F32, 1e-4}, {SARAPHIS_DTYPE_F32, 1e-6}, {SARAPHIS_DTYPE_BF16, 1e-3}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0] && bf16 && !decode_only; k++) {
        const saraphis_dtype_t dtype = cases[k].dtype;
        const uint8_t *input = dtype == SARAPHIS_DTYPE_F32 ? data : (const uint8_t *)bf16;
        const size_t input_bytes = dtype == SARAPHIS_DTYPE_F32 ? bytes : bytes / 2;
        const char *name = dtype == SARAPHIS_DTYPE_F32 ? "F32" : "BF16";
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
        saraphis_ctx_set_error_bound(ctx, SARAPHIS_BOUND_ABSOLUTE, cases[k].eps, 0, 0);
        size_t bound = saraphis_compress_bound(input_bytes, 0), frame_size = 0, gpu_size = 0;
        uint8_t *frame = malloc(bound), *gpu_frame = malloc(bound);
        void *d_src = NULL, *d_frame = NULL;
        if (!frame || !gpu_frame || cudaMalloc(&d_src, input_bytes) != cudaSuccess || cudaMalloc(&d_frame, bound) != cudaSuccess) {
            printf("bench_gpu_padic: cannot allocate the encode buffers\n");
            break;
        }
        cudaMemcpy(d_src, input, input_bytes, cudaMemcpyHostToDevice);
        for (int threads = 0; threads <= 1; threads++) {
            saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, threads);
            double cpu_times[3];
            for (int r = 0; r < 3; r++) {
                double t0 = now_ms();
                saraphis_compress(ctx, dtype, input, input_bytes, frame, bound, &frame_size);
                cpu_times[r] = now_ms() - t0;
            }
            printf("%-24s %6s %6.0e %8.3f %10.2f %9s\n", threads ? "cpu (1 thread)" : "cpu (all cores)", name, cases[k].eps,
                   (double)input_bytes / frame_size, input_bytes / median(cpu_times, 3) / 1e6, "-");
        }
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
        saraphis_status_t status = SARAPHIS_OK;
        TIME_GPU_CALLS(status, saraphis_gpu_compress(ctx, dtype, d_src, input_bytes, d_frame, bound, &gpu_size, stream), stream, start, stop, times, runs);
        if (status != SARAPHIS_OK) {
            printf("%-24s %6s %6.0e failed: %s\n", "saraphis-gpu", name, cases[k].eps, saraphis_last_error());
        } else {
            cudaMemcpy(gpu_frame, d_frame, gpu_size, cudaMemcpyDeviceToHost);
            int same = gpu_size == frame_size && memcmp(gpu_frame, frame, frame_size) == 0;
            double phases[4] = {0, 0, 0, 0};
            gpu_padic_encode_phases(ctx, phases);
            const double gbs = input_bytes / median(times, runs) / 1e6;
            printf("%-24s %6s %6.0e %8.3f %10.1f %8.1f%%  %s; last call (ms): bound+scan waits %.2f, plans %.2f, last encodes %.2f, assembly %.2f\n",
                   "saraphis-gpu", name, cases[k].eps, (double)input_bytes / gpu_size, gbs, 100 * gbs / limit_gbs(bandwidth, input_bytes, gpu_size),
                   same ? "frame identical to the cpu's" : "[FRAME DIFFERS FROM THE CPU'S]", phases[0], phases[1], phases[2], phases[3]);
        }
        cudaFree(d_src);
        cudaFree(d_frame);
        free(frame);
        free(gpu_frame);
        saraphis_ctx_free(ctx);
    }
    free(bf16);
    cudaFree(d_a);
    free(times);
    free(data);
    free(cpu_out);
    free(gpu_out);
    return 0;
}
