"""Day 1, exercise 5 (a solution): how far behind is a consumer group?

behind(group) returns the events the consumer group has still to commit on sensor-topic: over
its partitions, the end offset minus the group's committed offset (a partition where the group
has committed nothing yet counts whole). AdminClient.list_consumer_group_offsets takes
[ConsumerGroupTopicPartitions(group, [TopicPartition("sensor-topic", p), ...])] and returns
{group: future}; future.result().topic_partitions holds the committed offsets (negative:
none). Replace the placeholder; then `python course/exercises/day01/ex5_lag.py` in the core
venv prints both stages' figures.
"""
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from dq.stack import kafka_login

TOPIC = "sensor-topic"


def end_offsets() -> dict[int, int]:
    consumer = Consumer({**kafka_login("reader"), "group.id": "day01-ends", "log_level": 2})
    partitions = consumer.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
    ends = {p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in partitions}
    consumer.close()
    return ends


def behind(group: str) -> int:
    admin = AdminClient(kafka_login("reader"))
    ends = end_offsets()
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(TOPIC, p) for p in ends])
    committed = admin.list_consumer_group_offsets([request])[group].result(10).topic_partitions
    return sum(ends[tp.partition] - max(tp.offset, 0) for tp in committed)


if __name__ == "__main__":
    for group in ("dq-gate", "dq-live"):
        print(f"{group}: {behind(group):,} events behind")
