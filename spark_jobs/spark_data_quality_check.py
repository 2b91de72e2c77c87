"""Days 6-7: a data-quality report with Spark, per check, per sensor and overall, from libdq's
verdicts; the simple checks also as Spark-native expressions, side by side.

    events: NDJSON files or a Kafka topic, read whole (--input); --stream: the topic as it grows
      --> libdq's verdict per event: each sensor's events in order through libdq, handed over in
          Arrow batches (applyInPandas; --stream: applyInPandasWithState, state kept by Spark)
      --> report per check (reason code), per sensor and overall: OUT/{checks,sensors,overall}.{json,csv}
      --> hourly quality windows per sensor and for all sensors ('*') by event time:
          Cassandra iot_data.sensor_quality_metrics (processed_by = 'spark')
      --> the checks Spark can express itself (from_json, when, count): OUT/native_checks.{json,csv},
          printed beside libdq's counts of the same findings
      --> --verdicts: every event's verdict, reasons and annotation: OUT/verdicts (JSON lines)

Metrics are those of `dq check --metrics` and Flink's day 5: completeness = share of events
with every required field (no MISSING_FIELD finding), validity = share not rejected. Events
without a usable event time (unparseable, missing or in the future) count in the report but
in no window. In --stream the windows close 10 minutes of event time after their end
(watermark); readings later than that are left out of their window.

usage (see `make spark-submit`):
  spark-submit spark_jobs/spark_data_quality_check.py [--input FILE|DIR|TOPIC] [--since 10m] [--out DIR] [--now TIME]
               [--no-cassandra] [--verdicts] [--stream [--bounded] [--checkpoint DIR] [--max-offsets N]]
"""
import argparse
import json
from pathlib import Path

from pyspark.sql import functions as F

from dq_spark import (ROOT, bindings, event_time, field_checks, judge_all, judge_stream, kafka_arguments,
                      kafka_options, parse_fields, read_events, session, write_cassandra)

ALL_SENSORS = "*"       # the sensor_id of the windows over all sensors
NO_SENSOR = "(none)"    # events without a readable sensor id (Cassandra keys cannot be empty)
WATERMARK = "10 minutes"


def sensor_label():
    return F.when(F.col("sensor") != "", F.col("sensor")).otherwise(F.lit(NO_SENSOR))


def verdict_counts():
    """Aggregations: events, and events per verdict (columns pass, fixed, reject)."""
    return [F.count(F.lit(1)).alias("events"),
            *[F.count(F.when(F.col("verdict") == v, 1)).alias(v.lower()) for v in ("PASS", "FIXED", "REJECT")]]


def counts():
    """Aggregations every part of the report shares: verdict_counts() and events per reason code."""
    return [*verdict_counts(),
            *[F.count(F.when(F.array_contains("reasons", r), 1)).alias(r) for r in bindings().REASONS[1:]]]


def rates(df):
    """completeness, validity and a map of the reasons found, from counts()'s columns."""
    reasons = bindings().REASONS[1:]
    pairs = [x for r in reasons for x in (F.lit(r), F.col(r))]
    return (df.withColumn("completeness", 1 - F.col("MISSING_FIELD") / F.col("events"))
              .withColumn("validity", 1 - F.col("reject") / F.col("events"))
              .withColumn("reasons", F.map_filter(F.create_map(*pairs), lambda _k, v: v > 0))
              .drop(*reasons))


def per_sensor(judged):
    return rates(judged.groupBy(sensor_label().alias("sensor_id")).agg(*counts())).orderBy("sensor_id")


def overall(judged):
    return rates(judged.agg(*counts(), F.countDistinct("sensor").alias("sensors")))


def per_check(judged):
    """One row per reason code found: how many events have it and what became of them."""
    return (judged.select(F.explode("reasons").alias("reason"), "verdict")
            .groupBy("reason").agg(*verdict_counts())
            .join(judged.agg(F.count(F.lit(1)).alias("all_events")))
            .withColumn("share", F.col("events") / F.col("all_events")).drop("all_events")
            .orderBy(F.desc("events"), "reason"))


def hourly_windows(judged):
    """Hourly windows by event time, per sensor and over all sensors ('*'), as rows of
    sensor_quality_metrics. Works on a batch and on a stream (with a watermark on ts)."""
    keyed = judged.select(F.explode(F.array(sensor_label(), F.lit(ALL_SENSORS))).alias("sensor_id"),
                          "ts", "verdict", "reasons")
    return keyed.groupBy(F.window("ts", "1 hour").alias("w"), "sensor_id").agg(*counts())


def metrics_rows(windows):
    return (rates(windows).select("sensor_id", F.date_trunc("hour", "w.start").alias("date_hour"),
                                  F.col("w.start").alias("window_start"), F.lit(3600).alias("window_seconds"),
                                  "events", "pass", "fixed", "reject", "completeness", "validity",
                                  F.when(F.size("reasons") > 0, F.col("reasons")).alias("reasons"),
                                  F.lit("spark").alias("processed_by")))


def native_flags(events):
    """Per event: whether each of the contract's field rules in Spark terms
    (dq_spark.field_checks) fires (column `field:REASON`), next to the event's position.
    Only on events Spark reads as a JSON object: it has no fields to check in the others."""
    return parse_fields(events).select("topic", "partition", "offset",
                                       *[(F.col("is_object") & F.coalesce(cond, F.lit(False))).alias(f"{field}:{reason}")
                                         for field, reason, cond, _ in field_checks()])


def native_report(events):
    """How many events each native check flags: count(when(condition))."""
    flags = native_flags(events)
    names = [c for c in flags.columns if ":" in c]
    return flags.agg(*[F.count(F.when(F.col(f"`{n}`"), 1)).alias(n) for n in names])


def findings(judged):
    """libdq's findings as (field, reason) per event, from the annotation."""
    schema = "findings ARRAY<STRUCT<field: STRING, reason: STRING, action: STRING>>"
    return (judged.select("topic", "partition", "offset",
                          F.explode(F.from_json("annotation", schema)["findings"]).alias("x"))
            .select("topic", "partition", "offset", "x.field", "x.reason", "x.action"))


def write_report(parts: dict, out: Path) -> None:
    """Each part (a small DataFrame) as OUT/<name>.json (a JSON array) and OUT/<name>.csv."""
    out.mkdir(parents=True, exist_ok=True)
    for name, df in parts.items():
        rows = [r.asDict(recursive=True) for r in df.collect()]
        (out / f"{name}.json").write_text(json.dumps(rows, indent=1, default=str) + "\n")
        frame = df.toPandas()
        for column in frame.columns:  # maps as JSON in CSV cells
            if frame[column].map(lambda v: isinstance(v, (dict, list))).any():
                frame[column] = frame[column].map(lambda v: json.dumps(dict(v)) if v is not None else "")
        frame.to_csv(out / f"{name}.csv", index=False)


def batch(spark, args) -> None:
    events = read_events(spark, args.input, args.brokers, args.kafka_principal, args.since).persist()
    judged = judge_all(events, args.now).withColumn("ts", event_time()).persist()
    checks, sensors, total = per_check(judged), per_sensor(judged), overall(judged)
    native = native_report(events)
    write_report({"checks": checks, "sensors": sensors, "overall": total, "native_checks": native}, Path(args.out))
    if args.verdicts:
        judged.select("topic", "partition", "offset", "sensor", "verdict", "reasons", "annotation") \
            .write.mode("overwrite").json(f"{args.out}/verdicts")
    if not args.no_cassandra:
        write_cassandra(metrics_rows(hourly_windows(judged.where("ts IS NOT NULL"))), "sensor_quality_metrics")

    o = total.collect()[0]
    print(f"{o['events']} events from {args.input}: {o['pass']} PASS, {o['fixed']} FIXED, {o['reject']} REJECT; "
          f"completeness {o['completeness']:.4f}, validity {o['validity']:.4f}, {o['sensors']} sensors")
    found = findings(judged).where("NOT (reason = 'WRONG_TYPE' AND action = 'coerced')").groupBy(
        "field", "reason").count().collect()  # a coerced numeric string is a number to Spark too
    ours = {(r["field"], r["reason"]): r["count"] for r in found}
    print(f"\n{'check':34} {'libdq findings':>15} {'Spark native':>13}")
    for name, value in native.collect()[0].asDict().items():
        field, reason = name.split(":")
        print(f"{name:34} {ours.get((field, reason), 0):15} {value:13}")
    print(f"\nreport: {args.out}/{{checks,sensors,overall,native_checks}}.{{json,csv}}"
          + ("" if args.no_cassandra else "; hourly windows in iot_data.sensor_quality_metrics"))


def stream(spark, args) -> None:
    judged = (judge_stream(spark, kafka_options(args.brokers, args.kafka_principal), args.input, args.max_offsets,
                           since=args.since)
              .withColumn("ts", event_time()).where("ts IS NOT NULL").withWatermark("ts", WATERMARK))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def write(windows, batch_id):
        rows = metrics_rows(windows).persist()
        if not args.no_cassandra:
            write_cassandra(rows, "sensor_quality_metrics")
        with open(out / "stream_windows.ndjson", "a") as lines:  # a window's last line is its current value
            for r in rows.collect():
                lines.write(json.dumps({"batch": batch_id, **r.asDict(recursive=True)}, default=str) + "\n")
        rows.unpersist()

    query = (hourly_windows(judged).writeStream.outputMode("update").foreachBatch(write)
             .option("checkpointLocation", args.checkpoint))
    query = query.trigger(availableNow=True) if args.bounded else query.trigger(processingTime="10 seconds")
    query.start().awaitTermination()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default="sensor-topic",
                    help="an NDJSON file, a directory of them, or a Kafka topic (default sensor-topic)")
    kafka_arguments(ap)
    ap.add_argument("--out", default=str(ROOT / "build" / "reports" / "spark_quality"), help="report directory")
    ap.add_argument("--now", help="'now' of the future-timestamp rule, ISO-8601 with an offset (default: the clock)")
    ap.add_argument("--no-cassandra", action="store_true", help="report files only")
    ap.add_argument("--verdicts", action="store_true", help="also every event's verdict: OUT/verdicts (JSON lines)")
    ap.add_argument("--stream", action="store_true", help="follow the topic: hourly windows as they fill")
    ap.add_argument("--bounded", action="store_true", help="with --stream: what the topic holds now, then stop")
    ap.add_argument("--checkpoint", default=str(ROOT / ".stack" / "data" / "spark" / "checkpoints" / "quality"),
                    help="with --stream: offsets, libdq state and open windows")
    ap.add_argument("--max-offsets", type=int, default=20000, help="with --stream: events per micro-batch at most")
    args = ap.parse_args()
    try:
        args.now = bindings().parse_time(args.now) if args.now else None
    except ValueError as e:
        ap.error(f"--now: {e}")
    spark = session(f"days 6-7: data quality report of {args.input}")
    (stream if args.stream else batch)(spark, args)


if __name__ == "__main__":
    main()
