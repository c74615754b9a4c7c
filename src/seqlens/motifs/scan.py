"""Scanning one-hot sequences with motifs (motifs first, as in tangermeme and memelite).

:func:`motif_scores` gives the log-odds score (bits) of every window, vectorised with numpy.
:func:`scan` finds significant motif instances with FIMO statistics through ``memelite.fimo``:
scores are ``sum log2((p + eps) / 0.25)`` over the window (uniform background) and the p-value of
a score is exact for the motif's discretised score distribution (``bin_size`` bits), as in FIMO.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from seqlens.motifs.motif import Motif

SCAN_COLUMNS = ["motif", "motif_name", "motif_index", "sequence_index", "start", "end", "strand",
                "score", "p_value"]


def _as_numpy(X) -> np.ndarray:
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"sequences must be one-hot (N, A, L), got shape {X.shape}")
    return X


def motif_scores(motif: Motif, X, background=None, pseudocount: float = 0.01,
                 reverse_complement: bool = True) -> np.ndarray:
    """Log-odds score in bits of every window of width ``W`` (``motif.weights``).

    Parameters
    ----------
    motif : the motif (``(A, W)``).
    X : one-hot ``(N, A, L)`` (or ``(A, L)``) array or tensor; soft columns (e.g. ``N`` as 0.25
        each) score the expected weight.
    background, pseudocount : passed to :meth:`Motif.weights`.
    reverse_complement : also score the reverse strand.

    Returns
    -------
    ``(N, S, L - W + 1)`` float64 scores, ``S = 2`` (forward, reverse complement) or 1; entry
    ``[n, s, i]`` is the window starting at position ``i`` of the forward sequence.
    """
    X = _as_numpy(X).astype(np.float64, copy=False)
    if X.shape[1] != motif.alphabet.size:
        raise ValueError(f"sequences have {X.shape[1]} letters, motif {motif.name!r} has "
                         f"{motif.alphabet.size}")
    if X.shape[2] < motif.width:
        raise ValueError(f"sequences of length {X.shape[2]} are shorter than motif {motif.name!r} "
                         f"(width {motif.width})")
    strands = [motif, motif.reverse_complement()] if reverse_complement else [motif]
    W = np.stack([m.weights(background, pseudocount) for m in strands])  # (S, A, W)
    windows = np.lib.stride_tricks.sliding_window_view(X, motif.width, axis=2)  # (N, A, L-W+1, W)
    # a letter with probability 0 (pseudocount 0) weighs -inf; keep 0 x -inf out of the sums
    impossible = np.isneginf(W)
    scores = np.einsum("nalw,saw->nsl", windows, np.where(impossible, 0.0, W), optimize=True)
    if impossible.any():
        hit = np.einsum("nalw,saw->nsl", windows, impossible.astype(np.float64), optimize=True) > 0
        scores[hit] = -np.inf
    return scores


def scan(motifs: Motif | Iterable[Motif], X, threshold: float = 1e-4, reverse_complement: bool = True,
         bin_size: float = 0.1, eps: float = 1e-4, verbose: bool = False) -> pd.DataFrame:
    """FIMO-style motif instances in one-hot DNA/RNA sequences (``memelite.fimo``).

    Parameters
    ----------
    motifs : a :class:`Motif` or a list (4-letter alphabet; counts or probabilities).
    X : one-hot ``(N, 4, L)`` (or ``(4, L)``) array or tensor. Columns that are not exactly
        one-hot (``N`` encoded as 0.25 each, or zeros) match nothing: they score 0 in every motif.
    threshold : report windows with p-value <= ``threshold``.
    reverse_complement : also scan the reverse strand.
    bin_size, eps : score discretisation (bits) and pseudocount of ``memelite.fimo``.
    verbose : progress bars.

    Returns
    -------
    DataFrame with columns ``motif`` / ``motif_name`` (the motif's ``name`` / ``alt_name``),
    ``motif_index``, ``sequence_index``, ``start`` (0-based, on the forward sequence), ``end``
    (exclusive), ``strand`` (``"+"``/``"-"``), ``score`` (bits) and ``p_value``; sorted by motif,
    sequence and start.
    """
    from memelite import fimo

    motifs = [motifs] if isinstance(motifs, Motif) else list(motifs)
    if not motifs:
        raise ValueError("scan needs at least one motif")
    for m in motifs:
        if not isinstance(m, Motif):
            raise TypeError(f"scan takes Motif objects, got {type(m).__name__}")
        if m.alphabet.size != 4 or m.alphabet.complement is None:
            raise ValueError(f"motif {m.name!r}: scan supports 4-letter nucleotide alphabets, "
                             f"got {m.alphabet.name}")
    X = _as_numpy(X)
    if X.shape[1] != 4:
        raise ValueError(f"sequences must have 4 letters (N, 4, L), got shape {X.shape}")
    ones = X == 1
    exact = ones.sum(axis=1, keepdims=True) == 1
    X_hard = np.ascontiguousarray(ones & exact & (X.sum(axis=1, keepdims=True) == 1)).astype(np.int8)
    pwms = {str(i): np.ascontiguousarray(m.probabilities()) for i, m in enumerate(motifs)}
    hits = fimo(pwms, X_hard, threshold=threshold, reverse_complement=reverse_complement,
                bin_size=bin_size, eps=eps, verbose=verbose)
    hits = [h for h in hits if len(h)]
    if not hits:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            SCAN_COLUMNS, [object, object, np.int64, np.int64, np.int64, np.int64, object, float, float])})
    table = pd.concat(hits, ignore_index=True)
    idx = table["motif_name"].astype(int).to_numpy()
    out = pd.DataFrame({
        "motif": [motifs[i].name for i in idx],
        "motif_name": [motifs[i].alt_name for i in idx],
        "motif_index": idx.astype(np.int64),
        "sequence_index": table["sequence_name"].to_numpy().astype(np.int64),
        "start": table["start"].to_numpy().astype(np.int64),
        "end": table["end"].to_numpy().astype(np.int64),
        "strand": table["strand"].to_numpy(),
        "score": table["score"].to_numpy().astype(np.float64),
        "p_value": table["p-value"].to_numpy().astype(np.float64),
    }, columns=SCAN_COLUMNS)
    return out.sort_values(["motif_index", "sequence_index", "start", "strand"]).reset_index(drop=True)
