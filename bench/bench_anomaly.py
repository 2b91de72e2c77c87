"""`make bench-anomaly`: scoring events with an isolation forest, libdq vs scikit-learn.

The same fitted forest (200 trees, 256 samples each, on libdq's features of generated
events) scores the same feature vectors:
  * scikit-learn: IsolationForest.score_samples on the whole array (its fastest use);
  * libdq from Python: dq.Model.score, one C call per vector (ctypes overhead included);
  * libdq in the stream: dq.Engine with the model evaluates the events themselves, which
    includes parsing, every rule, cleaning, the features and the score (what dq gate does).
The scores must agree within 1e-6 or the benchmark fails.

usage: bench_anomaly.py DQ_BIN [--events N]
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import IsolationForest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python"), str(ROOT / "ml")]
import dq  # noqa: E402
from export import export_iforest  # noqa: E402

CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"


def best_of(n, fn):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dq")
    ap.add_argument("--events", type=int, default=200_000)
    args = ap.parse_args()
    events = subprocess.run([args.dq, "gen", "--count", str(args.events), "--seed", "7", "--start",
                             "2026-01-01T00:00:00Z"], capture_output=True, check=True).stdout.splitlines()
    contract = dq.Contract(CONTRACT)
    rows = dq.Engine(contract, now="2026-02-01T00:00:00Z").features(events)
    X = np.array([r for r in rows if r is not None])
    forest = IsolationForest(n_estimators=200, max_samples=256, random_state=0).fit(X[:20000])
    path = export_iforest(forest, contract.features, 0.6, Path(tempfile.mkdtemp()) / "model.dqm")
    model = dq.Model(path)

    sk_s, sk = best_of(3, lambda: -forest.score_samples(X))
    ours_s, ours = best_of(3, lambda: np.array(model.score(X.tolist())))
    gap = float(np.abs(ours - sk).max())
    assert gap <= 1e-6, f"libdq and scikit-learn differ by {gap}"
    stream_s, _ = best_of(3, lambda: dq.Engine(contract, now="2026-02-01T00:00:00Z", model=model).evaluate(events))
    plain_s, _ = best_of(3, lambda: dq.Engine(contract, now="2026-02-01T00:00:00Z").evaluate(events))

    n = len(X)
    print(f"\n{n:,} feature vectors ({len(events):,} events), isolation forest of 200 trees, 1 core\n")
    print("| scorer | seconds | vectors/s | vs scikit-learn |\n|---|---:|---:|---:|")
    for name, s, count in [("scikit-learn score_samples (whole array)", sk_s, n),
                           ("libdq dq_model_score via Python, one call per vector", ours_s, n),
                           ("libdq engine: every event validated, cleaned and scored", stream_s, len(events)),
                           ("libdq engine without a model (online detector only)", plain_s, len(events))]:
        rate = count / s
        print(f"| {name} | {s:.2f} | {rate:,.0f} | {rate / (n / sk_s):.1f} x |")
    print(f"\nlargest score difference libdq vs scikit-learn: {gap:.1e}")


if __name__ == "__main__":
    main()
