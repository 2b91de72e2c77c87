"""Bench only (make bench-flink): day 11's shape with nothing in it. The same Kafka source
table, the same Python key selector (shard of sensors) and a keyed Python function that
does nothing: what Flink and Beam's transport to a Python worker cost per event, the
floor under any PyFlink job that keeps per-sensor state in Flink.

With --rows, the function also writes each event's Cassandra rows, computed beforehand
(a pickle of {(partition, offset): [(table, row)]}), as the Cassandra ceiling writes them:
10,000 rows at a time, a batch per partition. No libdq, no state, no dead letters: the
floor under any PyFlink job that writes day 11's rows from Python (no Flink Cassandra
connector exists for this Flink).

With --unkeyed: no key selector, the records straight to the function (one crossing to
Python, not two): the floors of a job that would keep its sensors' state outside Flink.

usage: flink run --python bench/flink_transport_floor.py --input TOPIC --group G --bounded [--rows FILE]
                 [--unkeyed]
"""
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flink_jobs"))
from dq_flink import ROOT, job_arguments, kafka_properties, raw_kafka_table, shard_of  # noqa: E402


def main() -> None:
    ap = job_arguments(__doc__, group="flink-transport-floor")
    ap.add_argument("--rows", help="write each event's rows from this pickle to Cassandra")
    ap.add_argument("--unkeyed", action="store_true", help="no key selector: the records straight to the function")
    args = ap.parse_args()
    rows_file = args.rows
    from pyflink.common import Types
    from pyflink.datastream import FlatMapFunction, StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    class Write(FlatMapFunction):
        def open(self, ctx):
            from dq.stack import CassandraWriter
            with open(rows_file, "rb") as f:
                self.rows_of = pickle.load(f)
            self.writer, self.pending = CassandraWriter(), []

        def flat_map(self, row):
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
    stream = t_env.to_data_stream(t_env.from_path("raw_events"))
    if not args.unkeyed:
        stream = stream.key_by(lambda row: shard_of(row.payload, 8), key_type=Types.INT())
    (stream.flat_map(Write() if rows_file else (lambda row: iter(())), output_type=Types.INT())
     .name("the rows written, 10,000 at a time" if rows_file else "nothing")
     .print())
    env.execute(f"transport floor{' unkeyed' if args.unkeyed else ''}{' with the writes' if rows_file else ''}: "
                f"{args.input}")


if __name__ == "__main__":
    main()
