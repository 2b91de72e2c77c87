"""The rules of bench/contract_stateless.yaml written in three peers of `dq check`.

Each peer gets the raw NDJSON lines and returns the set of rejected line indexes, so
the benchmark can prove that all four tools reach the same verdicts. Parsing JSON is
part of each peer's work, as it is of dq check's; the pandas-based peers share one
loader (`frame`), which builds typed columns the way a pandas user would.
"""
from __future__ import annotations

import json
import re
from datetime import datetime

MAX_BYTES = 65536
SENSOR_ID = re.compile(r"sensor_[0-9]+")
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
REQUIRED = ("sensor_id", "timestamp", "temperature", "humidity")


def _no_constants(name):
    raise ValueError(f"non-finite {name}")


def _no_duplicates(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def parse(line: bytes):
    """One event as dq check reads it, or None for a structural reject."""
    if len(line) > MAX_BYTES:
        return None
    try:
        obj = json.loads(line, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and JSON_NUMBER.fullmatch(value.strip(" \t")):
        return float(value)
    return None


def _iso(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def plain_python(lines: list[bytes]) -> set[int]:
    """json + ifs: what most pipelines start with."""
    rejected = set()
    for i, line in enumerate(lines):
        e = parse(line)
        if e is None:
            rejected.add(i)
            continue
        sid = e.get("sensor_id")
        t, h = _number(e.get("temperature")), _number(e.get("humidity"))
        battery = e.get("battery")
        if (not isinstance(sid, str) or len(sid) > 64 or not SENSOR_ID.fullmatch(sid)
                or not _iso(e.get("timestamp"))
                or t is None or not -40 <= t <= 60
                or h is None or not 0 <= h <= 100
                or (battery is not None and (isinstance(battery, bool) or not isinstance(battery, (int, float))))):
            rejected.add(i)
    return rejected


def frame(lines: list[bytes]):
    """Parsed events as a DataFrame with typed columns; structural rejects listed apart."""
    import pandas as pd
    records, index, structural = [], [], set()
    for i, line in enumerate(lines):
        e = parse(line)
        if e is None:
            structural.add(i)
        else:
            records.append(e)
            index.append(i)
    df = pd.DataFrame.from_records(records, index=index, columns=list(REQUIRED) + ["battery"])
    sid = df["sensor_id"]
    df["sensor_id"] = sid.where(sid.map(lambda v: isinstance(v, str) and len(v) <= 64))
    df["timestamp"] = pd.to_datetime(df["timestamp"].where(df["timestamp"].map(_iso)), utc=True, format="ISO8601")
    for col in ("temperature", "humidity"):
        df[col] = pd.to_numeric(df[col].map(_number), errors="coerce")
    battery = df["battery"]
    df["battery_ok"] = battery.isna() | battery.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    return df, structural


def pandera(lines: list[bytes]) -> set[int]:
    import pandera.pandas as pa
    df, rejected = frame(lines)
    schema = pa.DataFrameSchema({
        "sensor_id": pa.Column(str, pa.Check.str_matches(r"^sensor_[0-9]+$"), nullable=False),
        "timestamp": pa.Column("datetime64[ns, UTC]", nullable=False),
        "temperature": pa.Column(float, pa.Check.in_range(-40, 60), nullable=False),
        "humidity": pa.Column(float, pa.Check.in_range(0, 100), nullable=False),
        "battery_ok": pa.Column(bool, pa.Check.eq(True)),
    })
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        rejected |= {int(i) for i in err.failure_cases["index"].dropna()}
    return rejected


def great_expectations(lines: list[bytes]) -> set[int]:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    df, rejected = frame(lines)
    df = df.reset_index(names="line")
    from great_expectations.data_context.types.base import ProgressBarsConfig
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (context.data_sources.add_pandas("events").add_dataframe_asset("sensor_readings")
             .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df}))
    suite = [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in REQUIRED]
    suite += [
        gxe.ExpectColumnValuesToMatchRegex(column="sensor_id", regex=r"^sensor_[0-9]+$"),
        gxe.ExpectColumnValuesToBeBetween(column="temperature", min_value=-40, max_value=60),
        gxe.ExpectColumnValuesToBeBetween(column="humidity", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeInSet(column="battery_ok", value_set=[True]),
    ]
    for expectation in suite:
        result = batch.validate(expectation, result_format={"result_format": "COMPLETE",
                                                             "unexpected_index_column_names": ["line"]})
        for row in result.result.get("unexpected_index_list") or []:
            rejected.add(int(row["line"]))
    return rejected
