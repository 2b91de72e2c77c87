"""`make bench-anomaly`: scoring events with an isolation forest, libdq vs scikit-learn.

The same fitted forest (200 trees, 256 samples each, on libdq's features of generated
events) scores the same feature vectors:
  * scikit-learn: IsolationForest.score_samples on the whole array (its fastest use);
  * libdq from Python: dq.Model.score, one C call per vector (ctypes overhead included);
  * libdq in the stream: dq.Engine with the model evaluates the events themselves, which
    includes parsing, every rule, cleaning, the features and the score (what dq gate does).
The scores must agree within 1e-6 or the benchmark fails. Then the same model behind
ml/model_service.py (HTTP on 127.0.0.1, one keep-alive connection): the latency of one
vector per request, as a stream processor's async call would see it, and the rate with
1,000 vectors per request.

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
sys.path.insert(0, str(ROOT / "ml"))
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
    scratch = tempfile.TemporaryDirectory(prefix="dq-bench-anomaly-")  # removed when the benchmark ends
    path = export_iforest(forest, contract.features, 0.6, Path(scratch.name) / "model.dqm")
    model = dq.Model(path)

    sk_s, sk = best_of(3, lambda: -forest.score_samples(X))
    ours_s, ours = best_of(3, lambda: np.array(model.score(X.tolist())))
    gap = float(np.abs(ours - sk).max())
    assert gap <= 1e-6, f"libdq and scikit-learn differ by {gap}"
    single = X[:300]
    one_s, _ = best_of(1, lambda: [forest.score_samples(single[i:i + 1]) for i in range(len(single))])
    stream_s, _ = best_of(3, lambda: dq.Engine(contract, now="2026-02-01T00:00:00Z", model=model).evaluate(events))
    plain_s, _ = best_of(3, lambda: dq.Engine(contract, now="2026-02-01T00:00:00Z").evaluate(events))

    n = len(X)
    print(f"\n{n:,} feature vectors ({len(events):,} events), isolation forest of 200 trees, 1 core\n")
    print("| scorer | seconds | vectors/s | vs scikit-learn |\n|---|---:|---:|---:|")
    for name, s, count in [("scikit-learn score_samples (whole array)", sk_s, n),
                           ("scikit-learn score_samples, one row per call (as a stream would)", one_s, len(single)),
                           ("libdq dq_model_score via Python, one call per vector", ours_s, n),
                           ("libdq engine: every event validated, cleaned and scored", stream_s, len(events)),
                           ("libdq engine without a model (online detector only)", plain_s, len(events))]:
        rate = count / s
        print(f"| {name} | {s:.2f} | {rate:,.0f} | {rate / (n / sk_s):.3g} x |")
    print(f"\nlargest score difference libdq vs scikit-learn: {gap:.1e}")

    import http.client
    import json
    import threading
    import model_service
    server = model_service.serve(path, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1])

    def post(rows):
        conn.request("POST", "/score", body=json.dumps({"features": rows}))
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200 and len(body["scores"]) == len(rows)
        return body["scores"]
    latencies = []
    for row in X[:3000].tolist():
        t0 = time.perf_counter()
        post([row])
        latencies.append((time.perf_counter() - t0) * 1000)
    p50, p99 = np.percentile(latencies, [50, 99])
    batched = min(n, 50_000) // 1000 * 1000
    batch_s, _ = best_of(3, lambda: [post(X[i:i + 1000].tolist()) for i in range(0, batched, 1000)])
    in_process_us = ours_s / n * 1e6
    server.shutdown()
    print("\n| model service (HTTP, 127.0.0.1, keep-alive) | value |\n|---|---:|")
    print(f"| one vector per request: p50 latency | {p50:.2f} ms |")
    print(f"| one vector per request: p99 latency | {p99:.2f} ms |")
    print(f"| one vector per request: requests/s | {1000 / np.mean(latencies):,.0f} |")
    print(f"| 1,000 vectors per request: vectors/s | {batched / batch_s:,.0f} |")
    print(f"| in-process libdq, one vector (for comparison) | {in_process_us:.1f} µs |")
    print(f"| p50 over the service / in-process | {p50 * 1000 / in_process_us:,.0f} x |")


if __name__ == "__main__":
    main()
