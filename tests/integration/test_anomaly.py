"""Anomaly detection end to end: ml/train.py on generated history through the real MLflow
server (runs, registry, alias), the registered model fetched back, and dq gate scoring a
new stream with it: the injected spikes land in the anomalies topic; then course day 17's
commands: the stack's gate swapped for one with the model, on the live stream."""
import collections
import datetime as dt
import json
import signal
import subprocess
import sys
import time
import uuid

from confluent_kafka.admin import AdminClient

from conftest import ROOT, kafka, messages, run, venv
from dq.stack import kafka_cli_args

sys.path.insert(0, str(ROOT / "stack"))
from reconcile import committed  # noqa: E402

DQ = ROOT / "build" / "dq"
PY = venv("ml") / "bin" / "python"


def test_train_register_fetch_and_score_in_the_gate(tmp_path, make_topic):
    history, truth = tmp_path / "history.ndjson", tmp_path / "truth.csv"
    history.write_text(run([DQ, "gen", "--count", 30000, "--seed", "31", "--start", "2026-11-01T00:00:00Z",
                            "--truth", truth]).stdout)
    name = f"test-anomaly-{uuid.uuid4().hex[:8]}"
    trained = run([PY, ROOT / "ml" / "train.py", "--history", history, "--truth", truth, "--experiment", name,
                   "--model-name", name, "--out", tmp_path / "model.dqm"], timeout=900)
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    assert summary["registered"] == name and summary["version"] == 1 and summary["alias"] == "champion"
    assert summary["best"]["recall_spike"] >= 0.9 and summary["best"]["precision"] >= 0.9, summary
    assert summary["baseline_online_z"]["recall_spike"] >= 0.9 and "f1" in summary["baseline_seasonal_median"]

    # The registry gives back the same model file (MLflow's artifact store, through the alias).
    run([PY, ROOT / "ml" / "fetch_model.py", "--name", name, "--out", tmp_path / "fetched.dqm"])
    assert (tmp_path / "fetched.dqm").read_bytes() == (tmp_path / "model.dqm").read_bytes()

    # A new stream through the gate with the model: the spikes it scores are flagged.
    source, anomalies, events = make_topic(), make_topic(), 20000
    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run([DQ, "gen", "--count", events, "--seed", "32", "--start", start, *kafka_cli_args("admin"), "--topic", source,
         "-q"])
    clean = make_topic()
    run([DQ, "gate", "-c", ROOT / "contracts" / "sensor_readings.yaml", *kafka_cli_args("validator"), "--group", source,
         "--input", source, "--clean", clean, "--dlq", make_topic(), "--anomalies", anomalies,
         "--model", tmp_path / "fetched.dqm", "--state-topic", "", "--metrics-topic", "", "--metrics-addr", "",
         "--max-events", events])
    scored = collections.Counter()
    for m in messages(clean):
        annotation = json.loads(m.value())["dq"]
        if "anomaly" in annotation:
            assert 0 < annotation["anomaly"]["score"] <= 1
            scored[dict(m.headers())["dq.truth"].decode(), annotation["anomaly"]["flag"]] += 1
    flagged = collections.Counter(dict(m.headers())["dq.truth"].decode() for m in messages(anomalies))
    assert sum(flagged.values()) == sum(n for (_, flag), n in scored.items() if flag)
    spikes = scored["spike", True] + scored["spike", False]
    assert spikes > 50 and flagged["spike"] / spikes >= 0.9, (flagged, scored)
    assert flagged["spike"] / sum(flagged.values()) >= 0.8, flagged  # what it flags is mostly the spikes

    # Course day 17, its commands as written, the model trained above in place of make train's.
    week4 = (ROOT / "course" / "week4.md").read_text()
    block = week4[week4.index("```sh", week4.index("## Day 17")) + 6:].split("```")[0].replace("\\\n", " ")
    lines = [line.split("#")[0].split() for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == ["make", "down", "SERVICE=dq-gate"] and lines[2] == ["make", "up", "SERVICE=dq-gate"], lines
    gate = [str(tmp_path / "model.dqm") if a == "models/sensor-anomaly.dqm" else a for a in lines[1]]
    admin = AdminClient(kafka())
    run(lines[0], cwd=ROOT)
    try:
        before = sum(committed(admin, "dq-gate").values())
        proc = subprocess.Popen(gate, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        time.sleep(30)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=60) == 0, proc.stderr.read()[-2000:]
        assert sum(committed(admin, "dq-gate").values()) > before + 1000  # it judged the live stream
    finally:
        run(lines[2], cwd=ROOT)
