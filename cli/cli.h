/*
 * cli.h - shared declarations of the `dq` command-line tool.
 *
 * Exit codes (documented in docs/cli.md and every --help):
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_REJECTS 1  /* --fail-on-reject and at least one event was rejected */
#define CLI_EXIT_USAGE 2    /* bad command line */
#define CLI_EXIT_CONTRACT 3 /* the contract (or dq gate's model) could not be loaded */
#define CLI_EXIT_IO 4       /* an input or output file failed */
#define CLI_EXIT_KAFKA 5    /* Kafka could not be reached or refused us */
#define CLI_EXIT_NOMEM 6    /* out of memory */

#include "dq/dq.h"

/* CSV rows as JSON events (csv.c): delim separates fields; set is "field=value,..." constants. */
typedef struct cli_csv cli_csv;
cli_csv *cli_csv_new(char delim, const char *set);
void cli_csv_free(cli_csv *c);
/* Reads the header; map ("field=column,...") renames columns. False with a message in err. */
bool cli_csv_header(cli_csv *c, const char *line, size_t n, const char *map, char *err, size_t err_size);
/* One row as a JSON object in out; 0 when the row does not convert (judge the raw line then). */
size_t cli_csv_row_json(const cli_csv *c, const char *line, size_t n, char *out, size_t cap);

/* The exit code for a libdq error: the one mapping every subcommand uses. */
int cli_exit_for(dq_err code);
/* Prints "dq <cmd>: <err->msg>" to stderr and returns cli_exit_for(err->code). */
int cli_fail(const char *cmd, const dq_error *err);

/* Subcommands: argc/argv start at the subcommand's name. */
int cli_cmd_check(int argc, char **argv);
int cli_cmd_gen(int argc, char **argv);
int cli_cmd_gate(int argc, char **argv);
int cli_cmd_score(int argc, char **argv);

/*
 * A line reader with bounded memory: lines longer than max are returned cut at
 * max bytes with *cut set and their full length in *full_len; the rest of such a
 * line is skipped. A final line without a newline is returned as well.
 */
typedef struct cli_lines cli_lines;
cli_lines *cli_lines_open(FILE *in, size_t max);
/* Returns false at end of input; *err set on a read error. */
bool cli_lines_next(cli_lines *lr, const char **line, size_t *len, bool *cut, uint64_t *full_len, bool *err);
void cli_lines_close(cli_lines *lr);

/* True when path is the file `in` reads (the same path, a hard or symbolic link, or stdin
 * redirected from it): opening it for writing would truncate the input before it is read. */
bool cli_is_input(FILE *in, const char *path);
/* Whether two output paths name one regular file (- is standard output): each written on its
 * own, the second would overwrite the first. The same "-" twice is one stream: not refused. */
bool cli_same_output(const char *a, const char *b);
/* Opens path for writing ("-" = stdout); NULL-safe close. */
FILE *cli_open_out(const char *path);
void cli_close_out(FILE *f, const char *path, bool *failed);

/* Lines to a stream through a buffer of their own: a line costs a copy, not stdio's work per
 * call (dq check writes a line an event). Flush before the stream is closed. */
typedef struct cli_out cli_out;
cli_out *cli_out_open(FILE *f); /* NULL when out of memory */
void cli_out_line(cli_out *o, const char *s, size_t n); /* s[0..n) and a newline */
void cli_out_flush(cli_out *o);                          /* NULL-safe */
void cli_out_free(cli_out *o);                           /* NULL-safe; flushes */

/* Wall-clock and monotonic time in ms / seconds. */
int64_t cli_now_ms(void);
double cli_mono_s(void);

/* Parses an ISO-8601 time or an integer of epoch ms. */
bool cli_parse_time_arg(const char *s, int64_t *ms);

#endif
