"""The shared test vectors (tests/vectors/*.jsonl): one case a line, events with the
verdicts, reasons and cleaned events every engine must give."""
import base64
import json
from pathlib import Path

VECTORS = sorted((Path(__file__).resolve().parent / "vectors").glob("*.jsonl"))


def load_cases():
    for path in VECTORS:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            case = json.loads(line)
            case["where"] = f"{path.name}:{n}"
            yield case


def event_bytes(event) -> bytes:
    """An event's bytes: a string, or {"b64": ...} for bytes that are not UTF-8."""
    return base64.b64decode(event["b64"]) if isinstance(event, dict) else event.encode("utf-8")
