"""`make bench-check`: dq check against Great Expectations, pandera and plain Python.

One deterministic file of events (dq gen, about 15% defective) goes through all four
tools with the same stateless rules (bench/contract_stateless.yaml); the rejected line
sets must be identical, else the benchmark fails. Then dq check also runs the full
course contract (stateful rules, cleaning, metrics) for reference. Prints events/s and
the ratio of dq check to each peer, all measured in this run.

usage: bench_check.py DQ_BIN [--events N] [--input FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
HERE = Path(__file__).resolve().parent
NOW = "2026-01-03T00:00:00Z"  # after the generated readings: the future rule sees next year's
sys.path.insert(0, str(HERE))
import peers  # noqa: E402


def dq_check(dq_bin, contract, events, out):
    rejects, summary = out / "rejects.ndjson", out / "summary.json"
    start = time.perf_counter()
    subprocess.run([dq_bin, "check", "-c", contract, "-i", events, "--clean", "/dev/null",
                    "--rejects", rejects, "--summary", summary, "-q", "--now", NOW], check=True)
    wall = time.perf_counter() - start
    lines = {json.loads(r)["line"] - 1 for r in rejects.read_text().splitlines()}
    return wall, lines, json.loads(summary.read_text())


def instructions_per_event(dq_bin, contract, events: Path, out: Path, n: int) -> float:
    """Instructions dq check executes per event (callgrind), over the first n events, less a
    run on no events (start-up, contract loading): a figure that does not move with the
    machine's load, unlike the times."""
    sample = out / "sample.ndjson"
    with events.open("rb") as src, sample.open("wb") as dst:
        for _, line in zip(range(n), src):
            dst.write(line)
    empty = out / "empty.ndjson"
    empty.write_bytes(b"")

    def total(path):
        proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out / 'callgrind.out'}",
                               dq_bin, "check", "-c", contract, "-i", path, "--clean", "/dev/null", "-q",
                               "--now", NOW], capture_output=True, text=True, check=True)
        return int(re.search(r"Collected : (\d+)", proc.stderr).group(1))
    return (total(sample) - total(empty)) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dq_bin")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--input", help="an NDJSON file instead of generated events")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool; the fastest counts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dq-bench-") as tmp:  # the events and outputs: ~220 MB
        run(args, Path(tmp))


def run(args, out: Path):
    events = Path(args.input) if args.input else out / "events.ndjson"
    if not args.input:
        print(f"generating {args.events:,} events (dq gen --seed 7) ...", file=sys.stderr)
        with open(events, "wb") as f:
            subprocess.run([args.dq_bin, "gen", "--count", str(args.events), "--seed", "7",
                            "--sensors", str(max(100, args.events // 8640)),  # about a day of readings
                            "--start", "2026-01-01T00:00:00Z", "-q"], stdout=f, check=True)
    lines = events.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    n = len(lines)

    rows = []
    print(f"dq check (stateless contract), best of {args.repeat} ...", file=sys.stderr)
    runs = [dq_check(args.dq_bin, HERE / "contract_stateless.yaml", events, out) for _ in range(args.repeat)]
    dq_rejects = runs[0][1]
    rows.append(("dq check", min(r[0] for r in runs), len(dq_rejects)))
    mismatch = False
    for name, fn in (("plain Python (json + ifs)", peers.plain_python), ("pandera", peers.pandera),
                     ("Great Expectations", peers.great_expectations)):
        print(f"{name}, best of {args.repeat} ...", file=sys.stderr)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            rejected = fn(lines)
            best = min(best, time.perf_counter() - start)
        rows.append((name, best, len(rejected)))
        if rejected != dq_rejects:
            mismatch = True
            print(f"  VERDICTS DIFFER from dq check: {len(rejected - dq_rejects)} extra, "
                  f"{len(dq_rejects - rejected)} missing, e.g. lines "
                  f"{sorted((rejected ^ dq_rejects))[:5]}", file=sys.stderr)

    print(f"\n{n:,} events, {100 * len(dq_rejects) / n:.1f}% rejected by the stateless rules; same rules in every tool\n")
    print(f"| {'tool':<28} | {'seconds':>8} | {'events/s':>12} | {'rejected':>9} | {'dq check is':>12} |")
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 14}|{'-' * 11}|{'-' * 14}|")
    dq_wall = rows[0][1]
    for name, secs, rej in rows:
        print(f"| {name:<28} | {secs:8.2f} | {n / secs:12,.0f} | {rej:9,} | {secs / dq_wall:10.1f} x |")
    wall = min(dq_check(args.dq_bin, HERE.parent / "contracts" / "sensor_readings.yaml", events, out)[0]
               for _ in range(args.repeat))
    full = json.loads((out / "summary.json").read_text())
    print(f"\nfor reference, dq check with the full course contract (stateful rules, cleaning, metrics): "
          f"{wall:.2f} s, {n / wall:,.0f} events/s, {full['reject']:,} rejected, {full['fixed']:,} fixed")
    if shutil.which("valgrind"):
        sample = min(n, 100_000)
        print(f"instructions per event (callgrind, {sample:,} events): stateless contract "
              f"{instructions_per_event(args.dq_bin, HERE / 'contract_stateless.yaml', events, out, sample):,.0f}, "
              f"full course contract "
              f"{instructions_per_event(args.dq_bin, HERE.parent / 'contracts' / 'sensor_readings.yaml', events, out, sample):,.0f}")
    else:
        print("instructions per event: valgrind is not installed (make deps installs it)")
    print(f"(fastest of {args.repeat} runs each. dq check: the whole process, reading the file, evaluating, "
          "serializing clean events (to /dev/null) and writing rejects;\n peers: from lines in memory to the set "
          "of rejected lines, JSON parsing included)")
    if mismatch:
        sys.exit("bench-check: the tools disagree on verdicts; see above")


if __name__ == "__main__":
    main()
