"""A fault drill too long for make test (make drills runs it): Kafka's log disk fills up under
dq gen and dq gate --exactly-once. The broker stops with a clear error, the clients wait or
stop saying why, and once space returns the broker recovers its logs and the pipeline goes on:
every record reads back with a good checksum, and in = clean + rejected.

The stack's own broker is never filled: the drill runs a broker of its own, on ports 29092 and
29093, with the stack's configuration and admin login, whose log directory is a small tmpfs
mounted in a mount namespace of its own (`unshare`, as any user may), so that the full disk is
this broker's alone and vanishes with it."""
import datetime
import os
import signal
import subprocess
import time

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import ROOT, messages
from dq.stack import CACHE, kafka_cluster_id, kafka_login, kafka_login_file

DQ = ROOT / "build" / "dq"
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
BROKER = "127.0.0.1:29092"
DISK_MB, FREE_MB = 64, 16  # the tmpfs, and what a filler file leaves of it for Kafka
EVENTS = 300_000  # ~40 MB in, ~50 MB clean: more than the free space

# In the new namespace: the tmpfs, the storage formatted, a filler file, then the broker,
# started again each time it stops once the drill says space is back (the filler deleted).
SUPERVISOR = r"""
set -u
mount -t tmpfs -o size=${DISK_MB}m tmpfs "$DATA" || exit 90
"$JAVA" $LOG4J -cp "$CP" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$CONF" > "$DIR/format.log" 2>&1 || exit 91
dd if=/dev/zero of="$DATA/filler" bs=1M count=$((DISK_MB - FREE_MB)) 2> /dev/null || exit 92
n=0
while [ ! -e "$DIR/stop" ]; do
    n=$((n + 1))
    "$JAVA" -Xms256m -Xmx512m $LOG4J -cp "$CP" kafka.Kafka "$CONF" > "$DIR/broker.$n.out" 2>&1 &
    echo $! > "$DIR/broker.pid"
    wait $!
    echo "$n $?" >> "$DIR/exits"
    while [ ! -e "$DIR/space" ] && [ ! -e "$DIR/stop" ]; do sleep 0.2; done
    if [ -e "$DIR/space" ]; then rm -f "$DATA/filler" "$DIR/space"; fi
done
"""


def java_and_classpath() -> tuple[str, str]:
    java = subprocess.run(["bash", "-c", ". stack/lib.sh && find_java17"], cwd=ROOT, capture_output=True, text=True)
    assert java.returncode == 0, "Java 17 not found: run 'make deps'"
    return f"{java.stdout.strip()}/bin/java", f"{CACHE / 'jars' / 'kafka'}/*"


def drill_config(folder, password: str) -> str:
    """The stack's server.properties for a second broker: other ports, the drill's folders,
    small segments (the disk fills between two of them, not in a preallocated one)."""
    text = (ROOT / "stack" / "conf" / "kafka" / "server.properties.in").read_text()
    text = (text.replace("@DQ_BIND@", "127.0.0.1").replace("@KAFKA_ADMIN_PASSWORD@", password)
            .replace(":9092", ":29092").replace(":9093", ":29093")
            .replace("log.dirs=@DQ_RUN@/data/kafka", f"log.dirs={folder / 'data'}"))
    assert "@" not in text.replace("1@127", ""), "a placeholder left in the drill's server.properties"
    return text + "\nlog.segment.bytes=1048576\n"


def admin() -> AdminClient:
    # log_level 2: the drill's own clients keep quiet while the broker is away on purpose
    return AdminClient(kafka_login("admin") | {"bootstrap.servers": BROKER, "log_level": 2})


def wait_ready(supervisor, folder, seconds=90):
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert supervisor.poll() is None, f"the drill's broker did not start: {sorted(p.name for p in folder.iterdir())}"
        try:
            if admin().list_topics(timeout=2).brokers:
                return
        except Exception:  # noqa: BLE001 (not up yet)
            pass
        time.sleep(1)
    pytest.fail(f"the drill's broker was not ready within {seconds} s")


@pytest.fixture
def drill_broker(tmp_path, secrets):
    (tmp_path / "data").mkdir()
    conf = tmp_path / "server.properties"
    conf.touch(0o600)
    conf.write_text(drill_config(tmp_path, secrets["KAFKA_ADMIN_PASSWORD"]))
    java, classpath = java_and_classpath()
    env = {**os.environ, "DIR": str(tmp_path), "DATA": str(tmp_path / "data"), "CONF": str(conf), "JAVA": java,
           "CP": classpath, "DISK_MB": str(DISK_MB), "FREE_MB": str(FREE_MB),
           "LOG4J": f"-Dlog4j2.configurationFile={ROOT / 'stack' / 'conf' / 'kafka' / 'log4j2.properties'}",
           "CLUSTER_ID": kafka_cluster_id()}
    supervisor = subprocess.Popen(["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", SUPERVISOR],
                                  env=env, start_new_session=True)
    try:
        wait_ready(supervisor, tmp_path)
        yield supervisor, tmp_path
    finally:
        (tmp_path / "stop").touch()
        if (tmp_path / "broker.pid").exists():
            try:
                os.kill(int((tmp_path / "broker.pid").read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            supervisor.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait()


def exits(folder) -> list[str]:
    return (folder / "exits").read_text().split("\n")[:-1] if (folder / "exits").exists() else []


@pytest.mark.long
def test_drill_kafka_log_disk_full(drill_broker, tmp_path):
    supervisor, folder = drill_broker
    topics = {"in": "drill-in", "clean": "drill-clean", "dlq": "drill-dlq"}
    client = admin()  # alive until its futures are done
    for future in client.create_topics([NewTopic(t, num_partitions=4, replication_factor=1)
                                        for t in topics.values()]).values():
        future.result(30)
    login = ["--brokers", BROKER, "--kafka-config", str(kafka_login_file("admin"))]
    start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    gen_log, gate_log = folder / "gen.err", folder / "gate.err"
    gen = subprocess.Popen([DQ, "gen", "--count", str(EVENTS), "--seed", "5", "--start", start, *login,
                            "--topic", topics["in"], "-q"], stderr=gen_log.open("w"))
    gate_cmd = [DQ, "gate", "-c", CONTRACT, *login, "--group", "drill-gate", "--input", topics["in"],
                "--clean", topics["clean"], "--dlq", topics["dlq"], "--metrics-topic", "", "--anomalies", "",
                "--metrics-addr", "", "--exactly-once", "--transactional-id", "drill-gate", "--idle-exit", "10000", "-q"]
    gate = subprocess.Popen(gate_cmd, stderr=gate_log.open("a"))

    # The disk fills: the broker stops, saying why.
    deadline = time.time() + 180
    while not exits(folder) and time.time() < deadline:
        time.sleep(1)
    assert exits(folder), "the broker went on: the disk did not fill"
    broker_said = (folder / "broker.1.out").read_text(errors="replace")
    assert "No space left on device" in broker_said, broker_said[-3000:]
    print(f"  the broker stopped (exit {exits(folder)[0].split()[1]}): the disk is full")
    time.sleep(10)  # the clients meet a broker that is gone
    (folder / "space").touch()
    wait_ready(supervisor, folder)
    recovered = (folder / "broker.2.out").read_text(errors="replace")
    print(f"  space back; the broker again; recovery in its log: {'Recover' in recovered or 'recover' in recovered}")

    # The generator's readings all arrive (it holds them while the broker is away).
    assert gen.wait(timeout=600) == 0, gen_log.read_text()[-2000:]
    # The gate goes on or stops with the Kafka exit code; a supervisor (here: this loop)
    # starts it again until it has read everything.
    ends, exit_codes = admin_end_offsets(topics["in"]), []
    for _ in range(6):
        exit_codes.append(gate.wait(timeout=600))
        assert exit_codes[-1] in (0, 5), f"dq gate exited {exit_codes[-1]}:\n{gate_log.read_text()[-2000:]}"
        if exit_codes[-1] == 0 and committed("drill-gate", topics["in"]) == ends:
            break
        gate = subprocess.Popen(gate_cmd, stderr=gate_log.open("a"))
    print(f"  dq gate's runs ended with {exit_codes} (5: Kafka failed it; 0: done, or idle for 10 s)")
    assert committed("drill-gate", topics["in"]) == ends

    # No corruption: every record of the three topics reads back with its checksum checked.
    checked = {"bootstrap.servers": BROKER, "check.crcs": True}
    inputs = sum(1 for _ in messages(topics["in"], "admin", **checked))
    clean = sum(1 for _ in messages(topics["clean"], "admin", **checked))
    rejected = sum(1 for _ in messages(topics["dlq"], "admin", **checked))
    print(f"  in {inputs:,} = clean {clean:,} + rejected {rejected:,}")
    assert inputs == sum(ends.values()) >= EVENTS
    assert clean + rejected == inputs


def admin_end_offsets(topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer
    c = Consumer(kafka_login("admin") | {"bootstrap.servers": BROKER, "group.id": "drill-ends", "log_level": 2})
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(4)}
    c.close()
    return ends


def committed(group: str, topic: str) -> dict[int, int]:
    from confluent_kafka import ConsumerGroupTopicPartitions
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(4)])
    client = admin()
    result = client.list_consumer_group_offsets([request])[group].result(30)
    return {tp.partition: max(tp.offset, 0) for tp in result.topic_partitions}
