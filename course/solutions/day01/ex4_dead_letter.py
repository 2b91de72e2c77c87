"""Day 1, exercise 4 (a solution): follow one reading from the generator to the dead-letter topic.

dq gate sends every rejected reading to sensor-dlq as it came, with headers that say why and
where it came from: dq.reasons (the reason codes, comma-separated), dq.source.topic,
dq.source.partition and dq.source.offset. `where_from(message)` returns them as
{"reasons": ["MALFORMED_JSON"], "topic": "sensor-topic", "partition": 2, "offset": 81234}
(message.headers() is a list of (name, bytes) pairs). Replace the placeholder; then
`python course/exercises/day01/ex4_dead_letter.py` in the core venv prints the newest dead
letter's, and the reading it came from.
"""
from confluent_kafka import Consumer, TopicPartition

from dq.stack import kafka_login


def where_from(message) -> dict:
    headers = dict(message.headers())
    return {"reasons": headers["dq.reasons"].decode().split(","), "topic": headers["dq.source.topic"].decode(),
            "partition": int(headers["dq.source.partition"]), "offset": int(headers["dq.source.offset"])}


def newest(topic: str, consumer: Consumer):
    """The newest record of a topic (the one with the latest timestamp over its partitions)."""
    found = []
    for partition in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        if high > low:
            consumer.assign([TopicPartition(topic, partition, high - 1)])
            found.append(consumer.poll(10))
    return max((m for m in found if m is not None and not m.error()), key=lambda m: m.timestamp()[1])


def record_at(topic: str, partition: int, offset: int, consumer: Consumer):
    consumer.assign([TopicPartition(topic, partition, offset)])
    return consumer.poll(10)


if __name__ == "__main__":
    consumer = Consumer({**kafka_login("reader"), "group.id": "day01", "enable.auto.commit": False})
    letter = newest("sensor-dlq", consumer)
    origin = where_from(letter)
    print(origin)
    print(record_at(origin["topic"], origin["partition"], origin["offset"], consumer).value()[:200])
    consumer.close()
