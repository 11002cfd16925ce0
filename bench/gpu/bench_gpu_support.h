/* Timing helpers shared by the GPU benchmarks: a monotonic clock and the median of a sample. */
#ifndef SARAPHIS_BENCH_GPU_SUPPORT_H
#define SARAPHIS_BENCH_GPU_SUPPORT_H

#include <cuda_runtime.h>
#include <stdlib.h>
#include <time.h>

static inline double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static inline int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts values in place. */
static inline double median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, compare_double);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

/* Runs `call` (an expression giving a saraphis_status_t) runs + 2 times, each between two CUDA
 * events on `stream`, the first two as warm-up; times[] gets the other runs' ms. Stops at the first
 * failure, which stays in `status` (OK on entry). */
#define TIME_GPU_CALLS(status, call, stream, start, stop, times, runs)   \
    for (int r_ = 0; r_ < (runs) + 2 && (status) == SARAPHIS_OK; r_++) { \
        cudaEventRecord(start, stream);                                  \
        (status) = (call);                                               \
        cudaEventRecord(stop, stream);                                   \
        cudaEventSynchronize(stop);                                      \
        float ms_ = 0;                                                   \
        cudaEventElapsedTime(&ms_, start, stop);                         \
        if (r_ >= 2) (times)[r_ - 2] = ms_;                              \
    }

/* The median time in ms of `runs` copies of `bytes` (CUDA events on `stream`, after two warm-up
 * copies); `times` holds `runs` values. The benchmarks' ceilings: a device-to-device copy, a
 * host-to-device copy from pinned memory. */
static inline double copy_median_ms(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind, cudaStream_t stream,
                                    cudaEvent_t start, cudaEvent_t stop, double *times, int runs)
{
    for (int r = 0; r < runs + 2; r++) {
        cudaEventRecord(start, stream);
        cudaMemcpyAsync(dst, src, bytes, kind, stream);
        cudaEventRecord(stop, stream);
        cudaEventSynchronize(stop);
        float ms = 0;
        cudaEventElapsedTime(&ms, start, stop);
        if (r >= 2) times[r - 2] = ms;
    }
    return median(times, runs);
}

#endif
