"""`make bench-sensors`: memory and speed of dq check as the fleet grows.

The same number of events (dq gen --seed 7, 10 s cadence, the course's defects) from 100,
10k, 100k and 1M sensors through dq check with the course contract. Prints, per fleet size,
events/s (and its ratio to the 100-sensor run, measured in the same run), the process's peak
resident memory, and the state each sensor costs: the growth of that peak over the
100-sensor run, divided by the extra sensors (the input buffer and the rest do not grow with
the fleet, so they cancel out). A last row runs the largest fleet through a table limited
to a tenth of it, in ten cohorts an hour apart (each cohort's sensors report, then fall
silent): the least recently seen sensors are evicted (counted) and none is judged without state.

usage: bench_sensors.py DQ_BIN [--events N] [--fleets 100,10000,...]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTRACT = HERE.parent / "contracts" / "sensor_readings.yaml"
START, NOW = "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"


def contract_with_max_keys(out: Path, max_keys: int) -> Path:
    text, n = re.subn(r"maxKeys: \d+", f"maxKeys: {max_keys}", CONTRACT.read_text())
    if n != 1:
        sys.exit(f"bench-sensors: no maxKeys line in {CONTRACT}")
    path = out / f"contract-{max_keys}.yaml"
    path.write_text(text)
    return path


def cohorts(dq_bin: str, path: Path, sensors: int, n: int, parts: int = 10):
    """n events of `sensors` sensors in `parts` cohorts an hour apart, each its own sensor ids."""
    size = sensors // parts
    sensor_id = re.compile(rb'"sensor_id":"sensor_(\d+)"')
    with path.open("wb") as f:
        for k in range(parts):
            # Streamed, so that this process stays small: a child's peak RSS counts the pages it
            # shares with its parent until it runs dq.
            gen = subprocess.Popen([dq_bin, "gen", "--count", str(n // parts), "--seed", str(7 + k), "--sensors",
                                    str(size), "--start", f"2026-01-01T{k:02d}:00:00Z", "-q"], stdout=subprocess.PIPE)
            for line in gen.stdout:
                f.write(sensor_id.sub(lambda m: b'"sensor_id":"sensor_%d"' % (k * size + int(m.group(1))), line))
            if gen.wait() != 0:
                sys.exit("bench-sensors: dq gen failed")


def check(dq_bin: str, contract: Path, events: Path, summary: Path) -> tuple[float, int, dict]:
    """-> (seconds, peak resident bytes, summary) of one dq check run."""
    start = time.perf_counter()
    proc = subprocess.Popen([dq_bin, "check", "-c", contract, "-i", events, "--clean", "/dev/null",
                             "--summary", summary, "-q", "--now", NOW])
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench-sensors: dq check failed on {events}")
    return secs, usage.ru_maxrss * 1024, json.loads(summary.read_text())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dq_bin")
    ap.add_argument("--events", type=int, default=3_000_000, help="per fleet (at least 3 per sensor)")
    ap.add_argument("--fleets", default="100,10000,100000,1000000")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dq-bench-sensors-") as tmp:
        run(args, Path(tmp))


def run(args, out: Path):
    fleets = [int(x) for x in args.fleets.split(",")]
    rows = []
    for sensors in fleets:
        events = out / "events.ndjson"
        n = max(args.events, 3 * sensors)
        print(f"{sensors:,} sensors: generating {n:,} events ...", file=sys.stderr)
        with events.open("wb") as f:
            subprocess.run([args.dq_bin, "gen", "--count", str(n), "--seed", "7", "--sensors", str(sensors),
                            "--start", START, "-q"], stdout=f, check=True)
        secs, rss, summary = check(args.dq_bin, contract_with_max_keys(out, sensors), events, out / "summary.json")
        rows.append((sensors, sensors, n, secs, rss, summary))
    sensors = fleets[-1]
    print(f"{sensors:,} sensors in 10 cohorts, maxKeys {sensors // 10:,} ...", file=sys.stderr)
    cohorts(args.dq_bin, events, sensors, n)
    secs, rss, summary = check(args.dq_bin, contract_with_max_keys(out, sensors // 10), events, out / "summary.json")
    rows.append((sensors, sensors // 10, n, secs, rss, summary))
    events.unlink()

    base = rows[0]
    print(f"\ndq check, course contract, {base[2]:,} events per fleet (more where a fleet needs 3 per sensor)\n")
    print("| sensors | maxKeys | events/s | vs 100 sensors | peak RSS MB | state per sensor | evicted | without state |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for sensors, max_keys, n, secs, rss, summary in rows:
        per_sensor = (f"{(rss - base[4]) / (sensors - base[0]):,.0f} B"
                      if sensors > base[0] and max_keys == sensors else "")
        print(f"| {sensors:,} | {max_keys:,} | {n / secs:,.0f} | {(n / secs) / (base[2] / base[3]):.2f} x | "
              f"{rss / 2**20:,.1f} | {per_sensor} | {summary.get('state_evicted', 0):,} | "
              f"{summary.get('state_overflow', 0):,} |")
    print("\n(one run each; peak RSS from the kernel (getrusage); the state per sensor is the growth of the peak "
          "over the first fleet's, divided by the extra sensors)")


if __name__ == "__main__":
    main()
