/* The p-adic error-bounded codec for one chunk of floats (docs/padic.md is its specification).
 *
 * Each value x is quantised to an integer q on the lattice of step 2*eps; |q| is written in base p
 * with `precision` digits (a truncated p-adic integer) and the digits are grouped into planes,
 * most significant first, each plane entropy-coded (entropy.h) in contexts given by the digits
 * above it. A sign is stored once per element, with the plane where its magnitude becomes
 * non-zero. The invariant that makes the bound a guarantee: the encoder reconstructs every value
 * exactly as the decoder will, x' = dtype((double)q * (2*eps)), rounded to nearest-even and
 * saturated to the dtype's finite range, and keeps q only when |x - x'| <= eps (and the lattice
 * point itself is within eps); every other element (NaN, Inf, out of range, a miss) is an escape
 * whose bytes are stored exactly. Escapes sit before the planes, so the bytes of the top k planes
 * are a prefix of the payload, and each plane carries its own checksum.
 *
 * Dtypes: F32, F64, F16, BF16; every other dtype is refused with SARAPHIS_ERROR_DTYPE.
 * The library assumes the default floating-point environment (round to nearest).
 * Thread-safety: every function is thread-safe; a codec_scratch_t belongs to one thread at a time. */
#ifndef SARAPHIS_CODEC_PADIC_H
#define SARAPHIS_CODEC_PADIC_H

#include <stddef.h>
#include <stdint.h>

#include "codec/lossless.h"
#include "saraphis.h"

/* Largest accepted prime: every digit is one byte symbol of the entropy coder. */
#define PADIC_PRIME_MAX 251u
/* Lattice magnitudes |q| are below 2^PADIC_MAGNITUDE_BITS; larger ones are escapes. This keeps
 * every product q*step within 2^-11 eps of exact in double arithmetic (the progressive bound
 * relies on it) and every q exact in a double. */
#define PADIC_MAGNITUDE_BITS 40u
/* Largest precision over all primes (p = 2: magnitudes below 2^40 have 40 binary digits). */
#define PADIC_MAX_PLANES 40u
/* Most contexts a dense plane may use (docs/padic.md, "Planes"). */
#define PADIC_MAX_CONTEXTS 16u
/* Payload format version written in byte 0. */
#define PADIC_FORMAT_VERSION 1u

enum { PADIC_ABSOLUTE = 0, PADIC_RELATIVE_RANGE = 1, PADIC_RELATIVE_STD = 2 };

typedef struct {
    double eps;         /* absolute bound, > 0, a normal double with 2*eps finite */
    unsigned prime;     /* a prime in [2, PADIC_PRIME_MAX] */
    unsigned precision; /* base-p digits per magnitude, 1 .. padic_max_precision(prime) */
} padic_params_t;

/* The largest precision for a prime: the largest P with prime^(P-1) < 2^PADIC_MAGNITUDE_BITS
 * (a digit beyond it could never be non-zero). 0 when prime is not in [2, PADIC_PRIME_MAX]. */
unsigned padic_max_precision(unsigned prime);

/* Non-prime or out-of-range prime, eps <= 0 / not finite / subnormal, precision 0 or too large:
 * SARAPHIS_ERROR_INVALID_ARGUMENT with a message naming the parameter. */
saraphis_status_t padic_validate(const padic_params_t *params);

/* Turns a bound in one of the PADIC_* modes into the absolute eps, over the whole tensor:
 * ABSOLUTE: eps = bound; RELATIVE_RANGE: bound * (max - min); RELATIVE_STD: bound * population
 * standard deviation; statistics over the finite elements, in double. When the range or standard
 * deviation is 0 or there is no finite element, *eps = 0 and SARAPHIS_OK: only an exact copy
 * meets such a bound, and the caller stores the tensor losslessly. A bound that is not finite and
 * > 0, or an unknown mode: SARAPHIS_ERROR_INVALID_ARGUMENT; a non-float dtype: SARAPHIS_ERROR_DTYPE. */
saraphis_status_t padic_resolve_bound(saraphis_dtype_t dtype, const void *data, size_t bytes, int mode,
                                      double bound, double *eps);

/* The same statistics over a tensor seen in batches (a file read piece by piece), in element
 * order, so the eps equals padic_resolve_bound's on the whole tensor bit for bit:
 * init; moments over every batch; for RELATIVE_STD squares over every batch again; then eps. */
typedef struct {
    double lo, hi, sum, squares;
    uint64_t finite;
} padic_scan_t;

void padic_scan_init(padic_scan_t *scan);
saraphis_status_t padic_scan_moments(padic_scan_t *scan, saraphis_dtype_t dtype, const void *data, size_t bytes);
saraphis_status_t padic_scan_squares(padic_scan_t *scan, saraphis_dtype_t dtype, const void *data, size_t bytes);
saraphis_status_t padic_scan_eps(const padic_scan_t *scan, int mode, double bound, double *eps);

/* The smallest precision whose digits hold the lattice magnitude of every finite element of the
 * tensor at params->eps and params->prime (elements beyond 2^PADIC_MAGNITUDE_BITS lattice steps
 * are escapes whatever the precision, and do not count). At least 1. */
saraphis_status_t padic_required_precision(const padic_params_t *params, saraphis_dtype_t dtype,
                                           const void *data, size_t bytes, unsigned *precision);

/* SARAPHIS_ERROR_INVALID_ARGUMENT naming `precision` (and the precision needed) when
 * params->precision is below padic_required_precision for this tensor. */
saraphis_status_t padic_check_precision(const padic_params_t *params, saraphis_dtype_t dtype,
                                        const void *data, size_t bytes);

/* Largest payload padic_encode_chunk writes for raw_bytes of dtype (0 for a dtype it refuses). */
size_t padic_chunk_bound(size_t raw_bytes, saraphis_dtype_t dtype, const padic_params_t *params);

typedef struct {
    double max_error; /* largest |x - x'| over the chunk (escapes count 0) */
    uint64_t escapes; /* elements stored exactly */
} padic_chunk_stats_t;

/* Encodes raw_bytes (a whole number of dtype elements, at most 2^32 - 1 of them) into dst. stats
 * may be NULL. The output depends only on the input and the parameters. The payload does not
 * include the chunk record's method byte. */
saraphis_status_t padic_encode_chunk(const padic_params_t *params, saraphis_dtype_t dtype, const uint8_t *src,
                                     size_t raw_bytes, uint8_t *dst, size_t capacity, size_t *written,
                                     codec_scratch_t *scratch, padic_chunk_stats_t *stats);

/* Payload bytes a reader needs to decode the top `planes` planes (0 or >= precision: all of
 * them): the header, plane table, escapes and those planes. 0 when `available` bytes do not yet
 * hold the header and plane table (fetch at least 24 + 12 * 40 bytes first) or they are invalid. */
size_t padic_prefix_bytes(const uint8_t *payload, size_t available, unsigned planes);

/* Decodes into dst (raw_bytes, the dtype the chunk was written with). planes = 0: every plane;
 * otherwise only the top `planes` (src may then hold just padic_prefix_bytes(.., planes) bytes).
 * *bound_out (may be NULL) receives the bound every finite element then meets:
 * padic_progressive_bound(params of the chunk, planes). Escapes are restored bit-exactly in
 * every case. Memory-safe on any input; corrupt payloads give SARAPHIS_ERROR_CORRUPT, _TRUNCATED
 * or _CHECKSUM (checksums are skipped in fuzzing builds). */
saraphis_status_t padic_decode_chunk(saraphis_dtype_t dtype, const uint8_t *src, size_t size, uint8_t *dst,
                                     size_t raw_bytes, unsigned planes, codec_scratch_t *scratch,
                                     double *bound_out);

/* padic_encode_chunk and padic_decode_chunk with this codec's hand-written SIMD paths off (the
 * entropy coder still picks its own): the portable reference that tests compare the fast paths
 * with. Same bytes and same output as the functions above, only slower. */
saraphis_status_t padic_encode_chunk_portable(const padic_params_t *params, saraphis_dtype_t dtype, const uint8_t *src,
                                              size_t raw_bytes, uint8_t *dst, size_t capacity, size_t *written,
                                              codec_scratch_t *scratch, padic_chunk_stats_t *stats);
saraphis_status_t padic_decode_chunk_portable(saraphis_dtype_t dtype, const uint8_t *src, size_t size, uint8_t *dst,
                                              size_t raw_bytes, unsigned planes, codec_scratch_t *scratch,
                                              double *bound_out);

/* The documented bound after decoding `planes` of params->precision planes: eps when planes is 0
 * or >= precision, else (2 * prime^(precision - planes) + 3) * eps. */
double padic_progressive_bound(const padic_params_t *params, unsigned planes);

/* What a payload's header says, without decoding (for `saraphis info`). */
typedef struct {
    padic_params_t params;
    saraphis_dtype_t dtype;
    uint32_t elements;
    uint32_t escapes;
    size_t head_bytes;                      /* header, plane table, escapes, head checksum */
    uint32_t plane_bytes[PADIC_MAX_PLANES]; /* most significant first; precision entries */
} padic_info_t;

saraphis_status_t padic_payload_info(const uint8_t *payload, size_t available, padic_info_t *info);

/* ---- For the GPU encoder (gpu/gpu_padic_encode.cu), which gathers a plane's statistics on the
 * device and makes the CPU encoder's choices through this very code. ---------------------------- */

typedef struct {
    int form;          /* the plane's form byte: 0 zero, 1 dense, 2 sparse */
    unsigned contexts; /* dense: the context count C */
} padic_plane_choice_t;

/* The form and context count the encoder gives a plane (docs/padic.md, "Planes") from hist[c][d]
 * (digit d of the elements whose context min(prefix, 15) is c; rows above max_context all zero),
 * the number of non-zero digits, the largest context present and positions_bytes, the bytes of
 * the varint positions of its non-zero digits (a sparse plane's position list). */
void padic_plane_choose(unsigned prime, size_t n, const uint32_t hist[PADIC_MAX_CONTEXTS][256], size_t nonzero, unsigned max_context,
                        size_t positions_bytes, padic_plane_choice_t *choice);

#endif
