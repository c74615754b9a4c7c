"""Contact prediction from coupling scores: Frobenius norms, APC, precision at L/k.

Score matrices are ``(L, L)`` over model columns. ``contact_table`` turns one into a ranked
DataFrame numbered by the alignment's column table (focus residues); ``precision_table`` scores
the top pairs against a truth table of residue-pair distances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def apc(S: np.ndarray) -> np.ndarray:
    """Average product correction ``S_ij - S_i. S_.j / S_..`` over off-diagonal entries
    (plmc convention); the diagonal is set to 0. ``(L, L)`` -> ``(L, L)``."""
    S = np.array(S, dtype=np.float64)
    L = S.shape[0]
    off = ~np.eye(L, dtype=bool)
    row = np.where(off, S, 0).sum(1) / (L - 1)
    mean = S[off].mean()
    out = S - np.outer(row, row) / mean
    np.fill_diagonal(out, 0.0)
    return out


def zero_sum_gauge(J: np.ndarray) -> np.ndarray:
    """Couplings ``(L, A, L, B)`` shifted to the zero-sum (Ising) gauge in each block."""
    return (J - J.mean(axis=1, keepdims=True) - J.mean(axis=3, keepdims=True)
            + J.mean(axis=(1, 3), keepdims=True))


def frobenius(J: np.ndarray, apc: bool = True, zero_sum_gauge: bool = False) -> np.ndarray:
    """``(L, L)`` Frobenius norms of the ``(A, B)`` blocks of ``J`` ``(L, A, L, B)`` (diagonal 0),
    optionally after the zero-sum gauge, then APC."""
    if zero_sum_gauge:
        J = globals()["zero_sum_gauge"](J)
    S = np.sqrt(np.einsum("iajb,iajb->ij", J, J, optimize=True))
    np.fill_diagonal(S, 0.0)
    return globals()["apc"](S) if apc else S


def contact_table(scores: np.ndarray, columns: pd.DataFrame | None = None,
                  min_separation: int = 1) -> pd.DataFrame:
    """Ranked pairs ``i < j`` of a score matrix.

    Returns a DataFrame sorted by decreasing ``score`` with columns ``i``, ``j`` (residue numbers
    from ``columns['residue']``, or 1-based column indices), ``col_i``, ``col_j`` (0-based model
    columns), ``alignment_i``, ``alignment_j`` (1-based file columns), ``A_i``, ``A_j`` (focus
    letters) and ``score``. Pairs with residue separation < ``min_separation`` are left out.
    """
    import pandas as pd

    S = np.asarray(scores)
    L = S.shape[0]
    ii, jj = np.triu_indices(L, 1)
    if columns is None:
        res = np.arange(1, L + 1)
        aln = res
        letters = np.array(["-"] * L)
    else:
        res = columns["residue"].to_numpy()
        aln = columns["alignment_column"].to_numpy()
        letters = columns["focus_letter"].to_numpy()
    df = pd.DataFrame({
        "i": res[ii], "j": res[jj], "col_i": ii, "col_j": jj,
        "alignment_i": aln[ii], "alignment_j": aln[jj],
        "A_i": letters[ii], "A_j": letters[jj], "score": S[ii, jj],
    })
    df = df[np.abs(df["j"] - df["i"]) >= min_separation]
    return df.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def known_distances(pairs: pd.DataFrame, truth: pd.DataFrame, min_separation: int = 6) -> np.ndarray:
    """Distances from ``truth`` (``i``, ``j``, ``dist``) of the ranked ``pairs`` with
    ``|i - j| >= min_separation``, in rank order; pairs without a finite distance are left out.
    An empty result means the prediction cannot be scored against this truth."""
    import pandas as pd

    t = truth.copy()
    lo = np.minimum(t["i"], t["j"])
    hi = np.maximum(t["i"], t["j"])
    dist = pd.Series(t["dist"].to_numpy(), index=pd.MultiIndex.from_arrays([lo, hi]))
    dist = dist[~dist.index.duplicated()]
    p = pairs[np.abs(pairs["j"] - pairs["i"]) >= min_separation]
    key = pd.MultiIndex.from_arrays([np.minimum(p["i"], p["j"]), np.maximum(p["i"], p["j"])])
    d = dist.reindex(key).to_numpy(dtype=np.float64)
    return d[np.isfinite(d)]


def precision_at(pairs: pd.DataFrame, truth: pd.DataFrame, n_top: int, min_separation: int = 6,
                 threshold: float = 8.0) -> float:
    """Fraction of the top ``n_top`` predicted pairs (``i``, ``j`` residue numbers, ranked) with
    ``|i - j| >= min_separation`` and a known distance that are contacts (``dist < threshold``).
    Pairs absent from ``truth`` (unresolved residues) are skipped, as EVcouplings does; NaN when
    no pair is left."""
    d = known_distances(pairs, truth, min_separation)[:n_top]
    if len(d) == 0:
        return float("nan")
    return float((d < threshold).mean())


def precision_table(pairs: pd.DataFrame, truth: pd.DataFrame, length: int,
                    separations=(6, 12, 24), fractions=(1, 2, 5), threshold: float = 8.0
                    ) -> dict[str, float]:
    """Precision of the top L/k pairs for each minimum separation: keys
    ``precision_at_L_sep6``, ``precision_at_L2_sep6``, ``precision_at_L5_sep6``, ..."""
    out = {}
    for sep in separations:
        for k in fractions:
            name = "L" if k == 1 else f"L{k}"
            out[f"precision_at_{name}_sep{sep}"] = precision_at(
                pairs, truth, max(1, int(length // k)), sep, threshold)
    return out
