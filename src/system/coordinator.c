/* The coordinator: one entry point for compress and decompress over a bounded priority queue.
 *
 * A request is checked on the caller's thread (tensor, metadata, routing), then either run on
 * the caller's thread at once, when the queue is empty and fewer than max_in_flight requests
 * run (nobody waits, so no priority is bypassed, and the hand-off to a worker is saved), or
 * queued in a heap ordered by (priority, arrival) and taken by a worker thread. The caller waits
 * on its own condition variable until its request (or its whole batch) is done.
 *
 * Invariants: a request the queue accepted (acknowledged) always runs to completion and its
 * caller gets the outcome, shutdown included: shutdown refuses new requests, lets the workers
 * drain the queue, waits for inline runs, then stops. A request that fails leaves nothing
 * behind: no statistics but its error count, no queue entry, no allocation, so the same call
 * can be retried. Requests and waiters live on their callers' stacks; a worker never touches a
 * request after it has signalled its waiter. */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/error.h"
#include "common/json.h"
#include "engine/threadpool.h"
#include "system/gpu_output.h"
#include "system/system.h"

#define MAX_DEQUEUE 16

uint64_t system_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* ---------------------------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------------------------- */
static const char *const priority_names[] = {"critical", "high", "medium", "low", "idle"};
static const char *const strategy_names[] = {"throughput", "latency", "memory", "balanced", "adaptive"};
static const char *const mode_names[] = {"cpu", "gpu", "hybrid"};

const char *saraphis_priority_name(saraphis_priority_t priority)
{
    return (unsigned)priority < 5 ? priority_names[priority] : "unknown";
}
const char *saraphis_strategy_name(saraphis_strategy_t strategy)
{
    return (unsigned)strategy < 5 ? strategy_names[strategy] : "unknown";
}
const char *saraphis_mode_name(saraphis_mode_t mode) { return (unsigned)mode < 3 ? mode_names[mode] : "unknown"; }

saraphis_status_t saraphis_priority_from_name(const char *name, saraphis_priority_t *priority)
{
    for (int i = 0; name && priority && i < 5; i++)
        if (strcasecmp(name, priority_names[i]) == 0) {
            *priority = (saraphis_priority_t)i;
            return SARAPHIS_OK;
        }
    return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "priority '%s': expected critical, high, medium, low or idle",
                     name ? name : "(null)");
}

saraphis_status_t saraphis_strategy_from_name(const char *name, saraphis_strategy_t *strategy)
{
    for (int i = 0; name && strategy && i < 5; i++)
        if (strcasecmp(name, strategy_names[i]) == 0) {
            *strategy = (saraphis_strategy_t)i;
            return SARAPHIS_OK;
        }
    return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                     "strategy '%s': expected throughput, latency, memory, balanced or adaptive", name ? name : "(null)");
}

/* ---------------------------------------------------------------------------------------------
 * The queue: a binary heap, smallest (priority, sequence) on top.
 * ------------------------------------------------------------------------------------------- */
static int request_before(const request_t *a, const request_t *b)
{
    return a->priority < b->priority || (a->priority == b->priority && a->sequence < b->sequence);
}

static void heap_push(saraphis_system_t *system, request_t *request)
{
    size_t at = system->heap_count++;
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (!request_before(request, system->heap[parent])) break;
        system->heap[at] = system->heap[parent];
        at = parent;
    }
    system->heap[at] = request;
}

static request_t *heap_pop(saraphis_system_t *system)
{
    request_t *top = system->heap[0];
    request_t *last = system->heap[--system->heap_count];
    size_t at = 0, count = system->heap_count;
    for (;;) {
        size_t child = 2 * at + 1;
        if (child >= count) break;
        if (child + 1 < count && request_before(system->heap[child + 1], system->heap[child])) child++;
        if (!request_before(system->heap[child], last)) break;
        system->heap[at] = system->heap[child];
        at = child;
    }
    if (count) system->heap[at] = last;
    return top;
}

/* ---------------------------------------------------------------------------------------------
 * Codec slots
 * ------------------------------------------------------------------------------------------- */
/* codec = bounded: the configured bound, prime and precision (config_bounded_precision) on ctx,
 * which also switches its codec to SARAPHIS_CODEC_BOUNDED. */
static saraphis_status_t set_error_bound(saraphis_ctx_t *ctx, const saraphis_config_t *config)
{
    saraphis_bound_mode_t mode = (saraphis_bound_mode_t)(SARAPHIS_BOUND_ABSOLUTE + config_int(config, CFG_error_bound_mode));
    return saraphis_ctx_set_error_bound(ctx, mode, config_double(config, CFG_error_bound),
                                        (unsigned)config_int(config, CFG_prime), config_bounded_precision(config));
}

static saraphis_status_t set_params(saraphis_ctx_t *ctx, const saraphis_system_t *system,
                                    const strategy_settings_t *settings, unsigned threads)
{
    int64_t choice = config_int(&system->config, CFG_codec);
    if (choice == CONFIG_CODEC_BOUNDED) SPS_TRY(set_error_bound(ctx, &system->config));
    else
        SPS_TRY(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CODEC,
                                       choice == CONFIG_CODEC_STORED ? SARAPHIS_CODEC_STORED : SARAPHIS_CODEC_LOSSLESS));
    SPS_TRY(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CHUNK_BYTES, (int64_t)settings->chunk_bytes));
    SPS_TRY(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_CONTENT_CHECKSUM, settings->content_checksum));
    SPS_TRY(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_VERIFY_RECORDS, config_bool(&system->config, CFG_verify_records)));
    SPS_TRY(saraphis_ctx_set_param(ctx, SARAPHIS_PARAM_THREADS, threads));
    return SARAPHIS_OK;
}

static saraphis_status_t slot_prepare(codec_slot_t *slot, const saraphis_system_t *system,
                                      const strategy_settings_t *settings, uint64_t generation)
{
    if (!slot->serial) {
        slot->serial = saraphis_ctx_create();
        if (!slot->serial) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "coordinator: no memory for a codec context");
        slot->generation = UINT64_MAX;
    }
    if (slot->generation == generation) return SARAPHIS_OK;
    SPS_TRY(set_params(slot->serial, system, settings, 1));
    if (slot->parallel) {
        if (settings->codec_threads > 1) SPS_TRY(set_params(slot->parallel, system, settings, settings->codec_threads));
        else {
            saraphis_ctx_free(slot->parallel);
            slot->parallel = NULL;
        }
    }
    slot->generation = generation;
    return SARAPHIS_OK;
}

/* The context for a request of raw_bytes split in chunks of chunk_bytes: the parallel one when
 * each thread would get at least two chunks. */
static saraphis_status_t slot_pick(codec_slot_t *slot, const saraphis_system_t *system,
                                   const strategy_settings_t *settings, uint64_t raw_bytes, size_t chunk_bytes,
                                   saraphis_ctx_t **ctx)
{
    *ctx = slot->serial;
    unsigned threads = settings->codec_threads;
    if (threads <= 1 || raw_bytes / (chunk_bytes ? chunk_bytes : 1) < 2u * threads) return SARAPHIS_OK;
    if (!slot->parallel) {
        slot->parallel = saraphis_ctx_create();
        if (!slot->parallel) return SARAPHIS_OK; /* the serial context still works */
        saraphis_status_t status = set_params(slot->parallel, system, settings, threads);
        if (status != SARAPHIS_OK) {
            saraphis_ctx_free(slot->parallel);
            slot->parallel = NULL;
            return status;
        }
    }
    *ctx = slot->parallel;
    return SARAPHIS_OK;
}

static void slot_release(codec_slot_t *slot)
{
    saraphis_ctx_free(slot->serial);
    saraphis_ctx_free(slot->parallel);
    slot->serial = slot->parallel = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Running one request (worker or inline)
 * ------------------------------------------------------------------------------------------- */
static void capture_failure(request_t *request, saraphis_status_t status)
{
    request->status = status;
    snprintf(request->message, sizeof request->message, "%s", saraphis_last_error());
}

/* The codec a frame was written with (a bounded configuration writes lossless frames for
 * tensors the bounded codec does not take: integer dtypes, constant tensors under a relative
 * bound). */
static const char *codec_label(const uint8_t *frame, size_t size)
{
    saraphis_frame_info_t info;
    if (saraphis_frame_info(frame, size, &info) != SARAPHIS_OK) return "lossless";
    return info.codec == SARAPHIS_CODEC_BOUNDED ? "bounded" : info.codec == SARAPHIS_CODEC_STORED ? "stored" : "lossless";
}

static void run_compress(saraphis_system_t *system, request_t *request, codec_slot_t *slot,
                         const strategy_settings_t *settings)
{
    const tensor_view_t *view = &request->view;
    const uint8_t *src = view->data;
    uint8_t *gathered = NULL, *frame = NULL;
    saraphis_status_t status = SARAPHIS_OK;
    if (!view->contiguous) {
        uint64_t t0 = system_now_ns();
        gathered = malloc(view->bytes ? view->bytes : 1);
        if (!gathered) {
            capture_failure(request, error_set(SARAPHIS_ERROR_OUT_OF_MEMORY,
                                               "compress: no memory to gather a strided tensor of %zu bytes", view->bytes));
            return;
        }
        tensor_gather(view, gathered);
        src = gathered;
        request->gather_ns = system_now_ns() - t0;
    }
    saraphis_ctx_t *ctx = NULL;
    status = slot_pick(slot, system, settings, view->bytes, settings->chunk_bytes, &ctx);
    size_t bound = saraphis_compress_bound(view->bytes, settings->chunk_bytes), size = 0;
    if (status == SARAPHIS_OK) {
        frame = malloc(bound);
        if (!frame) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "compress: no memory for a frame of %zu bytes", bound);
    }
    if (status == SARAPHIS_OK) {
        uint64_t t0 = system_now_ns();
        status = saraphis_compress(ctx, view->dtype, src, view->bytes, frame, bound, &size);
        request->codec_ns = system_now_ns() - t0;
    }
    free(gathered);
    saraphis_result_t *result = NULL;
    if (status == SARAPHIS_OK) {
        result = calloc(1, sizeof *result);
        if (!result) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "compress: no memory for the result");
    }
    if (status != SARAPHIS_OK) {
        free(frame);
        capture_failure(request, status);
        return;
    }
    uint8_t *shrunk = realloc(frame, size ? size : 1);
    result->data = shrunk ? shrunk : frame;
    result->size = size;
    result->raw_size = view->bytes;
    result->dtype = view->dtype;
    result->ndim = view->ndim;
    memcpy(result->shape, view->shape, sizeof result->shape);
    result->mode = request->mode;
    result->codec = codec_label(result->data, size);
    memcpy(result->route_reason, request->route_reason, sizeof result->route_reason);
    result->metadata_json = request->metadata_json;
    result->start_order = request->start_order;
    request->metadata_json = NULL;
    request->result = result;
    request->status = SARAPHIS_OK;
}

static void run_decompress(saraphis_system_t *system, request_t *request, codec_slot_t *slot,
                           const strategy_settings_t *settings)
{
    saraphis_frame_info_t info;
    saraphis_status_t status = saraphis_frame_info(request->frame, request->frame_size, &info);
    saraphis_ctx_t *ctx = NULL;
    if (status == SARAPHIS_OK) status = slot_pick(slot, system, settings, info.raw_size, info.chunk_bytes, &ctx);
    size_t produced = 0;
    request->mode = SARAPHIS_MODE_CPU;
    if (status == SARAPHIS_OK) {
        uint64_t t0 = system_now_ns();
        if (request->output_on_gpu) {
            int on_gpu = 0;
            status = gpu_output_decode(ctx, request->frame, request->frame_size, info.codec, request->output_device,
                                       request->output, request->output_capacity, &produced, &on_gpu);
            if (on_gpu) request->mode = SARAPHIS_MODE_GPU;
        } else {
            status = saraphis_decompress(ctx, request->frame, request->frame_size, request->output,
                                         request->output_capacity, &produced);
        }
        request->codec_ns = system_now_ns() - t0;
    }
    if (status == SARAPHIS_OK && produced != request->raw_size)
        status = error_set(SARAPHIS_ERROR_CORRUPT, "decompress: frame produced %zu bytes, header announced %llu", produced,
                           (unsigned long long)request->raw_size);
    if (status != SARAPHIS_OK) capture_failure(request, status);
    else request->status = SARAPHIS_OK;
}

static void run_request(saraphis_system_t *system, request_t *request, codec_slot_t *slot,
                        const strategy_settings_t *settings, uint64_t generation)
{
    request->started_ns = system_now_ns();
    error_clear();
    saraphis_status_t status = slot_prepare(slot, system, settings, generation);
    if (status != SARAPHIS_OK) capture_failure(request, status);
    else if (request->kind == REQUEST_COMPRESS) run_compress(system, request, slot, settings);
    else run_decompress(system, request, slot, settings);
    request->finished_ns = system_now_ns();
    stats_record_request(system, request);
}

/* Called with the lock held after requests finished: wakes their callers and whoever waits for
 * a free slot or for the system to go idle. */
static void finish_locked(saraphis_system_t *system, request_t *request)
{
    waiter_t *waiter = request->waiter;
    waiter->remaining--;
    pthread_cond_broadcast(&waiter->done);
}

static void *worker_main(void *argument)
{
    worker_t *worker = argument;
    saraphis_system_t *system = worker->system;
    codec_slot_t *slot = &worker->slot;
    request_t *taken[MAX_DEQUEUE];
    pthread_mutex_lock(&system->lock);
    for (;;) {
        if (system->heap_count > 0 && system->in_flight < system->settings.max_in_flight) {
            size_t room = system->settings.max_in_flight - system->in_flight;
            size_t count = system->settings.dequeue_batch;
            if (count > MAX_DEQUEUE) count = MAX_DEQUEUE;
            if (count > room) count = room;
            if (count > system->heap_count) count = system->heap_count;
            if (count == 0) count = 1;
            for (size_t i = 0; i < count; i++) {
                taken[i] = heap_pop(system);
                taken[i]->start_order = system->next_start++;
            }
            system->in_flight += count;
            pthread_cond_broadcast(&system->space);
            strategy_settings_t settings = system->settings;
            uint64_t generation = system->settings_generation;
            pthread_mutex_unlock(&system->lock);
            for (size_t i = 0; i < count; i++) run_request(system, taken[i], slot, &settings, generation);
            pthread_mutex_lock(&system->lock);
            system->in_flight -= count;
            for (size_t i = 0; i < count; i++) finish_locked(system, taken[i]);
            if (system->heap_count > 0) pthread_cond_broadcast(&system->work);
            continue;
        }
        if (system->heap_count == 0 && system->state != SYSTEM_RUNNING) break;
        pthread_cond_wait(&system->work, &system->lock);
    }
    pthread_mutex_unlock(&system->lock);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Submission
 * ------------------------------------------------------------------------------------------- */
static saraphis_status_t refused_locked(const saraphis_system_t *system)
{
    return error_set(SARAPHIS_ERROR_STATE, "system is %s: no new work is accepted",
                     system->state == SYSTEM_STOPPING ? "shutting down" : "shut down");
}

static codec_slot_t *take_spare_locked(saraphis_system_t *system)
{
    return system->spare_count ? system->spare_slots[--system->spare_count] : NULL;
}

static void give_spare_locked(saraphis_system_t *system, codec_slot_t *slot)
{
    if (system->spare_count == system->spare_capacity) {
        size_t capacity = system->spare_capacity ? system->spare_capacity * 2 : 8;
        codec_slot_t **grown = realloc(system->spare_slots, capacity * sizeof *grown);
        if (!grown) {
            slot_release(slot);
            free(slot);
            return;
        }
        system->spare_slots = grown;
        system->spare_capacity = capacity;
    }
    system->spare_slots[system->spare_count++] = slot;
}

/* Runs a request on the caller's thread when nobody is waiting; returns 1 if it did. */
static int try_inline(saraphis_system_t *system, request_t *request, saraphis_status_t *refusal)
{
    pthread_mutex_lock(&system->lock);
    if (system->state != SYSTEM_RUNNING) {
        *refusal = refused_locked(system);
        pthread_mutex_unlock(&system->lock);
        return 1;
    }
    if (system->heap_count > 0 || system->in_flight >= system->settings.max_in_flight) {
        pthread_mutex_unlock(&system->lock);
        return 0;
    }
    system->in_flight++;
    system->inline_running++;
    request->sequence = system->next_sequence++;
    request->start_order = system->next_start++;
    request->queue_depth_at_arrival = 0;
    strategy_settings_t settings = system->settings;
    uint64_t generation = system->settings_generation;
    codec_slot_t *slot = take_spare_locked(system);
    pthread_mutex_unlock(&system->lock);
    if (!slot) slot = calloc(1, sizeof *slot);
    if (slot) run_request(system, request, slot, &settings, generation);
    else {
        capture_failure(request, error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "coordinator: no memory for a codec slot"));
        request->finished_ns = system_now_ns();
        stats_record_request(system, request);
    }
    pthread_mutex_lock(&system->lock);
    if (slot) give_spare_locked(system, slot);
    system->in_flight--;
    system->inline_running--;
    if (system->heap_count > 0) pthread_cond_broadcast(&system->work);
    if (system->inline_running == 0) pthread_cond_broadcast(&system->idle);
    pthread_mutex_unlock(&system->lock);
    *refusal = SARAPHIS_OK;
    return 1;
}

/* Queues a request, waiting for room. Returns STATE (not acknowledged) once shutdown began. */
static saraphis_status_t enqueue(saraphis_system_t *system, request_t *request)
{
    pthread_mutex_lock(&system->lock);
    while (system->state == SYSTEM_RUNNING && system->heap_count >= system->heap_capacity)
        pthread_cond_wait(&system->space, &system->lock);
    if (system->state != SYSTEM_RUNNING) {
        saraphis_status_t status = refused_locked(system);
        pthread_mutex_unlock(&system->lock);
        return status;
    }
    request->sequence = system->next_sequence++;
    request->queue_depth_at_arrival = system->heap_count;
    request->waiter->remaining++;
    heap_push(system, request);
    pthread_cond_signal(&system->work);
    pthread_mutex_unlock(&system->lock);
    return SARAPHIS_OK;
}

static void wait_until(saraphis_system_t *system, waiter_t *waiter, size_t at_most)
{
    pthread_mutex_lock(&system->lock);
    while (waiter->remaining > at_most) pthread_cond_wait(&waiter->done, &system->lock);
    pthread_mutex_unlock(&system->lock);
}

/* Runs one request (inline or queued) and waits for it. On failure the message is restored on
 * the calling thread. */
static saraphis_status_t submit_and_wait(saraphis_system_t *system, request_t *request)
{
    request->enqueued_ns = system_now_ns();
    saraphis_status_t refusal = SARAPHIS_OK;
    if (!try_inline(system, request, &refusal)) {
        waiter_t waiter = {.remaining = 0};
        pthread_cond_init(&waiter.done, NULL);
        request->waiter = &waiter;
        refusal = enqueue(system, request);
        if (refusal == SARAPHIS_OK) wait_until(system, &waiter, 0);
        pthread_cond_destroy(&waiter.done);
        request->waiter = NULL;
    }
    if (refusal != SARAPHIS_OK) {
        stats_record_failure(system, request->kind, refusal);
        return refusal;
    }
    if (request->status != SARAPHIS_OK) return error_set(request->status, "%s", request->message);
    return SARAPHIS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Metadata and routing (caller's thread)
 * ------------------------------------------------------------------------------------------- */
typedef struct {
    int require_gpu, require_cpu;
    int has_size;
    double size_mb;
} metadata_t;


static saraphis_status_t parse_metadata(const char *text, metadata_t *metadata, char **normalized)
{
    memset(metadata, 0, sizeof *metadata);
    *normalized = NULL;
    if (!text || !*text) {
        *normalized = strdup("{}");
        return *normalized ? SARAPHIS_OK : error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "metadata: no memory");
    }
    json_value_t *root = NULL;
    json_options_t options = {0};
    options.syntax_status = SARAPHIS_ERROR_INVALID_ARGUMENT;
    options.max_bytes = (size_t)1 << 20;
    SPS_TRY(json_parse_ex(text, strlen(text), &options, &root, "metadata"));
    saraphis_status_t status = SARAPHIS_OK;
    if (json_type(root) != JSON_OBJECT)
        status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "metadata: expected a JSON object, found %s",
                           json_type_name(json_type(root)));
    const json_value_t *value;
    if (status == SARAPHIS_OK && (value = json_object_get(root, "model_name")) && json_type(value) != JSON_STRING)
        status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "metadata: model_name must be a string, found %s",
                           json_type_name(json_type(value)));
    if (status == SARAPHIS_OK && (value = json_object_get(root, "layer"))) {
        int64_t layer;
        if (json_type(value) != JSON_STRING && !json_get_int64(value, &layer))
            status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "metadata: layer must be an integer or a string, found %s",
                               json_type_name(json_type(value)));
    }
    static const char *const flags[2] = {"require_gpu", "require_cpu"};
    for (int i = 0; i < 2 && status == SARAPHIS_OK; i++) {
        if (!(value = json_object_get(root, flags[i]))) continue;
        bool flag;
        if (!json_get_bool(value, &flag))
            status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "metadata: %s must be true or false, found %s", flags[i],
                               json_type_name(json_type(value)));
        else if (i == 0) metadata->require_gpu = flag;
        else metadata->require_cpu = flag;
    }
    if (status == SARAPHIS_OK && (value = json_object_get(root, "size_mb"))) {
        double size_mb;
        if (!json_get_double(value, &size_mb) || !(size_mb >= 0) || !isfinite(size_mb) || size_mb > 1e12)
            status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "metadata: size_mb must be a number in [0, 1e12]");
        else {
            metadata->has_size = 1;
            metadata->size_mb = size_mb;
        }
    }
    if (status == SARAPHIS_OK && metadata->require_gpu && metadata->require_cpu)
        status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "metadata: require_gpu and require_cpu are both true");
    if (status == SARAPHIS_OK) {
        json_writer_t writer;
        json_writer_init(&writer, 0);
        json_write_value(&writer, root);
        size_t length;
        status = json_writer_finish(&writer, normalized, &length);
        json_writer_free(&writer);
        if (status != SARAPHIS_OK) status = error_set(status, "metadata: cannot re-encode");
    }
    json_free(root);
    return status;
}

/* Decides where a compression runs, or fails hard (require_gpu that cannot be met). */
static saraphis_status_t route(saraphis_system_t *system, const metadata_t *metadata, uint64_t bytes,
                               const strategy_settings_t *settings, request_t *request)
{
    request->mode = SARAPHIS_MODE_CPU;
    uint64_t routed = metadata->has_size ? (uint64_t)(metadata->size_mb * 1048576.0) : bytes;
    if (metadata->require_gpu) {
        if (!system->gpu_available)
            return error_set(SARAPHIS_ERROR_UNSUPPORTED, "metadata require_gpu: no GPU: %s", system->gpu_reason);
        if (system->pressure) {
            pressure_decision_t decision;
            saraphis_status_t status = pressure_route(system->pressure, routed, 1, 0, &decision);
            if (status != SARAPHIS_OK) return error_wrap(status, "metadata require_gpu: ");
        }
        return error_set(SARAPHIS_ERROR_UNSUPPORTED,
                         "metadata require_gpu: a GPU is present but the coordinator compresses on the CPU only "
                         "(GPU compression is not wired in yet)");
    }
    if (metadata->require_cpu) snprintf(request->route_reason, sizeof request->route_reason, "cpu: require_cpu");
    else if (!system->gpu_available)
        snprintf(request->route_reason, sizeof request->route_reason, "cpu: no GPU (%s)", system->gpu_reason);
    else if (!settings->prefer_gpu)
        snprintf(request->route_reason, sizeof request->route_reason, "cpu: strategy %s keeps the GPU free",
                 saraphis_strategy_name(settings->strategy));
    else
        snprintf(request->route_reason, sizeof request->route_reason,
                 "cpu: the coordinator compresses on the CPU only (GPU compression is not wired in yet)");
    return SARAPHIS_OK;
}

static saraphis_status_t check_priority(saraphis_priority_t priority)
{
    if ((unsigned)priority > SARAPHIS_PRIORITY_IDLE)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "priority %d is outside [CRITICAL (0), IDLE (4)]", (int)priority);
    return SARAPHIS_OK;
}

/* Everything a compression needs before it is queued. */
static saraphis_status_t prepare_compress(saraphis_system_t *system, const DLTensor *tensor,
                                          saraphis_priority_t priority, const char *metadata_json,
                                          request_t *request, const char *what)
{
    memset(request, 0, sizeof *request);
    request->kind = REQUEST_COMPRESS;
    request->priority = priority;
    SPS_TRY(check_priority(priority));
    SPS_TRY(tensor_view(tensor, 0, what, &request->view));
    metadata_t metadata;
    saraphis_status_t status = parse_metadata(metadata_json, &metadata, &request->metadata_json);
    if (status != SARAPHIS_OK) return error_wrap(status, "%s: ", what);
    pthread_mutex_lock(&system->lock);
    strategy_settings_t settings = system->settings;
    pthread_mutex_unlock(&system->lock);
    status = route(system, &metadata, request->view.bytes, &settings, request);
    if (status != SARAPHIS_OK) {
        free(request->metadata_json);
        request->metadata_json = NULL;
        return error_wrap(status, "%s: ", what);
    }
    return SARAPHIS_OK;
}

static saraphis_result_t *finish_result(request_t *request)
{
    saraphis_result_t *result = request->result;
    result->timings.queue_ns = request->started_ns - request->enqueued_ns;
    result->timings.gather_ns = request->gather_ns;
    result->timings.codec_ns = request->codec_ns;
    result->timings.total_ns = system_now_ns() - request->enqueued_ns;
    return result;
}

saraphis_status_t saraphis_system_compress(saraphis_system_t *system, const DLTensor *tensor,
                                           saraphis_priority_t priority, const char *metadata_json,
                                           saraphis_result_t **out)
{
    error_clear();
    if (out) *out = NULL;
    if (!system) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "compress: NULL system");
    if (!out) {
        stats_record_failure(system, REQUEST_COMPRESS, SARAPHIS_ERROR_INVALID_ARGUMENT);
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "compress: NULL output");
    }
    request_t request;
    saraphis_status_t status = prepare_compress(system, tensor, priority, metadata_json, &request, "compress");
    if (status == SARAPHIS_OK) status = submit_and_wait(system, &request);
    else stats_record_failure(system, REQUEST_COMPRESS, status);
    free(request.metadata_json);
    if (status != SARAPHIS_OK) return status;
    *out = finish_result(&request);
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_system_compress_batch(saraphis_system_t *system, const DLTensor *const *tensors,
                                                 size_t count, saraphis_priority_t priority,
                                                 const char *const *metadata_json, saraphis_result_t **results,
                                                 saraphis_status_t *statuses)
{
    error_clear();
    if (!system || (count && (!tensors || !results)))
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "compress_batch: NULL argument");
    for (size_t i = 0; i < count; i++) {
        results[i] = NULL;
        if (statuses) statuses[i] = SARAPHIS_OK;
    }
    if (count == 0) return SARAPHIS_OK;
    if (count > SIZE_MAX / sizeof(request_t))
        return error_set(SARAPHIS_ERROR_LIMIT, "compress_batch: %zu items", count);
    request_t *requests = calloc(count, sizeof *requests);
    if (!requests) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "compress_batch: no memory for %zu requests", count);
    waiter_t waiter = {.remaining = 0};
    pthread_cond_init(&waiter.done, NULL);
    saraphis_status_t first_status = SARAPHIS_OK;
    size_t first_failed = count;
    char first_message[SYSTEM_MESSAGE_CAPACITY] = "";
    /* Items that fail before queueing keep their status in requests[i].status. */
    for (size_t i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "compress_batch item %zu", i);
        request_t *request = &requests[i];
        saraphis_status_t status =
            prepare_compress(system, tensors[i], priority, metadata_json ? metadata_json[i] : NULL, request, what);
        if (status == SARAPHIS_OK) {
            request->waiter = &waiter;
            request->enqueued_ns = system_now_ns();
            pthread_mutex_lock(&system->lock);
            unsigned window = system->settings.batch_window;
            pthread_mutex_unlock(&system->lock);
            if (window) wait_until(system, &waiter, window - 1);
            status = enqueue(system, request);
        }
        if (status != SARAPHIS_OK) {
            request->status = status;
            snprintf(request->message, sizeof request->message, "%s", saraphis_last_error());
            request->waiter = NULL;
            stats_record_failure(system, REQUEST_COMPRESS, status);
        }
    }
    wait_until(system, &waiter, 0);
    pthread_cond_destroy(&waiter.done);
    for (size_t i = 0; i < count; i++) {
        request_t *request = &requests[i];
        if (request->status == SARAPHIS_OK && request->result) results[i] = finish_result(request);
        else if (first_failed == count) {
            first_failed = i;
            first_status = request->status;
            snprintf(first_message, sizeof first_message, "%s", request->message);
        }
        if (statuses) statuses[i] = request->status;
        free(request->metadata_json);
    }
    free(requests);
    if (first_status != SARAPHIS_OK) {
        if (strncmp(first_message, "compress_batch item", 19) == 0)
            return error_set(first_status, "%s", first_message);
        return error_set(first_status, "compress_batch item %zu: %s", first_failed, first_message);
    }
    return SARAPHIS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Decompression
 * ------------------------------------------------------------------------------------------- */
/* kDLCPU always; kDLCUDA when this build has CUDA and the device is usable (gpu_output_check
 * names the reason otherwise). */
static saraphis_status_t check_output_device(const saraphis_system_t *system, DLDevice device, const char *what)
{
    if (device.device_type == kDLCPU) return SARAPHIS_OK;
    if (device.device_type == kDLCUDA)
        return gpu_output_check(system->gpu_available, system->gpu_available ? NULL : system->gpu_reason,
                                device.device_id, what);
    return error_set(SARAPHIS_ERROR_UNSUPPORTED, "%s to device type %d: only kDLCPU and kDLCUDA are supported", what,
                     (int)device.device_type);
}

static saraphis_status_t prepare_decompress(const void *bytes, size_t size, saraphis_priority_t priority,
                                            request_t *request, saraphis_frame_info_t *info, const char *what)
{
    memset(request, 0, sizeof *request);
    request->kind = REQUEST_DECOMPRESS;
    request->priority = priority;
    SPS_TRY(check_priority(priority));
    if (!bytes && size) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "%s: bytes is NULL", what);
    saraphis_status_t status = saraphis_frame_info(bytes, size, info);
    if (status != SARAPHIS_OK) return error_wrap(status, "%s: ", what);
    if (info->raw_size > SIZE_MAX - 64) return error_set(SARAPHIS_ERROR_LIMIT, "%s: %llu bytes", what, (unsigned long long)info->raw_size);
    request->frame = bytes;
    request->frame_size = size;
    request->raw_size = info->raw_size;
    return SARAPHIS_OK;
}

typedef struct {
    DLManagedTensor managed;
    int64_t shape[SARAPHIS_MAX_DIMS];
    void *data;
    int on_gpu;      /* data is device memory (cudaMalloc) on gpu_device */
    int gpu_device;
} managed_block_t;

static void managed_deleter(DLManagedTensor *self)
{
    if (!self) return;
    managed_block_t *block = (managed_block_t *)self;
    if (block->on_gpu) gpu_output_free(block->gpu_device, block->data);
    else free(block->data);
    free(block);
}

saraphis_status_t saraphis_system_decompress(saraphis_system_t *system, const void *bytes, size_t size,
                                             DLDevice device, const int64_t *shape, int32_t ndim,
                                             saraphis_priority_t priority, DLManagedTensor **out)
{
    error_clear();
    if (out) *out = NULL;
    if (!system || !out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "decompress: NULL system or output");
    request_t request;
    saraphis_frame_info_t info;
    managed_block_t *block = NULL;
    saraphis_status_t status = check_output_device(system, device, "decompress");
    if (status == SARAPHIS_OK) status = prepare_decompress(bytes, size, priority, &request, &info, "decompress");
    uint64_t elements = 0;
    size_t element_size = status == SARAPHIS_OK ? saraphis_dtype_size(info.dtype) : 1;
    if (status == SARAPHIS_OK) {
        elements = info.raw_size / element_size;
        if (ndim < 0 || ndim > SARAPHIS_MAX_DIMS || (ndim > 0 && !shape))
            status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "decompress: ndim %d (shape %s) is not in [0, %d]", ndim,
                               shape ? "given" : "NULL", SARAPHIS_MAX_DIMS);
        else if (shape) {
            uint64_t shape_elements;
            status = tensor_shape_elements(shape, ndim, &shape_elements);
            if (status == SARAPHIS_OK && shape_elements != elements)
                status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                                   "decompress: shape holds %llu elements, the frame %llu", (unsigned long long)shape_elements,
                                   (unsigned long long)elements);
        }
    }
    int on_gpu = device.device_type == kDLCUDA;
    if (status == SARAPHIS_OK) {
        block = calloc(1, sizeof *block);
        if (!block) {
            status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "decompress: no memory for a tensor");
        } else if (on_gpu) {
            block->on_gpu = 1;
            block->gpu_device = device.device_id;
            status = gpu_output_alloc(device.device_id, (size_t)info.raw_size, &block->data);
            if (status != SARAPHIS_OK) {
                free(block);
                block = NULL;
                status = error_wrap(status, "decompress: ");
            }
        } else {
            if (posix_memalign(&block->data, 64, info.raw_size ? (size_t)info.raw_size : 1) != 0) block->data = NULL;
            if (!block->data) {
                free(block);
                block = NULL;
                status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "decompress: no memory for %llu bytes",
                                   (unsigned long long)info.raw_size);
            }
        }
    }
    if (status != SARAPHIS_OK) {
        stats_record_failure(system, REQUEST_DECOMPRESS, status);
        return status;
    }
    request.output = block->data;
    request.output_capacity = (size_t)info.raw_size;
    request.output_on_gpu = on_gpu;
    request.output_device = device.device_id;
    status = submit_and_wait(system, &request);
    if (status != SARAPHIS_OK) {
        managed_deleter(&block->managed);
        return status;
    }
    DLTensor *tensor = &block->managed.dl_tensor;
    tensor->data = block->data;
    tensor->device = on_gpu ? device : (DLDevice){kDLCPU, 0};
    tensor->dtype = saraphis_dtype_to_dlpack(info.dtype);
    if (shape) {
        memcpy(block->shape, shape, (size_t)ndim * sizeof *shape);
        tensor->ndim = ndim;
    } else {
        block->shape[0] = (int64_t)elements;
        tensor->ndim = 1;
    }
    tensor->shape = block->shape;
    tensor->strides = NULL;
    tensor->byte_offset = 0;
    block->managed.manager_ctx = block;
    block->managed.deleter = managed_deleter;
    *out = &block->managed;
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_system_decompress_into(saraphis_system_t *system, const void *bytes, size_t size,
                                                  const DLTensor *destination, saraphis_priority_t priority)
{
    error_clear();
    if (!system) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "decompress_into: NULL system");
    request_t request;
    saraphis_frame_info_t info;
    tensor_view_t view;
    uint8_t *staging = NULL;
    saraphis_status_t status = prepare_decompress(bytes, size, priority, &request, &info, "decompress_into");
    int on_gpu = status == SARAPHIS_OK && destination && destination->device.device_type == kDLCUDA;
    if (on_gpu) status = check_output_device(system, destination->device, "decompress_into");
    if (status == SARAPHIS_OK) status = tensor_view_ex(destination, 1, on_gpu, "decompress_into destination", &view);
    if (status == SARAPHIS_OK && on_gpu && !view.contiguous)
        status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT,
                           "decompress_into: a kDLCUDA destination must be contiguous (row-major, compact strides)");
    if (status == SARAPHIS_OK && view.dtype != info.dtype)
        status = error_set(SARAPHIS_ERROR_DTYPE, "decompress_into: destination is %s, the frame holds %s",
                           saraphis_dtype_name(view.dtype), saraphis_dtype_name(info.dtype));
    if (status == SARAPHIS_OK && view.bytes != info.raw_size)
        status = error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "decompress_into: destination holds %zu bytes, the frame %llu",
                           view.bytes, (unsigned long long)info.raw_size);
    if (status == SARAPHIS_OK && !view.contiguous) {
        staging = malloc(view.bytes ? view.bytes : 1);
        if (!staging) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "decompress_into: no memory for %zu bytes", view.bytes);
    }
    if (status != SARAPHIS_OK) {
        stats_record_failure(system, REQUEST_DECOMPRESS, status);
        return status;
    }
    request.output = staging ? staging : (uint8_t *)view.data;
    request.output_capacity = view.bytes;
    request.output_on_gpu = on_gpu;
    request.output_device = on_gpu ? destination->device.device_id : 0;
    status = submit_and_wait(system, &request);
    if (status == SARAPHIS_OK && staging) tensor_scatter(&view, staging);
    free(staging);
    return status;
}

/* ---------------------------------------------------------------------------------------------
 * Settings
 * ------------------------------------------------------------------------------------------- */
void system_apply_strategy(saraphis_system_t *system, saraphis_strategy_t concrete, int only_if_adaptive)
{
    pthread_mutex_lock(&system->lock);
    if (only_if_adaptive &&
        (system->strategy != SARAPHIS_STRATEGY_ADAPTIVE || system->settings.strategy == concrete)) {
        pthread_mutex_unlock(&system->lock);
        return;
    }
    strategy_settings(concrete, &system->inputs, &system->settings);
    system->settings_generation++;
    pthread_cond_broadcast(&system->work); /* max_in_flight may have grown */
    pthread_mutex_unlock(&system->lock);
}

saraphis_status_t saraphis_system_optimize(saraphis_system_t *system, saraphis_strategy_t strategy)
{
    error_clear();
    if (!system) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "optimize: NULL system");
    if ((unsigned)strategy > SARAPHIS_STRATEGY_ADAPTIVE)
        return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "optimize: strategy %d is outside [THROUGHPUT (0), ADAPTIVE (4)]",
                         (int)strategy);
    saraphis_strategy_t concrete = strategy;
    if (strategy == SARAPHIS_STRATEGY_ADAPTIVE) {
        pthread_mutex_lock(&system->stats_lock);
        concrete = system->stats.adaptive_choice;
        system->stats.window_count = 0;
        system->stats.window_bytes = system->stats.window_queue_depth_sum = 0;
        system->stats.window_start_ns = system_now_ns();
        pthread_mutex_unlock(&system->stats_lock);
    }
    pthread_mutex_lock(&system->lock);
    if (system->state != SYSTEM_RUNNING) {
        saraphis_status_t status = refused_locked(system);
        pthread_mutex_unlock(&system->lock);
        return status;
    }
    system->strategy = strategy;
    strategy_settings(concrete, &system->inputs, &system->settings);
    system->settings_generation++;
    pthread_cond_broadcast(&system->work);
    pthread_mutex_unlock(&system->lock);
    return SARAPHIS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */
/* The GPU probe caps what the device reports at gpu_memory_limit_mb. */
#ifdef SARAPHIS_WITH_CUDA
static saraphis_status_t limited_cuda_query(void *context, uint64_t *free_bytes, uint64_t *total_bytes)
{
    saraphis_system_t *system = context;
    pressure_probe_t cuda;
    pressure_probe_cuda(&cuda, &system->gpu_device);
    SPS_TRY(cuda.query(cuda.context, free_bytes, total_bytes));
    if (system->gpu_limit_bytes && *total_bytes > system->gpu_limit_bytes) {
        uint64_t used = *total_bytes - *free_bytes;
        *total_bytes = system->gpu_limit_bytes;
        *free_bytes = used >= *total_bytes ? 0 : *total_bytes - used;
    }
    return SARAPHIS_OK;
}
#endif

static saraphis_status_t start_pressure(saraphis_system_t *system)
{
    const saraphis_config_t *config = &system->config;
    system->gpu_device = (int)config_int(config, CFG_gpu_device);
    system->gpu_limit_bytes = (uint64_t)config_int(config, CFG_gpu_memory_limit_mb) << 20;
    system_probe_host(&system->probe);
    system->probe_name = "host";
#ifdef SARAPHIS_WITH_CUDA
    {
        pressure_probe_t probe = {system, limited_cuda_query};
        uint64_t free_bytes, total_bytes;
        if (probe.query(probe.context, &free_bytes, &total_bytes) == SARAPHIS_OK) {
            system->probe = probe;
            system->probe_name = "cuda";
            system->gpu_available = 1;
            snprintf(system->gpu_reason, sizeof system->gpu_reason, "CUDA device %d", system->gpu_device);
        } else {
            snprintf(system->gpu_reason, sizeof system->gpu_reason, "no usable CUDA device %d: %s", system->gpu_device,
                     saraphis_last_error());
        }
    }
#else
    snprintf(system->gpu_reason, sizeof system->gpu_reason, "built without CUDA");
#endif
    error_clear();
    if (!config_bool(config, CFG_enable_memory_pressure)) return SARAPHIS_OK;
    pressure_config_t settings;
    pressure_config_default(&settings);
    settings.low_threshold = config_double(config, CFG_swap_thresholds_low);
    settings.moderate_threshold = config_double(config, CFG_swap_thresholds_moderate);
    settings.high_threshold = config_double(config, CFG_swap_thresholds_high);
    settings.critical_threshold = config_double(config, CFG_swap_thresholds_critical);
    settings.hysteresis_factor = config_double(config, CFG_hysteresis_factor);
    settings.switch_delay_ms = (uint32_t)config_int(config, CFG_switch_delay_ms);
    settings.monitoring_interval_ms = (uint32_t)config_int(config, CFG_monitoring_interval_ms);
    settings.adaptive_thresholds = config_int(config, CFG_memory_pressure_mode) == CONFIG_PRESSURE_ADAPTIVE;
    settings.gpu_memory_threshold_mb = (uint64_t)config_int(config, CFG_gpu_memory_threshold_mb);
    settings.memory_pressure_threshold = config_double(config, CFG_memory_pressure_threshold);
    settings.force_cpu_on_critical = config_bool(config, CFG_force_cpu_on_critical);
    saraphis_status_t status = pressure_create(&system->pressure, &settings, &system->probe);
    if (status == SARAPHIS_OK) status = pressure_sample(system->pressure);
    if (status == SARAPHIS_OK) status = pressure_start(system->pressure);
    if (status != SARAPHIS_OK) return error_wrap(status, "memory-pressure handler: ");
    return SARAPHIS_OK;
}

static saraphis_status_t start_workers(saraphis_system_t *system)
{
    unsigned count = system->worker_count;
    system->workers = calloc(count, sizeof *system->workers);
    system->threads = calloc(count, sizeof *system->threads);
    if (!system->workers || !system->threads)
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "coordinator: no memory for %u workers", count);
    const config_value_t *affinity = &system->config.values[CFG_cpu_affinity];
    for (unsigned i = 0; i < count; i++) {
        system->workers[i].system = system;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        if (affinity->list_count) {
            cpu_set_t set;
            CPU_ZERO(&set);
            for (uint16_t j = 0; j < affinity->list_count; j++) CPU_SET(affinity->list[j], &set);
            pthread_attr_setaffinity_np(&attributes, sizeof set, &set);
        }
        int rc = pthread_create(&system->threads[i], &attributes, worker_main, &system->workers[i]);
        pthread_attr_destroy(&attributes);
        if (rc != 0)
            return error_set(SARAPHIS_ERROR_THREAD, "coordinator: worker thread %u of %u: %s%s", i, count, strerror(rc),
                             affinity->list_count && rc == EINVAL ? " (field cpu_affinity names a CPU this machine lacks?)" : "");
        system->threads_started++;
    }
    return SARAPHIS_OK;
}

static void release_system(saraphis_system_t *system);

saraphis_status_t saraphis_system_create(saraphis_system_t **out, const saraphis_config_t *config)
{
    error_clear();
    if (!out) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "system_create: NULL output");
    *out = NULL;
    saraphis_system_t *system = calloc(1, sizeof *system);
    if (!system) return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "system_create: no memory");
    if (config) system->config = *config;
    else config_defaults(&system->config);
    saraphis_status_t status = saraphis_config_apply_env(&system->config);
    if (status == SARAPHIS_OK) status = saraphis_config_validate(&system->config);
    if (status == SARAPHIS_OK && config_int(&system->config, CFG_codec) == CONFIG_CODEC_BOUNDED) {
        /* Check the bound on a scratch context now rather than at the first request. */
        saraphis_ctx_t *scratch = saraphis_ctx_create();
        if (!scratch) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "system_create: no memory for a codec context");
        else status = set_error_bound(scratch, &system->config);
        if (scratch && status != SARAPHIS_OK) status = error_wrap(status, "fields error_bound/prime/precision: ");
        saraphis_ctx_free(scratch);
    }
    if (status != SARAPHIS_OK) {
        free(system);
        return status;
    }
    pthread_mutex_init(&system->lock, NULL);
    pthread_mutex_init(&system->stats_lock, NULL);
    pthread_cond_init(&system->work, NULL);
    pthread_cond_init(&system->space, NULL);
    pthread_cond_init(&system->idle, NULL);
    system->created_ns = system_now_ns();
    system->state = SYSTEM_RUNNING;
    const saraphis_config_t *c = &system->config;
    int64_t workers = config_int(c, CFG_cpu_workers);
    unsigned cores = threadpool_online_cores();
    system->worker_count = workers < 0 ? cores : (unsigned)workers;
    if (system->worker_count == 0) system->worker_count = 1;
    system->heap_capacity = (size_t)config_int(c, CFG_queue_capacity);
    system->heap = calloc(system->heap_capacity, sizeof *system->heap);
    system->inputs.workers = system->worker_count;
    system->inputs.cores = cores;
    system->inputs.chunk_override = (size_t)config_int(c, CFG_codec_chunk_bytes);
    system->inputs.threads_override = (unsigned)config_int(c, CFG_codec_threads);
    int64_t checksum = config_int(c, CFG_content_checksum);
    system->inputs.checksum_override = checksum == CONFIG_CHECKSUM_AUTO ? -1 : checksum == CONFIG_CHECKSUM_ON;
    system->strategy = (saraphis_strategy_t)config_int(c, CFG_optimization_strategy);
    saraphis_strategy_t concrete = system->strategy == SARAPHIS_STRATEGY_ADAPTIVE ? SARAPHIS_STRATEGY_BALANCED : system->strategy;
    strategy_settings(concrete, &system->inputs, &system->settings);
    if (!system->heap) status = error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "system_create: no memory for the queue");
    if (status == SARAPHIS_OK)
        status = stats_init(&system->stats, (size_t)config_int(c, CFG_stats_window), (size_t)config_int(c, CFG_adaptive_window));
    system->stats.adaptive_choice = SARAPHIS_STRATEGY_BALANCED;
    system->stats.window_start_ns = system->created_ns;
    if (status == SARAPHIS_OK) status = start_pressure(system);
    if (status == SARAPHIS_OK) status = start_workers(system);
    if (status != SARAPHIS_OK) {
        char message[SYSTEM_MESSAGE_CAPACITY];
        snprintf(message, sizeof message, "%s", saraphis_last_error());
        release_system(system);
        return error_set(status, "system_create: %s", message);
    }
    *out = system;
    return SARAPHIS_OK;
}

saraphis_status_t saraphis_system_shutdown(saraphis_system_t *system)
{
    if (!system) return error_set(SARAPHIS_ERROR_INVALID_ARGUMENT, "shutdown: NULL system");
    pthread_mutex_lock(&system->lock);
    if (system->shutdown_started) {
        while (system->state != SYSTEM_STOPPED) pthread_cond_wait(&system->idle, &system->lock);
        pthread_mutex_unlock(&system->lock);
        return SARAPHIS_OK;
    }
    system->shutdown_started = true;
    system->state = SYSTEM_STOPPING;
    pthread_cond_broadcast(&system->work);
    pthread_cond_broadcast(&system->space);
    pthread_mutex_unlock(&system->lock);
    for (unsigned i = 0; i < system->threads_started; i++) pthread_join(system->threads[i], NULL);
    pthread_mutex_lock(&system->lock);
    /* Requests queued while no worker ever started (creation failed half way) cannot exist:
     * create only returns a system whose workers all run. Inline runs finish on their own. */
    while (system->inline_running > 0) pthread_cond_wait(&system->idle, &system->lock);
    system->state = SYSTEM_STOPPED;
    system->stopped_ns = system_now_ns();
    pthread_cond_broadcast(&system->idle);
    pthread_mutex_unlock(&system->lock);
    if (system->pressure) pressure_stop(system->pressure);
    return SARAPHIS_OK;
}

static void release_system(saraphis_system_t *system)
{
    saraphis_system_shutdown(system);
    for (unsigned i = 0; system->workers && i < system->worker_count; i++) slot_release(&system->workers[i].slot);
    free(system->workers);
    for (size_t i = 0; i < system->spare_count; i++) {
        slot_release(system->spare_slots[i]);
        free(system->spare_slots[i]);
    }
    free(system->spare_slots);
    free(system->threads);
    free(system->heap);
    pressure_free(system->pressure);
    stats_release(&system->stats);
    pthread_cond_destroy(&system->work);
    pthread_cond_destroy(&system->space);
    pthread_cond_destroy(&system->idle);
    pthread_mutex_destroy(&system->lock);
    pthread_mutex_destroy(&system->stats_lock);
    free(system);
}

void saraphis_system_free(saraphis_system_t *system)
{
    if (system) release_system(system);
}

/* ---------------------------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------------------------- */
const void *saraphis_result_data(const saraphis_result_t *result) { return result ? result->data : NULL; }
size_t saraphis_result_size(const saraphis_result_t *result) { return result ? result->size : 0; }
uint64_t saraphis_result_raw_size(const saraphis_result_t *result) { return result ? result->raw_size : 0; }
double saraphis_result_ratio(const saraphis_result_t *result)
{
    return result && result->size ? (double)result->raw_size / (double)result->size : 0.0;
}
saraphis_mode_t saraphis_result_mode(const saraphis_result_t *result) { return result ? result->mode : SARAPHIS_MODE_CPU; }
const char *saraphis_result_codec(const saraphis_result_t *result) { return result ? result->codec : ""; }
saraphis_dtype_t saraphis_result_dtype(const saraphis_result_t *result)
{
    return result ? result->dtype : SARAPHIS_DTYPE_UNKNOWN;
}
void saraphis_result_shape(const saraphis_result_t *result, int32_t *ndim, const int64_t **shape)
{
    if (ndim) *ndim = result ? result->ndim : 0;
    if (shape) *shape = result ? result->shape : NULL;
}
void saraphis_result_timings(const saraphis_result_t *result, saraphis_timings_t *timings)
{
    if (!timings) return;
    if (result) *timings = result->timings;
    else memset(timings, 0, sizeof *timings);
}
const char *saraphis_result_route_reason(const saraphis_result_t *result) { return result ? result->route_reason : ""; }
const char *saraphis_result_metadata_json(const saraphis_result_t *result)
{
    return result && result->metadata_json ? result->metadata_json : "{}";
}
void saraphis_result_free(saraphis_result_t *result)
{
    if (!result) return;
    free(result->data);
    free(result->metadata_json);
    free(result);
}
