"""Day 13 (analysis/*.sql): each query on a small fixture of the Cassandra tables, against
the answer computed independently in plain Python from the same rows."""
import collections
import datetime as dt
import json
import statistics

import pytest

import spark_analysis

AS_OF = dt.datetime(2026, 11, 26, 12, 0)
MIN = dt.timedelta(minutes=1)


def fixture_rows():
    """Clean readings and rejects with the cases the queries look for."""
    data, rejects = [], []

    def reading(sensor, ts, temperature, humidity, reasons=None):
        data.append({"sensor_id": sensor, "ts": ts, "temperature": temperature, "humidity": humidity,
                     "dq_reasons": reasons})

    def reject(sensor, ts, reasons, field, day=None):
        annotation = {"status": "REJECT", "reasons": reasons,
                      "findings": [{"field": field, "reason": r, "action": "reject"} for r in reasons]}
        rejects.append({"day": day or (ts or AS_OF).date(), "sensor_id": sensor, "ts": ts, "reasons": reasons,
                        "dq_annotation": json.dumps(annotation)})

    start = dt.datetime(2026, 11, 26, 10, 0)
    for i in range(21):  # sensor_1: one a minute, a glitch at 10:05 (spike up, spike down)
        reading("sensor_1", start + i * MIN, 33.0 if i == 5 else 20 + i / 10, 40.0 + i % 3)
    for i in range(6):   # ... silent 20 minutes, a second session
        reading("sensor_1", start + (40 + i) * MIN, 21.0 + i / 10, 45.0)
    for i in (7, 8, 9):
        reject("sensor_1", start + i * MIN + dt.timedelta(seconds=30), ["OUT_OF_RANGE"], "temperature")
    for i in range(71):  # sensor_2: every two minutes from 09:30 to 11:50, once imputed
        reading("sensor_2", start - 30 * MIN + 2 * i * MIN, 22 + (i % 5) / 2, 50.0 + i % 7,
                ["MISSING_FIELD"] if i == 10 else None)
    reject("sensor_2", start, ["MISSING_FIELD"], "humidity")
    reject("sensor_2", start + 61 * MIN, ["OUT_OF_RANGE"], "temperature")
    for i in range(19):  # sensor_3: two days ago, every ten minutes, then silent
        reading("sensor_3", dt.datetime(2026, 11, 24, 9, 0) + 10 * i * MIN, 18.0 + i % 4, 60.0 - i)
    for n in range(5, 17):  # sensor_5 .. sensor_16: n readings each around 11:00 (ties for the top 10)
        for j in range(n // 2 * 2):
            reading(f"sensor_{n}", dt.datetime(2026, 11, 26, 11, 0) + j * MIN, 19.0 + j % 3, 45.0 + n)
    reject(None, None, ["MALFORMED_JSON"], None)
    reject("sensor_invalid", dt.datetime(2026, 11, 25, 8, 0), ["PATTERN_MISMATCH", "OUT_OF_RANGE"], "sensor_id")
    reject("sensor_2", dt.datetime(2026, 11, 25, 9, 0), ["OUT_OF_RANGE"], "temperature")
    return data, rejects


DATA, REJECTS = fixture_rows()


@pytest.fixture(scope="module")
def sql(spark):
    spark.createDataFrame(DATA, "sensor_id STRING, ts TIMESTAMP, temperature DOUBLE, humidity DOUBLE, "
                                "dq_reasons ARRAY<STRING>").createOrReplaceTempView("sensor_data")
    spark.createDataFrame(REJECTS, "day DATE, sensor_id STRING, ts TIMESTAMP, reasons ARRAY<STRING>, "
                                   "dq_annotation STRING").createOrReplaceTempView("sensor_rejects")

    def run(prefix):
        (query,) = spark_analysis.queries([prefix])
        return [r.asDict() for r in spark_analysis.run(spark, query, AS_OF.strftime("%Y-%m-%d %H:%M:%S")).collect()]
    return run


def by_sensor(rows=DATA):
    out = collections.defaultdict(list)
    for r in sorted(rows, key=lambda r: r["ts"]):
        out[r["sensor_id"]].append(r)
    return dict(sorted(out.items()))


def seconds(a, b):
    return (b - a).total_seconds()


def test_every_query_file_is_found_by_prefix_and_tested():
    names = [q.stem for q in spark_analysis.queries()]
    assert len(names) >= 12 and spark_analysis.queries(["07"])[0].stem == "07_consecutive_spikes"
    tested = {name.split("_")[1][1:] for name in globals() if name.startswith("test_q")}
    assert tested == {n[:2] for n in names}
    with pytest.raises(SystemExit, match="no query"):
        spark_analysis.queries(["99"])


def test_q01_sensor_summary(sql):
    want = [{"sensor_id": s, "readings": len(rs),
             "avg_temperature": statistics.fmean(r["temperature"] for r in rs),
             "min_temperature": min(r["temperature"] for r in rs), "max_temperature": max(r["temperature"] for r in rs),
             "avg_humidity": statistics.fmean(r["humidity"] for r in rs),
             "min_humidity": min(r["humidity"] for r in rs), "max_humidity": max(r["humidity"] for r in rs)}
            for s, rs in by_sensor().items()]
    assert sql("01") == [pytest.approx(w, abs=1e-3) for w in want]


def test_q02_top_sensors_last_24h(sql):
    counts = collections.Counter(r["sensor_id"] for r in DATA if AS_OF - dt.timedelta(hours=24) < r["ts"] <= AS_OF)
    want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    got = sql("02")
    assert [(r["sensor_id"], r["readings"]) for r in got] == want
    assert "sensor_3" not in {r["sensor_id"] for r in got} and got[0] == {"sensor_id": "sensor_2", "readings": 71}


def test_q03_hourly_average(sql):
    hours = collections.defaultdict(list)
    for r in DATA:
        hours[r["ts"].replace(minute=0, second=0)].append(r)
    want = [{"hour": h, "readings": len(rs), "sensors": len({r["sensor_id"] for r in rs}),
             "avg_temperature": statistics.fmean(r["temperature"] for r in rs),
             "avg_humidity": statistics.fmean(r["humidity"] for r in rs)} for h, rs in sorted(hours.items())]
    assert sql("03") == [pytest.approx(w, abs=1e-3) for w in want]


def test_q04_change_since_previous(sql):
    want = []
    for s, rs in by_sensor().items():
        for prev, r in zip([None] + rs, rs):
            want.append({"sensor_id": s, "ts": r["ts"], "temperature": r["temperature"],
                         "seconds_since_previous": prev and seconds(prev["ts"], r["ts"]),
                         "temperature_change": prev and r["temperature"] - prev["temperature"],
                         "humidity_change": prev and r["humidity"] - prev["humidity"]})
    got = sql("04")
    assert len(got) == len(DATA)
    for g, w in zip(got, want):
        assert g == (pytest.approx(w, abs=1e-3) if w["seconds_since_previous"] is not None else w)


def test_q05_hottest_reading_per_hour(sql):
    best = {}
    for r in sorted(DATA, key=lambda r: r["ts"]):
        key = (r["sensor_id"], r["ts"].replace(minute=0, second=0))
        if key not in best or r["temperature"] > best[key]["temperature"]:
            best[key] = r
    want = [{"sensor_id": s, "hour": h, "ts": r["ts"], "temperature": r["temperature"]}
            for (s, h), r in sorted(best.items())]
    assert sql("05") == want
    assert {"sensor_id": "sensor_1", "hour": dt.datetime(2026, 11, 26, 10), "ts": dt.datetime(2026, 11, 26, 10, 5),
            "temperature": 33.0} in want


def test_q06_sensors_with_invalid_temperatures(sql):
    total = collections.Counter(r["sensor_id"] for r in DATA)
    bad = collections.Counter()
    for r in REJECTS:
        if r["sensor_id"]:
            total[r["sensor_id"]] += 1
            bad[r["sensor_id"]] += any(f["field"] == "temperature" for f in json.loads(r["dq_annotation"])["findings"])
    want = [{"sensor_id": s, "readings": total[s], "invalid_temperatures": bad[s],
             "invalid_percent": round(100 * bad[s] / total[s], 2)} for s in sorted(total) if bad[s] / total[s] > 0.05]
    assert sql("06") == want == [{"sensor_id": "sensor_1", "readings": 30, "invalid_temperatures": 3,
                                  "invalid_percent": 10.0}]


def test_q07_consecutive_spikes(sql):
    want = []
    for s, rs in by_sensor().items():
        spike = [False] + [abs(b["temperature"] - a["temperature"]) > 10 and seconds(a["ts"], b["ts"]) <= 300
                           for a, b in zip(rs, rs[1:])]
        for i in range(1, len(rs)):
            if spike[i] and spike[i - 1]:
                want.append({"sensor_id": s, "first_spike_ts": rs[i - 1]["ts"], "second_spike_ts": rs[i]["ts"],
                             "temperature": rs[i]["temperature"],
                             "change": rs[i]["temperature"] - rs[i - 1]["temperature"]})
    got = sql("07")
    assert got == [pytest.approx(w, abs=1e-3) for w in want] and len(got) == 1
    assert got[0]["second_spike_ts"] == dt.datetime(2026, 11, 26, 10, 6)


def test_q08_sessions(sql):
    want = []
    for s, rs in by_sensor().items():
        sessions = [[rs[0]]]
        for a, b in zip(rs, rs[1:]):
            (sessions.append([b]) if seconds(a["ts"], b["ts"]) > 15 * 60 else sessions[-1].append(b))
        want += [{"sensor_id": s, "session": n, "started": x[0]["ts"], "ended": x[-1]["ts"], "readings": len(x),
                  "seconds": seconds(x[0]["ts"], x[-1]["ts"])} for n, x in enumerate(sessions, 1)]
    got = sql("08")
    assert got == want
    assert [(r["session"], r["readings"]) for r in got if r["sensor_id"] == "sensor_1"] == [(1, 21), (2, 6)]


def test_q09_time_weighted_humidity(sql):
    want = []
    for s, rs in by_sensor().items():
        held = [(a["humidity"], seconds(a["ts"], b["ts"])) for a, b in zip(rs, rs[1:])]
        covered = sum(d for _, d in held)
        want.append({"sensor_id": s, "time_weighted_humidity": sum(h * d for h, d in held) / covered if covered else None,
                     "plain_average_humidity": statistics.fmean(r["humidity"] for r in rs),
                     "seconds_covered": covered if held else None})
    got = sql("09")
    assert got == [pytest.approx(w, abs=1e-3) for w in want]
    one = next(r for r in got if r["sensor_id"] == "sensor_1")
    assert one["time_weighted_humidity"] != pytest.approx(one["plain_average_humidity"], abs=1e-3)


def test_q10_completeness_by_hour(sql):
    hours = collections.defaultdict(list)
    for r in DATA:
        hours[r["ts"].replace(minute=0, second=0)].append(("MISSING_FIELD" in (r["dq_reasons"] or []), False))
    for r in REJECTS:
        if r["ts"]:
            hours[r["ts"].replace(minute=0, second=0)].append(("MISSING_FIELD" in r["reasons"], True))
    want = [{"hour": h, "readings": len(x), "completeness": 1 - sum(i for i, _ in x) / len(x),
             "rejected_share": sum(j for _, j in x) / len(x)} for h, x in sorted(hours.items())]
    got = sql("10")
    assert got == [pytest.approx(w, abs=1e-4) for w in want]
    assert any(r["completeness"] < 1 for r in got)


def test_q11_silent_sensors(sql):
    last = {s: rs[-1]["ts"] for s, rs in by_sensor([r for r in DATA if r["ts"] <= AS_OF]).items()}
    want = sorted(({"sensor_id": s, "last_reading": t, "minutes_silent": seconds(t, AS_OF) / 60}
                   for s, t in last.items() if seconds(t, AS_OF) > 15 * 60),
                  key=lambda r: (-r["minutes_silent"], r["sensor_id"]))
    got = sql("11")
    assert got == want
    assert got[0]["sensor_id"] == "sensor_3" and "sensor_2" not in {r["sensor_id"] for r in got}


def test_q12_reject_reason_trend(sql):
    daily = collections.Counter((r["day"], reason) for r in REJECTS for reason in r["reasons"])
    previous, want = {}, []
    for (day, reason), n in sorted(daily.items()):
        want.append({"day": day, "reason": reason, "rejects": n,
                     "change_from_previous_day": n - previous[reason] if reason in previous else None})
        previous[reason] = n
    want.sort(key=lambda r: (r["day"], -r["rejects"], r["reason"]))
    got = sql("12")
    assert got == want
    assert {"day": dt.date(2026, 11, 26), "reason": "OUT_OF_RANGE", "rejects": 4,
            "change_from_previous_day": 2} in got
