"""The course's PySpark jobs on the running Spark cluster, submitted as `make spark-submit` does."""
import collections
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, assert_cassandra_matches, messages, produce_largest, run
from dq.stack import cassandra_session, kafka_cli_args

DQ = ROOT / "build" / "dq"


@pytest.mark.long  # ~4 min: make test-long (and day 12's exercise check) run it
def test_to_cassandra_reconciles_after_the_driver_is_killed(make_topic, secrets, tmp_path):
    """100k events through libdq on Spark Structured Streaming into Cassandra and the
    dead-letter topic; the driver SIGKILLed mid-stream and started again on its checkpoint:
    rows and rejects equal one uninterrupted libdq engine's, no duplicate rows, every
    reject in the dead-letter topic (at least once)."""
    def kill(first, log, rejects, wanted):
        os.killpg(first.pid, signal.SIGKILL)  # the driver and everything it started
        first.wait()
        assert rejects() < wanted, "killed too late to test a restart"
    interrupted_stream(make_topic, secrets, tmp_path, kill)


@pytest.mark.long
def test_drill_kafka_restart_under_the_spark_job(make_topic, secrets, tmp_path):
    """The same stream with the broker stopped for 20 s under it (`make down SERVICE=kafka`):
    the job waits for it or stops saying why, and ends, started again on its checkpoint where
    it stopped, with exactly the rows and rejects of a job that never met the outage."""
    def restart_kafka(first, log, rejects, wanted):
        run(["make", "-C", ROOT, "down", "SERVICE=kafka"])
        time.sleep(20)
        run(["make", "-C", ROOT, "up", "SERVICE=kafka"])
        deadline = time.time() + 300
        while first.poll() is None and rejects() < wanted and time.time() < deadline:
            time.sleep(5)
        if first.poll() is None:
            print(f"  the job waited for the broker and went on: {rejects()} of {wanted} rejects in Cassandra")
        else:
            text = log.read_text()
            print(f"  the job stopped during the outage (exit {first.returncode}):\n{text[-1500:]}")
            assert re.search(r"[Kk]afka|broker", text), "it stopped without saying why"
    interrupted_stream(make_topic, secrets, tmp_path, restart_kafka)


def interrupted_stream(make_topic, secrets, tmp_path, interrupt) -> None:
    """50k generated events (five micro-batches) through spark_to_cassandra.py, unbounded; once
    a third of the rejects are in Cassandra, interrupt(job, its log, rejects(), the rejects wanted); then
    the job again, --bounded, on its checkpoint: the rows and rejects of one uninterrupted
    libdq engine, each reject in the dead-letter topic."""
    import dq
    source, dlq, events = make_topic(), make_topic(like="sensor-dlq"), 50_000
    began = dt.datetime.now(dt.timezone.utc)
    start = began.replace(microsecond=0) - dt.timedelta(hours=30)
    run([DQ, "gen", "--count", events, "--seed", "13", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
         *kafka_cli_args("admin"), "--topic", source, "-q"])
    big = produce_largest(source)  # its dead letter is larger than a Java producer's default limit
    want = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"),
                     now=int(time.time() * 1000)).evaluate([m.value() or b"" for m in messages(source)])
    want_counts = collections.Counter(want.verdicts)

    cluster, session = cassandra_session(secrets=secrets)
    today = dt.datetime.now(dt.timezone.utc).date()

    def rejects():
        return sum(session.execute("SELECT count(*) FROM sensor_rejects WHERE day = %s AND source_topic = %s",
                                   (day, source)).one()[0] for day in (today - dt.timedelta(days=1), today))
    job = [ROOT / "stack" / "spark-submit.sh", ROOT / "spark_jobs" / "spark_to_cassandra.py", "--input", source,
           "--dlq", dlq, "--checkpoint", tmp_path / "checkpoint", "--max-offsets", "10000"]
    log = tmp_path / "first-run.log"
    with open(log, "wb") as out:
        first = subprocess.Popen(job, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 600
        while rejects() < want_counts["REJECT"] // 3 and time.time() < deadline:
            assert first.poll() is None, f"the streaming job stopped on its own:\n{log.read_text()[-3000:]}"
            time.sleep(1)
        interrupt(first, log, rejects, want_counts["REJECT"])
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)  # an unbounded job never ends by itself
        first.wait()
    run([*job, "--bounded"], timeout=900)  # the rest, from the checkpoint

    assert_cassandra_matches(session, want, start, start + dt.timedelta(hours=4), began, "spark")
    assert rejects() == want_counts["REJECT"]
    cluster.shutdown()
    dead, whole = collections.Counter(), 0
    for m in messages(dlq):
        dead[dict(m.headers())["dq.source.partition"], dict(m.headers())["dq.source.offset"]] += 1
        whole += m.value() == big
    assert len(dead) == want_counts["REJECT"]  # each reject at least once; a replayed batch may repeat
    assert whole >= 1


def submit(job: str, *args) -> str:
    """A course job on the cluster, as `make spark-submit` runs it: its output."""
    return run([ROOT / "stack" / "spark-submit.sh", ROOT / "spark_jobs" / f"{job}.py", *args], timeout=900).stdout


def test_quality_report_batch_and_stream_on_the_cluster(make_topic, secrets, tmp_path):
    """Days 6-7 on 20k events from Kafka: the report equals one libdq engine's totals; the
    hourly windows in Cassandra equal an independent count; the streaming run (4 micro-batches,
    libdq state in Spark) ends with the same windows."""
    import dq
    from cassandra.query import dict_factory
    source = make_topic()
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=30)
    run([DQ, "gen", "--count", 20_000, "--seed", "17", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
         *kafka_cli_args("admin"), "--topic", source, "-q"])
    raws = [m.value() or b"" for m in messages(source)]
    now = int(time.time() * 1000)
    want = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"), now=now).evaluate(raws)
    windows = collections.defaultdict(collections.Counter)
    for verdict, reasons, ms in zip(want.verdicts, want.reasons, want.event_time_ms):
        if ms is not None and "FUTURE_TIMESTAMP" not in reasons:
            windows[ms // 3_600_000 * 3_600_000].update(["events", verdict])

    submit("spark_data_quality_check", "--input", source, "--out", tmp_path / "stream", "--stream", "--bounded",
           "--checkpoint", tmp_path / "checkpoint", "--max-offsets", "5000")
    streamed = {}
    for line in (tmp_path / "stream" / "stream_windows.ndjson").read_text().splitlines():
        row = json.loads(line)
        streamed[row["sensor_id"], row["window_start"]] = row["events"]
    out = submit("spark_data_quality_check", "--input", source, "--out", tmp_path / "batch", "--now",
                 dt.datetime.fromtimestamp(now / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
    overall = json.loads((tmp_path / "batch" / "overall.json").read_text())[0]
    counts = collections.Counter(want.verdicts)
    assert (overall["events"], overall["pass"], overall["fixed"], overall["reject"]) == \
        (len(raws), counts["PASS"], counts["FIXED"], counts["REJECT"])
    assert f"{len(raws)} events from {source}" in out
    checks = {c["reason"]: c["events"] for c in json.loads((tmp_path / "batch" / "checks.json").read_text())}
    assert checks == dict(collections.Counter(r for rs in want.reasons for r in rs))

    cluster, session = cassandra_session(secrets=secrets)
    session.row_factory = dict_factory
    for hour_ms, want_counts in windows.items():
        hour = dt.datetime.fromtimestamp(hour_ms / 1000, dt.timezone.utc)
        row = session.execute("SELECT events, pass, fixed, reject, processed_by FROM sensor_quality_metrics "
                               "WHERE sensor_id = '*' AND date_hour = %s AND window_start = %s AND window_seconds = 3600",
                               (hour, hour)).one()
        assert (row["events"], row["pass"], row["fixed"], row["reject"], row["processed_by"]) == \
            (want_counts["events"], want_counts["PASS"], want_counts["FIXED"], want_counts["REJECT"], "spark"), hour
        assert streamed["*", hour.strftime("%Y-%m-%d %H:%M:%S")] == want_counts["events"], hour
    cluster.shutdown()


def test_cleaning_on_the_cluster(make_topic, tmp_path):
    """Days 8-9 on the cluster: every event lands in clean or rejects, and every event libdq
    accepts is kept (the job's rules are a subset of the contract's). Day 13's queries over
    the live tables: test_course_commands.py (`make analyze`)."""
    import dq
    source = make_topic()
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=30)
    run([DQ, "gen", "--count", 20_000, "--seed", "19", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
         *kafka_cli_args("admin"), "--topic", source, "-q"])
    msgs = list(messages(source))
    res = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"),
                    now=int(time.time() * 1000)).evaluate([m.value() or b"" for m in msgs])
    out = submit("spark_data_cleaning", "--input", source, "--out", tmp_path)
    kept = [json.loads(x) for f in (tmp_path / "clean").glob("part-*.json") for x in f.read_text().splitlines()]
    rejected = [json.loads(x) for f in (tmp_path / "rejects").glob("part-*.json") for x in f.read_text().splitlines()]
    assert len(kept) + len(rejected) == len(msgs) and f"{len(kept)} clean, {len(rejected)} rejected" in out
    kept_at = {(k["partition"], k["offset"]) for k in kept}
    accepted = {(m.partition(), m.offset()) for m, v in zip(msgs, res.verdicts) if v != "REJECT"}
    assert accepted <= kept_at and len(accepted) > 0.8 * len(msgs)


def test_the_vectors_get_dq_checks_verdicts_on_the_cluster(tmp_path):
    """Every shared vector case as its own NDJSON file, read by the quality-check job on the
    cluster (bytes exact, split at newlines only): each event's verdict and reasons are the
    vectors', which `dq check` gives (tests/contract/test_vectors.py)."""
    sys.path.insert(0, str(ROOT / "tests" / "lib"))
    from vector_cases import event_bytes, load_cases
    cases, inputs = {}, tmp_path / "cases"
    inputs.mkdir()
    for n, case in enumerate(load_cases()):
        raws = [event_bytes(e) for e in case["events"]]
        if any(b"\n" in raw for raw in raws):  # not expressible as NDJSON lines
            continue
        path = inputs / f"case-{n:03}.ndjson"
        path.write_bytes(b"".join(raw + b"\n" for raw in raws))
        cases[str(path)] = case
    assert len(cases) > 100
    submit("spark_data_quality_check", "--input", inputs, "--out", tmp_path / "out", "--no-cassandra", "--verdicts",
           "--now", "2026-11-26T05:00:00Z")
    got = {}
    for part in (tmp_path / "out" / "verdicts").glob("part-*.json"):
        for line in part.read_text().splitlines():
            v = json.loads(line)
            got[v["topic"], v["offset"]] = (v["verdict"], sorted(v["reasons"]))
    want = {(path, i): (e["verdict"], sorted(e["reasons"])) for path, case in cases.items()
            for i, e in enumerate(case["expect"])}
    assert got == want
