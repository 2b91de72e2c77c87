/*
 * parsers.c - why libdq scans events itself: the same events through the Debian
 * JSON libraries and through dq_event_scan, in one run.
 *
 * usage: bench_parsers CONTRACT EVENTS.ndjson
 * Each parser gets every line and must build what it builds (a DOM for the
 * libraries; for libdq the matched fields, unescaped strings and parsed numbers).
 * Prints documents per second, best of three passes, for each.
 */
#include <cjson/cJSON.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dq_int.h"

typedef struct lines {
    char *buf;
    size_t *off; /* start of line i; off[n] = end */
    size_t n;
} lines;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, lines *L)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    L->buf = malloc((size_t)size + 1);
    if (!L->buf || fread(L->buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        return -1;
    }
    fclose(f);
    size_t cap = 1024;
    L->off = malloc(cap * sizeof *L->off);
    L->n = 0;
    size_t start = 0;
    for (size_t i = 0; i < (size_t)size; i++) {
        if (L->buf[i] != '\n')
            continue;
        if (L->n + 2 > cap)
            L->off = realloc(L->off, (cap *= 2) * sizeof *L->off);
        L->off[L->n++] = start;
        L->buf[i] = '\0'; /* jansson and json-c take lengths, cJSON too; NUL keeps all honest */
        start = i + 1;
    }
    L->off[L->n] = start;
    return 0;
}

#define LEN(L, i) ((L)->off[(i) + 1] - (L)->off[i] - 1)

static size_t run_cjson(const lines *L)
{
    size_t ok = 0;
    for (size_t i = 0; i < L->n; i++) {
        cJSON *doc = cJSON_ParseWithLength(L->buf + L->off[i], LEN(L, i));
        ok += doc != NULL;
        cJSON_Delete(doc);
    }
    return ok;
}

/* json-c and jansson both name things json_object: json-c lives in parsers_jsonc.c. */
size_t bench_jsonc(const char *buf, const size_t *off, size_t n);
static size_t run_jsonc(const lines *L) { return bench_jsonc(L->buf, L->off, L->n); }

static size_t run_jansson(const lines *L)
{
    size_t ok = 0;
    for (size_t i = 0; i < L->n; i++) {
        json_error_t err;
        json_t *doc = json_loadb(L->buf + L->off[i], LEN(L, i), JSON_REJECT_DUPLICATES, &err);
        ok += doc != NULL;
        json_decref(doc);
    }
    return ok;
}

static const dq_contract *g_ctr;
static char *g_scratch;
static size_t run_dq(const lines *L)
{
    size_t ok = 0;
    dq_scan scan;
    for (size_t i = 0; i < L->n; i++) {
        dq_event_scan(g_ctr, L->buf + L->off[i], LEN(L, i), g_scratch, &scan);
        ok += scan.error == DQ_R_NONE;
    }
    return ok;
}

int main(int argc, char **argv)
{
    dq_error err;
    lines L;
    if (argc != 3) {
        fprintf(stderr, "usage: bench_parsers CONTRACT EVENTS.ndjson\n");
        return 2;
    }
    dq_contract *ctr = dq_contract_load(argv[1], &err);
    if (!ctr || load(argv[2], &L) != 0) {
        fprintf(stderr, "bench_parsers: %s\n", ctr ? "cannot read events" : err.msg);
        return 1;
    }
    g_ctr = ctr;
    g_scratch = malloc(1u << 24);
    struct {
        const char *name;
        size_t (*fn)(const lines *);
    } parsers[] = {{"libdq dq_event_scan (flat, fields matched)", run_dq},
                   {"cJSON 1.7 (DOM)", run_cjson},
                   {"json-c 0.16 (DOM)", run_jsonc},
                   {"jansson 2.14 (DOM, duplicate check)", run_jansson}};
    printf("| %-44s | %14s | %10s |\n|%s|%s|%s|\n", "parser", "documents/s", "parsed", "----------------------------------------------", "----------------", "------------");
    for (size_t p = 0; p < sizeof parsers / sizeof parsers[0]; p++) {
        double best = 1e9;
        size_t ok = 0;
        for (int rep = 0; rep < 3; rep++) {
            double t = now_s();
            ok = parsers[p].fn(&L);
            t = now_s() - t;
            best = t < best ? t : best;
        }
        printf("| %-44s | %14.0f | %10zu |\n", parsers[p].name, (double)L.n / best, ok);
    }
    printf("\n%zu events of %s; parsed = documents each accepted as well-formed\n", L.n, argv[2]);
    dq_contract_free(ctr);
    return 0;
}
