"""What the Python test folders share: the checkout, the built `dq`, the course contract, the
shared vectors and the dq_bin fixture (each folder's conftest.py takes it from here)."""
import os
from pathlib import Path

import pytest

from vector_cases import VECTORS, event_bytes, load_cases  # noqa: F401  (the tests import them from here)

ROOT = Path(__file__).resolve().parents[2]
DQ_BIN = Path(os.environ.get("DQ_BIN", ROOT / "build" / "dq"))
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"


@pytest.fixture(scope="session")
def dq_bin() -> Path:
    assert DQ_BIN.exists(), f"{DQ_BIN} is missing: run `make build`"
    return DQ_BIN


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a server a test starts."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
