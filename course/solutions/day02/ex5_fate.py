"""Day 2, exercise 5 (a solution): which defects get through dq check? See the starting
point for the task."""
import collections
import csv
import json
import sys


def rejected_share(truth_csv: str, rejects_ndjson: str) -> dict[str, float]:
    with open(rejects_ndjson) as f:
        rejected = {json.loads(line)["line"] for line in f}
    events, rejects = collections.Counter(), collections.Counter()
    with open(truth_csv) as f:
        for row in csv.DictReader(f):
            events[row["defect"]] += 1
            rejects[row["defect"]] += int(row["line"]) in rejected
    return {defect: rejects[defect] / n for defect, n in events.items()}


if __name__ == "__main__":
    for defect, share in sorted(rejected_share(*sys.argv[1:3]).items(), key=lambda kv: kv[1]):
        print(f"{defect:20} {share:7.1%}")
