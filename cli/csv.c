/*
 * csv.c - CSV rows as the JSON events libdq judges, for `dq check --csv`.
 *
 * The first line names the columns. Each later line becomes one flat JSON object: a member
 * per column (renamed by --csv-map field=column, the rest keeping their names, which the
 * contract's unknownFields then drops or rejects), plus the constants of --csv-set
 * field=value. A value that is a JSON number is written as a number, any other as a string;
 * an empty one is left out (a missing field). Quoted fields follow RFC 4180 ("" is a quote),
 * on one line (a quoted newline is not supported: such a row does not convert). A row that does
 * not convert (a bad quote, a column too many or too few) is judged as its raw text, so it is
 * rejected MALFORMED_JSON with its bytes kept: nothing is lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CSV_MAX_COLUMNS 256

struct cli_csv {
    char delim;
    int n_columns;
    char *names[CSV_MAX_COLUMNS]; /* the JSON member each column becomes */
    char *set_json;               /* the constants, as members: "k":"v","k":1 */
};

/* Appends s[0..n) to out as a JSON string; false when out is full. */
static bool put_json_str(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (*len + 2 > cap)
        return false;
    out[(*len)++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', (char)c};
        size_t k = 1;
        if (c == '"' || c == '\\')
            k = 2;
        else if (c < 0x20)
            memcpy(esc, (char[6]){'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]}, k = 6);
        else
            esc[0] = (char)c;
        if (*len + k + 1 > cap)
            return false;
        memcpy(out + *len, esc, k);
        *len += k;
    }
    out[(*len)++] = '"';
    return true;
}

/* A JSON number, strictly: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static bool is_json_number(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-' ? 1 : 0;
    if (i >= n || s[i] < '0' || s[i] > '9' || (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9'))
        return false;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i += i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-') ? 2 : 1;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    return i == n;
}

/* The next field of line[*pos..n) into buf (unquoted); false on a bad quote. *more: a delimiter followed. */
static bool next_field(const cli_csv *c, const char *line, size_t n, size_t *pos, char *buf, size_t cap,
                       size_t *len, bool *more)
{
    size_t i = *pos;
    *len = 0;
    *more = false;
    if (i < n && line[i] == '"') {
        for (i++;; i++) {
            if (i >= n)
                return false; /* no closing quote */
            if (line[i] == '"') {
                if (i + 1 < n && line[i + 1] == '"')
                    i++;
                else
                    break;
            }
            if (*len + 1 >= cap)
                return false;
            buf[(*len)++] = line[i];
        }
        i++;
        if (i < n && line[i] != c->delim)
            return false; /* text after the closing quote */
    } else {
        for (; i < n && line[i] != c->delim; i++) {
            if (*len + 1 >= cap)
                return false;
            buf[(*len)++] = line[i];
        }
    }
    if (i < n) {
        *more = true;
        i++;
    }
    *pos = i;
    return true;
}

/* A "name=value" pair of --csv-map or --csv-set: the next one of the comma-separated list at
 * *list (items without '=' are skipped); false at its end. */
typedef struct pair {
    const char *name, *value;
    size_t name_len, value_len;
} pair;

static bool next_pair(const char **list, pair *out)
{
    for (const char *p = *list; p && *p;) {
        const char *end = strchr(p, ','), *eq = strchr(p, '=');
        end = end ? end : p + strlen(p);
        const char *next = *end ? end + 1 : end;
        if (eq && eq < end) {
            *out = (pair){.name = p, .name_len = (size_t)(eq - p), .value = eq + 1, .value_len = (size_t)(end - eq - 1)};
            *list = next;
            return true;
        }
        p = next;
    }
    return false;
}

cli_csv *cli_csv_new(char delim, const char *set)
{
    cli_csv *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->delim = delim;
    size_t cap = 2 * (set ? strlen(set) : 0) + 64, len = 0;
    c->set_json = malloc(cap);
    if (!c->set_json) {
        free(c);
        return NULL;
    }
    pair kv;
    for (const char *p = set; next_pair(&p, &kv);) {
        if (len)
            c->set_json[len++] = ',';
        put_json_str(c->set_json, cap, &len, kv.name, kv.name_len);
        c->set_json[len++] = ':';
        if (is_json_number(kv.value, kv.value_len)) {
            memcpy(c->set_json + len, kv.value, kv.value_len);
            len += kv.value_len;
        } else {
            put_json_str(c->set_json, cap, &len, kv.value, kv.value_len);
        }
    }
    c->set_json[len] = '\0';
    return c;
}

void cli_csv_free(cli_csv *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_columns; i++)
        free(c->names[i]);
    free(c->set_json);
    free(c);
}

bool cli_csv_header(cli_csv *c, const char *line, size_t n, const char *map, char *err, size_t err_size)
{
    char name[256];
    size_t pos = 0, len;
    bool more = true;
    while (more) {
        if (c->n_columns == CSV_MAX_COLUMNS || !next_field(c, line, n, &pos, name, sizeof name, &len, &more)) {
            snprintf(err, err_size, "the header is not a CSV row of at most %d columns", CSV_MAX_COLUMNS);
            return false;
        }
        while (len && (name[len - 1] == ' ' || name[len - 1] == '\r'))
            len--;
        const char *field = name; /* "field=column,..." renames column to field (the last such pair) */
        size_t field_len = len;
        pair kv;
        for (const char *p = map; next_pair(&p, &kv);)
            if (kv.value_len == len && memcmp(kv.value, name, len) == 0) {
                field = kv.name;
                field_len = kv.name_len;
            }
        c->names[c->n_columns] = strndup(field, field_len);
        if (!c->names[c->n_columns++]) {
            snprintf(err, err_size, "out of memory");
            return false;
        }
    }
    return true;
}

size_t cli_csv_row_json(const cli_csv *c, const char *line, size_t n, char *out, size_t cap)
{
    char value[65536];
    size_t pos = 0, len = 0, vlen;
    bool more = true;
    if (cap < 3)
        return 0;
    out[len++] = '{';
    int col = 0;
    for (; more; col++) {
        if (col == c->n_columns || !next_field(c, line, n, &pos, value, sizeof value, &vlen, &more))
            return 0;
        if (vlen && value[vlen - 1] == '\r' && !more)
            vlen--;
        if (vlen == 0)
            continue; /* an empty value: the field is missing */
        if (len > 1)
            out[len++] = ',';
        if (!put_json_str(out, cap, &len, c->names[col], strlen(c->names[col])) || len + 1 >= cap)
            return 0;
        out[len++] = ':';
        if (is_json_number(value, vlen)) {
            if (len + vlen >= cap)
                return 0;
            memcpy(out + len, value, vlen);
            len += vlen;
        } else if (!put_json_str(out, cap, &len, value, vlen)) {
            return 0;
        }
    }
    if (col != c->n_columns)
        return 0; /* a column too few */
    size_t set_len = strlen(c->set_json);
    if (len + set_len + 3 > cap)
        return 0;
    if (set_len && len > 1)
        out[len++] = ',';
    memcpy(out + len, c->set_json, set_len);
    len += set_len;
    out[len++] = '}';
    return len;
}
