"""The course's PySpark jobs on the running Spark cluster, submitted as `make spark-submit` does."""
import collections
import datetime as dt
import json
import os
import signal
import subprocess
import time

from conftest import BOOTSTRAP, ROOT, messages, run

DQ = ROOT / "build" / "dq"


def test_to_cassandra_reconciles_after_the_driver_is_killed(make_topic, secrets, tmp_path):
    """100k events through libdq on Spark Structured Streaming into Cassandra and the
    dead-letter topic; the driver SIGKILLed mid-stream and started again on its checkpoint:
    rows and rejects equal one uninterrupted libdq engine's, no duplicate rows, every
    reject in the dead-letter topic (at least once)."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster
    import dq
    source, dlq, events = make_topic(), make_topic(), 100_000
    began = dt.datetime.now(dt.timezone.utc)
    start = began.replace(microsecond=0) - dt.timedelta(hours=30)
    run([DQ, "gen", "--count", events, "--seed", "13", "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "--brokers", BOOTSTRAP, "--topic", source, "-q"])
    want = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"),
                     now=int(time.time() * 1000)).evaluate([m.value() or b"" for m in messages(source)])
    want_counts = collections.Counter(want.verdicts)

    cluster = Cluster(["127.0.0.1"], auth_provider=PlainTextAuthProvider(secrets["CASSANDRA_USER"],
                                                                         secrets["CASSANDRA_PASSWORD"]))
    session = cluster.connect("iot_data")
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
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)  # the driver and everything it started
        first.wait()
    assert rejects() < want_counts["REJECT"], "killed too late to test a restart"
    run([*job, "--bounded"], timeout=900)  # the rest, from the checkpoint

    end = start + dt.timedelta(hours=4)
    rows = collections.Counter()
    for i in range(100):
        for day in {start.date(), end.date()}:
            for row in session.execute("SELECT dq_status, processed_by, ingested_at FROM sensor_data WHERE "
                                       "sensor_id = %s AND day = %s AND ts >= %s AND ts < %s",
                                       (f"sensor_{i}", day, start, end)):
                if row.ingested_at.replace(tzinfo=dt.timezone.utc) >= began:
                    rows[row.dq_status, row.processed_by] += 1
    assert rows == {("PASS", "spark"): want_counts["PASS"], ("FIXED", "spark"): want_counts["FIXED"]}
    assert rejects() == want_counts["REJECT"]
    # Every reading libdq's online detector flags is in sensor_anomalies.
    flagged = {(json.loads(c)["sensor_id"], t) for c, t in zip(want.clean, want.event_time_ms)
               if c and b'"flag":true' in c}
    found = set()
    for sensor in {s for s, _ in flagged}:
        for day in {start.date(), end.date()}:
            for row in session.execute("SELECT ts, model, processed_by FROM sensor_anomalies WHERE sensor_id = %s "
                                       "AND day = %s AND ts >= %s AND ts < %s", (sensor, day, start, end)):
                if (row.model, row.processed_by) == ("online-z", "spark"):
                    found.add((sensor, int(row.ts.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)))
    cluster.shutdown()
    assert len(flagged) > 20 and flagged <= found, (len(flagged), len(flagged - found))
    dead = collections.Counter((dict(m.headers())["dq.source.partition"], dict(m.headers())["dq.source.offset"])
                               for m in messages(dlq))
    assert len(dead) == want_counts["REJECT"]  # each reject at least once; a replayed batch may repeat
