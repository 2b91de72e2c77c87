/*
 * engine.c - one event through scan -> rules -> state -> serialize -> windows.
 *
 * An engine owns fixed buffers sized from the contract (scratch for unescaped
 * strings, the clean output, the annotation), allocated in dq_engine_new, and the
 * per-key state table, which grows with the keys seen (state.c). Results point
 * into the engine's buffers until the next call. Not thread-safe: one engine per
 * thread; the contract it borrows is read-only and may be shared.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dq_int.h"

#define DQ_KEY_MAX_DEFAULT 128

dq_engine *dq_engine_new(const dq_contract *ctr, dq_error *err)
{
    dq_error_clear(err);
    if (!ctr) {
        dq_error_set(err, DQ_ERR_ARG, 0, "no contract");
        return NULL;
    }
    dq_engine *eng = dq_calloc(1, sizeof *eng);
    if (!eng) {
        dq_error_set(err, DQ_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    eng->ctr = ctr;
    size_t ev = ctr->max_event_bytes;
    /* Output can outgrow input: canonical timestamps and numbers, escapes, the annotation. */
    eng->annot_cap = 2 * ev + 4096;
    eng->out_cap = dq_engine_clean_bound(ev);
    eng->scratch = dq_malloc(ev + 1);
    eng->out = dq_malloc(eng->out_cap);
    eng->annot = dq_malloc(eng->annot_cap);
    size_t key_max = DQ_KEY_MAX_DEFAULT;
    if (ctr->key_field >= 0 && ctr->fields[ctr->key_field].max_length)
        key_max = 4 * ctr->fields[ctr->key_field].max_length; /* UTF-8: up to 4 bytes a character */
    if (!eng->scratch || !eng->out || !eng->annot || dq_state_init(&eng->state, ctr, key_max) != DQ_OK) {
        dq_error_set(err, DQ_ERR_NOMEM, 0, "out of memory (engine buffers for events of %zu bytes)",
                     ctr->max_event_bytes);
        dq_engine_free(eng);
        return NULL;
    }
    return eng;
}

size_t dq_engine_clean_bound(size_t event_len)
{
    /*
     * Strings never grow when re-escaped; a number grows at most 5x ("1e20") or by
     * 25 bytes; a timestamp by 25 bytes; the annotation quotes each finding's
     * original value once (<= event_len) plus names: 2 * len + 4096 covers it.
     */
    return 7 * event_len + 64 * DQ_MAX_FIELDS + 8192;
}

void dq_engine_free(dq_engine *eng)
{
    if (!eng)
        return;
    dq_state_reset(&eng->state);
    dq_free(eng->scratch);
    dq_free(eng->out);
    dq_free(eng->annot);
    dq_free(eng);
}

void dq_engine_set_now(dq_engine *eng, int64_t now_ms)
{
    if (eng) {
        eng->now_ms = now_ms;
        eng->has_now = true;
    }
}

void dq_engine_set_window_cb(dq_engine *eng, dq_window_cb cb, void *opaque)
{
    if (eng) {
        eng->window_cb = cb;
        eng->window_opaque = opaque;
    }
}

void dq_engine_flush(dq_engine *eng)
{
    if (eng)
        dq_window_close_all(eng);
}

void dq_engine_state_changes(dq_engine *eng, dq_state_cb cb, void *opaque)
{
    if (eng && cb)
        dq_state_changes(&eng->state, cb, opaque);
}

dq_err dq_engine_state_restore(dq_engine *eng, const char *key, size_t key_len, const void *state, size_t len)
{
    if (!eng || !key || !state)
        return DQ_ERR_ARG;
    return dq_state_restore(&eng->state, key, key_len, state, len);
}

void dq_engine_state_clear(dq_engine *eng)
{
    if (eng)
        dq_state_clear(&eng->state);
}

void dq_engine_totals(const dq_engine *eng, dq_totals *out)
{
    if (!eng || !out)
        return;
    *out = eng->totals;
    out->keys = eng->state.used;
    out->state_evicted = eng->state.evicted;
}

/* The dq annotation: {"status":..,"reasons":[..],"findings":[..]}. */
static void write_annotation(const dq_engine *eng, const dq_eval *ev, dq_buf *b)
{
    static const struct {
        const char *s;
        size_t n;
    } status[] = {
        [DQ_PASS] = {"{\"status\":\"PASS\"", 16},
        [DQ_FIXED] = {"{\"status\":\"FIXED\"", 17},
        [DQ_REJECT] = {"{\"status\":\"REJECT\"", 18},
    };
    const dq_result *res = ev->res;
    dq_buf_put(b, status[res->verdict].s, status[res->verdict].n);
    if (res->reasons) {
        dq_buf_puts(b, ",\"reasons\":[");
        bool first = true;
        for (uint64_t m = res->reasons; m; m &= m - 1) {
            dq_buf_puts(b, first ? "\"" : ",\"");
            dq_buf_puts(b, dq_reason_name(__builtin_ctzll(m)));
            dq_buf_putc(b, '"');
            first = false;
        }
        dq_buf_puts(b, "],\"findings\":[");
        for (int i = 0; i < res->n_details; i++) {
            const dq_detail *d = &res->details[i];
            dq_buf_puts(b, i ? ",{" : "{");
            if (d->field >= 0) {
                dq_buf_puts(b, "\"field\":");
                dq_buf_json_str(b, eng->ctr->fields[d->field].name, eng->ctr->fields[d->field].name_len);
                dq_buf_putc(b, ',');
            }
            dq_buf_puts(b, "\"reason\":\"");
            dq_buf_puts(b, dq_reason_name(d->reason));
            dq_buf_puts(b, "\",\"action\":\"");
            dq_buf_puts(b, dq_action_name(d->action));
            dq_buf_putc(b, '"');
            if (d->field >= 0 && ev->from[d->field] && d->action != DQ_ACT_IMPUTED) {
                dq_buf_puts(b, ",\"from\":");
                dq_buf_put(b, ev->from[d->field], ev->from_len[d->field]);
            }
            dq_buf_putc(b, '}');
        }
        dq_buf_putc(b, ']');
    }
    if (res->anomaly_scored) {
        dq_buf_puts(b, ",\"anomaly\":{\"z\":");
        dq_num_write_rounded(b, res->anomaly_z, eng->ctr->score_decimals);
        dq_buf_puts(b, ",\"score\":");
        dq_num_write_rounded(b, res->anomaly_score, eng->ctr->score_decimals);
        dq_buf_puts(b, res->is_anomaly ? ",\"flag\":true,\"field\":" : ",\"flag\":false,\"field\":");
        const dq_field *f = &eng->ctr->fields[res->anomaly_field];
        dq_buf_put(b, f->json_key, f->json_key_len - 1); /* "name": without its colon */
        dq_buf_putc(b, '}');
    }
    dq_buf_putc(b, '}');
}

/* '{' and each member of the clean event followed by ','. */
static void write_clean_members(const dq_contract *ctr, const dq_eval *ev, const dq_scan *scan, dq_buf *b)
{
    char ts[25];
    dq_buf_putc(b, '{');
    for (int fi = 0; fi < ctr->n_fields; fi++) {
        if (!ev->present[fi])
            continue;
        const dq_field *f = &ctr->fields[fi];
        dq_buf_put(b, f->json_key, f->json_key_len);
        const dq_member *m = &scan->field[fi];
        if (ev->as_input >> fi & 1) { /* most members: copied as they came */
            dq_buf_put(b, m->raw, m->raw_len);
            dq_buf_putc(b, ',');
            continue;
        }
        switch (f->type) {
        case DQ_T_NUMBER:
        case DQ_T_INTEGER: dq_num_write(b, &ev->num[fi]); break;
        case DQ_T_STRING: dq_buf_json_str(b, m->str, m->str_len); break;
        case DQ_T_BOOLEAN: dq_buf_puts(b, m->boolean ? "true" : "false"); break;
        case DQ_T_TIMESTAMP:
            dq_time_format(ev->ts_ms[fi], ts);
            dq_buf_putc(b, '"');
            dq_buf_put(b, ts, 24);
            dq_buf_putc(b, '"');
            break;
        }
        dq_buf_putc(b, ',');
    }
}

/* Whether the clean members are the input's, each as it came: then they are its bytes. */
static bool clean_is_input(const dq_contract *ctr, const dq_eval *ev, const dq_scan *scan)
{
    if (!scan->compact)
        return false;
    for (int fi = 0; fi < ctr->n_fields; fi++)
        if (ev->present[fi] != scan->present[fi] || (ev->present[fi] && !(ev->as_input >> fi & 1)))
            return false;
    return true;
}

/* The clean event, its annotation written in place: *annot is where that starts. */
static void write_clean(const dq_engine *eng, const dq_eval *ev, const dq_scan *scan, dq_buf *b, size_t *annot)
{
    const dq_contract *ctr = eng->ctr;
    if (clean_is_input(ctr, ev, scan)) {
        dq_buf_put(b, scan->text, scan->text_len - 1); /* all but the closing brace */
        dq_buf_putc(b, ',');
    } else {
        write_clean_members(ctr, ev, scan, b);
    }
    dq_buf_puts(b, "\"dq\":");
    *annot = b->len;
    write_annotation(eng, ev, b);
    dq_buf_putc(b, '}');
}

dq_err dq_engine_eval_n(dq_engine *eng, const char *event, size_t len, dq_result *res)
{
    if (!eng || !res || (!event && len))
        return DQ_ERR_ARG;
    const dq_contract *ctr = eng->ctr;
    dq_scan *scan = &eng->scan;
    dq_eval ev;
    dq_keystate *ks = NULL;

    res->verdict = DQ_PASS;
    res->reasons = 0;
    res->n_details = 0;
    res->event_time_ms = INT64_MIN;
    res->key = NULL;
    res->key_len = 0;
    res->clean = NULL;
    res->clean_len = 0;
    res->anomaly_scored = res->is_anomaly = false;
    res->anomaly_z = 0;
    res->anomaly_score = NAN;
    res->anomaly_field = -1;
    res->features = NULL;
    ev.res = res;
    ev.complete = false;
    ev.bias_ends = ev.steps_back = ev.drift_back = ev.as_input = 0;
    ev.z_flagged = false;
    memset(ev.from, 0, (size_t)ctr->n_fields * sizeof ev.from[0]); /* the fields past n_fields are never read */
    memset(ev.imputed, 0, sizeof ev.imputed);

    if (len > ctr->max_event_bytes) {
        dq_rules_add(res, DQ_R_OVERSIZED, DQ_ACT_REJECT, -1);
    } else {
        dq_event_scan(ctr, event ? event : "", len, eng->scratch, scan);
        if (scan->error != DQ_R_NONE)
            dq_rules_add(res, scan->error, DQ_ACT_REJECT, -1);
    }
    bool scanned = len <= ctr->max_event_bytes && scan->error == DQ_R_NONE;
    memset(ev.present, 0, sizeof ev.present);
    if (scanned) {
        dq_rules_stateless(eng, scan, &ev);
        if (ctr->time_field >= 0 && ev.present[ctr->time_field])
            res->event_time_ms = ev.ts_ms[ctr->time_field];
        if (ctr->key_field >= 0 && ev.present[ctr->key_field]) {
            bool key_ok = true;
            for (int i = 0; i < res->n_details; i++)
                key_ok &= res->details[i].field != ctr->key_field;
            if (key_ok) {
                res->key = scan->field[ctr->key_field].str;
                res->key_len = scan->field[ctr->key_field].str_len;
                ks = dq_state_get(&eng->state, res->key, res->key_len);
                if (!ks)
                    eng->totals.state_overflow++;
            }
        }
        bool stateful = ctr->time_field >= 0 && ctr->key_field >= 0;
        if (ks && stateful && res->verdict != DQ_REJECT) {
            dq_rules_stateful(eng, ks, &ev);
            if (res->verdict != DQ_REJECT) {
                if (ctr->n_anomaly_fields)
                    dq_anomaly_score(eng, ks, &ev);
                dq_rules_commit(eng, ks, &ev);
                dq_state_touch(ks);
            }
        } else if (!ks && stateful && res->verdict != DQ_REJECT) {
            /* No state for this key: last_good imputation cannot happen. */
            for (int fi = 0; fi < ctr->n_fields; fi++)
                if (!ev.present[fi] && ctr->fields[fi].required && ctr->fields[fi].missing == DQ_MISS_IMPUTE_LAST)
                    dq_rules_add(res, DQ_R_MISSING_FIELD, DQ_ACT_REJECT, fi);
        }
    }

    if (res->verdict != DQ_REJECT) { /* the annotation is part of the clean event */
        dq_buf ob;
        size_t annot = 0;
        dq_buf_init(&ob, eng->out, eng->out_cap);
        write_clean(eng, &ev, scan, &ob, &annot);
        if (ob.overflow) {
            dq_rules_add(res, DQ_R_OVERSIZED, DQ_ACT_REJECT, -1);
        } else {
            res->clean = eng->out;
            res->clean_len = ob.len;
            res->verdict_json = eng->out + annot;
            res->verdict_json_len = ob.len - annot - 1;
        }
    }
    if (res->verdict == DQ_REJECT) {
        dq_buf ab;
        dq_buf_init(&ab, eng->annot, eng->annot_cap);
        write_annotation(eng, &ev, &ab);
        if (ab.overflow) { /* cannot happen with the sizes above; never emit a truncated document */
            dq_buf_init(&ab, eng->annot, eng->annot_cap);
            dq_buf_puts(&ab, "{\"status\":\"REJECT\",\"reasons\":[\"OVERSIZED\"]}");
        }
        res->verdict_json = eng->annot;
        res->verdict_json_len = ab.len;
    }
    eng->totals.events++;
    eng->totals.verdicts[res->verdict]++;
    eng->totals.anomalies_scored += res->anomaly_scored;
    eng->totals.anomalies += res->is_anomaly;
    for (uint64_t m = res->reasons; m; m &= m - 1)
        eng->totals.reasons[__builtin_ctzll(m)]++;
    dq_window_account(eng, res, ev.complete, ks);
    return DQ_OK;
}

size_t dq_engine_eval_batch(dq_engine *eng, const char *buf, const uint64_t *offs, size_t n, uint8_t *verdicts,
                            uint64_t *reasons, int64_t *event_time_ms, char *clean, size_t clean_cap,
                            uint64_t *clean_offs)
{
    if (!eng || !offs || (!buf && n))
        return 0;
    size_t used = 0;
    if (clean_offs)
        clean_offs[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (offs[i + 1] < offs[i])
            return i;
        /* The worst-case output must fit before the event changes any state. */
        size_t ev_len = (size_t)(offs[i + 1] - offs[i]);
        if (clean && clean_cap - used < dq_engine_clean_bound(ev_len))
            return i;
        dq_result res;
        dq_engine_eval_n(eng, buf + offs[i], ev_len, &res);
        if (verdicts)
            verdicts[i] = (uint8_t)res.verdict;
        if (reasons)
            reasons[i] = res.reasons;
        if (event_time_ms)
            event_time_ms[i] = res.event_time_ms;
        /* A REJECT has no clean event: its slot holds the annotation (why it was rejected). */
        const char *out = res.clean ? res.clean : res.verdict_json;
        size_t out_len = res.clean ? res.clean_len : res.verdict_json_len;
        if (clean && out) {
            memcpy(clean + used, out, out_len);
            used += out_len;
        }
        if (clean_offs)
            clean_offs[i + 1] = used;
    }
    return n;
}

size_t dq_engine_eval_features(dq_engine *eng, const char *buf, const uint64_t *offs, size_t n, double *features)
{
    if (!eng || !offs || (!buf && n) || !features)
        return 0;
    size_t nf = (size_t)eng->ctr->n_features, done = n;
    eng->want_features = true;
    for (size_t i = 0; i < n; i++) {
        if (offs[i + 1] < offs[i]) {
            done = i;
            break;
        }
        dq_result res;
        dq_engine_eval_n(eng, buf + offs[i], (size_t)(offs[i + 1] - offs[i]), &res);
        for (size_t k = 0; k < nf; k++)
            features[i * nf + k] = res.features ? res.features[k] : NAN;
    }
    eng->want_features = false;
    return done;
}

static void put_base64(dq_buf *b, const unsigned char *s, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {tbl[v >> 18], tbl[v >> 12 & 63], i + 1 < n ? tbl[v >> 6 & 63] : '=', i + 2 < n ? tbl[v & 63] : '='};
        dq_buf_put(b, q, 4);
    }
}

static void write_reject(dq_buf *b, const dq_result *res, const char *extra, const char *raw, size_t raw_len)
{
    dq_buf_putc(b, '{');
    if (extra && *extra) {
        dq_buf_puts(b, extra);
        dq_buf_putc(b, ',');
    }
    dq_buf_puts(b, "\"dq\":");
    if (res && res->verdict_json)
        dq_buf_put(b, res->verdict_json, res->verdict_json_len);
    else
        dq_buf_puts(b, "null");
    size_t mark = b->len;
    bool overflow = b->overflow;
    dq_buf_puts(b, ",\"raw\":");
    if (!dq_buf_json_utf8(b, raw ? raw : "", raw_len)) { /* not UTF-8, or a NUL: rewound, in base64 */
        b->len = mark;
        b->overflow = overflow;
        dq_buf_puts(b, ",\"raw_base64\":\"");
        put_base64(b, (const unsigned char *)raw, raw_len);
        dq_buf_putc(b, '"');
    }
    dq_buf_putc(b, '}');
}

size_t dq_reject_json(const dq_result *res, const char *extra, const char *raw, size_t raw_len, char *buf, size_t size)
{
    if (!raw)
        raw_len = 0;
    dq_buf b;
    dq_buf_init(&b, buf, size ? size - 1 : 0);
    write_reject(&b, res, extra, raw, raw_len);
    if (!b.overflow) {
        buf[b.len] = '\0';
        return b.len;
    }
    if (size)
        buf[0] = '\0';
    /* Too small: the exact length from a second pass into a buffer of the upper bound (escapes
     * take at most 6 bytes a byte, base64 4 per 3); that bound if even it cannot be had. */
    size_t bound = 64 + (extra ? strlen(extra) : 0) + (res ? res->verdict_json_len : 4) + 6 * raw_len;
    char *tmp = dq_malloc(bound);
    if (!tmp)
        return bound;
    dq_buf_init(&b, tmp, bound);
    write_reject(&b, res, extra, raw, raw_len);
    dq_free(tmp);
    return b.len;
}
