"""The live pipeline that `make up` runs: generator -> sensor-topic -> the live writer
(flink_jobs/flink_to_cassandra.py, kept running by stack/live_writer.sh) -> Cassandra, beside
dq gate. Two minutes at 2,000 events/s: the writer keeps up, and every input offset of
those two minutes is exactly one row, with dq gate's verdict."""
import datetime as dt
import json
import time
import urllib.request

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import ROOT, kafka, run

TOPIC, PARTITIONS = "sensor-topic", range(4)


def end_offsets(c: Consumer) -> dict[int, int]:
    return {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in PARTITIONS}


def committed(admin: AdminClient, group: str) -> dict[int, int]:
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(TOPIC, p) for p in PARTITIONS])
    return {tp.partition: tp.offset for tp in admin.list_consumer_group_offsets([request])[group].result(10)
            .topic_partitions}


def lag_seconds(c: Consumer, admin: AdminClient, ends: dict[int, int]) -> float:
    """How old the oldest reading the live writer has not committed is (0 when none waits)."""
    oldest = None
    for p, offset in committed(admin, "dq-live").items():
        if offset < 0 or offset >= ends[p]:
            continue
        c.assign([TopicPartition(TOPIC, p, offset)])
        m = c.poll(5)
        if m is not None and not m.error():
            oldest = min(oldest or m.timestamp()[1], m.timestamp()[1])
    return 0.0 if oldest is None else time.time() - oldest / 1000


def restart_generator(rate: int | None) -> None:
    env = None if rate is None else {**__import__("os").environ, "DQ_GEN_RATE": str(rate)}
    run([ROOT / "stack" / "down.sh", "--quiet", "dq-gen"])
    run([ROOT / "stack" / "up.sh", "dq-gen"], env=env)


def test_live_writer_keeps_up_and_writes_every_reading_once_with_the_gates_verdict(secrets):
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster
    import dq
    job = (ROOT / ".stack" / "data" / "flink" / "live" / "job").read_text().strip()
    assert json.load(urllib.request.urlopen(f"http://127.0.0.1:8081/jobs/{job}"))["state"] == "RUNNING"
    admin = AdminClient(kafka())
    c = Consumer(kafka("reader", **{"group.id": "test-live", "enable.auto.commit": False}))
    restart_generator(2000)
    try:
        first = end_offsets(c)
        lags = []
        began = time.time()
        while time.time() - began < 120:
            lags.append(lag_seconds(c, admin, end_offsets(c)))
            time.sleep(5)
        last = end_offsets(c)
    finally:
        restart_generator(None)
    n = sum(last[p] - first[p] for p in PARTITIONS)
    assert n > 200_000, f"only {n} readings in two minutes: the generator did not run at 2,000 events/s"
    assert max(lags) < 10, f"the live writer fell behind: lag samples {lags}"

    # Wait until both stages have committed past the two minutes (rows are written first).
    deadline = time.time() + 120
    while time.time() < deadline and not all(
            min(committed(admin, g)[p] for g in ("dq-live", "dq-gate")) >= last[p] for p in PARTITIONS):
        time.sleep(2)

    # The inputs, dq gate's rejects among them (its dead letters name their source offsets).
    inputs = {}
    for p in PARTITIONS:
        c.assign([TopicPartition(TOPIC, p, first[p])])
        position, deadline = first[p] - 1, time.time() + 120
        while position < last[p] - 1 and time.time() < deadline:
            for m in c.consume(10_000, timeout=5):
                if not m.error():
                    position = m.offset()
                    if position < last[p]:
                        inputs[p, position] = m.value() or b""
    assert len(inputs) == n
    gate_rejects = set()
    dlq = Consumer(kafka("reader", **{"group.id": "test-live-dlq", "enable.auto.commit": False,
                                      "isolation.level": "read_committed"}))
    # Dead letters keep their input's timestamp: from a minute before the window began to
    # the end the topic had once both stages were past the window (it keeps growing).
    since = int((began - 60) * 1000)
    starts = dlq.offsets_for_times([TopicPartition("sensor-dlq", p, since) for p in PARTITIONS], timeout=10)
    for start in starts:
        end = dlq.get_watermark_offsets(TopicPartition("sensor-dlq", start.partition), timeout=10)[1]
        if start.offset < 0 or start.offset >= end:
            continue
        dlq.assign([start])
        idle, position = 0, start.offset
        while idle < 3 and position < end - 1:
            got = [m for m in dlq.consume(10_000, timeout=2) if not m.error()]
            idle = 0 if got else idle + 1
            for m in got:
                position = m.offset()
                h = dict(m.headers() or [])
                key = (int(h["dq.source.partition"]), int(h["dq.source.offset"]))
                if h["dq.source.topic"] == TOPIC.encode() and key in inputs:
                    gate_rejects.add(key)
    dlq.close()
    c.close()

    auth = PlainTextAuthProvider(secrets["CASSANDRA_USER"], secrets["CASSANDRA_PASSWORD"])
    cluster = Cluster(["127.0.0.1"], auth_provider=auth, protocol_version=5)
    session = cluster.connect("iot_data")
    today = dt.datetime.now(dt.timezone.utc).date()
    live_rejects = set()
    for day in (today - dt.timedelta(days=1), today):
        for p in PARTITIONS:
            rows = session.execute("SELECT source_offset FROM sensor_rejects WHERE day = %s AND source_topic = %s "
                                   "AND source_partition = %s AND source_offset >= %s AND source_offset < %s",
                                   (day, TOPIC, p, first[p], last[p]))
            live_rejects |= {(p, r.source_offset) for r in rows}
    assert live_rejects == gate_rejects, (f"{len(live_rejects - gate_rejects)} rejected by the live writer only, "
                                          f"{len(gate_rejects - live_rejects)} by dq gate only")

    # Every reading dq gate accepted is a sensor_data row: its sensor and event time from libdq.
    accepted = sorted(k for k in inputs if k not in gate_rejects)
    res = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"),
                    now=int(time.time() * 1000)).evaluate([inputs[k] for k in accepted])
    want = {}
    for k, clean, event_ms in zip(accepted, res.clean, res.event_time_ms):
        if clean is None:  # judged here without the sensor's history: e.g. a missing value the gate
            event = json.loads(inputs[k])  # imputed from a reading before the window; its own fields then
            clean, event_ms = json.dumps(event).encode(), event_ms or dq.parse_time(event["timestamp"])
        want.setdefault(json.loads(clean)["sensor_id"], set()).add(event_ms)
    missing = 0
    for sensor, times in want.items():
        lo, hi = min(times), max(times)
        found = set()
        for day in {dt.datetime.fromtimestamp(t / 1000, dt.timezone.utc).date() for t in (lo, hi)}:
            rows = session.execute("SELECT ts, dq_status FROM sensor_data WHERE sensor_id = %s AND day = %s "
                                   "AND ts >= %s AND ts <= %s", (sensor, day, lo, hi))
            for r in rows:
                assert r.dq_status in ("PASS", "FIXED")
                found.add(int(r.ts.replace(tzinfo=dt.timezone.utc).timestamp() * 1000))
        missing += len(times - found)
    cluster.shutdown()
    assert missing == 0, f"{missing} of {len(accepted)} accepted readings have no sensor_data row"
