"""The Spark jobs' logic on in-memory DataFrames, in a local Spark (the spark venv runs these:
`make test-spark`); the cluster, Kafka and Cassandra are the integration tests' business."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "spark_jobs"), str(ROOT / "tests" / "lib")]
DQ = ROOT / "build" / "dq"


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers need this venv's pandas and pyarrow
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["DQ_ROOT"] = str(ROOT)  # where the --py-files copy of dq_spark finds libdq (as spark-submit.sh sets)
    spark = (SparkSession.builder.master("local[2]").appName("dq tests")
             .config("spark.sql.shuffle.partitions", "2").config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.addPyFile(str(ROOT / "spark_jobs" / "dq_spark.py"))  # as spark-submit --py-files
    yield spark
    spark.stop()


def kafka_rows(spark, events_by_topic: dict):
    """Kafka-shaped rows (read_events' columns): each topic's events at offsets 0, 1, ..."""
    import dq_spark
    return dq_spark.kafka_shaped(spark, [(None, raw, topic, 0, offset) for topic, raws in events_by_topic.items()
                                         for offset, raw in enumerate(raws)])
