"""Plots of surrogate models (:mod:`seqlens.interpret.surrogate`).

* :func:`plot_additive_logo` -- logo of the additive parameters ``theta_l(c)``;
* :func:`plot_pairwise_heatmap` -- ``L x L`` heatmap of ``||theta_{l l'}||``;
* :func:`plot_g_curve` -- the global-epistasis link ``g(phi)`` over the data ``(phi, y)``;
* :func:`surrogate_figure` -- the three stacked in one figure.

Functions return a matplotlib ``Figure``; save with :func:`seqlens.plot.curves.save_figure`.
"""

from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_additive_logo(surrogate, ax=None, start: int = 0, title: str | None = None):
    """Logo of ``surrogate.theta_lc_`` (current gauge) with x axis starting at ``start``."""
    from seqlens.plot.logos import logo

    plt = _plt()
    M = surrogate.additive_matrix()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(4.0, min(M.shape[1] * 0.12, 20.0)), 2.2))
    logo(M, ax=ax, alphabet=surrogate.alphabet, start=start,
         ylabel=f"theta ({surrogate.gauge} gauge)", title=title or "additive surrogate")
    ax.set_xlabel("position")
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure


def plot_pairwise_heatmap(surrogate, ax=None, start: int = 0, title: str | None = None, cmap: str = "Greys"):
    """Heatmap of the pairwise norms ``||theta_{l l'}||`` (uniform gauge), upper triangle."""
    plt = _plt()
    M = surrogate.pairwise_norms()
    L = len(M)
    fig = None
    if ax is None:
        size = max(4.0, min(0.12 * L + 2, 10.0))
        fig, ax = plt.subplots(figsize=(size + 1, size))
    shown = np.where(np.triu(np.ones_like(M, dtype=bool), 1), M, np.nan)
    ext = (start - 0.5, start + L - 0.5, start + L - 0.5, start - 0.5)
    im = ax.imshow(shown, cmap=cmap, vmin=0, extent=ext, interpolation="nearest")
    ax.set_xlabel("position l'")
    ax.set_ylabel("position l")
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="||theta_ll'||")
    ax.set_title(title or "pairwise epistasis")
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure


def plot_g_curve(surrogate, X, y, ax=None, max_points: int = 5000, random_state=0, title: str | None = None):
    """Scatter of ``(phi(x), y)`` for variants ``X`` with the link ``g`` drawn over it."""
    plt = _plt()
    y = np.asarray(y, dtype=float)
    idx = np.arange(len(y))
    if len(y) > max_points:
        idx = np.sort(np.random.default_rng(random_state).choice(len(y), max_points, replace=False))
    Xs = X[idx]
    phi = surrogate.phi(Xs)
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.scatter(phi, y[idx], s=3, alpha=0.3, color="#255C99", lw=0, label="variants")
    grid = np.linspace(phi.min(), phi.max(), 200)
    ax.plot(grid, surrogate.g(grid), color="#D1495B", lw=2, label="g(phi)")
    ax.set_xlabel("latent phenotype phi")
    ax.set_ylabel("network output y")
    ax.legend(frameon=False, loc="upper left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or "global epistasis")
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure


def surrogate_figure(surrogate, X=None, y=None, start: int = 0, title: str | None = None):
    """Logo on top; below it the g curve (when ``X, y`` are given) and the pairwise heatmap
    (pairwise surrogates)."""
    plt = _plt()
    pairwise = getattr(surrogate, "theta_lclc_", None) is not None
    with_g = X is not None and y is not None
    L = surrogate.theta_lc_.shape[0]
    rows = 1 + (with_g or pairwise)
    fig = plt.figure(figsize=(max(8.0, min(L * 0.12, 20.0)), 2.6 + 3.8 * (rows - 1)))
    gs = fig.add_gridspec(rows, 2, height_ratios=[1.0] + [1.6] * (rows - 1))
    plot_additive_logo(surrogate, ax=fig.add_subplot(gs[0, :]), start=start)
    if with_g:
        plot_g_curve(surrogate, X, y, ax=fig.add_subplot(gs[1, 0] if pairwise else gs[1, :]))
    if pairwise:
        plot_pairwise_heatmap(surrogate, ax=fig.add_subplot(gs[1, 1] if with_g else gs[1, :]), start=start)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
