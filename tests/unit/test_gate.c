/*
 * Unit tests for cli/gate.c on librdkafka's in-process mock cluster: routing, the
 * dead-letter headers, offsets committed only with the outputs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gate.h" /* includes rdkafka.h, which rdkafka_mock.h needs first */
#include <librdkafka/rdkafka_mock.h>
#include "testhelp.h"

static rd_kafka_t *owner; /* holds the mock cluster */
static const char *bootstraps;

static const char *const events[] = {
    "{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:13:00Z\",\"temperature\":21.5,\"humidity\":40}",
    "{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:13:10Z\",\"temperature\":\"21.6\",\"humidity\":40}",
    "{\"sensor_id\":\"sensor_2\",\"timestamp\":\"2026-11-26T04:13:10Z\",\"temperature\":122,\"humidity\":-4}",
    "not json at all",
    "",
    "{\"sensor_id\":\"sensor_invalid\",\"timestamp\":\"2026-11-26T04:13:10Z\",\"temperature\":20,\"humidity\":40}",
};
#define N_EVENTS (int)(sizeof events / sizeof events[0])

static void produce_all(const char *topic)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    for (int i = 0; i < N_EVENTS; i++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "dq.truth", -1, "test", -1);
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("k", 1),
                          RD_KAFKA_V_VALUE((void *)events[i], strlen(events[i])), RD_KAFKA_V_HEADERS(h),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    }
    CHECK_INT(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
}

typedef struct seen {
    int n;
    int with_reasons, with_source, with_truth;
} seen;

/* Reads both partitions of a topic (read_committed), counting messages and dead-letter headers. */
static seen read_all(const char *topic)
{
    char err[256];
    seen s = {0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "reader", err, sizeof err);
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(2);
    for (int p = 0; p < 2; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    /* Up to 3 s for the first message (the fetcher connects), then 1 s of silence ends it. */
    for (int idle = 0; idle < (s.n ? 10 : 30);) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m || m->err) {
            idle++;
            if (m)
                rd_kafka_message_destroy(m);
            continue;
        }
        idle = 0;
        s.n++;
        rd_kafka_headers_t *h;
        const void *v;
        size_t len;
        if (rd_kafka_message_headers(m, &h) == 0) {
            s.with_reasons += rd_kafka_header_get_last(h, "dq.reasons", &v, &len) == 0 && len > 0;
            s.with_source += rd_kafka_header_get_last(h, "dq.source.offset", &v, &len) == 0;
            s.with_truth += rd_kafka_header_get_last(h, "dq.truth", &v, &len) == 0;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_destroy(c);
    return s;
}

static cli_gate_opts opts(const char *in, const char *clean, const char *dlq, bool eos)
{
    cli_gate_opts o = {.contract = DQ_SOURCE_DIR "/contracts/sensor_readings.yaml", .brokers = bootstraps,
                      .group = "gate", .in_topic = in, .clean_topic = clean, .dlq_topic = dlq,
                      .exactly_once = eos, .transactional_id = "gate-test", .batch_max = 4, .batch_ms = 50,
                      .idle_exit_ms = 1500, .quiet = true};
    /* Short group timers: the mock coordinator waits them out on every join. */
    cli_kafka_props_add(&o.props, "consumer.session.timeout.ms=6000");
    cli_kafka_props_add(&o.props, "consumer.heartbeat.interval.ms=200");
    cli_kafka_props_add(&o.props, "topic.metadata.refresh.interval.ms=500");
    cli_kafka_props_add(&o.props, "reconnect.backoff.max.ms=1000"); /* back within a second of the broker */
    return o;
}

static void create_topics(const char *prefix)
{
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(owner);
    const char *suffix[] = {"in", "clean", "dlq", "metrics"};
    for (int i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%s", prefix, suffix[i]);
        rd_kafka_mock_topic_create(mc, name, 2, 1);
    }
}

/*
 * Exactly-once mode is tested on the real broker (tests/integration/test_gate.py):
 * librdkafka 2.0's mock cluster does not apply offsets sent within a transaction.
 */
static void test_routing(bool eos)
{
    const char *p = eos ? "eos" : "alo";
    char in[32], clean[32], dlq[32], metrics[32];
    snprintf(in, sizeof in, "%s-in", p);
    snprintf(clean, sizeof clean, "%s-clean", p);
    snprintf(dlq, sizeof dlq, "%s-dlq", p);
    snprintf(metrics, sizeof metrics, "%s-metrics", p);
    create_topics(p);
    produce_all(in);
    cli_gate_opts o = opts(in, clean, dlq, eos);
    o.metrics_topic = metrics;
    CHECK_INT(cli_gate_run(&o), CLI_EXIT_OK);
    /* At the orderly stop the open windows close: per window (1 m, 1 h) a row for each sensor with
     * events (sensor_1, and sensor_2 whose reading was rejected) and the overall one, sent by the
     * loop after libdq closed them. */
    CHECK_INT(read_all(metrics).n, 2 * (2 + 1));
    seen c = read_all(clean), d = read_all(dlq);
    CHECK_INT(c.n, 2);           /* PASS and FIXED */
    CHECK_INT(d.n, 4);           /* out of range, not JSON, empty, bad sensor id */
    CHECK_INT(d.with_reasons, 4);
    CHECK_INT(d.with_source, 4);
    CHECK_INT(d.with_truth, 4);  /* the input's own headers travel with the reject */
    /* The offsets were committed with the outputs: a second run finds nothing to do. */
    CHECK_INT(cli_gate_run(&o), CLI_EXIT_OK);
    CHECK_INT(read_all(clean).n + read_all(dlq).n, N_EVENTS);
}

static void test_at_least_once(void) { test_routing(false); }

/* The broker goes away once the gate has committed all of its input: its --idle-exit must not
 * take the silence for the input's end, and the gate stops only after the broker is back. */
typedef struct outage {
    const char *group;
    double began, ended;
} outage;

static void *broker_outage(void *arg)
{
    outage *o = arg;
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", o->group, err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(2);
    for (int p = 0; p < 2; p++)
        rd_kafka_topic_partition_list_add(parts, "outage-in", p);
    for (int64_t done = 0; done < N_EVENTS; nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL)) {
        done = 0;
        if (rd_kafka_committed(c, parts, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            for (int p = 0; p < 2; p++)
                done += parts->elems[p].offset > 0 ? parts->elems[p].offset : 0;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(c);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(owner);
    o->began = cli_mono_s();
    rd_kafka_mock_broker_set_down(mc, 1);
    sleep(4); /* longer than the gate's --idle-exit */
    rd_kafka_mock_broker_set_up(mc, 1);
    o->ended = cli_mono_s();
    return NULL;
}

static void test_idle_exit_waits_out_an_outage(void)
{
    create_topics("outage");
    produce_all("outage-in");
    cli_gate_opts o = opts("outage-in", "outage-clean", "outage-dlq", false);
    o.group = "gate-outage";
    o.idle_exit_ms = 2000;
    outage out = {.group = o.group};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, broker_outage, &out), 0);
    CHECK_INT(cli_gate_run(&o), CLI_EXIT_OK);
    double stopped = cli_mono_s();
    pthread_join(t, NULL);
    CHECK(out.began > 0 && stopped > out.ended); /* not during the outage */
    CHECK_INT(read_all("outage-clean").n + read_all("outage-dlq").n, N_EVENTS);
}

/* One mapping from libdq's errors to exit codes: a file that cannot be read is an I/O failure,
 * a file that is not a contract a contract failure. */
static void test_bad_contract(void)
{
    cli_gate_opts o = opts("x", "y", "z", false);
    o.contract = "/nonexistent.yaml";
    CHECK_INT(cli_gate_run(&o), CLI_EXIT_IO);
    char path[] = "/tmp/dq-test-contract-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "id: [\n", 6) == 6);
    close(fd);
    o.contract = path;
    CHECK_INT(cli_gate_run(&o), CLI_EXIT_CONTRACT);
    unlink(path);
    CHECK_INT(cli_exit_for(DQ_ERR_NOMEM), CLI_EXIT_NOMEM);
    CHECK_INT(cli_exit_for(DQ_ERR_MODEL), CLI_EXIT_CONTRACT);
}

int main(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err);
    owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!owner) {
        fprintf(stderr, "mock cluster: %s\n", err);
        return 1;
    }
    bootstraps = rd_kafka_mock_cluster_bootstraps(rd_kafka_handle_mock_cluster(owner));
    RUN(test_at_least_once);
    RUN(test_idle_exit_waits_out_an_outage);
    RUN(test_bad_contract);
    rd_kafka_destroy(owner);
    return th_report("test_gate");
}
