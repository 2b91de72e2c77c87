"""One line about the running pipeline for `make status`: what dq gate has checked, its
reject share, its rate over the last minute (from Prometheus) and its consumer lag."""
import json
import urllib.parse
import urllib.request


def get(url):
    return urllib.request.urlopen(url, timeout=3).read().decode()


def main():
    try:
        metrics = get("http://127.0.0.1:9464/metrics")
    except OSError:
        return
    values = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines() if line and line[0] != "#"}
    by_verdict = {v: values.get(f'dq_events_total{{verdict="{v}"}}', 0.0) for v in ("pass", "fixed", "reject")}
    total = sum(by_verdict.values())
    rate = "?"
    try:
        query = urllib.parse.quote("sum(rate(dq_events_total[1m]))")
        result = json.loads(get(f"http://127.0.0.1:9090/api/v1/query?query={query}"))["data"]["result"]
        if result:
            rate = f"{float(result[0]['value'][1]):,.0f}"
    except (OSError, KeyError, ValueError):
        pass
    print(f"\npipeline:   dq gate has checked {total:,.0f} events, "
          f"{100 * by_verdict['reject'] / max(total, 1):.1f}% rejected, {rate} events/s over the last minute, "
          f"consumer lag {values.get('dq_gate_consumer_lag', 0):,.0f}")


if __name__ == "__main__":
    main()
