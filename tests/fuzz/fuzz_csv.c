/*
 * fuzz_csv.c - libFuzzer target: arbitrary bytes as `dq check --csv` input (cli/csv.c).
 *
 * The first line is the header, each later one a row. A row that converts must be a JSON
 * object libdq can parse: never MALFORMED_JSON (its bytes may still be invalid UTF-8).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dq/dq.h"

static dq_contract *ctr;
static dq_engine *eng;
static char json[(1u << 16) + 4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!(ctr = dq_contract_load(DQ_SOURCE_DIR "/contracts/sensor_readings.yaml", NULL)) ||
        !(eng = dq_engine_new(ctr, NULL)))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *text = (const char *)data, *end = text + size;
    const char *nl = memchr(text, '\n', size);
    cli_csv *csv = cli_csv_new(size && data[0] & 1 ? ';' : ',', "sensor_id=sensor_1,battery=3.1");
    char err[160];
    if (!csv || !nl || !cli_csv_header(csv, text, (size_t)(nl - text), "timestamp=ts,temperature=t", err, sizeof err)) {
        cli_csv_free(csv);
        return 0;
    }
    for (const char *line = nl + 1; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t len = (size_t)((eol ? eol : end) - line);
        size_t n = cli_csv_row_json(csv, line, len, json, sizeof json);
        if (n) {
            dq_result res;
            dq_engine_eval_n(eng, json, n, &res);
            if (res.reasons & (1ull << DQ_R_MALFORMED_JSON))
                abort();
        }
        line += len + 1;
    }
    cli_csv_free(csv);
    return 0;
}
