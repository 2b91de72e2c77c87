"""Fetches the libdq model file of a registered model version from MLflow, for
`dq gate --model` (and the Flink and Spark jobs).

    MLflow registry: <name>@<alias> --> the version's run --> artifact dq_model/model.dqm

usage: fetch_model.py [--name sensor-anomaly-iforest] [--alias champion] [--out models/sensor-anomaly.dqm]
"""
import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from dq.stack import MLFLOW_URI, mlflow_login

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracking-uri", default=MLFLOW_URI)
    ap.add_argument("--name", default="sensor-anomaly-iforest")
    ap.add_argument("--alias", default="champion")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "sensor-anomaly.dqm")
    args = ap.parse_args()

    import mlflow
    from mlflow.tracking import MlflowClient
    mlflow_login()
    mlflow.set_tracking_uri(args.tracking_uri)
    from mlflow.exceptions import MlflowException
    try:
        version = MlflowClient().get_model_version_by_alias(args.name, args.alias)
    except MlflowException as e:  # MLflow says INVALID_PARAMETER_VALUE for an alias it does not know
        if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        sys.exit(f"fetch_model: no model is registered as {args.name}@{args.alias} ({e.message}): the online "
                 f"detector is champion (ml/train.py registers a forest only where it beats it); run dq gate "
                 f"without --model")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(mlflow.artifacts.download_artifacts(version.tags["dq_model"], dst_path=work), args.out)
    print(f"{args.name}@{args.alias} = version {version.version} (run {version.run_id}) -> {args.out}")


if __name__ == "__main__":
    main()
