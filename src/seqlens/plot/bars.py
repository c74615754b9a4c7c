"""Grouped bar charts for comparison tables."""

from __future__ import annotations

import pandas as pd

_COLORS = ("#8aa9c1", "#2a6f97", "#e07a5f", "#81b29a", "#f2cc8f")


def grouped_bars(df: pd.DataFrame, x: str, columns: list[str], title: str | None = None,
                 ylim: tuple[float, float] | None = None, labels: list[str] | None = None,
                 ylabel: str | None = None):
    """One group of bars per row of ``df`` (labelled by column ``x``), one bar per name in
    ``columns``; ``ylabel`` names what the bars measure (default: the bar labels when there are
    at most two, else ``"value"``). Returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(df)), 3.2))
    width = 0.8 / len(columns)
    for j, col in enumerate(columns):
        offsets = [i - 0.4 + width * (j + 0.5) for i in range(len(df))]
        ax.bar(offsets, df[col], width, label=(labels or columns)[j], color=_COLORS[j % len(_COLORS)])
    ax.set_xticks(range(len(df)), df[x].astype(str))
    ax.set_xlabel(x.replace("_", " "))
    names = [c.replace("_", " ") for c in (labels or columns)]
    ax.set_ylabel(ylabel or (" / ".join(names) if len(names) <= 2 else "value"))
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
