"""Hit calling: scan sequences with discovered patterns, contribution-weighted.

Every window of a pattern's trimmed width, on both strands, gets three scores:

* ``similarity``: cosine similarity between the trimmed CWM and the window's contributions
  (``attr * X``): does the contribution have the pattern's shape?
* ``contribution``: the window's summed contribution, times the pattern's sign: is there any?
* ``seq_score``: the log-odds score (bits) of the window under the pattern's PWM against the
  sequences' base composition: is the sequence an instance?

A window is a candidate when its ``seq_score`` reaches the ``quantile`` of the scores of the
pattern's own seqlets (their aligned windows), its ``similarity`` reaches ``min_similarity`` and
its ``contribution`` reaches ``min_contribution``. Sequence match is the main evidence: many true
instances get little attribution (a model need not use every copy of a motif), so the
contribution checks are lenient by default; they remove sites the model does not read as the
pattern. Candidates of all patterns are then made to not overlap: strongest first (by
``score = similarity x contribution``, then ``seq_score``), a candidate overlapping a kept hit by
more than ``max_overlap`` of the shorter one is dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from seqlens.alphabet import DNA
from seqlens.errors import SeqlensError
from seqlens.interpret.discovery.patterns import Pattern, aligned_windows
from seqlens.motifs.motif import Motif

HIT_COLUMNS = ["seq", "name", "start", "end", "strand", "pattern", "score", "similarity",
               "contribution", "seq_score"]


def _log_odds(pwm: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Log-odds weights (bits) of a trimmed PWM, as :meth:`Motif.weights` computes them."""
    return Motif.from_probabilities(pwm, alphabet=DNA).weights(background)


def _rc(m: np.ndarray) -> np.ndarray:
    return m[::-1, ::-1].copy()


def window_scores(pattern: Pattern, attr, X, background=None, batch_size: int = 4096):
    """``(similarity, contribution, seq_score)``, each ``(N, 2, L - w + 1)`` (strand +, -) for
    every window of the pattern's trimmed width ``w``; entry ``[n, s, i]`` is the window starting
    at ``i`` on the forward strand, read on strand ``s``."""
    cwm = pattern.trimmed("cwm") * pattern.sign
    w = cwm.shape[1]
    bg = np.asarray(background if background is not None else np.full(X.shape[1], 1 / X.shape[1]))
    lo = _log_odds(pattern.trimmed("pwm"), bg)
    C = torch.from_numpy(np.stack([cwm, _rc(cwm)])).float()
    Lw = torch.from_numpy(np.stack([lo, _rc(lo)])).float()
    cn = float(np.linalg.norm(cwm)) or 1.0
    ones = torch.ones(1, X.shape[1], w)
    sims, cons, seqs = [], [], []
    with torch.inference_mode():
        for a in range(0, len(X), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(X[a:a + batch_size], dtype=np.float32))
            c = torch.from_numpy(np.ascontiguousarray(attr[a:a + batch_size], dtype=np.float32)) * x
            num = F.conv1d(c, C)
            den = F.conv1d(c * c, ones).clamp_min(1e-12).sqrt() * cn
            sims.append((num / den).numpy())
            cons.append((F.conv1d(c, ones) * pattern.sign).expand(-1, 2, -1).numpy())
            seqs.append(F.conv1d(x, Lw).numpy())
    return np.concatenate(sims), np.concatenate(cons), np.concatenate(seqs)


def _member_scores(pattern: Pattern, attr, X, background):
    """The three scores at the pattern's seqlets' aligned, trimmed windows."""
    s = pattern.seqlets
    start = s["start"].to_numpy() + np.where(s["strand"].to_numpy() > 0, pattern.trim[0],
                                             pattern.width - pattern.trim[1])
    w = pattern.trim[1] - pattern.trim[0]
    a, x = aligned_windows([attr, X], s["seq"], start, s["strand"], w)
    c = a * x
    cwm = pattern.trimmed("cwm") * pattern.sign
    bg = np.asarray(background)
    lo = _log_odds(pattern.trimmed("pwm"), bg)
    sim = (c * cwm).sum((1, 2)) / np.maximum(np.sqrt((c * c).sum((1, 2))) * np.linalg.norm(cwm),
                                            1e-12)
    return sim, c.sum((1, 2)) * pattern.sign, (x * lo).sum((1, 2))


def call_hits(patterns, attr, X, names=None, quantile: float = 0.05,
              min_similarity: float = 0.3, min_contribution: float = 0.0,
              max_overlap: float = 0.5, background=None, batch_size: int = 4096) -> pd.DataFrame:
    """Instances of ``patterns`` in the sequences ``X`` with maps ``attr`` (see the module doc).

    Parameters
    ----------
    patterns : list of :class:`~seqlens.interpret.discovery.patterns.Pattern`.
    attr, X : ``(N, A, L)`` hypothetical contributions and one-hot sequences (those the patterns
        were found in, or others with maps of the same model).
    names : sequence names (default ``"0"``, ``"1"``, ...).
    quantile : the sequence score must reach this quantile of the pattern's seqlets' scores.
    min_similarity : smallest cosine similarity of the window's contributions to the CWM.
    min_contribution : smallest summed contribution of the window (times the pattern's sign).
    max_overlap : largest overlap between kept hits, as a fraction of the shorter.
    background : ``(A,)`` base composition of the PWM log-odds (default: that of ``X``).

    Returns
    -------
    BED-like DataFrame sorted by sequence and start: ``seq`` (index), ``name``, ``start``,
    ``end`` (0-based, end exclusive), ``strand`` (``"+"``/``"-"``), ``pattern``, ``score``,
    ``similarity``, ``contribution``, ``seq_score``; ``df.attrs["thresholds"]`` holds each
    pattern's thresholds.
    """
    from seqlens.interpret.discovery.seqlets import check_pair

    attr, X = check_pair(attr, X)
    if not 0 <= quantile < 1:
        raise SeqlensError(f"quantile must be in [0, 1), got {quantile}")
    if not -1 <= min_similarity <= 1:
        raise SeqlensError(f"min_similarity must be in [-1, 1], got {min_similarity}")
    if not 0 <= max_overlap <= 1:
        raise SeqlensError(f"max_overlap must be in [0, 1], got {max_overlap}")
    if names is not None and len(names) != len(X):
        raise SeqlensError(f"{len(names)} names for {len(X)} sequences")
    bg = X.mean((0, 2)) if background is None else np.asarray(background, np.float64)
    bg = np.clip(bg / max(bg.sum(), 1e-12), 1e-3, None)
    rows, thresholds = [], {}
    for p in patterns:
        if p.n_seqlets == 0:
            continue
        _, _, mq = _member_scores(p, attr, X, bg)
        t = {"similarity": float(min_similarity), "contribution": float(min_contribution),
             "seq_score": float(np.quantile(mq, quantile))}
        thresholds[p.name] = t
        sim, con, seq = window_scores(p, attr, X, bg, batch_size)
        # float32 scans: a member's own window must not fall below its own score by rounding
        tol = 1e-4 * max(1.0, abs(t["seq_score"]))
        ok = (sim >= t["similarity"]) & (con >= t["contribution"]) & (seq >= t["seq_score"] - tol)
        n, s, i = np.nonzero(ok)
        w = p.trim[1] - p.trim[0]
        rows.append(pd.DataFrame({
            "seq": n.astype(np.int64), "start": i.astype(np.int64), "end": (i + w).astype(np.int64),
            "strand": np.where(s == 0, "+", "-"), "pattern": p.name,
            "score": sim[n, s, i] * np.maximum(con[n, s, i], 0), "similarity": sim[n, s, i],
            "contribution": con[n, s, i], "seq_score": seq[n, s, i]}))
    hits = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=[c for c in HIT_COLUMNS if c != "name"])
    hits = _non_overlapping(hits, max_overlap)
    hits.insert(1, "name", [str(names[i]) if names is not None else str(i) for i in hits["seq"]])
    hits = hits.sort_values(["seq", "start", "pattern"], kind="stable").reset_index(drop=True)
    hits.attrs["thresholds"] = thresholds
    return hits[HIT_COLUMNS]


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
