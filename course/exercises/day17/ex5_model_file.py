"""Day 17, exercise 5: what a model file holds.

describe(path) reads a libdq model file (the format: the comment at the top of src/anomaly.c)
and returns {"trees": k, "max_samples": m, "threshold": t, "leaves": n}: the numbers on the
"trees", "max_samples" and "threshold" lines, and how many node lines of all trees are
leaves (a leaf's line starts with -1). Replace the placeholder; `python
course/exercises/day17/ex5_model_file.py models/sensor-anomaly.dqm` prints them.
"""
import sys


def describe(path: str) -> dict:
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    print(describe(sys.argv[1]))
