"""A PySpark job for the stack test: reads a Kafka topic (batch) on the standalone
cluster and writes the readings to Cassandra through the spark-cassandra-connector.

usage: spark-submit spark_kafka_to_cassandra_smoke.py TOPIC
Credentials come from spark.cassandra.auth.* (the caller's spark-defaults.conf, 0600).
"""
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType, TimestampType

from dq.stack import KAFKA_BOOTSTRAP, kafka_java_login

SCHEMA = StructType([StructField("sensor_id", StringType()), StructField("timestamp", TimestampType()),
                     StructField("temperature", DoubleType()), StructField("humidity", DoubleType())])


def main(topic: str) -> None:
    spark = SparkSession.builder.appName("stack smoke test: kafka -> spark -> cassandra").getOrCreate()
    login = {f"kafka.{k}": v for k, v in kafka_java_login("reader").items()}
    raw = (spark.read.format("kafka").option("kafka.bootstrap.servers", KAFKA_BOOTSTRAP).options(**login)
           .option("subscribe", topic).option("startingOffsets", "earliest").option("endingOffsets", "latest").load())
    rows = (raw.select(F.from_json(F.col("value").cast("string"), SCHEMA).alias("e")).select("e.*")
            .withColumnRenamed("timestamp", "ts").withColumn("day", F.to_date("ts"))
            .withColumn("processed_by", F.lit("spark")))
    rows.write.format("org.apache.spark.sql.cassandra").options(keyspace="iot_data", table="sensor_data") \
        .mode("append").save()
    print(f"RESULT {rows.count()}")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
