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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gate_int.h"

volatile sig_atomic_t gate_stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    gate_stop_requested = 1;
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
    } else if (assign && g->o->state_topic && !gate_load_state(g, parts)) {
        g->fatal = CLI_EXIT_KAFKA; /* never run on a state that does not match the input */
        assign = false;
    }
    g->last_activity = cli_mono_s(); /* idle time counts from the assignment, not from the group join */
    g->assigned = assign && parts->cnt > 0;
    rd_kafka_assign(rk, assign ? parts : NULL);
}

static bool ensure_txn(gate *g);

/* A closed metric window's row, keyed by sensor ("" = overall): kept for send_rows, since this
 * runs inside libdq's evaluation of the event that closed the window. */
static void on_window(const dq_window_stats *st, void *opaque)
{
    gate *g = opaque;
    char buf[8192];
    size_t n = dq_window_stats_json(st, buf, sizeof buf);
    if (n >= sizeof buf || !g->o->metrics_topic)
        return;
    if (g->n_rows == g->rows_cap) {
        size_t cap = g->rows_cap ? 2 * g->rows_cap : 256;
        gate_row **rows = realloc(g->rows, cap * sizeof *rows);
        if (!rows) {
            g->delivery_errors++; /* a row lost: the batch is not committed */
            return;
        }
        g->rows = rows;
        g->rows_cap = cap;
    }
    gate_row *row = malloc(sizeof *row + st->key_len + n);
    if (!row) {
        g->delivery_errors++;
        return;
    }
    row->key_len = st->key_len;
    row->len = n;
    memcpy(row->bytes, st->key, st->key_len);
    memcpy(row->bytes + st->key_len, buf, n);
    g->rows[g->n_rows++] = row;
}

/* The closed windows' rows to the metrics topic, in the batch (and its transaction). */
static void send_rows(gate *g)
{
    for (size_t i = 0; i < g->n_rows; i++) {
        gate_row *row = g->rows[i];
        if (ensure_txn(g))
            gate_produce(g, g->producer, g->o->metrics_topic, row->bytes, row->key_len, row->bytes + row->key_len,
                         row->len, NULL, 0, false);
        free(row);
    }
    g->n_rows = 0;
}

bool gate_txn_step(gate *g, rd_kafka_error_t *error, const char *what)
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
    g->in_txn = gate_txn_step(g, rd_kafka_begin_transaction(g->producer), "begin_transaction");
    return g->in_txn;
}

/* Outputs keep the input's timestamp, so consumers see event age end to end. */
rd_kafka_resp_err_t gate_produce(gate *g, rd_kafka_t *rk, const char *topic, const void *key, size_t key_len,
                                 const void *val, size_t len, rd_kafka_headers_t *hdrs, int64_t ts,
                                 bool may_be_too_large)
{
    rd_kafka_resp_err_t err = cli_kafka_produce(rk, topic, key, key_len, val, len, hdrs, ts);
    if (err && (!may_be_too_large || err != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)) {
        fprintf(stderr, "dq gate: cannot produce to %s: %s\n", topic, rd_kafka_err2str(err));
        g->delivery_errors++;
    }
    return err;
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
    rd_kafka_header_add(h, CLI_HDR_REASONS, -1, reasons, -1);
    rd_kafka_header_add(h, CLI_HDR_SOURCE_TOPIC, -1, rd_kafka_topic_name(m->rkt), -1);
    snprintf(num, sizeof num, "%" PRId32, m->partition);
    rd_kafka_header_add(h, CLI_HDR_SOURCE_PARTITION, -1, num, -1);
    snprintf(num, sizeof num, "%" PRId64, m->offset);
    rd_kafka_header_add(h, CLI_HDR_SOURCE_OFFSET, -1, num, -1);
    rd_kafka_header_add(h, CLI_HDR_CONTRACT, -1, g->contract_label, -1);
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
    rd_kafka_header_add(h, CLI_HDR_VERDICT, -1, res->verdict_json, (ssize_t)res->verdict_json_len);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    if (gate_produce(g, g->producer, g->o->dlq_topic, m->key, m->key_len, m->payload, m->len, h, ts, true) !=
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        return;
    char num[32];
    h = rd_kafka_headers_new(8);
    add_verdict_headers(g, h, m, res);
    snprintf(num, sizeof num, "%zu", m->len);
    rd_kafka_header_add(h, CLI_HDR_TRUNCATED, -1, num, -1);
    snprintf(num, sizeof num, "%016" PRIx64, fnv1a64(m->payload, m->len));
    rd_kafka_header_add(h, CLI_HDR_FNV1A64, -1, num, -1);
    size_t keep = m->len < TRUNCATED_KEEP ? m->len : TRUNCATED_KEEP;
    if (gate_produce(g, g->producer, g->o->dlq_topic, m->key, m->key_len, m->payload, keep, h, ts, false) ==
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
        gate_produce(g, g->producer, g->o->clean_topic, m->key, m->key_len, m->payload, m->len, input_headers(m), ts,
                        false);
    } else {
        dq_engine_eval_n(g->eng, m->payload, m->payload ? m->len : 0, &res);
        send_rows(g);
        if (res.verdict == DQ_REJECT)
            route_reject(g, m, &res);
        else
            gate_produce(g, g->producer, g->o->clean_topic, res.key, res.key_len, res.clean, res.clean_len, input_headers(m),
                            ts, false);
        if (res.is_anomaly && g->o->anomaly_topic) /* the clean event again: its "dq" member says why */
            gate_produce(g, g->producer, g->o->anomaly_topic, res.key, res.key_len, res.clean, res.clean_len,
                            input_headers(m), ts, false);
    }
    g->batch_ts[g->batch_n++] = ts;
    remember_position(g, m);
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
            if (gate_stop_requested)
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
        if (!gate_write_state(g))
            return CLI_EXIT_KAFKA;
        if (g->positions->cnt > 0) {
            rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(g->consumer);
            bool sent = gate_txn_step(g, rd_kafka_send_offsets_to_transaction(g->producer, g->positions, cgmd, -1),
                                 "send_offsets_to_transaction");
            rd_kafka_consumer_group_metadata_destroy(cgmd);
            if (!sent)
                return CLI_EXIT_KAFKA;
        }
        if (!gate_txn_step(g, rd_kafka_commit_transaction(g->producer, -1), "commit_transaction"))
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
        if (!gate_write_state(g)) {
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
        gate_account_latency(g);
        g->live.batches++;
    }
    dq_engine_totals(g->eng, &g->live.totals);
    g->live.delivery_errors += g->delivery_errors;
    g->live.lag = gate_consumer_lag(g, &g->live.partitions);
    pthread_mutex_lock(&g->lock);
    g->snapshot = g->live;
    pthread_mutex_unlock(&g->lock);
    rd_kafka_topic_partition_list_destroy(g->positions);
    g->positions = rd_kafka_topic_partition_list_new(16);
    g->batch_n = 0;
    g->delivery_errors = 0;
    return CLI_EXIT_OK;
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
     * stopped the gate on a ~1 MB input. The dead-letter topic allows as much (stack/kafka_setup.py). */
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
    if ((o->exactly_once && !gate_txn_step(g, rd_kafka_init_transactions(g->producer, 30000), "init_transactions")) ||
        (g->state_producer != g->producer &&
         !gate_txn_step(g, rd_kafka_init_transactions(g->state_producer, 30000), "state init_transactions")) ||
        (o->state_topic && !gate_create_state_topic(g)))
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
    if (o->metrics_addr && !gate_start_http(g)) {
        fprintf(stderr, "dq gate: cannot serve metrics on %s (in use? use --metrics-addr)\n", o->metrics_addr);
        return CLI_EXIT_IO;
    }
    return CLI_EXIT_OK;
}

/*
 * For --idle-exit: whether the broker answers and says every assigned partition is read to its
 * end (the next offset to read, or the committed one before any read, at its high watermark).
 * No input during a broker outage is not idleness: the input may be waiting to arrive.
 */
static bool read_to_end(gate *g)
{
    rd_kafka_topic_partition_list_t *next = NULL;
    if (rd_kafka_assignment(g->consumer, &next) != RD_KAFKA_RESP_ERR_NO_ERROR || !next)
        return false;
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(next);
    bool at_end = next->cnt > 0 && rd_kafka_position(g->consumer, next) == RD_KAFKA_RESP_ERR_NO_ERROR;
    bool unread = false; /* a partition not read yet: its committed offset says where it starts */
    for (int i = 0; at_end && i < next->cnt; i++)
        unread |= next->elems[i].offset < 0;
    at_end = at_end && (!unread || rd_kafka_committed(g->consumer, committed, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int i = 0; at_end && i < next->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &next->elems[i];
        int64_t lo, hi, offset = p->offset >= 0 ? p->offset : committed->elems[i].offset;
        at_end = rd_kafka_query_watermark_offsets(g->consumer, p->topic, p->partition, &lo, &hi, 5000) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR &&
                 (offset >= 0 ? offset : lo) >= hi;
    }
    rd_kafka_topic_partition_list_destroy(committed);
    rd_kafka_topic_partition_list_destroy(next);
    return at_end;
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
    while (rc == CLI_EXIT_OK && !gate_stop_requested && !g.fatal) {
        double batch_end = cli_mono_s() + o->batch_ms / 1000.0;
        dq_engine_set_now(g.eng, cli_now_ms()); /* the future-timestamp rule's "now" */
        while (g.batch_n < (size_t)o->batch_max && !gate_stop_requested && !g.fatal &&
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
        if (o->idle_exit_ms && g.assigned && (cli_mono_s() - g.last_activity) * 1000 >= o->idle_exit_ms) {
            if (read_to_end(&g))
                break;
            g.last_activity = cli_mono_s(); /* input still to come, or the broker away: idle time anew */
        }
        if (progress && cli_mono_s() - last_report >= 1.0) {
            fprintf(stderr, "\rdq gate: %" PRIu64 " events, %" PRIu64 " rejected, lag %" PRIu64 "  ", seen,
                    g.live.totals.verdicts[DQ_REJECT], g.live.lag);
            last_report = cli_mono_s();
        }
    }
    if (rc == CLI_EXIT_OK && g.eng) {
        /* Orderly stop: the open metric windows go out as one last batch. */
        dq_engine_flush(g.eng);
        send_rows(&g);
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
    for (size_t i = 0; i < g.n_rows; i++)
        free(g.rows[i]);
    free(g.rows);
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
    "               [--max-events N] [--idle-exit MS] [--kafka-config FILE] [-X librdkafka.property=value ...]\n"
    "               [--quiet]\n"
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
    "  --max-events N, --idle-exit MS   stop after N events, or after MS ms without input once\n"
    "                         the broker says the input is read to its end (not while it is away)\n"
    "  --kafka-config FILE    librdkafka properties, one key=value a line, for both clients: the\n"
    "                         stack's Kafka login is .stack/kafka/validator.properties\n"
    "  -X key=value           any librdkafka property, for both clients; prefix consumer. or\n"
    "                         producer. for one (-X consumer.session.timeout.ms=6000)\n"
    "  --relay                forward events unchanged to the clean topic, without validating:\n"
    "                         the Kafka ceiling `make bench-gate` compares the gate with\n"
    "\n"
    "Exit codes: 0 ok, 2 usage, 3 contract or model, 4 input/output, 5 Kafka, 6 out of memory.\n"
    "\n"
    "example:\n"
    "  dq gate -c contracts/sensor_readings.yaml --brokers 127.0.0.1:9092 \\\n"
    "          --kafka-config .stack/kafka/validator.properties\n";

int cli_cmd_gate(int argc, char **argv)
{
    enum { O_BROKERS = 256, O_GROUP, O_IN, O_CLEAN, O_DLQ, O_MTOPIC, O_MADDR, O_EOS, O_TXID, O_BATCH, O_BATCHMS,
           O_MAX, O_IDLE, O_RELAY, O_STATE, O_MODEL, O_ANOMALIES, O_KAFKA_CONFIG };
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
        {"kafka-config", required_argument, NULL, O_KAFKA_CONFIG},
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
        case O_KAFKA_CONFIG:
            if (!cli_kafka_props_load(&o.props, optarg))
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
