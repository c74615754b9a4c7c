"""Motif comparison with Tomtom statistics: ``memelite.tomtom`` or a choice of column score.

Tomtom (Gupta et al. 2007, "complete score") compares ``(A, W)`` probability matrices column by
column. ``distance="euclidean"`` (the default here, and MEME 5.x's ``-dist ed``) runs
``memelite.tomtom``; ``distance="pearson"`` (Pearson correlation of columns, MEME's
``-dist pearson`` and the default of MEME 4.x's ``tomtom``) runs
:func:`seqlens.motifs.tomtom_columns.tomtom_columns`, which implements the same statistics with
either score (its ``"euclidean"`` agrees with memelite). For each query the null distribution of
column scores is built from all target columns (both strands), so p-values depend on the target
set: use a whole database (e.g. all JASPAR CORE vertebrates), not a handful of motifs (memelite
warns below 25 targets, ``tomtom_columns`` below 50 as MEME does).

The p-value of a (query, target) pair is that of the best-scoring alignment, corrected for all
offsets and, with both strands, for the two strands: it is the probability that the best of the
``2 (W + L - 1)`` alignments with a target of width ``L``, taken as independent, scores as high
(memelite computes it per strand and combines the strands as ``1 - (1 - p)^2``; MEME takes the
maximum over both strands directly; the two are the same).
Here the E-value is ``p x number of targets`` (as MEME) and the q-value is the Benjamini-Hochberg
FDR over all targets of one query (MEME uses Storey's q-values). No network access is involved
(memelite's CLI, which can download JASPAR, is not used).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from seqlens.motifs.motif import Motif
from seqlens.motifs.tomtom_columns import DISTANCES, tomtom_columns

COLUMNS = ["query", "query_name", "target", "target_name", "p_value", "e_value", "q_value",
           "score", "offset", "overlap", "strand", "query_index", "target_index"]


def tomtom(queries: Motif | Iterable[Motif], targets: Iterable[Motif], top_n: int | None = None,
           max_p_value: float | None = None, max_e_value: float | None = None,
           max_q_value: float | None = None, reverse_complement: bool | None = None,
           pseudocount: float = 0.0, n_score_bins: int = 100, n_median_bins: int = 1000,
           n_target_bins: int | None = 100, n_jobs: int = -1,
           distance: str = "euclidean") -> pd.DataFrame:
    """Compare query motifs with target motifs; one row per (query, target) match.

    Parameters
    ----------
    queries : a :class:`Motif` or a list of them (``(A, W)``, counts or probabilities).
    targets : the database to search (a list of :class:`Motif`, same alphabet).
    top_n : keep the ``top_n`` best targets of each query (by p-value).
    max_p_value, max_e_value, max_q_value : keep rows at or below these thresholds.
    reverse_complement : also match the targets' reverse complements (default: True for
        nucleotide alphabets; protein motifs are compared on one strand).
    pseudocount : added to every cell before the matrices are normalised to probabilities.
    n_score_bins : integer range of one column's score (Tomtom's bins; 100 as in MEME).
    n_median_bins, n_target_bins, n_jobs : passed to ``memelite.tomtom`` (``distance=
        "euclidean"`` only; ``n_target_bins=None`` switches off its approximate merging of similar
        target columns; ``n_jobs=-1`` uses all numba threads).
    distance : column score, ``"euclidean"`` (minus the Euclidean distance, through memelite;
        MEME's ``-dist ed``) or ``"pearson"`` (Pearson correlation of the columns, through
        :func:`seqlens.motifs.tomtom_columns.tomtom_columns`; MEME's ``-dist pearson``).

    Returns
    -------
    DataFrame with columns ``query``, ``query_name`` (the queries' ``name`` and ``alt_name``),
    ``target``, ``target_name``, ``p_value``, ``e_value`` (= p x number of targets), ``q_value``
    (Benjamini-Hochberg over the targets of each query), ``score`` (integer Tomtom score of the
    best alignment), ``offset`` (position in the target, reverse-complemented when ``strand`` is
    ``"-"``, where the query's first column aligns; negative when the query starts before the
    target), ``overlap`` (aligned columns), ``strand`` (``"+"`` or ``"-"``), and the input
    positions ``query_index`` and ``target_index``. Rows are grouped by query (input order) and
    sorted by p-value within each query.
    """
    if distance not in DISTANCES:
        raise ValueError(f"unknown distance {distance!r}; use one of {DISTANCES}")
    queries = [queries] if isinstance(queries, Motif) else list(queries)
    targets = list(targets)
    if not queries or not targets:
        raise ValueError(f"tomtom needs at least one query and one target, got {len(queries)} "
                         f"queries and {len(targets)} targets")
    for m in [*queries, *targets]:
        if not isinstance(m, Motif):
            raise TypeError(f"tomtom takes Motif objects, got {type(m).__name__}")
        if m.alphabet.letters != queries[0].alphabet.letters:
            raise ValueError(f"motif {m.name!r} has alphabet {m.alphabet.name}, query "
                             f"{queries[0].name!r} has {queries[0].alphabet.name}")
    if top_n is not None and top_n < 1:
        raise ValueError(f"top_n must be a positive integer or None, got {top_n}")
    has_complement = queries[0].alphabet.complement is not None
    if reverse_complement is None:
        reverse_complement = has_complement
    elif reverse_complement and not has_complement:
        raise ValueError(f"alphabet {queries[0].alphabet.name} has no reverse complement")

    Qs = [np.ascontiguousarray(m.probabilities(pseudocount)) for m in queries]
    Ts = [np.ascontiguousarray(m.probabilities(pseudocount)) for m in targets]
    if distance == "euclidean":
        from memelite import tomtom as _memelite_tomtom

        p, score, offset, overlap, strand = _memelite_tomtom(
            Qs, Ts, n_nearest=None, n_score_bins=n_score_bins, n_median_bins=n_median_bins,
            n_target_bins=n_target_bins, reverse_complement=bool(reverse_complement), n_jobs=n_jobs,
        )
    else:
        p, score, offset, overlap, strand = tomtom_columns(
            Qs, Ts, distance=distance, reverse_complement=bool(reverse_complement),
            n_score_bins=n_score_bins)
    p = np.clip(p, 0.0, 1.0)
    q = benjamini_hochberg(p)
    n_q, n_t = p.shape
    # per query, targets by p-value (ties by input order)
    order = np.lexsort((np.broadcast_to(np.arange(n_t), p.shape), p), axis=1)
    if top_n is not None:
        order = order[:, :top_n]
    qi = np.repeat(np.arange(n_q), order.shape[1])
    ti = order.ravel()
    df = pd.DataFrame({
        "query": [queries[i].name for i in qi],
        "query_name": [queries[i].alt_name for i in qi],
        "target": [targets[j].name for j in ti],
        "target_name": [targets[j].alt_name for j in ti],
        "p_value": p[qi, ti],
        "e_value": p[qi, ti] * n_t,
        "q_value": q[qi, ti],
        "score": score[qi, ti],
        "offset": offset[qi, ti].astype(np.int64),
        "overlap": overlap[qi, ti].astype(np.int64),
        "strand": np.where(strand[qi, ti] > 0, "-", "+"),
        "query_index": qi,
        "target_index": ti,
    }, columns=COLUMNS)
    keep = np.ones(len(df), dtype=bool)
    for column, limit in (("p_value", max_p_value), ("e_value", max_e_value), ("q_value", max_q_value)):
        if limit is not None:
            keep &= df[column].to_numpy() <= limit
    return df[keep].reset_index(drop=True)


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis: ``q_(i) = min_{j >= i} p_(j) n / j``
    (ranks ``j`` of the sorted p-values), capped at 1. Same shape as ``p``."""
    p = np.asarray(p, dtype=np.float64)
    n = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1].clip(max=1.0)
    q = np.empty_like(ranked)
    np.put_along_axis(q, order, ranked, axis=-1)
    return q
