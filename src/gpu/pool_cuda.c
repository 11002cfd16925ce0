/* CUDA segment source for SmartPool (see memory/pool.h). Compiled to nothing unless the build
 * defines SARAPHIS_WITH_CUDA.
 *
 * Segments come from cudaMalloc/cudaFree. When the driver offers the virtual memory management
 * API, the source is also page capable: reserve_address is cuMemAddressReserve, and map/unmap
 * create and map (or unmap and release) one physical allocation per page, so any single page can
 * be given back (cuMemUnmap must cover whole mappings). The driver entry points are looked up
 * through the runtime (cudaGetDriverEntryPointByVersion), so the library links only cudart.
 * Before pages are unmapped the device is synchronized: a freed block's last kernels may still be
 * running on its stream.
 */
#ifdef SARAPHIS_WITH_CUDA

#include <cuda.h>
#include <cuda_runtime.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "memory/pool.h"

typedef CUresult (*reserve_fn)(CUdeviceptr *, size_t, size_t, CUdeviceptr, unsigned long long);
typedef CUresult (*address_free_fn)(CUdeviceptr, size_t);
typedef CUresult (*create_fn)(CUmemGenericAllocationHandle *, size_t, const CUmemAllocationProp *,
                              unsigned long long);
typedef CUresult (*map_fn)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle,
                           unsigned long long);
typedef CUresult (*set_access_fn)(CUdeviceptr, size_t, const CUmemAccessDesc *, size_t);
typedef CUresult (*unmap_fn)(CUdeviceptr, size_t);
typedef CUresult (*release_fn)(CUmemGenericAllocationHandle);
typedef CUresult (*granularity_fn)(size_t *, const CUmemAllocationProp *,
                                   CUmemAllocationGranularity_flags);

typedef struct {
    int device;
    reserve_fn address_reserve;
    address_free_fn address_free;
    create_fn create;
    map_fn map;
    set_access_fn set_access;
    unmap_fn unmap;
    release_fn release;
    size_t page_size; /* the driver's minimum granularity for this device */
    /* The one reserved address range and a physical handle per page of it. */
    CUdeviceptr range_base;
    size_t range_size;
    CUmemGenericAllocationHandle *handles;
} cuda_source_t;

static saraphis_status_t cuda_reserve(void *context, size_t size, uintptr_t *base)
{
    cuda_source_t *cuda = context;
    void *pointer = NULL;
    cudaError_t error = cudaSetDevice(cuda->device);
    if (error == cudaSuccess) error = cudaMalloc(&pointer, size);
    if (error != cudaSuccess)
        return error_set(error == cudaErrorMemoryAllocation ? SARAPHIS_ERROR_OUT_OF_MEMORY
                                                            : SARAPHIS_ERROR_GPU,
                         "cudaMalloc of %zu bytes on device %d: %s", size, cuda->device,
                         cudaGetErrorString(error));
    *base = (uintptr_t)pointer;
    return SARAPHIS_OK;
}

static void cuda_release(void *context, uintptr_t base, size_t size)
{
    (void)context, (void)size;
    cudaFree((void *)base);
}

static CUmemAllocationProp page_properties(const cuda_source_t *cuda)
{
    CUmemAllocationProp properties;
    memset(&properties, 0, sizeof properties);
    properties.type = CU_MEM_ALLOCATION_TYPE_PINNED;
    properties.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    properties.location.id = cuda->device;
    return properties;
}

static saraphis_status_t cuda_reserve_address(void *context, size_t size, uintptr_t *base)
{
    cuda_source_t *cuda = context;
    if (cuda->handles)
        return error_set(SARAPHIS_ERROR_STATE, "cuda source: one address range per source");
    size_t rounded = (size + cuda->page_size - 1) / cuda->page_size * cuda->page_size;
    CUdeviceptr pointer = 0;
    CUresult result = cuda->address_reserve(&pointer, rounded, cuda->page_size, 0, 0);
    if (result != CUDA_SUCCESS)
        return error_set(SARAPHIS_ERROR_GPU, "cuMemAddressReserve of %zu bytes: error %d",
                         rounded, (int)result);
    cuda->handles = calloc(rounded / cuda->page_size, sizeof *cuda->handles);
    if (!cuda->handles) {
        cuda->address_free(pointer, rounded);
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "cuda source: page table");
    }
    cuda->range_base = pointer;
    cuda->range_size = rounded;
    *base = (uintptr_t)pointer;
    return SARAPHIS_OK;
}

static void cuda_release_address(void *context, uintptr_t base, size_t size)
{
    cuda_source_t *cuda = context;
    (void)base, (void)size;
    if (!cuda->handles) return;
    cuda->address_free(cuda->range_base, cuda->range_size);
    free(cuda->handles);
    cuda->handles = NULL;
}

static void unmap_pages(cuda_source_t *cuda, uintptr_t address, size_t size)
{
    for (size_t offset = 0; offset < size; offset += cuda->page_size) {
        size_t page = (address + offset - cuda->range_base) / cuda->page_size;
        if (!cuda->handles[page]) continue;
        cuda->unmap((CUdeviceptr)(address + offset), cuda->page_size);
        cuda->release(cuda->handles[page]);
        cuda->handles[page] = 0;
    }
}

static saraphis_status_t cuda_map(void *context, uintptr_t address, size_t size)
{
    cuda_source_t *cuda = context;
    if (!cuda->handles || address < cuda->range_base ||
        address + size > cuda->range_base + cuda->range_size ||
        (address - cuda->range_base) % cuda->page_size || size % cuda->page_size)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                         "cuda source: map of %zu bytes at %#llx is not whole pages of %zu in the "
                         "reserved range", size, (unsigned long long)address, cuda->page_size);
    CUmemAllocationProp properties = page_properties(cuda);
    CUmemAccessDesc access;
    memset(&access, 0, sizeof access);
    access.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    access.location.id = cuda->device;
    access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
    for (size_t offset = 0; offset < size; offset += cuda->page_size) {
        size_t page = (address + offset - cuda->range_base) / cuda->page_size;
        CUmemGenericAllocationHandle handle = 0;
        CUresult result = cuda->create(&handle, cuda->page_size, &properties, 0);
        if (result == CUDA_SUCCESS) {
            result = cuda->map((CUdeviceptr)(address + offset), cuda->page_size, 0, handle, 0);
            if (result != CUDA_SUCCESS) cuda->release(handle);
        }
        if (result == CUDA_SUCCESS) {
            cuda->handles[page] = handle;
            result = cuda->set_access((CUdeviceptr)(address + offset), cuda->page_size, &access, 1);
        }
        if (result != CUDA_SUCCESS) {
            unmap_pages(cuda, address, offset + (cuda->handles[page] ? cuda->page_size : 0));
            return error_set(result == CUDA_ERROR_OUT_OF_MEMORY ? SARAPHIS_ERROR_OUT_OF_MEMORY
                                                                : SARAPHIS_ERROR_GPU,
                             "cuda source: mapping page %zu (%zu bytes): error %d", page,
                             cuda->page_size, (int)result);
        }
    }
    return SARAPHIS_OK;
}

static void cuda_unmap(void *context, uintptr_t address, size_t size)
{
    cuda_source_t *cuda = context;
    if (!cuda->handles) return;
    cudaDeviceSynchronize(); /* kernels queued on freed blocks may still read these pages */
    unmap_pages(cuda, address, size);
}

static int lookup(const char *symbol, void **function)
{
    enum cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    *function = NULL;
    return cudaGetDriverEntryPointByVersion(symbol, function, 12000, cudaEnableDefault, &found) ==
               cudaSuccess &&
           found == cudaDriverEntryPointSuccess && *function;
}

saraphis_status_t pool_source_cuda_create(pool_source_t *source, int device, int want_pages)
{
    if (!source) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "pool_source_cuda: NULL");
    memset(source, 0, sizeof *source);
    cudaError_t error = cudaSetDevice(device);
    if (error != cudaSuccess)
        return error_set(SARAPHIS_ERROR_GPU, "pool_source_cuda: device %d: %s", device,
                         cudaGetErrorString(error));
    cuda_source_t *cuda = calloc(1, sizeof *cuda);
    if (!cuda) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "pool_source_cuda: record");
    cuda->device = device;
    source->name = "cuda";
    source->context = cuda;
    source->reserve = cuda_reserve;
    source->release = cuda_release;
    if (!want_pages) return SARAPHIS_OK;
    typedef CUresult (*attribute_fn)(int *, CUdevice_attribute, CUdevice);
    attribute_fn attribute = NULL;
    int supported = 0;
    if (lookup("cuDeviceGetAttribute", (void **)&attribute) &&
        attribute(&supported, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED,
                  (CUdevice)device) != CUDA_SUCCESS)
        supported = 0;
    granularity_fn granularity = NULL;
    int found = supported && lookup("cuMemAddressReserve", (void **)&cuda->address_reserve) &&
                lookup("cuMemAddressFree", (void **)&cuda->address_free) &&
                lookup("cuMemCreate", (void **)&cuda->create) &&
                lookup("cuMemMap", (void **)&cuda->map) &&
                lookup("cuMemSetAccess", (void **)&cuda->set_access) &&
                lookup("cuMemUnmap", (void **)&cuda->unmap) &&
                lookup("cuMemRelease", (void **)&cuda->release) &&
                lookup("cuMemGetAllocationGranularity", (void **)&granularity);
    if (found) {
        CUmemAllocationProp properties = page_properties(cuda);
        found = granularity(&cuda->page_size, &properties, CU_MEM_ALLOC_GRANULARITY_MINIMUM) ==
                    CUDA_SUCCESS &&
                cuda->page_size > 0;
    }
    if (found) { /* page capable; otherwise segments only */
        source->reserve_address = cuda_reserve_address;
        source->release_address = cuda_release_address;
        source->map = cuda_map;
        source->unmap = cuda_unmap;
    }
    return SARAPHIS_OK;
}

size_t pool_source_cuda_page_size(const pool_source_t *source)
{
    const cuda_source_t *cuda = source ? source->context : NULL;
    return cuda && source->map ? cuda->page_size : 0;
}

void pool_source_cuda_destroy(pool_source_t *source)
{
    if (!source || !source->context) return;
    cuda_source_t *cuda = source->context;
    if (cuda->handles) {
        unmap_pages(cuda, cuda->range_base, cuda->range_size);
        cuda_release_address(cuda, 0, 0);
    }
    free(cuda);
    memset(source, 0, sizeof *source);
}

#else
/* Nothing to build without CUDA (a declaration keeps the unit non-empty for -Wpedantic). */
typedef int saraphis_pool_cuda_disabled_t;
#endif /* SARAPHIS_WITH_CUDA */
