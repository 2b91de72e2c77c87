"""Day 14: monitoring with Prometheus (course/week3.md). Your queries run on the stack's
Prometheus, beside the same share computed another way, at one instant."""
import json
import time
import urllib.parse
import urllib.request

import pytest

from checks import chosen

PROMETHEUS = "http://127.0.0.1:9090/api/v1/query"


def value(query: str, at: float) -> float:
    body = urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"}).encode()
    with urllib.request.urlopen(PROMETHEUS, body, timeout=10) as reply:
        result = json.load(reply)["data"]["result"]
    assert len(result) == 1, f"{query}: {len(result)} series (one number expected)"
    return float(result[0]["value"][1])


@pytest.mark.stack
def test_1_the_share_of_rejected_events():
    lines = [line.strip() for line in chosen("day14/ex1_reject_share.promql").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) == 2, lines
    for _ in range(18):  # a stack just started has scraped the gate a few times only
        if value('sum(increase(dq_events_total{verdict="reject"}[1m]))', time.time()) > 0:
            break
        time.sleep(5)
    at = time.time() - 5  # an instant Prometheus has evaluated everything for
    for query, window in zip(lines, ("5m", "1m")):
        kept = value(f'sum(increase(dq_events_total{{verdict=~"pass|fixed"}}[{window}]))', at)
        rejected = value(f'sum(increase(dq_events_total{{verdict="reject"}}[{window}]))', at)
        assert rejected > 0 and abs(value(query, at) - rejected / (kept + rejected)) < 1e-9, (query, window)
