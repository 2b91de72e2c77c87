"""Bench only (make bench-flink): day 11's shape with nothing in it. The same Kafka source
table, the same Python key selector (shard of sensors) and a keyed Python function that
only counts: what Flink and Beam's transport to a Python worker cost per event, the
floor under any PyFlink job that keeps per-sensor state in Flink.

With --rows, the function also writes each event's Cassandra rows, computed beforehand
(a pickle of {(partition, offset): [(table, row)]}), as the Cassandra ceiling writes them:
10,000 rows at a time, a batch per partition. No libdq, no state, no dead letters: the
floor under any PyFlink job that writes day 11's rows from Python (no Flink Cassandra
connector exists for this Flink).

usage: flink run --python bench/flink_transport_floor.py --input TOPIC --group G --bounded [--rows FILE]
"""
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flink_jobs"))
from dq_flink import ROOT, job_arguments, kafka_properties, raw_kafka_table, shard_of  # noqa: E402


def main() -> None:
    ap = job_arguments(__doc__, group="flink-transport-floor")
    ap.add_argument("--rows", help="write each event's rows from this pickle to Cassandra")
    args = ap.parse_args()
    rows_file = args.rows
    from pyflink.common import Types
    from pyflink.datastream import KeyedProcessFunction, StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    class Count(KeyedProcessFunction):
        def open(self, ctx):
            self.seen = 0

        def process_element(self, row, ctx):
            self.seen += 1
            return iter(())

    class Write(KeyedProcessFunction):
        def open(self, ctx):
            from dq.stack import CassandraWriter
            with open(rows_file, "rb") as f:
                self.rows_of = pickle.load(f)
            self.writer, self.pending = CassandraWriter(), []

        def process_element(self, row, ctx):
            self.pending += self.rows_of.get((row.partition, row.offset), ())
            if len(self.pending) >= 10_000:
                self.writer.insert_many(self.pending, batch_rows=20)
                self.pending = []
            return iter(())

        def close(self):
            self.writer.insert_many(self.pending, batch_rows=20)
            self.writer.close()

    env = StreamExecutionEnvironment.get_execution_environment()
    env.add_python_file(str(ROOT / "flink_jobs" / "dq_flink.py"))
    env.enable_checkpointing(5000)
    t_env = StreamTableEnvironment.create(env)
    raw_kafka_table(t_env, "raw_events", args.input, kafka_properties(args), args.group, args.bounded)
    (t_env.to_data_stream(t_env.from_path("raw_events"))
     .key_by(lambda row: shard_of(row.payload, 8), key_type=Types.INT())
     .process(Write() if rows_file else Count(), output_type=Types.INT())
     .name("the rows written, 10,000 at a time" if rows_file else "nothing per shard")
     .print())
    env.execute(f"transport floor{' with the writes' if rows_file else ''}: {args.input}")


if __name__ == "__main__":
    main()
