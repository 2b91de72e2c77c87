"""Day 3: the data contract (course/week1.md)."""
import collections
import json
import subprocess

import pytest

from scoring import below_score_goal, check_and_score, generate
from checks import ROOT, chosen, module_of
from testenv import CONTRACT

NOW = "2026-01-02T00:00:00Z"  # the day's run


@pytest.fixture
def events(dq_bin, tmp_path):
    """The day's input: day 2's 10,000 events (--seed 7)."""
    path = tmp_path / "events.ndjson"
    with path.open("wb") as f:
        subprocess.run([dq_bin, "gen", "--count", "10000", "--seed", "7", "--start", "2026-01-01T00:00:00Z", "-q"],
                       stdout=f, check=True)
    return path


def verdicts(dq_bin, contract, events, folder) -> collections.Counter:
    """(verdict, reason) counts of dq check's outputs, ('in', '') the events read, ('out', '')
    the outputs and ('capped', temperature) the temperatures of FIXED out-of-range readings."""
    clean, rejects = folder / "clean.ndjson", folder / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", contract, "-i", events, "--now", NOW, "--clean", clean,
                    "--rejects", rejects], check=True)
    counts = collections.Counter({("in", ""): sum(1 for _ in events.open("rb"))})
    for path in (clean, rejects):
        for line in path.open():
            event = json.loads(line)
            dq = event["dq"]
            counts.update((dq["status"], reason) for reason in dq.get("reasons", ["-"]))
            counts[("out", "")] += 1
            if dq["status"] == "FIXED" and "OUT_OF_RANGE" in dq["reasons"]:
                counts[("capped", event["temperature"])] += 1
    return counts


def test_1_what_fixed_an_event(dq_bin, events, tmp_path, answer):
    clean = tmp_path / "clean.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", NOW, "--clean", clean], check=True)
    actions = {finding["action"] for line in clean.open() for dq in [json.loads(line)["dq"]]
               if dq["status"] == "FIXED" for finding in dq["findings"]} - {"warn"}
    assert set(answer("day03", "fixed_actions").replace(" ", "").split(",")) == actions


def test_2_cap_instead_of_reject(dq_bin, events, script, tmp_path):
    folder = script("day03/ex2_cap.sh")
    (tmp_path / "course").mkdir()
    before = verdicts(dq_bin, CONTRACT, events, tmp_path / "course")
    after = verdicts(dq_bin, folder / "my.yaml", events, folder)
    moved = before["REJECT", "OUT_OF_RANGE"] - after["REJECT", "OUT_OF_RANGE"]
    assert moved > 0 and after["FIXED", "OUT_OF_RANGE"] - before["FIXED", "OUT_OF_RANGE"] == moved, (before, after)
    assert {t for kind, t in after if kind == "capped"} == {-40, 60}  # the contract's bounds
    assert after["in", ""] == after["out", ""] == before["out", ""]  # in = clean + rejects


@pytest.mark.parametrize("interval, wrong", [("1s", {"SPIKE", "gap"}), ("5m", {"spike", "GAP"})])
def test_3_absolute_rules_are_right_at_one_cadence_only(dq_bin, script, interval, wrong):
    folder = script("day03/ex3_absolute.sh")
    stream = generate(dq_bin, folder, interval)
    assert below_score_goal(check_and_score(dq_bin, folder, *stream)) == {}
    scores = check_and_score(dq_bin, folder, *stream, contract=folder / "absolute.yaml")
    assert wrong <= below_score_goal(scores).keys()
    if interval == "1s":
        assert scores["precision"]["SPIKE"] < 0.2
    else:
        assert scores["recall"]["spike"] == 0


def test_4_the_noise_ratio_trades_precision_for_recall(dq_bin, script):
    folder = script("day03/ex4_noise_ratio.sh", "2")
    script("day03/ex4_noise_ratio.sh", "5")
    stream = generate(dq_bin, folder, "10s", "--defects", "none,noise=0.0005")
    figures = {}
    for ratio, contract in ((3, CONTRACT), (2, folder / "ratio2.yaml"), (5, folder / "ratio5.yaml")):
        scores = check_and_score(dq_bin, folder, *stream, contract=contract)
        figures[ratio] = (scores["precision"]["NOISE"], scores["recall"]["noise"])
    assert min(figures[3]) > 0.9, figures
    assert figures[2][0] < figures[3][0] and figures[5][1] < figures[3][1], figures


CO2_READINGS = [  # (reading, the verdict and reasons the exercise's contract must give it)
    ('{"sensor_id":"co2_12","timestamp":"2026-11-26T10:00:00Z","co2":612}', "PASS", []),
    ('{"sensor_id":"co2_12","timestamp":"2026-11-26T10:00:10Z","co2":"640"}', "FIXED", ["WRONG_TYPE"]),
    ('{"sensor_id":"co2_12","timestamp":"2026-11-26T10:00:20Z","co2":6200}', "REJECT", ["OUT_OF_RANGE"]),
    ('{"sensor_id":"co2_13","timestamp":"2026-11-26T10:00:30Z","co2":249}', "REJECT", ["OUT_OF_RANGE"]),
    ('{"sensor_id":"co2_12","timestamp":"2026-11-26T10:00:40Z"}', "REJECT", ["MISSING_FIELD"]),
    ('{"sensor_id":"CO2-12","timestamp":"2026-11-26T10:00:50Z","co2":600}', "REJECT", ["PATTERN_MISMATCH"]),
    ('{"sensor_id":"co2_12","timestamp":"yesterday","co2":600}', "REJECT", ["INVALID_TIMESTAMP"]),
    ('{"timestamp":"2026-11-26T10:01:00Z","co2":600}', "REJECT", ["MISSING_FIELD"]),
    ('{"sensor_id":"co2_14","timestamp":"2026-11-26T10:01:10Z","co2":5000}', "PASS", []),
]


def test_5_a_contract_of_your_own(dq_bin, tmp_path):
    contract = chosen("day03/ex5_co2.yaml")
    clean, rejects = tmp_path / "clean.ndjson", tmp_path / "rejects.ndjson"
    run = subprocess.run([dq_bin, "check", "-q", "-c", contract, "--now", "2026-11-27T00:00:00Z", "--clean", clean,
                          "--rejects", rejects], input="".join(r + "\n" for r, _, _ in CO2_READINGS),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr  # the contract loads (an error names its file:line)
    kept = iter(json.loads(line)["dq"] for line in clean.open())
    rejected = {json.loads(line)["line"]: json.loads(line)["dq"] for line in rejects.open()}
    for number, (reading, verdict, reasons) in enumerate(CO2_READINGS, 1):
        dq = rejected[number] if number in rejected else next(kept)
        assert (dq["status"], sorted(dq.get("reasons", []))) == (verdict, reasons), reading


def test_6_predict_then_run(dq_bin, tmp_path, answer):
    week = (ROOT / "course" / "week1.md").read_text()
    quoted = week[week.index("```json", week.index("6. Predict, then run")) + 7:].split("```")[0]
    lines = [line.strip() for line in quoted.strip().splitlines()]
    assert len(lines) == 8
    events = tmp_path / "eight.ndjson"
    events.write_text("".join(line + "\n" for line in lines))
    clean, rejects = tmp_path / "clean.ndjson", tmp_path / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", "2026-11-26T00:00:00Z",
                    "--clean", clean, "--rejects", rejects], check=True)
    rejected = {r["line"]: r["dq"] for r in map(json.loads, rejects.open())}
    kept = iter(json.loads(line)["dq"] for line in clean.open())
    for n in range(1, 9):
        dq = rejected.get(n) or next(kept)
        assert answer("day03", f"event_{n}").split() == [dq["status"].lower(), dq["reasons"][0].lower()], (n, dq)


def test_7_the_same_message_twice(dq_bin, tmp_path, answer):
    lines = module_of("day03/ex7_redelivered.py").stream()
    readings = [json.loads(line) for line in lines]
    assert len(lines) == 123 and lines[3] == lines[1] and lines[122] == lines[0], "not the stream the exercise asks for"
    times = [r["timestamp"] for r in readings[:3] + readings[4:122]]
    assert times == sorted(times) and len(set(times)) == 121 and {r["sensor_id"] for r in readings} == {"sensor_1"}
    events = tmp_path / "copies.ndjson"
    events.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", "2026-11-26T00:00:00Z",
                    "--clean", "/dev/null", "--rejects", rejects], check=True)
    reasons = {r["line"]: r["dq"]["reasons"] for r in map(json.loads, rejects.open())}
    assert set(reasons) == {4, 123}, reasons  # only the two copies
    assert [answer("day03", "early_copy").upper()] == reasons[4]
    assert [answer("day03", "late_copy").upper()] == reasons[123]
    assert answer("day03", "why_late") == "b"
