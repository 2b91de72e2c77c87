"""Day 7: libdq beside Spark-native checks (course/week2.md). Exercise 1 reads day 6's report
(conftest.spark_quality_report); exercise 2 runs your Spark check in a local Spark."""
import json

from checks import PYTHON_SPARK, chosen, spark_python


def objects(events):
    """The JSON objects of an events file, in order (the lines that are none left out)."""
    for line in events.open():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def test_1_what_the_native_column_counts_more(spark_quality_report, answer):
    folder, _, report, summary = spark_quality_report
    native = json.loads((report / "native_checks.json").read_text())[0]["timestamp:MISSING_FIELD"]
    ours = sum(finding.get("field") == "timestamp" and finding["reason"] == "MISSING_FIELD"
               for name in ("clean.ndjson", "rejects.ndjson") for line in (folder / name).open()
               for finding in json.loads(line)["dq"].get("findings", []))
    reason = answer("day07", "native_extra_reason").upper()
    assert native > ours and summary["reasons"].get(reason) == native - ours, (native, ours, summary["reasons"])


def test_2_a_spark_native_duplicate_check(spark_quality_report, answer):
    assert PYTHON_SPARK.exists(), "no spark venv: run 'make exercise DAY=7' (it makes it)"
    _, events, _, summary = spark_quality_report
    found = int(spark_python(chosen("day07/ex2_duplicates.py"), str(events)).split()[-1])
    repeated, seen = 0, set()  # the same definition in plain Python
    for event in objects(events):
        key = (event.get("sensor_id"), event.get("timestamp"))
        if None not in key:
            repeated += key in seen
            seen.add(key)
    assert found == repeated, (found, repeated)
    assert int(answer("day07", "spark_duplicates")) == found
    assert int(answer("day07", "libdq_duplicates")) == summary["reasons"]["DUPLICATE_EVENT"]
    assert answer("day07", "why_more") == "b"


def test_4_a_spark_native_range_check(spark_quality_report, answer):
    folder, events, _, _ = spark_quality_report
    found = int(spark_python(chosen("day07/ex4_out_of_range.py"), str(events)).split()[-1])
    libdq = sum(finding.get("field") == "temperature" and finding["reason"] == "OUT_OF_RANGE"
                for line in (folder / "rejects.ndjson").open() for finding in json.loads(line)["dq"]["findings"])
    assert found == libdq > 100, (found, libdq)
    # the premise: temperatures sent as text make Spark's reader type the column string
    texts = sum(isinstance(event.get("temperature"), str) for event in objects(events))
    assert texts > 0 and answer("day07", "temperature_type") == "string"


def test_5_a_spark_native_pattern_check(spark_quality_report, answer):
    folder, events, _, _ = spark_quality_report
    found = int(spark_python(chosen("day07/ex5_bad_ids.py"), str(events)).split()[-1])
    findings = (f for line in (folder / "rejects.ndjson").open() for f in json.loads(line)["dq"].get("findings", []))
    libdq = sum(f.get("field") == "sensor_id" and f["reason"] == "PATTERN_MISMATCH" for f in findings)
    assert found == libdq > 50, (found, libdq)
    assert answer("day07", "anchors") == "b"
