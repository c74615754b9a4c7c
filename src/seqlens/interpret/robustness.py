"""Stability of attribution maps: across models (consistency) and under input noise (robustness),
and the paired comparison of training regimes over seeds.

* :func:`map_correlation`: per-sequence Pearson correlation ``(N,)`` of two maps of the same
  sequences, over all letters and positions of ``(N, A, L)`` maps or over the position scores
  ``(N, L)`` (``reduce``, as :func:`seqlens.interpret.metrics.position_scores`).
* :func:`attribution_consistency`: mean pairwise correlation of the maps that ``S`` models (e.g. seeds
  of one recipe) give for the same sequences (after Majdandzic et al., MLCB 2022): 1 when all
  models agree, 0 when their maps are unrelated.
* :func:`attribution_robustness`: ``1 - corr(map(X), map(X + sigma * noise))`` with Gaussian noise
  on the one-hot input: 0 when the map does not move, about 1 when it is replaced by noise.
* :func:`paired_difference`: mean difference of a metric between two regimes paired by seed, its
  t interval, the paired t test and the Wilcoxon signed-rank test.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from seqlens.errors import SeqlensError
from seqlens.interpret.metrics import position_scores


def _np(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _rows(m, X, reduce: str | None) -> np.ndarray:
    """``(N, k)`` rows to correlate: the flattened map, or its position scores."""
    m = _np(m)
    if reduce is not None:
        if m.ndim != 3:
            raise SeqlensError(f"reduce={reduce!r} needs (N, A, L) maps, got shape {m.shape}")
        m = position_scores(m, X, reduce)
    if m.ndim not in (2, 3):
        raise SeqlensError(f"maps must be (N, A, L) or (N, L), got shape {m.shape}")
    return m.reshape(len(m), -1)


def map_correlation(a, b, X=None, reduce: str | None = None) -> np.ndarray:
    """Pearson correlation ``(N,)`` between maps ``a`` and ``b`` of the same ``N`` sequences.

    a, b : ``(N, A, L)`` maps or ``(N, L)`` position scores, numpy or tensor.
    reduce : None (correlate every letter and position) or a reduction of
        :func:`~seqlens.interpret.metrics.position_scores` (``"observed"`` needs the one-hot ``X``,
        ``"l2"`` for ISM). A sequence whose map is constant in ``a`` or ``b`` gets NaN.
    """
    ra, rb = _rows(a, X, reduce), _rows(b, X, reduce)
    if ra.shape != rb.shape:
        raise SeqlensError(f"maps of different shapes: {_np(a).shape} and {_np(b).shape}")
    ra = ra - ra.mean(1, keepdims=True)
    rb = rb - rb.mean(1, keepdims=True)
    den = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(1) / np.where(den > 0, den, 1.0), np.nan)


def attribution_consistency(maps, X=None, reduce: str | None = None, per_sequence: bool = False):
    """Mean pairwise correlation of the maps of ``S >= 2`` models on the same sequences.

    maps : ``(S, N, A, L)`` or ``(S, N, L)`` (or a list of ``S`` such maps), model ``s``'s map of
        sequence ``n`` at ``maps[s][n]``.
    X, reduce : as :func:`map_correlation`.
    per_sequence : return ``(N,)``, each sequence's mean over the ``S (S - 1) / 2`` pairs, instead of
        the mean over pairs and sequences (NaNs from constant maps are left out of the means).
    """
    if len(maps) < 2:
        raise SeqlensError(f"consistency needs the maps of at least 2 models, got {len(maps)}")
    corr = np.stack([map_correlation(maps[i], maps[j], X, reduce)
                     for i, j in itertools.combinations(range(len(maps)), 2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_seq = np.nanmean(corr, axis=0)
        return per_seq if per_sequence else float(np.nanmean(per_seq))


def attribution_robustness(attribute, X, sigma: float = 0.05, n_repeats: int = 1, random_state=None,
                           reduce: str | None = None, per_sequence: bool = False):
    """Change of a map under small input noise: ``1 - corr(attribute(X), attribute(X + sigma * e))``
    with ``e`` standard Gaussian on every entry of the one-hot ``X``, averaged over ``n_repeats`` draws
    (and over sequences unless ``per_sequence``, which returns ``(N,)``).

    attribute : callable ``(N, A, L)`` numpy -> ``(N, A, L)`` map, e.g.
        ``lambda x: saliency(model, x)``.
    X : ``(N, A, L)`` one-hot (numpy or tensor); ``reduce="observed"`` scores both maps at the
        letters of the clean ``X``.
    random_state : seeds the noise; draw ``r`` of sequence ``n`` does not depend on ``N``'s batching.
    """
    if not sigma >= 0:
        raise SeqlensError(f"sigma must be >= 0, got {sigma!r}")
    if int(n_repeats) < 1:
        raise SeqlensError(f"n_repeats must be >= 1, got {n_repeats!r}")
    Xn = _np(X).astype(np.float32)
    if Xn.ndim != 3:
        raise SeqlensError(f"X must be (N, A, L), got shape {Xn.shape}")
    rng = np.random.default_rng(random_state)
    base = attribute(Xn)
    changes = []
    for _ in range(int(n_repeats)):
        noisy = Xn + np.float32(sigma) * rng.standard_normal(Xn.shape).astype(np.float32)
        changes.append(1.0 - map_correlation(base, attribute(noisy), Xn, reduce))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_seq = np.nanmean(np.stack(changes), axis=0)
        return per_seq if per_sequence else float(np.nanmean(per_seq))


def paired_difference(values, baseline, confidence: float = 0.95) -> dict:
    """Paired comparison of ``values`` with ``baseline`` (same length, paired by position, e.g. by
    seed; pairs with a NaN are dropped).

    Returns ``n``, ``mean`` and ``sd`` of ``d = values - baseline``, the t interval ``low``/``high``
    at ``confidence``, ``p_t`` (paired t test) and ``p_wilcoxon`` (exact two-sided signed-rank test
    where scipy can; with 5 pairs its smallest possible p is 0.0625). NaN where ``n < 2`` or all
    differences are 0 (Wilcoxon).
    """
    from scipy import stats

    if not 0 < confidence < 1:
        raise SeqlensError(f"confidence must be in (0, 1), got {confidence!r}")
    v, b = np.asarray(values, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if v.shape != b.shape or v.ndim != 1:
        raise SeqlensError(f"values {v.shape} and baseline {b.shape} must be 1-D of the same length")
    d = (v - b)[np.isfinite(v) & np.isfinite(b)]
    n = len(d)
    out = {"n": n, "mean": float(d.mean()) if n else float("nan"), "sd": float("nan"),
           "low": float("nan"), "high": float("nan"), "p_t": float("nan"), "p_wilcoxon": float("nan")}
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / np.sqrt(n)
    out.update(sd=sd, low=out["mean"] - half, high=out["mean"] + half)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out["p_t"] = float(stats.ttest_1samp(d, 0.0).pvalue) if sd > 0 else (
            0.0 if out["mean"] != 0 else float("nan"))
        if np.any(d != 0):
            out["p_wilcoxon"] = float(stats.wilcoxon(d).pvalue)
    return out
