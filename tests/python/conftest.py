"""Shared fixtures: paths to the built tool and library, and the vector cases."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DQ_BIN = Path(os.environ.get("DQ_BIN", ROOT / "build" / "dq"))
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
sys.path.insert(0, str(ROOT / "tests" / "lib"))
from vector_cases import VECTORS, event_bytes, load_cases  # noqa: E402,F401  (the tests import them from here)


@pytest.fixture(scope="session")
def dq_bin() -> Path:
    assert DQ_BIN.exists(), f"{DQ_BIN} is missing: run `make build`"
    return DQ_BIN
