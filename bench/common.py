"""What the Kafka -> Cassandra benchmarks share: fresh topics that are deleted afterwards,
and the two peers every engine is measured against in the same run:
dq gate over the same topic, and a Cassandra write ceiling for the same events' rows."""
import contextlib
import datetime as dt
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic
from dq.stack import CassandraWriter, kafka_cli_args, kafka_login

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"


@contextlib.contextmanager
def fresh_topics(bench: str, *names: str, partitions: int = 4):
    """-> ({name: 'bench-<bench>-<name>-<run id>'}, the run's group prefix); the topics (and
    the gate's state topic of that group) are deleted on exit, also after a failure."""
    run_id = uuid.uuid4().hex[:8]
    topics = {k: f"bench-{bench}-{k}-{run_id}" for k in names}
    group = f"bench-{bench}-{run_id}"
    admin = AdminClient(kafka_login("admin"))
    for f in admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1)
                                  for t in topics.values()]).values():
        f.result(30)
    try:
        yield topics, group
    finally:
        admin.delete_topics(list(topics.values()) + [group + "-gate-state"])


def run_gate(dq_bin: Path, topics: dict, group: str, n: int) -> float:
    """dq gate over topics['in'] into topics['clean'] and topics['dlq'] -> events/s."""
    print("dq gate ...", file=sys.stderr)
    gate = subprocess.run([dq_bin, "gate", "-c", CONTRACT, *kafka_cli_args("validator"), "--group", group + "-gate",
                           "--input", topics["in"], "--clean", topics["clean"], "--dlq", topics["dlq"],
                           "--metrics-topic", "", "--metrics-addr", "", "--max-events", str(n)],
                          capture_output=True, text=True, check=True)
    return n / float(re.search(r"events in ([0-9.]+) s", gate.stderr).group(1))


def cassandra_ceiling(records: list, rows_of: dict | None = None) -> tuple[dict[int, float], int, dict[str, float]]:
    """The rows the jobs write for these Kafka records (sensor_data, sensor_rejects,
    sensor_anomalies: libdq's verdicts in batches of 1,000, rows as dq_flink builds them),
    written by one client (dq_flink.CassandraWriter) with 64 requests in flight, once a
    row per request and once a batch per partition (<= 20 rows), as the jobs write.
    rows_of, if given, receives each record's rows: {(partition, offset): [(table, row)]}.
    -> ({0 | 20: seconds}, rows, {"libdq_us", "rows_us"}: Python's cost per event)"""
    sys.path.insert(0, str(ROOT / "flink_jobs"))
    import dq_flink
    validator = dq_flink.Validator(CONTRACT)
    raws = [m.value() or b"" for m in records]
    t0 = time.perf_counter()
    outcomes = []
    for i in range(0, len(raws), 1000):  # about a flush of a shard, a micro-batch's shard
        outcomes += validator.judge(raws[i:i + 1000], int(time.time() * 1000))[0]
    libdq_s = time.perf_counter() - t0
    today = dt.datetime.now(dt.timezone.utc).date()
    t0 = time.perf_counter()
    rows = []
    for m, v in zip(records, outcomes):
        v.update(raw=m.value() or b"", key=m.key(), headers=dict(m.headers() or []), partition=m.partition(),
                 offset=m.offset(), kafka_ms=m.timestamp()[1])
        mine = validator.cassandra_rows(v, m.topic(), today)
        rows += mine
        if rows_of is not None:
            rows_of[m.partition(), m.offset()] = mine
    rows_s = time.perf_counter() - t0
    print("the Cassandra ceiling ...", file=sys.stderr)
    writer = CassandraWriter()
    seconds = {}
    for batch_rows in (0, 20):
        t0 = time.perf_counter()
        for i in range(0, len(rows), 10_000):
            writer.insert_many(rows[i:i + 10_000], batch_rows=batch_rows)
        seconds[batch_rows] = time.perf_counter() - t0
    writer.close()
    n = len(records)
    return seconds, len(rows), {"libdq_us": libdq_s / n * 1e6, "rows_us": rows_s / n * 1e6}


def print_table(rows: list[tuple[str, str]]) -> None:
    """A Markdown table of (measurement, value) rows, as bench/README.md shows them."""
    width = max(len(name) for name, _ in rows + [("measurement", "")])
    print(f"| {'measurement':<{width}} | {'value':>10} |\n|{'-' * (width + 2)}|{'-' * 12}|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value:>10} |")
