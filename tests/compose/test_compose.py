"""The Docker path (docker-compose.yml) as a learner runs it: `make test-compose` builds the
image, brings the file up (podman where no Docker engine runs: stack/containers.sh), runs
these tests and tests/integration/test_dashboards.py against it, and removes everything,
volumes too, whatever the outcome. Nothing here knows it is not the native stack except
where the course's Docker exercises differ: `docker compose exec|stop|start`."""
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from dq.stack import flink_rest, kafka_cli_args, kafka_login

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "stack"))
from reconcile import PARTITIONS, end_offsets, not_passed, reader, reconcile, wait_committed  # noqa: E402

DQ = ROOT / "build" / "dq"
SERVICES = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
# What docker-compose.yml publishes (less Grafana's, whose profile is left out), and ports its
# services listen on that it does not publish.
PUBLISHED = {int(p.split(":")[1]) for p in SERVICES["net"]["ports"]} - {3000}
INTERNAL = {9093, 7000, 6123, 7077, 8082, 8091, 9404, 9405, 9406, 9407}
HEALTHCHECKED = {name for name, svc in SERVICES.items() if "test" in svc.get("healthcheck", {})}


def compose(*args, timeout=900) -> subprocess.CompletedProcess:
    """`make compose ARGS=...`: docker compose on this project, on whichever engine runs it."""
    # stdin closed: docker-compose 1.29 runs `docker exec --interactive`, which otherwise waits for it
    proc = subprocess.run([ROOT / "stack" / "containers.sh", "compose", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"compose {' '.join(map(str, args))}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc


def count(topic: str) -> int:
    c = Consumer(kafka_login("reader") | {"group.id": "count"})
    n = sum(hi - lo for lo, hi in (c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in PARTITIONS))
    c.close()
    return n


def test_every_service_is_healthy_and_the_setup_finished():
    states = compose("ps").stdout
    for service in HEALTHCHECKED:
        line = next((l for l in states.splitlines() if f"_{service}_" in l or f"-{service}-" in l), "")
        assert "(healthy)" in line, f"{service}: {line or 'not listed'}\n{states}"
    setup = next(l for l in states.splitlines() if "setup" in l)
    assert "Exit 0" in setup or "Exited (0)" in setup, setup


def test_only_the_user_ports_are_published_and_only_on_loopback():
    listening = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout.split("\n")
    for port in PUBLISHED:
        addresses = {l.split()[3].rsplit(":", 1)[0] for l in listening if l and l.split()[3].endswith(f":{port}")}
        assert addresses == {"127.0.0.1"}, (port, addresses)
    for port in INTERNAL:
        with socket.socket() as s:
            s.settimeout(3)
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is reachable from the host"


def test_every_reading_lands_in_cassandra_once_with_the_gates_verdict_across_a_gate_stop():
    """35 s of make up's generator, with dq gate stopped for 15 s in it (`docker compose
    stop/start`, course day 20 on the Docker path): every offset of the span is one row."""
    c, admin = reader(), AdminClient(kafka_login("admin"))
    began, first = time.time(), end_offsets(c)
    time.sleep(10)
    compose("stop", "dq-gate")
    time.sleep(15)
    compose("start", "dq-gate")
    time.sleep(10)
    last = end_offsets(c)
    c.close()
    n = sum(last[p] - first[p] for p in PARTITIONS)
    assert n > 23_000, f"only {n} readings in 35 s: the generator is not running at 1,000 events/s"
    assert wait_committed(admin, last, 180), \
        f"dq gate and the live writer did not pass the span within 3 minutes: {not_passed(admin, last)}"
    r = reconcile(first, last, since_ms=int((began - 60) * 1000))
    assert r.inputs == n and r.ok, r


def docs_command(start: str) -> list[str]:
    """The `docker compose exec ...` line of docs/docker.md that starts so, as arguments."""
    text = (ROOT / "docs" / "docker.md").read_text().replace("\\\n", " ")
    line = next(l for l in text.splitlines() if l.startswith(f"docker compose exec {start}"))
    return line.split("#")[0].split()[3:]


def test_dq_score_runs_in_the_gate_container_and_on_the_host():
    inside = compose("exec", "-T", *docs_command("dq-gate dq score")).stdout
    host = subprocess.run([DQ, "score", *kafka_cli_args("reader"), "--since", "5m"], capture_output=True,
                          text=True, timeout=300)
    assert host.returncode == 0, host.stderr
    for out in (inside, host.stdout):
        assert "flagged" in out and "correct" in out, out


def test_the_docs_flink_course_job_runs_in_the_containers():
    before = count("sensor-enriched")
    log = compose("exec", "-T", *docs_command("flink-jobmanager")).stdout
    job = log.split("JobID ")[1].split()[0]
    assert flink_rest(f"/jobs/{job}")["state"] == "FINISHED"  # through flink-ui, with the login
    # Two minutes of make up's generator, less what the day-4 job filters out.
    assert count("sensor-enriched") - before > 60_000


def test_the_docs_spark_course_job_runs_in_the_containers():
    log = compose("exec", "-T", *docs_command("spark-master")).stdout
    overall = json.loads(compose("exec", "-T", "spark-master", "cat", "build/reports/spark_quality/overall.json").stdout)[0]
    assert f"{overall['events']} events from sensor-topic" in log, log
    assert overall["events"] > 60_000 and overall["pass"] + overall["fixed"] + overall["reject"] == overall["events"]
