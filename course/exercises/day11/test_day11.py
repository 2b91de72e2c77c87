"""Day 11: Flink to Cassandra (course/week3.md). The questions' answers, with what they rest
on checked in the job's code: its state, its sinks and its keys."""
import re
import sys

from checks import ROOT

sys.path.insert(0, str(ROOT / "flink_jobs"))
import flink_to_cassandra as day11  # noqa: E402

SOURCE = (ROOT / "flink_jobs" / "flink_to_cassandra.py").read_text()
SCHEMA = (ROOT / "config" / "cassandra_schema.cql").read_text()


def test_1_what_a_checkpoint_restores_together(answer):
    assert "MapState" in SOURCE and "ListState" in SOURCE  # the shard's sensors' state, its buffered events
    assert answer("day11", "three_things") == "a"


def test_2_exactly_once_and_idempotent(answer):
    assert "'sink.delivery-guarantee' = 'exactly-once'" in SOURCE  # the dead-letter sink's transactions
    key = re.search(r"sensor_rejects \(.*?PRIMARY KEY \(([^)]*\)[^)]*)\)", SCHEMA, re.S).group(1)
    assert "source_offset" in key, key  # a reject's row is its source position: a repeat overwrites it
    assert (answer("day11", "exactly_once"), answer("day11", "idempotent")) == ("kafka", "cassandra")


def test_4_a_batch_per_shard(answer):
    assert "shard_of" in SOURCE and day11.__doc__.count("shard") >= 3
    assert answer("day11", "batch_per_shard") == "b"


def test_6_how_long_until_a_reject_shows(answer):
    def default(option: str) -> int:
        return int(re.search(rf'"--{option}", type=int, default=(\d+)', SOURCE).group(1))
    flush_s, checkpoint_s = default("flush-ms") / 1000, default("checkpoint-ms") / 1000
    assert "sees each reject once, when the checkpoint that covers it completes" in " ".join(day11.__doc__.split())
    assert float(answer("day11", "row_within_seconds")) == flush_s
    assert float(answer("day11", "dead_letter_within_seconds")) == flush_s + checkpoint_s
    assert answer("day11", "faster_checkpoints_cost") == "b"
