"""Day 12: Spark Structured Streaming to Cassandra (course/week3.md). The answers, with what
they rest on checked in the jobs and the docs."""
import re

import pytest

from checks import ROOT, drill, module_of

SPARK_DOC = (ROOT / "docs" / "spark.md").read_text()


@pytest.mark.stack
@pytest.mark.drill
def test_1_the_driver_killed_and_restarted(answer):
    """Your answer, and the drill done for you: a day-12 job's driver SIGKILLed and started again
    on its checkpoint, Cassandra then equal to one dq check of the same events (about 4 minutes)."""
    assert answer("day12", "restart_from") == "a"
    drill("test_spark_jobs.py::test_to_cassandra_reconciles_after_the_driver_is_killed")


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


def test_5_read_exactly_once(answer):
    def letter(partition: int, offset: int, copy: int):
        headers = [("dq.reasons", b"MALFORMED_JSON"), ("dq.source.topic", b"sensor-topic"),
                   ("dq.source.partition", str(partition).encode()), ("dq.source.offset", str(offset).encode()),
                   ("dq.copy", str(copy).encode())]  # the copy number only tells them apart here
        return headers, f"bad {partition}/{offset}".encode()
    records = [letter(p, o, 0) for p in range(4) for o in range(100, 130, 3)]
    replayed = [letter(p, o, 1) for p in (1, 2) for o in range(100, 113, 3)]  # a batch written again
    records = records[:25] + replayed + records[25:] + [letter(3, 100, 2)]
    kept = module_of("day12/ex5_dedup.py").first_copies(records)
    assert [dict(h)["dq.copy"] for h, _ in kept] == [b"0"] * 40, [dict(h)["dq.copy"] for h, _ in kept]
    def sources(rs):
        return [(dict(h)["dq.source.partition"], dict(h)["dq.source.offset"]) for h, _ in rs]
    assert sources(kept) == sources(r for r in records if dict(r[0])["dq.copy"] == b"0")
    assert answer("day12", "dedup_memory") == "b"


def test_6_micro_batches_and_the_trigger(answer):
    source = (ROOT / "spark_jobs" / "spark_to_cassandra.py").read_text()
    cap = int(re.search(r'"--max-offsets", type=int, default=([\d_]+)', source).group(1))
    assert 'trigger(processingTime="5 seconds")' in source
    assert int(answer("day12", "fewest_batches")) == -(-600_000 // cap)
    assert answer("day12", "late_trigger") == "b"
