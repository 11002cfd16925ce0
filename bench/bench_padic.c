/* bench_padic: the p-adic codec on one raw little-endian float file (or synthetic Gaussian data):
 * ratio, single-thread compression and decompression speed (median of --reps passes), measured
 * max error, escapes, the order-0 entropy of the quantised integers (the bound an order-0 coder
 * of the lattice values cannot beat) and every progressive level's speed and measured error.
 *   bench_padic [--file PATH] [--dtype F32|F64|F16|BF16] [--synthetic N] [--sigma S]
 *               [--eps E[,E...]] [--prime P] [--precision D|0=auto] [--chunk-bytes B] [--reps R]
 *               [--cpu-time] [--no-entropy] [--dump PREFIX]
 * --dump writes each bound's payloads, concatenated, to PREFIX.<eps> (to compare builds).
 * The data is cut into chunks of --chunk-bytes (default 256 KiB), each coded on its own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/padic.h"

static int use_cpu_time;

/* Wall time, or with --cpu-time this thread's CPU time (steadier on a shared machine). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(use_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int compare_i64(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_double);
    return values[count / 2];
}

static double element(saraphis_dtype_t dtype, const uint8_t *p)
{
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: { float f; memcpy(&f, p, 4); return f; }
    case SARAPHIS_DTYPE_F64: { double d; memcpy(&d, p, 8); return d; }
    case SARAPHIS_DTYPE_BF16: { uint32_t b = (uint32_t)(p[0] | p[1] << 8) << 16; float f; memcpy(&f, &b, 4); return f; }
    default: {
        unsigned h = (unsigned)(p[0] | p[1] << 8), e = (h >> 10) & 31, m = h & 0x3ff;
        double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, (int)e - 25);
        return h & 0x8000 ? -v : v;
    }
    }
}

/* Order-0 entropy (bits per element) of q = round(x / 2eps) over the finite elements. */
static double lattice_entropy(saraphis_dtype_t dtype, const uint8_t *data, size_t n, double eps)
{
    size_t size = saraphis_dtype_size(dtype), m = 0;
    long long *q = malloc(n * sizeof *q + 1);
    for (size_t i = 0; i < n; i++) {
        double x = element(dtype, data + i * size);
        if (isfinite(x) && fabs(x / (2 * eps)) < 9e15) q[m++] = llround(x / (2 * eps));
    }
    qsort(q, m, sizeof *q, compare_i64);
    double bits = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && q[j] == q[i]) j++;
        double pr = (double)(j - i) / (double)m;
        bits -= (double)(j - i) * log2(pr);
        i = j;
    }
    free(q);
    return m ? bits / (double)n : 0;
}

typedef struct {
    uint8_t *payload;
    size_t *offset, *size;
    size_t chunks;
} coded_t;

int main(int argc, char **argv)
{
    const char *file = NULL, *dump = NULL, *eps_list = "1e-6,1e-5,1e-4,1e-3";
    saraphis_dtype_t dtype = SARAPHIS_DTYPE_F32;
    size_t synthetic = 1 << 22, chunk_bytes = 256 << 10;
    double sigma = 0.05;
    unsigned prime = 251, precision = 0;
    int reps = 5, skip_entropy = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--file") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) dtype = saraphis_dtype_from_name(argv[++i]);
        else if (!strcmp(argv[i], "--synthetic") && i + 1 < argc) synthetic = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--sigma") && i + 1 < argc) sigma = atof(argv[++i]);
        else if (!strcmp(argv[i], "--eps") && i + 1 < argc) eps_list = argv[++i];
        else if (!strcmp(argv[i], "--prime") && i + 1 < argc) prime = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) precision = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--chunk-bytes") && i + 1 < argc) chunk_bytes = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cpu-time")) use_cpu_time = 1;
        else if (!strcmp(argv[i], "--no-entropy")) skip_entropy = 1;
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--file PATH] [--dtype F32] [--synthetic N] [--sigma S] [--eps E,E] [--prime P] [--precision D] [--chunk-bytes B] [--reps R]\n", argv[0]);
            return 2;
        }
    }
    size_t size = saraphis_dtype_size(dtype);
    if (size == 0 || reps < 1 || chunk_bytes < size) { fprintf(stderr, "bad arguments\n"); return 2; }
    chunk_bytes -= chunk_bytes % size;
    uint8_t *data;
    size_t raw;
    if (file) {
        FILE *f = fopen(file, "rb");
        if (!f) { perror(file); return 2; }
        fseek(f, 0, SEEK_END);
        raw = (size_t)ftell(f);
        raw -= raw % size;
        fseek(f, 0, SEEK_SET);
        data = malloc(raw + 1);
        if (fread(data, 1, raw, f) != raw) { fprintf(stderr, "%s: short read\n", file); return 2; }
        fclose(f);
    } else {
        if (dtype != SARAPHIS_DTYPE_F32) { fprintf(stderr, "synthetic data is F32\n"); return 2; }
        raw = synthetic * 4;
        data = malloc(raw);
        unsigned long long state = 42;
        for (size_t i = 0; i < synthetic; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = ((state >> 11) + 0.5) * 0x1p-53;
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            double v = (state >> 11) * 0x1p-53;
            float x = (float)(sigma * sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
            memcpy(data + 4 * i, &x, 4);
        }
    }
    size_t n = raw / size, chunks = (raw + chunk_bytes - 1) / chunk_bytes;
    printf("p-adic codec: %s, %zu %s elements (%.1f MB), chunks of %zu bytes, prime %u, reps %d (medians)\n",
           file ? file : "synthetic gaussian", n, saraphis_dtype_name(dtype), raw / 1e6, chunk_bytes, prime, reps);
    printf("%-8s %3s %8s %9s %9s %8s %8s %11s %9s %s\n", "eps", "P", "ratio", "bits/el", "H0 bits", "C MB/s", "D MB/s",
           "max error", "escapes", "progressive (planes: D MB/s, max error / bound)");

    uint8_t *decoded = malloc(raw + 1);
    codec_scratch_t scratch = {0};
    double *samples = malloc(sizeof(double) * (size_t)reps);
    char *list = strdup(eps_list);
    for (char *token = strtok(list, ","); token; token = strtok(NULL, ",")) {
        padic_params_t params = {atof(token), prime, precision};
        if (precision == 0 && padic_required_precision(&params, dtype, data, raw, &params.precision) != SARAPHIS_OK) {
            fprintf(stderr, "%s\n", saraphis_last_error());
            return 1;
        }
        if (padic_validate(&params) != SARAPHIS_OK) { fprintf(stderr, "%s\n", saraphis_last_error()); return 1; }
        size_t bound = padic_chunk_bound(chunk_bytes, dtype, &params);
        coded_t coded = {malloc(bound * chunks), calloc(chunks, sizeof(size_t)), calloc(chunks, sizeof(size_t)), chunks};
        double max_error = 0;
        unsigned long long escapes = 0;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            for (size_t c = 0; c < chunks; c++) {
                size_t begin = c * chunk_bytes, length = raw - begin < chunk_bytes ? raw - begin : chunk_bytes;
                padic_chunk_stats_t stats;
                coded.offset[c] = c * bound;
                if (padic_encode_chunk(&params, dtype, data + begin, length, coded.payload + c * bound, bound, &coded.size[c], &scratch, &stats) != SARAPHIS_OK) {
                    fprintf(stderr, "encode: %s\n", saraphis_last_error());
                    return 1;
                }
                if (r == 0) {
                    max_error = stats.max_error > max_error ? stats.max_error : max_error;
                    escapes += stats.escapes;
                }
            }
            samples[r] = now() - t0;
        }
        double compress_s = median(samples, reps);
        size_t total = 0;
        for (size_t c = 0; c < chunks; c++) total += coded.size[c];
        if (dump) {
            char path[4096];
            snprintf(path, sizeof path, "%s.%s", dump, token);
            FILE *out = fopen(path, "wb");
            if (!out) { perror(path); return 2; }
            for (size_t c = 0; c < chunks; c++) fwrite(coded.payload + coded.offset[c], 1, coded.size[c], out);
            fclose(out);
        }
        double measured[PADIC_MAX_PLANES + 1] = {0}, decode_s[PADIC_MAX_PLANES + 1] = {0}, bounds[PADIC_MAX_PLANES + 1] = {0};
        for (unsigned k = params.precision; k >= 1; k--) {
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                for (size_t c = 0; c < chunks; c++) {
                    size_t begin = c * chunk_bytes, length = raw - begin < chunk_bytes ? raw - begin : chunk_bytes;
                    const uint8_t *payload = coded.payload + coded.offset[c];
                    size_t available = k == params.precision ? coded.size[c] : padic_prefix_bytes(payload, coded.size[c], k);
                    if (padic_decode_chunk(dtype, payload, available, decoded + begin, length, k, &scratch, &bounds[k]) != SARAPHIS_OK) {
                        fprintf(stderr, "decode: %s\n", saraphis_last_error());
                        return 1;
                    }
                }
                samples[r] = now() - t0;
            }
            decode_s[k] = median(samples, reps);
            if (dump) { /* every progressive level's decoded data, appended */
                char path[4096];
                snprintf(path, sizeof path, "%s.%s.decoded", dump, token);
                FILE *out = fopen(path, k == params.precision ? "wb" : "ab");
                if (!out) { perror(path); return 2; }
                fwrite(decoded, 1, raw, out);
                fclose(out);
            }
            double worst = 0;
            for (size_t i = 0; i < n; i++) {
                double x = element(dtype, data + i * size), y = element(dtype, decoded + i * size);
                if (isfinite(x) && fabs(x - y) > worst) worst = fabs(x - y);
            }
            measured[k] = worst;
        }
        double h0 = skip_entropy ? NAN : lattice_entropy(dtype, data, n, params.eps);
        printf("%-8g %3u %8.3f %9.3f %9.3f %8.0f %8.0f %11.4g %9llu", params.eps, params.precision, (double)raw / total,
               total * 8.0 / n, h0, raw / 1e6 / compress_s, raw / 1e6 / decode_s[params.precision], measured[params.precision], escapes);
        for (unsigned k = 1; k < params.precision; k++)
            printf("  %u: %.0f, %.3g/%.3g", k, raw / 1e6 / decode_s[k], measured[k], bounds[k]);
        printf("\n");
        if (measured[params.precision] > params.eps || max_error != measured[params.precision])
            printf("  WARNING: measured max error %.17g, encoder reported %.17g, bound %.17g\n", measured[params.precision], max_error, params.eps);
        free(coded.payload);
        free(coded.offset);
        free(coded.size);
    }
    free(list);
    free(samples);
    free(decoded);
    free(data);
    codec_scratch_release(&scratch);
    return 0;
}
