/* Unit tests for pattern.c: the supported regular-expression subset. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dq_int.h"
#include "testhelp.h"

static int m(const char *re, const char *s)
{
    dq_error err;
    dq_pattern *p = dq_pattern_compile(re, &err);
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

/* Nested quantifiers on long fields: a backtracking matcher needs about 2^40 steps for
 * these; linear matching answers at once (a hang here is the regression). */
static void test_pathological_patterns_on_64k_fields(void)
{
    size_t n = 65536;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = '\0';
    CHECK_INT(m("^\\w*\\w*\\w*\\w*\\w*\\w*\\w*\\w*$", s), 1);
    s[n - 1] = '!';
    CHECK_INT(m("^\\w*\\w*\\w*\\w*\\w*\\w*\\w*\\w*$", s), 0);
    CHECK_INT(m("^a*a*a*a*a*a*a*a*b$", s), 0);
    CHECK_INT(m("a*a*a*a*!$", s), 1);             /* unanchored start */
    CHECK_INT(m("^a{2,}a{3,}a{4,}!", s), 1);      /* unanchored end */
    CHECK_INT(m("^a*[a-z]{10000}!$", s), 1);
    CHECK_INT(m("[a-z]{10000}[a-z]{10000}b", s), 0);
    s[0] = '!';
    CHECK_INT(m("^!a*\\w+!$", s), 1);
    free(s);
}

/* Random patterns of the subset against POSIX extended regular expressions, which agree
 * with it on whether a string matches. */
static void test_agrees_with_posix_regex(void)
{
    static const char *const atoms[] = {"a", "b", "[ab]", ".", "[^a]", "\\d"};
    static const char *const posix_atoms[] = {"a", "b", "[ab]", ".", "[^a]", "[0-9]"};
    static const char *const quants[] = {"", "*", "+", "?", "{1,2}", "{2}", "{0,3}"};
    unsigned seed = 7, disagree = 0, compared = 0;
    for (int t = 0; t < 3000; t++) {
        char re[128] = "", posix[128] = "";
        bool start = (seed = seed * 1103515245 + 12345) >> 16 & 1, end = (seed = seed * 1103515245 + 12345) >> 16 & 1;
        strcat(re, start ? "^" : ""), strcat(posix, start ? "^" : "");
        int nodes = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 5;
        for (int k = 0; k < nodes; k++) {
            int a = (int)((seed = seed * 1103515245 + 12345) >> 16) % 6, q = (int)((seed = seed * 1103515245 + 12345) >> 16) % 7;
            strcat(re, atoms[a]), strcat(re, quants[q]);
            strcat(posix, posix_atoms[a]), strcat(posix, quants[q]);
        }
        strcat(re, end ? "$" : ""), strcat(posix, end ? "$" : "");
        regex_t rx;
        if (regcomp(&rx, posix, REG_EXTENDED | REG_NOSUB) != 0)
            continue;
        for (int u = 0; u < 20; u++) {
            char str[10];
            int len = (int)((seed = seed * 1103515245 + 12345) >> 16) % 9;
            for (int i = 0; i < len; i++)
                str[i] = "ab1c"[((seed = seed * 1103515245 + 12345) >> 16) % 4];
            str[len] = '\0';
            int want = regexec(&rx, str, 0, NULL, 0) == 0, got = m(re, str);
            compared++;
            if (got != want && disagree++ < 5)
                printf("  '%s' on \"%s\": libdq %d, POSIX %d\n", re, str, got, want);
        }
        regfree(&rx);
    }
    CHECK_INT(disagree, 0);
    CHECK_INT(compared, 60000); /* every random pattern compiled in both */
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
    RUN(test_pathological_patterns_on_64k_fields);
    RUN(test_agrees_with_posix_regex);
    RUN(test_compile_errors);
    return th_report("test_pattern");
}
