"""Day 6: a quality report with Spark (course/week2.md). The job runs in a local Spark on the
day's file (conftest.spark_quality_report: about 30 s), beside dq check on the same file."""
import csv
import json
import random
import re
import subprocess

from checks import module_of
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


def test_5_one_reason_several_fates(spark_quality_report, answer):
    folder, _, report, _ = spark_quality_report
    checks = {row["reason"]: row for row in json.loads((report / "checks.json").read_text())}
    assert checks["WRONG_TYPE"]["fixed"] > 0 and checks["WRONG_TYPE"]["reject"] > 0, checks["WRONG_TYPE"]
    actions = {}  # WRONG_TYPE's action on a FIXED event and on a rejected one, from dq check's outputs
    warned_fixed = []
    for name in ("clean.ndjson", "rejects.ndjson"):
        for dq in (json.loads(line)["dq"] for line in (folder / name).open()):
            for f in dq.get("findings", []):
                if f["reason"] == "WRONG_TYPE":
                    actions.setdefault(dq["status"], set()).add(f["action"])
            if dq["status"] == "FIXED" and {"NOISE", "STUCK_VALUE"} & set(dq["reasons"]):
                warned_fixed.append(dq.get("findings", []))
    assert actions["FIXED"] == {"coerced"} and actions["REJECT"] == {"reject"}, actions
    assert answer("day06", "wrong_type_split") == "b"
    assert warned_fixed and all(any(f["action"] not in ("warn", "reject") for f in findings)
                                for findings in warned_fixed), warned_fixed[:3]
    assert answer("day06", "warn_then_fixed") == "b"


def test_6_per_sensor_validity_from_dq_check(spark_quality_report):
    folder, _, report, _ = spark_quality_report
    mine = module_of("day06/ex6_validity.py").validity_by_sensor(str(folder / "clean.ndjson"),
                                                                str(folder / "rejects.ndjson"))
    rows = {row["sensor_id"]: float(row["validity"]) for row in sensor_rows(report)
            if VALID_ID.fullmatch(row["sensor_id"])}
    assert len(rows) >= 100 and all(abs(mine[s] - v) < 1e-9 for s, v in rows.items()), \
        [(s, mine.get(s), v) for s, v in rows.items() if abs(mine.get(s, -1) - v) >= 1e-9][:5]
