"""The model service answers with libdq's scores, and refuses malformed requests clearly."""
import http.client
import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "ml"))
import dq  # noqa: E402
import model_service  # noqa: E402
from export import export_iforest  # noqa: E402


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    X = np.random.default_rng(3).normal(size=(2000, 4))
    path = export_iforest(IsolationForest(n_estimators=20, random_state=0).fit(X), ["a", "b", "c", "d"], 0.55,
                          tmp_path_factory.mktemp("m") / "m.dqm")
    server = model_service.serve(path, 0)  # any free port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], dq.Model(path), X
    server.shutdown()


def call(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=json.dumps(body) if body is not None else None)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_scores_are_libdqs(service):
    port, model, X = service
    rows = X[:50].tolist() + [[8.0, -8.0, 8.0, -8.0]]
    status, data = call(port, "POST", "/score", {"features": rows})
    got = json.loads(data)
    assert status == 200 and got["scores"] == model.score(rows) and got["threshold"] == 0.55
    assert got["flags"] == [s >= 0.55 for s in got["scores"]] and got["flags"][-1] is True
    assert json.loads(call(port, "GET", "/model")[1])["features"] == ["a", "b", "c", "d"]
    assert call(port, "GET", "/health") == (200, b"ok")


@pytest.mark.parametrize("body", [{"features": [[1, 2, 3]]}, {"rows": []}, {"features": [[1, 2, 3, "x"]]},
                                  [1, 2], {"features": [[1, 2, 3, float("inf")]]}])
def test_bad_requests_are_refused_with_a_reason(service, body):
    status, data = call(service[0], "POST", "/score", body)
    assert status == 400 and "4 finite numbers" in json.loads(data)["error"]


def raw_request(port, data: bytes, wait_s: float = 10) -> bytes:
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(data)
        return sock.recv(4096)


def test_hostile_requests_get_an_answer(service):
    port = service[0]
    bad_length = raw_request(port, b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert bad_length.startswith(b"HTTP/1.1 400")
    deep = b"[" * 100_000 + b"]" * 100_000
    nested = raw_request(port, b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(deep), deep))
    assert nested.startswith(b"HTTP/1.1 400")


def test_a_caller_that_stops_sending_is_dropped(service):
    """A false Content-Length (more promised than sent) holds a thread only until the timeout."""
    import socket
    import time
    sock = socket.create_connection(("127.0.0.1", service[0]), timeout=30)
    sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
    started = time.time()
    assert sock.recv(4096) == b""  # the server closed it
    assert time.time() - started < model_service.TIMEOUT_S + 5
    sock.close()


def test_a_thousand_concurrent_callers_are_all_answered(service):
    port, _, X = service
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(200) as pool:
        statuses = list(pool.map(lambda _: call(port, "POST", "/score", {"features": X[:2].tolist()})[0], range(1000)))
    assert statuses == [200] * 1000
