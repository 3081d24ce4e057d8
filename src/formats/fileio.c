/* fileio.c: whole-file reads with a size limit, and atomic writes
 * (hidden temporary file in the same directory, fsync, rename) so that a failed or
 * interrupted run never truncates a file that was already there. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flipscope/model_io.h"

fsc_status fsc_read_file(const char *path, size_t max_bytes, void **data, size_t *len, fsc_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fsc_fail(err, FSC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fsc_fail(err, FSC_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    if (max_bytes && n > max_bytes) {
        close(fd);
        return fsc_fail(err, FSC_ERR_LIMIT,
                        "%s: file is %zu bytes, over the max_file_bytes limit of %zu (raise it with --limit "
                        "max_file_bytes=N)",
                        path, n, max_bytes);
    }
    char *buf = fsc_malloc(n + 1, path, err);
    if (!buf) {
        close(fd);
        return FSC_ERR_NOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            close(fd);
            return fsc_fail(err, FSC_ERR_IO, "%s: read failed after %zu of %zu bytes", path, got, n);
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = '\0'; /* convenient for text formats; not counted in len */
    *data = buf;
    *len = n;
    return FSC_OK;
}

/* Test hook: with FSC_TEST_FAIL_WRITE_AFTER=N in the environment every write
 * fails after N bytes of a file, as on a full disk, so tests can check that a
 * writer killed midway leaves the previous file intact (tests/hardening).
 * Read-only process state; unset, it costs one getenv per file written. */
static size_t write_budget(void)
{
    const char *s = getenv("FSC_TEST_FAIL_WRITE_AFTER");
    if (!s || !*s) return SIZE_MAX;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    return *end ? SIZE_MAX : (size_t)v;
}

fsc_status fsc_write_file_atomic(const char *path, const void *data, size_t len, fsc_error *err)
{
    size_t budget = write_budget();
    size_t pl = strlen(path);
    char *tmp = fsc_malloc(pl + 32, "a temporary file name", err);
    if (!tmp) return FSC_ERR_NOMEM;
    /* hidden name in the same directory: a run killed mid-write leaves no file that
       looks like the one being written (no "report.md.tmp.*" beside "report.md") */
    const char *base = strrchr(path, '/');
    size_t dl = base ? (size_t)(base - path) + 1 : 0;
    snprintf(tmp, pl + 32, "%.*s.%s.tmp.%ld", (int)dl, path, path + dl, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fsc_status s = fsc_fail(err, FSC_ERR_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
        free(tmp);
        return s;
    }
    const char *p = data;
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done;
        if (budget != SIZE_MAX) chunk = done >= budget ? 0 : (chunk < budget - done ? chunk : budget - done);
        ssize_t w = -1;
        if (chunk) w = write(fd, p + done, chunk);
        else errno = ENOSPC; /* the injected failure */
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fsc_status s = fsc_fail(err, FSC_ERR_IO, "%s: write failed: %s", path, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return s;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fsc_status s = fsc_fail(err, FSC_ERR_IO, "%s: could not flush to disk: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return s;
    }
    if (rename(tmp, path) != 0) {
        fsc_status s = fsc_fail(err, FSC_ERR_IO, "%s: cannot move into place: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return s;
    }
    free(tmp);
    return FSC_OK;
}
