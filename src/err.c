/*
 * err.c - names of error codes, reason codes, actions and verdicts.
 *
 * The reason table is the source of truth for docs/reason-codes.md; a test
 * checks that the document lists every code with the same number.
 */
#include <string.h>

#include "dq_int.h"

const char *dq_err_name(dq_err err)
{
    switch (err) {
    case DQ_OK: return "DQ_OK";
    case DQ_ERR_ARG: return "DQ_ERR_ARG";
    case DQ_ERR_NOMEM: return "DQ_ERR_NOMEM";
    case DQ_ERR_IO: return "DQ_ERR_IO";
    case DQ_ERR_CONTRACT: return "DQ_ERR_CONTRACT";
    case DQ_ERR_SPACE: return "DQ_ERR_SPACE";
    case DQ_ERR_STATE: return "DQ_ERR_STATE";
    default: return "DQ_ERR_UNKNOWN";
    }
}

const char *dq_err_str(dq_err err)
{
    switch (err) {
    case DQ_OK: return "success";
    case DQ_ERR_ARG: return "invalid argument";
    case DQ_ERR_NOMEM: return "out of memory";
    case DQ_ERR_IO: return "input/output error";
    case DQ_ERR_CONTRACT: return "invalid contract";
    case DQ_ERR_SPACE: return "output buffer too small";
    case DQ_ERR_STATE: return "saved state does not fit this contract";
    default: return "unknown error";
    }
}

static const char *const reason_names[DQ_REASON__COUNT] = {
    [DQ_R_NONE] = "NONE",
    [DQ_R_EMPTY] = "EMPTY",
    [DQ_R_OVERSIZED] = "OVERSIZED",
    [DQ_R_MALFORMED_JSON] = "MALFORMED_JSON",
    [DQ_R_INVALID_UTF8] = "INVALID_UTF8",
    [DQ_R_NUL_BYTE] = "NUL_BYTE",
    [DQ_R_NOT_AN_OBJECT] = "NOT_AN_OBJECT",
    [DQ_R_TOO_DEEP] = "TOO_DEEP",
    [DQ_R_DUPLICATE_KEY] = "DUPLICATE_KEY",
    [DQ_R_NON_FINITE] = "NON_FINITE",
    [DQ_R_MISSING_FIELD] = "MISSING_FIELD",
    [DQ_R_WRONG_TYPE] = "WRONG_TYPE",
    [DQ_R_OUT_OF_RANGE] = "OUT_OF_RANGE",
    [DQ_R_PATTERN_MISMATCH] = "PATTERN_MISMATCH",
    [DQ_R_NOT_IN_ENUM] = "NOT_IN_ENUM",
    [DQ_R_INVALID_TIMESTAMP] = "INVALID_TIMESTAMP",
    [DQ_R_FUTURE_TIMESTAMP] = "FUTURE_TIMESTAMP",
    [DQ_R_DUPLICATE_EVENT] = "DUPLICATE_EVENT",
    [DQ_R_SPIKE] = "SPIKE",
    [DQ_R_STUCK_VALUE] = "STUCK_VALUE",
    [DQ_R_GAP] = "GAP",
    [DQ_R_LATE_EVENT] = "LATE_EVENT",
    [DQ_R_UNKNOWN_FIELD] = "UNKNOWN_FIELD",
    [DQ_R_TOO_LONG] = "TOO_LONG",
};

const char *dq_reason_name(int reason)
{
    if (reason < 0 || reason >= DQ_REASON__COUNT || !reason_names[reason])
        return "UNKNOWN";
    return reason_names[reason];
}

int dq_reason_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < DQ_REASON__COUNT; i++)
        if (reason_names[i] && strcmp(reason_names[i], name) == 0)
            return i;
    return -1;
}

const char *dq_verdict_name(dq_verdict verdict)
{
    switch (verdict) {
    case DQ_PASS: return "PASS";
    case DQ_FIXED: return "FIXED";
    case DQ_REJECT: return "REJECT";
    default: return "UNKNOWN";
    }
}

const char *dq_action_name(int action)
{
    static const char *const names[] = {"reject", "warn", "coerced", "capped", "imputed", "dropped"};
    if (action < 0 || action >= (int)(sizeof names / sizeof names[0]))
        return "unknown";
    return names[action];
}
