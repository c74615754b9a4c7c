"""Fit quality of a surrogate on held-out variants: Pearson r, R^2 and predictive information.

Predictive information ``I[y; y_hat]`` (bits) is estimated with the k-nearest-neighbour estimator
of Kraskov, Stoegbauer & Grassberger (2004, algorithm 1) on rank-transformed values (mutual
information is unchanged by monotone maps, and ranks make the estimator robust to the scale of
each variable). For a bivariate Gaussian it approaches ``-0.5 log2(1 - r^2)``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma
from scipy.stats import rankdata

from seqlens.errors import SeqlensError


def predictive_information(y, y_hat, k: int = 5, max_samples: int = 5000, random_state=0) -> float:
    """KSG estimate of the mutual information between ``y`` and ``y_hat``, in bits.

    Uses at most ``max_samples`` pairs (a random subset, seeded by ``random_state``). Ties are
    broken with a tiny jitter. Returns 0 for fewer than ``k + 2`` pairs or constant input.
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    z = np.asarray(y_hat, dtype=np.float64).ravel()
    if y.shape != z.shape:
        raise SeqlensError(f"y and y_hat differ in length: {y.shape} vs {z.shape}")
    ok = np.isfinite(y) & np.isfinite(z)
    y, z = y[ok], z[ok]
    rng = np.random.default_rng(random_state)
    if len(y) > max_samples:
        idx = rng.choice(len(y), max_samples, replace=False)
        y, z = y[idx], z[idx]
    n = len(y)
    if n < k + 2 or np.ptp(y) == 0 or np.ptp(z) == 0:
        return 0.0
    jitter = 1e-9 * rng.standard_normal((2, n))
    a = rankdata(y) / n + jitter[0]
    b = rankdata(z) / n + jitter[1]
    pts = np.column_stack([a, b])
    dist, _ = cKDTree(pts).query(pts, k=k + 1, p=np.inf)
    eps = dist[:, -1]
    ta, tb = cKDTree(a[:, None]), cKDTree(b[:, None])
    # points strictly closer than eps in each marginal (minus the point itself)
    na = np.array([len(v) - 1 for v in ta.query_ball_point(a[:, None], eps - 1e-15, p=np.inf)])
    nb = np.array([len(v) - 1 for v in tb.query_ball_point(b[:, None], eps - 1e-15, p=np.inf)])
    mi = digamma(k) + digamma(n) - np.mean(digamma(na + 1) + digamma(nb + 1))
    return float(max(mi, 0.0) / np.log(2))


def fit_quality(y, y_hat, predictive_info: bool = True, random_state=0) -> dict:
    """``{"pearson_r", "r2", "predictive_information_bits", "n"}`` of predictions ``y_hat`` of ``y``.

    ``r2`` is the coefficient of determination ``1 - SS_res / SS_tot`` of ``y_hat`` itself (not
    of a refitted line), so a biased surrogate is penalised.
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    y_hat = np.asarray(y_hat, dtype=np.float64).ravel()
    if y.shape != y_hat.shape:
        raise SeqlensError(f"y and y_hat differ in length: {y.shape} vs {y_hat.shape}")
    if len(y) < 2 or np.std(y) == 0 or np.std(y_hat) == 0:
        r = float("nan")
    else:
        r = float(np.corrcoef(y, y_hat)[0, 1])
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - y_hat) ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    out = {"pearson_r": r, "r2": r2}
    if predictive_info:
        out["predictive_information_bits"] = predictive_information(y, y_hat, random_state=random_state)
    out["n"] = int(len(y))
    return out
