"""Writes the fuzzers' seed corpus: every event of tests/vectors and every contract.

usage: seed_corpus.py OUT_DIR   (creates OUT_DIR/event and OUT_DIR/contract)
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
n = 0
for path in sorted((root / "tests" / "vectors").glob("*.jsonl")):
    for line in path.read_text(encoding="utf-8").splitlines():
        for event in json.loads(line)["events"]:
            data = base64.b64decode(event["b64"]) if isinstance(event, dict) else event.encode()
            (out / "event" / f"vector-{n}").write_bytes(data)
            n += 1
for contract in (root / "contracts").glob("*.yaml"):
    shutil.copy(contract, out / "contract" / contract.name)
