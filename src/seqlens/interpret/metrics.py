"""Scoring attribution maps against the ground truth of simulated data.

Ground truth is the generating probability matrix ``(N, A, L)`` of each sequence (0.25 columns in
the background, motif probabilities where a motif was embedded). Its per-position information is
``log2(A) + sum_a p log2 p``.

Protocols for per-sequence AUROC/AUPR of position scores:

* ``"a"`` (Koo & Ploenzke 2021): positions with information > 0.01 bits are positives, all positions
  are scored;
* ``"b"`` (Majdandzic et al. 2023): positions with information > 0.1 bits are positives and
  positions with 0 < I <= 0.1 are left out.

A position's score is the attribution at the observed letter (``reduce="observed"``), or the L2
norm over letters (``reduce="l2"``, used for ISM).

Without a ground truth (real data), :func:`proxy_truth` builds a stand-in of the same form from
motif-scan hits (FIMO statistics): the hit motif's columns where a known motif occurs, 0.25
elsewhere. Scores against it measure agreement with the motif scan, not correctness; label them as
a proxy (the CLI prefixes them ``proxy_``).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import rankdata

from seqlens.errors import SeqlensError

PROTOCOLS = {"a": (0.01, False), "b": (0.1, True)}


def _np(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def information(truth) -> np.ndarray:
    """``(N, L)`` information (bits) of each column of the ground-truth probabilities ``(N, A, L)``."""
    p = _np(truth)
    a = p.shape[-2]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return np.log2(a) + plogp.sum(-2)


def position_scores(attr, X=None, reduce: str = "observed") -> np.ndarray:
    """``(N, L)`` per-position scores from an attribution map ``(N, A, L)``.

    reduce : ``"observed"`` (the value at the observed letter: ``sum_a attr * X``; needs X),
        ``"l2"`` (L2 norm over letters, for ISM), ``"sum"`` (sum over letters), ``"max"``
        (largest absolute value).
    """
    a = _np(attr)
    if reduce == "observed":
        if X is None:
            raise SeqlensError("reduce='observed' needs the one-hot X")
        return (a * _np(X)).sum(-2)
    if reduce == "l2":
        return np.sqrt((a ** 2).sum(-2))
    if reduce == "sum":
        return a.sum(-2)
    if reduce == "max":
        return np.abs(a).max(-2)
    raise SeqlensError(f"reduce must be observed/l2/sum/max, got {reduce!r}")


def auroc_aupr(scores, truth, protocol: str = "a") -> tuple[np.ndarray, np.ndarray]:
    """Per-sequence AUROC and AUPR ``(N,)`` of position ``scores`` ``(N, L)`` against the ground
    truth ``(N, A, L)`` under ``protocol`` "a" or "b" (see the module doc). A sequence without
    positives or without negatives gets NaN. AUPR is the area under the precision-recall curve
    (trapezoid rule, as in the published evaluations)."""
    if protocol not in PROTOCOLS:
        raise SeqlensError(f"protocol must be 'a' or 'b', got {protocol!r}")
    thr, exclude = PROTOCOLS[protocol]
    s = _np(scores)
    info = information(truth)
    if s.shape != info.shape:
        raise SeqlensError(f"scores {s.shape} do not match the ground truth positions {info.shape}")
    roc = np.full(len(s), np.nan)
    pr = np.full(len(s), np.nan)
    for i in range(len(s)):
        pos = info[i] > thr
        keep = ~((info[i] > 0) & (info[i] <= thr)) if exclude else np.ones_like(pos)
        # numerical noise in background columns (p = 0.25 +- eps) is not "information"
        if exclude:
            keep |= info[i] < 1e-6
        y, v = pos[keep], s[i][keep]
        n_pos, n_neg = int(y.sum()), int((~y).sum())
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = rankdata(v)
        roc[i] = (ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        pr[i] = _aupr(y, v)
    return roc, pr


def _aupr(y: np.ndarray, v: np.ndarray) -> float:
    order = np.argsort(-v, kind="mergesort")
    v, y = v[order], y[order]
    distinct = np.r_[np.flatnonzero(np.diff(v)), len(v) - 1]
    tp = np.cumsum(y)[distinct]
    fp = (distinct + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / y.sum()
    precision = np.r_[1.0, precision]
    recall = np.r_[0.0, recall]
    return float(np.trapezoid(precision, recall) if hasattr(np, "trapezoid") else np.trapz(precision, recall))


def snr(scores, truth, k: int | None = None, threshold: float = 0.01) -> np.ndarray:
    """Signal-to-noise ``(N,)``: mean score over ground-truth positions (information >
    ``threshold``) divided by the mean of the ``k`` largest background scores (I == 0;
    ``k`` defaults to the number of ground-truth positions). Scores should be non-negative
    (e.g. ``np.abs`` or L2 norms)."""
    s = _np(scores)
    info = information(truth)
    out = np.full(len(s), np.nan)
    for i in range(len(s)):
        motif = info[i] > threshold
        bg = np.sort(s[i][info[i] <= min(threshold, 1e-6)])[::-1]
        if motif.sum() == 0 or len(bg) == 0:
            continue
        kk = int(motif.sum()) if k is None else int(k)
        noise = bg[:max(kk, 1)].mean()
        out[i] = s[i][motif].mean() / noise if noise > 0 else np.inf
    return out


def cosine_similarity(attr, truth, threshold: float | None = 0.01) -> np.ndarray:
    """Per-sequence cosine similarity ``(N,)`` between an attribution map ``(N, A, L)`` and the
    centred ground truth ``p - 1/A``, over positions with information > ``threshold`` (all
    positions when None). Use corrected or hypothetical maps (all letters scored)."""
    a = _np(attr)
    p = _np(truth)
    gt = p - 1.0 / p.shape[-2]
    if threshold is not None:
        mask = (information(p) > threshold)[:, None, :]
        a, gt = a * mask, gt * mask
    num = (a * gt).sum((1, 2))
    den = np.sqrt((a ** 2).sum((1, 2)) * (gt ** 2).sum((1, 2)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def evaluate_attribution(attr, X, truth, reduce: str = "observed", prefix: str = "",
                         snr_k: int | None = None) -> dict:
    """All scores for one attribution map, averaged over sequences (NaNs ignored), as a flat dict:
    ``{prefix}auroc`` / ``aupr`` (protocol a), ``auroc_b`` / ``aupr_b`` (protocol b), ``snr``,
    ``cosine``."""
    s = position_scores(attr, X, reduce)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for proto, suffix in (("a", ""), ("b", "_b")):
            roc, pr = auroc_aupr(s, truth, proto)
            out[f"{prefix}auroc{suffix}"] = float(np.nanmean(roc))
            out[f"{prefix}aupr{suffix}"] = float(np.nanmean(pr))
        sn = snr(np.abs(s), truth, k=snr_k)
        finite = sn[np.isfinite(sn)]
        out[f"{prefix}snr"] = float(finite.mean()) if len(finite) else float("nan")
        out[f"{prefix}cosine"] = float(np.nanmean(cosine_similarity(attr, truth)))
    return out


def proxy_truth(X, motifs, threshold: float = 1e-4) -> tuple:
    """A proxy ground truth ``(N, A, L)`` from motif-scan hits, for data without a simulated truth.

    ``X`` is one-hot ``(N, 4, L)``; ``motifs`` are :class:`~seqlens.motifs.motif.Motif` objects.
    Every hit of :func:`seqlens.motifs.scan.scan` with p-value <= ``threshold`` (both strands)
    writes the motif's probability columns (reverse-complemented on the ``-`` strand) over its
    window; where hits overlap, the more informative column stays (on a tie, the stronger hit's).
    Other positions are uniform
    (0.25, no information), so the scores of this module treat hit positions as positives.

    Returns ``(truth, hits)``: the float64 array and the scan's hit table.
    """
    from seqlens.motifs.scan import scan

    X = _np(X)
    hits = scan(list(motifs), X, threshold=threshold)
    truth = np.full(X.shape, 1.0 / X.shape[1])
    columns = {}
    for k, m in enumerate(motifs):
        p = m.probabilities()
        columns[k, "+"], columns[k, "-"] = p, m.reverse_complement().probabilities()
    weakest_first = hits.sort_values("p_value", ascending=False, kind="stable")
    for k, i, start, end, strand in weakest_first[["motif_index", "sequence_index", "start", "end",
                                                   "strand"]].itertuples(index=False):
        window = truth[i, :, start:end]
        new = columns[k, strand]
        better = information(new[None])[0] >= information(window[None])[0]
        window[:, better] = new[:, better]
    return truth, hits
