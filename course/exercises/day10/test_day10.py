"""Day 10: Cassandra data modelling (course/week2.md). Exercises 1 and 2 read the schema;
exercise 3 creates your table on the stack's Cassandra (make up), in a keyspace of its own."""
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


@pytest.mark.stack
def test_3_a_table_for_the_anomalies_of_an_hour(answer):
    from dq.stack import cassandra_session
    cql = chosen("day10/ex3_table.cql").read_text().strip().rstrip(";")
    cluster, session = cassandra_session(keyspace=None)
    try:
        session.execute("DROP KEYSPACE IF EXISTS course_day10")
        session.execute("CREATE KEYSPACE course_day10 WITH replication = {'class': 'SimpleStrategy', "
                        "'replication_factor': 1}")
        session.set_keyspace("course_day10")
        session.execute(cql)
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
    finally:
        session.execute("DROP KEYSPACE IF EXISTS course_day10")
        cluster.shutdown()
    assert answer("day10", "serves") == "b"
