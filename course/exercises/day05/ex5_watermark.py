"""Day 5, exercise 5: watermarks by hand.

behind_watermark(times_ms, bound_ms) returns how many of the event times (milliseconds, in
arrival order) lie below the watermark when they arrive: the largest time seen before them
minus bound_ms. Replace the placeholder; `python course/exercises/day05/ex5_watermark.py
events.ndjson` prints the counts at 0, 1 minute and 3 minutes.
"""
import datetime as dt
import json
import sys


def behind_watermark(times_ms: list[int], bound_ms: int) -> int:
    return TODO  # noqa: F821  (yours replaces it)


def event_times(path: str) -> list[int]:
    with open(path) as f:
        return [int(dt.datetime.fromisoformat(json.loads(line)["timestamp"]).timestamp() * 1000) for line in f]


if __name__ == "__main__":
    times = event_times(sys.argv[1])
    for bound in (0, 60_000, 180_000):
        print(f"bound {bound // 1000:4} s: {behind_watermark(times, bound):5} events behind the watermark")
