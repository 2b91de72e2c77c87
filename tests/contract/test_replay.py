"""Real readings: `dq gen --replay` turns Intel Lab and Suthaharan rows into events, and the
course contract rejects every failing-mote reading (above 60 °C or negative humidity)
with OUT_OF_RANGE. Uses the excerpt in tests/fixtures (the full sets are not required)."""
import json
import subprocess

from testenv import CONTRACT, ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "intel_lab_node04_sample.txt"


def replay_and_check(dq_bin, tmp_path, fmt, source, *gen_args):
    events = tmp_path / "events.ndjson"
    with open(events, "wb") as f:
        subprocess.run([dq_bin, "gen", "--replay", source, "--format", fmt, "-q", *gen_args], stdout=f, check=True)
    clean, rejects = tmp_path / "clean.ndjson", tmp_path / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-c", CONTRACT, "-i", events, "--clean", clean, "--rejects", rejects, "-q",
                    "--now", "2026-11-26T00:00:00Z"], check=True)
    rejected = {json.loads(r)["line"]: json.loads(r)["dq"]["reasons"] for r in rejects.read_text().splitlines()}
    return events.read_text().splitlines(), rejected, clean.read_text().splitlines()


def test_intel_failing_readings_rejected_with_out_of_range(dq_bin, tmp_path):
    rows = FIXTURE.read_text().splitlines()
    events, rejected, clean = replay_and_check(dq_bin, tmp_path, "intel", FIXTURE)
    assert len(events) == len(rows)
    failing = [i + 1 for i, row in enumerate(rows) if float(row.split()[4]) > 60 or float(row.split()[5]) < 0]
    assert len(failing) == 203
    for line in failing:
        assert "OUT_OF_RANGE" in rejected.get(line, []), f"row {line} ({rows[line - 1]}) not rejected for range"
    # The healthy readings of the same mote go through, as canonical events of sensor_4.
    assert len(clean) == len(rows) - len(rejected) and len(clean) > 350
    first = json.loads(clean[0])
    assert first["sensor_id"] == "sensor_4" and first["timestamp"] == "2004-02-28T01:05:16.781Z"


def test_suthaharan_rows_become_events_with_labels(dq_bin, tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("reading,mote_id,indoor,humidity,temperature,label\n1,1,1,45.93,27.97,0\n2,1,1,45.9,95.5,1\n"
                   "3,3,0,-2,15.2,1\n")
    truth = tmp_path / "truth.csv"
    events, rejected, _ = replay_and_check(dq_bin, tmp_path, "suthaharan", csv, "--start",
                                           "2026-01-01T00:00:00Z", "--truth", truth)
    assert json.loads(events[0]) == {"sensor_id": "sensor_1", "timestamp": "2026-01-01T00:00:10.000Z",
                                     "temperature": 27.97, "humidity": 45.93, "location": "indoor"}
    assert rejected == {2: ["OUT_OF_RANGE"], 3: ["OUT_OF_RANGE"]}
    assert truth.read_text().splitlines()[1:] == ["1,sensor_1,none", "2,sensor_1,labelled_anomaly",
                                                  "3,sensor_3,labelled_anomaly"]
