/*
 * buf.c - a bounded output buffer and JSON writing helpers.
 *
 * Writes never go past the capacity: the first write that does not fit sets
 * `overflow` and later writes are dropped, so callers check once at the end (the
 * buffer's text is then unusable: len is cap, past what was written).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dq_int.h"

void dq_buf_init(dq_buf *b, char *mem, size_t cap)
{
    b->p = mem;
    b->len = 0;
    b->cap = cap;
    b->overflow = false;
}

void dq_buf_printf(dq_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        dq_buf_fail(b);
    else
        b->len += (size_t)n;
}

/* Bytes that stand for themselves inside a JSON string: printable ASCII but " and \. */
const unsigned char dq_json_plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), /* 0x00-0x1f: control characters */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20-0x2f: '"' is 0x22 */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50-0x5f: '\\' is 0x5c */
    R16(1), R16(1),
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0) /* 0x80-0xff: UTF-8, checked */
#undef R16
};

/* The one writer of JSON strings. known_utf8 (a constant in each caller below): s was checked
 * before; otherwise it is checked here on the way, in the same pass, and a NUL counts as bad
 * too (a reject's raw line with one goes in base64, which every reader gives back as it was). */
static inline bool json_str(dq_buf *b, const char *s, size_t n, bool known_utf8)
{
    static const char hex[] = "0123456789abcdef";
    dq_buf_putc(b, '"');
    size_t start = 0, i = 0; /* s[start..i) is copied as it is, in one put */
    while ((i = dq_json_plain_run(s, i, n)) < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) { /* UTF-8 goes as it is */
            size_t k = known_utf8 ? 1 : dq_utf8_seq((const unsigned char *)s + i, n - i);
            if (k == 0)
                return false;
            i += k;
            continue;
        }
        if (c == 0 && !known_utf8)
            return false;
        dq_buf_put(b, s + start, i - start);
        start = ++i;
        switch (c) {
        case '"': dq_buf_put(b, "\\\"", 2); break;
        case '\\': dq_buf_put(b, "\\\\", 2); break;
        case '\n': dq_buf_put(b, "\\n", 2); break;
        case '\r': dq_buf_put(b, "\\r", 2); break;
        case '\t': dq_buf_put(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            dq_buf_put(b, u, 6);
        }
        }
    }
    dq_buf_put(b, s + start, n - start);
    dq_buf_putc(b, '"');
    return true;
}

void dq_buf_json_str(dq_buf *b, const char *s, size_t n) { json_str(b, s, n, true); }

bool dq_buf_json_utf8(dq_buf *b, const char *s, size_t n) { return json_str(b, s, n, false); }
