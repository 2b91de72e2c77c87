"""Kafka: 10,000 messages produced and consumed back through the broker; the logged-in
writer of docs/cli.md's example."""
import re
import shlex
import subprocess
import uuid

from confluent_kafka import Consumer, TopicPartition

from conftest import ROOT, kafka, produce
from dq.stack import kafka_cluster_id


def test_10k_messages_round_trip(topic):
    sent = [f'{{"n":{i},"sensor_id":"sensor_{i % 100}"}}'.encode() for i in range(10_000)]
    produce(topic, sent, keys=[f"sensor_{i % 100}".encode() for i in range(10_000)])
    consumer = Consumer(kafka("reader", **{"group.id": f"test-{uuid.uuid4().hex}",
                                           "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    consumer.subscribe([topic])
    got, partitions_by_key = [], {}
    idle = 0
    while len(got) < len(sent) and idle < 30:
        msgs = consumer.consume(1000, timeout=1.0)
        idle = 0 if msgs else idle + 1
        for m in msgs:
            assert m.error() is None, m.error()
            got.append(m.value())
            partitions_by_key.setdefault(m.key(), set()).add(m.partition())
    consumer.close()
    assert sorted(got) == sorted(sent)
    # Keyed messages: one sensor's readings stay on one partition (ordering per sensor).
    assert all(len(p) == 1 for p in partitions_by_key.values())
    assert len({p for ps in partitions_by_key.values() for p in ps}) > 1


def test_cluster_ids_never_read_as_an_option():
    # kafka-storage format -t ID takes an id starting with '-' for an option (one in 64 random
    # ids): the stack's first start then failed.
    ids = {kafka_cluster_id() for _ in range(50_000)}
    assert len(ids) == 50_000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_the_docs_kafka_login_example_writes_sensor_topic_as_the_generator():
    block = re.search(r"```\n(build/dq gen [^\n]*--kafka-config \.stack/kafka/generator\.properties[^\n]*)\n```",
                      (ROOT / "docs" / "cli.md").read_text()).group(1)
    probe = Consumer(kafka("reader", **{"group.id": "test-docs"}))
    ends = lambda: sum(probe.get_watermark_offsets(TopicPartition("sensor-topic", p), timeout=10)[1]  # noqa: E731
                       for p in range(4))
    before = ends()
    out = subprocess.run(shlex.split(block), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "100 events" in out.stderr and "warning" not in out.stderr
    assert ends() - before >= 100  # the make-up generator writes there too
    probe.close()


def test_make_topic_makes_a_topic_of_ones_own_once():
    from confluent_kafka.admin import AdminClient
    name = f"test-own-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(kafka())
    try:
        first = subprocess.run(["make", "topic", f"NAME={name}", "PARTITIONS=2"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120)
        assert first.returncode == 0 and f"topic {name} created (2 partitions)" in first.stdout, first.stderr
        assert len(admin.list_topics(timeout=10).topics[name].partitions) == 2
        again = subprocess.run(["make", "topic", f"NAME={name}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and f"topic {name} exists" in again.stdout
    finally:
        admin.delete_topics([name])
