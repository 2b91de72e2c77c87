"""Day 1: the platform and its data flow (course/week1.md), on the running stack."""
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from checks import ROOT, drill, module_of
from testenv import CONTRACT

LOOPBACK = ("127.0.0.1", "[::ffff:127.0.0.1]")  # as ss prints an IPv4 socket, and a Java one bound to it


@pytest.mark.stack
def test_1_ports_and_the_address_they_listen_on(answer):
    status = subprocess.run(["make", "-s", "status"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = {m.group(1): m.group(2) for m in re.finditer(r"^(\S+)\s+\S*?(127\.0\.0\.1:\d+)", status, re.M)}
    ports = {"kafka": "kafka", "cassandra": "cassandra", "flink": "flink-ui", "jupyter": "jupyter",
             "dashboards": "dashboard"}
    address = answer("day01", "address")
    for key, service in ports.items():
        assert listed[service] == f"{address}:{answer('day01', key)}", (service, listed.get(service))
    # what listens there, listens on loopback only
    sockets = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout.split("\n")
    for service, where in listed.items():
        port = where.rsplit(":", 1)[1]
        local = [line.split()[3] for line in sockets if line.split() and line.split()[3].endswith(f":{port}")]
        assert local and all(a.rsplit(":", 1)[0] in LOOPBACK for a in local), (service, local)


def gate_counts() -> tuple[float, float]:
    with urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=10) as reply:
        text = reply.read().decode()
    counts = {m.group(1): float(m.group(2)) for m in re.finditer(r'^dq_events_total\{verdict="(\w+)"\} (\S+)', text, re.M)}
    return sum(counts.values()), counts["reject"]


@pytest.mark.stack
def test_2_events_checked_and_the_share_rejected(script):
    before = gate_counts()
    printed = script("day01/ex2_gate_share.sh") / "stdout.txt"
    after = gate_counts()
    events, share = printed.read_text().split()
    assert before[0] <= float(events) <= after[0], (events, before, after)
    assert abs(float(share) - after[1] / after[0]) < 0.001, (share, after)


# Reasons that depend on a sensor's earlier readings: a reading judged alone cannot show them.
STATEFUL = {"DUPLICATE_EVENT", "LATE_EVENT", "GAP", "SPIKE", "STUCK_VALUE", "NOISE", "BIAS"}


@pytest.mark.stack
@pytest.mark.drill
def test_3_kafka_stopped_and_started(answer):
    """Your answer, and the drill done for you: Kafka stopped 20 s under the generator, the gate
    and the live writer, then every input offset of the span reconciled (about 3 minutes)."""
    assert answer("day01", "kafka_restart_lost") == "a"
    drill("test_live_pipeline.py::test_drill_kafka_restart_under_the_pipeline_loses_nothing")


@pytest.mark.stack
def test_4_one_reading_to_the_dead_letter_topic():
    import dq
    from confluent_kafka import Consumer
    from dq.stack import kafka_login
    module = module_of("day01/ex4_dead_letter.py")
    consumer = Consumer({**kafka_login("reader"), "group.id": "day01-check", "enable.auto.commit": False})
    try:
        letter = module.newest("sensor-dlq", consumer)
        headers = {name: value.decode() for name, value in letter.headers()}
        origin = module.where_from(letter)
        assert origin == {"reasons": headers["dq.reasons"].split(","), "topic": headers["dq.source.topic"],
                          "partition": int(headers["dq.source.partition"]),
                          "offset": int(headers["dq.source.offset"])}, (origin, headers)
        reading = module.record_at(origin["topic"], origin["partition"], origin["offset"], consumer).value() or b""
    finally:
        consumer.close()
    # the reading as it came (a dead letter too large whole keeps its first 64 KB: dq.truncated)
    assert reading.startswith(letter.value() or b"") if "dq.truncated" in headers else reading == (letter.value() or b"")
    if not STATEFUL & set(origin["reasons"]):  # judged alone, libdq rejects it for the same reasons
        # with the clock the gate judged by (its now, give or take the seconds since): without a
        # now, the future rule does not apply, and a FUTURE_TIMESTAMP reading would pass
        result = dq.Engine(dq.Contract(CONTRACT), now=letter.timestamp()[1]).evaluate([reading])
        assert result.verdicts[0] == "REJECT" and set(origin["reasons"]) <= set(result.reasons[0]), result.reasons


@pytest.mark.stack
def test_5_how_far_behind_a_consumer_is(answer):
    """Your behind() on a group of the check's own, which committed known offsets on three of
    sensor-topic's partitions and none on the fourth: between the figures from the end offsets
    read just before and just after yours."""
    sys.path.insert(0, str(ROOT / "stack"))
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient
    from dq.stack import kafka_login
    from reconcile import TOPIC, end_offsets, reader

    group = f"day01-check-{os.getpid()}"
    c = reader(**{"group.id": group})
    ends = end_offsets(c)
    *committed_ones, untouched = sorted(ends)
    commits = {p: ends[p] // 2 for p in committed_ones}
    c.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in commits.items()], asynchronous=False)

    def expected(ends: dict[int, int]) -> int:
        return sum(ends[p] - commits[p] for p in commits) + ends[untouched]

    try:
        before = expected(end_offsets(c))
        mine = module_of("day01/ex5_lag.py").behind(group)
        after = expected(end_offsets(c))
    finally:
        c.close()
        admin = AdminClient(kafka_login("admin"))  # leave no group behind (the client must live until it answers)
        admin.delete_consumer_groups([group])[group].result(30)
    print(f"  {group} behind: {before:,} <= yours {mine:,} <= {after:,}")
    assert before <= mine <= after, (before, mine, after)
    assert answer("day01", "lag_in_events") == "b"


@pytest.mark.stack
def test_6_where_the_secrets_are(answer):
    from dq.stack import read_env
    env = ROOT / ".env"
    mode = f"{env.stat().st_mode & 0o777:o}"
    passwords = [v.encode() for k, v in read_env(env).items() if k.endswith("PASSWORD") and len(v) >= 8]
    assert mode == "600" and len(passwords) >= 5, (mode, len(passwords))
    exposed = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes()
        except OSError:  # a process that ended meanwhile
            continue
        exposed += [cmdline.parent.name for p in passwords if p in args]
    assert not exposed, f"processes with a password on their command line: {exposed}"
    assert answer("day01", "env_mode") == mode and answer("day01", "why_not_on_command_line") == "b"
