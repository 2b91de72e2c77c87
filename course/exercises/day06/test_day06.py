"""Day 6: a quality report with Spark (course/week2.md). The job runs in a local Spark on the
day's file (conftest.spark_quality_report: about 30 s), beside dq check on the same file."""
import csv
import json
import random
import re
import subprocess

from testenv import CONTRACT

NOW = "2026-11-26T00:00:00Z"  # the day's --now


VALID_ID = re.compile(r"sensor_[0-9]+")


def sensor_rows(report) -> list[dict]:
    with (report / "sensors.csv").open() as f:
        return list(csv.DictReader(f))


def test_1_the_reports_totals_against_dq_check(spark_quality_report, answer):
    _, _, report, summary = spark_quality_report
    overall = json.loads((report / "overall.json").read_text())[0]
    same = all(overall[k] == summary[k] for k in ("events", "pass", "fixed", "reject"))
    assert answer("day06", "totals_equal") == ("yes" if same else "no")
    rows = sensor_rows(report)
    extra = {row["sensor_id"] for row in rows if not VALID_ID.fullmatch(row["sensor_id"])}
    assert len(extra) == overall["sensors"] - summary["sensors"], (extra, overall["sensors"], summary["sensors"])
    reasons = [json.loads(row["reasons"]) for row in rows if row["sensor_id"] in extra]
    assert all(r.keys() == {answer("day06", "extra_sensors_reason").upper()} for r in reasons), reasons


def test_2_each_sensors_events_in_order(spark_quality_report, dq_bin, answer):
    """The premise: the same events in another order get other verdicts."""
    folder, events, _, summary = spark_quality_report
    lines = events.read_bytes().splitlines(keepends=True)
    random.Random(1).shuffle(lines)
    shuffled = folder / "shuffled.ndjson"
    shuffled.write_bytes(b"".join(lines))
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", shuffled, "--now", NOW, "--clean", "/dev/null",
                    "--rejects", "/dev/null", "--summary", folder / "shuffled.json"], check=True)
    reasons = json.loads((folder / "shuffled.json").read_text())["reasons"]
    assert reasons["LATE_EVENT"] > 10 * summary["reasons"]["LATE_EVENT"], (reasons, summary["reasons"])
    assert answer("day06", "why_in_order") == "b"


def test_3_the_sensor_of_lowest_validity(spark_quality_report, answer):
    _, _, report, _ = spark_quality_report
    worst = min((row for row in sensor_rows(report) if VALID_ID.fullmatch(row["sensor_id"])),
                key=lambda row: float(row["validity"]))
    assert answer("day06", "lowest_validity_sensor") == worst["sensor_id"].lower()
    reasons = json.loads(worst["reasons"])
    assert answer("day06", "lowest_validity_reason").upper() == max(reasons, key=reasons.get)


def test_4_the_reports_metrics_from_dq_check(spark_quality_report, script):
    _, events, report, _ = spark_quality_report
    overall = json.loads((report / "overall.json").read_text())[0]
    printed = (script("day06/ex4_metrics.sh", str(events)) / "stdout.txt").read_text().split()
    assert len(printed) == 2, printed
    completeness, validity = map(float, printed)
    assert abs(completeness - overall["completeness"]) < 6e-5 and abs(validity - overall["validity"]) < 6e-5, (
        printed, overall)
