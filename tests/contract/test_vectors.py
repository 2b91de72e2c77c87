"""The shared conformance vectors (tests/vectors/*.test) through `dq check` and the bindings.

Each case is a sequence of raw events for one fresh engine, with the expected verdict,
reason codes and (where given) cleaned values of each. Flink and Spark run the same files.
"""
import json
import subprocess

import pytest

from testenv import CONTRACT, event_bytes, load_cases

CASES = list(load_cases())


def check_outcome(case, outcomes):
    for i, (want, got) in enumerate(zip(case["expect"], outcomes)):
        where = f"{case['where']} {case['name']!r} event {i + 1}"
        assert got["verdict"] == want["verdict"], f"{where}: {got}"
        assert sorted(got["reasons"]) == sorted(want["reasons"]), f"{where}: {got}"
        if "clean" in want:
            assert got["clean"] == want["clean"], f"{where}"
    assert len(outcomes) == len(case["expect"])


def test_enough_vectors():
    assert len(CASES) >= 100
    reasons = {r for c in CASES for e in c["expect"] for r in e["reasons"]}
    import dq
    every = set(dq.REASONS[1:])
    assert every - reasons == set(), f"reason codes without a vector: {every - reasons}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector_dq_check(case, dq_bin, tmp_path):
    src = tmp_path / "in.ndjson"
    src.write_bytes(b"".join(event_bytes(e) + b"\n" for e in case["events"]))
    clean, rejects = tmp_path / "clean.ndjson", tmp_path / "rejects.ndjson"
    proc = subprocess.run([dq_bin, "check", "-c", CONTRACT, "-i", src, "--clean", clean, "--rejects", rejects,
                           "--now", case["now"], "-q"], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    rejected = {r["line"]: r for r in map(json.loads, rejects.read_text().splitlines())}
    passed = iter(json.loads(line) for line in clean.read_text().splitlines())
    outcomes = []
    for n in range(1, len(case["events"]) + 1):
        if n in rejected:
            rec = rejected[n]
            outcomes.append({"verdict": "REJECT", "reasons": rec["dq"]["reasons"], "clean": None})
            raw = event_bytes(case["events"][n - 1])
            kept = rec["raw"].encode() if "raw" in rec else __import__("base64").b64decode(rec["raw_base64"])
            assert kept == raw or rec.get("raw_truncated"), "the dead-letter record must keep the original bytes"
        else:
            row = next(passed)
            annotation = row.pop("dq")
            outcomes.append({"verdict": annotation["status"], "reasons": annotation.get("reasons", []), "clean": row})
    check_outcome(case, outcomes)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector_bindings(case):
    import dq
    engine = dq.Engine(dq.Contract(CONTRACT), now=case["now"])
    res = engine.evaluate([event_bytes(e) for e in case["events"]])
    outcomes = []
    for verdict, reasons, clean, annotation in zip(res.verdicts, res.reasons, res.clean, res.annotation):
        row = json.loads(clean) if clean is not None else None
        if row is not None:
            assert row.pop("dq")["status"] == verdict and annotation is None
        else:
            why = json.loads(annotation)
            assert (why["status"], why["reasons"]) == ("REJECT", reasons) and why["findings"]
        outcomes.append({"verdict": verdict, "reasons": reasons, "clean": row})
    check_outcome(case, outcomes)


MULTI = [c for c in CASES if len(c["events"]) > 1]


@pytest.mark.parametrize("case", MULTI, ids=[c["name"] for c in MULTI])
def test_vector_state_restored_at_every_split(case):
    """A restart between any two events, with the saved state restored, changes nothing."""
    import dq
    contract = dq.Contract(CONTRACT)
    events = [event_bytes(e) for e in case["events"]]
    whole = dq.Engine(contract, now=case["now"]).evaluate(events)
    for split in range(1, len(events)):
        before = dq.Engine(contract, now=case["now"])
        first = before.evaluate(events[:split])
        after = dq.Engine(contract, now=case["now"])
        for key, state in before.state_changes().items():
            after.restore_state(key, state)
        second = after.evaluate(events[split:])
        assert first.verdicts + second.verdicts == whole.verdicts, f"split at {split}"
        assert first.reasons + second.reasons == whole.reasons, f"split at {split}"
        assert first.clean + second.clean == whole.clean, f"split at {split}"
    assert whole.verdicts != [] and len(MULTI) >= 20


def test_state_of_another_contract_is_refused(tmp_path):
    import dq
    engine = dq.Engine(dq.Contract(CONTRACT))
    with pytest.raises(dq.DqError, match="does not fit"):
        engine.restore_state("sensor_1", b"\x01\x63" + bytes(80))


def test_state_restores_from_any_bytes_like():
    import dq
    engine = dq.Engine(dq.Contract(CONTRACT))
    engine.evaluate([b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:13:00Z","temperature":20,"humidity":40}'])
    saved = engine.state_changes()["sensor_1"]
    for form in (saved, bytearray(saved), memoryview(saved)):
        fresh = dq.Engine(dq.Contract(CONTRACT))
        fresh.restore_state("sensor_1", form)
        assert fresh.state_changes() == {}  # restored, not changed
        assert fresh.evaluate([b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:13:00Z","temperature":20,'
                               b'"humidity":40}']).reasons == [["DUPLICATE_EVENT"]]


def test_bindings_say_which_error(tmp_path):
    import dq
    with pytest.raises(dq.DqError) as missing:
        dq.Contract(tmp_path / "none.yaml")
    assert (missing.value.code, missing.value.line) == ("DQ_ERR_IO", 0)
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONTRACT.read_text().replace("maximum: 60", "maximun: 60"))
    with pytest.raises(dq.DqError) as invalid:
        dq.Contract(bad)
    assert invalid.value.code == "DQ_ERR_CONTRACT" and invalid.value.line > 0
    assert str(invalid.value).startswith(f"{bad}:{invalid.value.line}: unknown key 'maximun'")


def test_contract_fields_come_from_libdq():
    """The rules other engines restate (Spark's expressions) are read from the compiled contract."""
    import dq
    fields = {f["name"]: f for f in dq.Contract(CONTRACT).fields}
    assert list(fields) == ["sensor_id", "timestamp", "temperature", "humidity", "pressure", "battery",
                            "location", "status"]
    assert fields["sensor_id"] == {"name": "sensor_id", "type": "string", "required": True, "primaryKey": True,
                                   "eventTime": False, "pattern": "^sensor_[0-9]+$", "maxLength": 64}
    assert fields["pressure"]["onOutOfRange"] == "cap" and fields["battery"]["coerce"] is False
    assert fields["temperature"]["onMissing"] == {"impute": "last_good", "maxAgeMs": 300_000}
    assert fields["status"]["enum"] == ["ok", "low_battery", "maintenance"]
