"""Integration tests: they run against the native stack that `make up` starts (make
test-integration brings it up first). Nothing is mocked. Credentials come from .env."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from dq.stack import topic_messages as messages  # noqa: F401 (the tests' name for it)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "lib"))  # testenv: what the test folders share
sys.path.insert(0, str(ROOT / "stack"))  # reconcile, kafka_setup: the stack's own Kafka code


def pytest_configure(config):
    config.addinivalue_line("markers", "long: too long for make test's time (a drill, day 19's benchmarks); make test-long runs it")
    config.addinivalue_line("markers", "live_history: needs minutes of the live pipeline's rows; runs last")


def pytest_collection_modifyitems(config, items):
    """The tests that need the live pipeline's history run last: the stack a suite starts has
    had its whole run to write it, rather than a test waiting for it at the start."""
    items.sort(key=lambda item: item.get_closest_marker("live_history") is not None)  # stable: the rest keep their order


def venv(name: str) -> Path:
    from dq.stack import CACHE
    return CACHE / "venv" / name


def read_env() -> dict:
    from dq.stack import read_env
    return read_env(ROOT / ".env")


def kafka(principal: str = "admin", **settings) -> dict:
    """confluent-kafka settings for the stack's Kafka as one of its principals (tests set up
    and feed their own topics as admin; each service's own principal is tested where it runs)."""
    from dq.stack import kafka_login
    return {**kafka_login(principal), **settings}


@pytest.fixture(scope="session")
def secrets() -> dict:
    assert (ROOT / ".env").exists(), "no .env: run `make up` first"
    return read_env()


@pytest.fixture
def make_topic():
    """Creates fresh topics (4 partitions unless told) for one test: make_topic() -> name, or
    make_topic(like="sensor-dlq") with that topic's settings (stack/kafka_setup.py); all
    deleted afterwards."""
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient(kafka())
    made = []

    def make(like: str | None = None, partitions: int = 4) -> str:
        from kafka_setup import TOPICS
        name = f"test-{uuid.uuid4().hex[:10]}"
        config = TOPICS[like][1] if like else {}
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config)])[name].result(30)
        made.append(name)
        return name
    yield make
    for f in admin.delete_topics(made).values() if made else ():
        f.result(30)


@pytest.fixture
def topic(make_topic):
    """A fresh topic for one test, deleted afterwards."""
    return make_topic()


def produce(topic: str, events: list[bytes], keys: list[bytes] | None = None) -> None:
    """events to topic in their order (idempotent: a retried request cannot land after a later
    one), up to the broker's largest record."""
    from confluent_kafka import Producer
    producer = Producer(kafka(**{"linger.ms": 5, "enable.idempotence": True, "message.max.bytes": 2_000_000}))
    errors = []
    for i, event in enumerate(events):
        while True:
            try:
                producer.produce(topic, event, key=keys[i] if keys else None,
                                 on_delivery=lambda err, _msg: err and errors.append(err))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0 and not errors, errors


def produce_largest(topic: str, key: bytes = b"sensor_999999") -> bytes:
    """The largest record the broker takes (about 1 MB, found by trying), keyed: -> its
    value. Rejected OVERSIZED, it makes a dead letter (the record and the verdict's headers)
    larger than a Java producer sends by default (1 MB): the engines' jobs must still send it."""
    from confluent_kafka import Producer
    producer = Producer(kafka(**{"message.max.bytes": 2_000_000}))
    for size in range(1_048_588, 1_047_000, -8):
        value = b'{"sensor_id":"' + key + b'","location":"' + b"x" * (size - len(key) - 30) + b'"}'
        outcome = []
        producer.produce(topic, value, key=key, on_delivery=lambda err, _m: outcome.append(err))
        producer.flush(30)
        if len(outcome) == 1 and outcome[0] is None:  # (KafkaError == None raises inside confluent-kafka)
            return value
    raise AssertionError("the broker took no record of about 1 MB")


def run(cmd, env=None, timeout=600, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kw)
    assert proc.returncode == 0, f"{cmd[0]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def assert_cassandra_matches(session, want, start, end, began, engine: str) -> None:
    """The course jobs' Cassandra output of events with times in [start, end) (sensors
    sensor_0..99), written since `began` by `engine` (processed_by), against one libdq
    engine's BatchResult `want`: sensor_data holds exactly its PASS and FIXED events, and
    sensor_anomalies every reading its online detector flagged."""
    import collections
    import datetime as dt
    import json
    from dq.stack import days
    span = days(start, end)
    rows = collections.Counter()
    for i in range(100):
        for day in span:
            for row in session.execute("SELECT dq_status, processed_by, ingested_at FROM sensor_data WHERE "
                                       "sensor_id = %s AND day = %s AND ts >= %s AND ts < %s",
                                       (f"sensor_{i}", day, start, end)):
                if row.ingested_at.replace(tzinfo=dt.timezone.utc) >= began:
                    rows[row.dq_status, row.processed_by] += 1
    counts = collections.Counter(want.verdicts)
    assert rows == {("PASS", engine): counts["PASS"], ("FIXED", engine): counts["FIXED"]}
    flagged = {(json.loads(c)["sensor_id"], t) for c, t in zip(want.clean, want.event_time_ms)
               if c and b'"flag":true' in c}
    found = set()
    for sensor in {s for s, _ in flagged}:
        for day in span:
            for row in session.execute("SELECT ts, model, processed_by FROM sensor_anomalies WHERE sensor_id = %s "
                                       "AND day = %s AND ts >= %s AND ts < %s", (sensor, day, start, end)):
                if (row.model, row.processed_by) == ("online-z", engine):
                    found.add((sensor, int(row.ts.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)))
    assert len(flagged) > 20 and flagged <= found, (len(flagged), len(flagged - found))
