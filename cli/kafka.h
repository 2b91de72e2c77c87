/*
 * kafka.h - librdkafka helpers shared by `dq gen` and `dq gate` (only cli/ uses librdkafka).
 */
#ifndef CLI_KAFKA_H
#define CLI_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#define CLI_MAX_PROPS 64

#define CLI_PROPS_FILE_BYTES 16384

/*
 * librdkafka properties from -X key=value flags and --kafka-config files, applied after our
 * defaults in the order given, to both clients; "consumer.key=value" or
 * "producer.key=value" to one of them only.
 */
typedef struct cli_kafka_props {
    const char *kv[CLI_MAX_PROPS];
    int n;
    char text[CLI_PROPS_FILE_BYTES]; /* the lines of --kafka-config files that kv points to */
    size_t text_used;
} cli_kafka_props;

/* Records "key=value"; false (with a message on stderr) if malformed or too many. */
bool cli_kafka_props_add(cli_kafka_props *p, const char *kv);

/*
 * Records every key=value line of a properties file (blank lines and # comments skipped),
 * e.g. the stack's Kafka login that `make up` writes (.stack/kafka/generator.properties):
 * how a password reaches the tools without a command line. Warns when other users may read
 * the file. False (with file:line on stderr) when it cannot be read or a line is malformed.
 */
bool cli_kafka_props_load(cli_kafka_props *p, const char *path);

/*
 * Creates a client: defaults (NULL-terminated key, value pairs), then the -X
 * properties. Returns NULL with a message on stderr.
 */
rd_kafka_t *cli_kafka_new(rd_kafka_type_t type, const char *const *defaults, const cli_kafka_props *props,
                         void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                         void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *,
                                              void *),
                         void *opaque);

/*
 * Produces one record (copied), waiting while the producer's queue is full. hdrs (may be
 * NULL) are the record's on success and freed on failure; ts <= 0: the current time.
 */
rd_kafka_resp_err_t cli_kafka_produce(rd_kafka_t *rk, const char *topic, const void *key, size_t key_len,
                                      const void *val, size_t len, rd_kafka_headers_t *hdrs, int64_t ts);

/* Headers the tools put on records: gen's ground truth, gate's verdict on a dead letter. */
#define CLI_HDR_TRUTH "dq.truth"             /* the defect dq gen injected (score reads it) */
#define CLI_HDR_SEQ "dq.seq"                 /* dq gen's line number, from 1 */
#define CLI_HDR_REASONS "dq.reasons"         /* comma-separated reason codes */
#define CLI_HDR_VERDICT "dq.verdict"         /* the annotation JSON */
#define CLI_HDR_SOURCE_TOPIC "dq.source.topic"
#define CLI_HDR_SOURCE_PARTITION "dq.source.partition"
#define CLI_HDR_SOURCE_OFFSET "dq.source.offset"
#define CLI_HDR_CONTRACT "dq.contract"       /* id:version */
#define CLI_HDR_TRUNCATED "dq.truncated"     /* a truncated dead letter: the original length */
#define CLI_HDR_FNV1A64 "dq.fnv1a64"         /* ... and the FNV-1a hash of the whole */

#endif
