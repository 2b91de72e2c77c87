"""Day 2: sensor data and its defects (course/week1.md)."""
import collections
import csv
import datetime
import filecmp
import json
import subprocess

from checks import module_of
from testenv import CONTRACT


def generate(dq_bin, out, truth, *args):
    with open(out, "wb") as f:
        subprocess.run([dq_bin, "gen", "--count", "10000", "--start", "2026-01-01T00:00:00Z", "--truth", truth, "-q",
                        *args], stdout=f, check=True)


def defects(truth) -> collections.Counter:
    with open(truth) as f:
        return collections.Counter(row["defect"] for row in csv.DictReader(f))


def test_1_the_most_frequent_defect(dq_bin, tmp_path, answer):
    generate(dq_bin, tmp_path / "events.ndjson", tmp_path / "truth.csv", "--seed", "7")
    counts = defects(tmp_path / "truth.csv")
    del counts["none"]
    assert answer("day02", "most_frequent_defect") == counts.most_common(1)[0][0]


def test_2_the_same_arguments_the_same_bytes(dq_bin, tmp_path, answer):
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        generate(dq_bin, tmp_path / f"{name}.ndjson", tmp_path / f"{name}.csv", "--seed", seed)
    same = filecmp.cmp(tmp_path / "a.ndjson", tmp_path / "b.ndjson", shallow=False)
    assert not filecmp.cmp(tmp_path / "a.ndjson", tmp_path / "c.ndjson", shallow=False)
    assert answer("day02", "identical") == ("yes" if same else "no")


def test_3_outliers_only(script):
    counts = defects(script("day02/ex3_outliers.sh") / "truth.csv")
    assert set(counts) == {"none", "outlier"}, counts
    assert 0.04 <= counts["outlier"] / sum(counts.values()) <= 0.06, counts


def silences_before_gaps(dq_bin, tmp_path, interval) -> set[float]:
    """Seconds between each sensor's reading labelled gap and its reading before, with the
    course's command at that interval."""
    events, truth = tmp_path / f"gaps-{interval}.ndjson", tmp_path / f"gaps-{interval}.csv"
    with events.open("wb") as f:
        subprocess.run([dq_bin, "gen", "--count", "2000", "--sensors", "20", "--interval", interval, "--seed", "7",
                        "--start", "2026-01-01T00:00:00Z", "--defects", "none,gap=0.01", "--truth", truth, "-q"],
                       stdout=f, check=True)
    last, silences = {}, set()
    with events.open() as lines, truth.open() as labels:
        for line, label in zip(lines, csv.DictReader(labels)):
            reading = json.loads(line)
            at = datetime.datetime.fromisoformat(reading["timestamp"])
            if label["defect"] == "gap" and reading["sensor_id"] in last:
                silences.add((at - last[reading["sensor_id"]]).total_seconds())
            last[reading["sensor_id"]] = at
    return silences


def test_4_a_gap_in_the_sensors_intervals(dq_bin, tmp_path, answer):
    at_5m, at_10s = silences_before_gaps(dq_bin, tmp_path, "5m"), silences_before_gaps(dq_bin, tmp_path, "10s")
    assert len(at_5m) == len(at_10s) == 1, (at_5m, at_10s)  # one length: the generator's, in intervals
    assert float(answer("day02", "gap_minutes_at_5m")) * 60 == at_5m.pop()
    assert float(answer("day02", "gap_seconds_at_10s")) == at_10s.pop()


def test_5_which_defects_get_through(dq_bin, tmp_path, answer):
    generate(dq_bin, tmp_path / "ten.ndjson", tmp_path / "truth.csv", "--seed", "1")
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", tmp_path / "ten.ndjson", "--now",
                    "2026-01-02T00:00:00Z", "--clean", tmp_path / "clean.ndjson", "--rejects",
                    tmp_path / "rejects.ndjson"], check=True)
    rejected = {json.loads(line)["line"] for line in (tmp_path / "rejects.ndjson").open()}
    with open(tmp_path / "truth.csv") as f:
        truth = [(int(row["line"]), row["defect"]) for row in csv.DictReader(f)]
    kinds = {defect for _, defect in truth}
    expected = {kind: sum(line in rejected for line, d in truth if d == kind) / sum(d == kind for _, d in truth)
                for kind in kinds}
    got = module_of("day02/ex5_fate.py").rejected_share(str(tmp_path / "truth.csv"), str(tmp_path / "rejects.ndjson"))
    assert got.keys() == expected.keys() and all(abs(got[k] - expected[k]) < 1e-9 for k in kinds), (got, expected)
    never = sorted(k for k in kinds - {"none"} if expected[k] == 0)
    assert [k.strip() for k in answer("day02", "never_rejected").split(",")] == never, never
    assert 0 < expected["missing_value"] < 0.05 and answer("day02", "missing_rejected") == "b"


def test_6_recall_by_hand(dq_bin, tmp_path, answer):
    generate(dq_bin, tmp_path / "ten.ndjson", tmp_path / "truth.csv", "--seed", "1")
    files = [str(tmp_path / name) for name in ("truth.csv", "clean.ndjson", "rejects.ndjson")]
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", tmp_path / "ten.ndjson", "--now",
                    "2026-01-02T00:00:00Z", "--clean", files[1], "--rejects", files[2]], check=True)
    scored = json.loads(subprocess.run([dq_bin, "score", "--truth", files[0], "--rejects", files[2], "--clean",
                                        files[1], "--json"], capture_output=True, text=True, check=True).stdout)
    mine = module_of("day02/ex6_recall.py")
    for defect, reason in (("spike", "SPIKE"), ("gap", "GAP")):
        got = mine.recall(*files, defect, reason)
        assert abs(got - scored["recall"][defect]) < 1e-6, (defect, got, scored["recall"])
    assert scored["recall"]["spike"] < 1  # the premise: some spikes are missed
    rejected = {json.loads(line)["line"] for line in (tmp_path / "rejects.ndjson").open()}
    kept = iter([json.loads(line)["dq"] for line in (tmp_path / "clean.ndjson").open()])
    position, missed = collections.Counter(), []  # a missed spike's place among its sensor's readings
    with open(files[0]) as f:
        for row in csv.DictReader(f):
            position[row["sensor_id"]] += 1
            dq = None if int(row["line"]) in rejected else next(kept)
            if row["defect"] == "spike" and dq is not None and "SPIKE" not in dq.get("reasons", []):
                missed.append(position[row["sensor_id"]])
    print(f"  missed spikes at their sensor's readings {missed}")
    assert missed and max(missed) <= 6 and answer("day02", "missed_spikes") == "b"
