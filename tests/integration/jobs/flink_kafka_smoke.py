"""A PyFlink job for the stack test: reads a bounded Kafka topic on the cluster, keys the
readings by sensor, counts them per sensor and prints one JSON summary line.

usage: flink run -py flink_kafka_smoke.py --jarfile <kafka connector> TOPIC
"""
import json
import sys

from pyflink.common import Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource

from dq.stack import FLINK_KAFKA_SECURITY, KAFKA_BOOTSTRAP, kafka_java_login


def main(topic: str) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    source = (KafkaSource.builder().set_bootstrap_servers(KAFKA_BOOTSTRAP)
              .set_properties(kafka_java_login("reader", FLINK_KAFKA_SECURITY)).set_topics(topic)
              .set_group_id(f"flink-smoke-{topic}").set_starting_offsets(KafkaOffsetsInitializer.earliest())
              .set_bounded(KafkaOffsetsInitializer.latest())
              .set_value_only_deserializer(SimpleStringSchema()).build())
    counts = (env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka: " + topic)
              .map(lambda s: (json.loads(s)["sensor_id"], 1), output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
              .key_by(lambda t: t[0])
              .reduce(lambda a, b: (a[0], a[1] + b[1])).name("count per sensor"))
    final = {}
    with counts.execute_and_collect("stack smoke test: kafka -> flink") as results:
        for sensor, n in results:
            final[sensor] = n
    print("RESULT " + json.dumps({"sensors": len(final), "events": sum(final.values())}))


if __name__ == "__main__":
    main(sys.argv[1])
