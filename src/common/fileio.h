/* POSIX file I/O that finishes the job: short reads and writes are continued, EINTR retried,
 * and every failure becomes SARAPHIS_ERROR_IO with the path and offset in the message. Atomic
 * replacement of a file goes through a temporary file in the same folder, fsync and rename. */
#ifndef SARAPHIS_COMMON_FILEIO_H
#define SARAPHIS_COMMON_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "saraphis.h"

saraphis_status_t file_pread_full(int fd, void *buffer, size_t size, uint64_t offset, const char *path);
saraphis_status_t file_write_full(int fd, const void *buffer, size_t size, const char *path);
saraphis_status_t file_size_of(int fd, uint64_t *size, const char *path);

/* A file being written under a temporary name beside its destination. */
typedef struct {
    int fd;
    char *path;
    char *temporary_path;
} atomic_file_t;

saraphis_status_t atomic_file_open(atomic_file_t *file, const char *path);
/* fsync, rename over the destination, fsync the folder. */
saraphis_status_t atomic_file_commit(atomic_file_t *file);
/* Removes the temporary file if it was not committed; the destination is untouched. */
void atomic_file_abort(atomic_file_t *file);

#endif
