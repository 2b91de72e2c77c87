/*
 * alloc.c - the one allocation wrapper of libdq, and reading a whole file.
 *
 * Every allocation goes through here so that tests built with
 * DQ_FAULT_INJECTION can make the Nth allocation fail and prove each error path
 * cleans up. In normal builds these are thin calls to the C library.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dq_int.h"

#ifdef DQ_FAULT_INJECTION
/* Test-only: the allocation number to fail (1-based), 0 = never. Not thread-safe. */
long dq_fault_fail_at;
long dq_fault_count;
static bool fault_hit(void)
{
    return dq_fault_fail_at > 0 && ++dq_fault_count == dq_fault_fail_at;
}
#else
static bool fault_hit(void) { return false; }
#endif

void *dq_malloc(size_t size) { return fault_hit() ? NULL : malloc(size ? size : 1); }

void *dq_calloc(size_t n, size_t size) { return fault_hit() ? NULL : calloc(n ? n : 1, size ? size : 1); }

void *dq_realloc(void *ptr, size_t size) { return fault_hit() ? NULL : realloc(ptr, size ? size : 1); }

void dq_free(void *ptr) { free(ptr); }

char *dq_strndup(const char *s, size_t len)
{
    char *p = dq_malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *dq_read_file(const char *path, size_t max, size_t *len, dq_error *err)
{
    if (!path) {
        dq_error_set(err, DQ_ERR_ARG, 0, "no path");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        dq_error_set(err, DQ_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used == cap) {
            if (cap >= max) {
                dq_error_set(err, DQ_ERR_IO, 0, "%s: larger than %zu MiB", path, max >> 20);
                break;
            }
            cap = cap ? cap * 2 : 8192;
            char *t = dq_realloc(text, cap);
            if (!t) {
                dq_error_set(err, DQ_ERR_NOMEM, 0, "%s: out of memory", path);
                break;
            }
            text = t;
        }
        size_t n = fread(text + used, 1, cap - used, f);
        used += n;
        if (n == 0) {
            if (ferror(f))
                dq_error_set(err, DQ_ERR_IO, 0, "%s: read error", path);
            else {
                fclose(f);
                *len = used;
                return text;
            }
            break;
        }
    }
    fclose(f);
    dq_free(text);
    return NULL;
}
