/* The real memory probe for the pressure handler: cudaMemGetInfo on the calling thread's current
 * device (the monitoring thread calls cudaSetDevice first when a device was given). Compiled to
 * nothing unless the build defines SARAPHIS_WITH_CUDA. */
#ifdef SARAPHIS_WITH_CUDA

#include <cuda_runtime.h>
#include <stdint.h>

#include "common/error.h"
#include "memory/pressure.h"

static saraphis_status_t cuda_query(void *context, uint64_t *free_bytes, uint64_t *total_bytes)
{
    const int *device = context;
    cudaError_t error = cudaSuccess;
    /* The runtime's current device is per thread: the sampling thread must pick it. */
    if (device) error = cudaSetDevice(*device);
    size_t free_size = 0, total_size = 0;
    if (error == cudaSuccess) error = cudaMemGetInfo(&free_size, &total_size);
    if (error != cudaSuccess)
        return error_set(SARAPHIS_ERROR_GPU, "cudaMemGetInfo%s: %s",
                         device ? " on the chosen device" : "", cudaGetErrorString(error));
    *free_bytes = free_size;
    *total_bytes = total_size;
    return SARAPHIS_OK;
}

void pressure_probe_cuda(pressure_probe_t *probe, const int *device)
{
    probe->context = (void *)device;
    probe->query = cuda_query;
}

#else
/* Nothing to build without CUDA (a declaration keeps the unit non-empty for -Wpedantic). */
typedef int saraphis_pressure_cuda_disabled_t;
#endif /* SARAPHIS_WITH_CUDA */
