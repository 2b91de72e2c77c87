"""The shared test helpers (tests/lib/testenv.py) and their dq_bin fixture."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from testenv import dq_bin  # noqa: E402,F401  (a fixture)
