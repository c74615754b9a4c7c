"""Null (background) sequences for GIA."""

from __future__ import annotations

import numpy as np
from torch import nn

from seqlens.alphabet import _to_numpy
from seqlens.attribution._utils import check_alphabet_axis
from seqlens.errors import SeqlensError
from seqlens.interpret.gia.core import predict
from seqlens.simulate import background as bg

NULLS = ("profile", "shuffle", "dinucleotide", "uniform", "gc", "quantile")


def filter_by_prediction(X, predictions, percentiles=(10, 90)) -> tuple[np.ndarray, np.ndarray]:
    """Keep the sequences whose prediction lies within the given percentiles (inclusive).

    Returns ``(X_kept, kept_index)``.
    """
    p = np.asarray(predictions, dtype=np.float64)
    if p.ndim != 1:
        raise SeqlensError(f"predictions must be 1-D (one per sequence), got shape {p.shape}")
    lo, hi = np.percentile(p, percentiles)
    keep = np.flatnonzero((p >= lo) & (p <= hi))
    return _to_numpy(X)[keep], keep


def _gc_fraction(X: np.ndarray) -> float:
    f = bg.letter_frequencies(X)
    return float(f[1] + f[2])


def null_sequences(kind: str = "profile", n: int = 1000, X=None, length: int | None = None,
                   gc: float | None = None, model: nn.Module | None = None, quantile=(0.0, 0.25),
                   shuffle_quantile: bool = True, filter_percentiles=None, target=0,
                   batch_size: int = 256, device=None, random_state=None,
                   verbose: bool = False) -> np.ndarray:
    """Null (background) sequences for GIA, ``(n, A, L)`` float32 one-hot.

    kind :
        ``"profile"`` - letters drawn column by column from the position-specific profile of ``X``;
        ``"shuffle"`` - mononucleotide shuffles of ``X`` (letter counts of each sequence kept);
        ``"dinucleotide"`` - dinucleotide shuffles of ``X`` (dinucleotide counts kept);
        ``"uniform"`` - every letter equally likely (needs ``length`` or ``X``);
        ``"gc"`` - i.i.d. letters with G+C fraction ``gc`` (default: that of ``X``);
        ``"quantile"`` - real sequences of ``X`` whose ``model`` prediction lies between the
        ``quantile`` fractions (e.g. ``(0, 0.25)`` = lowest quartile), dinucleotide-shuffled when
        ``shuffle_quantile`` (so that their motifs are destroyed but composition kept).
        Shuffle-based nulls cycle through ``X`` when ``n > len(X)``.
    filter_percentiles : e.g. ``(10, 90)``: keep only nulls whose ``model`` prediction lies within
        these percentiles (Koo et al. remove the extremes); the result then has fewer than ``n`` rows.
    verbose : a progress bar over the model's predictions (``quantile`` and ``filter_percentiles``).
    """
    if kind not in NULLS:
        raise SeqlensError(f"unknown null {kind!r}; choose one of {NULLS}")
    rng = np.random.default_rng(random_state)
    Xn = None if X is None else _to_numpy(X).astype(np.float32, copy=False)
    if Xn is not None:
        check_alphabet_axis(Xn.shape, None, "X")
    if kind in ("profile", "shuffle", "dinucleotide", "quantile") and (Xn is None or not len(Xn)):
        raise SeqlensError(f"null {kind!r} needs real sequences X (N, A, L)")
    if length is None:
        if Xn is None:
            raise SeqlensError(f"null {kind!r} needs length= or X=")
        length = Xn.shape[2]
    n = int(n)
    if n < 1:
        raise SeqlensError(f"the number of null sequences must be >= 1, got {n}")
    if kind == "profile":
        out = bg.profile(n, bg.position_frequencies(Xn), random_state=rng)
    elif kind == "shuffle":
        from seqlens.shuffle import shuffle

        reps = -(-n // len(Xn))
        out = np.asarray(shuffle(Xn, reps, random_state=rng)).transpose(1, 0, 2, 3)
        out = out.reshape(-1, *Xn.shape[1:])[:n]
    elif kind == "dinucleotide":
        out = bg.dinucleotide_shuffled(Xn, n, random_state=rng)
    elif kind == "uniform":
        out = bg.uniform(n, length, alphabet_size=4 if Xn is None else Xn.shape[1], random_state=rng)
    elif kind == "gc":
        g = gc if gc is not None else (_gc_fraction(Xn) if Xn is not None else 0.5)
        out = bg.gc_content(n, length, gc=g, random_state=rng)
    else:  # quantile
        if model is None:
            raise SeqlensError("null 'quantile' needs the model to rank real sequences")
        p = predict(model, Xn, target=target, batch_size=batch_size, device=device, verbose=verbose,
                    desc="null: predict X")
        lo, hi = np.quantile(p, quantile)
        pool = Xn[(p >= lo) & (p <= hi)]
        if not len(pool):
            raise SeqlensError(f"no sequence has a prediction within quantiles {quantile}")
        if shuffle_quantile:
            out = bg.dinucleotide_shuffled(pool, n, random_state=rng)
        else:
            out = pool[rng.choice(len(pool), size=n, replace=n > len(pool))]
    out = np.ascontiguousarray(out, dtype=np.float32)
    if filter_percentiles is not None:
        if model is None:
            raise SeqlensError("filter_percentiles needs the model")
        p = predict(model, out, target=target, batch_size=batch_size, device=device, verbose=verbose,
                    desc="null: predict nulls")
        out, _ = filter_by_prediction(out, p, filter_percentiles)
        if not len(out):
            raise SeqlensError(f"no null sequence is left after keeping the prediction percentiles "
                               f"{tuple(filter_percentiles)} of {n}; use more null sequences")
    return out

