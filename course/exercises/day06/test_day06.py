"""Day 6: a quality report with Spark (course/week2.md). The job runs in a local Spark on the
day's file (checks.spark_job: about a minute), beside dq check on the same file."""
import csv
import json
import random
import re
import subprocess

import pytest

from checks import spark_job
from testenv import CONTRACT

NOW = "2026-11-26T00:00:00Z"


VALID_ID = re.compile(r"sensor_[0-9]+")


def sensor_rows(report) -> list[dict]:
    with (report / "sensors.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def day6(tmp_path_factory, dq_bin):
    """The day's run: (folder, events, the job's report folder, dq check's summary)."""
    folder = tmp_path_factory.mktemp("day06")
    events = folder / "events.ndjson"
    with events.open("wb") as out:
        subprocess.run([dq_bin, "gen", "--count", "20000", "--seed", "5", "--start", "2026-11-20T00:00:00Z", "-q"],
                       stdout=out, check=True)
    report = folder / "spark_quality"
    spark_job("spark_data_quality_check", "--input", str(events), "--now", NOW, "--no-cassandra", "--out", str(report))
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", NOW, "--clean", "/dev/null",
                    "--rejects", "/dev/null", "--summary", folder / "summary.json"], check=True)
    return folder, events, report, json.loads((folder / "summary.json").read_text())


def test_1_the_reports_totals_against_dq_check(day6, answer):
    _, _, report, summary = day6
    overall = json.loads((report / "overall.json").read_text())[0]
    same = all(overall[k] == summary[k] for k in ("events", "pass", "fixed", "reject"))
    assert answer("day06", "totals_equal") == ("yes" if same else "no")
    rows = sensor_rows(report)
    extra = {row["sensor_id"] for row in rows if not VALID_ID.fullmatch(row["sensor_id"])}
    assert len(extra) == overall["sensors"] - summary["sensors"], (extra, overall["sensors"], summary["sensors"])
    reasons = [json.loads(row["reasons"]) for row in rows if row["sensor_id"] in extra]
    assert all(r.keys() == {answer("day06", "extra_sensors_reason").upper()} for r in reasons), reasons


def test_2_each_sensors_events_in_order(day6, dq_bin, answer):
    """The premise: the same events in another order get other verdicts."""
    folder, events, _, summary = day6
    lines = events.read_bytes().splitlines(keepends=True)
    random.Random(1).shuffle(lines)
    shuffled = folder / "shuffled.ndjson"
    shuffled.write_bytes(b"".join(lines))
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", shuffled, "--now", NOW, "--clean", "/dev/null",
                    "--rejects", "/dev/null", "--summary", folder / "shuffled.json"], check=True)
    reasons = json.loads((folder / "shuffled.json").read_text())["reasons"]
    assert reasons["LATE_EVENT"] > 10 * summary["reasons"]["LATE_EVENT"], (reasons, summary["reasons"])
    assert answer("day06", "why_in_order") == "b"


def test_3_the_sensor_of_lowest_validity(day6, answer):
    _, _, report, _ = day6
    worst = min((row for row in sensor_rows(report) if VALID_ID.fullmatch(row["sensor_id"])),
                key=lambda row: float(row["validity"]))
    assert answer("day06", "lowest_validity_sensor") == worst["sensor_id"].lower()
    reasons = json.loads(worst["reasons"])
    assert answer("day06", "lowest_validity_reason").upper() == max(reasons, key=reasons.get)
