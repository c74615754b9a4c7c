"""Attribution tracks: per-position scores with ground-truth shading, a two-panel figure (logo
over track) for gradient-type maps, and a 4 x L heatmap figure for in-silico mutagenesis.

Coordinates are sequence positions (0-based); ``window=(start, end)`` draws positions
``start..end-1`` only, labelled with their true coordinates. Units name the model output the
maps were computed on (``"logit"`` unless an activation was applied).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TRUTH_LABEL = "ground-truth motif"
SHADE = "#F7B32B"


def _np(a):
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a, dtype=float)


def truth_spans(truth, threshold: float = 0.01) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` runs of positions whose ground-truth information (``(A, L)``
    probabilities) exceeds ``threshold`` bits."""
    from seqlens.interpret.metrics import information

    info = information(_np(truth)[None])[0]
    on = np.r_[False, info > threshold, False]
    edges = np.flatnonzero(np.diff(on.astype(int)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def check_window(window, length: int) -> tuple[int, int]:
    """``window`` (None = whole sequence, or ``(start, end)``, 0-based end-exclusive) checked
    against a sequence of ``length`` positions."""
    from seqlens.errors import ParameterError

    if window is None:
        return 0, length
    start, end = (int(v) for v in window)
    if not 0 <= start < end <= length:
        raise ParameterError(f"logo window {start}:{end} is outside the sequence of length {length} "
                             f"(need 0 <= start < end <= {length})")
    return start, end


def shade_truth(ax, truth, start: int = 0, threshold: float = 0.01, color: str = SHADE,
                alpha: float = 0.3, label: str | None = TRUTH_LABEL) -> int:
    """Shade the ground-truth motif positions of ``truth`` ``(A, L)`` on ``ax`` (x = ``start`` +
    position); the first span carries ``label`` for the legend. Returns the number of spans."""
    spans = truth_spans(truth, threshold)
    for k, (a, b) in enumerate(spans):
        ax.axvspan(start + a, start + b, color=color, alpha=alpha, lw=0, label=label if k == 0 else None)
    return len(spans)


def attribution_track(scores, ax=None, truth=None, threshold: float = 0.01, color: str = "#255C99",
                      shade: str = SHADE, start: int = 0, label: str | None = None, figsize=None,
                      xlabel: str | None = "position (nt)", legend: bool = True):
    """Per-position scores ``(L,)`` as a filled line; positions of the ground truth ``(A, L)``
    with information > ``threshold`` bits are shaded (with a legend entry unless ``legend`` is
    False, e.g. when a panel above has it). ``label`` is the y-axis label (default
    ``"attribution"``). Returns the axes."""
    import matplotlib.pyplot as plt

    s = _np(scores).ravel()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize or (max(4.0, min(len(s) * 0.05, 20.0)), 1.8))
    x = start + np.arange(len(s)) + 0.5
    shaded = shade_truth(ax, truth, start, threshold, shade) if truth is not None else 0
    ax.fill_between(x, 0, s, step="mid", color=color, alpha=0.8, lw=0)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlim(start, start + len(s))
    ax.set_ylabel(label or "attribution")
    if xlabel:
        ax.set_xlabel(xlabel)
    if shaded and legend:
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def _save(fig, path, dpi: int) -> None:
    from seqlens.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=dpi)


def attribution_figure(attr, X=None, truth=None, title: str | None = None, path=None, observed: bool = True,
                       dpi: int = 150, window=None, unit: str = "logit"):
    """Logo of an attribution map ``(A, L)`` (only the observed letters when ``observed`` and X
    is given) above its per-position track, ground-truth positions shaded with a legend.

    ``window``: ``(start, end)`` positions to draw (default all); ``unit``: the model output the
    map explains, for the axis labels. Saved atomically to ``path`` (PNG/SVG) when given;
    returns the figure.
    """
    import matplotlib.pyplot as plt

    from seqlens.plot.logos import logo

    a = _np(attr)
    shown = a * _np(X) if (observed and X is not None) else a
    s, e = check_window(window, a.shape[-1])
    shown = shown[:, s:e]
    part = truth[:, s:e] if truth is not None else None
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(6.0, min((e - s) * 0.06, 24.0)), 3.8), sharex=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    which = "observed base" if (observed and X is not None) else "each base"
    logo(shown, ax=ax1, start=s, ylabel=f"attribution\n({which})")
    if part is not None:
        shade_truth(ax1, part, s, alpha=0.15)
        ax1.legend(loc="upper right", fontsize=7, frameon=False)
    ax1.set_title(title or f"attribution map, positions {s}-{e - 1}")
    total = "observed base" if which == "observed base" else "sum over bases"
    attribution_track(shown.sum(0), ax=ax2, truth=part, start=s, label=f"{total}\n({unit})",
                      legend=False)
    fig.tight_layout()
    if path is not None:
        _save(fig, path, dpi)
    return fig


def ism_heatmap(delta, X=None, ax=None, start: int = 0, unit: str = "logit", title: str | None = None,
                alphabet=None, cmap: str = "RdBu_r", colorbar: bool = True):
    """4 x L heatmap of in-silico mutagenesis: ``delta`` ``(A, L)`` is the change of the output
    for each substitution (letter x position), drawn on a colour scale centred at 0; the
    observed letters of ``X`` ``(A, L)`` one-hot are marked with a dot. Returns the axes."""
    import matplotlib.pyplot as plt

    from seqlens.plot.logos import logo_matrix

    D, letters = logo_matrix(_np(delta), alphabet=alphabet)
    A, L = D.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, min(L * 0.06, 24.0)), 2.0), layout="constrained")
    lim = float(np.nanmax(np.abs(D))) if D.size and np.nanmax(np.abs(D)) > 0 else 1.0
    im = ax.imshow(D, cmap=cmap, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest",
                   extent=(start, start + L, A - 0.5, -0.5))
    if X is not None:
        obs = _np(X).argmax(0)
        ax.scatter(start + np.arange(L) + 0.5, obs, s=max(2.0, min(12.0, 600.0 / L)), c="black",
                   marker="o", lw=0, label="observed base")
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False,
                  markerscale=1.5, borderaxespad=0.1)
    ax.set_yticks(range(A), list(letters))
    ax.set_ylabel("substituted\nbase")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, pad=0.01, fraction=0.03, label=f"Δ prediction ({unit})")
    if title:
        ax.set_title(title)
    return ax


def ism_figure(delta, X=None, truth=None, title: str | None = None, path=None, window=None,
               unit: str = "logit", dpi: int = 150):
    """Heatmap of ISM ``delta`` ``(A, L)`` (see :func:`ism_heatmap`) above the per-position
    effect of mutating the observed base (minus the mean change over the other letters), with the
    ground-truth positions shaded. ``window``/``unit``/``path`` as :func:`attribution_figure`.
    Returns the figure."""
    import matplotlib.pyplot as plt

    D = _np(delta)
    A, L = D.shape
    s, e = check_window(window, L)
    D = D[:, s:e]
    Xw = _np(X)[:, s:e] if X is not None else None
    part = truth[:, s:e] if truth is not None else None
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(6.0, min((e - s) * 0.06, 24.0)), 3.8),
                                   sharex=True, gridspec_kw={"height_ratios": [1.4, 1]},
                                   layout="constrained")
    ism_heatmap(D, Xw, ax=ax1, start=s, unit=unit, colorbar=False)
    ax1.set_title(title or f"in-silico mutagenesis, positions {s}-{e - 1}")
    if Xw is not None:  # importance of the observed base: what its substitutions cost on average
        others = (1 - Xw).sum(0)
        effect = -((D * (1 - Xw)).sum(0) / np.where(others > 0, others, 1))
        label = f"-mean Δ of\nsubstitutions ({unit})"
    else:
        effect = np.sqrt((D ** 2).sum(0))
        label = f"L2 norm of Δ\n({unit})"
    attribution_track(effect, ax=ax2, truth=part, start=s, label=label)
    fig.colorbar(ax1.images[0], ax=[ax1, ax2], pad=0.01, fraction=0.03, label=f"Δ prediction ({unit})")
    if path is not None:
        _save(fig, path, dpi)
    return fig
