"""Attribution track plots: per-position scores with optional ground-truth shading, and a
two-panel figure (logo over track)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


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


def attribution_track(scores, ax=None, truth=None, threshold: float = 0.01, color: str = "#255C99",
                      shade: str = "#F7B32B", start: int = 0, label: str | None = None, figsize=None):
    """Per-position scores ``(L,)`` as a filled line; positions of the ground truth ``(A, L)`` with
    information > ``threshold`` are shaded. Returns the axes."""
    import matplotlib.pyplot as plt

    s = _np(scores).ravel()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize or (max(4.0, min(len(s) * 0.05, 20.0)), 1.8))
    x = start + np.arange(len(s)) + 0.5
    if truth is not None:
        for a, b in truth_spans(truth, threshold):
            ax.axvspan(start + a, start + b, color=shade, alpha=0.3, lw=0)
    ax.fill_between(x, 0, s, step="mid", color=color, alpha=0.8, lw=0)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlim(start, start + len(s))
    if label:
        ax.set_ylabel(label)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def attribution_figure(attr, X=None, truth=None, title: str | None = None, path=None, observed: bool = True,
                       dpi: int = 150):
    """Logo of an attribution map ``(A, L)`` (only observed letters when ``observed`` and X is
    given) above its per-position track with ground-truth shading. Saved atomically to ``path``
    (PNG/SVG) when given; returns the figure."""
    import matplotlib.pyplot as plt

    from seqlens.plot.logos import logo

    a = _np(attr)
    shown = a * _np(X) if (observed and X is not None) else a
    L = a.shape[-1]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(4.0, min(L * 0.06, 24.0)), 3.5), sharex=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    logo(shown, ax=ax1, title=title)
    if truth is not None:
        from seqlens.plot.tracks import truth_spans

        for s0, s1 in truth_spans(truth):
            ax1.axvspan(s0, s1, color="#F7B32B", alpha=0.15, lw=0)
    attribution_track(shown.sum(0), ax=ax2, truth=truth)
    fig.tight_layout()
    if path is not None:
        from seqlens.io.atomic import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=dpi)
    return fig
