"""`make bench-gate`: dq gate against the raw Kafka ceiling, on this machine, in one run.

1. dq gen's maximum rate into Kafka, and Kafka's own producer performance tool.
2. The ceiling: `dq gate --relay` (the same consume / produce / commit work, no validation).
3. `dq gate` on the same events: events/s, ratio to the ceiling, CPU per 100k events;
   also with its per-sensor state kept in memory only, to show what saving it costs.
4. End-to-end latency at 10,000 events/s: from the generator's produce time to the clean
   event in a consumer's hands (outputs keep the input timestamp), p50 and p99.

usage: bench_gate.py DQ_BIN [--events N]   (Kafka must run: make bench-gate starts it)
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from dq.stack import CACHE, KAFKA_BOOTSTRAP, kafka_cli_args, kafka_java_login, kafka_login

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, **kw):
    c0, t0 = cpu_children(), time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"bench-gate: {cmd[1]} failed:\n{proc.stderr[-2000:]}")
    return proc, time.perf_counter() - t0, cpu_children() - c0


STATE_TOPICS = []  # the gates' state topics (<group>-state), deleted at the end


def gate_rate(dq, topics, n, relay=False, state=True):
    group = f"bench-{uuid.uuid4().hex[:8]}"
    STATE_TOPICS.append(group + "-state")
    cmd = [dq, "gate", "-c", CONTRACT, *kafka_cli_args("validator"), "--group", group, "--input", topics["in"],
           "--clean", topics["relay" if relay else "clean"], "--dlq", topics["dlq"], "--metrics-topic", "",
           "--metrics-addr", "", "--max-events", str(n)]
    cmd += ["--relay"] if relay else [] if state else ["--state-topic", ""]
    proc, wall, cpu = timed(cmd)
    secs = float(re.search(r"events in ([0-9.]+) s", proc.stderr).group(1))
    return n / secs, cpu / n * 100_000


def latency(dq, topics, rate=10_000, seconds=15):
    group = f"bench-lat-{uuid.uuid4().hex[:8]}"
    STATE_TOPICS.append(group + "-state")
    gate = subprocess.Popen([str(dq), "gate", "-c", str(CONTRACT), *kafka_cli_args("validator"), "--group", group,
                             "--input", topics["lat-in"], "--clean", topics["lat-clean"], "--dlq", topics["dlq"],
                             "--metrics-topic", "", "--metrics-addr", "", "-q", "--batch-ms", "5"])
    consumer = Consumer({**kafka_login("reader"), "group.id": group + "-reader", "auto.offset.reset": "latest",
                         "fetch.wait.max.ms": 1})
    consumer.subscribe([topics["lat-clean"]])
    samples, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            # consume() waits for all num_messages or the timeout: keep the timeout tiny so
            # the measurement does not add its own delay.
            msgs = consumer.consume(500, timeout=0.002)
            now = time.time()
            samples.extend((now * 1000 - m.timestamp()[1], now) for m in msgs if m.error() is None)
    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(4)  # group joins
    start = time.time()
    subprocess.run([str(dq), "gen", "--count", "0", "--rate", str(rate), "--duration", str(seconds), "--sensors",
                    str(rate), *kafka_cli_args("admin"), "--topic", topics["lat-in"], "-q"], check=True)
    time.sleep(2)
    stop.set()
    reader.join()
    gate.terminate()
    gate.wait()
    consumer.close()
    warm = sorted(ms for ms, at in samples if at > start + 3)  # skip warm-up
    if not warm:
        sys.exit("bench-gate: no clean events measured")
    return warm[len(warm) // 2], warm[int(len(warm) * 0.99)], len(warm) / (seconds - 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dq")
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    dq, n = Path(args.dq).resolve(), args.events
    run_id = uuid.uuid4().hex[:8]
    topics = {k: f"bench-{k}-{run_id}" for k in ("in", "relay", "clean", "dlq", "perf", "lat-in", "lat-clean")}
    admin = AdminClient(kafka_login("admin"))
    for f in admin.create_topics([NewTopic(t, num_partitions=4, replication_factor=1)
                                  for t in topics.values()]).values():
        f.result(30)
    try:
        print(f"producing {n:,} events with dq gen ...", file=sys.stderr)
        _, wall, _ = timed([dq, "gen", "--count", n, "--seed", "7", *kafka_cli_args("admin"), "--topic", topics["in"], "-q"])
        gen_rate = n / wall
        print("kafka-producer-perf-test ...", file=sys.stderr)
        with tempfile.TemporaryDirectory() as private:  # 0700: the login file holds admin's password
            login = Path(private) / "admin.properties"
            login.write_text("".join(f"{k}={v}\n" for k, v in kafka_java_login("admin").items()))
            perf, _, _ = timed([Path(os.environ.get("JAVA17_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")) / "bin/java",
                                "-cp", f"{CACHE}/jars/kafka/*", "org.apache.kafka.tools.ProducerPerformance",
                                "--topic", topics["perf"], "--num-records", n, "--record-size", 120, "--throughput", -1,
                                "--producer.config", login, "--producer-props", f"bootstrap.servers={KAFKA_BOOTSTRAP}",
                                "linger.ms=5", "compression.type=lz4", "enable.idempotence=true"])
        perf_rate = float(re.findall(r"([0-9.]+) records/sec", perf.stdout)[-1])
        print("relay (no validation) ...", file=sys.stderr)
        relay_rate, relay_cpu = gate_rate(dq, topics, n, relay=True)
        print("dq gate ...", file=sys.stderr)
        gate_r, gate_cpu = gate_rate(dq, topics, n)
        print("dq gate, state in memory only ...", file=sys.stderr)
        mem_r, _ = gate_rate(dq, topics, n, state=False)
        print("latency at 10,000 events/s ...", file=sys.stderr)
        p50, p99, seen_rate = latency(dq, topics)
    finally:
        admin.delete_topics(list(topics.values()) + STATE_TOPICS)
    print(f"\n{n:,} generated sensor events (about 15% defective), 4 partitions, one broker, 2 cores\n")
    print(f"| {'measurement':<52} | {'value':>12} |\n|{'-' * 54}|{'-' * 14}|")
    rows = [
        ("Kafka ceiling: relay, no validation (ev/s)", f"{relay_rate:,.0f}"),
        ("dq gate: validate, clean, route (ev/s)", f"{gate_r:,.0f}"),
        ("dq gate / ceiling (goal >= 0.6)", f"{gate_r / relay_rate:.2f}"),
        ("dq gate, state in memory only (ev/s)", f"{mem_r:,.0f}"),
        ("dq gate / state in memory only", f"{gate_r / mem_r:.2f}"),
        ("CPU s per 100k events: relay", f"{relay_cpu:.3f}"),
        ("CPU s per 100k events: dq gate", f"{gate_cpu:.3f}"),
        ("end-to-end latency p50 at 10k ev/s (ms)", f"{p50:.1f}"),
        ("end-to-end latency p99 at 10k ev/s (ms, goal < 20)", f"{p99:.1f}"),
        ("clean events/s seen during the latency run", f"{seen_rate:,.0f}"),
        ("dq gen into Kafka, max (ev/s)", f"{gen_rate:,.0f}"),
        ("kafka-producer-perf-test, 120 B records (ev/s)", f"{perf_rate:,.0f}"),
        ("dq gen / producer perf test", f"{gen_rate / perf_rate:.2f}"),
    ]
    for name, value in rows:
        print(f"| {name:<52} | {value:>12} |")


if __name__ == "__main__":
    main()
