"""Day 17, exercise 4 (a solution): the same reading, the same score, over HTTP.

scores_over_http(url, rows) POSTs the feature vectors `rows` (lists of floats, as
dq.Engine.features gives them) to the model service's /score as {"features": rows} and
returns its "scores" (urllib.request is enough: a Request with data= and a Content-Type of
application/json). Replace the placeholder; then, with `make model-service` running,
`python course/exercises/day17/ex4_service.py /tmp/stream.ndjson` scores day 17's stream
over HTTP, one vector per request, and prints the latency you would pay per reading.
"""
import json
import statistics
import sys
import time
import urllib.request

import dq

URL = "http://127.0.0.1:8765/score"


def scores_over_http(url: str, rows: list[list[float]]) -> list[float]:
    request = urllib.request.Request(url, data=json.dumps({"features": rows}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)["scores"]


if __name__ == "__main__":
    contract = dq.Contract("contracts/sensor_readings.yaml")
    with open(sys.argv[1], "rb") as f:
        rows = [row for row in dq.Engine(contract).features(f.read().splitlines()) if row]
    took = []
    for row in rows[:2000]:
        began = time.perf_counter()
        scores_over_http(URL, [row])
        took.append(time.perf_counter() - began)
    q = statistics.quantiles(took, n=100)
    print(f"{len(took)} requests of one vector: p50 {q[49] * 1e3:.2f} ms, p99 {q[98] * 1e3:.2f} ms")
