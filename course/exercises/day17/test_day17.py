"""Day 17: scoring in the stream (course/week4.md), against bench/README.md's make
bench-anomaly table."""
import math
import re

from checks import ROOT

BENCH = (ROOT / "bench" / "README.md").read_text()


def vectors_per_second(row: str) -> list[float]:
    line = next(line for line in BENCH.splitlines() if line.startswith(f"| {row}"))
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", line.split("|")[2])]


def test_2_one_row_at_a_time(answer):
    libdq = vectors_per_second("libdq `dq_model_score` from Python, one call per vector")[0]
    sklearn = vectors_per_second("scikit-learn `score_samples`, one row per call")
    ratio = libdq / (sum(sklearn) / len(sklearn))
    assert round(math.log10(ratio)) == math.log10(int(answer("day17", "times_slower"))), ratio
    assert answer("day17", "whole_array") == "b"
