"""The course's PyFlink jobs on the running Flink cluster, submitted as `make flink-submit` does."""
import json
import sys
import urllib.request

from conftest import BOOTSTRAP, ROOT, messages, run

sys.path.insert(0, str(ROOT / "flink_jobs"))
import flink_stream_processing as day4  # noqa: E402  (plain functions; pyflink is imported in main only)

DQ = ROOT / "build" / "dq"


def submit(job, *args):
    return run([ROOT / "stack" / "flink-submit.sh", ROOT / "flink_jobs" / f"{job}.py", *args], timeout=600)


def test_stream_processing_filters_and_enriches(make_topic):
    source, sink = make_topic(), make_topic()
    run([DQ, "gen", "--count", "3000", "--seed", "4", "--brokers", BOOTSTRAP, "--topic", source, "-q"])
    inputs = [m.value().decode("utf-8", "replace") for m in messages(source)]
    usable = [r for r in map(day4.parse_reading, inputs) if r is not None and day4.is_valid_sensor(r)]
    assert 2000 < len(usable) < 3000  # the generator's defects leave some out

    proc = submit("flink_stream_processing", "--input", source, "--output", sink, "--group", source, "--bounded")
    job_id = proc.stdout.split("JobID ")[1].split()[0]

    out = [json.loads(m.value()) for m in messages(sink)]
    assert sorted((r["sensor_id"], r["timestamp"]) for r in out) == \
        sorted((r["sensor_id"], r["timestamp"]) for r in usable)
    metadata = day4.load_metadata()
    for row in out:
        assert row["location"] == metadata[row["sensor_id"]]["location"]
        assert abs(row["temperature_f"] - (row["temperature"] * 1.8 + 32)) < 0.006
        assert row.get("dew_point_c") is None or row["dew_point_c"] <= row["temperature"] + 0.01
    # It ran on the cluster with named operators (what the web UI shows).
    plan = json.load(urllib.request.urlopen(f"http://127.0.0.1:8081/jobs/{job_id}/plan"))["plan"]
    names = " ".join(node["description"] for node in plan["nodes"])
    assert "parse JSON" in names and "enrich" in names, names
