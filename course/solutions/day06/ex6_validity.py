"""Day 6, exercise 6 (a solution): each sensor's validity from dq check's outputs alone.

validity_by_sensor(clean_ndjson, rejects_ndjson) returns {sensor_id: share of its events not
rejected}: a clean event's sensor is its "sensor_id"; a reject's is dq.stack.sensor_key(raw
bytes) of its original text ("raw", or base64 "raw_base64"), "" when none is found. Replace
the placeholder; `python course/exercises/day06/ex6_validity.py clean.ndjson rejects.ndjson`
prints the ten lowest.
"""
import base64
import collections
import json
import sys

from dq.stack import sensor_key


def validity_by_sensor(clean_ndjson: str, rejects_ndjson: str) -> dict[str, float]:
    events, rejected = collections.Counter(), collections.Counter()
    with open(clean_ndjson) as f:
        for event in map(json.loads, f):
            events[event["sensor_id"]] += 1
    with open(rejects_ndjson) as f:
        for reject in map(json.loads, f):
            raw = reject["raw"].encode() if "raw" in reject else base64.b64decode(reject.get("raw_base64", ""))
            sensor = sensor_key(raw)
            events[sensor] += 1
            rejected[sensor] += 1
    return {sensor: 1 - rejected[sensor] / n for sensor, n in events.items()}


if __name__ == "__main__":
    for sensor, validity in sorted(validity_by_sensor(*sys.argv[1:3]).items(), key=lambda kv: kv[1])[:10]:
        print(f"{sensor or '(none)':16} {validity:.4f}")
