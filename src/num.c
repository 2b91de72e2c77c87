/*
 * num.c - numbers: strict JSON parsing and canonical printing.
 *
 * Parsing keeps the exact decimal (mantissa, power of ten) when the number has
 * at most 15 significant digits. Any such decimal survives decimal -> double ->
 * decimal (DBL_DIG is 15), so printing it back with trailing zeros removed is the
 * shortest text that reads as the same double: no printf/strtod round trips on the
 * hot path. The double itself is computed exactly by Clinger's fast path (one
 * multiplication or division of exactly representable operands) when the power
 * of ten is at most 22, else by strtod.
 *
 * Printing follows RFC 8785 (JSON Canonicalization Scheme), i.e. ECMAScript's
 * Number.prototype.toString: fixed notation for 1e-6 <= |x| < 1e21, else
 * exponential, "-0" printed as "0".
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dq_int.h"

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The same powers as integers, up to the largest a uint64_t holds. */
static const uint64_t pow10_u64[20] = {1,
                                       10,
                                       100,
                                       1000,
                                       10000,
                                       100000,
                                       1000000,
                                       10000000,
                                       100000000,
                                       1000000000,
                                       10000000000,
                                       100000000000,
                                       1000000000000,
                                       10000000000000,
                                       100000000000000,
                                       1000000000000000,
                                       10000000000000000,
                                       100000000000000000,
                                       1000000000000000000,
                                       10000000000000000000u};

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/*
 * The common case in one pass: -?(0|[1-9]D*)(.D+)? with at most 15 digits and no exponent,
 * as sensors send them, at the start of s[0..n) (n > 0). Returns its length, or 0 (nothing
 * written) when the number there is anything else: the general parser decides those, with
 * the same results for these.
 */
static inline __attribute__((always_inline)) size_t parse_short(const char *s, size_t n, dq_num *out)
{
    bool neg = s[0] == '-';
    size_t i = neg, int_start = i;
    uint64_t mant = 0; /* wraps on long digit runs: those are refused below before use */
    unsigned d;
    while (i < n && (d = (unsigned)(s[i] - '0')) <= 9) {
        mant = mant * 10 + d;
        i++;
    }
    size_t int_len = i - int_start, frac = 0;
    if (int_len == 0 || (s[int_start] == '0' && int_len > 1))
        return 0;
    if (i < n && s[i] == '.') {
        size_t frac_start = ++i;
        while (i < n && (d = (unsigned)(s[i] - '0')) <= 9) {
            mant = mant * 10 + d;
            i++;
        }
        frac = i - frac_start;
        if (frac == 0)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E' || s[i] == '.' || s[i] == '+' || s[i] == '-'))
        return 0; /* the number goes on: exponent or worse */
    if (int_len + frac > 15 || mant == 0)
        return 0; /* zeros have their own forms ("-0", "0.0"): the general parser */
    if (s[int_start] == '0') {
        size_t z = int_start + 2; /* after "0." */
        while (z < i && s[z] == '0')
            z++;
        if (z - int_start - 2 >= 6)
            return 0; /* 0.000000x prints in exponent form: the general parser */
    }
    bool canonical = frac == 0 || s[i - 1] != '0';
    int e10 = -(int)frac;
    if (s[i - 1] == '0') /* trailing zeros go to the exponent (mant != 0: not all of them) */
        while (mant % 10 == 0) {
            mant /= 10;
            e10++;
        }
    double v = (double)mant;
    v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
    *out = (dq_num){.v = neg ? -v : v, .mant = neg ? -(int64_t)mant : (int64_t)mant, .exp10 = (int16_t)e10,
                    .exact = true, .canonical = canonical};
    return i;
}

/* Every JSON number: the full grammar, strtod where the decimal is not exact. Apart from the
 * fast path, so that the common case does not pay for this one's frame. */
__attribute__((noinline)) static int parse_general(const char *s, size_t n, dq_num *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t mant = 0;
    int sig = 0;       /* significant digits taken into mant */
    int dropped = 0;   /* significant digits beyond 19 (not in mant) */
    int frac = 0;      /* digits after the point that went into mant */
    long exp = 0;
    bool lost = false;
    size_t int_len = 0;    /* digits before the point */
    int lead_zeros = 0;    /* zeros right after the point of 0.000x */
    bool has_exp = false;

    if (i < n && s[i] == '-') {
        neg = true;
        i++;
    }
    if (i >= n || !is_digit(s[i]))
        return DQ_NUM_INVALID;
    size_t int_start = i;
    if (s[i] == '0') {
        i++;
        if (i < n && is_digit(s[i]))
            return DQ_NUM_INVALID; /* leading zero */
    } else {
        for (; i < n && is_digit(s[i]); i++) {
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                sig++;
            } else {
                dropped++;
            }
        }
    }
    int_len = i - int_start;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return DQ_NUM_INVALID;
        for (; i < n && is_digit(s[i]); i++) {
            if (sig == 0 && s[i] == '0') {
                frac++; /* leading zeros of 0.000x: scale only */
                lead_zeros++;
                continue;
            }
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                sig++;
                frac++;
            } else if (s[i] != '0') {
                lost = true; /* beyond 19 digits: only strtod sees it */
            }
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        has_exp = true;
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= n || !is_digit(s[i]))
            return DQ_NUM_INVALID;
        for (; i < n && is_digit(s[i]); i++)
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
        if (eneg)
            exp = -exp;
    }
    if (i != n)
        return DQ_NUM_INVALID;

    long e10 = exp - frac + dropped;
    /* Normalise: strip trailing zeros so equal decimals have one form. */
    while (mant != 0 && mant % 10 == 0) {
        mant /= 10;
        e10++;
        sig--;
    }
    /* The text is what dq_num_write prints for it (RFC 8785): no exponent, no trailing zero
     * after a point, not "-0", within fixed notation (1e-6 <= |x| < 1e21). */
    bool point = int_start + int_len < n;
    bool canonical = !has_exp && !(point && s[n - 1] == '0') && int_len <= 21 &&
                     !(s[int_start] == '0' && lead_zeros >= 6);
    if (mant == 0) {
        *out = (dq_num){.v = 0.0, .mant = 0, .exp10 = 0, .exact = true, .canonical = canonical && !neg && !point};
        return DQ_NUM_OK;
    }
    bool exact = dropped == 0 && !lost && sig <= 15 && e10 > -330 && e10 < 310;
    double v;
    if (exact && e10 >= -22 && e10 <= 22) {
        v = (double)mant; /* < 10^15 < 2^53: exact */
        v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
    } else {
        char tmp[64];
        size_t len = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
        const char *src = s;
        char *heap = NULL;
        if (n >= sizeof tmp) {
            heap = dq_strndup(s, n);
            if (!heap)
                return DQ_NUM_INVALID;
            src = heap;
        } else {
            memcpy(tmp, s, len);
            tmp[len] = '\0';
            src = tmp;
        }
        errno = 0;
        v = strtod(src, NULL);
        dq_free(heap);
        if (isinf(v))
            return DQ_NUM_NONFINITE;
        if (v == 0.0) /* underflow: the decimal does not survive */
            exact = false;
        neg = false; /* strtod applied the sign */
    }
    if (neg)
        v = -v;
    *out = (dq_num){.v = v, .mant = exact ? (int64_t)mant * (v < 0 ? -1 : 1) : 0,
                    .exp10 = (int16_t)(exact ? e10 : 0), .exact = exact, .canonical = canonical && exact};
    return DQ_NUM_OK;
}

int dq_num_parse(const char *s, size_t n, dq_num *out)
{
    dq_num fast;
    if (n > 0 && parse_short(s, n, &fast) == n) {
        *out = fast;
        return DQ_NUM_OK;
    }
    return parse_general(s, n, out);
}

size_t dq_num_parse_prefix(const char *s, size_t n, dq_num *out) { return n > 0 ? parse_short(s, n, out) : 0; }

/* llround(x) for |x| < 1e15, inline (a call to libm's costs more than the rounding): the
 * truncation and its remainder, which is exact (x and its truncation are within a factor of
 * 2 of each other, or the truncation is 0), rounded half away from zero as llround does. */
static inline int64_t round_half_away(double x)
{
    int64_t t = (int64_t)x;
    double f = x - (double)t;
    return t + (f >= 0.5) - (f <= -0.5);
}

/*
 * The decimal with the fewest decimals that reads back as v, found without printf: for k = 0,
 * 1, ... the nearest m to v * 10^k, until m / 10^k (one exactly rounded division, as the
 * parser computes it) is v. With at most 15 significant digits that decimal is also what
 * dq_num_write's search over %.14e.. would print (v lies within half a double's ulp of it,
 * far closer than the 15-digit grid's spacing). Otherwise (or not finite): not exact.
 */
dq_num dq_num_from_double(double v)
{
    for (int k = 0; k <= 22 && fabs(v * pow10_exact[k]) < 1e15; k++) {
        int64_t mant = round_half_away(v * pow10_exact[k]);
        if ((double)mant / pow10_exact[k] != v)
            continue;
        int e10 = -k;
        while (mant != 0 && mant % 10 == 0) {
            mant /= 10;
            e10++;
        }
        return (dq_num){.v = v, .mant = mant, .exp10 = (int16_t)e10, .exact = true};
    }
    return (dq_num){.v = v, .exact = false};
}

dq_num dq_num_round(double v, int decimals)
{
    double scaled = v * pow10_exact[decimals];
    if (!(fabs(scaled) < 1e15))
        return dq_num_from_double(v);
    int64_t mant = round_half_away(scaled);
    int e10 = -decimals;
    if (mant == 0)
        return (dq_num){.v = 0.0, .exact = true};
    while (mant % 10 == 0) {
        mant /= 10;
        e10++;
    }
    double r = (double)mant; /* < 10^15: exact; the value is mant / 10^-e10, as parsing gives it */
    r = e10 < 0 ? r / pow10_exact[-e10] : r * pow10_exact[e10];
    return (dq_num){.v = r, .mant = mant, .exp10 = (int16_t)e10, .exact = true};
}

/* Writes digits d[0..k) with decimal point position p (value = 0.d * 10^p), ES rules. */
static void write_es(dq_buf *b, bool neg, const char *d, int k, int p)
{
    /* Common case, written in place: fixed notation with digits on both sides. */
    if (0 < p && p < k && k <= 20 && b->cap - b->len >= 24) {
        char *o = b->p + b->len;
        size_t n = 0;
        if (neg)
            o[n++] = '-';
        for (int i = 0; i < k; i++) { /* a few digits: a loop costs less than calls to memcpy */
            if (i == p)
                o[n++] = '.';
            o[n++] = d[i];
        }
        b->len += n;
        return;
    }
    if (neg)
        dq_buf_putc(b, '-');
    if (k <= p && p <= 21) {
        dq_buf_put(b, d, (size_t)k);
        for (int i = k; i < p; i++)
            dq_buf_putc(b, '0');
    } else if (0 < p && p <= 21) {
        dq_buf_put(b, d, (size_t)p);
        dq_buf_putc(b, '.');
        dq_buf_put(b, d + p, (size_t)(k - p));
    } else if (-6 < p && p <= 0) {
        dq_buf_put(b, "0.", 2);
        for (int i = p; i < 0; i++)
            dq_buf_putc(b, '0');
        dq_buf_put(b, d, (size_t)k);
    } else {
        dq_buf_putc(b, d[0]);
        if (k > 1) {
            dq_buf_putc(b, '.');
            dq_buf_put(b, d + 1, (size_t)(k - 1));
        }
        int e = abs(p - 1);
        char ex[8] = {'e', p - 1 >= 0 ? '+' : '-'};
        int n = 2;
        if (e >= 100)
            ex[n++] = (char)('0' + e / 100);
        if (e >= 10)
            ex[n++] = (char)('0' + e / 10 % 10);
        ex[n++] = (char)('0' + e % 10);
        dq_buf_put(b, ex, (size_t)n);
    }
}

static const char two_digits[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                 "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                 "8081828384858687888990919293949596979899";

/* How many decimal digits x has (1 for 0). */
static int digit_count(uint64_t x)
{
    int n = 1;
    for (; x >= 10; x /= 10)
        n++;
    return n;
}

/* x as exactly n decimal digits (leading zeros) at o, two at a time. */
static void put_digits(char *o, uint64_t x, int n)
{
    for (; n >= 2; n -= 2, x /= 100)
        memcpy(o + n - 2, two_digits + 2 * (x % 100), 2);
    if (n)
        o[0] = (char)('0' + x);
}

/* dq_num_write_rounded's other cases, apart so that its common one needs no frame. */
__attribute__((noinline, cold)) static void write_rounded_general(dq_buf *b, double v, int decimals)
{
    dq_num r = dq_num_round(v, decimals);
    dq_num_write(b, &r);
}

void dq_num_write_rounded(dq_buf *b, double v, int decimals)
{
    /* What dq_num_write prints for dq_num_round(v, decimals), digits straight from the
     * rounded integer: in fixed notation from 1e-6 up (smaller ones fall back, ES writes them
     * with an exponent), 0 and integers without a point, the fraction without trailing zeros. */
    double scaled = v * pow10_exact[decimals];
    int64_t mant = fabs(scaled) < 1e15 ? round_half_away(scaled) : 0;
    uint64_t m = (uint64_t)(mant < 0 ? -mant : mant);
    if (mant == 0 || (decimals > 6 && m < pow10_u64[decimals - 6]) || b->cap - b->len < 40) {
        write_rounded_general(b, v, decimals);
        return;
    }
    char *o = b->p + b->len;
    *o = '-';
    o += mant < 0;
    uint64_t one = pow10_u64[decimals], whole = m / one, frac = m - whole * one;
    if (whole < 10) { /* scores and most z: one digit */
        *o++ = (char)('0' + whole);
    } else {
        int n = digit_count(whole);
        put_digits(o, whole, n);
        o += n;
    }
    if (frac) {
        int n = decimals;
        for (; frac % 10 == 0; n--)
            frac /= 10;
        *o++ = '.';
        put_digits(o, frac, n);
        o += n;
    }
    b->len = (size_t)(o - b->p);
}

void dq_num_write(dq_buf *b, const dq_num *num)
{
    char d[32];
    int k, p;
    bool neg;
    if (!isfinite(num->v)) { /* never produced by the parser; be safe */
        dq_buf_puts(b, "null");
        return;
    }
    if (num->v == 0.0) {
        dq_buf_putc(b, '0');
        return;
    }
    if (num->exact) {
        uint64_t m = (uint64_t)(num->mant < 0 ? -num->mant : num->mant);
        neg = num->mant < 0;
        k = digit_count(m);
        put_digits(d, m, k);
        p = k + num->exp10;
    } else {
        /* Shortest of %.15e .. %.17e that reads back as the same double. */
        char e[40];
        for (int prec = 14; prec <= 16; prec++) {
            snprintf(e, sizeof e, "%.*e", prec, num->v);
            if (strtod(e, NULL) == num->v || prec == 16)
                break;
        }
        neg = e[0] == '-';
        const char *q = e + neg;
        k = 0;
        for (; *q && *q != 'e'; q++)
            if (is_digit(*q))
                d[k++] = *q;
        int ex = atoi(q + 1);
        while (k > 1 && d[k - 1] == '0')
            k--;
        p = ex + 1;
    }
    write_es(b, neg, d, k, p);
}
