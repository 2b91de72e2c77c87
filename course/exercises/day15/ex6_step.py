"""Day 15, exercise 6: a step that holds.

series(shift) is one quiet sensor every 10 s: 200 readings around 20 °C (scatter 0.1 °C), then
the same plus `shift` for 800 more. flagged_after_step(shift) judges the series with dq.Engine
(the course contract) and returns how many readings in a row, from the step's first, the
online detector flags (the "flag" in each clean event's "dq": {"anomaly": ...}). Replace the
placeholder; `python course/exercises/day15/ex6_step.py` prints both steps' counts.
"""
import datetime as dt
import json
import random
from pathlib import Path

import dq

CONTRACT = Path(__file__).resolve().parents[3] / "contracts" / "sensor_readings.yaml"
STEP_AT = 200


def series(shift: float) -> list[str]:
    rng, start = random.Random(1), dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return [json.dumps({"sensor_id": "sensor_1", "timestamp": (start + dt.timedelta(seconds=10 * i)).isoformat(),
                        "temperature": round(20 + rng.gauss(0, 0.1) + (shift if i >= STEP_AT else 0), 2),
                        "humidity": 40.0}) for i in range(STEP_AT + 800)]


def flagged_after_step(shift: float) -> int:
    engine = dq.Engine(dq.Contract(CONTRACT), now="2026-02-01T00:00:00Z")
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    for shift in (1.0, 3.0):
        print(f"a step of {shift} °C: flagged {flagged_after_step(shift)} readings in a row")
