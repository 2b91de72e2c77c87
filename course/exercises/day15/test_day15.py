"""Day 15: anomaly detection: features and an online detector (course/week3.md)."""
import json
import subprocess

import pytest

SENSORS, DAYS, INTERVAL_S = 20, 10, 60
LEARNED = "2026-01-03"  # flags are counted from the third day: each sensor's threshold has settled


@pytest.fixture(scope="module")
def quiet_events(tmp_path_factory, dq_bin):
    """Ten days of 20 sensors every minute, without defects: every flag is a false alarm."""
    path = tmp_path_factory.mktemp("day15") / "events.ndjson"
    with path.open("wb") as f:
        subprocess.run([dq_bin, "gen", "--sensors", str(SENSORS), "--count", str(SENSORS * DAYS * 86400 // INTERVAL_S),
                        "--interval", f"{INTERVAL_S}s", "--defects", "none", "--seed", "5",
                        "--start", "2026-01-01T00:00:00Z", "-q"], stdout=f, check=True)
    return path


def flags_per_sensor_day(dq_bin, contract, events) -> float:
    """The online detector's flags per reporting sensor and day, from the third day on."""
    proc = subprocess.run([dq_bin, "check", "-q", "-c", contract, "-i", events, "--now", "2026-02-01T00:00:00Z",
                           "--clean", "-"], capture_output=True, check=True)
    flags, sensor_days = 0, set()
    for line in proc.stdout.splitlines():
        event = json.loads(line)
        anomaly = event["dq"].get("anomaly")
        if anomaly and event["timestamp"] >= LEARNED:
            flags += anomaly["flag"]
            sensor_days.add((event["sensor_id"], event["timestamp"][:10]))
    return flags / len(sensor_days)


@pytest.mark.parametrize("budget", [24, 96])
def test_4_a_false_alarm_budget(dq_bin, script, quiet_events, budget):
    folder = script("day15/ex4_budget.sh", str(budget))
    got = flags_per_sensor_day(dq_bin, folder / f"budget{budget}.yaml", quiet_events)
    # A reading a sensor does not report, or one not scored (a battery gone flat), is one
    # the budget does not spend: a little under it, never over.
    print(f"  {got:.1f} flags per sensor and day, budget {budget}")
    assert 0.85 * budget < got < 1.05 * budget, f"{got:.1f} flags per sensor and day under a budget of {budget}"
