"""Day 12: Spark Structured Streaming to Cassandra (course/week3.md). The answers, with what
they rest on checked in the jobs and the docs."""
import re

from checks import ROOT

SPARK_DOC = (ROOT / "docs" / "spark.md").read_text()


def test_2_the_header_of_a_repeat(answer):
    header = answer("day12", "repeat_header")
    assert "at least once: a replayed batch writes its" in SPARK_DOC and f"`{header}`" in SPARK_DOC
    assert header == "dq.source.offset"


def test_3_where_each_engine_keeps_libdqs_state(answer):
    assert "applyInPandasWithState" in (ROOT / "spark_jobs" / "dq_spark.py").read_text()
    assert "MapStateDescriptor" in (ROOT / "flink_jobs" / "flink_to_cassandra.py").read_text()
    assert (answer("day12", "flink_state"), answer("day12", "spark_state")) == ("a", "a")


def test_4_catching_up(answer):
    bench = (ROOT / "bench" / "README.md").read_text()
    rate = float(re.search(r"one micro-batch of 100,000 \| ([\d,]+) ev/s", bench).group(1).replace(",", ""))
    assert "default=100_000" in (ROOT / "spark_jobs" / "spark_to_cassandra.py").read_text()  # --max-offsets
    minutes = 600_000 / (rate - 1000) / 60
    assert abs(float(answer("day12", "catch_up_minutes")) - minutes) <= 0.1 * minutes, minutes
    assert abs(float(answer("day12", "never_above").replace(",", "")) - rate) <= 0.1 * rate, rate
