/*
 * err.c - names and texts of error codes, reason codes, actions and verdicts, from the
 * X-macro tables of dq.h; filling a dq_error.
 *
 * The reason table is the source of truth for docs/reason-codes.md; a test
 * checks that the document lists every code with the same number.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dq_int.h"

#define ERR_CASE_NAME(name, value, text) \
    case name: return #name;
#define ERR_CASE_TEXT(name, value, text) \
    case name: return text;

const char *dq_err_name(dq_err err)
{
    switch (err) {
    DQ_ERRORS(ERR_CASE_NAME)
    }
    return "DQ_ERR_UNKNOWN";
}

const char *dq_err_str(dq_err err)
{
    switch (err) {
    DQ_ERRORS(ERR_CASE_TEXT)
    }
    return "unknown error";
}

void dq_error_set(dq_error *err, dq_err code, int line, const char *fmt, ...)
{
    if (!err)
        return;
    err->code = code;
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

void dq_error_clear(dq_error *err)
{
    if (err) {
        err->code = DQ_OK;
        err->line = 0;
        err->msg[0] = '\0';
    }
}

#define REASON_NAME(name, value, text) [value] = #name,
#define REASON_TEXT(name, value, text) [value] = text,
static const char *const reason_names[DQ_REASON__COUNT] = {DQ_REASONS(REASON_NAME)};
static const char *const reason_texts[DQ_REASON__COUNT] = {DQ_REASONS(REASON_TEXT)};

const char *dq_reason_name(dq_reason reason)
{
    if ((int)reason < 0 || reason >= DQ_REASON__COUNT)
        return "UNKNOWN";
    return reason_names[reason];
}

const char *dq_reason_str(dq_reason reason)
{
    if ((int)reason < 0 || reason >= DQ_REASON__COUNT)
        return "unknown reason";
    return reason_texts[reason];
}

int dq_reason_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < DQ_REASON__COUNT; i++)
        if (strcmp(reason_names[i], name) == 0)
            return i;
    return -1;
}

int dq_reason_count(void)
{
    return DQ_REASON__COUNT;
}

size_t dq_sizeof(const char *type)
{
    static const struct {
        const char *name;
        size_t size;
    } types[] = {{"dq_totals", sizeof(dq_totals)}, {"dq_error", sizeof(dq_error)},
                 {"dq_result", sizeof(dq_result)}, {"dq_window_stats", sizeof(dq_window_stats)}};
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, type) == 0)
            return types[i].size;
    return 0;
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

const char *dq_action_name(dq_action action)
{
    switch (action) {
#define ACTION_CASE(name, value, text) \
    case DQ_ACT_##name: return text;
    DQ_ACTIONS(ACTION_CASE)
#undef ACTION_CASE
    }
    return "unknown";
}
