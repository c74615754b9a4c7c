"""Embed motif instances into background sequences and record the ground truth.

Building blocks of every simulated grammar, all vectorised (no per-nucleotide Python loop):

* :func:`sample_counts` - how many motifs each sequence gets (from a count distribution);
* :func:`choose_motifs` - which motif (and strand) fills each slot;
* :func:`random_positions` - uniformly random non-overlapping starts for items of given widths
  (an item may be a single motif or a block such as a spaced pair);
* :func:`embed` - write instances sampled from each motif's probabilities (not the consensus) into a
  one-hot batch at given starts and strands; returns the sequences, the generating matrix
  ``(N, A, L)`` (0.25 background columns, the motif's probability columns where embedded, reverse
  complemented on the minus strand) and the instance table;
* :class:`Arrangement` and :func:`arrange` - groups of motifs with spacing and orientation rules
  (e.g. a pair 5 to 10 bp apart on the same strand) placed as blocks among free single motifs;
* :func:`simulate_sequences` - the whole recipe: background + counts + motifs + placement + embed.

The instance table is a pandas DataFrame with one row per instance: ``seq`` (sequence index),
``motif`` (name), ``motif_index``, ``start`` (0-based), ``end`` (exclusive), ``strand`` (``"+"`` or
``"-"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqlens.errors import SeqlensError
from seqlens.motifs.motif import Motif

TABLE_COLUMNS = ["seq", "motif", "motif_index", "start", "end", "strand"]


class SimulationError(SeqlensError):
    """An impossible or malformed simulation request (motifs that do not fit, bad counts, ...)."""


def _rng(random_state) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _motif_list(motifs) -> tuple[list[str], list[Motif]]:
    """Names and Motifs from a list of Motifs or a ``{name: Motif}`` mapping."""
    if isinstance(motifs, Motif):
        motifs = [motifs]
    if isinstance(motifs, Mapping):
        names, mots = list(motifs.keys()), list(motifs.values())
    else:
        mots = list(motifs)
        names = [m.alt_name or m.name for m in mots]
    if not mots:
        raise SimulationError("no motifs given")
    for name, m in zip(names, mots):
        if not isinstance(m, Motif):
            raise TypeError(f"motif {name!r} is a {type(m).__name__}, expected seqlens Motif")
    return [str(n) for n in names], mots


def sample_counts(n: int, counts=(1, 2, 3, 4, 5), probabilities=(0.50, 0.25, 0.17, 0.05, 0.03),
                  random_state=None) -> np.ndarray:
    """``(n,)`` number of motifs per sequence: ``counts[j]`` with probability ``probabilities[j]``
    (normalised). An int ``counts`` gives every sequence that many motifs."""
    if np.ndim(counts) == 0:
        return np.full(int(n), int(counts), dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != counts.shape or (p < 0).any() or p.sum() <= 0:
        raise SimulationError(f"need one non-negative probability per count: counts {counts.tolist()}, "
                         f"probabilities {p.tolist()}")
    if (counts < 0).any():
        raise SimulationError(f"counts must be >= 0, got {counts.tolist()}")
    return _rng(random_state).choice(counts, size=int(n), p=p / p.sum())


def choose_motifs(counts, n_motifs: int, weights=None, replace: bool = True,
                  random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """Fill ``counts[i]`` slots of each sequence with motif indices in ``range(n_motifs)``.

    weights : ``(n_motifs,)`` relative frequencies (default equal).
    replace : draw with replacement; without replacement a sequence never holds the same motif twice
        (needs ``counts <= n_motifs``; weighted draws use exponential keys).
    Returns ``seq`` and ``motif`` arrays of length ``counts.sum()``, grouped by sequence.
    """
    rng = _rng(random_state)
    counts = np.asarray(counts, dtype=np.int64)
    w = np.ones(n_motifs) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n_motifs,) or (w < 0).any() or w.sum() <= 0:
        raise SimulationError(f"weights must be {n_motifs} non-negative numbers, got {np.shape(weights)}")
    seq = np.repeat(np.arange(len(counts)), counts)
    if replace:
        return seq, rng.choice(n_motifs, size=len(seq), p=w / w.sum())
    if counts.max(initial=0) > (w > 0).sum():
        raise SimulationError(f"cannot place {counts.max()} distinct motifs in one sequence: only "
                         f"{(w > 0).sum()} motifs to choose from (use replace=True)")
    with np.errstate(divide="ignore"):
        keys = rng.exponential(size=(len(counts), n_motifs)) / w  # smallest keys = weighted draw
    order = np.argsort(keys, axis=1)
    rank = np.arange(len(seq)) - np.repeat(np.cumsum(counts) - counts, counts)
    return seq, order[seq, rank]


def random_positions(widths, seq, length: int, min_gap: int = 0, random_state=None,
                     chunk: int = 1 << 22) -> np.ndarray:
    """Uniformly random non-overlapping start positions.

    widths : ``(M,)`` widths of the items (motifs, or blocks such as a spaced pair).
    seq : ``(M,)`` sequence index of each item; items of one sequence never overlap and are at least
        ``min_gap`` positions apart; all lie within ``[0, length)``.
    Every valid arrangement of a sequence's items is equally likely (a random order of the items,
    then a uniform composition of the free positions into the gaps between them).
    Returns ``(M,)`` int64 starts. Raises ``ValueError`` naming the sequence when its items cannot fit.
    """
    rng = _rng(random_state)
    widths = np.asarray(widths, dtype=np.int64)
    seq = np.asarray(seq, dtype=np.int64)
    if widths.shape != seq.shape or widths.ndim != 1:
        raise SimulationError(f"widths and seq must be 1-D of equal length, got {widths.shape}, {seq.shape}")
    M = len(widths)
    starts = np.zeros(M, dtype=np.int64)
    if M == 0:
        return starts
    if (widths < 1).any():
        raise SimulationError("item widths must be >= 1")
    order = np.lexsort((rng.random(M), seq))  # group by sequence, random order within it
    s_sorted, w_sorted = seq[order], widths[order]
    _, first, k_of = np.unique(s_sorted, return_index=True, return_counts=True)
    need = np.add.reduceat(w_sorted, first) + min_gap * (k_of - 1)
    free = length - need
    if (free < 0).any():
        g = int(np.argmax(free < 0))
        ws = w_sorted[first[g]:first[g] + k_of[g]].tolist()
        raise SimulationError(
            f"motifs do not fit: sequence {int(s_sorted[first[g]])} needs {int(need[g])} positions for "
            f"{int(k_of[g])} non-overlapping items of widths {sorted(ws)}"
            + (f" with gaps of {min_gap}" if min_gap else "") + f", but the sequence length is {length}"
        )
    out_sorted = np.empty(M, dtype=np.int64)
    for k in np.unique(k_of):
        groups = np.flatnonzero(k_of == k)
        span = free[groups] + k  # choose k distinct values in range(span)
        rows_per_chunk = max(1, chunk // int(span.max()))
        for c0 in range(0, len(groups), rows_per_chunk):
            g = groups[c0:c0 + rows_per_chunk]
            sp = span[c0:c0 + rows_per_chunk]
            keys = rng.random((len(g), int(sp.max())))
            keys[np.arange(keys.shape[1])[None, :] >= sp[:, None]] = 2.0
            chosen = np.sort(np.argpartition(keys, k - 1, axis=1)[:, :k], axis=1)
            item = first[g][:, None] + np.arange(k)[None, :]
            step = w_sorted[item] + min_gap
            out_sorted[item] = chosen - np.arange(k)[None, :] + np.cumsum(step, axis=1) - step
    starts[order] = out_sorted
    return starts


def _strand_sign(strand) -> np.ndarray:
    s = np.asarray(strand)
    if s.dtype.kind in "iuf":
        bad = ~np.isin(s, (1, -1))
        minus = s == -1
    else:
        s = s.astype(str)
        bad = ~np.isin(s, ("+", "-"))
        minus = s == "-"
    if bad.any():
        i = int(np.argmax(bad))
        raise SimulationError(f"instance {i}: strand must be '+'/'-' (or 1/-1), got {s[i]!r}")
    return minus


def embed(X, motifs, instances, truth=None, allow_overlap: bool = False, background_value: float = 0.25,
          random_state=None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Embed motif instances, sampled from each motif's probabilities, into one-hot sequences.

    Parameters
    ----------
    X : ``(N, A, L)`` background one-hot (not modified).
    motifs : list of :class:`Motif` (named by ``alt_name`` or ``name``) or ``{name: Motif}``.
    instances : DataFrame (or dict of arrays) with columns ``seq``, ``motif`` (index into ``motifs``
        or a name), ``start`` (0-based) and ``strand`` (``"+"``/``"-"`` or 1/-1; default ``"+"``).
        Minus-strand instances are sampled from the reverse-complement matrix.
    truth : ``(N, A, L)`` generating matrix to add to (default: all ``background_value``).
    allow_overlap : let instances overlap (a later row overwrites an earlier one); otherwise raise.

    Returns
    -------
    X_out : ``(N, A, L)`` float32 sequences with the instances written in.
    truth : ``(N, A, L)`` float32 generating matrix: ``background_value`` columns, and the motif's
        probability columns (RC on the minus strand) over each instance.
    table : instance table (``seq, motif, motif_index, start, end, strand`` + any extra columns given).
    """
    rng = _rng(random_state)
    names, mots = _motif_list(motifs)
    X = np.asarray(X)
    if X.ndim != 3:
        raise SimulationError(f"X must be one-hot (N, A, L), got shape {X.shape}")
    N, A, L = X.shape
    for name, m in zip(names, mots):
        if m.alphabet.size != A:
            raise SimulationError(f"motif {name!r} has {m.alphabet.size} letters, sequences have {A}")
    table = pd.DataFrame(instances).reset_index(drop=True)
    for col in ("seq", "motif", "start"):
        if col not in table:
            raise SimulationError(f"instances need a {col!r} column; got {list(table.columns)}")
    if "strand" not in table:
        table["strand"] = "+"
    midx = _motif_indices(table["motif"].to_numpy(), names)
    minus = _strand_sign(table["strand"].to_numpy())
    seq = table["seq"].to_numpy().astype(np.int64)
    start = table["start"].to_numpy().astype(np.int64)
    W = np.array([m.width for m in mots], dtype=np.int64)
    width = W[midx] if len(table) else np.zeros(0, dtype=np.int64)
    _check_bounds(seq, start, width, midx, names, N, L)

    # stacked probabilities: row 2k = motif k forward, 2k+1 = reverse complement; padded to Wmax
    Wmax = int(W.max())
    P = np.zeros((2 * len(mots), A, Wmax))
    for k, m in enumerate(mots):
        p = m.probabilities()
        P[2 * k, :, :m.width] = p
        P[2 * k + 1, :, :m.width] = m.reverse_complement().probabilities()
    cum = np.cumsum(P, axis=1)
    kind = 2 * midx + minus
    inst = np.repeat(np.arange(len(table)), width)
    col = np.arange(len(inst)) - np.repeat(np.cumsum(width) - width, width)
    s_pos, p_pos = seq[inst], start[inst] + col
    if not allow_overlap and len(inst):
        _check_overlap(s_pos, p_pos, inst, table, names, midx, L)
    u = rng.random(len(inst))
    letter = (u[:, None] > cum[kind[inst], :, col]).sum(axis=1).clip(max=A - 1)

    X_out = np.array(X, dtype=np.float32, copy=True)
    X_out[s_pos, :, p_pos] = 0.0
    X_out[s_pos, letter, p_pos] = 1.0
    if truth is None:
        truth_out = np.full((N, A, L), background_value, dtype=np.float32)
    else:
        truth_out = np.array(truth, dtype=np.float32, copy=True)
        if truth_out.shape != X.shape:
            raise SimulationError(f"truth has shape {truth_out.shape}, expected {X.shape} like X")
    truth_out[s_pos, :, p_pos] = P[kind[inst], :, col]

    table["seq"] = seq
    table["motif"] = [names[i] for i in midx]
    table["motif_index"] = midx
    table["start"] = start
    table["end"] = start + width
    table["strand"] = np.where(minus, "-", "+")
    extra = [c for c in table.columns if c not in TABLE_COLUMNS]
    return X_out, truth_out, table[TABLE_COLUMNS + extra]


def _motif_indices(values: np.ndarray, names: list[str]) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if values.dtype.kind in "iu":
        idx = values.astype(np.int64)
        bad = (idx < 0) | (idx >= len(names))
        if bad.any():
            i = int(np.argmax(bad))
            raise SimulationError(f"instance {i}: motif index {idx[i]} out of range for {len(names)} motifs")
        return idx
    lookup = {n: i for i, n in enumerate(names)}
    try:
        return np.array([lookup[v] for v in values], dtype=np.int64)
    except KeyError as exc:
        raise SimulationError(f"unknown motif {exc.args[0]!r}; motifs are {names}") from None


def _check_bounds(seq, start, width, midx, names, N, L) -> None:
    bad = (seq < 0) | (seq >= N)
    if bad.any():
        i = int(np.argmax(bad))
        raise SimulationError(f"instance {i}: sequence index {seq[i]} out of range for {N} sequences")
    bad = (start < 0) | (start + width > L)
    if bad.any():
        i = int(np.argmax(bad))
        raise SimulationError(
            f"instance {i}: motif {names[midx[i]]!r} (width {width[i]}) at start {start[i]} of sequence "
            f"{seq[i]} does not fit in length {L}"
        )


def _check_overlap(s_pos, p_pos, inst, table, names, midx, L) -> None:
    flat = s_pos * L + p_pos
    order = np.argsort(flat, kind="stable")
    dup = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if dup.size:
        a, b = inst[order[dup[0]]], inst[order[dup[0] + 1]]
        raise SimulationError(
            f"instances {a} ({names[midx[a]]!r} at {table['start'].iat[a]}) and {b} "
            f"({names[midx[b]]!r} at {table['start'].iat[b]}) overlap in sequence {s_pos[order[dup[0]]]} "
            f"at position {p_pos[order[dup[0]]]} (pass allow_overlap=True to allow)"
        )


def simulate_sequences(
    n: int,
    length: int,
    motifs,
    counts=(1, 2, 3, 4, 5),
    probabilities=(0.50, 0.25, 0.17, 0.05, 0.03),
    weights=None,
    replace: bool = True,
    strand: str = "both",
    min_gap: int = 0,
    background="uniform",
    random_state=None,
    **background_kw,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Sequences with a random number of motifs at random non-overlapping positions.

    Parameters
    ----------
    n, length : number and length of sequences.
    motifs : list of :class:`Motif` or ``{name: Motif}``.
    counts, probabilities : motifs per sequence (see :func:`sample_counts`).
    weights, replace : how slots are filled (see :func:`choose_motifs`).
    strand : ``"both"`` (each instance on a random strand), ``"+"`` or ``"-"``.
    min_gap : least number of background positions between two instances.
    background : a name for :func:`seqlens.simulate.background.make_background` (extra keywords go to
        it) or a ready ``(n, A, length)`` one-hot batch.

    Returns ``X`` ``(n, A, length)``, ``truth`` ``(n, A, length)`` and the instance table.
    """
    from seqlens.simulate.background import make_background

    rng = _rng(random_state)
    names, mots = _motif_list(motifs)
    if isinstance(background, str):
        X = make_background(background, n, length, random_state=rng, **background_kw)
    else:
        X = np.asarray(background, dtype=np.float32)
        if X.shape[0] != n or X.shape[2] != length:
            raise SimulationError(f"background has shape {X.shape}, expected ({n}, A, {length})")
    k = sample_counts(n, counts, probabilities, random_state=rng)
    seq, midx = choose_motifs(k, len(mots), weights=weights, replace=replace, random_state=rng)
    if strand == "both":
        minus = rng.random(len(seq)) < 0.5
    elif strand in ("+", "-"):
        minus = np.full(len(seq), strand == "-")
    else:
        raise SimulationError(f"strand must be 'both', '+' or '-', got {strand!r}")
    widths = np.array([m.width for m in mots])[midx]
    starts = random_positions(widths, seq, length, min_gap=min_gap, random_state=rng)
    inst = pd.DataFrame({"seq": seq, "motif": midx, "start": starts, "strand": np.where(minus, "-", "+")})
    return embed(X, dict(zip(names, mots)), inst, random_state=rng)


@dataclass(frozen=True)
class Arrangement:
    """A group of motifs placed together with spacing and orientation rules.

    motifs : names (or indices) of the members, in 5' -> 3' order.
    gaps : ``k - 1`` gaps between consecutive members (background positions from the end of one to
        the start of the next): an int, or ``(lo, hi)`` for a uniform draw in ``[lo, hi]``.
        Default: all 0 (adjacent).
    strands : ``"random"`` (each member on an independent random strand), ``"same"`` (one random strand
        for all members), ``"alternate"`` (random first strand, then alternating), or a tuple of
        ``"+"``/``"-"`` per member.
    either_order : reverse the member order (and gaps) at random for half of the occurrences.
    """

    motifs: tuple
    gaps: tuple = ()
    strands: str | tuple = "random"
    either_order: bool = False

    def __post_init__(self):
        k = len(self.motifs)
        if k == 0:
            raise SimulationError("an Arrangement needs at least one motif")
        gaps = tuple(self.gaps) if self.gaps else (0,) * (k - 1)
        if len(gaps) != k - 1:
            raise SimulationError(f"Arrangement of {k} motifs needs {k - 1} gaps, got {len(gaps)}")
        for g in gaps:
            lo, hi = (g, g) if np.ndim(g) == 0 else g
            if not 0 <= lo <= hi:
                raise SimulationError(f"gap {g!r} must be an int >= 0 or (lo, hi) with 0 <= lo <= hi")
        object.__setattr__(self, "motifs", tuple(self.motifs))
        object.__setattr__(self, "gaps", gaps)
        st = self.strands
        if isinstance(st, str):
            if st not in ("random", "same", "alternate"):
                raise SimulationError(f"strands must be 'random', 'same', 'alternate' or a tuple, got {st!r}")
        else:
            st = tuple(st)
            if len(st) != k or not set(st) <= {"+", "-"}:
                raise SimulationError(f"strands must give '+' or '-' for each of the {k} motifs, got {st}")
            object.__setattr__(self, "strands", st)


def arrange(arrangements, seq, which, motifs, length: int, singles=None, min_gap: int = 0,
            random_state=None) -> pd.DataFrame:
    """Place occurrences of :class:`Arrangement` s (and free single motifs) at random positions.

    arrangements : list of :class:`Arrangement`.
    seq, which : ``(M,)`` sequence index and arrangement index of each occurrence.
    motifs : list of :class:`Motif` or ``{name: Motif}`` (members are looked up here).
    singles : optional table (DataFrame/dict) with ``seq``, ``motif`` (and optional ``strand``; random
        otherwise) of motifs placed freely around the arrangements.
    Each occurrence is one block; blocks and singles never overlap (``min_gap`` apart) and are placed
    uniformly at random (:func:`random_positions`).

    Returns an instance table for :func:`embed`: ``seq, motif, start, strand, group`` (``group`` = the
    occurrence number, -1 for singles) and ``arrangement`` (index, -1 for singles).
    """
    rng = _rng(random_state)
    names, mots = _motif_list(motifs)
    W = np.array([m.width for m in mots], dtype=np.int64)
    seq = np.asarray(seq, dtype=np.int64)
    which = np.asarray(which, dtype=np.int64)
    if seq.shape != which.shape:
        raise SimulationError(f"seq and which must have equal length, got {seq.shape} and {which.shape}")
    if len(which) and (which.min() < 0 or which.max() >= len(arrangements)):
        raise SimulationError(f"arrangement index out of range for {len(arrangements)} arrangements")
    occ_rows = []  # per arrangement: occurrence ids, member motifs, offsets, minus strands (n, k)
    block_w = np.zeros(len(seq), dtype=np.int64)
    for a, arr in enumerate(arrangements):
        occ = np.flatnonzero(which == a)
        if occ.size == 0:
            continue
        k, n_occ = len(arr.motifs), occ.size
        midx = np.broadcast_to(_motif_indices(np.array(arr.motifs), names), (n_occ, k)).copy()
        gaps = np.zeros((n_occ, max(k - 1, 0)), dtype=np.int64)
        for j, g in enumerate(arr.gaps):
            lo, hi = (g, g) if np.ndim(g) == 0 else g
            gaps[:, j] = rng.integers(int(lo), int(hi) + 1, size=n_occ)
        if arr.strands == "random":
            minus = rng.random((n_occ, k)) < 0.5
        elif arr.strands == "same":
            minus = np.repeat(rng.random((n_occ, 1)) < 0.5, k, axis=1)
        elif arr.strands == "alternate":
            minus = (rng.random((n_occ, 1)) < 0.5) ^ (np.arange(k)[None, :] % 2 == 1)
        else:
            minus = np.broadcast_to(np.array(arr.strands) == "-", (n_occ, k)).copy()
        if arr.either_order:
            flip = rng.random(n_occ) < 0.5
            midx[flip] = midx[flip, ::-1]
            minus[flip] = minus[flip, ::-1]
            gaps[flip] = gaps[flip, ::-1]
        w = W[midx]
        step = w[:, :-1] + gaps
        offsets = np.concatenate([np.zeros((n_occ, 1), dtype=np.int64), np.cumsum(step, axis=1)], axis=1)
        block_w[occ] = offsets[:, -1] + w[:, -1]
        occ_rows.append((occ, midx, offsets, minus))
    if singles is None:
        singles = pd.DataFrame({"seq": np.zeros(0, dtype=np.int64), "motif": np.zeros(0, dtype=np.int64)})
    singles = pd.DataFrame(singles).reset_index(drop=True)
    s_seq = singles["seq"].to_numpy().astype(np.int64)
    s_mid = _motif_indices(singles["motif"].to_numpy(), names)
    s_minus = (_strand_sign(singles["strand"].to_numpy()) if "strand" in singles
               else rng.random(len(singles)) < 0.5)
    starts = random_positions(np.concatenate([block_w, W[s_mid]]), np.concatenate([seq, s_seq]), length,
                              min_gap=min_gap, random_state=rng)
    parts = []
    for occ, midx, offsets, minus in occ_rows:
        k = midx.shape[1]
        parts.append(pd.DataFrame({
            "seq": np.repeat(seq[occ], k), "motif": midx.ravel(),
            "start": (starts[occ][:, None] + offsets).ravel(), "strand": np.where(minus, "-", "+").ravel(),
            "group": np.repeat(occ, k), "arrangement": np.repeat(which[occ], k),
        }))
    parts.append(pd.DataFrame({
        "seq": s_seq, "motif": s_mid, "start": starts[len(seq):], "strand": np.where(s_minus, "-", "+"),
        "group": np.full(len(s_seq), -1), "arrangement": np.full(len(s_seq), -1),
    }))
    table = pd.concat(parts, ignore_index=True)
    table["motif"] = [names[i] for i in table["motif"].to_numpy()]
    return table.sort_values(["seq", "start"], kind="stable").reset_index(drop=True)


def signal_mask(truth, background_value: float = 0.25, atol: float = 1e-6) -> np.ndarray:
    """``(N, L)`` boolean: positions whose generating column differs from the background column.

    (A motif column that is itself exactly uniform is indistinguishable here; the instance table is
    the exact record of instance spans.)"""
    truth = np.asarray(truth)
    return (np.abs(truth - background_value) > atol).any(axis=1)


def instance_mask(table: pd.DataFrame, n: int, length: int) -> np.ndarray:
    """``(n, length)`` boolean: positions covered by an instance of ``table``."""
    mask = np.zeros((n, length), dtype=bool)
    if len(table):
        w = (table["end"] - table["start"]).to_numpy()
        s = np.repeat(table["seq"].to_numpy(), w)
        p = np.repeat(table["start"].to_numpy(), w) + (np.arange(w.sum()) - np.repeat(np.cumsum(w) - w, w))
        mask[s, p] = True
    return mask


__all__ = [
    "SimulationError", "sample_counts", "choose_motifs", "random_positions", "embed", "simulate_sequences",
    "signal_mask", "instance_mask", "Arrangement", "arrange",
]
