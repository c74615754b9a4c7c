"""GIA experiments on one-hot sequences (Koo et al. 2021): k-mer screens, k-mer mutagenesis,
positional bias, multiple sites, spacing, GC context and hairpins. Each returns tables; plots are in
:mod:`seqlens.plot.gia`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from torch import nn

from seqlens.alphabet import DNA, Alphabet, get_alphabet, reverse_complement
from seqlens.errors import SeqlensError
from seqlens.interpret.gia.core import _center, _check_fit, _many, _prep, _table, global_importance
from seqlens.interpret.gia.interventions import _pattern_width, embed_patterns, pattern_instances
from seqlens.motifs.motif import Motif
from seqlens.simulate import background as bg

MAX_K = 8  # kmer_screen embeds all 4**k k-mers into every null sequence


def all_kmers(k: int, alphabet: str | Alphabet = DNA) -> list[str]:
    """All ``A**k`` k-mers in lexicographic order of the alphabet."""
    letters = get_alphabet(alphabet).letters
    return ["".join(p) for p in itertools.product(letters, repeat=k)]


def kmer_screen(model: nn.Module, X_null, k: int = 6, position: int | None = None, kmers=None,
                strand: str = "+", target=0, alphabet: str | Alphabet = DNA, batch_size: int = 256,
                device=None, random_state=None, verbose: bool = False) -> pd.DataFrame:
    """Global importance of every k-mer (all ``A**k``, or ``kmers``) embedded at ``position``
    (default: the centre). Returns a DataFrame ``kmer, importance, se`` sorted by importance
    (descending); feed its top rows to :func:`align_kmers` to read off a motif."""
    alphabet = get_alphabet(alphabet)
    if kmers is None and not 1 <= k <= MAX_K:
        raise SeqlensError(f"k must be in [1, {MAX_K}] (4**{MAX_K} k-mers at most), got {k}")
    Xn, f0 = _prep(model, X_null, target, batch_size, device, alphabet)
    kmers = list(kmers) if kmers is not None else all_kmers(k, alphabet)
    if not kmers:
        raise SeqlensError("no k-mers to screen")
    k = len(kmers[0])
    position = _center(Xn.shape[2], k) if position is None else int(position)
    _check_fit(position, k, Xn.shape[2])
    onehots = np.stack([pattern_instances(s, 1, alphabet)[0] for s in kmers])  # (J, A, k)
    if strand == "-":
        onehots = reverse_complement(onehots, alphabet)

    def make(xb, j, rng):
        out = xb.copy()
        out[:, :, position:position + k] = onehots[j]
        return out

    eff = _many(model, Xn, f0, make, len(kmers), target, batch_size, device,
                np.random.default_rng(random_state), verbose, "k-mer screen")
    df = _table(eff, kmer=kmers)
    return df.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def align_kmers(kmers: Sequence[str], weights=None, alphabet: str | Alphabet = DNA,
                max_shift: int | None = None, both_strands: bool = True, name: str = "kmer_motif",
                ) -> Motif:
    """Align k-mers (e.g. the top of a :func:`kmer_screen`) to the first one and build a motif.

    Each k-mer is placed at the shift (and, with ``both_strands``, the orientation) with the most
    matching letters against the running alignment; its letters are added, weighted by ``weights``
    (default 1), to a counts matrix that spans all shifts. Columns covered by fewer than half of the
    k-mers' weight are trimmed from the ends. Returns a counts :class:`Motif`.
    """
    alphabet = get_alphabet(alphabet)
    kmers = [s.upper() for s in kmers]
    if not kmers:
        raise SeqlensError("no k-mers to align")
    k = len(kmers[0])
    if any(len(s) != k for s in kmers):
        raise SeqlensError("k-mers must all have the same length")
    w = np.ones(len(kmers)) if weights is None else np.clip(np.asarray(weights, float), 0, None)
    if w.sum() <= 0:
        w = np.ones(len(kmers))
    max_shift = k // 2 if max_shift is None else int(max_shift)
    A, width = alphabet.size, k + 2 * max_shift
    counts = np.zeros((A, width))
    cover = np.zeros(width)
    onehot = pattern_instances(kmers[0], 1, alphabet)[0]
    counts[:, max_shift:max_shift + k] += w[0] * onehot
    cover[max_shift:max_shift + k] += w[0]
    for s, wi in zip(kmers[1:], w[1:]):
        best, best_score = None, -np.inf
        cands = [pattern_instances(s, 1, alphabet)[0]]
        if both_strands and alphabet.complement is not None:
            cands.append(reverse_complement(cands[0], alphabet))
        profile = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1e-12)
        for oh in cands:
            for off in range(0, width - k + 1):
                score = float((profile[:, off:off + k] * oh).sum())
                if score > best_score + 1e-9:
                    best, best_score = (oh, off), score
        oh, off = best
        counts[:, off:off + k] += wi * oh
        cover[off:off + k] += wi
    keep = np.flatnonzero(cover >= 0.5 * w.sum())
    counts = counts[:, keep[0]:keep[-1] + 1]
    counts = counts + 1e-9 * (counts.sum(axis=0, keepdims=True) == 0)
    return Motif.from_counts(counts, name=name, alphabet=alphabet)


def kmer_mutagenesis(model: nn.Module, X_null, kmer: str, position: int | None = None,
                     strand: str = "+", target=0, alphabet: str | Alphabet = DNA,
                     batch_size: int = 256, device=None, random_state=None,
                     verbose: bool = False) -> pd.DataFrame:
    """Global importance of a k-mer and of every single mutant of it at ``position``.

    Returns a DataFrame with one row per (position in the k-mer, letter): ``offset, letter, kmer,
    is_reference, importance, se, delta`` (``delta`` = importance - importance of the reference);
    pivot it with ``df.pivot(index="letter", columns="offset", values="delta")`` for an ``(A, k)`` map.
    """
    alphabet = get_alphabet(alphabet)
    kmer = kmer.upper()
    if any(c not in alphabet.letters for c in kmer):
        raise SeqlensError(f"k-mer {kmer!r} must use only the letters {alphabet.letters}")
    rows = [(i, a, kmer[:i] + a + kmer[i + 1:]) for i in range(len(kmer)) for a in alphabet.letters]
    df = kmer_screen(model, X_null, kmers=list(dict.fromkeys(r[2] for r in rows)), position=position,
                     strand=strand, target=target, alphabet=alphabet, batch_size=batch_size, device=device,
                     random_state=random_state, verbose=verbose)
    by = df.set_index("kmer")
    out = pd.DataFrame(rows, columns=["offset", "letter", "kmer"])
    out["is_reference"] = out["kmer"] == kmer
    out["importance"] = by.loc[out["kmer"], "importance"].to_numpy()
    out["se"] = by.loc[out["kmer"], "se"].to_numpy()
    out["delta"] = out["importance"] - float(by.loc[kmer, "importance"])
    return out


def positional_bias(model: nn.Module, X_null, pattern, positions=None, strand: str = "+",
                    sample: bool = False, target=0, alphabet: str | Alphabet = DNA,
                    batch_size: int = 256, device=None, random_state=None,
                    verbose: bool = False) -> pd.DataFrame:
    """Global importance of ``pattern`` at each start in ``positions`` (default: every start that
    fits). Returns a DataFrame ``position, importance, se``."""
    Xn, f0 = _prep(model, X_null, target, batch_size, device, alphabet)
    W = _pattern_width(pattern)
    positions = list(range(Xn.shape[2] - W + 1)) if positions is None else [int(p) for p in positions]
    if not positions:
        raise SeqlensError(f"a pattern of width {W} does not fit in sequences of length {Xn.shape[2]}")

    def make(xb, j, rng):
        return embed_patterns(xb, pattern, positions[j], strand, sample=sample, alphabet=alphabet,
                              random_state=rng)

    eff = _many(model, Xn, f0, make, len(positions), target, batch_size, device,
                np.random.default_rng(random_state), verbose, "positional")
    return _table(eff, position=positions)


def _linear_fit(x, y) -> dict:
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss_tot = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - (resid ** 2).sum() / ss_tot if ss_tot > 0 else 1.0
    return {"slope": float(slope), "intercept": float(intercept), "r2": float(r2)}


def multiple_sites(model: nn.Module, X_null, pattern, max_copies: int = 5, positions=None,
                   strand: str = "+", sample: bool = False, target=0,
                   alphabet: str | Alphabet = DNA, batch_size: int = 256, device=None,
                   random_state=None, verbose: bool = False) -> tuple[pd.DataFrame, dict]:
    """Effect of 0..``max_copies`` copies of ``pattern``.

    Copies go to ``positions`` (one start per copy; default: evenly spread over the sequence, no
    overlap), the first ``c`` of them for ``c`` copies. Returns the table ``copies, importance, se``
    and a linear fit of importance on copy number ``{"slope", "intercept", "r2"}``.
    """
    Xn, f0 = _prep(model, X_null, target, batch_size, device, alphabet)
    L, W = Xn.shape[2], _pattern_width(pattern)
    if positions is None:
        if max_copies * W > L:
            raise SeqlensError(f"max_copies={max_copies} copies of width {W} do not fit in length {L}")
        slot = L // max_copies
        positions = [i * slot + (slot - W) // 2 for i in range(max_copies)]
    positions = [int(p) for p in positions]
    if len(positions) < max_copies:
        raise SeqlensError(f"need {max_copies} positions, got {len(positions)}")

    def make(xb, j, rng):
        c = j + 1
        return embed_patterns(xb, [pattern] * c, positions[:c], strand, sample=sample,
                              alphabet=alphabet, random_state=rng)

    eff = _many(model, Xn, f0, make, max_copies, target, batch_size, device,
                np.random.default_rng(random_state), verbose, "copies")
    eff = np.concatenate([np.zeros((1, len(Xn))), eff])
    df = _table(eff, copies=np.arange(max_copies + 1))
    return df, _linear_fit(df["copies"], df["importance"])


def spacing(model: nn.Module, X_null, pattern_a, pattern_b, distances=None, anchor: int | None = None,
            orientations=("++", "+-", "-+"), sample: bool = False, target=0,
            alphabet: str | Alphabet = DNA, batch_size: int = 256, device=None, random_state=None,
            verbose: bool = False) -> pd.DataFrame:
    """Effect of two patterns versus the distance between them.

    ``pattern_a`` starts at ``anchor`` (default: leaves room for the largest distance, centred);
    ``pattern_b`` starts ``distance`` positions after the end of ``pattern_a`` (``distance`` = the
    gap in bp, >= 0). ``orientations`` are strand pairs (``"++"`` same orientation, ``"+-"``
    convergent, ``"-+"`` divergent). Returns ``orientation, distance, importance, se``; also the
    single-pattern effects in ``df.attrs["importance_a"]`` / ``["importance_b"]`` (at the anchor and
    at the nearest position), so an interaction is ``importance - importance_a - importance_b``.
    """
    Xn, f0 = _prep(model, X_null, target, batch_size, device, alphabet)
    L = Xn.shape[2]
    Wa, Wb = _pattern_width(pattern_a), _pattern_width(pattern_b)
    if distances is None:
        distances = list(range(0, L - Wa - Wb + 1))
    distances = [int(d) for d in distances]
    if not distances:
        raise SeqlensError("no distances to test (an empty range?)")
    if min(distances) < 0:
        raise SeqlensError("distances are gaps between the patterns and must be >= 0")
    span = Wa + max(distances) + Wb
    if span > L:
        raise SeqlensError(f"patterns of widths {Wa}, {Wb} at distance {max(distances)} exceed length {L}")
    anchor = (L - span) // 2 if anchor is None else int(anchor)
    if anchor < 0 or anchor + span > L:
        raise SeqlensError(f"anchor {anchor} leaves no room for distance {max(distances)} in length {L}")
    for o in orientations:
        if len(o) != 2 or any(c not in "+-" for c in o):
            raise SeqlensError(f"orientation must be two strands such as '++' or '+-', got {o!r}")
    combos = [(o, d) for o in orientations for d in distances]

    def make(xb, j, rng):
        o, d = combos[j]
        return embed_patterns(xb, [pattern_a, pattern_b], [anchor, anchor + Wa + d], [o[0], o[1]],
                              sample=sample, alphabet=alphabet, random_state=rng)

    rng = np.random.default_rng(random_state)
    eff = _many(model, Xn, f0, make, len(combos), target, batch_size, device, rng, verbose, "spacing")
    df = _table(eff, orientation=[c[0] for c in combos], distance=[c[1] for c in combos])
    ga = global_importance(model, Xn, pattern_a, anchor, "+", sample=sample, null_predictions=f0,
                           target=target, alphabet=alphabet, batch_size=batch_size, device=device,
                           random_state=rng)
    gb = global_importance(model, Xn, pattern_b, anchor + Wa + min(distances), "+", sample=sample,
                           null_predictions=f0, target=target, alphabet=alphabet,
                           batch_size=batch_size, device=device, random_state=rng)
    df.attrs["importance_a"], df.attrs["importance_b"] = ga.importance, gb.importance
    return df


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    import warnings

    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.var() == 0 and b.var() == 0:  # degenerate (e.g. exact toy models): no spread at all
        diff = a.mean() - b.mean()
        return (0.0, 1.0) if diff == 0 else (float(np.sign(diff) * np.inf), 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(a, b, equal_var=False)
    return float(res.statistic), float(res.pvalue)


def gc_bias(model: nn.Module, X_null, pattern, position: int | None = None, flank: int = 10,
            gc: float = 1.0, strand: str = "+", sample: bool = False, target=0,
            alphabet: str | Alphabet = DNA, batch_size: int = 256, device=None, random_state=None,
            verbose: bool = False) -> dict:
    """Does a GC-rich context change the effect of a motif?

    Compares the effect of ``pattern`` alone with ``pattern`` flanked on each side by ``flank``
    letters drawn with G+C fraction ``gc`` (a fresh draw per null sequence), and reports the effect of
    the GC flanks alone. Welch's t-test (unequal variances) on the per-sequence effects of motif vs
    motif + flank. Returns a flat dict: ``gia_motif, se_motif, gia_motif_gc, se_motif_gc, gia_gc,
    se_gc, t_statistic, p_value``.
    """
    alphabet = get_alphabet(alphabet)
    if alphabet.size != 4:
        raise SeqlensError("gc_bias needs a nucleotide alphabet")
    Xn, f0 = _prep(model, X_null, target, batch_size, device, alphabet)
    L, W = Xn.shape[2], _pattern_width(pattern)
    position = _center(L, W) if position is None else int(position)
    if position - flank < 0 or position + W + flank > L:
        raise SeqlensError(f"a motif of width {W} at position {position} with flanks of flank={flank} "
                           f"does not fit in length {L}")
    rng = np.random.default_rng(random_state)
    kw = dict(null_predictions=f0, target=target, batch_size=batch_size, device=device,
              verbose=verbose)

    def flanks(xb, r):
        out = xb.copy()
        for s in (position - flank, position + W):
            out[:, :, s:s + flank] = bg.gc_content(len(xb), flank, gc=gc, random_state=r)
        return out

    motif = global_importance(model, Xn, pattern, position, strand, sample=sample, alphabet=alphabet,
                              random_state=rng, **kw)
    both = global_importance(
        model, Xn, intervention=lambda xb, r: embed_patterns(
            flanks(xb, r), pattern, position, strand, sample=sample, alphabet=alphabet, random_state=r),
        random_state=rng, **kw)
    gc_only = global_importance(model, Xn, intervention=flanks, random_state=rng, **kw)
    t, p = _welch(both.effects, motif.effects)
    return {"gia_motif": motif.importance, "se_motif": motif.se, "gia_motif_gc": both.importance,
            "se_motif_gc": both.se, "gia_gc": gc_only.importance, "se_gc": gc_only.se,
            "t_statistic": t, "p_value": p}


def hairpin(model: nn.Module, X_null, pattern, position: int | None = None, stem: int = 8,
            loop: int | None = None, sample: bool = False, target=0,
            alphabet: str | Alphabet = DNA, batch_size: int = 256, device=None, random_state=None,
            verbose: bool = False) -> dict:
    """Is a motif read in the loop or in the stem of an RNA stem-loop?

    Inserts a stem-loop ``S + loop + revcomp(S)`` (``S``: ``stem`` random letters, fresh per null
    sequence) and compares

    * ``loop``: the motif in the middle of the loop (loop length ``loop``, default motif width + 6);
    * ``stem``: the motif at the loop end of the 5' arm of the stem (paired with its reverse
      complement on the 3' arm, so it is double-stranded), with a random loop; ``stem`` is widened
      to the motif width when shorter;
    * ``unstructured``: the motif alone at the same position.

    Welch's t-test compares the per-sequence effects of loop vs stem. Returns a flat dict:
    ``gia_loop, se_loop, gia_stem, se_stem, gia_unstructured, se_unstructured, gia_hairpin,
    se_hairpin`` (the stem-loop without motif), ``t_statistic, p_value``. One-hot DNA (``ACGT``) and
    RNA (``ACGU``) share the same complement, so either works.
    """
    alphabet = get_alphabet(alphabet)
    if alphabet.complement is None:
        raise SeqlensError("hairpin needs a nucleotide alphabet")
    Xn, f0 = _prep(model, X_null, target, batch_size, device, alphabet)
    L, W = Xn.shape[2], _pattern_width(pattern)
    loop = W + 6 if loop is None else int(loop)
    if loop < W:
        raise SeqlensError(f"loop of {loop} is shorter than the motif ({W})")
    stem = max(int(stem), W)  # the stem-arm design needs the motif to fit in the arm
    total = 2 * stem + loop
    start = _center(L, total) if position is None else int(position) - stem - (loop - W) // 2
    if start < 0 or start + total > L:
        raise SeqlensError(f"a stem-loop of {total} bp (stem={stem}, loop={loop}) does not fit at "
                           f"{start} in length {L}")
    loop_motif = start + stem + (loop - W) // 2
    rng = np.random.default_rng(random_state)
    kw = dict(null_predictions=f0, target=target, batch_size=batch_size, device=device,
              verbose=verbose)
    A = alphabet.size

    def stem_loop(xb, r, arm=None):
        n = len(xb)
        out = xb.copy()
        s = bg.uniform(n, stem, A, random_state=r) if arm is None else arm
        out[:, :, start:start + stem] = s
        out[:, :, start + stem:start + stem + loop] = bg.uniform(n, loop, A, random_state=r)
        out[:, :, start + stem + loop:start + total] = reverse_complement(s, alphabet)
        return out

    def in_loop(xb, r):
        out = stem_loop(xb, r)
        inst = pattern_instances(pattern, len(xb), alphabet, sample=sample, random_state=r)
        out[:, :, loop_motif:loop_motif + W] = inst
        return out

    def in_stem(xb, r):
        n = len(xb)
        arm = bg.uniform(n, stem, A, random_state=r)
        inst = pattern_instances(pattern, n, alphabet, sample=sample, random_state=r)
        arm[:, :, stem - W:] = inst  # motif at the 3' end of the 5' arm, next to the loop
        return stem_loop(xb, r, arm=arm)

    def alone(xb, r):
        return embed_patterns(xb, pattern, loop_motif, "+", sample=sample, alphabet=alphabet,
                              random_state=r)

    res = {name: global_importance(model, Xn, intervention=fn, random_state=rng, **kw)
           for name, fn in (("loop", in_loop), ("stem", in_stem), ("unstructured", alone),
                            ("hairpin", stem_loop))}
    t, p = _welch(res["loop"].effects, res["stem"].effects)
    out = {}
    for name, r in res.items():
        out[f"gia_{name}"], out[f"se_{name}"] = r.importance, r.se
    out.update(t_statistic=t, p_value=p)
    return out
