"""Prometheus: every service that exposes metrics is scraped and up."""
import json
import time
import urllib.request

EXPECTED = {"prometheus": 1, "kafka": 1, "cassandra": 1, "flink": 2, "spark-master": 1, "spark-worker": 1, "jupyter": 1,
            "dq-gate": 1}


def targets():
    data = json.load(urllib.request.urlopen("http://127.0.0.1:9090/api/v1/targets", timeout=5))
    return data["data"]["activeTargets"]


def test_every_target_up():
    deadline = time.time() + 90  # a just-started stack: first scrapes every 10 s
    while True:
        active = targets()
        health = {}
        for t in active:
            health.setdefault(t["labels"]["job"], []).append(t["health"])
        if all(health.get(job, []).count("up") == n for job, n in EXPECTED.items()) or time.time() > deadline:
            break
        time.sleep(3)
    assert {job: len(h) for job, h in health.items()} == EXPECTED
    down = {t["scrapeUrl"]: t.get("lastError") for t in active if t["health"] != "up"}
    assert not down


def test_metrics_carry_service_data():
    def query(q):
        url = "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(q)
        return json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
    import urllib.parse
    assert query('up{job="kafka"}')[0]["value"][1] == "1"
    # Real service metrics, not only JVM ones: Flink's task slots through its JMX reporter.
    assert query('{__name__=~"flink_jobmanager_taskslotstotal"}'), "no Flink slot metric scraped"
