/* GPU benchmark of the lossless codec: Saraphis GPU decode and encode beside a device-to-device
 * copy (the ceiling) and, when their wheels are installed, nvCOMP ANS and Bitcomp
 * (bench/gpu/bench_nvcomp.py) and DFloat11's BF16 decoder (bench/gpu/bench_dfloat11.py) on the
 * same bytes, run from here so one run prints every row.
 *
 * Data: the data sections of .bench/data/minilm_{bf16,f16,f32}.safetensors (or the folder in
 * SARAPHIS_GPU_DATA), repeated to --bytes (default 256 MiB) so that the working set exceeds L2;
 * synthetic Gaussian weights when a file is missing (marked "synthetic").
 *
 * Per dtype also: the frame decoded from host memory (pageable and pinned; the records cross the
 * bus compressed and are decoded as they arrive) beside a plain copy of the raw bytes, and the
 * tensor encoded from host memory into host memory (saraphis_gpu_compress_host, wall clock)
 * beside a pinned host-to-device copy of the raw bytes, its ceiling (--no-host skips them). Then the model's own list of tensors, each its own frame: one batch call against one
 * call per tensor, for all of them and for the small ones (--no-tensors skips it).
 *
 * Figures: GB/s of uncompressed bytes, the median of --runs timed calls (CUDA events around the
 * whole API call, host work and the final synchronisation included); encode rows check that the
 * GPU frame is the CPU's byte for byte, and the CPU encoder (all cores, wall clock, median of 3)
 * is printed beside it. "of limit" is the figure
 * over the memory-bandwidth limit for that operation: a codec must at least read the compressed
 * bytes and write the raw ones (or the reverse), so with B the copy's bandwidth counting bytes
 * read and written, the limit in uncompressed GB/s is B * raw / (raw + compressed).
 * Benchmarks measure; they never fail (exit 0 unless nothing could run). */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container/safetensors.h"
#include "saraphis.h"

#include "bench_gpu_support.h"

static long threads_online(void) { return sysconf(_SC_NPROCESSORS_ONLN); }

/* The whole file (malloc'd), or NULL when it cannot be read. */
static uint8_t *read_whole_file(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    *size = (size_t)ftell(file);
    fseek(file, 0, SEEK_SET);
    uint8_t *whole = malloc(*size ? *size : 1);
    if (whole && fread(whole, 1, *size, file) != *size) { free(whole); whole = NULL; }
    fclose(file);
    return whole;
}

static uint8_t *load_data(const char *folder, const char *name, saraphis_dtype_t want, size_t bytes, int *synthetic)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.safetensors", folder, name);
    uint8_t *out = malloc(bytes);
    if (!out) return NULL;
    size_t size = 0;
    uint8_t *whole = read_whole_file(path, &size);
    safetensors_file_t st;
    memset(&st, 0, sizeof st);
    size_t element = saraphis_dtype_size(want);
    if (whole && safetensors_parse(whole, size, size, path, &st) == SARAPHIS_OK && st.data_size >= element) {
        const uint8_t *data = whole + st.data_offset;
        size_t data_size = (size_t)st.data_size / element * element;
        for (size_t at = 0; at < bytes; at += data_size) memcpy(out + at, data, bytes - at < data_size ? bytes - at : data_size);
        *synthetic = 0;
    } else {
        unsigned long long state = 12345;
        for (size_t i = 0; i + element <= bytes; i += element) {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
            double u = ((state * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0) + 1e-12;
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
            double v = ((state * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
            float w = (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v) * 0.02);
            uint32_t b32;
            memcpy(&b32, &w, 4);
            if (element == 4) memcpy(out + i, &b32, 4);
            else if (want == SARAPHIS_DTYPE_BF16) { uint16_t h = (uint16_t)(b32 >> 16); memcpy(out + i, &h, 2); }
            else { /* F16, flushing what it cannot hold to zero */
                int exponent = (int)((b32 >> 23) & 0xff) - 112;
                uint32_t magnitude = exponent > 0 ? (uint32_t)exponent << 10 | ((b32 & 0x7fffff) >> 13) : 0;
                uint16_t h = (uint16_t)(((b32 >> 16) & 0x8000) | magnitude);
                memcpy(out + i, &h, 2);
            }
        }
        *synthetic = 1;
    }
    safetensors_file_free(&st);
    free(whole);
    return out;
}

/* A real model's list of tensors, each its own frame (MiniLM: ~100 tensors from 1.5 KB to 47 MB),
 * decoded by one saraphis_gpu_decompress_batch call and by one saraphis_gpu_decompress call per
 * tensor; then the same for the small tensors alone (4 KB to 1 MB and below), where launch
 * overhead decides. Prints GB/s of uncompressed bytes and tensors per second. */
typedef struct {
    size_t count, raw_total, coded_total;
    const void **frames;
    size_t *frame_sizes, *capacities, *sizes;
    void **dsts;
    uint8_t *d_frames, *d_out;
} tensor_batch_t;

static void time_batch(const tensor_batch_t *b, saraphis_ctx_t *ctx, cudaStream_t stream, int runs, double *times, double *batch_ms,
                       double *loop_ms, int *ok)
{
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    *ok = 1;
    for (int mode = 0; mode < 2; mode++) {
        for (int r = 0; r < runs + 2; r++) {
            cudaEventRecord(start, stream);
            saraphis_status_t status = SARAPHIS_OK;
            if (mode == 0) {
                status = saraphis_gpu_decompress_batch(ctx, b->count, b->frames, b->frame_sizes, b->dsts, b->capacities, b->sizes, stream);
            } else {
                for (size_t t = 0; t < b->count && status == SARAPHIS_OK; t++)
                    status = saraphis_gpu_decompress(ctx, b->frames[t], b->frame_sizes[t], b->dsts[t], b->capacities[t], &b->sizes[t], stream);
            }
            cudaEventRecord(stop, stream);
            cudaEventSynchronize(stop);
            float ms = 0;
            cudaEventElapsedTime(&ms, start, stop);
            if (status != SARAPHIS_OK) {
                printf("model tensors: decode failed: %s\n", saraphis_last_error());
                *ok = 0;
            }
            if (r >= 2) times[r - 2] = ms;
        }
        *(mode == 0 ? batch_ms : loop_ms) = median(times, runs);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
}

static void bench_model_tensors(const char *folder, const char *name, saraphis_dtype_t dtype, cudaStream_t stream, int runs,
                                double *times)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.safetensors", folder, name);
    size_t size = 0;
    uint8_t *whole = read_whole_file(path, &size);
    safetensors_file_t st;
    memset(&st, 0, sizeof st);
    if (!whole || safetensors_parse(whole, size, size, path, &st) != SARAPHIS_OK) {
        printf("model tensors: %s not readable, skipped\n", path);
        free(whole);
        return;
    }
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
    const size_t n = st.tensor_count;
    uint8_t **host_frames = calloc(n, sizeof *host_frames);
    size_t *host_sizes = calloc(n, sizeof *host_sizes);
    for (size_t t = 0; t < n; t++) {
        const safetensors_tensor_t *tensor = &st.tensors[t];
        size_t raw = (size_t)(tensor->end - tensor->begin), bound = saraphis_compress_bound(raw, 0);
        host_frames[t] = malloc(bound);
        if (tensor->dtype != dtype || saraphis_compress(ctx, dtype, whole + st.data_offset + tensor->begin, raw, host_frames[t], bound,
                                                        &host_sizes[t]) != SARAPHIS_OK)
            host_sizes[t] = 0;
    }
    /* Two selections: every tensor, then those of at most 1 MiB. */
    for (int small = 0; small < 2; small++) {
        tensor_batch_t b;
        memset(&b, 0, sizeof b);
        b.frames = calloc(n, sizeof *b.frames);
        b.frame_sizes = calloc(n, sizeof *b.frame_sizes);
        b.capacities = calloc(n, sizeof *b.capacities);
        b.sizes = calloc(n, sizeof *b.sizes);
        b.dsts = calloc(n, sizeof *b.dsts);
        size_t *index = calloc(n, sizeof *index), frame_bytes = 0, out_bytes = 0, smallest = SIZE_MAX, largest = 0;
        for (size_t t = 0; t < n; t++) {
            size_t raw = (size_t)(st.tensors[t].end - st.tensors[t].begin);
            if (!host_sizes[t] || (small && raw > (1u << 20))) continue;
            index[b.count++] = t;
            frame_bytes += (host_sizes[t] + 255) & ~(size_t)255;
            out_bytes += (raw + 255) & ~(size_t)255;
            b.raw_total += raw;
            b.coded_total += host_sizes[t];
            smallest = raw < smallest ? raw : smallest;
            largest = raw > largest ? raw : largest;
        }
        if (b.count && cudaMalloc((void **)&b.d_frames, frame_bytes) == cudaSuccess && cudaMalloc((void **)&b.d_out, out_bytes) == cudaSuccess) {
            size_t frame_at = 0, out_at = 0;
            for (size_t k = 0; k < b.count; k++) {
                size_t t = index[k], raw = (size_t)(st.tensors[t].end - st.tensors[t].begin);
                cudaMemcpy(b.d_frames + frame_at, host_frames[t], host_sizes[t], cudaMemcpyHostToDevice);
                b.frames[k] = b.d_frames + frame_at;
                b.frame_sizes[k] = host_sizes[t];
                b.dsts[k] = b.d_out + out_at;
                b.capacities[k] = raw;
                frame_at += (host_sizes[t] + 255) & ~(size_t)255;
                out_at += (raw + 255) & ~(size_t)255;
            }
            double batch_ms = 0, loop_ms = 0;
            int ok = 0;
            time_batch(&b, ctx, stream, runs, times, &batch_ms, &loop_ms, &ok);
            int exact = ok;
            uint8_t *back = malloc(largest);
            for (size_t k = 0; k < b.count && exact; k++) {
                const safetensors_tensor_t *tensor = &st.tensors[index[k]];
                cudaMemcpy(back, b.dsts[k], b.capacities[k], cudaMemcpyDeviceToHost);
                exact = memcmp(back, whole + st.data_offset + tensor->begin, b.capacities[k]) == 0;
            }
            free(back);
            char what[96];
            snprintf(what, sizeof what, "%zu %s tensors, %zu B to %.1f MB, %.1f MB in all", b.count, small ? "small" : "model", smallest,
                     largest / 1e6, b.raw_total / 1e6);
            const char *dname = saraphis_dtype_name(dtype);
            if (ok) {
                printf("%-22s %-5s %-8s %9.2f %9s %8.3f  %s; one batch call, %.0f tensors/s%s\n", "saraphis-gpu batch", dname, "decode",
                       b.raw_total / batch_ms / 1e6, "-", (double)b.raw_total / b.coded_total, what, b.count / batch_ms * 1e3,
                       exact ? "" : " [OUTPUT DIFFERS]");
                printf("%-22s %-5s %-8s %9.2f %9s %8.3f  %s; one call per tensor, %.0f tensors/s\n", "saraphis-gpu per tensor", dname,
                       "decode", b.raw_total / loop_ms / 1e6, "-", (double)b.raw_total / b.coded_total, what, b.count / loop_ms * 1e3);
            }
        }
        cudaFree(b.d_frames);
        cudaFree(b.d_out);
        free(b.frames); free(b.frame_sizes); free(b.capacities); free(b.sizes); free(b.dsts); free(index);
    }
    for (size_t t = 0; t < n; t++) free(host_frames[t]);
    free(host_frames);
    free(host_sizes);
    saraphis_ctx_free(ctx);
    safetensors_file_free(&st);
    free(whole);
}

int main(int argc, char **argv)
{
    size_t bytes = 256u << 20;
    int runs = 20, encode = 1, nvcomp = 1, dfloat11 = 1, tensors = 1, host = 1;
    const char *only = NULL; /* --only bf16|f16|f32: one dtype (for profilers) */
    const char *folder = getenv("SARAPHIS_GPU_DATA");
    char default_folder[1024];
    snprintf(default_folder, sizeof default_folder, "%s/.bench/data", SARAPHIS_SOURCE_DIR);
    if (!folder) folder = default_folder;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--no-encode") == 0) encode = 0;
        else if (strcmp(argv[i], "--no-nvcomp") == 0) nvcomp = 0;
        else if (strcmp(argv[i], "--no-dfloat11") == 0) dfloat11 = 0;
        else if (strcmp(argv[i], "--no-tensors") == 0) tensors = 0;
        else if (strcmp(argv[i], "--no-host") == 0) host = 0;
        else if (!value) break;
        else if (strcmp(argv[i], "--bytes") == 0) bytes = (size_t)strtoull(value, NULL, 0), i++;
        else if (strcmp(argv[i], "--runs") == 0) runs = atoi(value), i++;
        else if (strcmp(argv[i], "--data") == 0) folder = value, i++;
        else if (strcmp(argv[i], "--only") == 0) only = value, i++;
    }
    if (runs < 1) runs = 1;
    if (!saraphis_gpu_available()) {
        printf("bench_gpu_lossless: no CUDA device, nothing to measure\n");
        return 0;
    }
    struct cudaDeviceProp prop;
    int device = 0;
    cudaGetDevice(&device);
    cudaGetDeviceProperties(&prop, device);
    printf("device: %s (%d SMs, %.0f MB L2); %zu MiB per tensor, median of %d runs\n", prop.name, prop.multiProcessorCount,
           prop.l2CacheSize / 1e6, bytes >> 20, runs);

    cudaStream_t stream;
    cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    double *times = malloc(sizeof(double) * (size_t)(runs + 2));

    /* The ceiling: a device-to-device copy of `bytes`. */
    void *d_a = NULL, *d_b = NULL;
    if (cudaMalloc(&d_a, bytes) != cudaSuccess || cudaMalloc(&d_b, bytes) != cudaSuccess) {
        printf("bench_gpu_lossless: cannot allocate 2 x %zu bytes\n", bytes);
        return 0;
    }
    cudaMemsetAsync(d_a, 1, bytes, stream);
    double copy_ms = copy_median_ms(d_b, d_a, bytes, cudaMemcpyDeviceToDevice, stream, start, stop, times, runs), copy_gbs = bytes / copy_ms / 1e6, bandwidth = 2 * copy_gbs;
    cudaFree(d_b);
    printf("%-22s %-5s %-8s %9s %9s %8s  %s\n", "codec", "dtype", "op", "GB/s", "of limit", "ratio", "note");
    printf("%-22s %-5s %-8s %9.1f %8.1f%% %8s  %s\n", "device-to-device copy", "-", "copy", copy_gbs, 100.0, "1.000",
           "the ceiling; moves 2x these bytes (read + write)");

    static const struct { const char *file; saraphis_dtype_t dtype; } inputs[] = {
        {"minilm_bf16", SARAPHIS_DTYPE_BF16}, {"minilm_f16", SARAPHIS_DTYPE_F16}, {"minilm_f32", SARAPHIS_DTYPE_F32}};
    for (size_t k = 0; k < 3; k++) {
        if (only && strcmp(only, inputs[k].file + 7) != 0) continue;
        int synthetic = 0;
        uint8_t *data = load_data(folder, inputs[k].file, inputs[k].dtype, bytes, &synthetic);
        if (!data) continue;
        const char *dname = saraphis_dtype_name(inputs[k].dtype);
        cudaMemcpy(d_a, data, bytes, cudaMemcpyHostToDevice);
        for (int content = 1; content >= 0; content--) {
            saraphis_ctx_t *ctx = saraphis_ctx_create();
            saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 0);
            saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, content);
            size_t bound = saraphis_compress_bound(bytes, 0), frame_size = 0, out_size = 0;
            uint8_t *frame = malloc(bound);
            if (saraphis_compress(ctx, inputs[k].dtype, data, bytes, frame, bound, &frame_size) != SARAPHIS_OK) {
                printf("cpu compress failed: %s\n", saraphis_last_error());
                free(frame);
                saraphis_ctx_free(ctx);
                continue;
            }
            double ratio = (double)bytes / frame_size, limit = bandwidth * bytes / (double)(bytes + frame_size);
            void *d_frame = NULL, *d_out = NULL;
            cudaMalloc(&d_frame, bound);
            cudaMalloc(&d_out, bytes);
            cudaMemcpy(d_frame, frame, frame_size, cudaMemcpyHostToDevice);
            saraphis_status_t status = SARAPHIS_OK;
            TIME_GPU_CALLS(status, saraphis_gpu_decompress(ctx, d_frame, frame_size, d_out, bytes, &out_size, stream), stream, start, stop, times, runs);
            const char *note = content ? "content checksums on (default)" : "content checksums off";
            char label[64];
            snprintf(label, sizeof label, "saraphis-gpu%s", synthetic ? " (synth)" : "");
            if (status != SARAPHIS_OK) {
                printf("%-22s %-5s %-8s failed: %s\n", label, dname, "decode", saraphis_last_error());
            } else {
                uint8_t *back = malloc(bytes);
                cudaMemcpy(back, d_out, bytes, cudaMemcpyDeviceToHost);
                int exact = memcmp(back, data, bytes) == 0;
                free(back);
                double ms = median(times, runs), gbs = bytes / ms / 1e6;
                printf("%-22s %-5s %-8s %9.1f %8.1f%% %8.3f  %s%s\n", label, dname, "decode", gbs, 100 * gbs / limit, ratio, note,
                       exact ? "" : " [OUTPUT DIFFERS]");
                /* The same frame with SARAPHIS_PARAM_VERIFY_RECORDS 0: its records are verified by
                 * their content checksums alone, as zstd verifies a frame. */
                if (content) {
                    saraphis_status_t trusted = saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, 0);
                    cudaMemset(d_out, 0, bytes);
                    TIME_GPU_CALLS(trusted, saraphis_gpu_decompress(ctx, d_frame, frame_size, d_out, bytes, &out_size, stream), stream, start, stop,
                                   times, runs);
                    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, 1);
                    if (trusted != SARAPHIS_OK) {
                        printf("%-22s %-5s %-8s failed: %s\n", label, dname, "decode", saraphis_last_error());
                    } else {
                        back = malloc(bytes);
                        cudaMemcpy(back, d_out, bytes, cudaMemcpyDeviceToHost);
                        exact = memcmp(back, data, bytes) == 0;
                        free(back);
                        ms = median(times, runs), gbs = bytes / ms / 1e6;
                        printf("%-22s %-5s %-8s %9.1f %8.1f%% %8.3f  %s%s\n", label, dname, "decode", gbs, 100 * gbs / limit, ratio,
                               "content checksums on; records verified by them alone (verify_records 0)", exact ? "" : " [OUTPUT DIFFERS]");
                    }
                }
            }
            /* From host memory: the frame crosses the bus compressed and is decoded group by group
             * as it arrives, against copying the raw bytes over (pageable, then pinned memory). */
            if (host && content && status == SARAPHIS_OK) {
                uint8_t *pinned_frame = NULL, *pinned_raw = NULL;
                cudaMallocHost((void **)&pinned_frame, frame_size);
                cudaMallocHost((void **)&pinned_raw, bytes);
                if (pinned_frame && pinned_raw) {
                    memcpy(pinned_frame, frame, frame_size);
                    memcpy(pinned_raw, data, bytes);
                    for (int pinned = 0; pinned < 2; pinned++) {
                        for (int way = 0; way < 2; way++) { /* 0: the raw bytes copied, 1: the frame decoded */
                            saraphis_status_t s2 = SARAPHIS_OK;
                            for (int r = 0; r < runs + 2 && s2 == SARAPHIS_OK; r++) {
                                cudaEventRecord(start, stream);
                                if (way == 0) cudaMemcpyAsync(d_out, pinned ? pinned_raw : data, bytes, cudaMemcpyHostToDevice, stream);
                                else s2 = saraphis_gpu_decompress_host(ctx, pinned ? pinned_frame : frame, frame_size, d_out, bytes, &out_size, stream);
                                cudaEventRecord(stop, stream);
                                cudaEventSynchronize(stop);
                                float ms = 0;
                                cudaEventElapsedTime(&ms, start, stop);
                                if (r >= 2) times[r - 2] = ms;
                            }
                            char what[96];
                            snprintf(what, sizeof what, "from %s host memory", pinned ? "pinned" : "pageable");
                            if (s2 != SARAPHIS_OK) {
                                printf("%-22s %-5s %-8s failed: %s\n", "saraphis-gpu", dname, "h2d", saraphis_last_error());
                                continue;
                            }
                            printf("%-22s %-5s %-8s %9.1f %9s %8.3f  %s%s\n", way ? "saraphis-gpu" : "cudaMemcpy (raw)", dname,
                                   way ? "h2d+dec" : "h2d", bytes / median(times, runs) / 1e6, "-", way ? ratio : 1.0, what,
                                   way ? "; records in 16 MiB groups, decoded as they arrive" : "; the raw bytes over the bus");
                        }
                    }
                }
                cudaFreeHost(pinned_frame);
                cudaFreeHost(pinned_raw);
            }
            /* Encode: the same timing (two warm-up calls, then the median of --runs). */
            int encode_runs = encode ? runs : 0;
            size_t gpu_frame_size = 0;
            status = SARAPHIS_OK;
            if (encode_runs) TIME_GPU_CALLS(status, saraphis_gpu_compress(ctx, inputs[k].dtype, d_a, bytes, d_frame, bound, &gpu_frame_size, stream), stream, start, stop, times, encode_runs);
            if (encode_runs == 0) {
            } else if (status != SARAPHIS_OK) {
                printf("%-22s %-5s %-8s failed: %s\n", label, dname, "encode", saraphis_last_error());
            } else {
                uint8_t *back = malloc(gpu_frame_size);
                cudaMemcpy(back, d_frame, gpu_frame_size, cudaMemcpyDeviceToHost);
                int same = gpu_frame_size == frame_size && memcmp(back, frame, frame_size) == 0;
                free(back);
                double ms = median(times, encode_runs), gbs = bytes / ms / 1e6;
                printf("%-22s %-5s %-8s %9.1f %8.1f%% %8.3f  %s; %s\n", label, dname, "encode", gbs, 100 * gbs / limit, ratio, note,
                       same ? "frame identical to the CPU's" : "FRAME DIFFERS FROM THE CPU'S");
            }
            /* Encode from host memory (saraphis_gpu_compress_host): the raw bytes cross the bus in
             * 16 MiB groups, each encoded as the next one crosses, and the frame comes back; beside
             * it a pinned host-to-device copy of the raw bytes, its ceiling. Wall clock around the
             * call (its host copies into the pinned slots are part of it). */
            if (host && encode && content) {
                uint8_t *pinned_raw = NULL, *pinned_out = NULL, *pageable_out = malloc(bound);
                cudaMallocHost((void **)&pinned_raw, bytes);
                cudaMallocHost((void **)&pinned_out, bound);
                if (pinned_raw && pinned_out && pageable_out) {
                    memcpy(pinned_raw, data, bytes);
                    memset(pageable_out, 0, bound);
                    const double h2d_ms = copy_median_ms(d_a, pinned_raw, bytes, cudaMemcpyHostToDevice, stream, start, stop, times, runs);
                    printf("%-22s %-5s %-8s %9.1f %9s %8.3f  %s\n", "cudaMemcpy (raw)", dname, "h2d", bytes / h2d_ms / 1e6, "-", 1.0,
                           "from pinned host memory; the ceiling of encode from host");
                    for (int pinned = 0; pinned < 2; pinned++) {
                        uint8_t *out = pinned ? pinned_out : pageable_out;
                        saraphis_status_t s2 = SARAPHIS_OK;
                        size_t host_frame_size = 0;
                        for (int r = 0; r < runs + 2 && s2 == SARAPHIS_OK; r++) {
                            double t0 = now_ms();
                            s2 = saraphis_gpu_compress_host(ctx, inputs[k].dtype, pinned ? pinned_raw : data, bytes, out, bound, &host_frame_size, stream);
                            if (r >= 2) times[r - 2] = now_ms() - t0;
                        }
                        if (s2 != SARAPHIS_OK) {
                            printf("%-22s %-5s %-8s failed: %s\n", "saraphis-gpu", dname, "enc host", saraphis_last_error());
                            continue;
                        }
                        int same = host_frame_size == frame_size && memcmp(out, frame, frame_size) == 0;
                        printf("%-22s %-5s %-8s %9.1f %9s %8.3f  encode from %s host memory into %s; 16 MiB groups, encoded as they arrive; %s\n",
                               "saraphis-gpu", dname, "enc host", bytes / median(times, runs) / 1e6, "-", ratio, pinned ? "pinned" : "pageable",
                               pinned ? "pinned" : "pageable", same ? "frame identical to the CPU's" : "FRAME DIFFERS FROM THE CPU'S");
                    }
                }
                cudaFreeHost(pinned_raw);
                cudaFreeHost(pinned_out);
                free(pageable_out);
            }
            /* The CPU encoder on the same bytes (every core), the peer the GPU encode replaces. */
            int cpu_runs = !encode ? 0 : runs < 3 ? runs : 3;
            for (int r = 0; r < cpu_runs; r++) {
                double t0 = now_ms();
                saraphis_compress(ctx, inputs[k].dtype, data, bytes, frame, bound, &frame_size);
                times[r] = now_ms() - t0;
            }
            if (cpu_runs)
                printf("%-22s %-5s %-8s %9.1f %8s %8.3f  %s; %d threads, median of %d\n", "saraphis-cpu", dname, "encode",
                       bytes / median(times, cpu_runs) / 1e6, "-", ratio, note, (int)threads_online(), cpu_runs);
            cudaFree(d_frame);
            cudaFree(d_out);
            free(frame);
            saraphis_ctx_free(ctx);
        }
        free(data);
        if (tensors) bench_model_tensors(folder, inputs[k].file, inputs[k].dtype, stream, runs, times);
    }
    cudaFree(d_a);
    free(times);

    /* nvCOMP and DFloat11 on the same data, when their wheels are installed. */
    char command[2048];
    int rc;
    if (nvcomp) {
        snprintf(command, sizeof command,
                 "if python3 -c 'import nvidia.nvcomp' 2>/dev/null; then python3 %s/bench/gpu/bench_nvcomp.py --data '%s' --bytes %zu "
                 "--runs %d --bandwidth %.3f || echo \"nvcomp: bench_nvcomp.py ended with status $? (rows above it stand)\"; "
                 "else echo 'nvcomp: not installed (pip install .whl/nvidia_*nvcomp*.whl), skipped'; fi",
                 SARAPHIS_SOURCE_DIR, folder, bytes, runs, bandwidth);
        fflush(stdout);
        rc = system(command);
        (void)rc;
    }
    if (dfloat11 && (!only || strcmp(only, "bf16") == 0)) {
        /* Finding the package does not run its __init__, which imports transformers. */
        snprintf(command, sizeof command,
                 "if python3 -c 'import importlib.util as u, dahuffman; assert u.find_spec(\"dfloat11\")' 2>/dev/null; then "
                 "python3 %s/bench/gpu/bench_dfloat11.py --data '%s' --bytes %zu --runs %d --bandwidth %.3f; "
                 "else echo 'dfloat11: not installed (pip install .whl/dfloat11-*.whl .whl/dahuffman-*.whl), skipped'; fi",
                 SARAPHIS_SOURCE_DIR, folder, bytes, runs, bandwidth);
        fflush(stdout);
        rc = system(command);
        (void)rc;
    }
    return 0;
}
