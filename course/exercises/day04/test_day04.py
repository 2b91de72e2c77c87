"""Day 4: stream processing with Flink (course/week1.md). The job's functions run here as
plain Python, as tests/flink does: no Flink needed."""
import collections
import csv
import json
import subprocess
import sys

from checks import ROOT, module_of
from testenv import CONTRACT

sys.path.insert(0, str(ROOT / "flink_jobs"))
import flink_stream_processing as day4  # noqa: E402


def listed(text: str) -> set[str]:
    return {name.strip() for name in text.split(",") if name.strip()}


def test_1_why_the_metadata_is_a_dict(answer):
    assert "broadcast to every task as a plain dict: it" in day4.__doc__  # what the answer rests on
    assert answer("day04", "why_a_dict") == "b"


def test_2_a_derived_field_beside_the_jobs_own():
    module = module_of("day04/ex2_enrich.py")
    metadata = day4.load_metadata()
    for temperature, half in ((21.26, 21.5), (21.24, 21.0), (-0.3, -0.5), (-0.2, 0.0), (59.8, 60.0), (20, 20.0)):
        reading = {"sensor_id": "sensor_7", "timestamp": "2026-01-01T00:00:00Z", "temperature": temperature,
                   "humidity": 50.0}
        row = module.enrich_more(dict(reading), metadata)
        assert row.pop("temperature_half") == half, (temperature, half)
        assert row == day4.enrich(dict(reading), metadata)  # the job's own fields, unchanged


def test_3_what_the_job_drops_and_what_dq_check_does_instead(dq_bin, tmp_path, answer):
    events, truth = tmp_path / "events.ndjson", tmp_path / "truth.csv"
    with events.open("wb") as out:
        subprocess.run([dq_bin, "gen", "--count", "20000", "--seed", "7", "--start", "2026-01-01T00:00:00Z",
                        "--truth", truth, "-q"], stdout=out, check=True)
    rejects = tmp_path / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", "2026-01-02T00:00:00Z",
                    "--clean", "/dev/null", "--rejects", rejects], check=True)
    rejected = {json.loads(line)["line"] for line in rejects.open()}
    # defect -> {(the job keeps it, dq check rejects it): readings}
    fate = collections.defaultdict(collections.Counter)
    with events.open() as lines, truth.open() as rows:
        for number, (line, row) in enumerate(zip(lines, csv.DictReader(rows)), 1):
            reading = day4.parse_reading(line)
            fate[row["defect"]][reading is not None and day4.is_valid_sensor(reading), number in rejected] += 1
    drops = {d for d, c in fate.items() if c[False, False] + c[False, True]}
    assert listed(answer("day04", "job_drops")) == drops, dict(fate)
    assert listed(answer("day04", "dq_repairs")) == {d for d in drops if not fate[d][False, True]}
    assert listed(answer("day04", "dq_rejects")) == {
        d for d, c in fate.items() if d not in drops and c[True, True] == sum(c.values())}



def larger_fleet(dq_bin) -> list[str]:
    """Exercise 4's 12,000 readings of 1,200 sensors."""
    return subprocess.run([dq_bin, "gen", "--count", "12000", "--sensors", "1200", "--seed", "7", "--start",
                           "2026-01-01T00:00:00Z", "-q"], capture_output=True, check=True).stdout.decode().splitlines()


def test_4_a_fleet_larger_than_its_metadata(dq_bin, answer):
    lines = larger_fleet(dq_bin)
    metadata = day4.load_metadata()
    assert len(metadata) == 1000  # what the answers rest on
    kept = [r for r in map(day4.parse_reading, lines) if r is not None and day4.is_valid_sensor(r)]
    unknown = sum(day4.enrich(reading, metadata)["location"] == "unknown" for reading in kept)
    assert (int(answer("day04", "kept")), int(answer("day04", "unknown_location"))) == (len(kept), unknown)
    assert answer("day04", "unknown_sensors") == "b"


def test_5_a_side_output_for_what_the_job_drops(dq_bin):
    route = module_of("day04/ex5_route.py").route
    metadata = day4.load_metadata()
    counts = collections.Counter()
    for line in larger_fleet(dq_bin):
        reading = day4.parse_reading(line)
        if reading is None:
            want = ("dropped", "unparseable")
        elif not day4.is_valid_sensor(reading):
            want = ("dropped", "invalid_sensor_id")
        elif reading["sensor_id"] not in metadata:
            want = ("dropped", "unknown_sensor")
        else:
            want = ("enriched", day4.enrich(reading, metadata))
        assert route(line, metadata) == want, line
        counts[want[0] if want[0] == "enriched" else want[1]] += 1
    print(f"  routes: {dict(counts)}")
    assert min(counts.values()) > 50 and len(counts) == 4


def test_6_absent_or_null(dq_bin, answer):
    lines = subprocess.run([dq_bin, "gen", "--count", "20000", "--seed", "7", "--start", "2026-01-01T00:00:00Z", "-q"],
                           capture_output=True, check=True).stdout.decode().splitlines()
    metadata = day4.load_metadata()
    kept = (r for r in map(day4.parse_reading, lines) if r is not None and day4.is_valid_sensor(r))
    rows = [day4.enrich(r, metadata) for r in kept]
    absent = sum("dew_point_c" not in row for row in rows)
    wet = day4.enrich({"sensor_id": "sensor_7", "timestamp": "2026-01-01T00:00:00Z", "temperature": 20.0,
                       "humidity": 120.0}, metadata)
    assert "dew_point_c" in wet and wet["dew_point_c"] is None  # the other spelling
    assert int(answer("day04", "dew_point_absent")) == absent > 100
    assert answer("day04", "two_spellings") == "b"
