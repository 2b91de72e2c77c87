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
* Events are keyed by a shard of sensors (--shards, a hash of the sensor id), not by
  sensor: each shard buffers its events in Flink state and every --flush-ms judges them
  with ONE libdq call and writes their rows with many Cassandra inserts in flight.
  Per-event work in Python is then a dict and a row; one libdq call and one round trip
  per event (the first design: 350-650 events/s) cost 30 times more. Each sensor's libdq
  state (duplicates, spikes, stuck runs, gaps, last good values: a few hundred bytes) is
  kept in the shard's MapState: checkpoints hold it, and a restore gives the verdicts of
  a run that never failed. All events of a sensor are in one shard, in offset order.
* Cassandra: no Flink Cassandra connector is on Maven Central for Flink 1.20 here, so
  the writes go through the DataStax Python driver, concurrently, and a flush returns
  only when all its rows are written, before the next checkpoint barrier passes: that is
  at-least-once, and the tables' primary keys make a replayed write overwrite its own
  row, so there are no duplicate rows.
* Hourly quality windows per sensor are counted in the same flush (MapState) and their
  sensor_quality_metrics rows upserted with the counts so far: live, not only at the hour.
* The dead-letter topic is a Flink SQL Kafka sink fed from the same stream (a statement
  set attached to this job), transactional: a reader with isolation.level=read_committed
  sees each reject once, when the checkpoint that covers it completes.

`make up` runs this job on sensor-topic as the live pipeline (stack/live_writer.sh), with
--shards and --flush-ms at their defaults; the course's day 11 runs it with --bounded.

The plain functions (in dq_flink.py, shared with the other jobs) are tested on in-memory
rows; main() wires them into Flink.

usage (see `make flink-submit`):
  flink run --python flink_jobs/flink_to_cassandra.py [--input sensor-topic] [--dlq sensor-dlq] [--bounded] [--since 10m]
            [--shards 8] [--flush-ms 1000] [--checkpoint-ms 5000] [--model FILE]
"""
import datetime as dt
import time
from pathlib import Path

from dq_flink import (DEAD_LETTER_MAX_BYTES, ROOT, UTC, CassandraWriter, Validator, add_to_windows, dlq_record,
                      epoch_ms, job_arguments, kafka_properties, metrics_row, raw_kafka_table, sensor_key, shard_of,
                      since_ms, sql_properties)

END_OF_INPUT = 9223372036854775806  # an event-time timer that only the final watermark of a bounded input fires


def dlq_kafka_table(t_env, name: str, topic: str, kafka: dict[str, str], transactional_id_prefix: str) -> None:
    """The dead-letter topic as a Flink SQL sink of exact bytes, key, headers and timestamp,
    written in Kafka transactions committed with each checkpoint (exactly once)."""
    t_env.execute_sql(f"""
        CREATE TABLE {name} (
            kafka_key BYTES, payload BYTES,
            headers MAP<STRING, BYTES> METADATA, `timestamp` TIMESTAMP_LTZ(3) METADATA
        ) WITH (
            'connector' = 'kafka', 'topic' = '{topic}', {sql_properties(kafka)},
            'format' = 'raw', 'key.format' = 'raw', 'key.fields' = 'kafka_key',
            'value.fields-include' = 'EXCEPT_KEY',
            'sink.delivery-guarantee' = 'exactly-once',
            'sink.transactional-id-prefix' = '{transactional_id_prefix}',
            'properties.transaction.timeout.ms' = '900000',
            'properties.max.request.size' = '{DEAD_LETTER_MAX_BYTES}'
        )""")  # the timeout: the broker's transaction.max.timeout.ms (15 min) caps it


def put_map(state, mapping: dict) -> None:
    """Each entry into a MapState, one put at a time: PyFlink 1.20's put_all wants (key, value)
    pairs in process mode and a dict in thread mode."""
    for key, value in mapping.items():
        state.put(key, value)


def main() -> None:
    ap = job_arguments(__doc__, group="flink-to-cassandra")
    ap.add_argument("--dlq", default="sensor-dlq", help="the dead-letter topic ('': none, as in the live "
                                                         "pipeline, where dq gate writes sensor-dlq)")
    ap.add_argument("--checkpoint-ms", type=int, default=5000)
    ap.add_argument("--checkpoint-dir", help="keep checkpoints here, also when the job is cancelled, to resume "
                                             "from (the live pipeline's)")
    ap.add_argument("--shards", type=int, default=8, help="shards of sensors: each is judged in batches")
    ap.add_argument("--flush-ms", type=int, default=1000, help="how often a shard's buffered events are judged")
    ap.add_argument("--model", help="anomaly model file (ml/train.py); default: the contract's online detector")
    ap.add_argument("--python-mode", choices=("process", "thread"), default="process",
                    help="Python functions in a worker process (default) or in the TaskManager's JVM")
    args = ap.parse_args()

    from pyflink.common import Configuration, Row, Types
    from pyflink.common.restart_strategy import RestartStrategies
    from pyflink.datastream import KeyedProcessFunction, StreamExecutionEnvironment
    from pyflink.datastream.state import ListStateDescriptor, MapStateDescriptor
    from pyflink.table import StreamTableEnvironment

    root, topic, shards, flush_ms, dlq = str(ROOT), args.input, args.shards, args.flush_ms, args.dlq
    model = str(Path(args.model).resolve()) if args.model else None

    class JudgeAndWrite(KeyedProcessFunction):
        """One shard of sensors: its events wait in Flink state until the shard's next flush,
        which judges them in one libdq call, writes their rows and windows to Cassandra
        (returning once all are written) and emits the rejects' dead-letter records."""

        def open(self, ctx):
            self.validator = Validator(Path(root) / "contracts" / "sensor_readings.yaml", model)
            self.writer = CassandraWriter()
            pickled = Types.PICKLED_BYTE_ARRAY()
            self.pending = ctx.get_list_state(ListStateDescriptor("events", pickled))
            self.sensors = ctx.get_map_state(MapStateDescriptor("libdq state", Types.STRING(), pickled))
            self.windows = ctx.get_map_state(MapStateDescriptor("hourly windows", Types.STRING(), pickled))
            self.loaded = set()  # shards whose sensors' states are in this worker's engine
            self.armed = set()   # shards with a flush timer set by this worker

        def process_element(self, row, ctx):
            self.pending.add((bytes(row.payload or b""), row.kafka_key, dict(row.headers or {}), row.partition,
                              row.offset, epoch_ms(row.timestamp)))
            shard = ctx.get_current_key()
            if shard not in self.armed:
                self.armed.add(shard)
                timers = ctx.timer_service()
                timers.register_processing_time_timer(timers.current_processing_time() + flush_ms)
                timers.register_event_time_timer(END_OF_INPUT)  # Flink keeps one per key and time

        def on_timer(self, timestamp, ctx):
            shard = ctx.get_current_key()
            self.armed.discard(shard)
            events = list(self.pending.get() or ())
            if not events:
                return
            self.pending.clear()
            if shard not in self.loaded:  # first flush of this shard in this worker (a start or a restore)
                for sensor, state in self.sensors.items():
                    self.validator.restore_state(sensor, state)
                self.loaded.add(shard)
            outcomes, changed = self.validator.judge([e[0] for e in events], int(time.time() * 1000))
            put_map(self.sensors, changed)
            today, rows, judged = dt.datetime.now(UTC).date(), [], []
            for (raw, key, headers, partition, offset, kafka_ms), v in zip(events, outcomes):
                v.update(raw=raw, key=key, headers=headers, partition=partition, offset=offset, kafka_ms=kafka_ms)
                rows += self.validator.cassandra_rows(v, topic, today)
                judged.append((sensor_key(raw), v))
            rows += self.window_rows(judged)
            self.writer.insert_many(rows, batch_rows=20)
            for v in outcomes if dlq else ():
                if v["verdict"] == "REJECT":
                    yield Row(*dlq_record(v, topic))

        def window_rows(self, judged):
            """The sensor_quality_metrics rows of the hourly windows these events changed."""
            open_windows = {sensor: self.windows.get(sensor) or {} for sensor in {s for s, v in judged if s}}
            touched = add_to_windows(open_windows, [(s, v) for s, v in judged if s])
            put_map(self.windows, open_windows)
            return [("sensor_quality_metrics", metrics_row(sensor, start, open_windows[sensor][start]))
                    for sensor, start in touched]

        def close(self):
            self.writer.close()

    env = StreamExecutionEnvironment.get_execution_environment(
        Configuration().set_string("python.execution-mode", args.python_mode))
    env.add_python_file(str(ROOT / "flink_jobs" / "dq_flink.py"))
    env.enable_checkpointing(args.checkpoint_ms)
    if args.checkpoint_dir:
        from pyflink.datastream import ExternalizedCheckpointCleanup
        env.get_checkpoint_config().set_checkpoint_storage_dir(args.checkpoint_dir)
        env.get_checkpoint_config().set_externalized_checkpoint_cleanup(
            ExternalizedCheckpointCleanup.RETAIN_ON_CANCELLATION)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(30, 3000))
    t_env = StreamTableEnvironment.create(env)
    raw_kafka_table(t_env, "raw_events", topic, kafka_properties(args), args.group, args.bounded,
                    since_ms=since_ms(args))
    as_bytes = Types.PRIMITIVE_ARRAY(Types.BYTE())
    dead_letters = (t_env.to_data_stream(t_env.from_path("raw_events"))
                    .key_by(lambda row: shard_of(row.payload, shards), key_type=Types.INT())
                    .process(JudgeAndWrite(), output_type=Types.ROW_NAMED(
                        ["kafka_key", "payload", "headers", "ts"],
                        [as_bytes, as_bytes, Types.MAP(Types.STRING(), as_bytes), Types.LONG()]))
                    .name("libdq per shard of sensors -> Cassandra: sensor_data, sensor_rejects, sensor_anomalies, "
                          "sensor_quality_metrics")
                    .uid("libdq-per-shard"))  # a fixed id: a savepoint restores its state into a newer version
    if dlq:
        t_env.create_temporary_view("dead_letters", t_env.from_data_stream(dead_letters))
        dlq_kafka_table(t_env, "dlq", dlq, kafka_properties(args), f"{args.group}-dlq")
        statements = t_env.create_statement_set()
        statements.add_insert_sql("INSERT INTO dlq SELECT kafka_key, payload, headers, TO_TIMESTAMP_LTZ(ts, 3) "
                                  "FROM dead_letters")
        statements.attach_as_datastream()  # one job: the dead-letter sink runs beside the Cassandra writes
    else:
        dead_letters.print()  # the stream's sink (it emits nothing): without one Flink drops the operator
    # Bounded or not, env.execute() (execute_and_collect() would drop the attached sink).
    env.execute(f"day 11: {topic} -> libdq -> Cassandra" + (f" + {dlq}" if dlq else ""))


if __name__ == "__main__":
    main()
