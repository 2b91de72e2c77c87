/* Unit tests for num.c: strict JSON number grammar and RFC 8785 printing. */
#include <math.h>
#include <stdlib.h>

#include "dq_int.h"
#include "testhelp.h"

static const char *roundtrip(const char *in)
{
    static char out[64];
    dq_num num;
    dq_buf b;
    if (dq_num_parse(in, strlen(in), &num) != DQ_NUM_OK)
        return "(invalid)";
    dq_buf_init(&b, out, sizeof out - 1);
    dq_num_write(&b, &num);
    out[b.len] = '\0';
    return out;
}

static void test_canonical(void)
{
    CHECK_STR(roundtrip("21.50"), "21.5");
    CHECK_STR(roundtrip("100"), "100");
    CHECK_STR(roundtrip("-0"), "0");
    CHECK_STR(roundtrip("0.000001"), "0.000001");
    CHECK_STR(roundtrip("0.0000001"), "1e-7");
    CHECK_STR(roundtrip("1e21"), "1e+21");
    CHECK_STR(roundtrip("1E2"), "100");
    CHECK_STR(roundtrip("123456789012345678"), "123456789012345680");
    CHECK_STR(roundtrip("0.1"), "0.1");
    CHECK_STR(roundtrip("-4.25e1"), "-42.5");
    CHECK_STR(roundtrip("0.30000000000000004"), "0.30000000000000004");
    CHECK_STR(roundtrip("1.7976931348623157e308"), "1.7976931348623157e+308");
}

static void test_invalid(void)
{
    dq_num n;
    const char *bad[] = {"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.2.3", "--1", "1 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(dq_num_parse(bad[i], strlen(bad[i]), &n), DQ_NUM_INVALID);
    CHECK_INT(dq_num_parse("1e999", 5, &n), DQ_NUM_NONFINITE);
    CHECK_INT(dq_num_parse("-1e400", 6, &n), DQ_NUM_NONFINITE);
}

static void test_values(void)
{
    dq_num n;
    CHECK_INT(dq_num_parse("21.7", 4, &n), DQ_NUM_OK);
    CHECK(n.v == 21.7);
    CHECK_INT(dq_num_parse("-0.001", 6, &n), DQ_NUM_OK);
    CHECK(n.v == -0.001);
    CHECK_INT(dq_num_parse("1e-400", 6, &n), DQ_NUM_OK);
    CHECK(n.v == 0.0);
}

/* canonical: the input text is what dq_num_write prints, so the clean output copies it. */
static void test_canonical_flag(void)
{
    const char *yes[] = {"0", "21.5", "-21.5", "100", "0.000001", "-0.5", "123456789012345", "1.25"};
    const char *no[] = {"-0", "21.50", "0.0", "1e2", "1E2", "0.0000001", "1000000000000000000000", "-4.25e1"};
    dq_num n;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        CHECK_INT(dq_num_parse(yes[i], strlen(yes[i]), &n), DQ_NUM_OK);
        CHECK(n.canonical);
        CHECK_STR(roundtrip(yes[i]), yes[i]);
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        CHECK_INT(dq_num_parse(no[i], strlen(no[i]), &n), DQ_NUM_OK);
        CHECK(!n.canonical);
        CHECK(strcmp(roundtrip(no[i]), no[i]) != 0);
    }
    /* Beyond 15 digits the decimal is not kept: printed (here to the same text), never copied. */
    CHECK_INT(dq_num_parse("1234567890123456", 16, &n), DQ_NUM_OK);
    CHECK(!n.canonical);
}

static const char *rounded(double v, int decimals)
{
    static char out[64];
    dq_buf b;
    dq_num num = dq_num_round(v, decimals);
    dq_buf_init(&b, out, sizeof out - 1);
    dq_num_write(&b, &num);
    out[b.len] = '\0';
    return out;
}

/* Computed scores are written at a fixed precision: exact decimals, as the parser gives them. */
/* Plain decimals as sensors send them (the parser's fast path), against strtod and the printer:
 * the value is the nearest double, the canonical flag says whether printing gives the same text. */
static void test_plain_decimals(void)
{
    uint64_t r = 88172645463325252ull;
    int bad = 0;
    for (int k = 0; k < 200000; k++) {
        char text[40];
        int n = 0;
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        if (r & 1)
            text[n++] = '-';
        int int_digits = (int)(r >> 1 & 7), frac_digits = (int)(r >> 4 & 15) % 9; /* at most 15 digits */
        if (int_digits == 0)
            text[n++] = '0';
        for (int i = 0; i < int_digits; i++)
            text[n++] = (char)('0' + (i == 0 ? 1 + (r >> (8 + 3 * i)) % 9 : (r >> (8 + 3 * i)) % 10));
        if (frac_digits) {
            text[n++] = '.';
            for (int i = 0; i < frac_digits; i++)
                text[n++] = (char)('0' + (r >> (32 + 3 * i)) % 10 * ((r >> (20 + i)) & 1));
        }
        text[n] = '\0';
        dq_num v;
        if (dq_num_parse(text, (size_t)n, &v) != DQ_NUM_OK || v.v != strtod(text, NULL)) {
            bad++;
            continue;
        }
        char out[64];
        dq_buf b;
        dq_buf_init(&b, out, sizeof out - 1);
        dq_num_write(&b, &v);
        out[b.len] = '\0';
        if (strtod(out, NULL) != v.v || v.canonical != (strcmp(out, text) == 0)) {
            if (bad < 5)
                fprintf(stderr, "%s -> %s canonical %d\n", text, out, v.canonical);
            bad++;
        }
    }
    CHECK_INT(bad, 0);
}

/* dq_num_from_double finds a double's decimal without printf: it must print exactly what the
 * printf search prints (a dq_num that is not exact takes that path), on decimals of 1 to 17
 * digits read as doubles, results of arithmetic on them, and random bit patterns. */
static void test_from_double(void)
{
    uint64_t r = 2463534242ull;
    int bad = 0, exact = 0;
    for (int k = 0; k < 300000; k++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        double v;
        switch (k % 3) {
        case 0: v = (double)(int64_t)(r >> (r & 31)) / pow(10, (double)(r >> 40 & 15)); break;
        case 1: v = (double)(r >> 44) / 100 * ((r & 2) ? 0.1 : 3.7); break;
        default: memcpy(&v, &r, sizeof v); break;
        }
        if (!isfinite(v))
            continue;
        dq_num fast = dq_num_from_double(v), slow = {.v = v, .exact = false};
        char a[64], b[64];
        dq_buf ba, bb;
        dq_buf_init(&ba, a, sizeof a - 1);
        dq_buf_init(&bb, b, sizeof b - 1);
        dq_num_write(&ba, &fast);
        dq_num_write(&bb, &slow);
        a[ba.len] = b[bb.len] = '\0';
        exact += fast.exact;
        if (strcmp(a, b) != 0) {
            if (bad < 5)
                fprintf(stderr, "%.17g: %s (from_double) vs %s (printf)\n", v, a, b);
            bad++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK(exact > 100000); /* most take the fast path, or the test tests nothing */
}

static void test_round(void)
{
    CHECK_STR(rounded(0.4376598631629993, 4), "0.4377");
    CHECK_STR(rounded(7.3, 4), "7.3");
    CHECK_STR(rounded(-2.00004, 4), "-2");
    CHECK_STR(rounded(0.00004, 4), "0");
    CHECK_STR(rounded(12.5, 0), "13");
    CHECK_STR(rounded(1e300, 4), "1e+300"); /* beyond 15 digits: the shortest round trip */
    dq_num n = dq_num_round(0.4376598631629993, 4), parsed;
    CHECK_INT(dq_num_parse("0.4377", 6, &parsed), DQ_NUM_OK);
    CHECK(n.exact && n.v == parsed.v && n.mant == parsed.mant && n.exp10 == parsed.exp10);

    /* dq_num_write_rounded writes the same text without the dq_num: every precision, values
     * across the magnitudes (the exponent forms fall back), signs, and the ends of a buffer. */
    uint64_t r = 88172645463325252ull;
    int bad = 0;
    for (int k = 0; k < 300000; k++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        double v = (double)(r >> 11) / 9007199254740992.0 * pow(10, (int)(r % 26) - 10) * (r & 1024 ? -1 : 1);
        int decimals = (int)((r >> 5) % 10);
        char out[64];
        dq_buf b;
        dq_buf_init(&b, out, sizeof out - 1);
        dq_num_write_rounded(&b, k % 1000 == 0 ? (double)(k / 1000) / 4 : v, decimals);
        out[b.len] = '\0';
        if (strcmp(out, rounded(k % 1000 == 0 ? (double)(k / 1000) / 4 : v, decimals)) != 0 && bad++ < 5)
            fprintf(stderr, "%.17g at %d decimals: %s, not %s\n", v, decimals, out, rounded(v, decimals));
    }
    CHECK_INT(bad, 0);
    char small[8];
    dq_buf b;
    dq_buf_init(&b, small, sizeof small);
    dq_num_write_rounded(&b, 0.4376598631629993, 4);
    CHECK(!b.overflow && b.len == 6 && memcmp(small, "0.4377", 6) == 0);
    dq_num_write_rounded(&b, 12.5, 4);
    CHECK(b.overflow);
}

int main(void)
{
    RUN(test_canonical);
    RUN(test_round);
    RUN(test_from_double);
    RUN(test_plain_decimals);
    RUN(test_canonical_flag);
    RUN(test_invalid);
    RUN(test_values);
    return th_report("test_num");
}
