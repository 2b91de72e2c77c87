"""docker-compose.yml against the native stack it mirrors, without an engine: the file is valid
compose, runs every service of stack/services.sh with its own readiness check, publishes
only on 127.0.0.1, keeps secrets out of the services' environments, and builds from the
native path's installers. tests/compose runs it for real (make test-compose)."""
import re
import subprocess

import yaml

from testenv import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES_SH = (ROOT / "stack" / "services.sh").read_text()
NATIVE = re.search(r"^SERVICES=\(([^)]*)\)", SERVICES_SH, re.M).group(1).split()
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_the_file_is_valid_compose(tmp_path):
    env = tmp_path / ".env"  # the variables `make env` writes, values made up
    env.write_text("CASSANDRA_USER=dq\nCASSANDRA_PASSWORD=x\nGRAFANA_ADMIN_PASSWORD=x\n")
    for profile in ([], ["--profile", "grafana"]):
        proc = subprocess.run(["docker-compose", "--env-file", env, "-f", ROOT / "docker-compose.yml", *profile,
                               "config", "-q"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_every_native_service_runs_with_its_own_readiness_check():
    services = COMPOSE["services"]
    for name in NATIVE:
        svc = services[name]
        assert svc["command"] == [name] and svc["image"] == "dq-platform:latest", name
        assert svc["healthcheck"]["test"] == ["CMD", "/opt/dq/stack/service.sh", "--ready", name], name
        assert svc["network_mode"] == "service:net", name
    assert services["setup"]["command"] == ["--setup"]
    extra = set(services) - set(NATIVE) - {"net", "setup", "grafana"}
    assert not extra, extra


def test_the_pipeline_starts_after_the_setup_and_its_engines():
    services = COMPOSE["services"]
    for name in ("dq-gate", "dq-gen", "live-writer", "dashboard"):
        assert services[name]["depends_on"]["setup"] == {"condition": "service_completed_successfully"}, name
    assert services["live-writer"]["depends_on"]["flink-taskmanager"] == {"condition": "service_healthy"}
    assert {d: c["condition"] for d, c in services["setup"]["depends_on"].items()} == \
        {"kafka": "service_healthy", "cassandra": "service_healthy"}


def test_ports_are_published_on_loopback_only_and_are_the_native_ones():
    published = [p for svc in COMPOSE["services"].values() for p in svc.get("ports", [])]
    assert published and all(re.fullmatch(r"127\.0\.0\.1:(\d+):\1", p) for p in published), published
    shown = {int(p) for url in re.findall(r"^\w+_url=(.*)$", SERVICES_SH, re.M) for p in re.findall(r":(\d+)", url)}
    # What `make status` shows a user of the native stack, less Spark's RPC and its worker's UI
    # (whose address the worker's executors would inherit); 3000: Grafana, the Docker path's own.
    assert {int(p.split(":")[1]) for p in published} == shown - {7077, 8082} | {3000}


def test_secrets_reach_the_services_as_a_file_not_their_environment():
    assert COMPOSE["secrets"]["dq_env"] == {"file": "./.env"}
    for name in NATIVE + ["setup"]:
        svc = COMPOSE["services"][name]
        assert svc["secrets"] == ["dq_env"] and svc["environment"] == {"DQ_ENV_FILE": "/run/secrets/dq_env"}, name
    for key in COMPOSE["services"]["grafana"]["environment"]:  # its provisioning reads the Cassandra login from there
        assert "PASSWORD" not in key or key in {"GF_SECURITY_ADMIN_PASSWORD", "CASSANDRA_PASSWORD"}, key


def test_the_image_is_built_by_the_native_installers_and_pinned_grafana():
    assert DOCKERFILE.splitlines()[[l.startswith("FROM") for l in DOCKERFILE.splitlines()].index(True)] == \
        "FROM debian:bookworm-slim"
    for step in ("stack/deps.sh", "stack/venv.sh", "stack/jars.sh", "stack/install.sh"):
        assert step in DOCKERFILE, step
    grafana = (ROOT / "dashboards" / "grafana" / "Dockerfile").read_text()
    assert re.search(r"^FROM grafana/grafana-oss:\d+\.\d+\.\d+$", grafana, re.M)
    assert re.search(r"plugins install hadesarchitect-cassandra-datasource \d+\.\d+\.\d+$", grafana, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".env", ".stack"} <= set(ignored)
