"""Day 11: Kafka to Cassandra through Flink, every event judged by libdq.

    sensor-topic (raw bytes, partition, offset)
      --> key by sensor id
      --> libdq verdict, per-sensor state in Flink managed state (checkpointed)
      --> PASS/FIXED: Cassandra iot_data.sensor_data   (processed_by = 'flink'), and
                      iot_data.sensor_anomalies when libdq's detector flags the reading
      --> REJECT:     Cassandra iot_data.sensor_rejects (original bytes, reasons, source position)
                      and Kafka sensor-dlq (the record `dq gate` would write, exactly once)

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
* The dead-letter topic is a Flink SQL Kafka sink fed from the same stream (a statement
  set attached to this job), transactional: a reader with isolation.level=read_committed
  sees each reject once, when the checkpoint that covers it completes.

The plain functions (in dq_flink.py, shared with the other jobs) are tested on in-memory
rows; main() wires them into Flink.

usage (see `make flink-submit`):
  flink run --python flink_jobs/flink_to_cassandra.py [--input sensor-topic] [--dlq sensor-dlq] [--bounded]
"""
import datetime as dt
from pathlib import Path

from dq_flink import (ROOT, UTC, CassandraWriter, clean_row, dlq_record, job_arguments, make_validate,
                      raw_kafka_table, reject_row, sensor_key)


def dlq_kafka_table(t_env, name: str, topic: str, brokers: str, transactional_id_prefix: str) -> None:
    """The dead-letter topic as a Flink SQL sink of exact bytes, key, headers and timestamp,
    written in Kafka transactions committed with each checkpoint (exactly once)."""
    t_env.execute_sql(f"""
        CREATE TABLE {name} (
            kafka_key BYTES, payload BYTES,
            headers MAP<STRING, BYTES> METADATA, `timestamp` TIMESTAMP_LTZ(3) METADATA
        ) WITH (
            'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{brokers}',
            'format' = 'raw', 'key.format' = 'raw', 'key.fields' = 'kafka_key',
            'value.fields-include' = 'EXCEPT_KEY',
            'sink.delivery-guarantee' = 'exactly-once',
            'sink.transactional-id-prefix' = '{transactional_id_prefix}',
            'properties.transaction.timeout.ms' = '900000'
        )""")  # the timeout: the broker's transaction.max.timeout.ms (15 min) caps it


def main() -> None:
    ap = job_arguments(__doc__, group="flink-to-cassandra")
    ap.add_argument("--dlq", default="sensor-dlq", help="the dead-letter topic")
    ap.add_argument("--checkpoint-ms", type=int, default=5000)
    ap.add_argument("--model", help="anomaly model file (ml/train.py); default: the contract's online detector")
    ap.add_argument("--python-mode", choices=("process", "thread"), default="process",
                    help="Python functions in a worker process (default) or in the TaskManager's JVM")
    args = ap.parse_args()

    from pyflink.common import Configuration, Row, Types
    from pyflink.common.restart_strategy import RestartStrategies
    from pyflink.datastream import FlatMapFunction, StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    root, topic = str(ROOT), args.input
    model = str(Path(args.model).resolve()) if args.model else None

    def to_rows(v: dict):
        """A validated event as [(table, row)] for Cassandra."""
        if v["verdict"] == "REJECT":
            return [("sensor_rejects", reject_row(v, topic, dt.datetime.now(UTC).date()))]
        rows = [("sensor_data", clean_row(v["clean"], v["contract_version"], v["event_ms"]))]
        return rows + [("sensor_anomalies", v["anomaly"])] if v["anomaly"] else rows

    class WriteCassandra(FlatMapFunction):
        """One synchronous, idempotent insert per event: done before the next checkpoint barrier."""

        def open(self, ctx):
            self.writer = CassandraWriter(Path(root) / ".env")

        def flat_map(self, rows):
            for table, row in rows:
                self.writer.insert(table, row)
            return ()

        def close(self):
            self.writer.close()

    env = StreamExecutionEnvironment.get_execution_environment(
        Configuration().set_string("python.execution-mode", args.python_mode))
    env.add_python_file(str(ROOT / "flink_jobs" / "dq_flink.py"))
    env.enable_checkpointing(args.checkpoint_ms)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(30, 3000))
    t_env = StreamTableEnvironment.create(env)
    raw_kafka_table(t_env, "raw_events", topic, args.brokers, args.group, args.bounded)
    validated = (t_env.to_data_stream(t_env.from_path("raw_events"))
                 .key_by(lambda row: sensor_key(row.payload), key_type=Types.STRING())
                 .process(make_validate(root, model), output_type=Types.PICKLED_BYTE_ARRAY())
                 .name("libdq: verdict per sensor"))
    (validated.map(to_rows, output_type=Types.PICKLED_BYTE_ARRAY()).name("rows for Cassandra")
     .flat_map(WriteCassandra(), output_type=Types.STRING()).name("Cassandra: sensor_data, sensor_rejects, "
                                                                  "sensor_anomalies")
     .print().name("end (the writes emit nothing)"))  # a sink, without which Flink would drop the writes

    as_bytes = Types.PRIMITIVE_ARRAY(Types.BYTE())
    dead_letters = (validated.filter(lambda v: v["verdict"] == "REJECT").name("rejects")
                    .map(lambda v: Row(*dlq_record(v, topic)), output_type=Types.ROW_NAMED(
                        ["kafka_key", "payload", "headers", "ts"],
                        [as_bytes, as_bytes, Types.MAP(Types.STRING(), as_bytes), Types.LONG()]))
                    .name("dead-letter records"))
    t_env.create_temporary_view("dead_letters", t_env.from_data_stream(dead_letters))
    dlq_kafka_table(t_env, "dlq", args.dlq, args.brokers, f"{args.group}-dlq")
    statements = t_env.create_statement_set()
    statements.add_insert_sql("INSERT INTO dlq SELECT kafka_key, payload, headers, TO_TIMESTAMP_LTZ(ts, 3) "
                              "FROM dead_letters")
    statements.attach_as_datastream()  # one job: the dead-letter sink runs beside the Cassandra writes
    # Bounded or not, env.execute() (execute_and_collect() would drop the attached sink).
    env.execute(f"day 11: {topic} -> libdq -> Cassandra + {args.dlq}")

if __name__ == "__main__":
    main()
