/* Coordinator overhead: the same tensor compressed and decompressed by the codec directly
 * (saraphis_compress / saraphis_decompress on a context with the BALANCED settings) and through
 * the coordinator (saraphis_system_*), medians of per-call times, same data, same run.
 *
 *   inline   saraphis_system_compress when the queue is empty: runs on the caller's thread
 *   queued   saraphis_system_compress_batch of one: always queued, handed to a worker thread
 *
 * Usage: bench_coordinator [reps]   (default 2000 per size; medians reported) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saraphis.h"

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare);
    return v[n / 2];
}

static void weights(float *v, size_t n, unsigned long long seed)
{
    unsigned long long s = seed | 1;
    for (size_t i = 0; i < n; i += 2) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
            u[k] = ((double)((s * 0x2545F4914F6CDD1DULL) >> 11) + 0.5) / 9007199254740992.0;
        }
        double r = sqrt(-2.0 * log(u[0])) * 0.02;
        v[i] = (float)(r * cos(6.283185307179586 * u[1]));
        if (i + 1 < n) v[i + 1] = (float)(r * sin(6.283185307179586 * u[1]));
    }
}

#define OK(call)                                                                                      \
    do {                                                                                              \
        if ((call) != SARAPHIS_OK) {                                                                  \
            fprintf(stderr, "%s: %s\n", #call, saraphis_last_error());                               \
            return 1;                                                                                 \
        }                                                                                             \
    } while (0)

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 2000;
    if (reps < 3) reps = 3;
    saraphis_config_t *config = saraphis_config_create();
    saraphis_config_set(config, "cpu_workers", "1");
    saraphis_config_set(config, "optimization_strategy", "balanced");
    saraphis_system_t *system = NULL;
    OK(saraphis_system_create(&system, config));
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    OK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 256 << 10)); /* BALANCED */
    OK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, 1));
    OK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, 1));
    double *t = malloc((size_t)reps * sizeof *t);
    static const size_t sizes[] = {4096, 65536, 1 << 20};
    printf("median of %d calls per row; one worker; F32 weights (N(0, 0.02))\n", reps);
    printf("%-8s %-34s %12s %14s %12s\n", "size", "path", "median us", "overhead us", "overhead %");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t bytes = sizes[s], count = bytes / 4;
        int n = bytes >= (1 << 20) ? reps / 10 + 3 : reps;
        float *values = malloc(bytes), *restored = malloc(bytes);
        weights(values, count, 7 + s);
        size_t capacity = saraphis_compress_bound(bytes, 256 << 10), frame_size = 0, restored_size = 0;
        uint8_t *frame = malloc(capacity);
        int64_t shape[1] = {(int64_t)count};
        DLTensor tensor = {values, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
        DLTensor destination = {restored, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
        const DLTensor *one[1] = {&tensor};
        /* Warm up every path (thread pools, scratch, page faults). */
        for (int i = 0; i < 20; i++) {
            saraphis_result_t *r = NULL;
            OK(saraphis_compress(ctx, SARAPHIS_DTYPE_F32, values, bytes, frame, capacity, &frame_size));
            OK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &r));
            saraphis_result_free(r);
            OK(saraphis_system_compress_batch(system, one, 1, SARAPHIS_PRIORITY_MEDIUM, NULL, &r, NULL));
            saraphis_result_free(r);
        }
        /* The paths alternate call by call, so drift on a shared machine hits them alike. */
        double *tc = malloc((size_t)n * 6 * sizeof(double));
        double *ti = tc + n, *tq = tc + 2 * n, *td = tc + 3 * n, *tdi = tc + 4 * n, *tdn = tc + 5 * n;
        for (int i = 0; i < n; i++) {
            saraphis_result_t *r = NULL;
            DLManagedTensor *out = NULL;
            double t0 = now_ns();
            OK(saraphis_compress(ctx, SARAPHIS_DTYPE_F32, values, bytes, frame, capacity, &frame_size));
            double t1 = now_ns();
            OK(saraphis_system_compress(system, &tensor, SARAPHIS_PRIORITY_MEDIUM, NULL, &r));
            double t2 = now_ns();
            saraphis_result_free(r);
            double t3 = now_ns();
            OK(saraphis_system_compress_batch(system, one, 1, SARAPHIS_PRIORITY_MEDIUM, NULL, &r, NULL));
            double t4 = now_ns();
            saraphis_result_free(r);
            double t5 = now_ns();
            OK(saraphis_decompress(ctx, frame, frame_size, restored, bytes, &restored_size));
            double t6 = now_ns();
            OK(saraphis_system_decompress_into(system, frame, frame_size, &destination, SARAPHIS_PRIORITY_MEDIUM));
            double t7 = now_ns();
            OK(saraphis_system_decompress(system, frame, frame_size, (DLDevice){kDLCPU, 0}, NULL, 0,
                                          SARAPHIS_PRIORITY_MEDIUM, &out));
            double t8 = now_ns();
            out->deleter(out);
            tc[i] = t1 - t0, ti[i] = t2 - t1, tq[i] = t4 - t3, td[i] = t6 - t5, tdi[i] = t7 - t6, tdn[i] = t8 - t7;
        }
        double codec = median(tc, n) / 1e3, inline_us = median(ti, n) / 1e3, queued_us = median(tq, n) / 1e3;
        double dcodec = median(td, n) / 1e3, dinto = median(tdi, n) / 1e3;
        double dnew = median(tdn, n) / 1e3;
        free(tc);
        if (memcmp(restored, values, bytes) != 0) {
            fprintf(stderr, "round trip mismatch\n");
            return 1;
        }
        char label[32];
        snprintf(label, sizeof label, "%zuK", bytes >> 10);
        printf("%-8s %-34s %12.2f %14s %12s\n", label, "compress: codec (saraphis_compress)", codec, "-", "-");
        printf("%-8s %-34s %12.2f %14.2f %11.1f%%\n", label, "compress: system, inline", inline_us, inline_us - codec,
               100.0 * (inline_us - codec) / codec);
        printf("%-8s %-34s %12.2f %14.2f %11.1f%%\n", label, "compress: system, queued to worker", queued_us,
               queued_us - codec, 100.0 * (queued_us - codec) / codec);
        printf("%-8s %-34s %12.2f %14s %12s\n", label, "decompress: codec", dcodec, "-", "-");
        printf("%-8s %-34s %12.2f %14.2f %11.1f%%\n", label, "decompress: system, into caller", dinto, dinto - dcodec,
               100.0 * (dinto - dcodec) / dcodec);
        printf("%-8s %-34s %12.2f %14.2f %11.1f%%\n", label, "decompress: system, new DLTensor", dnew, dnew - dcodec,
               100.0 * (dnew - dcodec) / dcodec);
        printf("%-8s ratio %.3f\n", label, (double)bytes / (double)frame_size);
        free(values);
        free(restored);
        free(frame);
    }
    free(t);
    saraphis_ctx_free(ctx);
    saraphis_system_free(system);
    saraphis_config_free(config);
    return 0;
}
