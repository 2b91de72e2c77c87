"""Reconciles the live pipeline over a span of sensor-topic: every input offset is exactly
one row in Cassandra, with dq gate's verdict. `make reconcile MINUTES=10` runs it on the
last ten minutes; the live-pipeline test, the fault drills and `make soak` call reconcile().

The two stages judge the same input independently: dq gate (Kafka to Kafka, its rejects in
sensor-dlq, each naming its source offset) and the live writer (Flink to Cassandra). The
span reconciles when
- the live writer's sensor_rejects hold exactly the source offsets dq gate dead-lettered, and
- every other reading of the span is a sensor_data row (sensor, event time), PASS or FIXED.
A row is keyed by sensor and event time, so a reading written twice is one row: nothing is
counted twice by construction, and nothing lost is what this checks.

usage: reconcile.py [--minutes M] [--drain-seconds S]"""
import argparse
import array
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

import dq
from dq.stack import ROOT, cassandra_session, days, kafka_login, read_span, sensor_key

TOPIC, DLQ, PARTITIONS = "sensor-topic", "sensor-dlq", range(4)
STAGES = ("dq-gate", "dq-live")  # the consumer groups of dq gate and the live writer
UTC = dt.timezone.utc


def reader(**settings) -> Consumer:
    """A consumer that reads by offset, as the reader principal. It joins no group; librdkafka
    still reaches for the coordinator and logs its teardown as an error: only fatal ones shown."""
    return Consumer(kafka_login("reader") | {"group.id": "reconcile", "enable.auto.commit": False, "log_level": 2}
                    | settings)


def end_offsets(c: Consumer, timeout: float = 10) -> dict[int, int]:
    return {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=timeout)[1] for p in PARTITIONS}


def committed(admin: AdminClient, group: str, timeout: float = 10) -> dict[int, int]:
    """The group's committed offset per partition (negative: none committed yet)."""
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(TOPIC, p) for p in PARTITIONS])
    return {tp.partition: tp.offset for tp in admin.list_consumer_group_offsets([request])[group].result(timeout)
            .topic_partitions}


def short_of(last: dict[int, int], offsets: dict[int, int]) -> int:
    """Readings between committed offsets and last (all of a partition with no commit). max(0,
    ...): a commit made after last was read can be past it."""
    return sum(max(0, last[p] - max(0, offset)) for p, offset in offsets.items())


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


def behind(admin: AdminClient, last: dict[int, int]) -> dict[str, int]:
    """Readings each stage has still to commit before it is past last."""
    return {g: short_of(last, committed(admin, g)) for g in STAGES}


def to_commit(admin: AdminClient, last: dict[int, int]) -> int:
    """Readings the two stages, together, have still to commit before they are past last."""
    return sum(behind(admin, last).values())


def not_passed(admin: AdminClient, last: dict[int, int]) -> str:
    """Which stage is short of last, and by how much: what a drain that timed out reports."""
    return ", ".join(f"{g} {n:,} readings short" for g, n in behind(admin, last).items() if n) or "none now"


def wait_committed(admin: AdminClient, last: dict[int, int], timeout_s: float) -> bool:
    """Until both stages have committed up to last (they write their rows first)."""
    deadline = time.time() + timeout_s
    while True:
        if not to_commit(admin, last):
            return True
        if time.time() > deadline:
            return False
        time.sleep(2)


@dataclass
class Reconciliation:
    inputs: int = 0
    gate_rejects: int = 0
    live_rejects: int = 0
    rejected_by_gate_only: list = field(default_factory=list)  # (partition, offset)
    rejected_by_live_only: list = field(default_factory=list)
    accepted: int = 0
    missing_rows: int = 0  # accepted readings without a sensor_data row
    bad_status: int = 0  # sensor_data rows of the span neither PASS nor FIXED

    @property
    def ok(self) -> bool:
        return not (self.rejected_by_gate_only or self.rejected_by_live_only or self.missing_rows or self.bad_status)

    def __str__(self) -> str:
        return (f"{self.inputs:,} readings: {self.gate_rejects:,} rejected by dq gate, {self.live_rejects:,} rows in "
                f"sensor_rejects ({len(self.rejected_by_gate_only):,} by the gate only, "
                f"{len(self.rejected_by_live_only):,} by the live writer only); {self.accepted:,} accepted, "
                f"{self.missing_rows:,} without a sensor_data row, {self.bad_status:,} rows of another status")


def gate_rejects(since_ms: int, first: dict[int, int], last: dict[int, int]) -> set[tuple[int, int]]:
    """dq gate's dead letters of the span, as source (partition, offset). Dead letters keep
    their input's timestamp: read from since_ms on to the topic's end."""
    c = reader(**{"isolation.level": "read_committed"})
    out = set()
    for start in c.offsets_for_times([TopicPartition(DLQ, p, since_ms) for p in PARTITIONS], timeout=10):
        end = c.get_watermark_offsets(TopicPartition(DLQ, start.partition), timeout=10)[1]
        for m in read_span(c, start, end):
            h = dict(m.headers() or [])
            if h.get("dq.source.topic") == TOPIC.encode():
                key = (int(h["dq.source.partition"]), int(h["dq.source.offset"]))
                if first[key[0]] <= key[1] < last[key[0]]:
                    out.add(key)
    c.close()
    return out


def reconcile(first: dict[int, int], last: dict[int, int], since_ms: int) -> Reconciliation:
    """The span [first, last) of sensor-topic, per partition, once both stages are past it
    (wait_committed). since_ms: no input of the span is older (its dead letters' timestamps)."""
    r = Reconciliation()
    rejected = gate_rejects(since_ms, first, last)
    r.gate_rejects = len(rejected)
    session_cluster, session = cassandra_session()
    try:
        live = set()
        # A reject's row is filed under the day the live writer judged it.
        for day in days(dt.datetime.fromtimestamp(since_ms / 1000, UTC)):
            for p in PARTITIONS:
                rows = session.execute("SELECT source_offset FROM sensor_rejects WHERE day = %s AND source_topic = %s "
                                       "AND source_partition = %s AND source_offset >= %s AND source_offset < %s",
                                       (day, TOPIC, p, first[p], last[p]))
                live |= {(p, row.source_offset) for row in rows}
        r.live_rejects = len(live)
        r.rejected_by_gate_only = sorted(rejected - live)
        r.rejected_by_live_only = sorted(live - rejected)

        # The accepted readings' sensors and event times, as libdq judges them (partition by
        # partition: a sensor's readings are all in one, in order). Judged here without the
        # readings before the span, a reading may come out REJECT (e.g. a missing value the
        # gate imputed from an earlier one): its own sensor and timestamp then.
        engine = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"), now=int(time.time() * 1000))
        times: dict[str, array.array] = {}
        c = reader()

        def judge(batch):
            res = engine.evaluate(batch)
            for raw, clean, event_ms in zip(batch, res.clean, res.event_time_ms):
                if clean is None:
                    sensor, event_ms = sensor_key(raw), dq.parse_time(json.loads(raw)["timestamp"])
                else:
                    sensor = json.loads(clean)["sensor_id"]
                times.setdefault(sensor, array.array("q")).append(event_ms)
        for p in PARTITIONS:
            batch = []
            for m in read_span(c, TopicPartition(TOPIC, p, first[p]), last[p]):
                r.inputs += 1
                if (p, m.offset()) not in rejected:
                    batch.append(m.value() or b"")
                    if len(batch) == 50_000:
                        judge(batch)
                        batch = []
            judge(batch)
        c.close()

        for sensor, ts in times.items():
            want = np.unique(np.frombuffer(ts, dtype=np.int64))
            r.accepted += len(ts)
            lo, hi = int(want[0]), int(want[-1])
            found = []
            for day in days(*(dt.datetime.fromtimestamp(t / 1000, UTC) for t in (lo, hi))):
                for row in session.execute("SELECT ts, dq_status FROM sensor_data WHERE sensor_id = %s AND day = %s "
                                           "AND ts >= %s AND ts <= %s", (sensor, day, lo, hi)):
                    found.append(int(row.ts.replace(tzinfo=UTC).timestamp() * 1000))
                    r.bad_status += row.dq_status not in ("PASS", "FIXED")
            r.missing_rows += int(np.count_nonzero(~np.isin(want, np.array(found, dtype=np.int64))))
    finally:
        session_cluster.shutdown()
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10, help="the span: sensor-topic's last M minutes (default 10)")
    ap.add_argument("--drain-seconds", type=float, default=300,
                    help="how long to wait for both stages to pass the span's end (default 300)")
    args = ap.parse_args()
    admin = AdminClient(kafka_login("reader"))
    c = reader()
    since_ms = int((time.time() - args.minutes * 60) * 1000)
    last = end_offsets(c)
    first = {tp.partition: (tp.offset if tp.offset >= 0 else last[tp.partition]) for tp in
             c.offsets_for_times([TopicPartition(TOPIC, p, since_ms) for p in PARTITIONS], timeout=10)}
    c.close()
    print(f"reconciling sensor-topic's last {args.minutes:g} minutes ({sum(last[p] - first[p] for p in PARTITIONS):,} "
          f"readings): waiting for dq gate and the live writer to pass them ...", flush=True)
    if not wait_committed(admin, last, args.drain_seconds):
        print(f"the stages did not pass the span within {args.drain_seconds:g} s ({not_passed(admin, last)}): "
              "is the pipeline running? (make status)")
        return 1
    r = reconcile(first, last, since_ms - 60_000)
    print(r)
    print("reconciled: every reading is exactly one row, with dq gate's verdict" if r.ok else "NOT reconciled")
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
