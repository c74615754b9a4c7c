"""Scatter of predicted mutation effects against measured fitness (DMS)."""

from __future__ import annotations

import numpy as np


def plot_mutation_scatter(predicted, measured, title: str | None = None, xlabel: str = "model score",
                          ylabel: str = "measured fitness", n_mutations=None):
    """Predicted (x) vs measured (y) with the Spearman correlation in the title.

    ``n_mutations`` (optional, per point) colours single and multiple mutants differently.
    Returns a matplotlib ``Figure`` (save with :func:`seqlens.plot.curves.save_figure`).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from seqlens.msa.mutations import spearman

    x = np.asarray(predicted, dtype=float)
    y = np.asarray(measured, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    fig, ax = plt.subplots(figsize=(4.2, 4))
    if n_mutations is None:
        ax.scatter(x[ok], y[ok], s=6, alpha=0.5, lw=0)
    else:
        nm = np.asarray(n_mutations)
        for k, colour in ((1, "C0"), (2, "C1")):
            sel = ok & ((nm == k) if k == 1 else (nm >= k))
            if sel.any():
                ax.scatter(x[sel], y[sel], s=6, alpha=0.5, lw=0, c=colour,
                           label="single" if k == 1 else "multiple")
        ax.legend(frameon=False, fontsize=8)
    rho = spearman(x[ok], y[ok])
    head = f"{title}\n" if title else ""
    ax.set_title(f"{head}Spearman {rho:.3f} (n={int(ok.sum())})", fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig
