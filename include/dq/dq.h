/*
 * dq.h - the one public header of libdq, the data-quality engine.
 *
 * libdq checks events (one flat JSON object each) against a declarative data
 * contract and gives every event exactly one verdict: PASS, FIXED (cleaned, with
 * the changes listed) or REJECT (with stable reason codes). It keeps per-key state
 * for the stateful rules (duplicates, spikes, stuck values, gaps, late events)
 * and tumbling event-time windows of quality metrics.
 *
 * Objects:
 *   dq_contract  a compiled contract; immutable after load, so one contract may be
 *                shared read-only by any number of engines and threads.
 *   dq_engine    per-thread evaluation state (buffers, per-key state, windows).
 *                An engine is not thread-safe: use one engine per thread.
 *
 * Conventions:
 *   - Fallible calls return dq_err: DQ_OK (0) or a negative DQ_ERR_* code;
 *     dq_err_name() / dq_err_str() describe it. Codes are only ever appended.
 *   - A rule violation is not an error: it is a reason code in dq_result.
 *   - (ptr, len) inputs are never assumed NUL-terminated.
 *   - Whoever calls *_new / *_load calls the matching *_free; *_free(NULL) is fine.
 *   - There is no global mutable state. Time is an input (dq_engine_set_now()),
 *     so every run is reproducible.
 *   - Evaluating an event allocates only when the per-key state table grows (by
 *     doubling, up to the contract's limits.maxKeys) or for a key longer than 16
 *     bytes; buffers are sized when the engine is created from the contract.
 */
#ifndef DQ_DQ_H
#define DQ_DQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DQ_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

/* Error codes: X(name, value, description), the one table their names and texts come from.
 * Only ever appended. */
#define DQ_ERRORS(X)                                                                       \
    X(DQ_OK, 0, "success")                                                                 \
    X(DQ_ERR_ARG, -1, "invalid argument")             /* NULL or out of range */           \
    X(DQ_ERR_NOMEM, -2, "out of memory")                                                   \
    X(DQ_ERR_IO, -3, "input/output error")            /* a file could not be read */       \
    X(DQ_ERR_CONTRACT, -4, "invalid contract")        /* the message says file:line */     \
    X(DQ_ERR_SPACE, -5, "no room")                    /* a buffer or the state table */    \
    X(DQ_ERR_STATE, -6, "saved state does not fit this contract")                          \
    X(DQ_ERR_MODEL, -7, "invalid model")              /* a model file, or one that does not \
                                                         fit the contract */

typedef enum dq_err {
#define DQ_ERR_ENUM(name, value, text) name = value,
    DQ_ERRORS(DQ_ERR_ENUM)
#undef DQ_ERR_ENUM
} dq_err;

/* Symbolic name ("DQ_ERR_ARG") and description of an error code. Never NULL. */
const char *dq_err_name(dq_err err);
const char *dq_err_str(dq_err err);

/*
 * What a constructor (dq_contract_load, dq_engine_new, dq_model_load, ...) found wrong:
 * the code, the line of the file at fault (0 when none) and a message that names the
 * file and line, e.g. "contracts/x.yaml:12: unknown key 'minimun'". Constructors take a
 * dq_error * that may be NULL; on success its code is DQ_OK and its message empty.
 */
typedef struct dq_error {
    dq_err code;
    int line;
    char msg[512];
} dq_error;

/* ---------------------------------------------------------------- verdicts and reasons */

typedef enum dq_verdict {
    DQ_PASS = 0,  /* the event meets the contract (it may carry warnings) */
    DQ_FIXED = 1, /* the event was cleaned; dq.changes says what and why */
    DQ_REJECT = 2 /* the event goes to the dead-letter output */
} dq_verdict;

/*
 * Reason codes: stable, append-only, documented in docs/reason-codes.md.
 * A number is never reused or renumbered. DQ_REASON__COUNT grows as codes are
 * appended; every code is below 64, so a set of reasons fits a uint64_t mask.
 */
#define DQ_REASONS(X)                                                                       \
    X(NONE, 0, "no finding")                                                                \
    X(EMPTY, 1, "empty or whitespace-only event")                                           \
    X(OVERSIZED, 2, "longer than limits.maxEventBytes")                                     \
    X(MALFORMED_JSON, 3, "not valid JSON, or truncated")                                    \
    X(INVALID_UTF8, 4, "bytes that are not UTF-8")                                          \
    X(NUL_BYTE, 5, "a raw NUL byte in the event")                                           \
    X(NOT_AN_OBJECT, 6, "the top-level value is not an object")                             \
    X(TOO_DEEP, 7, "nesting deeper than limits.maxDepth")                                   \
    X(DUPLICATE_KEY, 8, "the same member name twice")                                       \
    X(NON_FINITE, 9, "NaN, Infinity, or a number beyond double range")                      \
    X(MISSING_FIELD, 10, "a required field is absent or null")                              \
    X(WRONG_TYPE, 11, "a field's JSON type is not the declared one")                        \
    X(OUT_OF_RANGE, 12, "a number outside [minimum, maximum]")                              \
    X(PATTERN_MISMATCH, 13, "a string not matching its pattern (e.g. sensor id)")           \
    X(NOT_IN_ENUM, 14, "a string not among the allowed values")                             \
    X(INVALID_TIMESTAMP, 15, "a timestamp that cannot be parsed or is impossible")          \
    X(FUTURE_TIMESTAMP, 16, "event time beyond now + tolerance")                            \
    X(DUPLICATE_EVENT, 17, "same key and event time seen within the window")                \
    X(SPIKE, 18, "a jump beyond the sensor's usual change")                                 \
    X(STUCK_VALUE, 19, "the same value N times in a row")                                   \
    X(GAP, 20, "the key was silent longer than expected")                                   \
    X(LATE_EVENT, 21, "older than the key's newest event beyond tolerance")                 \
    X(UNKNOWN_FIELD, 22, "a member the contract does not declare")                          \
    X(TOO_LONG, 23, "a string longer than maxLength")                                      \
    X(NOISE, 24, "readings scattered far wider than the sensor's usual noise")              \
    X(BIAS, 25, "the sensor's level stepped and stays off (an offset until it steps back)")  \
    X(DRIFT, 26, "the sensor's level crept away from its own daily profile")

typedef enum dq_reason {
#define DQ_REASON_ENUM(name, value, text) DQ_R_##name = value,
    DQ_REASONS(DQ_REASON_ENUM)
#undef DQ_REASON_ENUM
    DQ_REASON__COUNT /* numbered in order, so this is the count */
} dq_reason;

/* "OUT_OF_RANGE" for DQ_R_OUT_OF_RANGE; "UNKNOWN" for a code not in the list. */
const char *dq_reason_name(dq_reason reason);
/* What the code means, e.g. "a number outside [minimum, maximum]"; "unknown reason" otherwise. */
const char *dq_reason_str(dq_reason reason);
/* The code for a name, or -1. */
int dq_reason_from_name(const char *name);
/* "PASS", "FIXED" or "REJECT". */
const char *dq_verdict_name(dq_verdict verdict);
/* DQ_REASON__COUNT of the library loaded: bindings read the codes from here. */
int dq_reason_count(void);
/* sizeof the public struct named ("dq_totals", "dq_error", "dq_result", "dq_window_stats"),
 * 0 for other names: bindings that copy a struct check their copy against it. */
size_t dq_sizeof(const char *type);

/* ---------------------------------------------------------------- time */

/*
 * Parses an ISO-8601 date-time with an offset ("2026-11-26T04:13:00.250Z",
 * "2026-11-26T05:13:00+01:00") to ms since the epoch. DQ_OK or DQ_ERR_ARG.
 */
dq_err dq_time_parse_n(const char *s, size_t len, int64_t *ms);
/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" and a NUL into out. */
void dq_time_format_ms(int64_t ms, char out[25]);
/*
 * Parses a duration as contracts write them: digits, then ms, s, m, h or d ("500ms",
 * "10s", "5m", "1h") to ms. s need not be NUL-terminated. DQ_OK or DQ_ERR_ARG.
 */
dq_err dq_duration_parse_n(const char *s, size_t len, int64_t *ms);

/* ---------------------------------------------------------------- contract */

typedef struct dq_contract dq_contract;

/*
 * Loads and compiles a contract from a YAML file. Returns a new contract, or NULL with
 * err (if not NULL) saying why: DQ_ERR_IO (the file), DQ_ERR_CONTRACT (with its line),
 * DQ_ERR_NOMEM.
 */
dq_contract *dq_contract_load(const char *path, dq_error *err);

/* Same, from a YAML text of len bytes; name is used in error messages. */
dq_contract *dq_contract_parse_n(const char *yaml, size_t len, const char *name, dq_error *err);

void dq_contract_free(dq_contract *ctr);

/* The contract's id and version strings (owned by the contract). */
const char *dq_contract_id(const dq_contract *ctr);
const char *dq_contract_version(const dq_contract *ctr);

/*
 * The contract's field rules as one JSON array, for engines that state some rules in their own
 * terms (the Spark jobs' native expressions): per property its name, type ("string", "number",
 * "integer", "boolean", "timestamp"), required, primaryKey, eventTime, and where the contract
 * gives them minimum, maximum, onOutOfRange ("reject", "cap", "warn") and coerce (numbers),
 * pattern, maxLength, enum, onMissing ({"impute": "last_good", "maxAgeMs" or "maxAgeIntervals"}
 * or {"impute": "constant", "value"}). Returns as snprintf does.
 */
size_t dq_contract_fields_json(const dq_contract *ctr, char *buf, size_t size);
/* The name of contract field i (the order of its properties; dq_detail.field), or NULL. */
const char *dq_contract_field_name(const dq_contract *ctr, int i);

/* Tumbling metric windows declared by the contract, in milliseconds. */
int dq_contract_window_count(const dq_contract *ctr);
int64_t dq_contract_window_ms(const dq_contract *ctr, int i);

/* ---------------------------------------------------------------- engine */

typedef struct dq_engine dq_engine;

/*
 * Creates an engine evaluating events against ctr. The contract is borrowed:
 * it must outlive the engine. Returns NULL with err saying why (DQ_ERR_ARG, DQ_ERR_NOMEM).
 */
dq_engine *dq_engine_new(const dq_contract *ctr, dq_error *err);
void dq_engine_free(dq_engine *eng);

/*
 * Sets "now" (milliseconds since the Unix epoch, UTC) used by the future-timestamp
 * rule. Until set, the future-timestamp rule is not applied.
 */
void dq_engine_set_now(dq_engine *eng, int64_t now_ms);

#define DQ_MAX_DETAILS 16

/* One finding: which rule fired on which field, and what was done about it. */
typedef struct dq_detail {
    uint8_t reason;  /* dq_reason */
    uint8_t action;  /* dq_action below */
    int16_t field;   /* contract field index, -1 for the whole event */
} dq_detail;

/* What was done about a finding: X(name, value, the name in annotations). */
#define DQ_ACTIONS(X)          \
    X(REJECT, 0, "reject")     \
    X(WARN, 1, "warn")         \
    X(COERCED, 2, "coerced")   \
    X(CAPPED, 3, "capped")     \
    X(IMPUTED, 4, "imputed")   \
    X(DROPPED, 5, "dropped")   /* an unknown member left out of the clean output */

typedef enum dq_action {
#define DQ_ACTION_ENUM(name, value, text) DQ_ACT_##name = value,
    DQ_ACTIONS(DQ_ACTION_ENUM)
#undef DQ_ACTION_ENUM
} dq_action;

/* "reject", "warn", "coerced", "capped", "imputed", "dropped"; "unknown" otherwise. */
const char *dq_action_name(dq_action action);

/* The outcome of one event. Pointers are valid until the next call on the engine. */
typedef struct dq_result {
    dq_verdict verdict;
    uint64_t reasons;        /* bit (1 << code) for every reason found */
    int n_details;
    dq_detail details[DQ_MAX_DETAILS];
    int64_t event_time_ms;   /* INT64_MIN when the event has no valid time */
    const char *key;         /* the key field's value (e.g. sensor id), or NULL */
    size_t key_len;
    const char *clean;       /* canonical JSON with a "dq" member; NULL on REJECT */
    size_t clean_len;
    const char *verdict_json;/* {"status":..,"reasons":[..],..}: the dq annotation */
    size_t verdict_json_len;
    /* Anomaly scoring (contracts with an `anomaly` section), for PASS/FIXED events of a
     * sensor past its warm-up whose anomaly fields are all readings (not imputed). */
    bool anomaly_scored;
    bool is_anomaly;          /* the model's score >= its threshold; without a model z >= the flag threshold:
                               * the contract's, or the sensor's own under anomaly.alarmsPerDay */
    int anomaly_field;        /* the field of the largest z (dq_contract_field_name) */
    double anomaly_z;         /* online detector: the largest |value - mean| / std over the fields */
    double anomaly_score;     /* the model's score in (0, 1], or without a model z / (z + the flag
                               * threshold) in [0, 1], 0.5 at the flag; higher = more anomalous */
    const double *features;   /* the event's dq_contract_feature_count() features when a model
                               * scored it (or in dq_engine_eval_features), else NULL */
} dq_result;

/*
 * Evaluates one event of len bytes (one JSON object, not NUL-terminated) and
 * updates the per-key state and the windows. Always gives a verdict, whatever
 * the bytes: hostile input is a REJECT, never an error.
 * Returns DQ_OK, or DQ_ERR_ARG for NULL arguments.
 */
dq_err dq_engine_eval_n(dq_engine *eng, const char *event, size_t len, dq_result *res);

/*
 * The largest clean output (with annotation) an event of event_len bytes can give.
 * Linear in event_len: for a batch, clean_bound(total) + n * clean_bound(0) suffices.
 */
size_t dq_engine_clean_bound(size_t event_len);

/*
 * Batch evaluation, for bindings: events i = buf[offs[i] .. offs[i+1]) for i < n
 * (offs has n + 1 entries). For each event writes verdicts[i], reasons[i] (mask)
 * and event_time_ms[i] (any of these may be NULL), and appends its clean output
 * (on REJECT its annotation, verdict_json) to clean, with clean_offs[i + 1] its end (clean_offs[0]
 * is set to 0). Stops before an event whose dq_engine_clean_bound() no longer
 * fits in what is left of clean_cap.
 * Returns the number of events evaluated (< n only when clean is full).
 */
size_t dq_engine_eval_batch(dq_engine *eng, const char *buf, const uint64_t *offs, size_t n,
                            uint8_t *verdicts, uint64_t *reasons, int64_t *event_time_ms,
                            char *clean, size_t clean_cap, uint64_t *clean_offs);

/*
 * Writes a dead-letter record for a rejected event as one JSON line (no newline):
 *   {<extra>,"dq":{..annotation..},"raw":"<original event>"}
 * raw is a JSON string when the bytes are valid UTF-8 without NUL, else
 * "raw_base64"; nothing of the original is lost. extra is inserted verbatim as
 * leading members (e.g. "\"line\":12") and may be NULL. Returns as snprintf does:
 * the full length (exact; allocates to measure it when buf is too small, and returns an
 * upper bound if that allocation fails); the output is complete only when that is < size,
 * else buf holds "".
 */
size_t dq_reject_json(const dq_result *res, const char *extra, const char *raw, size_t raw_len, char *buf,
                      size_t size);

/* ---------------------------------------------------------------- metrics */

/* Counts over one closed window for one key, or for all keys (key_len == 0). */
typedef struct dq_window_stats {
    int64_t window_ms;       /* window length */
    int64_t start_ms;        /* window start, event time */
    const char *key;         /* the key, or "" for the overall row */
    size_t key_len;
    uint64_t events;
    uint64_t verdicts[3];    /* indexed by dq_verdict */
    uint64_t complete;       /* events with every required field present */
    uint64_t reasons[DQ_REASON__COUNT];
} dq_window_stats;

/*
 * Called for each window row as windows close (event time passes their end) and
 * on dq_engine_flush(). The stats are valid during the call only.
 */
typedef void (*dq_window_cb)(const dq_window_stats *stats, void *opaque);
void dq_engine_set_window_cb(dq_engine *eng, dq_window_cb cb, void *opaque);

/* Closes and reports every open window (end of input). */
void dq_engine_flush(dq_engine *eng);

/*
 * Writes one window row as a single-line JSON object (no newline) to buf.
 * Returns the length written, or the length needed (> size) if buf is too small
 * (snprintf-style; buf is NUL-terminated when size > 0).
 */
size_t dq_window_stats_json(const dq_window_stats *stats, char *buf, size_t size);

/* Cumulative totals since the engine was created. */
typedef struct dq_totals {
    uint64_t events;
    uint64_t verdicts[3];
    uint64_t reasons[DQ_REASON__COUNT];
    uint64_t keys;            /* distinct keys in the state table */
    uint64_t state_overflow;  /* events whose key found no room in the state table (docs/contract.md) */
    uint64_t anomalies_scored, anomalies; /* events scored for anomalies, and flagged */
    uint64_t state_evicted;   /* keys forgotten to make room for new ones (least recently seen) */
} dq_totals;
void dq_engine_totals(const dq_engine *eng, dq_totals *out);

/*
 * Writes the totals in the Prometheus text exposition format (version 0.0.4),
 * metric names prefixed with prefix (e.g. "dq"). Returns as dq_window_stats_json.
 */
size_t dq_totals_prometheus(const dq_totals *totals, const char *prefix, char *buf, size_t size);

/* ---------------------------------------------------------------- anomaly scoring */

/*
 * The features libdq computes per event for anomaly models, from the sensor's state
 * before the event (docs/anomaly.md): for each anomaly field f, "f.value", "f.delta"
 * (to the previous reading), "f.dev" (to the exponentially weighted mean), "f.std"
 * (the weighted standard deviation); then "time.sin" and "time.cos" (time of day).
 * 0 when the contract has no anomaly section.
 */
int dq_contract_feature_count(const dq_contract *ctr);
/* The contract's anomaly.threshold, NaN without a section: the online detector's |z| flag threshold,
 * or under anomaly.alarmsPerDay where each sensor's own starts (it also clips a reading's pull on the mean). */
double dq_contract_anomaly_threshold(const dq_contract *ctr);
const char *dq_contract_feature_name(const dq_contract *ctr, int i);

/*
 * An anomaly model exported from Python (ml/export.py writes the text format,
 * src/anomaly.c describes it): an isolation forest, whose scores equal scikit-learn's
 * -score_samples() (to rounding), or a Hotelling T² model, whose score is T². Read-only
 * once loaded: engines on any thread may share it. A score at or above the threshold
 * is an anomaly.
 */
typedef struct dq_model dq_model;
/* NULL with err saying why: DQ_ERR_IO (the file), DQ_ERR_MODEL (with its line), DQ_ERR_NOMEM. */
dq_model *dq_model_load(const char *path, dq_error *err);
dq_model *dq_model_parse_n(const char *text, size_t len, const char *name, dq_error *err);
void dq_model_free(dq_model *model);
int dq_model_feature_count(const dq_model *model);
const char *dq_model_feature_name(const dq_model *model, int i);
double dq_model_threshold(const dq_model *model);
/* The anomaly score of one feature vector (dq_model_feature_count() values). */
double dq_model_score(const dq_model *model, const double *features);

/*
 * Scores the engine's events with model (borrowed: it must outlive the engine; NULL
 * goes back to the online detector). DQ_ERR_MODEL (also in err) when the model's
 * features are not the contract's; DQ_ERR_ARG without an engine.
 */
dq_err dq_engine_set_model(dq_engine *eng, const dq_model *model, dq_error *err);

/*
 * Batch evaluation for training: like dq_engine_eval_batch, writing each event's
 * features to features[i * dq_contract_feature_count() ...] (NaN when not scored).
 * Returns n.
 */
size_t dq_engine_eval_features(dq_engine *eng, const char *buf, const uint64_t *offs, size_t n, double *features);

/* ---------------------------------------------------------------- state across restarts */

/*
 * The per-key state of the stateful rules (recent event times, last good values,
 * run lengths) as bytes, so a stream processor can keep it across restarts:
 * dq gate writes it to a compacted Kafka topic in the transaction of each batch.
 * The bytes are portable (little-endian, versioned, numbers as decimal text) and
 * tied to the contract's numeric fields: bytes of another layout are refused with
 * DQ_ERR_STATE. Window counts are not part of it (a window open at a restart
 * reports what it saw after the restart).
 */
#define DQ_STATE_MAX_BYTES 4096 /* the largest saved state of one key */

typedef void (*dq_state_cb)(const char *key, size_t key_len, const void *state, size_t len, void *opaque);

/*
 * Calls cb for every key whose state changed since the previous call (or since
 * the engine was created or cleared), the most recently seen first, then forgets
 * the changes. The key and the bytes are valid during the call only; cb must not
 * evaluate events on this engine or restore state into it.
 */
void dq_engine_state_changes(dq_engine *eng, dq_state_cb cb, void *opaque);

/*
 * Replaces key's state with bytes given by dq_engine_state_changes. Does not count
 * as a change. DQ_OK; DQ_ERR_STATE for bytes that are not a state of this contract
 * (nothing changes); DQ_ERR_SPACE when the state table is full (docs/contract.md: memory
 * per sensor) or the key too long;
 * DQ_ERR_ARG for NULL arguments.
 */
dq_err dq_engine_state_restore(dq_engine *eng, const char *key, size_t key_len, const void *state, size_t len);

/* Forgets every key (state, pending changes and the keys' open window counts). */
void dq_engine_state_clear(dq_engine *eng);

#ifdef __cplusplus
}
#endif
#endif /* DQ_DQ_H */
