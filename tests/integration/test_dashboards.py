"""The dashboards on the live stack: the panel file's PromQL and CQL give data, the native
page draws every panel in headless Chromium (Debian's, driven by playwright-core) without a
console error, and the Grafana JSON is what the panel file generates, naming the
provisioned datasources. Screenshots go to build/test-artifacts/dashboards/."""
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import ROOT, venv
from dq.stack import CACHE

sys.path.insert(0, str(ROOT / "dashboards"))
import grafana  # noqa: E402
from server import load_panels  # noqa: E402

PAGE = "http://127.0.0.1:3001"
PROMETHEUS = "http://127.0.0.1:9090"
SPEC = load_panels()
ARTIFACTS = ROOT / "build" / "test-artifacts" / "dashboards"


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as res:
        return json.loads(res.read())


def until(what, check, seconds=180):
    """check() until it returns something true (the live stack fills up), else fail naming what."""
    deadline = time.time() + seconds
    while True:
        got = check()
        if got or time.time() > deadline:
            assert got, f"no {what} after {seconds} s of the live stack"
            return got
        time.sleep(5)


@pytest.fixture(scope="module")
def sensor() -> str:
    """A sensor with a flagged and a fixed reading in the last 50 minutes, so that every panel
    of the sensor dashboard (the page's last hour) has rows: about 1 % of readings are flagged."""
    from dq.stack import cassandra_session, days
    cluster, session = cassandra_session()

    def find():
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=50)
        span = days(since)

        def has(query, s):
            return any(session.execute(query + " AND ts >= %s LIMIT 1 ALLOW FILTERING", (s, day, since)).one()
                       for day in span)
        flagged = {r.sensor_id for r in session.execute("SELECT DISTINCT sensor_id, day FROM sensor_anomalies")
                   if r.day.date() in span}
        for s in sorted(flagged):
            if has("SELECT ts FROM sensor_anomalies WHERE sensor_id = %s AND day = %s", s) and \
               has("SELECT ts FROM sensor_data WHERE sensor_id = %s AND day = %s AND dq_status = 'FIXED'", s):
                return s
    try:
        return until("sensor with flagged and fixed readings", find)
    finally:
        cluster.shutdown()


def promql_exprs():
    return [(b["uid"], p["title"], q["expr"]) for b in SPEC["dashboards"] for p in b["panels"] for q in p.get("promql", [])]


@pytest.mark.parametrize("uid, title, expr", promql_exprs(), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_every_promql_parses_and_returns_series(uid, title, expr):
    url = f"{PROMETHEUS}/api/v1/query?query={urllib.parse.quote(expr)}"
    try:
        until(f"series for '{title}' ({uid})", lambda: get(url)["data"]["result"], seconds=120)
    except urllib.error.HTTPError as err:  # Prometheus answers 400 to a query that does not parse
        pytest.fail(f"{uid} '{title}': {expr}: {err.read().decode()}")


def test_every_named_cql_query_runs_through_the_page_server(sensor):
    for name in SPEC["cql"]:
        res = until(f"rows of {name}", lambda: get(f"{PAGE}/api/cql/{name}?sensor={sensor}&range=3600")["rows"])
        assert res and all(len(row) == len(res[0]) for row in res)


def test_the_page_server_runs_nothing_but_named_queries():
    def status(path):
        try:
            with urllib.request.urlopen(PAGE + path, timeout=10) as res:
                return res.status
        except urllib.error.HTTPError as err:
            return err.code
    assert status("/api/cql/nope") == 404
    assert status("/api/cql/sensor_readings?sensor=" + urllib.parse.quote("x' OR 'a'='a")) == 400
    assert status("/api/cql/sensor_readings?sensor=sensor_1&range=soon") == 400
    assert status("/../../.env") == 404 and status("/uplot/../../../.env") == 404


def test_grafana_cql_runs_on_the_live_stack(sensor):
    """The generated dashboards' CQL with Grafana's variables and macros replaced the way
    Grafana replaces them: valid CQL that finds rows."""
    from dq.stack import cassandra_session
    now = dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(hours=1)  # the page's range: the last hour (two days' partitions just past midnight)
    values = {"'$sensor'": f"'{sensor}'", "${__from:date:YYYY-MM-DD}": str(since.date()),
              "${__to:date:YYYY-MM-DD}": str(now.date()), "${__to:date:YYYY-MM-DD HH}": now.strftime("%Y-%m-%d %H"),
              "${__from:date:YYYY-MM-DD HH}": since.strftime("%Y-%m-%d %H"),
              "$__timeFrom": str(int(since.timestamp() * 1000))}
    cluster, session = cassandra_session()
    try:
        for board in SPEC["dashboards"]:
            for panel in (p for p in board["panels"] if "cql" in p):
                cql = grafana.panel_cql(SPEC, panel)
                for macro, value in values.items():
                    cql = cql.replace(macro, value)
                assert "$" not in cql, cql
                assert session.execute(cql, timeout=30).one() is not None, f"{board['uid']} '{panel['title']}': {cql}"
    finally:
        cluster.shutdown()


def test_grafana_json_is_generated_from_the_panel_file():
    proc = subprocess.run([venv("core") / "bin" / "python", ROOT / "dashboards" / "grafana.py", "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (ROOT / "dashboards" / "grafana").glob("*.json")) == \
        sorted(f"{b['uid']}.json" for b in SPEC["dashboards"])


def test_grafana_datasource_uids_are_the_provisioned_ones():
    provisioned = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/datasources/datasources.yaml").read_text())
    uids = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    used = set()
    for path in (ROOT / "dashboards" / "grafana").glob("*.json"):
        text = path.read_text()
        used |= {(m["uid"], m["type"]) for m in (json.loads(s) for s in re.findall(r'\{"type": "[^"]+", "uid": "[^"]+"\}',
                                                                                 json.dumps(json.loads(text))))}
    assert used == set(uids.items())


def test_every_panel_draws_in_chromium(sensor):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    uids = [b["uid"] for b in SPEC["dashboards"]]
    env = {**os.environ, "NODE_PATH": str(CACHE / "dashboards" / "node_modules")}
    proc = subprocess.run(["node", ROOT / "tests/integration/browser/dashboards.cjs", f"{PAGE}", ARTIFACTS,
                           f"--sensor={sensor}", *uids], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    for board in SPEC["dashboards"]:
        got = seen[board["uid"]]
        assert got["errors"] == [], (board["uid"], got["errors"])
        for panel in board["panels"]:
            drawn = got["panels"][panel["title"]]
            # a silent-sensor table may rightly be empty: then it must say so, not fail
            assert drawn["state"] == "ok" and (drawn["points"] > 0 or panel.get("silent") and "none" in drawn["text"]), \
                (board["uid"], panel["title"], drawn)
        assert (ARTIFACTS / f"{board['uid']}.png").stat().st_size > 10_000
