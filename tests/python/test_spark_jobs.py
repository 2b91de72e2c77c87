"""The Spark jobs' logic without Spark: libdq per sensor with the sensor's state carried
between calls (as applyInPandasWithState keeps it), on the shared vectors."""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "spark_jobs"))
import dq_spark  # noqa: E402
from conftest import event_bytes, load_cases  # noqa: E402

CASES = list(load_cases())


def test_judge_gives_the_vectors_verdicts_one_event_per_micro_batch():
    """Each event alone in its micro-batch, with only its sensor's saved state: the
    verdicts, reasons and cleaned values of dq check."""
    import dq
    for case in CASES:
        states = {}
        for i, (event, want) in enumerate(zip(case["events"], case["expect"])):
            raw = event_bytes(event)
            key = dq_spark.sensor_key(raw)
            res, new_state = dq_spark.judge(key, [raw], states.get(key), dq.parse_time(case["now"]))
            if new_state is not None:
                states[key] = new_state
            cols = dq_spark.outcome_columns(res)
            where = f"{case['name']!r} event {i + 1}"
            assert cols["verdict"] == [want["verdict"]] and sorted(cols["reasons"][0]) == sorted(want["reasons"]), where
            annotation = json.loads(cols["annotation"][0])
            assert annotation["status"] == want["verdict"], where
            if "clean" in want:
                clean = json.loads(res.clean[0])
                clean.pop("dq")
                assert clean == want["clean"], where
                assert {f: clean.get(f) for f in dq_spark.FIELDS} == {f: cols[f][0] for f in dq_spark.FIELDS}, where


def test_the_sql_pattern_is_the_python_one():
    assert dq_spark.SENSOR_KEY_SQL == ("regexp_extract(CAST(value AS STRING), "
                                       "'\"sensor_id\"\\\\s*:\\\\s*\"([^\"\\\\\\\\]{1,64})\"', 1)")
    assert dq_spark.sensor_key(b'{"sensor_id" : "sensor_7", "x": 1}') == "sensor_7"
    assert dq_spark.sensor_key(b'{"sensor_id": "a\\"b"}') == "" and dq_spark.sensor_key(None) == ""
