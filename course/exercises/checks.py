"""What the exercises' checks share: which version of an exercise runs (yours, or the published
solution while yours still says TODO), and where things are. The fixtures are in conftest.py;
test files import from here (a module named conftest is ambiguous beside the other suites')."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "lib"))

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


