"""`dq check` as a user runs it: exit codes, bad contracts, bounded input, outputs."""
import json
import subprocess

from conftest import CONTRACT

GOOD = b'{"sensor_id":"sensor_1","timestamp":"2026-11-26T04:13:00Z","temperature":21.5,"humidity":40.2}\n'


def run(dq_bin, *args, stdin=b""):
    return subprocess.run([dq_bin, "check", *map(str, args)], input=stdin, capture_output=True)


def test_usage_errors(dq_bin):
    assert run(dq_bin).returncode == 2
    assert b"--contract is required" in run(dq_bin).stderr
    assert run(dq_bin, "-c", CONTRACT, "--now", "yesterday").returncode == 2


def test_contract_error_names_file_and_line(dq_bin, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONTRACT.read_text().replace("maximum: 60", "maximun: 60"))
    proc = run(dq_bin, "-c", bad)
    assert proc.returncode == 3
    assert f"{bad}:".encode() in proc.stderr and b"unknown key 'maximun'" in proc.stderr


def test_missing_input_is_an_io_error(dq_bin):
    assert run(dq_bin, "-c", CONTRACT, "-i", "/nonexistent.ndjson").returncode == 4


def test_fail_on_reject(dq_bin):
    assert run(dq_bin, "-c", CONTRACT, "-q", "--fail-on-reject", stdin=GOOD).returncode == 0
    assert run(dq_bin, "-c", CONTRACT, "-q", "--fail-on-reject", stdin=GOOD + b"junk\n").returncode == 1


def test_oversized_line_is_cut_and_rejected(dq_bin, tmp_path):
    rejects, summary = tmp_path / "r.ndjson", tmp_path / "s.json"
    huge = b'{"location":"' + b"x" * (17 << 20) + b'"}\n'
    proc = run(dq_bin, "-c", CONTRACT, "--rejects", rejects, "--summary", summary, "-q", stdin=GOOD + huge + GOOD)
    assert proc.returncode == 0
    totals = json.loads(summary.read_text())
    assert totals["events"] == 3 and totals["reject"] == 2  # the second GOOD is a duplicate
    recs = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert recs[0]["line"] == 2 and recs[0]["raw_truncated"] is True
    assert recs[0]["dq"]["reasons"] == ["OVERSIZED"]
    assert recs[1]["dq"]["reasons"] == ["DUPLICATE_EVENT"]


def test_metrics_and_prometheus(dq_bin, tmp_path):
    metrics, prom = tmp_path / "m.ndjson", tmp_path / "p.txt"
    proc = run(dq_bin, "-c", CONTRACT, "--metrics", metrics, "--prometheus", prom, "-q", "--now",
               "2026-11-26T05:00:00Z", stdin=GOOD + b"{}\n")
    assert proc.returncode == 0
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    overall = [r for r in rows if r["key"] is None and r["window_seconds"] == 60]
    assert overall == [dict(overall[0], events=2, reject=1, validity=0.5)]
    assert 'dq_events_total{verdict="pass"} 1' in prom.read_text()
    assert 'dq_reasons_total{reason="MISSING_FIELD"} 1' in prom.read_text()
