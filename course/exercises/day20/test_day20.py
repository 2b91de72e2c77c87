"""Day 20: failure drills and reconciliation (course/week4.md). The answers, with what they
rest on checked in the docs and the code."""
from checks import ROOT

DOCS = {name: (ROOT / "docs" / f"{name}.md").read_text() for name in ("cli", "spark")}
FLINK_JOB = (ROOT / "flink_jobs" / "flink_to_cassandra.py").read_text()


def test_1_the_gate_and_cassandra(answer):
    assert "cassandra" not in (ROOT / "cli" / "gate.c").read_text().lower()  # Kafka in, Kafka out
    assert answer("day20", "gate_and_cassandra") == "b"


def test_3_each_paths_guarantees(answer):
    assert "With `--exactly-once` each batch is one Kafka\ntransaction" in DOCS["cli"]
    assert "make a replayed write overwrite its own\n  row" in FLINK_JOB and "'exactly-once'" in FLINK_JOB
    assert "primary keys make a replayed batch overwrite its own rows" in DOCS["spark"]
    assert "delivery is at least once" in DOCS["spark"]
    got = {key: " ".join(answer("day20", key).replace("-", " ").split())
           for key in ("gate_outputs", "flink_cassandra", "flink_dlq", "spark_cassandra", "spark_dlq")}
    assert got == {"gate_outputs": "exactly once", "flink_cassandra": "idempotent", "flink_dlq": "exactly once",
                   "spark_cassandra": "idempotent", "spark_dlq": "at least once"}
