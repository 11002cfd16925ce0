/* Round trips of the tensor codec (frame API) on generated, adversarial and structured data in
 * every dtype, for several chunk sizes and thread counts; corruption of any byte is detected. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/bits.h"
#include "saraphis.h"
#include "testing.h"

static uint16_t float_to_bf16(float f)
{
    uint32_t u; memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

static double gaussian(unsigned long long *rng)
{
    double u1 = ((double)(test_random(rng) >> 11) + 1) / 9007199254740993.0;
    double u2 = (double)(test_random(rng) >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Compresses and decompresses with the given settings; returns compressed size or 0. */
static size_t round_trip(saraphis_dtype_t dtype, const void *data, size_t size, size_t chunk_bytes, unsigned threads)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, (int64_t)chunk_bytes) == SARAPHIS_OK);
    CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, threads) == SARAPHIS_OK);
    size_t capacity = saraphis_compress_bound(size, chunk_bytes);
    uint8_t *compressed = malloc(capacity);
    uint8_t *restored = malloc(size + 1);
    size_t compressed_size = 0, restored_size = 0;
    saraphis_status_t status = saraphis_compress(ctx, dtype, data, size, compressed, capacity, &compressed_size);
    CHECK_MSG(status == SARAPHIS_OK, "compress %s: %s", saraphis_dtype_name(dtype), saraphis_last_error());
    if (status == SARAPHIS_OK) {
        status = saraphis_decompress(ctx, compressed, compressed_size, restored, size + 1, &restored_size);
        CHECK_MSG(status == SARAPHIS_OK, "decompress %s: %s", saraphis_dtype_name(dtype), saraphis_last_error());
        CHECK(restored_size == size);
        CHECK_MSG(memcmp(restored, data, size) == 0, "round trip of %zu %s bytes differs", size, saraphis_dtype_name(dtype));
    }
    free(compressed);
    free(restored);
    saraphis_ctx_free(ctx);
    return status == SARAPHIS_OK ? compressed_size : 0;
}

static void test_all_dtypes_random_bits(void)
{
    unsigned long long rng = 1;
    size_t size = 300000 - 300000 % 8;
    uint8_t *data = malloc(size);
    for (size_t i = 0; i < size; i++) data[i] = (uint8_t)test_random(&rng);
    for (int dtype = 1; dtype < SARAPHIS_DTYPE_COUNT_; dtype++) {
        size_t compressed = round_trip((saraphis_dtype_t)dtype, data, size, 65536, 1);
        /* Random bits are incompressible: the format must not expand them by more than a little. */
        CHECK_MSG(compressed <= size + size / 100 + 256, "%s random expands to %zu", saraphis_dtype_name(dtype), compressed);
    }
    free(data);
}

static void test_float_specials(void)
{
    /* Every special class, mixed: NaN payloads, signed zeros, subnormals, infinities, extremes. */
    static const uint32_t f32_specials[] = {0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001,
                                            0x7f800001, 0x7fbfffff, 0x00000001, 0x807fffff, 0x00400000, 0x7f7fffff,
                                            0xff7fffff, 0x3f800000, 0x00800000, 0x80800000};
    static const uint16_t b16_specials[] = {0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x7f81, 0x0001, 0x807f, 0x7f7f, 0x3f80, 0x0080};
    static const uint16_t f16_specials[] = {0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfe01, 0x7c01, 0x0001, 0x83ff, 0x7bff, 0x3c00, 0x0400};
    static const uint64_t f64_specials[] = {0, 0x8000000000000000ULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL,
                                            0x7ff8000000000000ULL, 0xfff8000000000001ULL, 0x7ff0000000000001ULL, 1,
                                            0x800fffffffffffffULL, 0x7fefffffffffffffULL, 0x3ff0000000000000ULL, 0x0010000000000000ULL};
    unsigned long long rng = 7;
    size_t n = 100003;
    uint32_t *f32 = malloc(n * 4); uint16_t *b16 = malloc(n * 2), *f16 = malloc(n * 2); uint64_t *f64 = malloc(n * 8);
    for (size_t i = 0; i < n; i++) {
        unsigned long long r = test_random(&rng);
        f32[i] = f32_specials[r % 16];
        b16[i] = b16_specials[r % 12];
        f16[i] = f16_specials[r % 12];
        f64[i] = f64_specials[r % 12];
    }
    for (unsigned threads = 1; threads <= 3; threads += 2) {
        round_trip(SARAPHIS_DTYPE_F32, f32, n * 4, 4096, threads);
        round_trip(SARAPHIS_DTYPE_BF16, b16, n * 2, 4096, threads);
        round_trip(SARAPHIS_DTYPE_F16, f16, n * 2, 4096, threads);
        round_trip(SARAPHIS_DTYPE_F64, f64, n * 8, 4096, threads);
    }
    free(f32); free(b16); free(f16); free(f64);
}

static void test_structured(void)
{
    unsigned long long rng = 3;
    size_t n = 1 << 20;
    float *weights = malloc(n * 4);
    uint16_t *bf = malloc(n * 2);
    float *holding_bf16 = malloc(n * 4);
    double *f64 = malloc(n * 8);
    for (size_t i = 0; i < n; i++) {
        weights[i] = (float)(gaussian(&rng) * 0.02);
        bf[i] = float_to_bf16(weights[i]);
        uint32_t u = (uint32_t)bf[i] << 16;
        memcpy(&holding_bf16[i], &u, 4);
        /* A wide exponent range forces the raw exponent path of F64. */
        f64[i] = (i % 3 == 0) ? gaussian(&rng) * pow(2.0, (double)(int)(test_random(&rng) % 1800) - 900) : gaussian(&rng);
    }
    size_t c_f32 = round_trip(SARAPHIS_DTYPE_F32, weights, n * 4, 262144, 2);
    size_t c_bf = round_trip(SARAPHIS_DTYPE_BF16, bf, n * 2, 262144, 2);
    size_t c_hold = round_trip(SARAPHIS_DTYPE_F32, holding_bf16, n * 4, 262144, 2);
    round_trip(SARAPHIS_DTYPE_F64, f64, n * 8, 1 << 20, 2);
    CHECK_MSG(c_f32 < n * 4 * 0.9, "gaussian f32 ratio too low: %zu", c_f32);
    CHECK_MSG(c_bf < n * 2 * 0.75, "gaussian bf16 ratio too low: %zu", c_bf);
    CHECK_MSG(c_hold * 2 <= n * 4, "f32 holding bf16 below 2x: %zu", c_hold);
    /* Same input, any thread count: identical bytes. */
    saraphis_ctx_t *one = saraphis_ctx_create(), *many = saraphis_ctx_create();
    saraphis_ctx_set_param(many, SARAPHIS_PARAM_THREADS, 4);
    size_t cap = saraphis_compress_bound(n * 2, 0);
    uint8_t *a = malloc(cap), *b = malloc(cap);
    size_t sa = 0, sb = 0;
    CHECK(saraphis_compress(one, SARAPHIS_DTYPE_BF16, bf, n * 2, a, cap, &sa) == SARAPHIS_OK);
    CHECK(saraphis_compress(many, SARAPHIS_DTYPE_BF16, bf, n * 2, b, cap, &sb) == SARAPHIS_OK);
    CHECK(sa == sb && memcmp(a, b, sa) == 0);
    free(a); free(b);
    saraphis_ctx_free(one); saraphis_ctx_free(many);
    free(weights); free(bf); free(holding_bf16); free(f64);
}

static void test_edge_sizes(void)
{
    unsigned long long rng = 11;
    uint8_t data[4096 * 3];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(test_random(&rng) & 0x3f);
    size_t sizes[] = {0, 8, 16, 24, 64, 4096, 4104, 8192, 4096 * 3};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int dtype = 1; dtype < SARAPHIS_DTYPE_COUNT_; dtype++) round_trip((saraphis_dtype_t)dtype, data, sizes[s], 4096, 1);
    /* Constant and all-zero tensors compress to almost nothing. */
    memset(data, 0, sizeof data);
    size_t zero = round_trip(SARAPHIS_DTYPE_F32, data, sizeof data, 4096, 1);
    CHECK_MSG(zero < 200, "all-zero f32 takes %zu bytes", zero);
}

static void test_corruption_detected(void)
{
    unsigned long long rng = 5;
    size_t n = 20000;
    uint16_t *bf = malloc(n * 2);
    for (size_t i = 0; i < n; i++) bf[i] = float_to_bf16((float)gaussian(&rng));
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 8192);
    size_t cap = saraphis_compress_bound(n * 2, 8192), size = 0, out_size = 0;
    uint8_t *frame = malloc(cap), *out = malloc(n * 2);
    CHECK(saraphis_compress(ctx, SARAPHIS_DTYPE_BF16, bf, n * 2, frame, cap, &size) == SARAPHIS_OK);
    size_t undetected = 0;
    for (size_t pos = 0; pos < size; pos++) {
        frame[pos] ^= 0x10;
        if (saraphis_decompress(ctx, frame, size, out, n * 2, &out_size) == SARAPHIS_OK) undetected++;
        frame[pos] ^= 0x10;
    }
    CHECK_MSG(undetected == 0, "%zu flipped bytes went undetected", undetected);
    for (size_t cut = 0; cut < size; cut += 97)
        CHECK(saraphis_decompress(ctx, frame, cut, out, n * 2, &out_size) != SARAPHIS_OK);
    CHECK(saraphis_decompress(ctx, frame, size, out, n * 2 - 1, &out_size) == SARAPHIS_ERROR_BUFFER_TOO_SMALL);
    free(frame); free(out); free(bf);
    saraphis_ctx_free(ctx);
}

/* SARAPHIS_PARAM_VERIFY_RECORDS 0: a record with a content checksum is verified by it alone. Every
 * flipped byte is still caught, except in a record's checksum field (which is then not read); a
 * frame written without content checksums keeps its record checksums verified; a progressive
 * decode to fewer planes always verifies them. */
static void test_verify_records_off(void)
{
    int64_t lower = 0, upper = 0, value = 0;
    CHECK(saraphis_param_bounds(SARAPHIS_PARAM_VERIFY_RECORDS, &lower, &upper) == SARAPHIS_OK && lower == 0 && upper == 1);
    unsigned long long rng = 7;
    size_t n = 20000;
    uint16_t *bf = malloc(n * 2);
    for (size_t i = 0; i < n; i++) bf[i] = float_to_bf16((float)gaussian(&rng));
    for (int content = 1; content >= 0; content--) {
        saraphis_ctx_t *ctx = saraphis_ctx_create();
        CHECK(saraphis_ctx_get_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, &value) == SARAPHIS_OK && value == 1);
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 8192);
        saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, content);
        size_t cap = saraphis_compress_bound(n * 2, 8192), size = 0, out_size = 0;
        uint8_t *frame = malloc(cap), *out = malloc(n * 2);
        CHECK(saraphis_compress(ctx, SARAPHIS_DTYPE_BF16, bf, n * 2, frame, cap, &size) == SARAPHIS_OK);
        CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, 2) == SARAPHIS_ERROR_INVALID_ARGUMENT);
        CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, 0) == SARAPHIS_OK);
        CHECK(saraphis_decompress(ctx, frame, size, out, n * 2, &out_size) == SARAPHIS_OK && memcmp(out, bf, n * 2) == 0);
        /* No flip gives a wrong output. With content checksums a flip may pass only where the
         * output stays exact: every flip in a record's checksum field (not read now) does, and so
         * may a flip in a byte the decoder ignores (the exponent width of an entropy-coded
         * exponent channel); without them every flip fails, as before. */
        uint32_t chunks = load_le32(frame + 12);
        uint8_t *in_checksum = calloc(size, 1);
        for (size_t c = 0, at = 32 + 4 * (size_t)chunks; c < chunks; at += load_le32(frame + 32 + 4 * c), c++) memset(in_checksum + at, 1, 8);
        size_t wrong = 0, checksum_passed = 0;
        for (size_t pos = 0; pos < size; pos++) {
            frame[pos] ^= 0x10;
            memset(out, 0, n * 2);
            if (saraphis_decompress(ctx, frame, size, out, n * 2, &out_size) == SARAPHIS_OK) {
                if (!content || memcmp(out, bf, n * 2) != 0) wrong++;
                checksum_passed += in_checksum[pos];
            }
            frame[pos] ^= 0x10;
        }
        CHECK_MSG(wrong == 0, "content %d: %zu flips decoded to a wrong output or passed unchecked", content, wrong);
        CHECK(checksum_passed == (content ? 8 * (size_t)chunks : 0));
        /* A flipped payload byte of the first record: CHECKSUM or CORRUPT, with the chunk named. */
        size_t first = 32 + 4 * (size_t)chunks;
        frame[first + 40] ^= 0x01;
        saraphis_status_t status = saraphis_decompress(ctx, frame, size, out, n * 2, &out_size);
        CHECK(status != SARAPHIS_OK && strstr(saraphis_last_error(), "chunk 0") != NULL);
        frame[first + 40] ^= 0x01;
        free(in_checksum);
        free(frame);
        free(out);
        saraphis_ctx_free(ctx);
    }
    free(bf);
}

static void test_bad_arguments(void)
{
    saraphis_ctx_t *ctx = saraphis_ctx_create();
    CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, 100) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(saraphis_last_error(), "chunk_bytes") != NULL);
    CHECK(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, -1) == SARAPHIS_ERROR_INVALID_ARGUMENT);
    uint8_t buf[64], out[256];
    size_t size;
    CHECK(saraphis_compress(ctx, SARAPHIS_DTYPE_F32, buf, 6, out, sizeof out, &size) == SARAPHIS_ERROR_DTYPE);
    CHECK(saraphis_compress(ctx, (saraphis_dtype_t)99, buf, 8, out, sizeof out, &size) == SARAPHIS_ERROR_DTYPE);
    CHECK(saraphis_decompress(ctx, buf, 3, out, sizeof out, &size) == SARAPHIS_ERROR_TRUNCATED);
    saraphis_ctx_free(ctx);
    saraphis_ctx_free(NULL);
}

int main(void)
{
    test_all_dtypes_random_bits();
    test_float_specials();
    test_structured();
    test_edge_sizes();
    test_corruption_detected();
    test_verify_records_off();
    test_bad_arguments();
    return TEST_SUMMARY("lossless");
}
