"""Cassandra: authenticated write and read back; bad and default credentials refused."""
import datetime as dt
import uuid

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable


def connect(user, password):
    cluster = Cluster(["127.0.0.1"], port=9042, auth_provider=PlainTextAuthProvider(user, password),
                      protocol_version=5, connect_timeout=10)
    return cluster, cluster.connect("iot_data")


def test_write_read_round_trip(secrets):
    cluster, session = connect(secrets["CASSANDRA_USER"], secrets["CASSANDRA_PASSWORD"])
    sensor = f"sensor_{uuid.uuid4().int % 10**9}"
    ts = dt.datetime(2026, 11, 26, 4, 13, 0, 250000, tzinfo=dt.timezone.utc)
    session.execute("INSERT INTO sensor_data (sensor_id, day, ts, temperature, humidity, dq_status, dq_reasons,"
                    " processed_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (sensor, ts.date(), ts, 21.5, 40.25, "FIXED", {"WRONG_TYPE"}, "test"))
    row = session.execute("SELECT * FROM sensor_data WHERE sensor_id = %s AND day = %s", (sensor, ts.date())).one()
    assert (row.temperature, row.humidity, row.dq_status, row.dq_reasons) == (21.5, 40.25, "FIXED", {"WRONG_TYPE"})
    assert row.ts.replace(tzinfo=dt.timezone.utc) == ts
    session.execute("DELETE FROM sensor_data WHERE sensor_id = %s AND day = %s", (sensor, ts.date()))
    cluster.shutdown()


def test_schema_has_every_table(secrets):
    cluster, session = connect(secrets["CASSANDRA_USER"], secrets["CASSANDRA_PASSWORD"])
    tables = {r.table_name for r in session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'iot_data'")}
    assert {"sensor_data", "sensor_quality_metrics", "sensor_rejects", "sensor_anomalies"} <= tables
    cluster.shutdown()


@pytest.mark.parametrize("user,password", [("dq", "wrong-password"), ("cassandra", "cassandra")])
def test_bad_credentials_are_refused(user, password):
    with pytest.raises(NoHostAvailable, match="(?i)auth|credentials|password|login"):
        connect(user, password)
