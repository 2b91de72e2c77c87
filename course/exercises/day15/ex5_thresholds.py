"""Day 15, exercise 5: each sensor's own flag threshold, read back from its scores.

Under a false-alarm budget (the contract's alarmsPerDay) each sensor has its own flag
threshold T, and a scored clean event's "dq": {"anomaly": {"z": ..., "score": ...}} has
score = z / (z + T). flag_thresholds(clean_ndjson) returns {sensor_id: T at the sensor's last
scored reading (score > 0)}. Replace the placeholder; `python
course/exercises/day15/ex5_thresholds.py clean.ndjson` prints them, lowest first.
"""
import json
import sys


def flag_thresholds(clean_ndjson: str) -> dict[str, float]:
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    for sensor, threshold in sorted(flag_thresholds(sys.argv[1]).items(), key=lambda kv: kv[1]):
        print(f"{sensor:12} {threshold:6.2f}")
