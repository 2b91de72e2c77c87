/*
 * state.c - the per-key state table.
 *
 * Open addressing with linear probing over a power-of-two array of at least twice
 * contract.limits.maxKeys slots, so probes stay short. Everything (slots, key
 * bytes, numeric state, window accumulators) is allocated once in dq_state_init;
 * lookups and inserts never allocate. Keys are never removed: a stream's key set
 * (sensor ids) is small and long-lived; when the table is full new keys are
 * evaluated without state and counted in dq_totals.state_overflow. Everything can be
 * forgotten at once (dq_state_clear), e.g. when a stream's partitions move.
 *
 * Saved state (dq_state_save/load) is a small versioned byte string per key:
 *   u8 version, u8 numeric fields, u8 has_time, u8 recent_n, u8 recent_next,
 *   i64 newest_ms, i64 recent_ms[DQ_DUP_RING],
 *   per numeric field: u8 has_last, u8 n + n bytes of the value as JSON number
 *   text, i64 last_ms, u32 same_run, u8 spike_run, f64 ew_mean, f64 ew_var,
 *   u32 ew_n,
 * and since version 3: u8 cadence_n, f32 cadence_ms after recent_ms; i64 since_ms, u8
 * change_n, f32 change_dev at the end of each numeric field. Version 2 state still loads:
 * the sensor then learns its cadence and typical changes again (a warm-up).
 * Integers are little-endian, floats and doubles their IEEE-754 bits as little-endian u32/u64.
 * Values travel as text so loading goes through the number parser and yields a
 * dq_num with its invariants, whatever the bytes; the running mean and variance
 * must be finite (and the variance not negative).
 */
#include <math.h>
#include <string.h>

#include "dq_int.h"

static uint64_t hash_key(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

dq_err dq_state_init(dq_state *st, const dq_contract *ctr, size_t key_max)
{
    memset(st, 0, sizeof *st);
    st->max_keys = (size_t)ctr->max_keys;
    st->key_max = key_max;
    st->cap = 16;
    while (st->cap < 2 * st->max_keys)
        st->cap *= 2;
    size_t nwin = (size_t)ctr->n_windows, nnum = (size_t)ctr->n_num_slots;
    st->slots = dq_calloc(st->cap, sizeof *st->slots);
    st->entries = dq_calloc(st->max_keys, sizeof *st->entries);
    st->changed = dq_calloc(st->max_keys, sizeof *st->changed);
    st->key_arena = dq_malloc(st->max_keys * key_max);
    st->num_arena = nnum ? dq_calloc(st->max_keys * nnum, sizeof *st->num_arena) : NULL;
    st->win_arena = nwin ? dq_calloc(st->max_keys * nwin, sizeof *st->win_arena) : NULL;
    if (!st->slots || !st->entries || !st->changed || !st->key_arena || (nnum && !st->num_arena) || (nwin && !st->win_arena)) {
        dq_state_reset(st);
        return DQ_ERR_NOMEM;
    }
    st->n_num = nnum;
    st->n_win = nwin;
    return DQ_OK;
}

void dq_state_reset(dq_state *st)
{
    dq_free(st->slots);
    dq_free(st->entries);
    dq_free(st->changed);
    dq_free(st->key_arena);
    dq_free(st->num_arena);
    dq_free(st->win_arena);
    memset(st, 0, sizeof *st);
}

dq_keystate *dq_state_get(dq_state *st, const char *key, size_t len, bool insert)
{
    if (len > st->key_max)
        return NULL;
    size_t mask = st->cap - 1;
    for (size_t i = hash_key(key, len) & mask;; i = (i + 1) & mask) {
        dq_keystate *ks = &st->slots[i];
        if (!ks->used) {
            if (!insert || st->used == st->max_keys)
                return NULL;
            size_t idx = st->used++;
            st->entries[idx] = ks;
            ks->used = true;
            ks->key = st->key_arena + idx * st->key_max;
            memcpy(ks->key, key, len);
            ks->key_len = (uint16_t)len;
            ks->num = st->num_arena ? st->num_arena + idx * st->n_num : NULL;
            ks->windows = st->win_arena ? st->win_arena + idx * st->n_win : NULL;
            return ks;
        }
        if (ks->key_len == len && memcmp(ks->key, key, len) == 0)
            return ks;
    }
}

void dq_state_clear(dq_state *st)
{
    memset(st->slots, 0, st->cap * sizeof *st->slots);
    if (st->num_arena)
        memset(st->num_arena, 0, st->max_keys * st->n_num * sizeof *st->num_arena);
    if (st->win_arena)
        memset(st->win_arena, 0, st->max_keys * st->n_win * sizeof *st->win_arena);
    st->used = 0;
    st->n_changed = 0;
}

#define STATE_VERSION 3
#define STATE_VERSION_OLDEST 2
/* Header, then per numeric field at most 1 + 1 + 40 (text) + 8 + 4 + 1 + 8 + 8 + 4 + 8 + 1 + 4 bytes. */
_Static_assert(5 + 8 + 8 * DQ_DUP_RING + 5 + DQ_MAX_FIELDS * 88 <= DQ_STATE_MAX_BYTES, "DQ_STATE_MAX_BYTES too small");

static uint64_t double_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static uint32_t float_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static unsigned char *put_u(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

size_t dq_state_save(const dq_state *st, const dq_keystate *ks, unsigned char *out)
{
    unsigned char *p = out;
    *p++ = STATE_VERSION;
    *p++ = (unsigned char)st->n_num;
    *p++ = ks->has_time;
    *p++ = ks->recent_n;
    *p++ = ks->recent_next;
    p = put_u(p, (uint64_t)ks->newest_ms, 8);
    for (int i = 0; i < DQ_DUP_RING; i++)
        p = put_u(p, (uint64_t)ks->recent_ms[i], 8);
    *p++ = ks->cadence_n;
    p = put_u(p, float_bits(ks->cadence_ms), 4);
    for (size_t f = 0; f < st->n_num; f++) {
        const dq_numstate *ns = &ks->num[f];
        char text[40];
        dq_buf b;
        dq_buf_init(&b, text, sizeof text);
        if (ns->has_last)
            dq_num_write(&b, &ns->last);
        *p++ = ns->has_last && !b.overflow;
        *p++ = (unsigned char)(b.overflow ? 0 : b.len);
        if (!b.overflow) {
            memcpy(p, text, b.len);
            p += b.len;
        }
        p = put_u(p, (uint64_t)ns->last_ms, 8);
        p = put_u(p, ns->same_run, 4);
        *p++ = ns->spike_run;
        p = put_u(p, double_bits(ns->ew_mean), 8);
        p = put_u(p, double_bits(ns->ew_var), 8);
        p = put_u(p, ns->ew_n, 4);
        p = put_u(p, (uint64_t)ns->since_ms, 8);
        *p++ = ns->change_n;
        p = put_u(p, float_bits(ns->change_dev), 4);
    }
    return (size_t)(p - out);
}

typedef struct reader {
    const unsigned char *p, *end;
    bool bad;
} reader;

static uint64_t get_u(reader *r, int bytes)
{
    uint64_t v = 0;
    if (r->end - r->p < bytes) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    return v;
}

/* An event time the rules can do arithmetic on: what the parsers accept. */
static int64_t get_time(reader *r)
{
    int64_t t = (int64_t)get_u(r, 8);
    if (t < DQ_TIME_MIN_MS || t > DQ_TIME_MAX_MS)
        r->bad = true;
    return t;
}

/* A float learned online: finite, positive (or 0 while nothing is learned). */
static float get_rate(reader *r)
{
    uint32_t u = (uint32_t)get_u(r, 4);
    float v;
    memcpy(&v, &u, sizeof v);
    if (!isfinite(v) || v < 0)
        r->bad = true;
    return v;
}

dq_err dq_state_load(const dq_state *st, dq_keystate *ks, const unsigned char *in, size_t len)
{
    reader r = {in, in + len, false};
    dq_keystate k = {0};
    dq_numstate num[DQ_MAX_FIELDS];
    uint64_t version = get_u(&r, 1);
    if (version < STATE_VERSION_OLDEST || version > STATE_VERSION || get_u(&r, 1) != st->n_num)
        return DQ_ERR_STATE;
    uint64_t has_time = get_u(&r, 1), recent_n = get_u(&r, 1), recent_next = get_u(&r, 1);
    if (has_time > 1 || recent_n > DQ_DUP_RING || recent_next >= DQ_DUP_RING)
        return DQ_ERR_STATE;
    k.has_time = has_time;
    k.recent_n = (uint8_t)recent_n;
    k.recent_next = (uint8_t)recent_next;
    k.newest_ms = get_time(&r);
    for (int i = 0; i < DQ_DUP_RING; i++)
        k.recent_ms[i] = get_time(&r);
    if (version >= 3) {
        uint64_t cadence_n = get_u(&r, 1);
        k.cadence_ms = get_rate(&r);
        if (cadence_n > DQ_CADENCE_WARMUP || (cadence_n > 0) != (k.cadence_ms > 0))
            return DQ_ERR_STATE;
        k.cadence_n = (uint8_t)cadence_n;
    }
    for (size_t f = 0; f < st->n_num && !r.bad; f++) {
        dq_numstate *ns = &num[f];
        uint64_t has_last = get_u(&r, 1), n = get_u(&r, 1);
        if (has_last > 1 || (size_t)(r.end - r.p) < n || (has_last && dq_num_parse((const char *)r.p, n, &ns->last) != DQ_NUM_OK))
            return DQ_ERR_STATE;
        if (!has_last)
            ns->last = (dq_num){0};
        r.p += n;
        ns->has_last = has_last;
        ns->last_ms = get_time(&r);
        ns->same_run = (uint32_t)get_u(&r, 4);
        ns->spike_run = (uint8_t)get_u(&r, 1);
        uint64_t mean = get_u(&r, 8), var = get_u(&r, 8);
        memcpy(&ns->ew_mean, &mean, sizeof mean);
        memcpy(&ns->ew_var, &var, sizeof var);
        ns->ew_n = (uint32_t)get_u(&r, 4);
        if (!isfinite(ns->ew_mean) || !isfinite(ns->ew_var) || ns->ew_var < 0)
            return DQ_ERR_STATE;
        ns->since_ms = ns->last_ms;
        ns->change_n = 0;
        ns->change_dev = 0;
        if (version >= 3) {
            ns->since_ms = get_time(&r);
            uint64_t change_n = get_u(&r, 1);
            ns->change_dev = get_rate(&r);
            if (change_n > DQ_SPIKE_WARMUP || ns->since_ms > ns->last_ms)
                return DQ_ERR_STATE;
            ns->change_n = (uint8_t)change_n;
        }
    }
    if (r.bad || r.p != r.end)
        return DQ_ERR_STATE;
    k.num = ks->num;
    *ks = k;
    if (st->n_num)
        memcpy(ks->num, num, st->n_num * sizeof *num);
    return DQ_OK;
}
