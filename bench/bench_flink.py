"""`make bench-flink`: Kafka to Cassandra through Flink (day 11 job) and dq gate on the same
events, in one run, where Flink's time goes, and the faster ways to run libdq in Flink.

1. dq gen writes N events (about 15 % defective) to a fresh topic.
2. dq gate validates them into fresh clean / dead-letter topics: events/s.
3. Flink, each run on the same events with its own consumer group, events/s over the job's
   running time (from the JobManager):
   a. flink_to_cassandra.py --python-mode thread: Python embedded in the TaskManager's JVM
      (pemja) instead of a worker process. Run first, on a restarted TaskManager: pemja
      0.5.5 (the version Flink 1.20 pins) cannot load itself a second time into one
      TaskManager on Java 17 (NoSuchFieldException: loadedLibraryNames).
   b. flink_to_cassandra.py as the course runs it (Python worker process).
   c. bench/flink_batch_udf.py: libdq in a pandas (Arrow) UDF, 5,000 events per call, and
      concurrent Cassandra writes per batch; libdq state in the worker, not in Flink.
   The day 11 runs must each put exactly dq gate's number of rejects in their dead-letter topic.
4. Where the time of (b) goes, per event, measured outside Flink in this process: the job's
   libdq step (Validator.validate: restore state, evaluate, save changes) and one Cassandra
   insert (CassandraWriter.insert); the rest is the JVM, Beam's transport to the Python
   worker and back, and checkpointing.

usage: bench_flink.py DQ_BIN [--events N]   (the stack must run: make bench-flink starts it)
"""
import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python"), str(ROOT / "flink_jobs"), str(ROOT / "tests" / "integration")]
BOOT = "127.0.0.1:9092"
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dq")
    ap.add_argument("--events", type=int, default=20_000)
    args = ap.parse_args()
    dq_bin, n = Path(args.dq).resolve(), args.events
    import dq_flink
    from conftest import messages

    run_id = uuid.uuid4().hex[:8]
    names = ("in", "clean", "dlq", "dlq-thread", "dlq-process")
    topics = {k: f"bench-flink-{k}-{run_id}" for k in names}
    admin = AdminClient({"bootstrap.servers": BOOT})
    for f in admin.create_topics([NewTopic(t, num_partitions=4, replication_factor=1)
                                  for t in topics.values()]).values():
        f.result(30)
    group = f"bench-flink-{run_id}"

    def flink(job: Path, name: str, *extra) -> float:
        """Runs a bounded Flink job on the input; its running time in seconds."""
        print(f"Flink: {name} ...", file=sys.stderr)
        proc = subprocess.run([ROOT / "stack" / "flink-submit.sh", job, "--input", topics["in"],
                               "--group", f"{group}-{name}", "--bounded", *extra], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench-flink: the Flink job {job.name} failed:\n{proc.stdout[-3000:]}")
        job_id = proc.stdout.split("JobID ")[1].split()[0]
        return json.load(urllib.request.urlopen(f"http://127.0.0.1:8081/jobs/{job_id}"))["duration"] / 1000

    day11 = ROOT / "flink_jobs" / "flink_to_cassandra.py"
    try:
        # Event times end a day ago: no future-timestamp surprises, rows apart from live data.
        start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        subprocess.run([dq_bin, "gen", "--count", str(n), "--seed", "21", "--start", start, "--brokers", BOOT,
                        "--topic", topics["in"], "-q"], check=True)
        print("dq gate ...", file=sys.stderr)
        gate = subprocess.run([dq_bin, "gate", "-c", CONTRACT, "--brokers", BOOT, "--group", group + "-gate",
                               "--input", topics["in"], "--clean", topics["clean"], "--dlq", topics["dlq"],
                               "--metrics-topic", "", "--metrics-addr", "", "--max-events", str(n)],
                              capture_output=True, text=True, check=True)
        gate_rate = n / float(re.search(r"events in ([0-9.]+) s", gate.stderr).group(1))

        print("restarting the TaskManager (for thread mode) ...", file=sys.stderr)
        subprocess.run([ROOT / "stack" / "down.sh", "--quiet", "flink-taskmanager"], check=True, timeout=120)
        subprocess.run([ROOT / "stack" / "up.sh", "flink-taskmanager"], check=True, timeout=300,
                       stdout=subprocess.DEVNULL)
        thread_s = flink(day11, "thread", "--python-mode", "thread", "--dlq", topics["dlq-thread"])
        running_s = flink(day11, "process", "--dlq", topics["dlq-process"])
        batch_s = flink(ROOT / "bench" / "flink_batch_udf.py", "batch-udf")
        rejects = sum(1 for _ in messages(topics["dlq"]))
        for variant in ("dlq-thread", "dlq-process"):
            got = sum(1 for _ in messages(topics[variant]))
            assert got == rejects, f"{variant}: {got} dead letters, dq gate wrote {rejects}"

        print("the job's steps outside Flink ...", file=sys.stderr)
        raws = [m.value() or b"" for m in messages(topics["in"])]
        validator, states = dq_flink.Validator(CONTRACT), {}
        results = []
        t0 = time.perf_counter()
        for raw in raws:
            key = dq_flink.sensor_key(raw)
            outcome, new_state = validator.validate(raw, states.get(key), int(time.time() * 1000))
            if new_state is not None:
                states[key] = new_state
            results.append(outcome)
        libdq_us = (time.perf_counter() - t0) / len(raws) * 1e6
        writer = dq_flink.CassandraWriter(ROOT / ".env")
        sample = [r for r in results if r["verdict"] != "REJECT"][:2000]
        t0 = time.perf_counter()
        for r in sample:
            writer.insert("sensor_data", dq_flink.clean_row(r["clean"], r["contract_version"], r["event_ms"]))
        insert_us = (time.perf_counter() - t0) / len(sample) * 1e6
        writer.close()
    finally:
        admin.delete_topics(list(topics.values()) + [group + "-gate-state"])

    flink_rate = n / running_s
    per_event_us = 1e6 / flink_rate
    thread_rate, batch_rate = n / thread_s, n / batch_s
    print(f"\n{n:,} generated sensor events (about 15% defective), 4 partitions, 2 cores, the whole stack up\n")
    print(f"| {'measurement':<68} | {'value':>10} |\n|{'-' * 70}|{'-' * 12}|")
    rows = [
        ("dq gate: Kafka -> libdq -> Kafka, incl. group join (ev/s)", f"{gate_rate:,.0f}"),
        ("Flink day 11: Kafka -> libdq -> Cassandra (ev/s)", f"{flink_rate:,.0f}"),
        ("Flink / dq gate", f"{flink_rate / gate_rate:.3f}"),
        ("Flink time per event (µs)", f"{per_event_us:,.0f}"),
        ("  libdq step in Python: restore, evaluate, save (µs)", f"{libdq_us:,.0f}"),
        ("  one synchronous Cassandra insert (µs)", f"{insert_us:,.0f}"),
        ("  the rest: JVM, Beam to Python and back, checkpoints (µs)", f"{per_event_us - libdq_us - insert_us:,.0f}"),
        ("faster: day 11 in thread mode (ev/s)", f"{thread_rate:,.0f}"),
        ("  thread mode / process mode", f"{thread_rate / flink_rate:.2f}"),
        ("faster: pandas UDF, 5,000 events a libdq call, batched writes (ev/s)", f"{batch_rate:,.0f}"),
        ("  pandas UDF / process mode", f"{batch_rate / flink_rate:.2f}"),
        ("  pandas UDF / dq gate", f"{batch_rate / gate_rate:.3f}"),
    ]
    for name, value in rows:
        print(f"| {name:<68} | {value:>10} |")


if __name__ == "__main__":
    main()
