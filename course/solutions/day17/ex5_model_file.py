"""Day 17, exercise 5 (a solution): what a model file holds.

describe(path) reads a libdq model file (the format: the comment at the top of src/anomaly.c)
and returns {"trees": k, "max_samples": m, "threshold": t, "leaves": n}: the numbers on the
"trees", "max_samples" and "threshold" lines, and how many node lines of all trees are
leaves (a leaf's line starts with -1). Replace the placeholder; `python
course/exercises/day17/ex5_model_file.py models/sensor-anomaly.dqm` prints them.
"""
import sys


def describe(path: str) -> dict:
    found = {"leaves": 0}
    with open(path) as f:
        for line in f:
            words = line.split()
            if words and words[0] in ("trees", "max_samples"):
                found[words[0]] = int(words[1])
            elif words and words[0] == "threshold":
                found["threshold"] = float(words[1])
            elif words and words[0] == "-1":  # a node line whose feature is -1: a leaf
                found["leaves"] += 1
    return found


if __name__ == "__main__":
    print(describe(sys.argv[1]))
