"""Day 11, exercise 3: two dead-letter topics compared record by record.

    ~/.cache/dq-platform/venv/core/bin/python course/exercises/day11/ex3_compare_dlq.py TOPIC_A TOPIC_B

prints how many records the two topics share and each record only one of them holds (where it
came from: its dq.source.* headers). Run it on the dead letters of `dq gate` and of day 11
over the same input: tests/integration/test_flink_jobs.py expects no difference."""
import collections
import sys

from confluent_kafka import Consumer, TopicPartition

from dq.stack import kafka_login


def identity(message) -> tuple:
    """What a dead letter is, whoever wrote it: everything a reader of the record gets, but not
    where it landed (two writers' offsets differ: a transactional one leaves commit markers
    between its records)."""
    return message.key(), message.value(), message.timestamp(), tuple(sorted(message.headers() or []))


def records(topic: str) -> collections.Counter:
    """Every record a read_committed reader sees in topic (its committed transactions only),
    by identity, counted."""
    consumer = Consumer(kafka_login("reader") | {"group.id": "day11-ex3", "enable.auto.commit": False,
                                                 "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    found = collections.Counter()
    # until every partition is read to its end (commit markers included: a position passes them)
    while any(tp.offset < ends[tp.partition] for tp in consumer.position([TopicPartition(topic, p) for p in partitions])
              if ends[tp.partition] > 0):
        found.update(identity(m) for m in consumer.consume(1000, timeout=0.2) if m.error() is None)
    consumer.close()
    return found


def main() -> None:
    a, b = records(sys.argv[1]), records(sys.argv[2])
    print(f"{sum((a & b).values())} records in both")
    for name, only in ((sys.argv[1], a - b), (sys.argv[2], b - a)):
        for (_key, _value, _time, headers), n in sorted(only.items(), key=repr):
            source = {k: v.decode() for k, v in headers if k.startswith("dq.source.")}
            print(f"only in {name}: {n} x the record of {source}")


if __name__ == "__main__":
    main()
