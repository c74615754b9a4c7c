"""Site-independent model (PSSM) from weighted counts."""

from __future__ import annotations

import numpy as np

from seqlens.msa.alignment import Alignment
from seqlens.msa.models import MSAModel


class PSSM(MSAModel):
    """Site-independent model ``P(x) = prod_i p_i(x_i)``.

    Parameters
    ----------
    pseudocount : added to each state's weighted count (default 1, Laplace); ignored when
        ``lambda_h`` is given.
    lambda_h : if set, fields are the MAP estimate of ``log p`` with an L2 penalty
        ``lambda_h * ||h||^2`` on zero-sum fields (fitted by Newton steps per column).
    identity : sequence-weight identity threshold (None: unweighted).
    gaps : ``"state"`` (gap is a state) or ``"ignore"`` (frequencies over residues only; gapped
        positions add 0 to scores).

    Attributes: ``log_probs_`` ``(L, Q)``, ``neff_``, ``columns_``.
    """

    def __init__(self, pseudocount: float = 1.0, lambda_h: float | None = None,
                 identity: float | None = 0.8, gaps: str = "state", random_state=0):
        self.pseudocount = pseudocount
        self.lambda_h = lambda_h
        self.identity = identity
        self.gaps = gaps
        self.random_state = random_state

    def fit(self, msa: Alignment) -> PSSM:
        w = msa.weights(self.identity)
        Q = msa.q if self.gaps == "state" else msa.q - 1
        N, L = msa.X.shape
        counts = np.zeros((L, Q))
        for i in range(L):
            x = msa.X[:, i]
            ok = x < Q
            counts[i] = np.bincount(x[ok], weights=w[ok], minlength=Q)
        if self.lambda_h is None:
            p = counts + self.pseudocount
            logp = np.log(p / p.sum(1, keepdims=True))
        else:
            h = np.zeros((L, Q))
            n = counts.sum(1, keepdims=True)
            for _ in range(50):  # Newton on -sum c log softmax(h) + lambda ||h||^2
                p = np.exp(h - h.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                g = n * p - counts + 2 * self.lambda_h * h
                hdiag = n * p * (1 - p) + 2 * self.lambda_h
                h -= g / hdiag
            logp = h - np.log(np.exp(h).sum(1, keepdims=True))
        self.log_probs_ = logp
        self.Q_ = Q
        self.neff_ = float(w.sum())
        self.columns_ = msa.columns.copy()
        self.alignment_width_ = msa.width
        self.alphabet_ = msa.alphabet
        self.gap_code_ = msa.gap_code
        return self

    def _score_codes(self, X: np.ndarray) -> np.ndarray:
        L = X.shape[1]
        ok = X < self.Q_
        return (self.log_probs_[np.arange(L), np.where(ok, X, 0)] * ok).sum(1)

    def contacts(self) -> np.ndarray:
        """A site-independent model has no couplings: ``(L, L)`` zeros."""
        self._check_fitted()
        L = len(self.columns_)
        return np.zeros((L, L))

    def sample(self, n: int, random_state=None) -> list[str]:
        """``n`` sequences drawn column by column."""
        self._check_fitted()
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        p = np.exp(self.log_probs_)
        u = rng.random((n, p.shape[0], 1))
        X = np.minimum((p.cumsum(1)[None] < u).sum(2), self.Q_ - 1)
        return self._decode(X)
