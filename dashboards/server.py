"""The native dashboard: the page, the panel file, and the panel file's named CQL queries.

    python dashboards/server.py [--host 127.0.0.1] [--port 3001]

Serves on 127.0.0.1 (in a container on 0.0.0.0, behind the port compose publishes on the
host's 127.0.0.1 only). The browser reads Prometheus itself (its query API answers
cross-origin requests); Cassandra it reads only through /api/cql/<name>, which runs one of
the named queries of dashboards/panels.yaml, prepared, with parameters the server binds
(the sensor, checked against the contract's id pattern, and times it computes): no CQL
comes from the browser. The Cassandra login comes from .env, as for every client of the
stack (dq.stack.cassandra_session).

GET /                      the page (dashboards/web), uPlot from the project's npm install
GET /api/dashboards        the panel file as JSON, with the Prometheus address
GET /api/cql/NAME?sensor=S&range=SECONDS
                           {"columns": [..], "rows": [[..]..]}: times as epoch ms, sets as lists
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import mimetypes
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))
from dq.stack import CACHE, ROOT, cassandra_session  # noqa: E402

PANELS = HERE / "panels.yaml"
WEB = HERE / "web"
NODE_MODULES = CACHE / "dashboards" / "node_modules"
PROMETHEUS = "http://127.0.0.1:9090"
SENSOR_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # what a sensor id on the page may be
MAX_RANGE_S = 7 * 86400
UTC = dt.timezone.utc


def load_panels(path: Path = PANELS, extra: Path | None = None) -> dict:
    """The panel file, checked: every panel has one source, every cql name exists. extra: a
    file of more panels, each naming the dashboard it joins (`dashboard: <uid>`), to try
    panels without editing the committed file."""
    spec = yaml.safe_load(path.read_text())
    boards = {board["uid"]: board for board in spec["dashboards"]}
    for panel in yaml.safe_load(extra.read_text()) if extra else []:
        uid = panel.pop("dashboard", None)
        if uid not in boards:
            raise ValueError(f"{extra}: panel '{panel.get('title')}': no dashboard '{uid}' (one of {', '.join(boards)})")
        boards[uid]["panels"].append(panel)
    for board in spec["dashboards"]:
        for panel in board["panels"]:
            if ("promql" in panel) == ("cql" in panel):
                raise ValueError(f"{board['uid']}: panel '{panel['title']}' needs one of promql and cql")
            if "cql" in panel and panel["cql"] not in spec["cql"]:
                raise ValueError(f"{board['uid']}: panel '{panel['title']}': no query named '{panel['cql']}'")
            if panel["kind"] not in ("timeseries", "stat", "table", "bar"):
                raise ValueError(f"{board['uid']}: panel '{panel['title']}': unknown kind '{panel['kind']}'")
    return spec


def parameters(sensor: str, range_s: int, now: dt.datetime | None = None) -> dict:
    """The values of every named parameter for a sensor and a time range ending now."""
    now = now or dt.datetime.now(UTC)
    since = now - dt.timedelta(seconds=range_s)
    days, day = [], since.date()
    while day <= now.date():
        days.append(day)
        day += dt.timedelta(days=1)
    hour = now.replace(minute=0, second=0, microsecond=0)
    return {"sensor": sensor, "since": since, "days": days, "today": now.date(), "hour": hour,
            "hours": [hour - dt.timedelta(hours=1), hour]}


def cell(value):
    """A Cassandra value as JSON: times as epoch ms, dates as ISO text, sets as lists."""
    if isinstance(value, dt.datetime):
        return int(value.replace(tzinfo=value.tzinfo or UTC).timestamp() * 1000)
    if hasattr(value, "date") and type(value).__name__ == "Date":  # cassandra.util.Date
        return str(value)
    if isinstance(value, (set, frozenset, list, tuple)) or type(value).__name__ == "SortedSet":
        return sorted(value)
    return value


class Queries:
    """The named CQL queries, prepared once per connection, run with bound parameters."""

    def __init__(self, spec: dict):
        self.statements = {name: q["statement"] for name, q in spec["cql"].items()}
        self.lock = threading.Lock()
        self.session = None
        self.prepared = {}

    def run(self, name: str, params: dict) -> dict:
        with self.lock:
            if self.session is None:
                self.session = cassandra_session()[1]
            if name not in self.prepared:
                self.prepared[name] = self.session.prepare(self.statements[name])
            stmt = self.prepared[name]
        wanted = {col.name: params[col.name] for col in stmt.column_metadata}
        rows = self.session.execute(stmt, wanted, timeout=20)
        columns = list(rows.column_names or [])
        return {"columns": columns, "rows": [[cell(v) for v in row] for row in rows]}


def make_handler(spec: dict, queries: Queries):
    sensor_cache = {"at": 0.0, "ids": []}

    class Handler(BaseHTTPRequestHandler):
        server_version = "dq-dashboard"

        def log_message(self, fmt, *args):  # one line per request on stderr, as the other services
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

        def send(self, status: int, body: bytes, kind: str = "application/json"):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def error(self, status: int, message: str):
            self.send(status, json.dumps({"error": message}).encode())

        def do_GET(self):  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                if url.path == "/api/dashboards":
                    return self.send(200, json.dumps({**spec, "prometheus": PROMETHEUS}).encode())
                if url.path == "/api/sensors":
                    return self.send(200, json.dumps(self.sensors()).encode())
                if url.path.startswith("/api/cql/"):
                    return self.cql(url.path[len("/api/cql/"):], query)
                return self.static(url.path)
            except Exception as exc:  # a query that fails says why, the server goes on
                return self.error(502, f"{type(exc).__name__}: {exc}")

        def cql(self, name: str, query: dict):
            if name not in queries.statements:
                return self.error(404, f"no query named '{name}' in dashboards/panels.yaml")
            sensor = query.get("sensor", "sensor_1")
            if not SENSOR_ID.match(sensor):
                return self.error(400, "sensor: 1 to 64 letters, digits, '_', '.', ':' or '-'")
            try:
                range_s = min(max(int(query.get("range", 3600)), 60), MAX_RANGE_S)
            except ValueError:
                return self.error(400, "range: seconds")
            return self.send(200, json.dumps(queries.run(name, parameters(sensor, range_s))).encode())

        def sensors(self) -> list:
            """Today's sensors, sorted by number (cached for a minute: a scan of partition keys)."""
            if time.time() - sensor_cache["at"] > 60:
                today = str(dt.datetime.now(UTC).date())
                res = queries.run("sensors", {})
                ids = {sensor for sensor, day in res["rows"] if day == today}
                key = (lambda s: (len(s), s))
                sensor_cache.update(at=time.time(), ids=sorted(ids, key=key))
            return sensor_cache["ids"]

        def static(self, path: str):
            if path in ("/", "/index.html"):
                file = WEB / "index.html"
            elif path.startswith("/uplot/"):
                file = NODE_MODULES / "uplot" / "dist" / path[len("/uplot/"):]
            else:
                file = WEB / path.lstrip("/")
            base = NODE_MODULES if path.startswith("/uplot/") else WEB
            file = file.resolve()
            if not file.is_relative_to(base.resolve()) or not file.is_file():
                return self.error(404, "not found")
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            return self.send(200, file.read_bytes(), kind + ("; charset=utf-8" if kind.startswith("text/") or
                                                             kind.endswith("javascript") else ""))

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 only inside a container)")
    ap.add_argument("--port", type=int, default=3001)
    ap.add_argument("--extra", type=Path, help="a file of more panels, each with `dashboard: <uid>` (to try panels)")
    args = ap.parse_args()
    if not (NODE_MODULES / "uplot" / "dist" / "uPlot.iife.min.js").exists():
        sys.exit(f"uPlot is not installed in {NODE_MODULES}: run `make install`")
    spec = load_panels(extra=args.extra)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(spec, Queries(spec)))
    print(f"dashboards on http://127.0.0.1:{args.port} (panels: {PANELS.relative_to(ROOT)}"
          f"{f' and {args.extra}' if args.extra else ''})", file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
