/* status.c: error codes, context-carrying messages, checked allocation. */
#include "flipscope/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fsc_status fsc_fail(fsc_error *err, fsc_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void fsc_error_prefix(fsc_error *err, const char *fmt, ...)
{
    if (!err) return;
    char head[FSC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    char old[FSC_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Truncation is acceptable here: a long context still leaves a useful message. */
    size_t hl = strnlen(head, sizeof head - 3);
    memcpy(err->msg, head, hl);
    memcpy(err->msg + hl, ": ", 2);
    size_t room = sizeof err->msg - hl - 3;
    size_t ol = strnlen(old, room);
    memcpy(err->msg + hl + 2, old, ol);
    err->msg[hl + 2 + ol] = '\0';
}

void fsc_error_clear(fsc_error *err)
{
    if (!err) return;
    err->code = FSC_OK;
    err->msg[0] = '\0';
}

const char *fsc_status_name(fsc_status s)
{
    switch (s) {
    case FSC_OK: return "ok";
    case FSC_ERR_INVALID: return "invalid";
    case FSC_ERR_IO: return "io";
    case FSC_ERR_NOMEM: return "out-of-memory";
    case FSC_ERR_UNSUPPORTED: return "unsupported";
    case FSC_ERR_LIMIT: return "limit";
    case FSC_ERR_FORMAT: return "format";
    case FSC_ERR_UNAVAILABLE: return "unavailable";
    case FSC_ERR_INTERNAL: return "internal";
    }
    return "unknown";
}

void *fsc_malloc(size_t n, const char *what, fsc_error *err)
{
    void *p = malloc(n ? n : 1);
    if (!p) fsc_fail(err, FSC_ERR_NOMEM, "out of memory allocating %zu bytes for %s", n, what);
    return p;
}

void *fsc_calloc(size_t count, size_t size, const char *what, fsc_error *err)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) fsc_fail(err, FSC_ERR_NOMEM, "out of memory allocating %zu x %zu bytes for %s", count, size, what);
    return p;
}
