"""Day 7, exercise 4: the contract's temperature range as a Spark-native check.

out_of_range(events) gets the day-6 file as Spark's JSON reader gives it and returns how many
events carry a temperature outside the contract's bounds (-40 to 60 °C). Look at the schema
first (events.printSchema()): some readings send the temperature as text ("21.5", "error"), so
the reader made the whole column a string. A number written as text counts as that number
(the contract coerces it); text that is no number is not out of range, it is the wrong type.
Replace the placeholder. `make exercise DAY=7` runs it:
    ex4_out_of_range.py EVENTS.ndjson  ->  prints the count
"""
import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: F401  (yours uses them)


def out_of_range(events: DataFrame) -> int:
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    print(out_of_range(spark.read.json(sys.argv[1])))
