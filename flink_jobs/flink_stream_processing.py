"""Day 4: stream processing with PyFlink — Kafka in, JSON to rows, filter, enrich, Kafka out.

    sensor-topic --> parse JSON --> drop unusable --> enrich --> sensor-enriched (JSON)

* parse: each message becomes a dict, or is dropped when it is not a JSON object with a
  sensor id, a timestamp and a numeric temperature (data quality proper is libdq's job,
  in the gate and in flink_to_cassandra.py: this job shows the Flink building blocks);
* filter: invalid sensor ids (`sensor_invalid`, anything but `sensor_<n>`) are dropped;
* enrich: location, floor and model from a small reference table
  (config/sensor_metadata.csv, broadcast to every task as a plain dict: it is small), and
  derived fields: temperature in °F and the dew point (Magnus formula) when humidity is there.

The functions parse_reading, is_valid_sensor and enrich are plain Python, tested on
in-memory rows (tests/flink/test_flink_logic.py); main() only wires them into Flink.

usage (see `make flink-submit`):
  flink run --python flink_jobs/flink_stream_processing.py --jarfile <kafka connector> \\
      [--input sensor-topic] [--output sensor-enriched] [--bounded] [--since 10m] [--print]
"""
import csv
import json
import math
import re
from pathlib import Path

from dq_flink import job_arguments, kafka_properties, since_ms, string_kafka_sink

METADATA = Path(__file__).resolve().parents[1] / "config" / "sensor_metadata.csv"
SENSOR_ID = re.compile(r"sensor_[0-9]+")


def load_metadata(path: Path = METADATA) -> dict[str, dict]:
    """sensor_id -> {location, floor, model}."""
    with open(path, newline="") as f:
        return {row.pop("sensor_id"): row for row in csv.DictReader(f)}


def parse_reading(text: str) -> dict | None:
    """A reading as a dict, or None when it cannot be used at all."""
    try:
        event = json.loads(text)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    temperature = event.get("temperature")
    if not isinstance(event.get("sensor_id"), str) or not isinstance(event.get("timestamp"), str) \
            or isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        return None
    return event


def is_valid_sensor(reading: dict) -> bool:
    return SENSOR_ID.fullmatch(reading["sensor_id"]) is not None


def dew_point_c(temperature_c: float, humidity_pct: float) -> float | None:
    """Magnus formula (Alduchov and Eskridge coefficients); None outside 0 < RH <= 100."""
    if not 0 < humidity_pct <= 100:
        return None
    a, b = 17.625, 243.04
    gamma = math.log(humidity_pct / 100) + a * temperature_c / (b + temperature_c)
    return round(b * gamma / (a - gamma), 2)


def enrich(reading: dict, metadata: dict[str, dict]) -> dict:
    meta = metadata.get(reading["sensor_id"], {})
    out = dict(reading)
    out["location"] = meta.get("location", reading.get("location", "unknown"))
    out["floor"] = int(meta["floor"]) if "floor" in meta else None
    out["model"] = meta.get("model")
    out["temperature_f"] = round(reading["temperature"] * 9 / 5 + 32, 2)
    humidity = reading.get("humidity")
    if isinstance(humidity, (int, float)) and not isinstance(humidity, bool):
        out["dew_point_c"] = dew_point_c(reading["temperature"], humidity)
    return out


def main() -> None:
    ap = job_arguments(__doc__, group="flink-stream-processing")
    ap.add_argument("--output", default="sensor-enriched")
    ap.add_argument("--print", action="store_true", help="print the rows instead of writing Kafka")
    args = ap.parse_args()

    from pyflink.common import Types, WatermarkStrategy
    from pyflink.common.serialization import SimpleStringSchema
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource

    env = StreamExecutionEnvironment.get_execution_environment()
    kafka = kafka_properties(args)
    builder = (KafkaSource.builder().set_bootstrap_servers(args.brokers).set_properties(kafka).set_topics(args.input)
               .set_group_id(args.group)
               .set_starting_offsets(KafkaOffsetsInitializer.timestamp(since_ms(args)) if args.since
                                     else KafkaOffsetsInitializer.earliest())
               .set_value_only_deserializer(SimpleStringSchema()))
    if args.bounded:
        builder = builder.set_bounded(KafkaOffsetsInitializer.latest())
    metadata = load_metadata()  # captured by the enrich closure: shipped with the function

    rows = (env.from_source(builder.build(), WatermarkStrategy.no_watermarks(), f"kafka: {args.input}")
            .map(parse_reading, output_type=Types.PICKLED_BYTE_ARRAY()).name("parse JSON")
            .filter(lambda r: r is not None and is_valid_sensor(r)).name("drop unusable and invalid sensor ids")
            .map(lambda r: json.dumps(enrich(r, metadata), separators=(",", ":")), output_type=Types.STRING())
            .name("enrich: sensor metadata, °F, dew point"))
    if args.print:
        rows.print().name("print")
    else:
        rows.sink_to(string_kafka_sink(kafka, args.output)).name(f"kafka: {args.output}")
    env.execute(f"day 4: stream processing {args.input} -> {'print' if args.print else args.output}")


if __name__ == "__main__":
    main()
