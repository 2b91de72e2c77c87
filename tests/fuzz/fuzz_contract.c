/*
 * fuzz_contract.c - libFuzzer target: arbitrary bytes as a contract.
 *
 * A contract either compiles (and then an engine can be built and evaluate an
 * event) or fails with a message that names the input and a line.
 */
#include <stdlib.h>
#include <string.h>

#include "dq/dq.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    dq_error err;
    dq_contract *ctr = dq_contract_parse_n((const char *)data, size, "fuzz.yaml", &err);
    if (!ctr) {
        if (strncmp(err.msg, "fuzz.yaml:", 10) != 0)
            abort();
        return 0;
    }
    dq_engine *eng = dq_engine_new(ctr, &err);
    if (eng) {
        static const char ev[] = "{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:13:00Z\",\"temperature\":1}";
        dq_result res;
        dq_engine_eval_n(eng, ev, sizeof ev - 1, &res);
        dq_engine_flush(eng);
        dq_engine_free(eng);
    }
    dq_contract_free(ctr);
    return 0;
}
