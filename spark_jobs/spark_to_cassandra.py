"""Day 12: Kafka to Cassandra with Spark Structured Streaming, every event judged by libdq.

    sensor-topic (bytes, key, headers, partition, offset)
      --> group by sensor id; applyInPandasWithState: libdq verdicts, the sensor's libdq
          state kept by Spark in the checkpoint between micro-batches
      --> foreachBatch:
            PASS/FIXED: Cassandra iot_data.sensor_data (processed_by = 'spark'), and
                        sensor_anomalies for readings libdq flags (--model: an exported
                        forest, else the contract's online detector)
            REJECT:     Cassandra iot_data.sensor_rejects and Kafka sensor-dlq (original key,
                        bytes and headers plus the dq.* headers dq gate writes)

Guarantees: the checkpoint holds the Kafka offsets and every sensor's libdq state of the
last committed micro-batch; a restarted job replays the batch in flight with the state it
had, so verdicts are those of a run that never stopped. Cassandra writes are idempotent
(primary keys), so a replay leaves no duplicate rows; the dead-letter topic is written
at least once (a replayed batch writes its rejects again; dq.source.* tells them apart).

usage (see `make spark-submit`):
  spark-submit spark_jobs/spark_to_cassandra.py [--input sensor-topic] [--dlq sensor-dlq]
               [--checkpoint DIR] [--model FILE] [--bounded [--progress FILE]]
"""
import argparse
import json
import time
from pathlib import Path

from dq_spark import (DEAD_LETTER_HEADERS, DEAD_LETTER_MAX_BYTES, ROOT, judge_stream, kafka_arguments,
                      kafka_options, session, validator, write_cassandra)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    kafka_arguments(ap)
    ap.add_argument("--input", default="sensor-topic")
    ap.add_argument("--dlq", default="sensor-dlq")
    ap.add_argument("--checkpoint", default=str(ROOT / ".stack" / "data" / "spark" / "checkpoints" / "day12"),
                    help="offsets and per-sensor state; a new directory starts from the earliest offsets "
                         "(or --since)")
    ap.add_argument("--bounded", action="store_true", help="process what the topic holds now, then stop")
    ap.add_argument("--max-offsets", type=int, default=100_000, help="events per micro-batch at most")
    ap.add_argument("--model", help="anomaly model file (ml/train.py); default: the contract's online detector")
    ap.add_argument("--progress", help="with --bounded: Spark's report of each micro-batch (rows, durations), "
                                       "with the seconds of each step of the batch's writing (writeSeconds), "
                                       "to this file as JSON lines at the end (make bench-spark reads it)")
    args = ap.parse_args()
    if args.progress and not args.bounded:
        ap.error("--progress needs --bounded")
    model = str(Path(args.model).resolve()) if args.model else None

    from pyspark.sql import functions as F

    spark = session(f"day 12: {args.input} -> libdq -> Cassandra + {args.dlq}")
    contract_version, threshold = validator(model)["version"], validator(model)["threshold"]
    model_name = Path(model).name if model else "online-z"
    kafka = kafka_options(args.brokers, args.kafka_principal)
    judged = judge_stream(spark, kafka, args.input, args.max_offsets, model, args.since)

    phases = {}  # batch id -> seconds per phase of write(), for --progress

    def write(batch, batch_id):
        clock = [time.perf_counter()]

        def lap(name):
            clock.append(time.perf_counter())
            phases.setdefault(batch_id, {})[name] = round(clock[-1] - clock[-2], 3)
        batch = batch.withColumn("ts", F.timestamp_millis("event_ms")).persist()
        batch.count()  # the batch computed once: Kafka read, shuffle by sensor, libdq in the Python workers
        lap("judge")
        common = [F.lit("spark").alias("processed_by"), F.lit(contract_version).alias("contract_version"),
                  F.current_timestamp().alias("ingested_at")]
        clean = batch.where("verdict != 'REJECT'")
        write_cassandra(clean.select("sensor_id", F.to_date("ts").alias("day"), "ts", "temperature", "humidity",
                               "pressure", "battery", "location", "status", F.col("verdict").alias("dq_status"),
                               F.when(F.size("reasons") > 0, F.col("reasons")).alias("dq_reasons"),
                               F.col("annotation").alias("dq_findings"), *common), "sensor_data")
        lap("cassandra_sensor_data")
        write_cassandra(clean.where("anomaly").select(
            "sensor_id", F.to_date("ts").alias("day"), "ts", F.lit(model_name).alias("model"),
            F.col("anomaly_score").alias("score"), F.lit(threshold).alias("threshold"), "temperature", "humidity",
            F.lit(contract_version).alias("model_version"), F.lit("spark").alias("processed_by")), "sensor_anomalies")
        rejects = batch.where("verdict = 'REJECT'")
        write_cassandra(rejects.select(F.current_date().alias("day"), F.col("topic").alias("source_topic"),
                                 F.col("partition").alias("source_partition"), F.col("offset").alias("source_offset"),
                                 F.when(F.col("sensor") != "", F.col("sensor")).alias("sensor_id"), "ts",
                                 F.col("reasons"), F.col("annotation").alias("dq_annotation"), "raw", *common),
                  "sensor_rejects")
        lap("cassandra_anomalies_rejects")

        # dq gate's dead-letter headers (dq.stack.DEAD_LETTER_HEADERS), as Spark columns, in their order.
        values = (F.array_join("reasons", ","), F.col("annotation"), F.col("topic"), F.col("partition"),
                  F.col("offset"), F.lit(contract_version))
        dq_headers = F.array(*(F.struct(F.lit(name).alias("key"), value.cast("binary").alias("value"))
                               for name, value in zip(DEAD_LETTER_HEADERS, values)))
        (rejects.select(F.col("kafka_key").alias("key"), F.col("raw").alias("value"),
                        F.concat(F.coalesce("headers", F.array().cast(rejects.schema["headers"].dataType)),
                                 dq_headers).alias("headers"))
         .write.format("kafka").options(**kafka).option("kafka.max.request.size", DEAD_LETTER_MAX_BYTES)
         .option("topic", args.dlq).save())
        lap("kafka_dlq")
        batch.unpersist()

    query = judged.writeStream.foreachBatch(write).option("checkpointLocation", args.checkpoint)
    query = query.trigger(availableNow=True) if args.bounded else query.trigger(processingTime="5 seconds")
    query = query.start()
    query.awaitTermination()
    if args.bounded:  # what this run read (the last spark.sql.streaming.numRecentProgressUpdates, 100, micro-batches)
        batches = [p for p in query.recentProgress if p["numInputRows"]]
        print(f"read {sum(p['numInputRows'] for p in batches):,} events of {args.input} in {len(batches)} "
              f"micro-batches -> iot_data and {args.dlq}; checkpoint {args.checkpoint}")
    if args.progress:
        Path(args.progress).write_text("".join(json.dumps({**p, "writeSeconds": phases.get(p["batchId"], {})}) + "\n"
                                               for p in query.recentProgress))


if __name__ == "__main__":
    main()
