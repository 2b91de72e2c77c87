"""The exercises' checks (`make exercise DAY=N`). Each check runs your version of an exercise,
the files in course/exercises/dayNN/, or, while yours still says TODO, the published solution
in course/solutions/dayNN/, and prints which it ran. DQ_EXERCISES=solutions runs the
solutions whatever yours say (make test does: the published solutions must pass)."""
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "lib"))
from testenv import CONTRACT, DQ_BIN, dq_bin  # noqa: E402,F401  (a fixture)

EXERCISES, SOLUTIONS = Path(__file__).parent, ROOT / "course" / "solutions"
# The ml venv (scikit-learn, ml/train.py's imports): days 16 and later train models with it.
PYTHON_ML = Path(os.environ.get("DQ_CACHE", Path.home() / ".cache" / "dq-platform")) / "venv" / "ml" / "bin" / "python"
NOT_STARTED = "TODO"


def solutions_only() -> bool:
    return os.environ.get("DQ_EXERCISES") == "solutions"


def started(path: Path) -> bool:
    """Whether no line but comments still says TODO."""
    return not any(NOT_STARTED in line and not line.lstrip().startswith("#") for line in path.read_text().splitlines())


def chosen(relative: str) -> Path:
    """Your file, or the solution's while yours says TODO."""
    mine = EXERCISES / relative
    if solutions_only() or not started(mine):
        print(f"\n  {relative}: the published solution (yours still says {NOT_STARTED})")
        return SOLUTIONS / relative
    print(f"\n  {relative}: yours")
    return mine


@pytest.fixture
def answer():
    """answer(day, key): your answer in dayNN/answers.toml, or the published one while yours says TODO."""
    def get(day: str, key: str) -> str:
        mine = tomllib.loads((EXERCISES / day / "answers.toml").read_text())[key]
        if solutions_only() or mine.strip() == NOT_STARTED:
            print(f"\n  {day}/answers.toml {key}: the published answer (yours still says {NOT_STARTED})")
            mine = tomllib.loads((SOLUTIONS / day / "answers.toml").read_text())[key]
        else:
            print(f"\n  {day}/answers.toml {key}: yours")
        return mine.strip().lower()
    return get


@pytest.fixture
def script(tmp_path):
    """script(day/name, *args): runs an exercise's shell script in a fresh folder, with $DQ (the
    built dq), $CONTRACT (the course contract), $ROOT (the checkout) and $PYTHON_ML (the ml
    venv's python) set; returns the folder."""
    def run(relative: str, *args: str) -> Path:
        env = {**os.environ, "DQ": str(DQ_BIN), "CONTRACT": str(CONTRACT), "ROOT": str(ROOT),
               "PYTHON_ML": str(PYTHON_ML)}
        proc = subprocess.run(["sh", chosen(relative), *args], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{relative} failed:\n{proc.stderr}"
        return tmp_path
    return run
