"""Figures of first-layer filters: a logo grid and the design-principle experiment plots.

All functions return a matplotlib ``Figure`` (the caller saves or shows it).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from seqlens.motifs.motif import Motif


def _best_hits(matches: pd.DataFrame | None) -> dict[int, pd.Series]:
    if matches is None or len(matches) == 0:
        return {}
    best = matches.sort_values(["filter", "p_value"], kind="stable").groupby("filter").head(1)
    return {int(r["filter"]): r for _, r in best.iterrows()}


MATCH_COLOR = "#1B5E20"
NO_MATCH_COLOR = "#8A8A8A"


def filter_logo_grid(motifs: list[Motif], matches: pd.DataFrame | None = None, ncols: int = 6,
                     kind: str = "information", metric: str = "q_value",
                     panel_size: tuple[float, float] = (2.6, 1.3), cutoff: float | None = 0.1,
                     trim: float | None = 0.5):
    """One logo per filter motif, titled with the filter name, its number of sites and its best
    match (TF name, matrix ID and ``metric``) from a :func:`seqlens.interpret.filters.match_filters`
    table; ``kind`` is the logo height (``"information"`` or ``"probability"``).

    A filter whose best match has ``metric <= cutoff`` is titled in green with the match; one
    without (or whose best hit misses the cut-off) is titled in grey with ``(no match)`` and its
    logo is faded; ``cutoff=None`` counts every hit as a match. Logos are trimmed for display to
    the span of columns with more than ``trim`` bits (:meth:`Motif.trim`, one column of context
    kept; None: the whole motif).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from seqlens.plot.logos import logo

    if not motifs:
        raise ValueError("filter_logo_grid: no motifs")
    n = len(motifs)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 0.2))
    best = _best_hits(matches)
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.axis("off")
            continue
        m = motifs[i]
        f = int(m.metadata.get("filter", i))
        title = m.name
        if m.metadata.get("n_sites") is not None:
            title += f" (n={m.metadata['n_sites']})"
        if m.metadata.get("empty"):
            ax.axis("off")
            ax.set_title(f"{title}\nno windows", fontsize=7, color=NO_MATCH_COLOR)
            continue
        shown = m.trim(trim, pad=1) if trim is not None else m
        logo(shown, ax=ax, kind=kind, ylabel="bits" if kind == "information" else "probability")
        hit = best.get(f)
        matched = hit is not None and (cutoff is None or float(hit[metric]) <= cutoff)
        if hit is not None:
            name = hit.get("target_name") or ""
            found = f"{name} {hit['target']} {metric[0]}={float(hit[metric]):.2g}"
            title += f"\n{found}" if matched else f" (no match)\nbest: {found}"
        else:
            title += " (no match)\nno hit"
        if not matched:
            for patch in ax.patches:
                patch.set_alpha(0.4)
        ax.set_title(title, fontsize=7, color=MATCH_COLOR if matched else NO_MATCH_COLOR)
        ax.set_xticks([])
        ax.yaxis.label.set_fontsize(6)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return fig


def plot_pool_size_sweep(summary: pd.DataFrame):
    """Match fraction (and AUROC, right axis) against the first pool size, mean +- sd over
    seeds, from the summary of :func:`seqlens.study.design_principles.pool_size_sweep`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    s = summary.sort_values("pool")
    fig, ax = plt.subplots(figsize=(5, 3.4))
    x = s["pool"].to_numpy()
    ax.errorbar(x, s["match_fraction_mean"], yerr=s["match_fraction_std"], marker="o",
                color="tab:blue", capsize=3, label="match fraction")
    ax.errorbar(x, s["coverage_mean"], yerr=s["coverage_std"], marker="s", color="tab:green",
                capsize=3, alpha=0.7, label="coverage")
    ax.set_xscale("log")
    ax.set_xticks(x, [str(v) for v in x])
    ax.set_xlabel("first-layer max-pool size P (CNN-P)")
    ax.set_ylabel("fraction")
    ax.set_ylim(-0.02, 1.02)
    ax2 = ax.twinx()
    ax2.errorbar(x, s["test_auroc_mean"], yerr=s["test_auroc_std"], marker="^",
                 color="tab:red", capsize=3, label="test AUROC")
    ax2.set_ylabel("test AUROC", color="tab:red")
    ax2.set_ylim(0.5, 1.0)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, fontsize=7, loc="lower right")
    ax.set_title("Pool-size sweep (Koo & Eddy 2019)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_activation_comparison(summary: pd.DataFrame):
    """Grouped bars: mean match fraction (+- sd) per model and activation, with the best-k
    mean as a dot and published figures as crosses, from the summary of
    :func:`seqlens.study.design_principles.activation_comparison`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(summary["model"]))
    acts = list(dict.fromkeys(summary["activation"]))
    width = 0.8 / len(acts)
    fig, ax = plt.subplots(figsize=(3.2 + 1.4 * len(models) * max(1, len(acts) / 2), 3.4))
    best_col = next((c for c in summary.columns if c.startswith("best")), None)
    for j, act in enumerate(acts):
        sub = summary[summary["activation"] == act].set_index("model").reindex(models)
        xs = np.arange(len(models)) + (j - (len(acts) - 1) / 2) * width
        ax.bar(xs, sub["match_fraction_mean"], width, yerr=sub["match_fraction_std"], capsize=2,
               label=act)
        if best_col:
            ax.scatter(xs, sub[best_col], color="black", s=12, zorder=3,
                       label=best_col.replace("_", " ") if j == 0 else None)
        if "published_match_fraction" in sub:
            ax.scatter(xs, sub["published_match_fraction"], marker="x", color="red", s=30,
                       zorder=3, label="published" if j == 0 else None)
    ax.set_xticks(np.arange(len(models)), models)
    ax.set_ylabel("filter match fraction")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title("First-layer activation (Koo & Ploenzke 2021)", fontsize=9)
    fig.tight_layout()
    return fig
