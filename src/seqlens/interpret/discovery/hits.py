"""Hit calling: scan sequences with discovered patterns, contribution-weighted.

Every window of a pattern's scanned columns (those with at least ``trim_threshold`` of the CWM's
peak contribution, default 0.1: wider than the 0.3 trim of logos, as members of a family differ
in the flanks), on both strands, gets three scores:

* ``similarity``: cosine similarity between the CWM and the window's contributions
  (``attr * X``), both signed (a negative pattern's site scores +1 when its negative
  contributions have the CWM's shape): does the contribution have the pattern's shape?
* ``contribution``: the window's summed contribution, times the pattern's sign: is there any?
* ``seq_score``: the log-odds score (bits) of the window under the pattern's PWM against the
  sequences' base composition: is the sequence an instance?

The sequence threshold is calibrated against a null (default, ``fdr``): the exact distribution
of ``seq_score`` in random sequences of the background composition (log-odds discretised to
``1/bin_size`` steps per bit, as FIMO) gives each score's chance rate per window; the threshold
is the lowest score at which the expected number of chance windows, ``n_windows x P_null(S >=
t)``, is at most ``fdr`` of the windows that reach it (Benjamini-Hochberg over every window
scanned; found from a histogram of the scores over the null's bins, and sequences are scanned in
chunks of ``batch_size``, so memory does not grow with the number of sequences beyond the hits).
Without ``fdr`` (None) it is the ``quantile`` of the scores of the pattern's own seqlets, which
follows how clean the seqlets are rather than how often the PWM matches by chance.

A window is a candidate when its ``seq_score`` reaches that threshold, its ``similarity``
reaches ``min_similarity`` and its ``contribution`` reaches ``min_contribution``. Sequence match
is the main evidence: many true instances get little attribution (a model need not use every
copy of a motif), so the contribution checks are lenient by default; they remove sites the model
does not read as the pattern. Candidates of all patterns are then made to not overlap:
strongest first (by ``score = similarity x contribution``, then ``seq_score``), a candidate
overlapping a kept hit by more than ``max_overlap`` of the shorter one is dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from seqlens.alphabet import DNA
from seqlens.errors import SeqlensError
from seqlens.interpret.discovery.patterns import (
    Pattern,
    aligned_windows,
    base_frequencies,
    trim_span,
)
from seqlens.motifs.motif import Motif

HIT_COLUMNS = ["seq", "name", "start", "end", "strand", "pattern", "score", "similarity",
               "contribution", "seq_score"]


def _log_odds(pwm: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Log-odds weights (bits) of a trimmed PWM, as :meth:`Motif.weights` computes them."""
    return Motif.from_probabilities(pwm, alphabet=DNA).weights(background)


def _rc(m: np.ndarray) -> np.ndarray:
    return m[::-1, ::-1].copy()


def scan_span(pattern: Pattern, trim_threshold: float | None) -> tuple[int, int]:
    """The columns ``(start, stop)`` the hit caller scans: those with at least
    ``trim_threshold`` of the CWM's peak contribution (:func:`trim_span`), or the pattern's own
    ``trim`` when ``trim_threshold`` is None."""
    return tuple(pattern.trim) if trim_threshold is None else trim_span(pattern.cwm, trim_threshold)


class ScoreTail:
    """``P_null(S >= s)`` of a PWM's log-odds score (:func:`score_tail`), vectorised over ``s``:
    a step function over bins of ``bin_size`` bits."""

    def __init__(self, tail: np.ndarray, offset: int, bin_size: float):
        self.offset, self.bin_size = offset, bin_size
        self.n_bins = len(tail)  # tail[k] = P(S >= (k + offset) bins)
        self.values = np.r_[1.0, tail, 0.0]  # by bin() + 1: below every bin, the bins, above

    def bin(self, s) -> np.ndarray:
        """The bin of each score ``s``, -1 below the first and ``n_bins`` above the last."""
        # a window's score rounds to its bin; nudge up so an exact bin edge counts as reached
        b = self.bin_size
        s = np.array(s, np.float64, ndmin=1)
        np.clip(s, (self.offset - 1) * b, (self.offset + self.n_bins) * b, out=s)
        s /= b
        s += 1e-6
        k = np.floor(s, out=s).astype(np.int64)
        k -= self.offset
        return np.clip(k, -1, self.n_bins, out=k)

    def __call__(self, s):
        return self.values[self.bin(s) + 1].reshape(np.shape(s))

    def at_least(self, s, k: int) -> np.ndarray:
        """Indices of the scores ``s`` (1-D) in bin ``k`` or above, found by one comparison
        (then the exact bins of the few near the edge)."""
        if k <= -1:
            return np.arange(len(s))
        edge = (k + self.offset) * self.bin_size
        idx = np.flatnonzero(s >= edge - 0.01 * self.bin_size)
        return idx[self.bin(s[idx]) >= k]


def score_tail(pwm: np.ndarray, background, bin_size: float = 0.1) -> ScoreTail:
    """``P_null(S >= s)`` of the log-odds score ``S`` (bits, :func:`_log_odds`) of the ``(A, w)``
    ``pwm`` on a random window of letters drawn from ``background`` ``(A,)``, exact for the
    weights rounded to ``bin_size`` bits (the column distributions convolved, as FIMO); returns a
    vectorised function of ``s`` (:class:`ScoreTail`)."""
    bg = np.asarray(background, np.float64)
    steps = np.round(_log_odds(pwm, bg) / bin_size).astype(np.int64)
    low = steps.min(0)
    pmf = np.ones(1)
    for j in range(steps.shape[1]):
        col = np.bincount(steps[:, j] - low[j], weights=bg, minlength=1)
        pmf = np.convolve(pmf, col)
    return ScoreTail(np.minimum(np.cumsum(pmf[::-1])[::-1], 1.0), int(low.sum()), bin_size)


def _background(X, background) -> np.ndarray:
    bg = X.mean((0, 2)) if background is None else np.asarray(background, np.float64)
    return np.clip(bg / max(bg.sum(), 1e-12), 1e-3, None)


def _window_contributions(pattern: Pattern, span, attr, X, seq, strand, start,
                          block: int = 1 << 15):
    """``(similarity, contribution)`` ``(k,)`` of the listed windows ``[start, start + w)`` of
    sequences ``seq`` over the CWM's columns ``span``, read on ``strand`` (0: +, 1: -): the cosine
    of the window's contributions (``attr * X``) with the CWM (its reverse complement on -), and
    their sum times the pattern's sign. Gathered ``block`` windows at a time, so memory grows with
    the windows asked for, not with the sequences."""
    cwm = pattern.cwm[:, span[0]:span[1]]
    w = cwm.shape[1]
    C = np.stack([cwm, _rc(cwm)]).astype(np.float32)
    cn = float(np.linalg.norm(cwm)) or 1.0
    sim, con = np.empty(len(seq), np.float32), np.empty(len(seq), np.float32)
    for lo in range(0, len(seq), block):
        n, pos = seq[lo:lo + block, None], start[lo:lo + block, None] + np.arange(w)
        c = attr[n, :, pos] * X[n, :, pos]  # (k, w, A)
        num = np.einsum("kwa,kaw->k", c, C[strand[lo:lo + block]])
        sim[lo:lo + block] = num / (np.sqrt(np.maximum((c * c).sum((1, 2)), 1e-12)) * cn)
        con[lo:lo + block] = c.sum((1, 2)) * pattern.sign
    return sim, con


def _sequence_scores(pwm: np.ndarray, X, background, batch_size: int) -> np.ndarray:
    """Log-odds (bits) of every window of ``X`` under the ``(A, w)`` ``pwm``, ``(N, 2, L - w + 1)``."""
    lo = _log_odds(pwm, background)
    Lw = torch.from_numpy(np.stack([lo, _rc(lo)])).float()
    with torch.inference_mode():
        return np.concatenate([
            F.conv1d(torch.from_numpy(np.ascontiguousarray(X[a:a + batch_size], dtype=np.float32)),
                     Lw).numpy() for a in range(0, len(X), batch_size)])


def _member_seq_scores(pattern: Pattern, span, X, background) -> np.ndarray:
    """Sequence scores (bits) of the pattern's seqlets' aligned windows over the columns ``span``."""
    s = pattern.seqlets
    start = s["start"].to_numpy() + np.where(s["strand"].to_numpy() > 0, span[0],
                                             pattern.width - span[1])
    x, = aligned_windows([X], s["seq"], start, s["strand"], span[1] - span[0])
    lo = _log_odds(pattern.scan_pwm[:, span[0]:span[1]], np.asarray(background))
    return (x * lo).sum((1, 2))


def _check(attr, X, quantile, min_similarity, max_overlap=0.0, fdr=None, trim_threshold=None):
    from seqlens.interpret.discovery.seqlets import check_pair

    attr, X = check_pair(attr, X)
    if fdr is not None and not 0 < fdr < 1:
        raise SeqlensError(f"fdr must be in (0, 1) or None, got {fdr}")
    if trim_threshold is not None and not 0 <= trim_threshold <= 1:
        raise SeqlensError(f"trim_threshold must be in [0, 1] or None, got {trim_threshold}")
    if not 0 <= quantile < 1:
        raise SeqlensError(f"quantile must be in [0, 1), got {quantile}")
    if not -1 <= min_similarity <= 1:
        raise SeqlensError(f"min_similarity must be in [-1, 1], got {min_similarity}")
    if not 0 <= max_overlap <= 1:
        raise SeqlensError(f"max_overlap must be in [0, 1], got {max_overlap}")
    return attr, X


def _bh_bin(pwm, X, bg, tail: ScoreTail, fdr: float, batch_size: int):
    """The bin (:meth:`ScoreTail.bin`) of the sequence threshold of
    :func:`~seqlens.interpret.discovery.seqlets.fdr_threshold` over every window of ``X``, from
    a histogram of the positive scores (None: no window passes). The null tail is constant
    within a bin and the FDR estimate ``n tail / rank`` falls with the rank inside it, so the
    threshold is the lowest positive score of the lowest non-empty bin ``b`` with ``n tail_b <=
    fdr #{S >= bin b}``; a histogram keeps memory flat in the number of sequences."""
    # only bins whose tail is at most fdr can hold it (n tail_b <= fdr #{S >= bin b} <= fdr n)
    low = int(np.argmax(tail.values <= fdr)) - 1
    counts = np.zeros(tail.n_bins + 2, np.int64)
    n = 0
    for a in range(0, len(X), batch_size):
        seq = _sequence_scores(pwm, X[a:a + batch_size], bg, batch_size).ravel()
        n += seq.size
        top = seq[tail.at_least(seq, low)]
        counts += np.bincount(tail.bin(top[top > 0]) + 1, minlength=len(counts))
    at_least = np.cumsum(counts[::-1])[::-1]
    ok = np.flatnonzero((counts > 0) & (n * tail.values <= fdr * at_least))
    return int(ok[0]) - 1 if ok.size else None


def _candidates(p: Pattern, span, attr, X, bg, fdr, quantile, min_similarity, min_contribution,
                batch_size):
    """The windows of one pattern over its columns ``span`` that pass its thresholds (a hit
    table without ``name``) and the thresholds. Sequences are scanned in chunks of
    ``batch_size`` and only windows at (or a bin under) the sequence threshold are held; with
    ``fdr`` each chunk's sequence scores are computed twice (for the threshold's histogram, then
    for the candidates), which keeps memory flat in the number of sequences."""
    pwm = p.scan_pwm[:, span[0]:span[1]]
    tail = score_tail(pwm, bg)
    w = span[1] - span[0]
    n_pos = X.shape[2] - w + 1

    def tolerance(t):  # float32 scans: a window must not fall below its own score by rounding
        return 1e-4 * max(1.0, abs(t)) if np.isfinite(t) else 0.0

    k = None
    if fdr is None:
        t_seq = float(np.quantile(_member_seq_scores(p, span, X, bg), quantile))
    else:
        k = _bh_bin(pwm, X, bg, tail, fdr, batch_size)  # t_seq: the lowest positive score in bin k
        t_seq = np.inf if k is None else None

    def near(seq):  # windows that may reach t_seq (with fdr, the bin under k covers the tolerance)
        return np.flatnonzero(seq >= t_seq - tolerance(t_seq)) if k is None else tail.at_least(seq, k - 1)

    held = {"seq": [], "strand": [], "start": [], "score": [], "sim": [], "con": []}
    for a in range(0, len(X) if t_seq != np.inf else 0, batch_size):
        seq = _sequence_scores(pwm, X[a:a + batch_size], bg, batch_size).ravel()
        idx = near(seq)
        n, strand, start = np.unravel_index(idx, (len(seq) // (2 * n_pos), 2, n_pos))
        sim, con = _window_contributions(p, span, attr, X, a + n, strand, start)
        for key, v in (("seq", a + n), ("strand", strand), ("start", start), ("score", seq[idx]),
                       ("sim", sim), ("con", con)):
            held[key].append(v)
    h = {key: np.concatenate(v) if v else np.zeros(0, np.int64) for key, v in held.items()}
    if t_seq is None:
        t_seq = float(h["score"][(tail.bin(h["score"]) == k) & (h["score"] > 0)].min())
    t = {"similarity": float(min_similarity), "contribution": float(min_contribution),
         "seq_score": t_seq, "seq_p_value": float(tail(t_seq)), "span": tuple(int(v) for v in span)}
    ok = ((h["score"] >= t_seq - tolerance(t_seq)) & (h["sim"] >= t["similarity"])
          & (h["con"] >= t["contribution"]))
    start = h["start"][ok].astype(np.int64)
    sim, con = h["sim"][ok].astype(np.float32), h["con"][ok].astype(np.float32)
    return pd.DataFrame({
        "seq": h["seq"][ok].astype(np.int64), "start": start, "end": start + w,
        "strand": np.where(h["strand"][ok] == 0, "+", "-"), "pattern": p.name,
        "score": sim * np.maximum(con, 0), "similarity": sim, "contribution": con,
        "seq_score": h["score"][ok].astype(np.float32)}), t


def call_hits(patterns, attr, X, names=None, fdr: float | None = 0.1, quantile: float = 0.05,
              min_similarity: float = 0.3, min_contribution: float = 0.0,
              max_overlap: float = 0.5, trim_threshold: float | None = 0.1, background=None,
              batch_size: int = 4096) -> pd.DataFrame:
    """Instances of ``patterns`` in the sequences ``X`` with maps ``attr`` (see the module doc).

    Parameters
    ----------
    patterns : list of :class:`~seqlens.interpret.discovery.patterns.Pattern`.
    attr, X : ``(N, A, L)`` hypothetical contributions and one-hot sequences (those the patterns
        were found in, or others with maps of the same model).
    names : sequence names (default ``"0"``, ``"1"``, ...).
    fdr : largest expected share of chance matches (background null) among the windows reaching
        the sequence threshold; None: use ``quantile`` instead.
    quantile : with ``fdr=None``, the sequence score must reach this quantile of the pattern's
        seqlets' scores.
    min_similarity : smallest cosine similarity of the window's contributions to the CWM.
    min_contribution : smallest summed contribution of the window (times the pattern's sign).
    max_overlap : largest overlap between kept hits, as a fraction of the shorter.
    trim_threshold : scan the columns with at least this share of the CWM's peak contribution
        (:func:`scan_span`); None: the pattern's ``trim``.
    background : ``(A,)`` base composition of the PWM log-odds and of the null (default: that of
        ``X``).

    Returns
    -------
    BED-like DataFrame sorted by sequence and start: ``seq`` (index), ``name``, ``start``,
    ``end`` (0-based, end exclusive: the scanned columns), ``strand`` (``"+"``/``"-"``),
    ``pattern``, ``score``, ``similarity``, ``contribution``, ``seq_score``;
    ``df.attrs["thresholds"]`` holds each pattern's thresholds (``seq_score`` and its null
    ``seq_p_value``, ``span``).
    """
    attr, X = _check(attr, X, quantile, min_similarity, max_overlap, fdr, trim_threshold)
    if names is not None and len(names) != len(X):
        raise SeqlensError(f"{len(names)} names for {len(X)} sequences")
    bg = _background(X, background)
    rows, thresholds = [], {}
    for p in patterns:
        if p.n_seqlets == 0:
            continue
        found, thresholds[p.name] = _candidates(p, scan_span(p, trim_threshold), attr, X, bg, fdr,
                                                quantile, min_similarity, min_contribution,
                                                batch_size)
        rows.append(found)
    hits = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=[c for c in HIT_COLUMNS if c != "name"])
    hits = _non_overlapping(hits, max_overlap)
    hits.insert(1, "name", [str(names[i]) if names is not None else str(i) for i in hits["seq"]])
    hits = hits.sort_values(["seq", "start", "pattern"], kind="stable").reset_index(drop=True)
    hits.attrs["thresholds"] = thresholds
    return hits[HIT_COLUMNS]


def refine_sites(patterns, attr, X, n_iter: int = 2, fdr: float | None = 0.1,
                 quantile: float = 0.05, min_similarity: float = 0.3,
                 min_contribution: float = 0.0, max_overlap: float = 0.5,
                 trim_threshold: float | None = 0.1, background=None,
                 batch_size: int = 4096) -> list:
    """Set each pattern's ``site_pwm`` (and ``n_sites``): the base frequencies of its hits.

    Starting from the seqlets' PWM, ``n_iter`` rounds of: call the pattern's hits alone (the
    thresholds of :func:`call_hits`, the sequence one calibrated again under the current PWM),
    then take the PWM of their windows over the pattern's whole width, in its frame, unless the
    hits are fewer than the seqlets (e.g. a short motif that the null leaves few hits: their PWM
    would be noisier than the seqlets'; the current PWM is kept). Seqlets are
    the strongest instances, so their PWM favours the letters the model rewards most; the hits
    include the weaker instances the model still reads as the pattern, so their PWM moves
    towards that of all instances. Changes the patterns in place and returns them.
    """
    attr, X = _check(attr, X, quantile, min_similarity, max_overlap, fdr, trim_threshold)
    if n_iter < 0:
        raise SeqlensError(f"n_iter must be >= 0, got {n_iter}")
    bg = _background(X, background)
    for p in patterns:
        if p.n_seqlets == 0 or n_iter == 0:
            continue
        span = scan_span(p, trim_threshold)
        for _ in range(n_iter):
            found, _ = _candidates(p, span, attr, X, bg, fdr, quantile, min_similarity,
                                   min_contribution, batch_size)
            found = _non_overlapping(found, max_overlap)
            if len(found) < max(p.n_seqlets, 1):  # fewer sites than seqlets: a noisier PWM
                break
            strand = np.where(found["strand"].to_numpy() == "+", 1, -1)
            start = found["start"].to_numpy() - np.where(strand > 0, span[0], p.width - span[1])
            x, = aligned_windows([X], found["seq"].to_numpy(), start, strand, p.width)
            p.site_pwm = base_frequencies(x).astype(np.float64)
            p.n_sites = len(found)
    return patterns


def _non_overlapping(hits: pd.DataFrame, max_overlap: float) -> pd.DataFrame:
    """Greedy non-maximum suppression per sequence, strongest score first."""
    if hits.empty:
        return hits
    hits = hits.sort_values(["seq", "score", "seq_score"], ascending=[True, False, False],
                            kind="stable")
    seq = hits["seq"].to_numpy()
    start = hits["start"].to_numpy()
    end = hits["end"].to_numpy()
    keep = np.zeros(len(hits), dtype=bool)
    bounds = np.flatnonzero(np.diff(seq)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(seq)]):
        kept: list[int] = []
        for j in range(lo, hi):
            ok = True
            for k in kept:
                ov = min(end[j], end[k]) - max(start[j], start[k])
                if ov > max_overlap * min(end[j] - start[j], end[k] - start[k]):
                    ok = False
                    break
            if ok:
                kept.append(j)
                keep[j] = True
    return hits[keep]
