/*
 * score.c - `dq score`: how well the verdicts match the generator's ground truth.
 *
 * Reads the truth file of `dq gen --truth` and the outputs of `dq check` for the same
 * events (rejects carry their line number; clean events come in input order), and prints
 * per defect type the recall of the reason code that names it, and per reason code its
 * precision (the share of flagged events whose truth is a defect that code stands for).
 * Stuck sensors are scored per episode (a run of readings labelled stuck): the rule can
 * only see a sensor stuck after `stuck.count` identical readings.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dq/dq.h"

/* Which reason code detects which generator defect (several defects may share a code). */
static const struct {
    const char *defect;
    int reason;
} detects[] = {
    {"missing_value", DQ_R_MISSING_FIELD},       {"outlier", DQ_R_OUT_OF_RANGE},
    {"battery_failure", DQ_R_OUT_OF_RANGE},      {"wrong_type", DQ_R_WRONG_TYPE},
    {"numeric_string", DQ_R_WRONG_TYPE},         {"malformed_json", DQ_R_MALFORMED_JSON},
    {"invalid_sensor_id", DQ_R_PATTERN_MISMATCH}, {"invalid_timestamp", DQ_R_INVALID_TIMESTAMP},
    {"duplicate", DQ_R_DUPLICATE_EVENT},         {"spike", DQ_R_SPIKE},
    {"stuck", DQ_R_STUCK_VALUE},                 {"gap", DQ_R_GAP},
    {"late", DQ_R_LATE_EVENT},                   {"future_timestamp", DQ_R_FUTURE_TIMESTAMP},
    {"oversized", DQ_R_OVERSIZED},
};
#define N_DETECTS (int)(sizeof detects / sizeof detects[0])

typedef struct event {
    int defect;        /* index into detects, -1 for none/unlabelled */
    uint64_t reasons;  /* mask found by dq check */
    char sensor[48];
} event;

static int defect_index(const char *name)
{
    for (int i = 0; i < N_DETECTS; i++)
        if (strcmp(detects[i].defect, name) == 0)
            return i;
    return -1;
}

/* The reason mask of the "dq" annotation in a line of dq check output. */
static uint64_t reasons_of(const char *line, bool last_dq)
{
    const char *dq = last_dq ? NULL : strstr(line, "\"dq\":{");
    if (last_dq)
        for (const char *p = strstr(line, ",\"dq\":{"); p; p = strstr(p + 1, ",\"dq\":{"))
            dq = p;
    const char *r = dq ? strstr(dq, "\"reasons\":[") : NULL;
    uint64_t mask = 0;
    if (!r)
        return 0;
    for (r += 11; *r && *r != ']';) {
        const char *q = strchr(r, '"'), *e = q ? strchr(q + 1, '"') : NULL;
        if (!q || !e)
            break;
        char name[64];
        size_t n = (size_t)(e - q - 1) < sizeof name - 1 ? (size_t)(e - q - 1) : sizeof name - 1;
        memcpy(name, q + 1, n);
        name[n] = '\0';
        int code = dq_reason_from_name(name);
        if (code > 0)
            mask |= 1ull << code;
        r = e + 1;
        if (*r == ',')
            r++;
    }
    return mask;
}

static const char help[] =
    "usage: dq score --truth FILE --rejects FILE --clean FILE [--json]\n"
    "\n"
    "Compares dq check's verdicts with dq gen's ground truth for the same events:\n"
    "recall per defect type, precision per reason code.\n"
    "\n"
    "example:\n"
    "  dq gen --count 100000 --truth truth.csv > events.ndjson\n"
    "  dq check -c contracts/sensor_readings.yaml -i events.ndjson --clean c.ndjson --rejects r.ndjson\n"
    "  dq score --truth truth.csv --rejects r.ndjson --clean c.ndjson\n";

int dq_cmd_score(int argc, char **argv)
{
    static const struct option longopts[] = {{"truth", required_argument, NULL, 't'},
                                             {"rejects", required_argument, NULL, 'r'},
                                             {"clean", required_argument, NULL, 'c'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *truth_path = NULL, *rejects_path = NULL, *clean_path = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': truth_path = optarg; break;
        case 'r': rejects_path = optarg; break;
        case 'c': clean_path = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return DQ_EXIT_OK;
        default: fputs(help, stderr); return DQ_EXIT_USAGE;
        }
    }
    if (!truth_path || !rejects_path || !clean_path) {
        fputs(help, stderr);
        return DQ_EXIT_USAGE;
    }
    FILE *tf = fopen(truth_path, "r"), *rf = fopen(rejects_path, "r"), *cf = fopen(clean_path, "r");
    int rc = DQ_EXIT_OK;
    event *ev = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    if (!tf || !rf || !cf) {
        fprintf(stderr, "dq score: cannot open %s: %s\n", !tf ? truth_path : !rf ? rejects_path : clean_path,
                strerror(errno));
        rc = DQ_EXIT_IO;
        goto out;
    }
    /* truth: line,sensor_id,defect */
    while (getline(&line, &line_cap, tf) > 0) {
        char sensor[48], defect[48];
        uint64_t num;
        if (sscanf(line, "%" SCNu64 ",%47[^,],%47s", &num, sensor, defect) != 3)
            continue; /* the header */
        if (num != n + 1) {
            fprintf(stderr, "dq score: %s: line numbers out of order at %" PRIu64 "\n", truth_path, num);
            rc = DQ_EXIT_IO;
            goto out;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            event *grown = realloc(ev, cap * sizeof *ev);
            if (!grown) {
                rc = DQ_EXIT_IO;
                goto out;
            }
            ev = grown;
        }
        ev[n].defect = defect_index(defect);
        ev[n].reasons = 0;
        snprintf(ev[n].sensor, sizeof ev[n].sensor, "%s", sensor);
        n++;
    }
    bool *rejected = calloc(n + 1, 1);
    if (!rejected) {
        rc = DQ_EXIT_IO;
        goto out;
    }
    while (getline(&line, &line_cap, rf) > 0) {
        uint64_t num = strtoull(line + 8, NULL, 10); /* {"line":N,... */
        if (strncmp(line, "{\"line\":", 8) != 0 || num == 0 || num > n)
            continue;
        rejected[num] = true;
        ev[num - 1].reasons = reasons_of(line, false);
    }
    size_t next = 1;
    while (getline(&line, &line_cap, cf) > 0) {
        while (next <= n && rejected[next])
            next++;
        if (next > n)
            break;
        ev[next - 1].reasons = reasons_of(line, true);
        next++;
    }
    free(rejected);

    /* recall per defect (stuck: per episode), precision per reason */
    uint64_t total[N_DETECTS] = {0}, found[N_DETECTS] = {0};
    uint64_t flagged[DQ_REASON__COUNT] = {0}, right[DQ_REASON__COUNT] = {0};
    int stuck = defect_index("stuck");
    for (size_t i = 0; i < n; i++) {
        int d = ev[i].defect;
        if (d == stuck) {
            /* An episode: one sensor's stuck readings until its next defect-free one (other
             * sensors, and other defects of this one, may come in between). */
            bool starts = true;
            for (size_t j = i; j-- > 0;)
                if (strcmp(ev[j].sensor, ev[i].sensor) == 0 && (ev[j].defect == stuck || ev[j].defect < 0)) {
                    starts = ev[j].defect != stuck;
                    break;
                }
            if (starts) {
                total[d]++;
                bool hit = false;
                for (size_t j = i; j < n && !hit; j++) {
                    if (strcmp(ev[j].sensor, ev[i].sensor) != 0 || (ev[j].defect >= 0 && ev[j].defect != stuck))
                        continue;
                    if (ev[j].defect < 0)
                        break;
                    hit = ev[j].reasons >> DQ_R_STUCK_VALUE & 1;
                }
                found[d] += hit;
            }
        } else if (d >= 0) {
            total[d]++;
            found[d] += ev[i].reasons >> detects[d].reason & 1;
        }
        for (int r = 1; r < DQ_REASON__COUNT; r++) {
            if (!(ev[i].reasons >> r & 1))
                continue;
            flagged[r]++;
            right[r] += d >= 0 && detects[d].reason == r;
        }
    }
    if (json) {
        printf("{\"events\":%zu,\"recall\":{", n);
        for (int d = 0, first = 1; d < N_DETECTS; d++)
            if (total[d]) {
                printf("%s\"%s\":%.6f", first ? "" : ",", detects[d].defect, (double)found[d] / (double)total[d]);
                first = 0;
            }
        printf("},\"precision\":{");
        for (int r = 1, first = 1; r < DQ_REASON__COUNT; r++)
            if (flagged[r]) {
                printf("%s\"%s\":%.6f", first ? "" : ",", dq_reason_name(r), (double)right[r] / (double)flagged[r]);
                first = 0;
            }
        printf("}}\n");
    } else {
        printf("%zu events\n\n%-20s %-20s %10s %10s %8s\n", n, "defect", "detected by", "labelled", "detected",
               "recall");
        for (int d = 0; d < N_DETECTS; d++)
            if (total[d])
                printf("%-20s %-20s %10" PRIu64 " %10" PRIu64 " %8.4f%s\n", detects[d].defect,
                       dq_reason_name(detects[d].reason), total[d], found[d], (double)found[d] / (double)total[d],
                       d == stuck ? "  (episodes)" : "");
        printf("\n%-20s %10s %10s %9s\n", "reason", "flagged", "correct", "precision");
        for (int r = 1; r < DQ_REASON__COUNT; r++)
            if (flagged[r])
                printf("%-20s %10" PRIu64 " %10" PRIu64 " %9.4f\n", dq_reason_name(r), flagged[r], right[r],
                       (double)right[r] / (double)flagged[r]);
    }
out:
    free(line);
    free(ev);
    if (tf)
        fclose(tf);
    if (rf)
        fclose(rf);
    if (cf)
        fclose(cf);
    return rc;
}
