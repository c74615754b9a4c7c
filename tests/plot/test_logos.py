import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from seqlens.motifs.motif import Motif  # noqa: E402
from seqlens.plot.logos import logo, logo_matrix, save_logo  # noqa: E402
from seqlens.plot.tracks import attribution_figure, attribution_track, truth_spans  # noqa: E402


def _letter_boxes(ax):
    """(colour, x0, y0, x1, y1) of each letter instance drawn (one compound path per letter)."""
    out = []
    for p in ax.patches:
        v = p.get_path().vertices
        codes = p.get_path().codes
        n = len(v)
        out.append((p.get_facecolor(), v[:, 0].min(), v[:, 1].min(), v[:, 0].max(), v[:, 1].max(), n, codes))
    return out


def test_motif_information_heights_exact():
    m = Motif(np.array([[1.0, 0.5], [0, 0.5], [0, 0], [0, 0]]))
    M, letters = logo_matrix(m, "information")
    assert letters == "ACGT"
    assert np.allclose(M[:, 0], [2, 0, 0, 0]) and np.allclose(M[:, 1], [0.5, 0.5, 0, 0])
    ax = logo(m)
    # A: columns 0 (height 2) and 1 (0.5, stacked either below or above C)
    ys = sorted(p.get_path().vertices[:, 1].max() for p in ax.patches)
    assert ys[-1] == pytest.approx(2.0)
    assert ax.get_ylim()[1] >= 2.0
    plt.close("all")


def test_attribution_signs_and_dataframe():
    a = np.array([[1.0, -0.5], [0.5, 0.0], [0.0, -1.0], [0.0, 0.0]])
    ax = logo(a)
    v = np.concatenate([p.get_path().vertices for p in ax.patches])
    assert v[:, 1].max() == pytest.approx(1.5) and v[:, 1].min() == pytest.approx(-1.5)
    lo, hi = ax.get_ylim()
    assert lo < -1.5 and hi > 1.5
    df = pd.DataFrame(a.T, columns=list("ACGT"))
    M, letters = logo_matrix(df)
    assert np.allclose(M, a) and letters == "ACGT"
    with pytest.raises(ValueError):
        logo(np.zeros((3, 4, 5)))
    plt.close("all")


def test_1kb_logo_is_fast(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 1000))
    logo(a)  # warm the glyph cache
    plt.close("all")
    t = time.perf_counter()
    ax = logo(a, figsize=(20, 2))
    ax.figure.canvas.draw()
    elapsed = time.perf_counter() - t
    assert len(ax.patches) <= 8
    assert elapsed < 1.0  # ~0.05 s unloaded; generous for shared CI cores
    plt.close("all")
    for suffix in ("png", "svg"):
        p = save_logo(a[:, :100], tmp_path / f"l.{suffix}")
        assert p.exists() and p.stat().st_size > 1000
    assert (tmp_path / "l.svg").read_text().lstrip().startswith("<?xml")


def test_tracks_and_figure(tmp_path):
    truth = np.full((4, 30), 0.25)
    truth[:, 5:9] = np.eye(4)[:, [0, 1, 2, 3]]
    assert truth_spans(truth) == [(5, 9)]
    ax = attribution_track(np.arange(30.0), truth=truth)
    assert len(ax.patches) >= 1
    X = np.eye(4)[np.arange(30) % 4].T
    fig = attribution_figure(np.ones((4, 30)), X, truth, path=tmp_path / "f.png")
    assert (tmp_path / "f.png").exists()
    plt.close(fig)
