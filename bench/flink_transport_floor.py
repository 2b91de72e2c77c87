"""Bench only (make bench-flink): day 11's shape with nothing in it. The same Kafka source
table, the same Python key selector (shard of sensors) and a keyed Python function that
only counts: what Flink and Beam's transport to a Python worker cost per event, the
floor under any PyFlink job that keeps per-sensor state in Flink.

usage: flink run --python bench/flink_transport_floor.py --input TOPIC --group G --bounded
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flink_jobs"))
from dq_flink import ROOT, job_arguments, kafka_properties, raw_kafka_table, shard_of  # noqa: E402


def main() -> None:
    args = job_arguments(__doc__, group="flink-transport-floor").parse_args()
    from pyflink.common import Types
    from pyflink.datastream import KeyedProcessFunction, StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    class Count(KeyedProcessFunction):
        def open(self, ctx):
            self.seen = 0

        def process_element(self, row, ctx):
            self.seen += 1
            return iter(())

    env = StreamExecutionEnvironment.get_execution_environment()
    env.add_python_file(str(ROOT / "flink_jobs" / "dq_flink.py"))
    env.enable_checkpointing(5000)
    t_env = StreamTableEnvironment.create(env)
    raw_kafka_table(t_env, "raw_events", args.input, kafka_properties(args), args.group, args.bounded)
    (t_env.to_data_stream(t_env.from_path("raw_events"))
     .key_by(lambda row: shard_of(row.payload, 8), key_type=Types.INT())
     .process(Count(), output_type=Types.INT()).name("nothing per shard")
     .print())
    env.execute(f"transport floor: {args.input}")


if __name__ == "__main__":
    main()
