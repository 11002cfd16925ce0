/* DLPack tensor checks and strided copies (tensor.h). A DLTensor is trusted to describe memory
 * the caller owns; everything that can be checked without touching it is: device, dtype,
 * lanes, rank, negative extents or strides, and overflow of the element count and byte sizes. */
#include "system/tensor.h"

#include <string.h>

#include "common/error.h"

saraphis_dtype_t saraphis_dtype_from_dlpack(DLDataType dtype)
{
    if (dtype.lanes != 1) return SARAPHIS_DTYPE_UNKNOWN;
    switch (dtype.code) {
    case kDLFloat:
        if (dtype.bits == 16) return SARAPHIS_DTYPE_F16;
        if (dtype.bits == 32) return SARAPHIS_DTYPE_F32;
        if (dtype.bits == 64) return SARAPHIS_DTYPE_F64;
        break;
    case kDLBfloat:
        if (dtype.bits == 16) return SARAPHIS_DTYPE_BF16;
        break;
    case kDLInt:
        if (dtype.bits == 8) return SARAPHIS_DTYPE_I8;
        if (dtype.bits == 16) return SARAPHIS_DTYPE_I16;
        if (dtype.bits == 32) return SARAPHIS_DTYPE_I32;
        if (dtype.bits == 64) return SARAPHIS_DTYPE_I64;
        break;
    case kDLUInt:
        if (dtype.bits == 8) return SARAPHIS_DTYPE_U8;
        if (dtype.bits == 16) return SARAPHIS_DTYPE_U16;
        if (dtype.bits == 32) return SARAPHIS_DTYPE_U32;
        if (dtype.bits == 64) return SARAPHIS_DTYPE_U64;
        break;
    case kDLBool:
        if (dtype.bits == 8) return SARAPHIS_DTYPE_BOOL;
        break;
    case kDLFloat8_e4m3fn:
        if (dtype.bits == 8) return SARAPHIS_DTYPE_F8_E4M3;
        break;
    case kDLFloat8_e5m2:
        if (dtype.bits == 8) return SARAPHIS_DTYPE_F8_E5M2;
        break;
    default: break;
    }
    return SARAPHIS_DTYPE_UNKNOWN;
}

DLDataType saraphis_dtype_to_dlpack(saraphis_dtype_t dtype)
{
    DLDataType out = {0, 0, 1};
    switch (dtype) {
    case SARAPHIS_DTYPE_F32: out.code = kDLFloat; out.bits = 32; break;
    case SARAPHIS_DTYPE_F16: out.code = kDLFloat; out.bits = 16; break;
    case SARAPHIS_DTYPE_BF16: out.code = kDLBfloat; out.bits = 16; break;
    case SARAPHIS_DTYPE_F64: out.code = kDLFloat; out.bits = 64; break;
    case SARAPHIS_DTYPE_F8_E4M3: out.code = kDLFloat8_e4m3fn; out.bits = 8; break;
    case SARAPHIS_DTYPE_F8_E5M2: out.code = kDLFloat8_e5m2; out.bits = 8; break;
    case SARAPHIS_DTYPE_I8: out.code = kDLInt; out.bits = 8; break;
    case SARAPHIS_DTYPE_U8: out.code = kDLUInt; out.bits = 8; break;
    case SARAPHIS_DTYPE_I16: out.code = kDLInt; out.bits = 16; break;
    case SARAPHIS_DTYPE_U16: out.code = kDLUInt; out.bits = 16; break;
    case SARAPHIS_DTYPE_I32: out.code = kDLInt; out.bits = 32; break;
    case SARAPHIS_DTYPE_U32: out.code = kDLUInt; out.bits = 32; break;
    case SARAPHIS_DTYPE_I64: out.code = kDLInt; out.bits = 64; break;
    case SARAPHIS_DTYPE_U64: out.code = kDLUInt; out.bits = 64; break;
    case SARAPHIS_DTYPE_BOOL: out.code = kDLBool; out.bits = 8; break;
    default: out.lanes = 0; break;
    }
    return out;
}

saraphis_status_t tensor_shape_elements(const int64_t *shape, int32_t ndim, uint64_t *elements)
{
    uint64_t count = 1;
    for (int32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "shape[%d] = %lld is negative", i, (long long)shape[i]);
        uint64_t extent = (uint64_t)shape[i];
        if (extent && count > UINT64_MAX / extent)
            return error_set(SARAPHIS_ERROR_LIMIT, "shape: the element count overflows 64 bits at dimension %d", i);
        count *= extent;
    }
    *elements = count;
    return SARAPHIS_OK;
}

saraphis_status_t tensor_view(const DLTensor *tensor, int writable, const char *what, tensor_view_t *view)
{
    return tensor_view_ex(tensor, writable, 0, what, view);
}

saraphis_status_t tensor_view_ex(const DLTensor *tensor, int writable, int allow_cuda, const char *what,
                                 tensor_view_t *view)
{
    if (!tensor) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: tensor is NULL", what);
    switch (tensor->device.device_type) {
    case kDLCPU:
    case kDLCUDAHost:
    case kDLCUDAManaged: break;
    case kDLCUDA:
        if (allow_cuda) break;
        return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                         "%s: tensor on kDLCUDA:%d: compression reads host memory only; copy the tensor to the host "
                         "(kDLCPU) first",
                         what, tensor->device.device_id);
    default:
        return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                         "%s: tensor on device type %d: only host memory (kDLCPU, kDLCUDAHost, kDLCUDAManaged) is "
                         "supported",
                         what, (int)tensor->device.device_type);
    }
    memset(view, 0, sizeof *view);
    view->dtype = saraphis_dtype_from_dlpack(tensor->dtype);
    if (view->dtype == SARAPHIS_DTYPE_UNKNOWN)
        return error_set(SARAPHIS_ERROR_DTYPE, "%s: DLPack dtype (code %u, bits %u, lanes %u) has no Saraphis dtype", what,
                         tensor->dtype.code, tensor->dtype.bits, tensor->dtype.lanes);
    view->element_size = saraphis_dtype_size(view->dtype);
    if (tensor->ndim < 0 || tensor->ndim > SARAPHIS_MAX_DIMS)
        return error_set(tensor->ndim < 0 ? SARAPHIS_ERROR_INVALID_ARGUMENT : SARAPHIS_ERROR_LIMIT,
                         "%s: ndim %d is outside [0, %d]", what, tensor->ndim, SARAPHIS_MAX_DIMS);
    if (tensor->ndim > 0 && !tensor->shape) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: shape is NULL", what);
    view->ndim = tensor->ndim;
    saraphis_status_t status = tensor_shape_elements(tensor->shape, tensor->ndim, &view->elements);
    if (status != SARAPHIS_OK) return error_wrap(status, "%s: ", what);
    if (view->elements > SIZE_MAX / view->element_size)
        return error_set(SARAPHIS_ERROR_LIMIT, "%s: %llu elements overflow the address space", what,
                         (unsigned long long)view->elements);
    view->bytes = (size_t)(view->elements * view->element_size);
    if (!tensor->data && view->elements)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: data is NULL for %llu elements", what,
                         (unsigned long long)view->elements);
    view->data = (const uint8_t *)tensor->data + tensor->byte_offset;
    /* Compact strides, then the given ones; dimensions of extent 1 never matter. */
    int64_t compact = 1;
    view->contiguous = 1;
    for (int32_t i = tensor->ndim - 1; i >= 0; i--) {
        view->shape[i] = tensor->shape[i];
        int64_t stride = tensor->strides ? tensor->strides[i] : compact;
        if (stride < 0)
            return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                             "%s: stride[%d] = %lld is negative; reversed views are not supported (make the tensor "
                             "contiguous first)",
                             what, i, (long long)stride);
        view->strides[i] = stride;
        if (tensor->shape[i] != 1 && stride != compact) view->contiguous = 0;
        compact *= tensor->shape[i] ? tensor->shape[i] : 1;
    }
    if (view->elements == 0) view->contiguous = 1;
    if (!view->contiguous) {
        /* The farthest element must be addressable: sum of (extent - 1) * stride elements. */
        uint64_t reach = 0;
        for (int32_t i = 0; i < tensor->ndim; i++) {
            uint64_t extent = (uint64_t)view->shape[i] - 1, stride = (uint64_t)view->strides[i];
            if (stride && extent > (UINT64_MAX - reach) / stride)
                return error_set(SARAPHIS_ERROR_LIMIT, "%s: strides reach beyond 64 bits", what);
            reach += extent * stride;
        }
        if (reach > SIZE_MAX / view->element_size)
            return error_set(SARAPHIS_ERROR_LIMIT, "%s: strides reach beyond the address space", what);
        if (writable) {
            /* A zero stride on an extent above 1 would write one element many times. */
            for (int32_t i = 0; i < tensor->ndim; i++)
                if (view->strides[i] == 0 && view->shape[i] > 1)
                    return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                                     "%s: stride[%d] is 0 on an extent of %lld: a broadcast view cannot be written",
                                     what, i, (long long)view->shape[i]);
        }
    }
    return SARAPHIS_OK;
}

/* Walks every element in row-major order; the innermost dimension is copied as a run when its
 * stride is 1. */
static void strided_copy(const tensor_view_t *view, const uint8_t *src_or_null, uint8_t *dst_or_null, int gather)
{
    int32_t ndim = view->ndim;
    size_t element = view->element_size;
    if (ndim == 0) {
        if (gather) memcpy(dst_or_null, view->data, element);
        else memcpy((uint8_t *)view->data, src_or_null, element);
        return;
    }
    int64_t index[SARAPHIS_MAX_DIMS] = {0};
    int64_t inner = view->shape[ndim - 1], inner_stride = view->strides[ndim - 1];
    size_t packed = 0;
    for (;;) {
        int64_t offset = 0;
        for (int32_t i = 0; i < ndim - 1; i++) offset += index[i] * view->strides[i];
        uint8_t *strided = (uint8_t *)view->data + (size_t)offset * element;
        if (inner_stride == 1) {
            size_t run = (size_t)inner * element;
            if (gather) memcpy(dst_or_null + packed, strided, run);
            else memcpy(strided, src_or_null + packed, run);
            packed += run;
        } else {
            for (int64_t j = 0; j < inner; j++, packed += element) {
                uint8_t *at = strided + (size_t)(j * inner_stride) * element;
                if (gather) memcpy(dst_or_null + packed, at, element);
                else memcpy(at, src_or_null + packed, element);
            }
        }
        int32_t d = ndim - 2;
        while (d >= 0 && ++index[d] == view->shape[d]) index[d--] = 0;
        if (d < 0) return;
    }
}

void tensor_gather(const tensor_view_t *view, uint8_t *dst)
{
    if (view->elements) strided_copy(view, NULL, dst, 1);
}

void tensor_scatter(const tensor_view_t *view, const uint8_t *src)
{
    if (view->elements) strided_copy(view, src, NULL, 0);
}
