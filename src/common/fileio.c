/* File I/O helpers (fileio.h). */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

saraphis_status_t file_pread_full(int fd, void *buffer, size_t size, uint64_t offset, const char *path)
{
    uint8_t *out = buffer;
    while (size > 0) {
        ssize_t got = pread(fd, out, size > (1u << 30) ? (1u << 30) : size, (off_t)offset);
        if (got < 0) {
            if (errno == EINTR) continue;
            return error_set(SARAPHIS_ERROR_IO, "%s: read at offset %llu failed: %s", path, (unsigned long long)offset, strerror(errno));
        }
        if (got == 0)
            return error_set(SARAPHIS_ERROR_TRUNCATED, "%s: file ends at offset %llu, %zu more bytes expected", path, (unsigned long long)offset, size);
        out += got;
        size -= (size_t)got;
        offset += (uint64_t)got;
    }
    return SARAPHIS_OK;
}

saraphis_status_t file_write_full(int fd, const void *buffer, size_t size, const char *path)
{
    const uint8_t *in = buffer;
    while (size > 0) {
        ssize_t put = write(fd, in, size > (1u << 30) ? (1u << 30) : size);
        if (put < 0) {
            if (errno == EINTR) continue;
            return error_set(SARAPHIS_ERROR_IO, "%s: write failed: %s", path, strerror(errno));
        }
        in += put;
        size -= (size_t)put;
    }
    return SARAPHIS_OK;
}

saraphis_status_t file_size_of(int fd, uint64_t *size, const char *path)
{
    struct stat info;
    if (fstat(fd, &info) != 0) return error_set(SARAPHIS_ERROR_IO, "%s: stat failed: %s", path, strerror(errno));
    if (!S_ISREG(info.st_mode)) return error_set(SARAPHIS_ERROR_IO, "%s: not a regular file", path);
    *size = (uint64_t)info.st_size;
    return SARAPHIS_OK;
}

saraphis_status_t atomic_file_open(atomic_file_t *file, const char *path)
{
    file->fd = -1;
    file->path = strdup(path);
    size_t length = strlen(path) + 32;
    file->temporary_path = malloc(length);
    if (!file->path || !file->temporary_path) {
        free(file->path); free(file->temporary_path);
        file->path = file->temporary_path = NULL;
        return error_set(SARAPHIS_ERROR_OUT_OF_MEMORY, "%s: no memory", path);
    }
    snprintf(file->temporary_path, length, "%s.tmp.XXXXXX", path);
    file->fd = mkstemp(file->temporary_path);
    if (file->fd < 0) {
        saraphis_status_t status = error_set(SARAPHIS_ERROR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(file->path); free(file->temporary_path);
        file->path = file->temporary_path = NULL;
        return status;
    }
    /* mkstemp creates 0600; give the result the usual permissions under the umask. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(file->fd, 0666 & ~mask);
    return SARAPHIS_OK;
}

saraphis_status_t atomic_file_commit(atomic_file_t *file)
{
    if (fsync(file->fd) != 0) return error_set(SARAPHIS_ERROR_IO, "%s: fsync failed: %s", file->temporary_path, strerror(errno));
    if (close(file->fd) != 0) {
        file->fd = -1;
        return error_set(SARAPHIS_ERROR_IO, "%s: close failed: %s", file->temporary_path, strerror(errno));
    }
    file->fd = -1;
    if (rename(file->temporary_path, file->path) != 0)
        return error_set(SARAPHIS_ERROR_IO, "%s: cannot rename %s into place: %s", file->path, file->temporary_path, strerror(errno));
    /* Make the rename itself durable. */
    char *folder_copy = strdup(file->path);
    if (folder_copy) {
        int folder = open(dirname(folder_copy), O_RDONLY | O_DIRECTORY);
        if (folder >= 0) { fsync(folder); close(folder); }
        free(folder_copy);
    }
    free(file->temporary_path);
    file->temporary_path = NULL;
    free(file->path);
    file->path = NULL;
    return SARAPHIS_OK;
}

void atomic_file_abort(atomic_file_t *file)
{
    if (file->fd >= 0) close(file->fd);
    file->fd = -1;
    if (file->temporary_path) unlink(file->temporary_path);
    free(file->temporary_path);
    free(file->path);
    file->temporary_path = file->path = NULL;
}
