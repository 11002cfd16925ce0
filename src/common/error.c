/* Per-thread error messages. Thread-local storage keeps concurrent callers from overwriting
 * each other's messages without any lock. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ERROR_MESSAGE_CAPACITY 1024
static _Thread_local char error_message[ERROR_MESSAGE_CAPACITY];

saraphis_status_t error_set(saraphis_status_t status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(error_message, sizeof error_message, format, args);
    va_end(args);
    return status;
}

saraphis_status_t error_wrap(saraphis_status_t status, const char *format, ...)
{
    char previous[ERROR_MESSAGE_CAPACITY];
    memcpy(previous, error_message, sizeof previous);
    va_list args;
    va_start(args, format);
    int prefix_length = vsnprintf(error_message, sizeof error_message, format, args);
    va_end(args);
    if (prefix_length >= 0 && (size_t)prefix_length < sizeof error_message)
        snprintf(error_message + prefix_length, sizeof error_message - (size_t)prefix_length, "%s",
                 previous);
    return status;
}

void error_clear(void) { error_message[0] = '\0'; }

const char *saraphis_last_error(void) { return error_message; }

const char *saraphis_status_name(saraphis_status_t status)
{
    switch (status) {
    case SARAPHIS_OK: return "ok";
    case SARAPHIS_ERROR_INVALID_ARGUMENT: return "invalid-argument";
    case SARAPHIS_ERROR_IO: return "io";
    case SARAPHIS_ERROR_OUT_OF_MEMORY: return "out-of-memory";
    case SARAPHIS_ERROR_TRUNCATED: return "truncated";
    case SARAPHIS_ERROR_CORRUPT: return "corrupt";
    case SARAPHIS_ERROR_CHECKSUM: return "checksum";
    case SARAPHIS_ERROR_UNSUPPORTED: return "unsupported";
    case SARAPHIS_ERROR_BAD_INPUT_FORMAT: return "bad-input-format";
    case SARAPHIS_ERROR_DTYPE: return "dtype";
    case SARAPHIS_ERROR_BUFFER_TOO_SMALL: return "buffer-too-small";
    case SARAPHIS_ERROR_LIMIT: return "limit";
    case SARAPHIS_ERROR_NOT_FOUND: return "not-found";
    case SARAPHIS_ERROR_THREAD: return "thread";
    case SARAPHIS_ERROR_GPU: return "gpu";
    case SARAPHIS_ERROR_STATE: return "state";
    }
    return "unknown";
}

unsigned saraphis_version_number(void) { return SARAPHIS_VERSION_NUMBER; }

const char *saraphis_version_string(void)
{
#define SPS_STR2(x) #x
#define SPS_STR(x) SPS_STR2(x)
    return SPS_STR(SARAPHIS_VERSION_MAJOR) "." SPS_STR(SARAPHIS_VERSION_MINOR) "." SPS_STR(
        SARAPHIS_VERSION_PATCH);
}
