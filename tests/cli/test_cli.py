"""`dq check` as a user runs it: exit codes, bad contracts, bounded input, outputs."""
import datetime as dt
import json
import subprocess
import time

from testenv import CONTRACT

GOOD = b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:13:00Z","temperature":21.5,"humidity":40.2}\n'


def run(dq_bin, *args, stdin=b""):
    return subprocess.run([dq_bin, "check", *map(str, args)], input=stdin, capture_output=True)


def test_usage_errors(dq_bin):
    assert run(dq_bin).returncode == 2
    assert b"--contract is required" in run(dq_bin).stderr
    assert run(dq_bin, "-c", CONTRACT, "--now", "yesterday").returncode == 2


def test_contract_error_names_file_and_line(dq_bin, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONTRACT.read_text().replace("maximum: 60", "maximun: 60"))
    proc = run(dq_bin, "-c", bad)
    assert proc.returncode == 3
    assert f"{bad}:".encode() in proc.stderr and b"unknown key 'maximun'" in proc.stderr


def test_missing_input_is_an_io_error(dq_bin):
    assert run(dq_bin, "-c", CONTRACT, "-i", "/nonexistent.ndjson").returncode == 4


def test_fail_on_reject(dq_bin):
    assert run(dq_bin, "-c", CONTRACT, "-q", "--fail-on-reject", stdin=GOOD).returncode == 0
    assert run(dq_bin, "-c", CONTRACT, "-q", "--fail-on-reject", stdin=GOOD + b"junk\n").returncode == 1


def test_oversized_line_is_cut_and_rejected(dq_bin, tmp_path):
    rejects, summary = tmp_path / "r.ndjson", tmp_path / "s.json"
    huge = b'{"location":"' + b"x" * (17 << 20) + b'"}\n'
    proc = run(dq_bin, "-c", CONTRACT, "--rejects", rejects, "--summary", summary, "-q", stdin=GOOD + huge + GOOD)
    assert proc.returncode == 0
    totals = json.loads(summary.read_text())
    assert totals["events"] == 3 and totals["reject"] == 2  # the second GOOD is a duplicate
    recs = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert recs[0]["line"] == 2 and recs[0]["raw_truncated"] is True
    assert recs[0]["dq"]["reasons"] == ["OVERSIZED"]
    assert recs[1]["dq"]["reasons"] == ["DUPLICATE_EVENT"]


def test_metrics_and_prometheus(dq_bin, tmp_path):
    metrics, prom = tmp_path / "m.ndjson", tmp_path / "p.txt"
    proc = run(dq_bin, "-c", CONTRACT, "--metrics", metrics, "--prometheus", prom, "-q", "--now",
               "2026-11-26T05:00:00Z", stdin=GOOD + b"{}\n")
    assert proc.returncode == 0
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    overall = [r for r in rows if r["key"] is None and r["window_seconds"] == 60]
    assert overall == [dict(overall[0], events=2, reject=1, validity=0.5)]
    assert 'dq_events_total{verdict="pass"} 1' in prom.read_text()
    assert 'dq_reasons_total{reason="MISSING_FIELD"} 1' in prom.read_text()


def test_gen_is_deterministic_and_labelled(dq_bin, tmp_path):
    args = [dq_bin, "gen", "--count", "5000", "--seed", "3", "--start", "2026-01-01T00:00:00Z", "-q"]
    first = subprocess.run(args + ["--truth", tmp_path / "t.csv"], capture_output=True, check=True).stdout
    second = subprocess.run(args, capture_output=True, check=True).stdout
    assert first == second and first.count(b"\n") == 5000
    truth = (tmp_path / "t.csv").read_text().splitlines()
    assert truth[0] == "line,sensor_id,defect" and len(truth) == 5001
    labels = {row.split(",")[2] for row in truth[1:]}
    assert {"none", "outlier", "duplicate", "malformed_json"} <= labels


def test_gen_defects_reach_check_with_their_reasons(dq_bin, tmp_path):
    """Each injected stateless defect is rejected with the reason that names it."""
    events, truth, rejects = tmp_path / "e.ndjson", tmp_path / "t.csv", tmp_path / "r.ndjson"
    with open(events, "wb") as f:
        subprocess.run([dq_bin, "gen", "--count", "20000", "--seed", "5", "--start", "2026-01-01T00:00:00Z",
                        "-q", "--truth", truth], stdout=f, check=True)
    run(dq_bin, "-c", CONTRACT, "-i", events, "--rejects", rejects, "-q", "--now", "2026-01-02T00:00:00Z")
    label = {int(r.split(",")[0]): r.split(",")[2] for r in truth.read_text().splitlines()[1:]}
    reasons = {json.loads(r)["line"]: set(json.loads(r)["dq"]["reasons"]) for r in rejects.read_text().splitlines()}
    expected = {"outlier": "OUT_OF_RANGE", "wrong_type": "WRONG_TYPE", "malformed_json": "MALFORMED_JSON",
                "invalid_sensor_id": "PATTERN_MISMATCH", "invalid_timestamp": "INVALID_TIMESTAMP",
                "future_timestamp": "FUTURE_TIMESTAMP", "duplicate": "DUPLICATE_EVENT", "late": "LATE_EVENT",
                "oversized": "OVERSIZED"}
    for defect, reason in expected.items():
        lines = [n for n, d in label.items() if d == defect]
        assert lines, defect
        caught = sum(reason in reasons.get(n, ()) for n in lines)
        assert caught == len(lines), f"{defect}: {caught} of {len(lines)} rejected with {reason}"
    clean_lines = [n for n, d in label.items() if d == "none"]
    false_rejects = sum(n in reasons for n in clean_lines)
    assert false_rejects == 0, f"{false_rejects} defect-free readings rejected"


def test_gen_interval_takes_the_contracts_durations(dq_bin):
    def times(interval):
        out = subprocess.run([dq_bin, "gen", "--count", "2", "--sensors", "1", "--interval", interval, "--start",
                              "2026-01-01T00:00:00Z", "--defects", "none", "-q"], capture_output=True, check=True)
        return [json.loads(line)["timestamp"] for line in out.stdout.splitlines()]
    assert times("5m") == ["2026-01-01T00:00:00.000Z", "2026-01-01T00:05:00.000Z"]
    assert times("1h")[1] == "2026-01-01T01:00:00.000Z" and times("500ms")[1] == "2026-01-01T00:00:00.500Z"
    bad = subprocess.run([dq_bin, "gen", "--count", "1", "--interval", "5 minutes"], capture_output=True, text=True)
    assert bad.returncode == 2 and "500ms, 10s, 5m, 1h" in bad.stderr


def test_check_refuses_to_write_its_input(dq_bin, tmp_path):
    """An output that is the input would be emptied before it is read ("0 events", exit 0)."""
    events = tmp_path / "events.ndjson"
    events.write_bytes(subprocess.run([dq_bin, "gen", "--count", "20", "-q"], capture_output=True,
                                      check=True).stdout)
    before = events.read_bytes()
    (tmp_path / "link.ndjson").symlink_to(events)
    for args, stdin in ((["--input", events, "--clean", events], None),
                        (["--input", events, "--rejects", tmp_path / "link.ndjson"], None),
                        (["--summary", events], events.open("rb"))):
        run = subprocess.run([dq_bin, "check", "-c", CONTRACT, *args], stdin=stdin, capture_output=True, text=True)
        assert run.returncode == 2 and "it is the input" in run.stderr, (args, run.stderr)
        assert events.read_bytes() == before


def test_check_refuses_two_outputs_in_one_file(dq_bin, tmp_path):
    """Two outputs written to one file each from its start: the second overwrote the first
    (`--clean - --rejects /dev/stdout > out` kept only the rejects)."""
    events = subprocess.run([dq_bin, "gen", "--count", "200", "-q"], capture_output=True, check=True).stdout
    out, other = tmp_path / "out.ndjson", tmp_path / "other.ndjson"
    out.write_bytes(b"kept\n")
    for args in (["--clean", out, "--rejects", out], ["--rejects", other, "--summary", other],
                 ["--clean", "-", "--rejects", "/dev/stdout"], ["--metrics", out, "--prometheus", tmp_path / "." / out.name]):
        with out.open("rb+") as stdout:
            run = subprocess.run([dq_bin, "check", "-c", CONTRACT, *args], input=events, stdout=stdout,
                                 stderr=subprocess.PIPE)
        assert run.returncode == 2 and b"one would overwrite the other" in run.stderr, (args, run.stderr)
        assert out.read_bytes() == b"kept\n" and not other.exists()
    with out.open("rb+") as stdout:
        run = subprocess.run([dq_bin, "gen", "--count", "10", "-q", "--truth", "/dev/stdout"], stdout=stdout,
                             stderr=subprocess.PIPE)
    assert run.returncode == 2 and b"one would overwrite the" in run.stderr and out.read_bytes() == b"kept\n"
    # One stream twice is not two files: standard output into a pipe, or "-" twice; written
    # through one buffer, so that no line is cut by the other output's (megabytes of them).
    events = subprocess.run([dq_bin, "gen", "--count", "30000", "-q"], capture_output=True, check=True).stdout
    for args in (["--clean", "-", "--rejects", "/dev/stdout"], ["--clean", "-", "--rejects", "-"]):
        run = subprocess.run([dq_bin, "check", "-c", CONTRACT, "-q", *args], input=events, capture_output=True)
        assert run.returncode == 0 and len(run.stdout) > 2 << 20, (args, run.stderr)
        lines = [json.loads(line) for line in run.stdout.splitlines()]  # each one whole
        assert len(lines) == 30000 and sum("line" in r for r in lines) > 1000, args


def reading(sensor: int, ts: str) -> bytes:
    return b'{"sensor_id":"sensor_%d","timestamp":"%s","temperature":21.5,"humidity":40.2}\n' % (sensor, ts.encode())


def test_a_fleet_beyond_max_keys_is_evicted_and_counted(dq_bin, tmp_path):
    """Sensors that fell silent give their state to new ones; the summary says so; a forgotten
    sensor starts again (its first hour's reading, sent again, is no duplicate any more)."""
    small = tmp_path / "small.yaml"
    small.write_text(CONTRACT.read_text().replace("maxKeys: 1000000", "maxKeys: 10"))
    hour = "2026-11-26T0%d:00:0%dZ"
    events = (b"".join(reading(s, hour % (4, 0)) for s in range(10))
              + reading(9, hour % (5, 0))  # a tracked sensor opens the next hour: the 04:00 windows close
              + b"".join(reading(s, hour % (5, 1)) for s in range(10, 19))  # take sensors 0..8's records
              + reading(9, hour % (6, 0))
              + reading(0, hour % (6, 1))  # takes sensor 10's record, the least recently seen
              + reading(0, hour % (4, 0)))
    summary = tmp_path / "s.json"
    proc = run(dq_bin, "-c", small, "--summary", summary, "--now", "2026-11-26T06:00:00Z", stdin=events)
    totals = json.loads(summary.read_text())
    assert (totals["sensors"], totals["state_evicted"], totals["state_overflow"], totals["reject"]) == (10, 10, 0, 0)
    assert b"sensors forgotten (least recently seen): 10; events judged without state: 0" in proc.stderr
    # Within one window nobody can be forgotten (their window rows are not written yet): counted.
    proc = run(dq_bin, "-c", small, "--summary", summary, "--now", "2026-11-26T06:00:00Z",
               stdin=events[:10 * len(reading(0, hour % (4, 0)))] + reading(10, hour % (4, 1)))
    assert json.loads(summary.read_text())["state_overflow"] == 1


def test_gen_and_check_defaults_agree(dq_bin, tmp_path):
    """Without --start and --now, a batch ends now: the only future readings are the injected ones."""
    truth, rejects, summary = tmp_path / "t.csv", tmp_path / "r.ndjson", tmp_path / "s.json"
    events = subprocess.run([dq_bin, "gen", "--count", "20000", "--seed", "3", "--truth", truth, "-q"],
                            capture_output=True, check=True).stdout
    run(dq_bin, "-c", CONTRACT, "--rejects", rejects, "--summary", summary, "-q", stdin=events)
    injected = sum(line.endswith(",future_timestamp") for line in truth.read_text().splitlines())
    assert injected > 0
    assert json.loads(summary.read_text())["reasons"]["FUTURE_TIMESTAMP"] == injected


def test_gen_defects_none_then_some(dq_bin, tmp_path):
    truth = tmp_path / "t.csv"
    subprocess.run([dq_bin, "gen", "--count", "3000", "--defects", "none,outlier=0.05", "--truth", truth, "-q"],
                   capture_output=True, check=True)
    labels = {line.split(",")[2] for line in truth.read_text().splitlines()[1:]}
    assert labels == {"none", "outlier"}
    bad = subprocess.run([dq_bin, "gen", "--count", "1", "--defects", "outlier"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--defects takes name=rate or none, got 'outlier'" in bad.stderr


def test_check_scores_with_a_model(dq_bin, tmp_path):
    """--model scores with an exported forest: here one tree that isolates temperatures above 25 °C at
    once (a score above the threshold) and the rest later; the summary counts what was flagged."""
    model = tmp_path / "m.dqm"
    model.write_text("dq-iforest 1\nfeatures 10 temperature.value temperature.delta temperature.dev temperature.std "
                     "humidity.value humidity.delta humidity.dev humidity.std time.sin time.cos\n"
                     "max_samples 4\nthreshold 0.5\ntrees 1\ntree 3\n0 25.0 1 2 4\n-1 0 -1 -1 3\n-1 0 -1 -1 1\n")
    events = b"".join(b'{"sensor_id":"sensor_1","timestamp":%d,"temperature":%s,"humidity":40}\n'
                      % (1795666380 + 10 * i, b"30" if i >= 40 else b"20.%d" % (i % 3)) for i in range(45))
    summary, clean = tmp_path / "s.json", tmp_path / "c.ndjson"
    proc = run(dq_bin, "-c", CONTRACT, "--model", model, "--summary", summary, "--clean", clean,
               "--now", "2026-11-26T06:00:00Z", stdin=events)
    assert proc.returncode == 0, proc.stderr
    totals = json.loads(summary.read_text())
    assert totals["anomalies_scored"] == 45 - 30 and totals["anomalies"] == 5  # after the 30-reading warm-up
    flagged = [json.loads(line)["dq"]["anomaly"] for line in clean.read_text().splitlines()[-5:]]
    assert all(a["flag"] and a["score"] > 0.5 for a in flagged)
    assert b"anomalies: 5 of 15 scored readings flagged" in proc.stderr
    bad = run(dq_bin, "-c", CONTRACT, "--model", tmp_path / "none.dqm")
    assert bad.returncode == 4 and b"cannot open" in bad.stderr
    model.write_text("dq-iforest 1\nfeatures 1 x\n")
    assert run(dq_bin, "-c", CONTRACT, "--model", model).returncode == 3


def test_check_reads_csv(dq_bin, tmp_path):
    """--csv: a header row, then one event a row; columns renamed with --csv-map, constants with
    --csv-set, numbers as numbers, empty cells missing, quotes as RFC 4180 has them, and a row
    that does not convert rejected MALFORMED_JSON with its bytes and file line kept."""
    rows = ['ts;temp;hum;where',
            '2026-11-26T04:13:00Z;21.5;40;"hall; north"',
            '2026-11-26T04:13:10Z;"21.6";;"say ""hi"""',
            '2026-11-26T04:13:20Z;122;40;x',
            '2026-11-26T04:13:30Z;"unclosed;40;x']
    src, clean, rejects = tmp_path / "in.csv", tmp_path / "c.ndjson", tmp_path / "r.ndjson"
    src.write_text("\n".join(rows) + "\n")
    proc = run(dq_bin, "-c", CONTRACT, "--csv", "--csv-delimiter", ";", "-i", src, "--clean", clean,
               "--rejects", rejects, "--csv-map", "timestamp=ts,temperature=temp,humidity=hum,location=where",
               "--csv-set", "sensor_id=sensor_7", "--now", "2026-11-26T05:00:00Z", "-q")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in clean.read_text().splitlines()]
    assert [(e["temperature"], e["humidity"], e["location"]) for e in out] == [(21.5, 40, "hall; north"),
                                                                                 (21.6, 40, 'say "hi"')]
    assert out[1]["dq"]["reasons"] == ["MISSING_FIELD"]  # humidity imputed; a quoted 21.6 is a CSV quote, a number
    recs = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["line"], r["dq"]["reasons"]) for r in recs] == [(4, ["OUT_OF_RANGE"]), (5, ["MALFORMED_JSON"])]
    assert recs[1]["raw"] == rows[4]
    bad = run(dq_bin, "-c", CONTRACT, "--csv", "--csv-delimiter", ";;")
    assert bad.returncode == 2 and b"one character" in bad.stderr
    assert b"no header row" in run(dq_bin, "-c", CONTRACT, "--csv").stderr


def test_kafka_config_files(dq_bin, tmp_path):
    """--kafka-config: librdkafka properties from a file (a login without a command line).
    Its lines reach librdkafka (an unknown property is refused by name, before any
    connection); a malformed line is a usage error with file:line; a file others may read
    is warned about; a missing one is named."""
    def dq(*args):
        return subprocess.run([dq_bin, *map(str, args)], capture_output=True, timeout=60)
    login = tmp_path / "login.properties"
    login.write_text("# a comment\n\nsecurity.protocol=SASL_PLAINTEXT\n  no.such.property = 1\n")
    login.chmod(0o600)
    for tool in (["gen", "--count", "1", "--topic", "t"], ["gate", "-c", str(CONTRACT)], ["score"]):
        out = dq(*tool, "--brokers", "127.0.0.1:1", "--kafka-config", str(login))
        assert out.returncode in (2, 5), (tool, out.returncode, out.stderr)
        assert b'property: "no.such.property"' in out.stderr and b"other users" not in out.stderr, (tool, out.stderr)
    login.write_text("sasl.username=me\nsasl.password\n")
    login.chmod(0o644)
    out = dq("gen", "--count", "1", "--brokers", "127.0.0.1:1", "--topic", "t", "--kafka-config", str(login))
    assert out.returncode == 2
    assert f"other users may read {login}".encode() in out.stderr
    assert f"{login}:2: expected key=value".encode() in out.stderr
    out = dq("score", "--brokers", "127.0.0.1:1", "--kafka-config", str(tmp_path / "none"))
    assert out.returncode == 2 and f"cannot read {tmp_path / 'none'}".encode() in out.stderr


def test_a_live_stream_keeps_event_time_with_the_clock(dq_bin):
    """--rate without --interval: event time advances with the wall clock even when many
    sensors fall silent (here 5 % of ticks start a 40-tick gap: about two thirds of the ticks
    send nothing). Paced by lines, event time ran three times as fast as the clock."""
    start = time.time()
    out = subprocess.run([dq_bin, "gen", "--rate", "500", "--sensors", "50", "--duration", "4", "--seed", "3",
                          "--defects", "none,gap=0.05", "-q"], capture_output=True, check=True).stdout
    wall = time.time() - start
    times = [json.loads(line)["timestamp"] for line in out.splitlines()]
    first, last = (dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in (min(times), max(times)))
    assert len(times) > 100
    assert last - first < wall + 1.5, f"{last - first:.1f} s of event time in {wall:.1f} s"
    assert last < time.time() + 1.5
