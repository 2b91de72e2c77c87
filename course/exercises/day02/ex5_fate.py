"""Day 2, exercise 5: which defects get through dq check?

rejected_share(truth_csv, rejects_ndjson) returns {defect: share of its events rejected}, over
every defect of the truth file ("none" too): a reject's "line" (in rejects.ndjson, one JSON
object per line) is the line number in the truth file's "line" column. Replace the
placeholder; `python course/exercises/day02/ex5_fate.py /tmp/truth.csv /tmp/rejects.ndjson`
prints the table.
"""
import csv
import json
import sys


def rejected_share(truth_csv: str, rejects_ndjson: str) -> dict[str, float]:
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    for defect, share in sorted(rejected_share(*sys.argv[1:3]).items(), key=lambda kv: kv[1]):
        print(f"{defect:20} {share:7.1%}")
