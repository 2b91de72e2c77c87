/*
 * fuzz_state.c - libFuzzer target: arbitrary bytes as a key's saved state.
 *
 * dq gate reads saved state back from a Kafka topic anyone with access can write
 * to, so restoring must refuse what it cannot read, and whatever it accepts must be
 * safe to evaluate against and save again byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "dq/dq.h"

static dq_contract *ctr;
static dq_engine *eng, *again;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dq_error err;
    ctr = dq_contract_load(DQ_SOURCE_DIR "/contracts/sensor_readings.yaml", &err);
    if (!ctr || !(eng = dq_engine_new(ctr, &err)) || !(again = dq_engine_new(ctr, &err)))
        abort();
    dq_engine_set_now(eng, 1795666380000LL);
    return 0;
}

static void same_again(const char *key, size_t key_len, const void *state, size_t len, void *opaque)
{
    (void)key, (void)key_len, (void)opaque;
    /* What the engine saves after evaluating must restore again. */
    if (len > DQ_STATE_MAX_BYTES || dq_engine_state_restore(again, "k2", 2, state, len) != DQ_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char event[] =
        "{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:13:00Z\",\"temperature\":21,\"humidity\":40}";
    dq_result res;
    dq_engine_state_clear(eng);
    if (dq_engine_state_restore(eng, "sensor_1", 8, data, size) != DQ_OK)
        return 0;
    if (dq_engine_eval_n(eng, event, sizeof event - 1, &res) != DQ_OK)
        abort();
    dq_engine_state_changes(eng, same_again, NULL);
    return 0;
}
