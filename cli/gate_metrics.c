/*
 * gate_metrics.c - `dq gate`'s /metrics endpoint: libdq's totals (verdicts, reasons, sensors,
 * state evictions, anomalies) and the gate's own (batches, partitions held, lag, dead letters
 * truncated, delivery and commit errors, latency histogram) in Prometheus' text format, from a
 * snapshot the loop takes after each batch. Served on 127.0.0.1 by libmicrohttpd's own thread.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gate_int.h"

/* Latency buckets (ms) of the Prometheus histogram: input timestamp to acknowledged output. */
static const double latency_le[GATE_LATENCY_BUCKETS] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000};

/* The batch's latencies, from each input's timestamp to now (its outputs acknowledged). */
void gate_account_latency(gate *g)
{
    int64_t now = cli_now_ms();
    for (size_t i = 0; i < g->batch_n; i++) {
        if (g->batch_ts[i] <= 0)
            continue;
        double ms = (double)(now - g->batch_ts[i]);
        size_t b = 0;
        while (b < GATE_LATENCY_BUCKETS && ms > latency_le[b])
            b++;
        g->live.latency_bucket[b]++;
        g->live.latency_sum_ms += ms;
        g->live.latency_count++;
    }
}

/* Messages behind the end of the assigned partitions, and how many partitions those are. */
uint64_t gate_consumer_lag(gate *g, int *partitions)
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
    for (size_t b = 0; b <= GATE_LATENCY_BUCKETS; b++) {
        cum += s.latency_bucket[b];
        char le[32];
        if (b < GATE_LATENCY_BUCKETS)
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

bool gate_start_http(gate *g)
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

