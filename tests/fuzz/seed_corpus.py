"""Writes the fuzzers' seed corpus: every event of tests/vectors, every contract, and
the saved per-key states (through the bindings, so build/libdq.so must exist).

usage: seed_corpus.py OUT_DIR   (creates OUT_DIR/event, OUT_DIR/contract, OUT_DIR/state)
"""
import base64
import json
import shutil
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
out = Path(sys.argv[1])
(out / "event").mkdir(parents=True, exist_ok=True)
(out / "contract").mkdir(parents=True, exist_ok=True)
(out / "state").mkdir(parents=True, exist_ok=True)
sys.path.insert(0, str(root / "python"))
import dq  # noqa: E402  (after the path is set)

engine = dq.Engine(dq.Contract(root / "contracts" / "sensor_readings.yaml"), now="2026-11-26T05:00:00Z")
n = 0
for path in sorted((root / "tests" / "vectors").glob("*.jsonl")):
    for line in path.read_text(encoding="utf-8").splitlines():
        for event in json.loads(line)["events"]:
            data = base64.b64decode(event["b64"]) if isinstance(event, dict) else event.encode()
            (out / "event" / f"vector-{n}").write_bytes(data)
            n += 1
            engine.evaluate([data])
            for key, state in engine.state_changes().items():
                (out / "state" / f"vector-{n}").write_bytes(state)
for contract in (root / "contracts").glob("*.yaml"):
    shutil.copy(contract, out / "contract" / contract.name)
