"""`make bench-spark`: Kafka to Cassandra through Spark Structured Streaming (day 12 job) and
dq gate on the same events, in one run; micro-batch latency; where Spark's time goes.

1. dq gen writes N events (about 15 % defective) to a fresh topic of 4 partitions.
2. dq gate validates them into fresh clean / dead-letter topics: events/s.
3. The Cassandra ceiling: the same events' rows written by one client (common.py).
4. spark_to_cassandra.py --bounded on the same events (BATCH events per micro-batch, a
   fresh checkpoint): events/s over the whole submission (JVM and Spark start included) and
   over the micro-batches alone (Spark's own progress report, --progress). Its dead-letter
   topic must hold exactly dq gate's rejects (at least once: counted by source offset).
5. Micro-batch latency: the same job on a 5,000-event topic at 1,000 events per batch; the
   duration of each micro-batch is the least delay from arrival to Cassandra at a low rate
   (a live stream adds up to the 5 s trigger interval).
6. The floor under it: bench/spark_transport_floor.py, the same source, key, shard and
   shuffle into applyInPandasWithState with a function that does nothing (Spark, the
   shuffle and the Arrow transport to the Python worker: no libdq, no writes), the same
   micro-batches: events/s over its micro-batches.
7. Where the time goes: Spark's split of each micro-batch (planning, offsets, the batch
   itself, commit), the job's own timing of the steps of its foreachBatch (computing the
   verdicts, each Cassandra table, the dead-letter topic) and, measured outside Spark in
   this process, libdq judging every event the way the job does (one batch call per shard
   of sensors and micro-batch).

usage: bench_spark.py DQ_BIN [--events N]   (the stack must run: make bench-spark starts it)
"""
import argparse
import collections
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "spark_jobs"), str(ROOT / "bench")]
from common import cassandra_ceiling, fresh_topics, print_table, run_gate  # noqa: E402
from dq.stack import kafka_cli_args, topic_messages  # noqa: E402

BATCH = 100_000  # events per micro-batch at most: spark_to_cassandra.py's default --max-offsets


def spark_run(job: Path, source: str, work: Path, name: str, max_offsets: int, *args) -> tuple[float, list[dict]]:
    """A bounded run of a job on a fresh checkpoint (work/name.checkpoint): (wall seconds, its
    micro-batch progress reports)."""
    print(f"Spark: {job.name}, {name} ...", file=sys.stderr)
    progress = work / f"{name}.progress"
    t0 = time.perf_counter()
    proc = subprocess.run([ROOT / "stack" / "spark-submit.sh", job, "--input", source,
                           "--checkpoint", work / f"{name}.checkpoint", "--max-offsets", str(max_offsets),
                           "--progress", progress, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"bench-spark: the Spark job failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    batches = [json.loads(line) for line in progress.read_text().splitlines()]
    return wall, [b for b in batches if b["numInputRows"] > 0]


def spark_day12(source: str, dlq: str, work: Path, name: str, max_offsets: int) -> tuple[float, list[dict]]:
    return spark_run(ROOT / "spark_jobs" / "spark_to_cassandra.py", source, work, name, max_offsets,
                     "--dlq", dlq, "--bounded")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dq")
    ap.add_argument("--events", type=int, default=100_000)
    args = ap.parse_args()
    dq_bin, n = Path(args.dq).resolve(), args.events
    import dq_spark

    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    try:
        with fresh_topics("spark", "in", "clean", "dlq", "dlq-spark", "small", "dlq-small") as (topics, group):
            # Event times end a day ago: no future-timestamp surprises, rows apart from live data.
            start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for topic, count, seed in ((topics["in"], n, 21), (topics["small"], 5_000, 22)):
                subprocess.run([dq_bin, "gen", "--count", str(count), "--seed", str(seed), "--start", start,
                                *kafka_cli_args("admin"), "--topic", topic, "-q"], check=True)
            gate_rate = run_gate(dq_bin, topics, group, n)
            events = list(topic_messages(topics["in"]))
            ceiling_s, n_rows, _ = cassandra_ceiling(events)

            wall, batches = spark_day12(topics["in"], topics["dlq-spark"], work, "throughput", BATCH)
            _, small = spark_day12(topics["small"], topics["dlq-small"], work, "latency", 1_000)
            _, floor = spark_run(ROOT / "bench" / "spark_transport_floor.py", topics["in"], work, "floor", BATCH)
            rejects = sum(1 for _ in topic_messages(topics["dlq"]))
            dead = {(dict(m.headers())["dq.source.partition"], dict(m.headers())["dq.source.offset"])
                    for m in topic_messages(topics["dlq-spark"])}
            assert len(dead) == rejects, f"Spark's dead-letter topic holds {len(dead)} rejects, dq gate's {rejects}"

        print("libdq as the job calls it, outside Spark ...", file=sys.stderr)
        per_batch = collections.defaultdict(lambda: collections.defaultdict(list))
        for i, m in enumerate(events):  # micro-batches of BATCH in arrival order, then by shard
            raw = m.value() or b""
            shard = zlib.crc32(dq_spark.sensor_key(raw).encode()) % dq_spark.SHARDS
            per_batch[i // BATCH][shard].append(raw)
        states, now = {}, int(time.time() * 1000)
        t0 = time.perf_counter()
        for shards in per_batch.values():
            for shard, raws in shards.items():
                _, changed = dq_spark.judge_many(raws, states.setdefault(shard, {}), now)
                states[shard].update(changed)
        libdq_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert sum(b["numInputRows"] for b in batches) == n == len(events) == sum(b["numInputRows"] for b in floor)

    durations, steps = collections.Counter(), collections.Counter()
    for b in batches:
        durations.update(b["durationMs"])
        steps.update({k: v * 1000 for k, v in b["writeSeconds"].items()})
    batch_ms = durations["triggerExecution"]
    spark_rate, wall_rate = n / (batch_ms / 1000), n / wall
    ceiling_rate, single_rate = n / ceiling_s[20], n / ceiling_s[0]
    latency = sorted(b["durationMs"]["triggerExecution"] for b in small)
    print(f"\n{n:,} generated sensor events (about 15% defective, {n_rows:,} Cassandra rows), 4 partitions, "
          "2 cores, the whole stack up\n")
    rows = [
        ("dq gate: Kafka -> libdq -> Kafka, incl. group join (ev/s)", f"{gate_rate:,.0f}"),
        (f"Spark day 12: Kafka -> libdq -> Cassandra, {len(batches)} micro-batches (ev/s)", f"{spark_rate:,.0f}"),
        ("  the whole submission, JVM and Spark start included (ev/s)", f"{wall_rate:,.0f}"),
        ("Spark / dq gate", f"{spark_rate / gate_rate:.3f}"),
        ("PySpark floor: same source, keying and shuffle, a function that does nothing (ev/s)",
         f"{n / (sum(b['durationMs']['triggerExecution'] for b in floor) / 1000):,.0f}"),
        ("Cassandra, the same rows, one client, a row per async insert (ev/s)", f"{single_rate:,.0f}"),
        ("Cassandra ceiling: the same, a batch per partition (ev/s)", f"{ceiling_rate:,.0f}"),
        ("Spark / Cassandra ceiling (goal >= 0.5)", f"{spark_rate / ceiling_rate:.2f}"),
        ("micro-batch of 1,000 events: median duration (ms)", f"{statistics.median(latency):,.0f}"),
        ("micro-batch of 1,000 events: slowest (ms)", f"{latency[-1]:,.0f}"),
        (f"micro-batch of {BATCH:,} events: median duration (ms)",
         f"{statistics.median(b['durationMs']['triggerExecution'] for b in batches):,.0f}"),
        ("where a micro-batch's time goes (share of all batches' time):", ""),
        ("  the batch (addBatch), in the job's foreachBatch:", f"{durations['addBatch'] / batch_ms:.1%}"),
        ("    Kafka read, shuffle by shard, Arrow to Python, libdq and back", f"{steps['judge'] / batch_ms:.1%}"),
        ("      of which libdq judging the events (measured outside Spark)", f"{libdq_s * 1000 / batch_ms:.1%}"),
        ("    Cassandra sensor_data through the connector", f"{steps['cassandra_sensor_data'] / batch_ms:.1%}"),
        ("    Cassandra sensor_anomalies and sensor_rejects",
         f"{steps['cassandra_anomalies_rejects'] / batch_ms:.1%}"),
        ("    Kafka sensor-dlq", f"{steps['kafka_dlq'] / batch_ms:.1%}"),
        ("  reading offsets and the batch's input (latestOffset, getBatch)",
         f"{(durations['latestOffset'] + durations['getBatch']) / batch_ms:.1%}"),
        ("  planning the query (queryPlanning)", f"{durations['queryPlanning'] / batch_ms:.1%}"),
        ("  checkpoint: offsets log and commit (walCommit, commitOffsets)",
         f"{(durations['walCommit'] + durations['commitOffsets']) / batch_ms:.1%}"),
    ]
    print_table(rows)


if __name__ == "__main__":
    main()
