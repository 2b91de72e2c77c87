/* parsers_jsonc.c - the json-c runner of bench/parsers.c (kept apart: json-c and jansson share names). */
#include <json-c/json.h>
#include <stddef.h>

size_t bench_jsonc(const char *buf, const size_t *off, size_t n);

size_t bench_jsonc(const char *buf, const size_t *off, size_t n)
{
    size_t ok = 0;
    json_tokener *tok = json_tokener_new();
    for (size_t i = 0; i < n; i++) {
        json_tokener_reset(tok);
        json_object *doc = json_tokener_parse_ex(tok, buf + off[i], (int)(off[i + 1] - off[i] - 1));
        ok += doc != NULL;
        json_object_put(doc);
    }
    json_tokener_free(tok);
    return ok;
}
