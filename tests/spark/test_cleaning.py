"""Days 8-9 (spark_data_cleaning.py): Spark's cleaning equals libdq's where the policies
coincide (the shared vectors), and mean/median imputation is Spark ML's Imputer fitted on
the history."""
import collections
import json
import statistics

import pytest

import dq
import dq_spark
import spark_data_cleaning as job
from conftest import kafka_rows
from vector_cases import event_bytes, load_cases

CASES = list(load_cases())
NOW = "2026-11-26T05:00:00Z"
# What libdq decides and this job does not try to (docstring of spark_data_cleaning.py).
LIBDQ_ONLY = {"DUPLICATE_EVENT", "LATE_EVENT", "FUTURE_TIMESTAMP", "SPIKE", "STUCK_VALUE", "NOISE", "GAP", "UNKNOWN_FIELD",
              *dq.REASONS[1:10]}


@pytest.fixture(scope="module")
def both(spark):
    """The vectors cleaned by Spark (each case its own topic) and by libdq."""
    events = kafka_rows(spark, {c["where"]: [event_bytes(e) for e in c["events"]] for c in CASES})
    kept, rejects = job.clean(events)
    spark_kept = {(r["topic"], r["offset"]): r.asDict() for r in kept.collect()}
    spark_rejects = {(r["topic"], r["offset"]): r["reasons"] for r in rejects.collect()}
    assert len(spark_kept) + len(spark_rejects) == events.count()
    return spark_kept, spark_rejects


def test_clean_readings_equal_libdqs_where_the_policies_coincide(both):
    spark_kept, spark_rejects = both
    compared = collections.Counter()
    for case in CASES:
        for i, want in enumerate(case["expect"]):
            where = (case["where"], i)
            if want["verdict"] == "REJECT":
                if not LIBDQ_ONLY & set(want["reasons"]):
                    assert where in spark_rejects, (where, case["name"])
                    compared["reject"] += 1
                continue
            assert where in spark_kept, (where, case["name"], spark_rejects.get(where))
            if "clean" not in want:
                continue
            got = spark_kept[where]
            for field in ("sensor_id", "timestamp", "temperature", "humidity", "pressure", "battery", "location",
                          "status"):
                assert got[field] == want["clean"].get(field), (where, case["name"], field)
            compared["clean"] += 1
            compared.update(got["cleaning"])
    assert compared["clean"] > 30 and compared["reject"] > 30
    assert {"temperature:coerced", "pressure:capped"} <= set(compared), compared


def test_last_good_imputation_is_the_contracts(spark):
    """A missing temperature takes the sensor's previous valid one if at most 5 minutes
    older; a rejected reading is no good value; too old a value is not used; an event rejected
    for another reason is not also MISSING_FIELD (malformed ones were)."""
    def event(ts, temperature=None, sensor="sensor_1"):
        body = {"sensor_id": sensor, "timestamp": f"2026-11-26T04:{ts}Z", "humidity": 40}
        return json.dumps(body | ({} if temperature is None else {"temperature": temperature})).encode()
    raws = [event("00:00", 20), event("01:00", 99), event("02:00"), event("02:10", sensor="sensor_2"),
            event("08:00"), event("08:10", 21), event("09:00"),
            b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:09:30Z","humidity":140}', b'{"sensor_id":"sensor_1",']
    kept, rejects = job.clean(kafka_rows(spark, {"t": raws}))
    got = {r["offset"]: (r["temperature"], r["cleaning"]) for r in kept.collect()}
    assert got == {0: (20.0, []), 2: (20.0, ["temperature:imputed"]), 5: (21.0, []),
                   6: (21.0, ["temperature:imputed"])}
    assert {r["offset"]: r["reasons"] for r in rejects.collect()} == {
        1: ["OUT_OF_RANGE"], 3: ["MISSING_FIELD"], 4: ["MISSING_FIELD"], 7: ["OUT_OF_RANGE"], 8: ["MALFORMED_JSON"]}
    libdq = dq.Engine(dq.Contract(dq_spark.CONTRACT), now=NOW).evaluate(raws)
    assert [v != "REJECT" for v in libdq.verdicts] == [i in got for i in range(len(raws))]


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_mean_and_median_imputation_is_fitted_on_the_history(spark, strategy):
    temps = [18.0, 19.5, 21.0, 22.5, 30.0, 99.0]  # 99 is out of range: not history
    history = kafka_rows(spark, {"h": [json.dumps({"sensor_id": f"sensor_{i}", "timestamp": f"2026-11-25T00:00:0{i}Z",
                                                   "temperature": t, "humidity": 40 + i}).encode()
                                       for i, t in enumerate(temps)]})
    now = kafka_rows(spark, {"n": [b'{"sensor_id":"sensor_9","timestamp":"2026-11-26T00:00:00Z","humidity":50}']})
    kept, _ = job.clean(now, strategy, history)
    (row,) = kept.collect()
    valid = sorted(temps[:5])
    if strategy == "mean":
        assert row["temperature"] == pytest.approx(statistics.fmean(valid))
    else:  # Spark's median is an approximate quantile: one of the middle values
        assert valid[(len(valid) - 1) // 2] <= row["temperature"] <= valid[len(valid) // 2]
    assert row["humidity"] == 50 and row["cleaning"] == ["temperature:imputed"]
