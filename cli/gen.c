/*
 * gen.c - `dq gen`: realistic sensor readings with injected defects and their
 * ground truth.
 *
 * Each sensor has its own offset and noise; temperature follows a daily cycle
 * (warmest mid-afternoon), humidity moves against temperature, and the battery
 * decays until, below 2.4 V, readings fail the way the Intel Lab motes do
 * (temperatures climbing past 100 °C, negative humidity). On top of that the
 * defects named in docs/generator.md are injected at configurable rates. The
 * ground truth of every event goes to a side file (--truth), never into the
 * payload. Everything derives from --seed and --start: the same arguments give
 * the same bytes.
 */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dq/dq.h"
#include "defects.h"
#include "kafka.h"

#define TWO_PI 6.283185307179586


/* Default rates (share of events): about 15% defective in all, battery failures aside. */
static const double default_rates[D__COUNT] = {
    [D_MISSING] = 0.02, [D_OUTLIER] = 0.02, [D_WRONG_TYPE] = 0.01, [D_NUMERIC_STRING] = 0.01,
    [D_MALFORMED] = 0.01, [D_INVALID_SENSOR] = 0.01, [D_INVALID_TIMESTAMP] = 0.01, [D_DUPLICATE] = 0.01,
    [D_SPIKE] = 0.01, [D_STUCK] = 0.001, [D_GAP] = 0.001, [D_LATE] = 0.01, [D_FUTURE] = 0.005,
    [D_OVERSIZED] = 0.0005, [D_NOISE] = 0.0001, [D_BIAS] = 0.0001};

#define STUCK_RUN 40   /* readings a stuck sensor repeats its value */
#define NOISE_RUN 200  /* readings a failing sensor adds NOISE_TIMES its own noise to its temperature */
#define NOISE_TIMES 5.0
#define BIAS_RUN 200   /* readings a miscalibrated sensor reads BIAS_TIMES (20 to 40) its noise off, then recovers */
#define BIAS_TIMES 20.0
#define DRIFT_RUN 400  /* readings a drifting sensor creeps off, by up to DRIFT_TIMES (10 to 20) its noise, then is set right */
#define DRIFT_TIMES 10.0
#define OVERSIZED_BYTES 70000 /* an oversized event's firmware dump: beyond the contract's 64 KiB */
#define EVENT_BUF (OVERSIZED_BYTES + 10000) /* room for the largest event the generator writes */
#define DEFAULT_COUNT 10000
#define MAX_SENSORS 1000000
#define GAP_TICKS 40   /* readings a silent sensor skips (the contract's gap: 10 intervals) */
#define LATE_TICKS 10  /* a late reading is this many intervals old, and at least LATE_MIN_MS */
#define LATE_MIN_MS 120000 /* (beyond an absolute late tolerance of 1 to 2 minutes too) */

/* How far behind its tick a late reading's time is: half an interval off the sensor's tick
 * grid, so that it is late and not a duplicate time. */
static int64_t late_by_ms(int64_t interval_ms)
{
    int64_t back = LATE_TICKS * interval_ms;
    return (back > LATE_MIN_MS ? back : LATE_MIN_MS) + interval_ms / 2;
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r) /* splitmix64: small, fast, good enough for simulation */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static double rng_gauss(rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(TWO_PI * v);
}

typedef struct sensor {
    double temp_offset, hum_offset, noise, battery, drain_per_s;
    double last_temp, last_hum;
    char last_event[512];
    int last_len;
    int stuck_left, silent_left, noise_left, bias_left, drift_left;
    double bias;  /* the offset of a biased stretch */
    double drift; /* the offset a drifting stretch reaches at its end */
    uint64_t last_tick; /* tick of last_event */
    bool gap_pending;
} sensor;

typedef struct gen_opts {
    long sensors;
    uint64_t count;
    double duration_s, rate;
    uint64_t seed;
    int64_t start_ms, interval_ms;
    int64_t warm_up_ms; /* event time from the start without defects */
    double rates[D__COUNT];
    const char *truth;
    bool progress, quiet;
    bool interval_given;
    const char *replay, *format; /* --replay FILE --format intel|suthaharan */
    double speedup;              /* replay pace: event time / speedup; 0 = as fast as possible */
    const char *brokers, *topic; /* Kafka output instead of stdout */
    cli_kafka_props props;
} gen_opts;

static const char help[] =
    "usage: dq gen [--sensors N] [--count N | --duration SECONDS] [--rate EVENTS_PER_S]\n"
    "              [--seed N] [--start TIME] [--interval DURATION] [--defects NAME=RATE,...]\n"
    "              [--warm-up DURATION]\n"
    "              [--truth FILE] [--brokers HOSTS --topic TOPIC [--kafka-config FILE] [-X key=value ...]]\n"
    "              [--replay FILE --format intel|suthaharan [--speedup X]]\n"
    "              [--progress] [--quiet]\n"
    "\n"
    "Writes sensor readings as NDJSON to stdout, or to a Kafka topic (key = sensor id,\n"
    "ground truth in the dq.truth header, never in the payload), with realistic defects.\n"
    "\n"
    "  --sensors N        sensors, ids sensor_0 .. sensor_{N-1} (default 100)\n"
    "  --count N          events to write (default 10000; 0 = until stopped)\n"
    "  --duration S       stop after S seconds of wall time instead\n"
    "  --rate R           events per second (default: as fast as possible); without\n"
    "                     --interval, sensors x ticks per second, event time with the clock\n"
    "                     (a silent sensor's tick sends nothing)\n"
    "  --seed N           random seed (default 1); same arguments, same bytes\n"
    "  --start TIME       event time of the first reading, ISO-8601 or epoch ms (default:\n"
    "                     with --count and no --rate, so that the readings end now;\n"
    "                     else now; rounded down to the second)\n"
    "  --interval D       time between two readings of one sensor: 500ms, 10s, 5m, 1h\n"
    "                     (default 10s; with --rate, sensors/rate seconds, so that event\n"
    "                     time keeps pace with the clock)\n"
    "  --defects LIST     rates per defect, e.g. outlier=0.05,duplicate=0 ('none' = all 0,\n"
    "                     so none,spike=0.05 gives spikes only);\n"
    "                     names: missing_value outlier wrong_type numeric_string malformed_json\n"
    "                     invalid_sensor_id invalid_timestamp duplicate spike stuck gap late\n"
    "                     future_timestamp oversized noise bias drift (battery failures\n"
    "                     follow the battery; drift is off unless named: the drift rule\n"
    "                     learns each sensor's day first, see --warm-up)\n"
    "  --warm-up D        no defects in the first D of event time (battery failures aside):\n"
    "                     the history per-sensor rules learn from (for drift: 2d)\n"
    "  --truth FILE       ground truth, CSV: line,sensor_id,defect\n"
    "  --brokers HOSTS    Kafka bootstrap servers; with --topic, events go there\n"
    "  --kafka-config FILE  librdkafka properties, one key=value a line: the stack's Kafka\n"
    "                     login is .stack/kafka/generator.properties (make up writes it)\n"
    "  -X key=value       a librdkafka producer property\n"
    "  --replay FILE      stream a real data set instead (see docs/generator.md); --format\n"
    "                     intel (Intel Lab: date time epoch mote temp hum light volt) or\n"
    "                     suthaharan (CSV reading,mote_id,indoor,humidity,temperature,label)\n"
    "  --speedup X        replay pace: X times faster than recorded (default: full speed)\n"
    "\n"
    "example:\n"
    "  dq gen --count 1000000 --seed 7 --start 2026-01-01T00:00:00Z --truth truth.csv > events.ndjson\n"
    "  dq gen --rate 1000 --duration 60 --brokers 127.0.0.1:9092 --topic sensor-topic \\\n"
    "         --kafka-config .stack/kafka/generator.properties\n";

/* "name=rate,..." over the defaults; "none" sets every rate to 0 (then the rates after it). */
static int parse_defects(const char *spec, double *rates)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "none") == 0) {
            memset(rates, 0, sizeof(double) * D__COUNT);
            continue;
        }
        char *eq = strchr(tok, '=');
        if (!eq) {
            fprintf(stderr, "dq gen: --defects takes name=rate or none, got '%s'\n", tok);
            return -1;
        }
        *eq = '\0';
        int d = -1;
        for (int i = 1; i < D_BATTERY; i++)
            if (strcmp(cli_defect_names[i], tok) == 0)
                d = i;
        char *end;
        double v = strtod(eq + 1, &end);
        if (d < 0 || *end || v < 0 || v > 1) {
            fprintf(stderr, "dq gen: bad defect '%s' (see --help for names; rates are 0..1)\n", tok);
            return -1;
        }
        rates[d] = v;
    }
    return 0;
}

static int parse_args(int argc, char **argv, gen_opts *o)
{
    enum { O_SENSORS = 256, O_COUNT, O_DURATION, O_RATE, O_SEED, O_START, O_INTERVAL, O_DEFECTS, O_TRUTH, O_PROGRESS,
           O_BROKERS, O_TOPIC, O_REPLAY, O_FORMAT, O_SPEEDUP, O_KAFKA_CONFIG, O_WARM_UP };
    static const struct option longopts[] = {
        {"sensors", required_argument, NULL, O_SENSORS}, {"count", required_argument, NULL, O_COUNT},
        {"duration", required_argument, NULL, O_DURATION}, {"rate", required_argument, NULL, O_RATE},
        {"seed", required_argument, NULL, O_SEED}, {"start", required_argument, NULL, O_START},
        {"interval", required_argument, NULL, O_INTERVAL}, {"defects", required_argument, NULL, O_DEFECTS},
        {"warm-up", required_argument, NULL, O_WARM_UP},
        {"truth", required_argument, NULL, O_TRUTH}, {"progress", no_argument, NULL, O_PROGRESS},
        {"brokers", required_argument, NULL, O_BROKERS}, {"topic", required_argument, NULL, O_TOPIC},
        {"replay", required_argument, NULL, O_REPLAY}, {"format", required_argument, NULL, O_FORMAT},
        {"speedup", required_argument, NULL, O_SPEEDUP}, {"kafka-config", required_argument, NULL, O_KAFKA_CONFIG},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:qh", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case O_BROKERS: o->brokers = optarg; break;
        case O_REPLAY: o->replay = optarg; break;
        case O_FORMAT: o->format = optarg; break;
        case O_SPEEDUP: o->speedup = strtod(optarg, &end); break;
        case O_TOPIC: o->topic = optarg; break;
        case 'X':
            if (!cli_kafka_props_add(&o->props, optarg))
                return CLI_EXIT_USAGE;
            break;
        case O_KAFKA_CONFIG:
            if (!cli_kafka_props_load(&o->props, optarg))
                return CLI_EXIT_USAGE;
            break;
        case O_SENSORS: o->sensors = strtol(optarg, &end, 10); break;
        case O_COUNT: o->count = strtoull(optarg, &end, 10); break;
        case O_DURATION: o->duration_s = strtod(optarg, &end); break;
        case O_RATE: o->rate = strtod(optarg, &end); break;
        case O_SEED: o->seed = strtoull(optarg, &end, 10); break;
        case O_START:
            if (!cli_parse_time_arg(optarg, &o->start_ms)) {
                fprintf(stderr, "dq gen: --start '%s' is neither ISO-8601 nor epoch ms\n", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case O_INTERVAL: {
            o->interval_given = true;
            if (dq_duration_parse_n(optarg, strlen(optarg), &o->interval_ms) != DQ_OK || o->interval_ms <= 0) {
                fprintf(stderr, "dq gen: --interval takes a duration as the contract writes them: "
                                "500ms, 10s, 5m, 1h\n");
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case O_WARM_UP:
            if (dq_duration_parse_n(optarg, strlen(optarg), &o->warm_up_ms) != DQ_OK) {
                fprintf(stderr, "dq gen: --warm-up takes a duration: 1h, 1d\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case O_DEFECTS:
            if (parse_defects(optarg, o->rates) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_TRUTH: o->truth = optarg; break;
        case O_PROGRESS: o->progress = true; break;
        case 'q': o->quiet = true; break;
        case 'h': fputs(help, stdout); return -1;
        default: fputs(help, stderr); return CLI_EXIT_USAGE;
        }
        if (end && *end) {
            fprintf(stderr, "dq gen: bad number '%s'\n", optarg);
            return CLI_EXIT_USAGE;
        }
    }
    if (o->replay && (!o->format || (strcmp(o->format, "intel") != 0 && strcmp(o->format, "suthaharan") != 0))) {
        fprintf(stderr, "dq gen: --replay needs --format intel or --format suthaharan\n");
        return CLI_EXIT_USAGE;
    }
    if (!o->brokers != !o->topic) {
        fprintf(stderr, "dq gen: --brokers and --topic go together\n");
        return CLI_EXIT_USAGE;
    }
    if (o->sensors < 1 || o->sensors > MAX_SENSORS) {
        fprintf(stderr, "dq gen: --sensors must be 1 .. %d\n", MAX_SENSORS);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Picks the defect for the next event by the configured rates. */
static cli_defect pick_defect(rng *r, const double *rates)
{
    double u = rng_unit(r), acc = 0;
    for (int d = 1; d < D_BATTERY; d++) {
        acc += rates[d];
        if (u < acc)
            return (cli_defect)d;
    }
    return D_NONE;
}

static void fmt_num(char *out, size_t size, double v) { snprintf(out, size, "%.2f", v); }

/* The size and sign of a bias or a drift starting at t_ms, from the sensor and the time, not
 * the random stream: 1 to 2 times the sensor's noise, either way (times BIAS_ or DRIFT_TIMES). */
static double fault_size(const sensor *s, long id, int64_t t_ms)
{
    rng hash = {(uint64_t)id * 0x9E3779B97F4A7C15ull ^ (uint64_t)t_ms};
    double u = rng_unit(&hash);
    return (u < 0.5 ? -1 : 1) * (1 + 2 * fmod(u, 0.5)) * s->noise;
}

/* Writes one event into buf; returns its length and the defect it carries. */
static int make_event(rng *r, sensor *s, long id, int64_t t_ms, int64_t interval_ms, cli_defect d, char *buf,
                      size_t size, cli_defect *label)
{
    char ts[25], temp[64], hum[64], sid[48];
    double day_s = (double)((t_ms / 1000) % 86400);
    double true_temp = 21.0 + s->temp_offset + 3.0 * sin(TWO_PI * (day_s - 9 * 3600) / 86400.0) +
                       s->noise * rng_gauss(r);
    double true_hum = 45.0 + s->hum_offset - 1.5 * (true_temp - 21.0 - s->temp_offset) + 0.5 * rng_gauss(r);
    double battery = s->battery;
    if (s->stuck_left > 0 && (d == D_SPIKE || d == D_OUTLIER || d == D_STUCK || d == D_NOISE || d == D_BIAS))
        d = D_NONE; /* a stuck sensor repeats its value: it cannot spike or jump meanwhile */
    if (d == D_DRIFT && s->stuck_left > 0)
        d = D_NONE;
    if ((d == D_BIAS || d == D_NOISE || d == D_DRIFT) && s->noise_left + s->bias_left + s->drift_left > 0)
        d = D_NONE; /* one failure of the sensing element at a time */
    if (d == D_BIAS || (s->bias_left > 0 && d == D_NONE)) { /* a biased stretch, all labelled */
        if (s->bias_left == 0) {
            s->bias_left = BIAS_RUN;
            s->bias = BIAS_TIMES * fault_size(s, id, t_ms);
        }
        d = D_BIAS;
    }
    if (d == D_DRIFT || (s->drift_left > 0 && d == D_NONE)) { /* a drifting stretch, all labelled */
        if (s->drift_left == 0) {
            s->drift_left = DRIFT_RUN;
            s->drift = DRIFT_TIMES * fault_size(s, id, t_ms);
        }
        d = D_DRIFT;
    }
    if (d == D_NOISE || (s->noise_left > 0 && d == D_NONE)) { /* a noisy stretch, all labelled */
        if (s->noise_left == 0)
            s->noise_left = NOISE_RUN;
        d = D_NOISE;
    }
    *label = d;
    if (battery < 2.4 && d == D_NONE) { /* a dying mote: Intel-Lab-like failure */
        double k = (2.4 - battery) / 0.4;
        true_temp += 50 + 60 * k; /* past the 60 °C maximum from its first failing reading */
        true_hum -= 10 + 40 * k;
        *label = D_BATTERY;
    }
    double t = true_temp, h = true_hum;
    if (s->bias_left > 0) { /* an offset in the sensor's reading of the temperature */
        t += s->bias;
        s->bias_left--;
    }
    if (s->drift_left > 0) { /* an offset that grows a little every reading, until the sensor is set right */
        t += s->drift * (DRIFT_RUN - s->drift_left + 1) / DRIFT_RUN;
        s->drift_left--;
    }
    if (s->noise_left > 0) { /* the failing sensor's own reading of the temperature, not the air */
        t += NOISE_TIMES * s->noise * rng_gauss(r);
        s->noise_left--;
    }
    if (s->stuck_left > 0) { /* a stuck sensor repeats its value in every message it sends */
        t = s->last_temp;
        s->stuck_left--;
        /* it hides a battery failure, noise, bias or drift too */
        if (d == D_NONE || d == D_NOISE || d == D_BIAS || d == D_DRIFT || *label == D_BATTERY)
            *label = D_STUCK;
    }
    if (d == D_STUCK) {
        s->stuck_left = STUCK_RUN - 1;
        t = s->last_temp;
    }
    if (d == D_SPIKE) /* 25 °C in one interval: a glitch, not weather */
        t = s->last_temp + (s->last_temp > 30 ? -25.0 : 25.0);
    if (d == D_OUTLIER)
        t = rng_unit(r) < 0.5 ? 85.0 + 40.0 * rng_unit(r) : -60.0 - 20.0 * rng_unit(r);
    if (s->gap_pending && (d == D_NONE || d == D_NOISE || d == D_BIAS || d == D_DRIFT)) {
        *label = D_GAP;
        s->gap_pending = false;
    }
    int64_t ev_ms = t_ms;
    if (d == D_LATE)
        ev_ms = t_ms - late_by_ms(interval_ms);
    if (d == D_FUTURE)
        ev_ms = t_ms + 365 * 86400000LL; /* a clock reset to next year */
    dq_time_format_ms(ev_ms, ts);
    fmt_num(temp, sizeof temp, t);
    fmt_num(hum, sizeof hum, h);
    snprintf(sid, sizeof sid, "sensor_%ld", id);
    if (d == D_INVALID_SENSOR)
        snprintf(sid, sizeof sid, "%s", rng_unit(r) < 0.5 ? "sensor_invalid" : "SENSOR-X");
    if (d == D_INVALID_TIMESTAMP)
        snprintf(ts, sizeof ts, "%s", rng_unit(r) < 0.5 ? "not-a-date" : "2026-13-45T25:61:00Z");
    if (d == D_WRONG_TYPE)
        snprintf(temp, sizeof temp, "\"%s\"", rng_unit(r) < 0.5 ? "N/A" : "error");
    if (d == D_NUMERIC_STRING) {
        size_t k = strlen(temp); /* "21.50" with quotes: fits, temp holds at most 20 chars here */
        memmove(temp + 1, temp, k);
        temp[0] = '"';
        temp[k + 1] = '"';
        temp[k + 2] = '\0';
    }
    int n;
    if (d == D_MISSING) {
        bool no_temp = rng_unit(r) < 0.5;
        n = snprintf(buf, size, "{\"sensor_id\":\"%s\",\"timestamp\":\"%s\",\"%s\":%s,\"battery\":%.3f}", sid, ts,
                     no_temp ? "humidity" : "temperature", no_temp ? hum : temp, battery);
    } else {
        n = snprintf(buf, size,
                     "{\"sensor_id\":\"%s\",\"timestamp\":\"%s\",\"temperature\":%s,\"humidity\":%s,\"battery\":%.3f}",
                     sid, ts, temp, hum, battery);
    }
    if (d == D_MALFORMED)
        n = n / 2; /* a truncated message */
    if (d != D_OUTLIER && d != D_SPIKE && d != D_WRONG_TYPE && d != D_INVALID_TIMESTAMP && d != D_MALFORMED &&
        d != D_INVALID_SENSOR && d != D_LATE && d != D_FUTURE && *label != D_BATTERY) {
        s->last_temp = t;
        s->last_hum = h;
    }
    return n;
}

static volatile sig_atomic_t gen_stop;
static void on_gen_signal(int sig)
{
    (void)sig;
    gen_stop = 1;
}

static uint64_t delivery_failures;
static void on_gen_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    if (m->err && delivery_failures++ == 0)
        fprintf(stderr, "dq gen: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

/*
 * One event out: a line on stdout, or a Kafka message keyed by sensor with its truth in
 * headers: dq.truth (the defect) and dq.seq (the event's number, as in the truth file),
 * so `dq score` can put the gate's outputs back in order.
 */
static bool emit(rd_kafka_t *rk, const gen_opts *o, char *buf, int n, long id, cli_defect label, uint64_t seq)
{
    if (!rk) {
        buf[n] = '\n';
        return fwrite(buf, 1, (size_t)n + 1, stdout) == (size_t)n + 1;
    }
    char key[32];
    int klen = snprintf(key, sizeof key, "sensor_%ld", id);
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, seq);
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, CLI_HDR_TRUTH, -1, cli_defect_names[label], -1);
    rd_kafka_header_add(h, CLI_HDR_SEQ, -1, num, -1);
    rd_kafka_resp_err_t err = cli_kafka_produce(rk, o->topic, key, (size_t)klen, buf, (size_t)n, h, 0);
    if (err) {
        fprintf(stderr, "dq gen: produce: %s\n", rd_kafka_err2str(err));
        return false;
    }
    rd_kafka_poll(rk, 0);
    return true;
}

/* Sleeps until the monotonic time due (seconds), flushing stdout first so pacing is visible. */
static void sleep_until(double due)
{
    double left = due - cli_mono_s();
    if (left <= 0)
        return;
    fflush(stdout);
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Appends ,"name":value with value a JSON number if tok is one, else a JSON string. */
static int put_field(char *out, size_t size, const char *name, const char *tok)
{
    char *end;
    if (!tok || !*tok)
        return 0; /* a missing value stays missing */
    strtod(tok, &end);
    bool number = *end == '\0' && strspn(tok, "+-0123456789.eE") == strlen(tok);
    if (number)
        return snprintf(out, size, ",\"%s\":%s", name, tok[0] == '+' ? tok + 1 : tok);
    return snprintf(out, size, ",\"%s\":\"%.64s\"", name, tok);
}

/*
 * --replay: one event per data row, in file order (the order the motes' readings were
 * recorded in). Intel Lab times are read as UTC; Suthaharan rows have no time, so row r
 * gets --start + r x --interval. Returns CLI_EXIT_*.
 */
static int replay(const gen_opts *o, rd_kafka_t *rk, FILE *truth, uint64_t *lines)
{
    FILE *in = fopen(o->replay, "r");
    if (!in) {
        int e = errno;
        fprintf(stderr, "dq gen: cannot open %s: %s%s\n", o->replay, strerror(e),
                e == ENOENT ? " (the course's data sets: make data, see data/README.md)" : "");
        return CLI_EXIT_IO;
    }
    bool intel = strcmp(o->format, "intel") == 0;
    char row[4096], buf[8192];
    int64_t first_ms = INT64_MIN;
    double t0 = cli_mono_s();
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && !gen_stop && fgets(row, sizeof row, in)) {
        char *tok[16] = {0}, *save = NULL;
        int n = 0;
        for (char *t = strtok_r(row, intel ? " \t\r\n" : ",\r\n", &save); t && n < 16; t = strtok_r(NULL, intel ? " \t\r\n" : ",\r\n", &save))
            tok[n++] = t;
        if (n == 0 || (!intel && strcmp(tok[0], "reading") == 0))
            continue; /* blank line, CSV header */
        char ts[64];
        int64_t ev_ms;
        long mote;
        cli_defect label;
        int len;
        if (intel) {
            if (n < 4)
                continue; /* not even a mote id: nothing to attribute the row to */
            snprintf(ts, sizeof ts, "%.10sT%.15sZ", tok[0], tok[1]);
            if (dq_time_parse_n(ts, strlen(ts), &ev_ms) != DQ_OK)
                ev_ms = first_ms;
            mote = strtol(tok[3], NULL, 10);
            label = D_UNLABELLED;
            len = snprintf(buf, sizeof buf, "{\"sensor_id\":\"sensor_%ld\",\"timestamp\":\"%s\"", mote, ts);
            len += put_field(buf + len, sizeof buf - (size_t)len, "temperature", n > 4 ? tok[4] : NULL);
            len += put_field(buf + len, sizeof buf - (size_t)len, "humidity", n > 5 ? tok[5] : NULL);
            len += put_field(buf + len, sizeof buf - (size_t)len, "battery", n > 7 ? tok[7] : NULL);
        } else {
            if (n < 6)
                continue;
            ev_ms = o->start_ms + strtoll(tok[0], NULL, 10) * o->interval_ms;
            dq_time_format_ms(ev_ms, ts);
            mote = strtol(tok[1], NULL, 10);
            label = atoi(tok[5]) ? D_LABELLED_ANOMALY : D_NONE;
            len = snprintf(buf, sizeof buf, "{\"sensor_id\":\"sensor_%ld\",\"timestamp\":\"%s\"", mote, ts);
            len += put_field(buf + len, sizeof buf - (size_t)len, "temperature", tok[4]);
            len += put_field(buf + len, sizeof buf - (size_t)len, "humidity", tok[3]);
            len += snprintf(buf + len, sizeof buf - (size_t)len, ",\"location\":\"%s\"",
                            atoi(tok[2]) ? "indoor" : "outdoor");
        }
        len += snprintf(buf + len, sizeof buf - (size_t)len, "}");
        if (o->speedup > 0 && ev_ms != INT64_MIN) {
            if (first_ms == INT64_MIN)
                first_ms = ev_ms;
            sleep_until(t0 + (double)(ev_ms - first_ms) / 1000.0 / o->speedup);
        }
        if (!emit(rk, o, buf, len, mote, label, *lines + 1)) {
            rc = rk ? CLI_EXIT_KAFKA : CLI_EXIT_IO;
            break;
        }
        ++*lines;
        if (truth)
            fprintf(truth, "%" PRIu64 ",sensor_%ld,%s\n", *lines, mote, cli_defect_names[label]);
    }
    if (ferror(in)) {
        fprintf(stderr, "dq gen: read error on %s\n", o->replay);
        rc = CLI_EXIT_IO;
    }
    fclose(in);
    return rc;
}

int cli_cmd_gen(int argc, char **argv)
{
    gen_opts o = {.sensors = 100, .count = DEFAULT_COUNT, .seed = 1, .interval_ms = 10000, .start_ms = INT64_MIN};
    memcpy(o.rates, default_rates, sizeof o.rates);
    int rc = parse_args(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (o.rate > 0 && !o.interval_given) /* live: event time keeps pace with the clock */
        o.interval_ms = (int64_t)((double)o.sensors * 1000.0 / o.rate);
    if (o.interval_ms < 1)
        o.interval_ms = 1;
    if (o.start_ms == INT64_MIN) {
        /* A bounded batch is a history that ends now, so that dq check (whose now is the clock)
         * sees no reading from the future but the injected ones; a live stream starts now. */
        int64_t now = cli_now_ms() / 1000 * 1000;
        double p = o.rates[D_GAP], emitting = (1 - p) / (1 + p * GAP_TICKS); /* share of ticks a sensor reports */
        double span = (ceil((double)o.count / (double)o.sensors / emitting) + 1) * (double)o.interval_ms;
        bool history = o.rate == 0 && o.duration_s == 0 && o.count > 0 && !o.replay && span < 1e12;
        o.start_ms = history ? now - (int64_t)span : now;
    }
    if (o.count == 0 || (o.duration_s > 0 && o.count == DEFAULT_COUNT))
        o.count = UINT64_MAX; /* until --duration or a signal */

    if (!o.brokers && cli_same_output(o.truth, "-")) {
        fprintf(stderr, "dq gen: --truth %s is where the events go (standard output): one would overwrite the "
                        "other; give the truth its own file\n", o.truth);
        return CLI_EXIT_USAGE;
    }
    sensor *sensors = calloc((size_t)o.sensors, sizeof *sensors);
    FILE *truth = o.truth ? cli_open_out(o.truth) : NULL;
    if (!sensors || (o.truth && !truth)) {
        fprintf(stderr, "dq gen: %s\n", !sensors ? "out of memory" : strerror(errno));
        free(sensors);
        return CLI_EXIT_IO;
    }
    rng r = {o.seed * 0x2545F4914F6CDD1Dull + 1};
    for (long i = 0; i < o.sensors; i++) {
        sensor *s = &sensors[i];
        s->temp_offset = 1.5 * rng_gauss(&r);
        s->hum_offset = 4.0 * rng_gauss(&r);
        s->noise = 0.1 + 0.2 * rng_unit(&r);
        /* Batteries start between 2.6 and 3.0 V and last 10 to 60 days. */
        s->battery = 2.6 + 0.4 * rng_unit(&r);
        s->drain_per_s = (s->battery - 2.0) / ((10 + 50 * rng_unit(&r)) * 86400.0);
        s->last_temp = 21.0 + s->temp_offset;
        s->last_hum = 45.0 + s->hum_offset;
    }
    if (truth)
        fputs("line,sensor_id,defect\n", truth);
    rd_kafka_t *rk = NULL;
    if (o.brokers) {
        const char *defaults[] = {"bootstrap.servers", o.brokers, "enable.idempotence", "true", "linger.ms", "5",
                                  "compression.type", "lz4", NULL};
        if (!(rk = cli_kafka_new(RD_KAFKA_PRODUCER, defaults, &o.props, on_gen_delivery, NULL, NULL))) {
            free(sensors);
            return CLI_EXIT_KAFKA;
        }
        struct sigaction sa = {.sa_handler = on_gen_signal};
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
    }

    char *buf = malloc(EVENT_BUF);
    uint64_t counts[D__COUNT] = {0}, line = 0;
    double t0 = cli_mono_s(), last_report = t0;
    bool progress = o.progress || (!o.quiet && isatty(STDERR_FILENO));
    if (o.replay) {
        rc = replay(&o, rk, truth, &line);
        goto done;
    }
    for (uint64_t tick = 0; line < o.count && buf && !gen_stop; tick++) {
        for (long id = 0; id < o.sensors && line < o.count; id++) {
            sensor *s = &sensors[id];
            int64_t t_ms = o.start_ms + (int64_t)tick * o.interval_ms + (id * 37) % o.interval_ms;
            s->battery -= s->drain_per_s * (double)o.interval_ms / 1000.0;
            if (s->silent_left > 0) {
                s->silent_left--;
                continue;
            }
            /* After silence, and during the warm-up: a clean reading. */
            cli_defect d = s->gap_pending || t_ms - o.start_ms < o.warm_up_ms ? D_NONE : pick_defect(&r, o.rates);
            if (d == D_LATE && (int64_t)tick * o.interval_ms < late_by_ms(o.interval_ms) + o.interval_ms)
                d = D_NONE; /* nothing to be late against yet */
            int n;
            cli_defect label;
            if (d == D_DUPLICATE && s->last_len > 0 && s->last_tick == tick - 1) {
                memcpy(buf, s->last_event, (size_t)s->last_len);
                n = s->last_len;
                label = D_DUPLICATE;
            } else if (d == D_GAP) {
                s->silent_left = GAP_TICKS;
                s->gap_pending = true;
                continue;
            } else if (d == D_OVERSIZED) {
                n = snprintf(buf, EVENT_BUF, "{\"sensor_id\":\"sensor_%ld\",\"firmware_dump\":\"", id);
                memset(buf + n, 'A', OVERSIZED_BYTES);
                n += OVERSIZED_BYTES;
                n += snprintf(buf + n, EVENT_BUF - (size_t)n, "\"}");
                label = D_OVERSIZED;
            } else {
                if (d == D_DUPLICATE)
                    d = D_NONE; /* nothing to repeat yet */
                n = make_event(&r, s, id, t_ms, o.interval_ms, d, buf, EVENT_BUF, &label);
                /* A duplicate repeats the sensor's previous message, when that one was sound. */
                if (n < (int)sizeof s->last_event && label == D_NONE) {
                    memcpy(s->last_event, buf, (size_t)n);
                    s->last_len = n;
                    s->last_tick = tick;
                }
            }
            if (!emit(rk, &o, buf, n, id, label, line + 1)) {
                if (!rk)
                    fprintf(stderr, "dq gen: write error: %s\n", strerror(errno));
                rc = rk ? CLI_EXIT_KAFKA : CLI_EXIT_IO;
                goto done;
            }
            line++;
            counts[label]++;
            if (truth)
                fprintf(truth, "%" PRIu64 ",sensor_%ld,%s\n", line, id, cli_defect_names[label]);
            /* A live stream keeps event time with the clock: paced by the tick, not by the line,
             * since a silent sensor's tick sends nothing (by lines, time ran ~4 % fast with the
             * default gaps, minutes ahead after an hour: then FUTURE_TIMESTAMP for everything). */
            if (o.rate > 0 && line % 64 == 0)
                sleep_until(t0 + (o.interval_given ? (double)line / o.rate : (double)(t_ms - o.start_ms) / 1000.0));
            if ((line & 0x3FFF) == 0 || (o.rate > 0 && line % 64 == 0)) { /* a slow stream checks often */
                double now = cli_mono_s();
                if (o.duration_s > 0 && now - t0 >= o.duration_s)
                    goto done;
                if (progress && now - last_report >= 1.0) {
                    fprintf(stderr, "\rdq gen: %" PRIu64 " events, %.0f events/s ", line, (double)line / (now - t0));
                    last_report = now;
                }
            }
        }
    }
done:
    if (progress)
        fputc('\n', stderr);
    if (rk) {
        if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR || delivery_failures) {
            fprintf(stderr, "dq gen: %" PRIu64 " events not acknowledged by Kafka\n",
                    delivery_failures + (uint64_t)rd_kafka_outq_len(rk));
            rc = CLI_EXIT_KAFKA;
        }
        rd_kafka_destroy(rk);
    } else if (fflush(stdout) != 0) {
        rc = CLI_EXIT_IO;
    }
    if (!o.quiet) {
        double secs = cli_mono_s() - t0;
        fprintf(stderr, "dq gen: %" PRIu64 " events in %.2f s (%.0f events/s)\n", line, secs,
                secs > 0 ? (double)line / secs : 0.0);
        for (int d = 0; d < D__COUNT; d++)
            if (counts[d])
                fprintf(stderr, "  %-18s %12" PRIu64 "  %6.2f%%\n", cli_defect_names[d], counts[d],
                        100.0 * (double)counts[d] / (double)(line ? line : 1));
    }
    bool failed = false;
    cli_close_out(truth, o.truth, &failed);
    free(buf);
    free(sensors);
    return failed && rc == CLI_EXIT_OK ? CLI_EXIT_IO : rc;
}
