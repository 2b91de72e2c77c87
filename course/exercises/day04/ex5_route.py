"""Day 4, exercise 5: a side output's decision, as plain Python.

route(line, metadata) returns ("enriched", enrich(reading, metadata)) for a reading the job keeps
whose sensor is in the metadata, else ("dropped", why): "unparseable" where parse_reading gives
None, "invalid_sensor_id" where is_valid_sensor says no, "unknown_sensor" where the metadata has
no such sensor. Use the job's functions (flink_jobs/flink_stream_processing.py). Replace the
placeholder; `python course/exercises/day04/ex5_route.py events.ndjson` prints the counts per
route.
"""
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "flink_jobs"))
from flink_stream_processing import enrich, is_valid_sensor, load_metadata, parse_reading  # noqa: E402,F401


def route(line: str, metadata: dict[str, dict]) -> tuple[str, object]:
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    metadata = load_metadata()
    with open(sys.argv[1]) as f:
        counts = collections.Counter(kind if kind == "enriched" else f"dropped: {what}"
                                     for kind, what in (route(line, metadata) for line in f))
    for name, n in counts.most_common():
        print(f"{name:28} {n:7,}")
