/* Error reporting: a status code plus a per-thread message naming what failed and where.
 * Library code never prints; it records the message here and returns the status upward. */
#ifndef SARAPHIS_COMMON_ERROR_H
#define SARAPHIS_COMMON_ERROR_H

#include "saraphis.h"

#if defined(__GNUC__)
#define SPS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SPS_PRINTF(a, b)
#endif

/* Records a formatted message for this thread and returns status, so callers write
 * `return error_set(SARAPHIS_ERROR_CORRUPT, "tensor '%s' chunk %u: ...", ...);` */
saraphis_status_t error_set(saraphis_status_t status, const char *format, ...) SPS_PRINTF(2, 3);
/* Prepends context ("reading model.sps: ") to this thread's message, keeping the status. */
saraphis_status_t error_wrap(saraphis_status_t status, const char *format, ...) SPS_PRINTF(2, 3);
void error_clear(void);

/* Fuzzing builds skip checksum comparisons (as zstd and others do) so that the fuzzer reaches
 * the parsers and decoders behind them; never defined in a normal build. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define SARAPHIS_FUZZING 1
#else
#define SARAPHIS_FUZZING 0
#endif

#define SPS_TRY(expr)                                   \
    do {                                                \
        saraphis_status_t sps_try_status_ = (expr);     \
        if (sps_try_status_ != SARAPHIS_OK) return sps_try_status_; \
    } while (0)

#endif
