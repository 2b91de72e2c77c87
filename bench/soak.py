"""make soak: the whole live pipeline at RATE events/s for MINUTES (default: an hour at 5,000),
not part of make test. Each minute one row: the input rate, how far dq gate and the live
writer are behind (events, and the age of the oldest reading the live writer has not
committed), and the resident memory of every service. Then the generator goes back to make
up's rate, both stages drain the backlog, and the whole span is reconciled
(stack/reconcile.py): every reading exactly one row, with dq gate's verdict.

usage: soak.py [--minutes M] [--rate R]"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient

from dq.stack import generator_rate, kafka_login, restart_generator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "stack"))
from pipeline_pulse import lags  # noqa: E402
from reconcile import PARTITIONS, end_offsets, lag_seconds, reader, reconcile, to_commit, wait_committed  # noqa: E402

SHORT = {"kafka": "kafka", "cassandra": "cass", "flink-jobmanager": "f-jm", "flink-taskmanager": "f-tm", "flink-ui": "f-ui",
         "spark-master": "s-m", "spark-worker": "s-w", "mlflow": "mlfl", "jupyter": "jupy", "prometheus": "prom",
         "dq-gate": "gate", "dq-gen": "gen", "live-writer": "live", "dashboard": "dash"}


def rss_mb() -> dict[str, int]:
    """Resident memory of every running service (its whole process group), MB."""
    out = subprocess.run([ROOT / "stack" / "status.sh", "--rss"], capture_output=True, text=True).stdout
    return {svc: int(kb) // 1024 for svc, kb in (line.split() for line in out.splitlines())}


def drain(admin: AdminClient, last: dict[int, int], stall_s: float = 180) -> bool:
    """Until both stages have committed past last; False once neither moved for stall_s."""
    remaining, moved, shown = to_commit(admin, last), time.time(), time.time()
    while remaining:
        if wait_committed(admin, last, 10):
            return True
        now = to_commit(admin, last)
        if now < remaining:
            remaining, moved = now, time.time()
        if time.time() - moved > stall_s:
            return False
        if time.time() - shown >= 60:
            print(f"  {remaining:,} readings still to commit", flush=True)
            shown = time.time()
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--rate", type=int, default=5000)
    args = ap.parse_args()
    admin, c = AdminClient(kafka_login("reader")), reader()
    print(f"soak: {args.minutes:g} minutes at {args.rate:,} events/s through generator, dq gate and the live writer",
          flush=True)
    rate_before = generator_rate()
    restart_generator(args.rate)
    began, samples = time.time(), []
    first = previous = end_offsets(c)
    services = list(rss_mb())
    print(f"{'min':>4} {'in/s':>7} {'gate lag':>9} {'live lag':>9} {'live s':>7}  "
          + " ".join(f"{SHORT.get(s, s):>5}" for s in services) + "   (resident MB)", flush=True)
    try:
        for minute in range(1, int(args.minutes) + 1):
            time.sleep(max(0.0, began + 60 * minute - time.time()))
            ends = end_offsets(c)
            behind, _held = lags(admin)
            memory = rss_mb()
            row = {"in": sum(ends[p] - previous[p] for p in PARTITIONS) / 60, "gate": behind["dq-gate"],
                   "live": behind["dq-live"], "live_s": lag_seconds(c, admin, ends), "rss": memory}
            samples.append(row)
            previous = ends
            print(f"{minute:>4} {row['in']:>7,.0f} {row['gate'] or 0:>9,} {row['live'] or 0:>9,} {row['live_s']:>7.0f}  "
                  + " ".join(f"{memory.get(s, 0):>5}" for s in services), flush=True)
        last = end_offsets(c)
    finally:
        restart_generator(rate_before)
    c.close()
    n = sum(last[p] - first[p] for p in PARTITIONS)
    print(f"\n{n:,} readings in {time.time() - began:,.0f} s; the generator is back at {rate_before:,} events/s.")
    if samples:
        print("resident memory, MB: first minute -> last (growth)")
        for s in services:
            a, b = samples[0]["rss"].get(s, 0), samples[-1]["rss"].get(s, 0)
            print(f"  {s:<18} {a:>6} -> {b:>6} ({b - a:+})")
        print(f"largest lag: dq gate {max(r['gate'] or 0 for r in samples):,} events, live writer "
              f"{max(r['live'] or 0 for r in samples):,} events ({max(r['live_s'] for r in samples):,.0f} s)")
    print("waiting for both stages to pass the span (as long as they make progress) ...", flush=True)
    t = time.time()
    if not drain(admin, last):
        print("NOT drained: no progress for 3 minutes (make status)")
        return 1
    print(f"drained in {time.time() - t:,.0f} s; reconciling ...", flush=True)
    r = reconcile(first, last, since_ms=int((began - 60) * 1000))
    print(r)
    ok = r.ok and r.inputs == n
    print("soak passed: nothing lost" if ok else "soak FAILED: see the counts above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
