"""Day 3, exercise 7: the same message twice.

stream() returns the lines (JSON text) of one sensor, sensor_1, reporting every 10 s for 20
minutes: 121 readings from 2026-11-25T10:00:00Z ("timestamp" as 2026-11-25T10:00:10Z, any
temperature and humidity in range), with its second line sent again right after its third,
and its first line again at the very end: 123 lines. Replace the placeholder; then `python
course/exercises/day03/ex7_redelivered.py > /tmp/copies.ndjson`, check it with dq check
(--now 2026-11-26T00:00:00Z) and answer in answers.toml.
"""
import datetime as dt
import json

START = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc)


def stream() -> list[str]:
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    print("\n".join(stream()))
