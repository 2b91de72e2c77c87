/* Unit tests for timefmt.c: ISO-8601 parsing, canonical printing, durations. */
#include "dq_int.h"
#include "testhelp.h"

static int64_t iso(const char *s, bool naive)
{
    int64_t ms = -1;
    return dq_time_parse_iso(s, strlen(s), naive, &ms) ? ms : -1;
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
    RUN(test_format);
    RUN(test_duration);
    return th_report("test_timefmt");
}
