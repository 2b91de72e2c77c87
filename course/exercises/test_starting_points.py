"""Every exercise's starting point and its published solution belong together: a check runs
yours once you replace its placeholder, and the solution while you have not."""
import tomllib

import pytest

from checks import EXERCISES, NOT_STARTED, SOLUTIONS, placeholders, started

KINDS = (".sh", ".py", ".sql", ".promql", ".cql", ".yaml", ".ndjson", ".toml")
STARTING_POINTS = sorted(p for p in EXERCISES.glob("day*/*") if p.suffix in KINDS and not p.name.startswith("test_"))


@pytest.mark.parametrize("path", STARTING_POINTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_starting_point_has_one_placeholder_and_a_solution(path):
    solution = SOLUTIONS / path.parent.name / path.name
    assert solution.exists(), f"{solution} is missing"
    if path.suffix == ".toml":
        mine, published = (tomllib.loads(p.read_text()) for p in (path, solution))
        assert mine.keys() == published.keys()
        assert all(v == NOT_STARTED for v in mine.values()) and NOT_STARTED not in published.values()
        return
    # one line outside comments says TODO: replacing it (and only it) makes the file yours
    assert len(placeholders(path)) == 1, placeholders(path)
    assert not started(path) and started(solution)
