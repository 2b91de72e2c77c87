/* Unit tests for anomaly.c: features, the online detector, model files and scoring. */
#include <math.h>
#include <stdlib.h>

#include "dq_int.h"
#include "testhelp.h"

static dq_contract *ctr;
static dq_engine *eng;
static dq_result res;

static void fresh(void)
{
    dq_error err;
    dq_engine_free(eng);
    eng = dq_engine_new(ctr, &err);
}

/* One reading of sensor_1 at second s of 2026-11-26T04:00 (every 10 s in the tests). */
static size_t reading_json(char *json, size_t cap, int s, double temperature, double humidity)
{
    return (size_t)snprintf(json, cap,
                            "{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:%02d:%02d.000Z\","
                            "\"temperature\":%.2f,\"humidity\":%.2f}", s / 60, s % 60, temperature, humidity);
}

static int reading(int s, double temperature, double humidity)
{
    char json[256];
    dq_engine_eval_n(eng, json, reading_json(json, sizeof json, s, temperature, humidity), &res);
    return (int)res.verdict;
}

/* The same through dq_engine_eval_features: the reading's feature vector into features. */
static double features[10];
static void reading_features(int s, double temperature, double humidity)
{
    char json[256];
    uint64_t offs[2] = {0, reading_json(json, sizeof json, s, temperature, humidity)};
    CHECK_INT((int)dq_engine_eval_features(eng, json, offs, 1, features), 1);
}

/* 30 steady readings (the course contract's warm-up), 20 °C +- 0.1, 40 % +- 0.2. */
static void warm_up(void)
{
    for (int i = 0; i < 30; i++) {
        reading(i * 10, 20 + (i % 2 ? 0.1 : -0.1), 40 + (i % 2 ? 0.2 : -0.2));
        CHECK(!res.anomaly_scored);
    }
}

static bool annotation_has(const char *text)
{
    char buf[2048];
    size_t n = res.verdict_json_len < sizeof buf - 1 ? res.verdict_json_len : sizeof buf - 1;
    memcpy(buf, res.verdict_json, n);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

static void test_features_and_online_detector(void)
{
    CHECK_INT(dq_contract_feature_count(ctr), 10);
    CHECK_STR(dq_contract_feature_name(ctr, 0), "temperature.value");
    CHECK_STR(dq_contract_feature_name(ctr, 6), "humidity.dev");
    CHECK_STR(dq_contract_feature_name(ctr, 9), "time.cos");
    CHECK(dq_contract_feature_name(ctr, 10) == NULL);

    fresh();
    warm_up();
    CHECK_INT(reading(300, 20.05, 40), DQ_PASS);
    CHECK(res.anomaly_scored && !res.is_anomaly && res.anomaly_z < 3);
    /* The score: z / (z + the threshold, 6), under 0.5 while not flagged. */
    CHECK(fabs(res.anomaly_score - res.anomaly_z / (res.anomaly_z + 6)) < 1e-12 && res.anomaly_score < 0.5);
    CHECK(res.features == NULL); /* without a model no feature vector is computed */
    CHECK(annotation_has("\"anomaly\":{\"z\":") && annotation_has("\"score\":0."));
    CHECK(annotation_has("\"flag\":false,\"field\":\""));

    /* 0.9 °C up in 10 s: no SPIKE for the rules (under their minChange of 1 °C), far outside
     * the sensor's spread. */
    CHECK_INT(reading(310, 20.95, 40), DQ_PASS);
    CHECK_INT(res.reasons, 0);
    CHECK(res.is_anomaly && res.anomaly_z > 6 && res.anomaly_score >= 0.5);
    CHECK(annotation_has("\"flag\":true,\"field\":\"temperature\"}"));
    CHECK_STR(dq_contract_field_name(ctr, res.anomaly_field), "temperature");
    /* The field named is the one furthest from its normal: here humidity. */
    CHECK_INT(reading(315, 20.9, 45), DQ_PASS);
    CHECK(res.is_anomaly && annotation_has("\"field\":\"humidity\"}"));

    /* A reading with an imputed field is not scored (it is not all readings). */
    const char imputed[] = "{\"sensor_id\":\"sensor_1\",\"timestamp\":\"2026-11-26T04:05:20.000Z\",\"temperature\":20}";
    CHECK_INT(dq_engine_eval_n(eng, imputed, sizeof imputed - 1, &res), DQ_OK);
    CHECK_INT(res.verdict, DQ_FIXED);
    CHECK(!res.anomaly_scored && !annotation_has("anomaly"));

    /* Rejected events are not scored and do not move the running statistics. */
    CHECK_INT(reading(330, 99, 40), DQ_REJECT);
    CHECK(!res.anomaly_scored);
}

static unsigned char saved[DQ_STATE_MAX_BYTES];
static size_t saved_len;
static void keep_state(const char *key, size_t key_len, const void *state, size_t len, void *opaque)
{
    (void)key, (void)key_len, (void)opaque;
    memcpy(saved, state, len);
    saved_len = len;
}

static void test_feature_vector(void)
{
    fresh();
    warm_up();
    reading_features(300, 20.05, 40);
    CHECK(features[0] == 20.05 && fabs(features[1] - (20.05 - 20.1)) < 1e-12);
    CHECK(features[3] > 0.05 && features[3] < 0.15); /* the running std of +-0.1 */
    CHECK(fabs(features[8] - sin(6.283185307179586 * (4 * 3600 + 300) / 86400.0)) < 1e-12);
    CHECK(fabs(features[9] - cos(6.283185307179586 * (4 * 3600 + 300) / 86400.0)) < 1e-12);
    /* Not scored (a rejected reading): NaN. Then plain evaluation again: no vector. */
    reading_features(310, 99, 40);
    CHECK(isnan(features[0]) && isnan(features[9]));
    CHECK_INT(reading(320, 20.1, 40), DQ_PASS);
    CHECK(res.anomaly_scored && res.features == NULL);
}

/* A sensor whose first reading is a glitch 25 °C off: its warm-up starts again at the first
 * two readings alike, so the readings it scores have the spread of its scatter, not of the
 * glitch. (The mean started from the glitch, clipped steps took it back over hundreds of
 * readings, and the std was 4.5 °C by the time the sensor was scored.) */
static void test_a_glitch_first_does_not_widen_the_running_std(void)
{
    fresh();
    reading(0, 45, 40);
    for (int i = 1; i <= 31; i++) {
        reading(i * 10, 20 + (i % 2 ? 0.1 : -0.1), 40 + (i % 2 ? 0.2 : -0.2));
        CHECK(!res.anomaly_scored); /* the warm-up starts again at the 3rd reading: 30 from there */
    }
    reading_features(320, 20.05, 40);
    CHECK(fabs(features[2]) < 0.3 && features[3] < 0.15); /* temperature.dev, temperature.std */
}

static void test_state_keeps_the_running_statistics(void)
{
    fresh();
    warm_up();
    dq_engine_state_changes(eng, keep_state, NULL);
    reading(300, 20.4, 40.1);
    double z = res.anomaly_z;
    fresh();
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, saved, saved_len), DQ_OK);
    reading(300, 20.4, 40.1);
    CHECK(res.anomaly_scored && res.anomaly_z == z);

    /* A non-finite running mean is not a state. */
    unsigned char bad[DQ_STATE_MAX_BYTES];
    memcpy(bad, saved, saved_len);
    double nan_value = NAN;
    /* the last field's ew_mean, before 8 + 4 + 8 + 1 + 4 + 1 + 2 + 4 + 8 bytes and the profiles (state.c) */
    size_t mean_at = saved_len - TH_SENSOR_PROFILE_BYTES - (8 + 8 + 4 + 8 + 1 + 4 + 1 + 2 + 4 + 8);
    memcpy(bad + mean_at, &nan_value, sizeof nan_value);
    CHECK_INT(dq_engine_state_restore(eng, "sensor_1", 8, bad, saved_len), DQ_ERR_STATE);
}

/* A one-tree forest on the course contract's 10 features: temperature.value <= 25 ends in a
 * leaf that kept 3 samples, above in a leaf of 1; grown on sub-samples of 4. */
#define FEATURES "features 10 temperature.value temperature.delta temperature.dev temperature.std humidity.value " \
                 "humidity.delta humidity.dev humidity.std time.sin time.cos\n"
static const char tiny[] = "dq-iforest 1\n" FEATURES "max_samples 4\nthreshold 0.5\ntrees 1\n"
                           "tree 3\n0 25.0 1 2 4\n-1 0 -1 -1 3\n-1 0 -1 -1 1\n";

/* A model file the tests expect to load (NULL, said on stderr, when it does not). */
static dq_model *loaded(const char *text, size_t len)
{
    dq_error err;
    dq_model *m = dq_model_parse_n(text, len, "model", &err);
    CHECK(m != NULL);
    if (!m)
        fprintf(stderr, "%s\n", err.msg);
    return m;
}

static void test_model_scores(void)
{
    dq_error err;
    dq_model *m = loaded(tiny, sizeof tiny - 1);
    if (!m)
        return;
    CHECK_INT(dq_model_feature_count(m), 10);
    CHECK(dq_model_threshold(m) == 0.5);
    double x[10] = {20};
    /* 2^-(path / c(4)) with path = depth + c(samples in the leaf), as scikit-learn computes it. */
    CHECK(fabs(dq_model_score(m, x) - 0.4376598631629993) < 1e-15);
    x[0] = 30;
    CHECK(fabs(dq_model_score(m, x) - 0.6877436677788327) < 1e-15);
    x[0] = 25.0000001; /* float32: 25.0000001 is 25.0f, which goes left */
    CHECK(dq_model_score(m, x) < 0.5);

    fresh();
    CHECK_INT(dq_engine_set_model(eng, m, &err), DQ_OK);
    warm_up();
    reading(300, 20, 40);
    CHECK(res.anomaly_scored && !res.is_anomaly && annotation_has("\"score\":0.4377,\"flag\":false"));
    reading(310, 26, 40);
    CHECK(res.is_anomaly && annotation_has("\"flag\":true"));
    CHECK_INT(dq_engine_set_model(eng, NULL, &err), DQ_OK);
    dq_engine_free(eng);
    eng = NULL;
    dq_model_free(m);
}

static void refused(const char *text, const char *message)
{
    dq_error err;
    dq_model *m = dq_model_parse_n(text, strlen(text), "m", &err);
    CHECK(m == NULL);
    if (!m && !strstr(err.msg, message))
        fprintf(stderr, "model error '%s' lacks '%s'\n", err.msg, message);
    CHECK(!m && strstr(err.msg, message) != NULL);
    CHECK_INT(err.code, DQ_ERR_MODEL);
    CHECK(err.line > 0);
    dq_model_free(m);
}

static void test_model_files_refused(void)
{
    refused("", "expected 'dq-iforest'");
    refused("dq-iforest 2\n", "from 1 to 1");
    refused("dq-iforest 1\n" FEATURES "max_samples 1\nthreshold 0.5\ntrees 1\n", "max_samples must be at least 2");
    refused("dq-iforest 1\n" FEATURES "max_samples 4\nthreshold nan\ntrees 1\n", "m:4: not a finite number");
    const char *head = "dq-iforest 1\n" FEATURES "max_samples 4\nthreshold 0.5\ntrees 1\n";
    char text[1024];
    snprintf(text, sizeof text, "%stree 2\n0 1.0 0 1 4\n-1 0 -1 -1 1\n", head);
    refused(text, "not depth first"); /* a loop */
    snprintf(text, sizeof text, "%stree 2\n10 1.0 1 1 4\n-1 0 -1 -1 1\n", head);
    refused(text, "from -1 to 9"); /* no such feature */
    snprintf(text, sizeof text, "%stree 1\n-1 0 0 -1 4\n", head);
    refused(text, "a leaf has children");
    snprintf(text, sizeof text, "%stree 3\n0 1.0 1 2 4\n-1 0 -1 -1 3\n", head);
    refused(text, "expected an integer"); /* truncated */
    snprintf(text, sizeof text, "%s%s", tiny, "more\n");
    refused(text, "unexpected text after the model");

    dq_error err;
    CHECK(dq_model_load("/nonexistent/model.txt", &err) == NULL && strstr(err.msg, "cannot open"));
    CHECK_INT(err.code, DQ_ERR_IO);
    /* The features must be the contract's. */
    char other[1024];
    snprintf(other, sizeof other, "dq-iforest 1\nfeatures 1 x\nmax_samples 4\nthreshold 0.5\ntrees 1\ntree 1\n-1 0 -1 -1 4\n");
    dq_model *m = dq_model_parse_n(other, strlen(other), "other", &err);
    CHECK(m != NULL);
    fresh();
    CHECK_INT(dq_engine_set_model(eng, m, &err), DQ_ERR_MODEL);
    CHECK_INT(err.code, DQ_ERR_MODEL);
    CHECK(strstr(err.msg, "not the contract's") != NULL);
    dq_model_free(m);
}

/* A Hotelling T² model on the course contract's 10 features that uses two of them,
 * temperature.value (mean 20, variance 4) and humidity.value (mean 40, variance 25),
 * uncorrelated: the score is the sum of their squared standard deviations from the mean. */
#define ZEROS8 "0 0 0 0 0 0 0 0 "
static const char hotelling[] =
    "dq-hotelling 1\n" FEATURES "threshold 9\nmean 20 0 0 0 40 0 0 0 0 0\nprecision\n"
    "0.25 " ZEROS8 "0\n" ZEROS8 "0 0\n" ZEROS8 "0 0\n" ZEROS8 "0 0\n"
    "0 0 0 0 0.04 0 0 0 0 0\n" ZEROS8 "0 0\n" ZEROS8 "0 0\n" ZEROS8 "0 0\n" ZEROS8 "0 0\n" ZEROS8 "0 0\n";

static void test_hotelling_model(void)
{
    dq_error err;
    dq_model *m = loaded(hotelling, sizeof hotelling - 1);
    if (!m)
        return;
    CHECK_INT(dq_model_feature_count(m), 10);
    CHECK(dq_model_threshold(m) == 9);
    double x[10] = {20, 5, 5, 5, 40, NAN, 5, INFINITY, 1, 1}; /* the unused features count for nothing */
    CHECK(dq_model_score(m, x) == 0);
    x[0] = 24, x[4] = 45; /* 2 and 1 standard deviations: 4 + 1 */
    CHECK(fabs(dq_model_score(m, x) - 5) < 1e-12);
    x[4] = 30; /* 2 and -2 */
    CHECK(fabs(dq_model_score(m, x) - 8) < 1e-12);
    x[4] = NAN; /* a feature it uses */
    CHECK(isnan(dq_model_score(m, x)));

    fresh();
    CHECK_INT(dq_engine_set_model(eng, m, &err), DQ_OK);
    warm_up();
    reading(300, 21, 41);
    CHECK(res.anomaly_scored && !res.is_anomaly);
    reading(310, 27, 41); /* 3.5 standard deviations: 12.25 + 0.04 */
    CHECK(res.is_anomaly && annotation_has("\"score\":12.29,\"flag\":true"));
    dq_engine_free(eng);
    eng = NULL;
    dq_model_free(m);

    refused("dq-hotelling 1\nfeatures 2 a b\nthreshold 1\nmean 0 0\nprecision 1 0.5 0 1\n",
            "m:5: the precision matrix is not symmetric");
    refused("dq-hotelling 1\nfeatures 2 a b\nthreshold 1\nmean 0 0\nprecision 1 0 0\n", "expected a number");
    refused("dq-hotelling 1\nfeatures 2 a b\nthreshold 1\nmean 0 inf\nprecision 1 0 0 1\n", "not a finite number");
    refused("dq-hotelling 1\nfeatures 2 a b\nthreshold 1\nmean 0 0\nprecision 1 0 0 1 2\n",
            "unexpected text after the model");
    refused("dq-forest 1\n", "expected 'dq-iforest' or 'dq-hotelling'");
}

/* A sensor under anomaly.alarmsPerDay: 24 alarms a day at one reading every 10 s is one
 * reading in 360. Its readings scatter with heavier tails than a normal distribution's
 * (Laplace): the contract's fixed threshold flags far fewer, the budget's threshold about
 * as many as it allows, once learned; the threshold is saved and restored with the state. */
static dq_contract *budget_contracts[3];
static dq_engine *budget_engine(const char *anomaly)
{
    char yaml[1024];
    dq_error err;
    snprintf(yaml, sizeof yaml,
             "kind: DataContract\nid: t\nversion: 1\nschema:\n  - name: r\n    properties:\n"
             "      - {name: id, logicalType: string, required: true, primaryKey: true}\n"
             "      - {name: ts, logicalType: timestamp, required: true, eventTime: true,"
             " logicalTypeOptions: {formats: [epoch_s]}}\n"
             "      - {name: v, logicalType: number, required: true}\n"
             "anomaly: {fields: [v], %s}\n", anomaly);
    dq_contract *c = dq_contract_parse_n(yaml, strlen(yaml), "t.yaml", &err);
    CHECK(c != NULL);
    for (int i = 0; i < 3; i++)
        if (!budget_contracts[i]) {
            budget_contracts[i] = c;
            break;
        }
    dq_engine *e = c ? dq_engine_new(c, &err) : NULL;
    CHECK(e != NULL);
    return e;
}

static double laplace(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = ((double)(*x >> 11) + 0.5) / 9007199254740992.0 - 0.5; /* (-0.5, 0.5) */
    return u < 0 ? log(1 + 2 * u) : -log(1 - 2 * u);
}

/* Readings [from, to) of one sensor every 10 s, every every-th off by off: how many were flagged. */
static int flags_of_with(dq_engine *e, long from, long to, uint64_t *x, long every, double off)
{
    int flags = 0;
    for (long i = from; i < to; i++) {
        char json[128];
        int n = snprintf(json, sizeof json, "{\"id\":\"s\",\"ts\":%ld,\"v\":%.4f}", 1700000000 + 10 * i,
                         20 + 0.1 * laplace(x) + (every && i % every == 0 ? off : 0));
        dq_engine_eval_n(e, json, (size_t)n, &res);
        flags += res.is_anomaly;
    }
    return flags;
}

static int flags_of(dq_engine *e, long from, long to, uint64_t *x)
{
    return flags_of_with(e, from, to, x, 0, 0);
}

static void test_false_alarm_budget(void)
{
    const long day = 8640; /* readings */
    uint64_t x = 1, y = 1;
    dq_engine *fixed = budget_engine("threshold: 6"), *budget = budget_engine("threshold: 6, alarmsPerDay: 24");
    if (!fixed || !budget)
        return;
    flags_of(fixed, 0, 5 * day, &x), flags_of(budget, 0, 5 * day, &y); /* five days to learn */
    int fixed_flags = flags_of(fixed, 5 * day, 25 * day, &x), budget_flags = flags_of(budget, 5 * day, 25 * day, &y);
    CHECK(fixed_flags < 20 * 24 / 3);
    CHECK(budget_flags > 20 * 24 * 0.8 && budget_flags < 20 * 24 * 1.25);
    if (budget_flags <= 20 * 24 * 0.8 || budget_flags >= 20 * 24 * 1.25 || fixed_flags >= 20 * 24 / 3)
        fprintf(stderr, "20 days: %d flags with the fixed threshold, %d under a budget of 480\n", fixed_flags,
                budget_flags);

    /* The learned threshold travels with the state: a restored engine flags as the one that
     * never stopped. Version 4 state (without it) restores with the contract's threshold. */
    dq_engine_state_changes(budget, keep_state, NULL);
    dq_engine *restored = budget_engine("threshold: 6, alarmsPerDay: 24");
    CHECK_INT(dq_engine_state_restore(restored, "s", 1, saved, saved_len), DQ_OK);
    uint64_t x2 = y;
    int a = flags_of(budget, 25 * day, 26 * day, &y), b = flags_of(restored, 25 * day, 26 * day, &x2);
    CHECK_INT(a, b);
    CHECK(a > 0);
    unsigned char v4[DQ_STATE_MAX_BYTES];
    size_t z_flag_at = 5 + 8 + 8 * DQ_DUP_RING + 5; /* after cadence_ms (state.c) */
    /* Version 4: without z_flag, without the one field's spike_level, bias_step and bias_ms, and
     * without the count of profiles (version 6). */
    size_t field = z_flag_at + 4, level_at = field + 2 + saved[field + 1] + 8 + 4 + 1;
    memcpy(v4, saved, z_flag_at);
    memcpy(v4 + z_flag_at, saved + field, level_at - field);
    size_t v4_len = saved_len - 1 - 17; /* this contract has no drift rule: a count of 0 profiles */
    memcpy(v4 + z_flag_at + (level_at - field), saved + level_at + 1, v4_len - z_flag_at - (level_at - field));
    v4[0] = 4;
    CHECK_INT(dq_engine_state_restore(restored, "s", 1, v4, v4_len), DQ_OK);
    flags_of(restored, 26 * day, 26 * day + 1, &x2);
    CHECK(dq_engine_state_restore(restored, "s", 1, v4, v4_len + 4) == DQ_ERR_STATE); /* a version 4 too long */
    /* A burst of anomalies (2 °C off, one reading in 20, for a day) does not raise the
     * threshold until they hide each other; the budget holds after it. */
    int burst = flags_of_with(budget, 26 * day, 27 * day, &y, 20, 2);
    int after = flags_of(budget, 27 * day, 37 * day, &y);
    CHECK(burst >= day / 20 && burst < day / 20 + 2 * 24);
    CHECK(after > 10 * 24 * 0.7 && after < 10 * 24 * 1.3);
    if (burst < day / 20 || burst >= day / 20 + 2 * 24 || after <= 10 * 24 * 0.7 || after >= 10 * 24 * 1.3)
        fprintf(stderr, "a day with %ld anomalies: %d flags; 10 days after it: %d (budget 240)\n", day / 20, burst,
                after);
    float bad = 0.5f; /* under DQ_FLAG_MIN */
    memcpy(saved + z_flag_at, &bad, 4);
    CHECK_INT(dq_engine_state_restore(restored, "s", 1, saved, saved_len), DQ_ERR_STATE);
    dq_engine_free(fixed), dq_engine_free(budget), dq_engine_free(restored);
    for (int i = 0; i < 3; i++)
        dq_contract_free(budget_contracts[i]);
}

static void test_contract_section_refused(void)
{
    static const char *const bad[][2] = {
        {"fields: [battery_level]", "not a number property"},
        {"fields: [temperature, temperature]", "listed twice"},
        {"fields: []", "needs a 'fields' list"},
        {"fields: [temperature]\n  threshold: 0", "must be positive"},
        {"fields: [temperature]\n  halflife: 3", "unknown key 'halflife'"},
        {"fields: [temperature]\n  alarmsPerDay: 0", "alarmsPerDay must be"},
        {"fields: [temperature]\n  alarmsPerDay: many", "must be a finite number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char yaml[2048];
        dq_error err;
        snprintf(yaml, sizeof yaml,
                 "kind: DataContract\nid: t\nversion: 1\nschema:\n  - name: r\n    properties:\n"
                 "      - {name: sensor_id, logicalType: string, required: true, primaryKey: true}\n"
                 "      - {name: ts, logicalType: timestamp, required: true, eventTime: true}\n"
                 "      - {name: temperature, logicalType: number}\n"
                 "anomaly:\n  %s\n", bad[i][0]);
        dq_contract *c = dq_contract_parse_n(yaml, strlen(yaml), "t.yaml", &err);
        CHECK(c == NULL && strstr(err.msg, bad[i][1]) != NULL);
        if (c || !strstr(err.msg, bad[i][1]))
            fprintf(stderr, "case %zu: %s\n", i, c ? "accepted" : err.msg);
        dq_contract_free(c);
    }
}

int main(void)
{
    ctr = th_sensor_contract();
    RUN(test_features_and_online_detector);
    RUN(test_feature_vector);
    RUN(test_a_glitch_first_does_not_widen_the_running_std);
    RUN(test_state_keeps_the_running_statistics);
    RUN(test_model_scores);
    RUN(test_model_files_refused);
    RUN(test_hotelling_model);
    RUN(test_false_alarm_budget);
    RUN(test_contract_section_refused);
    dq_engine_free(eng);
    dq_contract_free(ctr);
    return th_report("test_anomaly");
}
