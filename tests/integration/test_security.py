"""What another local user must not be able to do to the running stack (docs/security.md),
each checked against the live services."""
import os
import stat
import subprocess
import urllib.error
import urllib.request

from conftest import ROOT, read_env, venv

RUN = ROOT / ".stack"


def test_jupyter_token_is_in_a_private_file_not_on_a_command_line():
    token = read_env()["JUPYTER_TOKEN"]
    pid = (RUN / "pids" / "jupyter.pid").read_text().strip()
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmdline = f.read()
    assert token.encode() not in cmdline
    conf = RUN / "conf" / "jupyter" / "jupyter_server_config.json"
    assert token in conf.read_text() and stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    # and the token is what lets a client in
    try:
        urllib.request.urlopen("http://127.0.0.1:8888/api/sessions", timeout=10)
        raise AssertionError("JupyterLab answered without the token")
    except urllib.error.HTTPError as err:
        assert err.code == 403
    req = urllib.request.Request("http://127.0.0.1:8888/api/sessions", headers={"Authorization": f"token {token}"})
    assert urllib.request.urlopen(req, timeout=10).status == 200


def test_flink_takes_no_jar_through_its_rest_api_and_no_cross_origin_calls():
    try:
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:8081/jars/upload", data=b"x", method="POST"),
                               timeout=10)
        raise AssertionError("Flink accepted a jar upload")
    except urllib.error.HTTPError as err:
        assert err.code == 404
    req = urllib.request.Request("http://127.0.0.1:8081/config", headers={"Origin": "http://evil.example"})
    with urllib.request.urlopen(req, timeout=10) as res:
        assert res.headers.get("Access-Control-Allow-Origin") in (None, "http://127.0.0.1:8081")


def test_secrets_file_is_private():
    env = ROOT / ".env"
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o600
    assert {"CASSANDRA_PASSWORD", "JUPYTER_TOKEN", "SPARK_AUTH_SECRET"} <= read_env().keys()


def test_spark_takes_no_job_without_the_secret(tmp_path):
    """The cluster authenticates its clients (spark.authenticate): a submission from a
    configuration without the secret - another local user's - is turned away, one with it runs."""
    own = RUN / "conf" / "spark" / "spark-defaults.conf"
    assert stat.S_IMODE(os.stat(own).st_mode) == 0o600 and read_env()["SPARK_AUTH_SECRET"] in own.read_text()
    (tmp_path / "spark-defaults.conf").write_text(
        "".join(line + "\n" for line in own.read_text().splitlines() if not line.startswith("spark.authenticate")))
    job = tmp_path / "count.py"
    job.write_text("from pyspark.sql import SparkSession\n"
                   "print('COUNT', SparkSession.builder.getOrCreate().range(10).count())\n")
    spark_submit = venv("spark") / "lib" / "python3.11" / "site-packages" / "pyspark" / "bin" / "spark-submit"
    base = {"SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": str(venv("spark") / "bin/python")}
    stranger = subprocess.run([spark_submit, "--master", "spark://127.0.0.1:7077", job], capture_output=True,
                              text=True, timeout=240, env={**os.environ, **base, "SPARK_CONF_DIR": str(tmp_path)})
    assert "COUNT 10" not in stranger.stdout
    assert stranger.returncode != 0
    owner = subprocess.run([spark_submit, "--master", "spark://127.0.0.1:7077", job], capture_output=True, text=True,
                           timeout=240, env={**os.environ, **base, "SPARK_CONF_DIR": str(own.parent)})
    assert "COUNT 10" in owner.stdout, owner.stderr[-2000:]


def test_no_service_holds_the_cassandra_password_in_its_environment():
    """Secrets reach the process that needs them (a 0600 file, one command's environment),
    not the environment of every service."""
    password = read_env()["CASSANDRA_PASSWORD"].encode()
    holders = []
    for pid_file in (RUN / "pids").glob("*.pid"):
        pid = pid_file.read_text().strip()
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if password in f.read():
                    holders.append(pid_file.stem)
        except FileNotFoundError:
            continue  # a service that is not running
    assert holders == []
