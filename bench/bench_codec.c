/* bench_codec: Saraphis's own speed and ratio on one buffer, single-thread and all threads,
 * median of repeated runs. Peers are compared by bench/bench_lossless.py on real weights; this
 * program is for quick, dependency-free measurements.
 *   bench_codec [--dtype BF16] [--reps 7] [--threads N] [FILE]   (no FILE: synthetic weights) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saraphis.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_double);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

int main(int argc, char **argv)
{
    saraphis_dtype_t dtype = SARAPHIS_DTYPE_BF16;
    int reps = 7;
    unsigned threads_all = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dtype") && i + 1 < argc) dtype = saraphis_dtype_from_name(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads_all = (unsigned)atoi(argv[++i]);
        else path = argv[i];
    }
    if (saraphis_dtype_size(dtype) == 0 || reps < 1 || reps > 1000) { fprintf(stderr, "bench_codec: bad arguments\n"); return 2; }
    size_t size;
    uint8_t *data;
    if (path) {
        FILE *f = fopen(path, "rb");
        if (!f) { perror(path); return 2; }
        fseek(f, 0, SEEK_END);
        size = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        size -= size % saraphis_dtype_size(dtype);
        data = malloc(size);
        if (fread(data, 1, size, f) != size) { fprintf(stderr, "%s: short read\n", path); return 2; }
        fclose(f);
    } else {
        /* Gaussian weights (std 0.02), rounded to the dtype. */
        size_t n = 16u << 20;
        size = n * saraphis_dtype_size(dtype);
        data = malloc(size);
        unsigned long long s = 42;
        for (size_t i = 0; i < n; i++) {
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
            double u1 = ((s * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0) + 1e-17;
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
            double u2 = ((s * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
            float v = (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2) * 0.02);
            uint32_t u; memcpy(&u, &v, 4);
            if (dtype == SARAPHIS_DTYPE_BF16) { uint16_t b = (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16); memcpy(data + 2 * i, &b, 2); }
            else if (dtype == SARAPHIS_DTYPE_F32) memcpy(data + 4 * i, &u, 4);
            else { double d = v; memcpy(data + i * saraphis_dtype_size(dtype), &d, saraphis_dtype_size(dtype)); }
        }
    }
    size_t capacity = saraphis_compress_bound(size, 0);
    uint8_t *compressed = malloc(capacity), *restored = malloc(size);
    unsigned thread_settings[2] = {1, threads_all};
    printf("%-10s %-8s %10s %8s %12s %12s\n", "input", "threads", "bytes", "ratio", "comp MB/s", "decomp MB/s");
    for (int t = 0; t < 2; t++) {
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, thread_settings[t]);
        double *ct = malloc(sizeof(double) * (size_t)reps), *dt = malloc(sizeof(double) * (size_t)reps);
        size_t compressed_size = 0, restored_size = 0;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            if (saraphis_compress(ctx, dtype, data, size, compressed, capacity, &compressed_size)) { fprintf(stderr, "%s\n", saraphis_last_error()); return 1; }
            double t1 = now();
            if (saraphis_decompress(ctx, compressed, compressed_size, restored, size, &restored_size)) { fprintf(stderr, "%s\n", saraphis_last_error()); return 1; }
            double t2 = now();
            ct[r] = t1 - t0; dt[r] = t2 - t1;
        }
        if (memcmp(data, restored, size)) { fprintf(stderr, "round trip mismatch\n"); return 1; }
        printf("%-10s %-8s %10zu %8.4f %12.1f %12.1f\n", path ? "file" : "synthetic", t ? (thread_settings[t] ? "N" : "all") : "1",
               size, (double)size / compressed_size, size / median(ct, reps) / 1e6, size / median(dt, reps) / 1e6);
        free(ct); free(dt);
        saraphis_ctx_free(ctx);
    }
    free(data); free(compressed); free(restored);
    return 0;
}
