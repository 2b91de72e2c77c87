"""The course contract is right at every sensor cadence: `dq gen` at 1 s, 10 s, 60 s and 5 min
through `dq check` (and through the Python bindings) and `dq score`, at least 0.99 precision
and recall for every defect type, 0.9 for the sensor faults that span many readings (noise:
a rule over a stretch of readings is late at its start and its end). Its per-sensor rules are
written in the sensor's intervals or relative to the sensor's own changes (docs/contract.md),
so nothing in it is tuned to one cadence."""
import pytest

from scoring import EVENTS, FAULT_SCORE_GOAL, NOW, below_score_goal, check_and_score, generate, score
from testenv import CONTRACT

CADENCES = ["1s", "10s", "60s", "5m"]
# Drift: four days of readings, drifts from the third day on (the rule learns each sensor's
# daily profile first, docs/contract.md), 20 to 40 drifts at each cadence, at most ~1M events.
DRIFT_SENSORS = {"1s": 3, "10s": 30, "60s": 150, "5m": 600}
SECONDS = {"1s": 1, "10s": 10, "60s": 60, "5m": 300}


@pytest.mark.parametrize("interval", CADENCES)
def test_dq_check_is_right_at_every_cadence(dq_bin, tmp_path, interval):
    scores = check_and_score(dq_bin, tmp_path, *generate(dq_bin, tmp_path, interval))
    assert scores["events"] == EVENTS and scores["unseen"] == 0
    # Every stateful defect is present (the sweep would prove nothing without them).
    assert {"spike", "gap", "late", "duplicate", "stuck", "noise", "missing_value"} <= scores["recall"].keys()
    assert below_score_goal(scores) == {}, f"at {interval}"


@pytest.mark.parametrize("interval", CADENCES)
def test_drift_is_found_at_every_cadence(dq_bin, tmp_path, interval):
    """Sensors that creep off their daily profile (dq gen's drift: 10 to 20 times their noise
    over 400 readings, then set right) are found, every drift (recall per episode: its first
    readings cannot be told from normal ones), at 0.9 precision or more; and adding them, to
    the usual defects, costs the other rules nothing: each figure as on the same stream
    without drifts (the same seed), within 0.01."""
    sensors = DRIFT_SENSORS[interval]
    count = sensors * 4 * 86400 // SECONDS[interval]
    figures = {}
    for drift in ("0", "0.0001"):
        folder = tmp_path / drift
        folder.mkdir()
        stream = generate(dq_bin, folder, interval, "--warm-up", "2d", "--defects", f"drift={drift}",
                          sensors=sensors, count=count)
        figures[drift] = check_and_score(dq_bin, folder, *stream)
    with_drift, without = figures["0.0001"], figures["0"]
    assert with_drift["recall"]["drift"] >= FAULT_SCORE_GOAL["drift"], with_drift
    assert with_drift["precision"]["DRIFT"] >= FAULT_SCORE_GOAL["DRIFT"], with_drift
    worse = {name: (value, with_drift[kind].get(name)) for kind in ("recall", "precision")
             for name, value in without[kind].items() if with_drift[kind].get(name, 0) < value - 0.01}
    assert worse == {}, f"at {interval}: (without drifts, with)"


@pytest.mark.parametrize("hour", range(0, 24, 4))
def test_right_at_every_hour_of_the_day(dq_bin, tmp_path, hour):
    """The generator's temperature follows a daily cycle, so the same defects meet another
    weather at each start hour. The gate's tests' stream (100 sensors every 10 s, 1M events, 28
    hours) scored BIAS precision 0.71 to 0.86 at half of these hours before a bias's step was
    measured robustly (rules.c: spike runs, steps back), and failed the gate's CI at random."""
    start = f"2026-01-01T{hour:02d}:00:00Z"
    events, truth = generate(dq_bin, tmp_path, "10s", "--seed", "11", sensors=100, count=1_000_000, start=start)
    scores = check_and_score(dq_bin, tmp_path, events, truth)
    assert scores["events"] == 1_000_000 and "bias" in scores["recall"]
    assert below_score_goal(scores) == {}, f"from {start}"


@pytest.mark.parametrize("interval", ["1s", "5m"])
def test_the_bindings_agree(dq_bin, tmp_path, interval):
    """The same events through the Python bindings, written as dq check writes its outputs and
    scored by dq score: the same figures."""
    import dq
    events, truth = generate(dq_bin, tmp_path, interval)
    lines = events.read_bytes().splitlines()
    engine = dq.Engine(dq.Contract(CONTRACT), now=NOW)
    res = engine.evaluate(lines)
    clean, rejects = tmp_path / "clean.ndjson", tmp_path / "rejects.ndjson"
    with clean.open("wb") as c, rejects.open("wb") as r:
        for number, (verdict, kept, annotation) in enumerate(zip(res.verdicts, res.clean, res.annotation), 1):
            if verdict == "REJECT":
                r.write(b'{"line":%d,"dq":%s}\n' % (number, annotation))
            else:
                c.write(kept + b"\n")
    scores = score(dq_bin, truth, rejects, clean)
    assert scores["events"] == EVENTS
    assert below_score_goal(scores) == {}, f"at {interval}"

