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

The plain functions (in dq_flink.py, shared with the other jobs) are tested on in-memory
rows; main() wires them into Flink.

usage (see `make flink-submit`):
  flink run --python flink_jobs/flink_to_cassandra.py [--input sensor-topic] [--bounded]
"""
import datetime as dt
import json
from pathlib import Path

from dq_flink import (ROOT, UTC, CassandraWriter, clean_row, job_arguments, make_validate, raw_kafka_table,
                      reject_row, sensor_key)


def main() -> None:
    ap = job_arguments(__doc__, group="flink-to-cassandra")
    ap.add_argument("--checkpoint-ms", type=int, default=5000)
    args = ap.parse_args()

    from pyflink.common import Types
    from pyflink.common.restart_strategy import RestartStrategies
    from pyflink.datastream import MapFunction, StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    root, topic = str(ROOT), args.input

    def to_row(v: dict):
        """A validated event as (table, row) for Cassandra."""
        if v["verdict"] == "REJECT":
            return "sensor_rejects", reject_row(v["raw"], topic, v["partition"], v["offset"], v["reasons"],
                                                v["event_ms"], v["contract_version"], dt.datetime.now(UTC).date())
        return "sensor_data", clean_row(v["clean"], v["contract_version"], v["event_ms"])

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
    env.add_python_file(str(ROOT / "flink_jobs" / "dq_flink.py"))
    env.enable_checkpointing(args.checkpoint_ms)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(30, 3000))
    t_env = StreamTableEnvironment.create(env)
    raw_kafka_table(t_env, "raw_events", topic, args.brokers, args.group, args.bounded)
    counts = (t_env.to_data_stream(t_env.from_path("raw_events"))
              .key_by(lambda row: sensor_key(bytes(row[0])), key_type=Types.STRING())
              .process(make_validate(root), output_type=Types.PICKLED_BYTE_ARRAY()).name("libdq: verdict per sensor")
              .map(to_row, output_type=Types.PICKLED_BYTE_ARRAY()).name("rows for Cassandra")
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
