"""The live pipeline that `make up` runs: generator -> sensor-topic -> the live writer
(flink_jobs/flink_to_cassandra.py, kept running by stack/live_writer.sh) -> Cassandra, beside
dq gate. Two minutes at make up's 1,000 events/s (make test's stack runs 200): the writer
keeps up, and every input offset of those two minutes is exactly one row, with dq gate's
verdict. How fast it can go is make soak's and make bench-flink's to measure: at 2,000
events/s a slower 2-core machine's writer fell 15 s behind in two minutes."""
import json
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import ROOT, kafka, run
import dq
from dq.stack import generator_rate, live_job, read_span, restart_generator
from reconcile import (PARTITIONS, end_offsets, gate_rejects, lag_seconds, not_passed, reader, reconcile,
                       wait_committed)


def assert_every_reading_once(first: dict[int, int], last: dict[int, int], began: float,
                              drain_s: float = 120) -> None:
    """stack/reconcile.py over the span [first, last) of sensor-topic, which began at began:
    every input offset is exactly one row, with dq gate's verdict."""
    admin = AdminClient(kafka())
    assert wait_committed(admin, last, drain_s), \
        f"the stages did not pass the span within {drain_s} s: {not_passed(admin, last)} (make status, .stack/logs/)"
    r = reconcile(first, last, since_ms=int((began - 60) * 1000))
    assert r.inputs == sum(last[p] - first[p] for p in PARTITIONS), r
    assert r.ok, r


def test_live_writer_keeps_up_and_writes_every_reading_once_with_the_gates_verdict():
    assert live_job()["state"] == "RUNNING"
    admin = AdminClient(kafka())
    c = Consumer(kafka("reader", **{"group.id": "test-live", "enable.auto.commit": False}))
    rate = generator_rate()
    restart_generator(1000)
    try:
        first = end_offsets(c)
        lags = []
        began = time.time()
        while time.time() - began < 120:
            lags.append(lag_seconds(c, admin, end_offsets(c)))
            time.sleep(5)
        last = end_offsets(c)
    finally:
        restart_generator(rate)
    c.close()
    n = sum(last[p] - first[p] for p in PARTITIONS)
    assert n > 100_000, f"only {n} readings in two minutes: the generator did not run at 1,000 events/s"
    assert max(lags) < 10, f"the live writer fell behind: lag samples {lags}"
    assert_every_reading_once(first, last, began)


def drill(service: str, outage_s: float) -> None:
    """A fault drill: `service` stopped for outage_s under the running pipeline (the generator
    at the rate it runs: make up's 1,000 events/s, make test's 200), then started again. The
    backlog drains (the live writer's lag back under 10 s within 5 minutes) and every reading
    of the whole span is exactly one row."""
    admin = AdminClient(kafka())
    c = Consumer(kafka("reader", **{"group.id": "test-live", "enable.auto.commit": False}))
    rate = generator_rate()
    began = time.time()
    first = end_offsets(c)
    time.sleep(10)
    run(["make", "-C", ROOT, "down", f"SERVICE={service}"])  # as course day 20 does it
    time.sleep(outage_s)
    run(["make", "-C", ROOT, "up", f"SERVICE={service}"])
    # Drained: the live writer's lag under 10 s, and the generator's readings of the outage
    # arrived (it holds them while the broker is away and sends them some seconds after its
    # return: a lag measured before that looks drained with those readings still to come).
    deadline, lag, n, span = time.time() + 300, None, 0, 0.0
    while time.time() < deadline:
        time.sleep(5)
        try:
            last = end_offsets(c)
            lag = lag_seconds(c, admin, last)
        except Exception as e:  # noqa: BLE001 (Kafka itself may still be electing its leaders)
            lag = f"{type(e).__name__}: {e}"
            continue
        n, span = sum(last[p] - first[p] for p in PARTITIONS), time.time() - began
        if lag < 10 and n > 0.9 * rate * span:
            break
    assert isinstance(lag, float) and lag < 10, f"the backlog did not drain within 5 minutes of {service}'s return: {lag}"
    assert n > 0.9 * rate * span, f"{n} readings in {span:.0f} s: the generator did not go on at {rate:,} events/s"
    c.close()
    assert live_job()["state"] == "RUNNING"
    assert_every_reading_once(first, last, began, drain_s=180)


def test_drill_cassandra_down_for_a_minute_loses_nothing():
    """The live writer cannot write for a minute: its job fails and restarts from its last
    checkpoint until Cassandra is back, then catches up; nothing is lost or written twice."""
    drill("cassandra", 60)


def test_drill_kafka_restart_under_the_pipeline_loses_nothing():
    """The broker stopped for 20 s under generator, gate and live writer: each reconnects or is
    restarted (make up's supervisors), and the reconcile holds over the whole span."""
    drill("kafka", 20)


def test_drill_live_writer_stopped_and_started_resumes_from_its_savepoint():
    """`make down SERVICE=live-writer` stops the job with a savepoint and `make up` submits it
    again from there (course day 11, exercise 5): its log names the savepoint this stop took,
    and every reading of the span across the stop is exactly one row, none lost, none twice."""
    began = time.time()
    drill("live-writer", 5)
    resumed = [line.split(" ", 2)[2] for line in (ROOT / ".stack" / "logs" / "live-writer.log").read_text().splitlines()
               if line.startswith("resuming from ")]
    assert resumed and "/savepoints/savepoint-" in resumed[0], resumed
    assert Path(resumed[0]).stat().st_mtime > began, f"{resumed[0]} is older than this stop"


def test_reconcile_finds_a_missing_row_and_a_missing_reject():
    """The reconciliation the drills rely on is not blind: one sensor_data row and one
    sensor_rejects row of a settled span deleted, it names exactly those."""
    import datetime as dt
    from dq.stack import cassandra_session, days
    c = Consumer(kafka("reader", **{"group.id": "test-live", "enable.auto.commit": False}))
    began, first = time.time(), end_offsets(c)
    since_ms = int((began - 60) * 1000)
    time.sleep(10)  # ~2,000 readings at make test's 200 events/s, ~10 % of them rejects
    last = end_offsets(c)
    c.close()
    admin = AdminClient(kafka())
    assert wait_committed(admin, last, 120), not_passed(admin, last)
    r = reconcile(first, last, since_ms=since_ms)
    assert r.ok and r.gate_rejects > 0 and r.accepted > 0, r
    cluster, session = cassandra_session()
    p = next(p for p in PARTITIONS if last[p] > first[p])
    reject = next(filter(None, (  # filed under the day the live writer judged it: since `began`
        session.execute("SELECT day, source_offset FROM sensor_rejects WHERE day = %s AND source_topic = %s AND "
                        "source_partition = %s AND source_offset >= %s AND source_offset < %s LIMIT 1",
                        (day, "sensor-topic", p, first[p], last[p])).one()
        for day in days(dt.datetime.fromtimestamp(began, dt.timezone.utc)))))
    # An accepted reading's row (a duplicate the gate rejected shares its row with the original).
    rejected, c = gate_rejects(since_ms, first, last), reader()
    row = next(filter(None, (sensor_data_row(session, m.value()) for m in
                             read_span(c, TopicPartition("sensor-topic", p, first[p]), last[p])
                             if (p, m.offset()) not in rejected)))
    c.close()
    deleted = [("sensor_rejects", "day = %s AND source_topic = %s AND source_partition = %s AND source_offset = %s",
                (reject.day, "sensor-topic", p, reject.source_offset)),
               ("sensor_data", "sensor_id = %s AND day = %s AND ts = %s", (row.sensor_id, row.day, row.ts))]
    # Each row as JSON first, written back afterwards: the tests after this one reconcile the
    # live tables too (make reconcile's last minute may include this span).
    saved = [(table, session.execute(f"SELECT JSON * FROM {table} WHERE {where}", key).one()[0])
             for table, where, key in deleted]
    for table, where, key in deleted:
        session.execute(f"DELETE FROM {table} WHERE {where}", key)
    try:
        r = reconcile(first, last, since_ms=since_ms)
        assert r.rejected_by_gate_only == [(p, reject.source_offset)] and not r.rejected_by_live_only, r
        assert r.missing_rows == 1, r
    finally:
        for table, json_row in saved:
            session.execute(f"INSERT INTO {table} JSON %s", (json_row,))
        cluster.shutdown()
    assert reconcile(first, last, since_ms=since_ms).ok, "the deleted rows were not written back"


def sensor_data_row(session, reading: bytes):
    """The sensor_data row of a reading's sensor at the reading's event time; None when there
    is none or the reading is malformed."""
    import datetime as dt
    try:
        r = json.loads(reading)
        ts = dq.parse_time(r["timestamp"])
        return session.execute("SELECT sensor_id, day, ts FROM sensor_data WHERE sensor_id = %s AND day = %s AND ts = %s",
                               (r["sensor_id"], dt.datetime.fromtimestamp(ts / 1000, dt.timezone.utc).date(), ts)).one()
    except (ValueError, KeyError, TypeError):
        return None


def test_make_reconcile_prints_what_docs_flink_md_shows():
    import re
    doc = (ROOT / "docs" / "flink.md").read_text()
    shown = doc[doc.index("```text", doc.index("make reconcile")) + 8:].split("```")[0].strip().splitlines()
    proc = run(["make", "-C", ROOT, "-s", "reconcile", "MINUTES=1"])
    got = proc.stdout.strip().splitlines()[-len(shown):]
    for want, line in zip(shown, got):
        assert re.fullmatch(re.sub(r"\d[\d,]*", r"\\d[\\d,]*", re.escape(want)), line), (want, line)
