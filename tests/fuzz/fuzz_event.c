/*
 * fuzz_event.c - libFuzzer target: arbitrary bytes as one event.
 *
 * Every input must give exactly one verdict, a REJECT must carry a reason, and a
 * non-REJECT must come with clean output that is itself an acceptable event for
 * the same contract (the canonical form is stable). ASan/UBSan catch the rest.
 */
#include <stdlib.h>
#include <string.h>

#include "dq/dq.h"

static dq_contract *ctr;
static dq_engine *eng;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dq_error err;
    ctr = dq_contract_load(DQ_SOURCE_DIR "/contracts/sensor_readings.yaml", &err);
    if (!ctr)
        abort();
    eng = dq_engine_new(ctr, &err);
    if (!eng)
        abort();
    dq_engine_set_now(eng, 1795666380000LL);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dq_result res;
    if (dq_engine_eval_n(eng, (const char *)data, size, &res) != DQ_OK)
        abort();
    if (res.verdict == DQ_REJECT) {
        if (res.reasons == 0 || res.clean)
            abort();
        char rec[256];
        size_t need = dq_reject_json(&res, "\"line\":1", (const char *)data, size, rec, sizeof rec);
        if (need >= sizeof rec) {
            char *big = malloc(need + 1);
            if (!big || dq_reject_json(&res, "\"line\":1", (const char *)data, size, big, need + 1) >= need + 1)
                abort();
            free(big);
        }
    } else {
        if (!res.clean || res.clean_len == 0 || res.clean[0] != '{')
            abort();
        /* The clean output must parse again (under a fresh engine: no state effects). */
        dq_error err;
        dq_engine *again = dq_engine_new(ctr, &err);
        dq_result r2;
        char *copy = malloc(res.clean_len);
        memcpy(copy, res.clean, res.clean_len);
        dq_engine_eval_n(again, copy, res.clean_len, &r2);
        /* "dq" is an undeclared member in the clean output, so it is FIXED (dropped), never REJECT. */
        if (r2.verdict == DQ_REJECT)
            abort();
        free(copy);
        dq_engine_free(again);
    }
    return 0;
}
