/* The dtype table: element sizes and safetensors names. */
#include "saraphis.h"

#include <strings.h>

static const struct {
    const char *name;
    size_t size;
} dtype_table[SARAPHIS_DTYPE_COUNT_] = {
    [SARAPHIS_DTYPE_UNKNOWN] = {"UNKNOWN", 0}, [SARAPHIS_DTYPE_F32] = {"F32", 4},
    [SARAPHIS_DTYPE_F16] = {"F16", 2},         [SARAPHIS_DTYPE_BF16] = {"BF16", 2},
    [SARAPHIS_DTYPE_F64] = {"F64", 8},         [SARAPHIS_DTYPE_F8_E4M3] = {"F8_E4M3", 1},
    [SARAPHIS_DTYPE_F8_E5M2] = {"F8_E5M2", 1}, [SARAPHIS_DTYPE_I8] = {"I8", 1},
    [SARAPHIS_DTYPE_U8] = {"U8", 1},           [SARAPHIS_DTYPE_I16] = {"I16", 2},
    [SARAPHIS_DTYPE_U16] = {"U16", 2},         [SARAPHIS_DTYPE_I32] = {"I32", 4},
    [SARAPHIS_DTYPE_U32] = {"U32", 4},         [SARAPHIS_DTYPE_I64] = {"I64", 8},
    [SARAPHIS_DTYPE_U64] = {"U64", 8},         [SARAPHIS_DTYPE_BOOL] = {"BOOL", 1},
};

size_t saraphis_dtype_size(saraphis_dtype_t dtype)
{
    if ((unsigned)dtype >= SARAPHIS_DTYPE_COUNT_) return 0;
    return dtype_table[dtype].size;
}

const char *saraphis_dtype_name(saraphis_dtype_t dtype)
{
    if ((unsigned)dtype >= SARAPHIS_DTYPE_COUNT_) return "UNKNOWN";
    return dtype_table[dtype].name;
}

saraphis_dtype_t saraphis_dtype_from_name(const char *name)
{
    if (!name) return SARAPHIS_DTYPE_UNKNOWN;
    for (int dtype = 1; dtype < SARAPHIS_DTYPE_COUNT_; dtype++)
        if (strcasecmp(name, dtype_table[dtype].name) == 0) return (saraphis_dtype_t)dtype;
    if (strcasecmp(name, "F8_E4M3FN") == 0) return SARAPHIS_DTYPE_F8_E4M3;
    return SARAPHIS_DTYPE_UNKNOWN;
}
