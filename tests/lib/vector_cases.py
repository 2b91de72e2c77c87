"""The shared test vectors (tests/vectors/*.test), read by every suite that checks an engine
(dq check, the bindings, the Flink and Spark jobs, the fuzzers' seeds): events with the
verdicts, reasons and cleaned events every engine must give.

A .test file is cases separated by blank lines, in the manner of jq's tests:

    # stateful: exact duplicate                          the case's name
    now 2026-11-26T05:00:00Z                             the clock the future rule reads
    < {"sensor_id":"sensor_1","timestamp":...}           an event, as its bytes
    > PASS                                               its verdict and reason codes
    < {"sensor_id":"sensor_1","timestamp":...}
    > REJECT DUPLICATE_EVENT
    = {"sensor_id":...,"dq":{...}}                       (optional) the clean event, as JSON

An event line is `< TEXT` (the rest of the line, for text without control characters or
surrounding blanks), `<json "..."` (a JSON string: any text), `<b64 ...` (bytes that are not
UTF-8) or `<pad {"prefix": ..., "n": N, "char": "x", "suffix": ...}` (a long event).
"""
import base64
import json
from pathlib import Path

VECTORS = sorted((Path(__file__).resolve().parents[1] / "vectors").glob("*.test"))


def parse_event(line: str):
    """An event line to the event: text, or {"b64": ...} for bytes that are not UTF-8."""
    kind, _, rest = line.partition(" ")
    if kind == "<":
        return rest
    if kind == "<json":
        return json.loads(rest)
    if kind == "<b64":
        return {"b64": rest}
    if kind == "<pad":
        pad = json.loads(rest)
        return pad["prefix"] + pad["char"] * pad["n"] + pad["suffix"]
    raise ValueError(f"not an event line: {line[:40]!r}")


def parse(text: str, name: str):
    """The cases of one .test file, each with "where" (file:line of its name)."""
    case = None
    for n, line in enumerate(text.splitlines() + [""], 1):
        if not line.strip():
            if case:
                yield case
            case = None
        elif line.startswith("# "):
            case = {"name": line[2:], "now": None, "events": [], "expect": [], "where": f"{name}:{n}"}
        elif case is None:
            raise ValueError(f"{name}:{n}: a case starts with '# name'")
        elif line.startswith("now "):
            case["now"] = line[4:]
        elif line.startswith("<"):
            case["events"].append(parse_event(line))
        elif line.startswith("> "):
            verdict, *reasons = line[2:].split(" ")
            case["expect"].append({"verdict": verdict, "reasons": reasons[0].split(",") if reasons else []})
        elif line.startswith("= "):
            case["expect"][-1]["clean"] = json.loads(line[2:])
        else:
            raise ValueError(f"{name}:{n}: unknown line {line[:40]!r}")


def load_cases():
    for path in VECTORS:
        yield from parse(path.read_text(encoding="utf-8"), path.name)


def event_bytes(event) -> bytes:
    """An event's bytes: a string, or {"b64": ...} for bytes that are not UTF-8."""
    return base64.b64decode(event["b64"]) if isinstance(event, dict) else event.encode("utf-8")
