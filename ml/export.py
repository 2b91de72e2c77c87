"""Writes a fitted scikit-learn IsolationForest in the text format libdq scores
(dq_model_load; the format is described in src/anomaly.c and docs/anomaly.md).

Why a format of our own and not ONNX or PMML: libdq scores in the gate at line rate with
no runtime beside libc; an isolation forest is a list of (feature, threshold, children)
nodes, which a 300-line C loader reads and a fuzzer can cover. Thresholds are written
with repr(), the shortest text that reads back as the same double.
"""
from __future__ import annotations

from pathlib import Path


def export_iforest(forest, feature_names: list[str], threshold: float, path: str | Path) -> Path:
    """forest: a fitted sklearn.ensemble.IsolationForest on len(feature_names) features.
    threshold: the score (libdq's, = -score_samples) at or above which an event is an anomaly."""
    n = len(feature_names)
    if forest.n_features_in_ != n:
        raise ValueError(f"the forest has {forest.n_features_in_} features, {n} names given")
    lines = ["dq-iforest 1", f"features {n} {' '.join(feature_names)}",
             f"max_samples {int(forest.max_samples_)}", f"threshold {float(threshold)!r}",
             f"trees {len(forest.estimators_)}"]
    for tree, used in zip(forest.estimators_, forest.estimators_features_):
        # With max_features < 1.0 a tree sees a subset of the columns: map back to all.
        subset = forest._max_features != n
        t = tree.tree_
        lines.append(f"tree {t.node_count}")
        for i in range(t.node_count):
            if t.children_left[i] == -1:
                lines.append(f"-1 0 -1 -1 {int(t.n_node_samples[i])}")
            else:
                feature = int(used[t.feature[i]]) if subset else int(t.feature[i])
                lines.append(f"{feature} {float(t.threshold[i])!r} {int(t.children_left[i])} "
                             f"{int(t.children_right[i])} {int(t.n_node_samples[i])}")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
