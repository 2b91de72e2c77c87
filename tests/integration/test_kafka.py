"""Kafka: 10,000 messages produced and consumed back through the broker."""
import uuid

from confluent_kafka import Consumer

from conftest import BOOTSTRAP, produce


def test_10k_messages_round_trip(topic):
    sent = [f'{{"n":{i},"sensor_id":"sensor_{i % 100}"}}'.encode() for i in range(10_000)]
    produce(topic, sent, keys=[f"sensor_{i % 100}".encode() for i in range(10_000)])
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"test-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
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
