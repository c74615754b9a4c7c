"""Global importance analysis (GIA; Koo et al. 2021, PLOS Comp Biol).

GIA asks a model a causal question: *what does a feature add to the prediction, on average, over
sequences that do not otherwise carry it?* One builds a set of null sequences ``X_null``, applies an
intervention (embed a pattern, ablate a region) to every one of them and reports

``importance = mean_i [ f(intervened_i) - f(null_i) ]``  with its standard error
``se = std_i(...) / sqrt(n)``.

Building blocks
---------------
* :func:`null_sequences` - nulls from a position-specific profile of a data set, mononucleotide or
  dinucleotide shuffles, random uniform or GC-matched sequences, or real sequences from a quantile of
  the model's predictions; optionally filtered to the 10th-90th prediction percentile.
* :func:`pattern_instances` / :func:`embed_patterns` - write one or more patterns (IUPAC k-mers such as
  ``"GATA"`` or ``"CANNTG"``, a :class:`~seqlens.motifs.motif.Motif` by consensus or by sampled
  instances, or explicit one-hot arrays) at given positions, either strand.
* :func:`occlude` - ablate a region (shuffle, dinucleotide shuffle, random letters or zeros).
* :func:`global_importance` - the mean effect and its standard error, in batches, with a progress bar.

Experiments (each returns tables; plots are in :mod:`seqlens.plot.gia`)
-----------------------------------------------------------------------
:func:`kmer_screen` (+ :func:`align_kmers`), :func:`kmer_mutagenesis`, :func:`positional_bias`,
:func:`multiple_sites`, :func:`spacing`, :func:`gc_bias`, :func:`hairpin`.

Shapes: one-hot ``(N, A, L)`` everywhere; a pattern instance is ``(A, W)``; model outputs are reduced
to ``target`` (an output index; ``None`` keeps all outputs, giving ``(..., T)`` effects).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqlens.alphabet import DNA, Alphabet, _to_numpy, get_alphabet, reverse_complement
from seqlens.attribution._utils import check_count, resolve_device
from seqlens.errors import SeqlensError
from seqlens.motifs.motif import Motif
from seqlens.simulate import background as bg

NULLS = ("profile", "shuffle", "dinucleotide", "uniform", "gc", "quantile")
OCCLUSIONS = ("shuffle", "dinucleotide", "random", "zeros")
MAX_K = 8  # kmer_screen embeds all 4**k k-mers into every null sequence

__all__ = [
    "NULLS", "OCCLUSIONS", "GIAResult", "predict", "null_sequences", "filter_by_prediction",
    "pattern_instances", "embed_patterns", "occlude", "global_importance", "kmer_screen", "all_kmers",
    "align_kmers", "kmer_mutagenesis", "positional_bias", "multiple_sites", "spacing", "gc_bias",
    "hairpin",
]


# ----------------------------------------------------------------------------------------------
# model evaluation


def _select(out: torch.Tensor, target):
    if out.ndim == 1 or target is None:
        return out
    if isinstance(target, (list, tuple)):
        return out[:, list(target)].sum(dim=1)
    return out[:, int(target)]


@torch.no_grad()
def predict(model: nn.Module, X, target=0, batch_size: int = 256, device=None,
            verbose: bool = False, desc: str = "predict") -> np.ndarray:
    """Model output for ``X`` ``(N, A, L)`` in eval mode, batch by batch.

    target : output index (default 0), a list of indices (summed), or ``None`` (all outputs).
    Returns ``(N,)`` (or ``(N, T)`` for ``target=None``) float64 numpy.
    """
    from tqdm.auto import tqdm

    batch_size = check_count("batch_size", batch_size)
    Xn = _to_numpy(X)
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    model.to(device)
    outs = []
    try:
        for i in tqdm(range(0, len(Xn), batch_size), disable=not verbose, desc=desc, leave=False):
            xb = torch.as_tensor(np.ascontiguousarray(Xn[i:i + batch_size]), dtype=torch.float32)
            outs.append(_select(model(xb.to(device)), target).double().cpu().numpy())
    finally:
        model.train(was_training)
    if not outs:
        return np.zeros((0,))
    return np.concatenate(outs)


# ----------------------------------------------------------------------------------------------
# null sequences


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
                   batch_size: int = 256, device=None, random_state=None) -> np.ndarray:
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
    """
    if kind not in NULLS:
        raise SeqlensError(f"unknown null {kind!r}; choose one of {NULLS}")
    rng = np.random.default_rng(random_state)
    Xn = None if X is None else _to_numpy(X).astype(np.float32, copy=False)
    if Xn is not None and Xn.ndim != 3:
        raise SeqlensError(f"X must be one-hot (N, A, L), got shape {Xn.shape}")
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
        p = predict(model, Xn, target=target, batch_size=batch_size, device=device)
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
        p = predict(model, out, target=target, batch_size=batch_size, device=device)
        out, _ = filter_by_prediction(out, p, filter_percentiles)
        if not len(out):
            raise SeqlensError(f"no null sequence is left after keeping the prediction percentiles "
                               f"{tuple(filter_percentiles)} of {n}; use more null sequences")
    return out


# ----------------------------------------------------------------------------------------------
# interventions


def pattern_instances(pattern, n: int, alphabet: str | Alphabet = DNA, sample: bool = False,
                      random_state=None) -> np.ndarray:
    """``n`` one-hot instances ``(n, A, W)`` of a pattern.

    pattern :
        a string over the alphabet, IUPAC codes allowed (``"CANNTG"``; each ambiguous position is
        drawn uniformly from its letters, independently per instance);
        a :class:`Motif` - its consensus, or instances sampled from its probabilities if ``sample``;
        an ``(A, W)`` array (the same instance n times) or an ``(n, A, W)`` array (used as is).
    """
    alphabet = get_alphabet(alphabet)
    A = alphabet.size
    rng = np.random.default_rng(random_state)
    if isinstance(pattern, Motif):
        if pattern.alphabet.size != A:
            raise SeqlensError(f"motif {pattern.name!r} has {pattern.alphabet.size} letters, expected {A}")
        if sample:
            return pattern.sample(n, random_state=rng)
        pattern = pattern.consensus()
    if isinstance(pattern, str):
        if not pattern:
            raise SeqlensError("empty pattern string")
        letters = alphabet.letters
        cols = []
        for pos, ch in enumerate(pattern.upper()):
            if ch in letters:
                options = [letters.index(ch)]
            elif ch in alphabet.ambiguity:
                options = [letters.index(c) for c in alphabet.ambiguity[ch]]
            else:
                raise SeqlensError(
                    f"pattern {pattern!r}: invalid character {ch!r} at position {pos + 1}; alphabet "
                    f"{alphabet.name} allows {letters} and IUPAC codes {''.join(alphabet.ambiguity)}")
            cols.append(np.asarray(options)[rng.integers(len(options), size=n)])
        idx = np.stack(cols, axis=1)  # (n, W)
        return np.eye(A, dtype=np.float32)[idx].transpose(0, 2, 1).copy()
    arr = _to_numpy(pattern).astype(np.float32)
    if arr.ndim == 2 and arr.shape[0] == A:
        return np.repeat(arr[None], n, axis=0)
    if arr.ndim == 3 and arr.shape[1] == A and arr.shape[0] == n:
        return arr
    raise SeqlensError(f"pattern must be a string, a Motif, (A={A}, W) or (n={n}, A, W); got "
                     f"{type(pattern).__name__} of shape {np.shape(arr)}")


def _pattern_width(pattern) -> int:
    if isinstance(pattern, Motif):
        return pattern.width
    if isinstance(pattern, str):
        return len(pattern)
    return int(np.shape(pattern)[-1])


def _as_list(x, k: int, name: str) -> list:
    if isinstance(x, (str, int, np.integer, Motif)) or x is None:
        return [x] * k
    if isinstance(x, np.ndarray) and x.ndim >= 2:
        return [x] * k
    x = list(x)
    if len(x) != k:
        raise SeqlensError(f"{name}: need one value per pattern ({k}), got {len(x)}")
    return x


def embed_patterns(X, patterns, positions, strands="+", sample: bool = False,
                   alphabet: str | Alphabet = DNA, random_state=None) -> np.ndarray:
    """Write patterns into a copy of ``X`` ``(N, A, L)`` and return it.

    patterns : one pattern or a list (see :func:`pattern_instances`).
    positions : 0-based start of each pattern (an int for a single pattern, or a list).
    strands : ``"+"`` or ``"-"`` (reverse complement), one per pattern or one for all.
    sample : Motifs give sampled instances (a new one per sequence) instead of their consensus.
    Later patterns overwrite earlier ones where they overlap.
    """
    Xo = _to_numpy(X).astype(np.float32, copy=True)
    if Xo.ndim != 3:
        raise SeqlensError(f"X must be one-hot (N, A, L), got shape {Xo.shape}")
    if not isinstance(patterns, (list, tuple)):
        patterns = [patterns]
    k = len(patterns)
    positions = _as_list(positions, k, "positions")
    strands = _as_list(strands, k, "strands")
    rng = np.random.default_rng(random_state)
    N, _, L = Xo.shape
    for pat, pos, strand in zip(patterns, positions, strands):
        inst = pattern_instances(pat, N, alphabet=alphabet, sample=sample, random_state=rng)
        W = inst.shape[2]
        pos = int(pos)
        if pos < 0 or pos + W > L:
            raise SeqlensError(f"pattern of width {W} at position {pos} does not fit in length {L}")
        if strand in ("-", -1):
            inst = reverse_complement(inst, alphabet)
        elif strand not in ("+", 1):
            raise SeqlensError(f"strand must be '+' or '-', got {strand!r}")
        Xo[:, :, pos:pos + W] = inst
    return Xo


def occlude(X, start: int, end: int, method: str = "shuffle", random_state=None) -> np.ndarray:
    """Ablate ``X[:, :, start:end]`` in a copy of ``X`` ``(N, A, L)``.

    method : ``"shuffle"`` (permute the letters of the region), ``"dinucleotide"`` (dinucleotide
    shuffle of the region), ``"random"`` (uniform random letters) or ``"zeros"`` (all-zero columns).
    """
    if method not in OCCLUSIONS:
        raise SeqlensError(f"unknown occlusion {method!r}; choose one of {OCCLUSIONS}")
    Xo = _to_numpy(X).astype(np.float32, copy=True)
    L = Xo.shape[2]
    if not 0 <= start < end <= L:
        raise SeqlensError(f"occlusion region [{start}, {end}) is not within [0, {L})")
    region = Xo[:, :, start:end]
    if method == "zeros":
        Xo[:, :, start:end] = 0.0
    elif method == "random":
        Xo[:, :, start:end] = bg.uniform(len(Xo), end - start, Xo.shape[1], random_state=random_state)
    elif method == "shuffle":
        from seqlens.shuffle import shuffle

        Xo[:, :, start:end] = np.asarray(shuffle(region, 1, random_state=random_state))[:, 0]
    else:
        from seqlens.shuffle import dinucleotide_shuffle

        Xo[:, :, start:end] = np.asarray(dinucleotide_shuffle(region, 1, random_state=random_state))[:, 0]
    return Xo


# ----------------------------------------------------------------------------------------------
# global importance


@dataclass
class GIAResult:
    """Global importance of one intervention.

    importance : mean effect over null sequences (``(T,)`` for ``target=None``).
    se : its standard error (sample std with ddof=1 / sqrt(n)).
    effects : ``(n,)`` (or ``(n, T)``) per-null-sequence effects ``f(intervened) - f(null)``.
    """

    importance: float | np.ndarray
    se: float | np.ndarray
    effects: np.ndarray

    @property
    def n(self) -> int:
        return len(self.effects)


def _summarise(effects: np.ndarray) -> GIAResult:
    effects = np.asarray(effects, dtype=np.float64)
    n = len(effects)
    mean = effects.mean(axis=0)
    se = effects.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    if np.ndim(mean) == 0:
        mean, se = float(mean), float(se)
    return GIAResult(mean, se, effects)


def global_importance(model: nn.Module, X_null, patterns=None, positions=None, strands="+",
                      intervention: Callable | None = None, sample: bool = False,
                      null_predictions=None, target=0, alphabet: str | Alphabet = DNA,
                      batch_size: int = 256, device=None, random_state=None,
                      verbose: bool = False) -> GIAResult:
    """Global importance of an intervention over null sequences ``X_null`` ``(n, A, L)``.

    The intervention is either ``patterns`` embedded at ``positions`` on ``strands`` (see
    :func:`embed_patterns`), or any ``intervention(X_batch, rng) -> X_batch'`` callable (e.g. a
    ``functools.partial`` of :func:`occlude`). ``null_predictions`` ``(n,)`` skips re-predicting the
    nulls when several interventions share them.

    Returns a :class:`GIAResult`: ``importance = mean(f(X') - f(X))`` and its standard error.
    """
    if (patterns is None) == (intervention is None):
        raise SeqlensError("give either patterns (with positions) or an intervention callable")
    if patterns is not None and positions is None:
        raise SeqlensError("patterns need positions")
    Xn = _to_numpy(X_null).astype(np.float32, copy=False)
    if Xn.ndim != 3 or not len(Xn):
        raise SeqlensError(f"X_null must be a non-empty one-hot batch (n, A, L), got shape {Xn.shape}")
    rng = np.random.default_rng(random_state)
    if null_predictions is None:
        f0 = predict(model, Xn, target=target, batch_size=batch_size, device=device)
    else:
        f0 = np.asarray(null_predictions, dtype=np.float64)
        if len(f0) != len(Xn):
            raise SeqlensError(f"null_predictions has {len(f0)} values for {len(Xn)} null sequences")

    def apply(xb):
        if intervention is not None:
            return intervention(xb, rng)
        return embed_patterns(xb, patterns, positions, strands, sample=sample, alphabet=alphabet,
                              random_state=rng)

    from tqdm.auto import tqdm

    f1 = []
    for i in tqdm(range(0, len(Xn), batch_size), disable=not verbose, desc="GIA", leave=False):
        f1.append(predict(model, apply(Xn[i:i + batch_size]), target=target, batch_size=batch_size,
                          device=device))
    f1 = np.concatenate(f1) if f1 else np.zeros_like(f0)
    return _summarise(f1 - f0)


def _many(model, Xn, f0, make: Callable[[np.ndarray, int, np.random.Generator], np.ndarray],
          n_interventions: int, target, batch_size, device, rng, verbose, desc) -> np.ndarray:
    """Effects ``(n_interventions, n)`` of many interventions, batching (intervention x null) pairs.

    ``make(X_chunk, j, rng)`` returns the intervened chunk for intervention ``j``.
    """
    from tqdm.auto import tqdm

    n = len(Xn)
    out = np.empty((n_interventions, n) + np.shape(f0)[1:], dtype=np.float64)
    per = max(1, batch_size // max(n, 1))  # interventions per model call when nulls are few
    chunk = min(n, batch_size)
    for j0 in tqdm(range(0, n_interventions, per), disable=not verbose, desc=desc, leave=False):
        js = range(j0, min(j0 + per, n_interventions))
        for c in range(0, n, chunk):
            xb = Xn[c:c + chunk]
            batch = np.concatenate([make(xb, j, rng) for j in js])
            f1 = predict(model, batch, target=target, batch_size=batch_size, device=device)
            f1 = f1.reshape(len(js), len(xb), *f1.shape[1:])
            out[j0:j0 + len(js), c:c + len(xb)] = f1 - f0[c:c + len(xb)]
    return out


def _table(effects: np.ndarray, **columns) -> pd.DataFrame:
    """DataFrame with the given columns plus ``importance`` and ``se`` from ``(J, n)`` effects."""
    n = effects.shape[1]
    df = pd.DataFrame(columns)
    df["importance"] = effects.mean(axis=1)
    df["se"] = effects.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else 0.0
    return df


def _prep(model, X_null, target, batch_size, device):
    Xn = _to_numpy(X_null).astype(np.float32, copy=False)
    if Xn.ndim != 3 or not len(Xn):
        raise SeqlensError(f"X_null must be a non-empty one-hot batch (n, A, L), got shape {Xn.shape}")
    if target is None:
        raise SeqlensError("experiments need a single target output (an int or a list of ints)")
    return Xn, predict(model, Xn, target=target, batch_size=batch_size, device=device)


def _center(L: int, W: int) -> int:
    return max((L - W) // 2, 0)


def _check_fit(position: int, width: int, length: int) -> None:
    if not 0 <= position <= length - width:
        raise SeqlensError(f"a pattern of width {width} at position {position} does not fit in "
                           f"sequences of length {length} (positions 0..{length - width})")


# ----------------------------------------------------------------------------------------------
# experiments


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
    Xn, f0 = _prep(model, X_null, target, batch_size, device)
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
    Xn, f0 = _prep(model, X_null, target, batch_size, device)
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
    Xn, f0 = _prep(model, X_null, target, batch_size, device)
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
    Xn, f0 = _prep(model, X_null, target, batch_size, device)
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
    Xn, f0 = _prep(model, X_null, target, batch_size, device)
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
    Xn, f0 = _prep(model, X_null, target, batch_size, device)
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
