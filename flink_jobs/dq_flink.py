"""What the course's PyFlink jobs share: libdq verdicts with Flink-kept state, the raw Kafka
source, and idempotent Cassandra writes.

Plain Python except make_validate(), which imports PyFlink when called, so the logic is
testable without Flink (tests/flink/test_flink_logic.py). Jobs ship this file to the
Python workers with env.add_python_file().
"""
import argparse
import datetime as dt
import json
import time
import zlib
from pathlib import Path

from dq.stack import (DEAD_LETTER_MAX_BYTES, FLINK_KAFKA_SECURITY, KAFKA_PRINCIPALS,  # noqa: F401  (jobs import them here)
                      CassandraWriter, dead_letter_headers, kafka_java_login, sensor_key)

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
UTC = dt.timezone.utc


def shard_of(raw: bytes, shards: int) -> int:
    """The shard of an event's sensor: every event of a sensor lands in the same one, so a
    shard's events, in order, carry each of its sensors' events in order."""
    return zlib.crc32(sensor_key(raw).encode()) % shards


class Validator:
    """libdq's verdict for one event of one key, with that key's state given and returned."""

    def __init__(self, contract_path=CONTRACT, model_path=None):
        import dq
        self.contract = dq.Contract(contract_path)
        self.model = dq.Model(model_path) if model_path else None  # else the contract's online detector
        self.engine = dq.Engine(self.contract, model=self.model)
        self.contract_version = f"{self.contract.id}:{self.contract.version}"
        self.model_name = Path(model_path).name if model_path else "online-z"
        self.threshold = self.model.threshold if self.model else dq.ONLINE_FLAG_SCORE

    def anomaly_row(self, clean: bytes | None, event_time_ms: int, processed_by: str) -> dict | None:
        """A sensor_anomalies row when libdq flagged the clean event (its "dq"."anomaly"
        member), else None. The score is the model's, or the online detector's (0.5 at its flag)."""
        return self._anomaly_of(json.loads(clean) if clean else {}, event_time_ms, processed_by)

    def _anomaly_of(self, event: dict, event_time_ms: int, processed_by: str) -> dict | None:
        found = event.get("dq", {}).get("anomaly")
        if not found or not found["flag"]:
            return None
        ts = _time(event_time_ms)
        return {"sensor_id": event["sensor_id"], "day": ts.date(), "ts": ts, "model": self.model_name,
                "score": found["score"], "threshold": self.threshold,
                "temperature": event.get("temperature"), "humidity": event.get("humidity"),
                "model_version": self.model_name, "processed_by": processed_by}

    def cassandra_rows(self, v: dict, topic: str, today: dt.date) -> list[tuple[str, dict]]:
        """[(table, row)] of a validated event (make_validate, judge): its sensor_rejects row,
        or its sensor_data row and, when flagged, its sensor_anomalies row."""
        if v["verdict"] == "REJECT":
            return [("sensor_rejects", reject_row(v, topic, today))]
        event = json.loads(v["clean"])
        rows = [("sensor_data", event_row(event, v["contract_version"], v["event_ms"]))]
        anomaly = self._anomaly_of(event, v["event_ms"], "flink")
        return rows + [("sensor_anomalies", anomaly)] if anomaly else rows

    def validate(self, raw: bytes, saved: dict | None, now_ms: int) -> tuple[dict, dict | None]:
        """One event of one key, with that key's saved state given: -> (outcome as judge()
        gives it, the key's state to save or None when unchanged)."""
        for key, state in (saved or {}).items():
            self.engine.restore_state(key, state)
        outcomes, changed = self.judge([raw], now_ms)
        return outcomes[0], ({**(saved or {}), **changed} if changed else None)

    def judge(self, raws: list[bytes], now_ms: int) -> tuple[list[dict], dict[str, bytes]]:
        """libdq's outcomes for many events at once (one libdq call), with the state of their
        sensors already in the engine (restore_state) -> (an outcome per event, in order:
        verdict, reasons, clean (JSON bytes, or None on REJECT), annotation (JSON bytes on
        REJECT), event_ms (or None), contract_version; {sensor: state} of every sensor the
        call changed)."""
        self.engine.set_now(now_ms)
        res = self.engine.evaluate(raws)
        outcomes = [{"verdict": verdict, "reasons": reasons, "clean": clean, "annotation": annotation,
                     "event_ms": event_ms, "contract_version": self.contract_version}
                    for verdict, reasons, clean, annotation, event_ms
                    in zip(res.verdicts, res.reasons, res.clean, res.annotation, res.event_time_ms)]
        return outcomes, self.engine.state_changes()

    def restore_state(self, key: str, state: bytes) -> None:
        self.engine.restore_state(key, state)


def _time(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, UTC)


def clean_row(clean: bytes, contract_version: str, event_time_ms: int) -> dict:
    """A sensor_data row from libdq's clean event (canonical JSON with its dq annotation)."""
    return event_row(json.loads(clean), contract_version, event_time_ms)


def event_row(event: dict, contract_version: str, event_time_ms: int) -> dict:
    """The same from the clean event already parsed."""
    annotation = event["dq"]
    anomaly = annotation.get("anomaly") or {}
    ts = _time(event_time_ms)
    return {"sensor_id": event["sensor_id"], "day": ts.date(), "ts": ts,
            "temperature": event.get("temperature"), "humidity": event.get("humidity"),
            "pressure": event.get("pressure"), "battery": event.get("battery"),
            "location": event.get("location"), "status": event.get("status"),
            "dq_status": annotation["status"], "dq_reasons": set(annotation.get("reasons", [])) or None,
            "dq_findings": json.dumps(annotation, separators=(",", ":")),
            "anomaly_score": anomaly.get("score"), "is_anomaly": anomaly.get("flag"),
            "processed_by": "flink", "contract_version": contract_version, "ingested_at": dt.datetime.now(UTC)}


def reject_row(v: dict, topic: str, today: dt.date) -> dict:
    """A sensor_rejects row of a validated event (make_validate): the original bytes, why,
    and where they came from."""
    return {"day": today, "source_topic": topic, "source_partition": v["partition"], "source_offset": v["offset"],
            "sensor_id": sensor_key(v["raw"]) or None, "ts": _time(v["event_ms"]), "reasons": set(v["reasons"]),
            "dq_annotation": v["annotation"].decode(), "raw": v["raw"], "processed_by": "flink",
            "contract_version": v["contract_version"], "ingested_at": dt.datetime.now(UTC)}


def dlq_record(v: dict, topic: str) -> tuple:
    """The dead-letter record of a validated REJECT, as `dq gate` writes it (docs/cli.md):
    the original key, bytes, timestamp and headers, plus the dq.* headers.
    -> (key, value, headers, Kafka timestamp ms)"""
    headers = dead_letter_headers(v["headers"], v["reasons"], v["annotation"], topic, v["partition"], v["offset"],
                                  v["contract_version"])
    return v["key"], v["raw"], headers, v["kafka_ms"]


WINDOW_MS = 3_600_000  # the hourly quality windows of sensor_quality_metrics
OUT_OF_ORDER_MS = 3 * 60_000  # late readings (minutes late) still land in their window


def event_time(v: dict) -> int | None:
    """The event time to window a validated event by, or None when it has no usable one."""
    if v["event_ms"] is None or "FUTURE_TIMESTAMP" in v["reasons"]:
        return None
    return v["event_ms"]


def window_add(acc: dict | None, verdict: str, reasons: list[str]) -> dict:
    """Adds one event to a window's counts."""
    acc = acc or {"events": 0, "PASS": 0, "FIXED": 0, "REJECT": 0, "missing": 0, "reasons": {}}
    acc["events"] += 1
    acc[verdict] += 1
    acc["missing"] += "MISSING_FIELD" in reasons
    for r in reasons:
        acc["reasons"][r] = acc["reasons"].get(r, 0) + 1
    return acc


def window_merge(a: dict, b: dict) -> dict:
    out = {k: a[k] + b[k] for k in ("events", "PASS", "FIXED", "REJECT", "missing")}
    out["reasons"] = {r: a["reasons"].get(r, 0) + b["reasons"].get(r, 0) for r in a["reasons"].keys() | b["reasons"]}
    return out


def metrics_row(sensor: str, start_ms: int, acc: dict) -> dict:
    """A sensor_quality_metrics row: completeness = share with every required field,
    validity = share not rejected."""
    start = dt.datetime.fromtimestamp(start_ms / 1000, UTC)
    return {"sensor_id": sensor, "date_hour": start.replace(minute=0, second=0, microsecond=0),
            "window_start": start, "window_seconds": WINDOW_MS // 1000, "events": acc["events"],
            "pass": acc["PASS"], "fixed": acc["FIXED"], "reject": acc["REJECT"],
            "completeness": 1 - acc["missing"] / acc["events"], "validity": 1 - acc["REJECT"] / acc["events"],
            "reasons": acc["reasons"] or None, "processed_by": "flink"}


def add_to_windows(windows: dict[str, dict], judged) -> set[tuple[str, int]]:
    """Adds validated events, as (sensor, outcome), to their sensors' open hourly windows
    ({sensor: {start_ms: counts}}, changed in place); drops a sensor's windows that ended
    more than OUT_OF_ORDER_MS before its newest event. -> the (sensor, start_ms) touched."""
    touched = set()
    for sensor, v in judged:
        at = event_time(v)
        if at is None:
            continue
        start = at - at % WINDOW_MS
        mine = windows.setdefault(sensor, {})
        mine[start] = window_add(mine.get(start), v["verdict"], v["reasons"])
        touched.add((sensor, start))
        for old in [s for s in mine if s + WINDOW_MS + OUT_OF_ORDER_MS < at]:
            del mine[old]
    return {(sensor, start) for sensor, start in touched if start in windows[sensor]}


def job_arguments(doc: str, group: str) -> argparse.ArgumentParser:
    """The options every job takes: where Kafka is and as whom, what to read, as which group,
    bounded or not."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--brokers", default="127.0.0.1:9092")
    ap.add_argument("--kafka-principal", default="validator", choices=KAFKA_PRINCIPALS,
                    help="the stack's Kafka principal the job logs in as (password from .env; docs/security.md)")
    ap.add_argument("--input", default="sensor-topic")
    ap.add_argument("--group", default=group, help="the job's Kafka consumer group")
    ap.add_argument("--bounded", action="store_true", help="read the input to its current end, then finish")
    ap.add_argument("--since", metavar="DURATION",
                    help="start at the records written in the last DURATION (10m, 1h) instead of the group's "
                         "offsets (or the topic's start): a live topic holds hours of readings")
    return ap


def since_ms(args) -> int | None:
    """The epoch ms of the job's --since (None without it), with libdq's duration parser."""
    import dq
    return dq.since_ms(args.since)


def kafka_properties(args) -> dict[str, str]:
    """What every Kafka source and sink of a job is given: the brokers and the login of the
    job's principal."""
    return {"bootstrap.servers": args.brokers, **kafka_java_login(args.kafka_principal, FLINK_KAFKA_SECURITY)}


def sql_properties(kafka: dict[str, str]) -> str:
    """kafka_properties() as the options of a Flink SQL Kafka table."""
    return ", ".join(f"'properties.{k}' = '{v}'" for k, v in kafka.items())


def string_kafka_sink(kafka: dict[str, str], topic: str):
    """A DataStream sink of strings into a Kafka topic, with kafka_properties()."""
    from pyflink.common.serialization import SimpleStringSchema
    from pyflink.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink
    builder = KafkaSink.builder().set_bootstrap_servers(kafka["bootstrap.servers"])
    for key, value in kafka.items():
        builder = builder.set_property(key, value)
    return builder.set_record_serializer(KafkaRecordSerializationSchema.builder().set_topic(topic)
                                         .set_value_serialization_schema(SimpleStringSchema()).build()).build()


def raw_kafka_table(t_env, name: str, topic: str, kafka: dict[str, str], group: str, bounded: bool,
                    out_of_order_ms: int | None = None, since_ms: int | None = None) -> None:  # whole minutes
    """A Kafka topic as a Flink SQL table of exact bytes with partition, offset and timestamp
    (the `raw` format: also invalid UTF-8 arrives as it was sent).

    With out_of_order_ms the table also has an event-time column with watermarks made per
    Kafka partition in the source (a backfill reads partitions unevenly: a watermark made
    after they merge runs ahead of the slower ones). Its value is the reading's "timestamp"
    member when it is ISO-8601 UTC with milliseconds and at most 5 minutes ahead of the
    record's Kafka timestamp; otherwise the epoch, which holds no watermark back and lands
    in no window that is still open. With since_ms the source starts at the records written
    from then on instead of the group's offsets."""
    columns = ["payload BYTES", "kafka_key BYTES", "`partition` INT METADATA VIRTUAL",
               "`offset` BIGINT METADATA VIRTUAL", "`timestamp` TIMESTAMP_LTZ(3) METADATA VIRTUAL",
               "headers MAP<STRING, BYTES> METADATA VIRTUAL"]
    if out_of_order_ms is not None:
        parsed = ("TO_TIMESTAMP(JSON_VALUE(CAST(payload AS STRING), '$.timestamp'), "
                  "'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')")
        columns += [f"event_time AS CASE WHEN {parsed} <= CAST(`timestamp` AS TIMESTAMP(3)) + INTERVAL '5' MINUTE "
                    f"THEN {parsed} ELSE TIMESTAMP '1970-01-01 00:00:00.000' END",
                    f"WATERMARK FOR event_time AS event_time - INTERVAL '{out_of_order_ms // 60_000}' MINUTE"]
    end = ", 'scan.bounded.mode' = 'latest-offset'" if bounded else ""
    start = (f"'scan.startup.mode' = 'timestamp', 'scan.startup.timestamp-millis' = '{since_ms}'" if since_ms
             else "'scan.startup.mode' = 'group-offsets', 'properties.auto.offset.reset' = 'earliest'")
    t_env.execute_sql(f"""
        CREATE TABLE {name} ({', '.join(columns)}) WITH (
            'connector' = 'kafka', 'topic' = '{topic}', 'format' = 'raw', 'key.format' = 'raw',
            'key.fields' = 'kafka_key', 'value.fields-include' = 'EXCEPT_KEY',
            {sql_properties(kafka)}, 'properties.group.id' = '{group}',
            {start}{end}
        )""")


def epoch_ms(instant) -> int | None:
    """A TIMESTAMP_LTZ value as epoch ms: a pyflink Instant in process mode, the
    java.time.Instant itself in thread mode."""
    if instant is None:
        return None
    return instant.to_epoch_milli() if hasattr(instant, "to_epoch_milli") else instant.toEpochMilli()


def make_validate(root: str, model_path: str | None = None):
    """The Flink operator that gives each event libdq's verdict. Keyed by sensor, it keeps the
    sensor's libdq state in a ValueState (checkpointed), and emits per event a dict: the
    outcome of Validator.validate plus anomaly (a sensor_anomalies row or None), raw, key,
    headers, partition, offset and kafka_ms (the record's, from raw_kafka_table)."""
    from pyflink.common import Types
    from pyflink.datastream import KeyedProcessFunction
    from pyflink.datastream.state import ValueStateDescriptor

    class Validate(KeyedProcessFunction):
        def open(self, ctx):
            self.validator = Validator(Path(root) / "contracts" / "sensor_readings.yaml", model_path)
            self.state = ctx.get_state(ValueStateDescriptor("libdq state", Types.PICKLED_BYTE_ARRAY()))

        def process_element(self, row, ctx):
            raw = bytes(row.payload or b"")
            outcome, new_state = self.validator.validate(raw, self.state.value(), int(time.time() * 1000))
            if new_state is not None:
                self.state.update(new_state)
            outcome["anomaly"] = self.validator.anomaly_row(outcome["clean"], outcome["event_ms"], "flink")
            yield {**outcome, "raw": raw, "key": row.kafka_key, "headers": dict(row.headers or {}),
                   "partition": row.partition, "offset": row.offset, "kafka_ms": epoch_ms(row.timestamp)}
    return Validate()
