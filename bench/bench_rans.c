/* bench_rans: the rANS coder's speed in ns/symbol, portable against AVX2 in the same process on
 * the same data, for a few symbol distributions. Timings are the minimum (and median) over many
 * repetitions: the machine is shared, so the minimum is the stable figure.
 *   bench_rans [--symbols N] [--reps R]
 * Columns: block encode and decode (rans_encode_block_portable / the dispatching entry point),
 * the whole entropy_encode and entropy_decode (histogram, normalisation, tables, blocks),
 * rans_normalize alone, and entropy_plan (a stream's plan from its histogram). entropy_* follow
 * the dispatch (SARAPHIS_NO_SIMD=1 forces portable), so the program also re-runs itself with
 * SARAPHIS_NO_SIMD=1 to print the portable stream figures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/entropy.h"
#include "codec/rans.h"

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

typedef struct {
    double min, median;
} timing_t;

static timing_t summarize(double *values, int count, size_t n)
{
    qsort(values, (size_t)count, sizeof *values, compare_double);
    timing_t t = {values[0] * 1e9 / (double)n, values[count / 2] * 1e9 / (double)n};
    return t;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double uniform01(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return ((rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Distributions: exponent bytes of Gaussian bf16 weights (entropy about 2.5 bits), a geometric
 * skew, uniform bytes, two symbols, and one symbol at p = 0.999. */
static const char *const distribution_names[] = {"exponents", "geometric", "uniform256", "two-symbol", "p=0.999"};
enum { DISTRIBUTIONS = 5 };

static void generate(int kind, uint8_t *symbols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double u = uniform01();
        switch (kind) {
        case 0: {
            double v = uniform01();
            float w = (float)(0.02 * sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
            uint32_t bits;
            memcpy(&bits, &w, 4);
            symbols[i] = (uint8_t)(bits >> 23);
            break;
        }
        case 1: symbols[i] = (uint8_t)(10 + (int)fmin(200, floor(log(u) / log(0.7)))); break;
        case 2: symbols[i] = (uint8_t)(u * 256); break;
        case 3: symbols[i] = u < 0.3 ? 7 : 200; break;
        default: symbols[i] = u < 0.999 ? 3 : (uint8_t)(uniform01() * 256); break;
        }
    }
}

static double entropy_bits(const uint8_t *symbols, size_t n)
{
    uint64_t counts[256] = {0};
    for (size_t i = 0; i < n; i++) counts[symbols[i]]++;
    double h = 0;
    for (int s = 0; s < 256; s++)
        if (counts[s]) { double p = (double)counts[s] / (double)n; h -= p * log2(p); }
    return h;
}

/* Times the block coder on the first RANS_BLOCK_SYMBOLS-sized blocks of symbols. */
static void bench_blocks(const uint8_t *symbols, size_t n, int reps)
{
    uint32_t counts[256] = {0};
    for (size_t i = 0; i < n; i++) counts[symbols[i]]++;
    int present = 0;
    for (int s = 0; s < 256; s++) present += counts[s] != 0;
    if (present < 2) return;
    rans_table_t table;
    rans_normalize(counts, &table);
    rans_encoder_table_t *encoder = malloc(sizeof *encoder);
    rans_decoder_table_t *decoder = malloc(sizeof *decoder);
    rans_encoder_table_init(encoder, &table);
    rans_decoder_table_init(decoder, &table);
    size_t blocks = (n + RANS_BLOCK_SYMBOLS - 1) / RANS_BLOCK_SYMBOLS;
    size_t block_capacity = rans_block_bound(RANS_BLOCK_SYMBOLS);
    uint8_t *coded = malloc(blocks * block_capacity);
    size_t *sizes = malloc(blocks * sizeof *sizes);
    uint8_t *scratch = malloc(2 * RANS_BLOCK_SYMBOLS + 2);
    uint8_t *decoded = malloc(n);
    double *times[4];
    for (int k = 0; k < 4; k++) times[k] = malloc((size_t)reps * sizeof(double));
    int identical = 1;
    for (int r = 0; r < reps; r++) {
        for (int variant = 0; variant < 2; variant++) {
            double t = now();
            for (size_t b = 0; b < blocks; b++) {
                size_t begin = b * RANS_BLOCK_SYMBOLS, count = n - begin < RANS_BLOCK_SYMBOLS ? n - begin : RANS_BLOCK_SYMBOLS;
                sizes[b] = variant ? rans_encode_block(encoder, symbols + begin, count, coded + b * block_capacity, block_capacity, scratch)
                                   : rans_encode_block_portable(encoder, symbols + begin, count, coded + b * block_capacity, block_capacity, scratch);
            }
            times[variant][r] = now() - t;
        }
        for (int variant = 0; variant < 2; variant++) {
            double t = now();
            for (size_t b = 0; b < blocks; b++) {
                size_t begin = b * RANS_BLOCK_SYMBOLS, count = n - begin < RANS_BLOCK_SYMBOLS ? n - begin : RANS_BLOCK_SYMBOLS;
                saraphis_status_t status = variant ? rans_decode_block(decoder, coded + b * block_capacity, sizes[b], decoded + begin, count)
                                                   : rans_decode_block_portable(decoder, coded + b * block_capacity, sizes[b], decoded + begin, count);
                if (status != SARAPHIS_OK) identical = 0;
            }
            times[2 + variant][r] = now() - t;
        }
        if (memcmp(decoded, symbols, n)) identical = 0;
    }
    timing_t enc_p = summarize(times[0], reps, n), enc_v = summarize(times[1], reps, n);
    timing_t dec_p = summarize(times[2], reps, n), dec_v = summarize(times[3], reps, n);
    printf("  block encode  portable %6.3f (median %6.3f)   %s %6.3f (median %6.3f)\n", enc_p.min, enc_p.median,
           rans_have_avx2() ? "avx2" : "same", enc_v.min, enc_v.median);
    printf("  block decode  portable %6.3f (median %6.3f)   %s %6.3f (median %6.3f)%s\n", dec_p.min, dec_p.median,
           rans_have_avx2() ? "avx2" : "same", dec_v.min, dec_v.median, identical ? "" : "   ROUND TRIP FAILED");
    double *normalize_times = times[0];
    for (int r = 0; r < reps; r++) {
        double t = now();
        rans_normalize(counts, &table);
        normalize_times[r] = now() - t;
    }
    timing_t norm = summarize(normalize_times, reps, n);
    printf("  rans_normalize %6.4f ns/symbol (%.2f us)\n", norm.min, norm.min * (double)n * 1e-3);
    /* A stream's whole plan from its histogram (what the GPU encoder's host runs for every chunk
     * stream, on its critical path): the raw / constant / rANS choice, the table and its bytes. */
    for (int r = 0; r < reps; r++) {
        entropy_plan_t plan;
        double t = now();
        entropy_plan(counts, n, entropy_lossless_min_gain(n), &plan);
        normalize_times[r] = now() - t;
    }
    timing_t planned = summarize(normalize_times, reps, n);
    printf("  entropy_plan   %6.4f ns/symbol (%.2f us, median %.2f us)\n", planned.min, planned.min * (double)n * 1e-3,
           planned.median * (double)n * 1e-3);
    for (int k = 0; k < 4; k++) free(times[k]);
    free(encoder); free(decoder); free(coded); free(sizes); free(scratch); free(decoded);
}

static void bench_streams(const uint8_t *symbols, size_t n, int reps, const char *label)
{
    uint8_t *stream = malloc(entropy_bound(n));
    uint8_t *decoded = malloc(n);
    double *enc = malloc((size_t)reps * sizeof(double)), *dec = malloc((size_t)reps * sizeof(double));
    size_t written = 0, consumed = 0;
    int ok = 1;
    for (int r = 0; r < reps; r++) {
        double t = now();
        if (entropy_encode(symbols, n, stream, entropy_bound(n), &written) != SARAPHIS_OK) ok = 0;
        enc[r] = now() - t;
        t = now();
        if (entropy_decode(stream, written, decoded, n, &consumed) != SARAPHIS_OK) ok = 0;
        dec[r] = now() - t;
    }
    if (memcmp(decoded, symbols, n)) ok = 0;
    timing_t e = summarize(enc, reps, n), d = summarize(dec, reps, n);
    printf("  entropy_encode %-8s %6.3f (median %6.3f)   entropy_decode %6.3f (median %6.3f)   %zu bytes%s\n",
           label, e.min, e.median, d.min, d.median, written, ok ? "" : "   ROUND TRIP FAILED");
    free(stream); free(decoded); free(enc); free(dec);
}

int main(int argc, char **argv)
{
    size_t n = 128 * 1024;
    int reps = 200, streams_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--symbols") && i + 1 < argc) n = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--streams-only")) streams_only = 1;
    }
    if (n == 0 || reps < 1) { fprintf(stderr, "bench_rans: bad arguments\n"); return 2; }
    uint8_t *symbols = malloc(n);
    if (!streams_only)
        printf("bench_rans: %zu symbols, %d reps, ns/symbol (min over reps), AVX2 %s\n", n, reps,
               rans_have_avx2() ? "on" : "off");
    for (int kind = 0; kind < DISTRIBUTIONS; kind++) {
        rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)kind;
        generate(kind, symbols, n);
        if (streams_only) {
            printf("%s (%.2f bits/symbol)\n", distribution_names[kind], entropy_bits(symbols, n));
            bench_streams(symbols, n, reps, "portable");
            continue;
        }
        printf("%s (%.2f bits/symbol)\n", distribution_names[kind], entropy_bits(symbols, n));
        bench_blocks(symbols, n, reps);
        bench_streams(symbols, n, reps, rans_have_avx2() ? "avx2" : "portable");
    }
    free(symbols);
    fflush(stdout);
    if (!streams_only && rans_have_avx2()) {
        /* The portable stream figures, from a second process with SIMD switched off. */
        printf("\nportable entropy streams (SARAPHIS_NO_SIMD=1, same data):\n");
        fflush(stdout);
        char n_text[32], reps_text[32];
        snprintf(n_text, sizeof n_text, "%zu", n);
        snprintf(reps_text, sizeof reps_text, "%d", reps);
        setenv("SARAPHIS_NO_SIMD", "1", 1);
        execl("/proc/self/exe", argv[0], "--streams-only", "--symbols", n_text, "--reps", reps_text, (char *)NULL);
        perror("bench_rans: re-exec");
    }
    return 0;
}
