"""Day 20: failure drills and reconciliation (course/week4.md). The answers, with what they
rest on checked in the docs and the code, and the hostile lines of exercise 5 through dq check."""
import json
import subprocess
import sys

import pytest

from checks import ROOT, chosen, drill, verdicts_by_line
from testenv import CONTRACT

DOCS = {name: (ROOT / "docs" / f"{name}.md").read_text() for name in ("cli", "spark")}
FLINK_JOB = (ROOT / "flink_jobs" / "flink_to_cassandra.py").read_text()
# Exercise 4's stream, as the course and ex4_drift.py's docstring generate it.
GEN_ARGS = ["--sensors", "10", "--interval", "1m", "--count", "7200", "--seed", "20",
            "--start", "2026-01-01T00:00:00Z", "-q"]


def test_1_the_gate_and_cassandra(answer):
    assert "cassandra" not in (ROOT / "cli" / "gate.c").read_text().lower()  # Kafka in, Kafka out
    assert answer("day20", "gate_and_cassandra") == "b"


@pytest.mark.stack
@pytest.mark.drill
def test_2_a_kill_drill(answer):
    """Your answer, and the drill done for you: dq gate --exactly-once on 1M events killed three
    times, then in = clean + rejected exactly, with one engine's verdicts (about 3 minutes)."""
    assert answer("day20", "kill_exactly_once") == "a"
    drill("test_gate.py::test_exactly_once_reconciles_after_three_kills")


def test_3_each_paths_guarantees(answer):
    assert "With `--exactly-once` each batch is one Kafka\ntransaction" in DOCS["cli"]
    assert "make a replayed write overwrite its own\n  row" in FLINK_JOB and "'exactly-once'" in FLINK_JOB
    assert "primary keys make a replayed batch overwrite its own rows" in DOCS["spark"]
    assert "delivery is at least once" in DOCS["spark"]
    got = {key: " ".join(answer("day20", key).replace("-", " ").split())
           for key in ("gate_outputs", "flink_cassandra", "flink_dlq", "spark_cassandra", "spark_dlq")}
    assert got == {"gate_outputs": "exactly once", "flink_cassandra": "idempotent", "flink_dlq": "exactly once",
                   "spark_cassandra": "idempotent", "spark_dlq": "at least once"}


def test_4_a_defect_of_your_own(dq_bin, tmp_path, answer):
    """The generator's stream, and your copy with your defect: how many of the changed readings
    does the contract notice, or the online detector flag, that it did not before?"""
    original, yours, truth = tmp_path / "original.ndjson", tmp_path / "yours.ndjson", tmp_path / "truth.txt"
    original.write_bytes(subprocess.run([dq_bin, "gen", *GEN_ARGS], capture_output=True, check=True).stdout)
    with original.open("rb") as source, yours.open("wb") as out:
        subprocess.run([sys.executable, chosen("day20/ex4_drift.py"), truth], stdin=source, stdout=out, check=True)
    before, after = original.read_bytes().splitlines(), yours.read_bytes().splitlines()
    changed = [int(n) for n in truth.read_text().split()]
    assert len(after) == len(before), "a line lost or added: change readings, keep each line"
    assert [n for n in range(1, len(before) + 1) if before[n - 1] != after[n - 1]] == changed, \
        "the truth file must name exactly the lines that differ"
    assert len(changed) >= 100, f"{len(changed)} readings changed: give your defect at least 100"
    was, now = verdicts_by_line(dq_bin, original, tmp_path), verdicts_by_line(dq_bin, yours, tmp_path)

    def noticed(dq):
        return dq["status"] == "REJECT" or bool(dq.get("reasons"))

    def flagged(dq):
        return bool(dq.get("anomaly", {}).get("flag"))
    anew = {"noticed_anew": sum(noticed(now[n]) and not noticed(was[n]) for n in changed),
            "flagged_anew": sum(flagged(now[n]) and not flagged(was[n]) for n in changed)}
    print(f"  {len(changed)} readings changed; {anew}")
    assert int(answer("day20", "changed_readings")) == len(changed)
    assert {key: int(answer("day20", key)) for key in anew} == anew


def test_5_nothing_lost_whatever_comes_in(dq_bin, tmp_path):
    hostile = chosen("day20/ex5_hostile.ndjson")
    lines = hostile.read_bytes().split(b"\n")[:-1]  # each line ends with a newline
    clean, rejects = tmp_path / "clean.ndjson", tmp_path / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", hostile, "--now", "2026-11-26T00:00:00Z",
                    "--clean", clean, "--rejects", rejects], check=True)
    rejected = [json.loads(line) for line in rejects.open()]
    assert clean.read_text() == "", "an event passed: each line should break a rule"
    assert sorted(r["line"] for r in rejected) == list(range(1, len(lines) + 1)), "a line lost or rejected twice"
    reasons = {reason for r in rejected for reason in r["dq"]["reasons"]}
    print(f"  {len(lines)} lines, reasons: {sorted(reasons)}")
    assert len(reasons) >= 6, f"only {len(reasons)} distinct reasons: {sorted(reasons)}"


def test_6_a_reconciliation_that_can_fail(dq_bin, script, tmp_path):
    events = tmp_path / "events.ndjson"
    events.write_bytes(subprocess.run([dq_bin, "gen", "--count", "10000", "--seed", "7", "--start",
                                       "2026-01-01T00:00:00Z", "-q"], capture_output=True, check=True).stdout)
    files = {name: tmp_path / f"{name}.ndjson" for name in ("clean", "rejects")}
    summary = tmp_path / "summary.json"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", "2026-01-02T00:00:00Z",
                    "--clean", files["clean"], "--rejects", files["rejects"], "--summary", summary], check=True)

    def verdict(clean, rejects) -> str:
        args = [str(events), str(clean), str(rejects), str(summary)]
        return (script("day20/ex6_reconcile.sh", *args) / "stdout.txt").read_text().strip()

    assert verdict(files["clean"], files["rejects"]) == "OK"
    short, doubled = tmp_path / "short.ndjson", tmp_path / "doubled.ndjson"
    short.write_bytes(b"".join(files["clean"].read_bytes().splitlines(keepends=True)[:-1]))
    rejects = files["rejects"].read_bytes().splitlines(keepends=True)
    doubled.write_bytes(b"".join(rejects + rejects[:1]))
    assert verdict(short, files["rejects"]).startswith("MISMATCH")
    assert verdict(files["clean"], doubled).startswith("MISMATCH")
