"""Flink's web UI and REST API for people, behind the stack's login: the service flink-ui.

    python stack/flink_ui.py [--host 127.0.0.1] [--port 8081]

The JobManager's own REST endpoint (127.0.0.1:8091) takes only clients that present the
cluster's certificate (mutual TLS, stack/conf/flink/config.yaml.in): Flink's CLI and this
gateway have it, other local users do not. Without that, anyone on the machine could submit
a job graph, whose code runs as the stack's user. A browser has no such certificate, so this
gateway asks for the login (user dq, password FLINK_PASSWORD in .env: HTTP basic
authentication) and passes each call on with the certificate. A change (any method but GET
and HEAD) from a page of another origin is refused, so a web page elsewhere cannot use a
browser's saved login; a Host other than this machine's loopback names (DNS rebinding) too.
"""
from __future__ import annotations

import argparse
import hmac
import http.client
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from dq.stack import FLINK_TLS, FLINK_USER, flink_headers  # noqa: E402

JOBMANAGER = ("127.0.0.1", 8091)
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
# Headers of one connection, not of the call; and the login, which stops here.
NOT_PASSED_ON = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                 "transfer-encoding", "upgrade", "host", "authorization", "content-length"}


class Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dq-flink-ui"

    def do_GET(self):
        self.pass_on()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, fmt, *args):  # calls passed on go unlogged (the UI polls every few seconds);
        pass                                # answer() logs each refusal

    def pass_on(self):
        server: GatewayServer = self.server
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in LOOPBACK_NAMES:
            return self.answer(421, f"this gateway serves 127.0.0.1, not {host!r}")
        if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), server.login):
            return self.answer(401, f"Flink's web UI and REST API need the stack's login: user {FLINK_USER}, "
                                    "password FLINK_PASSWORD in .env",
                               {"WWW-Authenticate": f'Basic realm="Flink (user {FLINK_USER}, password FLINK_PASSWORD '
                                                   'in .env)", charset="UTF-8"'})
        origin = self.headers.get("Origin")
        if self.command not in ("GET", "HEAD") and origin and origin not in server.origins:
            return self.answer(403, f"a change from another origin ({origin}) is refused")
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            return self.answer(411, "send a Content-Length")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in NOT_PASSED_ON}
        conn = http.client.HTTPSConnection(*JOBMANAGER, context=server.tls, timeout=60)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            res = conn.getresponse()
            data = res.read()
        except (OSError, http.client.HTTPException) as err:
            return self.answer(502, f"Flink's JobManager did not answer ({err}): is the stack up (make status)?")
        finally:
            conn.close()
        self.send_response(res.status, res.reason)
        for k, v in res.getheaders():
            if k.lower() not in NOT_PASSED_ON:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def answer(self, status: int, message: str, headers: dict | None = None):
        sys.stderr.write(f"{self.log_date_time_string()} {self.command} {self.path}: {status} {message}\n")
        body = (message + "\n").encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int):
        super().__init__((host, port), Gateway)
        self.login = flink_headers()["Authorization"].encode()
        self.origins = {f"http://{name}:{port}" for name in LOOPBACK_NAMES}
        self.tls = ssl.create_default_context(cafile=str(FLINK_TLS / "flink.crt"))
        self.tls.load_cert_chain(FLINK_TLS / "flink.pem")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    args = ap.parse_args()
    GatewayServer(args.host, args.port).serve_forever()


if __name__ == "__main__":
    main()
