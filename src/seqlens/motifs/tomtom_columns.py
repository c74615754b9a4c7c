"""Tomtom (Gupta et al. 2007, "complete score") with a choice of column score.

``memelite.tomtom`` implements Tomtom with the Euclidean column score only. This module
re-implements the same statistics with a selectable column score:

- ``"pearson"``: Pearson correlation of the two ``A``-letter probability columns, centred on
  ``1/A`` (MEME's ``-dist pearson``; the default of MEME 4.x's ``tomtom``).
- ``"euclidean"``: minus the Euclidean distance of the two columns (MEME's ``-dist ed``, the
  default of MEME 5.x's ``tomtom``, and memelite's only score).

For one query of width ``W`` the algorithm is:

1. Score every query column against every column of every target (and of every target's
   reverse complement when both strands are searched): a ``(W, N)`` matrix, ``N`` the total
   number of target columns. Row ``i`` is the empirical null of query column ``i``, each target
   column weighted ``1/N``.
2. Shift each row by its median (MEME's 0.5 quantile: the mean of the sorted values at
   ``floor(N/2) - 1`` and ``ceil(N/2) - 1``), so a median column scores 0. A query column that
   overhangs the target (is not aligned) scores 0, i.e. the median of its null ("complete score").
3. Scale the shifted matrix to integers in ``[0, n_score_bins]``: ``offset = floor(min)``,
   ``scale = floor(n_score_bins / (max - offset))``, ``z = round((s - offset) * scale)``. An
   overhanging column is then worth ``u = -offset * scale``.
4. The null distribution of the summed integer score of any contiguous span of query columns is
   the convolution of the columns' histograms (independent columns), shifted by ``u`` per
   overhanging column.
5. The complete score of an alignment is the sum over all ``W`` query columns. For each target
   (and strand) the alignment with the highest score is kept (ties: larger overlap, then smaller
   offset); with both strands, the strand with the higher score (ties: larger overlap, then ``+``).
6. Its p-value is that of the maximum over all ``W + L - 1`` alignments with a target of length
   ``L`` on both strands (``2 (W + L - 1)`` independent alignments, each with its own span
   distribution): ``p = 1 - prod_k P(S_k < score)``. With identical strands this is the same as
   memelite's per-strand p combined as ``1 - (1 - p)^2``.

Each query needs the null of every span of its columns: ``W^2 (W n_score_bins + 1)`` float64
(20 MB at ``W = 30``), cubic in the query width as in MEME. 32 queries of width 8-25 against the
519 JASPAR 2016 vertebrate motifs take about 1 s on one core.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

DISTANCES = ("pearson", "euclidean")

# MEME's tomtom warns when the target database has fewer motifs than this.
MIN_TARGETS = 50


def column_scores(Q: np.ndarray, T: np.ndarray, distance: str = "pearson") -> np.ndarray:
    """Similarity of every column of ``Q`` ``(A, W)`` with every column of ``T`` ``(A, N)``.

    ``"pearson"``: correlation of the two columns centred on ``1/A`` (0 when either column is
    uniform), in ``[-1, 1]``. ``"euclidean"``: ``-||q - t||``, in ``[-sqrt(2), 0]`` for
    probabilities. Returns a ``(W, N)`` float64 array (higher is more similar).
    """
    Q = np.asarray(Q, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if distance == "pearson":
        a = Q.shape[0]
        qc = Q - 1.0 / a
        tc = T - 1.0 / a
        num = qc.T @ tc
        den = np.sqrt(np.outer((qc**2).sum(0), (tc**2).sum(0)))
        out = np.zeros_like(num)
        np.divide(num, den, out=out, where=den != 0)
        return out
    if distance == "euclidean":
        d2 = ((Q.T[:, :, None] - T[None, :, :]) ** 2).sum(axis=1)
        return -np.sqrt(d2)
    raise ValueError(f"unknown distance {distance!r}; use one of {DISTANCES}")


def _meme_median(S: np.ndarray) -> np.ndarray:
    """Per-row 0.5 quantile as MEME's tomtom takes it: the mean of the sorted values at
    ``floor(N/2) - 1`` and ``ceil(N/2) - 1`` (the lower middle value when ``N`` is even)."""
    n = S.shape[1]
    i1 = max(n // 2 - 1, 0)
    i2 = max(-(-n // 2) - 1, i1)
    part = np.partition(S, (i1, i2), axis=1)
    return (part[:, i1] + part[:, i2]) / 2.0


def _span_log_cdfs(Z: np.ndarray, u: int, n_bins: int) -> np.ndarray:
    """``log P(complete score < s)`` for the columns ``a..b`` aligned and the rest overhanging.

    ``Z`` is the ``(W, N)`` integer score matrix in ``[0, n_bins]``, ``u`` the integer score of
    an overhanging column. Returns ``(W, W, W * n_bins + 1)`` (only ``a <= b`` is filled), the
    last axis the complete score ``s``; ``-inf`` where the probability is 0.
    """
    w, n = Z.shape
    g = w * n_bins + 1
    hist = np.stack([np.bincount(z, minlength=n_bins + 1)[: n_bins + 1] for z in Z]) / n
    out = np.zeros((w, w, g))
    full = np.zeros(g)
    with np.errstate(divide="ignore"):
        for a in range(w):
            pmf = hist[a]
            for b in range(a, w):
                if b > a:
                    pmf = np.convolve(pmf, hist[b])
                shift = (w - (b - a + 1)) * u
                full[:] = 0.0
                full[shift: shift + len(pmf)] = pmf
                # survival P(score >= s) summed from the top keeps small tails exact
                survival = np.cumsum(full[::-1])[::-1]
                out[a, b] = np.log1p(-np.minimum(survival, 1.0))
    return out


def tomtom_columns(Qs: Sequence[np.ndarray], Ts: Sequence[np.ndarray], distance: str = "pearson",
                   reverse_complement: bool = True, n_score_bins: int = 100):
    """Tomtom p-values of every query against every target, with a chosen column score.

    Parameters
    ----------
    Qs : list of ``(A, W)`` probability matrices (queries; widths may differ).
    Ts : list of ``(A, L)`` probability matrices (the target database, same ``A``). The null of
        each query column is built from all target columns, so use a whole database.
    distance : ``"pearson"`` (MEME's ``-dist pearson``) or ``"euclidean"`` (``-dist ed``,
        memelite's score).
    reverse_complement : also align the targets' reverse complements ``T[::-1, ::-1]`` (the
        alphabet must be ordered so that reversing the rows complements them, e.g. ACGT), whose
        columns then join the null, as in MEME.
    n_score_bins : integer range of one column score (MEME's ``BINS``, 100).

    Returns
    -------
    ``(p_values, scores, offsets, overlaps, strands)``, each ``(n_queries, n_targets)``:
    ``p_values`` (float64) of the best alignment, corrected for all offsets and both strands;
    ``scores`` (float64, integer-valued) its complete score in ``[0, W * n_score_bins]``;
    ``offsets`` (int64) the target column (of the reverse complement when ``strands`` is 1) where
    the query's first column aligns, negative when the query starts before the target;
    ``overlaps`` (int64) the aligned columns; ``strands`` (int64) 0 for ``+``, 1 for ``-``.
    These are the conventions of ``memelite.tomtom``.
    """
    if distance not in DISTANCES:
        raise ValueError(f"unknown distance {distance!r}; use one of {DISTANCES}")
    n_score_bins = int(n_score_bins)
    if n_score_bins < 1:
        raise ValueError(f"n_score_bins must be a positive integer, got {n_score_bins}")
    Qs = [np.asarray(q, dtype=np.float64) for q in Qs]
    Ts = [np.asarray(t, dtype=np.float64) for t in Ts]
    if not Qs or not Ts:
        raise ValueError(f"need at least one query and one target, got {len(Qs)} and {len(Ts)}")
    n_letters = Qs[0].shape[0]
    for kind, mats in (("query", Qs), ("target", Ts)):
        for k, m in enumerate(mats):
            if m.ndim != 2 or m.shape[0] != n_letters or m.shape[1] < 1:
                raise ValueError(f"{kind} {k} has shape {m.shape}; expected ({n_letters}, width >= 1)")
            if not np.isfinite(m).all():
                raise ValueError(f"{kind} {k} has non-finite entries")
    if len(Ts) < MIN_TARGETS:
        warnings.warn(f"tomtom_columns got {len(Ts)} target motifs; the null of each query column is "
                      f"built from the target columns, so p-values are unreliable below {MIN_TARGETS} "
                      "targets (use a whole motif database)", stacklevel=2)

    n_t = len(Ts)
    strands = Ts + [t[::-1, ::-1] for t in Ts] if reverse_complement else list(Ts)
    n_orient = 2 if reverse_complement else 1
    lens = np.array([t.shape[1] for t in strands])
    T_all = np.concatenate(strands, axis=1)
    n_cols = T_all.shape[1]
    ulens, len_index = np.unique(lens[:n_t], return_inverse=True)

    shape = (len(Qs), n_t)
    p_out = np.ones(shape)
    score_out = np.zeros(shape)
    offset_out = np.zeros(shape, dtype=np.int64)
    overlap_out = np.zeros(shape, dtype=np.int64)
    strand_out = np.zeros(shape, dtype=np.int64)

    for qi, Q in enumerate(Qs):
        w = Q.shape[1]
        S = column_scores(Q, T_all, distance)
        S -= _meme_median(S)[:, None]
        lo = np.floor(S.min())
        scale = np.floor(n_score_bins / max(S.max() - lo, 1.0))
        Z = np.floor((S - lo) * scale + 0.5).astype(np.int64)
        np.clip(Z, 0, n_score_bins, out=Z)
        u = int(-lo * scale)

        # null: p-value of the best of all alignments with a target of each length
        log_cdf = _span_log_cdfs(Z, u, n_score_bins)
        p_table = np.empty((len(ulens), w * n_score_bins + 1))
        for k, L in enumerate(ulens):
            off = np.arange(-(w - 1), L)
            a = np.maximum(0, -off)
            b = np.minimum(w - 1, L - 1 - off)
            p_table[k] = -np.expm1(n_orient * log_cdf[a, b].sum(axis=0))

        # observed: complete score of every alignment of every target (and strand); targets sit
        # in one padded row of columns, w - 1 overhang columns (scoring u) between them
        starts = np.concatenate([[0], np.cumsum(lens + w - 1)[:-1]]) + (w - 1)
        idx = np.full(int(lens.sum() + (w - 1) * (len(lens) + 1)), n_cols)
        col_starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        for s, c, L in zip(starts, col_starts, lens):
            idx[s: s + L] = np.arange(c, c + L)
        Zc = np.concatenate([Z - u, np.zeros((w, 1), dtype=np.int64)], axis=1)[:, idx]
        n_pos = idx.size - (w - 1)
        total = np.full(n_pos, w * u, dtype=np.int64)
        for i in range(w):
            total += Zc[i, i: i + n_pos]
        seg_lens = lens + w - 1
        seg = np.repeat(np.arange(len(lens)), seg_lens)
        pos_off = np.arange(n_pos) - np.repeat(starts, seg_lens)
        pos_overlap = np.minimum(w, np.repeat(lens, seg_lens) - pos_off) - np.maximum(0, -pos_off)
        key = total * (w + 1) + pos_overlap
        seg_first = np.concatenate([[0], np.cumsum(seg_lens)[:-1]])
        best_key = np.maximum.reduceat(key, seg_first)
        hit = np.flatnonzero(key == best_key[seg])
        first = hit[np.unique(seg[hit], return_index=True)[1]]  # smallest offset among ties

        score = total[first]
        offset = pos_off[first]
        overlap = pos_overlap[first]
        strand = np.zeros(n_t, dtype=np.int64)
        if reverse_complement:
            fwd, rev = best_key[:n_t], best_key[n_t:]
            strand = (rev > fwd).astype(np.int64)  # ties (same score and overlap) go to "+"
            pick = np.arange(n_t) + n_t * strand
            score, offset, overlap = score[pick], offset[pick], overlap[pick]
        p_out[qi] = p_table[len_index, score]
        score_out[qi] = score
        offset_out[qi] = offset
        overlap_out[qi] = overlap
        strand_out[qi] = strand
    return p_out, score_out, offset_out, overlap_out, strand_out
