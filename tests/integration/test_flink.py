"""Flink: a PyFlink job submitted to the running cluster reads Kafka; its web UI draws."""
import json
import os
import subprocess

from conftest import ROOT, produce, read_env, run, venv
from dq.stack import CACHE, FLINK, flink_rest

FLINK_HOME = venv("flink") / "lib" / "python3.11" / "site-packages" / "pyflink"


def test_pyflink_job_on_cluster_reads_kafka(topic):
    events = [json.dumps({"sensor_id": f"sensor_{i % 7}", "temperature": 20 + i % 5}).encode() for i in range(700)]
    produce(topic, events)
    connector = next((CACHE / "jars" / "flink").glob("flink-sql-connector-kafka-*.jar"))
    env = {"FLINK_CONF_DIR": str(ROOT / ".stack" / "conf" / "flink"), "PYFLINK_PYTHON": str(venv("flink") / "bin/python"),
           "PATH": f"{venv('flink') / 'bin'}:/usr/bin:/bin"}
    proc = run([FLINK_HOME / "bin" / "flink", "run", "-m", "https://127.0.0.1:8091", "--python",  # mutual TLS
                ROOT / "tests/integration/jobs/flink_kafka_smoke.py", "--jarfile", connector, topic], env=env)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))
    assert json.loads(line[7:]) == {"sensors": 7, "events": 700}
    # It ran on the cluster, not in a local mini-cluster: the JobManager knows the job.
    jobs = flink_rest("/jobs/overview")["jobs"]
    assert any(j["name"] == "stack smoke test: kafka -> flink" and j["state"] == "FINISHED" for j in jobs)


def test_the_web_ui_shows_the_live_job_in_chromium_with_the_login():
    """What a learner does on day 4: open http://127.0.0.1:8081. The browser asks for the login
    (user dq, FLINK_PASSWORD); with it the UI draws and lists the live writer's job, without
    it the page is refused."""
    out = ROOT / "build" / "test-artifacts" / "flink"
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NODE_PATH": str(CACHE / "dashboards" / "node_modules")}
    proc = subprocess.run(["node", ROOT / "tests/integration/browser/flink_ui.cjs", FLINK + "/#/overview",
                           out / "overview.png", "day 11"], input=read_env()["FLINK_PASSWORD"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["without"]["status"] == 401, seen["without"]
    page = seen["with_login"]
    assert page["status"] == 200 and page["errors"] == [], page
    assert "Available Task Slots" in page["text"] and "day 11: sensor-topic" in page["text"], page["text"][:2000]
    assert (out / "overview.png").stat().st_size > 10_000
