/*
 * rules.c - the contract's rules and cleaning policies applied to one event.
 *
 * Stateless rules look at one scanned event: presence, type (with coercion of
 * numeric strings), range (reject, cap or warn), pattern, enum, length,
 * timestamp formats and the future-timestamp bound. Stateful rules compare the
 * event with its key's state: duplicates, late events, gaps, spikes, stuck
 * values, noise, and imputation from the last good value. Every finding is recorded
 * with its reason, action and field; the verdict follows from the actions:
 * any reject -> REJECT, else any change -> FIXED, else PASS (warnings allowed).
 * State is updated only by events that are not rejected; a reading flagged SPIKE does not
 * become the reference value unless the new level persists (DQ_SPIKE_ACCEPT readings).
 * Rules can be relative to the sensor: each key learns its cadence (time between readings)
 * and each spike- or noise-checked value its typical and its recent change, online; spans
 * written in intervals ("10 intervals"), the relative spike rule and the noise rule apply
 * once those are learned (warm-up).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "dq_int.h"

void dq_rules_add(dq_result *res, dq_reason reason, int action, int field)
{
    res->reasons |= 1ull << reason;
    if (action == DQ_ACT_REJECT)
        res->verdict = DQ_REJECT;
    else if (action != DQ_ACT_WARN && res->verdict == DQ_PASS)
        res->verdict = DQ_FIXED;
    if (res->n_details < DQ_MAX_DETAILS)
        res->details[res->n_details++] = (dq_detail){.reason = (uint8_t)reason, .action = (uint8_t)action,
                                                     .field = (int16_t)field};
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static bool enum_has(const dq_field *f, const char *s, size_t n)
{
    for (int i = 0; i < f->n_enum; i++)
        if (f->enum_lens[i] == n && memcmp(f->enum_values[i], s, n) == 0)
            return true;
    return false;
}

/* Epoch seconds or milliseconds to ms; |v| >= 1e11 reads as ms when both are allowed. */
static bool epoch_to_ms(const dq_field *f, double v, int64_t *ms)
{
    bool as_ms = (f->ts_formats & DQ_TS_EPOCH_MS) && (!(f->ts_formats & DQ_TS_EPOCH_S) || fabs(v) >= 1e11);
    if (!as_ms && !(f->ts_formats & DQ_TS_EPOCH_S))
        return false;
    double x = as_ms ? v : v * 1000.0;
    if (!(x >= (double)DQ_TIME_MIN_MS && x <= (double)DQ_TIME_MAX_MS))
        return false;
    *ms = (int64_t)floor(x);
    return true;
}

static void check_number(const dq_field *f, int fi, dq_eval *ev)
{
    dq_num *v = &ev->num[fi];
    if (f->type == DQ_T_INTEGER && v->v != floor(v->v)) {
        dq_rules_add(ev->res, DQ_R_WRONG_TYPE, DQ_ACT_REJECT, fi);
        return;
    }
    const dq_num *bound = NULL;
    if (f->has_min && v->v < f->min.v)
        bound = &f->min;
    else if (f->has_max && v->v > f->max.v)
        bound = &f->max;
    if (!bound)
        return;
    dq_rules_add(ev->res, DQ_R_OUT_OF_RANGE, f->range_action, fi);
    if (f->range_action == DQ_ACT_CAPPED)
        *v = *bound;
}

/*
 * Whether a member's input text is already what the clean output would print for it, so
 * that it can be copied instead of printed again: a number the type and range rules left as it came,
 * written canonically (dq_num.canonical); a string the scanner read without escapes
 * (it then points into the input, and every byte of it stands for itself in JSON); a
 * timestamp written as dq_time_format writes them ("2026-11-26T04:13:00.250Z").
 */
static bool input_is_canonical(const dq_field *f, const dq_member *m, const dq_eval *ev, int fi)
{
    switch (f->type) {
    case DQ_T_NUMBER:
    case DQ_T_INTEGER:
        return m->type == DQ_J_NUMBER && m->num.canonical && ev->num[fi].v == m->num.v;
    case DQ_T_STRING: return m->type == DQ_J_STRING && m->str == m->raw + 1 && m->str_len + 2 == m->raw_len;
    case DQ_T_TIMESTAMP:
        return m->type == DQ_J_STRING && m->raw_len == 26 && m->raw[11] == 'T' && m->raw[20] == '.' &&
               m->raw[24] == 'Z';
    default: return false;
    }
}

void dq_rules_stateless(dq_engine *eng, const dq_scan *scan, dq_eval *ev)
{
    const dq_contract *ctr = eng->ctr;
    ev->complete = true;
    for (int fi = 0; fi < ctr->n_fields; fi++) {
        const dq_field *f = &ctr->fields[fi];
        const dq_member *m = &scan->field[fi];
        ev->present[fi] = false;
        if (!scan->present[fi] || m->type == DQ_J_NULL) {
            if (!f->required)
                continue;
            ev->complete = false;
            if (f->missing == DQ_MISS_IMPUTE_CONST) {
                ev->num[fi] = f->impute_value;
                ev->present[fi] = true;
                dq_rules_add(ev->res, DQ_R_MISSING_FIELD, DQ_ACT_IMPUTED, fi);
            } else if (f->missing == DQ_MISS_REJECT) {
                dq_rules_add(ev->res, DQ_R_MISSING_FIELD, DQ_ACT_REJECT, fi);
            } /* DQ_MISS_IMPUTE_LAST: decided by the stateful stage */
            continue;
        }
        ev->from[fi] = m->raw;
        ev->from_len[fi] = m->raw_len;
        switch (f->type) {
        case DQ_T_NUMBER:
        case DQ_T_INTEGER:
            if (m->type == DQ_J_NUMBER) {
                ev->num[fi] = m->num;
            } else if (m->type == DQ_J_STRING && f->coerce) {
                /* A numeric string: trim blanks, then the JSON number grammar. */
                const char *s = m->str;
                size_t n = m->str_len;
                while (n && (*s == ' ' || *s == '\t'))
                    s++, n--;
                while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                    n--;
                int rc = dq_num_parse(s, n, &ev->num[fi]);
                if (rc != DQ_NUM_OK) {
                    dq_rules_add(ev->res, rc == DQ_NUM_NONFINITE ? DQ_R_NON_FINITE : DQ_R_WRONG_TYPE,
                                 DQ_ACT_REJECT, fi);
                    continue;
                }
                dq_rules_add(ev->res, DQ_R_WRONG_TYPE, DQ_ACT_COERCED, fi);
            } else {
                dq_rules_add(ev->res, DQ_R_WRONG_TYPE, DQ_ACT_REJECT, fi);
                continue;
            }
            check_number(f, fi, ev);
            break;
        case DQ_T_STRING:
            if (m->type != DQ_J_STRING) {
                dq_rules_add(ev->res, DQ_R_WRONG_TYPE, DQ_ACT_REJECT, fi);
                continue;
            }
            /* A string has no more characters than bytes: count them only past the limit in bytes. */
            if (f->max_length && m->str_len > f->max_length && utf8_chars(m->str, m->str_len) > f->max_length)
                dq_rules_add(ev->res, DQ_R_TOO_LONG, DQ_ACT_REJECT, fi);
            else if (f->pattern && !dq_pattern_match(f->pattern, m->str, m->str_len))
                dq_rules_add(ev->res, DQ_R_PATTERN_MISMATCH, DQ_ACT_REJECT, fi);
            else if (f->n_enum && !enum_has(f, m->str, m->str_len))
                dq_rules_add(ev->res, DQ_R_NOT_IN_ENUM, DQ_ACT_REJECT, fi);
            break;
        case DQ_T_BOOLEAN:
            if (m->type != DQ_J_BOOL) {
                dq_rules_add(ev->res, DQ_R_WRONG_TYPE, DQ_ACT_REJECT, fi);
                continue;
            }
            break;
        case DQ_T_TIMESTAMP: {
            bool ok;
            if (m->type == DQ_J_STRING)
                ok = (f->ts_formats & DQ_TS_ISO8601) &&
                     dq_time_parse_iso(m->str, m->str_len, f->ts_formats & DQ_TS_ISO8601_NAIVE, &ev->ts_ms[fi],
                                       &eng->day);
            else if (m->type == DQ_J_NUMBER)
                ok = epoch_to_ms(f, m->num.v, &ev->ts_ms[fi]);
            else {
                dq_rules_add(ev->res, DQ_R_WRONG_TYPE, DQ_ACT_REJECT, fi);
                continue;
            }
            if (!ok) {
                dq_rules_add(ev->res, DQ_R_INVALID_TIMESTAMP, DQ_ACT_REJECT, fi);
                continue;
            }
            if (fi == ctr->time_field && ctr->has_future && eng->has_now &&
                ev->ts_ms[fi] > eng->now_ms + ctr->future_tolerance_ms)
                dq_rules_add(ev->res, DQ_R_FUTURE_TIMESTAMP, ctr->future_action, fi);
            break;
        }
        }
        ev->present[fi] = true;
        ev->as_input |= (uint32_t)input_is_canonical(f, m, ev, fi) << fi;
    }
    if (scan->n_unknown > 0)
        dq_rules_add(ev->res, DQ_R_UNKNOWN_FIELD, ctr->reject_unknown_fields ? DQ_ACT_REJECT : DQ_ACT_DROPPED, -1);
}

/* Whether t is among the key's recent event times and no older than the duplicate window. */
static bool is_duplicate(const dq_contract *ctr, const dq_keytime *tm, int64_t t)
{
    int64_t d = tm->newest_ms - t;
    if (d < 0 || d > ctr->dup_window_ms || d >= (int64_t)DQ_AGE_MAX)
        return false;
    for (int i = 0; i < tm->recent_n; i++)
        if (tm->recent_age[i] == (uint32_t)d)
            return true;
    return false;
}

/* A span in ms for this sensor; false while a span in intervals waits for its cadence (warm-up). */
static bool span_ms(const dq_span *span, const dq_keytime *tm, int64_t *ms)
{
    if (span->intervals == 0) {
        *ms = span->ms;
        return true;
    }
    double x = span->intervals * tm->cadence_ms; /* beyond the widest span between two times: the same */
    *ms = x < (double)(DQ_TIME_MAX_MS - DQ_TIME_MIN_MS) ? (int64_t)x : DQ_TIME_MAX_MS - DQ_TIME_MIN_MS;
    return tm->cadence_n >= DQ_CADENCE_WARMUP;
}

/* How many of the sensor's intervals its reference value has stood for at t (at least 1):
 * a change across k intervals is compared with a band sqrt(k) times wider, as noise adds up. */
static double intervals_since(const dq_keytime *tm, const dq_numstate *ns, int64_t t)
{
    double k = (double)(t - dq_last_ms(tm, ns) + ns->since_age) / tm->cadence_ms;
    return k > 1 ? k : 1;
}

/* The recent change as a multiple of the typical one (1 until the noise rule's warm-up, 0
 * without a noise rule). */
static double recent_ratio(const dq_numstate *ns)
{
    return (double)ns->recent / DQ_RECENT_ONE;
}

/* A jump beyond the sensor's typical change, or its recent one when larger (a sensor turning
 * noisy scatters: the noise rule's, not a spike). */
static bool is_spike(const dq_field *f, const dq_keytime *tm, const dq_numstate *ns, double jump, int64_t t)
{
    if (f->spike_max_rate > 0) /* absolute: change per second since the last accepted reading */
        return jump / ((double)(t - dq_last_ms(tm, ns)) / 1000.0) > f->spike_max_rate;
    if (tm->cadence_n < DQ_CADENCE_WARMUP || ns->change_n < DQ_SPIKE_WARMUP || jump <= f->spike_min_change)
        return false;
    double r = recent_ratio(ns), band = f->spike_deviations * ns->change_dev * (r > 1 ? r : 1);
    /* Across a silence (or a value stuck for long) a larger change is normal: as sqrt(k) over k
     * intervals, a random walk; not across a few readings lost or rejected, nor across
     * readings flagged SPIKE since the last accepted one: a sensor's scatter between two
     * readings does not grow with them. So only after a quiet spell: no reading at all
     * for a while (the key's newest time, flagged readings included), or one value all along.
     * (Counting the flagged readings instead missed a bias whose first readings a spike the
     * other way interrupted: its sixth reading passed as a change across eight intervals.) */
    double quiet = ((double)(t - tm->newest_ms) + ns->since_age) / tm->cadence_ms;
    return jump > band && (quiet < DQ_FEW_MISSED + 1.5 || jump * jump > band * band * intervals_since(tm, ns, t));
}

/* The recent change ratio with a change per interval of x: a moving average over about
 * DQ_NOISE_WEIGHT readings of changes over the typical change, each at most 8 times the larger
 * of 1 and the recent ratio (one wild reading moves it little). */
static double recent_with(const dq_numstate *ns, double x)
{
    double r = recent_ratio(ns), cap = 8.0 * (r > 1 ? r : 1);
    x /= ns->change_dev;
    x = x < cap ? x : cap; /* also when change_dev is 0: x is then inf or NaN, r stays */
    return r + (x - r) / DQ_NOISE_WEIGHT;
}

/* The change to v per interval: a change across k intervals counts as sqrt(k) of them. */
static double change_per_interval(const dq_keytime *tm, const dq_numstate *ns, double v, int64_t t)
{
    return fabs(v - ns->last_v) / sqrt(intervals_since(tm, ns, t));
}

/* NOISE: the recent changes beyond ratio x the typical change; once noisy, until they fall
 * under DQ_NOISE_EXIT of that (hysteresis: a noisy sensor's quieter readings stay flagged).
 * A repeated value says nothing new, unless it goes on: a sensor stuck does not scatter (a
 * noisy stretch that ended in a stuck value stayed NOISE as long as the value stood). */
static bool is_noisy(const dq_field *f, const dq_keytime *tm, const dq_numstate *ns, double v, int64_t t)
{
    if (tm->cadence_n < DQ_CADENCE_WARMUP || ns->change_n < DQ_CHANGE_WARMUP || v == ns->last_v)
        return ns->noisy && v == ns->last_v && ns->same_run < DQ_NOISE_REPEATS;
    return recent_with(ns, change_per_interval(tm, ns, v, t)) > f->noise_ratio * (ns->noisy ? DQ_NOISE_EXIT : 1.0);
}

/* BIAS ends when the level steps back: a jump that undoes the bias's step to within a quarter
 * of it, or to within the sensor's own scatter (DQ_BACK_CHANGES typical changes, growing as
 * sqrt(k) across k intervals since the reference reading, as the spike band does) up to 0.4
 * of it: the step was measured between two noisy readings, and the level moved meanwhile (a
 * 6 °C bias's end missed by 1.7 °C was a BIAS for a day). Not beyond 0.4 (a glitch the other
 * way is a spike, and the bias goes on; after a value stuck for hours the weather's change
 * may look like half a step back). Whether or not it is a spike (after a silence, or a value
 * stuck meanwhile, a larger change is normal). */
static bool steps_back(const dq_keytime *tm, const dq_numstate *ns, double jump, int64_t t)
{
    if (ns->bias_step == 0)
        return false;
    double k = (double)(t - dq_last_ms(tm, ns)) / tm->cadence_ms; /* not across a stuck value: it stands still */
    double step = fabs(ns->bias_step), noise = DQ_BACK_CHANGES * ns->change_dev * sqrt(k > 1 ? k : 1);
    return fabs(jump + ns->bias_step) <= fmax(0.25 * step, fmin(0.4 * step, noise));
}

static bool flagged(const dq_result *res, dq_reason reason, int field)
{
    if (!(res->reasons >> reason & 1)) /* most readings: no such finding at all */
        return false;
    for (int i = 0; i < res->n_details; i++)
        if (res->details[i].reason == reason && res->details[i].field == field)
            return true;
    return false;
}

/* The time of day (UTC) of t in ms, times before 1970 too. */
static int64_t time_of_day(int64_t t)
{
    int64_t ms = t % DQ_DAY_MS;
    return ms < 0 ? ms + DQ_DAY_MS : ms;
}

/* x within the finite floats, which the profile keeps. */
static double float_range(double x)
{
    return x > FLT_MAX ? FLT_MAX : x < -FLT_MAX ? -FLT_MAX : x;
}

/* How many readings an hour's level averages before it is learned: half an hour's worth of the
 * sensor's readings, at least DQ_PROFILE_MIN. */
static unsigned profile_enough(const dq_keytime *tm)
{
    double half_hour = (double)DQ_HOUR_MS / 2 / tm->cadence_ms; /* inf before any cadence */
    return half_hour > UINT16_MAX ? UINT16_MAX : half_hour > DQ_PROFILE_MIN ? (unsigned)half_hour : DQ_PROFILE_MIN;
}

/* The sensor's level at t from its daily profile: the levels of the two hours around t,
 * interpolated between their middles. False until the profile has seen a whole day and an
 * hour (the hour after t's is then learned too), or while either hour is not learned yet (a
 * sensor silent or faulty for much of an hour of its first day: one such hour, averaged over
 * 4 readings, made a sensor DRIFT the next day). */
static bool profile_level(const dq_keytime *tm, const dq_profile *pf, int64_t t, double *level)
{
    if (pf->start_ms == 0 || t - pf->start_ms < DQ_DAY_MS + DQ_HOUR_MS)
        return false;
    double h = (double)time_of_day(t) / (double)DQ_HOUR_MS - 0.5;
    int i = (int)floor(h), a = (i + DQ_PROFILE_BINS) % DQ_PROFILE_BINS, b = (i + 1) % DQ_PROFILE_BINS;
    unsigned enough = profile_enough(tm);
    if (pf->n[a] < enough || pf->n[b] < enough)
        return false;
    *level = pf->level[a] + (h - i) * (pf->level[b] - pf->level[a]);
    return true;
}

/* DRIFT: the departure from the daily profile, moved by this reading's (r), beyond
 * drift.deviations typical departures; once drifting, until it falls under DQ_DRIFT_EXIT of
 * that. A repeated value says nothing new: it stays DRIFT a few times (DQ_NOISE_REPEATS) while
 * drifting, as the noise rule's (a sensor stuck while the weather moves departs from its
 * profile, and is the stuck rule's). */
static bool is_drifting(const dq_field *f, const dq_numstate *ns, const dq_profile *pf, double v, double r)
{
    if (v == ns->last_v)
        return pf->drifting && ns->same_run < DQ_NOISE_REPEATS;
    double d = pf->departure + (r - pf->departure) / DQ_DRIFT_WEIGHT;
    return fabs(d) > f->drift_deviations * pf->dev * (pf->drifting ? DQ_DRIFT_EXIT : 1.0);
}

/* A drift ends when the sensor is set right: a jump against a departure the rule sees (or
 * almost) that undoes at least half of it and lands near the profile (its departure r within
 * the rule's band, or a quarter of the departure). Not a spike, nor a bias's step: the new
 * level is the old normal. */
static bool drift_undone(const dq_field *f, const dq_profile *pf, double jump, double r)
{
    double dep = pf->departure, band = f->drift_deviations * pf->dev;
    return fabs(dep) > DQ_DRIFT_EXIT * band && jump * dep < 0 && fabs(jump) >= 0.5 * fabs(dep) &&
           fabs(r) <= fmax(0.25 * fabs(dep), band);
}

/* After a long silence a sensor may come back serviced, replaced or moved, and the stack's
 * generator restarted with other sensors behind the same ids: what its values were says
 * little of what they are. Its value rules learn it again as a new sensor's (the spike, noise
 * and bias rules and the detector wait for their warm-ups; its last value stays, for
 * imputation within its age limit); its cadence stays. Without this, a first reading 27 °C
 * off after three silent days became the level, the return to normal a BIAS for a day, and a
 * sensor that came back scattering more than before was NOISE for ever. */
static void relearn_values(dq_numstate *num, size_t n_num, dq_profile *prof, size_t n_profile)
{
    memset(prof, 0, n_profile * sizeof *prof);
    for (size_t i = 0; i < n_num; i++) {
        dq_numstate *ns = &num[i];
        ns->change_n = 0;
        ns->recent = 0;
        ns->noisy = 0;
        ns->spike_run = 0;
        ns->bias_step = 0;
        ns->bias_latent = 0;
        ns->bias_age = 0;
        ns->ew_n = 0;
    }
}

void dq_rules_stateful(dq_engine *eng, dq_keystate *ks, dq_eval *ev)
{
    const dq_contract *ctr = eng->ctr;
    const dq_keytime *tm = &ks->tm;
    dq_numstate *num = dq_key_num(&eng->state, ks);
    dq_profile *prof = dq_key_profiles(&eng->state, ks);
    dq_result *res = ev->res;
    int64_t t = ev->ts_ms[ctr->time_field];
    int64_t span;
    if (tm->has_time && tm->cadence_n >= DQ_CADENCE_WARMUP && t - tm->newest_ms > DQ_RELEARN_INTERVALS * tm->cadence_ms)
        relearn_values(num, eng->state.n_num, prof, eng->state.n_profile); /* before the rules judge this reading: it is the first one learned */
    if (tm->has_time) {
        if (ctr->has_dup && is_duplicate(ctr, tm, t))
            dq_rules_add(res, DQ_R_DUPLICATE_EVENT, ctr->dup_action, ctr->time_field);
        else if (ctr->has_late && span_ms(&ctr->late_tolerance, tm, &span) && t < tm->newest_ms - span)
            dq_rules_add(res, DQ_R_LATE_EVENT, ctr->late_action, ctr->time_field);
        if (ctr->has_gap && span_ms(&ctr->gap_after, tm, &span) && t - tm->newest_ms > span)
            dq_rules_add(res, DQ_R_GAP, ctr->gap_action, ctr->time_field);
    }
    for (int i = 0; i < ctr->n_num_slots; i++) {
        int fi = ctr->num_fields[i];
        const dq_field *f = &ctr->fields[fi];
        dq_numstate *ns = &num[f->num_slot];
        int64_t last_ms = dq_last_ms(tm, ns);
        if (!ev->present[fi]) {
            if (!f->required || f->missing != DQ_MISS_IMPUTE_LAST)
                continue;
            if (ns->has_last && t >= last_ms && span_ms(&f->impute_max_age, tm, &span) && t - last_ms <= span) {
                ev->num[fi] = dq_num_from_double(ns->last_v);
                ev->present[fi] = true;
                ev->imputed[fi] = true;
                dq_rules_add(res, DQ_R_MISSING_FIELD, DQ_ACT_IMPUTED, fi);
            } else {
                dq_rules_add(res, DQ_R_MISSING_FIELD, DQ_ACT_REJECT, fi);
            }
            continue;
        }
        if (!ns->has_last || t <= last_ms)
            continue;
        double v = ev->num[fi].v;
        bool back = f->has_bias && steps_back(tm, ns, v - ns->last_v, t), biased = f->has_bias && ns->bias_step != 0;
        ev->steps_back |= (uint32_t)back << fi;
        const dq_span *lasts = ns->bias_latent ? &(dq_span){.intervals = DQ_LATENT_INTERVALS} : &f->bias_for;
        if (biased && (back || (span_ms(lasts, tm, &span) && t - last_ms + (int64_t)ns->bias_age > span))) {
            ev->bias_ends |= 1u << fi; /* it stepped back, or lasted bias.for: the new normal */
            biased = false;
        }
        /* The drift rule, once its typical departure is learned: this reading's departure r. */
        const dq_profile *pf = f->profile_slot >= 0 ? &prof[f->profile_slot] : NULL;
        double level;
        bool profiled = pf && pf->dev_n >= DQ_DRIFT_WARMUP && profile_level(tm, pf, t, &level);
        double r = profiled ? v - level : 0;
        bool undone = profiled && drift_undone(f, pf, v - ns->last_v, r);
        ev->drift_back |= (uint32_t)undone << fi;
        if ((back && !ns->bias_latent) || undone)
            ; /* the end of a bias or a drift, not a spike */
        else if (f->has_spike && is_spike(f, tm, ns, fabs(v - ns->last_v), t))
            dq_rules_add(res, DQ_R_SPIKE, f->spike_action, fi);
        else if (f->noise_ratio > 0 && is_noisy(f, tm, ns, v, t)) /* one wild reading is a spike, not noise */
            dq_rules_add(res, DQ_R_NOISE, f->noise_action, fi);
        if (biased && !ns->bias_latent)
            dq_rules_add(res, DQ_R_BIAS, f->bias_action, fi);
        /* Not a reading another level rule explains (a spike, noise, a bias's offset, latent too). */
        if (profiled && !undone && ns->bias_step == 0 && !flagged(res, DQ_R_SPIKE, fi) &&
            !flagged(res, DQ_R_NOISE, fi) && is_drifting(f, ns, pf, v, r))
            dq_rules_add(res, DQ_R_DRIFT, f->drift_action, fi);
        if (f->stuck_count && v == ns->last_v && ns->same_run + 1 >= f->stuck_count)
            dq_rules_add(res, DQ_R_STUCK_VALUE, f->stuck_action, fi);
    }
}

/* The cadence: the shortest of the first DQ_CADENCE_WARMUP intervals (one of them may span
 * a silence, such as a stream restarted after hours, never a burst: times are event times),
 * then a moving average (weight 1/8) of intervals clamped to [half, twice] the cadence, so
 * that a gap moves it little while a sensor that changes its rate is followed within a few
 * dozen readings. */
static void learn_cadence(dq_keytime *tm, int64_t t)
{
    if (!tm->has_time || t <= tm->newest_ms)
        return;
    float d = (float)(t - tm->newest_ms), c = tm->cadence_ms;
    if (tm->cadence_n < DQ_CADENCE_WARMUP) {
        tm->cadence_ms = tm->cadence_n++ == 0 || d < c ? d : c;
        return;
    }
    d = d > 2 * c ? 2 * c : d < c / 2 ? c / 2 : d;
    tm->cadence_ms = c + (d - c) / 8;
}

/* Records an accepted event time: the newest time, and the recent ones and the numeric
 * fields' last readings as ages against it. */
static void remember_time(dq_keytime *tm, dq_numstate *num, size_t n_num, int64_t t)
{
    if (!tm->has_time || t > tm->newest_ms) {
        int64_t shift = tm->has_time ? t - tm->newest_ms : 0;
        uint32_t d = shift < (int64_t)DQ_AGE_MAX ? (uint32_t)shift : DQ_AGE_MAX;
        for (int i = 0; i < DQ_DUP_RING; i++) { /* all of them, unused ones too: a loop without branches */
            uint32_t a = tm->recent_age[i] + d;
            tm->recent_age[i] = a < d ? DQ_AGE_MAX : a;
        }
        for (size_t i = 0; i < n_num; i++)
            num[i].last_age = dq_age_add(num[i].last_age, d);
        tm->newest_ms = t;
        tm->has_time = true;
    }
    tm->recent_age[tm->recent_next] = dq_age_add(0, tm->newest_ms - t);
    tm->recent_next = (uint8_t)((tm->recent_next + 1) % DQ_DUP_RING);
    if (tm->recent_n < DQ_DUP_RING)
        tm->recent_n++;
}

/* The typical change of a value: the mean of its first DQ_CHANGE_WARMUP changes (the smallest,
 * as for the cadence, would make the band too narrow for noise; the relative spike rule uses
 * it after DQ_SPIKE_WARMUP), then a slow moving average (weight 1/32) of changes clamped to
 * twice the typical one, so that a noisy stretch moves it little before the noise rule sees
 * it. The recent change follows every change (weight 1/DQ_NOISE_WEIGHT), the typical one only
 * those of readings neither flagged NOISE nor close to it (a noisy stretch must not become the
 * norm). Changes across missed readings count as one interval's (divided by sqrt(k)); a
 * repeated value teaches nothing. */
static void learn_change(const dq_field *f, const dq_keytime *tm, dq_numstate *ns, double v, int64_t t, bool noisy)
{
    if (tm->cadence_n == 0 || v == ns->last_v)
        return;
    double change = change_per_interval(tm, ns, v, t);
    if (f->noise_ratio > 0) {
        double r = (ns->change_n >= DQ_SPIKE_WARMUP ? recent_with(ns, change) : 1) * DQ_RECENT_ONE + 0.5;
        ns->recent = r < UINT16_MAX ? (uint16_t)r : UINT16_MAX;
        if (noisy || (ns->change_n >= DQ_CHANGE_WARMUP && recent_ratio(ns) > f->noise_ratio * DQ_NOISE_EXIT))
            return;
    }
    float x = change < FLT_MAX ? (float)change : FLT_MAX, c = ns->change_dev; /* a float, and finite */
    if (ns->change_n < DQ_CHANGE_WARMUP) {
        /* The geometric mean, scaled to the mean |change| of normal scatter (x 1.505): a glitch
         * among the first changes moves it little (one of 25 °C among 0.2 °C ones: x 1.2, where
         * the mean would be x 5). */
        double n = ++ns->change_n, g = DQ_GEO_TO_MEAN * x; /* the first change: its own mean */
        if (n > 1)
            g = exp(((n - 1) * log(c) + log(g)) / n);
        ns->change_dev = g < FLT_MAX ? (float)g : FLT_MAX;
        return;
    }
    x = x > 2 * c ? 2 * c : x;
    ns->change_dev = c + (x - c) / 32;
}

/* The daily profile learns each hour's level: the average of the first day's readings in it
 * (and of later ones until it has half an hour's worth, profile_enough), then a moving average in which a day's
 * readings weigh about 1/DQ_PROFILE_DAYS. Not from readings a level rule flagged (DRIFT too: a
 * drift taught to the profile was a false DRIFT the next day at the same hours), nor before the
 * spike and noise rules' warm-up (a bias then passes unflagged), nor from a repeated value (a
 * stuck sensor's first readings are not flagged yet, and the weather moves on meanwhile). A
 * drift that lasts drift.for (a sensor moved for good) is the new normal: the profile is
 * learned anew. The typical departure learns from the same readings while the departure is
 * within the typical one (a drift must not widen the band it is measured against before the
 * rule sees it): the mean |departure| of the first DQ_DRIFT_WARMUP, then a slow moving average
 * (weight 1/256) of departures clamped to twice the typical one. The departure follows every
 * new value no other level rule flagged (a repeat says nothing new; a spike's level accepted
 * as a step is the bias rule's), and starts again at the reading that undid a drift. */
static void learn_profile(const dq_field *f, const dq_keytime *tm, const dq_numstate *ns, dq_profile *pf, double v,
                          int64_t t, bool drift, bool undone, bool other)
{
    int64_t span;
    if (drift)
        pf->drift_age = pf->drifting ? dq_age_add(pf->drift_age, t - dq_last_ms(tm, ns)) : 0;
    if (drift && span_ms(&f->drift_for, tm, &span) && (int64_t)pf->drift_age >= span) {
        memset(pf, 0, sizeof *pf); /* a drift that lasted drift.for: the new normal, learned anew */
        return;
    }
    double level;
    bool known = profile_level(tm, pf, t, &level), fresh = v != ns->last_v || !ns->has_last;
    v = float_range(v);
    double r = float_range(known ? v - level : 0);
    if (undone)
        pf->departure = (float)r;
    else if (known && fresh && !other)
        pf->departure = (float)(pf->departure + (r - pf->departure) / DQ_DRIFT_WEIGHT);
    pf->drifting = drift;
    if (drift || other || !fresh || (ns->change_n < DQ_CHANGE_WARMUP && (f->spike_deviations > 0 || f->noise_ratio > 0)))
        return;
    if (pf->start_ms == 0)
        pf->start_ms = t;
    int b = (int)(time_of_day(t) / DQ_HOUR_MS);
    if (t - pf->start_ms < DQ_DAY_MS || pf->n[b] < profile_enough(tm)) {
        pf->n[b] += pf->n[b] < UINT16_MAX;
        pf->level[b] = (float)(pf->level[b] + (v - pf->level[b]) / pf->n[b]); /* between the two: a float */
    } else if (tm->cadence_n > 0) {
        double w = tm->cadence_ms / (DQ_PROFILE_DAYS * (double)DQ_HOUR_MS);
        pf->level[b] = (float)(pf->level[b] + (w < 1 ? w : 1) * (v - pf->level[b]));
    }
    if (!known || (pf->dev_n >= DQ_DRIFT_WARMUP && fabs(pf->departure) > pf->dev))
        return;
    float x = (float)fabs(r);
    if (pf->dev_n < DQ_DRIFT_WARMUP) {
        pf->dev += (x - pf->dev) / (float)++pf->dev_n;
        return;
    }
    pf->dev += ((x < 2 * pf->dev ? x : 2 * pf->dev) - pf->dev) / 256;
}

void dq_rules_commit(dq_engine *eng, dq_keystate *ks, const dq_eval *ev)
{
    const dq_contract *ctr = eng->ctr;
    int64_t t = ev->ts_ms[ctr->time_field];
    dq_numstate *num = dq_key_num(&eng->state, ks);
    dq_profile *prof = dq_key_profiles(&eng->state, ks);
    learn_cadence(&ks->tm, t);
    remember_time(&ks->tm, num, eng->state.n_num, t);
    for (int i = 0; i < ctr->n_num_slots; i++) {
        int fi = ctr->num_fields[i];
        const dq_field *f = &ctr->fields[fi];
        if (!ev->present[fi] || ev->imputed[fi])
            continue;
        dq_numstate *ns = &num[f->num_slot];
        int64_t last_ms = dq_last_ms(&ks->tm, ns);
        if (ns->has_last && t < last_ms)
            continue; /* an older reading does not replace a newer one */
        double v = ev->num[fi].v;
        if (f->anomaly)
            dq_anomaly_update(ctr, ns, v, ev->z_flagged);
        /* A spike does not become the reference (so the return to normal is not a second
         * spike), unless the new level holds for DQ_SPIKE_ACCEPT readings: a real step. */
        bool spiked = flagged(ev->res, DQ_R_SPIKE, fi), noisy = flagged(ev->res, DQ_R_NOISE, fi), onset = false;
        if (f->noise_ratio > 0 && !spiked) /* a spike amid noise leaves the sensor noisy */
            ns->noisy = noisy;
        if (spiked) { /* a new level holds when its readings jump alike: not glitch after glitch */
            double jump = v - ns->last_v, k = log2(fabs(jump) / ns->change_dev) + 0.5;
            k = k > 0 ? (k < 7.5 ? k : 7.5) : 0; /* also NaN (0 / 0) */
            unsigned size = (unsigned)k;
            /* Alike: within a factor of two of the middle of the first jump's size (a factor
             * of 1.4 of the first jump always passes, 4 never). A spike on top of a bias's
             * first readings joined it when any neighbouring size did: the step taken for
             * the bias's was the spike's, its step back was not seen, its end a BIAS for a day. */
            if (ns->spike_run && ((jump > 0) != ns->run_up || fabs(k - (ns->run_size + 0.5)) >= 1))
                ns->spike_run = 0;
            if (ns->spike_run == 0) {
                ns->run_up = jump > 0;
                ns->run_size = size & 7;
            }
            if (++ns->spike_run < DQ_SPIKE_ACCEPT)
                continue;
        }
        double step = v - ns->last_v;
        bool steady = f->has_bias && ns->change_n >= DQ_CHANGE_WARMUP && fabs(step) < FLT_MAX;
        if (ev->bias_ends >> fi & 1) {
            spiked |= !ns->bias_latent && (ev->steps_back >> fi & 1); /* the jump back is not a change to learn */
            ns->bias_step = 0;
        } else if (spiked && steady && !ns->noisy && !(f->stuck_count && ns->same_run >= f->stuck_count)) {
            /* A step that held: BIAS until it steps back. Not during the warm-up nor from a
             * noisy sensor's level (the level it left may be a glitch accepted while the spike
             * rule did not apply or was wide), nor a stuck sensor that came back. */
            ns->bias_step = (float)step;
            ns->bias_latent = 0;
            onset = true;
        } else if (f->has_bias && ns->bias_step == 0 && fabs(step) < FLT_MAX &&
                   ((spiked && ns->change_n < DQ_CHANGE_WARMUP) ||
                    (noisy && steady && fabs(step) > f->spike_deviations * ns->change_dev))) {
            /* A step the spike rule accepted during the warm-up, or a jump it let pass as noise
             * (its band widens with the recent changes), may be a bias's step all the same:
             * kept, latent, so that the step back is not taken for the step of a new bias (a
             * bias from a sensor's 27th reading was missed, and its end was a BIAS for a day). */
            ns->bias_step = (float)step;
            ns->bias_latent = 1;
            onset = true;
        }
        if (onset)
            ns->bias_age = 0;
        bool undone = ev->drift_back >> fi & 1;
        if (f->profile_slot >= 0)
            learn_profile(f, &ks->tm, ns, &prof[f->profile_slot], v, t, flagged(ev->res, DQ_R_DRIFT, fi), undone,
                          spiked || noisy || ns->bias_step != 0 || flagged(ev->res, DQ_R_BIAS, fi));
        spiked |= undone; /* the jump back is not a change to learn */
        ns->spike_run = 0;
        if (ns->has_last && !spiked && (f->spike_deviations > 0 || f->noise_ratio > 0) && t > last_ms)
            learn_change(f, &ks->tm, ns, v, t, noisy);
        bool same = ns->has_last && v == ns->last_v;
        ns->same_run = !same ? 1 : ns->same_run < UINT16_MAX ? ns->same_run + 1 : UINT16_MAX;
        ns->since_age = same ? dq_age_add(ns->since_age, t - last_ms) : 0;
        if (ns->bias_step != 0 && !onset)
            ns->bias_age = dq_age_add(ns->bias_age, t - last_ms);
        ns->last_v = ev->num[fi].v;
        ns->last_age = dq_age_add(0, ks->tm.newest_ms - t);
        ns->has_last = true;
    }
}
