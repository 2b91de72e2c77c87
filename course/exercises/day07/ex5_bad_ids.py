"""Day 7, exercise 5: the contract's sensor id pattern as a Spark-native check.

bad_ids(events) gets the day-6 file as Spark's JSON reader gives it and returns how many events
have a sensor_id (not null) that does not match the contract's pattern ^sensor_[0-9]+$
(F.col(...).rlike(pattern): Java's regular expressions, true where the pattern is FOUND in
the text). Replace the placeholder. `make exercise DAY=7` runs it:
    ex5_bad_ids.py EVENTS.ndjson  ->  prints the count
"""
import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

PATTERN = "^sensor_[0-9]+$"  # contracts/sensor_readings.yaml, sensor_id's logicalTypeOptions


def bad_ids(events: DataFrame) -> int:
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    print(bad_ids(spark.read.json(sys.argv[1])))
