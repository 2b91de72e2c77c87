"""The running pipeline, stage by stage, for `make status`: events/s over the last minute
(from Prometheus) and each consumer's lag (from Kafka: the end offsets of sensor-topic
against the offsets the stage committed), and plainly when a stage does nothing.

A restarted dq gate holds no partitions until its group settles; its own lag gauge then
reads 0, so the assignment comes from the broker's view of the group, not from the gate."""
from confluent_kafka.admin import AdminClient

from dq.stack import flink_rest, kafka_login, live_job, prometheus

TOPIC = "sensor-topic"
LIVE_GROUP, GATE_GROUP = "dq-live", "dq-gate"
RATES = {  # PromQL: events (Cassandra: write requests) per second over the last minute
    "generator": f'sum(rate(kafka_server_brokertopicmetrics_count{{name="MessagesInPerSec",topic="{TOPIC}"}}[1m]))',
    "gate": "sum(rate(dq_events_total[1m]))",
    "cassandra": 'sum(rate(org_apache_cassandra_metrics_clientrequest_count{name="Latency",scope="Write"}[1m]))',
}


def rate(query: str) -> float | None:
    try:
        result = prometheus(query, timeout=3)
        return result[0][1][0][1] if result else None
    except (OSError, KeyError, ValueError, IndexError):
        return None


def live_job_pulse() -> tuple[str, float | None]:
    """(the live writer's job state, its input events/s: Flink's one-minute meter)."""
    try:
        info = live_job(timeout=3)
        source = info["vertices"][0]["id"]
        metrics = flink_rest(f"/jobs/{info['jid']}/vertices/{source}/subtasks/metrics?get=numRecordsOutPerSecond&agg=sum",
                             timeout=3)
        return info["state"], float(metrics[0]["sum"]) if metrics else None
    except (OSError, KeyError, ValueError, IndexError):
        return "not running", None


def lags(admin: AdminClient) -> tuple[dict, dict]:
    """({group: events behind the end of TOPIC, or None}, {group: partitions its members hold})."""
    from reconcile import committed, end_offsets, reader, short_of  # numpy, libdq: once Kafka answers
    c = reader()
    ends = end_offsets(c, timeout=3)
    c.close()
    behind, held = {}, {}
    for group in (GATE_GROUP, LIVE_GROUP):
        offsets = committed(admin, group, timeout=3)
        behind[group] = short_of(ends, offsets) if any(o >= 0 for o in offsets.values()) else None
        members = admin.describe_consumer_groups([group])[group].result(3).members
        held[group] = sum(len(m.assignment.topic_partitions) for m in members if m.assignment)
    return behind, held


def main() -> None:
    try:
        behind, held = lags(AdminClient({**kafka_login("reader"), "log_level": 3}))
    except Exception as err:  # noqa: BLE001 - Kafka down or not answering: say so, nothing else to show
        print(f"\npipeline:   Kafka does not answer ({err}); 'make up' starts it")
        return
    gen, gate, cassandra = (rate(RATES[k]) for k in ("generator", "gate", "cassandra"))
    state, live = live_job_pulse()

    def per_s(v):
        return "?" if v is None else f"{v:,.0f}"

    def lag(group, rate_in):
        if behind[group] is None:
            return "nothing committed yet"
        secs = f" (~{behind[group] / rate_in:,.0f} s)" if rate_in else ""
        return f"{behind[group]:,} events{secs}"
    gate_note = f"{held[GATE_GROUP]} of 4 partitions held" if held[GATE_GROUP] else \
        "HOLDS NO PARTITIONS: restarting or rebalancing, checks nothing now"
    live_note = f"job {state}" if state == "RUNNING" else f"job {state}: writes NOTHING to Cassandra now"
    print("\npipeline (last minute)      events/s   lag")
    print(f"  generator -> {TOPIC:<13} {per_s(gen):>8}")
    print(f"  dq gate                  {per_s(gate):>8}   {lag(GATE_GROUP, gen)}; {gate_note}")
    print(f"  live writer (Flink)      {per_s(live):>8}   {lag(LIVE_GROUP, gen)}; {live_note}")
    print(f"  Cassandra writes         {per_s(cassandra):>8}   (requests/s; a batch of a partition's rows is one)")


if __name__ == "__main__":
    main()
