/*
 * kafka.c - librdkafka clients from defaults plus -X and --kafka-config overrides, and producing with
 * back-pressure.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kafka.h"

bool cli_kafka_props_add(cli_kafka_props *p, const char *kv)
{
    if (!strchr(kv, '=') || kv[0] == '=') {
        fprintf(stderr, "dq: a Kafka property is key=value (librdkafka's names), got '%s'\n", kv);
        return false;
    }
    if (p->n == CLI_MAX_PROPS) {
        fprintf(stderr, "dq: more than %d Kafka properties (-X, --kafka-config)\n", CLI_MAX_PROPS);
        return false;
    }
    p->kv[p->n++] = kv;
    return true;
}

bool cli_kafka_props_load(cli_kafka_props *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "dq: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
        fprintf(stderr, "dq: warning: other users may read %s, which may hold a password (chmod 600 %s)\n", path,
                path);
    char *line = p->text + p->text_used;
    size_t room = sizeof p->text - p->text_used;
    bool ok = true;
    for (int lineno = 1; ok && room > 1 && fgets(line, (int)room, f); lineno++) {
        size_t len = strlen(line);
        bool whole = len > 0 && line[len - 1] == '\n';
        if (!whole && !feof(f)) {
            fprintf(stderr, "dq: %s:%d: line too long\n", path, lineno);
            ok = false;
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        char *start = line + strspn(line, " \t"), *eq = strchr(start, '=');
        if (*start == '\0' || *start == '#')
            continue;
        if (!eq || eq == start) {
            fprintf(stderr, "dq: %s:%d: expected key=value (a librdkafka property)\n", path, lineno);
            ok = false;
            break;
        }
        /* "key = value" as Java's properties files allow: the blanks around '=' go. */
        size_t key_end = (size_t)(eq - start), value = key_end + 1 + strspn(eq + 1, " \t");
        while (key_end > 0 && (start[key_end - 1] == ' ' || start[key_end - 1] == '\t'))
            key_end--;
        start[key_end] = '=';
        memmove(start + key_end + 1, start + value, strlen(start + value) + 1);
        ok = cli_kafka_props_add(p, start);
        line += len + 1;
        room -= len + 1;
    }
    if (ok && ferror(f)) {
        fprintf(stderr, "dq: cannot read %s: %s\n", path, strerror(errno));
        ok = false;
    } else if (ok && room <= 1 && !feof(f)) {
        fprintf(stderr, "dq: %s: more than %d bytes of properties\n", path, CLI_PROPS_FILE_BYTES);
        ok = false;
    }
    p->text_used = sizeof p->text - room;
    fclose(f);
    return ok;
}

static bool set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "dq: Kafka property %s=%s: %s\n", key, value, err);
        return false;
    }
    return true;
}

rd_kafka_t *cli_kafka_new(rd_kafka_type_t type, const char *const *defaults, const cli_kafka_props *props,
                         void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                         void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *,
                                              void *),
                         void *opaque)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bool ok = true;
    for (int i = 0; ok && defaults && defaults[i]; i += 2)
        ok = set(conf, defaults[i], defaults[i + 1]);
    for (int i = 0; ok && props && i < props->n; i++) {
        char key[256];
        const char *kv = props->kv[i];
        /* "consumer.x=v" / "producer.x=v" reach one client only; a bare "x=v" reaches both. */
        if (strncmp(kv, "consumer.", 9) == 0 || strncmp(kv, "producer.", 9) == 0) {
            if ((kv[0] == 'c') != (type == RD_KAFKA_CONSUMER))
                continue;
            kv += 9;
        }
        const char *eq = strchr(kv, '=');
        size_t klen = (size_t)(eq - kv);
        if (klen >= sizeof key) {
            fprintf(stderr, "dq: Kafka property name too long\n");
            ok = false;
            break;
        }
        memcpy(key, kv, klen);
        key[klen] = '\0';
        ok = set(conf, key, eq + 1);
    }
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (dr_cb)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    if (rebalance_cb)
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "dq: cannot create a Kafka %s: %s\n", type == RD_KAFKA_PRODUCER ? "producer" : "consumer",
                err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

rd_kafka_resp_err_t cli_kafka_produce(rd_kafka_t *rk, const char *topic, const void *key, size_t key_len,
                                      const void *val, size_t len, rd_kafka_headers_t *hdrs, int64_t ts)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)val, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0),
            RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (err && hdrs)
                rd_kafka_headers_destroy(hdrs);
            return err;
        }
        rd_kafka_poll(rk, 10); /* queue full: let deliveries drain */
    }
}
