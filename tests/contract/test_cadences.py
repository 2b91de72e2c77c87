"""The course contract is right at every sensor cadence: `dq gen` at 1 s, 10 s, 60 s and 5 min
through `dq check` (and through the Python bindings) and `dq score`, at least 0.99 precision
and recall for every defect type. Its per-sensor rules are written in the sensor's intervals
(docs/contract.md), so nothing in it is tuned to one cadence."""
import json
import subprocess

import pytest

from testenv import CONTRACT

CADENCES = ["1s", "10s", "60s", "5m"]
SENSORS, EVENTS = 200, 200_000
START = "2026-01-01T00:00:00Z"
# After the last event at every cadence (about 1,040 readings per sensor: 3.6 days at 5 min),
# so that only the future defects (a year ahead) are in the future.
NOW = "2026-01-06T00:00:00Z"
GOAL = 0.99


def generate(dq_bin, tmp_path, interval):
    events, truth = tmp_path / "events.ndjson", tmp_path / "truth.csv"
    with events.open("wb") as out:
        subprocess.run([dq_bin, "gen", "--sensors", str(SENSORS), "--count", str(EVENTS), "--interval", interval,
                        "--start", START, "--truth", truth, "--quiet"], stdout=out, check=True)
    return events, truth


def score(dq_bin, truth, rejects, clean) -> dict:
    proc = subprocess.run([dq_bin, "score", "--truth", truth, "--rejects", rejects, "--clean", clean, "--json"],
                          capture_output=True, check=True)
    return json.loads(proc.stdout)


def below_goal(scores: dict) -> dict:
    """{defect or reason: figure} of every recall and precision under the goal."""
    return {name: value for kind in ("recall", "precision") for name, value in scores[kind].items() if value < GOAL}


def check_and_score(dq_bin, tmp_path, interval, contract=CONTRACT) -> dict:
    events, truth = generate(dq_bin, tmp_path, interval)
    clean, rejects = tmp_path / "clean.ndjson", tmp_path / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", contract, "-i", events, "--now", NOW, "--clean", clean,
                    "--rejects", rejects], check=True)
    return score(dq_bin, truth, rejects, clean)


@pytest.mark.parametrize("interval", CADENCES)
def test_dq_check_is_right_at_every_cadence(dq_bin, tmp_path, interval):
    scores = check_and_score(dq_bin, tmp_path, interval)
    assert scores["events"] == EVENTS and scores["unseen"] == 0
    # Every stateful defect is present (the sweep would prove nothing without them).
    assert {"spike", "gap", "late", "duplicate", "stuck", "missing_value"} <= scores["recall"].keys()
    assert below_goal(scores) == {}, f"at {interval}"


ABSOLUTE = {"spike: {deviations: 10, minChange: 1,": "spike: {maxRatePerSecond: 0.5,",
            "spike: {deviations: 10, minChange: 3,": "spike: {maxRatePerSecond: 5.0,",
            "tolerance: 3 intervals": "tolerance: 1m", "after: 10 intervals": "after: 5m"}


@pytest.mark.parametrize("interval, wrong", [("1s", {"SPIKE", "gap"}), ("5m", {"spike", "GAP"})])
def test_absolute_rules_are_right_at_one_cadence_only(dq_bin, tmp_path, interval, wrong):
    """Course day 3, exercise 3: the same rules as durations (what the contract had before)."""
    text = CONTRACT.read_text()
    for relative, absolute in ABSOLUTE.items():
        assert relative in text
        text = text.replace(relative, absolute)
    contract = tmp_path / "absolute.yaml"
    contract.write_text(text)
    scores = check_and_score(dq_bin, tmp_path, interval, contract)
    assert wrong <= below_goal(scores).keys()
    if interval == "1s":
        assert scores["precision"]["SPIKE"] < 0.2
    else:
        assert scores["recall"]["spike"] == 0


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
    assert below_goal(scores) == {}, f"at {interval}"
