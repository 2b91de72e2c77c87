/*
 * anomaly.c - anomaly scoring: per-sensor features, the online detector, and
 * isolation forests trained in Python.
 *
 * Features come from the sensor's state before the event, so training (through
 * dq_engine_eval_features) and scoring in a stream see the same numbers. The state
 * per anomaly field is an exponentially weighted mean and variance; a reading updates
 * them with its deviation clipped at the detector's threshold, so one glitch does not
 * blind the detector for the next ones while a real change of level still moves the
 * mean within a few half-lives.
 *
 * The online detector needs no training: z = |value - mean| / max(std, minStd), the
 * largest over the fields (the field is named), flags at a threshold once a sensor has
 * had its warm-up readings: the contract's, or, with a false-alarm budget
 * (alarmsPerDay), the sensor's own, which follows its scores so that the share of its
 * readings flagged is the budget's. Its score, z / (z + threshold), is in [0, 1) and
 * reaches 0.5 where the flag begins, whatever the sensor.
 *
 * Models, exported from Python as text (ml/export.py): an isolation forest,
 *
 *   dq-iforest 1
 *   features <n> <name> ... <name>       the contract's feature names, in its order
 *   max_samples <m>                      sub-sample size each tree was grown on
 *   threshold <t>                        the operating point chosen in training
 *   trees <k>
 *   tree <nodes>                         then one line per node, root first:
 *   <feature> <threshold> <left> <right> <n_samples>    (leaves: -1 0 -1 -1 n)
 *
 * Scoring follows sklearn.ensemble.IsolationForest.score_samples exactly: features
 * are compared as float32 (as scikit-learn's trees do), a path is its depth plus the
 * average path length c(n) of the samples left in its leaf, and the score is
 * 2^(-mean path / c(max_samples)). scikit-learn grows trees depth first, so a node's
 * left child is the next node and its right child comes later: the loader refuses
 * other files, and a walk always ends. A threshold is kept as the largest float not
 * above it, which sends every float to the same side as the double did.
 *
 * or a Hotelling T² model: the score is the squared Mahalanobis distance of the vector
 * from the training mean, (x - mean)' P (x - mean), P the inverse of the training
 * covariance (a shrunk one: ml/export.py), flagged at the control limit `threshold`:
 *
 *   dq-hotelling 1
 *   features <n> <name> ... <name>
 *   threshold <t>
 *   mean <n numbers>
 *   precision <n x n numbers, row by row>   (symmetric, positive semi-definite)
 *
 * A feature the model does not use has a row and column of zeros: scoring skips it.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dq_int.h"

#define MODEL_MAX_TREES 10000
#define MODEL_MAX_NODES (1u << 24) /* over all trees */
#define EULER_GAMMA 0.57721566490153286060651209008240243
#define TWO_PI 6.28318530717958647692528676655900577
#define DQ_GLITCH_START 3 /* readings in which a glitch first restarts a sensor's warm-up */

/* ---------------------------------------------------------------- features */

/* max and min of numbers that are not NaN, inline (fmax and fmin are calls into libm). */
static inline double max_of(double a, double b) { return a > b ? a : b; }
static inline double min_of(double a, double b) { return a < b ? a : b; }

void dq_anomaly_update(const dq_contract *ctr, dq_numstate *ns, double v, bool flagged)
{
    double limit = ctr->z_threshold * max_of(sqrt(ns->ew_var), ctr->min_std);
    /* Among a sensor's first DQ_GLITCH_START readings, two in a row alike and both beyond the
     * limit say that the mean started from a glitch (a first reading 25 °C off), not that both
     * are off: the warm-up starts again from this one. Else the clipped mean would take
     * hundreds of readings to leave the glitch, widening the variance all the way (to 4.5 °C
     * for a sensor that scatters by 0.2). Not later: a mean of more readings is no glitch, and
     * a step it has not learned is for the detector to flag (restarting at a bias that began
     * in the warm-up made its end a new level, flagged for hundreds of readings). */
    if (ns->ew_n > 0 && ns->ew_n <= DQ_GLITCH_START && ns->has_last && fabs(v - ns->ew_mean) > limit &&
        fabs(ns->last_v - ns->ew_mean) > limit && fabs(v - ns->last_v) <= limit)
        ns->ew_n = 0;
    if (ns->ew_n == 0) {
        ns->ew_mean = v;
        ns->ew_var = 0;
    } else {
        double d = max_of(-limit, min_of(limit, v - ns->ew_mean));
        /* A flagged reading moves the mean (clipped: a new level is still learned) but not the
         * variance: flagged outliers would widen it until the next ones hide in it. */
        double mean = ns->ew_mean + ctr->ew_alpha * d,
               var = flagged ? ns->ew_var : (1 - ctr->ew_alpha) * (ns->ew_var + ctr->ew_alpha * d * d);
        if (isfinite(mean) && var < FLT_MAX) { /* readings near the double's limits would overflow them */
            ns->ew_mean = mean;
            ns->ew_var = (float)var;
        }
    }
    if (ns->ew_n < ctr->warmup)
        ns->ew_n++;
}

/* The flag threshold under a false-alarm budget: a stochastic quantile tracker on its logarithm
 * (steps in proportion to the scale of z). A flag multiplies it by e^(DQ_FLAG_STEP x (1 - p)),
 * any other scored reading by e^(-DQ_FLAG_STEP x p) (to first order: p is small, or the error
 * at most 1.3 %), where p = alarmsPerDay x the sensor's cadence / 1 day is the share of
 * readings the budget allows: it settles where a share p of the sensor's scores lie above it,
 * whatever their distribution (real ones are heavier-tailed than a normal one). It starts at
 * the contract's threshold, so a new sensor flags less than its budget, not more, while it
 * learns. What it must learn is the tail of the sensor's normal readings: readings with
 * findings (a SPIKE, NOISE) do not move it, nor does a flag beyond twice the threshold, which
 * is an anomaly, not a sign that the threshold is too low (else a burst of anomalies would
 * raise it until they hide each other). */
static void follow_budget(const dq_contract *ctr, dq_keystate *ks, const dq_eval *ev, double flag_at)
{
    const dq_result *res = ev->res;
    if (res->n_details > 0 || res->anomaly_z > 2 * flag_at)
        return;
    double p = ctr->alarms_per_day * ks->tm.cadence_ms / 86400000.0;
    p = p < 0.5 ? p : 0.5;
    flag_at *= ev->z_flagged ? exp(DQ_FLAG_STEP * (1 - p)) : 1 - DQ_FLAG_STEP * p;
    ks->z_flag = (float)(flag_at < DQ_FLAG_MIN ? DQ_FLAG_MIN : flag_at > DQ_FLAG_MAX ? DQ_FLAG_MAX : flag_at);
}

void dq_anomaly_score(dq_engine *eng, dq_keystate *ks, dq_eval *ev)
{
    const dq_contract *ctr = eng->ctr;
    dq_result *res = ev->res;
    double *x = eng->features, z = 0;
    int field = -1;
    for (int j = 0; j < ctr->n_anomaly_fields; j++) {
        int fi = ctr->anomaly_fields[j];
        const dq_numstate *ns = &dq_key_num(&eng->state, ks)[ctr->fields[fi].num_slot];
        if (!ev->present[fi] || ev->imputed[fi] || ns->ew_n < ctr->warmup)
            return;
        double v = ev->num[fi].v, sd = sqrt(ns->ew_var);
        x[j * DQ_FEATURES_PER_FIELD] = v;
        x[j * DQ_FEATURES_PER_FIELD + 1] = ns->has_last ? v - ns->last_v : 0;
        x[j * DQ_FEATURES_PER_FIELD + 2] = v - ns->ew_mean;
        x[j * DQ_FEATURES_PER_FIELD + 3] = sd;
        double zf = fabs(v - ns->ew_mean) / max_of(sd, ctr->min_std); /* minStd > 0: never 0 / 0 */
        if (field < 0 || zf > z) {
            z = zf;
            field = fi;
        }
    }
    res->anomaly_scored = true;
    res->anomaly_z = z;
    res->anomaly_field = field;
    if (eng->model || eng->want_features) {
        /* The time of day, for models only: sin and cos cost more than the rest of the vector. */
        const int64_t day = 86400000;
        int64_t t = ev->ts_ms[ctr->time_field];
        double angle = TWO_PI * (double)(((t % day) + day) % day) / (double)day;
        x[ctr->n_features - 2] = sin(angle);
        x[ctr->n_features - 1] = cos(angle);
        res->features = x;
    }
    double flag_at = ctr->alarms_per_day > 0 && ks->z_flag > 0 ? ks->z_flag : ctr->z_threshold;
    ev->z_flagged = z >= flag_at;
    if (ctr->alarms_per_day > 0)
        follow_budget(ctr, ks, ev, flag_at);
    if (eng->model) {
        res->anomaly_score = dq_model_score(eng->model, x);
        res->is_anomaly = res->anomaly_score >= eng->model->threshold;
    } else {
        res->is_anomaly = ev->z_flagged;
        res->anomaly_score = isfinite(z) ? z / (z + flag_at) : 1; /* z overflows for readings near the double's limits */
    }
}

/* ---------------------------------------------------------------- models */

/* The average path length of an unsuccessful search in a binary search tree of n
 * items: what a leaf still holding n samples adds to a path (scikit-learn's
 * _average_path_length). */
static double average_path_length(double n)
{
    if (n <= 1)
        return 0;
    if (n <= 2)
        return 1;
    return 2.0 * (log(n - 1.0) + EULER_GAMMA) - 2.0 * (n - 1.0) / n;
}

/* Over the features the model uses only: the others may hold anything, NaN included. NaN
 * when a feature it uses is not finite. */
static double hotelling_score(const dq_model *model, const double *x)
{
    size_t n = (size_t)model->n_features;
    double d[DQ_MAX_FEATURES], t2 = 0;
    for (int k = 0; k < model->n_used; k++)
        d[k] = x[model->used[k]] - model->mean[model->used[k]];
    for (int k = 0; k < model->n_used; k++) {
        const double *row = model->precision + (size_t)model->used[k] * n;
        double r = 0;
        for (int l = 0; l < model->n_used; l++)
            r += row[model->used[l]] * d[l];
        t2 += d[k] * r;
    }
    return t2 < 0 ? 0 : t2; /* rounding can leave a hair below 0 near the mean */
}

double dq_model_score(const dq_model *model, const double *x)
{
    if (model->kind == DQ_MODEL_HOTELLING)
        return hotelling_score(model, x);
    float xf[DQ_MAX_FEATURES];
    for (int k = 0; k < model->n_features; k++)
        xf[k] = (float)x[k];
    double depths = 0;
    for (int t = 0; t < model->n_trees; t++) {
        const dq_tree_node *nodes = model->nodes + model->tree_start[t];
        size_t i = 0;
        int depth = 0;
        while (nodes[i].feature >= 0) {
            i = xf[nodes[i].feature] <= nodes[i].threshold ? i + 1 : (size_t)nodes[i].right;
            depth++;
        }
        depths += depth + model->leaf_paths[nodes[i].right];
    }
    return pow(2.0, -depths / model->denominator);
}

/* The largest float not above v: for every float x, x <= it exactly when x <= v. */
static float float_floor(double v)
{
    float f = (float)v;
    return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

/* Makes room for n more items in *arr (of *cap); false when out of memory. */
static bool grow(void **arr, size_t *cap, size_t used, size_t n, size_t item)
{
    if (used + n <= *cap)
        return true;
    size_t want = *cap ? *cap : 1024;
    while (want < used + n)
        want *= 2;
    void *grown = dq_realloc(*arr, want * item);
    if (!grown)
        return false;
    *arr = grown;
    *cap = want;
    return true;
}

typedef struct cursor {
    const char *p, *end;
    const char *name;
    int line;
    dq_error *err;
    bool failed;
} cursor;

/* The first mistake wins: DQ_ERR_MODEL with "name:line: what". */
static void merr(cursor *c, const char *what)
{
    if (!c->failed)
        dq_error_set(c->err, DQ_ERR_MODEL, c->line, "%s:%d: %s", c->name, c->line, what);
    c->failed = true;
}

static void mnomem(cursor *c)
{
    if (!c->failed)
        dq_error_set(c->err, DQ_ERR_NOMEM, 0, "%s: out of memory", c->name);
    c->failed = true;
}

/* The next whitespace-separated token (at most 255 bytes) into tok; false at the end. */
static bool token(cursor *c, char tok[256])
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) {
        if (*c->p == '\n')
            c->line++;
        c->p++;
    }
    size_t n = 0;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t' && *c->p != '\r' && *c->p != '\n') {
        if (n == 255) {
            merr(c, "token longer than 255 bytes");
            return false;
        }
        tok[n++] = *c->p++;
    }
    tok[n] = '\0';
    return n > 0;
}

static void expect_word(cursor *c, const char *word)
{
    char tok[256];
    if (!c->failed && (!token(c, tok) || strcmp(tok, word) != 0)) {
        char msg[128];
        snprintf(msg, sizeof msg, "expected '%s'", word);
        merr(c, msg);
    }
}

static double read_double(cursor *c)
{
    char tok[256], *end;
    if (c->failed || !token(c, tok)) {
        merr(c, "expected a number");
        return 0;
    }
    errno = 0;
    double v = strtod(tok, &end);
    if (*end || errno || !isfinite(v))
        merr(c, "not a finite number");
    return v;
}

static long read_long(cursor *c, long lo, long hi)
{
    char tok[256], *end;
    if (c->failed || !token(c, tok)) {
        merr(c, "expected an integer");
        return lo;
    }
    errno = 0;
    long v = strtol(tok, &end, 10);
    if (*end || errno || v < lo || v > hi) {
        char msg[128];
        snprintf(msg, sizeof msg, "expected an integer from %ld to %ld", lo, hi);
        merr(c, msg);
        return lo;
    }
    return v;
}

static void parse_features(cursor *c, dq_model *m)
{
    expect_word(c, "features");
    m->n_features = (int)read_long(c, 1, DQ_MAX_FEATURES);
    for (int i = 0; i < m->n_features && !c->failed; i++) {
        char tok[256];
        if (!token(c, tok)) {
            merr(c, "expected a feature name");
            return;
        }
        if (!(m->feature_names[i] = dq_strndup(tok, strlen(tok))))
            mnomem(c);
    }
}

/* n finite numbers into a new array (NULL once the cursor failed). */
static double *read_doubles(cursor *c, size_t n)
{
    double *v = c->failed ? NULL : dq_calloc(n, sizeof *v);
    if (!v && !c->failed)
        mnomem(c);
    for (size_t i = 0; v && i < n && !c->failed; i++)
        v[i] = read_double(c);
    return v;
}

static void parse_hotelling(cursor *c, dq_model *m)
{
    m->kind = DQ_MODEL_HOTELLING;
    parse_features(c, m);
    expect_word(c, "threshold");
    m->threshold = read_double(c);
    expect_word(c, "mean");
    m->mean = read_doubles(c, (size_t)m->n_features);
    expect_word(c, "precision");
    size_t n = (size_t)m->n_features;
    m->precision = read_doubles(c, n * n);
    for (size_t i = 0; i < n && !c->failed; i++) {
        bool used = false;
        for (size_t j = 0; j < n; j++) {
            if (m->precision[i * n + j] != m->precision[j * n + i]) {
                merr(c, "the precision matrix is not symmetric");
                return;
            }
            used |= m->precision[i * n + j] != 0;
        }
        if (used)
            m->used[m->n_used++] = (int)i;
    }
}

static void parse_iforest(cursor *c, dq_model *m)
{
    parse_features(c, m);
    expect_word(c, "max_samples");
    double max_samples = (double)read_long(c, 1, 1L << 30);
    expect_word(c, "threshold");
    m->threshold = read_double(c);
    expect_word(c, "trees");
    m->n_trees = (int)read_long(c, 1, MODEL_MAX_TREES);
    if (c->failed)
        return;
    m->denominator = m->n_trees * average_path_length(max_samples);
    if (!(m->denominator > 0)) {
        merr(c, "max_samples must be at least 2");
        return;
    }
    m->tree_start = dq_calloc((size_t)m->n_trees, sizeof *m->tree_start);
    if (!m->tree_start) {
        mnomem(c);
        return;
    }
    size_t node_cap = 0, leaf_cap = 0;
    for (int t = 0; t < m->n_trees && !c->failed; t++) {
        expect_word(c, "tree");
        size_t n = (size_t)read_long(c, 1, MODEL_MAX_NODES);
        if (c->failed)
            return;
        if (n > MODEL_MAX_NODES - m->n_nodes) {
            merr(c, "more than 2^24 nodes");
            return;
        }
        if (!grow((void **)&m->nodes, &node_cap, m->n_nodes, n, sizeof *m->nodes) ||
            !grow((void **)&m->leaf_paths, &leaf_cap, m->n_leaves, n, sizeof *m->leaf_paths)) {
            mnomem(c);
            return;
        }
        m->tree_start[t] = m->n_nodes;
        dq_tree_node *nodes = m->nodes + m->n_nodes;
        for (size_t i = 0; i < n && !c->failed; i++) {
            long feature = read_long(c, -1, m->n_features - 1);
            double threshold = read_double(c);
            long left = read_long(c, -1, (long)n - 1), right = read_long(c, -1, (long)n - 1);
            long samples = read_long(c, 1, 1L << 30);
            if (c->failed)
                return;
            if (feature < 0) {
                if (left != -1 || right != -1) {
                    merr(c, "a leaf has children");
                    return;
                }
                m->leaf_paths[m->n_leaves] = average_path_length((double)samples);
                nodes[i] = (dq_tree_node){.feature = -1, .right = (int32_t)m->n_leaves++};
            } else {
                if (left != (long)i + 1 || right <= left) {
                    merr(c, "not depth first: a left child must be the next node, the right one later");
                    return;
                }
                nodes[i] = (dq_tree_node){.feature = (int16_t)feature, .threshold = float_floor(threshold),
                                          .right = (int32_t)right};
            }
        }
        m->n_nodes += n;
    }
}

static void parse_model(cursor *c, dq_model *m)
{
    char tok[256];
    if (!token(c, tok) || (strcmp(tok, "dq-iforest") != 0 && strcmp(tok, "dq-hotelling") != 0)) {
        merr(c, "expected 'dq-iforest' or 'dq-hotelling'");
        return;
    }
    if (read_long(c, 1, 1) != 1)
        return;
    if (strcmp(tok, "dq-hotelling") == 0)
        parse_hotelling(c, m);
    else
        parse_iforest(c, m);
    if (!c->failed && token(c, tok))
        merr(c, "unexpected text after the model");
}

dq_model *dq_model_parse_n(const char *text, size_t len, const char *name, dq_error *err)
{
    cursor c = {.p = text, .end = text ? text + len : text, .name = name ? name : "<model>", .line = 1, .err = err};
    dq_error_clear(err);
    dq_model *m = dq_calloc(1, sizeof *m);
    if (!m) {
        mnomem(&c);
        return NULL;
    }
    parse_model(&c, m);
    if (c.failed) {
        dq_model_free(m);
        return NULL;
    }
    return m;
}

dq_model *dq_model_load(const char *path, dq_error *err)
{
    size_t len;
    char *text = dq_read_file(path, 256u << 20, &len, err);
    if (!text)
        return NULL;
    dq_model *m = dq_model_parse_n(text, len, path, err);
    dq_free(text);
    return m;
}

void dq_model_free(dq_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_features; i++)
        dq_free(m->feature_names[i]);
    dq_free(m->mean);
    dq_free(m->precision);
    dq_free(m->tree_start);
    dq_free(m->nodes);
    dq_free(m->leaf_paths);
    dq_free(m);
}

int dq_model_feature_count(const dq_model *m) { return m ? m->n_features : 0; }
const char *dq_model_feature_name(const dq_model *m, int i)
{
    return m && i >= 0 && i < m->n_features ? m->feature_names[i] : NULL;
}
double dq_model_threshold(const dq_model *m) { return m ? m->threshold : NAN; }

dq_err dq_engine_set_model(dq_engine *eng, const dq_model *model, dq_error *err)
{
    dq_error_clear(err);
    if (!eng) {
        dq_error_set(err, DQ_ERR_ARG, 0, "no engine");
        return DQ_ERR_ARG;
    }
    const dq_contract *ctr = eng->ctr;
    if (model) {
        bool same = model->n_features == ctr->n_features;
        for (int i = 0; same && i < ctr->n_features; i++)
            same = strcmp(model->feature_names[i], ctr->feature_names[i]) == 0;
        if (!same) {
            dq_error_set(err, DQ_ERR_MODEL, 0, "the model's %d features are not the contract's %d (%s ...)",
                         model->n_features, ctr->n_features, ctr->n_features ? ctr->feature_names[0] : "none");
            return DQ_ERR_MODEL;
        }
    }
    eng->model = model;
    return DQ_OK;
}
