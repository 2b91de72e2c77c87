"""Runs one SQL query in a local Spark over tables given as JSON lines, as spark_analysis.py
runs analysis/*.sql over the Cassandra tables; prints the result as JSON lines. The checks of
day 13 run it in the spark venv (checks.spark_python):

    spark_sql.py QUERY.sql AS_OF TABLE=FILE.ndjson=SCHEMA ...

SCHEMA is Spark's DDL ("sensor_id STRING, ts TIMESTAMP, humidity DOUBLE"); timestamps are
ISO-8601 text in UTC. ${dq.as_of} in the query is AS_OF ('YYYY-MM-DD HH:MM:SS')."""
import json
import sys
from pathlib import Path

from pyspark.sql import SparkSession

import spark_analysis

if __name__ == "__main__":
    query, as_of, tables = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").config("spark.sql.shuffle.partitions", "2").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    for table in tables:
        name, path, schema = table.split("=", 2)
        spark.read.schema(schema).json(path).createOrReplaceTempView(name)
    for row in spark_analysis.run(spark, query, as_of).collect():
        print(json.dumps(row.asDict(recursive=True), default=str))
