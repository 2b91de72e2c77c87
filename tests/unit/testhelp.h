/*
 * testhelp.h - a minimal C test harness: CHECK macros that print both values
 * with file:line, and a runner that ends with "N passed, N failed".
 */
#ifndef DQ_TESTHELP_H
#define DQ_TESTHELP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_passed, th_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond)                                                                                  \
            th_passed++;                                                                           \
        else {                                                                                     \
            th_failed++;                                                                           \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ == b_)                                                                              \
            th_passed++;                                                                           \
        else {                                                                                     \
            th_failed++;                                                                           \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    a_, b_);                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ && b_ && strcmp(a_, b_) == 0)                                                       \
            th_passed++;                                                                           \
        else {                                                                                     \
            th_failed++;                                                                           \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  got:  %s\n  want: %s\n", __FILE__,         \
                    __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int f0_ = th_failed;                                                                       \
        fn();                                                                                      \
        if (th_failed != f0_)                                                                      \
            fprintf(stderr, "  in %s\n", #fn);                                                     \
    } while (0)

#ifdef DQ_SOURCE_DIR
#include "dq/dq.h"
/* The saved state of the course contract's key ends with its one drift-checked field's daily
 * profile: 8 + 6 x 24 + 4 + 4 + 4 + 1 + 1 bytes (state.c), after the count of profiles. */
#define TH_SENSOR_PROFILE_BYTES (1 + 8 + 6 * 24 + 14)

/* The course's contract, or exit with the loader's message. */
static inline dq_contract *th_sensor_contract(void)
{
    dq_error err;
    dq_contract *c = dq_contract_load(DQ_SOURCE_DIR "/contracts/sensor_readings.yaml", &err);
    if (!c) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return c;
}
#endif

static int th_report(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, th_passed, th_failed);
    return th_failed ? 1 : 0;
}

#endif
