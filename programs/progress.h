/* A one-line progress bar on stderr, drawn only when stderr is a terminal. */
#ifndef SARAPHIS_PROGRAMS_PROGRESS_H
#define SARAPHIS_PROGRAMS_PROGRESS_H

#include <stdint.h>

typedef struct {
    int enabled;
    const char *label;
    uint64_t total;       /* bytes of the whole job */
    uint64_t base;        /* bytes finished before the current tensor */
    double started;
    double last_drawn;
} progress_t;

void progress_start(progress_t *progress, int enabled, const char *label, uint64_t total);
/* Library callback: done/total of the current tensor. */
void progress_update(void *progress, uint64_t done, uint64_t total);
void progress_next_tensor(progress_t *progress, uint64_t tensor_bytes);
void progress_finish(progress_t *progress);
double progress_now(void);

#endif
