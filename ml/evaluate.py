"""`make eval-anomaly`: how well the anomaly detectors find labelled anomalies, on the
generator's ground truth and on real labelled data nobody here wrote.

* generator: `dq gen --truth` history; libdq's features; an isolation forest trained on the
  earlier 70 % (on the level-free features, as ml/train.py fits it), the online detector; precision, recall, F1 per injected anomaly type.
* the contract's sensor-fault rules (spike, stuck, noise, bias, drift) on the generator's
  faults at 1 s, 10 s, 60 s and 5 min: recall per fault and precision per rule, from `dq score`.
* Suthaharan et al. (TelosB motes, temperature and humidity, `label` = introduced event):
  replayed through `dq gen --replay --format suthaharan`, so each labelled reading meets the
  contract's rules first; a reading counts as found when libdq rejects it or a detector
  flags it. Forest trained on the earlier half of the scored readings.
* SKAB (a water-circulation testbed, 8 channels at 1 Hz): the protocol of its leaderboard,
  per file the first 400 points to train, the rest to test, point-wise F1, false and missed
  alarm rates; an isolation forest on the 8 channels, scored by libdq from the exported
  model (equal to scikit-learn's scores), against the published IsolationForest F1 0.29;
  and a Hotelling T² model of the 8 channels' trailing 5-reading means (libdq scores it),
  flagged at m times its training maximum.

Thresholds never look at the labels of the data they judge: the --alarm-rate quantile of
the training scores (the forest), the contract's (the online detector's threshold or alarm
budget), and for SKAB's Hotelling model an m chosen on the other groups of SKAB's files
(valve1, valve2, other: leave one group out) as the best F1 there with false alarms within
--far-budget. AUC-PR needs none.
Results go to MLflow (experiment anomaly-eval) when --tracking-uri answers.

usage: evaluate.py DQ_BIN [--data data] [--events N] [--tracking-uri URI]
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ml"))
import dq  # noqa: E402
from dq.stack import MLFLOW_URI, mlflow_login  # noqa: E402
from export import export_hotelling, export_iforest  # noqa: E402
from train import ANOMALY_TYPES, CONTRACT, features, level_free, load_truth  # noqa: E402


def report(y: np.ndarray, score: np.ndarray, flagged: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, precision_recall_fscore_support
    p, r, f1, _ = precision_recall_fscore_support(y, flagged, average="binary", zero_division=0)
    out = {"precision": p, "recall": r, "f1": f1, "far": float(flagged[~y].mean()) if (~y).any() else 0.0,
           "mar": float(1 - r), "positives": int(y.sum()), "n": len(y)}
    out["auc_pr"] = float(average_precision_score(y, score)) if y.any() else float("nan")
    return {k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in out.items()}


def forest_scores(train: np.ndarray, test: np.ndarray, names: list[str], alarm_rate: float,
                  columns: list[int] | None = None, seed: int = 0):
    """Fits a forest on the columns of train (all by default), exports it, and scores test
    with libdq: (scores, threshold)."""
    from sklearn.ensemble import IsolationForest
    columns = list(range(len(names))) if columns is None else columns
    forest = IsolationForest(n_estimators=100, random_state=seed).fit(train[:, columns])
    threshold = float(np.quantile(-forest.score_samples(train[:, columns]), 1 - alarm_rate))
    with tempfile.TemporaryDirectory() as work:  # libdq reads the file whole
        model = dq.Model(export_iforest(forest, names, threshold, Path(work) / "model.dqm", columns))
    scores = np.array(model.score(test.tolist()))
    assert np.abs(scores + forest.score_samples(test[:, columns])).max() <= 1e-6
    return scores, threshold


def libdq_forest_scores(train: np.ndarray, test: np.ndarray, alarm_rate: float):
    """A forest on libdq's features as ml/train.py fits it: the level-free ones."""
    names = dq.Contract(CONTRACT).features
    return forest_scores(train, test, names, alarm_rate, level_free(names))


def generated(dq_bin: str, events: int, alarm_rate: float) -> list[tuple[str, str, dict]]:
    with tempfile.TemporaryDirectory() as work:
        truth_csv = Path(work) / "truth.csv"
        data = subprocess.run([dq_bin, "gen", "--count", str(events), "--seed", "17", "--start", "2026-01-01T00:00:00Z",
                               "--truth", truth_csv], capture_output=True, check=True).stdout.splitlines()
        truth = load_truth(truth_csv)
    X, lines, online, _ = features(data, int(time.time() * 1000))
    kinds = np.array([truth.get(int(n), "none") for n in lines])
    cut = int(len(X) * 0.7)
    forest, threshold = libdq_forest_scores(X[:cut], X[cut:], alarm_rate)
    out = []
    for name, score, flagged in [("online-z", online[cut:], online[cut:] >= dq.ONLINE_FLAG_SCORE),
                                 ("isolation-forest", forest, forest >= threshold)]:
        for kind in ANOMALY_TYPES + ("all",):
            y = np.isin(kinds[cut:], ANOMALY_TYPES) if kind == "all" else kinds[cut:] == kind
            keep = (kinds[cut:] == kind) | ~np.isin(kinds[cut:], ANOMALY_TYPES) if kind != "all" else slice(None)
            out.append((f"generator: {kind}", name, report(y[keep], score[keep], flagged[keep])))
    return out


# Four days of readings at each cadence, the faults from the third day on (the drift rule
# learns each sensor's day first); the fewer sensors the shorter their interval, ~1M events.
CADENCES = {"1s": (3, 1), "10s": (30, 10), "60s": (150, 60), "5m": (600, 300)}  # sensors, seconds
FAULT_RULES = {"spike": "SPIKE", "stuck": "STUCK_VALUE", "noise": "NOISE", "bias": "BIAS", "drift": "DRIFT"}


def fault_rules(dq_bin: str) -> list[tuple[str, str, str, float, float]]:
    """(cadence, fault, rule, recall, precision) of the contract's rules on the generator's faults."""
    out = []
    for cadence, (sensors, seconds) in CADENCES.items():
        with tempfile.TemporaryDirectory() as work:
            events, truth, clean, rejects = (Path(work) / name for name in ("e.ndjson", "t.csv", "c.ndjson", "r.ndjson"))
            with events.open("wb") as f:
                subprocess.run([dq_bin, "gen", "--sensors", str(sensors), "--count", str(sensors * 4 * 86400 // seconds),
                                "--interval", cadence, "--warm-up", "2d", "--seed", "17", "--start", "2026-01-01T00:00:00Z",
                                "--defects", "none,spike=0.001,stuck=0.0002,noise=0.0001,bias=0.0001,drift=0.0001",
                                "--truth", truth, "-q"], stdout=f, check=True)
            subprocess.run([dq_bin, "check", "-q", "-c", CONTRACT, "-i", events, "--now", "2026-01-06T00:00:00Z",
                            "--clean", clean, "--rejects", rejects], check=True)
            scores = json.loads(subprocess.run([dq_bin, "score", "--truth", truth, "--rejects", rejects, "--clean", clean,
                                                "--json"], capture_output=True, check=True).stdout)
        out += [(cadence, fault, rule, scores["recall"].get(fault, float("nan")),
                 scores["precision"].get(rule, float("nan"))) for fault, rule in FAULT_RULES.items()]
    return out


def suthaharan(dq_bin: str, folder: Path, alarm_rate: float,
               parts: tuple[str, ...] = ("single_hop", "multi_hop")) -> list[tuple[str, str, dict]]:
    out = []
    for part in parts:
        with tempfile.TemporaryDirectory() as work:
            truth_csv = Path(work) / "truth.csv"
            data = subprocess.run([dq_bin, "gen", "--replay", folder / part / "data.csv", "--format", "suthaharan",
                                   "--start", "2026-01-01T00:00:00Z", "--truth", truth_csv],
                                  capture_output=True, check=True).stdout.splitlines()
            truth = load_truth(truth_csv)
        labelled = np.array([truth.get(i + 1) == "labelled_anomaly" for i in range(len(data))])
        now = int(time.time() * 1000)
        verdicts = dq.Engine(dq.Contract(CONTRACT), now=now).evaluate(data).verdicts
        rejected = np.array([v == "REJECT" for v in verdicts])
        X, lines, online, _ = features(data, now)
        idx = lines - 1
        half = len(X) // 2
        forest, threshold = libdq_forest_scores(X[:half], X, alarm_rate)
        # Every reading of the later half of the stream is judged: rejected by the rules,
        # flagged by the detector, or neither (also those not scored: warm-up, imputed).
        later = np.arange(len(data)) >= (idx[half] if half < len(idx) else len(data))
        for name, score, flagged in [("online-z", online, online >= dq.ONLINE_FLAG_SCORE),
                                     ("isolation-forest", forest, forest >= threshold)]:
            found, full_score = rejected.copy(), np.where(rejected, np.inf, -np.inf)
            found[idx] |= flagged
            full_score[idx] = np.where(rejected[idx], np.inf, score)
            out.append((f"Suthaharan {part}: rules + detector", name,
                        report(labelled[later], np.nan_to_num(full_score[later], posinf=1e9, neginf=-1e9),
                               found[later])))
    return out


SKAB_TRAIN = 400  # the leaderboard's split: each file's first 400 points train


def skab_series(folder: Path) -> list[tuple[str, list[str], np.ndarray, np.ndarray]]:
    """Per SKAB file (the anomaly-free ones left out): its group (the folder: valve1, valve2,
    other), its channels' names, their readings (a row per second) and the labels."""
    out = []
    for path in sorted(folder.glob("*/*.csv")):
        if path.parent.name == "anomaly-free":
            continue
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter=";"))
        channels = [c for c in rows[0] if c not in ("datetime", "anomaly", "changepoint")]
        X = np.array([[float(r[c]) for c in channels] for r in rows])
        y = np.array([float(r["anomaly"]) == 1 for r in rows])
        out.append((path.parent.name, [c.replace(" ", "_") for c in channels], X, y))
    return out


def skab_files(folder: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per SKAB file (the anomaly-free ones left out), as its leaderboard splits it: the
    forest's scores of the first 400 points (its training), of the rest, and the rest's labels.
    A threshold is then a quantile of the training scores, whatever alarm rate it stands for."""
    out = []
    for _, names, X, y in skab_series(folder):
        score, _ = forest_scores(X[:SKAB_TRAIN], X, names, 0.01)
        out.append((score[:SKAB_TRAIN], score[SKAB_TRAIN:], y[SKAB_TRAIN:]))
    return out


def skab_flags(files: list[tuple[np.ndarray, np.ndarray, np.ndarray]], alarm_rate: float) -> np.ndarray:
    """Each file's test points flagged at the alarm_rate quantile of its own training scores."""
    return np.concatenate([test >= np.quantile(train, 1 - alarm_rate) for train, test, _ in files])


def skab(folder: Path, alarm_rate: float) -> list[tuple[str, str, dict]]:
    files = skab_files(folder)
    y, score = np.concatenate([f[2] for f in files]), np.concatenate([f[1] for f in files])
    return [(f"SKAB ({len(files)} files, first 400 points of each to train)", "isolation-forest",
             report(y, score, skab_flags(files, alarm_rate)))]


SKAB_MEAN_OF = 5  # readings in the trailing mean the Hotelling model sees
SKAB_MULTIPLES = np.arange(1, 15.001, 0.25)  # control limits tried: m x the training maximum


def trailing_mean(X: np.ndarray, k: int) -> np.ndarray:
    """Each row's mean with the k - 1 rows before it (fewer at the start): what a stream knows."""
    sums = np.cumsum(np.vstack([np.zeros((1, X.shape[1])), X]), axis=0)
    i = np.arange(len(X))
    first = np.maximum(0, i - k + 1)
    return (sums[i + 1] - sums[first]) / (i + 1 - first)[:, None]


def hotelling_scores(train: np.ndarray, test: np.ndarray, names: list[str]) -> np.ndarray:
    """A Hotelling T² model of train (Ledoit-Wolf's shrunk covariance: with 400 points of
    correlated channels the plain one's inverse amplifies its noise), exported and scored by
    libdq on test."""
    from sklearn.covariance import LedoitWolf
    fit = LedoitWolf().fit(train)
    with tempfile.TemporaryDirectory() as work:  # libdq reads the file whole
        path = export_hotelling(fit.location_, fit.precision_, 0.0, names, Path(work) / "model.dqm")
        model = dq.Model(path)
    scores = np.array(model.score(test.tolist()))
    d = test - fit.location_
    assert np.allclose(scores, np.einsum("ij,jk,ik->i", d, fit.precision_, d), rtol=1e-9, atol=1e-9)
    return scores


def skab_hotelling(folder: Path, far_budget: float) -> tuple[list[tuple[str, str, dict]], dict[str, float]]:
    """SKAB's files through a Hotelling T² model each (trained on its first 400 trailing
    means), a point flagged at m x the model's largest training score. m for each group of
    files (valve1, valve2, other) is chosen on the two other groups: the best F1 among the m
    whose false alarms stay within far_budget there. -> (the table's row, m per group)."""
    files = []  # (group, largest training score, test scores, test labels)
    for group, names, X, y in skab_series(folder):
        means = trailing_mean(X, SKAB_MEAN_OF)
        scores = hotelling_scores(means[:SKAB_TRAIN], means, names)
        files.append((group, scores[:SKAB_TRAIN].max(), scores[SKAB_TRAIN:], y[SKAB_TRAIN:]))
    groups = sorted({f[0] for f in files})
    if len(groups) < 2:
        raise SystemExit(f"eval: SKAB's files in {folder} form {len(groups)} group(s): choosing m needs two")

    def flags(chosen, m):
        return np.concatenate([test >= m * top for _, top, test, _ in chosen])

    def labels(chosen):
        return np.concatenate([y for *_, y in chosen])

    from sklearn.metrics import f1_score
    multiples = {}
    for held in groups:
        others = [f for f in files if f[0] != held]
        y = labels(others)
        within = []  # (F1 on the other groups, m) of each m whose false alarms there stay in the budget
        for m in SKAB_MULTIPLES:
            flagged = flags(others, m)
            if flagged[~y].mean() <= far_budget:
                within.append((f1_score(y, flagged, zero_division=0), m))
        # the smallest m of the best F1; without any in the budget, the strictest
        multiples[held] = float(max(within, key=lambda fm: fm[0])[1] if within else SKAB_MULTIPLES[-1])
    flagged = np.concatenate([test >= multiples[g] * top for g, top, test, _ in files])
    relative = np.concatenate([test / top for _, top, test, _ in files])  # comparable across files, for AUC-PR
    row = (f"SKAB ({len(files)} files): Hotelling T² of {SKAB_MEAN_OF}-reading means, m by group",
           "hotelling-t2", report(labels(files), relative, flagged))
    return [row], multiples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dq")
    ap.add_argument("--data", type=Path, default=ROOT / "data", help="the data sets of `make data` (default: data)")
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--alarm-rate", type=float, default=0.01)
    ap.add_argument("--far-budget", type=float, default=0.05,
                    help="SKAB's Hotelling model: the false-alarm rate its control limit may cost on the other groups")
    ap.add_argument("--tracking-uri", default=MLFLOW_URI, help="MLflow; '' not to log")
    args = ap.parse_args()

    results = generated(args.dq, args.events, args.alarm_rate)
    if (args.data / "suthaharan").is_dir():
        results += suthaharan(args.dq, args.data / "suthaharan", args.alarm_rate)
    else:
        print(f"eval: no {args.data}/suthaharan, skipped: `make data` fetches it", file=sys.stderr)
    have_skab = (args.data / "skab").is_dir()
    if have_skab:
        results += skab(args.data / "skab", args.alarm_rate)
        hotelling, multiples = skab_hotelling(args.data / "skab", args.far_budget)
        results += hotelling
    else:
        print(f"eval: no {args.data}/skab, skipped: `make data` fetches it", file=sys.stderr)

    print("\n| data set | detector | precision | recall | F1 | AUC-PR | FAR % | MAR % | positives / n |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for data, name, r in results:
        print(f"| {data} | {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['auc_pr']:.3f} | "
              f"{100 * r['far']:.2f} | {100 * r['mar']:.2f} | {r['positives']:,} / {r['n']:,} |")
    if have_skab:
        print("\nSKAB's leaderboard: Isolation forest F1 0.29, FAR 2.56 %, MAR 82.89 % (SKAB's README); none of its "
              "detectors has F1 >= 0.5 at FAR <= 5 %.")
        print("SKAB's Hotelling model, m (control limit / training maximum) chosen on the other groups: "
              + ", ".join(f"{g} {m:g}" for g, m in multiples.items()))

    rules = fault_rules(args.dq)
    print("\nThe contract's sensor-fault rules on the generator's faults (recall: stuck and drift per episode):\n")
    print("| cadence | fault | rule | recall | precision |")
    print("|---|---|---|---:|---:|")
    for cadence, fault, rule, recall, precision in rules:
        print(f"| {cadence} | {fault} | {rule} | {recall:.3f} | {precision:.3f} |")

    if not args.tracking_uri:
        return
    try:
        import mlflow
        import requests
        requests.get(args.tracking_uri + "/health", timeout=2).raise_for_status()
    except Exception:
        print(f"eval: MLflow at {args.tracking_uri} does not answer; results not logged", file=sys.stderr)
        return
    mlflow_login()
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment("anomaly-eval")
    for data, name, r in results:
        with mlflow.start_run(run_name=f"{data} / {name}"):
            mlflow.log_params({"data": data, "detector": name, "alarm_rate": args.alarm_rate})
            mlflow.log_metrics({k: v for k, v in r.items() if v == v})
    for cadence, fault, rule, recall, precision in rules:
        with mlflow.start_run(run_name=f"generator at {cadence}: {fault} / {rule}"):
            mlflow.log_params({"data": f"generator at {cadence}: {fault}", "detector": rule})
            mlflow.log_metrics({k: v for k, v in (("recall", recall), ("precision", precision)) if v == v})
    print(f"eval: {len(results) + len(rules)} runs logged to MLflow, experiment anomaly-eval", file=sys.stderr)


if __name__ == "__main__":
    main()
