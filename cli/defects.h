/*
 * defects.h - the generator's defects: its ground-truth labels, in the column order of
 * `dq gen --defects`, and the reason code that detects each (-1: none; several defects may
 * share one). One list for dq gen, which injects them, and dq score, which measures them.
 */
#ifndef CLI_DEFECTS_H
#define CLI_DEFECTS_H

#include "dq/dq.h"

#define CLI_DEFECTS(X)                                            \
    X(NONE, "none", -1)                                           \
    X(MISSING, "missing_value", DQ_R_MISSING_FIELD)               \
    X(OUTLIER, "outlier", DQ_R_OUT_OF_RANGE)                      \
    X(WRONG_TYPE, "wrong_type", DQ_R_WRONG_TYPE)                  \
    X(NUMERIC_STRING, "numeric_string", DQ_R_WRONG_TYPE)          \
    X(MALFORMED, "malformed_json", DQ_R_MALFORMED_JSON)           \
    X(INVALID_SENSOR, "invalid_sensor_id", DQ_R_PATTERN_MISMATCH) \
    X(INVALID_TIMESTAMP, "invalid_timestamp", DQ_R_INVALID_TIMESTAMP) \
    X(DUPLICATE, "duplicate", DQ_R_DUPLICATE_EVENT)               \
    X(SPIKE, "spike", DQ_R_SPIKE)                                 \
    X(STUCK, "stuck", DQ_R_STUCK_VALUE)                           \
    X(GAP, "gap", DQ_R_GAP)                                       \
    X(LATE, "late", DQ_R_LATE_EVENT)                              \
    X(FUTURE, "future_timestamp", DQ_R_FUTURE_TIMESTAMP)          \
    X(OVERSIZED, "oversized", DQ_R_OVERSIZED)                     \
    X(NOISE, "noise", DQ_R_NOISE)                                 \
    X(BIAS, "bias", DQ_R_BIAS)                                    \
    X(DRIFT, "drift", DQ_R_DRIFT)                                 \
    X(BATTERY, "battery_failure", DQ_R_OUT_OF_RANGE)              \
    X(UNLABELLED, "unlabelled", -1)             /* a replayed data set without labels */ \
    X(LABELLED_ANOMALY, "labelled_anomaly", -1) /* a replayed data set's own label */

typedef enum cli_defect {
#define CLI_DEFECT_ENUM(e, name, reason) D_##e,
    CLI_DEFECTS(CLI_DEFECT_ENUM)
#undef CLI_DEFECT_ENUM
    D__COUNT
} cli_defect;

extern const char *const cli_defect_names[D__COUNT];
extern const int cli_defect_reasons[D__COUNT];

/* The defect named, or -1. */
int cli_defect_from_name(const char *name);

#endif
