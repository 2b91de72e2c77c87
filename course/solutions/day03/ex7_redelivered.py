"""Day 3, exercise 7 (a solution): the same message twice. See the starting point for the task."""
import datetime as dt
import json

START = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc)


def stream() -> list[str]:
    lines = [json.dumps({"sensor_id": "sensor_1", "timestamp": (START + dt.timedelta(seconds=10 * i))
                         .strftime("%Y-%m-%dT%H:%M:%SZ"), "temperature": round(21.5 + 0.01 * (i % 3), 2),
                         "humidity": 40.0}) for i in range(121)]
    return lines[:3] + [lines[1]] + lines[3:] + [lines[0]]


if __name__ == "__main__":
    print("\n".join(stream()))
