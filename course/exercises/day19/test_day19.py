"""Day 19: where the time goes (course/week4.md), against bench/README.md's tables."""
import re
import subprocess

from checks import ROOT
from testenv import CONTRACT

BENCH = (ROOT / "bench" / "README.md").read_text()


def test_1_what_is_left_and_the_floor(answer):
    flink = BENCH[BENCH.index("## `make bench-flink`"):BENCH.index("## `make bench-spark`")]
    rows = [m.group(1).strip() for m in re.finditer(r"^\|\s*(?:&nbsp;|\s)*([^|]+)\|", flink, re.M)]
    left = answer("day19", "what_is_left")
    chosen = [row for row in rows if row.lower().startswith(left)]
    assert len(chosen) == 1 and "Beam's transport" in chosen[0], (left, rows)
    assert "PyFlink floor" in flink and answer("day19", "why_floor") == "b"


def test_2_a_micro_batchs_fixed_cost(answer):
    assert "A micro-batch costs 3-5 s whatever its size" in " ".join(BENCH.split())
    assert answer("day19", "micro_batch") == "b"


def instructions(dq_bin, events) -> int:
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", dq_bin, "check", "-q",
                          "-c", CONTRACT, "-i", events, "--clean", "/dev/null", "--now", "2026-01-02T00:00:00Z"],
                         capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))


def test_4_instructions_per_event(dq_bin, script, tmp_path, answer):
    printed = int((script("day19/ex4_instructions.sh") / "stdout.txt").read_text().strip())
    events, empty = tmp_path / "mine.ndjson", tmp_path / "none.ndjson"
    events.write_bytes(subprocess.run([dq_bin, "gen", "--count", "10000", "--seed", "7", "--start",
                                       "2026-01-01T00:00:00Z", "-q"], capture_output=True, check=True).stdout)
    empty.write_bytes(b"")
    per_event = (instructions(dq_bin, events) - instructions(dq_bin, empty)) / 10_000
    assert abs(printed - per_event) <= 0.01 * per_event, (printed, per_event)
    assert answer("day19", "why_empty_run") == "b"
