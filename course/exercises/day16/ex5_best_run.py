"""Day 16, exercise 5: the best run of an MLflow experiment, asked through MLflow's client.

best_run(experiment) returns (run name, f1) of the experiment's run with the highest "f1"
metric: MlflowClient().get_experiment_by_name(...).experiment_id, then
MlflowClient().search_runs([id], order_by=["metrics.f1 DESC"], max_results=1); a run's name is
run.info.run_name, its metrics run.data.metrics. Replace the placeholder; then, in the ml venv,
`~/.cache/dq-platform/venv/ml/bin/python course/exercises/day16/ex5_best_run.py EXPERIMENT`
prints them (ml/train.py logs to the experiment sensor-anomaly: its --experiment).
"""
import sys

import mlflow
from mlflow.tracking import MlflowClient

from dq.stack import MLFLOW_URI, mlflow_login  # the stack's MLflow and its login (.env)


def best_run(experiment: str) -> tuple[str, float]:
    client = MlflowClient()
    return TODO  # noqa: F821  (yours replaces it)


if __name__ == "__main__":
    mlflow_login()
    mlflow.set_tracking_uri(MLFLOW_URI)
    name, f1 = best_run(sys.argv[1])
    print(name, f1)
