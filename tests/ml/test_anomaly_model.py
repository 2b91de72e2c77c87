"""Anomaly models: libdq scores an exported scikit-learn IsolationForest exactly as
scikit-learn does, deterministically, on features libdq computed (the ml venv runs these)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "ml"))
import dq  # noqa: E402
from export import export_iforest  # noqa: E402

CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"


@pytest.fixture(scope="module")
def features():
    events = subprocess.run([ROOT / "build" / "dq", "gen", "--count", "30000", "--seed", "3", "--start",
                             "2026-11-20T00:00:00Z"], capture_output=True, check=True).stdout.splitlines()
    rows = [r for r in dq.Engine(dq.Contract(CONTRACT), now="2026-11-26T00:00:00Z").features(events) if r]
    X = np.array(rows)
    assert X.shape[1] == len(dq.Contract(CONTRACT).features) == 10 and len(X) > 15000
    return X


@pytest.mark.parametrize("params", [{"n_estimators": 100}, {"n_estimators": 30, "max_samples": 64},
                                    {"n_estimators": 50, "max_features": 0.5, "bootstrap": True}])
def test_exported_forest_scores_as_scikit_learn(features, params, tmp_path):
    train, test = features[:8000], features[8000:]
    forest = IsolationForest(random_state=7, **params).fit(train)
    model = dq.Model(export_iforest(forest, dq.Contract(CONTRACT).features, 0.6, tmp_path / "m.dqm"))
    ours, theirs = np.array(model.score(test.tolist())), -forest.score_samples(test)
    assert np.abs(ours - theirs).max() <= 1e-6
    assert model.threshold == 0.6 and np.ptp(theirs) > 0.1  # a spread of scores, not one constant


def test_scoring_is_deterministic_in_the_stream(features, tmp_path):
    forest = IsolationForest(n_estimators=50, random_state=1).fit(features[:5000])
    model = dq.Model(export_iforest(forest, dq.Contract(CONTRACT).features, 0.55, tmp_path / "m.dqm"))
    events = subprocess.run([ROOT / "build" / "dq", "gen", "--count", "8000", "--seed", "4", "--start",
                             "2026-11-20T00:00:00Z"], capture_output=True, check=True).stdout.splitlines()
    runs = [dq.Engine(dq.Contract(CONTRACT), now="2026-11-26T00:00:00Z", model=model).evaluate(events).clean
            for _ in range(2)]
    assert runs[0] == runs[1]
    scored = [c for c in runs[0] if c and b'"score":' in c]
    assert len(scored) > 3000 and any(b'"flag":true' in c for c in scored)


def test_a_model_for_other_features_is_refused(tmp_path):
    forest = IsolationForest(n_estimators=5, random_state=0).fit(np.random.default_rng(0).normal(size=(300, 3)))
    model = dq.Model(export_iforest(forest, ["a", "b", "c"], 0.5, tmp_path / "m.dqm"))
    with pytest.raises(dq.DqError, match="not the contract's"):
        dq.Engine(dq.Contract(CONTRACT), model=model)


def test_a_models_flags_do_not_change_the_features_it_scores(features, tmp_path):
    """The stream's features are those training saw, whatever the model flags: a model that
    flags every reading (threshold 0) scores the features computed without any model. (Its
    flags once kept readings out of the running variance, so the stream drifted from them.)"""
    forest = IsolationForest(n_estimators=50, random_state=2).fit(features[:5000])
    model = dq.Model(export_iforest(forest, dq.Contract(CONTRACT).features, 0.0, tmp_path / "m.dqm"))
    events = subprocess.run([ROOT / "build" / "dq", "gen", "--count", "20000", "--seed", "5", "--start",
                             "2026-11-20T00:00:00Z"], capture_output=True, check=True).stdout.splitlines()
    rows = dq.Engine(dq.Contract(CONTRACT), now="2026-11-26T00:00:00Z").features(events)
    clean = dq.Engine(dq.Contract(CONTRACT), now="2026-11-26T00:00:00Z", model=model).evaluate(events).clean
    ours = [json.loads(c)["dq"]["anomaly"] for c, r in zip(clean, rows) if r is not None]
    assert len(ours) > 10000 and all(a["flag"] for a in ours)
    offline = np.array(model.score([r for r in rows if r is not None]))
    assert np.abs(np.array([a["score"] for a in ours]) - offline).max() <= 5e-5  # the annotation's 4 decimals


def test_a_forest_on_some_columns_exports_as_a_model_of_all_features(features, tmp_path):
    """ml/train.py fits forests on the level-free features only; the file names every feature
    of the contract and libdq scores as scikit-learn does on the columns it was fit on."""
    sys.path.insert(0, str(ROOT / "ml"))
    from train import level_free
    names = dq.Contract(CONTRACT).features
    columns = level_free(names)
    assert [names[c] for c in columns] == ["temperature.delta", "temperature.dev", "temperature.std",
                                          "humidity.delta", "humidity.dev", "humidity.std"]
    forest = IsolationForest(n_estimators=40, max_features=0.5, random_state=3).fit(features[:6000, columns])
    model = dq.Model(export_iforest(forest, names, 0.6, tmp_path / "m.dqm", columns))
    ours, theirs = np.array(model.score(features[6000:].tolist())), -forest.score_samples(features[6000:, columns])
    assert np.abs(ours - theirs).max() <= 1e-6 and np.ptp(theirs) > 0.1
    shifted = features[6000:].copy()
    shifted[:, [names.index("temperature.value"), names.index("humidity.value")]] += 40  # a new level
    assert model.score(shifted.tolist()) == model.score(features[6000:].tolist())


def train(tmp_path, defects: str, contract: Path = CONTRACT) -> tuple[dict, str, Path]:
    """ml/train.py without MLflow on 30k generated events: its summary, its log, its --out."""
    history, truth, out = tmp_path / "history.ndjson", tmp_path / "truth.csv", tmp_path / "model.dqm"
    history.write_bytes(subprocess.run([ROOT / "build" / "dq", "gen", "--count", "30000", "--seed", "31", "--start",
                                        "2026-11-01T00:00:00Z", "--defects", defects, "--truth", truth, "-q"],
                                       capture_output=True, check=True).stdout)
    done = subprocess.run([sys.executable, ROOT / "ml" / "train.py", "--history", history, "--truth", truth,
                           "--contract", contract, "--tracking-uri", "", "--out", out],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1]), done.stderr, out


def test_without_mlflow_a_winning_forest_is_written_for_dq_check(tmp_path):
    summary, log, out = train(tmp_path, "noise=0.0005")
    assert summary["champion"].startswith("iforest-") and summary["registered"] is None, log[-800:]
    assert summary["forest"]["f1"] > summary["baseline_online_z"]["f1"] and out.exists()
    checked = subprocess.run([ROOT / "build" / "dq", "check", "-c", CONTRACT, "--input", tmp_path / "history.ndjson",
                              "--model", out, "--clean", "/dev/null", "--summary", tmp_path / "summary.json"],
                             capture_output=True, text=True, check=True)
    totals = json.loads((tmp_path / "summary.json").read_text())
    assert 0.02 < totals["anomalies"] / totals["anomalies_scored"] < 0.5, (totals, checked.stderr)


def test_a_forest_no_better_than_chance_is_not_champion(tmp_path):
    """The generator's defects are in temperature: a contract scoring humidity alone cannot see
    them, and its forest's best training threshold flags nearly every reading."""
    contract = tmp_path / "humidity.yaml"
    contract.write_text(CONTRACT.read_text().replace("fields: [temperature, humidity]", "fields: [humidity]"))
    summary, log, out = train(tmp_path, "noise=0.0005", contract)
    assert summary["champion"] == "online-z" and not out.exists(), log[-800:]
    forest, chance = summary["forest"], summary["chance"]
    assert "is no better than chance" in log and (forest["f1"] <= chance["f1"] or forest["auc_pr"] <= chance["auc_pr"])
    assert forest["alarm_rate"] > 0.9  # the threshold of best training F1 flags (nearly) everything
