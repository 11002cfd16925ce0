/* libFuzzer target for container/safetensors: the input is a whole file. Anything must parse or
 * fail cleanly; what parses must satisfy the layout invariants, and a header rebuilt from it by
 * safetensors_build_header must parse back to the same tensors.
 * The library is built with coverage instrumentation in fuzzing builds (CMakeLists.txt). */

#include "common/json.h"
#include "container/safetensors.h"
#include <stdlib.h>
#include <string.h>

static void check_invariants(const safetensors_file_t *file, const uint8_t *data, uint64_t file_size)
{
    if (file->header_size != file->data_offset || file->data_offset > file_size ||
        file->data_size != file_size - file->data_offset ||
        memcmp(file->header_bytes, data, file->header_size) != 0)
        __builtin_trap();
    uint64_t covered = 0, gap_bytes = 0, previous_end = 0;
    for (size_t i = 0; i < file->tensor_count; i++) {
        const safetensors_tensor_t *tensor = &file->tensors[i];
        if (tensor->begin > tensor->end || tensor->end > file->data_size ||
            tensor->begin < previous_end || tensor->ndim > SARAPHIS_MAX_DIMS || !tensor->name ||
            saraphis_dtype_size(tensor->dtype) == 0)
            __builtin_trap();
        previous_end = tensor->end > previous_end ? tensor->end : previous_end;
        covered += tensor->end - tensor->begin;
    }
    for (size_t i = 0; i < file->gap_count; i++) {
        if (file->gaps[i].begin >= file->gaps[i].end || file->gaps[i].end > file->data_size)
            __builtin_trap();
        gap_bytes += file->gaps[i].end - file->gaps[i].begin;
    }
    if (covered + gap_bytes != file->data_size || file->tiled != (file->gap_count == 0))
        __builtin_trap();
}

static void rebuild(const safetensors_file_t *file)
{
    safetensors_tensor_t *copies = calloc(file->tensor_count + 1, sizeof *copies);
    if (!copies) return;
    if (file->tensor_count) memcpy(copies, file->tensors, file->tensor_count * sizeof *copies);
    uint8_t *header;
    size_t header_size;
    if (safetensors_build_header(copies, file->tensor_count, file->metadata, file->metadata_count,
                                 &header, &header_size) != SARAPHIS_OK)
        __builtin_trap();
    uint64_t data_size = file->tensor_count ? copies[file->tensor_count - 1].end : 0;
    uint8_t *built = calloc(1, header_size + (size_t)data_size);
    if (!built) __builtin_trap();
    memcpy(built, header, header_size);
    safetensors_file_t again;
    if (safetensors_parse(built, header_size + (size_t)data_size, header_size + data_size, "rebuilt",
                          &again) != SARAPHIS_OK ||
        again.tensor_count != file->tensor_count || !again.tiled ||
        again.metadata_count != file->metadata_count)
        __builtin_trap();
    /* Zero-length tensors may reorder among themselves; compare totals, not positions. */
    for (size_t i = 0; i < again.tensor_count; i++)
        if (strcmp(again.tensors[i].name, copies[i].name) != 0 &&
            again.tensors[i].begin != again.tensors[i].end)
            __builtin_trap();
    safetensors_file_free(&again);
    free(built);
    free(header);
    free(copies);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t need;
    (void)safetensors_header_size(data, size, size, "fuzz", &need);
    safetensors_file_t file;
    if (safetensors_parse(data, size, size, "fuzz", &file) == SARAPHIS_OK) {
        check_invariants(&file, data, size);
        rebuild(&file);
        safetensors_file_free(&file);
    } else if (file.tensors || file.header_bytes || file.gaps || file.metadata) {
        __builtin_trap(); /* failure must leave the result empty */
    }
    /* The same bytes as the prefix of a longer file: exercises gaps past the prefix. */
    if (safetensors_parse(data, size, (uint64_t)size + 4096, "fuzz-long", &file) == SARAPHIS_OK) {
        check_invariants(&file, data, (uint64_t)size + 4096);
        safetensors_file_free(&file);
    }
    return 0;
}
