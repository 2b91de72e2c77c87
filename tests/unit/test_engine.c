/* Unit tests for rules.c, state.c, window.c and engine.c: verdicts, cleaning, state, windows. */
#include <stdlib.h>

#include "dq_int.h"
#include "testhelp.h"

static dq_contract *ctr;
static dq_engine *eng;
static dq_result res;

static void fresh(void)
{
    char err[256];
    dq_engine_free(eng);
    eng = dq_engine_new(ctr, err, sizeof err);
    dq_engine_set_now(eng, 1795666380000LL + 3600000); /* 2026-11-26T05:13:00Z */
}

/* Evaluates an event given as printf arguments; returns its verdict. */
static int ev(const char *json)
{
    dq_engine_eval_n(eng, json, strlen(json), &res);
    return (int)res.verdict;
}

#define R(x) (1ull << (x))
#define E(ts, t, h) "{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:" ts "Z\",\"temperature\":" t ",\"humidity\":" h "}"

static char clean_text[1024];
static const char *clean(void)
{
    if (!res.clean)
        return "(none)";
    memcpy(clean_text, res.clean, res.clean_len);
    clean_text[res.clean_len] = '\0';
    return clean_text;
}

static void test_stateless(void)
{
    fresh();
    CHECK_INT(ev(E("13:00", "21.50", "40")), DQ_PASS);
    CHECK_STR(clean(), "{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:13:00.000Z\",\"temperature\":21.5,"
                       "\"humidity\":40,\"dq\":{\"status\":\"PASS\"}}");
    CHECK_INT(ev(E("13:10", "61", "40")), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_OUT_OF_RANGE));
    CHECK(res.clean == NULL);
    CHECK_INT(ev(E("13:10", "true", "40")), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_WRONG_TYPE));
    CHECK_INT(ev(E("13:10", "\"abc\"", "40")), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_WRONG_TYPE));
    CHECK_INT(ev(E("13:10", "\"NaN\"", "40")), DQ_REJECT);
    CHECK_INT(ev(E("13:10", "\" 22.25 \"", "40")), DQ_FIXED);
    CHECK_INT(res.reasons, R(DQ_R_WRONG_TYPE));
    CHECK_INT(res.details[0].action, DQ_ACT_COERCED);
    CHECK(strstr(clean(), "\"temperature\":22.25,") != NULL);
    CHECK_INT(ev("{\"sensor_id\":\"sensor_invalid\",\"timestamp\":\"2026-11-26T04:13:20Z\",\"temperature\":1,"
                 "\"humidity\":1}"),
              DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_PATTERN_MISMATCH));
    CHECK(res.key == NULL);
    CHECK_INT(ev("{\"sensor_id\":\"sensor_1\",\"timestamp\":\"26/11/2026\",\"temperature\":1,\"humidity\":1}"),
              DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_INVALID_TIMESTAMP));
    CHECK_INT(ev("{\"sensor_id\":\"sensor_1\",\"temperature\":1,\"humidity\":1}"), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_MISSING_FIELD));
    CHECK_INT(ev("{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2027-01-01T00:00:00Z\",\"temperature\":1,"
                 "\"humidity\":1}"),
              DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_FUTURE_TIMESTAMP));
    CHECK_INT(ev("{\"sensor_id\":\"sensor_2\",\"timestamp\":1795666400,\"temperature\":1,\"humidity\":1,"
                 "\"pressure\":800,\"battery\":7,\"location\":\"lab\"}"),
              DQ_FIXED);
    CHECK_INT(res.reasons, R(DQ_R_OUT_OF_RANGE));
    CHECK_STR(clean(), "{\"sensor_id\":\"sensor_2\",\"timestamp\":\"2026-11-26T04:13:20.000Z\",\"temperature\":1,"
                       "\"humidity\":1,\"pressure\":870,\"battery\":7,\"location\":\"lab\",\"dq\":{\"status\":"
                       "\"FIXED\",\"reasons\":[\"OUT_OF_RANGE\"],\"findings\":[{\"field\":\"pressure\",\"reason\":"
                       "\"OUT_OF_RANGE\",\"action\":\"capped\",\"from\":800},{\"field\":\"battery\",\"reason\":"
                       "\"OUT_OF_RANGE\",\"action\":\"warn\",\"from\":7}]}}");
    CHECK_INT(ev("{\"sensor_id\":\"sensor_3\",\"timestamp\":1795666400000,\"temperature\":1,\"humidity\":1}"),
              DQ_PASS);
    CHECK_INT(res.event_time_ms, 1795666400000LL);
}

static void test_stateful(void)
{
    fresh();
    CHECK_INT(ev(E("13:00", "20", "40")), DQ_PASS);
    CHECK_INT(ev(E("13:00", "20", "40")), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_DUPLICATE_EVENT));
    CHECK_INT(ev(E("13:10", "20.5", "40")), DQ_PASS);
    CHECK_INT(ev(E("11:00", "20", "40")), DQ_REJECT); /* 2m10s older than newest: late */
    CHECK_INT(res.reasons, R(DQ_R_LATE_EVENT));
    CHECK_INT(ev(E("12:50", "20", "40")), DQ_PASS); /* 20 s older: within tolerance */
    CHECK_INT(ev(E("13:20", "40", "40")), DQ_PASS);  /* +19.5 °C in 10 s: spike, warned */
    CHECK_INT(res.reasons, R(DQ_R_SPIKE));
    CHECK_INT(ev(E("25:00", "40", "40")), DQ_PASS); /* ~12 min of silence: gap, warned */
    CHECK_INT(res.reasons, R(DQ_R_GAP));
}

static void test_impute(void)
{
    fresh();
    CHECK_INT(ev("{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:13:00Z\",\"humidity\":40}"), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_MISSING_FIELD)); /* no last good value yet */
    CHECK_INT(ev(E("13:10", "21.25", "40")), DQ_PASS);
    CHECK_INT(ev("{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:14:00Z\",\"temperature\":null,"
                 "\"humidity\":41}"),
              DQ_FIXED);
    CHECK(strstr(clean(), "\"temperature\":21.25,") != NULL);
    CHECK_INT(res.details[0].action, DQ_ACT_IMPUTED);
    CHECK_INT(ev("{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:18:20Z\",\"humidity\":41}"), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_MISSING_FIELD)); /* last good is older than maxAge 5m */
}

static void test_stuck(void)
{
    char e[256];
    fresh();
    int stuck_at = -1;
    for (int i = 0; i < 40 && stuck_at < 0; i++) {
        snprintf(e, sizeof e,
                 "{\"sensor_id\":\"sensor_9\",\"timestamp\":%d,\"temperature\":19.5,\"humidity\":%d}",
                 1795666000 + 10 * i, 30 + i % 7);
        ev(e);
        if (res.reasons & R(DQ_R_STUCK_VALUE))
            stuck_at = i;
    }
    CHECK_INT(stuck_at, 29); /* the 30th identical reading */
}

static int windows_seen;
static uint64_t overall_events;
static void on_window(const dq_window_stats *st, void *opaque)
{
    (void)opaque;
    windows_seen++;
    if (st->key_len == 0 && st->window_ms == 60000)
        overall_events += st->events;
}

static void test_windows(void)
{
    fresh();
    windows_seen = 0;
    overall_events = 0;
    dq_engine_set_window_cb(eng, on_window, NULL);
    ev(E("13:00", "20", "40"));
    ev(E("13:30", "20", "40"));
    ev("garbage");
    CHECK_INT(windows_seen, 0);
    ev(E("14:00", "20", "40")); /* closes the 04:13 minute */
    CHECK_INT(windows_seen, 2); /* sensor_1 and overall */
    CHECK_INT(overall_events, 3);
    dq_engine_flush(eng);
    CHECK_INT(overall_events, 4);
    dq_totals t;
    dq_engine_totals(eng, &t);
    CHECK_INT(t.events, 4);
    CHECK_INT(t.verdicts[DQ_REJECT], 1);
    CHECK_INT(t.reasons[DQ_R_MALFORMED_JSON], 1);
    char prom[8192];
    size_t n = dq_totals_prometheus(&t, "dq", prom, sizeof prom);
    CHECK(n < sizeof prom);
    CHECK(strstr(prom, "dq_events_total{verdict=\"reject\"} 1\n") != NULL);
    dq_engine_set_window_cb(eng, NULL, NULL);
}

static void test_batch_and_reject_json(void)
{
    fresh();
    const char *evs[] = {E("13:00", "20", "40"), "{\"x\":", E("13:10", "99", "40")};
    char buf[1024];
    uint64_t offs[4] = {0};
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(buf + len, evs[i], strlen(evs[i]));
        len += strlen(evs[i]);
        offs[i + 1] = len;
    }
    uint8_t verdicts[3];
    uint64_t reasons[3], clean_offs[4];
    char out[1 << 16];
    CHECK_INT(dq_engine_eval_batch(eng, buf, offs, 3, verdicts, reasons, NULL, out, sizeof out, clean_offs), 3);
    CHECK_INT(verdicts[0], DQ_PASS);
    CHECK_INT(verdicts[1], DQ_REJECT);
    CHECK_INT(reasons[1], R(DQ_R_MALFORMED_JSON));
    CHECK_INT(verdicts[2], DQ_REJECT);
    const char malformed[] = "{\"status\":\"REJECT\",\"reasons\":[\"MALFORMED_JSON\"],\"findings\":"
                             "[{\"reason\":\"MALFORMED_JSON\",\"action\":\"reject\"}]}";
    CHECK(clean_offs[1] > 0 && clean_offs[2] - clean_offs[1] == strlen(malformed));
    CHECK(memcmp(out + clean_offs[1], malformed, strlen(malformed)) == 0);
    CHECK(clean_offs[3] > clean_offs[2]); /* the third one's annotation */
    CHECK_INT(dq_engine_eval_batch(eng, buf, offs, 3, verdicts, reasons, NULL, out, 100, clean_offs), 0);

    char rec[512];
    const char raw[] = "{\"a\":\"\xff\"}";
    ev(raw);
    size_t n = dq_reject_json(&res, "\"line\":7", raw, strlen(raw), rec, sizeof rec);
    CHECK(n < sizeof rec);
    CHECK_STR(rec, "{\"line\":7,\"dq\":{\"status\":\"REJECT\",\"reasons\":[\"INVALID_UTF8\"],\"findings\":[{\"reason\":"
                   "\"INVALID_UTF8\",\"action\":\"reject\"}]},\"raw_base64\":\"eyJhIjoi/yJ9\"}");
    CHECK(dq_reject_json(&res, NULL, raw, strlen(raw), rec, 10) >= 10);
}

/* The saved state of one key, as dq_engine_state_changes reports it. */
static unsigned char saved[DQ_STATE_MAX_BYTES];
static size_t saved_len;
static int saved_keys;
static void keep_state(const char *key, size_t key_len, const void *state, size_t len, void *opaque)
{
    (void)opaque;
    CHECK(len <= sizeof saved);
    CHECK(key_len == 8 && memcmp(key, "sensor_1", 8) == 0);
    memcpy(saved, state, len);
    saved_len = len;
    saved_keys++;
}

/* A restart in the middle of a stream: the restored engine gives the same verdicts. */
static void test_state_restore(void)
{
    fresh();
    CHECK_INT(ev(E("13:00", "20", "40")), DQ_PASS);
    CHECK_INT(ev(E("13:10", "20.5", "41")), DQ_PASS);
    CHECK_INT(ev(E("13:20", "\"bad\"", "41")), DQ_REJECT); /* rejected: no state change */
    saved_keys = 0;
    dq_engine_state_changes(eng, keep_state, NULL);
    CHECK_INT(saved_keys, 1);
    dq_engine_state_changes(eng, keep_state, NULL); /* reported once */
    CHECK_INT(saved_keys, 1);

    fresh();
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, saved, saved_len), DQ_OK);
    dq_engine_state_changes(eng, keep_state, NULL); /* a restore is not a change */
    CHECK_INT(saved_keys, 1);
    CHECK_INT(ev(E("13:10", "20.5", "41")), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_DUPLICATE_EVENT));
    CHECK_INT(ev(E("13:30", "45", "41")), DQ_PASS); /* a spike against the restored last value: warned */
    CHECK_INT(res.reasons, R(DQ_R_SPIKE));
    CHECK_INT(ev("{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:13:40Z\",\"temperature\":21}"),
              DQ_FIXED); /* humidity imputed from the restored last good value */
    CHECK(strstr(clean(), "\"humidity\":41,") != NULL);

    /* Bytes that are not a state of this contract change nothing. */
    fresh();
    unsigned char bad[DQ_STATE_MAX_BYTES];
    memcpy(bad, saved, saved_len);
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, bad, saved_len - 1), DQ_ERR_STATE);
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, bad, 0), DQ_ERR_STATE);
    bad[0] = 99; /* version */
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, bad, saved_len), DQ_ERR_STATE);
    bad[0] = saved[0];
    bad[1]++; /* numeric fields */
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, bad, saved_len), DQ_ERR_STATE);
    CHECK_INT(dq_engine_state_restore(NULL, "sensor_1", 8, saved, saved_len), DQ_ERR_ARG);
    dq_totals t;
    dq_engine_totals(eng, &t);
    CHECK_INT(t.keys, 0);

    /* Clearing forgets: the duplicate is no longer known. */
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, saved, saved_len), DQ_OK);
    dq_engine_state_clear(eng);
    CHECK_INT(ev(E("13:10", "20.5", "41")), DQ_PASS);
}

static void test_names(void)
{
    CHECK_STR(dq_reason_name(DQ_R_SPIKE), "SPIKE");
    CHECK_INT(dq_reason_from_name("STUCK_VALUE"), DQ_R_STUCK_VALUE);
    CHECK_INT(dq_reason_from_name("NOPE"), -1);
    CHECK_STR(dq_reason_name(999), "UNKNOWN");
    CHECK_STR(dq_err_name(DQ_ERR_NOMEM), "DQ_ERR_NOMEM");
    CHECK_INT(dq_engine_eval_n(NULL, "", 0, &res), DQ_ERR_ARG);
}

int main(void)
{
    ctr = th_sensor_contract();
    RUN(test_stateless);
    RUN(test_stateful);
    RUN(test_impute);
    RUN(test_stuck);
    RUN(test_windows);
    RUN(test_batch_and_reject_json);
    RUN(test_state_restore);
    RUN(test_names);
    dq_engine_free(eng);
    dq_contract_free(ctr);
    return th_report("test_engine");
}
