"""Sequence shuffles that preserve composition.

``shuffle`` permutes positions (mononucleotide counts preserved exactly); ``dinucleotide_shuffle``
draws a uniformly random Eulerian path through the dinucleotide graph of each sequence
(Altschul & Erickson 1985), so the counts of every dinucleotide, and the first and last letters,
are preserved exactly.

Both take one-hot ``(N, A, L)`` (numpy or torch) and return ``(N, n, A, L)`` of the same kind.
Columns that are not one-hot (e.g. ``N`` encoded as 0.25) are treated as an extra letter and kept
as they were.
"""

from __future__ import annotations

import numba
import numpy as np

from seqlens.alphabet import _is_tensor, _to_numpy


def shuffle(X, n: int = 1, random_state=None):
    """Mononucleotide shuffle: ``n`` random permutations of the positions of each sequence.

    X : ``(N, A, L)``. Returns ``(N, n, A, L)``.
    """
    Xn = _check(X)
    rng = np.random.default_rng(random_state)
    N, _, L = Xn.shape
    order = rng.random((N, n, L)).argsort(axis=-1)
    out = np.take_along_axis(Xn[:, None], order[:, :, None, :], axis=-1)
    return _like(out, X)


def dinucleotide_shuffle(X, n: int = 1, random_state=None):
    """Dinucleotide shuffle preserving all dinucleotide counts exactly.

    X : ``(N, A, L)`` one-hot. Returns ``(N, n, A, L)``.
    """
    Xn = _check(X)
    N, A, L = Xn.shape
    codes, columns = _encode(Xn)
    rng = np.random.default_rng(random_state)
    seeds = rng.integers(0, 2**63 - 1, size=N * n, dtype=np.int64).reshape(N, n)
    order = _dinuc_orders(codes, seeds, columns.shape[0])
    out = columns[np.take_along_axis(np.repeat(codes[:, None], n, axis=1), order, axis=-1)]
    return _like(out.transpose(0, 1, 3, 2), X)


def _check(X) -> np.ndarray:
    Xn = _to_numpy(X)
    if Xn.ndim != 3:
        raise ValueError(f"expected one-hot of shape (N, A, L), got {Xn.shape}")
    return Xn


def _like(out: np.ndarray, X):
    out = np.ascontiguousarray(out, dtype=np.float32 if _to_numpy(X).dtype != np.float64 else None)
    if _is_tensor(X):
        import torch

        return torch.from_numpy(out).to(X.device, X.dtype)
    return out


def _encode(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map each column to a code: ``(N, L)`` int64 codes and ``(K, A)`` distinct columns.

    One-hot columns get their letter index; any other column (e.g. ``N`` = 0.25) gets a new code.
    """
    N, A, L = X.shape
    codes = X.argmax(axis=1).astype(np.int64)
    columns = np.eye(A, dtype=X.dtype)
    other = ~((X.max(axis=1) == 1) & (X.sum(axis=1) == 1))
    if other.any():
        extra, inverse = np.unique(X.transpose(0, 2, 1)[other], axis=0, return_inverse=True)
        codes[other] = A + inverse.ravel()
        columns = np.concatenate([columns, extra])
    return codes, columns


@numba.njit(cache=True)
def _dinuc_orders(codes, seeds, k):
    """For each sequence and seed: indices into the sequence (gather order) of one shuffle."""
    N, L = codes.shape
    n = seeds.shape[1]
    out = np.empty((N, n, L), dtype=np.int64)
    for i in range(N):
        seq = codes[i]
        # edges: for each letter a, the positions p with seq[p] == a (p < L-1), i.e. edges a -> seq[p+1]
        counts = np.zeros(k, dtype=np.int64)
        for p in range(L - 1):
            counts[seq[p]] += 1
        starts = np.zeros(k + 1, dtype=np.int64)
        for a in range(k):
            starts[a + 1] = starts[a] + counts[a]
        edges = np.empty(max(L - 1, 0), dtype=np.int64)
        fill = starts[:k].copy()
        for p in range(L - 1):
            edges[fill[seq[p]]] = p
            fill[seq[p]] += 1
        for s in range(n):
            np.random.seed(seeds[i, s])
            if L < 3:
                for p in range(L):
                    out[i, s, p] = p
                continue
            last = seq[L - 1]
            # random arborescence towards `last`: for each other vertex with out-edges, pick its last edge
            # by a random walk backwards (Wilson's algorithm on the reversed graph)
            in_tree = np.zeros(k, dtype=np.bool_)
            in_tree[last] = True
            nxt = np.full(k, -1, dtype=np.int64)
            for v0 in range(k):
                if counts[v0] == 0 or in_tree[v0]:
                    continue
                v = v0
                while not in_tree[v]:
                    e = edges[starts[v] + np.random.randint(counts[v])]
                    nxt[v] = e
                    v = seq[e + 1]
                v = v0
                while not in_tree[v]:
                    in_tree[v] = True
                    v = seq[nxt[v] + 1]
            # order each vertex's edge list: random permutation of the non-tree edges, tree edge last
            perm = edges.copy()
            for v in range(k):
                c = counts[v]
                if c == 0:
                    continue
                seg = perm[starts[v]:starts[v] + c]
                if nxt[v] >= 0:
                    for j in range(c):
                        if seg[j] == nxt[v]:
                            seg[j] = seg[c - 1]
                            seg[c - 1] = nxt[v]
                            break
                    m = c - 1
                else:
                    m = c
                for j in range(m - 1, 0, -1):
                    r = np.random.randint(j + 1)
                    tmp = seg[j]
                    seg[j] = seg[r]
                    seg[r] = tmp
            # walk the Eulerian path from the first letter; each step takes the source position's successor
            used = np.zeros(k, dtype=np.int64)
            v = seq[0]
            out[i, s, 0] = 0
            for p in range(1, L):
                e = perm[starts[v] + used[v]]
                used[v] += 1
                out[i, s, p] = e + 1
                v = seq[e + 1]
    return out
