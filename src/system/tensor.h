/* DLPack tensors as the coordinator sees them: checked once (device, dtype, shape, strides,
 * sizes), then read in place when compact or gathered element by element when strided. */
#ifndef SARAPHIS_SYSTEM_TENSOR_H
#define SARAPHIS_SYSTEM_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

typedef struct {
    const uint8_t *data;      /* first element (data + byte_offset) */
    saraphis_dtype_t dtype;
    size_t element_size;
    int32_t ndim;
    int64_t shape[SARAPHIS_MAX_DIMS];
    int64_t strides[SARAPHIS_MAX_DIMS]; /* in elements, as given (compact ones when NULL) */
    uint64_t elements;
    size_t bytes;             /* elements * element_size */
    int contiguous;           /* the elements are the compact row-major bytes at data */
} tensor_view_t;

/* Checks a tensor for reading (writable = 0) or writing (1). what names it in messages. */
saraphis_status_t tensor_view(const DLTensor *tensor, int writable, const char *what,
                              tensor_view_t *view);
/* The same, also accepting kDLCUDA when allow_cuda (the view is then only described: its data
 * is a device pointer the caller must not read). */
saraphis_status_t tensor_view_ex(const DLTensor *tensor, int writable, int allow_cuda, const char *what,
                                 tensor_view_t *view);
/* Copies a strided tensor's elements into dst (view->bytes), row-major. */
void tensor_gather(const tensor_view_t *view, uint8_t *dst);
/* The reverse: src (row-major, view->bytes) into the strided tensor. */
void tensor_scatter(const tensor_view_t *view, const uint8_t *src);
/* Element count of a shape; LIMIT when it overflows, INVALID_ARGUMENT for a negative extent. */
saraphis_status_t tensor_shape_elements(const int64_t *shape, int32_t ndim, uint64_t *elements);

#endif
