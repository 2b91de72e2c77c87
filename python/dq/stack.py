"""What the platform's Python programs (Flink and Spark jobs, ML, benchmarks, tests) share
about records and the running stack, written once:

- the sensor id an event is keyed by, found without parsing;
- the dead-letter record's dq.* headers (the ones `dq gate` writes, docs/cli.md);
- the checkout's .env (the stack's credentials, written by `make up`, mode 0600);
- the Kafka login of each of the stack's principals, for confluent-kafka and for Java clients;
- reading a topic, or a span of a partition, to its end;
- a Cassandra session with those credentials, idempotent concurrent inserts, and the days
  (partitions) a span of time covers;
- the login to the stack's MLflow, for its client and for plain HTTP, and to Flink's web UI and REST API.

Imports of the Cassandra driver and of confluent-kafka happen inside the functions that need them: the bindings
alone need nothing beyond the standard library.
"""
from __future__ import annotations

import base64
import datetime as dt
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout (the package is installed editable)
RUN = Path(os.environ.get("DQ_RUN", ROOT / ".stack"))  # the stack's data, logs and rendered configs
CACHE = Path(os.environ.get("DQ_CACHE") or Path.home() / ".cache" / "dq-platform")  # downloads, venvs (stack/lib.sh)

# The sensor id to key by, found without parsing (malformed events often have one too), as
# a regular expression every engine uses: Python here, Spark SQL in dq_spark.
SENSOR_KEY_PATTERN = r'"sensor_id"\s*:\s*"([^"\\]{1,64})"'
_SENSOR_KEY = re.compile(SENSOR_KEY_PATTERN.encode())

# The largest dead letter: the input's bytes (up to the broker's 1 MB) plus the verdict in
# headers, which may quote a long field's original value: about twice the input. sensor-dlq
# takes records this large (stack/kafka_setup.py), and every producer of dead letters may
# send them (dq gate's message.max.bytes; the Flink and Spark jobs' max.request.size, whose
# default of 1 MB would fail the job on such a record, again at every restart).
DEAD_LETTER_MAX_BYTES = 4 << 20

# The headers a dead letter carries besides its input's own, in the order `dq gate` adds them.
DEAD_LETTER_HEADERS = ("dq.reasons", "dq.verdict", "dq.source.topic", "dq.source.partition",
                       "dq.source.offset", "dq.contract")


def sensor_key(raw: bytes | None) -> str:
    """The sensor id of an event's bytes, or "" when none is found."""
    m = _SENSOR_KEY.search(raw or b"")
    return m.group(1).decode("utf-8", "replace") if m else ""


def dead_letter_headers(headers: dict, reasons: list[str], verdict_json: bytes, topic: str, partition: int,
                        offset: int, contract_version: str) -> dict[str, bytes]:
    """A reject's headers as `dq gate` writes them: the input's own, then the dq.* ones."""
    values = (",".join(reasons).encode(), verdict_json, topic.encode(), str(partition).encode(),
              str(offset).encode(), contract_version.encode())
    return {**headers, **dict(zip(DEAD_LETTER_HEADERS, values))}


def read_env(path: Path | None = None) -> dict[str, str]:
    """KEY=value lines of the checkout's .env (default), comments skipped; {} when absent."""
    path = Path(path) if path else Path(os.environ.get("DQ_ENV_FILE", ROOT / ".env"))
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")
    return {k.strip(): v.strip() for k, v in pairs}


KAFKA_BOOTSTRAP = "127.0.0.1:9092"
# The stack's Kafka principals (docs/security.md has what each may do): admin (everything:
# the stack's set-up, the tests), generator (writes sensor-topic), validator (the validation
# stage: dq gate and the Flink and Spark jobs) and reader (reads).
KAFKA_PRINCIPALS = ("admin", "generator", "validator", "reader")


def kafka_login(principal: str, secrets: dict | None = None) -> dict[str, str]:
    """confluent-kafka (librdkafka) settings to reach the stack's Kafka as one of its
    principals, with the password from .env. Admin logs in with PLAIN, the others with
    SCRAM-SHA-512 (stack/conf/kafka/server.properties.in says why)."""
    if principal not in KAFKA_PRINCIPALS:
        raise ValueError(f"no Kafka principal {principal!r} (one of {', '.join(KAFKA_PRINCIPALS)})")
    secrets = secrets or read_env()
    key = f"KAFKA_{principal.upper()}_PASSWORD"
    if key not in secrets:
        raise RuntimeError(f"no {key}: run `make up` (it writes .env)")
    return {"bootstrap.servers": KAFKA_BOOTSTRAP, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN" if principal == "admin" else "SCRAM-SHA-512",
            "sasl.username": principal, "sasl.password": secrets[key]}


def kafka_login_file(principal: str) -> Path:
    """The principal's login as librdkafka properties (0600, written by `make up`): what
    `dq gen|gate|score --kafka-config FILE` read."""
    if principal not in KAFKA_PRINCIPALS:
        raise ValueError(f"no Kafka principal {principal!r} (one of {', '.join(KAFKA_PRINCIPALS)})")
    return RUN / "kafka" / f"{principal}.properties"


MLFLOW_URI = "http://127.0.0.1:5000"
MLFLOW_USER = "dq"  # the tracking server's one user (stack/services.sh), its password MLFLOW_PASSWORD in .env


def mlflow_login(secrets: dict | None = None) -> None:
    """Logs this process's MLflow client in to the stack's tracking server. MLflow's client
    reads its login from the environment only, so it goes into this process's (the
    processes it starts inherit it). A login already in the environment is kept; without
    .env (a tracking server of your own) nothing changes."""
    secrets = secrets or read_env()
    if "MLFLOW_PASSWORD" in secrets and "MLFLOW_TRACKING_PASSWORD" not in os.environ:
        os.environ["MLFLOW_TRACKING_USERNAME"] = MLFLOW_USER
        os.environ["MLFLOW_TRACKING_PASSWORD"] = secrets["MLFLOW_PASSWORD"]


def basic_login(user: str, password_key: str, secrets: dict | None = None) -> dict[str, str]:
    """The HTTP header of a basic-authentication login: user, and the password .env holds
    under password_key."""
    secrets = secrets or read_env()
    if password_key not in secrets:
        raise RuntimeError(f"no {password_key}: run `make up` (it writes .env)")
    login = base64.b64encode(f"{user}:{secrets[password_key]}".encode()).decode()
    return {"Authorization": f"Basic {login}"}


def mlflow_headers(secrets: dict | None = None) -> dict[str, str]:
    """The HTTP header that logs a plain request in to the stack's MLflow."""
    return basic_login(MLFLOW_USER, "MLFLOW_PASSWORD", secrets)


def kafka_cluster_id() -> str:
    """A new KRaft cluster id, as Kafka's Uuid.randomUuid makes them: 16 random bytes in URL-safe
    base64, never starting with '-' (kafka-storage's parser would take it for an option: one id
    in 64 did, and the broker's first start failed)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def generator_rate() -> int:
    """The events/s of make up's generator as it runs now: the --rate of its process."""
    pid = (RUN / "pids" / "dq-gen.pid").read_text().strip()
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return int(args[args.index(b"--rate") + 1])


def restart_generator(rate: int) -> None:
    """make up's generator started again at rate events/s (generator_rate() gives the one to go back to)."""
    env = {**os.environ, "DQ_GEN_RATE": str(rate)}
    for script in ("down.sh", "up.sh"):
        subprocess.run([str(ROOT / "stack" / script), "dq-gen"], env=env, check=True, capture_output=True, timeout=300)


def read_span(consumer, start, end: int, idle_s: float = 60):
    """The messages of one partition (start: a confluent_kafka TopicPartition with its first
    offset) up to offset end (exclusive). It ends when the consumer's position reaches end,
    which passes transaction markers and aborted records (the last message's offset never
    does), or after idle_s without a message (an open transaction's records wait for its end)."""
    from confluent_kafka import TopicPartition
    if start.offset < 0 or start.offset >= end:
        return
    consumer.assign([start])
    partition = TopicPartition(start.topic, start.partition)
    heard = time.monotonic()
    # Short polls: consume() waits its whole timeout unless it gets all 10,000.
    while consumer.position([partition])[0].offset < end and time.monotonic() - heard < idle_s:
        got = [m for m in consumer.consume(10_000, timeout=0.2) if not m.error()]
        if got:
            heard = time.monotonic()
        yield from (m for m in got if m.offset() < end)


def topic_messages(topic: str, principal: str = "reader", idle_s: float = 3, **settings):
    """Every message a read_committed consumer sees in the topic, partition by partition in
    offset order, up to each partition's end when it is read (read_span; settings: more of the
    consumer's, another broker's bootstrap.servers for one)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({**kafka_login(principal), "group.id": "dq-reader", "isolation.level": "read_committed",
                  "enable.auto.commit": False, **settings})
    try:
        for p in sorted(c.list_topics(topic, timeout=10).topics[topic].partitions):
            start, end = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            yield from read_span(c, TopicPartition(topic, p, start), end, idle_s)
    finally:
        c.close()


def kafka_cli_args(principal: str) -> list[str]:
    """The dq tool's `--brokers ... --kafka-config FILE` as one of the stack's principals."""
    return ["--brokers", KAFKA_BOOTSTRAP, "--kafka-config", str(kafka_login_file(principal))]


# Where the login modules are in Flink's SQL Kafka connector jar, which shades Kafka's client.
FLINK_KAFKA_SECURITY = "org.apache.flink.kafka.shaded.org.apache.kafka.common.security"


def kafka_java_login(principal: str, package: str = "org.apache.kafka.common.security",
                     secrets: dict | None = None) -> dict[str, str]:
    """The same login as Kafka's Java client takes it (Spark's `kafka.` options, Flink's
    `properties.` ones): security.protocol, sasl.mechanism and sasl.jaas.config. For Flink's
    connector, package=FLINK_KAFKA_SECURITY."""
    login = kafka_login(principal, secrets)
    module = "plain.PlainLoginModule" if login["sasl.mechanism"] == "PLAIN" else "scram.ScramLoginModule"
    jaas = f'{package}.{module} required username="{principal}" password="{login["sasl.password"]}";'
    return {"security.protocol": login["security.protocol"], "sasl.mechanism": login["sasl.mechanism"],
            "sasl.jaas.config": jaas}


def cassandra_session(keyspace: str | None = "iot_data", host: str = "127.0.0.1", secrets: dict | None = None):
    """-> (cluster, session) logged in with CASSANDRA_USER / CASSANDRA_PASSWORD from the
    environment or .env. The caller shuts the cluster down."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster
    secrets = secrets or {**read_env(), **{k: v for k, v in os.environ.items() if k.startswith("CASSANDRA_")}}
    if "CASSANDRA_PASSWORD" not in secrets:
        raise RuntimeError("no Cassandra credentials: run `make up` (it writes .env)")
    auth = PlainTextAuthProvider(secrets.get("CASSANDRA_USER", "dq"), secrets["CASSANDRA_PASSWORD"])
    cluster = Cluster([host], auth_provider=auth, protocol_version=5)
    return cluster, cluster.connect(keyspace) if keyspace else cluster.connect()


def days(since: dt.datetime, until: dt.datetime | None = None) -> list[dt.date]:
    """The UTC days from `since` to `until` (now by default), newest first. The tables are
    partitioned by day: "the last 15 minutes" at 00:05 is read from two partitions."""
    first = since.astimezone(dt.timezone.utc).date()
    day = (until or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).date()
    out = []
    while day >= first:
        out.append(day)
        day -= dt.timedelta(days=1)
    return out


class CassandraWriter:
    """Idempotent inserts into the iot_data tables (their primary keys dedupe replays)."""

    def __init__(self, host: str = "127.0.0.1", secrets: dict | None = None):
        self.cluster, self.session = cassandra_session("iot_data", host, secrets)
        self.statements, self.partition_keys = {}, {}

    def _statement(self, table: str, columns: tuple):
        statement = self.statements.get((table, columns))
        if statement is None:
            statement = self.statements[table, columns] = self.session.prepare(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})")
        return statement

    def _bind(self, table: str, row: dict):
        columns = tuple(sorted(row))
        return self._statement(table, columns).bind([row[c] for c in columns])

    def insert(self, table: str, row: dict) -> None:
        self.session.execute(self._bind(table, row))

    def insert_many(self, items: list[tuple[str, dict]], concurrency: int = 64, batch_rows: int = 0) -> None:
        """Many (table, row) inserts in flight at once; returns when all are written.

        batch_rows > 0: rows of one partition go together in UNLOGGED batches of at most
        that many rows (one request, one mutation of one partition on the server), which is
        what lets one Python client write several times more rows per second: the driver's
        cost is per request, not per row. Rows of different partitions never share a batch."""
        from cassandra.concurrent import execute_concurrent
        from cassandra.query import BatchStatement, BatchType
        bound = [(table, self._bind(table, row), row) for table, row in items]
        work = []
        if batch_rows > 0:
            groups = {}
            for table, statement, row in bound:
                groups.setdefault((table, *(row[c] for c in self._partition_key(table))), []).append(statement)
            for statements in groups.values():
                for i in range(0, len(statements), batch_rows):
                    chunk = statements[i:i + batch_rows]
                    if len(chunk) == 1:
                        work.append((chunk[0], ()))
                        continue
                    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
                    for statement in chunk:
                        batch.add(statement)
                    work.append((batch, ()))
        else:
            work = [(statement, ()) for _, statement, _ in bound]
        execute_concurrent(self.session, work, concurrency=concurrency, raise_on_first_error=True)

    def _partition_key(self, table: str) -> list[str]:
        """The table's partition key columns, from the cluster's schema (read once a table)."""
        if table not in self.partition_keys:
            self.partition_keys[table] = [c.name for c in
                                          self.cluster.metadata.keyspaces["iot_data"].tables[table].partition_key]
        return self.partition_keys[table]

    def close(self) -> None:
        self.cluster.shutdown()


PROMETHEUS = "http://127.0.0.1:9090"


def prometheus(expr: str, minutes: float | None = None, step_s: int = 15,
               timeout: float = 30) -> list[tuple[dict, list]]:
    """A PromQL query to the stack's Prometheus -> [(labels, [(epoch_s, value), ...]), ...]:
    the values of the last `minutes` (a range query), or the current value alone."""
    import json
    import time
    import urllib.parse
    import urllib.request
    if minutes is None:
        url = f"{PROMETHEUS}/api/v1/query?query={urllib.parse.quote(expr)}"
    else:
        end = time.time()
        url = (f"{PROMETHEUS}/api/v1/query_range?query={urllib.parse.quote(expr)}"
               f"&start={end - 60 * minutes}&end={end}&step={step_s}")
    with urllib.request.urlopen(url, timeout=timeout) as res:
        data = json.loads(res.read())["data"]["result"]
    return [(r["metric"], [(float(t), float(v)) for t, v in (r["values"] if "values" in r else [r["value"]])])
            for r in data]


FLINK = "http://127.0.0.1:8081"  # Flink's web UI and REST API, behind the login (stack/flink_ui.py)
FLINK_USER = "dq"  # its one user, the password FLINK_PASSWORD in .env
FLINK_TLS = RUN / "conf" / "flink" / "tls"  # the cluster's certificate (stack/services.sh flink_tls)
LIVE_JOB_FILE = RUN / "data" / "flink" / "live" / "job"  # the live writer's job id (stack/live_writer.sh)


def flink_headers(secrets: dict | None = None) -> dict[str, str]:
    """The HTTP header that logs a request in to Flink's web UI and REST API."""
    return basic_login(FLINK_USER, "FLINK_PASSWORD", secrets)


def flink_rest(path: str, method: str = "GET", timeout: float = 10):
    """A call to Flink's REST API (path: "/jobs/overview", ...) with the login -> its JSON
    answer (None when it answers with nothing, as a cancel's PATCH may)."""
    import json
    import urllib.request
    req = urllib.request.Request(FLINK + path, method=method, headers=flink_headers())
    with urllib.request.urlopen(req, timeout=timeout) as res:
        body = res.read()
    return json.loads(body) if body else None


def live_job(timeout: float = 10) -> dict:
    """The live writer's Flink job as the REST API describes it (its "state", "vertices", ...)."""
    return flink_rest(f"/jobs/{LIVE_JOB_FILE.read_text().strip()}", timeout=timeout)
