/* libFuzzer target for container/npy: the input is a whole file. Anything must parse or fail
 * cleanly; what parses must be consistent, and a header rebuilt with npy_build_header from the
 * parsed dtype and shape must parse back to the same array.
 * The library is built with coverage instrumentation in fuzzing builds (CMakeLists.txt). */

#include "common/json.h"
#include "container/npy.h"
#include <stdlib.h>
#include <string.h>

static void check(const npy_file_t *file, const uint8_t *data, size_t size)
{
    if (file->header_size != file->data_offset || file->header_size + file->data_size != size ||
        memcmp(file->header_bytes, data, file->header_size) != 0 || file->ndim > SARAPHIS_MAX_DIMS ||
        file->data_size != file->element_count * saraphis_dtype_size(file->dtype))
        __builtin_trap();
    uint8_t *header;
    size_t header_size;
    if (npy_build_header(file->dtype, file->ndim, file->shape, &header, &header_size) != SARAPHIS_OK)
        __builtin_trap();
    uint8_t *built = malloc(header_size + (size_t)file->data_size);
    if (!built) __builtin_trap();
    memcpy(built, header, header_size);
    memset(built + header_size, 0, (size_t)file->data_size);
    npy_options_t options = {file->dtype, false};
    npy_file_t again;
    size_t built_size = header_size + (size_t)file->data_size;
    if (npy_parse_ex(built, built_size, built_size, &options, "rebuilt", &again) != SARAPHIS_OK ||
        again.ndim != file->ndim || again.dtype != file->dtype ||
        memcmp(again.shape, file->shape, file->ndim * sizeof file->shape[0]) != 0 ||
        header_size % 64 != 0)
        __builtin_trap();
    npy_file_free(&again);
    free(built);
    free(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t need;
    (void)npy_header_size(data, size < NPY_PROBE_BYTES ? size : NPY_PROBE_BYTES, size, "fuzz", &need);
    npy_file_t file;
    if (npy_parse(data, size, size, "fuzz", &file) == SARAPHIS_OK) {
        check(&file, data, size);
        npy_file_free(&file);
    } else if (file.header_bytes) {
        __builtin_trap(); /* failure must leave the result empty */
    }
    /* Relabelled raw bytes and Fortran order take other paths. */
    npy_options_t options = {size % 2 ? SARAPHIS_DTYPE_BF16 : SARAPHIS_DTYPE_F8_E5M2, true};
    if (npy_parse_ex(data, size, size, &options, "fuzz", &file) == SARAPHIS_OK) {
        check(&file, data, size);
        npy_file_free(&file);
    }
    return 0;
}
