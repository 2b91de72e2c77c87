"""Day 11: Flink to Cassandra (course/week3.md). The questions' answers, with what they rest
on checked in the job's code: its state, its sinks and its keys."""
import re
import subprocess
import sys
import uuid

import pytest

from checks import ROOT, chosen, drill, module_of
from testenv import CONTRACT

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


@pytest.fixture
def topics():
    """topics(n) -> n fresh topics of 4 partitions, deleted afterwards."""
    from confluent_kafka.admin import AdminClient, NewTopic
    from dq.stack import kafka_login
    admin, made = AdminClient(kafka_login("admin")), []

    def make(n: int) -> list[str]:
        names = [f"day11-ex3-{uuid.uuid4().hex[:8]}" for _ in range(n)]
        created = admin.create_topics([NewTopic(t, num_partitions=4, replication_factor=1) for t in names])
        for future in created.values():
            future.result(30)
        made.extend(names)
        return names
    yield make
    for future in admin.delete_topics(made).values() if made else ():
        future.result(30)


@pytest.mark.stack
def test_3_two_dead_letter_topics_record_by_record(dq_bin, topics):
    """dq gate twice over one input, with and without transactions: the same dead letters at
    other offsets (commit markers), so your records() finds no difference; then a copy with
    one record's reasons changed and one record left out: exactly those differences."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from dq.stack import kafka_cli_args, kafka_login
    module = module_of("day11/ex3_compare_dlq.py")
    source, dlq_txn, dlq_plain, changed = topics(4)
    subprocess.run([dq_bin, "gen", "--count", "3000", "--seed", "3", "--start", "2026-01-01T00:00:00Z",
                    *kafka_cli_args("admin"), "--topic", source, "-q"], check=True)
    for dlq, extra in ((dlq_txn, ["--exactly-once", "--transactional-id", dlq_txn]), (dlq_plain, [])):
        subprocess.run([dq_bin, "gate", "-c", CONTRACT, *kafka_cli_args("validator"), "--group", dlq, "--input", source,
                        "--clean", topics(1)[0], "--dlq", dlq, "--state-topic", "", "--metrics-topic", "",
                        "--anomalies", "", "--metrics-addr", "", "--max-events", "3000", "-q", *extra], check=True)
    ends = Consumer(kafka_login("reader") | {"group.id": "day11-ex3"})
    end = {t: sum(ends.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1] for p in range(4))
           for t in (dlq_txn, dlq_plain)}
    ends.close()
    plain = module.records(dlq_plain)
    assert sum(plain.values()) == end[dlq_plain] > 100
    assert end[dlq_txn] > end[dlq_plain], "the transactional topic should hold commit markers too"
    assert module.records(dlq_txn) == plain, "the same dead letters, at other offsets, should compare equal"

    messages = sorted(plain.elements(), key=repr)
    kept, altered = messages[2:], messages[1]
    headers = [(k, v + b",EDITED" if k == "dq.reasons" else v) for k, v in altered[3]]
    producer = Producer(kafka_login("admin"))
    for key, value, (_, ms), hdrs in kept:
        producer.produce(changed, value, key, headers=list(hdrs), timestamp=ms)
    producer.produce(changed, altered[1], altered[0], headers=headers, timestamp=altered[2][1])
    producer.flush(30)
    mine = module.records(changed)
    assert sorted((plain - mine).elements(), key=repr) == messages[:2] and len(mine - plain) == 1
    printed = subprocess.run([sys.executable, chosen("day11/ex3_compare_dlq.py"), dlq_plain, changed],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    print("  " + "\n  ".join(printed))
    assert printed[0] == f"{len(kept)} records in both"
    assert [line.split(":")[0] for line in printed[1:]] == [f"only in {dlq_plain}"] * 2 + [f"only in {changed}"]


def test_4_a_batch_per_shard(answer):
    assert "shard_of" in SOURCE and day11.__doc__.count("shard") >= 3
    assert answer("day11", "batch_per_shard") == "b"


@pytest.mark.stack
@pytest.mark.drill
def test_5_the_live_writer_resumes_from_its_savepoint(answer):
    """Your answer, and the drill done for you: the live writer stopped with a savepoint and
    submitted again from it, every reading of the span one row (about 3 minutes)."""
    assert answer("day11", "resumes_from") == "a"
    drill("test_live_pipeline.py::test_drill_live_writer_stopped_and_started_resumes_from_its_savepoint")


def test_6_how_long_until_a_reject_shows(answer):
    def default(option: str) -> int:
        return int(re.search(rf'"--{option}", type=int, default=(\d+)', SOURCE).group(1))
    flush_s, checkpoint_s = default("flush-ms") / 1000, default("checkpoint-ms") / 1000
    assert "sees each reject once, when the checkpoint that covers it completes" in " ".join(day11.__doc__.split())
    assert float(answer("day11", "row_within_seconds")) == flush_s
    assert float(answer("day11", "dead_letter_within_seconds")) == flush_s + checkpoint_s
    assert answer("day11", "faster_checkpoints_cost") == "b"
