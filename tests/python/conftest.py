"""Shared fixtures: paths to the built tool and library, and the vector cases."""
import base64
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

DQ_BIN = Path(os.environ.get("DQ_BIN", ROOT / "build" / "dq"))
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
VECTORS = sorted((ROOT / "tests" / "vectors").glob("*.jsonl"))


def load_cases():
    for path in VECTORS:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            case = json.loads(line)
            case["where"] = f"{path.name}:{n}"
            yield case


def event_bytes(event) -> bytes:
    return base64.b64decode(event["b64"]) if isinstance(event, dict) else event.encode("utf-8")


@pytest.fixture(scope="session")
def dq_bin() -> Path:
    assert DQ_BIN.exists(), f"{DQ_BIN} is missing: run `make build`"
    return DQ_BIN
