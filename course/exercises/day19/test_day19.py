"""Day 19: where the time goes (course/week4.md), against bench/README.md's tables."""
import re

from checks import ROOT

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
