"""Day 14: monitoring with Prometheus (course/week3.md). Your queries run on the stack's
Prometheus, beside the same figures computed another way, at one instant; your answers are
checked against dq gen and dq check."""
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from checks import ROOT, chosen
from dq.stack import CACHE
from testenv import CONTRACT, free_port

PROMETHEUS = "http://127.0.0.1:9090/api/v1/query"


def series(query: str, at: float) -> list[dict]:
    body = urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"}).encode()
    with urllib.request.urlopen(PROMETHEUS, body, timeout=10) as reply:
        return json.load(reply)["data"]["result"]


def value(query: str, at: float) -> float:
    result = series(query, at)
    assert len(result) == 1, f"{query}: {len(result)} series (one number expected)"
    return float(result[0]["value"][1])


def queries(relative: str) -> list[str]:
    """The queries of a .promql file: its lines but blank ones and comments."""
    return [line.strip() for line in chosen(relative).read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def one_query(relative: str) -> tuple[str, float]:
    """The one query of a .promql file, and an instant Prometheus has evaluated everything for
    (once the gate's first rejects have been scraped)."""
    lines = queries(relative)
    assert len(lines) == 1, lines
    wait_for_rejects()
    return lines[0], time.time() - 5


def wait_for_rejects():
    for _ in range(18):  # a stack just started has scraped the gate a few times only
        if value('sum(increase(dq_events_total{verdict="reject"}[1m]))', time.time()) > 0:
            return
        time.sleep(5)


def reject_share(window: str, at: float) -> float:
    kept = value(f'sum(increase(dq_events_total{{verdict=~"pass|fixed"}}[{window}]))', at)
    rejected = value(f'sum(increase(dq_events_total{{verdict="reject"}}[{window}]))', at)
    assert rejected > 0, "no rejects yet"
    return rejected / (kept + rejected)


@pytest.mark.stack
def test_1_the_share_of_rejected_events():
    lines = queries("day14/ex1_reject_share.promql")
    assert len(lines) == 2, lines
    wait_for_rejects()
    at = time.time() - 5  # an instant Prometheus has evaluated everything for
    for query, window in zip(lines, ("5m", "1m")):
        assert abs(value(query, at) - reject_share(window, at)) < 1e-9, (query, window)


@pytest.mark.stack
def test_2_a_silent_source_or_a_stopped_gate(answer):
    """Your letters, against what the gate's /metrics says of its lag and partitions."""
    with urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    helps = dict(line[len("# HELP "):].split(" ", 1) for line in metrics.splitlines() if line.startswith("# HELP "))
    assert "behind the end" in helps["dq_gate_consumer_lag"] and answer("day14", "silent_source") == "b"
    assert "NaN: none held" in helps["dq_gate_consumer_lag"] and "0: it checks nothing" in \
        helps["dq_gate_assigned_partitions"] and answer("day14", "unassigned") == "b"
    wait_for_rejects()  # the stack's gate holds its partitions and keeps up: a lag near 0, not NaN
    assert value("max(dq_gate_assigned_partitions)", time.time()) > 0
    assert 0 <= value("max(dq_gate_consumer_lag)", time.time()) < 60_000


@pytest.mark.stack
def test_3_the_rate_of_each_reason():
    query, at = one_query("day14/ex3_reason_rates.promql")
    want = {s["metric"]["reason"]: float(s["value"][1])
            for s in series("sum by (reason) (rate(dq_reasons_total[1m]))", at)}
    got = {s["metric"].get("reason"): float(s["value"][1]) for s in series(query, at)}
    assert None not in got, "every series needs its reason label (sum by (reason) keeps it)"
    assert got.keys() == want.keys() and all(abs(got[r] - want[r]) < 1e-9 for r in want), (got, want)
    assert sum(want.values()) > 0


def reason_counts(dq_bin, *defects: str) -> dict:
    """Findings by reason in the same 20,000 generated events, with the generator's defect
    rates as they are, or some raised (dq gen, then dq check --summary)."""
    gen = subprocess.run([dq_bin, "gen", "--count", "20000", "--seed", "3", "--start", "2026-01-01T00:00:00Z", "-q",
                          *defects], capture_output=True, check=True).stdout
    summary = subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "--now", "2026-01-10T00:00:00Z",
                              "--summary", "/dev/stdout"], input=gen, capture_output=True, check=True).stdout
    return json.loads(summary)["reasons"]


@pytest.mark.parametrize("defect", ["numeric_string", "late"])
def test_3_the_reason_that_moves(dq_bin, answer, defect):
    before, after = reason_counts(dq_bin), reason_counts(dq_bin, "--defects", f"{defect}=0.05")
    risen = max(after, key=lambda reason: after[reason] - before.get(reason, 0))
    assert answer("day14", defect) == risen.lower(), f"with more {defect}, {risen} rose the most"


@pytest.mark.stack
def test_4_a_panel_of_your_own(tmp_path):
    """Your panel file added to the dashboards: a time series of the 5-minute reject share, in
    the Grafana JSON, and drawn with data points by a second page in headless Chromium."""
    sys.path.insert(0, str(ROOT / "dashboards"))
    import server
    extra = chosen("day14/ex4_panel.yaml")
    spec = server.load_panels(extra=extra)  # a wrong panel is refused by its title
    board = next(b for b in spec["dashboards"] if b["uid"] == "dq-quality")
    panel = board["panels"][-1]
    assert panel["kind"] == "timeseries" and len(panel["promql"]) == 1, panel
    expr = panel["promql"][0]["expr"]
    wait_for_rejects()
    at = time.time() - 5
    assert abs(value(expr, at) - reject_share("5m", at)) < 1e-9, expr

    subprocess.run([sys.executable, ROOT / "dashboards" / "grafana.py", "--extra", extra, "--out", tmp_path],
                   check=True, capture_output=True)
    grafana = json.loads((tmp_path / "dq-quality.json").read_text())
    assert [t["expr"] for p in grafana["panels"] if p["title"] == panel["title"] for t in p["targets"]] == [expr]

    port = free_port()
    page = subprocess.Popen([sys.executable, ROOT / "dashboards" / "server.py", "--port", str(port), "--extra", extra],
                            stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/dashboards", timeout=2).close()
                break
            except OSError:
                assert page.poll() is None, page.stderr.read()
                time.sleep(0.5)
        env = {**os.environ, "NODE_PATH": str(CACHE / "dashboards" / "node_modules")}
        proc = subprocess.run(["node", ROOT / "tests" / "integration" / "browser" / "dashboards.cjs",
                               f"http://127.0.0.1:{port}", tmp_path, "--sensor=sensor_0", "dq-quality"],
                              capture_output=True, text=True, env=env, timeout=300)
    finally:
        page.terminate()
        page.wait()
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)["dq-quality"]
    drawn = seen["panels"][panel["title"]]
    print(f"  {panel['title']!r} drawn: {drawn}; screenshot {tmp_path / 'dq-quality.png'}")
    assert seen["errors"] == [] and drawn["state"] == "ok" and drawn["points"] > 0, (drawn, seen["errors"])


@pytest.mark.stack
def test_5_anomalies_per_thousand_readings(answer):
    query, at = one_query("day14/ex5_anomaly_rate.promql")
    flagged = value("sum(increase(dq_anomalies_total[5m]))", at)
    scored = value("sum(increase(dq_anomaly_scored_total[5m]))", at)
    mine = value(query, at)
    print(f"  {mine:.2f} per 1,000 (flagged {flagged:.0f} of {scored:.0f})")
    assert scored > 0 and abs(mine - 1000 * flagged / scored) < 1e-9, (mine, flagged, scored)
    budget = 1000 / 86_400  # one flag per sensor and day, one reading a second
    assert mine > 100 * budget and answer("day14", "why_so_many") == "b"


@pytest.mark.stack
def test_6_the_latency_p99(answer):
    query, at = one_query("day14/ex6_latency_p99.promql")
    p99 = value("histogram_quantile(0.99, sum by (le) (rate(dq_gate_latency_ms_bucket[5m])))", at)
    mean = value("sum(rate(dq_gate_latency_ms_sum[5m])) / sum(rate(dq_gate_latency_ms_count[5m]))", at)
    mine = value(query, at)
    print(f"  p99 {mine:.0f} ms, mean {mean:.0f} ms")
    assert abs(mine - p99) < 1e-9 and p99 > mean, (mine, p99, mean)
    assert answer("day14", "why_p99") == "b"
