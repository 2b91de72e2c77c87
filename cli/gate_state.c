/*
 * gate_state.c - `dq gate`'s per-sensor state and input positions across restarts.
 *
 * The per-sensor state lives in a compacted topic (default <group>-state; created with one
 * partition if missing, all partitions are read): a record per sensor (key = sensor id, value =
 * libdq's saved state) and a position record per input partition (key = "\0pos:<topic>:<partition>",
 * value = the next offset to read). A batch's changed states and its positions are
 * written in one transaction: with --exactly-once the batch's own, else one of a
 * second, transactional producer after the outputs are acknowledged and before the
 * input offsets are committed. On every assignment the gate forgets all state,
 * reads the topic to its end (read_committed) and starts each partition at its
 * saved position, so state and position always match: after a restart no event is
 * evaluated against an empty state (missed duplicates, spikes, gaps) nor against a
 * state that already holds it (flagged twice).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gate_int.h"

#define POS_PREFIX "\0pos:"
#define POS_PREFIX_LEN 5

static void produce_state(const char *key, size_t key_len, const void *state, size_t len, void *opaque)
{
    gate *g = opaque;
    gate_produce(g, g->state_producer, g->o->state_topic, key, key_len, state, len, NULL, 0, false);
}

/* Writes the batch's changed states and input positions (see above). */
bool gate_write_state(gate *g)
{
    const cli_gate_opts *o = g->o;
    if (!o->state_topic || g->positions->cnt == 0)
        return true;
    bool own_txn = !o->exactly_once; /* with --exactly-once the batch's transaction is open */
    if (own_txn && !gate_txn_step(g, rd_kafka_begin_transaction(g->state_producer), "state begin_transaction"))
        return false;
    dq_engine_state_changes(g->eng, produce_state, g);
    for (int i = 0; i < g->positions->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &g->positions->elems[i];
        char key[512], val[32];
        int kn = snprintf(key + POS_PREFIX_LEN, sizeof key - POS_PREFIX_LEN, "%s:%" PRId32, p->topic, p->partition);
        int vn = snprintf(val, sizeof val, "%" PRId64, p->offset);
        memcpy(key, POS_PREFIX, POS_PREFIX_LEN);
        gate_produce(g, g->state_producer, o->state_topic, key, POS_PREFIX_LEN + (size_t)kn, val, (size_t)vn,
                        NULL, 0, false);
    }
    if (own_txn)
        return gate_txn_step(g, rd_kafka_commit_transaction(g->state_producer, -1), "state commit_transaction");
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
bool gate_load_state(gate *g, rd_kafka_topic_partition_list_t *parts)
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
    while (!err && !done && !gate_stop_requested) {
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
bool gate_create_state_topic(gate *g)
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

