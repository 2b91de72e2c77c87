/*
 * state.c - the per-key state table.
 *
 * Open addressing with linear probing over a power-of-two array of at least twice
 * contract.limits.maxKeys slots, so probes stay short. Everything (slots, key
 * bytes, numeric state, window accumulators) is allocated once in dq_state_init;
 * lookups and inserts never allocate. Keys are never removed: a stream's key set
 * (sensor ids) is small and long-lived; when the table is full new keys are
 * evaluated without state and counted in dq_totals.state_overflow.
 */
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
    st->key_arena = dq_malloc(st->max_keys * key_max);
    st->num_arena = nnum ? dq_calloc(st->max_keys * nnum, sizeof *st->num_arena) : NULL;
    st->win_arena = nwin ? dq_calloc(st->max_keys * nwin, sizeof *st->win_arena) : NULL;
    if (!st->slots || !st->entries || !st->key_arena || (nnum && !st->num_arena) || (nwin && !st->win_arena)) {
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
