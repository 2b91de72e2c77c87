"""Day 15: anomaly detection: features and an online detector (course/week3.md)."""
import csv
import json
import subprocess

import dq
import pytest

from checks import module_of
from testenv import CONTRACT

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


def judged(dq_bin, contract, events: list[dict]) -> list[dict]:
    """Each event's annotation (the "dq" member of its clean line) from dq check."""
    proc = subprocess.run([dq_bin, "check", "-q", "-c", contract, "--now", "2026-02-01T00:00:00Z", "--clean", "-"],
                          input="".join(json.dumps(e) + "\n" for e in events).encode(), capture_output=True, check=True)
    return [json.loads(line)["dq"] for line in proc.stdout.splitlines()]


def flat_sensor(readings: int, last_off: float = 0.0) -> list[dict]:
    """One sensor at 21 °C and 50 % every 10 s; the last reading last_off °C warmer."""
    return [{"sensor_id": "sensor_1", "timestamp": f"2026-01-01T00:{i // 6:02d}:{i % 6 * 10:02d}Z",
             "temperature": round(21.0 + (last_off if i == readings - 1 else 0), 2), "humidity": 50.0}
            for i in range(readings)]


def test_1_the_first_scored_reading(dq_bin, answer):
    annotations = judged(dq_bin, CONTRACT, flat_sensor(40))
    first = next(i + 1 for i, a in enumerate(annotations) if "anomaly" in a)
    assert int(answer("day15", "first_scored_reading")) == first


def test_2_spikes_stand_out(dq_bin, tmp_path, answer):
    import dq
    events, truth = tmp_path / "events.ndjson", tmp_path / "truth.csv"
    with events.open("wb") as f:
        subprocess.run([dq_bin, "gen", "--count", "20000", "--seed", "7", "--truth", truth, "-q"], stdout=f, check=True)
    spikes = {int(r["line"]) for r in csv.DictReader(truth.open()) if r["defect"] == "spike"}
    contract = dq.Contract(CONTRACT)
    dev, std = contract.features.index("temperature.dev"), contract.features.index("temperature.std")
    rows = dq.Engine(contract, now="2099-01-01T00:00:00Z").features(events.read_bytes().splitlines())
    z = [abs(r[dev]) / max(r[std], 0.05) for n, r in enumerate(rows, 1) if r is not None and n in spikes]
    print(f"  {len(z)} scored spikes, the smallest z {min(z):.1f}, {sum(v < 6 for v in z)} below 6")
    assert len(z) > 50
    assert int(answer("day15", "spikes_below_threshold")) == sum(v < 6 for v in z)


def test_3_a_std_floor(dq_bin, tmp_path, answer):
    copy = tmp_path / "min_std_zero.yaml"
    copy.write_text(CONTRACT.read_text().replace("minStd: 0.05", "minStd: 0", 1))
    proc = subprocess.run([dq_bin, "check", "-q", "-c", copy, "--clean", "/dev/null"], input=b"", capture_output=True)
    print(f"  minStd 0: exit {proc.returncode}, {proc.stderr.decode().strip()}")
    assert answer("day15", "min_std_zero") == ("accepted" if proc.returncode == 0 else "refused")
    z = judged(dq_bin, CONTRACT, flat_sensor(40, last_off=0.01))[-1]["anomaly"]["z"]
    assert float(answer("day15", "z_of_a_small_move")) == pytest.approx(z, abs=1e-4)


def test_5_each_sensors_own_threshold(dq_bin, quiet_events, tmp_path, answer):
    clean = tmp_path / "clean.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", quiet_events, "--now", "2026-02-01T00:00:00Z",
                    "--clean", clean], check=True)
    last = {}
    for event in map(json.loads, clean.open()):
        anomaly = event["dq"].get("anomaly")
        if anomaly and anomaly["z"] > 0:
            last[event["sensor_id"]] = anomaly["z"] / anomaly["score"] - anomaly["z"]
    got = module_of("day15/ex5_thresholds.py").flag_thresholds(str(clean))
    print(f"  thresholds from {min(last.values()):.2f} to {max(last.values()):.2f}")
    assert len(last) == SENSORS and got.keys() == last.keys()
    assert all(abs(got[s] - last[s]) <= 0.01 * last[s] for s in last), (got, last)
    assert answer("day15", "thresholds_vs_six") == ("below" if max(last.values()) < 6 else
                                                   "above" if min(last.values()) > 6 else "both")
    assert answer("day15", "why_thresholds") == "b"


def test_6_a_step_that_holds(answer):
    mine = module_of("day15/ex6_step.py")
    counts = {}
    for shift in (1.0, 3.0):
        clean = dq.Engine(dq.Contract(CONTRACT), now="2026-02-01T00:00:00Z").evaluate(mine.series(shift)).clean
        flags = [e is not None and bool(json.loads(e)["dq"].get("anomaly", {}).get("flag")) for e in clean]
        assert not any(flags[:mine.STEP_AT]), "the quiet part is flagged"
        counts[shift] = next((i for i, f in enumerate(flags[mine.STEP_AT:]) if not f), len(flags) - mine.STEP_AT)
        assert mine.flagged_after_step(shift) == counts[shift], (shift, counts)
        reasons = [json.loads(e)["dq"].get("reasons", []) for e in clean[mine.STEP_AT:mine.STEP_AT + 10] if e]
        assert shift < 3 or (reasons[0] == ["SPIKE"] and ["BIAS"] in reasons), reasons  # what the course says
    print(f"  flagged in a row after the step: {counts}")
    assert counts[3.0] > 10 * counts[1.0] > 0, counts
    assert answer("day15", "step_flags_long") == "b"
