"""Spark: a PySpark job on the standalone cluster reads Kafka and writes Cassandra."""
import datetime as dt
import json
import uuid

from conftest import ROOT, produce, run, venv
from dq.stack import cassandra_session

SPARK_HOME = venv("spark") / "lib" / "python3.11" / "site-packages" / "pyspark"


def test_pyspark_job_reads_kafka_writes_cassandra(topic, secrets, tmp_path):
    sensor = f"sensor_{uuid.uuid4().int % 10**9}"
    start = dt.datetime(2026, 11, 26, 0, 0, tzinfo=dt.timezone.utc)
    events = [json.dumps({"sensor_id": sensor, "timestamp": (start + dt.timedelta(seconds=10 * i)).isoformat(),
                          "temperature": 20 + i / 100, "humidity": 40.0}).encode() for i in range(500)]
    produce(topic, events)
    # The stack's Spark configuration plus the Cassandra login, in a private file: a password on
    # spark-submit's command line would be in every local user's `ps`.
    conf = tmp_path / "spark-defaults.conf"
    conf.touch(mode=0o600)
    conf.write_text((ROOT / ".stack/conf/spark/spark-defaults.conf").read_text()
                    + f"spark.cassandra.auth.username {secrets['CASSANDRA_USER']}\n"
                    + f"spark.cassandra.auth.password {secrets['CASSANDRA_PASSWORD']}\n")
    env = {"SPARK_CONF_DIR": str(tmp_path), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": str(venv("spark") / "bin/python")}
    proc = run([SPARK_HOME / "bin" / "spark-submit", "--master", "spark://127.0.0.1:7077",
                ROOT / "tests/integration/jobs/spark_kafka_to_cassandra_smoke.py", topic], env=env)
    assert "RESULT 500" in proc.stdout
    cluster, session = cassandra_session(secrets=secrets)
    rows = list(session.execute("SELECT ts, temperature, processed_by FROM sensor_data WHERE sensor_id = %s AND day = %s",
                                (sensor, start.date())))
    assert len(rows) == 500 and {r.processed_by for r in rows} == {"spark"}
    assert max(r.temperature for r in rows) == 20 + 499 / 100
    session.execute("DELETE FROM sensor_data WHERE sensor_id = %s AND day = %s", (sensor, start.date()))
    cluster.shutdown()
