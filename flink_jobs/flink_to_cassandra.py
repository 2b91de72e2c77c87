"""Day 11: Kafka to Cassandra through Flink, every event judged by libdq.

    sensor-topic (raw bytes, partition, offset)
      --> key by sensor id
      --> libdq verdict, per-sensor state in Flink managed state (checkpointed)
      --> PASS/FIXED: Cassandra iot_data.sensor_data   (processed_by = 'flink')
      --> REJECT:     Cassandra iot_data.sensor_rejects (original bytes, reasons, source position)

Why this shape:
* The source is a Kafka table in Flink SQL with the `raw` format, so the job sees the
  exact bytes of each message (also invalid UTF-8) and its partition and offset, which
  the DataStream Kafka source of PyFlink does not give.
* libdq keeps each sensor's rule state (duplicates, spikes, stuck runs, gaps, last good
  values) as a few hundred bytes; the job keeps those bytes in a Flink ValueState, so
  checkpoints hold them and a restore gives the same verdicts as a run that never failed.
* Cassandra: no Flink Cassandra connector is on Maven Central for Flink 1.20 here, so
  the writes go through the DataStax Python driver, synchronously, one row per event.
  That gives what the connector gives (at-least-once, retried after a restore from the
  last checkpoint) and the tables' primary keys make every write idempotent: a replayed
  event overwrites its own row, so there are no duplicate rows.

The plain functions (sensor_key, Validator, clean_row, reject_row) are tested on
in-memory rows; main() wires them into Flink.

usage (see `make flink-submit`):
  flink run --python flink_jobs/flink_to_cassandra.py [--input sensor-topic] [--bounded]
"""
import argparse
import datetime as dt
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
SENSOR_KEY = re.compile(rb'"sensor_id"\s*:\s*"([^"\\]{1,64})"')
UTC = dt.timezone.utc


def sensor_key(raw: bytes) -> str:
    """The sensor id to key by, found without parsing (malformed events have one too, often)."""
    m = SENSOR_KEY.search(raw or b"")
    return m.group(1).decode("utf-8", "replace") if m else ""


class Validator:
    """libdq's verdict for one event of one key, with that key's state given and returned."""

    def __init__(self, contract_path=CONTRACT):
        import dq
        self.contract = dq.Contract(contract_path)
        self.engine = dq.Engine(self.contract)
        self.contract_version = f"{self.contract.id}:{self.contract.version}"

    def validate(self, raw: bytes, saved: dict | None, now_ms: int):
        """-> (verdict, reasons, clean JSON bytes or None, event time ms or None, state to save or None)."""
        for key, state in (saved or {}).items():
            self.engine.restore_state(key, state)
        self.engine.set_now(now_ms)
        res = self.engine.evaluate([raw])
        changed = self.engine.state_changes()
        new_state = {**(saved or {}), **changed} if changed else None
        return res.verdicts[0], res.reasons[0], res.clean[0], res.event_time_ms[0], new_state


def _time(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, UTC)


def clean_row(clean: bytes, contract_version: str, event_time_ms: int) -> dict:
    """A sensor_data row from libdq's clean event (canonical JSON with its dq annotation)."""
    event = json.loads(clean)
    annotation = event.pop("dq")
    ts = _time(event_time_ms)
    return {"sensor_id": event["sensor_id"], "day": ts.date(), "ts": ts,
            "temperature": event.get("temperature"), "humidity": event.get("humidity"),
            "pressure": event.get("pressure"), "battery": event.get("battery"),
            "location": event.get("location"), "status": event.get("status"),
            "dq_status": annotation["status"], "dq_reasons": set(annotation.get("reasons", [])) or None,
            "dq_findings": json.dumps(annotation, separators=(",", ":")), "processed_by": "flink",
            "contract_version": contract_version}


def reject_row(raw: bytes, topic: str, partition: int, offset: int, reasons: list[str], event_time_ms: int | None,
               contract_version: str, today: dt.date) -> dict:
    """A sensor_rejects row: the original bytes, why, and where they came from."""
    annotation = {"status": "REJECT", "reasons": reasons}
    return {"day": today, "source_topic": topic, "source_partition": partition, "source_offset": offset,
            "sensor_id": sensor_key(raw) or None, "ts": _time(event_time_ms), "reasons": set(reasons),
            "dq_annotation": json.dumps(annotation, separators=(",", ":")), "raw": raw,
            "processed_by": "flink", "contract_version": contract_version}


def read_env(path: Path) -> dict:
    """KEY=value lines of the project's .env (the Cassandra credentials)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")
    return {k: v for k, v in pairs}


class CassandraWriter:
    """Idempotent inserts into sensor_data and sensor_rejects (the primary keys dedupe replays)."""

    def __init__(self, env_file: Path, host: str = "127.0.0.1"):
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import Cluster
        secrets = read_env(env_file)
        auth = PlainTextAuthProvider(secrets["CASSANDRA_USER"], secrets["CASSANDRA_PASSWORD"])
        self.cluster = Cluster([host], auth_provider=auth)
        self.session = self.cluster.connect("iot_data")
        self.statements = {}

    def insert(self, table: str, row: dict) -> None:
        columns = tuple(sorted(row))
        statement = self.statements.get((table, columns))
        if statement is None:
            statement = self.statements[table, columns] = self.session.prepare(
                f"INSERT INTO {table} ({', '.join(columns)}, ingested_at) "
                f"VALUES ({', '.join('?' * len(columns))}, toTimestamp(now()))")
        self.session.execute(statement, [row[c] for c in columns])

    def close(self) -> None:
        self.cluster.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", default="127.0.0.1:9092")
    ap.add_argument("--input", default="sensor-topic")
    ap.add_argument("--group", default="flink-to-cassandra")
    ap.add_argument("--bounded", action="store_true", help="read the input to its current end, then finish")
    ap.add_argument("--checkpoint-ms", type=int, default=5000)
    args = ap.parse_args()

    from pyflink.common import Types
    from pyflink.common.restart_strategy import RestartStrategies
    from pyflink.datastream import KeyedProcessFunction, MapFunction, StreamExecutionEnvironment
    from pyflink.datastream.state import ValueStateDescriptor
    from pyflink.table import StreamTableEnvironment

    root, topic = str(ROOT), args.input

    class Validate(KeyedProcessFunction):
        """libdq per event; the sensor's libdq state lives in a Flink ValueState."""

        def open(self, ctx):
            sys.path.insert(0, root + "/python")  # the bindings of this checkout (the cluster is local)
            self.validator = Validator(Path(root) / "contracts" / "sensor_readings.yaml")
            self.state = ctx.get_state(ValueStateDescriptor("libdq state", Types.PICKLED_BYTE_ARRAY()))

        def process_element(self, row, ctx):
            raw = bytes(row[0])
            verdict, reasons, clean, event_ms, new_state = self.validator.validate(
                raw, self.state.value(), int(time.time() * 1000))
            if new_state is not None:
                self.state.update(new_state)
            version = self.validator.contract_version
            if verdict == "REJECT":
                yield "sensor_rejects", reject_row(raw, topic, row[1], row[2], reasons, event_ms, version,
                                                   dt.datetime.now(UTC).date())
            else:
                yield "sensor_data", clean_row(clean, version, event_ms)

    class WriteCassandra(MapFunction):
        """One synchronous, idempotent insert per event: done before the next checkpoint barrier."""

        def open(self, ctx):
            self.writer = CassandraWriter(Path(root) / ".env")

        def map(self, item):
            self.writer.insert(*item)
            return item[0]

        def close(self):
            self.writer.close()

    env = StreamExecutionEnvironment.get_execution_environment()
    env.enable_checkpointing(args.checkpoint_ms)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(10, 3000))
    t_env = StreamTableEnvironment.create(env)
    bounded = ", 'scan.bounded.mode' = 'latest-offset'" if args.bounded else ""
    t_env.execute_sql(f"""
        CREATE TABLE raw_events (
            payload BYTES,
            `partition` INT METADATA VIRTUAL,
            `offset` BIGINT METADATA VIRTUAL
        ) WITH (
            'connector' = 'kafka', 'topic' = '{topic}', 'format' = 'raw',
            'properties.bootstrap.servers' = '{args.brokers}', 'properties.group.id' = '{args.group}',
            'scan.startup.mode' = 'group-offsets', 'properties.auto.offset.reset' = 'earliest'{bounded}
        )""")
    counts = (t_env.to_data_stream(t_env.from_path("raw_events"))
              .key_by(lambda row: sensor_key(bytes(row[0])), key_type=Types.STRING())
              .process(Validate(), output_type=Types.PICKLED_BYTE_ARRAY()).name("libdq: verdict per sensor")
              .map(WriteCassandra(), output_type=Types.STRING()).name("Cassandra: sensor_data, sensor_rejects"))
    name = f"day 11: {topic} -> libdq -> Cassandra"
    if not args.bounded:  # a streaming job: runs until cancelled (flink cancel, or the web UI)
        counts.filter(lambda _: False).print().name("end")
        env.execute(name)
        return
    written = {}
    with counts.execute_and_collect(name) as results:
        for table in results:
            written[table] = written.get(table, 0) + 1
    print("RESULT " + json.dumps(written), flush=True)


if __name__ == "__main__":
    main()
