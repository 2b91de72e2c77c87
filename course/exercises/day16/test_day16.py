"""Day 16: training and tracking anomaly models (course/week4.md). The checks train with
ml/train.py and scikit-learn in the ml venv (`make exercise` creates it), without MLflow."""
import json
import os
import subprocess

import pytest

from checks import PYTHON_ML, ROOT, chosen


@pytest.fixture(scope="module")
def usual_fleet(tmp_path_factory, dq_bin):
    """30,000 events of the generator's usual fleet, their truth and train.py's summary."""
    folder = tmp_path_factory.mktemp("day16")
    with (folder / "history.ndjson").open("wb") as f:
        subprocess.run([dq_bin, "gen", "--count", "30000", "--seed", "31", "--start", "2026-11-01T00:00:00Z",
                        "--truth", folder / "truth.csv", "-q"], stdout=f, check=True)
    trained = subprocess.run([PYTHON_ML, ROOT / "ml" / "train.py", "--history", folder / "history.ndjson",
                              "--truth", folder / "truth.csv", "--tracking-uri", "", "--out", folder / "model.dqm"],
                             capture_output=True, text=True, check=True)
    return folder, json.loads(trained.stdout.splitlines()[-1])


def test_1_a_split_by_time(answer):
    """Your letter, and train.py splitting as the answer says: the readings in their order, the
    first 70 % to train, the rest to validate."""
    train = (ROOT / "ml" / "train.py").read_text()
    assert "cut = int(len(X) * 0.7)" in train and "X[:cut, columns], X[cut:, columns]" in train
    assert "shuffle" not in train and "train_test_split" not in train
    assert answer("day16", "time_split") == "b"


def test_3_where_the_export_is_checked(answer):
    where = ROOT / answer("day16", "export_check")
    assert where.is_file() and where.is_relative_to(ROOT / "tests"), where
    test = where.read_text()
    assert "score_samples" in test and "<= 1e-6" in test and "export_iforest" in test
    assert answer("day16", "export_fails") == "b"


def test_2_a_bigger_forest(script, answer):
    summary = json.loads((script("day16/ex2_grid.sh") / "summary.json").read_text())
    assert set(summary["forests"]) == {"iforest-100x256", "iforest-200x512", "iforest-300x1024"}, summary["forests"]
    got = "yes" if summary["champion"] == "iforest-300x1024" else "no"
    print(f"  champion: {summary['champion']}, validation F1 {summary['forests']}")
    assert answer("day16", "bigger_forest_champion") == got


# A forest on all features and one on the level-free ones score the later readings as they
# are and 5 °C warmer: the median score of each, before and after.
AFTER_A_MOVE = """
import json, sys
import numpy as np
from sklearn.ensemble import IsolationForest
sys.path.insert(0, sys.argv[1])
import dq
from train import CONTRACT, features, level_free
X = features(open(sys.argv[2], "rb").read().splitlines(), dq.parse_time("2026-12-01T00:00:00Z"))[0]
names = dq.Contract(CONTRACT).features
cut = int(len(X) * 0.7)
moved = X[cut:].copy()
moved[:, names.index("temperature.value")] += 5
out = {}
for name, columns in (("all", list(range(len(names)))), ("level-free", level_free(names))):
    forest = IsolationForest(random_state=0).fit(X[:cut, columns])
    out[name] = {when: float(np.median(-forest.score_samples(x[:, columns])))
                 for when, x in (("before", X[cut:]), ("after", moved))}
print(json.dumps(out))
"""


def test_4_a_forest_after_a_move(usual_fleet, answer):
    folder, _ = usual_fleet
    medians = json.loads(subprocess.run([PYTHON_ML, "-c", AFTER_A_MOVE, ROOT / "ml", folder / "history.ndjson"],
                                        capture_output=True, text=True, check=True).stdout)
    print(f"  median score before and after the move: {medians}")
    assert medians["level-free"]["after"] == medians["level-free"]["before"]  # it never looks at the value
    got = max(medians, key=lambda name: medians[name]["after"] - medians[name]["before"])
    assert answer("day16", "scores_rise_after_a_move") == got


def test_4_which_flags_more_on_the_usual_fleet(usual_fleet, answer):
    _, summary = usual_fleet
    rates = {"forest": summary["forest"]["alarm_rate"], "online-z": summary["baseline_online_z"]["alarm_rate"]}
    print(f"  alarm rates: {rates}; champion: {summary['champion']}")
    assert summary["champion"] == "online-z"  # the forest finds more, yet loses on F1
    assert answer("day16", "flags_more_on_the_usual_fleet") == max(rates, key=rates.get)


RUNS = {"small-forest": 0.31, "deep-forest": 0.72, "online": 0.55}
LOG_RUNS = """
import sys, mlflow
from dq.stack import MLFLOW_URI, mlflow_login
mlflow_login()
mlflow.set_tracking_uri(MLFLOW_URI)
mlflow.set_experiment(sys.argv[1])
for name, f1 in {runs}.items():
    with mlflow.start_run(run_name=name):
        mlflow.log_metric("f1", f1)
"""
DROP = """
import sys, mlflow
from mlflow.tracking import MlflowClient
from dq.stack import MLFLOW_URI, mlflow_login
mlflow_login()
mlflow.set_tracking_uri(MLFLOW_URI)
client = MlflowClient()
client.delete_experiment(client.get_experiment_by_name(sys.argv[1]).experiment_id)
"""


@pytest.mark.stack
def test_5_the_best_run_asked_through_mlflow():
    experiment = f"course-day16-check-{os.getpid()}"
    subprocess.run([PYTHON_ML, "-c", LOG_RUNS.format(runs=RUNS), experiment], capture_output=True, check=True)
    try:
        printed = subprocess.run([PYTHON_ML, chosen("day16/ex5_best_run.py"), experiment], capture_output=True,
                                 text=True, check=True).stdout.split()
    finally:
        subprocess.run([PYTHON_ML, "-c", DROP, experiment], capture_output=True, check=True)
    best = max(RUNS, key=RUNS.get)
    assert printed[-2:] == [best, str(RUNS[best])], printed


def test_6_without_labels(usual_fleet, answer):
    folder, _ = usual_fleet
    trained = subprocess.run([PYTHON_ML, ROOT / "ml" / "train.py", "--history", folder / "history.ndjson",
                              "--tracking-uri", "", "--out", folder / "unlabelled.dqm"],
                             capture_output=True, text=True, check=True)
    summary = json.loads(trained.stdout.splitlines()[-1])
    rates = {"forest": summary["forest"]["alarm_rate"], "online-z": summary["baseline_online_z"]["alarm_rate"]}
    print(f"  alarm rates without labels: {rates}")
    assert summary["registered"] is None and not (folder / "unlabelled.dqm").exists()
    source = (ROOT / "ml" / "train.py").read_text()
    assert "return float(np.quantile(train_score, 1 - alarm_rate))" in source
    assert '"--alarm-rate", type=float, default=0.01' in source
    assert float(answer("day16", "unlabelled_alarm_rate")) == 0.01 and abs(rates["forest"] - 0.01) < 0.005
    assert answer("day16", "flags_more_unlabelled") == max(rates, key=rates.get)
    assert answer("day16", "why_unregistered") == "b"
