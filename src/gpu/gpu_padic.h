/* The GPU decoder of the p-adic (bounded) codec's chunks, CHUNK_PADIC records (docs/padic.md),
 * called by the batch decoder in gpu_lossless.cu: its rounds after the batch decoder's own decode
 * kernels and before the content checksums, on the same stream (for device frames the head kernel
 * and the piece checksums start earlier, on a side stream: gpu_padic_begin). Its output is byte
 * for byte padic_decode_chunk's, and a record the CPU rejects gets the CPU's error code (the first
 * error in the CPU's order of checks). */
#ifndef SARAPHIS_GPU_PADIC_H
#define SARAPHIS_GPU_PADIC_H

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu_internal.h"

/* One chunk of the batch, device addresses inside. The record's framing (its size, payload size
 * and raw size) has been checked by the caller's parse; a record that failed there is skipped. */
typedef struct {
    const uint8_t *record;
    uint8_t *dst;
    uint32_t *code;    /* the chunk's error word: the first error's code goes here if it is still 0 */
    uint32_t *partial; /* set to 1 when the record is decoded with fewer planes than its precision
                          (its content checksum does not apply); NULL: not wanted */
    uint64_t *content; /* NULL, or the chunk's content-checksum segment hashes: the decoder may
                          write them itself (the whole output, hashed as it is written) */
    uint32_t *hashed;  /* set to 1 when it did (the caller's hash pass then skips the chunk) */
    uint32_t record_size;
    uint32_t raw_size;
    uint32_t dtype; /* the frame's dtype */
    uint32_t pad;
} gpu_padic_chunk_t;

/* Decodes the CHUNK_PADIC records among `count` chunks (a host array) to their top `planes`
 * digit planes (0, or >= a record's precision: all, padic_decode_chunk's rule); other records are
 * left alone. Waits once for the device (the largest number of planes decoded in the batch sizes
 * the work; the first round is queued before the wait). The batch decoder calls it only for a
 * batch holding a frame of the bounded codec (its parse reports a CHUNK_PADIC record of any other frame as UNSUPPORTED). *bound_out gets the
 * largest padic_progressive_bound over the records whose header is valid (0 when none). Returns a
 * library status for host and CUDA failures; decoding errors go to the chunks' words. */
saraphis_status_t gpu_padic_decode(gpu_state_t *state, cudaStream_t stream, const gpu_padic_chunk_t *chunks, size_t count,
                                   unsigned planes, double *bound_out);

/* The same in two parts, so that the head kernel (each chunk's header, plane table and escape
 * section; the chunks' piece checksums after it) can run beside the batch decoder's own kernels:
 * gpu_padic_begin uploads the chunk list and queues the head kernel, its read-back and the
 * checksums, with `beside` on the decoder's side stream, after what `stream` holds now (the
 * records must be complete there); gpu_padic_finish queues the rounds on `stream`, waiting once
 * for the read-back. Every gpu_padic_begin that succeeds is followed by gpu_padic_finish, or by
 * the caller joining state->padic_side before it returns. */
typedef struct gpu_padic_plan gpu_padic_plan_t;
struct gpu_padic_plan { /* what gpu_padic_finish needs of gpu_padic_begin's layout */
    size_t count, upload, off_chunks; /* upload: where the summary comes back in the pinned block */
    uint64_t elements;
    uint32_t item_stride, bitmap_stride;
    bool beside; /* the head kernel and its read-back run on the side stream */
};
saraphis_status_t gpu_padic_begin(gpu_state_t *state, cudaStream_t stream, bool beside, const gpu_padic_chunk_t *chunks, size_t count,
                                  unsigned planes, gpu_padic_plan_t *plan);
saraphis_status_t gpu_padic_finish(gpu_state_t *state, cudaStream_t stream, const gpu_padic_plan_t *plan, double *bound_out);

/* Frees the decoder's device work areas held in the state (gpu_context_release calls it). */
void gpu_padic_release(gpu_state_t *state);

#endif
