"""`make bench-flink`: Kafka to Cassandra through Flink (the day-11 job, which `make up` also
runs live) beside dq gate and a Cassandra write ceiling, all on the same events in one run.

1. dq gen writes N events (about 15 % defective) to a fresh topic.
2. dq gate validates them into fresh clean / dead-letter topics: events/s.
3. The Cassandra ceiling: the rows the job writes for these events (sensor_data,
   sensor_rejects, sensor_anomalies), computed beforehand, written by one client with
   concurrent asynchronous inserts (CassandraWriter.insert_many): events/s, once a row per
   request and once as the job writes them (one UNLOGGED batch per partition, <= 20 rows).
4. Flink day 11, bounded, its own consumer group: events/s over the job's running time
   (from the JobManager), in process mode (the course's) and in thread mode (the Python
   functions inside the TaskManager's JVM). Each must put exactly dq gate's rejects in its
   dead-letter topic.
5. The floors under it: bench/flink_transport_floor.py, the same source and key selector
   with a keyed Python function that does nothing (Flink, Kafka and Beam's transport to
   the Python worker and back, twice: once for the key, once for the function); then the
   same function writing each event's rows of step 3 as the ceiling does (no libdq, no
   state): what any PyFlink job writing these rows from Python pays at least.
6. Where the job's time goes, per event, measured outside Flink in this process: libdq
   on the batches (Validator.judge), building the rows, and the ceiling's write time; the
   rest is Flink: Kafka, Beam's transport to the Python worker, state and checkpoints.

The whole stack runs beside it (the live pipeline included): the two cores are shared.

usage: bench_flink.py DQ_BIN [--events N]   (the stack must run: make bench-flink starts it)
"""
import argparse
import datetime as dt
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "flink_jobs"), str(ROOT / "bench")]
from common import cassandra_ceiling, fresh_topics, print_table, run_gate  # noqa: E402
from dq.stack import flink_rest, kafka_cli_args, topic_messages  # noqa: E402


def cancel_jobs_since(start_ms: float):
    """Cancels the jobs still running that were submitted after start_ms (this benchmark's)."""
    for job in flink_rest("/jobs/overview")["jobs"]:
        if job["start-time"] >= start_ms and job["state"] not in ("FINISHED", "FAILED", "CANCELED"):
            flink_rest(f"/jobs/{job['jid']}?mode=cancel", "PATCH")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dq")
    ap.add_argument("--events", type=int, default=100_000)
    args = ap.parse_args()
    dq_bin, n = Path(args.dq).resolve(), args.events
    with fresh_topics("flink", "in", "clean", "dlq", "dlq-flink", "dlq-thread") as (topics, group):
        # Event times end a day ago: no future-timestamp surprises, rows apart from live data.
        start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        subprocess.run([dq_bin, "gen", "--count", str(n), "--seed", "21", "--start", start, *kafka_cli_args("admin"),
                        "--topic", topics["in"], "-q"], check=True)
        gate_rate = run_gate(dq_bin, topics, group, n)

        records, rows_of = list(topic_messages(topics["in"])), {}
        ceiling_s, n_rows, python_us = cassandra_ceiling(records, rows_of)

        def flink(job: Path, name: str, *extra) -> float:
            """Runs a bounded Flink job on the input; its running time in seconds."""
            print(f"Flink: {name} ...", file=sys.stderr)
            if flink_rest("/overview")["slots-available"] == 0:
                sys.exit("bench-flink: Flink has no free task slot (a TaskManager down, or a job left running): "
                         "see make status and http://127.0.0.1:8081")
            submitted_ms, limit_s = time.time() * 1000, 300 + n / 100
            try:
                proc = subprocess.run([ROOT / "stack" / "flink-submit.sh", job, "--input", topics["in"],
                                       "--group", f"{group}-{name}", "--bounded", *extra],
                                      capture_output=True, text=True, timeout=limit_s)
            except subprocess.TimeoutExpired:
                cancel_jobs_since(submitted_ms)
                sys.exit(f"bench-flink: the Flink job {job.name} did not end in {limit_s:.0f} s; cancelled. "
                         "make logs SERVICE=flink-taskmanager says why")
            if proc.returncode != 0:
                sys.exit(f"bench-flink: the Flink job {job.name} failed:\n{proc.stdout[-3000:]}")
            job_id = proc.stdout.split("JobID ")[1].split()[0]
            return flink_rest(f"/jobs/{job_id}")["duration"] / 1000
        flink_s = flink(ROOT / "flink_jobs" / "flink_to_cassandra.py", "day11", "--dlq", topics["dlq-flink"])
        thread_s = flink(ROOT / "flink_jobs" / "flink_to_cassandra.py", "day11-thread", "--dlq", topics["dlq-thread"],
                         "--python-mode", "thread")
        floor_s = flink(ROOT / "bench" / "flink_transport_floor.py", "floor")
        with tempfile.NamedTemporaryFile(suffix=".pickle") as rows_file:  # 0600: this user's Flink reads it
            pickle.dump(rows_of, rows_file)
            rows_file.flush()
            write_floor_s = flink(ROOT / "bench" / "flink_transport_floor.py", "write-floor",
                                  "--rows", rows_file.name)
        rejects = sum(1 for _ in topic_messages(topics["dlq"]))
        for mode in ("flink", "thread"):
            got = sum(1 for _ in topic_messages(topics[f"dlq-{mode}"]))
            assert got == rejects, f"Flink ({mode}) wrote {got} dead letters, dq gate {rejects}"

    flink_rate, ceiling_rate, single_rate = n / flink_s, n / ceiling_s[20], n / ceiling_s[0]
    libdq_us, rows_us = python_us["libdq_us"], python_us["rows_us"]
    per_event_us = 1e6 / flink_rate
    print(f"\n{n:,} generated sensor events (about 15% defective, {n_rows:,} Cassandra rows), 4 partitions, "
          "2 cores, the whole stack up\n")
    table = [
        ("dq gate: Kafka -> libdq -> Kafka, incl. group join (ev/s)", f"{gate_rate:,.0f}"),
        ("Cassandra, the same rows, one client, a row per async insert (ev/s)", f"{single_rate:,.0f}"),
        ("Cassandra ceiling: the same, a batch per partition (ev/s)", f"{ceiling_rate:,.0f}"),
        ("Flink day 11: Kafka -> libdq -> Cassandra + dead letters (ev/s)", f"{flink_rate:,.0f}"),
        ("  the same in thread mode: Python inside the TaskManager's JVM (ev/s)", f"{n / thread_s:,.0f}"),
        ("Flink / dq gate", f"{flink_rate / gate_rate:.3f}"),
        ("Flink / Cassandra ceiling (goal >= 0.5)", f"{flink_rate / ceiling_rate:.2f}"),
        ("PyFlink floor: same source and keying, a function that does nothing (ev/s)", f"{n / floor_s:,.0f}"),
        ("PyFlink floor with the writes: the same function writing the rows as the ceiling does (ev/s)",
         f"{n / write_floor_s:,.0f}"),
        ("  / Cassandra ceiling: the most a PyFlink job writing these rows reaches",
         f"{ceiling_s[20] / write_floor_s:.2f}"),
        ("Flink time per event (µs)", f"{per_event_us:,.0f}"),
        ("  libdq on batches of 1,000, from Python (µs)", f"{libdq_us:,.1f}"),
        ("  building the Cassandra rows in Python (µs)", f"{rows_us:,.1f}"),
        ("  writing them, at the ceiling (µs)", f"{ceiling_s[20] / n * 1e6:,.1f}"),
        ("  the rest: Kafka, Beam to Python and back, state, checkpoints (µs)",
         f"{per_event_us - libdq_us - rows_us - ceiling_s[20] / n * 1e6:,.1f}"),
    ]
    print_table(table)


if __name__ == "__main__":
    main()
