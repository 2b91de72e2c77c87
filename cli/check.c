/*
 * check.c - `dq check`: NDJSON in, clean / rejected / metrics out, no services.
 *
 * Memory is bounded whatever the input: lines are read through a fixed buffer
 * (longer lines are cut at the contract's maxEventBytes and rejected OVERSIZED),
 * and outputs are streamed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dq/dq.h"

static const char help[] =
    "usage: dq check --contract FILE [--input FILE|-] [--clean FILE] [--rejects FILE]\n"
    "                [--metrics FILE] [--prometheus FILE] [--summary FILE] [--now TIME]\n"
    "                [--model FILE] [--csv [--csv-delimiter C] [--csv-map F=COL,...]\n"
    "                [--csv-set F=VALUE,...]] [--progress] [--quiet] [--fail-on-reject]\n"
    "\n"
    "Validates every line of NDJSON input (or CSV rows, --csv) against the contract. Each\n"
    "event gets one verdict: PASS, FIXED (cleaned; dq.findings says what changed) or REJECT.\n"
    "\n"
    "  -c, --contract FILE   the data contract (YAML)\n"
    "  -i, --input FILE      events, one JSON object a line; - or absent = stdin\n"
    "      --clean FILE      PASS and FIXED events, canonical JSON with a \"dq\" member\n"
    "                        (- = stdout; each output is written only when named)\n"
    "      --rejects FILE    REJECT records: {\"line\":N,\"dq\":{..},\"raw\":\"<original>\"}\n"
    "      --metrics FILE    windowed quality metrics (NDJSON), per sensor and overall\n"
    "      --prometheus FILE totals in the Prometheus text format\n"
    "      --summary FILE    totals as one JSON object\n"
    "      --now TIME        'now' for the future-timestamp rule: ISO-8601 or epoch ms\n"
    "                        (default: the wall clock)\n"
    "      --model FILE      score anomalies with this exported model (make train writes\n"
    "                        models/sensor-anomaly.dqm) instead of the online detector\n"
    "      --csv             the input is CSV with a header row: each row becomes an event with\n"
    "                        a member per column (numbers as numbers, empty cells missing)\n"
    "      --csv-delimiter C the field separator (default ,; SKAB uses ;)\n"
    "      --csv-map F=COL   name column COL as the contract's field F (comma-separated pairs)\n"
    "      --csv-set F=VALUE a constant field in every event, e.g. sensor_id=valve1\n"
    "      --progress        progress on stderr (default when stderr is a terminal)\n"
    "  -q, --quiet           no summary on stderr\n"
    "      --fail-on-reject  exit 1 if any event was rejected\n"
    "\n"
    "Exit codes: 0 ok, 1 rejects with --fail-on-reject, 2 usage, 3 contract or model,\n"
    "4 input/output, 6 out of memory.\n"
    "\n"
    "example:\n"
    "  dq check -c contracts/sensor_readings.yaml -i events.ndjson \\\n"
    "           --clean clean.ndjson --rejects rejects.ndjson --metrics metrics.ndjson\n";

typedef struct check_opts {
    const char *contract, *input, *clean, *rejects, *metrics, *prometheus, *summary, *now, *model;
    bool csv;
    char csv_delim;
    const char *csv_map, *csv_set;
    bool progress, quiet, fail_on_reject;
} check_opts;

static void on_window(const dq_window_stats *st, void *opaque)
{
    char buf[8192];
    size_t n = dq_window_stats_json(st, buf, sizeof buf);
    if (n < sizeof buf)
        cli_out_line(opaque, buf, n);
}


static void write_summary(FILE *out, const dq_totals *t, double secs, bool json)
{
    double n = t->events ? (double)t->events : 1.0;
    if (json) {
        fprintf(out, "{\"events\":%" PRIu64 ",\"pass\":%" PRIu64 ",\"fixed\":%" PRIu64 ",\"reject\":%" PRIu64
                     ",\"seconds\":%.6f,\"sensors\":%" PRIu64 ",\"state_evicted\":%" PRIu64
                     ",\"state_overflow\":%" PRIu64 ",\"anomalies_scored\":%" PRIu64 ",\"anomalies\":%" PRIu64
                     ",\"reasons\":{",
                t->events, t->verdicts[DQ_PASS], t->verdicts[DQ_FIXED], t->verdicts[DQ_REJECT], secs, t->keys,
                t->state_evicted, t->state_overflow, t->anomalies_scored, t->anomalies);
        bool first = true;
        for (int r = 1; r < DQ_REASON__COUNT; r++)
            if (t->reasons[r]) {
                fprintf(out, "%s\"%s\":%" PRIu64, first ? "" : ",", dq_reason_name(r), t->reasons[r]);
                first = false;
            }
        fprintf(out, "}}\n");
        return;
    }
    fprintf(out, "dq check: %" PRIu64 " events in %.2f s (%.2f M events/s), sensors seen: %" PRIu64 "\n", t->events, secs,
            secs > 0 ? (double)t->events / secs / 1e6 : 0.0, t->keys);
    if (t->state_evicted || t->state_overflow) /* the contract's limits.maxKeys was reached */
        fprintf(out, "  sensors forgotten (least recently seen): %" PRIu64 "; events judged without state: %" PRIu64
                     " (limits.maxKeys)\n", t->state_evicted, t->state_overflow);
    static const char *const names[3] = {"PASS", "FIXED", "REJECT"};
    for (int v = 0; v < 3; v++)
        fprintf(out, "  %-7s %12" PRIu64 "  %6.2f%%\n", names[v], t->verdicts[v], 100.0 * (double)t->verdicts[v] / n);
    for (int r = 1; r < DQ_REASON__COUNT; r++)
        if (t->reasons[r])
            fprintf(out, "  %-20s %12" PRIu64 "\n", dq_reason_name(r), t->reasons[r]);
    if (t->anomalies_scored)
        fprintf(out, "  anomalies: %" PRIu64 " of %" PRIu64 " scored readings flagged\n", t->anomalies,
                t->anomalies_scored);
}

static int parse_args(int argc, char **argv, check_opts *o)
{
    enum { O_CLEAN = 256, O_REJECTS, O_METRICS, O_PROM, O_SUMMARY, O_NOW, O_PROGRESS, O_FAIL, O_MODEL, O_CSV,
           O_CSV_DELIM, O_CSV_MAP, O_CSV_SET };
    static const struct option longopts[] = {
        {"contract", required_argument, NULL, 'c'}, {"input", required_argument, NULL, 'i'},
        {"clean", required_argument, NULL, O_CLEAN}, {"rejects", required_argument, NULL, O_REJECTS},
        {"metrics", required_argument, NULL, O_METRICS}, {"prometheus", required_argument, NULL, O_PROM},
        {"summary", required_argument, NULL, O_SUMMARY}, {"now", required_argument, NULL, O_NOW},
        {"progress", no_argument, NULL, O_PROGRESS}, {"quiet", no_argument, NULL, 'q'},
        {"fail-on-reject", no_argument, NULL, O_FAIL}, {"model", required_argument, NULL, O_MODEL},
        {"csv", no_argument, NULL, O_CSV}, {"csv-delimiter", required_argument, NULL, O_CSV_DELIM},
        {"csv-map", required_argument, NULL, O_CSV_MAP}, {"csv-set", required_argument, NULL, O_CSV_SET},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:i:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->contract = optarg; break;
        case 'i': o->input = optarg; break;
        case O_CLEAN: o->clean = optarg; break;
        case O_REJECTS: o->rejects = optarg; break;
        case O_METRICS: o->metrics = optarg; break;
        case O_PROM: o->prometheus = optarg; break;
        case O_SUMMARY: o->summary = optarg; break;
        case O_NOW: o->now = optarg; break;
        case O_MODEL: o->model = optarg; break;
        case O_CSV: o->csv = true; break;
        case O_CSV_DELIM:
            if (strlen(optarg) != 1) {
                fprintf(stderr, "dq check: --csv-delimiter takes one character, got '%s'\n", optarg);
                return CLI_EXIT_USAGE;
            }
            o->csv_delim = optarg[0];
            break;
        case O_CSV_MAP: o->csv_map = optarg; break;
        case O_CSV_SET: o->csv_set = optarg; break;
        case O_PROGRESS: o->progress = true; break;
        case 'q': o->quiet = true; break;
        case O_FAIL: o->fail_on_reject = true; break;
        case 'h': fputs(help, stdout); return -1;
        default: fputs(help, stderr); return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dq check: unexpected argument '%s'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!o->contract) {
        fprintf(stderr, "dq check: --contract is required (try contracts/sensor_readings.yaml)\n");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int cli_cmd_check(int argc, char **argv)
{
    check_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;

    dq_error error;
    int64_t now_ms = cli_now_ms();
    if (o.now && !cli_parse_time_arg(o.now, &now_ms)) {
        fprintf(stderr, "dq check: --now '%s' is neither ISO-8601 nor epoch ms\n", o.now);
        return CLI_EXIT_USAGE;
    }
    dq_contract *ctr = dq_contract_load(o.contract, &error);
    if (!ctr)
        return cli_fail("check", &error);
    dq_engine *eng = dq_engine_new(ctr, &error);
    dq_model *model = NULL;
    if (eng && o.model && (!(model = dq_model_load(o.model, &error)) || dq_engine_set_model(eng, model, &error))) {
        dq_engine_free(eng);
        eng = NULL;
    }
    FILE *in = NULL, *clean = NULL, *rejects = NULL, *metrics = NULL;
    cli_lines *lines = NULL;
    char *rbuf = NULL;
    size_t rcap = 0;
    bool io_failed = false;
    if (!eng)
        rc = cli_fail("check", &error);
    if (rc == CLI_EXIT_OK) {
        in = !o.input || strcmp(o.input, "-") == 0 ? stdin : fopen(o.input, "rb");
        if (!in) {
            fprintf(stderr, "dq check: cannot open %s: %s\n", o.input, strerror(errno));
            rc = CLI_EXIT_IO;
        }
    }
    const char *every_out[5] = {o.clean, o.rejects, o.metrics, o.summary, o.prometheus};
    for (int k = 0; k < 5 && rc == CLI_EXIT_OK; k++)
        if (cli_is_input(in, every_out[k])) {
            fprintf(stderr, "dq check: refusing to write %s: it is the input (writing would empty it first)\n",
                    every_out[k]);
            rc = CLI_EXIT_USAGE;
        }
    static const char *const names[5] = {"--clean", "--rejects", "--metrics", "--summary", "--prometheus"};
    for (int a = 0; a < 5 && rc == CLI_EXIT_OK; a++)
        for (int b = a + 1; b < 5 && rc == CLI_EXIT_OK; b++)
            if (cli_same_output(every_out[a], every_out[b])) {
                fprintf(stderr, "dq check: %s and %s are one file (%s, %s): one would overwrite the other; "
                        "give each output its own file\n", names[a], names[b], every_out[a], every_out[b]);
                rc = CLI_EXIT_USAGE;
            }
    const char *outs[3] = {o.clean, o.rejects, o.metrics};
    FILE **fps[3] = {&clean, &rejects, &metrics};
    for (int k = 0; k < 3 && rc == CLI_EXIT_OK; k++)
        if (outs[k] && !(*fps[k] = cli_open_out(outs[k]))) {
            fprintf(stderr, "dq check: cannot write %s: %s\n", outs[k], strerror(errno));
            rc = CLI_EXIT_IO;
        }
    /* The three outputs' lines through buffers; outputs that are one stream (-) share one, so
     * that their lines keep the events' order. */
    cli_out *bufs[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3 && rc == CLI_EXIT_OK; k++) {
        for (int j = 0; j < k && *fps[k]; j++)
            if (*fps[j] == *fps[k])
                bufs[k] = bufs[j];
        if (*fps[k] && !bufs[k] && !(bufs[k] = cli_out_open(*fps[k]))) {
            fprintf(stderr, "dq check: out of memory\n");
            rc = CLI_EXIT_NOMEM;
        }
    }
    cli_out *clean_out = bufs[0], *rejects_out = bufs[1], *metrics_out = bufs[2];
    if (rc == CLI_EXIT_OK && !(lines = cli_lines_open(in, 1u << 24))) {
        fprintf(stderr, "dq check: out of memory\n");
        rc = CLI_EXIT_NOMEM;
    }
    /* --csv: each row becomes a JSON event in row_json; the header is the first line. */
    cli_csv *csv = NULL;
    char *row_json = NULL;
    size_t row_cap = (1u << 20) + 65536;
    if (rc == CLI_EXIT_OK && o.csv) {
        const char *header;
        size_t header_len;
        bool header_cut, read_err;
        uint64_t ignored;
        char why[160];
        if (!(csv = cli_csv_new(o.csv_delim ? o.csv_delim : ',', o.csv_set)) || !(row_json = malloc(row_cap))) {
            fprintf(stderr, "dq check: out of memory\n");
            rc = CLI_EXIT_NOMEM;
        } else if (!cli_lines_next(lines, &header, &header_len, &header_cut, &ignored, &read_err) || header_cut ||
                   !cli_csv_header(csv, header, header_len, o.csv_map, why, sizeof why)) {
            fprintf(stderr, "dq check: --csv: %s\n", read_err ? "cannot read the header" : header_len ? why
                                                                                           : "no header row");
            rc = CLI_EXIT_IO;
        }
    }
    if (rc == CLI_EXIT_OK) {
        dq_engine_set_now(eng, now_ms);
        if (metrics)
            dq_engine_set_window_cb(eng, on_window, metrics_out);
        bool progress = o.progress || (!o.quiet && isatty(STDERR_FILENO));
        double t0 = cli_mono_s(), last_report = t0;
        uint64_t lineno = csv ? 1 : 0;
        const char *line;
        size_t len;
        bool cut, err;
        uint64_t full_len;
        while (cli_lines_next(lines, &line, &len, &cut, &full_len, &err)) {
            dq_result res;
            lineno++;
            /* A cut line is longer than any contract limit (16 MiB): OVERSIZED. A CSV row that
             * does not convert is judged as its raw text: MALFORMED_JSON, its bytes kept. */
            size_t event_len = csv && !cut ? cli_csv_row_json(csv, line, len, row_json, row_cap) : 0;
            if (event_len)
                dq_engine_eval_n(eng, row_json, event_len, &res);
            else
                dq_engine_eval_n(eng, line, cut ? (size_t)full_len : len, &res);
            if (res.verdict != DQ_REJECT) {
                if (clean_out)
                    cli_out_line(clean_out, res.clean, res.clean_len);
            } else if (rejects) {
                char extra[96];
                snprintf(extra, sizeof extra, "\"line\":%" PRIu64 "%s", lineno, cut ? ",\"raw_truncated\":true" : "");
                size_t need = dq_reject_json(&res, extra, line, len, rbuf, rcap);
                if (need >= rcap) {
                    free(rbuf);
                    rcap = need + 1;
                    rbuf = malloc(rcap);
                    if (!rbuf) {
                        fprintf(stderr, "dq check: out of memory\n");
                        rc = CLI_EXIT_IO;
                        break;
                    }
                    need = dq_reject_json(&res, extra, line, len, rbuf, rcap);
                }
                cli_out_line(rejects_out, rbuf, need);
            }
            if (progress && (lineno & 0xFFFF) == 0) {
                double t = cli_mono_s();
                if (t - last_report >= 1.0) {
                    fprintf(stderr, "\rdq check: %" PRIu64 " events, %.2f M events/s ", lineno,
                            (double)lineno / (t - t0) / 1e6);
                    last_report = t;
                }
            }
        }
        if (err) {
            fprintf(stderr, "dq check: read error on %s: %s\n", o.input ? o.input : "stdin", strerror(errno));
            rc = CLI_EXIT_IO;
        }
        dq_engine_flush(eng);
        for (int k = 0; k < 3; k++) /* before the summary and totals, which may go to the same stream */
            cli_out_flush(bufs[k]);
        double secs = cli_mono_s() - t0;
        if (progress)
            fputc('\n', stderr);
        dq_totals t;
        dq_engine_totals(eng, &t);
        if (!o.quiet)
            write_summary(stderr, &t, secs, false);
        if (o.summary) {
            FILE *s = cli_open_out(o.summary);
            if (s)
                write_summary(s, &t, secs, true);
            else
                io_failed = true;
            cli_close_out(s, o.summary, &io_failed);
        }
        if (o.prometheus) {
            char prom[16384];
            FILE *p = cli_open_out(o.prometheus);
            size_t n = dq_totals_prometheus(&t, "dq", prom, sizeof prom);
            if (p && n < sizeof prom)
                fwrite(prom, 1, n, p);
            else
                io_failed = true;
            cli_close_out(p, o.prometheus, &io_failed);
        }
        if (rc == CLI_EXIT_OK && o.fail_on_reject && t.verdicts[DQ_REJECT] > 0)
            rc = CLI_EXIT_REJECTS;
    }
    for (int k = 0; k < 3; k++) {
        for (int j = k + 1; j < 3; j++)
            if (bufs[j] == bufs[k])
                bufs[j] = NULL; /* shared: freed once */
        cli_out_free(bufs[k]);
    }
    for (int k = 0; k < 3; k++)
        cli_close_out(*fps[k], outs[k], &io_failed);
    if (io_failed && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_IO;
    if (in && in != stdin)
        fclose(in);
    free(rbuf);
    cli_lines_close(lines);
    dq_engine_free(eng);
    cli_csv_free(csv);
    free(row_json);
    dq_model_free(model);
    dq_contract_free(ctr);
    return rc;
}
