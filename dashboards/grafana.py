"""The panels of dashboards/panels.yaml as Grafana dashboards, for the Docker Compose path.

    python dashboards/grafana.py            # writes dashboards/grafana/<uid>.json
    python dashboards/grafana.py --check    # exit 1 if the committed JSON is not what it gives
    python dashboards/grafana.py --extra my_panels.yaml --out /tmp/grafana   # with panels of yours

Built with grafana-foundation-sdk (Grafana's own typed builders, pinned in
stack/requirements/core.txt). Two datasources, with the uids of
dashboards/grafana/provisioning/datasources/datasources.yaml: Prometheus, and Cassandra
through the HadesArchitect plugin (a pinned version installed into the Grafana image at
build time). A named CQL query becomes the plugin's raw CQL with Grafana's variables and
macros in place of the page's parameters (GRAFANA_PARAMS); time series select
`sensor_id, <value>, ts`, the column order the plugin reads a series from.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from server import load_panels  # noqa: E402  (the panel file, checked once for both pages)

OUT = HERE / "grafana"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="dq-prometheus")
CASSANDRA = DataSourceRef(type_val="hadesarchitect-cassandra-datasource", uid="dq-cassandra")
# Grafana's names for the panel file's units.
UNITS = {"events/s": "ops", "events": "short", "ms": "ms", "percent": "percent", "ratio": "percentunit",
         "°C": "celsius", "%": "humidity", "score": "short", "sensors": "short", "up": "short"}
# The page's query parameters as Grafana writes them: the $sensor variable, the dashboard's
# time range (the plugin's $__timeFrom macro, epoch ms; Grafana's date formats).
GRAFANA_PARAMS = {
    ":sensor": "'$sensor'",
    ":days": "('${__from:date:YYYY-MM-DD}', '${__to:date:YYYY-MM-DD}')",
    ":since": "$__timeFrom",
    ":hour": "'${__to:date:YYYY-MM-DD HH}:00:00+0000'",
    ":today": "'${__to:date:YYYY-MM-DD}'",
    ":hours": "('${__to:date:YYYY-MM-DD HH}:00:00+0000', '${__from:date:YYYY-MM-DD HH}:00:00+0000')",
}


class CassandraQuery(cogvariants.Dataquery):
    """A raw CQL target of the Cassandra plugin (the SDK has no builder for it)."""

    def __init__(self, ref_id: str, cql: str):
        self.ref_id, self.cql = ref_id, cql

    def to_json(self) -> dict:
        return {"refId": self.ref_id, "datasource": {"type": CASSANDRA.type_val, "uid": CASSANDRA.uid},
                "queryType": "query", "rawQuery": True, "target": self.cql}


class CassandraQueryBuilder(cogbuilder.Builder[CassandraQuery]):
    def __init__(self, query: CassandraQuery):
        self.query = query

    def build(self) -> CassandraQuery:
        return self.query


def grafana_cql(statement: str, columns: list[str]) -> str:
    """A named query's statement with the panel's columns selected and Grafana's parameters."""
    cql = "SELECT " + ", ".join(columns) + statement[statement.upper().index(" FROM "):]
    for param, value in sorted(GRAFANA_PARAMS.items(), key=lambda kv: -len(kv[0])):
        cql = cql.replace(param, value)
    return cql


def panel_cql(spec: dict, panel: dict) -> str:
    columns = panel["columns"]
    if panel["kind"] == "timeseries":
        columns = ["sensor_id", *columns[1:], columns[0]]
    return grafana_cql(spec["cql"][panel["cql"]]["statement"], columns)


def build_panel(spec: dict, panel: dict, position: GridPos):
    kind = panel["kind"]
    instant = kind in ("stat", "bar")
    maker = {"timeseries": timeseries.Panel, "stat": stat.Panel, "table": table.Panel, "bar": bargauge.Panel}[kind]
    out = maker().title(panel["title"]).grid_pos(position)
    if panel.get("unit") in UNITS:
        out = out.unit(UNITS[panel["unit"]])
    if "promql" in panel:
        out = out.datasource(PROMETHEUS)
        for i, q in enumerate(panel["promql"]):
            target = (prometheus.Dataquery().ref_id(chr(ord("A") + i)).expr(q["expr"])
                      .legend_format(q["legend"].replace("{", "{{").replace("}", "}}")).datasource(PROMETHEUS))
            out = out.with_target(target.instant() if instant else target.range())
    else:
        out = out.datasource(CASSANDRA).with_target(CassandraQueryBuilder(CassandraQuery("A", panel_cql(spec, panel))))
    return out


def build_dashboard(spec: dict, board: dict) -> dict:
    out = (dashboard.Dashboard(board["title"]).uid(board["uid"]).description(board.get("description", ""))
           .tags(["dq-platform"]).refresh("10s").time("now-1h", "now").timezone("utc"))
    if any("cql" in p for p in board["panels"]):
        out = out.with_variable(dashboard.QueryVariable("sensor").label("sensor").datasource(CASSANDRA)
                                .query(spec["cql"]["sensors"]["statement"]))
    for i, panel in enumerate(board["panels"]):
        out = out.with_panel(build_panel(spec, panel, GridPos(h=8, w=12, x=12 * (i % 2), y=8 * (i // 2))))
    return json.loads(json.dumps(out.build(), cls=JSONEncoder))


def render(spec: dict) -> dict[str, str]:
    """{file name: JSON text} of every dashboard."""
    return {f"{b['uid']}.json": json.dumps(build_dashboard(spec, b), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            for b in spec["dashboards"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files instead of writing them")
    ap.add_argument("--extra", type=Path, help="a file of more panels, each with `dashboard: <uid>` (to try panels)")
    ap.add_argument("--out", type=Path, default=OUT, help="where the JSON goes (default: dashboards/grafana)")
    args = ap.parse_args()
    files = render(load_panels(extra=args.extra))
    if args.check:
        stale = [name for name, text in files.items()
                 if not (args.out / name).exists() or (args.out / name).read_text() != text]
        if stale:
            sys.exit(f"dashboards/grafana: {', '.join(stale)} differ from dashboards/panels.yaml: "
                     "run `python dashboards/grafana.py` and commit the result")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = (args.out / name).resolve()
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent) if path.is_relative_to(HERE.parent) else path}")


if __name__ == "__main__":
    main()
