"""Day 7: libdq beside Spark-native checks (course/week2.md). Exercise 1 reads day 6's report
(conftest.spark_quality_report); exercises 2, 4 and 5 run your Spark checks in a local Spark;
exercise 3 streams a topic on the stack."""
import datetime as dt
import json
import subprocess
import uuid

import pytest

from checks import PYTHON_SPARK, ROOT, chosen, module_of, spark_python


def objects(events):
    """The JSON objects of an events file, in order (the lines that are none left out)."""
    for line in events.open():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def test_1_what_the_native_column_counts_more(spark_quality_report, answer):
    folder, _, report, summary = spark_quality_report
    native = json.loads((report / "native_checks.json").read_text())[0]["timestamp:MISSING_FIELD"]
    ours = sum(finding.get("field") == "timestamp" and finding["reason"] == "MISSING_FIELD"
               for name in ("clean.ndjson", "rejects.ndjson") for line in (folder / name).open()
               for finding in json.loads(line)["dq"].get("findings", []))
    reason = answer("day07", "native_extra_reason").upper()
    assert native > ours and summary["reasons"].get(reason) == native - ours, (native, ours, summary["reasons"])


def test_2_a_spark_native_duplicate_check(spark_quality_report, answer):
    assert PYTHON_SPARK.exists(), "no spark venv: run 'make exercise DAY=7' (it makes it)"
    _, events, _, summary = spark_quality_report
    found = int(spark_python(chosen("day07/ex2_duplicates.py"), str(events)).split()[-1])
    repeated, seen = 0, set()  # the same definition in plain Python
    for event in objects(events):
        key = (event.get("sensor_id"), event.get("timestamp"))
        if None not in key:
            repeated += key in seen
            seen.add(key)
    assert found == repeated, (found, repeated)
    assert int(answer("day07", "spark_duplicates")) == found
    assert int(answer("day07", "libdq_duplicates")) == summary["reasons"]["DUPLICATE_EVENT"]
    assert answer("day07", "why_more") == "b"


def event_times(topic: str) -> list[int]:
    """The event times (epoch ms) of a one-partition topic's readings, in offset order."""
    from confluent_kafka import Consumer, TopicPartition
    from dq.stack import kafka_login
    consumer = Consumer(kafka_login("reader") | {"group.id": f"{topic}-check", "enable.auto.commit": False})
    try:
        end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        consumer.assign([TopicPartition(topic, 0, 0)])
        times = []
        while len(times) < end:
            message = consumer.poll(10)
            assert message is not None and not message.error(), f"{topic}: read {len(times)} of {end}"
            times.append(int(dt.datetime.fromisoformat(json.loads(message.value())["timestamp"]).timestamp() * 1000))
        return times
    finally:
        consumer.close()


@pytest.mark.stack
def test_3_the_readings_a_watermark_leaves_out(dq_bin, tmp_path, answer):
    """Late readings (dq gen's late defect at a 5-minute cadence: 52.5 minutes late) on a
    one-partition topic, streamed by the quality report in micro-batches of 100: the readings
    missing from its windows are as many as your left_out() says, and some are."""
    from confluent_kafka.admin import AdminClient, NewTopic
    from dq.stack import kafka_cli_args, kafka_login
    left_out = module_of("day07/ex3_watermark.py").left_out
    topic, admin = f"day07-ex3-{uuid.uuid4().hex[:8]}", AdminClient(kafka_login("admin"))
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    try:
        subprocess.run([dq_bin, "gen", "--sensors", "20", "--count", "2000", "--interval", "5m", "--seed", "3",
                        "--start", "2026-11-26T00:00:00Z", "--defects", "none,late=0.05", *kafka_cli_args("admin"),
                        "--topic", topic, "-q"], check=True)
        times = event_times(topic)
        job = subprocess.run([ROOT / "stack" / "spark-submit.sh", ROOT / "spark_jobs" / "spark_data_quality_check.py",
                              "--input", topic, "--stream", "--bounded", "--max-offsets", "100", "--no-cassandra",
                              "--out", tmp_path / "out", "--checkpoint", tmp_path / "checkpoint"],
                             capture_output=True, text=True)
        assert job.returncode == 0, job.stderr[-3000:]
    finally:
        admin.delete_topics([topic])[topic].result(30)
    windowed = {}
    for line in (tmp_path / "out" / "stream_windows.ndjson").open():  # a window's last line is its count
        row = json.loads(line)
        if row["sensor_id"] == "*":
            windowed[row["window_start"]] = row["events"]
    missing = len(times) - sum(windowed.values())
    print(f"  {len(times)} readings, {sum(windowed.values())} in the streamed windows: {missing} left out")
    assert len(times) == 2000 and missing == left_out(times, 100) > 0, (missing, left_out(times, 100))
    assert left_out(times, 20000) == 0  # one micro-batch: nothing before it to be late against
    assert answer("day07", "one_batch") == "a"


def test_4_a_spark_native_range_check(spark_quality_report, answer):
    folder, events, _, _ = spark_quality_report
    found = int(spark_python(chosen("day07/ex4_out_of_range.py"), str(events)).split()[-1])
    libdq = sum(finding.get("field") == "temperature" and finding["reason"] == "OUT_OF_RANGE"
                for line in (folder / "rejects.ndjson").open() for finding in json.loads(line)["dq"]["findings"])
    assert found == libdq > 100, (found, libdq)
    # the premise: temperatures sent as text make Spark's reader type the column string
    texts = sum(isinstance(event.get("temperature"), str) for event in objects(events))
    assert texts > 0 and answer("day07", "temperature_type") == "string"


def test_5_a_spark_native_pattern_check(spark_quality_report, answer):
    folder, events, _, _ = spark_quality_report
    found = int(spark_python(chosen("day07/ex5_bad_ids.py"), str(events)).split()[-1])
    findings = (f for line in (folder / "rejects.ndjson").open() for f in json.loads(line)["dq"].get("findings", []))
    libdq = sum(f.get("field") == "sensor_id" and f["reason"] == "PATTERN_MISMATCH" for f in findings)
    assert found == libdq > 50, (found, libdq)
    assert answer("day07", "anchors") == "b"
