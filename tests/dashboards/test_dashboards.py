"""The panel file and its two renderers' logic, without the stack (the live checks, and
Chromium, are in tests/integration/test_dashboards.py)."""
import datetime as dt
import re
import sys

import pytest
import yaml

from testenv import ROOT

sys.path.insert(0, str(ROOT / "dashboards"))
import grafana  # noqa: E402
import server  # noqa: E402


def test_the_panel_file_loads_and_names_existing_queries():
    spec = server.load_panels()
    assert [b["uid"] for b in spec["dashboards"]] == ["dq-pipeline", "dq-quality", "dq-sensor"]
    used = {p["cql"] for b in spec["dashboards"] for p in b["panels"] if "cql" in p}
    assert used <= spec["cql"].keys() and "sensors" in spec["cql"]


@pytest.mark.parametrize("change, message", [
    (lambda p: (p.pop("promql"), p.update(cql="nope")), "no query named 'nope'"),
    (lambda p: p.update(cql="sensor_readings", columns=["ts"]), "needs one of promql and cql"),
    (lambda p: p.update(kind="pie"), "unknown kind 'pie'"),
])
def test_a_wrong_panel_is_refused_with_its_title(tmp_path, change, message):
    spec = yaml.safe_load((ROOT / "dashboards" / "panels.yaml").read_text())
    change(spec["dashboards"][0]["panels"][0])
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ValueError, match=message):
        server.load_panels(path)


def test_extra_panels_join_their_dashboard_or_are_refused(tmp_path):
    extra = tmp_path / "mine.yaml"
    mine = {"title": "Mine", "kind": "stat", "unit": "events", "promql": [{"expr": "sum(dq_events_total)"}]}
    extra.write_text(yaml.safe_dump([{"dashboard": "dq-quality", **mine}]))
    boards = {b["uid"]: b["panels"] for b in server.load_panels(extra=extra)["dashboards"]}
    assert boards["dq-quality"][-1] == mine and mine not in boards["dq-pipeline"] + boards["dq-sensor"]
    assert server.load_panels()["dashboards"][1]["panels"][-1] != mine  # the committed file unchanged
    extra.write_text(yaml.safe_dump([{"dashboard": "dq-nope", **mine}]))
    with pytest.raises(ValueError, match="panel 'Mine': no dashboard 'dq-nope'"):
        server.load_panels(extra=extra)
    extra.write_text(yaml.safe_dump([{"dashboard": "dq-quality", **mine, "kind": "pie"}]))
    with pytest.raises(ValueError, match="unknown kind 'pie'"):
        server.load_panels(extra=extra)


def test_parameters_cover_every_day_of_the_range():
    now = dt.datetime(2026, 11, 30, 0, 20, tzinfo=dt.timezone.utc)
    p = server.parameters("sensor_1", 3600, now)
    assert p["days"] == [dt.date(2026, 11, 29), dt.date(2026, 11, 30)]
    assert p["since"] == now - dt.timedelta(hours=1) and p["hour"] == dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)
    assert p["today"] == dt.date(2026, 11, 30)
    assert p["hours"] == [dt.datetime(2026, 11, 29, 23, tzinfo=dt.timezone.utc), p["hour"]]


def test_every_named_parameter_has_a_grafana_form():
    spec = server.load_panels()
    for board in spec["dashboards"]:
        for panel in (p for p in board["panels"] if "cql" in p):
            cql = grafana.panel_cql(spec, panel)
            assert not re.search(r":[a-z]+\b", cql.replace("${__", "").replace(":date:", "")), cql
    series = grafana.panel_cql(spec, {"kind": "timeseries", "cql": "sensor_readings", "columns": ["ts", "humidity"]})
    assert series.startswith("SELECT sensor_id, humidity, ts FROM iot_data.sensor_data WHERE sensor_id = '$sensor'")


def test_every_promql_parses_with_promtool(tmp_path):
    """promtool (Prometheus' own parser, offline): each expression as a recording rule."""
    import shutil
    import subprocess
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: make deps installs Debian's prometheus package"
    spec = server.load_panels()
    exprs = [q["expr"] for b in spec["dashboards"] for p in b["panels"] for q in p.get("promql", [])]
    rules = {"groups": [{"name": "panels", "rules": [{"record": f"panel:expr{i}", "expr": e}
                                                      for i, e in enumerate(exprs)]}]}
    path = tmp_path / "panels.rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    proc = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    assert proc.returncode == 0 and f"{len(exprs)} rules found" in proc.stdout, proc.stdout + proc.stderr
    path.write_text(yaml.safe_dump({"groups": [{"name": "bad", "rules": [{"record": "x", "expr": "sum(rate(x[1m])"}]}]}))
    assert subprocess.run([promtool, "check", "rules", path], capture_output=True).returncode != 0
