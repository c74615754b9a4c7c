"""Weighted single-site and pair frequencies, and mutual information + APC."""

from __future__ import annotations

import numpy as np

from seqlens.msa.alignment import Alignment


def one_hot_codes(X: np.ndarray, q: int) -> np.ndarray:
    """``(N, L)`` codes -> ``(N, L * q)`` float32 one-hot (site-major)."""
    N, L = X.shape
    out = np.zeros((N, L * q), dtype=np.float32)
    out[np.repeat(np.arange(N), L), (np.arange(L) * q + X).reshape(-1)] = 1.0
    return out


def frequencies(msa: Alignment, identity: float | None = 0.8, pseudocount: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted frequencies with the gap as a state.

    Returns ``fi`` ``(L, q)`` and ``fij`` ``(L, q, L, q)``; with ``pseudocount`` lambda both are
    mixed with the uniform distribution: ``(1 - lambda) f + lambda / q`` (``/ q**2`` for pairs;
    the diagonal blocks stay consistent with ``fi``).
    """
    q = msa.q
    N, L = msa.X.shape
    w = msa.weights(identity)
    neff = w.sum()
    oh = one_hot_codes(msa.X, q)
    fi = (w @ oh / neff).reshape(L, q)
    fij = ((oh * w[:, None].astype(np.float32)).T @ oh / neff).reshape(L, q, L, q).astype(np.float64)
    if pseudocount:
        lam = pseudocount
        fi = (1 - lam) * fi + lam / q
        fij = (1 - lam) * fij + lam / q**2
        for i in range(L):
            fij[i, :, i, :] = np.diag(fi[i])
    return fi, fij


def mutual_information(msa: Alignment, identity: float | None = 0.8, pseudocount: float = 0.001,
                       apc: bool = True, include_gaps: bool = True) -> np.ndarray:
    """``(L, L)`` mutual information between columns (weighted frequencies, small pseudocount),
    then APC. ``include_gaps=False`` drops the gap state from the sums."""
    from seqlens.msa.contacts import apc as apc_fn

    fi, fij = frequencies(msa, identity, pseudocount)
    q = msa.q
    sl = slice(0, q) if include_gaps else slice(0, q - 1)
    pij = fij[:, sl, :, sl]
    pi = fi[:, sl]
    ratio = pij / (pi[:, :, None, None] * pi[None, None, :, :])
    mi = np.einsum("iajb->ij", pij * np.log(np.where(pij > 0, ratio, 1.0)))
    np.fill_diagonal(mi, 0.0)
    return apc_fn(mi) if apc else mi


class MutualInformation:
    """MI + APC baseline with the estimator interface (``fit(msa)``, ``contacts()``)."""

    def __init__(self, identity: float | None = 0.8, pseudocount: float = 0.001, apc: bool = True):
        self.identity = identity
        self.pseudocount = pseudocount
        self.apc = apc

    def fit(self, msa: Alignment) -> MutualInformation:
        self.scores_ = mutual_information(msa, self.identity, self.pseudocount, self.apc)
        self.columns_ = msa.columns.copy()
        self.alignment_width_ = msa.width
        return self

    def contacts(self) -> np.ndarray:
        return self.scores_
