"""Raster logos: the logo of :func:`seqlens.plot.logos.logo` drawn straight to pixels with numpy
and written as PNG with Pillow, without a matplotlib figure (whose set-up and PNG encoding alone
cost more than the whole raster path).

Each letter's glyph (the same outline as the vector logo) is rasterised once at high resolution
and kept as a summed-area table; a letter instance covering the box ``[x0, x1) x [y0, y1)`` (in
pixels, fractional) gives every pixel it touches the exact mean of the glyph over the pixel's
part of the box (box-filter anti-aliasing, as Agg's exact-area coverage), for all instances of
a letter at once. Letters are composited in alphabet order (``over``), like the vector logo's
one compound path per letter.

The axes are drawn as matplotlib would draw them with default styles: left and bottom spines,
outward ticks at matplotlib's own tick positions (``MaxNLocator`` with the axis' tick space) and
labels (``ScalarFormatter``), the y label and title in DejaVu Sans, the baseline at 0 for
negative values. The axes box follows the text extents like ``tight_layout``.

:func:`render_logo` returns the ``(H, W, 3)`` image and the axes box; :func:`write_logo_png`
writes it (used by :func:`seqlens.plot.logos.save_logo` for ``.png``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from seqlens.plot.logos import _glyph, _palette, default_ylabel, limits, logo_matrix, stacks

_GLYPH_RES = 256  # glyph raster (pixels per side of the unit square)


@lru_cache(maxsize=64)
def _glyph_sat(letter: str) -> np.ndarray:
    """Summed-area table ``(R + 1, R + 1)`` of the glyph's coverage on an ``R x R`` raster (row 0:
    the top of the letter)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.path import Path
    from matplotlib.transforms import Affine2D

    R = _GLYPH_RES
    v, codes = _glyph(letter)
    r = RendererAgg(R, R, 72)
    gc = r.new_gc()
    gc.set_linewidth(0)
    r.draw_path(gc, Path(v * R, codes), Affine2D(), (0, 0, 0, 1))
    a = np.asarray(r.buffer_rgba())[..., 3].astype(float) / 255.0
    sat = np.zeros((R + 1, R + 1))
    sat[1:, 1:] = a.cumsum(0).cumsum(1)
    return sat


def _sat_at(sat: np.ndarray, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of the summed-area table at fractional (row ``v``, column ``u``):
    the glyph's integral over ``[0, v) x [0, u)`` (exact for a piecewise-constant raster)."""
    n = sat.shape[0] - 1
    v, u = np.clip(v, 0, n), np.clip(u, 0, n)
    i, j = np.minimum(v.astype(int), n - 1), np.minimum(u.astype(int), n - 1)
    fv, fu = v - i, u - j
    return ((sat[i, j] * (1 - fu) + sat[i, j + 1] * fu) * (1 - fv)
            + (sat[i + 1, j] * (1 - fu) + sat[i + 1, j + 1] * fu) * fv)


def _coverage(letter: str, x0, x1, y0, y1, shape):
    """``(flat pixel indices, coverage)`` of the boxes ``[x0, x1) x [y0, y1)`` (pixels; ``y0`` the
    top) by the glyph stretched to each box, on an ``(H, W)`` raster (pixels outside dropped;
    coverages of one pixel by several boxes summed, at most 1: one compound path, as in Agg)."""
    H, W = shape
    sat = _glyph_sat(letter)
    R = sat.shape[0] - 1
    jlo, jhi = np.floor(x0).astype(int), np.ceil(x1).astype(int)
    ilo, ihi = np.floor(y0).astype(int), np.ceil(y1).astype(int)
    nj, ni = jhi - jlo, ihi - ilo
    # the glyph's integral at every pixel-grid point of each box (clipped to the box), once:
    # instance k has (ni + 1) x (nj + 1) points from offset g[k]
    gn = (ni + 1) * (nj + 1)
    total = int(gn.sum())
    if total == 0:
        return np.zeros(0, int), np.zeros(0)
    g = np.cumsum(gn) - gn
    k = np.repeat(np.arange(len(x0)), gn)
    local = np.arange(total) - g[k]
    c, r = local % (nj[k] + 1), local // (nj[k] + 1)
    su, sv = R / (x1 - x0), R / (y1 - y0)
    u = (np.clip(jlo[k] + c, x0[k], x1[k]) - x0[k]) * su[k]
    v = (np.clip(ilo[k] + r, y0[k], y1[k]) - y0[k]) * sv[k]
    S = _sat_at(sat, v, u)
    # pixels: (r, c) with r < ni, c < nj, from the four grid points around them
    cnt = ni * nj
    k = np.repeat(np.arange(len(x0)), cnt)
    local = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    c, r = local % nj[k], local // nj[k]
    p = g[k] + r * (nj[k] + 1) + c
    cov = (S[p + nj[k] + 2] - S[p + 1] - S[p + nj[k] + 1] + S[p]) / (su[k] * sv[k])
    ii, jj = ilo[k] + r, jlo[k] + c
    ok = (ii >= 0) & (ii < H) & (jj >= 0) & (jj < W)
    acc = np.bincount(ii[ok] * W + jj[ok], weights=cov[ok], minlength=H * W)
    idx = np.flatnonzero(acc)
    return idx, np.minimum(acc[idx], 1.0)


@lru_cache(maxsize=8)
def _font(size_px: int):
    import os

    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf"),
                              size_px)


def _ticks(vmin: float, vmax: float, length_pt: float, per_label_pt: float):
    """matplotlib's default major ticks inside ``[vmin, vmax]`` and their labels (and offset
    text) for an axis ``length_pt`` long."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    nbins = int(np.clip(np.floor(length_pt / per_label_pt), 1, 9))
    locs = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin, vmax)
    eps = 1e-10 * (vmax - vmin)
    locs = locs[(locs >= vmin - eps) & (locs <= vmax + eps)]
    fmt = ScalarFormatter()
    fmt.create_dummy_axis()
    fmt.axis.set_view_interval(vmin, vmax)
    fmt.axis.set_data_interval(vmin, vmax)
    labels = fmt.format_ticks(locs)
    return locs, labels, fmt.get_offset()


def render_logo(data, figsize=None, dpi: int = 150, kind: str | None = None, alphabet=None,
                colors: dict | None = None, width: float = 0.9, start: int = 0, title: str | None = None,
                ylabel: str | None = None, baseline: bool = True, window=None):
    """The logo of :func:`seqlens.plot.logos.logo` (same arguments) as an image.

    Returns ``(image (H, W, 3) uint8, axes box (left, top, right, bottom) in pixels)`` with
    ``H, W = round(figsize * dpi)`` (``figsize`` defaults as in ``logo``).
    """
    from matplotlib.colors import to_rgb
    from PIL import Image, ImageDraw

    from seqlens.plot.tracks import check_window

    M, letters = logo_matrix(data, kind, alphabet)
    first, end = check_window(window, M.shape[1])
    M, start = M[:, first:end], start + first
    A, L = M.shape
    fw, fh = figsize or (max(3.0, min(L * 0.25, 20.0)), 2.0)
    W, H = int(round(fw * dpi)), int(round(fh * dpi))
    pos, neg, bottom_p, bottom_n = stacks(M)
    lo, hi = limits(pos, neg, data, kind)
    if ylabel is None:
        ylabel = default_ylabel(data, kind)
    pt = dpi / 72.0  # pixels per point
    fs = 10 * pt  # tick and axis labels: 10 pt
    font, tfont = _font(int(round(fs))), _font(int(round(12 * pt)))
    tick_len, tick_pad, lw = 3.5 * pt, 3.5 * pt, max(1, int(round(0.8 * pt)))
    pad = 1.08 * fs  # tight_layout's pad

    def text_size(s, f=font):
        x0, y0, x1, y1 = f.getbbox(s)
        return x1 - x0, y1 - y0

    label_h = text_size("0123456789")[1]
    top = pad + (text_size(title, tfont)[1] + 6 * pt if title else label_h / 2)
    bottom = H - (pad + label_h + tick_pad + tick_len)
    ylocs, ylabels, _ = _ticks(lo, hi, (bottom - top) / pt, 2 * 10)
    ywidth = max((text_size(s)[0] for s in ylabels), default=0)
    left = pad + (text_size(ylabel)[1] + 4 * pt if ylabel else 0) + ywidth + tick_pad + tick_len
    right = W - pad
    left, top, right, bottom = (int(round(v)) for v in (left, top, right, bottom))
    if right - left < 2 or bottom - top < 2:
        raise ValueError(f"figure {fw}x{fh} in at {dpi} dpi leaves no room for the logo")
    xlocs, xlabels, _ = _ticks(start, start + L, (right - left) / pt, 3 * 10)

    def px(x):
        return left + (np.asarray(x, float) - start) / L * (right - left)

    def py(y):
        return bottom - (np.asarray(y, float) - lo) / (hi - lo) * (bottom - top)

    img = np.ones((H * W, 3), dtype=np.float32)
    palette = _palette(A, colors)
    for i, letter in enumerate(letters):
        x0s, x1s, y0s, y1s = [], [], [], []
        for heights, bottoms in ((pos[i], bottom_p[i]), (-neg[i], bottom_n[i])):
            keep = np.flatnonzero(heights > 1e-12)
            x = start + keep + (1 - width) / 2
            x0s.append(px(x))
            x1s.append(px(x + width))
            y0s.append(py(bottoms[keep] + heights[keep]))
            y1s.append(py(bottoms[keep]))
        x0, x1, y0, y1 = (np.concatenate(t) for t in (x0s, x1s, y0s, y1s))
        wb = right - left  # on the axes' raster: the letters are clipped to the axes
        idx, a = _coverage(letter, x0 - left, x1 - left, y0 - top, y1 - top, (bottom - top, wb))
        idx = (idx // wb + top) * W + idx % wb + left
        a = a[:, None]
        img[idx] = img[idx] * (1 - a) + np.asarray(to_rgb(palette.get(letter, "grey"))) * a
    img = img.reshape(H, W, 3)
    if baseline and lo < 0:  # 0.5 pt, centred on a pixel row as matplotlib snaps it; thinner
        lw0 = 0.5 * pt  # than a pixel: that row at the line's coverage
        y0 = int(np.floor(float(py(0)) + 0.5 - max(lw0, 1) / 2))
        rows = slice(max(y0, 0), max(y0, 0) + max(1, int(round(lw0))))
        img[rows, left:right] *= 1 - min(lw0, 1.0)
    im = Image.fromarray((img * 255 + 0.5).astype(np.uint8))
    d = ImageDraw.Draw(im)
    black = (0, 0, 0)
    d.line([(left, top), (left, bottom)], fill=black, width=lw)  # spines
    d.line([(left, bottom), (right, bottom)], fill=black, width=lw)
    for v, s in zip(ylocs, ylabels):
        y = int(round(float(py(v))))
        d.line([(left - tick_len, y), (left, y)], fill=black, width=lw)
        d.text((left - tick_len - tick_pad, y), s, font=font, fill=black, anchor="rm")
    for v, s in zip(xlocs, xlabels):
        x = int(round(float(px(v))))
        d.line([(x, bottom), (x, bottom + tick_len)], fill=black, width=lw)
        d.text((x, bottom + tick_len + tick_pad), s, font=font, fill=black, anchor="ma")
    if ylabel:
        tw, th = text_size(ylabel)
        lab = Image.new("L", (int(tw) + 4, int(round(fs * 1.3))), 0)
        ImageDraw.Draw(lab).text((2, 0), ylabel, font=font, fill=255, anchor="la")
        lab = lab.rotate(90, expand=True)
        x = int(round(left - tick_len - tick_pad - ywidth - 4 * pt - lab.width))
        im.paste(Image.new("RGB", lab.size, black), (x, int(round((top + bottom - lab.height) / 2))), lab)
    if title:
        d.text(((left + right) / 2, top - 6 * pt), title, font=tfont, fill=black, anchor="md")
    return np.asarray(im), (left, top, right, bottom)


def write_logo_png(data, path, dpi: int = 150, **kwargs):
    """:func:`render_logo` written to ``path`` as PNG (``dpi`` recorded in the file)."""
    from PIL import Image

    img, _ = render_logo(data, dpi=dpi, **kwargs)
    # zlib level 1: 2x faster than the default 6, files about the size of matplotlib's RGBA PNG
    Image.fromarray(img).save(path, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return path
