"""Day 5: stateful quality in Flink (course/week1.md). The job's SilenceDetector runs here as
plain Python over dq check's verdicts, as the job's keyed function runs it: no Flink needed."""
import collections
import csv
import datetime as dt
import json
import subprocess
import sys

from checks import ROOT, module_of
from scoring import generate
from testenv import CONTRACT

sys.path.insert(0, str(ROOT / "flink_jobs"))
import flink_data_quality as day5  # noqa: E402
from dq_flink import OUT_OF_ORDER_MS  # noqa: E402

NOW = "2026-01-09T00:00:00Z"  # after every reading of the exercise's streams


def test_1_events_without_an_event_time(answer):
    assert day5.event_time({"event_ms": None, "reasons": ["INVALID_TIMESTAMP"]}) is None
    assert answer("day05", "no_event_time") == "b"


def silences_and_gaps(dq_bin, folder) -> tuple[int, int, collections.Counter]:
    """(silences the job's detector reports, gaps in the truth, reasons of dq check's verdicts)."""
    clean, rejects = folder / "clean.ndjson", folder / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", folder / "events.ndjson", "--now", NOW,
                    "--clean", clean, "--rejects", rejects], check=True)
    detectors, silences, reasons = {}, 0, collections.Counter()
    for line in clean.open():  # accepted readings, in stream order
        event = json.loads(line)
        ms = int(dt.datetime.fromisoformat(event["timestamp"]).timestamp() * 1000)
        ended, _ = detectors.setdefault(event["sensor_id"], day5.SilenceDetector()).on_event(event["dq"]["status"], ms)
        silences += ended is not None
        reasons.update(event["dq"].get("reasons", []))
    with (folder / "truth.csv").open() as f:
        gaps = sum(row["defect"] == "gap" for row in csv.DictReader(f))
    return silences, gaps, reasons


def test_2_silences_against_the_truths_gaps(dq_bin, script, tmp_path, answer):
    folder = script("day05/ex2_gaps.sh")
    silences, gaps, _ = silences_and_gaps(dq_bin, folder)
    assert gaps >= 20 and silences == gaps, (silences, gaps)
    # the same stream at 1 s
    fast = tmp_path / "1s"
    fast.mkdir()
    with (fast / "events.ndjson").open("wb") as out:
        subprocess.run([dq_bin, "gen", "--sensors", "100", "--count", "50000", "--interval", "1s", "--seed", "3",
                        "--start", "2026-01-01T00:00:00Z", "--defects", "none,gap=0.001", "--truth",
                        fast / "truth.csv", "-q"], stdout=out, check=True)
    silences, gaps, reasons = silences_and_gaps(dq_bin, fast)
    assert int(answer("day05", "silences_at_1s")) == silences
    reason = answer("day05", "reason_at_1s").upper()
    assert reasons[reason] >= 0.9 * gaps, (reason, reasons, gaps)


def test_3_the_final_watermark(answer):
    detector = day5.SilenceDetector()
    _, timer = detector.on_event("PASS", 1_000)
    assert detector.on_timer(timer, day5.END_OF_TIME) is None and detector.on_timer(timer, timer) == 1_000
    assert answer("day05", "final_watermark") == "c"


def test_4_a_slower_fleet(dq_bin, tmp_path, answer):
    """2,000 readings of 20 sensors every 10 minutes, no defect at all."""
    generate(dq_bin, tmp_path, "10m", "--seed", "3", "--defects", "none", sensors=20, count=2000,
             start="2026-01-01T00:00:00Z")
    silences, gaps, reasons = silences_and_gaps(dq_bin, tmp_path)
    assert gaps == 0 and silences > 1900, silences  # a reading every 10 minutes: each one "ends a silence"
    assert int(answer("day05", "silences_at_10m")) == silences
    assert int(answer("day05", "contract_gaps_at_10m")) == reasons["GAP"] == 0
    assert day5.SILENT_AFTER_MS == 5 * 60_000 and answer("day05", "why_at_10m") == "b"


def test_5_watermarks_by_hand(dq_bin, tmp_path, answer):
    events = tmp_path / "events.ndjson"
    with events.open("wb") as f:
        subprocess.run([dq_bin, "gen", "--count", "20000", "--seed", "3", "--start", "2026-01-01T00:00:00Z",
                        "--defects", "none,late=0.01", "-q"], stdout=f, check=True)
    times = [int(dt.datetime.fromisoformat(json.loads(line)["timestamp"]).timestamp() * 1000) for line in events.open()]
    mine = module_of("day05/ex5_watermark.py")
    for bound in (0, 60_000, OUT_OF_ORDER_MS):
        newest, behind = times[0], 0
        for t in times[1:]:
            behind += t < newest - bound
            newest = max(newest, t)
        print(f"  bound {bound // 1000} s: {behind} behind")
        assert mine.behind_watermark(times, bound) == behind, bound
        if bound == 60_000:
            assert int(answer("day05", "behind_at_1_minute")) == behind > 100
        if bound == OUT_OF_ORDER_MS:
            assert int(answer("day05", "behind_at_the_jobs_bound")) == behind
    assert answer("day05", "larger_bound_costs") == "b"


def test_6_what_ends_a_silence(answer):
    at = {hhmm: int(dt.datetime(2026, 11, 25, 10, int(hhmm[3:]), tzinfo=dt.timezone.utc).timestamp() * 1000)
          for hhmm in ("10:00", "10:06", "10:07")}
    detector = day5.SilenceDetector()
    assert detector.on_event("PASS", at["10:00"]) == (None, at["10:00"] + day5.SILENT_AFTER_MS + 1)
    assert detector.on_event("REJECT", at["10:06"]) == (None, None)  # counted, not a sign of life
    ended, _ = detector.on_event("PASS", at["10:07"])
    assert ended == at["10:00"] and detector.totals == {"events": 3, "rejected": 1}
    last = dt.datetime.fromtimestamp(ended / 1000, dt.timezone.utc).strftime("%H:%M:%S")
    assert answer("day05", "ends_silence") == "sound" and answer("day05", "last_reading") == last
    assert answer("day05", "rejected_not_alive") == "b"
