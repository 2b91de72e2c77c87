/* Unit tests for event.c: the scanner's verdict on hostile and odd input; and JSON strings
 * written back (buf.c), which share the scanner's eight-bytes-at-a-time search. */
#include <stdlib.h>

#include "dq_int.h"
#include "testhelp.h"

static dq_contract *ctr;
static char scratch[4096];

static dq_reason scan_n(const char *s, size_t n)
{
    dq_scan sc;
    dq_event_scan(ctr, s, n, scratch, &sc);
    return sc.error;
}
static dq_reason scan(const char *s) { return scan_n(s, strlen(s)); }

static void test_wellformed(void)
{
    CHECK_INT(scan("{}"), DQ_R_NONE);
    CHECK_INT(scan(" {\"a\" : [1, {\"b\": null}], \"s\": \"x\\u00e9\\ud83d\\ude00\"} \r\n"), DQ_R_NONE);
    CHECK_INT(scan("{\"s\":\"caf\xc3\xa9\"}"), DQ_R_NONE);
}

static void test_hostile(void)
{
    CHECK_INT(scan(""), DQ_R_EMPTY);
    CHECK_INT(scan("  \t "), DQ_R_EMPTY);
    CHECK_INT(scan("{\"a\":1"), DQ_R_MALFORMED_JSON);
    CHECK_INT(scan("{\"a\":1,}"), DQ_R_MALFORMED_JSON);
    CHECK_INT(scan("{\"a\":1} x"), DQ_R_MALFORMED_JSON);
    CHECK_INT(scan("{'a':1}"), DQ_R_MALFORMED_JSON);
    CHECK_INT(scan("{\"a\":tru}"), DQ_R_MALFORMED_JSON);
    CHECK_INT(scan("{\"a\":\"x\ty\"}"), DQ_R_MALFORMED_JSON);
    CHECK_INT(scan("{\"a\":\"\\x\"}"), DQ_R_MALFORMED_JSON);
    CHECK_INT(scan("[1,2]"), DQ_R_NOT_AN_OBJECT);
    CHECK_INT(scan("\"text\""), DQ_R_NOT_AN_OBJECT);
    CHECK_INT(scan("hello"), DQ_R_MALFORMED_JSON);
    CHECK_INT(scan("{\"a\":1,\"a\":2}"), DQ_R_DUPLICATE_KEY);
    CHECK_INT(scan("{\"temperature\":1,\"temperature\":2}"), DQ_R_DUPLICATE_KEY);
    CHECK_INT(scan("{\"a\":1,\"\\u0061\":2}"), DQ_R_DUPLICATE_KEY);
    CHECK_INT(scan("{\"a\":NaN}"), DQ_R_NON_FINITE);
    CHECK_INT(scan("{\"a\":-Infinity}"), DQ_R_NON_FINITE);
    CHECK_INT(scan("{\"a\":1e400}"), DQ_R_NON_FINITE);
    CHECK_INT(scan("{\"a\":\"\xff\"}"), DQ_R_INVALID_UTF8);
    CHECK_INT(scan("{\"a\":\"\xc0\xaf\"}"), DQ_R_INVALID_UTF8);      /* overlong */
    CHECK_INT(scan("{\"a\":\"\xed\xa0\x80\"}"), DQ_R_INVALID_UTF8);  /* surrogate */
    CHECK_INT(scan("{\"a\":\"\\ud800\"}"), DQ_R_INVALID_UTF8);       /* lone surrogate escape */
    CHECK_INT(scan("{\"a\":\"\xe2\x82\"}"), DQ_R_INVALID_UTF8);      /* truncated sequence */
    CHECK_INT(scan_n("{\"a\":\"x\0y\"}", 11), DQ_R_NUL_BYTE);
}

static void test_depth(void)
{
    char deep[200];
    size_t n = 0;
    deep[n++] = '{';
    memcpy(deep + n, "\"a\":", 4);
    n += 4;
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    for (int i = 0; i < 40; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    CHECK_INT(scan_n(deep, n), DQ_R_TOO_DEEP); /* the contract allows depth 8 */
    CHECK_INT(scan("{\"a\":[[[[1]]]]}"), DQ_R_NONE);
}

static void test_members(void)
{
    dq_scan sc;
    const char *ev = "{\"sensor_id\":\"sensor_\\u0031\",\"temperature\":21.50,\"x\":{}}";
    dq_event_scan(ctr, ev, strlen(ev), scratch, &sc);
    CHECK_INT(sc.error, DQ_R_NONE);
    CHECK(sc.present[0]);
    CHECK_INT(sc.field[0].type, DQ_J_STRING);
    CHECK_INT(sc.field[0].str_len, 8);
    CHECK(memcmp(sc.field[0].str, "sensor_1", 8) == 0);
    CHECK_INT(sc.field[2].type, DQ_J_NUMBER);
    CHECK(sc.field[2].num.v == 21.5);
    CHECK_INT(sc.n_unknown, 1);
}

/* JSON's escapes, one byte at a time: what dq_buf_json_str must write. */
static size_t escaped_slowly(const char *s, size_t n, char *out)
{
    size_t k = 0;
    out[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *named = c == '"'    ? "\\\""
                            : c == '\\' ? "\\\\"
                            : c == '\n' ? "\\n"
                            : c == '\r' ? "\\r"
                            : c == '\t' ? "\\t"
                                        : NULL;
        if (named)
            k += (size_t)sprintf(out + k, "%s", named);
        else if (c < 0x20)
            k += (size_t)sprintf(out + k, "\\u%04x", c);
        else
            out[k++] = (char)c;
    }
    out[k++] = '"';
    return k;
}

static void test_json_string_out(void)
{
    /* Strings of up to 40 bytes (around the eight-byte steps) with each special byte, or a
     * UTF-8 pair, at every place (or none), alone and followed by a quote. */
    static const char *const specials[] = {"\"", "\\", "\n", "\r", "\t", "\x01", "\x1f", "\xc3\xa9", "\x7f"};
    char in[64], want[512], got[512];
    int wrong = 0;
    for (size_t n = 0; n <= 40; n++)
        for (size_t at = 0; at <= n; at++)
            for (size_t k = 0; k < sizeof specials / sizeof *specials; k++)
                for (int quote_after = 0; quote_after < 2; quote_after++) {
                    memset(in, 'a', n);
                    size_t len = n;
                    if (at < n) {
                        size_t end = at + strlen(specials[k]);
                        memcpy(in + at, specials[k], end - at);
                        if (quote_after)
                            in[end++] = '"';
                        len = end > n ? end : n;
                    }
                    dq_buf b;
                    dq_buf_init(&b, got, sizeof got);
                    dq_buf_json_str(&b, in, len);
                    size_t w = escaped_slowly(in, len, want);
                    wrong += b.len != w || memcmp(got, want, w) != 0;
                }
    CHECK_INT(wrong, 0);
}

int main(void)
{
    ctr = th_sensor_contract();
    RUN(test_json_string_out);
    RUN(test_wellformed);
    RUN(test_hostile);
    RUN(test_depth);
    RUN(test_members);
    dq_contract_free(ctr);
    return th_report("test_event");
}
