/* Unit tests for timefmt.c: ISO-8601 parsing, canonical printing, durations. */
#include "dq_int.h"
#include "testhelp.h"

static int64_t iso(const char *s, bool naive)
{
    int64_t ms = -1;
    return dq_time_parse_iso(s, strlen(s), naive, &ms, NULL) ? ms : -1;
}

static void test_parse(void)
{
    CHECK_INT(iso("1970-01-01T00:00:00Z", false), 0);
    CHECK_INT(iso("2026-11-26T04:13:00.250Z", false), 1795666380250LL);
    CHECK_INT(iso("2026-11-26T05:13:00.250+01:00", false), 1795666380250LL);
    CHECK_INT(iso("2026-11-26 04:13:00Z", false), 1795666380000LL);
    CHECK_INT(iso("2024-02-29T00:00:00Z", false), 1709164800000LL);
    CHECK_INT(iso("2026-11-26T04:13:00.123456789Z", false), 1795666380123LL);
    CHECK_INT(iso("2026-11-26T04:13:00", false), -1); /* no offset */
    CHECK_INT(iso("2026-11-26T04:13:00", true), 1795666380000LL);
    CHECK_INT(iso("2023-02-29T00:00:00Z", false), -1);
    CHECK_INT(iso("2026-13-01T00:00:00Z", false), -1);
    CHECK_INT(iso("2026-11-26T24:00:00Z", false), -1);
    CHECK_INT(iso("2026-11-26T04:13:00Zjunk", false), -1);
    CHECK_INT(iso("not a time", false), -1);
    CHECK_INT(iso("", false), -1);
}

/* With a memo of the last date, every result is the one without: a run of one date, another
 * date, invalid dates and times after a valid date (in libdq's own form, the memo's path), and
 * random mutations of such times. */
static void test_day_memo(void)
{
    static const char *seq[] = {
        "2026-11-26T04:13:00.250Z", "2026-11-26T04:13:10.250Z", "2026-11-26T24:00:00.000Z",
        "2026-11-26T04:60:00.000Z", "2026-11-26T04:13:61.000Z", "2026-11-27T00:00:00.001Z",
        "2026-02-30T00:00:00.000Z", "2026-11-27T00:00:00.002Z", "2024-02-29T23:59:59.999Z",
        "2023-02-29T00:00:00.000Z", "2026-11-2xT00:00:00.000Z", "2026-11-27T0x:00:00.000Z",
        "2026-11-27 00:00:00.000Z", "2026-11-27T00:00:00.000+01:00", "2026-11-27T00:00:00.003Z"};
    dq_day_memo memo = {0};
    for (size_t k = 0; k < sizeof seq / sizeof *seq; k++) {
        int64_t with = -1, without = -1;
        bool a = dq_time_parse_iso(seq[k], strlen(seq[k]), false, &with, &memo);
        bool b = dq_time_parse_iso(seq[k], strlen(seq[k]), false, &without, NULL);
        CHECK(a == b && (!a || with == without));
    }
    uint64_t r = 88172645463325252ull;
    int bad = 0;
    for (int k = 0; k < 200000; k++) {
        char t[25] = "2026-11-26T04:13:00.250Z";
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        t[r % 24] = "0123456789:-.TZ9"[(r >> 8) % 16];
        if (r & 65536)
            t[(r >> 20) % 24] = (char)('0' + (r >> 30) % 10);
        int64_t with = -1, without = -1;
        bool a = dq_time_parse_iso(t, 24, false, &with, &memo), b = dq_time_parse_iso(t, 24, false, &without, NULL);
        bad += a != b || (a && with != without);
    }
    CHECK_INT(bad, 0);
}

static void test_format(void)
{
    char out[25];
    dq_time_format(1795666380250LL, out);
    CHECK_STR(out, "2026-11-26T04:13:00.250Z");
    dq_time_format(-1, out);
    CHECK_STR(out, "1969-12-31T23:59:59.999Z");
}

static void test_duration(void)
{
    int64_t ms;
    CHECK(dq_duration_parse("5m", &ms) && ms == 300000);
    CHECK(dq_duration_parse("250ms", &ms) && ms == 250);
    CHECK(dq_duration_parse("1d", &ms) && ms == 86400000);
    CHECK(!dq_duration_parse("5", &ms));
    CHECK(!dq_duration_parse("m", &ms));
    CHECK(!dq_duration_parse("5 minutes", &ms));
    CHECK(dq_duration_parse_n("1hxyz", 2, &ms) == DQ_OK && ms == 3600000); /* not NUL-terminated */
    CHECK(dq_duration_parse_n("5", 1, &ms) == DQ_ERR_ARG);
    CHECK(dq_duration_parse_n("99999999999999999999999999999999999s", 36, &ms) == DQ_ERR_ARG);
}

int main(void)
{
    RUN(test_parse);
    RUN(test_day_memo);
    RUN(test_format);
    RUN(test_duration);
    return th_report("test_timefmt");
}
