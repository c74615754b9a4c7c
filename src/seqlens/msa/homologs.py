"""Homolog scoring: do a family model's scores separate family members from decoys?

Decoys keep the gap pattern of real family members so that only the residues differ:

* :func:`shuffle_residues`: each row's residues permuted among its own non-gap positions;
* :func:`embed_unrelated`: residues of sequences from another family (e.g. DHFR for a PDZ model)
  written, in order, into the non-gap positions of family rows.

:func:`homolog_auroc` scores positives and decoys with :func:`sequence_scores` and reports the
AUROC (probability that a random family member scores above a random decoy, ties count 1/2).
"""

from __future__ import annotations

import numpy as np

from seqlens.errors import ParameterError
from seqlens.msa.mutations import rankdata


def shuffle_residues(X: np.ndarray, gap_code: int, random_state=0) -> np.ndarray:
    """``(N, L)`` codes with each row's residues permuted among its non-gap positions."""
    rng = np.random.default_rng(random_state)
    X = np.array(X, copy=True)
    for r in range(len(X)):
        pos = np.flatnonzero(X[r] != gap_code)
        X[r, pos] = X[r, rng.permutation(pos)]
    return X


def embed_unrelated(X: np.ndarray, sequences: list[str], letters: str, gap_code: int,
                    random_state=0) -> np.ndarray:
    """Fill the non-gap positions of each row of ``X`` with consecutive residues of a random
    window of a random unrelated sequence (letters outside ``letters`` are skipped)."""
    rng = np.random.default_rng(random_state)
    lut = {c: i for i, c in enumerate(letters) if i != gap_code}
    pool = [np.array([lut[c] for c in s.upper() if c in lut]) for s in sequences]
    pool = [p for p in pool if len(p)]
    if not pool:
        raise ValueError("no unrelated sequence has residues of the alphabet")
    out = np.array(X, copy=True)
    for r in range(len(out)):
        pos = np.flatnonzero(out[r] != gap_code)
        if not len(pos):
            continue
        src = pool[rng.integers(len(pool))]
        if len(src) < len(pos):
            src = np.resize(src, len(pos))
        start = rng.integers(0, len(src) - len(pos) + 1)
        out[r, pos] = src[start:start + len(pos)]
    return out


def auroc(positive, negative) -> float:
    """Area under the ROC curve of positives vs negatives (Mann-Whitney U, ties = 1/2)."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    r = rankdata(np.concatenate([pos, neg]))
    u = r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def sequence_scores(model, X: np.ndarray, kind: str = "auto") -> np.ndarray:
    """``(N,)`` homolog scores of coded rows, higher = more family-like.

    ``kind``: ``"energy"`` (Potts / factored attention statistical energy), ``"score"`` (the
    model's own score: log-probability for a PSSM, pseudo-log-likelihood for Potts, ELBO for a
    VAE) or ``"auto"`` (energy where available, else score).
    """
    X = np.asarray(X)
    if kind == "energy" or (kind == "auto" and hasattr(model, "energy")):
        return np.asarray(model.energy(X), dtype=np.float64)
    if kind not in ("score", "auto"):
        raise ParameterError(f"kind must be 'auto', 'energy' or 'score', got {kind!r}")
    return np.asarray(model._score_codes(X), dtype=np.float64)


def homolog_auroc(model, positives: np.ndarray, decoys: dict[str, np.ndarray],
                  kind: str = "auto") -> dict[str, float]:
    """AUROC of held-out family members (``positives``, coded rows) against each decoy set.

    Returns ``{"auroc_<name>": ...}`` for each entry of ``decoys``.
    """
    sp = sequence_scores(model, positives, kind)
    return {f"auroc_{name}": auroc(sp, sequence_scores(model, Xd, kind)) for name, Xd in decoys.items()}
