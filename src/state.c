/*
 * state.c - the per-key state table.
 *
 * Records of fixed size (a header, the numeric fields' state, the open windows' counts) in one
 * array, found through an index of record numbers (open addressing, linear probing, at most 3/4
 * full). Both grow by doubling as keys arrive, up to contract.limits.maxKeys keys, so memory
 * follows the fleet, not the limit. Lookups never allocate; inserts allocate when an array
 * doubles, and for a key longer than DQ_KEY_INLINE bytes. The records form a list in the
 * order keys were last seen: when the table is full, a new key takes the record of the least
 * recently seen one, which is forgotten (counted in evicted) - unless that key has counts in
 * an open metrics window, whose row is not written yet: then every key has been seen in the
 * open window, nothing is forgotten, and the new key is judged without state (the caller
 * counts state_overflow). Everything can be forgotten at once (dq_state_clear), e.g. when a
 * stream's partitions move. Keys seen since the last dq_state_changes lead the list, so the
 * changed ones are found without a list of their own.
 *
 * A key's reason counts in an open window keep their low 8 bits in its record; the rest (a
 * key with more than 255 findings of one reason in one window) live apart, in a table per
 * window of (key, reason) pairs that grows (and allocates) only while a window sees more such
 * pairs than any before, and is emptied when its window closes.
 *
 * Saved state (dq_state_save/load) is a small versioned byte string per key:
 *   u8 version, u8 numeric fields, u8 has_time, u8 recent_n, u8 recent_next,
 *   i64 newest_ms, i64 recent_ms[DQ_DUP_RING],
 *   per numeric field: u8 has_last, u8 n + n bytes of the value as JSON number
 *   text, i64 last_ms, u32 same_run, u8 spike_run, f64 ew_mean, f64 ew_var,
 *   u32 ew_n,
 * and since version 3: u8 cadence_n, f32 cadence_ms after recent_ms; i64 since_ms, u8
 * change_n, f32 change_dev at the end of each numeric field; since version 4: u8 noisy, u16
 * recent (the recent change in 1/256ths of the typical one) after them; since version 5: f32
 * z_flag (the online detector's flag threshold under a false-alarm budget, 0 before any) after
 * cadence_ms, and u8 spike_level (bit 0: the spike run's jumps upwards, bits 1-3 their size,
 * bit 4: the bias step is latent) after spike_run, f32 bias_step (the step of a bias not yet
 * undone, 0: none) and i64 bias_ms (when it stepped) at the end of each numeric field; since
 * version 6: u8 profiles after the numeric fields, then per drift-checked field its daily
 * profile: i64 start_ms (0: none), f32 level[24], u16 n[24], f32 departure, f32 dev, u32
 * drift_age, u8 dev_n, u8 drifting.
 * Version 2 state still loads: the sensor then learns its cadence and typical changes again (a
 * warm-up); version 3 state starts with the recent change equal to the typical one, not
 * noisy; version 4 state with the flag threshold at the contract's and no bias; version 5
 * state without a profile (the drift rule learns it again: a day).
 * Integers are little-endian, floats and doubles their IEEE-754 bits as little-endian u32/u64.
 * Values travel as text so loading goes through the number parser and yields a
 * dq_num with its invariants, whatever the bytes; the running mean and variance
 * must be finite (and the variance not negative). Counters wider in the bytes than in memory
 * saturate when loaded.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "dq_int.h"

/* A key's hash, eight bytes at a time (a sensor id is a word or two), the last word
 * overlapping the one before it; then murmur3's finalizer, as the index's slot is its low
 * bits. Byte order changes the values, not the spread: hashes are never saved. */
static uint64_t hash_key(const char *s, size_t n)
{
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t h = n * k, w = 0;
    size_t i = 0;
    for (; i + 8 < n; i += 8) {
        memcpy(&w, s + i, 8);
        h = (h ^ w) * k;
    }
    if (n >= 8) {
        memcpy(&w, s + n - 8, 8);
    } else {
        for (size_t j = 0; j < n; j++)
            w = w << 8 | (unsigned char)s[j];
    }
    h ^= w;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 33);
}

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

dq_err dq_state_init(dq_state *st, const dq_contract *ctr, size_t key_max)
{
    memset(st, 0, sizeof *st);
    st->max_keys = (size_t)ctr->max_keys;
    st->key_max = key_max;
    st->n_num = (size_t)ctr->n_num_slots;
    st->n_profile = (size_t)ctr->n_profile_slots;
    st->n_win = (size_t)ctr->n_windows;
    st->num_offset = round8(sizeof(dq_keystate));
    st->profile_offset = round8(st->num_offset + st->n_num * sizeof(dq_numstate));
    st->win_offset = st->profile_offset + st->n_profile * sizeof(dq_profile);
    st->record_size = round8(st->win_offset + st->n_win * sizeof(dq_key_window));
    st->mru = st->lru = DQ_NO_RECORD;
    st->cap = 16;
    st->index = dq_calloc(st->cap, sizeof *st->index);
    return st->index ? DQ_OK : DQ_ERR_NOMEM;
}

/* Room for one more record, and an index at most 3/4 full after it: grown by doubling, up to
 * max_keys records (realloc of a large block remaps pages rather than copying them). */
static bool make_room(dq_state *st)
{
    if (st->used == st->rec_cap) {
        size_t cap = st->rec_cap ? 2 * st->rec_cap : 64;
        cap = cap < st->max_keys ? cap : st->max_keys;
        char *records = dq_realloc(st->records, cap * st->record_size);
        if (!records)
            return false;
        st->records = records;
        st->rec_cap = cap;
    }
    if (4 * (st->used + 1) <= 3 * st->cap)
        return true;
    size_t cap = 2 * st->cap, mask = cap - 1;
    uint32_t *index = dq_calloc(cap, sizeof *index);
    if (!index)
        return false;
    for (size_t no = 0; no < st->used; no++) {
        const dq_keystate *ks = dq_state_record(st, no);
        size_t i = hash_key(dq_key_bytes(ks), ks->key_len) & mask;
        while (index[i])
            i = (i + 1) & mask;
        index[i] = (uint32_t)no + 1;
    }
    dq_free(st->index);
    st->index = index;
    st->cap = cap;
    return true;
}

static void free_keys(dq_state *st)
{
    for (size_t i = 0; i < st->used; i++) {
        dq_keystate *ks = dq_state_record(st, i);
        if (ks->key_len > DQ_KEY_INLINE)
            dq_free(ks->key.heap);
    }
}

void dq_state_reset(dq_state *st)
{
    if (st->records)
        free_keys(st);
    dq_free(st->index);
    dq_free(st->records);
    for (int w = 0; w < DQ_MAX_WINDOWS; w++)
        dq_free(st->reasons[w].slots);
    memset(st, 0, sizeof *st);
}

void dq_state_clear(dq_state *st)
{
    free_keys(st);
    memset(st->index, 0, st->cap * sizeof *st->index);
    for (size_t w = 0; w < st->n_win; w++)
        dq_reason_clear(&st->reasons[w]);
    st->used = 0;
    st->mru = st->lru = DQ_NO_RECORD;
}

/* ---------------------------------------------------------------- recency list */

static void unlink_record(dq_state *st, dq_keystate *ks)
{
    if (ks->lru_prev != DQ_NO_RECORD)
        dq_state_record(st, ks->lru_prev)->lru_next = ks->lru_next;
    else
        st->mru = ks->lru_next;
    if (ks->lru_next != DQ_NO_RECORD)
        dq_state_record(st, ks->lru_next)->lru_prev = ks->lru_prev;
    else
        st->lru = ks->lru_prev;
}

static void push_front(dq_state *st, dq_keystate *ks, uint32_t no)
{
    ks->lru_prev = DQ_NO_RECORD;
    ks->lru_next = st->mru;
    if (st->mru != DQ_NO_RECORD)
        dq_state_record(st, st->mru)->lru_prev = no;
    else
        st->lru = no;
    st->mru = no;
    ks->seen = true;
}

/* ---------------------------------------------------------------- index */

/* The index slot that holds record no (whose key is key[0..len)). */
static size_t slot_of(const dq_state *st, const char *key, size_t len, uint32_t no)
{
    size_t mask = st->cap - 1, i = hash_key(key, len) & mask;
    while (st->index[i] != no + 1)
        i = (i + 1) & mask;
    return i;
}

/* Empties slot i and moves later slots of its probe run back, so that no lookup stops early. */
static void index_remove(dq_state *st, size_t i)
{
    size_t mask = st->cap - 1;
    for (size_t j = (i + 1) & mask; st->index[j]; j = (j + 1) & mask) {
        const dq_keystate *ks = dq_state_record(st, st->index[j] - 1);
        size_t home = hash_key(dq_key_bytes(ks), ks->key_len) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) { /* home is not in (i, j]: j may move to i */
            st->index[i] = st->index[j];
            i = j;
        }
    }
    st->index[i] = 0;
}

/* The least recently seen key's record, emptied, or NULL when that key has open window counts. */
static dq_keystate *evict(dq_state *st)
{
    dq_keystate *ks = dq_state_record(st, st->lru);
    const dq_key_window *win = dq_key_windows(st, ks);
    for (size_t w = 0; w < st->n_win; w++)
        if (win[w].events)
            return NULL;
    index_remove(st, slot_of(st, dq_key_bytes(ks), ks->key_len, st->lru));
    unlink_record(st, ks);
    if (ks->key_len > DQ_KEY_INLINE)
        dq_free(ks->key.heap);
    memset(ks, 0, st->record_size);
    st->evicted++;
    return ks;
}

dq_keystate *dq_state_get(dq_state *st, const char *key, size_t len)
{
    if (len > st->key_max || st->max_keys == 0)
        return NULL;
    uint64_t h = hash_key(key, len); /* also where a new key goes, once there is room */
    size_t mask = st->cap - 1, i = h & mask;
    for (; st->index[i]; i = (i + 1) & mask) {
        uint32_t no = st->index[i] - 1;
        dq_keystate *ks = dq_state_record(st, no);
        if (ks->key_len == len && dq_same_bytes(dq_key_bytes(ks), key, len)) {
            if (st->mru != no) {
                unlink_record(st, ks);
                push_front(st, ks, no);
            }
            ks->seen = true;
            return ks;
        }
    }
    char *heap = NULL;
    if (len > DQ_KEY_INLINE && !(heap = dq_strndup(key, len)))
        return NULL;
    bool room = st->used < st->max_keys;
    if (room && !make_room(st)) {
        dq_free(heap);
        return NULL;
    }
    dq_keystate *ks = room ? dq_state_record(st, st->used) : evict(st);
    if (!ks) {
        dq_free(heap);
        return NULL;
    }
    if (room) {
        st->used++;
        memset(ks, 0, st->record_size);
    }
    /* The index may have grown, or the eviction emptied a slot before i on this key's run. */
    mask = st->cap - 1;
    for (i = h & mask; st->index[i]; i = (i + 1) & mask)
        ;
    uint32_t no = dq_state_record_no(st, ks);
    st->index[i] = no + 1;
    if (heap)
        ks->key.heap = heap;
    else
        memcpy(ks->key.inline_bytes, key, len);
    ks->key_len = (uint16_t)len;
    push_front(st, ks, no);
    return ks;
}

/* ---------------------------------------------------------------- window reason counts */

/* The key of a (record, reason) pair in the table: never 0, which marks an empty slot. */
static uint64_t reason_tag(size_t record, int reason)
{
    return (uint64_t)record * 32 + (uint64_t)reason + 1;
}

static size_t reason_home(const dq_reason_table *t, uint64_t tag)
{
    return (size_t)((tag * 0x9E3779B97F4A7C15ull) >> 32) & (t->cap - 1);
}

static bool reason_grow(dq_reason_table *t)
{
    size_t cap = t->cap ? 2 * t->cap : 1024;
    uint64_t *slots = dq_calloc(cap, sizeof *slots), *old = t->slots;
    if (!slots)
        return false;
    size_t old_cap = t->cap;
    t->slots = slots;
    t->cap = cap;
    for (size_t k = 0; k < old_cap; k++) {
        if (!old[k])
            continue;
        size_t i = reason_home(t, old[k] >> 32);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = old[k];
    }
    dq_free(old);
    return true;
}

bool dq_reason_add(dq_reason_table *t, size_t record, int reason, uint32_t n)
{
    /* Out of memory, the table still takes pairs while it has a free slot besides the last. */
    if (4 * (t->used + 1) > 3 * t->cap && !reason_grow(t) && t->used + 2 > t->cap)
        return false;
    uint64_t tag = reason_tag(record, reason);
    size_t i = reason_home(t, tag);
    for (; t->slots[i]; i = (i + 1) & (t->cap - 1))
        if (t->slots[i] >> 32 == tag) {
            uint32_t count = (uint32_t)t->slots[i];
            t->slots[i] += count <= UINT32_MAX - n ? n : UINT32_MAX - count; /* saturates */
            return true;
        }
    t->slots[i] = tag << 32 | n;
    t->used++;
    return true;
}

uint32_t dq_reason_get(const dq_reason_table *t, size_t record, int reason)
{
    uint64_t tag = reason_tag(record, reason);
    if (!t->used)
        return 0;
    for (size_t i = reason_home(t, tag); t->slots[i]; i = (i + 1) & (t->cap - 1))
        if (t->slots[i] >> 32 == tag)
            return (uint32_t)t->slots[i];
    return 0;
}

void dq_reason_clear(dq_reason_table *t)
{
    if (t->used)
        memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->used = 0;
}

/* ---------------------------------------------------------------- saved state */

#define STATE_VERSION 6
#define STATE_VERSION_OLDEST 2
#define PROFILE_BYTES (8 + 6 * DQ_PROFILE_BINS + 4 + 4 + 4 + 1 + 1)
/* Header, then per numeric field at most 1 + 1 + 40 (text) + 8 + 4 + 2 + 8 + 8 + 4 + 8 + 1 + 4 + 1 + 2 + 4 + 8
 * bytes, then the profiles. */
_Static_assert(5 + 8 + 8 * DQ_DUP_RING + 9 + DQ_MAX_FIELDS * 104 + 1 + DQ_MAX_PROFILES * PROFILE_BYTES <=
                   DQ_STATE_MAX_BYTES,
               "DQ_STATE_MAX_BYTES too small");

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

/* The event time age ms before t, or the earliest time libdq accepts. */
static int64_t time_before(int64_t t, uint32_t age)
{
    return t - (int64_t)age < DQ_TIME_MIN_MS ? DQ_TIME_MIN_MS : t - (int64_t)age;
}

size_t dq_state_save(const dq_state *st, const dq_keystate *ks, unsigned char *out)
{
    const dq_keytime *tm = &ks->tm;
    unsigned char *p = out;
    *p++ = STATE_VERSION;
    *p++ = (unsigned char)st->n_num;
    *p++ = tm->has_time;
    *p++ = tm->recent_n;
    *p++ = tm->recent_next;
    p = put_u(p, (uint64_t)tm->newest_ms, 8);
    for (int i = 0; i < DQ_DUP_RING; i++) /* a saturated age: as old as a u32 age can say */
        p = put_u(p, (uint64_t)time_before(tm->newest_ms, tm->recent_age[i]), 8);
    *p++ = tm->cadence_n;
    p = put_u(p, float_bits(tm->cadence_ms), 4);
    p = put_u(p, float_bits(ks->z_flag), 4);
    const dq_numstate *num = dq_key_num(st, ks);
    for (size_t f = 0; f < st->n_num; f++) {
        const dq_numstate *ns = &num[f];
        char text[40];
        dq_buf b;
        dq_buf_init(&b, text, sizeof text);
        dq_num last = dq_num_from_double(ns->last_v);
        if (ns->has_last)
            dq_num_write(&b, &last);
        *p++ = ns->has_last && !b.overflow;
        *p++ = (unsigned char)(b.overflow ? 0 : b.len);
        if (!b.overflow) {
            memcpy(p, text, b.len);
            p += b.len;
        }
        int64_t last_ms = time_before(tm->newest_ms, ns->last_age); /* dq_last_ms, within the times a state holds */
        p = put_u(p, (uint64_t)last_ms, 8);
        p = put_u(p, ns->same_run, 4);
        *p++ = ns->spike_run;
        *p++ = (unsigned char)(ns->run_up | ns->run_size << 1 | ns->bias_latent << 4);
        p = put_u(p, double_bits(ns->ew_mean), 8);
        p = put_u(p, double_bits(ns->ew_var), 8);
        p = put_u(p, ns->ew_n, 4);
        p = put_u(p, (uint64_t)time_before(last_ms, ns->since_age), 8);
        *p++ = ns->change_n;
        p = put_u(p, float_bits(ns->change_dev), 4);
        *p++ = ns->noisy;
        p = put_u(p, ns->recent, 2);
        p = put_u(p, float_bits(ns->bias_step), 4);
        p = put_u(p, (uint64_t)time_before(last_ms, ns->bias_age), 8);
    }
    *p++ = (unsigned char)st->n_profile;
    const dq_profile *prof = dq_key_profiles(st, ks);
    for (size_t f = 0; f < st->n_profile; f++) {
        const dq_profile *pf = &prof[f];
        p = put_u(p, (uint64_t)pf->start_ms, 8);
        for (int b = 0; b < DQ_PROFILE_BINS; b++)
            p = put_u(p, float_bits(pf->level[b]), 4);
        for (int b = 0; b < DQ_PROFILE_BINS; b++)
            p = put_u(p, pf->n[b], 2);
        p = put_u(p, float_bits(pf->departure), 4);
        p = put_u(p, float_bits(pf->dev), 4);
        p = put_u(p, pf->drift_age, 4);
        *p++ = (unsigned char)pf->dev_n;
        *p++ = pf->drifting;
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
    if (t < DQ_TIME_MIN_MS || t > DQ_TIME_MAX_MS) {
        r->bad = true;
        return 0; /* so that the checks that follow can subtract times */
    }
    return t;
}

/* A float learned online: finite, positive (or 0 while nothing is learned; never -0, which
 * divides into -inf). */
static float get_rate(reader *r)
{
    uint32_t u = (uint32_t)get_u(r, 4);
    float v;
    memcpy(&v, &u, sizeof v);
    if (!isfinite(v) || signbit(v))
        r->bad = true;
    return v;
}

static float get_float(reader *r)
{
    uint32_t u = (uint32_t)get_u(r, 4);
    float v;
    memcpy(&v, &u, sizeof v);
    if (!isfinite(v))
        r->bad = true;
    return v;
}

/* A daily profile (version 6 on): its start no later than the key's newest time. */
static void get_profile(reader *r, const dq_keytime *tm, dq_profile *pf)
{
    memset(pf, 0, sizeof *pf);
    pf->start_ms = (int64_t)get_u(r, 8);
    if (pf->start_ms != 0 && (pf->start_ms < DQ_TIME_MIN_MS || !tm->has_time || pf->start_ms > tm->newest_ms))
        r->bad = true;
    for (int b = 0; b < DQ_PROFILE_BINS; b++)
        pf->level[b] = get_float(r);
    for (int b = 0; b < DQ_PROFILE_BINS; b++)
        pf->n[b] = (uint16_t)get_u(r, 2);
    pf->departure = get_float(r);
    pf->dev = get_rate(r);
    pf->drift_age = (uint32_t)get_u(r, 4);
    uint64_t dev_n = get_u(r, 1), drifting = get_u(r, 1);
    if (dev_n > DQ_DRIFT_WARMUP || drifting > 1)
        r->bad = true;
    pf->dev_n = (uint16_t)dev_n;
    pf->drifting = (uint8_t)drifting;
}

static uint16_t saturate16(uint64_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

/* Decodes saved-state bytes into tm, z_flag, num[0..n_num) and prof[0..n_profile) (before
 * version 6: none learned yet): DQ_OK or DQ_ERR_STATE. */
static dq_err decode(const dq_state *st, dq_keytime *tm, float *z_flag, dq_numstate *num, dq_profile *prof,
                     const unsigned char *in, size_t len)
{
    memset(prof, 0, st->n_profile * sizeof *prof);
    reader r = {in, in + len, false};
    memset(tm, 0, sizeof *tm);
    *z_flag = 0;
    uint64_t version = get_u(&r, 1);
    if (version < STATE_VERSION_OLDEST || version > STATE_VERSION || get_u(&r, 1) != st->n_num)
        return DQ_ERR_STATE;
    uint64_t has_time = get_u(&r, 1), recent_n = get_u(&r, 1), recent_next = get_u(&r, 1);
    if (has_time > 1 || recent_n > DQ_DUP_RING || recent_next >= DQ_DUP_RING)
        return DQ_ERR_STATE;
    tm->has_time = has_time;
    tm->recent_n = (uint8_t)recent_n;
    tm->recent_next = (uint8_t)recent_next;
    tm->newest_ms = get_time(&r);
    for (int i = 0; i < DQ_DUP_RING; i++) { /* in use: the first recent_n; none newer than the newest */
        int64_t t = get_time(&r);
        if (i < tm->recent_n && t > tm->newest_ms)
            r.bad = true;
        tm->recent_age[i] = t <= tm->newest_ms ? dq_age_add(0, tm->newest_ms - t) : 0;
    }
    if (version >= 3) {
        uint64_t cadence_n = get_u(&r, 1);
        tm->cadence_ms = get_rate(&r);
        if (cadence_n > DQ_CADENCE_WARMUP || (cadence_n > 0) != (tm->cadence_ms > 0))
            return DQ_ERR_STATE;
        tm->cadence_n = (uint8_t)cadence_n;
    }
    if (version >= 5) {
        *z_flag = get_rate(&r);
        if (*z_flag != 0 && !(*z_flag >= DQ_FLAG_MIN && *z_flag <= DQ_FLAG_MAX))
            return DQ_ERR_STATE;
    }
    for (size_t f = 0; f < st->n_num && !r.bad; f++) {
        dq_numstate *ns = &num[f];
        dq_num last = {0};
        memset(ns, 0, sizeof *ns);
        uint64_t has_last = get_u(&r, 1), n = get_u(&r, 1);
        if (has_last > 1 || (size_t)(r.end - r.p) < n || (has_last && dq_num_parse((const char *)r.p, n, &last) != DQ_NUM_OK))
            return DQ_ERR_STATE;
        r.p += n;
        ns->last_v = last.v;
        ns->has_last = has_last;
        int64_t last_ms = get_time(&r);
        if (has_last && (!tm->has_time || last_ms > tm->newest_ms)) /* no field is newer than its key */
            return DQ_ERR_STATE;
        ns->last_age = has_last ? dq_age_add(0, tm->newest_ms - last_ms) : 0;
        ns->same_run = saturate16(get_u(&r, 4));
        uint64_t spike_run = get_u(&r, 1), spike_level = version >= 5 ? get_u(&r, 1) : 0;
        if (spike_level >> 5)
            return DQ_ERR_STATE;
        ns->run_up = spike_level & 1;
        ns->run_size = spike_level >> 1 & 7;
        ns->bias_latent = spike_level >> 4 & 1;
        uint64_t mean = get_u(&r, 8), var_bits = get_u(&r, 8);
        double var;
        memcpy(&ns->ew_mean, &mean, sizeof mean);
        memcpy(&var, &var_bits, sizeof var);
        if (!(var >= 0 && var < FLT_MAX)) /* also NaN */
            return DQ_ERR_STATE;
        ns->ew_var = (float)var;
        ns->ew_n = saturate16(get_u(&r, 4));
        if (spike_run >= DQ_SPIKE_ACCEPT || !isfinite(ns->ew_mean))
            return DQ_ERR_STATE;
        ns->spike_run = (uint8_t)spike_run;
        if (version >= 3) {
            int64_t since_ms = get_time(&r);
            uint64_t change_n = get_u(&r, 1);
            ns->change_dev = get_rate(&r);
            if (change_n > DQ_CHANGE_WARMUP || (version < 4 && change_n > DQ_SPIKE_WARMUP) || since_ms > last_ms)
                return DQ_ERR_STATE;
            ns->since_age = dq_age_add(0, last_ms - since_ms);
            ns->change_n = (uint8_t)change_n;
            ns->recent = DQ_RECENT_ONE;
        }
        if (version >= 4) {
            uint64_t noisy = get_u(&r, 1);
            ns->recent = (uint16_t)get_u(&r, 2);
            if (noisy > 1)
                return DQ_ERR_STATE;
            ns->noisy = noisy;
        }
        if (version >= 5) {
            uint32_t step = (uint32_t)get_u(&r, 4);
            memcpy(&ns->bias_step, &step, sizeof step);
            int64_t bias_ms = get_time(&r);
            if (!isfinite(ns->bias_step) || bias_ms > last_ms)
                return DQ_ERR_STATE;
            ns->bias_age = dq_age_add(0, last_ms - bias_ms);
        }
    }
    if (version >= 6 && !r.bad) {
        if (get_u(&r, 1) != st->n_profile)
            return DQ_ERR_STATE;
        for (size_t f = 0; f < st->n_profile && !r.bad; f++)
            get_profile(&r, tm, &prof[f]);
    }
    return r.bad || r.p != r.end ? DQ_ERR_STATE : DQ_OK;
}

dq_err dq_state_restore(dq_state *st, const char *key, size_t len, const unsigned char *in, size_t n)
{
    dq_keytime tm;
    float z_flag;
    dq_numstate num[DQ_MAX_FIELDS];
    dq_profile prof[DQ_MAX_PROFILES];
    dq_err err = decode(st, &tm, &z_flag, num, prof, in, n);
    if (err)
        return err; /* decoded first, so refused bytes do not even add the key */
    dq_keystate *ks = dq_state_get(st, key, len);
    if (!ks)
        return DQ_ERR_SPACE;
    ks->tm = tm;
    ks->z_flag = z_flag;
    if (st->n_num)
        memcpy(dq_key_num(st, ks), num, st->n_num * sizeof *num);
    if (st->n_profile)
        memcpy(dq_key_profiles(st, ks), prof, st->n_profile * sizeof *prof);
    return DQ_OK;
}

void dq_state_changes(dq_state *st, dq_state_cb cb, void *opaque)
{
    unsigned char bytes[DQ_STATE_MAX_BYTES];
    for (uint32_t no = st->mru; no != DQ_NO_RECORD;) {
        dq_keystate *ks = dq_state_record(st, no);
        if (!ks->seen)
            break; /* the rest were not seen since the last call */
        ks->seen = false;
        no = ks->lru_next;
        if (ks->changed) {
            ks->changed = false;
            cb(dq_key_bytes(ks), ks->key_len, bytes, dq_state_save(st, ks, bytes), opaque);
        }
    }
}
