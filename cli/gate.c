/*
 * gate.c - `dq gate`: the line-rate validation gateway.
 *
 * Consumes the raw topic in a consumer group, evaluates every event with libdq and
 * routes it: PASS/FIXED to the clean topic (canonical JSON, key = sensor id), REJECT
 * to the dead-letter topic (the original bytes and headers, plus headers with the
 * reasons, the verdict, the source topic/partition/offset and the contract), closed
 * metric windows to the metrics topic. Serves Prometheus metrics on 127.0.0.1.
 *
 * Nothing is lost: events are processed in batches, and a batch's input offsets are
 * committed only after all of its outputs are acknowledged by the brokers
 * (at-least-once: after a crash the uncommitted batch is processed again, so
 * duplicates are bounded by one batch). With --exactly-once each batch is one Kafka
 * transaction holding its outputs and its input offsets.
 *
 * Per-sensor state (what the duplicate, spike, stuck, gap and late rules remember)
 * survives restarts through a compacted state topic; see "state across restarts".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dq/dq.h"
#include "gate.h"
#include "kafka.h"

/* Latency buckets (ms) of the Prometheus histogram: input timestamp to acknowledged output. */
static const double latency_le[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000};
#define N_LE (sizeof latency_le / sizeof latency_le[0])

typedef struct gate_stats {
    dq_totals totals;
    uint64_t batches, delivery_errors, commit_errors, lag;
    uint64_t truncated; /* dead letters sent truncated: too large for the producer whole */
    int partitions; /* assigned input partitions: lag means nothing while there are none */
    uint64_t latency_bucket[N_LE + 1];
    double latency_sum_ms;
    uint64_t latency_count;
} gate_stats;

typedef struct gate {
    const cli_gate_opts *o;
    dq_contract *ctr;
    dq_model *model;
    dq_engine *eng;
    rd_kafka_t *consumer, *producer;
    rd_kafka_t *state_producer; /* the producer with --exactly-once, else a transactional one of its own */
    rd_kafka_topic_partition_list_t *positions; /* next offset per partition of this batch */
    rd_kafka_queue_t *commit_q; /* results of the asynchronous offset commits */
    bool commit_pending;        /* one commit at most is in flight */
    int64_t *batch_ts;                          /* input timestamps of this batch (ms) */
    size_t batch_n;
    uint64_t delivery_errors; /* of this batch, from delivery reports */
    bool in_txn;              /* --exactly-once: a transaction is open */
    double last_activity;     /* input or assignment (monotonic s), for --idle-exit */
    bool assigned;            /* partitions assigned to us (kept by the rebalance callback) */
    int fatal;                /* a CLI_EXIT_* code set inside a callback: stop */
    bool closing;             /* the last batch is finished: leaving the group */
    char contract_label[256];
    pthread_mutex_t lock; /* guards snapshot: the HTTP thread reads it */
    gate_stats snapshot, live;
    struct MHD_Daemon *http;
} gate;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    gate *g = opaque;
    if (m->err) {
        g->delivery_errors++;
        fprintf(stderr, "dq gate: delivery to %s failed: %s\n", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
}

static bool load_state(gate *g, rd_kafka_topic_partition_list_t *parts);
static int finish_batch(gate *g);
static void wait_commit(gate *g);

/*
 * Partitions move (inside the consumer poll, so possibly mid-batch): the batch in hand
 * is finished first, its offsets committed while they are still ours, so no batch
 * straddles two assignments and no state change is lost to the reload.
 */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    gate *g = opaque;
    bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && !g->closing;
    int rc = g->closing ? CLI_EXIT_OK : finish_batch(g);
    wait_commit(g);
    if (rc != CLI_EXIT_OK) {
        g->fatal = rc;
        assign = false;
    } else if (assign && g->o->state_topic && !load_state(g, parts)) {
        g->fatal = CLI_EXIT_KAFKA; /* never run on a state that does not match the input */
        assign = false;
    }
    g->last_activity = cli_mono_s(); /* idle time counts from the assignment, not from the group join */
    g->assigned = assign && parts->cnt > 0;
    rd_kafka_assign(rk, assign ? parts : NULL);
}

static bool ensure_txn(gate *g);

/* Closed metric windows go to the metrics topic, keyed by sensor ("" = overall). */
static void on_window(const dq_window_stats *st, void *opaque)
{
    gate *g = opaque;
    char buf[8192];
    size_t n = dq_window_stats_json(st, buf, sizeof buf);
    if (n >= sizeof buf || !g->o->metrics_topic || !ensure_txn(g))
        return;
    rd_kafka_producev(g->producer, RD_KAFKA_V_TOPIC(g->o->metrics_topic), RD_KAFKA_V_KEY(st->key, st->key_len),
                      RD_KAFKA_V_VALUE(buf, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
}

/* A transactional call's outcome: a failure is reported and counted as a delivery error. */
static bool txn_step(gate *g, rd_kafka_error_t *error, const char *what)
{
    if (!error)
        return true;
    fprintf(stderr, "dq gate: %s: %s\n", what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    g->delivery_errors++;
    return false;
}

/* --exactly-once: opens the batch's transaction before its first output. */
static bool ensure_txn(gate *g)
{
    if (!g->o->exactly_once || g->in_txn)
        return true;
    g->in_txn = txn_step(g, rd_kafka_begin_transaction(g->producer), "begin_transaction");
    return g->in_txn;
}

/*
 * Produces one record, waiting while the queue is full; failures count as delivery
 * errors. Outputs keep the input's timestamp, so consumers see event age end to end.
 * With may_be_too_large, a record over the producer's message.max.bytes is left to the
 * caller (RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, not counted; the headers are freed).
 */
static rd_kafka_resp_err_t produce_or_wait(gate *g, rd_kafka_t *rk, const char *topic, const void *key,
                                           size_t key_len, const void *val, size_t len, rd_kafka_headers_t *hdrs,
                                           int64_t ts, bool may_be_too_large)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)val, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0),
            RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return err;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (!may_be_too_large || err != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
                fprintf(stderr, "dq gate: cannot produce to %s: %s\n", topic, rd_kafka_err2str(err));
                g->delivery_errors++;
            }
            if (hdrs)
                rd_kafka_headers_destroy(hdrs);
            return err;
        }
        rd_kafka_poll(rk, 10); /* queue full: let deliveries drain */
    }
}

/* The verdict's headers of a dead letter: reasons, source coordinates, contract. */
static void add_verdict_headers(gate *g, rd_kafka_headers_t *h, const rd_kafka_message_t *m, const dq_result *res)
{
    char reasons[512] = "", num[32];
    size_t used = 0;
    for (uint64_t mask = res->reasons; mask; mask &= mask - 1) {
        int n = snprintf(reasons + used, sizeof reasons - used, "%s%s", used ? "," : "",
                         dq_reason_name(__builtin_ctzll(mask)));
        if (n > 0 && (size_t)n < sizeof reasons - used)
            used += (size_t)n;
    }
    rd_kafka_header_add(h, "dq.reasons", -1, reasons, -1);
    rd_kafka_header_add(h, "dq.source.topic", -1, rd_kafka_topic_name(m->rkt), -1);
    snprintf(num, sizeof num, "%" PRId32, m->partition);
    rd_kafka_header_add(h, "dq.source.partition", -1, num, -1);
    snprintf(num, sizeof num, "%" PRId64, m->offset);
    rd_kafka_header_add(h, "dq.source.offset", -1, num, -1);
    rd_kafka_header_add(h, "dq.contract", -1, g->contract_label, -1);
}

/* FNV-1a, 64 bits: names the bytes a truncated dead letter left out (not a security hash). */
static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

#define TRUNCATED_KEEP ((size_t)64 << 10) /* bytes of the original a truncated dead letter keeps */

/*
 * The dead-letter record: original bytes and headers, plus the verdict as headers. When
 * that is more than the producer may send (the input's bytes and a long field's original
 * value among the findings can reach twice the broker's limit), the record is still
 * dead-lettered: its first 64 KB, with dq.truncated (the original length) and dq.fnv1a64
 * of the whole, without the input's headers and the verdict JSON; counted in /metrics.
 */
static void route_reject(gate *g, const rd_kafka_message_t *m, const dq_result *res)
{
    rd_kafka_headers_t *in = NULL, *h;
    if (rd_kafka_message_headers(m, &in) == RD_KAFKA_RESP_ERR_NO_ERROR)
        h = rd_kafka_headers_copy(in);
    else
        h = rd_kafka_headers_new(8);
    add_verdict_headers(g, h, m, res);
    rd_kafka_header_add(h, "dq.verdict", -1, res->verdict_json, (ssize_t)res->verdict_json_len);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    if (produce_or_wait(g, g->producer, g->o->dlq_topic, m->key, m->key_len, m->payload, m->len, h, ts, true) !=
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        return;
    char num[32];
    h = rd_kafka_headers_new(8);
    add_verdict_headers(g, h, m, res);
    snprintf(num, sizeof num, "%zu", m->len);
    rd_kafka_header_add(h, "dq.truncated", -1, num, -1);
    snprintf(num, sizeof num, "%016" PRIx64, fnv1a64(m->payload, m->len));
    rd_kafka_header_add(h, "dq.fnv1a64", -1, num, -1);
    size_t keep = m->len < TRUNCATED_KEEP ? m->len : TRUNCATED_KEEP;
    if (produce_or_wait(g, g->producer, g->o->dlq_topic, m->key, m->key_len, m->payload, keep, h, ts, false) ==
        RD_KAFKA_RESP_ERR_NO_ERROR)
        g->live.truncated++; /* else: counted as a delivery error, the batch is not committed */
}

static void remember_position(gate *g, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_t *p =
        rd_kafka_topic_partition_list_find(g->positions, rd_kafka_topic_name(m->rkt), m->partition);
    if (!p)
        p = rd_kafka_topic_partition_list_add(g->positions, rd_kafka_topic_name(m->rkt), m->partition);
    p->offset = m->offset + 1;
}

/* The input's headers (e.g. the generator's dq.truth) travel with the clean event too. */
static rd_kafka_headers_t *input_headers(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *in = NULL;
    return rd_kafka_message_headers(m, &in) == RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_headers_copy(in) : NULL;
}

static void handle(gate *g, const rd_kafka_message_t *m)
{
    dq_result res;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    ensure_txn(g);
    if (g->o->relay) { /* the Kafka ceiling for benchmarks: bytes through, no validation */
        produce_or_wait(g, g->producer, g->o->clean_topic, m->key, m->key_len, m->payload, m->len, input_headers(m), ts,
                        false);
    } else {
        dq_engine_eval_n(g->eng, m->payload, m->payload ? m->len : 0, &res);
        if (res.verdict == DQ_REJECT)
            route_reject(g, m, &res);
        else
            produce_or_wait(g, g->producer, g->o->clean_topic, res.key, res.key_len, res.clean, res.clean_len, input_headers(m),
                            ts, false);
        if (res.is_anomaly && g->o->anomaly_topic) /* the clean event again: its "dq" member says why */
            produce_or_wait(g, g->producer, g->o->anomaly_topic, res.key, res.key_len, res.clean, res.clean_len,
                            input_headers(m), ts, false);
    }
    g->batch_ts[g->batch_n++] = ts;
    remember_position(g, m);
}

/* ---------------------------------------------------------------- state across restarts */

/*
 * The per-sensor state lives in a compacted topic (default <group>-state; created with
 * one partition if missing, all partitions are read): a record per sensor (key = sensor id, value = libdq's saved state)
 * and a position record per input partition (key = "\0pos:<topic>:<partition>",
 * value = the next offset to read). A batch's changed states and its positions are
 * written in one transaction: with --exactly-once the batch's own, else one of a
 * second, transactional producer after the outputs are acknowledged and before the
 * input offsets are committed. On every assignment the gate forgets all state,
 * reads the topic to its end (read_committed) and starts each partition at its
 * saved position, so state and position always match: after a restart no event is
 * evaluated against an empty state (missed duplicates, spikes, gaps) nor against a
 * state that already holds it (flagged twice).
 */
#define POS_PREFIX "\0pos:"
#define POS_PREFIX_LEN 5

static void produce_state(const char *key, size_t key_len, const void *state, size_t len, void *opaque)
{
    gate *g = opaque;
    produce_or_wait(g, g->state_producer, g->o->state_topic, key, key_len, state, len, NULL, 0, false);
}

/* Writes the batch's changed states and input positions (see above). */
static bool write_state(gate *g)
{
    const cli_gate_opts *o = g->o;
    if (!o->state_topic || g->positions->cnt == 0)
        return true;
    bool own_txn = !o->exactly_once; /* with --exactly-once the batch's transaction is open */
    if (own_txn && !txn_step(g, rd_kafka_begin_transaction(g->state_producer), "state begin_transaction"))
        return false;
    dq_engine_state_changes(g->eng, produce_state, g);
    for (int i = 0; i < g->positions->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &g->positions->elems[i];
        char key[512], val[32];
        int kn = snprintf(key + POS_PREFIX_LEN, sizeof key - POS_PREFIX_LEN, "%s:%" PRId32, p->topic, p->partition);
        int vn = snprintf(val, sizeof val, "%" PRId64, p->offset);
        memcpy(key, POS_PREFIX, POS_PREFIX_LEN);
        produce_or_wait(g, g->state_producer, o->state_topic, key, POS_PREFIX_LEN + (size_t)kn, val, (size_t)vn,
                        NULL, 0, false);
    }
    if (own_txn)
        return txn_step(g, rd_kafka_commit_transaction(g->state_producer, -1), "state commit_transaction");
    return g->delivery_errors == 0;
}

/* A position record: sets the partition's offset in parts if it is one of them. Unset
 * offsets (no position saved) stay RD_KAFKA_OFFSET_INVALID: the group's committed one. */
static bool restore_position(const rd_kafka_message_t *m, rd_kafka_topic_partition_list_t *parts)
{
    char key[512];
    const char *k = (const char *)m->key;
    if (m->key_len <= POS_PREFIX_LEN || m->key_len >= sizeof key || memcmp(k, POS_PREFIX, POS_PREFIX_LEN) != 0)
        return false;
    memcpy(key, k + POS_PREFIX_LEN, m->key_len - POS_PREFIX_LEN);
    key[m->key_len - POS_PREFIX_LEN] = '\0';
    char *colon = strrchr(key, ':'), val[32], *end;
    if (!colon || m->len == 0 || m->len >= sizeof val)
        return true;
    *colon = '\0';
    memcpy(val, m->payload, m->len);
    val[m->len] = '\0';
    long long offset = strtoll(val, &end, 10);
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(parts, key, atoi(colon + 1));
    if (p && *end == '\0' && offset >= 0)
        p->offset = offset;
    return true;
}

/*
 * On assignment: forgets all state, restores every sensor from the state topic and
 * sets the assigned partitions' start offsets to their saved positions (partitions
 * without one start at the group's committed offset). Returns false if the topic
 * cannot be read: the gate must not run on a state that does not match its input.
 */
static bool load_state(gate *g, rd_kafka_topic_partition_list_t *parts)
{
    const cli_gate_opts *o = g->o;
    double t0 = cli_mono_s();
    char group[512];
    snprintf(group, sizeof group, "%s.state-reader", o->group); /* required by librdkafka, never joined */
    const char *defaults[] = {"bootstrap.servers", o->brokers, "group.id", group, "enable.auto.commit", "false",
                              "isolation.level", "read_committed", "enable.partition.eof", "true",
                              "fetch.wait.max.ms", "10", NULL};
    rd_kafka_t *rk = cli_kafka_new(RD_KAFKA_CONSUMER, defaults, &o->props, NULL, NULL, g);
    if (!rk)
        return false;
    dq_engine_state_clear(g->eng);
    /* Every partition (one when the gate created the topic; a key stays in one partition). */
    rd_kafka_topic_partition_list_t *state = rd_kafka_topic_partition_list_new(4);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->state_topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (!err && md->topic_cnt == 1)
        err = md->topics[0].err;
    for (int p = 0; !err && p < md->topics[0].partition_cnt; p++)
        rd_kafka_topic_partition_list_add(state, o->state_topic, md->topics[0].partitions[p].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (!err)
        err = rd_kafka_assign(rk, state);
    int partitions = state->cnt, at_end = 0;
    rd_kafka_topic_partition_list_destroy(state);
    uint64_t records = 0, refused = 0;
    bool done = partitions == 0;
    while (!err && !done && !stop_requested) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            done = ++at_end == partitions;
        else if (m->err)
            err = m->err;
        else if (!restore_position(m, parts) && m->key && m->payload) /* no value: a deletion (tombstone) */
            refused += dq_engine_state_restore(g->eng, m->key, m->key_len, m->payload, m->len) != DQ_OK;
        records += !m->err;
        rd_kafka_message_destroy(m);
    }
    if (err)
        fprintf(stderr, "dq gate: cannot read the state topic %s: %s\n", o->state_topic, rd_kafka_err2str(err));
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    dq_totals t;
    dq_engine_totals(g->eng, &t);
    int positions = 0;
    for (int i = 0; i < parts->cnt; i++)
        positions += parts->elems[i].offset >= 0;
    if (!o->quiet || refused)
        fprintf(stderr,
                "dq gate: state of %" PRIu64 " sensors and positions of %d of %d partitions restored from %s "
                "(%" PRIu64 " records, %.2f s)%s\n",
                t.keys, positions, parts->cnt, o->state_topic, records, cli_mono_s() - t0,
                refused ? "; states that do not fit this contract were skipped" : "");
    return done;
}

/* The state topic must exist before it is read: compacted, one partition. */
static bool create_state_topic(gate *g)
{
    const char *topic = g->o->state_topic;
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, -1, err, sizeof err);
    if (!nt) {
        fprintf(stderr, "dq gate: state topic %s: %s\n", topic, err);
        return false;
    }
    /* Compaction keeps the newest record per sensor; short segments let it run soon. */
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_NewTopic_set_config(nt, "segment.ms", "600000");
    rd_kafka_NewTopic_set_config(nt, "min.cleanable.dirty.ratio", "0.1");
    rd_kafka_queue_t *q = rd_kafka_queue_new(g->state_producer);
    rd_kafka_CreateTopics(g->state_producer, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    bool ok = false;
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
        if (!e && n == 1)
            e = rd_kafka_topic_result_error(res[0]);
        ok = !e || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS;
        if (!ok)
            fprintf(stderr, "dq gate: cannot create the state topic %s: %s\n", topic, rd_kafka_err2str(e));
        rd_kafka_event_destroy(ev);
    } else {
        fprintf(stderr, "dq gate: cannot create the state topic %s: no answer in 30 s\n", topic);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return ok;
}

static void account_latency(gate *g)
{
    int64_t now = cli_now_ms();
    for (size_t i = 0; i < g->batch_n; i++) {
        if (g->batch_ts[i] <= 0)
            continue;
        double ms = (double)(now - g->batch_ts[i]);
        size_t b = 0;
        while (b < N_LE && ms > latency_le[b])
            b++;
        g->live.latency_bucket[b]++;
        g->live.latency_sum_ms += ms;
        g->live.latency_count++;
    }
}

/* Messages behind the end of the assigned partitions, and how many partitions those are. */
static uint64_t consumer_lag(gate *g, int *partitions)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    uint64_t lag = 0;
    *partitions = 0;
    if (rd_kafka_assignment(g->consumer, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned)
        return 0;
    *partitions = assigned->cnt;
    rd_kafka_position(g->consumer, assigned);
    for (int i = 0; i < assigned->cnt; i++) {
        int64_t lo, hi;
        rd_kafka_topic_partition_t *p = &assigned->elems[i];
        if (rd_kafka_get_watermark_offsets(g->consumer, p->topic, p->partition, &lo, &hi) == 0 && p->offset >= 0 &&
            hi > p->offset)
            lag += (uint64_t)(hi - p->offset);
    }
    rd_kafka_topic_partition_list_destroy(assigned);
    return lag;
}

/*
 * Waits for the commit in flight, if any. A failed commit is not fatal: the outputs of
 * its batch are already acknowledged, so the worst outcome is that those events are read
 * again after a restart (at-least-once), and the next batch's commit supersedes it. This
 * is what lets the gate ride out a broker restart ("Not coordinator" and the like).
 */
static void wait_commit(gate *g)
{
    while (g->commit_pending) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(g->commit_q, 1000);
        if (!ev) {
            if (stop_requested)
                return;
            continue;
        }
        bool done = rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT;
        rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
        rd_kafka_event_destroy(ev);
        if (done) {
            g->commit_pending = false;
            if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
                g->live.commit_errors++;
                fprintf(stderr, "dq gate: offset commit failed (%s): those events may be read again\n",
                        rd_kafka_err2str(err));
            }
        }
    }
}

/* Makes the batch durable: outputs acknowledged, then the input offsets committed. */
static int finish_batch(gate *g)
{
    if (g->o->exactly_once && g->delivery_errors) {
        fprintf(stderr, "dq gate: a transaction step failed: stopping (uncommitted input is read again)\n");
        return CLI_EXIT_KAFKA;
    }
    if (g->o->exactly_once && g->in_txn) {
        g->in_txn = false;
        if (!write_state(g))
            return CLI_EXIT_KAFKA;
        if (g->positions->cnt > 0) {
            rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(g->consumer);
            bool sent = txn_step(g, rd_kafka_send_offsets_to_transaction(g->producer, g->positions, cgmd, -1),
                                 "send_offsets_to_transaction");
            rd_kafka_consumer_group_metadata_destroy(cgmd);
            if (!sent)
                return CLI_EXIT_KAFKA;
        }
        if (!txn_step(g, rd_kafka_commit_transaction(g->producer, -1), "commit_transaction"))
            return CLI_EXIT_KAFKA;
    } else if (!g->o->exactly_once && g->batch_n > 0) {
        /* Wait as long as librdkafka keeps trying (message.timeout.ms): a broker restart
         * only delays the batch; a delivery that finally fails stops the gate uncommitted. */
        while (rd_kafka_outq_len(g->producer) > 0 && !g->delivery_errors)
            rd_kafka_flush(g->producer, 1000);
        if (g->delivery_errors) {
            fprintf(stderr, "dq gate: outputs not acknowledged: input offsets not committed, stopping\n");
            return CLI_EXIT_KAFKA;
        }
        if (!write_state(g)) {
            fprintf(stderr, "dq gate: state not saved: input offsets not committed, stopping\n");
            return CLI_EXIT_KAFKA;
        }
        /* Asynchronous, one in flight: the outputs are already acknowledged, so a crash can
         * only repeat this batch and the one whose commit was in flight, never lose one. */
        wait_commit(g);
        rd_kafka_resp_err_t err = rd_kafka_commit_queue(g->consumer, g->positions, g->commit_q, NULL, NULL);
        if (err) {
            g->live.commit_errors++;
            fprintf(stderr, "dq gate: offset commit failed (%s): those events may be read again\n",
                    rd_kafka_err2str(err));
        } else {
            g->commit_pending = true;
        }
    }
    if (g->batch_n > 0) {
        account_latency(g);
        g->live.batches++;
    }
    dq_engine_totals(g->eng, &g->live.totals);
    g->live.delivery_errors += g->delivery_errors;
    g->live.lag = consumer_lag(g, &g->live.partitions);
    pthread_mutex_lock(&g->lock);
    g->snapshot = g->live;
    pthread_mutex_unlock(&g->lock);
    rd_kafka_topic_partition_list_destroy(g->positions);
    g->positions = rd_kafka_topic_partition_list_new(16);
    g->batch_n = 0;
    g->delivery_errors = 0;
    return CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- /metrics */

static size_t render_metrics(gate *g, char *buf, size_t size)
{
    gate_stats s;
    pthread_mutex_lock(&g->lock);
    s = g->snapshot;
    pthread_mutex_unlock(&g->lock);
    size_t n = dq_totals_prometheus(&s.totals, "dq", buf, size);
    if (n >= size)
        return n;
    /* With no partitions (starting, rebalancing, or more gates than partitions) the lag is
     * unknown, not 0: NaN, beside the partition count that says why. */
    char lag[32];
    snprintf(lag, sizeof lag, s.partitions > 0 ? "%" PRIu64 : "NaN", s.lag);
    int k = snprintf(buf + n, size - n,
                     "# HELP dq_gate_batches_total Batches committed.\n# TYPE dq_gate_batches_total counter\n"
                     "dq_gate_batches_total %" PRIu64 "\n"
                     "# HELP dq_gate_assigned_partitions Input partitions this gate holds (0: it checks nothing).\n"
                     "# TYPE dq_gate_assigned_partitions gauge\ndq_gate_assigned_partitions %d\n"
                     "# HELP dq_gate_consumer_lag Messages behind the end of the assigned partitions (NaN: none held).\n"
                     "# TYPE dq_gate_consumer_lag gauge\ndq_gate_consumer_lag %s\n"
                     "# HELP dq_gate_dead_letters_truncated_total Dead letters too large whole, sent as their first 64 KB.\n"
                     "# TYPE dq_gate_dead_letters_truncated_total counter\ndq_gate_dead_letters_truncated_total %" PRIu64 "\n"
                     "# HELP dq_gate_delivery_errors_total Outputs the brokers did not acknowledge.\n"
                     "# TYPE dq_gate_delivery_errors_total counter\ndq_gate_delivery_errors_total %" PRIu64 "\n"
                     "# HELP dq_gate_commit_errors_total Offset commits that failed (events may be read again).\n"
                     "# TYPE dq_gate_commit_errors_total counter\ndq_gate_commit_errors_total %" PRIu64 "\n"
                     "# HELP dq_gate_latency_ms From the input message's timestamp to its committed output.\n"
                     "# TYPE dq_gate_latency_ms histogram\n",
                     s.batches, s.partitions, lag, s.truncated, s.delivery_errors, s.commit_errors);
    if (k < 0 || (size_t)k >= size - n)
        return size;
    n += (size_t)k;
    uint64_t cum = 0;
    for (size_t b = 0; b <= N_LE; b++) {
        cum += s.latency_bucket[b];
        char le[32];
        if (b < N_LE)
            snprintf(le, sizeof le, "%g", latency_le[b]);
        else
            snprintf(le, sizeof le, "+Inf");
        k = snprintf(buf + n, size - n, "dq_gate_latency_ms_bucket{le=\"%s\"} %" PRIu64 "\n", le, cum);
        if (k < 0 || (size_t)k >= size - n)
            return size;
        n += (size_t)k;
    }
    k = snprintf(buf + n, size - n, "dq_gate_latency_ms_sum %.3f\ndq_gate_latency_ms_count %" PRIu64 "\n",
                 s.latency_sum_ms, s.latency_count);
    return k < 0 || (size_t)k >= size - n ? size : n + (size_t)k;
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state;
    gate *g = cls;
    static char not_found[] = "not found: try /metrics\n";
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
        resp = MHD_create_response_from_buffer(sizeof not_found - 1, not_found, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        size_t cap = 32768;
        char *buf = malloc(cap);
        size_t n = buf ? render_metrics(g, buf, cap) : 0;
        if (n >= cap)
            n = 0;
        resp = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    }
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static bool start_http(gate *g)
{
    char host[64];
    const char *colon = strrchr(g->o->metrics_addr, ':');
    struct sockaddr_in addr = {.sin_family = AF_INET};
    if (!colon || (size_t)(colon - g->o->metrics_addr) >= sizeof host)
        return false;
    memcpy(host, g->o->metrics_addr, (size_t)(colon - g->o->metrics_addr));
    host[colon - g->o->metrics_addr] = '\0';
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return false;
    addr.sin_port = htons((uint16_t)atoi(colon + 1));
    /* epoll (no FD_SETSIZE ceiling), idle or slow clients dropped after 5 s, and room for
     * thousands of them (the soft file limit raised to the hard one, often 1024 -> 4096+): a
     * thousand idle connections used to make every scrape fail. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    unsigned limit = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur > 512 + 256
                         ? (unsigned)(files.rlim_cur > 16384 ? 16384 : files.rlim_cur) - 256 /* Kafka's sockets */
                         : 256;
    g->http = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, ntohs(addr.sin_port), NULL, NULL, on_http, g,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
                               (unsigned)5, MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_END);
    return g->http != NULL;
}

/* ---------------------------------------------------------------- main loop */

static int setup(gate *g)
{
    const cli_gate_opts *o = g->o;
    dq_error err;
    if (!(g->ctr = dq_contract_load(o->contract, &err)) || !(g->eng = dq_engine_new(g->ctr, &err)) ||
        (o->model && (!(g->model = dq_model_load(o->model, &err)) ||
                      dq_engine_set_model(g->eng, g->model, &err) != DQ_OK)))
        return cli_fail("gate", &err);
    snprintf(g->contract_label, sizeof g->contract_label, "%s:%s", dq_contract_id(g->ctr),
             dq_contract_version(g->ctr));
    dq_engine_set_window_cb(g->eng, on_window, g);
    char txid[256];
    snprintf(txid, sizeof txid, "%s", o->transactional_id ? o->transactional_id : o->group);
    /* message.max.bytes: a reject carries the input's bytes plus the verdict in headers (a long
     * field's original value among its findings): up to about twice the largest record the
     * broker takes (1 MB by default), over librdkafka's default of 1,000,000 bytes, which
     * stopped the gate on a ~1 MB input. The dead-letter topic allows as much (stack/kafka_topics.py). */
    const char *pdefaults[] = {"bootstrap.servers", o->brokers, "enable.idempotence", "true", "linger.ms", "2",
                               "compression.type", "lz4", "message.max.bytes", "4194304",
                               o->exactly_once ? "transactional.id" : NULL, txid, NULL};
    const char *cdefaults[] = {"bootstrap.servers", o->brokers, "group.id", o->group, "enable.auto.commit", "false",
                               "enable.auto.offset.store", "false", "auto.offset.reset", "earliest",
                               "isolation.level", "read_committed",
                               /* Latency: do not let the broker hold a fetch for long. */
                               "fetch.wait.max.ms", "10", NULL};
    if (!(g->producer = cli_kafka_new(RD_KAFKA_PRODUCER, pdefaults, &o->props, on_delivery, NULL, g)) ||
        !(g->consumer = cli_kafka_new(RD_KAFKA_CONSUMER, cdefaults, &o->props, NULL, on_rebalance, g)))
        return CLI_EXIT_KAFKA;
    g->state_producer = g->producer;
    if (o->state_topic && !o->exactly_once) {
        char state_txid[300];
        snprintf(state_txid, sizeof state_txid, "%s.state", txid);
        const char *sdefaults[] = {"bootstrap.servers", o->brokers, "transactional.id", state_txid, NULL};
        if (!(g->state_producer = cli_kafka_new(RD_KAFKA_PRODUCER, sdefaults, &o->props, on_delivery, NULL, g)))
            return CLI_EXIT_KAFKA;
    }
    /* Also aborts what a crashed predecessor with the same id left open, so reading
     * the state topic (read_committed) does not wait for that transaction to time out. */
    if ((o->exactly_once && !txn_step(g, rd_kafka_init_transactions(g->producer, 30000), "init_transactions")) ||
        (g->state_producer != g->producer &&
         !txn_step(g, rd_kafka_init_transactions(g->state_producer, 30000), "state init_transactions")) ||
        (o->state_topic && !create_state_topic(g)))
        return CLI_EXIT_KAFKA;
    rd_kafka_poll_set_consumer(g->consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->in_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(g->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (kerr) {
        fprintf(stderr, "dq gate: subscribe to %s: %s\n", o->in_topic, rd_kafka_err2str(kerr));
        return CLI_EXIT_KAFKA;
    }
    g->positions = rd_kafka_topic_partition_list_new(16);
    g->commit_q = rd_kafka_queue_new(g->consumer);
    g->batch_ts = calloc((size_t)o->batch_max, sizeof *g->batch_ts);
    if (!g->batch_ts)
        return CLI_EXIT_IO;
    if (o->metrics_addr && !start_http(g)) {
        fprintf(stderr, "dq gate: cannot serve metrics on %s (in use? use --metrics-addr)\n", o->metrics_addr);
        return CLI_EXIT_IO;
    }
    return CLI_EXIT_OK;
}

int cli_gate_run(const cli_gate_opts *o)
{
    gate g = {.o = o};
    pthread_mutex_init(&g.lock, NULL);
    int rc = setup(&g);
    uint64_t seen = 0;
    double t0 = cli_mono_s(), last_report = t0;
    g.last_activity = t0;
    bool progress = !o->quiet && isatty(STDERR_FILENO);
    while (rc == CLI_EXIT_OK && !stop_requested && !g.fatal) {
        double batch_end = cli_mono_s() + o->batch_ms / 1000.0;
        dq_engine_set_now(g.eng, cli_now_ms()); /* the future-timestamp rule's "now" */
        while (g.batch_n < (size_t)o->batch_max && !stop_requested && !g.fatal &&
               (!o->max_events || seen < o->max_events)) {
            double left = batch_end - cli_mono_s();
            if (left <= 0)
                break;
            rd_kafka_message_t *m = rd_kafka_consumer_poll(g.consumer, (int)(left * 1000) + 1);
            if (!m)
                continue;
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    fprintf(stderr, "dq gate: consumer: %s\n", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                continue;
            }
            handle(&g, m);
            rd_kafka_message_destroy(m);
            seen++;
            g.last_activity = cli_mono_s();
        }
        rc = finish_batch(&g);
        if (rc == CLI_EXIT_OK && g.fatal)
            rc = g.fatal;
        if (o->max_events && seen >= o->max_events)
            break;
        if (o->idle_exit_ms && g.assigned && (cli_mono_s() - g.last_activity) * 1000 >= o->idle_exit_ms)
            break;
        if (progress && cli_mono_s() - last_report >= 1.0) {
            fprintf(stderr, "\rdq gate: %" PRIu64 " events, %" PRIu64 " rejected, lag %" PRIu64 "  ", seen,
                    g.live.totals.verdicts[DQ_REJECT], g.live.lag);
            last_report = cli_mono_s();
        }
    }
    if (rc == CLI_EXIT_OK && g.eng) {
        /* Orderly stop: the open metric windows go out as one last batch. */
        dq_engine_flush(g.eng);
        if (o->exactly_once)
            rc = finish_batch(&g);
        else
            rd_kafka_flush(g.producer, 30000);
        wait_commit(&g); /* the last commit may still be in flight */
    }
    if (!o->quiet && g.eng) {
        dq_totals t;
        dq_engine_totals(g.eng, &t);
        fprintf(stderr, "%sdq gate: %" PRIu64 " events in %.3f s: %" PRIu64 " pass, %" PRIu64 " fixed, %" PRIu64
                        " rejected\n", progress ? "\n" : "", t.events, cli_mono_s() - t0, t.verdicts[DQ_PASS],
                t.verdicts[DQ_FIXED], t.verdicts[DQ_REJECT]);
    }
    if (g.http)
        MHD_stop_daemon(g.http);
    if (g.commit_q) {
        wait_commit(&g);
        rd_kafka_queue_destroy(g.commit_q); /* before its consumer goes */
    }
    if (g.consumer) {
        g.closing = true;
        rd_kafka_consumer_close(g.consumer); /* leaves the group: partitions move at once */
        rd_kafka_destroy(g.consumer);
    }
    if (g.state_producer && g.state_producer != g.producer)
        rd_kafka_destroy(g.state_producer);
    if (g.producer) {
        rd_kafka_flush(g.producer, 30000);
        rd_kafka_destroy(g.producer);
    }
    if (g.positions)
        rd_kafka_topic_partition_list_destroy(g.positions);

    free(g.batch_ts);
    dq_engine_free(g.eng);
    dq_model_free(g.model);
    dq_contract_free(g.ctr);
    pthread_mutex_destroy(&g.lock);
    return rc;
}

static const char help[] =
    "usage: dq gate --contract FILE [--brokers HOSTS] [--group ID] [--input TOPIC]\n"
    "               [--clean TOPIC] [--dlq TOPIC] [--metrics-topic TOPIC] [--metrics-addr HOST:PORT]\n"
    "               [--model FILE] [--anomalies TOPIC]\n"
    "               [--exactly-once] [--transactional-id ID] [--state-topic TOPIC]\n"
    "               [--batch N] [--batch-ms MS]\n"
    "               [--max-events N] [--idle-exit MS] [-X librdkafka.property=value ...] [--quiet]\n"
    "\n"
    "Validates every event of the input topic against the contract and routes it:\n"
    "PASS/FIXED to the clean topic, REJECT (original bytes and headers, plus dq.* headers\n"
    "with reasons, verdict, source topic/partition/offset, contract) to the dead-letter\n"
    "topic, closed metric windows to the metrics topic; clean events the anomaly detector\n"
    "flags also to the anomalies topic. Offsets are committed only after\n"
    "the outputs are acknowledged (at-least-once), or in one transaction with them\n"
    "(--exactly-once). Per-sensor state (duplicates, spikes, stuck values, gaps) is saved\n"
    "with each batch to a compacted state topic and restored on start, with the input\n"
    "positions it belongs to. SIGTERM finishes the batch, commits and leaves the group.\n"
    "\n"
    "  --brokers HOSTS        bootstrap servers (default 127.0.0.1:9092)\n"
    "  --group ID             consumer group (default dq-gate); more instances share the partitions\n"
    "  --input TOPIC          raw events (default sensor-topic)\n"
    "  --clean TOPIC          default sensor-clean     --dlq TOPIC  default sensor-dlq\n"
    "  --metrics-topic TOPIC  default dq-metrics ('' to disable)\n"
    "  --metrics-addr A:P     Prometheus /metrics (default 127.0.0.1:9464, '' to disable)\n"
    "  --model FILE           score anomalies with this model (ml/train.py, ml/fetch_model.py)\n"
    "                         instead of the contract's online detector\n"
    "  --anomalies TOPIC      default sensor-anomalies ('' to disable)\n"
    "  --state-topic TOPIC    per-sensor state across restarts (default <group>-state, created\n"
    "                         compacted if missing; '' keeps state in memory only)\n"
    "  --transactional-id ID  stable per instance, unique among instances (default: the group):\n"
    "                         the state (with --exactly-once every batch) is written in transactions\n"
    "  --batch N, --batch-ms MS   a batch ends after N events or MS ms (default 5000, 20)\n"
    "  --max-events N, --idle-exit MS   stop after N events, or after MS ms without input\n"
    "  -X key=value           any librdkafka property, for both clients; prefix consumer. or\n"
    "                         producer. for one (-X consumer.session.timeout.ms=6000)\n"
    "  --relay                forward events unchanged to the clean topic, without validating:\n"
    "                         the Kafka ceiling `make bench-gate` compares the gate with\n"
    "\n"
    "Exit codes: 0 ok, 2 usage, 3 contract or model, 4 input/output, 5 Kafka, 6 out of memory.\n"
    "\n"
    "example:\n"
    "  dq gate -c contracts/sensor_readings.yaml --brokers 127.0.0.1:9092\n";

int cli_cmd_gate(int argc, char **argv)
{
    enum { O_BROKERS = 256, O_GROUP, O_IN, O_CLEAN, O_DLQ, O_MTOPIC, O_MADDR, O_EOS, O_TXID, O_BATCH, O_BATCHMS,
           O_MAX, O_IDLE, O_RELAY, O_STATE, O_MODEL, O_ANOMALIES };
    static const struct option longopts[] = {
        {"contract", required_argument, NULL, 'c'}, {"brokers", required_argument, NULL, O_BROKERS},
        {"group", required_argument, NULL, O_GROUP}, {"input", required_argument, NULL, O_IN},
        {"clean", required_argument, NULL, O_CLEAN}, {"dlq", required_argument, NULL, O_DLQ},
        {"metrics-topic", required_argument, NULL, O_MTOPIC}, {"metrics-addr", required_argument, NULL, O_MADDR},
        {"exactly-once", no_argument, NULL, O_EOS}, {"transactional-id", required_argument, NULL, O_TXID},
        {"batch", required_argument, NULL, O_BATCH}, {"batch-ms", required_argument, NULL, O_BATCHMS},
        {"max-events", required_argument, NULL, O_MAX}, {"idle-exit", required_argument, NULL, O_IDLE},
        {"relay", no_argument, NULL, O_RELAY}, {"state-topic", required_argument, NULL, O_STATE},
        {"model", required_argument, NULL, O_MODEL}, {"anomalies", required_argument, NULL, O_ANOMALIES},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    cli_gate_opts o = {.brokers = "127.0.0.1:9092", .group = "dq-gate", .in_topic = "sensor-topic",
                      .clean_topic = "sensor-clean", .dlq_topic = "sensor-dlq", .metrics_topic = "dq-metrics",
                      .metrics_addr = "127.0.0.1:9464", .anomaly_topic = "sensor-anomalies", .batch_max = 5000,
                      .batch_ms = 20};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:X:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.contract = optarg; break;
        case 'X':
            if (!cli_kafka_props_add(&o.props, optarg))
                return CLI_EXIT_USAGE;
            break;
        case O_BROKERS: o.brokers = optarg; break;
        case O_GROUP: o.group = optarg; break;
        case O_IN: o.in_topic = optarg; break;
        case O_CLEAN: o.clean_topic = optarg; break;
        case O_DLQ: o.dlq_topic = optarg; break;
        case O_MTOPIC: o.metrics_topic = *optarg ? optarg : NULL; break;
        case O_MADDR: o.metrics_addr = *optarg ? optarg : NULL; break;
        case O_EOS: o.exactly_once = true; break;
        case O_TXID: o.transactional_id = optarg; break;
        case O_BATCH: o.batch_max = atoi(optarg); break;
        case O_BATCHMS: o.batch_ms = atoi(optarg); break;
        case O_MAX: o.max_events = strtoull(optarg, NULL, 10); break;
        case O_IDLE: o.idle_exit_ms = atoi(optarg); break;
        case O_RELAY: o.relay = true; break;
        case O_STATE: o.state_topic = optarg; break;
        case O_MODEL: o.model = optarg; break;
        case O_ANOMALIES: o.anomaly_topic = *optarg ? optarg : NULL; break;
        case 'q': o.quiet = true; break;
        case 'h': fputs(help, stdout); return CLI_EXIT_OK;
        default: fputs(help, stderr); return CLI_EXIT_USAGE;
        }
    }
    if (!o.contract || o.batch_max < 1 || o.batch_ms < 1) {
        fprintf(stderr, "dq gate: --contract is required; --batch and --batch-ms must be positive\n");
        return CLI_EXIT_USAGE;
    }
    char state_topic[300];
    if (!o.state_topic) {
        snprintf(state_topic, sizeof state_topic, "%s-state", o.group);
        o.state_topic = state_topic;
    }
    if (!*o.state_topic || o.relay) /* the relay keeps no state */
        o.state_topic = NULL;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    return cli_gate_run(&o);
}
