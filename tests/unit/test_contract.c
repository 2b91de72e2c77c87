/* Unit tests for contract.c: a valid contract compiles; each mistake names file:line. */
#include "dq_int.h"
#include "testhelp.h"

extern long dq_fault_fail_at, dq_fault_count;

static const char base[] = "apiVersion: v3.0.2\n"
                           "kind: DataContract\n"
                           "id: t\n"
                           "version: 1.0.0\n"
                           "schema:\n"
                           "  - name: r\n"
                           "    properties:\n"
                           "      - name: id\n"
                           "        logicalType: string\n"
                           "        required: true\n"
                           "        primaryKey: true\n"
                           "      - name: ts\n"
                           "        logicalType: timestamp\n"
                           "        required: true\n"
                           "        eventTime: true\n";

/* Returns the error for base + extra, or "" if it compiles. */
static const char *load(const char *extra)
{
    static dq_error err;
    char text[4096];
    snprintf(text, sizeof text, "%s%s", base, extra);
    dq_contract *c = dq_contract_parse_n(text, strlen(text), "t.yaml", &err);
    if (c) {
        dq_contract_free(c);
        return "";
    }
    CHECK_INT(err.code, DQ_ERR_CONTRACT);
    CHECK(err.line > 0 && strstr(err.msg, ":") != NULL);
    return err.msg;
}

static void test_valid(void)
{
    dq_error err;
    CHECK_STR(load(""), "");
    CHECK_STR(load("      - name: v\n        logicalType: number\n        logicalTypeOptions: {minimum: 0, maximum: 5}\n"
                   "        onOutOfRange: cap\nrules:\n  duplicate: {window: 1m}\nmetrics:\n  windows: [1m, 1h]\n"),
              "");
    dq_contract *c = dq_contract_load(DQ_SOURCE_DIR "/contracts/sensor_readings.yaml", &err);
    CHECK(c != NULL);
    if (c) {
        CHECK_STR(dq_contract_id(c), "sensor-readings");
        CHECK_INT(dq_contract_window_count(c), 2);
        CHECK_INT(dq_contract_window_ms(c, 1), 3600000);
        CHECK_STR(dq_contract_field_name(c, 2), "temperature");
    }
    dq_contract_free(c);
}

static void test_errors(void)
{
    CHECK_STR(load("      - name: v\n        logicalType: number\n        logicalTypeOptions: {minimun: 0}\n"),
              "t.yaml:18: unknown key 'minimun' in logicalTypeOptions");
    CHECK_STR(load("      - name: v\n        logicalType: float\n"),
              "t.yaml:17: unknown logicalType 'float' (string, number, integer, boolean, timestamp)");
    CHECK_STR(load("      - name: v\n        logicalType: string\n        logicalTypeOptions: {pattern: '(a|b)'}\n"),
              "t.yaml:18: pattern '(a|b)' at offset 0: groups and alternation are not supported (use enum for "
              "alternatives)");
    CHECK_STR(load("rules:\n  duplicate: {window: soon}\n"),
              "t.yaml:17: 'window' must be a duration such as 500ms, 10s, 5m, 1h, 1d");
    CHECK_STR(load("      - name: id\n        logicalType: string\n"), "t.yaml:16: property 'id' declared twice");
    CHECK_STR(load("bogus: 1\n"), "t.yaml:16: unknown key 'bogus' in the contract");
    CHECK_STR(load("      - name: v\n        logicalType: number\n        onOutOfRange: explode\n"),
              "t.yaml:18: 'onOutOfRange' must be reject, cap or warn");
    CHECK_STR(load("limits: {maxDepth: 1000}\n"), "t.yaml:16: 'maxDepth' must be an integer from 1 to 64");
    CHECK_STR(load("  - [unclosed\n"), "t.yaml:17: YAML syntax: did not find expected ',' or ']'");
    /* Duplicate and conflicting keys, and a second document, are errors (not "the first wins"). */
    CHECK_STR(load("      - name: v\n        logicalType: number\n        onOutOfRange: warn\n"
                   "        onOutOfRange: reject\n"),
              "t.yaml:19: key 'onOutOfRange' given twice (first on line 18)");
    CHECK_STR(load("limits: {maxDepth: 8, maxDepth: 9}\n"), "t.yaml:16: key 'maxDepth' given twice (first on line 16)");
    CHECK_STR(load("---\nid: other\n"), "t.yaml:17: a second YAML document: a contract is one document");
    CHECK_STR(load("rules:\n  duplicate: {window: 31d}\n"), "t.yaml:17: duplicate window must be at most 30d");
    CHECK_STR(load("      - name: v\n        logicalType: number\n        stuck: {count: 70000}\n"),
              "t.yaml:18: 'count' must be an integer from 2 to 65535");
    CHECK_STR(load("...\n"), ""); /* the end of the one document */
}

/* The error for base + a number property "v" with one more key, or "" if it compiles. */
static const char *load_number_with(const char *key_line)
{
    char text[512];
    snprintf(text, sizeof text, "      - name: v\n        logicalType: number\n        %s\n", key_line);
    return load(text);
}

/* Spans in the sensor's intervals where a rule is about one sensor's time; the two spike forms. */
static void test_relative_rules(void)
{
    CHECK_STR(load("rules:\n  gap: {after: 10 intervals}\n  late: {tolerance: 2.5 intervals}\n"), "");
    CHECK_STR(load("rules:\n  gap: {after: 1 interval}\n"), "");
    CHECK_STR(load("rules:\n  duplicate: {window: 10 intervals}\n"),
              "t.yaml:17: 'window' must be a duration such as 500ms, 10s, 5m, 1h, 1d");
    CHECK_STR(load("rules:\n  gap: {after: 0 intervals}\n"),
              "t.yaml:17: 'after' must be a duration such as 500ms, 10s, 5m, 1h, 1d, or a number of the sensor's "
              "intervals such as '10 intervals'");
    CHECK_STR(load("rules:\n  gap: {after: 10 ticks}\n"),
              "t.yaml:17: 'after' must be a duration such as 500ms, 10s, 5m, 1h, 1d, or a number of the sensor's "
              "intervals such as '10 intervals'");
    CHECK_STR(load_number_with("spike: {deviations: 10, minChange: 1}"), "");
    CHECK_STR(load_number_with("spike: {maxRatePerSecond: 0.5}"), "");
    const char either[] = "t.yaml:18: spike needs either maxRatePerSecond (absolute) or deviations (relative to "
                          "the sensor)";
    CHECK_STR(load_number_with("spike: {maxRatePerSecond: 0.5, deviations: 10}"), either);
    CHECK_STR(load_number_with("spike: {minChange: 1}"), either);
    CHECK_STR(load_number_with("spike: {maxRatePerSecond: 0.5, minChange: 1}"),
              "t.yaml:18: spike: maxRatePerSecond must be positive (minChange goes with deviations)");
    CHECK_STR(load_number_with("spike: {deviations: -1}"),
              "t.yaml:18: spike: deviations must be positive and minChange not negative");
    CHECK_STR(load_number_with("onMissing: {impute: last_good, maxAge: 3 intervals}"), "");
    CHECK_STR(load_number_with("noise: {ratio: 3, action: warn}"), "");
    const char ratio[] = "t.yaml:18: noise needs a ratio above 1 (recent changes against the sensor's typical change)";
    CHECK_STR(load_number_with("noise: {ratio: 1}"), ratio);
    CHECK_STR(load_number_with("noise: {action: warn}"), ratio);
    CHECK_STR(load_number_with("noise: {ratio: 3, window: 8}"), "t.yaml:18: unknown key 'window' in noise");
    CHECK_STR(load("      - name: s\n        logicalType: string\n        noise: {ratio: 3}\n"),
              "t.yaml:18: noise applies to numeric fields");
    CHECK_STR(load_number_with("drift: {deviations: 3, action: warn}"), "");
    const char deviations[] = "t.yaml:18: drift needs deviations above 1 (the departure from the sensor's daily "
                              "profile against its typical one)";
    CHECK_STR(load_number_with("drift: {deviations: 0.5}"), deviations);
    CHECK_STR(load_number_with("drift: {action: warn}"), deviations);
    CHECK_STR(load("      - name: s\n        logicalType: string\n        drift: {deviations: 3}\n"),
              "t.yaml:18: drift applies to numeric fields");
    char five[1024] = "";
    for (int i = 0; i < 5; i++)
        snprintf(five + strlen(five), sizeof five - strlen(five),
                 "      - name: v%d\n        logicalType: number\n        drift: {deviations: 3}\n", i);
    CHECK_STR(load(five), "t.yaml:30: at most 4 fields with a drift rule");
}

static void test_missing_file(void)
{
    dq_error err;
    CHECK(dq_contract_load("/nonexistent/c.yaml", &err) == NULL);
    CHECK(strstr(err.msg, "/nonexistent/c.yaml: cannot open") == err.msg);
    CHECK_INT(err.code, DQ_ERR_IO);
    CHECK_INT(err.line, 0);
    CHECK(dq_contract_load("/nonexistent/c.yaml", NULL) == NULL); /* err may be NULL */
}

/* One table gives every code its name and text; each is distinct, and unknown codes are named so. */
static void test_error_codes(void)
{
    static const dq_err codes[] = {
#define CODE(name, value, text) name,
        DQ_ERRORS(CODE)
#undef CODE
    };
    size_t n = sizeof codes / sizeof codes[0];
    CHECK_INT(n, 8);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(codes[i], -(int)i); /* 0, -1, -2, ... in order */
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(dq_err_name(codes[i]), dq_err_name(codes[j])) != 0);
            CHECK(strcmp(dq_err_str(codes[i]), dq_err_str(codes[j])) != 0);
        }
    }
    CHECK_STR(dq_err_name(DQ_ERR_MODEL), "DQ_ERR_MODEL");
    CHECK_STR(dq_err_str(DQ_ERR_CONTRACT), "invalid contract");
    CHECK_STR(dq_err_name((dq_err)-99), "DQ_ERR_UNKNOWN");
    CHECK_STR(dq_reason_str(DQ_R_OUT_OF_RANGE), "a number outside [minimum, maximum]");
    CHECK_STR(dq_reason_name((dq_reason)99), "UNKNOWN");
    CHECK_STR(dq_action_name(DQ_ACT_IMPUTED), "imputed");
    CHECK_STR(dq_action_name((dq_action)99), "unknown");
    dq_error err;
    CHECK(dq_contract_parse_n("a: [", 4, "bad.yaml", &err) == NULL);
    CHECK_INT(err.code, DQ_ERR_CONTRACT);
    CHECK_STR(err.msg, "bad.yaml:2: YAML syntax: did not find expected node content"); /* at the end */
    CHECK_INT(err.line, 2);
    CHECK(dq_engine_new(NULL, &err) == NULL);
    CHECK_INT(err.code, DQ_ERR_ARG);
}

/* Every allocation of a load may fail: each failure is an error, never a crash or leak. */
static void test_alloc_failures(void)
{
    dq_error err;
    int failures = 0;
    for (long n = 1; n < 400; n++) {
        dq_fault_count = 0;
        dq_fault_fail_at = n;
        dq_contract *c = dq_contract_load(DQ_SOURCE_DIR "/contracts/sensor_readings.yaml", &err);
        dq_engine *e = c ? dq_engine_new(c, &err) : NULL;
        failures += c == NULL || e == NULL;
        if (c == NULL || e == NULL) {
            CHECK_INT(err.code, DQ_ERR_NOMEM);
            if (err.code != DQ_ERR_NOMEM)
                fprintf(stderr, "allocation %ld: %s\n", n, err.msg);
        }
        dq_engine_free(e);
        dq_contract_free(c);
        if (dq_fault_count < n)
            break; /* fewer allocations than n: all points covered */
    }
    dq_fault_fail_at = 0;
    CHECK(failures > 10);
}

int main(void)
{
    RUN(test_valid);
    RUN(test_errors);
    RUN(test_error_codes);
    RUN(test_relative_rules);
    RUN(test_missing_file);
    RUN(test_alloc_failures);
    return th_report("test_contract");
}
