"""The course's PySpark jobs on the running Spark cluster, submitted as `make spark-submit` does."""
import collections
import datetime as dt
import os
import signal
import subprocess
import time

from conftest import BOOTSTRAP, ROOT, assert_cassandra_matches, messages, run

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

    assert_cassandra_matches(session, want, start, start + dt.timedelta(hours=4), began, "spark")
    assert rejects() == want_counts["REJECT"]
    cluster.shutdown()
    dead = collections.Counter((dict(m.headers())["dq.source.partition"], dict(m.headers())["dq.source.offset"])
                               for m in messages(dlq))
    assert len(dead) == want_counts["REJECT"]  # each reject at least once; a replayed batch may repeat
