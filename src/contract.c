/*
 * contract.c - loads a YAML data contract and compiles it into a dq_contract.
 *
 * The format follows the Open Data Contract Standard v3 where it has a name for
 * a concept (apiVersion, kind, id, version, schema[].properties[], logicalType,
 * required, primaryKey, logicalTypeOptions.minimum/maximum/pattern/maxLength)
 * and adds the stream-quality settings it lacks (cleaning policies, stateful
 * rules, metric windows). docs/contract.md documents every key. Unknown keys are
 * errors, so a typo never silently disables a rule. Errors carry file:line.
 * The compiled contract is immutable: engines on any thread may share it.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "dq_int.h"

typedef struct loader {
    yaml_document_t doc;
    const char *name;
    dq_error *err;
    bool failed;
    dq_contract *ctr;
} loader;

/* The first mistake wins: DQ_ERR_CONTRACT with "name:line: what". */
static void lerr(loader *ld, const yaml_node_t *node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void lerr(loader *ld, const yaml_node_t *node, const char *fmt, ...)
{
    if (ld->failed)
        return;
    ld->failed = true;
    int line = node ? (int)node->start_mark.line + 1 : 1;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    dq_error_set(ld->err, DQ_ERR_CONTRACT, line, "%s:%d: %s", ld->name, line, what);
}

static void lnomem(loader *ld)
{
    if (!ld->failed)
        dq_error_set(ld->err, DQ_ERR_NOMEM, 0, "%s: out of memory", ld->name);
    ld->failed = true;
}

static const char *scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* Checks that every key of mapping `map` is in the NULL-terminated list `allowed`. */
static void check_keys(loader *ld, yaml_node_t *map, const char *what, const char *const *allowed)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ld->doc, p->key);
        const char *ks = scalar(k);
        bool ok = false;
        for (const char *const *a = allowed; ks && *a; a++)
            ok |= strcmp(*a, ks) == 0;
        if (!ok) {
            lerr(ld, k, "unknown key '%s' in %s", ks ? ks : "?", what);
            return;
        }
    }
}

typedef struct keyed {
    const char *key;
    const yaml_node_t *node;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->node->start_mark.index > y->node->start_mark.index) -
                       (x->node->start_mark.index < y->node->start_mark.index);
}

/*
 * Every mapping of the document has each key once. libyaml keeps duplicates and get()
 * would take the first silently ("onOutOfRange: warn" then "onOutOfRange: reject" would
 * warn). Keys are sorted, not compared pairwise: a hostile mapping of 100k keys stays fast.
 */
static void check_unique_keys(loader *ld)
{
    for (yaml_node_t *m = ld->doc.nodes.start; m < ld->doc.nodes.top && !ld->failed; m++) {
        if (m->type != YAML_MAPPING_NODE)
            continue;
        size_t n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start), k = 0;
        if (n < 2)
            continue;
        keyed *keys = dq_malloc(n * sizeof *keys);
        if (!keys) {
            lnomem(ld);
            return;
        }
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
            const yaml_node_t *kn = yaml_document_get_node(&ld->doc, p->key);
            if (scalar(kn))
                keys[k++] = (keyed){scalar(kn), kn};
        }
        qsort(keys, k, sizeof *keys, keyed_cmp);
        for (size_t i = 1; i < k; i++)
            if (strcmp(keys[i - 1].key, keys[i].key) == 0) {
                lerr(ld, keys[i].node, "key '%s' given twice (first on line %zu)", keys[i].key,
                     keys[i - 1].node->start_mark.line + 1);
                break;
            }
        dq_free(keys);
    }
}

static yaml_node_t *get(loader *ld, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *ks = scalar(yaml_document_get_node(&ld->doc, p->key));
        if (ks && strcmp(ks, key) == 0)
            return yaml_document_get_node(&ld->doc, p->value);
    }
    return NULL;
}

static yaml_node_t *need_map(loader *ld, yaml_node_t *node, const char *what)
{
    if (node && node->type != YAML_MAPPING_NODE) {
        lerr(ld, node, "%s must be a mapping", what);
        return NULL;
    }
    return node;
}

static char *get_str(loader *ld, yaml_node_t *map, const char *key, bool required)
{
    yaml_node_t *n = get(ld, map, key);
    if (!n) {
        if (required)
            lerr(ld, map, "missing '%s'", key);
        return NULL;
    }
    const char *s = scalar(n);
    if (!s) {
        lerr(ld, n, "'%s' must be a scalar", key);
        return NULL;
    }
    char *c = dq_strndup(s, strlen(s));
    if (!c)
        lnomem(ld);
    return c;
}

static bool get_bool(loader *ld, yaml_node_t *map, const char *key, bool dflt)
{
    yaml_node_t *n = get(ld, map, key);
    const char *s = scalar(n);
    if (!n)
        return dflt;
    if (s && strcmp(s, "true") == 0)
        return true;
    if (s && strcmp(s, "false") == 0)
        return false;
    lerr(ld, n, "'%s' must be true or false", key);
    return dflt;
}

static bool get_num(loader *ld, yaml_node_t *map, const char *key, dq_num *out)
{
    yaml_node_t *n = get(ld, map, key);
    if (!n)
        return false;
    const char *s = scalar(n);
    if (!s || dq_num_parse(s, strlen(s), out) != DQ_NUM_OK) {
        lerr(ld, n, "'%s' must be a finite number, got '%s'", key, s ? s : "a collection");
        return false;
    }
    return true;
}

static long get_int(loader *ld, yaml_node_t *map, const char *key, long dflt, long lo, long hi)
{
    yaml_node_t *n = get(ld, map, key);
    if (!n)
        return dflt;
    const char *s = scalar(n);
    char *end = NULL;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *end || errno || v < lo || v > hi) {
        lerr(ld, n, "'%s' must be an integer from %ld to %ld", key, lo, hi);
        return dflt;
    }
    return v;
}

/* action: reject | warn, plus cap where allowed. */
static uint8_t get_action(loader *ld, yaml_node_t *map, const char *key, uint8_t dflt, bool allow_cap)
{
    yaml_node_t *n = get(ld, map, key);
    const char *s = scalar(n);
    if (!n)
        return dflt;
    if (s && strcmp(s, "reject") == 0)
        return DQ_ACT_REJECT;
    if (s && strcmp(s, "warn") == 0)
        return DQ_ACT_WARN;
    if (s && allow_cap && strcmp(s, "cap") == 0)
        return DQ_ACT_CAPPED;
    lerr(ld, n, "'%s' must be %s", key, allow_cap ? "reject, cap or warn" : "reject or warn");
    return dflt;
}

/* "10 intervals" (or "1 interval", "2.5 intervals"): a positive multiple of the sensor's cadence. */
static bool parse_intervals(const char *s, double *k)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v > 0) || v > 1e6 || !isdigit((unsigned char)*s))
        return false;
    while (*end == ' ')
        end++;
    if (strcmp(end, "interval") != 0 && strcmp(end, "intervals") != 0)
        return false;
    *k = v;
    return true;
}

/* A span: a duration, or (when relative_ok) a number of the sensor's intervals. */
static dq_span get_span(loader *ld, yaml_node_t *map, const char *key, bool relative_ok, dq_span dflt)
{
    yaml_node_t *n = get(ld, map, key);
    dq_span span = {0};
    if (!n)
        return dflt;
    const char *s = scalar(n);
    if (s && relative_ok && parse_intervals(s, &span.intervals))
        return span;
    if (!s || !dq_duration_parse(s, &span.ms) || span.ms <= 0) {
        lerr(ld, n, "'%s' must be a duration such as 500ms, 10s, 5m, 1h, 1d%s", key,
             relative_ok ? ", or a number of the sensor's intervals such as '10 intervals'" : "");
        return dflt;
    }
    return span;
}

/* A stateful rule block such as `gap: {after: 10 intervals, action: warn}`. */
static bool rule_block(loader *ld, yaml_node_t *rules, const char *name, const char *span_key, bool relative_ok,
                       dq_span *span, uint8_t *action)
{
    yaml_node_t *r = need_map(ld, get(ld, rules, name), name);
    if (!r)
        return false;
    const char *const keys[] = {span_key, "action", NULL};
    check_keys(ld, r, name, keys);
    *span = get_span(ld, r, span_key, relative_ok, (dq_span){0});
    if (!get(ld, r, span_key))
        lerr(ld, r, "rule '%s' needs '%s'", name, span_key);
    *action = get_action(ld, r, "action", DQ_ACT_REJECT, false);
    return true;
}

static void load_missing(loader *ld, dq_field *f, yaml_node_t *n)
{
    if (!n)
        return;
    const char *s = scalar(n);
    if (s) {
        if (strcmp(s, "reject") != 0)
            lerr(ld, n, "onMissing must be 'reject' or a mapping with 'impute'");
        return;
    }
    if (!need_map(ld, n, "onMissing"))
        return;
    const char *const keys[] = {"impute", "maxAge", "value", NULL};
    check_keys(ld, n, "onMissing", keys);
    const char *how = scalar(get(ld, n, "impute"));
    if (f->type != DQ_T_NUMBER && f->type != DQ_T_INTEGER) {
        lerr(ld, n, "field '%s': imputation applies to numeric fields only", f->name);
    } else if (how && strcmp(how, "last_good") == 0) {
        f->missing = DQ_MISS_IMPUTE_LAST;
        f->impute_max_age = get_span(ld, n, "maxAge", true, (dq_span){.ms = INT64_MAX});
    } else if (how && strcmp(how, "constant") == 0) {
        f->missing = DQ_MISS_IMPUTE_CONST;
        if (!get_num(ld, n, "value", &f->impute_value))
            lerr(ld, n, "impute: constant needs a numeric 'value'");
    } else {
        lerr(ld, n, "impute must be last_good or constant");
    }
}

static void load_options(loader *ld, dq_field *f, yaml_node_t *opt)
{
    static const char *const keys[] = {"minimum", "maximum", "pattern", "maxLength", "enum", "formats", NULL};
    if (!need_map(ld, opt, "logicalTypeOptions"))
        return;
    check_keys(ld, opt, "logicalTypeOptions", keys);
    bool numeric = f->type == DQ_T_NUMBER || f->type == DQ_T_INTEGER;
    f->has_min = get_num(ld, opt, "minimum", &f->min);
    f->has_max = get_num(ld, opt, "maximum", &f->max);
    if ((f->has_min || f->has_max) && !numeric)
        lerr(ld, opt, "field '%s': minimum/maximum apply to numbers", f->name);
    if (f->has_min && f->has_max && f->min.v > f->max.v)
        lerr(ld, opt, "field '%s': minimum is above maximum", f->name);
    yaml_node_t *pat = get(ld, opt, "pattern");
    if (pat) {
        dq_error perr;
        if (f->type != DQ_T_STRING)
            lerr(ld, pat, "field '%s': pattern applies to strings", f->name);
        else if (!scalar(pat))
            lerr(ld, pat, "pattern must be a string");
        else if (!(f->pattern = dq_pattern_compile(scalar(pat), &perr))) {
            if (perr.code == DQ_ERR_NOMEM)
                lnomem(ld);
            else
                lerr(ld, pat, "%s", perr.msg);
        } else if (!(f->pattern_src = dq_strndup(scalar(pat), strlen(scalar(pat))))) {
            lnomem(ld);
        }
    }
    f->max_length = (size_t)get_int(ld, opt, "maxLength", 0, 1, 1 << 20);
    yaml_node_t *en = get(ld, opt, "enum");
    if (en) {
        if (en->type != YAML_SEQUENCE_NODE || f->type != DQ_T_STRING) {
            lerr(ld, en, "enum must be a list of strings on a string field");
            return;
        }
        int n = (int)(en->data.sequence.items.top - en->data.sequence.items.start);
        f->enum_values = dq_calloc((size_t)n, sizeof *f->enum_values);
        f->enum_lens = dq_calloc((size_t)n, sizeof *f->enum_lens);
        if (!f->enum_values || !f->enum_lens) {
            lnomem(ld);
            return;
        }
        for (int i = 0; i < n; i++) {
            yaml_node_t *it = yaml_document_get_node(&ld->doc, en->data.sequence.items.start[i]);
            const char *s = scalar(it);
            if (!s) {
                lerr(ld, it, "enum values must be strings");
                return;
            }
            f->enum_lens[i] = strlen(s);
            if (!(f->enum_values[i] = dq_strndup(s, f->enum_lens[i]))) {
                lnomem(ld);
                return;
            }
            f->n_enum = i + 1;
        }
    }
    yaml_node_t *fm = get(ld, opt, "formats");
    if (fm) {
        if (fm->type != YAML_SEQUENCE_NODE || f->type != DQ_T_TIMESTAMP) {
            lerr(ld, fm, "formats must be a list on a timestamp field");
            return;
        }
        f->ts_formats = 0;
        for (yaml_node_item_t *it = fm->data.sequence.items.start; it < fm->data.sequence.items.top; it++) {
            yaml_node_t *in = yaml_document_get_node(&ld->doc, *it);
            const char *s = scalar(in);
            if (s && strcmp(s, "iso8601") == 0)
                f->ts_formats |= DQ_TS_ISO8601;
            else if (s && strcmp(s, "iso8601_naive") == 0)
                f->ts_formats |= DQ_TS_ISO8601 | DQ_TS_ISO8601_NAIVE;
            else if (s && strcmp(s, "epoch_s") == 0)
                f->ts_formats |= DQ_TS_EPOCH_S;
            else if (s && strcmp(s, "epoch_ms") == 0)
                f->ts_formats |= DQ_TS_EPOCH_MS;
            else
                lerr(ld, in, "unknown timestamp format '%s' (iso8601, iso8601_naive, epoch_s, epoch_ms)",
                     s ? s : "?");
        }
    }
}

static void load_field(loader *ld, dq_field *f, yaml_node_t *p, bool *is_key, bool *is_time)
{
    static const char *const keys[] = {"name", "logicalType", "physicalType", "required", "primaryKey",
                                       "eventTime", "description", "unit", "logicalTypeOptions", "coerce",
                                       "onOutOfRange", "onMissing", "spike", "stuck", "noise", "bias", "drift",
                                       "examples", NULL};
    if (!need_map(ld, p, "a property"))
        return;
    check_keys(ld, p, "a property", keys);
    f->name = get_str(ld, p, "name", true);
    if (!f->name)
        return;
    f->name_len = strlen(f->name);
    {
        char keybuf[1024];
        dq_buf kb;
        dq_buf_init(&kb, keybuf, sizeof keybuf);
        dq_buf_json_str(&kb, f->name, f->name_len);
        dq_buf_putc(&kb, ':');
        if (kb.overflow) {
            lerr(ld, p, "property name too long");
            return;
        }
        if (!(f->json_key = dq_strndup(keybuf, kb.len))) {
            lnomem(ld);
            return;
        }
        f->json_key_len = kb.len;
        f->json_key_plain = true;
        for (size_t i = 0; i < f->name_len; i++)
            f->json_key_plain &= dq_json_plain[(unsigned char)f->name[i]];
    }
    const char *lt = scalar(get(ld, p, "logicalType"));
    if (!lt)
        lerr(ld, p, "property '%s' needs a logicalType", f->name);
    else if (strcmp(lt, "string") == 0)
        f->type = DQ_T_STRING;
    else if (strcmp(lt, "number") == 0)
        f->type = DQ_T_NUMBER;
    else if (strcmp(lt, "integer") == 0)
        f->type = DQ_T_INTEGER;
    else if (strcmp(lt, "boolean") == 0)
        f->type = DQ_T_BOOLEAN;
    else if (strcmp(lt, "timestamp") == 0 || strcmp(lt, "date") == 0)
        f->type = DQ_T_TIMESTAMP;
    else
        lerr(ld, get(ld, p, "logicalType"), "unknown logicalType '%s' (string, number, integer, boolean, timestamp)", lt);
    f->required = get_bool(ld, p, "required", false);
    f->unit = get_str(ld, p, "unit", false);
    f->coerce = get_bool(ld, p, "coerce", false);
    f->ts_formats = DQ_TS_ISO8601 | DQ_TS_EPOCH_S | DQ_TS_EPOCH_MS;
    f->num_slot = -1;
    f->profile_slot = -1;
    *is_key = get_bool(ld, p, "primaryKey", false);
    *is_time = get_bool(ld, p, "eventTime", false);
    if (ld->failed)
        return;
    yaml_node_t *opt = get(ld, p, "logicalTypeOptions");
    if (opt)
        load_options(ld, f, opt);
    f->range_action = get_action(ld, p, "onOutOfRange", DQ_ACT_REJECT, true);
    load_missing(ld, f, get(ld, p, "onMissing"));
    bool numeric = f->type == DQ_T_NUMBER || f->type == DQ_T_INTEGER;
    yaml_node_t *sp = need_map(ld, get(ld, p, "spike"), "spike");
    if (sp) {
        const char *const sk[] = {"maxRatePerSecond", "deviations", "minChange", "action", NULL};
        dq_num rate = {0}, dev = {0}, min_change = {0};
        check_keys(ld, sp, "spike", sk);
        bool absolute = get_num(ld, sp, "maxRatePerSecond", &rate), relative = get_num(ld, sp, "deviations", &dev);
        get_num(ld, sp, "minChange", &min_change);
        if (!numeric)
            lerr(ld, sp, "spike applies to numeric fields");
        else if (absolute == relative)
            lerr(ld, sp, "spike needs either maxRatePerSecond (absolute) or deviations (relative to the sensor)");
        else if (absolute ? !(rate.v > 0) || get(ld, sp, "minChange") : !(dev.v > 0) || min_change.v < 0)
            lerr(ld, sp, absolute ? "spike: maxRatePerSecond must be positive (minChange goes with deviations)"
                                  : "spike: deviations must be positive and minChange not negative");
        f->has_spike = true;
        f->spike_max_rate = absolute ? rate.v : 0;
        f->spike_deviations = relative ? dev.v : 0;
        f->spike_min_change = min_change.v;
        f->spike_action = get_action(ld, sp, "action", DQ_ACT_WARN, false);
    }
    yaml_node_t *st = need_map(ld, get(ld, p, "stuck"), "stuck");
    if (st) {
        const char *const sk[] = {"count", "action", NULL};
        check_keys(ld, st, "stuck", sk);
        if (!numeric)
            lerr(ld, st, "stuck applies to numeric fields");
        f->stuck_count = (int)get_int(ld, st, "count", 0, 2, UINT16_MAX);
        if (!get(ld, st, "count"))
            lerr(ld, st, "stuck needs a count");
        f->stuck_action = get_action(ld, st, "action", DQ_ACT_WARN, false);
    }
    yaml_node_t *no = need_map(ld, get(ld, p, "noise"), "noise");
    if (no) {
        const char *const nk[] = {"ratio", "action", NULL};
        dq_num ratio = {0};
        check_keys(ld, no, "noise", nk);
        if (!numeric)
            lerr(ld, no, "noise applies to numeric fields");
        else if (!get_num(ld, no, "ratio", &ratio) || !(ratio.v > 1))
            lerr(ld, no, "noise needs a ratio above 1 (recent changes against the sensor's typical change)");
        f->noise_ratio = ratio.v;
        f->noise_action = get_action(ld, no, "action", DQ_ACT_WARN, false);
    }
    yaml_node_t *bi = need_map(ld, get(ld, p, "bias"), "bias");
    if (bi) {
        const char *const bk[] = {"for", "action", NULL};
        check_keys(ld, bi, "bias", bk);
        if (!f->spike_deviations)
            lerr(ld, bi, "bias needs the relative spike rule on the same field (spike: {deviations: ..}): its steps");
        f->bias_for = get_span(ld, bi, "for", true, (dq_span){.ms = INT64_MAX});
        f->has_bias = true;
        f->bias_action = get_action(ld, bi, "action", DQ_ACT_WARN, false);
    }
    yaml_node_t *dr = need_map(ld, get(ld, p, "drift"), "drift");
    if (dr) {
        const char *const dk[] = {"deviations", "for", "action", NULL};
        dq_num dev = {0};
        check_keys(ld, dr, "drift", dk);
        if (!numeric)
            lerr(ld, dr, "drift applies to numeric fields");
        else if (!get_num(ld, dr, "deviations", &dev) || !(dev.v > 1))
            lerr(ld, dr, "drift needs deviations above 1 (the departure from the sensor's daily profile against its typical one)");
        f->drift_deviations = dev.v;
        f->drift_for = get_span(ld, dr, "for", true, (dq_span){.ms = 7 * 86400000LL});
        f->drift_action = get_action(ld, dr, "action", DQ_ACT_WARN, false);
    }
    if (f->coerce && !numeric)
        lerr(ld, p, "coerce applies to numeric fields");
}

static void load_schema(loader *ld, dq_contract *ctr, yaml_node_t *schema)
{
    if (!schema || schema->type != YAML_SEQUENCE_NODE) {
        lerr(ld, schema, "'schema' must be a list with one object");
        return;
    }
    if (schema->data.sequence.items.top - schema->data.sequence.items.start != 1) {
        lerr(ld, schema, "'schema' must hold exactly one object (one contract per event type)");
        return;
    }
    yaml_node_t *obj = yaml_document_get_node(&ld->doc, schema->data.sequence.items.start[0]);
    if (!need_map(ld, obj, "the schema object"))
        return;
    const char *const okeys[] = {"name", "physicalType", "description", "properties", NULL};
    check_keys(ld, obj, "the schema object", okeys);
    yaml_node_t *props = get(ld, obj, "properties");
    if (!props || props->type != YAML_SEQUENCE_NODE) {
        lerr(ld, obj, "the schema object needs a 'properties' list");
        return;
    }
    for (yaml_node_item_t *it = props->data.sequence.items.start; it < props->data.sequence.items.top && !ld->failed;
         it++) {
        yaml_node_t *p = yaml_document_get_node(&ld->doc, *it);
        if (ctr->n_fields == DQ_MAX_FIELDS) {
            lerr(ld, p, "more than %d properties", DQ_MAX_FIELDS);
            return;
        }
        dq_field *f = &ctr->fields[ctr->n_fields++];
        bool is_key = false, is_time = false;
        load_field(ld, f, p, &is_key, &is_time);
        if (ld->failed)
            return;
        for (int j = 0; j < ctr->n_fields - 1; j++)
            if (strcmp(ctr->fields[j].name, f->name) == 0)
                lerr(ld, p, "property '%s' declared twice", f->name);
        if (is_key) {
            if (ctr->key_field >= 0 || f->type != DQ_T_STRING || !f->required)
                lerr(ld, p, "primaryKey: one required string property only");
            ctr->key_field = ctr->n_fields - 1;
        }
        if (is_time) {
            if (ctr->time_field >= 0 || f->type != DQ_T_TIMESTAMP || !f->required)
                lerr(ld, p, "eventTime: one required timestamp property only");
            ctr->time_field = ctr->n_fields - 1;
        }
        if (f->has_spike || f->stuck_count || f->noise_ratio > 0 || f->drift_deviations > 0 ||
            f->missing == DQ_MISS_IMPUTE_LAST)
            f->num_slot = ctr->n_num_slots++;
        if (f->drift_deviations > 0 && ctr->n_profile_slots == DQ_MAX_PROFILES)
            lerr(ld, get(ld, p, "drift"), "at most %d fields with a drift rule", DQ_MAX_PROFILES);
        else if (f->drift_deviations > 0)
            f->profile_slot = ctr->n_profile_slots++;
    }
}

static char *feature_name(loader *ld, const char *prefix, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(suffix) + 2;
    char *name = dq_malloc(n);
    if (!name)
        lnomem(ld);
    else
        snprintf(name, n, "%s.%s", prefix, suffix);
    return name;
}

/* anomaly: {fields: [..], halfLife: 30, warmup: 30, threshold: 6, alarmsPerDay: 1, minStd: 0.05, decimals: 4} */
static void load_anomaly(loader *ld, dq_contract *ctr, yaml_node_t *an)
{
    const char *const keys[] = {"fields", "halfLife", "warmup", "threshold", "alarmsPerDay", "minStd", "decimals",
                                NULL};
    check_keys(ld, an, "anomaly", keys);
    if (ctr->key_field < 0 || ctr->time_field < 0)
        lerr(ld, an, "anomaly scoring needs a primaryKey and an eventTime property");
    yaml_node_t *list = get(ld, an, "fields");
    if (!list || list->type != YAML_SEQUENCE_NODE || list->data.sequence.items.top == list->data.sequence.items.start) {
        lerr(ld, an, "anomaly needs a 'fields' list of number properties, such as [temperature]");
        return;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top && !ld->failed;
         it++) {
        yaml_node_t *fn = yaml_document_get_node(&ld->doc, *it);
        const char *name = scalar(fn);
        int fi = -1;
        for (int i = 0; name && i < ctr->n_fields; i++)
            if (strcmp(ctr->fields[i].name, name) == 0)
                fi = i;
        if (fi < 0 || (ctr->fields[fi].type != DQ_T_NUMBER && ctr->fields[fi].type != DQ_T_INTEGER)) {
            lerr(ld, fn, "anomaly field '%s' is not a number property", name ? name : "?");
            return;
        }
        for (int j = 0; j < ctr->n_anomaly_fields; j++)
            if (ctr->anomaly_fields[j] == fi)
                lerr(ld, fn, "anomaly field '%s' listed twice", name);
        if (ctr->n_anomaly_fields == DQ_MAX_ANOMALY_FIELDS) {
            lerr(ld, fn, "at most %d anomaly fields", DQ_MAX_ANOMALY_FIELDS);
            return;
        }
        ctr->anomaly_fields[ctr->n_anomaly_fields++] = fi;
        ctr->fields[fi].anomaly = true;
        if (ctr->fields[fi].num_slot < 0)
            ctr->fields[fi].num_slot = ctr->n_num_slots++;
        const char *const parts[DQ_FEATURES_PER_FIELD] = {"value", "delta", "dev", "std"};
        for (int k = 0; k < DQ_FEATURES_PER_FIELD; k++)
            ctr->feature_names[ctr->n_features++] = feature_name(ld, name, parts[k]);
    }
    ctr->feature_names[ctr->n_features++] = feature_name(ld, "time", "sin");
    ctr->feature_names[ctr->n_features++] = feature_name(ld, "time", "cos");
    long half_life = get_int(ld, an, "halfLife", 30, 1, 1000000);
    ctr->ew_alpha = 1.0 - pow(0.5, 1.0 / (double)half_life);
    ctr->warmup = (uint32_t)get_int(ld, an, "warmup", half_life > UINT16_MAX ? UINT16_MAX : half_life, 1, UINT16_MAX);
    dq_num num;
    ctr->z_threshold = get_num(ld, an, "threshold", &num) ? num.v : 6.0;
    ctr->alarms_per_day = get_num(ld, an, "alarmsPerDay", &num) ? num.v : 0;
    ctr->min_std = get_num(ld, an, "minStd", &num) ? num.v : 0.01;
    ctr->score_decimals = (int)get_int(ld, an, "decimals", 4, 0, 9);
    if (ctr->z_threshold <= 0 || ctr->min_std <= 0)
        lerr(ld, an, "anomaly threshold and minStd must be positive");
    if (get(ld, an, "alarmsPerDay") && !(ctr->alarms_per_day > 0 && ctr->alarms_per_day <= 86400))
        lerr(ld, an, "anomaly alarmsPerDay must be a number of alarms per sensor and day, above 0 and at most 86400");
}

static void load_contract(loader *ld, dq_contract *ctr)
{
    static const char *const keys[] = {"apiVersion", "kind", "id", "name", "version", "status", "description",
                                       "limits", "unknownFields", "schema", "rules", "metrics", "anomaly", "tags",
                                       NULL};
    yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        lerr(ld, root, "a contract is a YAML mapping");
        return;
    }
    check_keys(ld, root, "the contract", keys);
    const char *kind = scalar(get(ld, root, "kind"));
    if (kind && strcmp(kind, "DataContract") != 0)
        lerr(ld, get(ld, root, "kind"), "kind must be DataContract");
    ctr->id = get_str(ld, root, "id", true);
    ctr->version = get_str(ld, root, "version", true);
    ctr->key_field = ctr->time_field = -1;

    yaml_node_t *lim = need_map(ld, get(ld, root, "limits"), "limits");
    const char *const lkeys[] = {"maxEventBytes", "maxDepth", "maxKeys", NULL};
    if (lim)
        check_keys(ld, lim, "limits", lkeys);
    ctr->max_event_bytes = (size_t)get_int(ld, lim, "maxEventBytes", 65536, 64, 16L << 20);
    ctr->max_depth = (int)get_int(ld, lim, "maxDepth", 16, 1, 64);
    ctr->max_keys = (int)get_int(ld, lim, "maxKeys", 100000, 1, 10000000);

    const char *uf = scalar(get(ld, root, "unknownFields"));
    if (uf && strcmp(uf, "reject") == 0)
        ctr->reject_unknown_fields = true;
    else if (uf && strcmp(uf, "drop") != 0)
        lerr(ld, get(ld, root, "unknownFields"), "unknownFields must be drop or reject");

    if (ld->failed)
        return;
    load_schema(ld, ctr, get(ld, root, "schema"));
    if (ld->failed)
        return;

    yaml_node_t *rules = need_map(ld, get(ld, root, "rules"), "rules");
    if (rules) {
        const char *const rkeys[] = {"duplicate", "late", "future", "gap", NULL};
        check_keys(ld, rules, "rules", rkeys);
        dq_span window, future;
        ctr->has_dup = rule_block(ld, rules, "duplicate", "window", false, &window, &ctr->dup_action);
        ctr->has_late = rule_block(ld, rules, "late", "tolerance", true, &ctr->late_tolerance, &ctr->late_action);
        ctr->has_future = rule_block(ld, rules, "future", "tolerance", false, &future, &ctr->future_action);
        ctr->has_gap = rule_block(ld, rules, "gap", "after", true, &ctr->gap_after, &ctr->gap_action);
        ctr->dup_window_ms = window.ms;
        if (ctr->has_dup && window.ms > DQ_DUP_WINDOW_MAX_MS) /* recent times are kept as u32 ms ages */
            lerr(ld, get(ld, rules, "duplicate"), "duplicate window must be at most 30d");
        ctr->future_tolerance_ms = future.ms;
        if ((ctr->has_dup || ctr->has_late || ctr->has_gap) && (ctr->key_field < 0 || ctr->time_field < 0))
            lerr(ld, rules, "stateful rules need a primaryKey and an eventTime property");
    }
    for (int i = 0; i < ctr->n_fields; i++)
        if (ctr->fields[i].num_slot >= 0 && (ctr->key_field < 0 || ctr->time_field < 0))
            lerr(ld, rules ? rules : root, "field '%s': spike, stuck, noise, drift and last_good need a primaryKey and an eventTime",
                 ctr->fields[i].name);

    yaml_node_t *met = need_map(ld, get(ld, root, "metrics"), "metrics");
    if (met) {
        const char *const mkeys[] = {"windows", NULL};
        check_keys(ld, met, "metrics", mkeys);
        yaml_node_t *w = get(ld, met, "windows");
        if (!w || w->type != YAML_SEQUENCE_NODE) {
            lerr(ld, met, "metrics needs a 'windows' list such as [1m, 1h]");
            return;
        }
        for (yaml_node_item_t *it = w->data.sequence.items.start; it < w->data.sequence.items.top; it++) {
            yaml_node_t *wn = yaml_document_get_node(&ld->doc, *it);
            int64_t ms;
            if (ctr->n_windows == DQ_MAX_WINDOWS)
                lerr(ld, wn, "at most %d windows", DQ_MAX_WINDOWS);
            else if (!scalar(wn) || !dq_duration_parse(scalar(wn), &ms) || ms < 1000)
                lerr(ld, wn, "a window is a duration of at least 1s");
            else
                ctr->windows_ms[ctr->n_windows++] = ms;
        }
        if (ctr->n_windows > 0 && ctr->time_field < 0)
            lerr(ld, met, "metric windows need an eventTime property");
    }
    yaml_node_t *an = need_map(ld, get(ld, root, "anomaly"), "anomaly");
    if (an && !ld->failed)
        load_anomaly(ld, ctr, an);
}

dq_contract *dq_contract_parse_n(const char *yaml, size_t len, const char *name, dq_error *err)
{
    loader ld = {.name = name ? name : "<contract>", .err = err};
    yaml_parser_t parser;
    dq_error_clear(err);
    if (!yaml) {
        lerr(&ld, NULL, "no contract text");
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        lnomem(&ld);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &ld.doc)) {
        int line = (int)parser.problem_mark.line + 1;
        dq_error_set(err, DQ_ERR_CONTRACT, line, "%s:%d: YAML syntax: %s", ld.name, line,
                     parser.problem ? parser.problem : "error");
        yaml_parser_delete(&parser);
        return NULL;
    }
    /* One document: a second one (after ---) would be ignored, whatever it says. */
    yaml_document_t next;
    if (!yaml_parser_load(&parser, &next)) {
        lerr(&ld, NULL, "after the contract: YAML syntax: %s", parser.problem ? parser.problem : "error");
    } else {
        const yaml_node_t *root = yaml_document_get_root_node(&next);
        if (root)
            lerr(&ld, root, "a second YAML document: a contract is one document");
        yaml_document_delete(&next);
    }
    yaml_parser_delete(&parser);
    check_unique_keys(&ld);
    dq_contract *ctr = ld.failed ? NULL : dq_calloc(1, sizeof *ctr);
    if (!ctr && !ld.failed)
        lnomem(&ld);
    else if (ctr)
        load_contract(&ld, ctr);
    yaml_document_delete(&ld.doc);
    if (ld.failed) {
        dq_contract_free(ctr);
        return NULL;
    }
    for (int fi = 0, i = 0; fi < ctr->n_fields; fi++)
        if (ctr->fields[fi].num_slot >= 0)
            ctr->num_fields[i++] = fi; /* one slot a field: i ends at n_num_slots */
    return ctr;
}

dq_contract *dq_contract_load(const char *path, dq_error *err)
{
    size_t len;
    char *text = dq_read_file(path, 4u << 20, &len, err);
    if (!text)
        return NULL;
    dq_contract *ctr = dq_contract_parse_n(text, len, path, err);
    dq_free(text);
    return ctr;
}

void dq_contract_free(dq_contract *ctr)
{
    if (!ctr)
        return;
    for (int i = 0; i < ctr->n_fields; i++) {
        dq_field *f = &ctr->fields[i];
        dq_free(f->name);
        dq_free(f->json_key);
        dq_free(f->unit);
        dq_pattern_free(f->pattern);
        dq_free(f->pattern_src);
        for (int j = 0; j < f->n_enum; j++)
            dq_free(f->enum_values[j]);
        dq_free(f->enum_values);
        dq_free(f->enum_lens);
    }
    for (int i = 0; i < ctr->n_features; i++)
        dq_free(ctr->feature_names[i]);
    dq_free(ctr->id);
    dq_free(ctr->version);
    dq_free(ctr);
}

const char *dq_contract_id(const dq_contract *ctr) { return ctr ? ctr->id : NULL; }
const char *dq_contract_version(const dq_contract *ctr) { return ctr ? ctr->version : NULL; }
int dq_contract_window_count(const dq_contract *ctr) { return ctr ? ctr->n_windows : 0; }
int64_t dq_contract_window_ms(const dq_contract *ctr, int i)
{
    return ctr && i >= 0 && i < ctr->n_windows ? ctr->windows_ms[i] : 0;
}
const char *dq_contract_field_name(const dq_contract *ctr, int i)
{
    return ctr && i >= 0 && i < ctr->n_fields ? ctr->fields[i].name : NULL;
}
int dq_contract_feature_count(const dq_contract *ctr) { return ctr ? ctr->n_features : 0; }
const char *dq_contract_feature_name(const dq_contract *ctr, int i)
{
    return ctr && i >= 0 && i < ctr->n_features ? ctr->feature_names[i] : NULL;
}
double dq_contract_anomaly_threshold(const dq_contract *ctr)
{
    return ctr && ctr->n_anomaly_fields ? ctr->z_threshold : NAN;
}

/* The field rules other engines state in their own terms (dq.h): one JSON array. */
size_t dq_contract_fields_json(const dq_contract *ctr, char *buf, size_t size)
{
    static const char *const types[] = {"string", "number", "integer", "boolean", "timestamp"};
    char tmp[65536];
    dq_buf b;
    dq_buf_init(&b, tmp, sizeof tmp);
    dq_buf_putc(&b, '[');
    for (int i = 0; ctr && i < ctr->n_fields; i++) {
        const dq_field *f = &ctr->fields[i];
        dq_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        dq_buf_json_str(&b, f->name, f->name_len);
        dq_buf_printf(&b, ",\"type\":\"%s\",\"required\":%s,\"primaryKey\":%s,\"eventTime\":%s", types[f->type],
                      f->required ? "true" : "false", i == ctr->key_field ? "true" : "false",
                      i == ctr->time_field ? "true" : "false");
        if (f->has_min) {
            dq_buf_puts(&b, ",\"minimum\":");
            dq_num_write(&b, &f->min);
        }
        if (f->has_max) {
            dq_buf_puts(&b, ",\"maximum\":");
            dq_num_write(&b, &f->max);
        }
        if (f->type == DQ_T_NUMBER || f->type == DQ_T_INTEGER)
            dq_buf_printf(&b, ",\"onOutOfRange\":\"%s\",\"coerce\":%s",
                          f->range_action == DQ_ACT_CAPPED ? "cap" : f->range_action == DQ_ACT_WARN ? "warn" : "reject",
                          f->coerce ? "true" : "false");
        if (f->pattern_src) {
            dq_buf_puts(&b, ",\"pattern\":");
            dq_buf_json_str(&b, f->pattern_src, strlen(f->pattern_src));
        }
        if (f->max_length)
            dq_buf_printf(&b, ",\"maxLength\":%zu", f->max_length);
        if (f->n_enum) {
            dq_buf_puts(&b, ",\"enum\":[");
            for (int j = 0; j < f->n_enum; j++) {
                if (j)
                    dq_buf_putc(&b, ',');
                dq_buf_json_str(&b, f->enum_values[j], f->enum_lens[j]);
            }
            dq_buf_putc(&b, ']');
        }
        if (f->missing == DQ_MISS_IMPUTE_LAST) {
            dq_buf_puts(&b, ",\"onMissing\":{\"impute\":\"last_good\"");
            if (f->impute_max_age.intervals > 0)
                dq_buf_printf(&b, ",\"maxAgeIntervals\":%g}", f->impute_max_age.intervals);
            else if (f->impute_max_age.ms != INT64_MAX)
                dq_buf_printf(&b, ",\"maxAgeMs\":%" PRId64 "}", f->impute_max_age.ms);
            else
                dq_buf_putc(&b, '}');
        } else if (f->missing == DQ_MISS_IMPUTE_CONST) {
            dq_buf_puts(&b, ",\"onMissing\":{\"impute\":\"constant\",\"value\":");
            dq_num_write(&b, &f->impute_value);
            dq_buf_putc(&b, '}');
        }
        dq_buf_putc(&b, '}');
    }
    dq_buf_putc(&b, ']');
    size_t len = b.overflow ? sizeof tmp : b.len; /* 32 fields fit: names and patterns are bounded */
    if (size > 0) {
        size_t k = len < size ? len : size - 1;
        memcpy(buf, tmp, k);
        buf[k] = '\0';
    }
    return len;
}
