"""Flink: a PyFlink job submitted to the running cluster reads Kafka."""
import json

from conftest import ROOT, produce, run, venv
from dq.stack import CACHE, flink_rest

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
