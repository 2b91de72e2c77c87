"""What the course's PySpark jobs share: libdq verdicts per shard of sensors with each
sensor's libdq state kept by Spark (applyInPandasWithState), and the columns they write.

Plain Python and pandas, so the logic is testable without Spark
(tests/spark/test_spark_logic.py). Jobs ship this file to the executors with --py-files
(stack/spark-submit.sh does).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from dq.stack import (DEAD_LETTER_HEADERS, DEAD_LETTER_MAX_BYTES, KAFKA_BOOTSTRAP,  # noqa: F401  (the jobs import them)
                      KAFKA_PRINCIPALS, SENSOR_KEY_PATTERN, kafka_java_login, sensor_key)

# This checkout. On executors this file is a --py-files copy elsewhere, so
# stack/spark-submit.sh passes the checkout as DQ_ROOT (spark.executorEnv.DQ_ROOT).
ROOT = Path(os.environ.get("DQ_ROOT") or Path(__file__).resolve().parents[1])
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
# The sensor id to group by (dq.stack's pattern) in Spark SQL: a string literal, backslashes doubled.
SENSOR_KEY_SQL = "regexp_extract(CAST(value AS STRING), '" + SENSOR_KEY_PATTERN.replace("\\", "\\\\") + "', 1)"
# Events are judged per shard of sensors (a hash of the sensor id): one libdq call and one
# pandas frame per shard and micro-batch, where a group per sensor cost a Python call each.
SHARDS = 8
SHARD_SQL = f"pmod(crc32(sensor), {SHARDS})"


def bindings():
    """libdq's Python bindings (installed editable from this checkout into the spark venv)."""
    import dq
    return dq


# The contract's field rules that the Spark-native code (the quality check's expressions, the
# cleaning job) states in Spark's own terms, read from libdq (dq.Contract.fields), so that they
# follow the contract. tests/spark checks every rule against libdq's findings on the shared vectors.
RULES = {f["name"]: f for f in bindings().Contract(CONTRACT).fields}
SENSOR_ID_PATTERN = RULES["sensor_id"]["pattern"]
STATUS_VALUES = tuple(RULES["status"]["enum"])
MAX_TEXT = {name: rule["maxLength"] for name, rule in RULES.items() if "maxLength" in rule}
NUMBERS = {  # minimum, maximum, onOutOfRange, coerce (a numeric string is a number), required
    name: (rule["minimum"], rule["maximum"], rule["onOutOfRange"], rule["coerce"], rule["required"])
    for name, rule in RULES.items() if rule["type"] == "number"}
IMPUTE_MAX_AGE_MS = {name: rule["onMissing"]["maxAgeMs"] for name, rule in RULES.items()
                     if rule.get("onMissing", {}).get("impute") == "last_good"}


def session(name: str):
    """The job's SparkSession, with the Cassandra credentials of the checkout's .env (0600) given
    to the connector (Spark redacts them in its UI): read here, not handed down in environments."""
    from pyspark.sql import SparkSession
    from dq.stack import read_env
    secrets = read_env()
    builder = SparkSession.builder.appName(name).config("spark.sql.shuffle.partitions", "4")
    if "CASSANDRA_PASSWORD" in secrets:  # no .env before the first `make up`: a job run with --no-cassandra needs none
        builder = (builder.config("spark.cassandra.auth.username", secrets.get("CASSANDRA_USER", "dq"))
                   .config("spark.cassandra.auth.password", secrets["CASSANDRA_PASSWORD"]))
    return builder.getOrCreate()


_validators = {}  # per Python worker: one libdq engine per model file (None: the online detector)


def validator(model_path: str | None = None) -> dict:
    if model_path not in _validators:
        dq = bindings()
        contract = dq.Contract(CONTRACT)
        model = dq.Model(model_path) if model_path else None
        _validators[model_path] = {"engine": dq.Engine(contract, model=model),
                                   "threshold": model.threshold if model else dq.ONLINE_FLAG_SCORE,
                                   "version": f"{contract.id}:{contract.version}"}
    return _validators[model_path]


def judge(sensor: str, raws: list[bytes], saved: bytes | None, now_ms: int, model_path: str | None = None):
    """libdq's outcome for one sensor's events (in stream order) given its saved state.
    -> (BatchResult, the state to save or None when unchanged)"""
    res, changed = judge_many(raws, {sensor: saved} if saved else {}, now_ms, model_path)
    return res, changed.get(sensor)


def judge_many(raws: list[bytes], saved: dict[str, bytes], now_ms: int, model_path: str | None = None):
    """libdq's outcome for events of several sensors (each sensor's in stream order), given
    those sensors' saved states, in one libdq call.
    -> (BatchResult, {sensor: state to save} of the sensors whose state changed)"""
    engine = validator(model_path)["engine"]
    engine.clear_state()  # nothing but these sensors' saved states
    for sensor, state in saved.items():
        engine.restore_state(sensor, state)
    engine.set_now(now_ms)
    res = engine.evaluate(raws)
    return res, engine.state_changes()


# What judge_groups emits per event: the verdict with what every table and topic needs.
OUTPUT_SCHEMA = ("sensor STRING, verdict STRING, reasons ARRAY<STRING>, annotation STRING, event_ms LONG, "
                 "sensor_id STRING, temperature DOUBLE, humidity DOUBLE, pressure DOUBLE, battery DOUBLE, "
                 "location STRING, status STRING, anomaly BOOLEAN, anomaly_score DOUBLE, raw BINARY, "
                 "kafka_key BINARY, topic STRING, `partition` INT, `offset` LONG, "
                 "headers STRING")
# Kafka headers cross into Python as JSON text (values base64, to_json) and are read back
# with from_json after: a nested array of structs costs a Python object per header in
# pandas, both ways, and the jobs only pass headers through.
HEADERS_TYPE = "ARRAY<STRUCT<key: STRING, value: BINARY>>"
STATE_SCHEMA = "sensors ARRAY<STRING>, states ARRAY<BINARY>"  # a shard's sensors and their libdq states
FIELDS = ("sensor_id", "temperature", "humidity", "pressure", "battery", "location", "status")


def outcome_columns(res) -> dict:
    """Per-event columns of a libdq BatchResult: annotation and the clean event's fields."""
    cols = {"verdict": res.verdicts, "reasons": res.reasons, "annotation": [], "event_ms": res.event_time_ms,
            "anomaly": [], "anomaly_score": [], **{f: [] for f in FIELDS}}
    for clean, annotation in zip(res.clean, res.annotation):
        event = json.loads(clean) if clean is not None else {}
        dq = event.pop("dq", None)
        cols["annotation"].append(json.dumps(dq, separators=(",", ":")) if dq else annotation.decode())
        found = (dq or {}).get("anomaly") or {}
        cols["anomaly"].append(bool(found.get("flag")))
        cols["anomaly_score"].append(found.get("score"))
        for f in FIELDS:
            cols[f].append(event.get(f))
    return cols


def judged_frame(events, saved: dict[str, bytes], now_ms: int, model_path: str | None = None):
    """Events of some sensors (a pandas frame of Kafka rows with their `sensor`, each
    sensor's in offset order) through libdq, given those sensors' saved states
    -> (a frame in OUTPUT_SCHEMA, {sensor: state to save} of the sensors that changed)"""
    import pandas as pd
    raws = [bytes(v) if v is not None else b"" for v in events["value"]]
    res, changed = judge_many(raws, saved, now_ms, model_path)
    out = pd.DataFrame({"sensor": events["sensor"].to_numpy(), **outcome_columns(res), "raw": raws})
    for column in ("key", "topic", "partition", "offset", "headers"):
        out["kafka_key" if column == "key" else column] = events[column].to_numpy()
    out["event_ms"] = out["event_ms"].astype("Int64")
    return out, changed


def make_judge_groups(model_path: str | None = None):
    """The function for applyInPandasWithState: one shard's events of a micro-batch, in
    offset order, through libdq (scoring anomalies with model_path, else the online
    detector) with the states its sensors had after the previous micro-batches."""
    def judge_groups(key, frames, state):
        import pandas as pd
        events = pd.concat(list(frames)).sort_values(["partition", "offset"], kind="stable")
        saved = dict(zip(*state.get)) if state.exists else {}
        out, changed = judged_frame(events, saved, int(time.time() * 1000), model_path)
        if changed:
            saved.update(changed)
            state.update((list(saved), list(saved.values())))
        yield out
    return judge_groups


def kafka_arguments(ap) -> None:
    """The options of a job that reads or writes Kafka: where it is, as whom, and from when."""
    ap.add_argument("--brokers", default=KAFKA_BOOTSTRAP)
    ap.add_argument("--since", metavar="DURATION",
                    help="from a topic, the records written in the last DURATION (10m, 1h) instead of all of them "
                         "(a stream: where a new checkpoint starts)")
    ap.add_argument("--kafka-principal", default="validator", choices=KAFKA_PRINCIPALS,
                    help="the stack's Kafka principal the job logs in as (password from .env; docs/security.md)")


def kafka_options(brokers: str = KAFKA_BOOTSTRAP, principal: str = "validator") -> dict[str, str]:
    """Spark's Kafka source and sink options for the stack's Kafka: the brokers and the login
    of one of its principals."""
    return {"kafka.bootstrap.servers": brokers, **{f"kafka.{k}": v for k, v in kafka_java_login(principal).items()}}


def judge_stream(spark, kafka: dict[str, str], topic: str, max_offsets: int, model_path: str | None = None,
                 since: str | None = None, judge_groups=None):
    """libdq's verdicts on a Kafka topic (kafka: kafka_options()) as a stream (from where
    starting_at(since) says, at most max_offsets events per micro-batch): rows in
    OUTPUT_SCHEMA, each sensor's libdq state kept by Spark between micro-batches
    (make_judge_groups, per shard). judge_groups: another function in its place (the
    benchmark's transport floor passes one that does nothing)."""
    from pyspark.sql import functions as F
    from pyspark.sql.streaming.state import GroupStateTimeout
    return (kafka_stream(spark, kafka, topic, max_offsets, since)
            .selectExpr(f"{SENSOR_KEY_SQL} AS sensor", "key", "value", "topic", "partition", "offset",
                        "to_json(headers) AS headers")
            .withColumn("shard", F.expr(SHARD_SQL)).groupBy("shard")
            .applyInPandasWithState(judge_groups or make_judge_groups(model_path), OUTPUT_SCHEMA, STATE_SCHEMA,
                                    "append", GroupStateTimeout.NoTimeout)
            .withColumn("headers", F.from_json("headers", HEADERS_TYPE)))


def kafka_stream(spark, kafka: dict[str, str], topic: str, max_offsets: int, since: str | None = None):
    """A Kafka topic as a stream of its records, headers included, from where starting_at(since)
    says, at most max_offsets a micro-batch."""
    return (spark.readStream.format("kafka").options(**kafka).options(**starting_at(since))
            .option("subscribe", topic).option("includeHeaders", "true")
            .option("maxOffsetsPerTrigger", max_offsets).load())


def starting_at(since: str | None) -> dict[str, str]:
    """Where a read of a topic starts: its earliest offset, or with since (a duration such as
    10m) the first record written in that last stretch (a live topic holds hours). A stream
    that resumes from its checkpoint goes on where it stopped instead."""
    if since:
        return {"startingTimestamp": str(bindings().since_ms(since)), "startingOffsetsByTimestampStrategy": "latest"}
    return {"startingOffsets": "earliest"}


def write_cassandra(df, table: str) -> None:
    """Appends a DataFrame to a table of iot_data through the connector (an upsert per row)."""
    df.write.format("org.apache.spark.sql.cassandra").options(keyspace="iot_data", table=table) \
        .mode("append").save()


def judge_all(events, now_ms: int | None = None, model_path: str | None = None):
    """libdq's verdicts on a bounded DataFrame of Kafka-shaped rows (read_events): each
    sensor's events of a topic (or file) in offset order through one engine from an empty
    state, which is what `dq check` gives for the same events. now_ms: 'now' of the
    future-timestamp rule (default: the clock)."""
    from pyspark.sql import functions as F
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)

    def judge_shard(_key, events):
        return judged_frame(events.sort_values(["partition", "offset"], kind="stable"), {}, now_ms, model_path)[0]
    return (events.selectExpr(f"{SENSOR_KEY_SQL} AS sensor", "key", "value", "topic", "partition", "offset",
                              "to_json(headers) AS headers")
            .withColumn("shard", F.expr(SHARD_SQL)).groupBy("topic", "shard")
            .applyInPandas(judge_shard, OUTPUT_SCHEMA)
            .withColumn("headers", F.from_json("headers", HEADERS_TYPE)))


KAFKA_COLUMNS = "key BINARY, value BINARY, topic STRING, `partition` INT, `offset` LONG"


def read_events(spark, source: str, brokers: str = KAFKA_BOOTSTRAP, principal: str = "validator",
                since: str | None = None):
    """Events as Kafka-shaped rows (key, value, topic, partition, offset, headers): what a
    Kafka topic holds now from starting_at(since) (read as principal, by default the
    validator: the login is needed for a topic only, so a file is read without `make up`'s
    .env), or the lines of an NDJSON file (or of every file
    in a directory) as bytes, split at '\\n' only as `dq check` splits them (offset = line
    number - 1, topic = the file's path), so bytes that are not UTF-8 reach libdq unchanged.
    A file is read by one task: fine for the course's files, not for terabytes."""
    path = Path(source)
    if not path.exists():
        return (spark.read.format("kafka").options(**kafka_options(brokers, principal)).options(**starting_at(since))
                .option("subscribe", source).option("endingOffsets", "latest").option("includeHeaders", "true").load()
                .select("key", "value", "topic", "partition", "offset", "headers"))

    def lines(file):
        name, data = file
        rows = bytes(data).split(b"\n")
        if rows and rows[-1] == b"":  # the newline that ends the last line
            rows.pop()
        return [(None, line, name.removeprefix("file:"), 0, i) for i, line in enumerate(rows)]
    return kafka_shaped(spark, spark.sparkContext.binaryFiles(str(path.resolve())).flatMap(lines))


def kafka_shaped(spark, rows):
    """A DataFrame with read_events' columns from (key, value, topic, partition, offset) rows
    (a list or an RDD); no headers."""
    from pyspark.sql import functions as F
    return spark.createDataFrame(rows, KAFKA_COLUMNS).withColumn(
        "headers", F.lit(None).cast(HEADERS_TYPE))


def event_time():
    """The time to window a judged event by: its own when libdq found a usable one (not in
    the future), else null (such events are counted in totals, not in windows)."""
    from pyspark.sql import functions as F
    return F.when(~F.array_contains("reasons", "FUTURE_TIMESTAMP"), F.timestamp_millis("event_ms"))


# Spark's own reading of an event, for the jobs that state the contract's rules in Spark terms.
# Fields are read as strings (from_json gives a number's text), so a numeric string and a
# number read alike, as the contract's `coerce: true` wants.
FIELDS_AS_TEXT = ", ".join(f"{f} STRING" for f in ("sensor_id", "timestamp", *FIELDS[1:]))


def parse_fields(events):
    """events (read_events' columns) plus `raw` (the event as text), `is_object` (Spark's
    JSON reader sees an object: it is more lenient than libdq, single quotes pass) and every
    contract field as text (null when absent or null)."""
    from pyspark.sql import functions as F
    return (events.withColumn("raw", F.col("value").cast("string"))
            .withColumn("is_object", F.from_json("raw", "MAP<STRING, STRING>").isNotNull())
            .withColumn("e", F.from_json("raw", FIELDS_AS_TEXT)).select("*", "e.*").drop("e"))


def finite_number(field: str):
    """The field as a double when it is a finite number (or a string of one), else null.
    Spark orders NaN above everything, so `abs(x) < inf` keeps only finite values."""
    from pyspark.sql import functions as F
    x = F.expr(f"try_cast({field} AS DOUBLE)")
    return F.when(F.abs(x) < float("inf"), x)


def is_text(field: str):
    """The event has the field as a JSON string (from_json reads "sensor_id": 17 as "17")."""
    from pyspark.sql import functions as F
    return F.col(field).isNotNull() & F.col("raw").rlike(f'"{field}"\\s*:\\s*"')


def field_checks():
    """The contract's field rules as Spark column expressions over parse_fields' columns:
    (field, libdq reason code, condition, libdq's action). WRONG_TYPE is the kind libdq
    rejects: a numeric string is a number where the field coerces (libdq FIXES it)."""
    from pyspark.sql import functions as F

    def present(field):
        return F.col(field).isNotNull()

    def number(field, low, high, out, coerce, required):
        not_number = present(field) & (finite_number(field).isNull() | (is_text(field) if not coerce else F.lit(False)))
        return ([(field, "MISSING_FIELD", ~present(field), "impute")] if required else []) + [
            (field, "WRONG_TYPE", not_number, "reject"),
            (field, "OUT_OF_RANGE", ~not_number & ~finite_number(field).between(low, high), out)]

    def text(field):
        return present(field) & ~is_text(field)
    return [("sensor_id", "MISSING_FIELD", ~present("sensor_id"), "reject"),
            ("sensor_id", "WRONG_TYPE", text("sensor_id"), "reject"),
            ("sensor_id", "PATTERN_MISMATCH", is_text("sensor_id") & ~F.col("sensor_id").rlike(java_pattern()),
             "reject"),
            ("sensor_id", "TOO_LONG", is_text("sensor_id") & (F.length("sensor_id") > MAX_TEXT["sensor_id"]), "reject"),
            ("timestamp", "MISSING_FIELD", ~present("timestamp"), "reject"),
            *[check for field, rule in NUMBERS.items() for check in number(field, *rule)],
            ("location", "WRONG_TYPE", text("location"), "reject"),
            ("location", "TOO_LONG", is_text("location") & (F.length("location") > MAX_TEXT["location"]), "reject"),
            ("status", "WRONG_TYPE", text("status"), "reject"),
            ("status", "NOT_IN_ENUM", is_text("status") & ~F.col("status").isin(*STATUS_VALUES), "reject")]


def java_pattern() -> str:
    """SENSOR_ID_PATTERN for Java's regex engine: there `$` also matches before a final
    newline ("sensor_1\\n"); `\\z` only at the very end, as in libdq."""
    return SENSOR_ID_PATTERN.removesuffix("$") + "\\z"
