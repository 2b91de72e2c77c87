"""docs/anomaly.md's pictures of each sensor fault are what ml/plot_faults.py draws from the
current libdq and generator (`make docs-plots` redraws them when either changes them)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_fault_pictures_are_current(tmp_path):
    drawn = subprocess.run([sys.executable, ROOT / "ml" / "plot_faults.py", ROOT / "build" / "dq", "--out", tmp_path],
                           capture_output=True, text=True, check=True).stdout.split()
    assert [Path(p).name for p in drawn] == [f"fault-{f}.png" for f in ("spike", "stuck", "noise", "bias", "drift")]
    docs = (ROOT / "docs" / "anomaly.md").read_text()
    for path in map(Path, drawn):
        assert f"(img/{path.name})" in docs, f"docs/anomaly.md does not show {path.name}"
        assert path.read_bytes() == (ROOT / "docs" / "img" / path.name).read_bytes(), \
            f"docs/img/{path.name} is not what libdq draws now: run make docs-plots and look at the difference"
