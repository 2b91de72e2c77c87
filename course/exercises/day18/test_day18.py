"""Day 18: evaluation on real labelled data (course/week4.md). Suthaharan's single-hop deployment,
from a local copy (data/, DQ_DATA_DIR or ../shared/data, as `make data` looks) or else from its
publisher (stdlib's npm package, as `make data` fetches it, checked against data/SHA256SUMS)."""
import collections
import csv
import json
import subprocess
import sys

import pytest

from checks import ROOT
from testenv import CONTRACT

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
    clean, rejects = tmp_path / "clean.ndjson", tmp_path / "rejects.ndjson"
    subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", "2026-11-26T00:00:00Z",
                    "--clean", clean, "--rejects", rejects], check=True)
    with truth_csv.open() as f:
        truth = {int(row["line"]): row["defect"] for row in csv.DictReader(f)}
    verdicts = {r["line"]: r["dq"] for r in map(json.loads, rejects.open())}
    kept = (n for n in sorted(truth) if n not in verdicts)
    verdicts.update(zip(kept, (json.loads(line)["dq"] for line in clean.open())))
    return truth, verdicts


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
