"""Seqlets: windows of significant attribution.

A map's per-position score is the contribution of the observed base, ``sum_a attr * X`` (the
*hypothetical* contributions, ``attr`` itself, keep the shape of the motif at every letter and
are used later for clustering). Windowed sums of ``window`` positions are tested against a null:

* ``"permutation"`` (the default): windowed sums of the same sequences with their per-position
  scores permuted (one permutation per sequence, keyed by the sequence's index and
  ``random_state``): concentrated contributions stand out, diffuse ones do not;
* ``"laplace"`` (tfmodisco-lite's): Laplace tails fitted to the windowed sums themselves, around
  their mode, with the steepest rate over the 5th..95th percentiles of each side (it is fitted to
  signal and noise together, so it usually needs ``min_windows_frac=0.03`` as tfmodisco-lite);
* an array: windowed sums of other maps (e.g. of dinucleotide-shuffled sequences).

The threshold of each sign is the smallest one whose estimated false discovery rate
``n_windows * P_null(S >= t) / #{S >= t}`` is at most ``fdr``, moved so that at least
``min_windows_frac`` and at most ``max_windows_frac`` of the windows pass. Peaks are then taken
greedily, strongest first, per sequence; windows within ``window`` positions of a taken peak are
suppressed, so windows whose cores overlap merge into the strongest one. A seqlet is the core
window plus ``flank`` on each side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqlens.errors import SeqlensError

SEQLET_COLUMNS = ["seqlet", "seq", "start", "end", "core_start", "core_end", "sign", "score"]


def as_array(a, name: str) -> np.ndarray:
    """``a`` (numpy or tensor) as a float32 ``(N, A, L)`` array; refuses other shapes and NaN."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float32)
    if a.ndim != 3:
        raise SeqlensError(f"{name} must be (N, A, L), got shape {a.shape}")
    # a float64 sum per sequence is NaN or Inf exactly when the sequence holds one (float32
    # values cannot overflow it); no (N, A, L) mask is made
    bad = ~np.isfinite(a.sum((1, 2), dtype=np.float64))
    if bad.any():
        raise SeqlensError(f"{name} has NaN or Inf values (first in sequence {int(np.argmax(bad))})")
    return a


def check_pair(attr, X) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(attr, X)`` arrays of the same ``(N, A, L)`` shape."""
    attr, X = as_array(attr, "attr"), as_array(X, "X")
    if attr.shape != X.shape:
        raise SeqlensError(f"attr has shape {attr.shape} but X has shape {X.shape}")
    if len(X) == 0:
        raise SeqlensError("no sequences")
    return attr, X


def position_scores(attr, X) -> np.ndarray:
    """``(N, L)`` contribution of the observed base at each position (``sum_a attr * X``),
    without an ``(N, A, L)`` product."""
    return np.einsum("nal,nal->nl", np.asarray(attr, np.float32), np.asarray(X, np.float32))


def window_sums(track: np.ndarray, window: int) -> np.ndarray:
    """``(N, L - window + 1)`` sums of ``window`` consecutive positions of ``(N, L)``."""
    c = np.zeros((len(track), track.shape[1] + 1))
    np.cumsum(track, axis=1, dtype=np.float64, out=c[:, 1:])
    return c[:, window:] - c[:, :-window]


def laplace_null(values: np.ndarray) -> dict:
    """Laplace tails of tfmodisco-lite fitted to ``values``: ``mu`` (the mode, from a two-level
    histogram), the fraction above it ``p_pos`` and the rates ``lambda_pos`` / ``lambda_neg``
    (the largest ``-log(1 - q) / |percentile_q - mu|`` over q = 5%..95%)."""
    v = np.asarray(values, np.float64).ravel()
    lo, hi = _mode_bin(v)
    inner = v[(v > lo) & (v < hi)]
    if inner.size > 1:
        lo, hi = _mode_bin(inner)
    mu = (lo + hi) / 2
    q = np.arange(5, 100, 5) / 100
    out = {"mu": float(mu)}
    pos, neg = v[v >= mu], v[v <= mu]
    out["p_pos"] = len(pos) / max(len(pos) + len(neg), 1)
    for side, vals, perc in (("pos", pos, q), ("neg", neg, 1 - q)):
        if vals.size < 2:
            out[f"lambda_{side}"] = np.inf
            continue
        d = np.abs(np.percentile(vals, 100 * perc) - mu)
        with np.errstate(divide="ignore"):
            out[f"lambda_{side}"] = float(np.max(-np.log(1 - q) / np.maximum(d, 1e-300)))
    return out


def _mode_bin(v: np.ndarray, bins: int = 1000) -> tuple[float, float]:
    hist, edges = np.histogram(v, bins=bins)
    k = int(np.argmax(hist))
    return float(edges[k]), float(edges[k + 1])


def _laplace_tail(t: np.ndarray, fit: dict, sign: int) -> np.ndarray:
    """P_null(sign * S >= t) for thresholds ``t`` >= 0 under the fitted Laplace."""
    mu = fit["mu"]
    if sign > 0:
        lam, p = fit["lambda_pos"], fit["p_pos"]
        return np.where(t >= mu, p * np.exp(-lam * np.maximum(t - mu, 0)), 1.0)
    lam, p = fit["lambda_neg"], 1 - fit["p_pos"]
    return np.where(-t <= mu, p * np.exp(-lam * np.maximum(mu + t, 0)), 1.0)


def fdr_threshold(observed: np.ndarray, tail, fdr: float, min_frac: float = 0.0,
                  max_frac: float = 1.0) -> float:
    """Smallest ``t`` with ``n * tail(t) / #{observed >= t} <= fdr`` (observed: the ``n`` values
    of one sign, made positive), moved so that between ``min_frac`` and ``max_frac`` of the
    windows pass (as tfmodisco-lite). ``inf`` when nothing can pass."""
    n = observed.size
    s = observed[observed > 0]
    if s.size == 0:
        return np.inf
    s.sort()
    s = s[::-1]
    # the FDR estimate is not monotone; take the last rank at which it is still <= fdr (in
    # chunks of ranks, so its float64 temporaries stay small)
    k, chunk = 0, 1 << 20
    for lo in range(0, s.size, chunk):
        est = n * tail(s[lo:lo + chunk]) / np.arange(lo + 1, min(lo + chunk, s.size) + 1)
        ok = np.flatnonzero(est <= fdr)
        if ok.size:
            k = lo + int(ok[-1]) + 1
    k = min(max(k, int(np.ceil(min_frac * n))), int(np.floor(max_frac * n)), s.size)
    return float(s[k - 1]) if k >= 1 else np.inf


def _permuted_sums(track: np.ndarray, window: int, random_state) -> np.ndarray:
    """Window sums of each sequence's scores permuted (keyed by sequence index)."""
    seed = 0 if random_state is None else int(random_state)
    out = np.empty((len(track), track.shape[1] - window + 1))
    for i, row in enumerate(track):
        rng = np.random.default_rng([seed, i])
        out[i] = window_sums(rng.permutation(row)[None], window)[0]
    return out


def seqlets(attr, X, window: int = 15, flank: int = 5, fdr: float = 0.05,
            null="permutation", null_X=None, min_windows_frac: float = 0.0,
            max_windows_frac: float = 0.2, max_seqlets: int | None = 20000,
            sign: str = "both", magnitude: bool = True, random_state=None) -> pd.DataFrame:
    """Seqlets of attribution maps (see the module doc).

    Parameters
    ----------
    attr : ``(N, A, L)`` hypothetical contributions (an attribution map; its value at the
        observed letter is that position's contribution), numpy or tensor.
    X : ``(N, A, L)`` one-hot sequences.
    window : core width (positions summed); flank : positions added on each side.
    fdr : target false discovery rate of the windows.
    null : ``"permutation"``, ``"laplace"`` or an ``(M, A, L)`` array of null maps (with
        ``null_X``, their sequences).
    min_windows_frac, max_windows_frac : at least / at most this fraction of the windows passes
        (per sign).
    max_seqlets : keep the strongest this many of each sign (None: all).
    sign : ``"both"``, ``"positive"`` or ``"negative"``.
    magnitude : test ``|S|`` against the null of ``|S|`` (one threshold for both signs: a window
        is a seqlet when its contribution is unusually large whatever its sign); False tests
        each sign against its own tail, which admits weak windows of the sign a model uses
        little (e.g. small negative contributions of a model with exponential activations).
    random_state : seeds the permutation null.

    Returns
    -------
    DataFrame, one row per seqlet, strongest first within each sign: ``seqlet`` (id), ``seq``
    (sequence index), ``start``/``end`` (the flanked extent, clipped to the sequence),
    ``core_start``/``core_end`` (the significant window), ``sign`` (+1/-1), ``score`` (the
    window's summed contribution). ``df.attrs`` holds the thresholds and the null fit.
    """
    attr, X = check_pair(attr, X)
    if sign not in ("both", "positive", "negative"):
        raise SeqlensError(f"sign must be 'both', 'positive' or 'negative', got {sign!r}")
    L = X.shape[2]
    if not 1 <= window <= L:
        raise SeqlensError(f"window {window} must be between 1 and the sequence length {L}")
    if flank < 0:
        raise SeqlensError(f"flank must be >= 0, got {flank}")
    if not 0 < fdr < 1:
        raise SeqlensError(f"fdr must be in (0, 1), got {fdr}")
    track = position_scores(attr, X)
    S = window_sums(track, window)
    tails, info = _null_tails(track, S, null, null_X, window, attr.shape[1:], random_state)
    thresholds = {}
    if magnitude:
        t = fdr_threshold(np.abs(S), lambda t: tails[1](t) + tails[-1](t), fdr, min_windows_frac,
                          max_windows_frac)
    for sgn, key in ((1, "positive"), (-1, "negative")):
        if sign not in ("both", key):
            thresholds[sgn] = np.inf
        elif magnitude:
            thresholds[sgn] = t
        else:
            thresholds[sgn] = fdr_threshold(np.clip(sgn * S, 0, None), tails[sgn], fdr,
                                            min_windows_frac, max_windows_frac)
    df = _peaks(S, thresholds, window, flank, L)
    df = df.sort_values(["sign", "score"], ascending=[False, False], key=_strength, kind="stable")
    if max_seqlets is not None:
        df = df.groupby("sign", sort=False, group_keys=False).head(int(max_seqlets))
    df = df.reset_index(drop=True)
    df.insert(0, "seqlet", np.arange(len(df), dtype=np.int64))
    df.attrs.update(info, threshold_positive=thresholds[1], threshold_negative=-thresholds[-1],
                    window=window, flank=flank, fdr=fdr, n_windows=int(S.size))
    return df[SEQLET_COLUMNS]


def _strength(col: pd.Series) -> pd.Series:
    return col.abs() if col.name == "score" else col


def _null_tails(track, S, null, null_X, window, shape, random_state):
    """Tail functions ``{+1, -1} -> P_null(sign * S >= t)`` and a description of the null."""
    if isinstance(null, str):
        if null == "laplace":
            fit = laplace_null(S)
            tails = {1: lambda t: _laplace_tail(t, fit, 1), -1: lambda t: _laplace_tail(t, fit, -1)}
            return tails, {"null": "laplace", **{f"laplace_{k}": v for k, v in fit.items()}}
        if null != "permutation":
            raise SeqlensError(f"null must be 'laplace', 'permutation' or an array of null maps, "
                               f"got {null!r}")
        null_S = _permuted_sums(track, window, random_state)
        kind = "permutation"
    else:
        if null_X is None:
            raise SeqlensError("a null made of attribution maps needs null_X (their sequences)")
        na, nx = check_pair(null, null_X)
        if na.shape[1:] != tuple(shape):
            raise SeqlensError(f"null maps have shape {na.shape[1:]} per sequence, expected "
                               f"{tuple(shape)}")
        null_S = window_sums(position_scores(na, nx), window)
        kind = "maps"
    values = null_S.ravel()
    values.sort()
    return _empirical_tails(values), {"null": kind, "n_null_windows": int(values.size)}


def _empirical_tails(values: np.ndarray, tail_fraction: float = 0.1) -> dict:
    """Tail functions of sorted null ``values``: empirical in the body, and beyond the outer
    ``tail_fraction`` of each sign an exponential fitted to the excesses (so the extreme tail,
    where a finite null sample has no values, is not estimated as zero)."""
    n = values.size

    def side(v: np.ndarray):
        """P(V >= t) for the sorted values ``v`` of one side (made positive), as a fraction of n."""
        m = v.size
        if m == 0:
            return lambda t: np.zeros_like(np.asarray(t, np.float64))
        k = max(int(np.ceil(tail_fraction * m)), 1)
        u = v[m - k]
        scale = max(float(np.mean(v[m - k:] - u)), 1e-12)
        p_u = k / n

        def tail(t):
            t = np.asarray(t, np.float64)
            body = (m - np.searchsorted(v, t, side="left")) / n
            return np.where(t <= u, body, p_u * np.exp(-(t - u) / scale))

        return tail

    neg, pos = np.searchsorted(values, 0, side="left"), np.searchsorted(values, 0, side="right")
    return {1: side(values[pos:]), -1: side(-values[:neg][::-1])}


def _peaks(S: np.ndarray, thresholds: dict, window: int, flank: int, L: int) -> pd.DataFrame:
    """Greedy peak picking on ``|S|`` over passing windows, suppressing overlapping cores."""
    passing = (S >= thresholds[1]) | (S <= -thresholds[-1])
    T = np.where(passing, np.abs(S), -np.inf)
    pos = np.arange(S.shape[1])
    rows_all, peaks_all = [], []
    active = np.flatnonzero(passing.any(1))
    while active.size:
        sub = T[active]
        p = sub.argmax(1)
        best = sub[np.arange(len(active)), p]
        keep = np.isfinite(best)
        active, p = active[keep], p[keep]
        if not active.size:
            break
        rows_all.append(active)
        peaks_all.append(p)
        block = np.abs(pos[None, :] - p[:, None]) < window
        T[active] = np.where(block, -np.inf, T[active])
        active = active[np.isfinite(T[active]).any(1)]
    if rows_all:
        seq = np.concatenate(rows_all)
        p = np.concatenate(peaks_all)
    else:
        seq = p = np.zeros(0, dtype=np.int64)
    score = S[seq, p]
    return pd.DataFrame({
        "seq": seq.astype(np.int64), "start": np.maximum(p - flank, 0).astype(np.int64),
        "end": np.minimum(p + window + flank, L).astype(np.int64),
        "core_start": p.astype(np.int64), "core_end": (p + window).astype(np.int64),
        "sign": np.where(score >= 0, 1, -1).astype(np.int64), "score": score.astype(np.float64)})
