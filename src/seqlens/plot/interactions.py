"""Heatmaps of motif interactions (:mod:`seqlens.interpret.interactions`).

Functions return a matplotlib ``Figure``; save with :func:`seqlens.plot.curves.save_figure`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def plot_interaction_heatmap(matrix, labels=None, true_pairs=(), title: str | None = None,
                             cmap: str = "RdBu_r", annotate: bool | None = None):
    """Heatmap of a motif x motif DataFrame (or a filter x filter array with ``labels``).

    ``true_pairs`` (e.g. the interacting pairs of the ``motif_interactions`` dataset) are outlined
    in black. Cells are annotated with their value when the matrix is small (``annotate=None``:
    up to 16 rows).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if isinstance(matrix, pd.DataFrame):
        names = [str(x) for x in matrix.index]
        M = matrix.to_numpy(dtype=np.float64)
    else:
        M = np.asarray(matrix, dtype=np.float64)
        names = [str(x) for x in labels] if labels is not None else [str(i) for i in range(len(M))]
    n = len(names)
    size = max(4.0, 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    lim = float(np.nanmax(np.abs(M))) if M.size and np.nanmax(np.abs(M)) > 0 else 1.0
    im = ax.imshow(M, cmap=cmap, vmin=-lim, vmax=lim)
    ax.set_xticks(range(n), names, rotation=90, fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    pos = {m: i for i, m in enumerate(names)}
    for a, b in true_pairs:
        if a in pos and b in pos:
            for i, j in ((pos[a], pos[b]), (pos[b], pos[a])):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", lw=2))
    if annotate or (annotate is None and n <= 16):
        for i in range(n):
            for j in range(n):
                if M[i, j] != 0:
                    ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if abs(M[i, j]) > 0.6 * lim else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="interaction (correlation)")
    ax.set_title(title or "GLIFAC motif interactions")
    fig.tight_layout()
    return fig


def plot_pair_scores(table: pd.DataFrame, top: int = 20, title: str | None = None):
    """Bar chart of the ``top`` motif pairs of :func:`~seqlens.interpret.interactions.pair_table`,
    true interacting pairs in red."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    head = table.head(top)
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(head) + 1.5))
    y = np.arange(len(head))[::-1]
    ax.barh(y, head["score"], color=np.where(head["true"], "#D62839", "#9aa5b1"))
    ax.set_yticks(y, [f"{a} - {b}" for a, b in zip(head["motif_a"], head["motif_b"])], fontsize=8)
    ax.set_xlabel("interaction score")
    ax.set_title(title or "motif pairs (red: true interactions)")
    fig.tight_layout()
    return fig
