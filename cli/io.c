/*
 * io.c - input and output helpers of the `dq` tool: a bounded-memory line reader,
 * output files, clocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "dq/dq.h"

struct cli_lines {
    FILE *in;
    char *buf;
    size_t cap, start, end; /* unread bytes are buf[start..end) */
    size_t max;
    bool eof;
};

int cli_exit_for(dq_err code)
{
    switch (code) {
    case DQ_OK: return CLI_EXIT_OK;
    case DQ_ERR_CONTRACT:
    case DQ_ERR_MODEL: return CLI_EXIT_CONTRACT;
    case DQ_ERR_NOMEM: return CLI_EXIT_NOMEM;
    case DQ_ERR_IO:
    case DQ_ERR_STATE: /* bytes read from somewhere */
    case DQ_ERR_SPACE:
    case DQ_ERR_ARG: break;
    }
    return CLI_EXIT_IO;
}

int cli_fail(const char *cmd, const dq_error *err)
{
    fprintf(stderr, "dq %s: %s\n", cmd, err->msg[0] ? err->msg : dq_err_str(err->code));
    return cli_exit_for(err->code);
}

cli_lines *cli_lines_open(FILE *in, size_t max)
{
    cli_lines *lr = calloc(1, sizeof *lr);
    if (!lr)
        return NULL;
    lr->in = in;
    lr->max = max;
    lr->cap = max + (1u << 20);
    lr->buf = malloc(lr->cap);
    if (!lr->buf) {
        free(lr);
        return NULL;
    }
    return lr;
}

void cli_lines_close(cli_lines *lr)
{
    if (lr) {
        free(lr->buf);
        free(lr);
    }
}

static bool fill(cli_lines *lr, bool *err)
{
    if (lr->eof)
        return false;
    if (lr->start > 0) {
        memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
        lr->end -= lr->start;
        lr->start = 0;
    }
    size_t n = fread(lr->buf + lr->end, 1, lr->cap - lr->end, lr->in);
    lr->end += n;
    if (n == 0) {
        lr->eof = true;
        if (ferror(lr->in))
            *err = true;
        return false;
    }
    return true;
}

bool cli_lines_next(cli_lines *lr, const char **line, size_t *len, bool *cut, uint64_t *full_len, bool *err)
{
    *cut = false;
    *err = false;
    for (;;) {
        char *nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
        size_t avail = lr->end - lr->start;
        if (nl || (lr->eof && avail > 0)) {
            size_t n = nl ? (size_t)(nl - (lr->buf + lr->start)) : avail;
            *line = lr->buf + lr->start;
            *len = n;
            *full_len = n;
            lr->start += n + (nl != NULL);
            return true;
        }
        if (avail > lr->max) {
            /* An oversized line: keep its first max bytes, count and skip the rest. */
            *cut = true;
            memmove(lr->buf, lr->buf + lr->start, avail);
            lr->start = 0;
            lr->end = avail;
            *line = lr->buf;
            *len = lr->max;
            uint64_t total = avail;
            size_t keep_end = lr->max;
            /* Discard everything after the kept prefix until the newline. */
            lr->end = keep_end;
            for (;;) {
                size_t room = lr->cap - lr->end;
                size_t got = fread(lr->buf + lr->end, 1, room, lr->in);
                if (got == 0) {
                    if (ferror(lr->in))
                        *err = true;
                    lr->eof = true;
                    break;
                }
                char *q = memchr(lr->buf + lr->end, '\n', got);
                if (q) {
                    size_t upto = (size_t)(q - (lr->buf + lr->end));
                    total += upto;
                    /* Keep the bytes after the newline for the next call. */
                    memmove(lr->buf + keep_end, q + 1, got - upto - 1);
                    lr->end = keep_end + (got - upto - 1);
                    *full_len = total;
                    lr->start = keep_end; /* the prefix stays valid until the next call */
                    return true;
                }
                total += got;
            }
            *full_len = total;
            lr->start = keep_end;
            lr->end = keep_end;
            return true;
        }
        if (!fill(lr, err))
            if (lr->eof && lr->end == lr->start)
                return false;
    }
}

/* The file an output path names: "-" is standard output's. */
static bool stat_output(const char *path, struct stat *st)
{
    return strcmp(path, "-") == 0 ? fstat(STDOUT_FILENO, st) == 0 : stat(path, st) == 0;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

bool cli_is_input(FILE *in, const char *path)
{
    struct stat a, b;
    return in && path && strcmp(path, "-") != 0 && fstat(fileno(in), &a) == 0 && stat(path, &b) == 0 &&
           same_inode(&a, &b);
}

bool cli_same_output(const char *a, const char *b)
{
    if (!a || !b || (strcmp(a, "-") == 0 && strcmp(b, "-") == 0))
        return false;
    struct stat sa, sb;
    bool a_ok = stat_output(a, &sa), b_ok = stat_output(b, &sb);
    if (a_ok && b_ok) /* one regular file (a pipe, a terminal or /dev/null takes both) */
        return S_ISREG(sa.st_mode) && same_inode(&sa, &sb);
    return !a_ok && !b_ok && strcmp(a, b) == 0; /* not written yet: the same name */
}

/* Whether path is standard output's file (/dev/stdout, a fifo it writes to, ...). */
static bool is_stdout(const char *path)
{
    struct stat a, b;
    return strcmp(path, "-") == 0 || (stat(path, &a) == 0 && stat_output("-", &b) && same_inode(&a, &b));
}

FILE *cli_open_out(const char *path)
{
    if (!path)
        return NULL;
    /* Standard output's file through one stream: two buffers on one pipe would each flush
     * when full, cutting the other's lines. */
    FILE *f = is_stdout(path) ? stdout : fopen(path, "wb");
    if (f) /* fully buffered, a terminal too (glibc ignores the size: its buffer is st_blksize, 4 KB) */
        setvbuf(f, NULL, _IOFBF, 1u << 20);
    return f;
}

void cli_close_out(FILE *f, const char *path, bool *failed)
{
    if (!f)
        return;
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "dq: error writing %s: %s\n", path, strerror(errno));
        *failed = true;
    }
    if (f != stdout)
        fclose(f);
}

/* Lines gathered into writes of 64 KB (the stream's own buffer is 4 KB): few system calls,
 * and a reader of a live stream still sees its lines without waiting for megabytes. */
struct cli_out {
    FILE *f;
    size_t len;
    char buf[1 << 16];
};

cli_out *cli_out_open(FILE *f)
{
    cli_out *o = malloc(sizeof *o);
    if (o) {
        o->f = f;
        o->len = 0;
    }
    return o;
}

void cli_out_line(cli_out *o, const char *s, size_t n)
{
    if (n >= sizeof o->buf - o->len) {
        cli_out_flush(o);
        if (n >= sizeof o->buf) { /* longer than the buffer: straight through */
            fwrite(s, 1, n, o->f);
            putc('\n', o->f);
            return;
        }
    }
    memcpy(o->buf + o->len, s, n);
    o->buf[o->len + n] = '\n';
    o->len += n + 1;
}

void cli_out_flush(cli_out *o)
{
    if (o && o->len) {
        fwrite(o->buf, 1, o->len, o->f); /* an error stays on the stream, for cli_close_out */
        o->len = 0;
    }
}

void cli_out_free(cli_out *o)
{
    cli_out_flush(o);
    free(o);
}

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double cli_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool cli_parse_time_arg(const char *s, int64_t *ms)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end && !errno) {
        *ms = v;
        return true;
    }
    return dq_time_parse_n(s, strlen(s), ms) == DQ_OK;
}
