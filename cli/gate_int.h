/*
 * gate_int.h - what the parts of `dq gate` share: the gate's state and the calls between them.
 *
 *   gate.c          options, setup and the loop: consume, evaluate, route, finish batches
 *   gate_state.c    per-sensor state and input positions across restarts (the state topic)
 *   gate_metrics.c  /metrics over HTTP: the totals, partitions, lag and latency for Prometheus
 */
#ifndef CLI_GATE_INT_H
#define CLI_GATE_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>

#include "cli.h"
#include "dq/dq.h"
#include "gate.h"
#include "kafka.h"

#define GATE_LATENCY_BUCKETS 11 /* gate_metrics.c: the histogram's upper bounds */

typedef struct gate_stats {
    dq_totals totals;
    uint64_t batches, delivery_errors, commit_errors, lag;
    uint64_t truncated; /* dead letters sent truncated: too large for the producer whole */
    int partitions;     /* assigned input partitions: lag means nothing while there are none */
    uint64_t latency_bucket[GATE_LATENCY_BUCKETS + 1];
    double latency_sum_ms;
    uint64_t latency_count;
} gate_stats;

/* A closed metric window's row, kept until the loop sends it (not from inside libdq's eval). */
typedef struct gate_row {
    size_t key_len, len;
    char bytes[]; /* the key, then the value */
} gate_row;

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
    int64_t *batch_ts;          /* input timestamps of this batch (ms) */
    size_t batch_n;
    gate_row **rows; /* closed windows' rows waiting to be sent */
    size_t n_rows, rows_cap;
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

extern volatile sig_atomic_t gate_stop_requested;

/* gate.c */
/* A transactional call's outcome: a failure is reported and counted as a delivery error. */
bool gate_txn_step(gate *g, rd_kafka_error_t *error, const char *what);
/* cli_kafka_produce, with a failure reported and counted as a delivery error; with
 * may_be_too_large, a record over message.max.bytes is left to the caller (not counted). */
rd_kafka_resp_err_t gate_produce(gate *g, rd_kafka_t *rk, const char *topic, const void *key, size_t key_len,
                                 const void *val, size_t len, rd_kafka_headers_t *hdrs, int64_t ts,
                                 bool may_be_too_large);

/* gate_state.c */
bool gate_create_state_topic(gate *g);
bool gate_load_state(gate *g, rd_kafka_topic_partition_list_t *parts);
bool gate_write_state(gate *g);

/* gate_metrics.c */
void gate_account_latency(gate *g);
uint64_t gate_consumer_lag(gate *g, int *partitions);
bool gate_start_http(gate *g);

#endif
