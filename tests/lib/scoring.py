"""Generated streams checked and scored: `dq gen` with ground truth, `dq check` with a
contract, `dq score` of the verdicts against the truth, and the figures the course contract
must reach (tests/contract/test_cadences.py, the gate's tests, the course's exercises)."""
import json
import subprocess

from testenv import CONTRACT

SENSORS, EVENTS = 200, 200_000
START = "2026-01-01T00:00:00Z"
# After the last event at every cadence (about 1,040 readings per sensor: 3.6 days at 5 min),
# so that only the future defects (a year ahead) are in the future.
NOW = "2026-01-06T00:00:00Z"

# 0.99 for every defect type and reason, 0.9 for the sensor faults judged over stretches of
# readings (noise, bias and drift: a rule is late at the start of a stretch, noise also at its
# end; docs/contract.md).
SCORE_GOAL = 0.99
FAULT_SCORE_GOAL = {"noise": 0.9, "NOISE": 0.9, "bias": 0.9, "BIAS": 0.9, "drift": 0.9, "DRIFT": 0.9}


def below_score_goal(scores: dict) -> dict:
    """{defect or reason: figure} of every recall and precision of a `dq score --json` under its goal."""
    return {name: value for kind in ("recall", "precision") for name, value in scores[kind].items()
            if value < FAULT_SCORE_GOAL.get(name, SCORE_GOAL)}


def generate(dq_bin, folder, interval, *extra, sensors=SENSORS, count=EVENTS, start=START):
    """sensors sensors, count events every interval from start: (events, truth) in folder."""
    events, truth = folder / "events.ndjson", folder / "truth.csv"
    with events.open("wb") as out:
        subprocess.run([dq_bin, "gen", "--sensors", str(sensors), "--count", str(count), "--interval", interval,
                        "--start", start, "--truth", truth, "--quiet", *extra], stdout=out, check=True)
    return events, truth


def score(dq_bin, truth, rejects, clean) -> dict:
    proc = subprocess.run([dq_bin, "score", "--truth", truth, "--rejects", rejects, "--clean", clean, "--json"],
                          capture_output=True, check=True)
    return json.loads(proc.stdout)


def check_and_score(dq_bin, folder, events, truth, contract=CONTRACT) -> dict:
    clean, rejects = folder / "clean.ndjson", folder / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", contract, "-i", events, "--now", NOW, "--clean", clean,
                    "--rejects", rejects], check=True)
    return score(dq_bin, truth, rejects, clean)
