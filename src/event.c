/*
 * event.c - the flat-event JSON scanner.
 *
 * Events are JSON objects whose members the contract names. The scanner makes one
 * pass over the bytes: it validates the whole document (RFC 8259 grammar, UTF-8,
 * depth), unescapes the strings of declared fields into the engine's scratch
 * buffer, parses their numbers, and matches member names to contract fields.
 * Nested values are validated and skipped (a declared field holding one is a
 * WRONG_TYPE later). The first problem found decides the reason code.
 *
 * Why not a general JSON library: building a DOM for a flat object costs more
 * than everything else an event goes through (bench/README.md compares cJSON,
 * json-c and jansson), and a DOM hides duplicate keys and NaN, which we must
 * report. Safety: every read is bounds-checked against len; recursion is bounded
 * by the contract's max_depth (at most 64); nothing is allocated. Fuzzed by
 * tests/fuzz/fuzz_event.c.
 */
#include <string.h>

#include "dq_int.h"

#define DQ_MAX_UNKNOWN 128 /* distinct undeclared members remembered for the duplicate check */

typedef struct scanner {
    const char *s;
    size_t n, i;
    char *scratch;
    size_t sp; /* scratch used */
    int max_depth;
    dq_reason err;
    bool spaced; /* whitespace was skipped somewhere */
} scanner;

static void fail(scanner *sc, dq_reason r)
{
    if (sc->err == DQ_R_NONE)
        sc->err = r;
}

static inline void skip_ws(scanner *sc)
{
    if (sc->i < sc->n && (unsigned char)sc->s[sc->i] > ' ')
        return; /* the usual case: no whitespace between tokens */
    while (sc->i < sc->n) {
        char c = sc->s[sc->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        sc->i++;
        sc->spaced = true;
    }
}

size_t dq_utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

static bool read_hex4(scanner *sc, unsigned *out)
{
    if (sc->n - sc->i < 4)
        return false;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(sc->s[sc->i + (size_t)k]);
        if (h < 0)
            return false;
        v = v << 4 | (unsigned)h;
    }
    sc->i += 4;
    *out = v;
    return true;
}

static void put_utf8(char *dst, size_t *len, unsigned cp)
{
    if (cp < 0x80) {
        dst[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        dst[(*len)++] = (char)(0xC0 | cp >> 6);
        dst[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        dst[(*len)++] = (char)(0xE0 | cp >> 12);
        dst[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3F));
        dst[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        dst[(*len)++] = (char)(0xF0 | cp >> 18);
        dst[(*len)++] = (char)(0x80 | (cp >> 12 & 0x3F));
        dst[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3F));
        dst[(*len)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/*
 * Scans a string whose opening quote is at sc->i. When out is non-NULL, the
 * unescaped UTF-8 goes to the scratch buffer and *out / *out_len point at it
 * (or straight into the input when there was nothing to unescape).
 */
static bool scan_string_slow(scanner *sc, const char **out, size_t *out_len);

/*
 * The common case first: a string of plain ASCII without escapes, as every key
 * and most values are. Anything else starts over in scan_string_slow.
 */
static inline bool scan_string(scanner *sc, const char **out, size_t *out_len)
{
    size_t start = sc->i + 1, i = dq_json_plain_run(sc->s, start, sc->n);
    if (i < sc->n && sc->s[i] == '"') {
        if (out) {
            *out = sc->s + start;
            *out_len = i - start;
        }
        sc->i = i + 1;
        return true;
    }
    return scan_string_slow(sc, out, out_len);
}

static bool scan_string_slow(scanner *sc, const char **out, size_t *out_len)
{
    sc->i++; /* opening quote */
    size_t start = sc->i;
    bool escaped = false;
    while (sc->i < sc->n) {
        /* Fast path: plain ASCII needs no other check; 8 bytes at a time (SWAR). */
        while (sc->n - sc->i >= 8) {
            uint64_t x;
            memcpy(&x, sc->s + sc->i, 8);
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
            uint64_t special = ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) | (x - ones * 0x20) | x;
            if (special & highs)
                break;
            sc->i += 8;
        }
        while (sc->i < sc->n && dq_json_plain[(unsigned char)sc->s[sc->i]])
            sc->i++;
        if (sc->i >= sc->n)
            break;
        unsigned char c = (unsigned char)sc->s[sc->i];
        if (c == '"')
            break;
        if (c == '\\') {
            escaped = true;
            sc->i++;
            if (sc->i >= sc->n)
                break;
            char e = sc->s[sc->i++];
            if (e == 'u') {
                unsigned cp;
                if (!read_hex4(sc, &cp)) {
                    fail(sc, DQ_R_MALFORMED_JSON);
                    return false;
                }
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    fail(sc, DQ_R_INVALID_UTF8); /* lone low surrogate */
                    return false;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (sc->n - sc->i < 6 || sc->s[sc->i] != '\\' || sc->s[sc->i + 1] != 'u') {
                        fail(sc, DQ_R_INVALID_UTF8);
                        return false;
                    }
                    sc->i += 2;
                    if (!read_hex4(sc, &lo)) {
                        fail(sc, DQ_R_MALFORMED_JSON);
                        return false;
                    }
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        fail(sc, DQ_R_INVALID_UTF8);
                        return false;
                    }
                }
            } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                fail(sc, DQ_R_MALFORMED_JSON);
                return false;
            }
            continue;
        }
        if (c < 0x20) {
            fail(sc, DQ_R_MALFORMED_JSON); /* raw control character */
            return false;
        }
        if (c >= 0x80) {
            size_t k = dq_utf8_seq((const unsigned char *)sc->s + sc->i, sc->n - sc->i);
            if (k == 0) {
                fail(sc, DQ_R_INVALID_UTF8);
                return false;
            }
            sc->i += k;
            continue;
        }
        sc->i++;
    }
    if (sc->i >= sc->n) {
        fail(sc, DQ_R_MALFORMED_JSON); /* unterminated */
        return false;
    }
    size_t end = sc->i++;
    if (!out)
        return true;
    if (!escaped) {
        *out = sc->s + start;
        *out_len = end - start;
        return true;
    }
    /* Second pass: the string is known valid, unescape it. Output <= input length. */
    char *dst = sc->scratch + sc->sp;
    size_t len = 0;
    for (size_t j = start; j < end;) {
        char c = sc->s[j];
        if (c != '\\') {
            dst[len++] = c;
            j++;
            continue;
        }
        char e = sc->s[j + 1];
        j += 2;
        switch (e) {
        case 'b': dst[len++] = '\b'; break;
        case 'f': dst[len++] = '\f'; break;
        case 'n': dst[len++] = '\n'; break;
        case 'r': dst[len++] = '\r'; break;
        case 't': dst[len++] = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 0; k < 4; k++)
                cp = cp << 4 | (unsigned)hexval(sc->s[j + (size_t)k]);
            j += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo = 0;
                for (int k = 0; k < 4; k++)
                    lo = lo << 4 | (unsigned)hexval(sc->s[j + 2 + (size_t)k]);
                j += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(dst, &len, cp);
            break;
        }
        default: dst[len++] = e; break; /* " \ / */
        }
    }
    sc->sp += len;
    *out = dst;
    *out_len = len;
    return true;
}

static bool is_num_char(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

static bool match_word(scanner *sc, const char *w, size_t k)
{
    if (sc->n - sc->i >= k && memcmp(sc->s + sc->i, w, k) == 0) {
        sc->i += k;
        return true;
    }
    return false;
}

static bool scan_value(scanner *sc, int depth, dq_member *m);

/* Scans an object or array (opening bracket at sc->i) at nesting level depth. */
static bool scan_container(scanner *sc, int depth)
{
    if (depth > sc->max_depth) {
        fail(sc, DQ_R_TOO_DEEP);
        return false;
    }
    bool obj = sc->s[sc->i++] == '{';
    char close = obj ? '}' : ']';
    skip_ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == close) {
        sc->i++;
        return true;
    }
    for (;;) {
        skip_ws(sc);
        if (obj) {
            if (sc->i >= sc->n || sc->s[sc->i] != '"' || !scan_string(sc, NULL, NULL)) {
                fail(sc, DQ_R_MALFORMED_JSON);
                return false;
            }
            skip_ws(sc);
            if (sc->i >= sc->n || sc->s[sc->i] != ':') {
                fail(sc, DQ_R_MALFORMED_JSON);
                return false;
            }
            sc->i++;
            skip_ws(sc);
        }
        if (!scan_value(sc, depth + 1, NULL))
            return false;
        skip_ws(sc);
        if (sc->i >= sc->n) {
            fail(sc, DQ_R_MALFORMED_JSON);
            return false;
        }
        char c = sc->s[sc->i++];
        if (c == close)
            return true;
        if (c != ',') {
            fail(sc, DQ_R_MALFORMED_JSON);
            return false;
        }
    }
}

/* Scans one value at sc->i (whitespace skipped). m, if given, receives it. */
static bool scan_value(scanner *sc, int depth, dq_member *m)
{
    if (sc->i >= sc->n) {
        fail(sc, DQ_R_MALFORMED_JSON);
        return false;
    }
    size_t start = sc->i;
    char c = sc->s[sc->i];
    dq_member tmp;
    if (!m)
        m = &tmp;
    if (c == '"') {
        m->type = DQ_J_STRING;
        if (!scan_string(sc, m != &tmp ? &m->str : NULL, &m->str_len))
            return false;
    } else if (c == '{' || c == '[') {
        m->type = c == '{' ? DQ_J_OBJECT : DQ_J_ARRAY;
        if (!scan_container(sc, depth))
            return false;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (c == '-' && sc->i + 1 < sc->n && sc->s[sc->i + 1] == 'I' && match_word(sc, "-Infinity", 9)) {
            fail(sc, DQ_R_NON_FINITE);
            return false;
        }
        /* (declared fields' plain decimals were taken by scan_plain_value already) */
        while (sc->i < sc->n && is_num_char(sc->s[sc->i]))
            sc->i++;
        int rc = dq_num_parse(sc->s + start, sc->i - start, &m->num);
        if (rc != DQ_NUM_OK) {
            fail(sc, rc == DQ_NUM_NONFINITE ? DQ_R_NON_FINITE : DQ_R_MALFORMED_JSON);
            return false;
        }
        m->type = DQ_J_NUMBER;
    } else if (match_word(sc, "true", 4)) {
        m->type = DQ_J_BOOL;
        m->boolean = true;
    } else if (match_word(sc, "false", 5)) {
        m->type = DQ_J_BOOL;
        m->boolean = false;
    } else if (match_word(sc, "null", 4)) {
        m->type = DQ_J_NULL;
    } else if (match_word(sc, "NaN", 3) || match_word(sc, "Infinity", 8) || match_word(sc, "+Infinity", 9)) {
        fail(sc, DQ_R_NON_FINITE);
        return false;
    } else {
        fail(sc, DQ_R_MALFORMED_JSON);
        return false;
    }
    m->raw = sc->s + start;
    m->raw_len = sc->i - start;
    return true;
}

/*
 * The reason a scan failed with, or DQ_R_NONE. A NUL byte anywhere decides it: NUL is
 * neither whitespace nor allowed unescaped in a string, so no document holding one scans,
 * and the check costs nothing on the documents that do.
 */
static dq_reason failed(const scanner *sc)
{
    if (sc->err != DQ_R_NONE && memchr(sc->s, '\0', sc->n))
        return DQ_R_NUL_BYTE;
    return sc->err;
}

/* Whether the input continues with "name": of field fi exactly as json_key writes it. */
static inline bool next_key_is(const scanner *sc, const dq_contract *ctr, int fi)
{
    const dq_field *f = &ctr->fields[fi];
    return f->json_key_plain && sc->n - sc->i >= f->json_key_len && dq_same_bytes(sc->s + sc->i, f->json_key, f->json_key_len);
}

/*
 * What a declared field usually holds, without scan_value's call and dispatch: a string
 * without escapes, or a plain decimal. False (nothing consumed) for anything else.
 */
static inline bool scan_plain_value(scanner *sc, dq_member *m)
{
    size_t start = sc->i;
    if (start >= sc->n)
        return false;
    char c = sc->s[start];
    if (c == '"') {
        size_t end = dq_json_plain_run(sc->s, start + 1, sc->n);
        if (end >= sc->n || sc->s[end] != '"')
            return false;
        m->type = DQ_J_STRING;
        m->str = sc->s + start + 1;
        m->str_len = end - start - 1;
        sc->i = end + 1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        size_t k = dq_num_parse_prefix(sc->s + start, sc->n - start, &m->num);
        if (!k)
            return false;
        m->type = DQ_J_NUMBER;
        sc->i = start + k;
    } else {
        return false;
    }
    m->raw = sc->s + start;
    m->raw_len = sc->i - start;
    return true;
}

/* Members usually arrive in contract order: try the field after the last match first. */
static int find_field(const dq_contract *ctr, const char *name, size_t len, int hint)
{
    if (hint < ctr->n_fields && ctr->fields[hint].name_len == len && memcmp(ctr->fields[hint].name, name, len) == 0)
        return hint;
    for (int f = 0; f < ctr->n_fields; f++)
        if (ctr->fields[f].name_len == len && memcmp(ctr->fields[f].name, name, len) == 0)
            return f;
    return -1;
}

void dq_event_scan(const dq_contract *ctr, const char *s, size_t len, char *scratch, dq_scan *scan)
{
    scanner sc = {.s = s, .n = len, .scratch = scratch, .max_depth = ctr->max_depth};
    const char *unknown[DQ_MAX_UNKNOWN];
    int hint = 0;
    size_t unknown_len[DQ_MAX_UNKNOWN];

    memset(scan->present, 0, sizeof scan->present);
    scan->n_unknown = 0;
    scan->error = DQ_R_NONE;
    scan->compact = false;
    scan->text = s;
    scan->text_len = len;
    bool keys_as_written = true; /* every key matched as json_key writes it */
    int members = 0;

    skip_ws(&sc);
    if (sc.i == sc.n) {
        scan->error = DQ_R_EMPTY;
        return;
    }
    if (s[sc.i] != '{') {
        /* A valid JSON value that is not an object, or not JSON at all? */
        if (scan_value(&sc, 1, NULL)) {
            skip_ws(&sc);
            if (sc.i != sc.n)
                fail(&sc, DQ_R_MALFORMED_JSON);
        } else {
            fail(&sc, DQ_R_MALFORMED_JSON);
        }
        scan->error = sc.err == DQ_R_NONE ? DQ_R_NOT_AN_OBJECT : failed(&sc);
        return;
    }
    sc.i++;
    skip_ws(&sc);
    if (sc.i < sc.n && s[sc.i] == '}') {
        sc.i++;
    } else {
        for (;;) {
            skip_ws(&sc);
            const char *key = NULL;
            size_t key_len = 0;
            int f;
            for (f = hint; f < ctr->n_fields && !next_key_is(&sc, ctr, f); f++)
                ; /* the usual case: a later field in contract order (optional ones may be absent), written plainly */
            members++;
            if (f < ctr->n_fields) {
                sc.i += ctr->fields[f].json_key_len;
            } else {
                keys_as_written = false;
                if (sc.i >= sc.n || s[sc.i] != '"' || !scan_string(&sc, &key, &key_len)) {
                    fail(&sc, DQ_R_MALFORMED_JSON);
                    break;
                }
                skip_ws(&sc);
                if (sc.i >= sc.n || s[sc.i] != ':') {
                    fail(&sc, DQ_R_MALFORMED_JSON);
                    break;
                }
                sc.i++;
                f = find_field(ctr, key, key_len, hint);
            }
            skip_ws(&sc);
            if (f >= 0) {
                hint = f + 1;
                if (scan->present[f]) {
                    fail(&sc, DQ_R_DUPLICATE_KEY);
                    break;
                }
                scan->present[f] = true;
                if (!scan_plain_value(&sc, &scan->field[f]) && !scan_value(&sc, 2, &scan->field[f]))
                    break;
            } else {
                for (int u = 0; u < scan->n_unknown; u++)
                    if (unknown_len[u] == key_len && memcmp(unknown[u], key, key_len) == 0)
                        fail(&sc, DQ_R_DUPLICATE_KEY);
                if (sc.err != DQ_R_NONE)
                    break;
                if (scan->n_unknown == DQ_MAX_UNKNOWN) {
                    fail(&sc, DQ_R_OVERSIZED); /* too many members to check for duplicates */
                    break;
                }
                unknown[scan->n_unknown] = key;
                unknown_len[scan->n_unknown++] = key_len;
                if (!scan_value(&sc, 2, NULL))
                    break;
            }
            skip_ws(&sc);
            if (sc.i >= sc.n) {
                fail(&sc, DQ_R_MALFORMED_JSON);
                break;
            }
            char c = s[sc.i++];
            if (c == '}')
                break;
            if (c != ',') {
                fail(&sc, DQ_R_MALFORMED_JSON);
                break;
            }
        }
    }
    if (sc.err == DQ_R_NONE) {
        skip_ws(&sc);
        if (sc.i != sc.n)
            fail(&sc, DQ_R_MALFORMED_JSON); /* trailing bytes after the object */
    }
    scan->error = failed(&sc);
    scan->compact = scan->error == DQ_R_NONE && !sc.spaced && keys_as_written && scan->n_unknown == 0 && members > 0;
}
