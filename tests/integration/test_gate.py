"""dq gate on the real broker: nothing lost, also when SIGKILLed mid-stream.

Events come from `dq gen --brokers`; the gate reads them in a fresh consumer group and
writes fresh output topics, so each test counts exactly its own messages.
"""
import collections
import datetime
import json
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import ROOT, kafka, messages, produce
from dq.stack import kafka_cli_args
from scoring import below_score_goal
from testenv import free_port

DQ = ROOT / "build" / "dq"
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
EVENTS = 1_000_000
BATCH = 1000


def gate_topics(make_topic, events: int):
    """Four-partition topics for a gate, the input holding `events` generated events, as
    {"in", "clean", "dlq", "metrics", "group", "events"}; the gate's state topic deleted afterwards."""
    names = {k: make_topic() for k in ("in", "clean", "dlq", "metrics")}
    # Event times end before now (100 sensors every 10 s: 1M events span 28 h), so the
    # future-timestamp rule does not depend on when the gate runs.
    start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    subprocess.run([DQ, "gen", "--count", str(events), "--seed", "11", "--start", start, *kafka_cli_args("admin"),
                    "--topic", names["in"], "-q"], check=True, timeout=300)
    names["group"], names["events"] = f"gate-{uuid.uuid4().hex[:8]}", events
    yield names
    AdminClient(kafka()).delete_topics([names["group"] + "-state"])


@pytest.fixture
def topics(make_topic):
    """EVENTS: enough of every defect type for dq score's figures, and a stream long enough to kill mid-way."""
    yield from gate_topics(make_topic, EVENTS)


@pytest.fixture
def short_topics(make_topic):
    """200,000 events, for what needs no scores and no kill mid-stream."""
    yield from gate_topics(make_topic, 200_000)


def gate_cmd(t, *extra):
    return [DQ, "gate", "-c", CONTRACT, *kafka_cli_args("validator"), "--group", t["group"], "--input", t["in"],
            "--clean", t["clean"], "--dlq", t["dlq"], "--metrics-topic", t["metrics"], "--metrics-addr", "",
            "--batch", str(BATCH), "-q",
            # A SIGKILLed member holds its partitions until its session expires: keep that short.
            "-X", "consumer.session.timeout.ms=6000", "-X", "consumer.heartbeat.interval.ms=1000", *extra]


def count(topic):
    return sum(1 for _ in messages(topic))


def verdicts_of_outputs(t):
    """(verdict, reasons) of every output: the clean events' dq annotation, the rejects' headers."""
    found = collections.Counter()
    for m in messages(t["clean"]):
        dq = json.loads(m.value())["dq"]
        found[dq["status"], tuple(sorted(dq.get("reasons", [])))] += 1
    for m in messages(t["dlq"]):
        reasons = dict(m.headers())["dq.reasons"].decode()
        found["REJECT", tuple(sorted(reasons.split(",")))] += 1
    return found


def verdicts_uninterrupted(t):
    """What one libdq engine that never stops gives the input. Per-sensor rules depend only on
    each sensor's order, which is its partition's order, so partitions may come one after another."""
    import dq
    engine = dq.Engine(dq.Contract(CONTRACT), now=int(time.time() * 1000))
    found, batch = collections.Counter(), []

    def evaluate():
        res = engine.evaluate(batch)
        found.update((v, tuple(sorted(r))) for v, r in zip(res.verdicts, res.reasons))
        batch.clear()
    for m in messages(t["in"]):
        batch.append(m.value() or b"")
        if len(batch) == 50_000:
            evaluate()
    evaluate()
    return found


def committed(t):
    """Input offsets the gate's group has committed, summed over partitions."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    admin = AdminClient(kafka())
    request = ConsumerGroupTopicPartitions(t["group"], [TopicPartition(t["in"], p) for p in range(4)])
    result = admin.list_consumer_group_offsets([request])[t["group"]].result(30)
    return sum(max(tp.offset, 0) for tp in result.topic_partitions)


def run_with_kills(t, kills, *extra):
    """Runs the gate, SIGKILLs it `kills` times mid-stream, then lets a last run finish."""
    positions = []
    for _ in range(kills):
        before = committed(t)
        proc = subprocess.Popen(gate_cmd(t, *extra))
        deadline = time.time() + 60
        while committed(t) <= before + 5 * BATCH and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        positions.append(committed(t))
    subprocess.run(gate_cmd(t, "--idle-exit", "3000", *extra), check=True, timeout=600)
    return positions


def test_exactly_once_reconciles_after_three_kills(topics):
    positions = run_with_kills(topics, 3, "--exactly-once", "--transactional-id", "tx-" + topics["group"])
    assert all(0 < p < EVENTS for p in positions), f"kills were not mid-stream: {positions}"
    clean, dlq = count(topics["clean"]), count(topics["dlq"])
    assert clean + dlq == EVENTS, f"in {EVENTS} != clean {clean} + rejected {dlq}"
    assert committed(topics) == EVENTS
    # The per-sensor state came back from the state topic each time: no duplicate, spike,
    # stuck run, noisy stretch or gap was missed or flagged twice because of the kills.
    got, want = verdicts_of_outputs(topics), verdicts_uninterrupted(topics)
    stateful = {"DUPLICATE_EVENT", "SPIKE", "STUCK_VALUE", "NOISE", "GAP", "LATE_EVENT"}
    assert sum(n for (_, reasons), n in want.items() if stateful & set(reasons)) > 1000
    assert got == want, {k: (got[k], want[k]) for k in got.keys() | want.keys() if got[k] != want[k]}
    assert_scores(topics)


def score(t, *extra) -> dict:
    out = subprocess.run([DQ, "score", *kafka_cli_args("reader"), "--clean-topic", t["clean"], "--dlq-topic", t["dlq"],
                          "--json", *extra], capture_output=True, text=True, check=True, timeout=300).stdout
    return json.loads(out)


def assert_scores(t):
    """dq score over the gate's output topics: every event found, every defect caught; --since
    keeps the records written from a time on (this test's are minutes old, none is from the future)."""
    scores = score(t)
    assert (scores["events"], scores["unseen"]) == (EVENTS, 0)
    assert len(scores["recall"]) >= 14
    assert below_score_goal(scores) == {}
    assert score(t, "--since", "1h") == scores
    assert score(t, "--since", str(int(time.time() * 1000) + 60_000))["events"] == 0


def test_at_least_once_loses_nothing_and_bounds_duplicates(topics):
    positions = run_with_kills(topics, 3)
    assert all(0 < p < EVENTS for p in positions), f"kills were not mid-stream: {positions}"
    clean, dlq = count(topics["clean"]), count(topics["dlq"])
    # Each kill can repeat at most two batches: the one in hand and the one whose commit was in flight.
    assert EVENTS <= clean + dlq <= EVENTS + 3 * 2 * BATCH, (clean, dlq)
    assert committed(topics) == EVENTS
    assert_scores(topics)  # repeated outputs count once


def test_two_instances_share_the_partitions(short_topics):
    topics = short_topics
    procs = [subprocess.Popen(gate_cmd(topics, "--idle-exit", "4000", "--transactional-id", f"{topics['group']}-{i}"),
                              stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    for p in procs:
        assert p.wait(timeout=600) == 0
    assert count(topics["clean"]) + count(topics["dlq"]) == topics["events"]


def test_metrics_endpoint_and_sigterm(short_topics):
    topics, events = short_topics, short_topics["events"]
    port = free_port()
    cmd = gate_cmd(topics)
    cmd[cmd.index("--metrics-addr") + 1] = f"127.0.0.1:{port}"
    proc = subprocess.Popen(cmd)
    try:
        deadline, body = time.time() + 60, ""
        while time.time() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
                if committed(topics) == events:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0  # SIGTERM: finish the batch, commit, leave the group
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in body.splitlines() if line and line[0] != "#"}
    total = sum(values[f'dq_events_total{{verdict="{v}"}}'] for v in ("pass", "fixed", "reject"))
    assert total == events
    assert values["dq_gate_latency_ms_count"] == events
    assert values["dq_gate_consumer_lag"] == 0 and values["dq_gate_assigned_partitions"] == 4
    assert committed(topics) == events


def metrics_of(port) -> dict:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in body.splitlines() if line and line[0] != "#"}


@pytest.fixture
def small_topics(make_topic):
    """One-partition topics for a gate (the dead-letter topic with sensor-dlq's settings), as
    {"in", "clean", "dlq", "metrics", "group"}; deleted afterwards, the gate's state topic too."""
    t = {k: make_topic(like="sensor-dlq" if k == "dlq" else None, partitions=1) for k in ("in", "clean", "dlq", "metrics")}
    t["group"] = f"gate-small-{uuid.uuid4().hex[:8]}"
    yield t
    AdminClient(kafka()).delete_topics([t["group"] + "-state"])


def test_a_gate_without_partitions_says_so(small_topics):
    """Two gates, one input partition: the one left without says it holds 0 partitions and
    that its lag is unknown (NaN), where it used to report a lag of 0 while checking nothing.
    And /metrics outlasts 1,000 idle connections (they used to make every scrape fail)."""
    t = small_topics
    procs, ports = [], [free_port(), free_port()]
    try:
        for port in ports:
            cmd = gate_cmd(t)
            cmd[cmd.index("--metrics-addr") + 1] = f"127.0.0.1:{port}"
            procs.append(subprocess.Popen(cmd))
            time.sleep(3)
        deadline, seen = time.time() + 60, []
        while time.time() < deadline:
            try:
                seen = [metrics_of(p) for p in ports]
            except OSError:
                seen = []
            if seen and sorted(m["dq_gate_assigned_partitions"] for m in seen) == [0, 1]:
                break
            time.sleep(0.5)
        assert seen and sorted(m["dq_gate_assigned_partitions"] for m in seen) == [0, 1], seen
        idle = next(m for m in seen if m["dq_gate_assigned_partitions"] == 0)
        busy = next(m for m in seen if m["dq_gate_assigned_partitions"] == 1)
        assert idle["dq_gate_consumer_lag"] != idle["dq_gate_consumer_lag"]  # NaN
        assert busy["dq_gate_consumer_lag"] == 0
        # 1,000 idle connections do not stop a scrape, and are dropped after 5 s.
        idle_conns = [socket.create_connection(("127.0.0.1", ports[0]), timeout=10) for _ in range(1000)]
        assert "dq_gate_batches_total" in metrics_of(ports[0])
        time.sleep(7)
        assert all(c.recv(1) == b"" for c in idle_conns[:20])  # closed by the gate
        for c in idle_conns:
            c.close()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)


def test_broker_restart_mid_stream_loses_nothing(topics):
    """Kafka stopped and started again under a running gate: librdkafka reconnects, and
    whatever the gate could not commit is read again. Nothing is lost."""
    proc = subprocess.Popen(gate_cmd(topics, "--idle-exit", "5000"), stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while committed(topics) < EVENTS // 10 and time.time() < deadline:
        time.sleep(0.2)
    before = committed(topics)
    assert 0 < before < EVENTS, "the restart must happen mid-stream"
    subprocess.run([ROOT / "stack" / "down.sh", "--quiet", "kafka"], check=True, timeout=120)
    time.sleep(3)
    subprocess.run([ROOT / "stack" / "up.sh", "kafka"], check=True, timeout=300, capture_output=True)
    # The gate either rides out the outage or stops with the Kafka exit code, uncommitted
    # input intact; a supervisor (here: this loop) starts it again.
    for _ in range(5):
        rc = proc.wait(timeout=600)
        if rc == 0 and committed(topics) == EVENTS:
            break
        assert rc in (0, 5), proc.stderr.read()[-2000:]
        proc = subprocess.Popen(gate_cmd(topics, "--idle-exit", "5000"), stderr=subprocess.PIPE, text=True)
    clean, dlq = count(topics["clean"]), count(topics["dlq"])
    assert committed(topics) == EVENTS
    assert clean + dlq >= EVENTS, (clean, dlq)


def test_the_largest_record_the_broker_takes_passes_the_gate(small_topics):
    """A ~1 MB record (the broker's default limit is 1,048,588 bytes) is rejected OVERSIZED and
    forwarded to the dead-letter topic whole, and the gate goes on: it used to stop there
    ("Message size too large") and, restarted, re-emit its last batch each time."""
    t = small_topics
    big = b'{"sensor_id":"sensor_1","location":"' + b"x" * 1_040_000 + b'"}'
    now = datetime.datetime.now(datetime.timezone.utc)
    readings = [json.dumps({"sensor_id": "sensor_1", "timestamp": (now - datetime.timedelta(seconds=10 * (20 - i)))
                            .strftime("%Y-%m-%dT%H:%M:%S.000Z"), "temperature": 21.5, "humidity": 40.0}).encode()
                for i in range(20)]
    # In order: a plain producer's retried request may land after a later one, and readings
    # read out of order are rightly LATE.
    produce(t["in"], readings[:10] + [big] + readings[10:], keys=[b"sensor_1"] * 21)
    proc = subprocess.run(gate_cmd(t, "--idle-exit", "3000"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    dead = list(messages(t["dlq"]))
    assert [(len(m.value()), dict(m.headers())["dq.reasons"]) for m in dead] == [(len(big), b"OVERSIZED")]
    assert count(t["clean"]) == 20


def fnv1a64(data: bytes) -> str:
    h = 1469598103934665603
    for byte in data:
        h = ((h ^ byte) * 1099511628211) & (2**64 - 1)
    return f"{h:016x}"


def test_a_dead_letter_too_large_to_send_whole_is_sent_truncated(small_topics):
    """Over the producer's limit (here lowered to 200 KB), a reject is still dead-lettered: its
    first 64 KB with its full length and a hash in headers, counted in /metrics; the gate goes on."""
    t = small_topics
    port = free_port()
    cmd = gate_cmd(t, "-X", "producer.message.max.bytes=200000")
    cmd[cmd.index("--metrics-addr") + 1] = f"127.0.0.1:{port}"
    proc = None
    try:
        big = b'{"sensor_id":"sensor_1","firmware":"' + b"y" * 300_000 + b'"}'
        produce(t["in"], [big, b'{"sensor_id":"sensor_1","temperature":"N/A"}'], keys=[b"sensor_1"] * 2)
        proc = subprocess.Popen(cmd)
        deadline, values = time.time() + 60, {}
        while time.time() < deadline and values.get("dq_gate_dead_letters_truncated_total") != 1:
            try:
                values = metrics_of(port)
            except OSError:
                pass
            time.sleep(0.5)
        assert values.get("dq_gate_dead_letters_truncated_total") == 1, values
        deadline, dead = time.time() + 60, []
        while len(dead) < 2 and time.time() < deadline:
            dead = list(messages(t["dlq"]))
        assert len(dead) == 2
        truncated, whole = dead
        headers = dict(truncated.headers())
        assert truncated.value() == big[:65536]
        assert headers["dq.truncated"] == str(len(big)).encode() and headers["dq.fnv1a64"] == fnv1a64(big).encode()
        assert headers["dq.reasons"] == b"OVERSIZED" and headers["dq.source.offset"] == b"0"
        assert "dq.truncated" not in dict(whole.headers())
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
