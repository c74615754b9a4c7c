"""Sequence weights by neighbourhood size at an identity threshold (plmc / EVcouplings convention).

Each sequence gets weight ``1 / (1 + #other sequences with identity >= threshold)``; identity is
the fraction of the L columns where the two rows carry the same code, gap == gap included.
``Neff`` is the sum of the weights.

The pair loop runs in numba over 8 columns at a time (bytes packed into uint64 words, XOR,
SWAR count of differing bytes) and stops a pair early once it has too many mismatches, using
the triangle only and two or more threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from seqlens.errors import ParameterError

_LO7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HI = np.uint64(0x8080808080808080)
_ONES = np.uint64(0x0101010101010101)


@numba.njit(cache=True, nogil=True)
def _count_block(words, rows, max_mismatch, counts):
    """For each row s in ``rows``, count neighbours t > s; add to counts[s] and counts[t]."""
    n, nw = words.shape
    lo7 = np.uint64(0x7F7F7F7F7F7F7F7F)
    hi = np.uint64(0x8080808080808080)
    ones = np.uint64(0x0101010101010101)
    s7 = np.uint64(7)
    s56 = np.uint64(56)
    for r in range(rows.shape[0]):
        s = rows[r]
        for t in range(s + 1, n):
            mism = 0
            ok = True
            for k in range(nw):
                x = words[s, k] ^ words[t, k]
                if x != 0:
                    y = ((x & lo7) + lo7) | x
                    mism += int((((y & hi) >> s7) * ones) >> s56)
                    if mism > max_mismatch:
                        ok = False
                        break
            if ok:
                counts[s] += 1
                counts[t] += 1


def _neighbours(words, max_mismatch, n_blocks):
    """``(N,)`` neighbour counts: blocks of interleaved rows (which balance the triangle) counted
    on the threads, one task each (:func:`_count_block` is compiled serial, ``nogil``)."""
    from seqlens.msa._threads import run_tasks

    n = words.shape[0]
    counts = np.zeros((n_blocks, n), dtype=np.int64)
    run_tasks(_count_block, [(words, np.arange(b, n, n_blocks), max_mismatch, counts[b])
                             for b in range(n_blocks)])
    return counts.sum(axis=0)


def _pack(X: np.ndarray) -> np.ndarray:
    """``(N, L)`` uint8 codes -> ``(N, ceil(L/8))`` uint64 words (zero padded).

    Columns are reordered so the most diverse come first: pairs then exceed the mismatch limit
    (and stop) after fewer words. Identity counts do not depend on the column order.
    """
    n, length = X.shape
    freq = np.stack([np.bincount(col, minlength=256)[:256] for col in X.T]) / max(n, 1)
    X = X[:, np.argsort((freq**2).sum(axis=1), kind="stable")]
    width = (length + 7) // 8 * 8
    padded = np.zeros((n, width), dtype=np.uint8)
    padded[:, :length] = X
    return padded.view(np.uint64)


def neighbour_counts(X: np.ndarray, identity: float = 0.8, n_threads: int | None = None) -> np.ndarray:
    """Number of *other* rows of ``X`` with identity >= ``identity``.

    Parameters
    ----------
    X : ``(N, L)`` integer codes (gap is a code like any other).
    identity : fraction in [0, 1]; a pair counts when ``#identical columns >= identity * L``.
    n_threads : numba threads (None: numba's current setting, at most 2 by default here).

    Returns
    -------
    ``(N,)`` int64 counts.
    """
    X = np.ascontiguousarray(X, dtype=np.uint8)
    n, length = X.shape
    if not 0.0 <= identity <= 1.0:
        raise ParameterError(f"identity must be in [0, 1], got {identity}")
    # same arithmetic as plmc: theta = 1 - identity, cutoff = (1 - theta) * L
    cutoff = (1.0 - (1.0 - identity)) * length
    min_identical = math.ceil(cutoff - 1e-9 * max(1.0, cutoff)) if cutoff > 0 else 0
    max_mismatch = length - min_identical
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    from seqlens.msa._threads import thread_limit

    threads = n_threads or min(numba.get_num_threads(), 2)
    with thread_limit(threads):
        return _neighbours(_pack(X), max_mismatch, max(1, 4 * threads))


def sequence_weights(X: np.ndarray, identity: float = 0.8, n_threads: int | None = None) -> np.ndarray:
    """Weights ``1 / (1 + neighbours)``, ``(N,)`` float64 (``identity >= 1`` still counts exact
    duplicates; use ``identity=None`` upstream to switch weighting off)."""
    return 1.0 / (1.0 + neighbour_counts(X, identity, n_threads))


def neighbour_counts_reference(X: np.ndarray, identity: float = 0.8) -> np.ndarray:
    """Plain numpy version (slow, for tests): ``(N,)`` int64."""
    X = np.asarray(X)
    n, length = X.shape
    cutoff = (1.0 - (1.0 - identity)) * length
    out = np.zeros(n, dtype=np.int64)
    for s in range(n):
        ident = (X == X[s]).sum(axis=1)
        out[s] = int((ident >= cutoff).sum()) - 1
    return out
