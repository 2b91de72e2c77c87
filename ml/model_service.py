"""A small anomaly-model service over HTTP, for the course's scenario where a stream
processor calls a model instead of embedding it (Flink async I/O, a Spark UDF calling out).

    POST /score   {"features": [[f1, ..., fn], ...]}
              ->  {"scores": [...], "flags": [...], "model": "...", "threshold": t}
    GET  /model   the model's file name, threshold and feature names
    GET  /health  200 "ok"

The scores come from libdq (dq.Model), the same code `dq gate` runs in-process, so a
reading gets the same score either way; the features are libdq's (dq.Engine.features, or
the "anomaly" annotation's inputs in a job). Stateless: each request stands alone, so any
number of callers and threads may share it.

Why the standard library's ThreadingHTTPServer and not a web framework: one JSON endpoint,
no dependency to pin, and the latency measured is the model's plus HTTP's, nothing else's.
It listens on 127.0.0.1 only.

usage: model_service.py --model models/sensor-anomaly.dqm [--port 8765]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import dq  # noqa: E402

MAX_BODY = 8 << 20
TIMEOUT_S = 10  # a caller that stops sending (a false Content-Length) frees its thread after this


def make_handler(model: "dq.Model", name: str):
    info = json.dumps({"model": name, "threshold": model.threshold, "features": model.features}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a caller pays the connection once
        disable_nagle_algorithm = True  # headers and body go out as two writes: without this
        # the second waits for the caller's delayed ACK, 40 ms a request
        timeout = TIMEOUT_S

        def reply(self, code: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, code: int, message: str) -> None:
            self.reply(code, json.dumps({"error": message}).encode())

        def do_GET(self):
            if self.path == "/health":
                self.reply(200, b"ok", "text/plain")
            elif self.path == "/model":
                self.reply(200, info)
            else:
                self.error(404, f"no {self.path}: GET /health, GET /model, POST /score")

        def do_POST(self):
            if self.path != "/score":
                return self.error(404, f"no {self.path}: POST /score")
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = 0
            if not 0 < length <= MAX_BODY:
                return self.error(413 if length > MAX_BODY else 400, f"a JSON body of 1 to {MAX_BODY} bytes")
            try:
                rows = json.loads(self.rfile.read(length))["features"]
                if not all(isinstance(r, list) and len(r) == model.n_features and
                           all(isinstance(v, (int, float)) and math.isfinite(v) for v in r) for r in rows):
                    raise ValueError
            except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: 100k-deep nesting
                return self.error(400, f'expected {{"features": [[{model.n_features} finite numbers], ...]}}')
            scores = model.score(rows)
            self.reply(200, json.dumps({"scores": scores, "flags": [s >= model.threshold for s in scores],
                                        "model": name, "threshold": model.threshold}).encode())

        def log_message(self, fmt, *args):  # one line per request would drown the latency bench
            pass

    return Handler


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # the listen backlog (5 by default reset 409 of 1,000 concurrent callers)
    daemon_threads = True


def serve(model_path: Path, port: int) -> ThreadingHTTPServer:
    """The server, bound and ready (serve_forever() runs it)."""
    return Server(("127.0.0.1", port), make_handler(dq.Model(model_path), model_path.name))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "sensor-anomaly.dqm")
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    if not args.model.exists():
        sys.exit(f"model_service: no {args.model}: run `make train` (or ml/fetch_model.py) first")
    server = serve(args.model, args.port)
    print(f"model_service: {args.model.name} on http://127.0.0.1:{args.port}/score", file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
