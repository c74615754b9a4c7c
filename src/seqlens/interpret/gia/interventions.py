"""Interventions on one-hot sequences ``(N, A, L)``: embed patterns (IUPAC k-mers, motifs, one-hot
arrays) on either strand, substitute a motif as tangermeme does, or ablate a region."""

from __future__ import annotations

import numpy as np
import torch

from seqlens.alphabet import DNA, Alphabet, _to_numpy, get_alphabet, reverse_complement
from seqlens.attribution._utils import like
from seqlens.errors import ParameterError, SeqlensError
from seqlens.motifs.motif import Motif
from seqlens.simulate import background as bg

OCCLUSIONS = ("shuffle", "dinucleotide", "random", "zeros")


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



def substitute(X, motif, start: int | None = None, alphabet: str | Alphabet = DNA):
    """A copy of ``X`` ``(N, A, L)`` with ``motif`` written from ``start``, as tangermeme's
    ``ersatz.substitute``: ``N`` in a string motif (or an all-zero column of a one-hot motif)
    keeps the sequence's letter there.

    motif : a string over the alphabet (plus ``N``), or one-hot ``(A, W)``, ``(1, A, W)`` or
        ``(N, A, W)`` (one instance per sequence).
    start : 0-based start; None centres the motif: ``L // 2 - W // 2``.
    Returns the same kind as ``X``.
    """
    alphabet = get_alphabet(alphabet)
    Xo = _to_numpy(X).astype(np.float32, copy=True)
    if Xo.ndim != 3 or Xo.shape[1] != alphabet.size:
        raise ParameterError(f"X must be one-hot (N, A={alphabet.size}, L), got shape {Xo.shape}")
    if isinstance(motif, str):
        idx = [alphabet.letters.find(c) for c in motif.upper()]
        bad = [(i, c) for i, (c, j) in enumerate(zip(motif, idx)) if j < 0 and c.upper() != "N"]
        if bad or not motif:
            raise ParameterError(f"motif {motif!r}: invalid character {bad[0][1]!r} at position "
                                 f"{bad[0][0] + 1}; use {alphabet.letters} or N (keep the sequence)"
                                 if bad else "empty motif")
        M = np.zeros((1, alphabet.size, len(motif)), dtype=np.float32)
        for j, a in enumerate(idx):
            if a >= 0:
                M[0, a, j] = 1
    else:
        M = _to_numpy(motif).astype(np.float32)
        M = M[None] if M.ndim == 2 else M
        if M.ndim != 3 or M.shape[1] != alphabet.size or M.shape[0] not in (1, len(Xo)):
            raise ParameterError(f"motif must be a string or one-hot (A, W), (1, A, W) or (N={len(Xo)}, "
                                 f"A={alphabet.size}, W), got shape {M.shape}")
    W, L = M.shape[-1], Xo.shape[-1]
    if W > L:
        raise ParameterError(f"a motif of width {W} is longer than the sequences ({L})")
    start = L // 2 - W // 2 if start is None else int(start)
    if not 0 <= start <= L - W:
        raise ParameterError(f"a motif of width {W} at start {start} does not fit in length {L} "
                             f"(starts 0..{L - W})")
    keep = M.sum(axis=1, keepdims=True) != 1  # (1 or N, 1, W): columns that keep the sequence
    Xo[:, :, start:start + W] = np.where(keep, Xo[:, :, start:start + W], M)
    return like(torch.from_numpy(Xo), X)

