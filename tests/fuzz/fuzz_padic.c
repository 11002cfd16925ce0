/* Fuzz target: the p-adic chunk decoder on arbitrary bytes, and a round trip that must keep its
 * bound. Byte 0 chooses the mode and dtype, byte 1 the plane count, bytes 2-3 the element count.
 *   mode 0 (byte 0 < 128): the rest is a payload; decode must fail cleanly or succeed, and
 *          padic_prefix_bytes / padic_payload_info must stay inside it.
 *   mode 1: the rest is raw elements; encode with eps and prime from bytes 1-3, decode in full and
 *          at every plane count; every finite element must be within the reported bound and every
 *          other element bit-identical, else abort. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/padic.h"

static const saraphis_dtype_t dtypes[4] = {SARAPHIS_DTYPE_F32, SARAPHIS_DTYPE_F64, SARAPHIS_DTYPE_F16, SARAPHIS_DTYPE_BF16};
static const unsigned primes[8] = {2, 3, 5, 7, 13, 127, 241, 251};

static double value_of(saraphis_dtype_t dtype, const uint8_t *p)
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

static void round_trip(const uint8_t *data, size_t size)
{
    saraphis_dtype_t dtype = dtypes[data[0] & 3];
    size_t element = saraphis_dtype_size(dtype), n = (size - 4) / element, raw = n * element;
    const uint8_t *src = data + 4;
    padic_params_t params = {ldexp(1.0 + data[2] / 256.0, (int)(data[1] % 64) - 40), primes[data[3] & 7], 1};
    if (padic_required_precision(&params, dtype, src, raw, &params.precision) != SARAPHIS_OK) abort();
    if (data[3] & 8 && params.precision > 1) params.precision--; /* too small: misfits become escapes */
    size_t capacity = padic_chunk_bound(raw, dtype, &params), written = 0;
    uint8_t *payload = malloc(capacity), *decoded = malloc(raw + 1);
    codec_scratch_t scratch;
    memset(&scratch, 0, sizeof scratch);
    if (padic_encode_chunk(&params, dtype, src, raw, payload, capacity, &written, &scratch, NULL) != SARAPHIS_OK) abort();
    for (unsigned planes = 0; planes <= params.precision; planes++) {
        size_t available = planes ? padic_prefix_bytes(payload, written, planes) : written;
        double bound = 0;
        if (available == 0 || available > written) abort();
        if (padic_decode_chunk(dtype, payload, available, decoded, raw, planes, &scratch, &bound) != SARAPHIS_OK) abort();
        for (size_t i = 0; i < n; i++) {
            double x = value_of(dtype, src + i * element), y = value_of(dtype, decoded + i * element);
            if (!isfinite(x) ? memcmp(src + i * element, decoded + i * element, element) != 0 : !(fabs(x - y) <= bound)) abort();
        }
    }
    codec_scratch_release(&scratch);
    free(payload);
    free(decoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    if (data[0] & 0x80) {
        round_trip(data, size);
        return 0;
    }
    saraphis_dtype_t dtype = dtypes[data[0] & 3];
    unsigned planes = data[1] % 8;
    size_t n = (size_t)data[2] | (size_t)data[3] << 8;
    size_t raw = n * saraphis_dtype_size(dtype);
    uint8_t *decoded = malloc(raw + 1);
    codec_scratch_t scratch;
    memset(&scratch, 0, sizeof scratch);
    double bound;
    padic_decode_chunk(dtype, data + 4, size - 4, decoded, raw, planes, &scratch, &bound);
    size_t prefix = padic_prefix_bytes(data + 4, size - 4, planes);
    (void)prefix;
    padic_info_t info;
    padic_payload_info(data + 4, size - 4, &info);
    codec_scratch_release(&scratch);
    free(decoded);
    return 0;
}
