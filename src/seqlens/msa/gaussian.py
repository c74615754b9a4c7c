"""Multivariate Gaussian model of one-hot sequences (GaussDCA-like).

The weighted covariance of the one-hot encoding (gap state dropped from each column to remove the
linear dependence) is shrunk towards the uniform distribution, inverted, and the Frobenius norms
of the precision-matrix blocks (zero-sum gauge) give the coupling scores, then APC.
"""

from __future__ import annotations

import numpy as np

from seqlens.msa.alignment import Alignment
from seqlens.msa.models import MSAModel


class Gaussian(MSAModel):
    """Multivariate Gaussian on one-hot columns.

    Parameters
    ----------
    pseudocount : shrinkage weight lambda of frequencies towards uniform (``(1-lambda) f +
        lambda/q``) before forming the covariance; keeps it invertible.
    identity : sequence-weight identity threshold.

    Attributes: ``mean_`` ``(L, q-1)``, ``covariance_`` and ``precision_`` ``(L(q-1), L(q-1))``,
    ``columns_``.
    """

    def __init__(self, pseudocount: float = 0.5, identity: float | None = 0.8):
        self.pseudocount = pseudocount
        self.identity = identity

    def fit(self, msa: Alignment) -> Gaussian:
        from seqlens.msa.stats import frequencies

        fi, fij = frequencies(msa, self.identity, self.pseudocount)
        q = msa.q
        L = msa.length
        A = q - 1  # drop the gap state (last code)
        fi_r = fi[:, :A]
        C = fij[:, :A, :, :A] - fi_r[:, :, None, None] * fi_r[None, None, :, :]
        C = C.reshape(L * A, L * A)
        self.mean_ = fi_r
        self.covariance_ = C
        self.precision_ = np.linalg.inv(C)
        self.columns_ = msa.columns.copy()
        self.alignment_width_ = msa.width
        self.alphabet_ = msa.alphabet
        self.gap_code_ = msa.gap_code
        self._A = A
        return self

    def couplings(self) -> np.ndarray:
        """``(L, A, L, A)`` couplings ``-precision`` (A = residue states)."""
        self._check_fitted()
        L, A = self.mean_.shape
        return -self.precision_.reshape(L, A, L, A)

    def contacts(self, apc: bool = True) -> np.ndarray:
        from seqlens.msa.contacts import frobenius

        return frobenius(self.couplings(), apc=apc, zero_sum_gauge=True)

    def _score_codes(self, X: np.ndarray) -> np.ndarray:
        """Gaussian log-density of the one-hot rows (up to a constant)."""
        L, A = self.mean_.shape
        oh = np.zeros((X.shape[0], L, A + 1))
        oh[np.arange(X.shape[0])[:, None], np.arange(L)[None], X] = 1.0
        d = oh[:, :, :A].reshape(X.shape[0], -1) - self.mean_.reshape(-1)
        return -0.5 * np.einsum("ni,ij,nj->n", d, self.precision_, d)
