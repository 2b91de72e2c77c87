"""Writes anomaly models in the text format libdq scores (dq_model_load; the format is
described in src/anomaly.c and docs/anomaly.md): a fitted scikit-learn IsolationForest, or
a Hotelling T² model (a mean and the inverse of a covariance).

Why a format of our own and not ONNX or PMML: libdq scores in the gate at line rate with
no runtime beside libc; an isolation forest is a list of (feature, threshold, children)
nodes, which a 300-line C loader reads and a fuzzer can cover. Thresholds are written
with repr(), the shortest text that reads back as the same double.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def export_iforest(forest, feature_names: list[str], threshold: float, path: str | Path,
                   columns: list[int] | None = None) -> Path:
    """forest: a fitted sklearn.ensemble.IsolationForest on the features feature_names, or, with
    columns, on those of them (columns[j] is the feature the forest's column j is): libdq hands
    a model every feature of the contract, and such a model never looks at the others.
    threshold: the score (libdq's, = -score_samples) at or above which an event is an anomaly."""
    n = len(feature_names)
    columns = list(range(n)) if columns is None else list(columns)
    if forest.n_features_in_ != len(columns) or not all(0 <= c < n for c in columns):
        raise ValueError(f"the forest has {forest.n_features_in_} features, {len(columns)} columns "
                         f"of {n} named ones given")
    lines = ["dq-iforest 1", f"features {n} {' '.join(feature_names)}",
             f"max_samples {int(forest.max_samples_)}", f"threshold {float(threshold)!r}",
             f"trees {len(forest.estimators_)}"]
    for tree, used in zip(forest.estimators_, forest.estimators_features_):
        # With max_features < 1.0 a tree sees a subset of the forest's columns: map back to them.
        subset = forest._max_features != forest.n_features_in_
        t = tree.tree_
        lines.append(f"tree {t.node_count}")
        for i in range(t.node_count):
            if t.children_left[i] == -1:
                lines.append(f"-1 0 -1 -1 {int(t.n_node_samples[i])}")
            else:
                feature = columns[int(used[t.feature[i]]) if subset else int(t.feature[i])]
                lines.append(f"{feature} {float(t.threshold[i])!r} {int(t.children_left[i])} "
                             f"{int(t.children_right[i])} {int(t.n_node_samples[i])}")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


def export_hotelling(mean, precision, threshold: float, feature_names: list[str], path: str | Path,
                     columns: list[int] | None = None) -> Path:
    """A Hotelling T² model: the score of a vector x is (x - mean)' precision (x - mean), an
    anomaly at or above threshold (the control limit). mean and precision (the inverse of a
    covariance, such as sklearn.covariance.LedoitWolf's precision_) are over the features
    feature_names, or, with columns, over those of them (columns[j] is the feature their
    j-th is): the others get zeros, so the model never looks at them."""
    n = len(feature_names)
    columns = list(range(n)) if columns is None else list(columns)
    mean, precision = np.asarray(mean, dtype=float), np.asarray(precision, dtype=float)
    k = len(columns)
    if mean.shape != (k,) or precision.shape != (k, k) or not all(0 <= c < n for c in columns):
        raise ValueError(f"a mean of {mean.shape} and a precision of {precision.shape} for {k} columns "
                         f"of {n} named features")
    full_mean, full_precision = np.zeros(n), np.zeros((n, n))
    full_mean[columns] = mean
    full_precision[np.ix_(columns, columns)] = (precision + precision.T) / 2  # exactly symmetric, as libdq checks
    lines = ["dq-hotelling 1", f"features {n} {' '.join(feature_names)}", f"threshold {float(threshold)!r}",
             "mean " + " ".join(repr(float(v)) for v in full_mean), "precision"]
    lines += [" ".join(repr(float(v)) for v in row) for row in full_precision]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
