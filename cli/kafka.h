/*
 * kafka.h - librdkafka helpers shared by `dq gen` and `dq gate` (only cli/ uses librdkafka).
 */
#ifndef CLI_KAFKA_H
#define CLI_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#define CLI_MAX_PROPS 64

/*
 * librdkafka properties from -X key=value flags, applied after our defaults, to both
 * clients; "consumer.key=value" or "producer.key=value" to one of them only.
 */
typedef struct cli_kafka_props {
    const char *kv[CLI_MAX_PROPS];
    int n;
} cli_kafka_props;

/* Records "key=value"; false (with a message on stderr) if malformed or too many. */
bool cli_kafka_props_add(cli_kafka_props *p, const char *kv);

/*
 * Creates a client: defaults (NULL-terminated key, value pairs), then the -X
 * properties. Returns NULL with a message on stderr.
 */
rd_kafka_t *cli_kafka_new(rd_kafka_type_t type, const char *const *defaults, const cli_kafka_props *props,
                         void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                         void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *,
                                              void *),
                         void *opaque);

#endif
