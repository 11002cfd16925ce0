/* The GPU codec's hooks into the rest of the library. A context owns one gpu_state (device
 * scratch, pinned staging, tables), created on its first GPU call and released with the context.
 * Without CUDA the public calls are stubs (gpu_backend.c) that return UNSUPPORTED. */
#ifndef SARAPHIS_GPU_GPU_H
#define SARAPHIS_GPU_GPU_H

#ifdef __cplusplus
extern "C" {
#endif

/* Frees what a context's GPU state holds; NULL does nothing. */
void gpu_context_release(void *gpu_state);

#ifdef __cplusplus
}
#endif
#endif
