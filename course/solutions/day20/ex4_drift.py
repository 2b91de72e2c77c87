"""Day 20, exercise 4 (capstone): a defect the generator does not make, carried through the
week's tools. Reads dq gen's NDJSON on stdin and writes it to stdout with the defect added to
one sensor's readings from a given time on; the numbers of the lines it changed (1-based) go
to the file named first, one a line: the truth of your defect.

    build/dq gen --sensors 10 --interval 1m --count 7200 --seed 20 --start 2026-01-01T00:00:00Z -q \\
      | ~/.cache/dq-platform/venv/core/bin/python course/exercises/day20/ex4_drift.py /tmp/drift_truth.txt \\
      > /tmp/drift.ndjson
"""
import json
import sys
from datetime import datetime

SENSOR = "sensor_3"
BEGINS_AFTER_S = 2 * 3600  # the sensor's first two hours stay as they were: its history
DRIFT_PER_HOUR = 0.5  # °C


def add_defect(reading: dict, since_s: float) -> bool:
    """Adds the defect to one of SENSOR's readings, since_s seconds after the defect began;
    True when it changed the reading (readings without a numeric temperature stay as they are)."""
    temperature = reading.get("temperature")
    if type(temperature) not in (int, float):
        return False
    reading["temperature"] = round(temperature + DRIFT_PER_HOUR * since_s / 3600, 2)
    return True


def event_time(reading: dict) -> float | None:
    try:
        return datetime.fromisoformat(reading["timestamp"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None  # the generator's broken timestamps: left as they are


def main() -> None:
    first = None
    with open(sys.argv[1], "w") as truth:
        for number, line in enumerate(sys.stdin.buffer, 1):
            try:
                reading = json.loads(line)
            except ValueError:
                reading = None
            if isinstance(reading, dict) and reading.get("sensor_id") == SENSOR \
                    and (when := event_time(reading)) is not None:
                first = when if first is None else first
                if when - first >= BEGINS_AFTER_S and add_defect(reading, when - first - BEGINS_AFTER_S):
                    line = (json.dumps(reading, separators=(",", ":")) + "\n").encode()
                    truth.write(f"{number}\n")
            sys.stdout.buffer.write(line)


if __name__ == "__main__":
    main()
