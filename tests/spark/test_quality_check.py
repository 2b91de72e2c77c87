"""Days 6-7 (spark_data_quality_check.py): libdq's verdicts through Spark equal dq check's,
the report adds up to dq check's summary, the hourly windows to an independent count, and
the Spark-native checks agree with libdq's findings on the shared vectors."""
import collections
import datetime as dt
import json
import subprocess

import pytest

import dq
import dq_spark
import spark_data_quality_check as job
from conftest import DQ, ROOT, kafka_rows
from vector_cases import event_bytes, load_cases

CASES = list(load_cases())
NOW = "2026-11-26T05:00:00Z"


@pytest.fixture(scope="module")
def vectors(spark):
    """Every vector case as its own topic (sensor state does not leak between cases)."""
    assert {c["now"] for c in CASES} == {NOW}
    events = kafka_rows(spark, {c["where"]: [event_bytes(e) for e in c["events"]] for c in CASES})
    judged = dq_spark.judge_all(events, dq.parse_time(NOW)).persist()
    return events, judged


def test_verdicts_are_the_vectors(vectors):
    _, judged = vectors
    got = {(r["topic"], r["offset"]): (r["verdict"], sorted(r["reasons"]))
           for r in judged.select("topic", "offset", "verdict", "reasons").collect()}
    want = {(c["where"], i): (e["verdict"], sorted(e["reasons"])) for c in CASES for i, e in enumerate(c["expect"])}
    assert got == want


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    """3,000 generated events with every defect, judged by dq check and by Spark from the file."""
    tmp = tmp_path_factory.mktemp("gen")
    events = tmp / "events.ndjson"
    with open(events, "wb") as out:
        subprocess.run([DQ, "gen", "--count", "3000", "--seed", "3", "--start", "2026-01-01T00:00:00Z", "-q"],
                       stdout=out, check=True)
    subprocess.run([DQ, "check", "-c", ROOT / "contracts" / "sensor_readings.yaml", "-i", events, "-q",
                    "--now", "2026-01-02T00:00:00Z", "--rejects", tmp / "rejects.ndjson",
                    "--summary", tmp / "summary.json"], check=True)
    judged = dq_spark.judge_all(dq_spark.read_events(spark, str(events)), dq.parse_time("2026-01-02T00:00:00Z"))
    return {"events": events, "judged": judged.withColumn("ts", dq_spark.event_time()).persist(),
            "summary": json.loads((tmp / "summary.json").read_text()),
            "rejected_lines": {json.loads(x)["line"] for x in (tmp / "rejects.ndjson").read_text().splitlines()}}


def test_a_file_read_by_spark_gets_dq_checks_verdicts(generated):
    judged = generated["judged"]
    assert {r["offset"] + 1 for r in judged.where("verdict = 'REJECT'").select("offset").collect()} \
        == generated["rejected_lines"]
    assert judged.count() == generated["summary"]["events"] == 3000


def test_overall_and_per_check_add_up_to_dq_checks_summary(generated):
    summary = generated["summary"]
    total = job.overall(generated["judged"]).collect()[0]
    assert (total["events"], total["pass"], total["fixed"], total["reject"]) == \
        (summary["events"], summary["pass"], summary["fixed"], summary["reject"])
    assert dict(total["reasons"]) == summary["reasons"]
    assert total["validity"] == pytest.approx(1 - summary["reject"] / summary["events"])
    checks = {r["reason"]: r for r in job.per_check(generated["judged"]).collect()}
    assert {r: c["events"] for r, c in checks.items()} == summary["reasons"]
    assert all(c["pass"] + c["fixed"] + c["reject"] == c["events"] for c in checks.values())
    assert checks["MALFORMED_JSON"]["reject"] == checks["MALFORMED_JSON"]["events"]
    assert checks["SPIKE"]["share"] == pytest.approx(summary["reasons"]["SPIKE"] / 3000)


def test_per_sensor_and_hourly_windows_equal_an_independent_count(generated):
    """The same events counted in plain Python from libdq's own results."""
    raws = generated["events"].read_bytes().split(b"\n")[:-1]
    res = dq.Engine(dq.Contract(ROOT / "contracts" / "sensor_readings.yaml"), now="2026-01-02T00:00:00Z").evaluate(raws)
    sensors, windows = collections.Counter(), collections.defaultdict(collections.Counter)
    for raw, verdict, reasons, ms in zip(raws, res.verdicts, res.reasons, res.event_time_ms):
        sensor = dq_spark.sensor_key(raw) or job.NO_SENSOR
        sensors[sensor, verdict] += 1
        if ms is not None and "FUTURE_TIMESTAMP" not in reasons:
            hour = dt.datetime.fromtimestamp(ms // 3_600_000 * 3600, dt.timezone.utc).replace(tzinfo=None)
            for key in (sensor, job.ALL_SENSORS):
                windows[key, hour].update(["events", verdict] + [f"r:{r}" for r in reasons])
    got = {r["sensor_id"]: r for r in job.per_sensor(generated["judged"]).collect()}
    assert {(s, v): n for s, r in got.items() for v in ("PASS", "FIXED", "REJECT")
            if (n := r[v.lower()])} == dict(sensors)
    rows = job.metrics_rows(job.hourly_windows(generated["judged"].where("ts IS NOT NULL"))).collect()
    assert len(rows) == len(windows) > 100
    for r in rows:
        want = windows[r["sensor_id"], r["window_start"]]
        assert (r["events"], r["pass"], r["fixed"], r["reject"]) == \
            (want["events"], want["PASS"], want["FIXED"], want["REJECT"]), r
        assert dict(r["reasons"] or {}) == {k[2:]: n for k, n in want.items() if k.startswith("r:")}
        assert r["completeness"] == pytest.approx(1 - want["r:MISSING_FIELD"] / want["events"])
        assert r["date_hour"] == r["window_start"] and r["processed_by"] == "spark"


STRUCTURAL = set(dq.REASONS[1:10])  # codes 1-9: no fields to check


def test_spark_native_checks_agree_with_libdq_on_the_vectors(vectors):
    """Each native check fires exactly on the events where libdq reports that finding for
    that field (events libdq could not parse apart: Spark has no fields there)."""
    events, judged = vectors
    findings = collections.defaultdict(set)
    for r in job.findings(judged).collect():
        if not (r["reason"] == "WRONG_TYPE" and r["action"] == "coerced"):  # a numeric string: fixed, not found
            findings[r["topic"], r["offset"]].add(f"{r['field']}:{r['reason']}")
    parsed = {(r["topic"], r["offset"]) for r in judged.collect() if not STRUCTURAL & set(r["reasons"])}
    compared = collections.Counter()
    for r in job.native_flags(events).collect():
        where = (r["topic"], r["offset"])
        if where not in parsed:
            continue
        fired = {name for name, value in r.asDict().items() if ":" in name and value}
        assert fired == findings[where] & set(job.native_flags(events).columns), where
        compared.update(fired)
    assert len(parsed) > 100 and len(compared) >= 10  # most checks seen firing somewhere


def test_native_report_counts_what_the_flags_say(spark):
    events = kafka_rows(spark, {"t": [b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T00:00:00Z","temperature":99,'
                                      b'"humidity":"x","status":"broken"}',
                                      b'{"sensor_id":"bad","timestamp":"2026-11-26T00:00:00Z","temperature":20,'
                                      b'"humidity":40}']})
    report = job.native_report(events).collect()[0].asDict()
    assert {k for k, v in report.items() if v} == {"temperature:OUT_OF_RANGE", "humidity:WRONG_TYPE",
                                                  "status:NOT_IN_ENUM", "sensor_id:PATTERN_MISMATCH"}
    assert all(v in (0, 1) for v in report.values())
