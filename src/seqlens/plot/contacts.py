"""Contact-map plot: predicted top pairs over the true contact map."""

from __future__ import annotations

import numpy as np
import pandas as pd


def plot_contact_map(pairs: pd.DataFrame, truth: pd.DataFrame | None = None, n_top: int | None = None,
                     threshold: float = 8.0, min_separation: int = 6, ax=None, title: str | None = None):
    """Scatter of the top ``n_top`` predicted pairs (upper triangle: ``i < j`` plotted as
    (j, i) and mirrored) over the true contacts (grey, ``dist < threshold``); predictions are
    green when they are true contacts, red otherwise, blue when the distance is unknown.

    ``pairs``: ranked table from :func:`seqlens.msa.contacts.contact_table`; ``truth``: DataFrame
    ``i, j, dist``. Returns the matplotlib Axes.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    p = pairs[np.abs(pairs["j"] - pairs["i"]) >= min_separation]
    if n_top is None:
        n_top = int(max(pairs["i"].max(), pairs["j"].max()) - min(pairs["i"].min(), pairs["j"].min()) + 1)
    p = p.head(n_top)
    color = np.array(["tab:blue"] * len(p), dtype=object)
    if truth is not None:
        t = truth[(truth["dist"] < threshold) & (np.abs(truth["j"] - truth["i"]) >= min_separation)]
        ax.scatter(t["i"], t["j"], s=6, c="0.8", marker="s", linewidths=0, label="true contact")
        ax.scatter(t["j"], t["i"], s=6, c="0.8", marker="s", linewidths=0)
        lo = np.minimum(truth["i"], truth["j"])
        hi = np.maximum(truth["i"], truth["j"])
        dist = pd.Series(truth["dist"].to_numpy(), index=pd.MultiIndex.from_arrays([lo, hi]))
        dist = dist[~dist.index.duplicated()]
        key = pd.MultiIndex.from_arrays([np.minimum(p["i"], p["j"]), np.maximum(p["i"], p["j"])])
        d = dist.reindex(key).to_numpy()
        color[d < threshold] = "tab:green"
        color[d >= threshold] = "tab:red"
    ax.scatter(p["i"], p["j"], s=12, c=list(color), label=f"top {len(p)} predicted")
    ax.scatter(p["j"], p["i"], s=12, c=list(color))
    ax.set_xlabel("residue i")
    ax.set_ylabel("residue j")
    ax.set_aspect("equal")
    lo_all = min(pairs["i"].min(), pairs["j"].min())
    hi_all = max(pairs["i"].max(), pairs["j"].max())
    ax.set_xlim(lo_all - 1, hi_all + 1)
    ax.set_ylim(hi_all + 1, lo_all - 1)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower left", fontsize=7, frameon=False)
    return ax
