"""Patterns: seqlets aligned and clustered into motifs (CWM, hypothetical CWM, PWM).

A seqlet is described by its window of contributions (``attr * X``; or the hypothetical
contributions ``attr``, or both, with ``features``). A pattern is a ``(C, W)`` matrix; a
seqlet's similarity to it is the best cosine similarity over every offset of the pattern inside
the seqlet's window and both strands. One ``conv1d`` over chunks of seqlets computes it for all
patterns at once, so memory stays flat in the number of seqlets (no seqlet x seqlet matrix) and
a pass costs ``seqlets x patterns``.

Clustering, per sign (positive and negative seqlets apart):

1. *seeding*: the strongest seqlet that no pattern explains yet (similarity below
   ``seed_similarity`` to all of them) seeds a pattern; the seqlets at least ``seed_similarity``
   similar to it, and more similar to it than to any earlier pattern, join; the pattern becomes
   their aligned mean, re-centred on its contribution, ``n_iter`` times. A seed gathering fewer
   than ``min_seqlets`` is dropped (``max_failures`` drops in a row end the seeding);
2. *refinement* (``n_refine`` rounds): every seqlet goes to its most similar pattern (none below
   ``min_similarity``), patterns are rebuilt, a pattern at least ``merge_similarity`` similar to a
   larger one (over offsets overlapping 70% and both strands) is merged into it, patterns with
   fewer than ``min_seqlets`` are dropped;
3. *motifs*: the aligned windows of each pattern's seqlets (``W + 2 pattern_flank`` wide, read
   from the whole maps on the seqlet's strand) give the CWM (mean contributions), the hypothetical
   CWM (mean ``attr``) and the PWM (base frequencies); ``trim`` keeps the columns whose summed
   absolute contribution is at least ``trim_threshold`` of the largest (plus ``trim_pad``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from seqlens.alphabet import DNA
from seqlens.errors import SeqlensError
from seqlens.motifs.motif import Motif

MEMBER_COLUMNS = ["seqlet", "seq", "start", "end", "strand", "similarity"]


@dataclass(eq=False)
class Pattern:
    """A discovered motif.

    Attributes
    ----------
    name : ``"pos_0"``, ``"neg_1"``, ... (sign and rank by seqlet count).
    sign : +1 (positive contributions) or -1.
    cwm, hcwm : ``(A, W)`` mean contributions / hypothetical contributions of the aligned seqlets.
    pwm : ``(A, W)`` base frequencies of the aligned seqlets (columns sum to 1).
    seqlets : one row per seqlet: ``seqlet`` (id in the seqlet table), ``seq``, ``start``/``end``
        (the aligned window on the forward strand; may reach beyond the sequence, which reads as
        zeros), ``strand`` (+1/-1: the window is read reverse-complemented), ``similarity``.
    trim : ``(start, stop)`` columns kept by trimming.
    metadata : annotations (e.g. JASPAR matches, truth matches).
    site_pwm : ``(A, W)`` base frequencies of the pattern's instances in the sequences (its hits,
        in the same frame), or None until :func:`~seqlens.interpret.discovery.hits.refine_sites`
        sets it; ``n_sites`` is their number. Seqlets are the instances the model scores
        highest, so their PWM over-represents the letters the model prefers; the sites' PWM is
        that of every instance the model reads as the pattern. Matching and scanning use it when
        set.
    """

    name: str
    sign: int
    cwm: np.ndarray
    hcwm: np.ndarray
    pwm: np.ndarray
    seqlets: pd.DataFrame
    trim: tuple[int, int]
    metadata: dict = field(default_factory=dict)
    site_pwm: np.ndarray | None = None
    n_sites: int = 0

    @property
    def n_seqlets(self) -> int:
        return len(self.seqlets)

    @property
    def width(self) -> int:
        return self.cwm.shape[1]

    def trimmed(self, kind: str = "cwm") -> np.ndarray:
        """The trimmed ``(A, w)`` ``"cwm"``, ``"hcwm"``, ``"pwm"`` or ``"scan_pwm"``."""
        return getattr(self, kind)[:, self.trim[0]:self.trim[1]]

    @property
    def scan_pwm(self) -> np.ndarray:
        """The PWM that matching and scanning use: the sites' when set, else the seqlets'."""
        return self.pwm if self.site_pwm is None else self.site_pwm

    def motif(self, trimmed: bool = True, pseudocount: float = 0.0, span=None) -> Motif:
        """:attr:`scan_pwm` as a :class:`Motif` of counts (its number of sites), named after the
        pattern: trimmed (``trim``), whole, or over the columns ``span = (start, stop)``."""
        pwm = self.scan_pwm
        if span is not None:
            m = pwm[:, span[0]:span[1]]
        else:
            m = pwm[:, self.trim[0]:self.trim[1]] if trimmed else pwm
        n = self.n_seqlets if self.site_pwm is None else self.n_sites
        counts = m * n + pseudocount
        counts = np.where(counts.sum(0, keepdims=True) > 0, counts, 1.0)
        return Motif.from_counts(counts, name=self.name, alt_name=self.consensus(), alphabet=DNA,
                                 metadata={"n_seqlets": self.n_seqlets, "n_sites": self.n_sites,
                                           "sign": self.sign})

    def consensus(self) -> str:
        return "".join(np.array(list(DNA.letters))[self.trimmed("scan_pwm").argmax(0)])


# ------------------------------------------------------------------------------- aligned windows
def aligned_windows(arrays, seq, start, strand, width: int) -> list[np.ndarray]:
    """The ``(n, A, width)`` windows ``[start, start + width)`` of each ``(N, A, L)`` array in
    ``arrays`` for sequences ``seq``; positions outside the sequence read as 0; windows with
    ``strand == -1`` are reverse-complemented (letters and positions reversed)."""
    seq = np.asarray(seq, np.int64)
    start = np.asarray(start, np.int64)
    strand = np.asarray(strand, np.int64)
    L = arrays[0].shape[2]
    idx = start[:, None] + np.arange(width)[None, :]
    valid = (idx >= 0) & (idx < L)
    safe = np.clip(idx, 0, L - 1)
    out = []
    for arr in arrays:
        w = np.asarray(arr)[seq[:, None], :, safe]  # (n, width, A)
        w = np.where(valid[:, :, None], w, 0).transpose(0, 2, 1)
        rc = strand < 0
        if rc.any():
            w[rc] = w[rc][:, ::-1, ::-1]
        out.append(np.ascontiguousarray(w, dtype=np.float32))
    return out


FEATURES = ("contributions", "hypothetical", "both")


def _features(attr, X, seq, start, strand, width, kind: str = "contributions"):
    """``(n, C, width)`` features of aligned windows: contributions (``C = A``, ``attr * X`` of
    the windows only, so no ``(N, A, L)`` product is held), hypothetical contributions (``A``) or
    both (``2A``, hypothetical first)."""
    if kind == "hypothetical":
        return torch.from_numpy(aligned_windows([attr], seq, start, strand, width)[0])
    hyp, x = aligned_windows([attr, X], seq, start, strand, width)
    con = hyp * x
    return torch.from_numpy(con if kind == "contributions" else np.concatenate([hyp, con], 1))


def _rc(P: torch.Tensor, A: int) -> torch.Tensor:
    """Reverse complement of ``(..., C, W)`` features (positions reversed, and the letters of
    each block of ``A`` channels)."""
    blocks = [P[..., i * A:(i + 1) * A, :].flip(-2) for i in range(P.shape[-2] // A)]
    return torch.cat(blocks, dim=-2).flip(-1)


def best_alignment(feats: torch.Tensor, patterns: torch.Tensor, A: int = 4, rc: bool = True,
                   chunk_size: int = 4096):
    """Best cosine similarity of each window set to each pattern over offsets and strands.

    Parameters
    ----------
    feats : ``(n, C, S)`` features; patterns : ``(K, C, W)`` with ``W <= S``.

    Returns
    -------
    ``(sim, offset, strand)``, each ``(n, K)``: the best cosine, the offset of the pattern's
    first column in the window, and +1/-1 (the pattern's reverse complement matched).
    """
    n, C, S = feats.shape
    K, _, W = patterns.shape
    filt = torch.cat([patterns, _rc(patterns, A)]) if rc else patterns
    norms = filt.flatten(1).norm(dim=1).clamp_min(1e-12)
    ones = torch.ones(1, C, W, dtype=feats.dtype)
    n_strands = 2 if rc else 1
    sims, offs, strands = [], [], []
    for lo in range(0, n, chunk_size):
        f = feats[lo:lo + chunk_size]
        num = F.conv1d(f, filt)  # (c, strands x K, O)
        den = F.conv1d(f * f, ones).clamp_min(1e-12).sqrt()  # (c, 1, O)
        cos = num / den / norms[None, :, None]
        c, _, O = cos.shape
        cos = cos.view(c, n_strands, K, O).permute(0, 2, 1, 3).reshape(c, K, n_strands * O)
        best, arg = cos.max(-1)
        sims.append(best)
        offs.append(arg % O)
        strands.append(torch.where(arg >= O, -1, 1))
    if not sims:
        z = torch.zeros(0, K)
        return z, z.long(), z.long()
    return torch.cat(sims), torch.cat(offs), torch.cat(strands)


# ------------------------------------------------------------------------------------ clustering
@dataclass
class _Cluster:
    P: torch.Tensor  # (C, W) current pattern
    members: np.ndarray  # indices into the sign's seqlets
    start: np.ndarray  # absolute start of each member's aligned window
    strand: np.ndarray
    sim: np.ndarray


@dataclass
class _Context:
    """What every clustering step needs: the seqlets' features and how to re-read windows."""

    attr: np.ndarray
    X: np.ndarray
    seq: np.ndarray  # sequence of each seqlet (strongest first)
    fs: np.ndarray  # absolute start of each seqlet's feature window
    feats: torch.Tensor  # (n, C, S)
    W: int
    margin: int
    A: int
    kind: str
    chunk_size: int

    def align(self, Ps: torch.Tensor, rows=None):
        f = self.feats if rows is None else self.feats[rows]
        return best_alignment(f, Ps, self.A, chunk_size=self.chunk_size)

    def recentre(self, members, off, strand):
        """Pattern of ``members`` aligned at ``off`` (in their feature windows) and their
        re-centred absolute starts."""
        start = self.fs[members] + off
        feats = _features(self.attr, self.X, self.seq[members], start - self.margin, strand,
                          self.W + 2 * self.margin, self.kind)
        mean = feats.mean(0)
        mass = mean[-self.A:].abs().sum(0)
        csum = torch.cat([torch.zeros(1), mass.cumsum(0)])
        shift = int(torch.argmax(csum[self.W:] - csum[:-self.W])) - self.margin
        P = mean[:, shift + self.margin: shift + self.margin + self.W].contiguous()
        # a shift to the right in a reverse-complemented window is one to the left on the
        # forward strand
        return P, start + np.where(strand > 0, shift, -shift)


def cluster_seqlets(attr, X, table: pd.DataFrame, min_similarity: float = 0.7,
                    seed_similarity: float = 0.8, merge_similarity: float = 0.8,
                    min_seqlets: int = 20, max_patterns: int = 50, n_iter: int = 3,
                    n_refine: int = 3, max_failures: int = 50, features: str = "contributions",
                    chunk_size: int = 4096) -> list[_Cluster]:
    """Cluster the seqlets of ``table`` (one sign) into aligned clusters (see the module doc);
    cluster members index the rows of ``table``."""
    W = int((table["core_end"] - table["core_start"]).iloc[0]) if len(table) else 0
    if len(table) < min_seqlets or W == 0:
        return []
    order = np.argsort(-np.abs(table["score"].to_numpy()), kind="stable")
    seq = table["seq"].to_numpy()[order]
    flank = max(int((table["core_start"] - table["start"]).max()), W // 3)
    fs = table["core_start"].to_numpy()[order] - flank
    feats = _features(attr, X, seq, fs, np.ones(len(seq), np.int64), W + 2 * flank, features)
    ctx = _Context(attr, X, seq, fs, feats, W, max(W // 3, 1), X.shape[1], features,
                   chunk_size)
    clusters = _seed(ctx, flank, seed_similarity, min_seqlets, max_patterns, n_iter, max_failures)
    for _ in range(n_refine):
        clusters = _refine(clusters, ctx, min_similarity, merge_similarity, min_seqlets)
    for c in clusters:  # back to the caller's row order
        c.members = order[c.members]
    return clusters


def _seed(ctx: _Context, flank, seed_similarity, min_seqlets, max_patterns, n_iter,
          max_failures) -> list[_Cluster]:
    """Seeds from the strongest seqlets that no pattern explains yet; each gathers the seqlets
    more similar to it than ``seed_similarity`` and than to any earlier pattern."""
    n = len(ctx.seq)
    explained = np.full(n, -np.inf)  # best similarity to the patterns so far
    failed = np.zeros(n, dtype=bool)
    clusters: list[_Cluster] = []
    failures = 0
    while len(clusters) < max_patterns and failures < max_failures:
        free = np.flatnonzero((explained < seed_similarity) & ~failed)
        if len(free) < min_seqlets:
            break
        seed = free[0]
        P = ctx.feats[seed, :, flank:flank + ctx.W].clone()
        for it in range(n_iter + 1):
            sim, off, st = (t[:, 0].numpy() for t in ctx.align(P[None]))
            keep = np.flatnonzero((sim >= seed_similarity) & (sim > explained))
            if it == n_iter or len(keep) < (min_seqlets if it else max(2, min_seqlets // 4)):
                break
            P, start = ctx.recentre(keep, off[keep], st[keep])
        if len(keep) < min_seqlets:
            failed[seed] = True
            failures += 1
            continue
        failures = 0
        P, start = ctx.recentre(keep, off[keep], st[keep])
        clusters.append(_Cluster(P, keep, start, st[keep], sim[keep]))
        explained = np.maximum(explained, sim)
    return clusters


def _refine(clusters, ctx: _Context, min_similarity, merge_similarity, min_seqlets):
    """Assign every seqlet to its most similar pattern, rebuild, merge look-alikes."""
    if not clusters:
        return clusters
    sim, off, st = ctx.align(torch.stack([c.P for c in clusters]))
    best, k = sim.max(1)
    pick = k[:, None]
    off, st = off.gather(1, pick)[:, 0].numpy(), st.gather(1, pick)[:, 0].numpy()
    best, k = best.numpy(), k.numpy()
    assigned = best >= min_similarity
    out = []
    for j in range(len(clusters)):
        m = np.flatnonzero(assigned & (k == j))
        if len(m) >= min_seqlets:
            P, start = ctx.recentre(m, off[m], st[m])
            out.append(_Cluster(P, m, start, st[m], best[m]))
    out.sort(key=lambda c: -len(c.members))
    return _merge(out, ctx.A, merge_similarity)


def pattern_similarity(Ps: torch.Tensor, A: int = 4, min_overlap: float = 0.7) -> np.ndarray:
    """``(K, K)`` best cosine similarity between patterns ``(K, C, W)`` over strands and offsets
    that overlap at least ``min_overlap`` of the width, each side normalised over the overlap."""
    K, C, W = Ps.shape
    pad = W - max(int(np.ceil(min_overlap * W)), 1)
    padded = F.pad(Ps, (pad, pad))
    mask = F.pad(torch.ones(1, C, W), (pad, pad))
    filt = torch.cat([Ps, _rc(Ps, A)])
    num = F.conv1d(padded, filt)  # (K, 2K, O)
    den_self = F.conv1d(padded * padded, torch.ones(1, C, W))  # (K, 1, O)
    den_other = F.conv1d(mask, filt * filt)  # (1, 2K, O)
    cos = num / (den_self * den_other).clamp_min(1e-24).sqrt()
    best = cos.view(K, 2, K, -1).amax(dim=(1, 3))
    return best.numpy()


def _merge(clusters, A, merge_similarity):
    """Drop clusters whose pattern is at least ``merge_similarity`` similar to a larger one's;
    their seqlets go to the most similar pattern at the next refinement."""
    if len(clusters) < 2:
        return clusters
    sim = pattern_similarity(torch.stack([c.P for c in clusters]), A)
    keep = []
    for j in range(len(clusters)):
        if not any(sim[j, i] >= merge_similarity for i in keep):
            keep.append(j)
    return [clusters[j] for j in keep]


# --------------------------------------------------------------------------------------- motifs
def trim_span(cwm: np.ndarray, threshold: float = 0.3, pad: int = 0) -> tuple[int, int]:
    """Columns from the first to the last whose summed absolute contribution is at least
    ``threshold`` x the largest, widened by ``pad`` (within the matrix)."""
    mass = np.abs(cwm).sum(0)
    if not np.any(mass > 0):
        return 0, cwm.shape[1]
    keep = np.flatnonzero(mass >= threshold * mass.max())
    return max(int(keep[0]) - pad, 0), min(int(keep[-1]) + 1 + pad, cwm.shape[1])


def base_frequencies(x: np.ndarray) -> np.ndarray:
    """``(A, W)`` letter frequencies of aligned one-hot windows ``x`` ``(n, A, W)``; positions
    outside the sequences (all-zero columns) are left out, a column with none is uniform."""
    counts = x.sum(0)
    tot = counts.sum(0, keepdims=True)
    return np.where(tot > 0, counts / np.maximum(tot, 1e-12), 1.0 / x.shape[1])


def build_pattern(attr, X, seq, start, strand, width: int, name: str, sign: int,
                  seqlet_ids=None, similarity=None, trim_threshold: float = 0.3,
                  trim_pad: int = 0) -> Pattern:
    """A :class:`Pattern` from aligned windows ``[start, start + width)`` (``strand`` -1 read
    reverse-complemented): CWM = mean of ``attr * X``, hypothetical CWM = mean of ``attr``,
    PWM = base frequencies of ``X`` (positions outside the sequences are left out)."""
    seq = np.asarray(seq, np.int64)
    start = np.asarray(start, np.int64)
    strand = np.asarray(strand, np.int64)
    hyp, x = aligned_windows([attr, X], seq, start, strand, width)
    con = hyp * x
    pwm = base_frequencies(x)
    cwm, hcwm = con.mean(0), hyp.mean(0)
    n = len(seq)
    members = pd.DataFrame({
        "seqlet": np.asarray(seqlet_ids if seqlet_ids is not None else np.full(n, -1), np.int64),
        "seq": seq, "start": start, "end": start + width, "strand": strand,
        "similarity": np.asarray(similarity if similarity is not None else np.full(n, np.nan),
                                 np.float64)}, columns=MEMBER_COLUMNS)
    return Pattern(name, int(sign), cwm.astype(np.float64), hcwm.astype(np.float64),
                   pwm.astype(np.float64), members, trim_span(cwm, trim_threshold, trim_pad))


def find_patterns(attr, X, table: pd.DataFrame, min_similarity: float = 0.7,
                  seed_similarity: float = 0.8, merge_similarity: float = 0.8,
                  min_seqlets: int = 20, max_patterns: int = 50, n_iter: int = 3,
                  n_refine: int = 3, features: str = "contributions", pattern_flank: int = 5,
                  trim_threshold: float = 0.3, trim_pad: int = 0,
                  chunk_size: int = 4096) -> list[Pattern]:
    """Patterns of the seqlets in ``table`` (from :func:`~seqlens.interpret.discovery.seqlets`),
    positive and negative apart, each sorted by seqlet count (see the module doc).

    Parameters
    ----------
    attr, X : ``(N, A, L)`` hypothetical contributions and one-hot sequences.
    table : seqlet table (``seq``, ``core_start``, ``core_end``, ``start``, ``sign``, ``score``).
    min_similarity : cosine similarity a seqlet needs to stay in a pattern.
    seed_similarity : similarity a seqlet needs to join a new pattern while seeding (and above
        which it counts as explained, so it seeds no other pattern).
    merge_similarity : patterns at least this similar are merged.
    min_seqlets : smallest pattern kept; max_patterns : most patterns per sign.
    n_iter, n_refine : rounds of a seed's growth and of the refinement.
    features : what is compared: ``"contributions"`` (``attr * X``), ``"hypothetical"``
        (``attr``) or ``"both"``.
    pattern_flank : columns added on each side of the clustered core before trimming.
    trim_threshold, trim_pad : see :func:`trim_span`.
    chunk_size : seqlets per similarity pass (bounds the memory).

    Returns
    -------
    list of :class:`Pattern`: positive patterns (``pos_0``, ...) then negative ones (``neg_0``,
    ...), each group by decreasing seqlet count.
    """
    from seqlens.interpret.discovery.seqlets import check_pair

    attr, X = check_pair(attr, X)
    for name, v in (("min_similarity", min_similarity), ("seed_similarity", seed_similarity),
                    ("merge_similarity", merge_similarity)):
        if not 0 < v <= 1:
            raise SeqlensError(f"{name} must be in (0, 1], got {v}")
    if features not in FEATURES:
        raise SeqlensError(f"features must be one of {FEATURES}, got {features!r}")
    for col in ("seq", "start", "core_start", "core_end", "sign", "score"):
        if col not in table:
            raise SeqlensError(f"seqlet table lacks column {col!r}")
    out = []
    with torch.inference_mode():
        for sign, prefix in ((1, "pos"), (-1, "neg")):
            sub = table[table["sign"] == sign].reset_index(drop=True)
            clusters = cluster_seqlets(attr, X, sub, min_similarity, seed_similarity,
                                       merge_similarity, min_seqlets, max_patterns, n_iter,
                                       n_refine, features=features, chunk_size=chunk_size)
            ids = sub["seqlet"].to_numpy() if "seqlet" in sub else np.arange(len(sub))
            built = [build_pattern(attr, X, sub["seq"].to_numpy()[c.members],
                                   c.start - pattern_flank, c.strand,
                                   c.P.shape[1] + 2 * pattern_flank, "", sign, ids[c.members],
                                   c.sim, trim_threshold, trim_pad) for c in clusters]
            built.sort(key=lambda p: -p.n_seqlets)
            for i, p in enumerate(built):
                p.name = f"{prefix}_{i}"
            out.extend(built)
    return out
