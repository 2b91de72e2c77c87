/*
 * timefmt.c - timestamps and durations.
 *
 * Civil dates are converted with Howard Hinnant's days_from_civil / civil_from_days
 * algorithms (proleptic Gregorian, no tables, no time zone database, no libc
 * timegm which depends on the process's TZ). Event times are int64 milliseconds
 * since 1970-01-01T00:00:00Z. Accepted years: 1..9999.
 */
#include <string.h>

#include "dq_int.h"

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Reads exactly k digits at s[*i]. */
static bool digits(const char *s, size_t n, size_t *i, int k, int *out)
{
    int v = 0;
    if (*i + (size_t)k > n)
        return false;
    for (int j = 0; j < k; j++) {
        char c = s[*i + (size_t)j];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)k;
    *out = v;
    return true;
}

static bool expect(const char *s, size_t n, size_t *i, char c)
{
    if (*i < n && s[*i] == c) {
        (*i)++;
        return true;
    }
    return false;
}

/* The day number of a civil date (days since 1970-01-01), or false if there is no such date. */
static bool civil_days(int y, int mo, int d, int64_t *days)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return false;
    *days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    return true;
}

/* The instant of a day and a time of day (ms since the epoch), or false if there is no such time. */
static bool at_time(int64_t days, int h, int mi, int sec, int milli, int off_min, int64_t *ms)
{
    if (h > 23 || mi > 59 || sec > 59)
        return false;
    *ms = ((days * 24 + h) * 60 + mi - off_min) * 60000 + (int64_t)sec * 1000 + milli;
    return true;
}

/* The k digits at s as a number, or -1 if one is not a digit. */
static inline int fixed_digits(const char *s, int k)
{
    int v = 0;
    for (int j = 0; j < k; j++) {
        unsigned c = (unsigned)(s[j] - '0');
        if (c > 9)
            return -1;
        v = v * 10 + (int)c;
    }
    return v;
}

bool dq_time_parse_iso(const char *s, size_t n, bool allow_naive, int64_t *ms, dq_day_memo *memo)
{
    if (n == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' &&
        s[23] == 'Z') {
        /* The form libdq writes, and most senders: fixed offsets; the date as the last one's. */
        int h = fixed_digits(s + 11, 2), mi = fixed_digits(s + 14, 2), sec = fixed_digits(s + 17, 2),
            milli = fixed_digits(s + 20, 3);
        if ((h | mi | sec | milli) < 0)
            return false;
        if (memo && memo->known && dq_same_bytes(s, memo->date, 10))
            return at_time(memo->days, h, mi, sec, milli, 0, ms);
        int y = fixed_digits(s, 4), mo = fixed_digits(s + 5, 2), d = fixed_digits(s + 8, 2);
        int64_t days;
        if ((y | mo | d) < 0 || !civil_days(y, mo, d, &days))
            return false;
        if (memo) {
            memcpy(memo->date, s, 10);
            memo->days = days;
            memo->known = true;
        }
        return at_time(days, h, mi, sec, milli, 0, ms);
    }
    size_t i = 0;
    int y, mo, d, h, mi, sec = 0, milli = 0, off_min = 0;
    if (!digits(s, n, &i, 4, &y) || !expect(s, n, &i, '-') || !digits(s, n, &i, 2, &mo) ||
        !expect(s, n, &i, '-') || !digits(s, n, &i, 2, &d))
        return false;
    if (!(expect(s, n, &i, 'T') || expect(s, n, &i, 't') || expect(s, n, &i, ' ')))
        return false;
    if (!digits(s, n, &i, 2, &h) || !expect(s, n, &i, ':') || !digits(s, n, &i, 2, &mi))
        return false;
    if (expect(s, n, &i, ':')) {
        if (!digits(s, n, &i, 2, &sec))
            return false;
        if (expect(s, n, &i, '.') || expect(s, n, &i, ',')) {
            int k = 0;
            for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++)
                if (k < 3)
                    milli = milli * 10 + (s[i] - '0');
            if (k == 0 || k > 9)
                return false;
            for (; k < 3; k++)
                milli *= 10;
        }
    }
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1, oh, om;
        if (!digits(s, n, &i, 2, &oh))
            return false;
        expect(s, n, &i, ':');
        if (!digits(s, n, &i, 2, &om) || oh > 23 || om > 59)
            return false;
        off_min = sign * (oh * 60 + om);
    } else if (!allow_naive) {
        return false;
    }
    int64_t days;
    return i == n && civil_days(y, mo, d, &days) && at_time(days, h, mi, sec, milli, off_min, ms);
}

void dq_time_format(int64_t ms, char out[25])
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999; /* out of the accepted range: callers reject earlier */
    unsigned v[7] = {(unsigned)y, m, d, (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60),
                     (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000)};
    static const char digits2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                  "8081828384858687888990919293949596979899";
    char *p = out;
    memcpy(p, digits2 + 2 * (v[0] / 100), 2);
    memcpy(p + 2, digits2 + 2 * (v[0] % 100), 2);
    p[4] = '-';
    memcpy(p + 5, digits2 + 2 * v[1], 2);
    p[7] = '-';
    memcpy(p + 8, digits2 + 2 * v[2], 2);
    p[10] = 'T';
    memcpy(p + 11, digits2 + 2 * v[3], 2);
    p[13] = ':';
    memcpy(p + 14, digits2 + 2 * v[4], 2);
    p[16] = ':';
    memcpy(p + 17, digits2 + 2 * v[5], 2);
    p[19] = '.';
    p[20] = (char)('0' + v[6] / 100);
    memcpy(p + 21, digits2 + 2 * (v[6] % 100), 2);
    p[23] = 'Z';
    p[24] = '\0';
}

bool dq_duration_parse(const char *s, int64_t *ms)
{
    int64_t v = 0;
    size_t i = 0, n = strlen(s);
    if (n == 0)
        return false;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > (int64_t)1 << 40)
            return false;
    }
    if (i == 0)
        return false;
    const char *u = s + i;
    int64_t mult;
    if (strcmp(u, "ms") == 0)
        mult = 1;
    else if (strcmp(u, "s") == 0)
        mult = 1000;
    else if (strcmp(u, "m") == 0)
        mult = 60000;
    else if (strcmp(u, "h") == 0)
        mult = 3600000;
    else if (strcmp(u, "d") == 0)
        mult = 86400000;
    else
        return false;
    *ms = v * mult;
    return true;
}

dq_err dq_duration_parse_n(const char *s, size_t len, int64_t *ms)
{
    char text[32]; /* the longest valid duration, 13 digits and "ms", fits */
    if (!s || !ms || len >= sizeof text)
        return DQ_ERR_ARG;
    memcpy(text, s, len);
    text[len] = '\0';
    return dq_duration_parse(text, ms) ? DQ_OK : DQ_ERR_ARG;
}

dq_err dq_time_parse_n(const char *s, size_t len, int64_t *ms)
{
    if (!s || !ms || !dq_time_parse_iso(s, len, false, ms, NULL))
        return DQ_ERR_ARG;
    return DQ_OK;
}

void dq_time_format_ms(int64_t ms, char out[25]) { dq_time_format(ms, out); }
