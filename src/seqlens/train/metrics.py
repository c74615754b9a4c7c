"""Evaluation metrics per task and averaged: AUROC, AUPR, Pearson, Spearman.

All functions take ``y_true`` and ``y_score`` as ``(N,)`` or ``(N, T)`` arrays. Tasks where a
metric is undefined (one class only, constant values) give NaN and are left out of the mean.
AUROC and AUPR are computed here in NumPy (the same values as scikit-learn's ``roc_auc_score`` and
``average_precision_score``), so that training imports neither scikit-learn nor scipy.stats (about
2 s of CPU at start-up); Spearman imports scipy.stats when first used.
"""

from __future__ import annotations

import warnings

import numpy as np


def _2d(a) -> np.ndarray:
    if type(a).__module__.startswith("torch"):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def _per_task(fn, y_true, y_score) -> np.ndarray:
    y_true, y_score = _2d(y_true), _2d(y_score)
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true {y_true.shape} and y_score {y_score.shape} differ in shape")
    out = np.full(y_true.shape[1], np.nan)
    for t in range(y_true.shape[1]):
        out[t] = fn(y_true[:, t], y_score[:, t])
    return out


def _ranked_counts(y, s) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true and false positives at each distinct score, highest score first."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each tied group
    tps = np.cumsum(y)[last]
    return tps, last + 1 - tps


def _auroc(y, s):
    y = y > 0.5
    if not 0 < y.sum() < len(y):
        return np.nan
    tps, fps = _ranked_counts(y, s)
    tpr, fpr = np.r_[0, tps] / tps[-1], np.r_[0, fps] / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)  # trapezoids: ties count 1/2


def _aupr(y, s):
    y = y > 0.5
    if not 0 < y.sum() < len(y):
        return np.nan
    tps, fps = _ranked_counts(y, s)
    return float(np.sum(np.diff(np.r_[0, tps]) / tps[-1] * tps / (tps + fps)))  # sum dR * P


def _pearson(y, s):
    y, s = y - y.mean(), s - s.mean()
    return float(np.clip(np.sum(y * s) / np.sqrt(np.sum(y * y) * np.sum(s * s)), -1, 1))


def _spearman(y, s):
    from scipy.stats import spearmanr

    return float(spearmanr(y, s)[0])


def _corr(fn):
    def inner(y, s):
        if len(y) < 2 or np.ptp(y) == 0 or np.ptp(s) == 0:
            return np.nan
        return fn(y, s)
    return inner


def auroc(y_true, y_score) -> np.ndarray:
    """``(T,)`` area under the ROC curve per task (labels > 0.5 are positive)."""
    return _per_task(_auroc, y_true, y_score)


def aupr(y_true, y_score) -> np.ndarray:
    """``(T,)`` area under the precision-recall curve (average precision) per task."""
    return _per_task(_aupr, y_true, y_score)


def pearson(y_true, y_score) -> np.ndarray:
    """``(T,)`` Pearson correlation per task."""
    return _per_task(_corr(_pearson), y_true, y_score)


def spearman(y_true, y_score) -> np.ndarray:
    """``(T,)`` Spearman correlation per task."""
    return _per_task(_corr(_spearman), y_true, y_score)


METRICS = {"auroc": auroc, "aupr": aupr, "pearson": pearson, "spearman": spearman}
CLASSIFICATION = ("auroc", "aupr")
REGRESSION = ("pearson", "spearman")


def _nanmean(x) -> float:
    x = np.asarray(x, dtype=float)
    if np.all(np.isnan(x)):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(x))


def evaluate_predictions(y_true, y_score, metrics=CLASSIFICATION, prefix: str = "",
                         per_task: bool = False) -> dict:
    """Flat dict ``{prefix + name: mean}`` (and ``prefix + name_task{i}`` with ``per_task``)."""
    out = {}
    for name in metrics:
        values = METRICS[name](y_true, y_score)
        out[f"{prefix}{name}"] = _nanmean(values)
        if per_task:
            for i, v in enumerate(values):
                out[f"{prefix}{name}_task{i}"] = float(v)
    return out
