"""Named synthetic datasets with ground truth.

Each function returns a :class:`seqlens.io.hdf5.Dataset` (splits 70/10/20 of a random order, ground
truth ``truth`` ``(N, 4, L)`` per split) that is identical for the same ``random_state``. Motifs come
from JASPAR CORE 2016 vertebrates, shipped as ``seqlens/data/jaspar2016_vertebrates.pfm``.

``metadata`` holds the dataset name, recipe, seed, the motif list (``motifs``: name, JASPAR ID,
width), the JASPAR release they come from (``jaspar_release``: 2016), task names and, where
relevant, the interacting pairs. The instance table is stored as ``extras`` arrays ``instance_*``
(split code 0/1/2, sequence index within its split, motif index into ``metadata["motifs"]``,
start, end, strand +1/-1, and recipe-specific columns); rebuild it as a DataFrame with
:func:`instance_table`.

The published recipes use a uniform background; every dataset also takes ``background=`` (``"gc"``,
``"iid"``, ``"profile"``, ``"dinucleotide"``) with the keywords of
:func:`seqlens.simulate.background.make_background` (``gc=``, ``frequencies=``, ``X=`` real sequences).
The ground truth keeps 0.25 for background columns whatever the background.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache

import numpy as np
import pandas as pd

from seqlens.io.hdf5 import SPLITS, Dataset, Split
from seqlens.motifs.motif import Motif
from seqlens.simulate.background import make_background
from seqlens.simulate.grammar import (
    SimulationError,
    choose_motifs,
    embed,
    random_positions,
    sample_counts,
)

JASPAR_FILE = "jaspar2016_vertebrates.pfm"
JASPAR_RELEASE = 2016  # recorded as metadata["jaspar_release"]: the release to match filters against
MOTIF_SOURCE = "JASPAR CORE 2016 vertebrates (seqlens/data/jaspar2016_vertebrates.pfm)"
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
COUNT_PROBABILITIES = (0.50, 0.25, 0.17, 0.05, 0.03)

# Koo & Eddy 2019: 12 motifs (task order = label column order)
MULTITASK_MOTIFS = {
    "Arid3a": "MA0151.1", "CEBPB": "MA0466.2", "FOSL1": "MA0477.1", "Gabpa": "MA0062.2",
    "MAFK": "MA0496.1", "MAX": "MA0058.3", "MEF2A": "MA0052.3", "NFYB": "MA0502.1",
    "SP1": "MA0079.3", "SRF": "MA0083.3", "STAT1": "MA0137.3", "YY1": "MA0095.2",
}
# Koo & Ploenzke 2021, task 3: the core motifs
REGULATORY_CORE = {
    "SP1": "MA0079.3", "GABPA": "MA0062.2", "CEBPB": "MA0466.2", "MAX": "MA0058.3", "YY1": "MA0095.2",
}
# Ghotra & Koo 2021 style interaction grammar. JASPAR 2016 has no FOXN, NFIB or TAL1-alone matrix:
# FOXN -> FOXO3 MA0157.2 (canonical forkhead GTAAACA, the site FOXN2/3 bind), NFIB -> NFIA MA0670.1 (same
# NFI half-site), TAL1 -> TAL1::TCF3 MA0091.1 (the TAL1 E-box heterodimer; GATA1::TAL1 is avoided as it
# contains the GATA site), TEAD -> TEAD1 MA0090.2.
INTERACTION_MOTIFS = {
    "ELF1": "MA0473.2", "SIX3": "MA0631.1", "ESR1": "MA0112.3", "FOXN": "MA0157.2",
    "GATA1": "MA0035.3", "TAL1": "MA0091.1", "IRF1": "MA0050.2", "SP1": "MA0079.3",
    "CEBPB": "MA0466.2", "YY1": "MA0095.2", "NFIB": "MA0670.1", "TEAD": "MA0090.2",
}
INTERACTING_PAIRS = (("ELF1", "SIX3"), ("ESR1", "FOXN"), ("GATA1", "TAL1"), ("IRF1", "SP1"))


@lru_cache(maxsize=1)
def _jaspar_cached() -> dict[str, Motif]:
    from seqlens.io.motifs import read_jaspar

    ref = importlib.resources.files("seqlens") / "data" / JASPAR_FILE
    with importlib.resources.as_file(ref) as path:
        return {m.name: m for m in read_jaspar(path)}


def jaspar2016() -> dict[str, Motif]:
    """The shipped JASPAR CORE 2016 vertebrates matrices, ``{matrix ID: Motif}`` (519 motifs)."""
    return dict(_jaspar_cached())


def get_motifs(ids) -> list[Motif]:
    """Motifs by JASPAR 2016 matrix ID (``["MA0079.3", ...]``); raises ``KeyError`` naming missing IDs."""
    db = _jaspar_cached()
    missing = [i for i in ids if i not in db]
    if missing:
        raise KeyError(f"matrix IDs {missing} are not in {MOTIF_SOURCE}")
    return [db[i] for i in ids]


def _named(table: dict[str, str]) -> dict[str, Motif]:
    return dict(zip(table, get_motifs(list(table.values()))))


def _check_args(n: int, length: int) -> None:
    if int(n) < 3:
        raise SimulationError(f"n must be at least 3 (one sequence per split), got {n}")
    if int(length) < 1:
        raise SimulationError(f"length must be positive, got {length}")


def _split_sizes(n: int) -> tuple[int, int, int]:
    n_train = int(round(SPLIT_FRACTIONS[0] * n))
    n_valid = int(round(SPLIT_FRACTIONS[1] * n))
    return n_train, n_valid, n - n_train - n_valid


def _assemble(X, Y, truth, table: pd.DataFrame, extra_cols: list[str], rng, metadata: dict) -> Dataset:
    """Shuffle sequences, split 70/10/20, and store the instance table as extras arrays."""
    n = len(X)
    perm = rng.permutation(n)
    X, Y, truth = X[perm], Y[perm], truth[perm]
    sizes = _split_sizes(n)
    bounds = np.cumsum((0,) + sizes)
    splits = [Split(X[a:b], Y[a:b], truth[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    new = np.argsort(perm)[table["seq"].to_numpy()]
    code = np.searchsorted(bounds[1:], new, side="right")
    order = np.lexsort((table["start"].to_numpy(), new))
    extras = {
        "instance_split": code[order].astype(np.int8),
        "instance_seq": (new - bounds[code])[order].astype(np.int32),
        "instance_motif": table["motif_index"].to_numpy()[order].astype(np.int16),
        "instance_start": table["start"].to_numpy()[order].astype(np.int32),
        "instance_end": table["end"].to_numpy()[order].astype(np.int32),
        "instance_strand": np.where(table["strand"].to_numpy() == "-", -1, 1)[order].astype(np.int8),
    }
    for col in extra_cols:
        extras[f"instance_{col}"] = table[col].to_numpy()[order].astype(np.int8)
    metadata = dict(metadata, n=n, length=int(X.shape[2]), splits=dict(zip(SPLITS, sizes)),
                    split_fractions=list(SPLIT_FRACTIONS), motif_source=MOTIF_SOURCE,
                    jaspar_release=JASPAR_RELEASE,
                    instance_columns=["split", "seq", "motif", "start", "end", "strand"] + extra_cols)
    return Dataset(*splits, metadata=metadata, extras=extras)


def _motif_meta(names, motifs) -> list[dict]:
    return [{"name": nm, "id": m.name, "jaspar_name": m.alt_name, "width": m.width}
            for nm, m in zip(names, motifs)]


def instance_table(dataset: Dataset, split: str | None = None) -> pd.DataFrame:
    """The embedded instances of a simulated dataset as a DataFrame: ``split``, ``seq`` (index within
    the split), ``motif`` (name), ``motif_id`` (JASPAR ID), ``start``, ``end``, ``strand`` and the
    recipe's extra columns. ``split`` keeps only one split."""
    ex = dataset.extras
    if "instance_split" not in ex:
        raise SimulationError("dataset has no instance table (extras 'instance_*'); was it simulated?")
    motifs = dataset.metadata["motifs"]
    names = np.array([m["name"] for m in motifs])
    ids = np.array([m["id"] for m in motifs])
    midx = np.asarray(ex["instance_motif"]).astype(np.int64)
    df = pd.DataFrame({
        "split": np.array(SPLITS)[np.asarray(ex["instance_split"]).astype(np.int64)],
        "seq": np.asarray(ex["instance_seq"]).astype(np.int64),
        "motif": names[midx], "motif_id": ids[midx], "motif_index": midx,
        "start": np.asarray(ex["instance_start"]).astype(np.int64),
        "end": np.asarray(ex["instance_end"]).astype(np.int64),
        "strand": np.where(np.asarray(ex["instance_strand"]) < 0, "-", "+"),
    })
    for key, value in ex.items():
        if key.startswith("instance_") and key[9:] not in ("split", "seq", "motif", "start", "end", "strand"):
            df[key[9:]] = np.asarray(value)
    if split is not None:
        if split not in SPLITS:
            raise SimulationError(f"split must be one of {SPLITS}, got {split!r}")
        df = df[df["split"] == split].reset_index(drop=True)
    return df


def _fit_check(name: str, widths, max_count: int, length: int) -> None:
    need = int(np.sort(np.asarray(widths))[::-1][:max_count].sum())
    if need > length:
        raise SimulationError(
            f"{name}: up to {max_count} non-overlapping motifs of widths up to {max(widths)} need up to "
            f"{need} positions, but length is {length}; use a longer length"
        )


def multitask_motifs(n: int = 30000, length: int = 200, random_state=None, background: str = "uniform",
                     **background_kw) -> Dataset:
    """Koo & Eddy (2019) multitask dataset: 12 JASPAR motifs, 12 multi-hot labels.

    Recipe: uniform background of ``length``; 1 to 5 motifs per sequence with probabilities
    0.50/0.25/0.17/0.05/0.03; each slot a different motif (chosen uniformly, so the label row sums to
    the motif count), on a random strand (the forward or reverse-complement PWM); instances sampled
    from the PWM at uniformly random non-overlapping positions. ``Y[i, j] = 1`` when motif j is in
    sequence i. Splits 70/10/20. ``X``, ``Y``, ``truth`` of each split; ``Y`` float32 ``(N, 12)``.
    """
    _check_args(n, length)
    rng = np.random.default_rng(random_state)
    motifs = _named(MULTITASK_MOTIFS)
    names, mots = list(motifs), list(motifs.values())
    counts = (1, 2, 3, 4, 5)
    _fit_check("multitask_motifs", [m.width for m in mots], max(counts), length)
    X = make_background(background, n, length, random_state=rng, **background_kw)
    k = sample_counts(n, counts, COUNT_PROBABILITIES, random_state=rng)
    seq, midx = choose_motifs(k, len(mots), replace=False, random_state=rng)
    minus = rng.random(len(seq)) < 0.5
    starts = random_positions(np.array([m.width for m in mots])[midx], seq, length, random_state=rng)
    inst = pd.DataFrame({"seq": seq, "motif": midx, "start": starts, "strand": np.where(minus, "-", "+")})
    X, truth, table = embed(X, motifs, inst, random_state=rng)
    Y = np.zeros((n, len(mots)), dtype=np.float32)
    Y[seq, midx] = 1.0
    meta = {
        "name": "multitask_motifs", "reference": "Koo & Eddy 2019, PLOS Comp Biol",
        "seed": _seed(random_state), "motifs": _motif_meta(names, mots), "tasks": names,
        "recipe": {"background": _background_meta(background, background_kw), "counts": list(counts),
                   "count_probabilities": list(COUNT_PROBABILITIES), "motif_choice": "distinct, uniform",
                   "strand": "random (forward or reverse-complement PWM)",
                   "placement": "uniform random non-overlapping", "label": "multi-hot motif presence"},
    }
    return _assemble(X, Y, truth, table, [], rng, meta)


def regulatory_code(n: int = 20000, length: int = 200, random_state=None, n_decoys: int = 50,
                    decoys=None, background: str = "uniform", **background_kw) -> Dataset:
    """Koo & Ploenzke (2021) task 3: a binary regulatory code of 5 core motifs.

    Recipe: uniform background; positives (``n // 2``) get 3 to 7 motifs (probabilities
    0.50/0.25/0.17/0.05/0.03), each drawn with replacement from the 10 core PWMs (SP1, GABPA, CEBPB, MAX,
    YY1, forward and reverse complement). Negatives get the same number distribution, drawn from a pool
    of the 10 core PWMs plus 100 decoy PWMs (``n_decoys`` = 50 other JASPAR 2016 vertebrate motifs, forward
    and RC), so they hold look-alike decoys and occasional core motifs. Instances are sampled from the
    PWM at uniformly random non-overlapping positions. ``Y`` ``(N, 1)``: 1 for positives.

    decoys : JASPAR IDs of the decoy motifs (default: ``n_decoys`` drawn at random from the motifs whose
        TF name is not a core name, with ``random_state``). ``instance_core`` marks core instances.
    """
    _check_args(n, length)
    rng = np.random.default_rng(random_state)
    core = _named(REGULATORY_CORE)
    db = _jaspar_cached()
    if decoys is None:
        core_names = {k.upper() for k in REGULATORY_CORE}
        pool = sorted(i for i, m in db.items() if m.alt_name.upper() not in core_names
                      and i not in REGULATORY_CORE.values())
        if n_decoys > len(pool):
            raise SimulationError(f"n_decoys={n_decoys}, but only {len(pool)} non-core motifs are available")
        decoys = sorted(rng.choice(pool, size=n_decoys, replace=False).tolist())
    decoy_motifs = get_motifs(decoys)
    names = list(core) + [m.alt_name for m in decoy_motifs]
    mots = list(core.values()) + decoy_motifs
    counts = (3, 4, 5, 6, 7)
    _fit_check("regulatory_code", [m.width for m in mots], max(counts), length)
    n_pos = n // 2
    X = make_background(background, n, length, random_state=rng, **background_kw)
    k = sample_counts(n, counts, COUNT_PROBABILITIES, random_state=rng)
    seq_p, m_p = choose_motifs(k[:n_pos], len(core), replace=True, random_state=rng)
    seq_n, m_n = choose_motifs(k[n_pos:], len(mots), replace=True, random_state=rng)
    seq, midx = np.concatenate([seq_p, seq_n + n_pos]), np.concatenate([m_p, m_n])
    minus = rng.random(len(seq)) < 0.5
    starts = random_positions(np.array([m.width for m in mots])[midx], seq, length, random_state=rng)
    inst = pd.DataFrame({"seq": seq, "motif": midx, "start": starts, "strand": np.where(minus, "-", "+"),
                         "core": midx < len(core)})
    X, truth, table = embed(X, mots, inst, random_state=rng)
    Y = np.zeros((n, 1), dtype=np.float32)
    Y[:n_pos] = 1.0
    meta = {
        "name": "regulatory_code", "reference": "Koo & Ploenzke 2021, Nat Mach Intell (task 3)",
        "seed": _seed(random_state), "motifs": _motif_meta(names, mots), "tasks": ["regulatory_code"],
        "core_motifs": list(core), "decoy_ids": list(decoys),
        "recipe": {"background": _background_meta(background, background_kw), "counts": list(counts),
                   "count_probabilities": list(COUNT_PROBABILITIES),
                   "positives": "n // 2 sequences; motifs drawn with replacement from the 10 core PWMs",
                   "negatives": "motifs drawn with replacement from 10 core + 2 x n_decoys decoy PWMs",
                   "n_decoys": len(decoys), "placement": "uniform random non-overlapping",
                   "label": "1 = positive recipe"},
    }
    return _assemble(X, Y, truth, table, ["core"], rng, meta)


def motif_interactions(n: int = 20000, length: int = 200, random_state=None, spacing=None,
                       orientation: str | None = None, p_violating: float = 0.5, background: str = "uniform",
                       **background_kw) -> Dataset:
    """A pairwise grammar: the label is 1 when an interacting pair of motifs is present.

    Motifs: the 12 of ``INTERACTION_MOTIFS`` (JASPAR 2016 stand-ins documented there); interacting pairs
    ELF1-SIX3, ESR1-FOXN, GATA1-TAL1, IRF1-SP1; CEBPB, YY1, NFIB, TEAD interact with nothing.

    Recipe (uniform background, instances sampled from the PWM):

    * positives (``n // 2``): one interacting pair (chosen uniformly) plus 0/1/2 extra motifs
      (probabilities 0.5/0.3/0.2) drawn uniformly from all 12, so 2 to 4 motifs in all;
    * negatives: 2/3/4 motifs (same probabilities) drawn without replacement from all 12, redrawn until
      no interacting pair is complete - so single members of pairs occur in negatives, and the motif
      count does not give the label away.
    * ``spacing=(lo, hi)``: a pair counts only when the gap between its two motifs (positions from the end
      of the first to the start of the second, in either order) is within ``[lo, hi]``.
      ``orientation="same"`` / ``"opposite"``: a pair counts only when its motifs are on the same /
      opposite strands. With either constraint, a fraction ``p_violating`` of negatives hold one complete
      pair placed against the rule (the other spacing or orientation) plus non-interacting motifs.
    Without constraints the pair members are placed independently at random non-overlapping positions.

    ``Y`` ``(N, 1)``; ``metadata["interacting_pairs"]`` lists the pairs; ``instance_pair`` gives the pair
    index of instances placed as a pair (-1 otherwise), ``instance_interacting`` whether that placement
    follows the rule (1) or violates it (0, hard negatives).
    """
    _check_args(n, length)
    if orientation not in (None, "same", "opposite"):
        raise SimulationError(f"orientation must be None, 'same' or 'opposite', got {orientation!r}")
    if spacing is not None:
        lo, hi = (int(spacing[0]), int(spacing[1]))
        if not 0 <= lo <= hi:
            raise SimulationError(f"spacing must be (lo, hi) with 0 <= lo <= hi, got {spacing}")
    rng = np.random.default_rng(random_state)
    motifs = _named(INTERACTION_MOTIFS)
    names, mots = list(motifs), list(motifs.values())
    W = np.array([m.width for m in mots])
    pairs = np.array([[names.index(a), names.index(b)] for a, b in INTERACTING_PAIRS])
    loners = np.array([i for i in range(len(names)) if i not in pairs])
    constrained = spacing is not None or orientation is not None
    n_pos = n // 2
    n_neg = n - n_pos

    # which sequences hold a pair, and which pair; hard negatives hold a rule-breaking pair
    hard = np.zeros(n_neg, dtype=bool) if not constrained else rng.random(n_neg) < p_violating
    has_pair = np.concatenate([np.ones(n_pos, dtype=bool), hard])
    pair_seq = np.flatnonzero(has_pair)
    pair_id = rng.integers(0, len(pairs), size=len(pair_seq))
    follows = pair_seq < n_pos
    totals = rng.choice([2, 3, 4], p=[0.5, 0.3, 0.2], size=n)
    # singles: positives any motif; hard negatives non-interacting motifs; other negatives pair-free draws
    s_pos, m_pos = choose_motifs(totals[:n_pos] - 2, len(names), replace=True, random_state=rng)
    hard_idx = n_pos + np.flatnonzero(hard)
    s_hard, m_hard = choose_motifs(totals[hard_idx] - 2, len(loners), replace=False, random_state=rng)
    s_hard, m_hard = hard_idx[s_hard], loners[m_hard]
    easy_idx = n_pos + np.flatnonzero(~hard)
    s_easy, m_easy = _pair_free(totals[easy_idx], len(names), pairs, rng)
    s_easy = easy_idx[s_easy]
    single_seq = np.concatenate([s_pos, s_hard, s_easy])
    single_motif = np.concatenate([m_pos, m_hard, m_easy])

    # pair layout: members' order, strands and gap
    a, b = pairs[pair_id, 0], pairs[pair_id, 1]
    swap = rng.random(len(pair_seq)) < 0.5
    first, second = np.where(swap, b, a), np.where(swap, a, b)
    s1 = rng.random(len(pair_seq)) < 0.5
    same = rng.random(len(pair_seq)) < 0.5
    break_spacing = np.zeros(len(pair_seq), dtype=bool)
    if constrained:
        breaking = ~follows
        if spacing is not None and orientation is not None:
            break_spacing = breaking & (rng.random(len(pair_seq)) < 0.5)
        elif spacing is not None:
            break_spacing = breaking
        break_orient = breaking & ~break_spacing if orientation is not None else np.zeros_like(breaking)
        if orientation is not None:
            want_same = orientation == "same"
            same = np.where(break_orient, not want_same, want_same)
    s2 = np.where(same, s1, ~s1)
    if spacing is not None:
        gap = rng.integers(lo, hi + 1, size=len(pair_seq))
        far = max(2 * hi, hi + 20)
        bad_gaps = np.array([g for g in range(far + 1) if not lo <= g <= hi])
        if break_spacing.any():
            if bad_gaps.size == 0:
                raise SimulationError(f"spacing {spacing} leaves no rule-breaking gap")
            gap[break_spacing] = rng.choice(bad_gaps, size=int(break_spacing.sum()))
        block_w = W[first] + gap + W[second]
        item_w = np.concatenate([block_w, W[single_motif]])
        item_seq = np.concatenate([pair_seq, single_seq])
        _fit_items("motif_interactions", item_w, item_seq, length)
        st = random_positions(item_w, item_seq, length, random_state=rng)
        p_start1 = st[:len(pair_seq)]
        p_start2 = p_start1 + W[first] + gap
        single_start = st[len(pair_seq):]
    else:
        item_w = np.concatenate([W[first], W[second], W[single_motif]])
        item_seq = np.concatenate([pair_seq, pair_seq, single_seq])
        _fit_items("motif_interactions", item_w, item_seq, length)
        st = random_positions(item_w, item_seq, length, random_state=rng)
        m = len(pair_seq)
        p_start1, p_start2, single_start = st[:m], st[m:2 * m], st[2 * m:]

    strand = lambda minus: np.where(minus, "-", "+")  # noqa: E731
    inst = pd.DataFrame({
        "seq": np.concatenate([pair_seq, pair_seq, single_seq]),
        "motif": np.concatenate([first, second, single_motif]),
        "start": np.concatenate([p_start1, p_start2, single_start]),
        "strand": np.concatenate([strand(s1), strand(s2), strand(rng.random(len(single_seq)) < 0.5)]),
        "pair": np.concatenate([pair_id, pair_id, np.full(len(single_seq), -1)]),
        "interacting": np.concatenate([follows, follows, np.zeros(len(single_seq), dtype=bool)]),
    })
    X = make_background(background, n, length, random_state=rng, **background_kw)
    X, truth, table = embed(X, motifs, inst, random_state=rng)
    Y = np.zeros((n, 1), dtype=np.float32)
    Y[:n_pos] = 1.0
    meta = {
        "name": "motif_interactions", "reference": "Ghotra & Koo 2021 style (pairwise motif interactions)",
        "seed": _seed(random_state), "motifs": _motif_meta(names, mots), "tasks": ["interaction"],
        "interacting_pairs": [list(p) for p in INTERACTING_PAIRS],
        "non_interacting": [names[i] for i in loners],
        "recipe": {"background": _background_meta(background, background_kw),
                   "positives": "n // 2; one interacting pair + 0/1/2 (p 0.5/0.3/0.2) random extra motifs",
                   "negatives": "2/3/4 motifs (p 0.5/0.3/0.2) without a complete interacting pair",
                   "spacing": None if spacing is None else [lo, hi], "orientation": orientation,
                   "p_violating": p_violating if constrained else 0.0,
                   "placement": "uniform random non-overlapping (a spaced pair as one block)",
                   "label": "1 = an interacting pair present (and following the spacing/orientation rule)"},
    }
    return _assemble(X, Y, truth, table, ["pair", "interacting"], rng, meta)


def _pair_free(counts, n_motifs: int, pairs: np.ndarray, rng, max_rounds: int = 1000):
    """Distinct motifs per sequence with no complete pair (rows redrawn until none)."""
    seq, midx = choose_motifs(counts, n_motifs, replace=False, random_state=rng)
    midx = midx.copy()
    for _ in range(max_rounds):
        present = np.zeros((len(counts), n_motifs), dtype=bool)
        present[seq, midx] = True
        bad = (present[:, pairs[:, 0]] & present[:, pairs[:, 1]]).any(axis=1)
        if not bad.any():
            return seq, midx
        rows = np.isin(seq, np.flatnonzero(bad))
        _, redraw = choose_motifs(counts[bad], n_motifs, replace=False, random_state=rng)
        midx[rows] = redraw
    raise RuntimeError("could not draw pair-free motif sets")  # pragma: no cover


def _fit_items(name: str, widths, seq, length: int) -> None:
    need = np.bincount(seq, weights=widths)
    if need.max(initial=0) > length:
        raise SimulationError(
            f"{name}: motifs do not fit: {int((need > length).sum())} sequences need up to "
            f"{int(need.max())} positions for their non-overlapping motifs, but length is {length}; "
            "use a longer length (or a smaller spacing)"
        )


def _background_meta(kind: str, kw: dict) -> str:
    """The background recipe as text (real-sequence arrays are summarised by shape)."""
    parts = [f"{k}={np.shape(v) if np.ndim(v) > 1 else v}" for k, v in sorted(kw.items())]
    return kind + (f" ({', '.join(parts)})" if parts else "")


def _seed(random_state):
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return None if random_state is None else int(random_state)
    return "generator"


DATASETS = {
    "multitask_motifs": multitask_motifs,
    "regulatory_code": regulatory_code,
    "motif_interactions": motif_interactions,
}


def simulate_dataset(name: str, n: int | None = None, length: int | None = None, random_state=None,
                     **kw) -> Dataset:
    """A named dataset by name (``multitask_motifs``, ``regulatory_code``, ``motif_interactions``);
    ``None`` for ``n`` or ``length`` keeps the dataset's default."""
    if name not in DATASETS:
        raise SimulationError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    args = dict(kw)
    if n is not None:
        args["n"] = n
    if length is not None:
        args["length"] = length
    return DATASETS[name](random_state=random_state, **args)
