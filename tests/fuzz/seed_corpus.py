"""Writes the fuzzers' seed corpus: every event of tests/vectors, every contract, the
saved per-key states (through the bindings, so build/libdq.so must exist) and a small
anomaly model.

usage: seed_corpus.py OUT_DIR   (creates OUT_DIR/event, contract, state, model and csv)
"""
import shutil
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
out = Path(sys.argv[1])
(out / "event").mkdir(parents=True, exist_ok=True)
(out / "contract").mkdir(parents=True, exist_ok=True)
(out / "state").mkdir(parents=True, exist_ok=True)
(out / "model").mkdir(parents=True, exist_ok=True)
(out / "csv").mkdir(parents=True, exist_ok=True)
sys.path.insert(0, str(root / "tests" / "lib"))
import dq  # noqa: E402
from vector_cases import event_bytes, load_cases  # noqa: E402

engine = dq.Engine(dq.Contract(root / "contracts" / "sensor_readings.yaml"), now="2026-11-26T05:00:00Z")
n = 0
for case in load_cases():
    for event in case["events"]:
        data = event_bytes(event)
        (out / "event" / f"vector-{n}").write_bytes(data)
        n += 1
        engine.evaluate([data])
        for key, state in engine.state_changes().items():
            (out / "state" / f"vector-{n}").write_bytes(state)
for contract in (root / "contracts").glob("*.yaml"):
    shutil.copy(contract, out / "contract" / contract.name)
# A two-level forest on two features: the shape ml/export.py writes.
(out / "model" / "small").write_text(
    "dq-iforest 1\nfeatures 2 a.value b.value\nmax_samples 8\nthreshold 0.6\ntrees 2\n"
    "tree 5\n0 1.5 1 2 8\n-1 0 -1 -1 3\n1 -0.25 3 4 5\n-1 0 -1 -1 4\n-1 0 -1 -1 1\n"
    "tree 3\n1 2.0e-3 1 2 8\n-1 0 -1 -1 7\n-1 0 -1 -1 1\n")
# A Hotelling T² model on two of three features: the shape export_hotelling writes.
(out / "model" / "hotelling").write_text(
    "dq-hotelling 1\nfeatures 3 a.value b.value c.dev\nthreshold 25.5\nmean 20.5 0 -1e-3\n"
    "precision\n0.25 0 0.01\n0 0 0\n0.01 0 4.0\n")
# CSV the way dq check --csv reads it (fuzz_csv: ';' when the first byte is odd).
(out / "csv" / "rows").write_text('ts,t,humidity,location\n2026-11-26T04:13:00Z,21.5,40,"a ""b"", c"\n'
                                  '2026-11-26T04:13:10Z,,41,\n"unclosed,1,2,3\n')
(out / "csv" / "semicolons").write_text('sensor_id;ts;t;humidity\nsensor_2;2026-11-26T04:13:00Z;1e3;-0.5\n')
