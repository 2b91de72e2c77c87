"""Day 13: the course's analytical SQL (analysis/*.sql) with Spark SQL over Cassandra.

Every table of iot_data becomes a Spark SQL view of the same name (read once through the
spark-cassandra-connector and cached), then each query runs as written in its file; the
results are printed and written to OUT/<query>.csv. Queries that ask about "now" use
${dq.as_of} (Spark's variable substitution), set from --as-of (default: the current time).

usage (see `make analyze`):
  spark-submit spark_jobs/spark_analysis.py [QUERY ...] [--as-of 'YYYY-MM-DD HH:MM:SS'] [--out DIR] [--rows N]
  QUERY: a file name in analysis/ or a prefix of one (07 = 07_consecutive_spikes.sql); default: all
"""
import argparse
import csv
import datetime as dt
from pathlib import Path

import pandas as pd

from dq_spark import ROOT, session

QUERIES = ROOT / "analysis"
TABLES = ("sensor_data", "sensor_rejects", "sensor_quality_metrics", "sensor_anomalies")


def queries(selection=()) -> list[Path]:
    every = sorted(QUERIES.glob("*.sql"))
    if not selection:
        return every
    chosen = [q for s in selection for q in every if q.name.startswith(s)]
    missing = [s for s in selection if not any(q.name.startswith(s) for q in every)]
    if missing:
        raise SystemExit(f"no query in {QUERIES} starts with {', '.join(missing)}; "
                         f"there are: {', '.join(q.stem for q in every)}")
    return chosen


def run(spark, query: Path, as_of: str):
    """The query's result as a DataFrame; ${dq.as_of} in it is as_of ('YYYY-MM-DD HH:MM:SS', UTC)."""
    spark.conf.set("dq.as_of", as_of)
    return spark.sql(query.read_text().strip().rstrip(";"))


def cassandra_views(spark) -> None:
    for table in TABLES:
        (spark.read.format("org.apache.spark.sql.cassandra").options(keyspace="iot_data", table=table).load()
         .cache().createOrReplaceTempView(table))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("query", nargs="*", help="file names in analysis/ or prefixes (default: all)")
    ap.add_argument("--as-of", default=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
                    help="'now' for the queries that look back from it, UTC (default: the current time)")
    ap.add_argument("--out", default=str(ROOT / "build" / "reports" / "analysis"))
    ap.add_argument("--rows", type=int, default=20, help="rows to print per query")
    args = ap.parse_args()
    try:  # a clear error before Spark starts
        dt.datetime.strptime(args.as_of, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        ap.error(f"--as-of {args.as_of!r}: expected 'YYYY-MM-DD HH:MM:SS' (UTC)")
    chosen = queries(args.query)
    spark = session("day 13: SQL analysis over Cassandra")
    cassandra_views(spark)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for query in chosen:
        result = run(spark, query, args.as_of)
        count, first = write_csv(result, out / f"{query.stem}.csv", args.rows)
        print(f"\n== {query.name}: {count} rows (as of {args.as_of} UTC)")
        print(pd.DataFrame(first, columns=result.columns).to_string(index=False) if count else "(no rows)")
    print(f"\nresults: {out}/<query>.csv")


def write_csv(result, path: Path, keep: int) -> tuple[int, list]:
    """The result into a CSV file row by row, a partition at a time (toLocalIterator): query 04
    returns every reading, more than a driver holds on a stack that has run for a day. Its
    row count and first keep rows."""
    count, first = 0, []
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(result.columns)
        for row in result.toLocalIterator():
            out.writerow(row)
            if count < keep:
                first.append(tuple(row))
            count += 1
    return count, first


if __name__ == "__main__":
    main()
