/*
 * alloc.c - the one allocation wrapper of libdq.
 *
 * Every allocation goes through here so that tests built with
 * DQ_FAULT_INJECTION can make the Nth allocation fail and prove each error path
 * cleans up. In normal builds these are thin calls to the C library.
 */
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
