"""Days 8-9: cleaning sensor readings in Spark's own terms: sensor id validation, timestamp
repair, numeric coercion, outlier capping and imputation of missing readings.

    events (NDJSON files or a Kafka topic, read whole; dq_spark.parse_fields: fields as text)
      --> JSON:        Spark's reader must see an object                   else REJECT MALFORMED_JSON
      --> sensor id:   a string matching the contract's pattern, at most 64 characters
                                                  else REJECT MISSING_FIELD, WRONG_TYPE, PATTERN_MISMATCH, TOO_LONG
      --> location, status: strings, at most 64 characters, status one of the contract's values
                                                  else REJECT WRONG_TYPE, TOO_LONG, NOT_IN_ENUM
      --> timestamp:   ISO-8601 with an offset ('T' or ' '), epoch seconds or milliseconds
                       (|v| >= 1e11 reads as ms), as one UTC instant
                                                  else REJECT MISSING_FIELD, INVALID_TIMESTAMP
      --> numbers:     numeric strings coerced; out of range: temperature and humidity REJECT
                       OUT_OF_RANGE, pressure capped to its bounds, battery kept (the contract's
                       onOutOfRange); no finite number: REJECT WRONG_TYPE
      --> missing temperature/humidity, by --impute:
            last_good  the sensor's previous valid reading when at most 5 minutes older (the
                       contract's policy; else REJECT MISSING_FIELD)
            mean, median  Spark ML's Imputer fitted on --history (default: the input itself)
      --> OUT/clean (JSON lines: the cleaned reading and what was done, `cleaning`)
          OUT/rejects (JSON lines: position, reasons, the original text)

Where the policies coincide with the contract (everything above with last_good), the clean
readings equal libdq's (tests/spark/test_cleaning.py); what libdq does beyond them (duplicate,
late and future rules, spikes, noise, unknown members, strict JSON) is not repeated here.

usage (see `make spark-submit`):
  spark-submit spark_jobs/spark_data_cleaning.py [--input FILE|DIR|TOPIC] [--out DIR]
               [--impute last_good|mean|median] [--history FILE|TOPIC]
"""
import argparse

from pyspark.ml.feature import Imputer
from pyspark.sql import Window
from pyspark.sql import functions as F

from dq_spark import (IMPUTE_MAX_AGE_MS, NUMBERS, ROOT, field_checks, finite_number, is_text, kafka_arguments,
                      parse_fields, read_events, session)

IMPUTED = tuple(IMPUTE_MAX_AGE_MS)  # the contract's last_good fields (the required readings)
YEARS_1_TO_9999_MS = (-62_135_596_800_000, 253_402_300_799_999)  # event times libdq accepts


def event_ms():
    """The repaired event time in epoch ms, or null when the timestamp is no valid one."""
    ts = F.col("timestamp")
    number = finite_number("timestamp")
    epoch = F.floor(F.when(F.abs(number) >= 1e11, number).otherwise(number * 1000)).cast("long")
    iso = F.regexp_replace(ts, " ", "T")
    has_offset = ts.rlike(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
    ms = (F.when(~is_text("timestamp") & number.between(-1e17, 1e17), epoch)
          .when(is_text("timestamp") & has_offset, F.unix_millis(F.to_timestamp(iso))))
    return F.when(ms.between(*YEARS_1_TO_9999_MS), ms)


def checked(events):
    """Each event with its repaired time, its numbers and the reasons that reject it
    (empty: kept; a missing temperature or humidity is left to the imputation)."""
    parsed = parse_fields(events).withColumn("event_ms", event_ms())
    for field in NUMBERS:
        parsed = parsed.withColumn(f"{field}_value", finite_number(field))
    reasons = [F.when(cond, F.lit(reason)) for _, reason, cond, action in field_checks() if action == "reject"]
    reasons.append(F.when(F.col("timestamp").isNotNull() & F.col("event_ms").isNull(), F.lit("INVALID_TIMESTAMP")))
    return parsed.withColumn("reasons", F.when(~F.col("is_object"), F.array(F.lit("MALFORMED_JSON"))).otherwise(
        F.array_distinct(F.filter(F.array(*reasons), lambda r: r.isNotNull()))))


def cap(df):
    """Fields whose contract action is `cap`: clamped to their bounds (greatest/least skip
    nulls, hence the `when`: an absent reading stays absent)."""
    for field, (low, high, action, _, _) in NUMBERS.items():
        if action == "cap":
            value = F.col(f"{field}_value")
            df = df.withColumn(f"{field}_value", F.when(value.isNotNull(), F.least(F.greatest(value, F.lit(low)),
                                                                                   F.lit(high))))
    return df


def impute_last_good(df):
    """A missing reading takes the sensor's latest earlier valid one (in event-time order,
    among kept events) when that is at most the contract's maxAge older; else the event is
    rejected MISSING_FIELD. Partitioned by source too, so two inputs never mix."""
    earlier = (Window.partitionBy("topic", "sensor_id").orderBy("event_ms", "partition", "offset")
               .rowsBetween(Window.unboundedPreceding, -1))
    valid = F.size("reasons") == 0  # what the stateless checks kept
    for field in IMPUTED:
        value = f"{field}_value"
        good = F.when(valid, F.col(value))
        last = F.last(good, ignorenulls=True).over(earlier)
        last_ms = F.last(F.when(good.isNotNull(), F.col("event_ms")), ignorenulls=True).over(earlier)
        fresh = F.col("event_ms") - last_ms <= IMPUTE_MAX_AGE_MS[field]
        missing = F.col(field).isNull() & valid  # a rejected event is not imputed, nor MISSING_FIELD too (as in libdq)
        df = (df.withColumn(f"{field}_imputed", F.coalesce(missing & fresh, F.lit(False)))
                .withColumn(value, F.when(missing & fresh, last).otherwise(F.col(value)))
                .withColumn("reasons", F.when(missing & ~F.coalesce(fresh, F.lit(False)),
                                              F.array_union("reasons", F.array(F.lit("MISSING_FIELD"))))
                            .otherwise(F.col("reasons"))))
    return df


def fit_imputer(history, strategy: str):
    """Spark ML's Imputer fitted on the valid readings of a history (mean or median)."""
    kept = cap(checked(history)).where("size(reasons) = 0")
    return Imputer(strategy=strategy, inputCols=[f"{f}_value" for f in IMPUTED],
                   outputCols=[f"{f}_value" for f in IMPUTED]).fit(kept)


def impute_with(model, df):
    for field in IMPUTED:
        df = df.withColumn(f"{field}_imputed", F.col(field).isNull())
    return model.transform(df)


def clean(events, impute: str = "last_good", history=None):
    """-> (clean readings, rejects). history: the DataFrame mean/median are fitted on
    (default: events)."""
    df = cap(checked(events))
    if impute == "last_good":
        df = impute_last_good(df)
    else:
        df = impute_with(fit_imputer(events if history is None else history, impute), df)
    df = df.persist()

    def action(field, done, condition):
        return F.when(condition, F.lit(f"{field}:{done}"))
    cleaning = ([action(f, "imputed", F.col(f"{f}_imputed")) for f in IMPUTED]
                + [action(f, "coerced", is_text(f)) for f in NUMBERS]  # kept with a text: a numeric string
                + [action(f, "capped", F.col(f"{f}_value") != finite_number(f))
                   for f, rule in NUMBERS.items() if rule[2] == "cap"])
    kept = df.where("size(reasons) = 0").select(
        "topic", "partition", "offset", "sensor_id",
        F.date_format(F.timestamp_millis("event_ms"), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").alias("timestamp"),
        *[F.col(f"{f}_value").alias(f) for f in NUMBERS], "location", "status",
        F.filter(F.array(*cleaning), lambda a: a.isNotNull()).alias("cleaning"))
    rejects = df.where("size(reasons) > 0").select("topic", "partition", "offset", F.array_sort("reasons").alias("reasons"),
                                                   "raw")
    return kept, rejects


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default="sensor-topic",
                    help="an NDJSON file, a directory of them, or a Kafka topic (default sensor-topic)")
    kafka_arguments(ap)
    ap.add_argument("--out", default=str(ROOT / "build" / "reports" / "spark_cleaning"))
    ap.add_argument("--impute", choices=("last_good", "mean", "median"), default="last_good")
    ap.add_argument("--history", help="what mean/median imputation is fitted on (default: the input)")
    args = ap.parse_args()
    spark = session(f"days 8-9: cleaning {args.input}")
    events = read_events(spark, args.input, args.brokers, args.kafka_principal, args.since)
    history = read_events(spark, args.history, args.brokers, args.kafka_principal) if args.history else None
    kept, rejects = clean(events, args.impute, history)
    kept.write.mode("overwrite").json(f"{args.out}/clean")
    rejects.write.mode("overwrite").json(f"{args.out}/rejects")
    n_kept, n_rejects = kept.count(), rejects.count()
    print(f"{n_kept + n_rejects} events from {args.input}: {n_kept} clean, {n_rejects} rejected")
    for r in kept.select(F.explode("cleaning").alias("a")).groupBy("a").count().orderBy("a").collect():
        print(f"  {r['a']:24} {r['count']:8}")
    for r in rejects.select(F.explode("reasons").alias("r")).groupBy("r").count().orderBy("r").collect():
        print(f"  rejected {r['r']:17} {r['count']:8}")
    print(f"output: {args.out}/clean, {args.out}/rejects (JSON lines)")


if __name__ == "__main__":
    main()
