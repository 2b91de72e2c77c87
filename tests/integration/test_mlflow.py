"""MLflow: a run logged to the tracking server and read back through its API."""
import json

from conftest import run, venv

SCRIPT = """
import json, sys, tempfile, os, mlflow
from mlflow.tracking import MlflowClient
from dq.stack import MLFLOW_URI, mlflow_login
mlflow_login()
mlflow.set_tracking_uri(MLFLOW_URI)
mlflow.set_experiment("stack-smoke-test")
with mlflow.start_run() as active:
    mlflow.log_param("contamination", 0.01)
    for step, f1 in enumerate([0.2, 0.4, 0.61]):
        mlflow.log_metric("f1", f1, step=step)
    path = os.path.join(tempfile.mkdtemp(), "note.txt")
    open(path, "w").write("artifact body")
    mlflow.log_artifact(path)
run = MlflowClient().get_run(active.info.run_id)
local = MlflowClient().download_artifacts(run.info.run_id, "note.txt", tempfile.mkdtemp())
print(json.dumps({"params": run.data.params, "f1": run.data.metrics["f1"], "status": run.info.status,
                  "artifact": open(local).read(),
                  "history": [m.value for m in MlflowClient().get_metric_history(run.info.run_id, "f1")]}))
"""


def test_run_logged_and_read_back():
    proc = run([venv("ml") / "bin" / "python", "-c", SCRIPT])
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {"params": {"contamination": "0.01"}, "f1": 0.61, "status": "FINISHED",
                   "artifact": "artifact body", "history": [0.2, 0.4, 0.61]}
