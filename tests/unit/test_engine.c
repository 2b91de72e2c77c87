/* Unit tests for rules.c, state.c, window.c and engine.c: verdicts, cleaning, state, windows. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "dq_int.h"
#include "testhelp.h"

static dq_contract *ctr;
static dq_engine *eng;
static dq_result res;

static void fresh(void)
{
    dq_error err;
    dq_engine_free(eng);
    eng = dq_engine_new(ctr, &err);
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

/* A reading of sensor_1 at second s after 2026-11-26T00:00:00Z (epoch seconds on the wire). */
static int at(double s, double temperature, double humidity)
{
    char e[200];
    snprintf(e, sizeof e, "{\"sensor_id\":\"sensor_1\",\"timestamp\":%.3f,\"temperature\":%.2f,\"humidity\":%.2f}",
             1795651200.0 + s, temperature, humidity);
    return ev(e);
}

/* n readings every `every` seconds from second 0, temperature 20 +- 0.1, humidity 40 +- 0.2:
 * past the warm-up of the rules in intervals (the sensor's cadence and typical change). */
static void steady(int n, double every)
{
    for (int i = 0; i < n; i++)
        at(i * every, 20 + (i % 2 ? 0.1 : -0.1), 40 + (i % 2 ? 0.2 : -0.2));
}

/* The shipped contract's rules in the sensor's intervals give the same verdicts whatever its
 * cadence: duplicate, late beyond 3 intervals, spike beyond 10 typical changes, gap after 10. */
static void test_stateful(void)
{
    const double cadences[] = {1, 10, 60, 300};
    for (size_t i = 0; i < sizeof cadences / sizeof *cadences; i++) {
        double c = cadences[i];
        fresh();
        steady(8, c); /* seconds 0 .. 7c, the last at 20.1 */
        CHECK_INT(at(7 * c, 20.1, 40.2), DQ_REJECT);
        CHECK_INT(res.reasons, R(DQ_R_DUPLICATE_EVENT));
        CHECK_INT(at(8 * c, 19.9, 39.8), DQ_PASS);
        CHECK_INT(at(4.5 * c, 20, 40), DQ_REJECT); /* 3.5 intervals older than the newest: late */
        CHECK_INT(res.reasons, R(DQ_R_LATE_EVENT));
        CHECK_INT(at(5.5 * c, 20, 40), DQ_PASS); /* 2.5 intervals older: within the tolerance */
        CHECK_INT(at(9 * c, 39.9, 40.2), DQ_PASS); /* +20 °C in one interval: spike, warned */
        CHECK_INT(res.reasons, R(DQ_R_SPIKE));
        CHECK_INT(at(10 * c, 20.1, 40.2), DQ_PASS); /* back to normal: not a second spike */
        CHECK_INT(res.reasons, 0);
        CHECK_INT(at(21 * c, 19.9, 39.8), DQ_PASS); /* 11 intervals of silence: gap, warned */
        CHECK_INT(res.reasons, R(DQ_R_GAP));
        CHECK_INT(at(22 * c, 20.1, 40.2), DQ_PASS);
        CHECK_INT(res.reasons, 0);
    }
}

/* Before a sensor has shown DQ_CADENCE_WARMUP intervals (and DQ_SPIKE_WARMUP changes of a
 * value), the rules in intervals and the relative spike do not apply to it. */
static void test_warm_up(void)
{
    fresh();
    CHECK_INT(at(0, 20, 40), DQ_PASS);
    CHECK_INT(at(10, 20.1, 40.2), DQ_PASS);
    CHECK_INT(at(500, 45, 40), DQ_PASS); /* silence and a jump, unknown cadence: nothing to say */
    CHECK_INT(res.reasons, 0);
    fresh();
    steady(4, 10);               /* three intervals, three changes */
    CHECK_INT(at(40, 45, 40), DQ_PASS); /* the spike rule still learns */
    CHECK_INT(res.reasons, 0);
    CHECK_INT(at(150, 45.1, 40), DQ_PASS); /* the gap rule does not */
    CHECK_INT(res.reasons, R(DQ_R_GAP));
}

/* A stream restarted after hours (a silence among the first intervals, as a restore from old
 * state gives) does not blind the gap rule: the cadence is the shortest first interval. */
static void test_cadence_after_a_restart(void)
{
    fresh();
    CHECK_INT(at(0, 20, 40), DQ_PASS);
    for (int i = 0; i < 4; i++)
        CHECK_INT(at(3 * 3600 + 10 * i, 20 + (i % 2 ? 0.1 : -0.1), 40), DQ_PASS);
    CHECK_INT(at(3 * 3600 + 30 + 110, 20, 40), DQ_PASS);
    CHECK_INT(res.reasons, R(DQ_R_GAP));
}

/* A sensor that slows down from 10 s to 60 s is followed: its 60 s readings are no gap, and
 * once learned, 11 minutes of silence is one. */
static void test_cadence_changes(void)
{
    fresh();
    steady(10, 10);
    double s = 90;
    for (int i = 0; i < 30; i++) {
        s += 60;
        CHECK_INT(at(s, 20 + (i % 2 ? 0.1 : -0.1), 40), DQ_PASS);
        CHECK_INT(res.reasons, 0);
    }
    CHECK_INT(at(s + 660, 20, 40), DQ_PASS);
    CHECK_INT(res.reasons, R(DQ_R_GAP));
}

/* A value that stood still for many intervals may have moved more when it changes: the band
 * widens with the square root of the intervals since the value was first seen. */
static void test_spike_after_a_run(void)
{
    fresh();
    steady(10, 10);
    for (int i = 10; i < 60; i++)
        at(i * 10, 20.1, 40 + (i % 2 ? 0.2 : -0.2)); /* 50 identical temperatures */
    CHECK_INT(at(600, 22.5, 40), DQ_PASS); /* +2.4 °C after 500 s: drift, not a spike */
    CHECK(!(res.reasons & R(DQ_R_SPIKE)));
    CHECK_INT(at(610, 40, 40), DQ_PASS);   /* +17.5 °C in 10 s is */
    CHECK(res.reasons & R(DQ_R_SPIKE));
}

/* A value in [-1, 1) from a fixed sequence: the same scatter in every run. */
static double scatter(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*x >> 11) * 0x1.0p-52 - 1;
}

/* How many of n readings every 10 s from second s0, temperature 20 + width x scatter, are
 * flagged with reason. */
static int scattered(int n, double s0, double width, uint64_t *x, dq_reason reason)
{
    int flagged = 0;
    for (int i = 0; i < n; i++) {
        at(s0 + 10 * i, 20 + width * scatter(x), 40);
        flagged += (res.reasons & R(reason)) != 0;
    }
    return flagged;
}

/* A sensor whose readings turn ten times as scattered as its own: NOISE within a few
 * readings and all along (the quieter ones too), not once it is quiet again; a real spike
 * amid the noise is still a spike, and the noise does not become the sensor's norm. */
static void test_noise(void)
{
    uint64_t x = 1;
    fresh();
    CHECK_INT(scattered(200, 0, 0.1, &x, DQ_R_NOISE), 0);
    CHECK_INT(scattered(100, 2000, 1.0, &x, DQ_R_NOISE) >= 95, 1);
    CHECK_INT(at(3000, 45, 40), DQ_PASS);
    CHECK_INT(res.reasons, R(DQ_R_SPIKE));
    CHECK_INT(scattered(100, 3010, 1.0, &x, DQ_R_NOISE) >= 98, 1);
    CHECK_INT(scattered(10, 4010, 0.1, &x, DQ_R_NOISE) < 10, 1); /* its recent changes fade */
    CHECK_INT(scattered(200, 4110, 0.1, &x, DQ_R_NOISE), 0);
    CHECK_INT(scattered(20, 6110, 1.0, &x, DQ_R_NOISE) >= 15, 1); /* and again: still its norm is quiet */
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

/* dq_window_stats_json returns as snprintf does: the length, a prefix when buf is short, and
 * more than fits (buf left empty) when the row outgrows even its own 8 KB. */
static void test_window_stats_json_sizes(void)
{
    static char key[9000];
    memset(key, 'k', sizeof key);
    dq_window_stats s = {.window_ms = 60000, .start_ms = 0, .key = "s1", .key_len = 2, .events = 3,
                         .verdicts = {2, 0, 1}, .complete = 3};
    char full[1024], part[16];
    size_t n = dq_window_stats_json(&s, full, sizeof full);
    CHECK(n > 0 && n == strlen(full) && strncmp(full, "{\"window_start\":\"1970-01-01T00:00:00.000Z\"", 42) == 0);
    CHECK(dq_window_stats_json(&s, part, sizeof part) == n);
    CHECK(strlen(part) == sizeof part - 1 && strncmp(part, full, sizeof part - 1) == 0);
    s.key = key;
    s.key_len = sizeof key;
    n = dq_window_stats_json(&s, full, sizeof full);
    CHECK(n > 8192 && full[0] == '\0');
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
    /* Too small a buffer: the exact length, as snprintf gives it, and an empty buffer. */
    CHECK_INT(dq_reject_json(&res, "\"line\":7", raw, strlen(raw), rec, 10), n);
    CHECK_STR(rec, "");
    CHECK_INT(dq_reject_json(&res, "\"line\":7", raw, strlen(raw), rec, n), n);
    CHECK_INT(dq_reject_json(&res, "\"line\":7", raw, strlen(raw), rec, n + 1), n);
    CHECK_INT(strlen(rec), n);
    CHECK_INT(dq_reject_json(&res, NULL, raw, strlen(raw), NULL, 0), n - strlen("\"line\":7,"));
    /* A bad byte (or NUL) anywhere, around the UTF-8 check's eight-byte steps, makes the raw
     * base64; a good two-byte character keeps it text. */
    int wrong = 0;
    for (size_t at = 0; at < 24; at++)
        for (int k = 0; k < 3; k++) {
            static const char *const bytes[] = {"\xff", "", "\xc3\xa9"}; /* "": a NUL */
            char line[40];
            memset(line, 'a', sizeof line);
            size_t width = k == 1 ? 1 : strlen(bytes[k]);
            memcpy(line + at, bytes[k], width);
            dq_reject_json(&res, NULL, line, at + width + 9, rec, sizeof rec);
            wrong += (strstr(rec, "\"raw_base64\":") != NULL) != (k < 2);
        }
    CHECK_INT(wrong, 0);
    /* Escaped, the text would not fit, and a bad byte at its end sends it to base64, which
     * does: the reject fits the buffer its length asks for. */
    char escapes[22];
    memset(escapes, '\x01', 20);
    memcpy(escapes + 20, "\xff", 2);
    n = dq_reject_json(&res, NULL, escapes, 21, NULL, 0);
    CHECK_INT(dq_reject_json(&res, NULL, escapes, 21, rec, n + 1), n);
    CHECK_INT(strlen(rec), n);
    CHECK(strstr(rec, "\"raw_base64\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQH/\"}") != NULL);
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
    for (int i = 0; i < 6; i++) /* 04:12:10 .. 04:13:00, past the warm-up */
        CHECK_INT(at(4 * 3600 + 730 + 10 * i, 20 + (i % 2 ? 0.5 : 0), 40), DQ_PASS);
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
    CHECK_INT(ev(E("13:30", "45", "41")), DQ_PASS); /* a spike against the restored value and band: warned */
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

/* Saved state of the previous version (2, before cadences were learned) still restores: the
 * duplicate is known, and the sensor learns its cadence again before gaps are flagged. */
/* How many of n readings every 10 s from second s0, temperature level + 0.1 x scatter, are
 * flagged with reason. */
static int level(int n, double s0, double temperature, uint64_t *x, dq_reason reason)
{
    int flagged = 0;
    for (int i = 0; i < n; i++) {
        at(s0 + 10 * i, temperature + 0.1 * scatter(x), 40);
        flagged += (res.reasons & R(reason)) != 0;
    }
    return flagged;
}

/* A sensor that reads 3 °C off: its first 3 readings SPIKE (a jump), then BIAS on every
 * reading, with the state saved and restored on the way; when it reads right again, nothing
 * (the step back is no spike); a step that lasts the contract's bias.for (1d) becomes the
 * sensor's new normal. Noise's jumps are not steps. */
static void test_bias(void)
{
    uint64_t x = 7;
    fresh();
    dq_engine_set_now(eng, 1795651200000LL + 3 * 86400000LL); /* readings for two days */
    CHECK_INT(level(100, 0, 20, &x, DQ_R_BIAS), 0);
    CHECK_INT(level(3, 1000, 23, &x, DQ_R_SPIKE), 3);
    CHECK_INT(res.reasons & R(DQ_R_BIAS), 0);
    CHECK_INT(level(50, 1030, 23, &x, DQ_R_BIAS), 50);
    dq_engine_state_changes(eng, keep_state, NULL);
    fresh();
    dq_engine_set_now(eng, 1795651200000LL + 3 * 86400000LL);
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, saved, saved_len), DQ_OK);
    CHECK_INT(level(50, 1530, 23, &x, DQ_R_BIAS), 50);
    CHECK_INT(at(2030, 20.05, 40), DQ_PASS); /* the step back */
    CHECK_INT(res.reasons, 0);
    CHECK_INT(level(100, 2040, 20, &x, DQ_R_BIAS) + level(100, 3040, 20, &x, DQ_R_SPIKE), 0);

    /* Downwards this time, for longer than a day: BIAS until the day is over. */
    CHECK_INT(level(3, 4040, 16, &x, DQ_R_SPIKE), 3);
    int day = 86400 / 10; /* readings, from the step's third (second 4060) on */
    CHECK_INT(level(day, 4070, 16, &x, DQ_R_BIAS), day);
    CHECK_INT(level(100, 4070 + 10 * day, 16, &x, DQ_R_BIAS), 0);
    CHECK_INT(level(3, 4070 + 10 * (day + 100), 20, &x, DQ_R_SPIKE), 3); /* going back is now a step */

    /* A noisy stretch's jumps are no bias, nor its end. */
    fresh();
    CHECK_INT(level(100, 0, 20, &x, DQ_R_BIAS), 0);
    CHECK_INT(scattered(100, 1000, 1.5, &x, DQ_R_BIAS) + level(100, 2000, 20, &x, DQ_R_BIAS), 0);

    /* A bias from a sensor's 20th reading, within the rules' warm-up, is no BIAS: nor is its
     * step back, which once started a false one lasting a day. The step back is a jump (3
     * SPIKEs), as the step was: the rule kept the step latent, not as a bias it had seen. */
    fresh();
    CHECK_INT(level(19, 0, 20, &x, DQ_R_BIAS), 0);
    CHECK_INT(level(3, 190, 12, &x, DQ_R_SPIKE), 3);
    CHECK_INT(level(150, 220, 12, &x, DQ_R_BIAS), 0);
    CHECK_INT(level(3, 1720, 20, &x, DQ_R_SPIKE), 3);
    CHECK_INT(level(100, 1750, 20, &x, DQ_R_BIAS) + level(100, 2750, 20, &x, DQ_R_SPIKE), 0);
}

/* A reading every 5 min from day 0 of a sensor whose temperature follows a daily cycle (2 °C
 * either way, scatter 0.1), off by `off` more each reading from reading `from` on (a drift),
 * up to 2 °C. Returns how many of n readings from reading k0 are flagged with reason; *first:
 * the first of them (from k0), or -1. */
static int daily(int k0, int n, int from, double off, uint64_t *x, dq_reason reason, int *first)
{
    int flagged = 0;
    if (first)
        *first = -1;
    for (int k = k0; k < k0 + n; k++) {
        double s = 300.0 * k, drift = k >= from ? fmin(off * (k - from + 1), 2) : 0;
        at(s, 20 + 2 * sin(6.283185307179586 * s / 86400) + 0.1 * scatter(x) + drift, 40);
        if (res.reasons & R(reason) && first && *first < 0)
            *first = k - k0;
        flagged += (res.reasons & R(reason)) != 0;
    }
    return flagged;
}

/* The drift rule learns the sensor's daily profile over its first day and is quiet on the
 * second; a drift of 0.02 °C per reading (2 °C in 100 readings, 8 h) is DRIFT within 40
 * readings and then on every one, across a restart (the profile is saved state), until the
 * sensor is set right, which is neither a spike nor a bias's step; after it, quiet again.
 * Version 5 state (before profiles) restores, and the rule learns the profile again. */
static void test_drift(void)
{
    uint64_t x = 3;
    int first, day = 288;
    fresh();
    dq_engine_set_now(eng, 1795651200000LL + 30 * 86400000LL);
    CHECK_INT(daily(0, 2 * day, INT32_MAX, 0, &x, DQ_R_DRIFT, NULL), 0);
    CHECK_INT(daily(2 * day, 50, 2 * day, 0.02, &x, DQ_R_DRIFT, &first), 50 - first);
    CHECK(first >= 10 && first < 40);
    dq_engine_state_changes(eng, keep_state, NULL);
    fresh();
    dq_engine_set_now(eng, 1795651200000LL + 30 * 86400000LL);
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, saved, saved_len), DQ_OK);
    CHECK_INT(daily(2 * day + 50, 50, 2 * day, 0.02, &x, DQ_R_DRIFT, NULL), 50);
    CHECK_INT(daily(2 * day + 100, 1, INT32_MAX, 0, &x, DQ_R_DRIFT, NULL), 0); /* set right */
    CHECK_INT(res.reasons, 0);
    CHECK_INT(daily(2 * day + 101, day, INT32_MAX, 0, &x, DQ_R_DRIFT, NULL), 0);
    CHECK_INT(daily(3 * day + 101, day, INT32_MAX, 0, &x, DQ_R_SPIKE, NULL), 0);
    CHECK_INT(daily(4 * day + 101, day, INT32_MAX, 0, &x, DQ_R_BIAS, NULL), 0);
    /* A drift that stays (a sensor moved somewhere 2 °C warmer) is DRIFT for drift.for (7 days
     * in the course contract), then the new normal: the profile is learned anew. */
    int moved = 5 * day + 101, onset;
    CHECK_INT(daily(moved, 7 * day, moved, 0.02, &x, DQ_R_DRIFT, &onset), 7 * day - onset);
    CHECK(onset < 40);
    CHECK_INT(daily(moved + 7 * day, 3 * day, moved, 0.02, &x, DQ_R_DRIFT, &first), onset + 1); /* 7 days on */
    CHECK_INT(first, 0);

    /* The state saved mid-drift, as version 5 wrote it: no count of profiles, no profile. */
    unsigned char v5[DQ_STATE_MAX_BYTES];
    size_t v5_len = saved_len - TH_SENSOR_PROFILE_BYTES;
    memcpy(v5, saved, v5_len);
    v5[0] = 5;
    fresh();
    dq_engine_set_now(eng, 1795651200000LL + 30 * 86400000LL);
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, v5, v5_len), DQ_OK);
    CHECK_INT(daily(2 * day + 50, 50, 2 * day, 0.02, &x, DQ_R_DRIFT, NULL), 0); /* a profile to learn */
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, v5, v5_len + 1), DQ_ERR_STATE);
    saved[v5_len]++; /* a count of profiles the contract does not have */
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, saved, saved_len), DQ_ERR_STATE);
}

/* A sensor silent for longer than DQ_RELEARN_INTERVALS comes back as a new one for its value
 * rules. Its first reading 25 °C off (a glitch) is not the level that the return to normal
 * steps away from (that made the normal level a BIAS for a day), and a sensor that comes back
 * ten times as scattered is NOISE only until it has shown its new scatter (it was NOISE for
 * ever). Silences shorter than that keep what was learned: the same glitch is a SPIKE. */
static void test_relearn_after_silence(void)
{
    uint64_t x = 11;
    int day = 86400;
    fresh();
    dq_engine_set_now(eng, 1795651200000LL + 4 * 86400000LL);
    CHECK_INT(level(100, 0, 20, &x, DQ_R_BIAS), 0);
    at(2 * day, 45, 40); /* two days later */
    CHECK_INT(res.reasons & (R(DQ_R_SPIKE) | R(DQ_R_BIAS)), 0);
    CHECK_INT(level(200, 2 * day + 10, 20, &x, DQ_R_BIAS) + level(200, 2 * day + 2010, 20, &x, DQ_R_SPIKE), 0);
    CHECK_INT(scattered(200, 3 * day, 1.0, &x, DQ_R_NOISE), 0); /* a day on: a new sensor's warm-up, then its norm */
    CHECK_INT(scattered(200, 3 * day + 2000, 1.0, &x, DQ_R_NOISE), 0);

    fresh();
    CHECK_INT(level(100, 0, 20, &x, DQ_R_BIAS), 0);
    at(1000 + 10 * (DQ_RELEARN_INTERVALS - 10), 45, 40); /* silent for less: what it learned holds */
    CHECK_INT(res.reasons & R(DQ_R_SPIKE), R(DQ_R_SPIKE));
}

static void put(unsigned char **p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        *(*p)++ = (unsigned char)(v >> (8 * i));
}

static void test_state_version_2(void)
{
    unsigned char v2[256], *p = v2;
    int64_t t = 1795666380000LL; /* 04:13:00 */
    put(&p, 2, 1), put(&p, 2, 1), put(&p, 1, 1), put(&p, 1, 1), put(&p, 1, 1); /* two numeric fields */
    put(&p, (uint64_t)t, 8);
    for (int i = 0; i < DQ_DUP_RING; i++)
        put(&p, (uint64_t)t, 8);
    const char *values[] = {"20.5", "41"};
    for (int f = 0; f < 2; f++) {
        put(&p, 1, 1), put(&p, strlen(values[f]), 1);
        memcpy(p, values[f], strlen(values[f]));
        p += strlen(values[f]);
        put(&p, (uint64_t)t, 8), put(&p, 1, 4), put(&p, 0, 1), put(&p, 0, 8), put(&p, 0, 8), put(&p, 0, 4);
    }
    fresh();
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, v2, (size_t)(p - v2)), DQ_OK);
    CHECK_INT(ev(E("13:00", "20.5", "41")), DQ_REJECT);
    CHECK_INT(res.reasons, R(DQ_R_DUPLICATE_EVENT));
    CHECK_INT(ev(E("25:00", "20.5", "41")), DQ_PASS); /* the cadence is not known yet: no gap */
    CHECK_INT(res.reasons, 0);
    v2[0] = 5; /* a version from the future */
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, v2, (size_t)(p - v2)), DQ_ERR_STATE);
}

/* Saved state of version 3 (before the noise rule) restores with its learned cadence and
 * typical changes: the spike rule applies at once; the noise rule waits until the sensor has
 * shown DQ_CHANGE_WARMUP changes. */
static void test_state_version_3(void)
{
    unsigned char v3[256], *p = v3;
    int64_t t = 1795666380000LL; /* 04:13:00 */
    put(&p, 3, 1), put(&p, 2, 1), put(&p, 1, 1), put(&p, 1, 1), put(&p, 1, 1);
    put(&p, (uint64_t)t, 8);
    for (int i = 0; i < DQ_DUP_RING; i++)
        put(&p, (uint64_t)t, 8);
    float cadence = 10000, change = 0.1f;
    uint32_t bits;
    memcpy(&bits, &cadence, 4);
    put(&p, DQ_CADENCE_WARMUP, 1), put(&p, bits, 4);
    memcpy(&bits, &change, 4);
    const char *values[] = {"20.5", "41"};
    unsigned char *change_n[2];
    for (int f = 0; f < 2; f++) {
        put(&p, 1, 1), put(&p, strlen(values[f]), 1);
        memcpy(p, values[f], strlen(values[f]));
        p += strlen(values[f]);
        put(&p, (uint64_t)t, 8), put(&p, 1, 4), put(&p, 0, 1), put(&p, 0, 8), put(&p, 0, 8), put(&p, 0, 4);
        put(&p, (uint64_t)t, 8);
        change_n[f] = p;
        put(&p, DQ_SPIKE_WARMUP, 1), put(&p, bits, 4);
    }
    fresh();
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, v3, (size_t)(p - v3)), DQ_OK);
    CHECK_INT(ev(E("13:10", "20.6", "41")), DQ_PASS);
    CHECK_INT(res.reasons, 0);
    uint64_t x = 3;
    CHECK_INT(scattered(20, 4 * 3600 + 800, 1.0, &x, DQ_R_NOISE), 0); /* the noise rule's warm-up */
    CHECK_INT(at(4 * 3600 + 1000, 45, 41), DQ_PASS);
    CHECK_INT(res.reasons, R(DQ_R_SPIKE));
    *change_n[0] = DQ_SPIKE_WARMUP + 1; /* more changes than version 3 counted */
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, v3, (size_t)(p - v3)), DQ_ERR_STATE);
    *change_n[0] = DQ_SPIKE_WARMUP;
    change = -0.0f; /* a typical change of -0 (found by fuzz_state: a change over it is -inf) */
    memcpy(&bits, &change, 4);
    unsigned char *dev = change_n[0] + 1;
    put(&dev, bits, 4);
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, v3, (size_t)(p - v3)), DQ_ERR_STATE);
}

/* A small table: keys:3 sensors, one 1-minute window, v with a duplicate rule. */
static dq_engine *small_engine(int max_keys)
{
    char text[1024];
    dq_error err;
    snprintf(text, sizeof text,
             "apiVersion: v3.0.2\nkind: DataContract\nid: small\nversion: 1.0.0\nlimits: {maxKeys: %d}\n"
             "unknownFields: drop\nschema:\n  - name: r\n    properties:\n"
             "      - {name: id, logicalType: string, required: true, primaryKey: true}\n"
             "      - {name: ts, logicalType: timestamp, required: true, eventTime: true,"
             " logicalTypeOptions: {formats: [epoch_s]}}\n"
             "      - {name: v, logicalType: number, required: true, onMissing: {impute: last_good, maxAge: 1d}}\n"
             "rules:\n  duplicate: {window: 1d, action: reject}\nmetrics:\n  windows: [1m]\n",
             max_keys);
    dq_contract *c = dq_contract_parse_n(text, strlen(text), "small.yaml", &err);
    CHECK(c != NULL);
    dq_engine *e = c ? dq_engine_new(c, &err) : NULL;
    CHECK(e != NULL);
    return e;
}

static int small_ev(dq_engine *e, const char *key, long ts, const char *extra)
{
    char json[256];
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"ts\":%ld,\"v\":1%s}", key, ts, extra);
    dq_engine_eval_n(e, json, strlen(json), &res);
    return (int)res.verdict;
}

static void free_small(dq_engine *e)
{
    const dq_contract *c = e ? e->ctr : NULL;
    dq_engine_free(e);
    dq_contract_free((dq_contract *)c);
}

/* A full table forgets its least recently seen key, once that key's window row is written; the key's
 * next reading is then a first reading. Before that, new keys are judged without state (counted). */
static void test_eviction(void)
{
    const char *long_key = "a-sensor-id-longer-than-sixteen-bytes";
    dq_engine *e = small_engine(3);
    dq_totals t;
    long t0 = 1795666380; /* 2026-11-26T04:13:00Z */
    CHECK_INT(small_ev(e, "a", t0, ""), DQ_PASS);
    CHECK_INT(small_ev(e, long_key, t0 + 1, ""), DQ_PASS);
    CHECK_INT(small_ev(e, "c", t0 + 2, ""), DQ_PASS);
    CHECK_INT(small_ev(e, "a", t0, ""), DQ_REJECT); /* a is remembered, and now the most recently seen */
    CHECK_INT(res.reasons, R(DQ_R_DUPLICATE_EVENT));
    CHECK_INT(small_ev(e, "d", t0 + 3, ""), DQ_PASS); /* every key has readings in the open minute */
    dq_engine_totals(e, &t);
    CHECK_INT(t.state_overflow, 1);
    CHECK_INT(t.state_evicted, 0);
    CHECK_INT(small_ev(e, "d", t0 + 4, ",\"x\":1"), DQ_FIXED); /* d still has no state: no imputation either */
    CHECK_INT(small_ev(e, "a", t0 + 70, ""), DQ_PASS);         /* closes the minute */
    CHECK_INT(small_ev(e, "d", t0 + 71, ""), DQ_PASS);         /* takes the long key's record */
    CHECK_INT(small_ev(e, long_key, t0 + 72, ""), DQ_PASS);    /* takes c's */
    dq_engine_totals(e, &t);
    CHECK_INT(t.state_evicted, 2);
    CHECK_INT(t.keys, 3);
    CHECK_INT(small_ev(e, long_key, t0 + 1, ""), DQ_PASS); /* judged as a first reading: no duplicate */
    CHECK_INT(small_ev(e, long_key, t0 + 1, ""), DQ_REJECT);
    CHECK_INT(small_ev(e, "d", t0 + 71, ""), DQ_REJECT); /* d kept its state */
    free_small(e);
}

static uint64_t rows, row_events, row_fixed, row_unknown;
static void sum_rows(const dq_window_stats *st, void *opaque)
{
    (void)opaque;
    if (st->key_len == 0)
        return;
    if (st->key_len == 4 && memcmp(st->key, "busy", 4) == 0) { /* counts past 255 carry over */
        CHECK_INT(st->events, 600);
        CHECK_INT(st->reasons[DQ_R_UNKNOWN_FIELD], 600);
        CHECK_INT(st->reasons[DQ_R_DUPLICATE_EVENT], 599);
        CHECK_INT(st->verdicts[DQ_REJECT], 599);
        return;
    }
    rows++;
    row_events += st->events;
    row_fixed += st->verdicts[DQ_FIXED];
    row_unknown += st->reasons[DQ_R_UNKNOWN_FIELD];
    CHECK_INT(st->reasons[DQ_R_UNKNOWN_FIELD], st->verdicts[DQ_FIXED]);
}

/* Per-key window rows: many keys with findings in one window, and one key with hundreds. */
static void test_window_reasons_of_many_keys(void)
{
    dq_engine *e = small_engine(5000);
    dq_engine_set_window_cb(e, sum_rows, NULL);
    long t0 = 1795666380;
    char key[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "sensor_%d", i);
        small_ev(e, key, t0, "");
        small_ev(e, key, t0 + 1, i % 3 ? ",\"x\":1" : "");
        small_ev(e, key, t0 + 2, i % 3 ? ",\"x\":1" : "");
    }
    for (int i = 0; i < 600; i++)
        small_ev(e, "busy", t0 + 3, ",\"x\":1");
    dq_engine_flush(e);
    CHECK_INT(rows, 3000);
    CHECK_INT(row_events, 9000);
    CHECK_INT(row_fixed, 4000);
    CHECK_INT(row_unknown, 4000);
    free_small(e);
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
    RUN(test_warm_up);
    RUN(test_cadence_changes);
    RUN(test_cadence_after_a_restart);
    RUN(test_spike_after_a_run);
    RUN(test_impute);
    RUN(test_stuck);
    RUN(test_noise);
    RUN(test_windows);
    RUN(test_window_stats_json_sizes);
    RUN(test_batch_and_reject_json);
    RUN(test_state_restore);
    RUN(test_state_version_2);
    RUN(test_state_version_3);
    RUN(test_bias);
    RUN(test_drift);
    RUN(test_relearn_after_silence);
    RUN(test_eviction);
    RUN(test_window_reasons_of_many_keys);
    RUN(test_names);
    dq_engine_free(eng);
    dq_contract_free(ctr);
    return th_report("test_engine");
}
