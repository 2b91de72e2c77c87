"""Day 13: analytical SQL (course/week3.md). Your queries run in a local Spark over tables made
from generated events (checks.spark_sql: the same Spark SQL as spark_analysis.py over
Cassandra), against the same answers computed in plain Python."""
import collections
import csv
import datetime as dt
import decimal
import json
import statistics
import subprocess

from checks import ROOT, chosen, spark_sql
from testenv import CONTRACT

DATA_SCHEMA = "sensor_id STRING, ts TIMESTAMP, temperature DOUBLE, humidity DOUBLE"
REJECTS_SCHEMA = "day DATE, sensor_id STRING, ts TIMESTAMP, reasons ARRAY<STRING>, dq_annotation STRING"


def test_1_time_weighted_against_plain(script, tmp_path, answer):
    folder = script("day13/ex1_readings.sh")
    rows = [json.loads(line) for line in (folder / "readings.ndjson").open()]
    (result,) = spark_sql(ROOT / "analysis" / "09_time_weighted_humidity.sql",
                          {"sensor_data": (rows, "sensor_id STRING, ts TIMESTAMP, humidity DOUBLE")}, tmp_path)
    assert abs(result["time_weighted_humidity"] - result["plain_average_humidity"]) >= 10, result
    assert abs(float(answer("day13", "time_weighted")) - result["time_weighted_humidity"]) <= 0.001, result


def stream(dq_bin, folder, *defects) -> tuple[list[dict], list[dict], list[dict]]:
    """100 sensors every 10 s with the given defects only: (accepted readings as sensor_data
    rows, rejects as sensor_rejects rows, the truth)."""
    events, truth = folder / "events.ndjson", folder / "truth.csv"
    with events.open("wb") as out:
        subprocess.run([dq_bin, "gen", "--sensors", "100", "--count", "50000", "--interval", "10s", "--seed", "3",
                        "--start", "2026-01-01T00:00:00Z", "--defects", ",".join(("none", *defects)),
                        "--truth", truth, "-q"], stdout=out, check=True)
    clean, rejects = folder / "clean.ndjson", folder / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", "2026-01-09T00:00:00Z",
                    "--clean", clean, "--rejects", rejects], check=True)
    data = [{"sensor_id": e["sensor_id"], "ts": e["timestamp"], "temperature": e["temperature"],
             "humidity": e.get("humidity")} for e in map(json.loads, clean.open())]
    rejected = []
    for r in map(json.loads, rejects.open()):
        try:
            event = json.loads(r["raw"])
        except ValueError:
            event = {}
        sensor = event.get("sensor_id") if isinstance(event, dict) else None
        rejected.append({"day": "2026-01-01", "sensor_id": sensor if isinstance(sensor, str) else None,
                         "ts": None, "reasons": r["dq"]["reasons"], "dq_annotation": json.dumps(r["dq"])})
    with truth.open() as f:
        return data, rejected, list(csv.DictReader(f))


def test_2_sessions_split_at_five_minutes(dq_bin, tmp_path):
    data, _, truth = stream(dq_bin, tmp_path, "gap=0.001")
    rows = spark_sql(chosen("day13/ex2_sessions.sql"), {"sensor_data": (data, DATA_SCHEMA)}, tmp_path)
    sessions = collections.Counter(r["sensor_id"] for r in rows)
    gaps = collections.Counter(t["sensor_id"] for t in truth if t["defect"] == "gap")
    assert sum(gaps.values()) >= 20
    assert sessions == {s: 1 + gaps[s] for s in {d["sensor_id"] for d in data}}, (sessions, gaps)


def half_up(a: int, b: int) -> float:
    """a / b to 3 decimals as Spark's round() does it (half up; Python's round() goes to even)."""
    return float((decimal.Decimal(a) / b).quantize(decimal.Decimal("0.001"), decimal.ROUND_HALF_UP))


def test_3_the_late_share_of_each_sensors_rejects(dq_bin, tmp_path):
    _, rejects, _ = stream(dq_bin, tmp_path, "late=0.01", "outlier=0.01", "malformed_json=0.005")
    rows = spark_sql(chosen("day13/ex3_late_share_by_sensor.sql"), {"sensor_rejects": (rejects, REJECTS_SCHEMA)},
                     tmp_path)
    counts = collections.defaultdict(collections.Counter)
    for r in rejects:
        if r["sensor_id"] is not None:
            counts[r["sensor_id"]]["rejects"] += 1
            counts[r["sensor_id"]]["late"] += "LATE_EVENT" in r["reasons"]
    want = sorted(({"sensor_id": s, "rejects": c["rejects"], "late": c["late"],
                    "late_share": half_up(c["late"], c["rejects"])} for s, c in counts.items()),
                  key=lambda r: (-r["late_share"], r["sensor_id"]))
    assert len(want) > 50 and 0 < sum(r["late"] for r in want) < sum(r["rejects"] for r in want)
    got = [{k: r[k] for k in ("sensor_id", "rejects", "late", "late_share")} for r in rows]
    assert got == want


def temperatures(data: list[dict]) -> dict[str, list[tuple[str, float]]]:
    """Each sensor's (ts, temperature) readings, in time order."""
    readings = collections.defaultdict(list)
    for d in data:
        readings[d["sensor_id"]].append((d["ts"], d["temperature"]))
    for series in readings.values():
        series.sort()  # one ISO format in UTC: text order is time order
    return readings


def test_4_the_largest_jumps(dq_bin, tmp_path):
    data, _, truth = stream(dq_bin, tmp_path, "spike=0.01")
    rows = spark_sql(chosen("day13/ex4_largest_jumps.sql"), {"sensor_data": (data, DATA_SCHEMA)}, tmp_path)
    want = []
    for sensor, series in temperatures(data).items():
        jumps = [abs(b - a) for (_, a), (_, b) in zip(series, series[1:])]
        want.append({"sensor_id": sensor, "largest_jump": max(jumps), "jumps_over_10": sum(j > 10 for j in jumps)})
    want.sort(key=lambda r: (-r["largest_jump"], r["sensor_id"]))
    assert sum(t["defect"] == "spike" for t in truth) > 100 and want[-1]["jumps_over_10"] > 0  # spikes everywhere
    got = [{k: r[k] for k in ("sensor_id", "largest_jump", "jumps_over_10")} for r in rows]
    assert [r["sensor_id"] for r in got] == [r["sensor_id"] for r in want], got[:3]
    for g, w in zip(got, want):
        assert abs(g["largest_jump"] - w["largest_jump"]) < 1e-9 and g["jumps_over_10"] == w["jumps_over_10"], (g, w)


def test_5_the_hottest_three_of_each_hour(dq_bin, tmp_path, answer):
    data, _, _ = stream(dq_bin, tmp_path)
    rows = spark_sql(chosen("day13/ex5_hottest_per_hour.sql"), {"sensor_data": (data, DATA_SCHEMA)}, tmp_path)
    hourly = collections.defaultdict(list)
    for d in data:
        hour = dt.datetime.fromisoformat(d["ts"]).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        hourly[hour, d["sensor_id"]].append(d["temperature"])
    want = []
    for hour in sorted({h for h, _ in hourly}):
        averages = sorted(((-statistics.fmean(v), s) for (h, s), v in hourly.items() if h == hour))
        want += [(str(hour), s, -a, rank) for rank, (a, s) in enumerate(averages[:3], 1)]
    got = [(r["hour"], r["sensor_id"], r["avg_temperature"], r["rank"]) for r in rows]
    print(f"  {len(got)} rows; first {got[:3]}")
    assert len(want) >= 6 and [g[:2] + g[3:] for g in got] == [w[:2] + w[3:] for w in want], (got[:6], want[:6])
    assert all(abs(g[2] - w[2]) < 1e-9 for g, w in zip(got, want))
    assert answer("day13", "row_number_why") == "b"


def test_6_the_longest_stuck_run(dq_bin, tmp_path):
    data, _, truth = stream(dq_bin, tmp_path, "stuck=0.002")
    rows = spark_sql(chosen("day13/ex6_longest_stuck_run.sql"), {"sensor_data": (data, DATA_SCHEMA)}, tmp_path)
    want = []
    for sensor, series in temperatures(data).items():
        longest = run = 1
        for (_, a), (_, b) in zip(series, series[1:]):
            run = run + 1 if a == b else 1
            longest = max(longest, run)
        want.append((sensor, longest))
    want.sort(key=lambda r: (-r[1], r[0]))
    got = [(r["sensor_id"], r["longest_run"]) for r in rows]
    print(f"  longest runs: {got[:3]}")
    assert sum(t["defect"] == "stuck" for t in truth) > 100 and want[0][1] >= 30  # stuck sensors are there
    assert got == want, (got[:5], want[:5])
