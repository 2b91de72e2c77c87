"""Day 9: imputation (course/week2.md). spark_data_cleaning runs in a local Spark on the day's
file with --impute last_good and median (conftest.spark_cleaning: about 30 s each)."""
import json
import subprocess
from pathlib import Path

from checks import json_lines
from scoring import generate
from testenv import CONTRACT


def imputation_errors(rows: list[dict]) -> list[float]:
    """|imputed temperature - the sensor's next real one| for each imputed temperature."""
    by_sensor = {}
    for row in rows:
        by_sensor.setdefault(row["sensor_id"], []).append(row)
    errors = []
    for readings in by_sensor.values():
        readings.sort(key=lambda r: r["timestamp"])  # one ISO format, UTC: text order is time order
        for i, row in enumerate(readings):
            if "temperature:imputed" in row["cleaning"]:
                later = (r for r in readings[i + 1:] if "temperature:imputed" not in r["cleaning"])
                following = next(later, None)
                if following:
                    errors.append(abs(row["temperature"] - following["temperature"]))
    return errors


def test_1_last_good_against_median(spark_cleaning, answer):
    mae = {}
    for policy in ("last_good", "median"):
        errors = imputation_errors(json_lines(spark_cleaning(policy)[0] / "clean"))
        assert len(errors) > 100
        mae[policy] = sum(errors) / len(errors)
        assert abs(float(answer("day09", f"mae_{policy}")) - mae[policy]) <= 0.006, mae
    assert answer("day09", "closer") == min(mae, key=mae.get)


def imputed_temperatures(folder) -> set[float]:
    return {row["temperature"] for row in json_lines(folder / "clean") if "temperature:imputed" in row["cleaning"]}


def test_2_a_median_from_another_day(spark_cleaning, course_history, answer):
    own = imputed_temperatures(spark_cleaning("median")[0])
    other = imputed_temperatures(spark_cleaning("median", course_history)[0])
    assert len(own) == len(other) == 1, (own, other)  # one median for every missing reading
    moved = other.pop() - own.pop()
    print(f"moved {moved:.3f}")
    assert abs(moved) > 0.5  # the exercise shows something: another time of day, another median
    assert abs(float(answer("day09", "median_moves")) - moved) <= 0.006, moved
    assert answer("day09", "why") == "b"


def test_3_rejected_because_the_last_good_value_was_too_old(spark_cleaning, answer):
    rejects = json_lines(spark_cleaning("last_good")[0] / "rejects")
    missing = [json.loads(row["raw"]) for row in rejects if row["reasons"] == ["MISSING_FIELD"]]
    # a reading without a temperature or humidity, with a timestamp, had no recent good value
    too_old = sum("timestamp" in event and not {"temperature", "humidity"} <= event.keys() for event in missing)
    assert int(answer("day09", "too_old")) == too_old
    # the course: "what the 14 MISSING_FIELD rejects there are": events without a timestamp
    assert len(missing) == 14 and not any("timestamp" in event for event in missing), len(missing)


def missing_values(dq_bin, tmp_path, interval) -> tuple[Path, int]:
    """20,000 readings with missing values only, every interval: (events, how many missing)."""
    folder = tmp_path / interval
    folder.mkdir()
    events, truth = generate(dq_bin, folder, interval, "--seed", "5", "--defects", "none,missing_value=0.02",
                             sensors=100, count=20_000, start="2026-11-20T00:00:00Z")
    return events, truth.read_text().count(",missing_value")


def imputed(dq_bin, contract, events) -> int:
    """The missing readings dq check imputes with the contract."""
    summary = subprocess.run([dq_bin, "check", "-q", "-c", contract, "-i", events, "--now", "2026-12-30T00:00:00Z",
                              "--summary", "/dev/stdout"], capture_output=True, check=True).stdout
    return json.loads(summary)["fixed"]


def test_4_an_age_limit_in_the_sensors_intervals(dq_bin, script, tmp_path, answer):
    mine = script("day09/ex4_max_age.sh") / "my.yaml"
    changed = [(a, b) for a, b in zip(CONTRACT.read_text().splitlines(), mine.read_text().splitlines()) if a != b]
    assert len(changed) == 2 and all("maxAge: 5m" in a and "interval" in b for a, b in changed), changed
    slow, missing = missing_values(dq_bin, tmp_path, "6m")
    course, yours = imputed(dq_bin, CONTRACT, slow), imputed(dq_bin, mine, slow)
    assert course == 0 and yours > 0.98 * missing, (course, yours, missing)
    # At 10 s about the same: only a sensor's first intervals differ (a span in intervals waits for its cadence)
    fast, fast_missing = missing_values(dq_bin, tmp_path, "10s")
    fast_course, fast_yours = imputed(dq_bin, CONTRACT, fast), imputed(dq_bin, mine, fast)
    assert fast_course - 0.03 * fast_missing <= fast_yours <= fast_course, (fast_yours, fast_course)
    assert (int(answer("day09", "imputed_at_6m")), int(answer("day09", "imputed_at_6m_yours"))) == (course, yours)


def jumps_to_imputed(rows: list[dict], over: float) -> int:
    """How many imputed temperatures lie more than `over` °C from the sensor's previous real one."""
    by_sensor = {}
    for row in rows:
        by_sensor.setdefault(row["sensor_id"], []).append(row)
    jumps = 0
    for readings in by_sensor.values():
        readings.sort(key=lambda r: r["timestamp"])
        previous = None
        for row in readings:
            if "temperature:imputed" not in row["cleaning"]:
                previous = row["temperature"]
            elif previous is not None:
                jumps += abs(row["temperature"] - previous) > over
    return jumps


def test_5_an_imputed_value_is_no_measurement(spark_cleaning, answer):
    counts = {policy: jumps_to_imputed(json_lines(spark_cleaning(policy)[0] / "clean"), 1.0)
              for policy in ("last_good", "median")}
    print(f"  imputed temperatures over 1 °C from the previous real one: {counts}")
    assert counts["last_good"] == 0 and counts["median"] > 50, counts
    assert int(answer("day09", "median_jumps")) == counts["median"]
    assert answer("day09", "not_scored") == "b"


def test_6_imputing_does_not_raise_completeness(dq_bin, course_events, tmp_path, answer):
    summary, rejects = tmp_path / "summary.json", tmp_path / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", course_events, "--now", "2026-11-26T00:00:00Z",
                    "--clean", "/dev/null", "--rejects", rejects, "--summary", summary], check=True)
    s = json.loads(summary.read_text())
    # the premise: every missing reading of the file was imputed, none rejected for it
    assert not any("MISSING_FIELD" in json.loads(line)["dq"]["reasons"] for line in rejects.open())
    completeness = 1 - s["reasons"]["MISSING_FIELD"] / s["events"]
    assert completeness < 1 and abs(float(answer("day09", "completeness")) - completeness) < 5e-5, completeness
    assert answer("day09", "as_they_came") == "b"
