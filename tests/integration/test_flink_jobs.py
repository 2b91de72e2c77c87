"""The course's PyFlink jobs on the running Flink cluster, submitted as `make flink-submit` does."""
import collections
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

from conftest import ROOT, assert_cassandra_matches, messages, produce_largest, run
from dq.stack import cassandra_session, flink_rest, kafka_cli_args

sys.path.insert(0, str(ROOT / "flink_jobs"))
import flink_stream_processing as day4  # noqa: E402  (plain functions; pyflink is imported in main only)
from dq_flink import sensor_key  # noqa: E402

DQ = ROOT / "build" / "dq"


def submit(job, *args):
    return run([ROOT / "stack" / "flink-submit.sh", ROOT / "flink_jobs" / f"{job}.py", *args], timeout=600)


def test_stream_processing_filters_and_enriches(make_topic):
    source, sink = make_topic(), make_topic()
    run([DQ, "gen", "--count", "3000", "--seed", "4", *kafka_cli_args("admin"), "--topic", source, "-q"])
    inputs = [m.value().decode("utf-8", "replace") for m in messages(source)]
    usable = [r for r in map(day4.parse_reading, inputs) if r is not None and day4.is_valid_sensor(r)]
    assert 2000 < len(usable) < 3000  # the generator's defects leave some out

    proc = submit("flink_stream_processing", "--input", source, "--output", sink, "--group", source, "--bounded")
    job_id = proc.stdout.split("JobID ")[1].split()[0]

    out = [json.loads(m.value()) for m in messages(sink)]
    assert sorted((r["sensor_id"], r["timestamp"]) for r in out) == \
        sorted((r["sensor_id"], r["timestamp"]) for r in usable)
    metadata = day4.load_metadata()
    for row in out:
        assert row["location"] == metadata[row["sensor_id"]]["location"]
        assert abs(row["temperature_f"] - (row["temperature"] * 1.8 + 32)) < 0.006
        assert row.get("dew_point_c") is None or row["dew_point_c"] <= row["temperature"] + 0.01
    # It ran on the cluster with named operators (what the web UI shows).
    plan = flink_rest(f"/jobs/{job_id}/plan")["plan"]
    names = " ".join(node["description"] for node in plan["nodes"])
    assert "parse JSON" in names and "enrich" in names, names


def kill_taskmanager_and_restart():
    pid = int((ROOT / ".stack" / "pids" / "flink-taskmanager.pid").read_text())
    os.killpg(pid, signal.SIGKILL)
    subprocess.run([ROOT / "stack" / "down.sh", "--quiet", "flink-taskmanager"], timeout=120)  # forget the pid
    # Restart only once the JobManager has dropped the dead TaskManager: a new one on the same
    # address while the old connection lingers can be refused for good ("read-only association"
    # in the TaskManager's log, then a registration timeout), which happened once in four runs.
    deadline = time.time() + 120
    while time.time() < deadline and flink_rest("/taskmanagers")["taskmanagers"]:
        time.sleep(1)
    run([ROOT / "stack" / "up.sh", "flink-taskmanager"], timeout=300)


def test_to_cassandra_reconciles_after_a_taskmanager_kill(make_topic, secrets):
    """100k events through libdq on Flink into Cassandra and the dead-letter topic, the
    TaskManager SIGKILLed mid-stream: the rows and rejects match one uninterrupted libdq
    engine exactly, with no duplicate rows, and the dead letters are those `dq gate` writes."""
    import dq
    source, dlq, events = make_topic(), make_topic(like="sensor-dlq"), 100_000
    # About 3 h ending a day ago (no future timestamps); rows of other runs in that range are
    # told apart by their ingestion time.
    began = dt.datetime.now(dt.timezone.utc)
    start = began.replace(microsecond=0) - dt.timedelta(hours=30)
    run([DQ, "gen", "--count", events, "--seed", "12", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
         *kafka_cli_args("admin"), "--topic", source, "-q"])
    big = produce_largest(source)  # its dead letter is larger than a Java producer's default limit
    engine = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"), now=int(time.time() * 1000))
    want = engine.evaluate([m.value() or b"" for m in messages(source)])
    want_clean = sum(v != "REJECT" for v in want.verdicts)

    job = subprocess.Popen([ROOT / "stack" / "flink-submit.sh", ROOT / "flink_jobs" / "flink_to_cassandra.py",
                            "--input", source, "--dlq", dlq, "--group", source, "--bounded", "--checkpoint-ms", "2000"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cluster, session = cassandra_session(secrets=secrets)
    today = dt.datetime.now(dt.timezone.utc).date()

    def rejects():
        return sum(session.execute("SELECT count(*) FROM sensor_rejects WHERE day = %s AND source_topic = %s",
                                   (day, source)).one()[0] for day in (today - dt.timedelta(days=1), today))
    try:
        # Kill once the job is a third through and has checkpointed.
        deadline = time.time() + 300
        while rejects() < (events - want_clean) // 3 and time.time() < deadline and job.poll() is None:
            time.sleep(1)
        assert job.poll() is None, job.stdout.read()
        kill_taskmanager_and_restart()
        out, _ = job.communicate(timeout=900)
        assert job.returncode == 0, out[-5000:]
    finally:
        if job.poll() is None:
            job.kill()
    job = f"/jobs/{out.split('JobID ')[1].split()[0]}"
    assert flink_rest(job)["state"] == "FINISHED"
    failures = flink_rest(job + "/exceptions")["exceptionHistory"]["entries"]
    assert failures, "the job never saw the TaskManager go"

    assert_cassandra_matches(session, want, start, start + dt.timedelta(hours=4), began, "flink")
    want_counts = collections.Counter(want.verdicts)
    assert rejects() == want_counts["REJECT"]
    cluster.shutdown()

    # Each reject once in the dead-letter topic (transactions: read_committed), as dq gate writes it.
    def records(topic):
        return collections.Counter((m.key(), m.value(), m.timestamp(), tuple(sorted(m.headers() or [])))
                                   for m in messages(topic))
    gate_dlq = make_topic(like="sensor-dlq")
    run([DQ, "gate", "-c", ROOT / "contracts" / "sensor_readings.yaml", *kafka_cli_args("validator"),
         "--group", gate_dlq, "--input", source, "--clean", make_topic(), "--dlq", gate_dlq, "--state-topic", "",
         "--metrics-topic", "", "--metrics-addr", "", "--max-events", events + 1])
    flink_dead, gate_dead = records(dlq), records(gate_dlq)
    assert sum(flink_dead.values()) == want_counts["REJECT"] and max(flink_dead.values()) == 1
    assert flink_dead == gate_dead
    assert sum(n for (_, value, _, _), n in flink_dead.items() if value == big) == 1  # whole


def test_to_cassandra_in_thread_mode_twice(make_topic, secrets):
    """--python-mode thread (the Python functions inside the TaskManager's JVM, through pemja):
    two jobs in a row on one TaskManager, each storing what one libdq engine judges. (pemja and
    Beam come from the cluster's class path, loaded once: a second job used to fail.)"""
    import dq
    cluster, session = cassandra_session(secrets=secrets)
    try:
        for hours_ago in (34, 28):  # an hour of readings each, apart
            source, began = make_topic(), dt.datetime.now(dt.timezone.utc)
            start = began.replace(microsecond=0) - dt.timedelta(hours=hours_ago)
            run([DQ, "gen", "--count", 20000, "--seed", str(hours_ago), "--start",
                 start.strftime("%Y-%m-%dT%H:%M:%SZ"), *kafka_cli_args("admin"), "--topic", source, "-q"])
            want = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"),
                             now=int(time.time() * 1000)).evaluate([m.value() or b"" for m in messages(source)])
            submit("flink_to_cassandra", "--input", source, "--dlq", "", "--group", source, "--bounded",
                   "--python-mode", "thread")
            assert_cassandra_matches(session, want, start, start + dt.timedelta(hours=2), began, "flink")
    finally:
        cluster.shutdown()


def test_data_quality_windows_and_silent_sensors(make_topic, secrets):
    """Day 5 on 20k events: hourly windows count what libdq placed in each hour, and one
    silence alert per gap libdq flags (the generator's silent sensors)."""
    import dq
    source, metrics = make_topic(), make_topic()
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=30)
    run([DQ, "gen", "--count", 20000, "--seed", "8", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
         *kafka_cli_args("admin"), "--topic", source, "-q"])
    raws = [m.value() or b"" for m in messages(source)]
    want = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"),
                     now=int(time.time() * 1000)).evaluate(raws)
    hours = collections.Counter()
    for raw, t, reasons in zip(raws, want.event_time_ms, want.reasons):
        if t is not None and "FUTURE_TIMESTAMP" not in reasons:
            hours[sensor_key(raw), t // 3_600_000 * 3_600_000] += 1
    gaps = sum("GAP" in r for r in want.reasons)
    assert gaps > 5

    submit("flink_data_quality", "--input", source, "--metrics-topic", metrics, "--group", source, "--bounded")
    out = [json.loads(m.value()) for m in messages(metrics)]
    windows = {(o["sensor_id"], int(dt.datetime.fromisoformat(o["window_start"]).timestamp() * 1000)): o["events"]
               for o in out if o["kind"] == "window"}
    assert windows == dict(hours)
    assert sum(o["kind"] == "silent" for o in out) == gaps

    cluster, session = cassandra_session(secrets=secrets)
    stored = {}
    for sensor, start_ms in hours:
        hour = dt.datetime.fromtimestamp(start_ms / 1000, dt.timezone.utc)
        row = session.execute("SELECT events, processed_by FROM sensor_quality_metrics WHERE sensor_id = %s AND "
                              "date_hour = %s AND window_start = %s AND window_seconds = 3600",
                              (sensor, hour, hour)).one()
        stored[sensor, start_ms] = row.events if row and row.processed_by == "flink" else None
    cluster.shutdown()
    assert stored == dict(hours)
