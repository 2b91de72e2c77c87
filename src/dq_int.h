/*
 * dq_int.h - private declarations shared inside libdq.
 *
 * Nothing here is part of the public API. Subsystems, one file each:
 *   alloc.c     the one allocation wrapper (fault injection for tests)
 *   err.c       error, reason, action and verdict names
 *   buf.c       bounded output buffer and JSON writing helpers
 *   num.c       exact decimal numbers: parse, shortest canonical print
 *   timefmt.c   timestamps: ISO-8601 / epoch parse, canonical UTC print
 *   pattern.c   the small regular-expression subset used by contracts
 *   event.c     the flat-event JSON scanner (hostile input -> reason codes)
 *   contract.c  YAML contract -> compiled dq_contract
 *   state.c     per-key state table (fixed capacity, open addressing)
 *   rules.c     stateless and stateful rules, cleaning policies
 *   window.c    tumbling event-time metric windows, Prometheus text
 *   anomaly.c   per-sensor features, the online detector, isolation-forest models
 *   engine.c    one event through parse -> rules -> clean -> serialize
 */
#ifndef DQ_INT_H
#define DQ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dq/dq.h"

/* ---------------------------------------------------------------- errors */

/* Fills err (if not NULL): the code, the line at fault (0: none), a printf-style message. */
void dq_error_set(dq_error *err, dq_err code, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void dq_error_clear(dq_error *err);

/* ---------------------------------------------------------------- alloc */

void *dq_malloc(size_t size);
void *dq_calloc(size_t n, size_t size);
void dq_free(void *ptr);
void *dq_realloc(void *ptr, size_t size);
char *dq_strndup(const char *s, size_t len);
/* The whole file (up to max bytes) in a new buffer, its length in *len; NULL with err set
 * (DQ_ERR_IO, or DQ_ERR_NOMEM). */
char *dq_read_file(const char *path, size_t max, size_t *len, dq_error *err);

/* ---------------------------------------------------------------- buf */

/* A caller-owned output buffer of fixed capacity; writes past cap set overflow. An overflowed
 * buffer also has len == cap, so that a write's one test of the room left fails for it too. */
typedef struct dq_buf {
    char *p;
    size_t len;
    size_t cap;
    bool overflow;
} dq_buf;

/* 1 for bytes that stand for themselves inside a JSON string (printable ASCII but " \\). */
extern const unsigned char dq_json_plain[256];

/*
 * The first i' >= i where s[i'] is not dq_json_plain (a control character, '"', '\\' or a
 * byte >= 0x80), or n. Eight bytes at a time: per byte, x - 0x20 sets the high bit of a
 * byte below 0x20, (x ^ c) - 1 that of a byte equal to c, and x's own high bit one >= 0x80
 * (a borrow only spreads upwards from a byte so found, so the lowest flag is exact).
 */
static inline size_t dq_json_plain_run(const char *s, size_t i, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ /* s[i] is x's lowest byte */
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t flags = ((x - 0x20 * ones) | ((x ^ 0x22 * ones) - ones) | ((x ^ 0x5c * ones) - ones) | x) & high;
        if (flags)
            return i + (size_t)__builtin_ctzll(flags) / 8;
    }
#endif
    while (i < n && dq_json_plain[(unsigned char)s[i]])
        i++;
    return i;
}

void dq_buf_init(dq_buf *b, char *mem, size_t cap);

static inline void dq_buf_fail(dq_buf *b)
{
    b->overflow = true;
    b->len = b->cap;
}

/* put and putc are inline: the clean output is written a few bytes at a time, and a call to
 * memcpy costs more than copying a key or a number. Up to 16 bytes: two copies of the
 * widest power of two that fits, the second ending at the end (they may overlap). */

static inline void dq_buf_put(dq_buf *b, const char *s, size_t n)
{
    if (n > b->cap - b->len) {
        dq_buf_fail(b);
        return;
    }
    char *d = b->p + b->len;
    b->len += n;
    if (n >= 8 && n <= 16) {
        uint64_t head, tail;
        memcpy(&head, s, 8);
        memcpy(&tail, s + n - 8, 8);
        memcpy(d, &head, 8);
        memcpy(d + n - 8, &tail, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t head, tail;
        memcpy(&head, s, 4);
        memcpy(&tail, s + n - 4, 4);
        memcpy(d, &head, 4);
        memcpy(d + n - 4, &tail, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    } else {
        memcpy(d, s, n);
    }
}

static inline void dq_buf_putc(dq_buf *b, char c)
{
    if (b->len < b->cap)
        b->p[b->len++] = c;
    else
        dq_buf_fail(b);
}
/* Inline, so that the length of a literal is known when compiling. */
static inline void dq_buf_puts(dq_buf *b, const char *s) { dq_buf_put(b, s, strlen(s)); }

/* Whether a == b for n bytes; inline, as keys are short (libc's memcmp is a call). From 8
 * bytes on, 8 at a time, the last 8 overlapping the ones before. */
static inline bool dq_same_bytes(const char *a, const char *b, size_t n)
{
    uint64_t x, y;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i])
                return false;
        return true;
    }
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return false;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
}
void dq_buf_printf(dq_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes s as a JSON string literal (quotes included); s must be valid UTF-8. */
void dq_buf_json_str(dq_buf *b, const char *s, size_t n);
/* The same for s of any bytes: false, with a part written, at the first byte that is not
 * UTF-8 or is NUL (the caller rewinds and writes s another way); true when all of s went. */
bool dq_buf_json_utf8(dq_buf *b, const char *s, size_t n);

/* ---------------------------------------------------------------- num */

/*
 * A number with its exact decimal form when it has one of at most 15 significant
 * digits (mant * 10^exp10): then printing gives back that decimal, which is the
 * shortest text that reads back as the same double.
 */
typedef struct dq_num {
    double v;
    int64_t mant;
    int16_t exp10;
    bool exact;
    bool canonical; /* parsed from the very text dq_num_write prints for it */
} dq_num;

#define DQ_NUM_OK 1
#define DQ_NUM_INVALID 0   /* not a JSON number */
#define DQ_NUM_NONFINITE (-1) /* a JSON number beyond the range of a double */
/* Parses a JSON number token s[0..n) (the whole of it). Returns DQ_NUM_*. */
int dq_num_parse(const char *s, size_t n, dq_num *out);
/* The common plain decimal (no exponent, at most 15 digits) that starts s[0..n) and is a whole
 * JSON number token: its length, with *out as dq_num_parse gives it; 0 for any other start
 * (then take the token and call dq_num_parse). For scanners, in one pass. */
size_t dq_num_parse_prefix(const char *s, size_t n, dq_num *out);
dq_num dq_num_from_double(double v);
/* v rounded to `decimals` (0..9) decimal places, exact: printed without a printf/strtod round
 * trip. Falls back to dq_num_from_double beyond 15 significant digits. */
dq_num dq_num_round(double v, int decimals);
/* Writes the number as RFC 8785 (ECMAScript) would: shortest round-trip digits. */
void dq_num_write(dq_buf *b, const dq_num *num);
/* The same as dq_num_write of dq_num_round(v, decimals), faster (anomaly z and scores). */
void dq_num_write_rounded(dq_buf *b, double v, int decimals);

/* ---------------------------------------------------------------- timefmt */

#define DQ_TS_ISO8601 1u
#define DQ_TS_EPOCH_S 2u
#define DQ_TS_EPOCH_MS 4u
#define DQ_TS_ISO8601_NAIVE 8u /* no offset: read as UTC */

/* The event times libdq accepts: 0001-01-01 .. 9999-12-31 (ms since the epoch). */
#define DQ_TIME_MIN_MS (-62135596800000LL)
#define DQ_TIME_MAX_MS 253402300799999LL

/* The last date parsed in libdq's own form ("YYYY-MM-DD" of "YYYY-MM-DDTHH:MM:SS.mmmZ") and its
 * day number: a stream's timestamps share their date for a day, so its digits are read once. */
typedef struct dq_day_memo {
    char date[10];
    bool known;
    int64_t days; /* since 1970-01-01 */
} dq_day_memo;

/*
 * Parses an ISO-8601 date-time to ms since the epoch. An offset (Z or +hh:mm) is
 * required unless allow_naive, in which case a missing offset means UTC. memo (or NULL):
 * the caller's last date, read and updated (the result is the same with or without).
 */
bool dq_time_parse_iso(const char *s, size_t n, bool allow_naive, int64_t *ms, dq_day_memo *memo);
/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes + NUL) into out[25]. */
void dq_time_format(int64_t ms, char out[25]);
/* Parses a duration such as "500ms", "10s", "5m", "1h", "1d". */
bool dq_duration_parse(const char *s, int64_t *ms);

/* ---------------------------------------------------------------- pattern */

typedef struct dq_pattern dq_pattern;
/* Compiles re; NULL with err set: DQ_ERR_CONTRACT (the message names the offending position), DQ_ERR_NOMEM. */
dq_pattern *dq_pattern_compile(const char *re, dq_error *err);
bool dq_pattern_match(const dq_pattern *pat, const char *s, size_t n);
void dq_pattern_free(dq_pattern *pat);

/* ---------------------------------------------------------------- contract */

#define DQ_MAX_FIELDS 32
#define DQ_MAX_WINDOWS 4
#define DQ_DUP_RING 8 /* recent event times remembered per key for duplicates */
#define DQ_DUP_WINDOW_MAX_MS (30LL * 86400000) /* under the 49 days a saturating u32 age spans */
#define DQ_SPIKE_ACCEPT 3 /* a level flagged SPIKE this many times in a row is accepted as real */
#define DQ_FEW_MISSED 3   /* readings a sensor may miss before a larger change is normal (a silence) */
#define DQ_BACK_CHANGES 4 /* a bias's step back may miss its step by this many typical changes (rules.c) */
#define DQ_LATENT_INTERVALS 300 /* how long a jump let pass as noise is remembered as a possible bias's step */
#define DQ_RELEARN_INTERVALS 100 /* a sensor silent longer than this many intervals has its values learned again */
#define DQ_FLAG_STEP 0.05 /* alarmsPerDay: one flag raises a sensor's flag threshold by e^0.05 (~5 %) */
#define DQ_FLAG_MIN 1.0   /* alarmsPerDay: the range of a sensor's flag threshold, in z */
#define DQ_FLAG_MAX 1000.0
#define DQ_CADENCE_WARMUP 3 /* intervals a sensor shows before rules in intervals apply to it */
#define DQ_SPIKE_WARMUP 4   /* changes of a value before the relative spike rule applies to it */
#define DQ_GEO_TO_MEAN 1.5052 /* E|X| / exp(E log |X|) for normal X: 2 e^(gamma / 2) / pi^0.5 */
#define DQ_CHANGE_WARMUP 32 /* changes averaged before the typical change moves slowly; the noise rule waits for them */
#define DQ_NOISE_WEIGHT 4   /* the recent changes: a moving average over about this many readings */
#define DQ_NOISE_EXIT 0.66  /* noise ends when the recent changes fall below this share of the ratio */
#define DQ_NOISE_REPEATS 3 /* ... or when a value comes this many times in a row */
#define DQ_RECENT_ONE 256   /* dq_numstate.recent of a recent change equal to the typical one */
#define DQ_DAY_MS 86400000LL
#define DQ_MAX_PROFILES 4    /* drift-checked fields per contract (their profiles fill most of a saved state) */
#define DQ_PROFILE_BINS 24   /* a drift-checked value's daily profile: its level in each hour of the day */
#define DQ_HOUR_MS (DQ_DAY_MS / DQ_PROFILE_BINS)
#define DQ_PROFILE_MIN 4     /* readings an hour's level averages before the drift rule uses it */
#define DQ_PROFILE_DAYS 7    /* after its first day, a day's readings move an hour's level by about 1/7 */
#define DQ_DRIFT_WEIGHT 16   /* the departure from the profile: a moving average over about 16 readings */
#define DQ_DRIFT_WARMUP 32   /* departures averaged into the typical one before the drift rule applies */
#define DQ_DRIFT_EXIT 0.66   /* a drift ends when the departure falls below this share of the rule's */
#define DQ_MAX_ANOMALY_FIELDS 8
#define DQ_FEATURES_PER_FIELD 4 /* value, delta, dev, std */
#define DQ_MAX_FEATURES (DQ_MAX_ANOMALY_FIELDS * DQ_FEATURES_PER_FIELD + 2)

/* A time span the contract writes as a duration ("5m") or in the sensor's own intervals
 * ("10 intervals", a multiple of its learned cadence): one of ms and intervals is > 0. */
typedef struct dq_span {
    int64_t ms;
    double intervals;
} dq_span;
typedef enum dq_type { DQ_T_STRING, DQ_T_NUMBER, DQ_T_INTEGER, DQ_T_BOOLEAN, DQ_T_TIMESTAMP } dq_type;

/* What to do when a required field is missing. */
typedef enum dq_missing { DQ_MISS_REJECT, DQ_MISS_IMPUTE_LAST, DQ_MISS_IMPUTE_CONST } dq_missing;

typedef struct dq_field {
    char *name;
    size_t name_len;
    char *json_key; /* "name": as written in the clean output */
    size_t json_key_len;
    bool json_key_plain; /* the name needs no escape and is ASCII: input bytes equal to json_key name it */
    dq_type type;
    bool required;
    char *unit;

    /* numbers */
    bool has_min, has_max;
    dq_num min, max;
    uint8_t range_action; /* DQ_ACT_REJECT, DQ_ACT_CAPPED or DQ_ACT_WARN */
    bool coerce;          /* accept numeric strings, FIXED with DQ_ACT_COERCED */
    dq_missing missing;
    dq_span impute_max_age;
    dq_num impute_value;
    bool has_spike;
    double spike_max_rate;   /* absolute form: units per second, 0 if relative */
    double spike_deviations; /* relative form: jump > deviations x the typical change */
    double spike_min_change; /*   ... and > min_change */
    uint8_t spike_action;
    int stuck_count; /* 0 = off */
    uint8_t stuck_action;
    double noise_ratio; /* 0 = off; else recent changes > ratio x the typical change is NOISE */
    uint8_t noise_action;
    bool has_bias;      /* a step the spike rule accepts is BIAS until it steps back or lasts bias_for */
    uint8_t bias_action;
    dq_span bias_for;
    double drift_deviations; /* 0 = off; else a departure from the daily profile beyond this many typical ones is DRIFT */
    uint8_t drift_action;
    dq_span drift_for; /* a drift that lasts this long is the new normal: the profile is learned again */
    int num_slot; /* index into the per-key numeric state, -1 if none */
    int profile_slot; /* index into the per-key daily profiles (drift), -1 if none */
    bool anomaly; /* scored for anomalies (contract.anomaly.fields) */

    /* strings */
    dq_pattern *pattern;
    char *pattern_src; /* as the contract writes it */
    size_t max_length; /* 0 = unlimited */
    char **enum_values;
    size_t *enum_lens;
    int n_enum;

    /* timestamps */
    unsigned ts_formats;
} dq_field;

struct dq_contract {
    char *id;
    char *version;
    dq_field fields[DQ_MAX_FIELDS];
    int n_fields;
    int key_field;  /* index, -1 if none: stateful rules then off */
    int time_field; /* index, -1 if none */
    int n_num_slots;
    int n_profile_slots;
    int num_fields[DQ_MAX_FIELDS]; /* the n_num_slots fields with numeric state, in field order */

    size_t max_event_bytes;
    int max_depth;
    int max_keys;
    bool reject_unknown_fields;

    bool has_dup;
    int64_t dup_window_ms;
    uint8_t dup_action;
    bool has_late;
    dq_span late_tolerance;
    uint8_t late_action;
    bool has_future;
    int64_t future_tolerance_ms;
    uint8_t future_action;
    bool has_gap;
    dq_span gap_after;
    uint8_t gap_action;

    int n_windows;
    int64_t windows_ms[DQ_MAX_WINDOWS];

    /* anomaly: the fields scored, the online detector's settings, the feature names */
    int n_anomaly_fields;
    int anomaly_fields[DQ_MAX_ANOMALY_FIELDS]; /* field indices (each has a num_slot) */
    double ew_alpha;      /* weight of a new reading in the running mean and variance */
    uint32_t warmup;      /* readings before a sensor is scored */
    double z_threshold;   /* |z| beyond which a deviation is clipped in learning; the flag without a budget */
    double alarms_per_day; /* the online detector's false-alarm budget per sensor and day; 0: none */
    double min_std;       /* floor of the std in z (a flat sensor would divide by 0) */
    int score_decimals;   /* z and score are written rounded to this many decimals */
    int n_features;
    char *feature_names[DQ_MAX_FEATURES];
};

/* ---------------------------------------------------------------- event */

typedef enum dq_jtype { DQ_J_NULL, DQ_J_BOOL, DQ_J_NUMBER, DQ_J_STRING, DQ_J_OBJECT, DQ_J_ARRAY } dq_jtype;

/* One top-level member of the event, as the scanner found it. */
typedef struct dq_member {
    dq_jtype type;
    const char *raw; /* the value's text in the input (strings with quotes) */
    size_t raw_len;
    const char *str; /* strings: unescaped UTF-8 (in the scratch buffer) */
    size_t str_len;
    dq_num num;      /* numbers */
    bool boolean;
} dq_member;

/* The scan of one event: members matched to contract fields. */
typedef struct dq_scan {
    dq_member field[DQ_MAX_FIELDS];
    bool present[DQ_MAX_FIELDS]; /* member present (a null value counts as present) */
    int n_unknown;
    dq_reason error; /* DQ_R_NONE if the event is a well-formed object */
    /* The document is '{', declared members in contract order with their keys as json_key
     * writes them, ',' between them, '}' and nothing else (no whitespace): members that are
     * all copied as they came are then the document's bytes. */
    bool compact;
    const char *text; /* the document */
    size_t text_len;
} dq_scan;

/* Length of the valid UTF-8 sequence at p (p[0] >= 0x80), or 0 if it is not one. */
size_t dq_utf8_seq(const unsigned char *p, size_t avail);

/*
 * Scans one event against the contract's field names. Unescaped strings go to
 * scratch (capacity >= len). Never reads past s + len; stops at the first error.
 */
void dq_event_scan(const dq_contract *ctr, const char *s, size_t len, char *scratch, dq_scan *scan);

/* ---------------------------------------------------------------- state */

typedef struct dq_window_acc {
    uint64_t events;
    uint64_t verdicts[3];
    uint64_t complete;
    uint64_t reasons[DQ_REASON__COUNT];
} dq_window_acc;

/* Per numeric field and key: 48 bytes (docs/contract.md: memory per sensor); counters saturate.
 * The last value is kept as its double: an imputed copy is printed as the shortest text that
 * reads back as it (the same text as the reading's for up to 15 significant digits). */
typedef struct dq_numstate {
    double last_v;        /* last accepted value */
    double ew_mean;       /* anomaly fields: exponentially weighted mean */
    uint32_t last_age;    /* last_v's event time, as the key's newest time minus it (dq_last_ms) */
    float ew_var;         /*   and variance (a float: its relative precision is all z needs) */
    float change_dev;     /* typical change between readings one interval apart (mean |change|) */
    float bias_step;      /* the step of a bias (a level the spike rule accepted) until it ends; 0: none */
    uint32_t bias_age;    /*   last accepted reading's time minus the time of the step */
    uint32_t since_age;   /* last_v's time minus the time of the first of the readings in a row equal to it */
    uint16_t same_run;    /* how many accepted readings in a row equal last */
    uint16_t ew_n;        /* readings in ew_mean and ew_var, counted up to the warm-up */
    uint16_t recent;      /* the change over the last few readings, in 1/256ths of change_dev (saturating) */
    uint8_t has_last : 1;
    uint8_t spike_run : 2; /* consecutive readings flagged SPIKE against last, < DQ_SPIKE_ACCEPT */
    uint8_t run_up : 1;    /*   their jumps: upwards, */
    uint8_t run_size : 3;  /*   of about 2^run_size typical changes (log2, rounded, 0..7) */
    uint8_t bias_latent : 1; /* bias_step is a jump let pass as noise: not flagged, only undone */
    uint8_t change_n : 6;  /* changes in change_dev, counted up to DQ_CHANGE_WARMUP */
    uint8_t noisy : 1;     /* the last accepted reading was flagged NOISE */
} dq_numstate;
_Static_assert(sizeof(dq_numstate) == 48, "dq_numstate: 48 bytes per numeric field and sensor (docs/contract.md)");
_Static_assert(DQ_SPIKE_ACCEPT <= 3 && DQ_SPIKE_WARMUP <= DQ_CHANGE_WARMUP && DQ_CHANGE_WARMUP <= 63,
               "dq_numstate bit fields too narrow");

/* Per drift-checked field and key: the sensor's daily profile, learned from its readings (the
 * first day's average per hour, then a slow moving average), and its departure from it. */
typedef struct dq_profile {
    int64_t start_ms;             /* the time of the first reading learned; 0: none yet */
    float level[DQ_PROFILE_BINS]; /* the level in each hour of the day (UTC) */
    uint16_t n[DQ_PROFILE_BINS];  /* readings averaged into level[] during the profile's first day */
    float departure;              /* moving average of the readings minus the profile */
    float dev;                    /* typical |reading minus profile| of readings not flagged */
    uint32_t drift_age;           /* the last accepted reading's time minus the drift's first's */
    uint16_t dev_n;               /* departures in dev, counted up to DQ_DRIFT_WARMUP */
    uint8_t drifting;             /* the last accepted reading was flagged DRIFT */
} dq_profile;
_Static_assert(sizeof(dq_profile) == 168, "dq_profile: 168 bytes per drift-checked field and sensor (docs/contract.md)");

/* The time rules' state of a key: what dq_state_save writes besides the numeric fields. */
typedef struct dq_keytime {
    int64_t newest_ms;
    uint32_t recent_age[DQ_DUP_RING]; /* newest_ms minus the times of the last accepted events */
    float cadence_ms;  /* the sensor's usual time between readings, learned online */
    uint8_t recent_next, recent_n;
    uint8_t cadence_n; /* intervals seen, counted up to DQ_CADENCE_WARMUP */
    bool has_time;
} dq_keytime;

#define DQ_KEY_INLINE 16 /* longer keys are allocated apart */
#define DQ_AGE_MAX UINT32_MAX /* ages saturate: about 49 days in ms */

/* age + d ms (d >= 0), saturating at DQ_AGE_MAX. */
static inline uint32_t dq_age_add(uint32_t age, int64_t d)
{
    return d >= (int64_t)(DQ_AGE_MAX - age) ? DQ_AGE_MAX : age + (uint32_t)d;
}

/* One key's record: this header, then its numeric fields (dq_key_num), then its counts in the
 * open metric windows (dq_key_windows). Records are kept in least-recently-seen order. */
typedef struct dq_keystate {
    union {
        char inline_bytes[DQ_KEY_INLINE];
        char *heap;
    } key;
    uint32_t lru_prev, lru_next; /* record numbers, DQ_NO_RECORD at the ends */
    uint16_t key_len;
    bool changed; /* committed since the last dq_engine_state_changes */
    bool seen;    /* looked up since then: such keys lead the recency list */
    float z_flag; /* the online detector's flag threshold for this key with alarmsPerDay; 0: not yet */
    dq_keytime tm;
} dq_keystate;
_Static_assert(sizeof(dq_keystate) == 80, "dq_keystate: its header costs every sensor (docs/contract.md)");

/* The reasons an event with a key can have: the earlier ones end the scan before any key. */
#define DQ_KEY_REASON_FIRST DQ_R_NON_FINITE
#define DQ_KEY_REASONS (DQ_REASON__COUNT - DQ_KEY_REASON_FIRST)

/* A key's counts in one open window. Reason counts keep their low 8 bits here; each time one
 * wraps, 256 more go to the window's dq_reason_table (which stays empty in most windows). */
typedef struct dq_key_window {
    uint32_t events, fixed, reject, complete;
    uint8_t reasons[DQ_KEY_REASONS];
} dq_key_window;

/* Counts of (record, reason) pairs in one open window, open addressing: the carries above. */
typedef struct dq_reason_table {
    uint64_t *slots; /* (record * 32 + reason + 1) << 32 | count; 0 empty */
    size_t cap, used;
} dq_reason_table;
_Static_assert(DQ_REASON__COUNT <= 32, "reason numbers must fit 5 bits");

#define DQ_NO_RECORD UINT32_MAX

typedef struct dq_state {
    char *records;    /* rec_cap records of record_size bytes; the first `used` are keys */
    size_t rec_cap;
    size_t record_size, num_offset, profile_offset, win_offset;
    uint32_t *index;  /* record number + 1 per slot, 0 empty; cap is a power of two */
    size_t cap;
    size_t used;
    size_t max_keys;
    size_t key_max;   /* longest key stored */
    size_t n_num, n_profile, n_win;
    uint32_t mru, lru; /* ends of the recency list */
    uint64_t evicted;
    dq_reason_table reasons[DQ_MAX_WINDOWS];
} dq_state;

static inline dq_keystate *dq_state_record(const dq_state *st, size_t i)
{
    return (dq_keystate *)(st->records + i * st->record_size);
}
static inline uint32_t dq_state_record_no(const dq_state *st, const dq_keystate *ks)
{
    return (uint32_t)(((const char *)ks - st->records) / st->record_size);
}
static inline const char *dq_key_bytes(const dq_keystate *ks)
{
    return ks->key_len <= DQ_KEY_INLINE ? ks->key.inline_bytes : ks->key.heap;
}
/* The event time of a numeric field's last accepted reading (ages saturate: at most ~49 days
 * before the key's newest time). */
static inline int64_t dq_last_ms(const dq_keytime *tm, const dq_numstate *ns)
{
    return tm->newest_ms - ns->last_age;
}

static inline dq_numstate *dq_key_num(const dq_state *st, const dq_keystate *ks)
{
    return (dq_numstate *)((char *)ks + st->num_offset);
}
static inline dq_profile *dq_key_profiles(const dq_state *st, const dq_keystate *ks)
{
    return (dq_profile *)((char *)ks + st->profile_offset);
}
static inline dq_key_window *dq_key_windows(const dq_state *st, const dq_keystate *ks)
{
    return (dq_key_window *)((char *)ks + st->win_offset);
}

dq_err dq_state_init(dq_state *st, const dq_contract *ctr, size_t key_max);
void dq_state_reset(dq_state *st);
/* Finds or inserts key and makes it the most recently seen. When the table is full, the least
 * recently seen key is forgotten (counted in evicted) unless it has counts in an open window;
 * then, or when the key is too long, NULL. */
dq_keystate *dq_state_get(dq_state *st, const char *key, size_t len);
/* Forgets every key; keeps the allocations. */
void dq_state_clear(dq_state *st);
/* Notes that ks changed, for dq_state_changes. */
static inline void dq_state_touch(dq_keystate *ks)
{
    ks->changed = true;
}
/* Calls cb for every key changed since the last call, with its saved-state bytes. */
void dq_state_changes(dq_state *st, dq_state_cb cb, void *opaque);
/* Decodes saved-state bytes and sets key's state from them: DQ_OK, DQ_ERR_STATE (refused bytes
 * add no key) or DQ_ERR_SPACE. */
dq_err dq_state_restore(dq_state *st, const char *key, size_t len, const unsigned char *in, size_t n);
/* Writes ks as saved-state bytes (at most DQ_STATE_MAX_BYTES); returns the length. */
size_t dq_state_save(const dq_state *st, const dq_keystate *ks, unsigned char *out);
/* Adds n to reason r of record i in window w's table (grows it; false when out of memory). */
bool dq_reason_add(dq_reason_table *t, size_t record, int reason, uint32_t n);
uint32_t dq_reason_get(const dq_reason_table *t, size_t record, int reason);
void dq_reason_clear(dq_reason_table *t);

/* ---------------------------------------------------------------- engine internals */

struct dq_engine {
    const dq_contract *ctr;
    int64_t now_ms;
    bool has_now;
    dq_state state;
    char *scratch;  /* unescaped strings, max_event_bytes */
    char *out;      /* clean output */
    size_t out_cap;
    char *annot;    /* dq annotation */
    size_t annot_cap;
    dq_scan scan;
    dq_day_memo day; /* the event times' last date (dq_time_parse_iso) */
    dq_totals totals;
    /* windows */
    int64_t watermark_ms;
    bool has_watermark;
    int64_t win_start[DQ_MAX_WINDOWS];
    bool win_open[DQ_MAX_WINDOWS];
    dq_window_acc overall[DQ_MAX_WINDOWS];
    dq_window_cb window_cb;
    void *window_opaque;
    /* anomaly scoring */
    const dq_model *model;
    bool want_features; /* dq_engine_eval_features: the feature vector even without a model */
    double features[DQ_MAX_FEATURES];
};

/* The evaluation of one scanned event: values after cleaning, findings. */
typedef struct dq_eval {
    dq_result *res;
    bool present[DQ_MAX_FIELDS]; /* field in the output */
    dq_num num[DQ_MAX_FIELDS];
    int64_t ts_ms[DQ_MAX_FIELDS];
    const char *from[DQ_MAX_FIELDS]; /* original raw text for changed fields */
    size_t from_len[DQ_MAX_FIELDS];
    bool imputed[DQ_MAX_FIELDS]; /* filled from state: not a reading */
    bool complete;
    uint32_t bias_ends; /* bit fi: field fi's bias ends (its level stepped back, or it lasted bias.for) */
    uint32_t steps_back; /* bit fi: field fi's jump undoes its bias's step (steps_back in rules.c) */
    uint32_t drift_back; /* bit fi: field fi's jump undoes its drift (drift_undone in rules.c) */
    uint32_t as_input;   /* bit fi: field fi's member came as the clean event prints it (input_is_canonical) */
    /* The online detector's flag, with or without a model: it keeps a reading out of the running
     * variance and moves the alarm budget, so the features (and the flags without a model) are
     * the same whichever model scores; a model's own flags would shift what it trained on. */
    bool z_flagged;
} dq_eval;

void dq_rules_add(dq_result *res, dq_reason reason, int action, int field);
void dq_rules_stateless(dq_engine *eng, const dq_scan *scan, dq_eval *ev);
void dq_rules_stateful(dq_engine *eng, dq_keystate *ks, dq_eval *ev);
/* Records an accepted event in its key's state. */
void dq_rules_commit(dq_engine *eng, dq_keystate *ks, const dq_eval *ev);

/* ---------------------------------------------------------------- anomaly */

/* 12 bytes, so a 200-tree forest stays in cache while one event walks every tree. */
typedef struct dq_tree_node {
    float threshold;  /* go to the left child (the next node) when (float)x[feature] <= threshold */
    int16_t feature;  /* -1: a leaf */
    uint16_t unused;
    int32_t right;    /* the right child; leaves: the index of their path length in leaf_paths */
} dq_tree_node;

typedef enum dq_model_kind { DQ_MODEL_IFOREST, DQ_MODEL_HOTELLING } dq_model_kind;

struct dq_model {
    dq_model_kind kind;
    int n_features;
    char *feature_names[DQ_MAX_FEATURES];
    double threshold;
    /* hotelling: the score is (x - mean)' precision (x - mean) */
    double *mean;      /* n_features */
    double *precision; /* n_features x n_features, row by row, symmetric */
    int n_used, used[DQ_MAX_FEATURES]; /* the features with a row of precision that is not all 0 */
    /* iforest */
    double denominator; /* trees * average path length of max_samples */
    int n_trees;
    size_t *tree_start; /* first node of each tree in nodes */
    dq_tree_node *nodes;
    size_t n_nodes;
    double *leaf_paths; /* per leaf: the average path length of the samples left in it */
    size_t n_leaves;
};

/* Features and scores of an accepted event from its key's state before the commit. */
void dq_anomaly_score(dq_engine *eng, dq_keystate *ks, dq_eval *ev);
/* Updates the running mean and variance of numeric state ns with reading v. */
void dq_anomaly_update(const dq_contract *ctr, dq_numstate *ns, double v, bool flagged);

void dq_window_account(dq_engine *eng, const dq_result *res, bool complete, dq_keystate *ks);
void dq_window_close_all(dq_engine *eng);

#endif /* DQ_INT_H */
