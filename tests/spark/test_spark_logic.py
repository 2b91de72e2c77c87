"""The Spark jobs' logic without Spark: libdq per sensor with the sensor's state carried
between calls (as applyInPandasWithState keeps it), on the shared vectors."""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "spark_jobs"))
import dq_spark  # noqa: E402
from vector_cases import event_bytes, load_cases  # noqa: E402

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


def test_judge_scores_with_a_model(tmp_path):
    """With a model file, the anomaly annotation carries the model's score and flag."""
    import dq
    # One tree on the contract's features: temperature.value <= 25 is normal (a leaf of 3), above it not.
    names = dq.Contract(dq_spark.CONTRACT).features
    model = tmp_path / "m.dqm"
    model.write_text(f"dq-iforest 1\nfeatures {len(names)} {' '.join(names)}\nmax_samples 4\nthreshold 0.5\n"
                     "trees 1\ntree 3\n0 25.0 1 2 4\n-1 0 -1 -1 3\n-1 0 -1 -1 1\n")
    raws = [(f'{{"sensor_id":"sensor_3","timestamp":"2026-11-26T04:{i // 6:02d}:{i % 6 * 10:02d}.000Z",'
             f'"temperature":{26 if i == 35 else 20},"humidity":40}}').encode() for i in range(36)]
    res, _ = dq_spark.judge("sensor_3", raws, None, dq.parse_time("2026-11-26T05:00:00Z"), str(model))
    cols = dq_spark.outcome_columns(res)
    assert cols["anomaly"][:35] == [False] * 35 and cols["anomaly"][35] is True
    assert cols["anomaly_score"][35] == 0.6877 and cols["anomaly_score"][34] == 0.4377  # anomaly.decimals: 4
