"""Jupyter: a course notebook executed headless in the project's Jupyter kernel."""
import nbformat
from nbclient import NotebookClient

from conftest import ROOT


def test_environment_notebook_runs():
    """As JupyterLab runs it: the kernel starts in the notebook's own folder."""
    nb = nbformat.read(ROOT / "notebooks" / "00_environment_check.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="dq-core",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "verdicts: {'PASS': 1, 'FIXED': 1, 'REJECT': 1}" in outputs
    assert "kafka topics ok" in outputs and "cassandra ok" in outputs
