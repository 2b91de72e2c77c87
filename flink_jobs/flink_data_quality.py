"""Day 5: stateful data quality in Flink — per-sensor state, event-time windows, timers.

    sensor-topic --> libdq verdict per sensor (dq_flink.make_validate)
      --> event time + watermarks (bounded out-of-orderness)
      --> per sensor, hourly tumbling windows --> quality metrics
              --> Cassandra iot_data.sensor_quality_metrics and Kafka dq-metrics
      --> per sensor, a KeyedProcessFunction with managed state (running totals, last
          reading) and an event-time timer --> "silent sensor" alerts to dq-metrics

Event time is the reading's own timestamp when libdq found a usable one (accepted events,
and rejected ones whose time is valid and not in the future); events without one (bad or
missing timestamps, malformed JSON) are left out of the hourly windows and only counted in
the sensor's running totals. Watermarks are made per Kafka partition in the source table
(dq_flink.raw_kafka_table): a backfill reads partitions unevenly, and a watermark made after
they merge would run ahead of the slower ones (every sensor of those would look silent). A sensor is silent when the watermark passes its last
accepted reading by more than SILENT_AFTER_MS; the alert says when it was last heard.
At the end of a bounded input the watermark jumps to the end of time: no alert then.

The plain functions (event_time, window_add, metrics_row, SilenceDetector) are tested on
in-memory rows; main() wires them into Flink.

usage (see `make flink-submit`):
  flink run --python flink_jobs/flink_data_quality.py [--input sensor-topic] [--bounded] [--since 10m]
"""
import datetime as dt
import json

from dq_flink import (OUT_OF_ORDER_MS, ROOT, UTC, WINDOW_MS, CassandraWriter,  # noqa: F401 (tests use day 5's names)
                      event_time, job_arguments, kafka_properties, make_validate, metrics_row, raw_kafka_table,
                      sensor_key, since_ms, string_kafka_sink, window_add, window_merge)

SILENT_AFTER_MS = 5 * 60_000  # an operator's alert: 5 minutes without a reading (the contract's GAP is per cadence)
END_OF_TIME = 9223372036854775807  # Flink's final watermark (Long.MAX_VALUE)


def metrics_json(row: dict) -> str:
    """The same row for the dq-metrics topic."""
    out = {k: v for k, v in row.items() if k != "date_hour"}
    return json.dumps({"kind": "window", **out, "window_start": row["window_start"].isoformat()},
                      separators=(",", ":"))


class SilenceDetector:
    """Per-sensor state: running totals and the last accepted reading; one alert per silence.
    Works on a plain dict (what the Flink ValueState holds), so it pickles anywhere."""

    def __init__(self, state: dict | None = None):
        self.state = state or {"events": 0, "rejected": 0, "last_ms": None, "alerted_for": None}

    @property
    def totals(self) -> dict:
        return {"events": self.state["events"], "rejected": self.state["rejected"]}

    def on_event(self, verdict: str, time_ms: int | None) -> tuple[int | None, int | None]:
        """-> (a silence that this reading ends and no timer reported, or None; the timer to set)."""
        s = self.state
        s["events"] += 1
        s["rejected"] += verdict == "REJECT"
        if verdict == "REJECT" or time_ms is None or (s["last_ms"] is not None and time_ms <= s["last_ms"]):
            return None, None
        ended = s["last_ms"] if s["last_ms"] is not None and time_ms - s["last_ms"] > SILENT_AFTER_MS \
            and s["alerted_for"] != s["last_ms"] else None
        if ended is not None:
            s["alerted_for"] = ended
        s["last_ms"] = time_ms
        return ended, time_ms + SILENT_AFTER_MS + 1

    def on_timer(self, timer_ms: int, watermark: int) -> int | None:
        """-> the last reading's time if the sensor is silent now, else None."""
        s = self.state
        if watermark >= END_OF_TIME or s["last_ms"] is None or timer_ms != s["last_ms"] + SILENT_AFTER_MS + 1 \
                or s["alerted_for"] == s["last_ms"]:
            return None
        s["alerted_for"] = s["last_ms"]
        return s["last_ms"]


def silence_json(sensor: str, last_ms: int, totals: dict) -> str:
    last = dt.datetime.fromtimestamp(last_ms / 1000, UTC).isoformat()
    return json.dumps({"kind": "silent", "sensor_id": sensor, "last_reading": last, **totals},
                      separators=(",", ":"))


def main() -> None:
    ap = job_arguments(__doc__, group="flink-data-quality")
    ap.add_argument("--metrics-topic", default="dq-metrics")
    args = ap.parse_args()

    from pyflink.common import Time, Types
    from pyflink.common.restart_strategy import RestartStrategies
    from pyflink.datastream import (AggregateFunction, KeyedProcessFunction, MapFunction, ProcessWindowFunction,
                                    StreamExecutionEnvironment)
    from pyflink.datastream.state import ValueStateDescriptor
    from pyflink.datastream.window import TumblingEventTimeWindows
    from pyflink.table import StreamTableEnvironment

    root = str(ROOT)

    class Counts(AggregateFunction):
        def create_accumulator(self):
            return None

        def add(self, value, acc):
            return window_add(acc, value[2], value[3])

        def get_result(self, acc):
            return acc

        def merge(self, a, b):
            return window_merge(a, b)

    class ToRow(ProcessWindowFunction):
        def process(self, key, context, counts):
            yield metrics_row(key, context.window().start, next(iter(counts)))

    class Silence(KeyedProcessFunction):
        def open(self, ctx):
            self.state = ctx.get_state(ValueStateDescriptor("sensor health", Types.PICKLED_BYTE_ARRAY()))

        def process_element(self, value, ctx):
            detector = SilenceDetector(self.state.value())
            ended, timer = detector.on_event(value[2], value[1])
            self.state.update(detector.state)
            if ended is not None:
                yield silence_json(value[0], ended, detector.totals)
            if timer is not None:
                ctx.timer_service().register_event_time_timer(timer)

        def on_timer(self, timestamp, ctx):
            detector = SilenceDetector(self.state.value())
            last = detector.on_timer(timestamp, ctx.timer_service().current_watermark())
            if last is not None:
                self.state.update(detector.state)
                yield silence_json(ctx.get_current_key(), last, detector.totals)

    class WriteCassandra(MapFunction):
        def open(self, ctx):
            self.writer = CassandraWriter()

        def map(self, row):
            self.writer.insert("sensor_quality_metrics", row)
            return metrics_json(row)

        def close(self):
            self.writer.close()

    env = StreamExecutionEnvironment.get_execution_environment()
    env.add_python_file(str(ROOT / "flink_jobs" / "dq_flink.py"))
    env.enable_checkpointing(10_000)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(30, 3000))
    t_env = StreamTableEnvironment.create(env)
    kafka = kafka_properties(args)
    raw_kafka_table(t_env, "raw_events", args.input, kafka, args.group, args.bounded,
                    out_of_order_ms=OUT_OF_ORDER_MS, since_ms=since_ms(args))  # watermarks per partition
    event_type = Types.TUPLE([Types.STRING(), Types.LONG(), Types.STRING(), Types.PICKLED_BYTE_ARRAY()])
    timed = (t_env.to_data_stream(t_env.from_path("raw_events"))
             .key_by(lambda row: sensor_key(row.payload), key_type=Types.STRING())
             .process(make_validate(root), output_type=Types.PICKLED_BYTE_ARRAY()).name("libdq: verdict per sensor")
             .map(lambda v: (sensor_key(v["raw"]), event_time(v), v["verdict"], v["reasons"]),
                  output_type=Types.PICKLED_BYTE_ARRAY())
             .filter(lambda e: e[1] is not None).name("events with a usable event time")
             .map(lambda e: e, output_type=event_type))
    keyed = timed.key_by(lambda e: e[0], key_type=Types.STRING())
    windows = (keyed.window(TumblingEventTimeWindows.of(Time.milliseconds(WINDOW_MS)))
               .aggregate(Counts(), ToRow(), accumulator_type=Types.PICKLED_BYTE_ARRAY(),
                          output_type=Types.PICKLED_BYTE_ARRAY()).name("hourly quality per sensor")
               .map(WriteCassandra(), output_type=Types.STRING()).name("Cassandra: sensor_quality_metrics"))
    alerts = keyed.process(Silence(), output_type=Types.STRING()).name("silent sensors (event-time timers)")
    windows.union(alerts).sink_to(string_kafka_sink(kafka, args.metrics_topic)).name(f"kafka: {args.metrics_topic}")
    env.execute(f"day 5: data quality {args.input} -> {args.metrics_topic}, sensor_quality_metrics")


if __name__ == "__main__":
    main()
