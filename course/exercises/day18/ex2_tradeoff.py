"""Day 18, exercise 2: on SKAB, the isolation forest's trade between false alarms and missed
anomalies, one threshold at a time.

Run it in the ml venv, with the SKAB data set of `make data SETS=skab`:
    ~/.cache/dq-platform/venv/ml/bin/python course/exercises/day18/ex2_tradeoff.py data/skab
It prints, per alarm rate (the quantile of each file's own training scores its threshold sits
at), the false alarm rate and the missed alarm rate, and draws them into tradeoff.png (or the
file named second)."""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "ml"))
import evaluate  # noqa: E402

ALARM_RATES = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def far_and_mar(files, alarm_rate: float) -> tuple[float, float]:
    """Over every file at alarm_rate: the false alarm rate (normal points flagged, of all normal
    points) and the missed alarm rate (anomalies not flagged, of all anomalies).
    evaluate.skab_flags(files, alarm_rate) flags each file's test points; files[i][2] are
    their labels (True: anomaly)."""
    return TODO


def draw(rows: list[tuple[float, float, float]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([far for _, far, _ in rows], [mar for _, _, mar in rows], marker="o")
    for rate, far, mar in rows:
        ax.annotate(f"{rate:g}", (far, mar), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set(xlabel="false alarm rate", ylabel="missed alarm rate",
           title="SKAB, isolation forest: one point per alarm rate")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    files = evaluate.skab_files(Path(sys.argv[1]))
    rows = [(rate, *far_and_mar(files, rate)) for rate in ALARM_RATES]
    print("alarm_rate far mar")
    for rate, far, mar in rows:
        print(f"{rate:g} {far:.4f} {mar:.4f}")
    draw(rows, Path(sys.argv[2]) if len(sys.argv) > 2 else Path("tradeoff.png"))


if __name__ == "__main__":
    main()
