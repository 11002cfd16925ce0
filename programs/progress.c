/* Progress bar (progress.h). Redraws at most ten times a second. */
#include "progress.h"

#include <stdio.h>
#include <time.h>

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_start(progress_t *progress, int enabled, const char *label, uint64_t total)
{
    progress->enabled = enabled;
    progress->label = label;
    progress->total = total ? total : 1;
    progress->base = 0;
    progress->started = progress_now();
    progress->last_drawn = 0;
}

static void draw(progress_t *progress, uint64_t done, int force)
{
    double now = progress_now();
    if (!force && now - progress->last_drawn < 0.1) return;
    progress->last_drawn = now;
    double fraction = (double)done / (double)progress->total;
    if (fraction > 1) fraction = 1;
    int width = 30, filled = (int)(fraction * width);
    double elapsed = now - progress->started;
    double rate = elapsed > 0 ? (double)done / elapsed / 1e6 : 0;
    fprintf(stderr, "\r%-10s [", progress->label);
    for (int i = 0; i < width; i++) fputc(i < filled ? '=' : (i == filled ? '>' : ' '), stderr);
    fprintf(stderr, "] %3d%%  %8.1f MB/s", (int)(fraction * 100), rate);
    fflush(stderr);
}

void progress_update(void *progress_ptr, uint64_t done, uint64_t total)
{
    progress_t *progress = progress_ptr;
    (void)total;
    if (progress->enabled) draw(progress, progress->base + done, 0);
}

void progress_next_tensor(progress_t *progress, uint64_t tensor_bytes) { progress->base += tensor_bytes; }

void progress_finish(progress_t *progress)
{
    if (!progress->enabled) return;
    draw(progress, progress->total, 1);
    fputc('\n', stderr);
}
