/*
 * score.c - `dq score`: how well the verdicts match the generator's ground truth.
 *
 * Reads the ground truth and the verdicts of the same events, either from files (the
 * truth file of `dq gen --truth` and the outputs of `dq check`: rejects carry their line
 * number, clean events come in input order) or from Kafka (the clean and dead-letter
 * topics of `dq gate`, whose records keep the generator's dq.truth and dq.seq headers),
 * and prints
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
#include <unistd.h>

#include <time.h>

#include "cli.h"
#include "dq/dq.h"
#include "defects.h"
#include "kafka.h"


#define UNSEEN (-2) /* Kafka: no output of this event (yet) */

typedef struct event {
    int defect;        /* a defect a reason code detects; -1 for none/unlabelled, UNSEEN */
    uint64_t reasons;  /* mask found by dq check */
    char sensor[48];
} event;

/* Events by number (1-based, as the generator counts them). */
typedef struct events {
    event *ev;
    size_t n, cap;
} events;

/* Event number i, growing the array (new ones UNSEEN); NULL when out of memory. */
static event *event_at(events *e, size_t i)
{
    if (i > e->cap) {
        size_t cap = e->cap ? e->cap : 65536;
        while (cap < i)
            cap *= 2;
        event *grown = realloc(e->ev, cap * sizeof *grown);
        if (!grown)
            return NULL;
        e->ev = grown;
        e->cap = cap;
    }
    for (; e->n < i; e->n++)
        e->ev[e->n] = (event){.defect = UNSEEN};
    return &e->ev[i - 1];
}

/* The defect named, if a reason code detects it; else -1 (none, unlabelled, unknown). */
static int defect_index(const char *name)
{
    int d = cli_defect_from_name(name);
    return d >= 0 && cli_defect_reasons[d] >= 0 ? d : -1;
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

/* The reason mask of a comma-separated list of reason names (the dq.reasons header). */
static uint64_t reasons_of_list(const char *s, size_t len)
{
    uint64_t mask = 0;
    while (len > 0) {
        const char *comma = memchr(s, ',', len);
        size_t n = comma ? (size_t)(comma - s) : len;
        char name[64];
        if (n < sizeof name) {
            memcpy(name, s, n);
            name[n] = '\0';
            int code = dq_reason_from_name(name);
            if (code > 0)
                mask |= 1ull << code;
        }
        s += n + (comma != NULL);
        len -= n + (comma != NULL);
    }
    return mask;
}

static int load_files(events *e, const char *truth_path, const char *rejects_path, const char *clean_path)
{
    FILE *tf = fopen(truth_path, "r"), *rf = fopen(rejects_path, "r"), *cf = fopen(clean_path, "r");
    int rc = CLI_EXIT_OK;
    char *line = NULL;
    size_t line_cap = 0;
    bool *rejected = NULL;
    if (!tf || !rf || !cf) {
        fprintf(stderr, "dq score: cannot open %s: %s\n", !tf ? truth_path : !rf ? rejects_path : clean_path,
                strerror(errno));
        rc = CLI_EXIT_IO;
        goto out;
    }
    /* truth: line,sensor_id,defect */
    while (getline(&line, &line_cap, tf) > 0) {
        char sensor[48], defect[48];
        uint64_t num;
        if (sscanf(line, "%" SCNu64 ",%47[^,],%47s", &num, sensor, defect) != 3)
            continue; /* the header */
        if (num != e->n + 1) {
            fprintf(stderr, "dq score: %s: line numbers out of order at %" PRIu64 "\n", truth_path, num);
            rc = CLI_EXIT_IO;
            goto out;
        }
        event *ev = event_at(e, num);
        if (!ev) {
            rc = CLI_EXIT_IO;
            goto out;
        }
        *ev = (event){.defect = defect_index(defect)};
        snprintf(ev->sensor, sizeof ev->sensor, "%s", sensor);
    }
    size_t n = e->n;
    if (!(rejected = calloc(n + 1, 1))) {
        rc = CLI_EXIT_IO;
        goto out;
    }
    while (getline(&line, &line_cap, rf) > 0) {
        uint64_t num = strtoull(line + 8, NULL, 10); /* {"line":N,... */
        if (strncmp(line, "{\"line\":", 8) != 0 || num == 0 || num > n)
            continue;
        rejected[num] = true;
        e->ev[num - 1].reasons = reasons_of(line, false);
    }
    size_t next = 1;
    while (getline(&line, &line_cap, cf) > 0) {
        while (next <= n && rejected[next])
            next++;
        if (next > n)
            break;
        e->ev[next - 1].reasons = reasons_of(line, true);
        next++;
    }
out:
    free(rejected);
    free(line);
    if (tf)
        fclose(tf);
    if (rf)
        fclose(rf);
    if (cf)
        fclose(cf);
    return rc;
}

static bool header(const rd_kafka_message_t *m, const char *name, const void **val, size_t *len)
{
    rd_kafka_headers_t *h;
    return rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           rd_kafka_header_get_last(h, name, val, len) == RD_KAFKA_RESP_ERR_NO_ERROR && *val;
}

/* One output record of the gate: its event's truth from the headers, its verdict. */
static bool take_record(events *e, const rd_kafka_message_t *m, bool is_clean)
{
    const void *seq, *truth, *reasons;
    size_t seq_len, truth_len, reasons_len;
    char num[24], defect[48];
    if (!header(m, CLI_HDR_SEQ, &seq, &seq_len) || !header(m, CLI_HDR_TRUTH, &truth, &truth_len) ||
        seq_len >= sizeof num || truth_len >= sizeof defect)
        return true; /* not from dq gen: nothing to score it against */
    memcpy(num, seq, seq_len);
    num[seq_len] = '\0';
    memcpy(defect, truth, truth_len);
    defect[truth_len] = '\0';
    uint64_t i = strtoull(num, NULL, 10);
    event *ev = i ? event_at(e, i) : NULL;
    if (i && !ev)
        return false;
    if (!ev || ev->defect != UNSEEN)
        return true; /* at-least-once: a repeated output carries the same verdict */
    *ev = (event){.defect = defect_index(defect)};
    snprintf(ev->sensor, sizeof ev->sensor, "%.*s", (int)(m->key_len < 47 ? m->key_len : 47),
             m->key ? (const char *)m->key : "");
    if (!is_clean) {
        ev->reasons = header(m, CLI_HDR_REASONS, &reasons, &reasons_len) ? reasons_of_list(reasons, reasons_len) : 0;
    } else {
        char *copy = malloc(m->len + 1);
        if (!copy)
            return false;
        memcpy(copy, m->payload, m->len);
        copy[m->len] = '\0';
        ev->reasons = reasons_of(copy, true);
        free(copy);
    }
    return true;
}

/* Reads both topics to their current end (read_committed), from the records written at
 * since_ms on (Kafka's time index), or from the beginning when since_ms < 0. */
static int load_kafka(events *e, const char *brokers, const char *clean_topic, const char *dlq_topic,
                      int64_t since_ms, const cli_kafka_props *props)
{
    const char *defaults[] = {"bootstrap.servers", brokers, "group.id", "score", "enable.auto.commit", "false",
                              "isolation.level", "read_committed", "enable.partition.eof", "true", NULL};
    rd_kafka_t *rk = cli_kafka_new(RD_KAFKA_CONSUMER, defaults, props, NULL, NULL, NULL);
    if (!rk)
        return CLI_EXIT_KAFKA;
    int rc = CLI_EXIT_OK;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    const char *topics[] = {clean_topic, dlq_topic};
    for (int t = 0; t < 2 && rc == CLI_EXIT_OK; t++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
        if (!err && md->topic_cnt == 1)
            err = md->topics[0].err;
        if (err) {
            fprintf(stderr, "dq score: topic %s: %s\n", topics[t], rd_kafka_err2str(err));
            rc = CLI_EXIT_KAFKA;
        } else {
            for (int p = 0; p < md->topics[0].partition_cnt; p++)
                rd_kafka_topic_partition_list_add(parts, topics[t], md->topics[0].partitions[p].id)->offset =
                    since_ms >= 0 ? since_ms : RD_KAFKA_OFFSET_BEGINNING;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    if (rc == CLI_EXIT_OK && since_ms >= 0) { /* times -> offsets; none that late: the end */
        rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, parts, 10000);
        if (err) {
            fprintf(stderr, "dq score: offsets for --since: %s\n", rd_kafka_err2str(err));
            rc = CLI_EXIT_KAFKA;
        }
    }
    if (rc == CLI_EXIT_OK && rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = CLI_EXIT_KAFKA;
    int at_end = 0;
    uint64_t records = 0;
    double last = cli_mono_s();
    while (rc == CLI_EXIT_OK && at_end < parts->cnt) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end++;
        } else if (m->err) {
            fprintf(stderr, "dq score: %s\n", rd_kafka_message_errstr(m));
            rc = CLI_EXIT_KAFKA;
        } else if (!take_record(e, m, strcmp(rd_kafka_topic_name(m->rkt), clean_topic) == 0)) {
            rc = CLI_EXIT_IO;
        } else if (++records % 100000 == 0 && cli_mono_s() - last >= 1 && isatty(STDERR_FILENO)) {
            fprintf(stderr, "\rdq score: %" PRIu64 " records read", records);
            last = cli_mono_s();
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/*
 * Whether event i, labelled with another defect, came during an episode of one (stuck, noise)
 * of its sensor (its last reading labelled so or defect-free was): a missing field or a quoted
 * number on a stuck sensor still repeats the stuck value, so STUCK_VALUE is right there, and
 * a noisy sensor's readings are noisy whatever else is wrong with them.
 */
static bool in_episode(const events *e, size_t i, int defect)
{
    for (size_t j = i; j-- > 0;)
        if (strcmp(e->ev[j].sensor, e->ev[i].sensor) == 0 && (e->ev[j].defect == defect || e->ev[j].defect == -1))
            return e->ev[j].defect == defect;
    return false;
}

/* Whether a defect is scored per episode: a stuck sensor's first readings and a drifting one's
 * cannot be told from normal ones (whether the fault is found at all is what counts). */
static bool episodic(int defect)
{
    return defect == D_STUCK || defect == D_DRIFT;
}

/* Recall per defect (stuck, drift: per episode) and precision per reason, over the events seen. */
static void report(const events *e, bool json)
{
    const event *ev = e->ev;
    size_t n = e->n, seen = 0, start = 0;
    while (start < n && ev[start].defect == UNSEEN) /* before a --since window, or nothing */
        start++;
    uint64_t total[D__COUNT] = {0}, found[D__COUNT] = {0};
    uint64_t flagged[DQ_REASON__COUNT] = {0}, right[DQ_REASON__COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        int d = ev[i].defect;
        if (d == UNSEEN)
            continue;
        seen++;
        if (episodic(d)) {
            /* An episode: one sensor's readings with the fault until its next defect-free one
             * (other sensors, and other defects of this one, may come in between). */
            if (!in_episode(e, i, d)) {
                bool hit = false, ended = false;
                for (size_t j = i; j < n && !hit && !ended; j++) {
                    if (strcmp(ev[j].sensor, ev[i].sensor) != 0 || (ev[j].defect >= 0 && ev[j].defect != d) ||
                        ev[j].defect == UNSEEN)
                        continue;
                    ended = ev[j].defect < 0; /* its next defect-free reading */
                    hit = !ended && ev[j].reasons >> cli_defect_reasons[d] & 1;
                }
                /* An episode the data cuts off before it ends may be too short to see: not scored. */
                total[d] += hit || ended;
                found[d] += hit;
            }
        } else if (d >= 0) {
            total[d]++;
            found[d] += ev[i].reasons >> cli_defect_reasons[d] & 1;
        }
        for (int r = 1; r < DQ_REASON__COUNT; r++) {
            if (!(ev[i].reasons >> r & 1))
                continue;
            flagged[r]++;
            /* Within a stretch of a sensor fault, that fault's reason is right whatever else is
             * wrong with a reading; a bias's step is a jump, its first readings SPIKE, and a
             * bias the bias rule did not see (its step came while the sensor was stuck) is off
             * the sensor's daily profile: DRIFT. */
            bool level = r == DQ_R_BIAS || r == DQ_R_SPIKE || r == DQ_R_DRIFT; /* in_episode scans back: only then */
            bool biased = level && (d == D_BIAS || in_episode(e, i, D_BIAS));
            right[r] += (d >= 0 && cli_defect_reasons[d] == r) || (r == DQ_R_STUCK_VALUE && in_episode(e, i, D_STUCK)) ||
                        (r == DQ_R_NOISE && in_episode(e, i, D_NOISE)) ||
                        (r == DQ_R_DRIFT && (biased || in_episode(e, i, D_DRIFT))) ||
                        ((r == DQ_R_BIAS || r == DQ_R_SPIKE) && biased);
        }
    }
    if (json) {
        printf("{\"events\":%zu,\"unseen\":%zu,\"recall\":{", seen, n - start - seen);
        for (int d = 0, first = 1; d < D__COUNT; d++)
            if (total[d]) {
                printf("%s\"%s\":%.6f", first ? "" : ",", cli_defect_names[d], (double)found[d] / (double)total[d]);
                first = 0;
            }
        printf("},\"precision\":{");
        for (int r = 1, first = 1; r < DQ_REASON__COUNT; r++)
            if (flagged[r]) {
                printf("%s\"%s\":%.6f", first ? "" : ",", dq_reason_name(r), (double)right[r] / (double)flagged[r]);
                first = 0;
            }
        printf("}}\n");
        return;
    }
    printf("%zu events", seen);
    if (n > seen)
        printf(" (%zu more without an output yet: not scored)", n - start - seen);
    printf("\n\n%-20s %-20s %10s %10s %8s\n", "defect", "detected by", "labelled", "detected", "recall");
    for (int d = 0; d < D__COUNT; d++)
        if (total[d])
            printf("%-20s %-20s %10" PRIu64 " %10" PRIu64 " %8.4f%s\n", cli_defect_names[d],
                   dq_reason_name(cli_defect_reasons[d]), total[d], found[d], (double)found[d] / (double)total[d],
                   episodic(d) ? "  (episodes)" : "");
    printf("\n%-20s %10s %10s %9s\n", "reason", "flagged", "correct", "precision");
    for (int r = 1; r < DQ_REASON__COUNT; r++)
        if (flagged[r])
            printf("%-20s %10" PRIu64 " %10" PRIu64 " %9.4f\n", dq_reason_name(r), flagged[r], right[r],
                   (double)right[r] / (double)flagged[r]);
}

static const char help[] =
    "usage: dq score --truth FILE --rejects FILE --clean FILE [--json]\n"
    "       dq score --brokers HOSTS [--since TIME|DURATION] [--clean-topic TOPIC] [--dlq-topic TOPIC]\n"
    "                [--kafka-config FILE] [-X key=value ...] [--json]\n"
    "\n"
    "Compares verdicts with dq gen's ground truth for the same events: recall per defect\n"
    "type, precision per reason code. From files: dq check's outputs and dq gen --truth.\n"
    "From Kafka: dq gate's clean and dead-letter topics (default sensor-clean, sensor-dlq),\n"
    "read to their current end; the truth travels in the dq.truth and dq.seq headers.\n"
    "--since keeps the records written from TIME (ISO-8601, epoch ms) or in the last\n"
    "DURATION (10m, 1h) on: what the gate did lately, with the contract it runs now.\n"
    "--kafka-config FILE: librdkafka properties, one key=value a line (the stack's Kafka\n"
    "login for reading is .stack/kafka/reader.properties, which make up writes).\n"
    "\n"
    "examples:\n"
    "  dq gen --count 100000 --truth truth.csv > events.ndjson\n"
    "  dq check -c contracts/sensor_readings.yaml -i events.ndjson --clean c.ndjson --rejects r.ndjson\n"
    "  dq score --truth truth.csv --rejects r.ndjson --clean c.ndjson\n"
    "\n"
    "  dq score --brokers 127.0.0.1:9092 --kafka-config .stack/kafka/reader.properties\n"
    "  dq score --brokers 127.0.0.1:9092 --kafka-config .stack/kafka/reader.properties --since 10m\n";

int cli_cmd_score(int argc, char **argv)
{
    enum { O_BROKERS = 256, O_CTOPIC, O_DTOPIC, O_SINCE, O_KAFKA_CONFIG };
    static const struct option longopts[] = {{"truth", required_argument, NULL, 't'},
                                             {"rejects", required_argument, NULL, 'r'},
                                             {"clean", required_argument, NULL, 'c'},
                                             {"brokers", required_argument, NULL, O_BROKERS},
                                             {"clean-topic", required_argument, NULL, O_CTOPIC},
                                             {"dlq-topic", required_argument, NULL, O_DTOPIC},
                                             {"since", required_argument, NULL, O_SINCE},
                                             {"kafka-config", required_argument, NULL, O_KAFKA_CONFIG},
                                             {"json", no_argument, NULL, 'j'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *truth_path = NULL, *rejects_path = NULL, *clean_path = NULL, *brokers = NULL;
    const char *clean_topic = "sensor-clean", *dlq_topic = "sensor-dlq";
    int64_t since_ms = -1, ago_ms;
    cli_kafka_props props = {0};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': truth_path = optarg; break;
        case 'r': rejects_path = optarg; break;
        case 'c': clean_path = optarg; break;
        case O_BROKERS: brokers = optarg; break;
        case O_CTOPIC: clean_topic = optarg; break;
        case O_DTOPIC: dlq_topic = optarg; break;
        case O_SINCE:
            if (dq_duration_parse_n(optarg, strlen(optarg), &ago_ms) == DQ_OK)
                since_ms = (int64_t)time(NULL) * 1000 - ago_ms;
            else if (!cli_parse_time_arg(optarg, &since_ms)) {
                fprintf(stderr, "dq score: --since takes a time (ISO-8601, epoch ms) or a duration (10m)\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case 'X':
            if (!cli_kafka_props_add(&props, optarg))
                return CLI_EXIT_USAGE;
            break;
        case O_KAFKA_CONFIG:
            if (!cli_kafka_props_load(&props, optarg))
                return CLI_EXIT_USAGE;
            break;
        case 'j': json = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: fputs(help, stderr); return CLI_EXIT_USAGE;
        }
    }
    bool from_files = truth_path && rejects_path && clean_path;
    if (from_files == (brokers != NULL) || (from_files && since_ms >= 0)) {
        fputs(help, stderr);
        return CLI_EXIT_USAGE;
    }
    events e = {0};
    int rc = from_files ? load_files(&e, truth_path, rejects_path, clean_path)
                        : load_kafka(&e, brokers, clean_topic, dlq_topic, since_ms, &props);
    if (rc == CLI_EXIT_OK)
        report(&e, json);
    free(e.ev);
    return rc;
}
