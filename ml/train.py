"""Trains anomaly detectors on sensor history, tracks them in MLflow, and registers an
isolation forest only where it beats the online detector the stream runs without one.

    history (NDJSON events, or Cassandra sensor_data)
      --> libdq features per event (dq.Engine.features: the numbers the stream will see)
      --> earlier 70 % to train, later 30 % to validate
      --> detectors: scikit-learn IsolationForest (a small grid) on the features that mean the
          same at every level (changes, deviations, scatter: not the value, not the time of
          day), and two baselines: libdq's online detector (no training: running mean and std
          per sensor, its alarm budget) and a seasonal robust one (median and MAD per sensor
          and hour of day, learned)
      --> MLflow (unless --tracking-uri ''): one run per detector with parameters, validation
          metrics, a score plot; the forests with their scikit-learn model and the exported
          libdq model file
      --> the best forest (validation F1, else AUC-PR), if its validation F1 beats the online
          detector's (and chance's): registered as --model-name with alias --alias, and written to --out for
          `dq gate --model`, `dq check --model`. Otherwise the online detector stays champion:
          the alias and --out are left as they were.

Labels (`dq gen --truth FILE`) mark the readings the generator made anomalous on purpose among
those libdq scores (spike, stuck, noise and bias readings pass validation with a warning); a
forest's threshold is then the training score with the best F1 on the training labels. Without
labels it is the --alarm-rate quantile of the training scores, only unsupervised numbers are
logged, and nothing is registered: nothing shows that the forest beats the online detector.

usage: train.py --history FILE [--truth FILE] | --from-cassandra [--days N] [--sensors N] [--max-events N]
                [--contract FILE] [--tracking-uri URI|''] [--experiment NAME] [--model-name NAME]
                [--alias NAME] [--alarm-rate R] [--grid 100x256,200x512] [--out FILE]
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import csv
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ml"))
import dq  # noqa: E402
from dq.stack import MLFLOW_URI, mlflow_login  # noqa: E402
from export import export_iforest  # noqa: E402

CONTRACT = ROOT / "contracts" / "sensor_readings.yaml"
ANOMALY_TYPES = ("spike", "stuck", "noise", "bias")  # generator defects that pass validation and a detector should see
GRID = [{"n_estimators": 100, "max_samples": 256}, {"n_estimators": 200, "max_samples": 512}]


READING_COLUMNS = ("temperature", "humidity", "pressure", "battery", "location", "status")


def history_from_cassandra(days: int, sensors: int, max_events: int) -> list[bytes]:
    """The live pipeline's readings (sensor_data) of the first `sensors` sensor ids (in name
    order) over the last `days` days, at most max_events in all (the newest of each sensor and
    day), as events in time order. Rows hold readings the pipeline accepted: no labels."""
    from cassandra.concurrent import execute_concurrent_with_args
    from dq.stack import cassandra_session
    cluster, session = cassandra_session()
    since = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=days - 1)
    partitions = [(r.sensor_id, r.day.date()) for r in session.execute("SELECT DISTINCT sensor_id, day FROM sensor_data")
                  if r.day.date() >= since]
    chosen = set(sorted({sensor for sensor, _ in partitions})[:sensors])
    partitions = [(sensor, day) for sensor, day in partitions if sensor in chosen]
    query = session.prepare(f"SELECT sensor_id, ts, {', '.join(READING_COLUMNS)} FROM sensor_data "
                            "WHERE sensor_id = ? AND day = ? LIMIT ?")  # newest first: the table's order
    limit = max(1, max_events // max(1, len(partitions)))
    results = execute_concurrent_with_args(session, query, [(s, d, limit) for s, d in partitions], concurrency=16)
    rows = [row for _, result in results for row in result]
    cluster.shutdown()
    rows.sort(key=lambda r: r.ts)
    return [json.dumps({"sensor_id": r.sensor_id, "timestamp": r.ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                        **{c: getattr(r, c) for c in READING_COLUMNS if getattr(r, c) is not None}}).encode()
            for r in rows]


def features(events: list[bytes], now_ms: int, contract_path: Path = CONTRACT
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """libdq's features of the scored events, their line numbers (1-based), the online
    detector's score (flagged at dq.ONLINE_FLAG_SCORE) and the key (sensor id) of each, under
    the contract at contract_path."""
    contract = dq.Contract(contract_path)
    rows = dq.Engine(contract, now=now_ms).features(events)
    lines = np.array([i + 1 for i, r in enumerate(rows) if r is not None])
    X = np.array([r for r in rows if r is not None]).reshape(-1, len(contract.features))
    # The online detector's score, from the same engine logic: the "dq" annotation of clean events.
    res = dq.Engine(contract, now=now_ms).evaluate(events)
    clean = [json.loads(res.clean[i - 1]) for i in lines]
    online = np.array([c["dq"]["anomaly"]["score"] for c in clean])
    key = next(f["name"] for f in contract.fields if f["primaryKey"])
    return X, lines, online, np.array([c[key] for c in clean])


class SeasonalBaseline:
    """Median and MAD of each field's value per sensor and hour of day, learned from history;
    a reading's score is its largest robust z, |value - median| / (1.4826 MAD). Hours with
    fewer than 5 readings of a sensor fall back to the sensor's whole day."""

    def __init__(self, n_fields: int):
        self.n_fields = n_fields

    @staticmethod
    def _hours(X: np.ndarray) -> np.ndarray:  # from the time.sin / time.cos features
        return (np.floor(np.arctan2(X[:, -2], X[:, -1]) % (2 * np.pi) / (2 * np.pi) * 24)).astype(int) % 24

    def fit(self, X: np.ndarray, sensors: np.ndarray) -> "SeasonalBaseline":
        values = X[:, [4 * f for f in range(self.n_fields)]]  # f.value of every anomaly field
        self.table = {}
        hours = self._hours(X)
        for key in set(zip(sensors, hours)) | {(s, None) for s in set(sensors)}:
            rows = values[(sensors == key[0]) & ((hours == key[1]) if key[1] is not None else True)]
            if len(rows) >= 5:
                med = np.median(rows, axis=0)
                self.table[key] = (med, 1.4826 * np.median(np.abs(rows - med), axis=0) + 1e-3)
        return self

    def score(self, X: np.ndarray, sensors: np.ndarray) -> np.ndarray:
        values, hours = X[:, [4 * f for f in range(self.n_fields)]], self._hours(X)
        out = np.zeros(len(X))
        for i, (sensor, hour) in enumerate(zip(sensors, hours)):
            med_mad = self.table.get((sensor, hour)) or self.table.get((sensor, None))
            out[i] = np.max(np.abs(values[i] - med_mad[0]) / med_mad[1]) if med_mad else 0.0
        return out


def parse_grid(text: str) -> list[dict]:
    """'100x256,200x512': forests of 100 trees of 256 samples each, and of 200 of 512."""
    try:
        return [{"n_estimators": int(t), "max_samples": int(m)} for t, m in
                (point.strip().split("x") for point in text.split(","))]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected TREESxSAMPLES,... such as 100x256,200x512") from None


def level_free(names: list[str]) -> list[int]:
    """The features that mean the same at any level: each field's change since its last reading,
    its deviation from the sensor's running mean and the sensor's scatter. Not the value itself
    nor the time of day: a forest that splits on them finds a level, or an hour, that its
    training did not cover anomalous, however normal the reading."""
    return [i for i, n in enumerate(names) if not n.endswith(".value") and not n.startswith("time.")]


def forest_threshold(train_score: np.ndarray, y_train: np.ndarray | None, alarm_rate: float) -> float:
    """The score at which a forest flags: with labels, the training score of best F1 on them
    (the validation split judges it); without, the alarm_rate quantile of the training scores."""
    if y_train is None or not y_train.any():
        return float(np.quantile(train_score, 1 - alarm_rate))
    from sklearn.metrics import precision_recall_curve
    precision, recall, thresholds = precision_recall_curve(y_train, train_score)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


class Untracked:
    """Stands in for mlflow with --tracking-uri '': runs are named, nothing is logged."""

    @staticmethod
    def start_run(run_name: str):
        return contextlib.nullcontext(SimpleNamespace(info=SimpleNamespace(run_name=run_name, run_id=None)))

    def __getattr__(self, name: str):  # log_params, log_metrics, log_metric, log_artifact
        return lambda *args, **kwargs: None


def load_truth(path: Path) -> dict[int, str]:
    with open(path, newline="") as f:
        return {int(r["line"]): r["defect"] for r in csv.DictReader(f)}


def scores_report(y: np.ndarray | None, score: np.ndarray, threshold: float) -> dict:
    """Precision, recall, F1 at the threshold and AUC-PR (average precision); alarm rate always."""
    from sklearn.metrics import average_precision_score, precision_recall_fscore_support
    flagged = score >= threshold
    out = {"alarm_rate": float(flagged.mean())}
    if y is not None and y.any():
        p, r, f1, _ = precision_recall_fscore_support(y, flagged, average="binary", zero_division=0)
        out.update(precision=float(p), recall=float(r), f1=float(f1), auc_pr=float(average_precision_score(y, score)))
    return out


def plot_scores(score: np.ndarray, y: np.ndarray | None, threshold: float, title: str, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.linspace(score.min(), score.max(), 60)
    if y is not None:
        ax.hist(score[~y], bins=bins, alpha=0.6, label="normal", log=True)
        ax.hist(score[y], bins=bins, alpha=0.8, label="labelled anomaly", log=True)
    else:
        ax.hist(score, bins=bins, log=True, label="all")
    ax.axvline(threshold, color="k", linestyle="--", label="threshold")
    ax.set_title(title)
    ax.set_xlabel("score")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--history", type=Path, help="NDJSON events, in stream order")
    src.add_argument("--from-cassandra", action="store_true", help="sensor_data of the last --days days")
    ap.add_argument("--contract", type=Path, default=CONTRACT,
                    help="the data contract whose anomaly section gives the features (default: the course's)")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--sensors", type=int, default=100, help="--from-cassandra: the first N sensors by id")
    ap.add_argument("--max-events", type=int, default=300_000,
                    help="--from-cassandra: at most this many readings, the newest of each sensor and day")
    ap.add_argument("--truth", type=Path, help="dq gen --truth file of --history: line,sensor_id,defect")
    ap.add_argument("--tracking-uri", default=MLFLOW_URI,
                    help="MLflow; '' to train without it (nothing logged or registered, --out still written)")
    ap.add_argument("--experiment", default="sensor-anomaly")
    ap.add_argument("--model-name", default="sensor-anomaly-iforest")
    ap.add_argument("--alias", default="champion")
    ap.add_argument("--alarm-rate", type=float, default=0.01,
                    help="without labels: share of training readings above a forest's threshold")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid", type=parse_grid, default=GRID, metavar="TREESxSAMPLES,...",
                    help="the forests to try (default: " + ",".join(f"{g['n_estimators']}x{g['max_samples']}"
                                                                   for g in GRID) + ")")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "sensor-anomaly.dqm")
    args = ap.parse_args()

    from sklearn.ensemble import IsolationForest
    if args.tracking_uri:
        import mlflow
        import mlflow.sklearn
        mlflow_login()
        mlflow.set_tracking_uri(args.tracking_uri)
        mlflow.set_experiment(args.experiment)
        tracking = mlflow
    else:
        tracking = Untracked()

    events = (args.history.read_bytes().splitlines() if args.history else history_from_cassandra(args.days, args.sensors, args.max_events))
    print(f"train: {len(events):,} events; libdq features ...", file=sys.stderr)
    X, lines, online, sensors = features(events, int(time.time() * 1000), args.contract)
    truth = load_truth(args.truth) if args.truth else None
    y = np.array([truth.get(int(n)) in ANOMALY_TYPES for n in lines]) if truth else None
    kinds = np.array([truth.get(int(n), "none") for n in lines]) if truth else None
    cut = int(len(X) * 0.7)
    if cut < 100 or len(X) - cut < 50:
        sys.exit(f"train: {len(X)} scored readings is too little history (each sensor needs its warm-up first)")
    y_train, y_val = (y[:cut], y[cut:]) if y is not None else (None, None)
    print(f"train: {cut:,} readings to train, {len(X) - cut:,} to validate"
          + (f", {int(y_val.sum())} labelled anomalies among them" if y_val is not None else ""), file=sys.stderr)

    contract = dq.Contract(args.contract)
    columns = level_free(contract.features)
    X_train, X_val = X[:cut, columns], X[cut:, columns]
    common = {"contract": f"{contract.id}:{contract.version}", "train_readings": cut,
              "validation_readings": len(X) - cut, "features": ",".join(contract.features)}
    work = Path(tempfile.mkdtemp())  # plots and model files, until MLflow or --out has them
    atexit.register(shutil.rmtree, work, ignore_errors=True)

    def per_type(flagged: np.ndarray) -> dict:
        if kinds is None:
            return {}
        val_kinds = kinds[cut:]
        return {f"recall_{k}": float(flagged[val_kinds == k].mean()) for k in ANOMALY_TYPES if (val_kinds == k).any()}

    # The baseline: libdq's online detector, as configured in the contract (no training).
    with tracking.start_run(run_name="online-z (libdq, no training)"):
        threshold = dq.ONLINE_FLAG_SCORE  # the score the annotation reports: z / (z + the sensor's threshold)
        tracking.log_params({**common, "detector": "online-z", "z_threshold": contract.anomaly_threshold})
        baseline = {**scores_report(y_val, online[cut:], threshold), **per_type(online[cut:] >= threshold)}
        tracking.log_metrics(baseline)
        tracking.log_artifact(str(plot_scores(online[cut:], y_val, threshold, "online z", work / "online-z.png")))
        print(f"train: online-z {json.dumps(baseline)}", file=sys.stderr)

    with tracking.start_run(run_name="seasonal median (per sensor and hour of day)"):
        seasonal = SeasonalBaseline(len(contract.features) // 4).fit(X[:cut], sensors[:cut])
        threshold = float(np.quantile(seasonal.score(X[:cut], sensors[:cut]), 1 - args.alarm_rate))
        val_score = seasonal.score(X[cut:], sensors[cut:])
        seasonal_report = {**scores_report(y_val, val_score, threshold), **per_type(val_score >= threshold)}
        tracking.log_params({**common, "detector": "seasonal-median", "alarm_rate": args.alarm_rate,
                             "threshold": threshold})
        tracking.log_metrics(seasonal_report)
        tracking.log_artifact(str(plot_scores(val_score, y_val, threshold, "seasonal median", work / "seasonal.png")))
        print(f"train: seasonal-median {json.dumps(seasonal_report)}", file=sys.stderr)

    best, forests = None, {}  # run name: validation F1
    for params in args.grid:
        with tracking.start_run(run_name=f"iforest-{params['n_estimators']}x{params['max_samples']}") as run:
            t0 = time.perf_counter()
            forest = IsolationForest(**params, random_state=args.seed).fit(X_train)
            fit_s = time.perf_counter() - t0
            threshold = forest_threshold(-forest.score_samples(X_train), y_train, args.alarm_rate)
            val_score = -forest.score_samples(X_val)
            report = {**scores_report(y_val, val_score, threshold), **per_type(val_score >= threshold),
                      "fit_seconds": fit_s}
            tracking.log_params({**common, "detector": "isolation-forest", **params, "alarm_rate": args.alarm_rate,
                                 "threshold": threshold, "seed": args.seed,
                                 "forest_features": ",".join(contract.features[c] for c in columns)})
            tracking.log_metrics(report)
            tracking.log_artifact(str(plot_scores(val_score, y_val, threshold, run.info.run_name, work / "scores.png")))
            exported = export_iforest(forest, contract.features, threshold, work / "model.dqm", columns)
            # The exported model must score as scikit-learn does before anyone relies on it.
            gap = float(np.abs(np.array(dq.Model(exported).score(X[cut:].tolist())) - val_score).max())
            if gap > 1e-6:
                sys.exit(f"train: the exported model differs from scikit-learn by {gap}")
            tracking.log_metric("export_max_abs_diff", gap)
            tracking.log_artifact(str(exported), artifact_path="dq_model")
            model_uri = (mlflow.sklearn.log_model(forest, name="model", input_example=X_val[:5]).model_uri
                         if args.tracking_uri else None)
            print(f"train: {run.info.run_name} {json.dumps(report)}", file=sys.stderr)
            forests[run.info.run_name] = report.get("f1")
            key = (report.get("f1", 0), report.get("auc_pr", 0))
            if best is None or key > best[0]:
                best = (key, run.info.run_name, run.info.run_id, exported.read_text(), report, model_uri)

    _, run_name, run_id, model_text, report, model_uri = best
    # Chance: random flags at the forest's alarm rate a have F1 2pa / (p + a) at a share p of
    # anomalies, a random ranking AUC-PR p. A forest that cannot separate its training labels
    # picks the threshold that flags (nearly) everything and must not win on that.
    p = float(y_val.mean()) if y_val is not None else 0.0
    chance_f1 = 2 * p * report["alarm_rate"] / max(p + report["alarm_rate"], 1e-12)
    beats_chance = report.get("f1", 0) > chance_f1 and report.get("auc_pr", 0) > p
    summary = {"champion": "online-z", "registered": None, "model_file": None, "forest": report, "forests": forests,
               "baseline_online_z": baseline, "baseline_seasonal_median": seasonal_report,
               "chance": {"f1": chance_f1, "auc_pr": p}}
    if y is None:
        print("train: no labels (--truth), so nothing shows that a forest beats the online detector: "
              "nothing registered, the online detector stays champion", file=sys.stderr)
    elif not beats_chance or report.get("f1", 0) <= baseline.get("f1", 0):
        why = ([f"does not beat the online detector (F1 {baseline.get('f1', 0):.3f})"]
               if report.get("f1", 0) <= baseline.get("f1", 0) else []) \
            + ([] if beats_chance else [f"is no better than chance (F1 {chance_f1:.3f}, AUC-PR {p:.3f})"])
        print(f"train: the best forest ({run_name}, validation F1 {report.get('f1', 0):.3f}, AUC-PR "
              f"{report.get('auc_pr', 0):.3f}) {' and '.join(why)}: nothing registered, the online detector "
              f"stays champion ({args.out} left as it was)", file=sys.stderr)
    else:
        summary.update(champion=run_name, model_file=str(args.out))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(model_text)
        if args.tracking_uri:
            from mlflow.tracking import MlflowClient
            version = mlflow.register_model(model_uri, args.model_name,
                                            tags={"dq_model": f"runs:/{run_id}/dq_model/model.dqm"})
            MlflowClient().set_registered_model_alias(args.model_name, args.alias, version.version)
            summary.update(registered=args.model_name, version=int(version.version), alias=args.alias, run_id=run_id)
        print(f"train: {run_name} (validation F1 {report['f1']:.3f}) beats the online detector "
              f"(F1 {baseline.get('f1', 0):.3f}): champion"
              + (f", registered as {args.model_name}@{args.alias}" if args.tracking_uri else "")
              + f", written to {args.out}", file=sys.stderr)
    print(json.dumps(summary))

if __name__ == "__main__":
    main()
