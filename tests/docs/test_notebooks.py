"""The notebooks as committed: outputs stripped, a kernel of the project, no absolute paths.
(They are run against the live stack in tests/integration/test_notebook.py.)"""
import json

import pytest

from testenv import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] in {"dq-core", "dq-ml", "dq-flink", "dq-spark"}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path.name}: outputs not stripped"
            assert "/work/" not in "".join(cell["source"]) and "/home/" not in "".join(cell["source"])
