"""Day 2, exercise 6 (a solution): recall by hand.

recall(truth_csv, clean_ndjson, rejects_ndjson, defect, reason) returns the share of the truth
file's lines labelled `defect` whose verdict lists `reason` in its "dq": {"reasons": [...]}:
a reject's verdict is in rejects.ndjson (its "line" is the input line); the clean file has one
event per accepted input line, in the input's order (the rejected lines left out). Replace
the placeholder; `python course/exercises/day02/ex6_recall.py truth.csv clean.ndjson
rejects.ndjson spike SPIKE` prints it.
"""
import csv
import json
import sys


def recall(truth_csv: str, clean_ndjson: str, rejects_ndjson: str, defect: str, reason: str) -> float:
    with open(rejects_ndjson) as f:
        verdicts = {r["line"]: r["dq"] for r in map(json.loads, f)}
    with open(truth_csv) as f:
        labels = {int(row["line"]): row["defect"] for row in csv.DictReader(f)}
    with open(clean_ndjson) as f:
        kept = (line for line in sorted(labels) if line not in verdicts)
        verdicts.update(zip(kept, (json.loads(event)["dq"] for event in f)))
    lines = [line for line, label in labels.items() if label == defect]
    return sum(reason in verdicts[line].get("reasons", []) for line in lines) / len(lines)


if __name__ == "__main__":
    print(f"{recall(*sys.argv[1:6]):.6f}")
