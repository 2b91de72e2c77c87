/*
 * pattern.c - the regular-expression subset used by contract `pattern`s.
 *
 * Why not <regex.h>: POSIX regexec costs about as much as the whole rest of an
 * event's evaluation (bench/README.md has the numbers), and sensor-id style
 * patterns need only a sequence of byte classes with repetition. Supported:
 *   literals, `.`, `[a-z0-9_]`, `[^...]`, `\d \w \s \D \W \S`, `\` + punctuation,
 *   quantifiers `* + ? {m} {m,} {m,n}`, `^` at the start and `$` at the end.
 * Not supported (rejected at load with the position): groups, alternation,
 * backreferences, lookaround. Classes are byte classes (ASCII semantics).
 * Matching is linear in the string's length whatever the pattern: with no groups, a
 * pattern is a sequence of repeated byte classes, so the set of positions where the
 * first k nodes can end determines the next node's, one sweep per node (at most
 * DQ_PAT_MAX sweeps of the string). A backtracking matcher, as this file had, takes
 * exponential time on nested quantifiers (^\w*\w*...$ on a long field): the gate would
 * spend seconds on one event. A leading literal ("sensor_") is compared at once.
 */
#include <stdio.h>
#include <string.h>

#include "dq_int.h"

#define DQ_PAT_MAX 64
#define DQ_PAT_INF 0xFFFF

typedef struct pat_node {
    uint8_t set[32]; /* byte class bitmap */
    uint16_t min, max;
} pat_node;

struct dq_pattern {
    pat_node node[DQ_PAT_MAX];
    int n;
    bool anchor_start, anchor_end;
    char prefix[DQ_PAT_MAX]; /* leading single-byte literals, compared at once */
    int n_prefix;
};

static void set_add(uint8_t *set, unsigned c) { set[c >> 3] |= (uint8_t)(1u << (c & 7)); }
static bool set_has(const uint8_t *set, unsigned c) { return set[c >> 3] & (1u << (c & 7)); }

static void set_range(uint8_t *set, unsigned lo, unsigned hi)
{
    for (unsigned c = lo; c <= hi; c++)
        set_add(set, c);
}

/* Adds the class of escape letter e (d, w, s and their negations); false if none. */
static bool set_escape_class(uint8_t *set, char e)
{
    uint8_t tmp[32] = {0};
    switch (e | 0x20) {
    case 'd': set_range(tmp, '0', '9'); break;
    case 'w': set_range(tmp, '0', '9'); set_range(tmp, 'a', 'z'); set_range(tmp, 'A', 'Z'); set_add(tmp, '_'); break;
    case 's': set_add(tmp, ' '); set_range(tmp, '\t', '\r'); break;
    default: return false;
    }
    bool neg = e >= 'A' && e <= 'Z';
    for (int i = 0; i < 32; i++)
        set[i] |= neg ? (uint8_t)~tmp[i] : tmp[i];
    return true;
}

static int read_uint(const char *re, size_t *i)
{
    int v = -1;
    while (re[*i] >= '0' && re[*i] <= '9') {
        v = (v < 0 ? 0 : v) * 10 + (re[*i] - '0');
        if (v > 10000)
            return -2;
        (*i)++;
    }
    return v;
}

dq_pattern *dq_pattern_compile(const char *re, dq_error *err)
{
    dq_pattern *pat = dq_calloc(1, sizeof *pat);
    if (!pat) {
        dq_error_set(err, DQ_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    size_t i = 0, len = strlen(re);
    const char *why = NULL;
    if (re[0] == '^') {
        pat->anchor_start = true;
        i++;
    }
    while (i < len && !why) {
        char c = re[i];
        if (c == '$' && i == len - 1) {
            pat->anchor_end = true;
            i++;
            break;
        }
        if (pat->n == DQ_PAT_MAX) {
            why = "pattern too long";
            break;
        }
        pat_node *nd = &pat->node[pat->n];
        memset(nd, 0, sizeof *nd);
        nd->min = nd->max = 1;
        if (c == '(' || c == ')' || c == '|') {
            why = "groups and alternation are not supported (use enum for alternatives)";
        } else if (c == '*' || c == '+' || c == '?' || c == '{' || c == '^' || c == '$') {
            why = "misplaced operator";
        } else if (c == '.') {
            memset(nd->set, 0xFF, sizeof nd->set);
            i++;
        } else if (c == '\\') {
            char e = re[i + 1];
            if (e == '\0')
                why = "trailing backslash";
            else if (!set_escape_class(nd->set, e)) {
                if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
                    why = "unsupported escape";
                else
                    set_add(nd->set, (unsigned char)e);
            }
            i += 2;
        } else if (c == '[') {
            bool neg = false;
            i++;
            if (re[i] == '^') {
                neg = true;
                i++;
            }
            bool first = true;
            while (i < len && (re[i] != ']' || first) && !why) {
                unsigned lo = (unsigned char)re[i];
                first = false;
                if (lo == '\\') {
                    if (!re[i + 1]) {
                        why = "trailing backslash";
                        break;
                    }
                    if (set_escape_class(nd->set, re[i + 1])) {
                        i += 2;
                        continue;
                    }
                    lo = (unsigned char)re[i + 1];
                    i++;
                }
                i++;
                if (re[i] == '-' && re[i + 1] && re[i + 1] != ']') {
                    unsigned hi = (unsigned char)re[i + 1];
                    if (hi == '\\' && re[i + 2]) {
                        hi = (unsigned char)re[i + 2];
                        i++;
                    }
                    if (hi < lo)
                        why = "reversed range in class";
                    else
                        set_range(nd->set, lo, hi);
                    i += 2;
                } else {
                    set_add(nd->set, lo);
                }
            }
            if (!why && re[i] != ']')
                why = "unterminated class";
            i++;
            if (neg)
                for (int k = 0; k < 32; k++)
                    nd->set[k] = (uint8_t)~nd->set[k];
        } else {
            set_add(nd->set, (unsigned char)c);
            i++;
        }
        if (why)
            break;
        /* quantifier */
        char q = re[i];
        if (q == '*') {
            nd->min = 0, nd->max = DQ_PAT_INF, i++;
        } else if (q == '+') {
            nd->min = 1, nd->max = DQ_PAT_INF, i++;
        } else if (q == '?') {
            nd->min = 0, nd->max = 1, i++;
        } else if (q == '{') {
            i++;
            int lo = read_uint(re, &i), hi = lo;
            if (re[i] == ',') {
                i++;
                hi = read_uint(re, &i);
                if (hi == -1)
                    hi = DQ_PAT_INF;
            }
            if (lo < 0 || hi < 0 || re[i] != '}' || hi < lo)
                why = "bad {m,n} quantifier";
            i++;
            nd->min = (uint16_t)(lo < 0 ? 0 : lo);
            nd->max = (uint16_t)(hi < 0 ? 0 : hi);
        }
        if (!why && (re[i] == '*' || re[i] == '+' || re[i] == '?' || re[i] == '{'))
            why = "nested quantifier";
        pat->n++;
    }
    if (why) {
        dq_error_set(err, DQ_ERR_CONTRACT, 0, "pattern '%s' at offset %zu: %s", re, i, why);
        dq_free(pat);
        return NULL;
    }
    /* A literal prefix ("sensor_") is matched at once. */
    for (int k = 0; pat->anchor_start && k < pat->n && pat->node[k].min == 1 && pat->node[k].max == 1; k++) {
        int members = 0, c = -1;
        for (int b = 0; b < 256; b++)
            if (set_has(pat->node[k].set, (unsigned)b))
                members++, c = b;
        if (members != 1)
            break;
        pat->prefix[pat->n_prefix++] = (char)c;
    }
    return pat;
}

/* Positions 0..n of the string as bits: set = the nodes so far can end there. Strings up
 * to DQ_PAT_STACK_BITS - 1 bytes (every sensor id) need no allocation. */
#define DQ_PAT_STACK_BITS 4096

static bool bit(const uint64_t *b, size_t i) { return b[i >> 6] >> (i & 63) & 1; }

/*
 * One node: every end position reachable from a start in cur, into next. From start p the
 * node covers p + min .. p + min(max, e) where e is the end of the run of class members
 * beginning at p; e and both bounds only grow with p, so one forward sweep sets each bit
 * at most once and scans each byte at most once. Returns whether next has any bit.
 */
static bool step(const pat_node *nd, const unsigned char *s, size_t n, const uint64_t *cur, uint64_t *next,
                 size_t words)
{
    memset(next, 0, words * sizeof *next);
    size_t e = 0, marked = 0; /* s[p..e) are members and s[e] is not (or e == n); bits < marked are done */
    bool any = false;
    for (size_t w = 0; w < words; w++)
        for (uint64_t bits = cur[w]; bits; bits &= bits - 1) {
            size_t p = w * 64 + (size_t)__builtin_ctzll(bits);
            if (e < p)
                e = p;
            while (e < n && set_has(nd->set, s[e]))
                e++;
            size_t lo = p + nd->min, hi = nd->max == DQ_PAT_INF || p + nd->max > e ? e : p + nd->max;
            for (size_t i = lo > marked ? lo : marked; i <= hi; i++)
                next[i >> 6] |= (uint64_t)1 << (i & 63);
            if (lo <= hi) {
                any = true;
                marked = hi + 1;
            }
        }
    return any;
}

/* Nodes k.. from start (or from every position when anywhere); false also when out of memory. */
static bool match_from(const dq_pattern *pat, int k, const unsigned char *s, size_t n, size_t start, bool anywhere)
{
    uint64_t stack[2][DQ_PAT_STACK_BITS / 64], *heap = NULL, *cur = stack[0], *next = stack[1];
    size_t words = n / 64 + 1;
    if (words > DQ_PAT_STACK_BITS / 64) {
        if (!(heap = dq_malloc(2 * words * sizeof *heap)))
            return false;
        cur = heap, next = heap + words;
    }
    memset(cur, 0, words * sizeof *cur);
    for (size_t i = anywhere ? 0 : start; i <= (anywhere ? n : start); i++)
        cur[i >> 6] |= (uint64_t)1 << (i & 63);
    bool any = true;
    for (; k < pat->n && any; k++) {
        any = step(&pat->node[k], s, n, cur, next, words);
        uint64_t *t = cur;
        cur = next, next = t;
    }
    bool found = any && (!pat->anchor_end || bit(cur, n));
    dq_free(heap);
    return found;
}

bool dq_pattern_match(const dq_pattern *pat, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!pat->anchor_start)
        return match_from(pat, 0, u, n, 0, true);
    size_t k = (size_t)pat->n_prefix;
    if (n < k || !dq_same_bytes(s, pat->prefix, k))
        return false;
    if (pat->n == pat->n_prefix + 1) {
        /* One repeated class after the prefix (^sensor_[0-9]+$): the run of its members from k decides. */
        const pat_node *nd = &pat->node[pat->n_prefix];
        size_t e = k;
        while (e < n && set_has(nd->set, u[e]))
            e++;
        if (e - k < nd->min)
            return false;
        return !pat->anchor_end || (e == n && (nd->max == DQ_PAT_INF || n - k <= nd->max));
    }
    return match_from(pat, pat->n_prefix, u, n, k, false);
}

void dq_pattern_free(dq_pattern *pat) { dq_free(pat); }
