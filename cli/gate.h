/*
 * gate.h - `dq gate` as a function, so tests can run it against librdkafka's mock cluster.
 */
#ifndef CLI_GATE_H
#define CLI_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "kafka.h"

typedef struct cli_gate_opts {
    const char *contract, *brokers, *group, *in_topic, *clean_topic, *dlq_topic;
    const char *metrics_topic; /* NULL: no metrics topic */
    const char *model;          /* anomaly model file (dq_model_load); NULL: the online detector */
    const char *anomaly_topic;  /* flagged clean events, also; NULL: none */
    const char *metrics_addr;  /* "127.0.0.1:9464"; NULL: no HTTP endpoint */
    bool exactly_once;
    const char *transactional_id;
    const char *state_topic; /* per-sensor state across restarts; NULL: kept in memory only */
    int batch_max, batch_ms;
    uint64_t max_events; /* stop after this many events (0: never) */
    int idle_exit_ms;    /* stop after this long without input (0: never) */
    cli_kafka_props props;
    bool relay; /* no validation: the same Kafka work without libdq (benchmark ceiling) */
    bool quiet;
} cli_gate_opts;

/* Runs the gate until a signal, max_events or idle_exit; returns a CLI_EXIT_* code. */
int cli_gate_run(const cli_gate_opts *o);

#endif
