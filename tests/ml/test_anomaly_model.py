"""Anomaly models: libdq scores an exported scikit-learn IsolationForest exactly as
scikit-learn does, deterministically, on features libdq computed, and a Hotelling T² model as
numpy computes it; SKAB's evaluation of the Hotelling model chooses each group's control
limit without its labels (the ml venv runs these)."""
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
from export import export_hotelling, export_iforest  # noqa: E402

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


def test_a_hotelling_model_on_some_columns_scores_as_numpy(features, tmp_path):
    """T² of the level-free columns with Ledoit-Wolf's covariance, as libdq scores it in dq.Model
    and in an engine (dq check --model): the other features count for nothing."""
    from sklearn.covariance import LedoitWolf
    names = dq.Contract(CONTRACT).features
    columns = [names.index(n) for n in ("temperature.dev", "temperature.delta", "humidity.dev")]
    fit = LedoitWolf().fit(features[:6000, columns])
    test = features[6000:]
    d = test[:, columns] - fit.location_
    theirs = np.einsum("ij,jk,ik->i", d, fit.precision_, d)
    limit = float(np.quantile(theirs, 0.99))
    model = dq.Model(export_hotelling(fit.location_, fit.precision_, limit, names, tmp_path / "t2.dqm", columns))
    ours = np.array(model.score(test.tolist()))
    assert model.threshold == limit and np.ptp(theirs) > 10
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-9)
    shifted = test.copy()
    shifted[:, names.index("temperature.value")] += 40
    assert model.score(shifted.tolist()) == ours.tolist()
    # In a stream: each scored reading's annotation holds its score (4 decimals) and flag.
    events = subprocess.run([ROOT / "build" / "dq", "gen", "--count", "10000", "--seed", "6", "--start",
                             "2026-11-20T00:00:00Z"], capture_output=True, check=True).stdout.splitlines()
    rows = dq.Engine(dq.Contract(CONTRACT), now="2026-11-26T00:00:00Z").features(events)
    clean = dq.Engine(dq.Contract(CONTRACT), now="2026-11-26T00:00:00Z", model=model).evaluate(events).clean
    stream = [json.loads(c)["dq"]["anomaly"] for c, r in zip(clean, rows) if r is not None]
    offline = model.score([r for r in rows if r is not None])
    assert len(stream) > 5000 and 0.002 < sum(a["flag"] for a in stream) / len(stream) < 0.1
    assert all(abs(a["score"] - o) <= 5e-5 and a["flag"] == (o >= limit) for a, o in zip(stream, offline))


def skab_like(folder: Path, seed: int = 5) -> None:
    """Files as SKAB's (8 channels a second, `anomaly` labels, ';'-separated) in its three
    groups: correlated noise, and after the 400 training points stretches where two channels
    shift by a few of their standard deviations."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(8, 8))
    for group in ("valve1", "valve2", "other"):
        (folder / group).mkdir(parents=True)
        for k in range(2):
            X = rng.normal(size=(1000, 8)) @ mix + 50
            y = np.zeros(1000, dtype=bool)
            for start in rng.choice(np.arange(450, 900, 60), size=4, replace=False):
                y[start:start + 40] = True
                X[start:start + 40, [1, 5]] += 4 * X[:400, [1, 5]].std(axis=0)
            lines = ["datetime;A;B;C;D;E;F;G;H;anomaly;changepoint"]
            lines += [f"2020-01-01 00:{i // 60:02}:{i % 60:02};" + ";".join(f"{v:.4f}" for v in row) + f";{float(a)};0.0"
                      for i, (row, a) in enumerate(zip(X, y))]
            (folder / group / f"{k}.csv").write_text("\n".join(lines) + "\n")


def test_skab_hotelling_chooses_each_groups_limit_without_its_labels(tmp_path):
    import evaluate
    skab_like(tmp_path / "skab")
    (row, ), multiples = evaluate.skab_hotelling(tmp_path / "skab", 0.05)
    assert set(multiples) == {"valve1", "valve2", "other"}
    assert row[1] == "hotelling-t2" and row[2]["f1"] > 0.8 and row[2]["far"] < 0.05, row
    # valve1's labels turned upside down: its own limit is chosen on the others, so it stays
    for path in (tmp_path / "skab" / "valve1").glob("*.csv"):
        lines = path.read_text().splitlines()
        path.write_text("\n".join([lines[0]] + [line[:-8] + (";0.0;0.0" if line.endswith(";1.0;0.0") else ";1.0;0.0")
                                                 for line in lines[1:]]) + "\n")
    _, flipped = evaluate.skab_hotelling(tmp_path / "skab", 0.05)
    assert flipped["valve1"] == multiples["valve1"]


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
