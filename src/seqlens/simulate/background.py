"""Background sequences for simulated grammars.

Every generator returns a one-hot batch ``(n, A, L)`` float32 (A = 4 for DNA, order ACGT) and takes
``random_state`` (an int, ``None`` or a ``numpy.random.Generator``). Sampling is vectorised over
all positions of all sequences.

* :func:`uniform` - every letter with probability 1/A;
* :func:`gc_content` - i.i.d. letters with a given G+C fraction;
* :func:`iid` - i.i.d. letters with given frequencies; :func:`from_data` takes them from real sequences
  (per-letter frequencies, see :func:`letter_frequencies`);
* :func:`profile` - a position-specific profile ``(A, L)`` (each column its own distribution);
* :func:`dinucleotide_shuffled` - dinucleotide shuffles of real sequences (dinucleotide counts kept);
* :func:`make_background` - pick one of the above by name.
"""

from __future__ import annotations

import numpy as np

from seqlens.alphabet import _to_numpy
from seqlens.simulate.grammar import SimulationError

BACKGROUNDS = ("uniform", "gc", "iid", "profile", "dinucleotide")


def _rng(random_state) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _check_size(n: int, length: int) -> None:
    if int(n) < 0 or int(length) < 1:
        raise SimulationError(f"need n >= 0 and length >= 1, got n={n}, length={length}")


def one_hot_indices(idx: np.ndarray, alphabet_size: int = 4) -> np.ndarray:
    """``(n, L)`` letter indices -> ``(n, A, L)`` float32 one-hot."""
    idx = np.asarray(idx)
    out = np.zeros((idx.shape[0], alphabet_size, idx.shape[1]), dtype=np.float32)
    np.put_along_axis(out, idx[:, None, :].astype(np.intp), 1.0, axis=1)
    return out


def sample_columns(probabilities, n: int, random_state=None) -> np.ndarray:
    """Sample one-hot sequences column by column.

    probabilities : ``(A, L)`` (the same distribution for all n sequences) or ``(n, A, L)``; columns
        are normalised to sum to 1.
    Returns ``(n, A, L)`` float32 one-hot.
    """
    rng = _rng(random_state)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[0] not in (1, n):
        raise SimulationError(f"probabilities must be (A, L) or (n={n}, A, L), got {np.shape(probabilities)}")
    if not np.all(np.isfinite(p)) or (p < 0).any() or (p.sum(axis=1) <= 0).any():
        raise SimulationError("probabilities must be finite, non-negative, with positive column sums")
    cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = rng.random((n, 1, p.shape[2]))
    idx = (u > cum).sum(axis=1).clip(max=p.shape[1] - 1)
    return one_hot_indices(idx, p.shape[1])


def uniform(n: int, length: int, alphabet_size: int = 4, random_state=None) -> np.ndarray:
    """``(n, A, length)`` one-hot with every letter equally likely."""
    _check_size(n, length)
    idx = _rng(random_state).integers(0, alphabet_size, size=(int(n), int(length)))
    return one_hot_indices(idx, alphabet_size)


def gc_frequencies(gc: float) -> np.ndarray:
    """``(4,)`` ACGT frequencies with G+C fraction ``gc`` (A = T, C = G)."""
    if not 0.0 <= gc <= 1.0:
        raise SimulationError(f"gc must be within [0, 1], got {gc}")
    return np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])


def gc_content(n: int, length: int, gc: float = 0.5, random_state=None) -> np.ndarray:
    """``(n, 4, length)`` DNA one-hot, i.i.d. letters with G+C fraction ``gc``."""
    return iid(n, length, gc_frequencies(gc), random_state=random_state)


def iid(n: int, length: int, frequencies, random_state=None) -> np.ndarray:
    """``(n, A, length)`` one-hot, i.i.d. letters with ``frequencies`` ``(A,)`` (normalised)."""
    _check_size(n, length)
    f = np.asarray(frequencies, dtype=np.float64)
    if f.ndim != 1:
        raise SimulationError(f"frequencies must be 1-D (A,), got shape {f.shape}")
    return sample_columns(np.repeat(f[:, None], int(length), axis=1), int(n), random_state)


def letter_frequencies(X) -> np.ndarray:
    """``(A,)`` letter frequencies of a one-hot batch ``(N, A, L)`` (ambiguous columns count by
    their weights)."""
    X = _to_numpy(X).astype(np.float64)
    if X.ndim != 3:
        raise SimulationError(f"expected one-hot (N, A, L), got shape {X.shape}")
    total = X.sum(axis=(0, 2))
    if total.sum() <= 0:
        raise SimulationError("cannot estimate letter frequencies from an empty batch")
    return total / total.sum()


def position_frequencies(X) -> np.ndarray:
    """``(A, L)`` per-position letter frequencies of a one-hot batch ``(N, A, L)``."""
    X = _to_numpy(X).astype(np.float64)
    if X.ndim != 3 or X.shape[0] == 0:
        raise SimulationError(f"expected a non-empty one-hot batch (N, A, L), got shape {X.shape}")
    s = X.sum(axis=0)
    return s / np.maximum(s.sum(axis=0, keepdims=True), 1e-12)


def from_data(X, n: int, length: int | None = None, random_state=None) -> np.ndarray:
    """``(n, A, length)`` i.i.d. sequences with the letter frequencies of real sequences ``X``
    ``(N, A, L)`` (``length`` defaults to L)."""
    f = letter_frequencies(X)
    return iid(n, _to_numpy(X).shape[2] if length is None else length, f, random_state=random_state)


def profile(n: int, probabilities, random_state=None) -> np.ndarray:
    """``(n, A, L)`` sequences drawn from a position-specific profile ``(A, L)`` (e.g.
    :func:`position_frequencies` of real sequences)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2:
        raise SimulationError(f"profile must be (A, L), got shape {p.shape}")
    _check_size(n, p.shape[1])
    return sample_columns(p, int(n), random_state)


def dinucleotide_shuffled(X, n: int | None = None, random_state=None) -> np.ndarray:
    """Dinucleotide shuffles of real sequences ``X`` ``(N, A, L)`` -> ``(n, A, L)``.

    Sequence ``i`` of the output is a shuffle of ``X[i % N]`` (``n`` defaults to N; when n > N each
    real sequence is shuffled several times, independently).
    """
    from seqlens.shuffle import dinucleotide_shuffle

    Xn = _to_numpy(X)
    if Xn.ndim != 3 or Xn.shape[0] == 0:
        raise SimulationError(f"expected a non-empty one-hot batch (N, A, L), got shape {Xn.shape}")
    N = Xn.shape[0]
    n = N if n is None else int(n)
    reps = -(-n // N)
    shuffled = np.asarray(dinucleotide_shuffle(Xn, n=reps, random_state=random_state))  # (N, reps, A, L)
    out = shuffled.transpose(1, 0, 2, 3).reshape(N * reps, *Xn.shape[1:])[:n]
    return np.ascontiguousarray(out, dtype=np.float32)


def make_background(kind: str, n: int, length: int | None = None, random_state=None, **kw) -> np.ndarray:
    """Background by name -> ``(n, A, L)``.

    kind : ``"uniform"``; ``"gc"`` (``gc=``); ``"iid"`` (``frequencies=`` or real sequences ``X=``);
        ``"profile"`` (``probabilities=`` ``(A, L)`` or real sequences ``X=``); ``"dinucleotide"``
        (real sequences ``X=``).
    """
    if kind == "uniform":
        return uniform(n, length, random_state=random_state)
    if kind == "gc":
        return gc_content(n, length, gc=kw.get("gc", 0.5), random_state=random_state)
    if kind == "iid":
        if "X" in kw:
            return from_data(kw["X"], n, length, random_state=random_state)
        if "frequencies" not in kw:
            raise SimulationError("background 'iid' needs frequencies= or X= (real sequences)")
        return iid(n, length, kw["frequencies"], random_state=random_state)
    if kind == "profile":
        probs = kw["probabilities"] if "probabilities" in kw else (
            position_frequencies(kw["X"]) if "X" in kw else None)
        if probs is None:
            raise SimulationError("background 'profile' needs probabilities= (A, L) or X= (real sequences)")
        if length is not None and np.shape(probs)[1] != length:
            raise SimulationError(f"profile has length {np.shape(probs)[1]}, but length={length} was asked")
        return profile(n, probs, random_state=random_state)
    if kind == "dinucleotide":
        if "X" not in kw:
            raise SimulationError("background 'dinucleotide' needs X= (real sequences to shuffle)")
        out = dinucleotide_shuffled(kw["X"], n, random_state=random_state)
        if length is not None and out.shape[2] != length:
            raise SimulationError(f"real sequences have length {out.shape[2]}, but length={length} was asked")
        return out
    raise SimulationError(f"unknown background {kind!r}; choose one of {BACKGROUNDS}")
