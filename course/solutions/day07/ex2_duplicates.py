"""Day 7, exercise 2 (a solution): the contract's duplicate rule as a Spark-native check.

duplicates(events) gets the day-6 file as Spark's JSON reader gives it (columns sensor_id,
timestamp, ... as strings and numbers; lines that are not JSON objects have only
_corrupt_record) and returns how many events repeat the sensor and timestamp of an
earlier event of the file (the first of each pair is no duplicate). Use a window function:
Window.partitionBy(...).orderBy(...) and F.row_number(). The file's order is the column
`line` (added below). `make exercise DAY=7` runs it:
    ex2_duplicates.py EVENTS.ndjson  ->  prints the count
"""
import sys

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F


def duplicates(events: DataFrame) -> int:
    valid = events.where("sensor_id IS NOT NULL AND timestamp IS NOT NULL")
    order = Window.partitionBy("sensor_id", "timestamp").orderBy("line")
    return valid.withColumn("n", F.row_number().over(order)).where("n > 1").count()


if __name__ == "__main__":
    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    events = spark.read.json(sys.argv[1]).withColumn("line", F.monotonically_increasing_id())  # in file order
    print(duplicates(events))
