/*
 * window.c - tumbling event-time windows of quality metrics, and their output.
 *
 * One watermark per engine: the newest event time among accepted (PASS/FIXED)
 * events, so a rejected far-future timestamp cannot close windows early. All
 * keys share the window boundaries; when the watermark enters a new window, the
 * open one closes and every key with events in it is reported through the
 * window callback, then the overall row (key ""). Events older than the open
 * window (late) are counted in the open window. Events without a valid time
 * count at the watermark.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dq_int.h"

static void acc_add(dq_window_acc *a, const dq_result *res, bool complete)
{
    a->events++;
    a->verdicts[res->verdict]++;
    a->complete += complete;
    for (uint64_t m = res->reasons; m; m &= m - 1)
        a->reasons[__builtin_ctzll(m)]++;
}

/* A key's counts: compact, with the carries of its reason counts in the window's table (state.c). */
static void key_add(dq_state *st, int w, dq_keystate *ks, const dq_result *res, bool complete)
{
    dq_key_window *a = &dq_key_windows(st, ks)[w];
    a->events++;
    a->fixed += res->verdict == DQ_FIXED;
    a->reject += res->verdict == DQ_REJECT;
    a->complete += complete;
    for (uint64_t m = res->reasons; m; m &= m - 1) {
        int r = __builtin_ctzll(m);
        if (r < DQ_KEY_REASON_FIRST || ++a->reasons[r - DQ_KEY_REASON_FIRST] == 0)
            dq_reason_add(&st->reasons[w], dq_state_record_no(st, ks), r, r < DQ_KEY_REASON_FIRST ? 1 : 256);
    }
}

static void report(dq_engine *eng, int w, const char *key, size_t key_len, const dq_window_acc *a)
{
    if (eng->window_cb && a->events) {
        dq_window_stats st = {.window_ms = eng->ctr->windows_ms[w], .start_ms = eng->win_start[w],
                              .key = key, .key_len = key_len, .events = a->events, .complete = a->complete};
        memcpy(st.verdicts, a->verdicts, sizeof st.verdicts);
        memcpy(st.reasons, a->reasons, sizeof st.reasons);
        eng->window_cb(&st, eng->window_opaque);
    }
}

static void close_window(dq_engine *eng, int w)
{
    dq_state *st = &eng->state;
    if (!eng->win_open[w])
        return;
    for (size_t i = 0; i < st->used; i++) {
        dq_keystate *ks = dq_state_record(st, i);
        dq_key_window *k = &dq_key_windows(st, ks)[w];
        if (!k->events)
            continue;
        dq_window_acc a = {.events = k->events, .complete = k->complete,
                           .verdicts = {[DQ_PASS] = k->events - k->fixed - k->reject, [DQ_FIXED] = k->fixed,
                                        [DQ_REJECT] = k->reject}};
        for (int r = 0; r < DQ_KEY_REASONS; r++)
            a.reasons[DQ_KEY_REASON_FIRST + r] = k->reasons[r];
        for (int r = 1; r < DQ_REASON__COUNT && st->reasons[w].used; r++)
            a.reasons[r] += dq_reason_get(&st->reasons[w], i, r);
        report(eng, w, dq_key_bytes(ks), ks->key_len, &a);
        memset(k, 0, sizeof *k);
    }
    dq_reason_clear(&st->reasons[w]);
    report(eng, w, "", 0, &eng->overall[w]);
    memset(&eng->overall[w], 0, sizeof eng->overall[w]);
    eng->win_open[w] = false;
}

void dq_window_account(dq_engine *eng, const dq_result *res, bool complete, dq_keystate *ks)
{
    const dq_contract *ctr = eng->ctr;
    if (ctr->n_windows == 0)
        return;
    if (res->verdict != DQ_REJECT && res->event_time_ms != INT64_MIN &&
        (!eng->has_watermark || res->event_time_ms > eng->watermark_ms)) {
        eng->watermark_ms = res->event_time_ms;
        eng->has_watermark = true;
    }
    if (!eng->has_watermark)
        return; /* nothing to place the event in yet: it still counts in the totals */
    for (int w = 0; w < ctr->n_windows; w++) {
        int64_t len = ctr->windows_ms[w];
        int64_t wm = eng->watermark_ms;
        int64_t start = (wm >= 0 ? wm / len : -((-wm + len - 1) / len)) * len;
        if (eng->win_open[w] && start > eng->win_start[w])
            close_window(eng, w);
        if (!eng->win_open[w]) {
            eng->win_open[w] = true;
            eng->win_start[w] = start;
        }
        acc_add(&eng->overall[w], res, complete);
        if (ks)
            key_add(&eng->state, w, ks, res, complete);
    }
}

void dq_window_close_all(dq_engine *eng)
{
    for (int w = 0; w < eng->ctr->n_windows; w++)
        close_window(eng, w);
}

/* snprintf-style result of a document built in a local buffer (empty if even that was too
 * small: an overflowed buffer holds no usable prefix). */
static size_t copy_out(const dq_buf *b, char *buf, size_t size)
{
    if (b->overflow) {
        if (size > 0)
            buf[0] = '\0';
        return b->cap + 1; /* not exact, but > what fits */
    }
    if (size > 0) {
        size_t k = b->len < size ? b->len : size - 1;
        memcpy(buf, b->p, k);
        buf[k] = '\0';
    }
    return b->len;
}

static void put_reasons(dq_buf *b, const uint64_t *reasons)
{
    bool first = true;
    dq_buf_putc(b, '{');
    for (int r = 1; r < DQ_REASON__COUNT; r++) {
        if (!reasons[r])
            continue;
        dq_buf_printf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", dq_reason_name(r), reasons[r]);
        first = false;
    }
    dq_buf_putc(b, '}');
}

size_t dq_window_stats_json(const dq_window_stats *s, char *buf, size_t size)
{
    char tmp[8192], ts[25];
    dq_buf b;
    dq_buf_init(&b, tmp, sizeof tmp);
    dq_time_format(s->start_ms, ts);
    dq_buf_printf(&b, "{\"window_start\":\"%s\",\"window_seconds\":%" PRId64 ",\"key\":", ts, s->window_ms / 1000);
    if (s->key_len)
        dq_buf_json_str(&b, s->key, s->key_len);
    else
        dq_buf_puts(&b, "null");
    double n = (double)s->events;
    dq_buf_printf(&b,
                  ",\"events\":%" PRIu64 ",\"pass\":%" PRIu64 ",\"fixed\":%" PRIu64 ",\"reject\":%" PRIu64
                  ",\"completeness\":%.6g,\"validity\":%.6g,\"reasons\":",
                  s->events, s->verdicts[DQ_PASS], s->verdicts[DQ_FIXED], s->verdicts[DQ_REJECT],
                  n > 0 ? (double)s->complete / n : 0.0,
                  n > 0 ? (double)(s->verdicts[DQ_PASS] + s->verdicts[DQ_FIXED]) / n : 0.0);
    put_reasons(&b, s->reasons);
    dq_buf_putc(&b, '}');
    return copy_out(&b, buf, size);
}

size_t dq_totals_prometheus(const dq_totals *t, const char *prefix, char *buf, size_t size)
{
    static const char *const verdict_label[3] = {"pass", "fixed", "reject"};
    char tmp[16384];
    dq_buf b;
    const char *p = prefix && *prefix ? prefix : "dq";
    dq_buf_init(&b, tmp, sizeof tmp);
    dq_buf_printf(&b, "# HELP %s_events_total Events evaluated, by verdict.\n# TYPE %s_events_total counter\n", p, p);
    for (int v = 0; v < 3; v++)
        dq_buf_printf(&b, "%s_events_total{verdict=\"%s\"} %" PRIu64 "\n", p, verdict_label[v], t->verdicts[v]);
    dq_buf_printf(&b, "# HELP %s_reasons_total Findings, by reason code.\n# TYPE %s_reasons_total counter\n", p, p);
    for (int r = 1; r < DQ_REASON__COUNT; r++)
        dq_buf_printf(&b, "%s_reasons_total{reason=\"%s\"} %" PRIu64 "\n", p, dq_reason_name(r), t->reasons[r]);
    dq_buf_printf(&b, "# HELP %s_keys Distinct keys (sensors) in the state table.\n# TYPE %s_keys gauge\n%s_keys %" PRIu64
                  "\n", p, p, p, t->keys);
    dq_buf_printf(&b,
                  "# HELP %s_state_overflow_total Events evaluated without state: the table was full of keys with "
                  "readings in an open window, or the key too long.\n"
                  "# TYPE %s_state_overflow_total counter\n%s_state_overflow_total %" PRIu64 "\n"
                  "# HELP %s_state_evicted_total Keys forgotten to make room for new ones (the least recently seen).\n"
                  "# TYPE %s_state_evicted_total counter\n%s_state_evicted_total %" PRIu64 "\n",
                  p, p, p, t->state_overflow, p, p, p, t->state_evicted);
    dq_buf_printf(&b,
                  "# HELP %s_anomaly_scored_total Events scored for anomalies.\n"
                  "# TYPE %s_anomaly_scored_total counter\n%s_anomaly_scored_total %" PRIu64 "\n"
                  "# HELP %s_anomalies_total Events flagged as anomalies.\n"
                  "# TYPE %s_anomalies_total counter\n%s_anomalies_total %" PRIu64 "\n",
                  p, p, p, t->anomalies_scored, p, p, p, t->anomalies);
    return copy_out(&b, buf, size);
}
