"""Draws how each sensor fault looks to libdq: for spike, stuck, noise, bias and drift, one generated
sensor's temperature around a stretch of the fault (shaded), the readings the contract's rule
flags, and below it the online detector's score with its flags. These are the pictures of
docs/anomaly.md (`make docs-plots` redraws them; a test checks they are what this draws).

    dq gen (10 s cadence, one fault only, ground truth) --> libdq, the course contract
      --> docs/img/fault-<fault>.png

usage: plot_faults.py DQ_BIN [--out docs/img]
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ml"))
import dq  # noqa: E402
from train import CONTRACT  # noqa: E402

SENSORS, DAY = 20, 8640  # 20 sensors at 10 s: a day's readings each
# fault: (dq gen --defects rate, the contract's reason for it, what the picture shows, days of
# readings without defects first: the drift rule learns each sensor's daily profile)
FAULTS = {
    "spike": (0.002, "SPIKE", "a spike: one reading far off; the rule and the detector both see it", 0),
    "stuck": (0.0005, "STUCK_VALUE", "stuck: a repeated value; the rule flags from its 30th repeat, the detector sees nothing", 0),
    "noise": (0.0005, "NOISE", "noise: a failing sensor scatters; the rule sees its changes grow, the detector nothing", 0),
    "bias": (0.0005, "BIAS", "bias: a step that holds; the rule marks it to its end, the detector while its mean catches up", 0),
    "drift": (0.0002, "DRIFT", "drift: a slow creep off the sensor's daily profile; the rule sees it grow, the detector's mean follows it", 2),
}
CONTEXT = 60  # readings drawn before and after the fault's stretch


def sensor_readings(dq_bin: str, fault: str, work: Path) -> tuple[list[dict], list[bool]]:
    """The first sensor whose fault starts after its first 500 readings: its judged readings
    (clean events with their annotation) and, for each, whether the generator made it faulty."""
    events, truth = work / f"{fault}.ndjson", work / f"{fault}.csv"
    clean_days = FAULTS[fault][3]
    with events.open("wb") as f:
        subprocess.run([dq_bin, "gen", "--sensors", str(SENSORS), "--count", str(SENSORS * DAY * (clean_days + 1)),
                        "--interval", "10s", "--defects", f"none,{fault}={FAULTS[fault][0]}", "--seed", "3",
                        "--warm-up", f"{clean_days}d", "--start", "2026-01-01T00:00:00Z", "--truth", truth, "-q"],
                       stdout=f, check=True)
    faulty = {int(r["line"]): r["sensor_id"] for r in csv.DictReader(truth.open()) if r["defect"] == fault}
    lines = events.read_bytes().splitlines()
    clean = dq.Engine(dq.Contract(CONTRACT), now="2026-01-05T00:00:00Z").evaluate(lines).clean
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        sensor = json.loads(line)["sensor_id"]
        seen[sensor] = seen.get(sensor, 0) + 1
        if faulty.get(n) == sensor and seen[sensor] > 500:
            break
    else:
        sys.exit(f"plot_faults: no {fault} after a sensor's first 500 readings")
    readings, faults = [], []
    for i, c in enumerate(clean):
        if c and (reading := json.loads(c))["sensor_id"] == sensor:
            readings.append(reading)
            faults.append(i + 1 in faulty)
    return readings, faults


def draw(fault: str, readings: list[dict], faulty: list[bool], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    first = last = faulty.index(True)
    while last + 1 < len(faulty) and faulty[last + 1]:  # the first stretch only
        last += 1
    window = range(max(0, first - CONTEXT), min(len(readings), last + CONTEXT + 1))
    x = list(range(len(window)))
    rows = [readings[i] for i in window]
    temp = [r["temperature"] for r in rows]
    reason = FAULTS[fault][1]
    found = [i for i, r in enumerate(rows)
             if any(f["reason"] == reason and f["field"] == "temperature" for f in r["dq"].get("findings", []))]
    scored = [(i, r["dq"]["anomaly"]) for i, r in enumerate(rows) if "anomaly" in r["dq"]]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    label = f"{fault} (the generator's truth)"
    for i in x:  # every faulty reading in the window, as shaded runs
        if faulty[window[i]] and (i == 0 or not faulty[window[i - 1]]):
            end = i
            while end + 1 < len(x) and faulty[window[end + 1]]:
                end += 1
            top.axvspan(i - 0.5, end + 0.5, color="orange", alpha=0.2, label=label)
            label = None
    top.plot(x, temp, color="tab:blue", lw=1, label="temperature °C")
    top.scatter([x[i] for i in found], [temp[i] for i in found], color="tab:red", s=14, zorder=3,
                label=f"{reason} (the contract's rule)")
    top.legend(loc="best", fontsize=8)
    top.set_title(FAULTS[fault][2], fontsize=9)
    bottom.plot([i for i, _ in scored], [a["score"] for _, a in scored], color="tab:gray", lw=1,
                label="online detector's score")
    bottom.axhline(dq.ONLINE_FLAG_SCORE, color="k", ls="--", lw=0.8)
    flags = [(i, a["score"]) for i, a in scored if a["flag"]]
    bottom.scatter([i for i, _ in flags], [s for _, s in flags], color="tab:purple", s=14, zorder=3, label="flagged")
    bottom.set_ylim(0, 1)
    bottom.set_xlabel(f"readings of {rows[0]['sensor_id']}, every 10 s")
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})  # no version stamp: the same bytes each time
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dq")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plot-faults-") as work:
        for fault in FAULTS:
            readings, faulty = sensor_readings(args.dq, fault, Path(work))
            print(draw(fault, readings, faulty, args.out / f"fault-{fault}.png"))


if __name__ == "__main__":
    main()
