/* Unit tests for pattern.c: the supported regular-expression subset. */
#include "dq_int.h"
#include "testhelp.h"

static int m(const char *re, const char *s)
{
    char err[160];
    dq_pattern *p = dq_pattern_compile(re, err, sizeof err);
    if (!p)
        return -1;
    int r = dq_pattern_match(p, s, strlen(s));
    dq_pattern_free(p);
    return r;
}

static void test_match(void)
{
    CHECK_INT(m("^sensor_[0-9]+$", "sensor_12"), 1);
    CHECK_INT(m("^sensor_[0-9]+$", "sensor_"), 0);
    CHECK_INT(m("^sensor_[0-9]+$", "sensor_invalid"), 0);
    CHECK_INT(m("^sensor_[0-9]+$", "xsensor_1"), 0);
    CHECK_INT(m("^sensor_[0-9]+$", "sensor_1x"), 0);
    CHECK_INT(m("sensor", "my_sensor_x"), 1);
    CHECK_INT(m("^a.c$", "abc"), 1);
    CHECK_INT(m("^\\d{2,3}$", "123"), 1);
    CHECK_INT(m("^\\d{2,3}$", "1234"), 0);
    CHECK_INT(m("^[^ ]*x$", "abx"), 1);
    CHECK_INT(m("^a*a*a*b$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"), 0);
    CHECK_INT(m("^[A-Z]\\w?$", "Q"), 1);
    CHECK_INT(m("^\\.$", "."), 1);
    CHECK_INT(m("^\\.$", "a"), 0);
}

static void test_compile_errors(void)
{
    CHECK_INT(m("^(a|b)$", "a"), -1);
    CHECK_INT(m("^a**$", "a"), -1);
    CHECK_INT(m("[abc", "a"), -1);
    CHECK_INT(m("a{3,1}", "a"), -1);
    CHECK_INT(m("\\q", "a"), -1);
    CHECK_INT(m("*a", "a"), -1);
}

int main(void)
{
    RUN(test_match);
    RUN(test_compile_errors);
    return th_report("test_pattern");
}
