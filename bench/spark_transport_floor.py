"""Bench only (make bench-spark): day 12's shape with nothing in it. The same Kafka source,
the same sensor key and shard computed in Spark SQL, the same shuffle by shard into
applyInPandasWithState, with a function that takes each shard's events to the Python worker
and returns nothing, and a foreachBatch that only counts: what Spark and its Arrow transport
to a Python worker cost per event, the floor under any PySpark job that keeps per-sensor
state in Spark.

With --unkeyed: the Kafka records straight to a Python worker (mapInPandas, no key, no
shuffle) and nothing back: the floor under any PySpark job that passes each event through
Python, wherever it keeps its state.

usage: spark-submit bench/spark_transport_floor.py --input TOPIC --checkpoint DIR
                    [--max-offsets N] [--unkeyed] --progress FILE
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "spark_jobs"))
from dq_spark import judge_stream, kafka_arguments, kafka_options, kafka_stream, session  # noqa: E402


def nothing(_key, frames, _state):
    for _ in frames:  # each shard's events reach the Python worker (Arrow batches) and go no further
        pass
    return iter(())


def nothing_unkeyed(frames):
    return nothing(None, frames, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    kafka_arguments(ap)
    ap.add_argument("--input", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--max-offsets", type=int, default=100_000)
    ap.add_argument("--progress", required=True, help="Spark's report of each micro-batch, as JSON lines")
    ap.add_argument("--unkeyed", action="store_true", help="no key and no shuffle: the records straight to Python")
    args = ap.parse_args()
    spark = session(f"transport floor{' unkeyed' if args.unkeyed else ''}: {args.input}")
    kafka = kafka_options(args.brokers, args.kafka_principal)
    if args.unkeyed:
        stream = (kafka_stream(spark, kafka, args.input, args.max_offsets)
                  .selectExpr("key", "value", "topic", "partition", "offset", "to_json(headers) AS headers")
                  .mapInPandas(nothing_unkeyed, "offset LONG"))
    else:
        stream = judge_stream(spark, kafka, args.input, args.max_offsets, judge_groups=nothing)
    query = (stream.writeStream.foreachBatch(lambda batch, _id: batch.count())
             .option("checkpointLocation", args.checkpoint).trigger(availableNow=True).start())
    query.awaitTermination()
    Path(args.progress).write_text("".join(json.dumps(p) + "\n" for p in query.recentProgress))


if __name__ == "__main__":
    main()
