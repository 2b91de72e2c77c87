"""What another local user must not be able to do to the running stack (docs/security.md),
each checked against the live services."""
import os
import stat
import urllib.error
import urllib.request

from conftest import ROOT, read_env

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
    assert {"CASSANDRA_PASSWORD", "JUPYTER_TOKEN"} <= read_env().keys()
