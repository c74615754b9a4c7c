"""Sequence logos for motifs and attribution maps, fast enough for kilobase tracks.

Each letter's glyph is turned into a path once (cached) and normalised to the unit square; a logo
is drawn as one compound path per letter, whose vertices are the glyph's scaled and shifted by
numpy for every column at once. A 1 kb attribution logo is 4 patches, not 4,000, so it draws in
a few tens of milliseconds.

Input (one data type, as in logomaker): a :class:`~seqlens.motifs.motif.Motif`, a position x letter
:class:`pandas.DataFrame`, or an ``(A, L)`` array (alphabet x positions, the one-hot orientation).
Positive values stack upwards from 0 (smallest nearest the axis), negative values downwards.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path as FilePath

import numpy as np

COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839", "U": "#D62839"}
_PROTEIN_COLORS = {**{a: "#0C7BDC" for a in "AVLIMFWC"}, **{a: "#109648" for a in "STNQGPY"},
                   **{a: "#D62839" for a in "DE"}, **{a: "#7B2CBF" for a in "KRH"}, "-": "#888888"}


@lru_cache(maxsize=64)
def _glyph(letter: str, font: str = "DejaVu Sans", weight: str = "bold"):
    """Vertices ``(V, 2)`` normalised to the unit square and path codes of a letter."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), letter, size=1, prop=FontProperties(family=font, weight=weight))
    v = np.asarray(path.vertices, dtype=float)
    lo, hi = v.min(0), v.max(0)
    v = (v - lo) / np.where(hi - lo > 0, hi - lo, 1)
    return v, np.asarray(path.codes)


def logo_matrix(data, kind: str | None = None, alphabet=None):
    """``(A, L)`` heights and the letters from a Motif, DataFrame or array (see module doc).

    kind (Motif only): ``"information"`` (default), ``"probability"``, ``"weight"``, ``"counts"``.
    """
    import pandas as pd

    from seqlens.alphabet import DNA, get_alphabet
    from seqlens.motifs.motif import Motif

    if isinstance(data, Motif):
        df = data.to_dataframe(kind or "information")
        return df.to_numpy().T, "".join(df.columns)
    if isinstance(data, pd.DataFrame):
        return data.to_numpy(dtype=float).T, "".join(str(c) for c in data.columns)
    a = data.detach().cpu().numpy() if hasattr(data, "detach") else np.asarray(data, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"logo data must be (A, L), got shape {a.shape}")
    letters = get_alphabet(alphabet).letters if alphabet is not None else None
    if letters is None:
        letters = DNA.letters if a.shape[0] == 4 else get_alphabet("protein").letters + "-"
        letters = letters[: a.shape[0]]
    if len(letters) != a.shape[0]:
        raise ValueError(f"{a.shape[0]} rows but alphabet has {len(letters)} letters")
    return a.astype(float), letters


def logo(data, ax=None, kind: str | None = None, alphabet=None, colors: dict | None = None,
         width: float = 0.9, start: int = 0, figsize=None, title: str | None = None,
         ylabel: str | None = None, baseline: bool = True, window=None):
    """Draw a sequence logo on ``ax`` (a new figure when None) and return the axes.

    Parameters
    ----------
    data : Motif, position x letter DataFrame, or ``(A, L)`` array (e.g. an attribution map, or
        ``attr * X`` for the observed letters only).
    kind : Motif height (``"information"``, ``"probability"``, ``"weight"``).
    colors : letter -> colour (DNA/RNA and protein defaults).
    width : letter width as a fraction of a column.
    start : x coordinate of the first column.
    ylabel : y-axis label; default ``bits`` / ``probability`` / ``log2 odds`` for a Motif and
        ``attribution`` for other data.
    window : ``(first, end)`` columns to draw (0-based, end excluded; default all), placed at
        x = ``start + first``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    from seqlens.plot.tracks import check_window

    M, letters = logo_matrix(data, kind, alphabet)
    first, end = check_window(window, M.shape[1])
    M, start = M[:, first:end], start + first
    A, L = M.shape
    if ax is None:
        _, ax = plt.subplots(figsize=figsize or (max(3.0, min(L * 0.25, 20.0)), 2.0))
    palette = _palette(A, colors)
    pos, neg, bottom_p, bottom_n = stacks(M)
    for i, letter in enumerate(letters):
        v, codes = _glyph(letter)
        for heights, bottoms in ((pos[i], bottom_p[i]), (-neg[i], bottom_n[i])):
            keep = np.flatnonzero(heights > 1e-12)
            if keep.size == 0:
                continue
            x = start + keep + (1 - width) / 2
            verts = v[None, :, :] * np.stack([np.full(keep.size, width), heights[keep]], 1)[:, None, :]
            verts = verts + np.stack([x, bottoms[keep]], 1)[:, None, :]
            path = Path(verts.reshape(-1, 2), np.tile(codes, keep.size))
            # add_artist, not add_patch: the limits are set below, and add_patch's data-limit
            # update (Bezier extents of every glyph) would dominate the drawing time
            patch = PathPatch(path, facecolor=palette.get(letter, "grey"), edgecolor="none", lw=0,
                              transform=ax.transData)
            patch.set_clip_path(ax.patch)
            ax.add_artist(patch)
    lo, hi = limits(pos, neg, data, kind)
    ax.set_xlim(start, start + L)
    ax.set_ylim(lo, hi)
    if baseline and lo < 0:
        ax.axhline(0, color="black", lw=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    if ylabel is None:
        ylabel = default_ylabel(data, kind)
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax


plot_logo = logo


def _palette(A: int, colors: dict | None) -> dict:
    palette = {**_PROTEIN_COLORS, **COLORS} if A > 5 else dict(COLORS)
    if colors:
        palette.update(colors)
    return palette


def stacks(M: np.ndarray):
    """``(pos, neg, bottom_p, bottom_n)``, each ``(A, L)``: positive parts stacked upwards from 0
    and negative parts downwards, smallest magnitude nearest the axis (``bottom_n`` is the lower
    end of each negative letter)."""
    M = np.nan_to_num(M)
    A, L = M.shape
    pos, neg = np.clip(M, 0, None), np.clip(M, None, 0)
    order_p = np.argsort(pos, axis=0)
    order_n = np.argsort(-neg, axis=0)
    bottom_p = np.zeros_like(M)
    bottom_n = np.zeros_like(M)
    cols = np.arange(L)
    cum = np.zeros(L)
    for r in range(A):
        a = order_p[r]
        bottom_p[a, cols] = cum
        cum = cum + pos[a, cols]
    cum = np.zeros(L)
    for r in range(A):
        a = order_n[r]
        cum = cum + neg[a, cols]
        bottom_n[a, cols] = cum
    return pos, neg, bottom_p, bottom_n


def limits(pos, neg, data, kind) -> tuple[float, float]:
    """y limits of a logo: the stacks' extremes (at least ``log2(A)`` bits for an information
    logo), padded by 5% (not below 0 when nothing is negative)."""
    A, L = pos.shape
    lo = min(0.0, float((neg.sum(0)).min()) if L else 0.0)
    hi = max(0.0, float((pos.sum(0)).max()) if L else 0.0)
    if isinstance(kind, str) and kind == "information" or (kind is None and _is_motif(data)):
        hi = max(hi, np.log2(A))
    if hi == lo:
        hi = lo + 1
    pad = 0.05 * (hi - lo)
    return lo - (pad if lo < 0 else 0), hi + pad


def default_ylabel(data, kind) -> str:
    """``bits`` / ``probability`` / ``log2 odds`` for a Motif, ``attribution`` otherwise."""
    if _is_motif(data):
        return {"information": "bits", "probability": "probability", "weight": "log2 odds"}.get(
            kind or "information", "")
    return "attribution"


def _is_motif(data) -> bool:
    from seqlens.motifs.motif import Motif

    return isinstance(data, Motif)


def save_logo(data, path, dpi: int = 150, raster: bool | None = None, **kwargs):
    """Draw :func:`logo` and write it to ``path`` (PNG, SVG or PDF by suffix), atomically.

    ``raster`` (default: for PNG) draws the logo straight to pixels
    (:mod:`seqlens.plot.logo_raster`: the same letters, axes and labels, several times faster than
    a matplotlib figure); ``raster=False`` always goes through matplotlib."""
    from seqlens.io.atomic import atomic_path

    path = FilePath(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    if raster is None:
        raster = fmt == "png"
    if raster:
        from seqlens.plot.logo_raster import write_logo_png

        if fmt != "png":
            raise ValueError(f"raster logos are written as PNG, not {fmt!r} ({path})")
        with atomic_path(path) as tmp:
            write_logo_png(data, tmp, dpi=dpi, **kwargs)
        return path
    import matplotlib.pyplot as plt

    ax = logo(data, **kwargs)
    fig = ax.figure
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    plt.close(fig)
    return path
