"""Day 10: Cassandra data modelling (course/week2.md). Exercises 1 and 2 read the schema;
exercises 3 to 5 create your tables on the stack's Cassandra (make up), in keyspaces of their own."""
import contextlib
import datetime as dt
import re

import pytest

from checks import ROOT, chosen

SCHEMA = (ROOT / "config" / "cassandra_schema.cql").read_text()


def table(name: str) -> tuple[list[str], list[str]]:
    """(columns, primary key columns, partition key first) of a table of the schema."""
    body = re.search(rf"CREATE TABLE IF NOT EXISTS iot_data\.{name} \((.*?)\n\)", SCHEMA, re.S).group(1)
    columns = re.findall(r"^\s+(\w+) [a-z<>, ]+,", body, re.M)
    key = re.search(r"PRIMARY KEY \((.*)\)", body).group(1)
    return columns, re.findall(r"\w+", key)


def test_1_rows_of_a_partition_and_why_day(answer):
    _, key = table("sensor_data")
    assert key[:2] == ["sensor_id", "day"], key  # the partition: one sensor's day
    assert int(answer("day10", "rows_per_partition")) == 86_400 // 10
    assert answer("day10", "why_day") == "b"


def test_2_a_replayed_write_is_the_same_row(answer):
    columns, key = table("sensor_data")
    assert key == ["sensor_id", "day", "ts"], key  # the reading's own identity
    assert answer("day10", "why_no_duplicate") == "b"
    breaking = answer("day10", "breaking_column")
    assert breaking in columns and breaking not in key, (breaking, columns)
    assert breaking in {"ingested_at", "processed_by"}, f"{breaking} is the same in every write of a reading"


@contextlib.contextmanager
def own_keyspace(name: str, table: str | None = None, cql: str | None = None):
    """A session on the stack's Cassandra in a fresh keyspace holding your table (the CQL of the
    exercise file table, or cql), dropped afterwards."""
    from dq.stack import cassandra_session
    cql = cql or chosen(table).read_text().strip().rstrip(";")
    cluster, session = cassandra_session(keyspace=None)
    try:
        session.execute(f"DROP KEYSPACE IF EXISTS {name}")
        session.execute(f"CREATE KEYSPACE {name} WITH replication = {{'class': 'SimpleStrategy', "
                        "'replication_factor': 1}")
        session.set_keyspace(name)
        session.execute(cql)
        yield session
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {name}")
        cluster.shutdown()


@pytest.mark.stack
def test_3_a_table_for_the_anomalies_of_an_hour(answer):
    with own_keyspace("course_day10", "day10/ex3_table.cql") as session:
        insert = session.prepare("INSERT INTO anomalies_by_hour (hour, sensor_id, ts, score) VALUES (?, ?, ?, ?)")
        ten = dt.datetime(2026, 11, 26, 10, 0)
        written = []
        for i, score in enumerate([0.71, 0.93, 0.55, 0.93, 0.80, 0.62]):  # two alike: both must stay
            row = (f"sensor_{i}", ten + dt.timedelta(minutes=7 * i), score)
            session.execute(insert, (ten, *row))
            written.append(row)
        session.execute(insert, (ten + dt.timedelta(hours=1), "sensor_9", ten + dt.timedelta(minutes=70), 0.99))
        got = [(r.sensor_id, r.ts, r.score) for r in
               session.execute("SELECT sensor_id, ts, score FROM anomalies_by_hour WHERE hour = %s", (ten,))]
        assert sorted(got) == sorted(written), got  # every anomaly of the hour, and only those
        assert [s for _, _, s in got] == sorted((s for _, _, s in written), reverse=True), got
    assert answer("day10", "serves") == "b"


@pytest.mark.stack
def test_4_a_table_for_a_fast_sensor(answer):
    from cassandra.concurrent import execute_concurrent_with_args
    with own_keyspace("course_day10_fast", "day10/ex4_fast_sensor.cql") as session:
        kinds = {row.column_name: row.kind for row in session.execute(
            "SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = 'course_day10_fast' "
            "AND table_name = 'readings_10hz'")}
        partition = {name for name, kind in kinds.items() if kind == "partition_key"}
        # A partition of one sensor's hour at most: 36,000 rows at 10 Hz (a day's: 864,000).
        assert {"sensor_id", "hour"} <= partition and partition <= {"sensor_id", "hour"}, partition
        insert = session.prepare("INSERT INTO readings_10hz (sensor_id, hour, ts, temperature) VALUES (?, ?, ?, ?)")
        start = dt.datetime(2026, 11, 26, 10, 58)
        rows = [(f"sensor_{s}", (start + dt.timedelta(milliseconds=100 * i)).replace(minute=0, second=0, microsecond=0),
                 start + dt.timedelta(milliseconds=100 * i), 20.0 + s + i / 10_000) for s in (1, 2) for i in range(3000)]
        assert all(ok for ok, _ in execute_concurrent_with_args(session, insert, rows, concurrency=64))
        frm, to = dt.datetime(2026, 11, 26, 10, 59, 30), dt.datetime(2026, 11, 26, 11, 0)
        got = [(r.ts, r.temperature) for r in session.execute(
            "SELECT ts, temperature FROM readings_10hz WHERE sensor_id = %s AND hour = %s AND ts >= %s AND ts < %s",
            ("sensor_1", dt.datetime(2026, 11, 26, 10), frm, to))]
        want = [(ts, t) for s, _, ts, t in rows if s == "sensor_1" and frm <= ts < to]
        assert len(want) == 300 and got == want, (len(got), got[:3])  # every one of those 30 s, oldest first
    assert int(answer("day10", "rows_per_day_at_10hz")) == 10 * 86_400
    assert int(answer("day10", "rows_per_partition_of_yours")) == 10 * 3_600


@pytest.mark.stack
def test_5_a_time_to_live_for_the_rejects(answer):
    schema = re.search(r"CREATE TABLE IF NOT EXISTS iot_data\.(sensor_rejects \(.*?\n\))", SCHEMA, re.S).group(1)
    statement = "\n".join(line for line in chosen("day10/ex5_ttl.cql").read_text().splitlines()
                          if not line.startswith("--")).strip().rstrip(";")
    with own_keyspace("course_day10_ttl", cql=f"CREATE TABLE {schema}") as session:
        insert = session.prepare("INSERT INTO sensor_rejects (day, source_topic, source_partition, source_offset, raw) "
                                 "VALUES (?, 'sensor-topic', 0, ?, ?)")
        today = dt.date(2026, 11, 26)
        session.execute(insert, (today, 1, b"before"))
        session.execute(statement)
        session.execute(insert, (today, 2, b"after"))
        ttl = {r.source_offset: r.ttl for r in session.execute(
            "SELECT source_offset, TTL(raw) AS ttl FROM sensor_rejects WHERE day = %s", (today,))}
    print(f"  TTL(raw) of the reject written before your statement: {ttl[1]}, after: {ttl[2]}")
    thirty_days = 30 * 86_400
    assert ttl[2] is not None and thirty_days - 60 <= ttl[2] <= thirty_days, ttl
    assert answer("day10", "expires_old_rows") == ("no" if ttl[1] is None else "yes")


@pytest.mark.stack
def test_6_the_newest_readings_cheaply(answer):
    from cassandra import InvalidRequest
    from dq.stack import cassandra_session
    query = "\n".join(line for line in chosen("day10/ex6_latest.cql").read_text().splitlines()
                      if not line.startswith("--")).strip().rstrip(";")
    cluster, session = cassandra_session()
    try:
        today = dt.datetime.now(dt.timezone.utc).date()
        before = [r.ts for r in session.execute("SELECT ts FROM iot_data.sensor_data WHERE sensor_id = 'sensor_0' "
                                                 "AND day = %s", (today,))]
        rows = list(session.execute(session.prepare(query), ("sensor_0", today)))
        with pytest.raises(InvalidRequest, match="ALLOW FILTERING"):
            session.execute("SELECT * FROM iot_data.sensor_data WHERE temperature > 30")
    finally:
        cluster.shutdown()
    stamps = [r.ts for r in rows]
    print(f"  {len(before)} rows of sensor_0 today; yours {stamps[0]} .. {stamps[-1]}")
    assert len(before) >= 10 and len(rows) == 10 and {"temperature", "dq_status"} <= set(rows[0]._fields)
    assert stamps == sorted(stamps, reverse=True) and min(stamps) >= sorted(before, reverse=True)[9], stamps
    assert answer("day10", "needs_order_by") == "no" and answer("day10", "filter_on_temperature") == "b"
