"""Tomtom with a choice of column score (Pearson / Euclidean), checked against memelite."""

import numpy as np
import pytest

import seqlens.motifs.tomtom_columns as tc
from seqlens.motifs.tomtom import COLUMNS, tomtom
from seqlens.motifs.tomtom_columns import column_scores, tomtom_columns
from seqlens.simulate import jaspar2016

KOO_EDDY = ["MA0151.1", "MA0466.2", "MA0477.1", "MA0062.2", "MA0496.1", "MA0058.3", "MA0052.3",
            "MA0502.1", "MA0079.3", "MA0083.3", "MA0137.3", "MA0095.2"]


@pytest.fixture(scope="module")
def db():
    return list(jaspar2016().values())


@pytest.fixture(scope="module")
def Ts(db):
    return [np.ascontiguousarray(m.probabilities()) for m in db]


@pytest.fixture(scope="module")
def index(db):
    return {m.name: i for i, m in enumerate(db)}


@pytest.fixture(scope="module")
def queries(Ts):
    """18 JASPAR motifs as queries: as they are, trimmed by one column at each end, or mixed
    30:70 with a random Dirichlet matrix."""
    rng = np.random.default_rng(1)
    picks = rng.choice(len(Ts), 18, replace=False)
    Qs = []
    for k, i in enumerate(picks):
        P = Ts[i]
        if k % 3 == 1 and P.shape[1] > 6:
            P = P[:, 1:-1]
        if k % 3 == 2:
            P = 0.7 * P + 0.3 * rng.dirichlet(np.ones(4), P.shape[1]).T
        Qs.append(np.ascontiguousarray(P))
    return Qs


@pytest.fixture(scope="module")
def memelite_result(queries, Ts):
    from memelite import tomtom as memelite_tomtom

    out = memelite_tomtom(queries, Ts, n_nearest=None, n_target_bins=None, n_jobs=1)
    return [np.asarray(x) for x in out]


def test_column_scores_exact():
    Q = np.array([[1.0, 0.25], [0.0, 0.25], [0.0, 0.25], [0.0, 0.25]])
    T = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    # centred on 1/4: A = (.75, -.25, -.25, -.25), C = (-.25, .75, -.25, -.25), AC = (.25, .25, -.25, -.25)
    np.testing.assert_allclose(column_scores(Q, T, "pearson"),
                               [[1.0, -1 / 3, 1 / np.sqrt(3)], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(column_scores(Q, T, "euclidean"),
                               [[0.0, -np.sqrt(2), -np.sqrt(0.5)],
                                [-np.sqrt(0.75), -np.sqrt(0.75), -np.sqrt(0.25)]])
    with pytest.raises(ValueError, match="unknown distance"):
        column_scores(Q, T, "manhattan")


def test_euclidean_equals_memelite_with_its_median(queries, Ts, memelite_result, monkeypatch):
    """Known answer: given the same column medians (memelite approximates them by binning), the
    integer scores, offsets' scores and p-values (DP over spans, overhang = median, max over
    offsets and strands) are memelite's to round-off."""
    from memelite.tomtom import _binned_median

    def binned_median(S):
        bins, counts = np.empty((1000, 2)), np.ones(S.shape[1], dtype=np.int64)
        return np.array([_binned_median(np.ascontiguousarray(r), bins, r.min(), r.max(), counts)
                         for r in S])

    monkeypatch.setattr(tc, "_meme_median", binned_median)
    p, score, offset, overlap, strand = tomtom_columns(queries, Ts, distance="euclidean")
    mp, mscore = memelite_result[0], memelite_result[1]
    np.testing.assert_array_equal(score, mscore)  # measured: all 9342 equal
    np.testing.assert_allclose(p, mp, rtol=1e-9)  # measured: max relative difference 6e-13


def test_euclidean_agrees_with_memelite(queries, Ts, memelite_result):
    """With MEME's exact median the p-values move slightly (memelite bins the median)."""
    p, score, offset, overlap, strand = tomtom_columns(queries, Ts, distance="euclidean")
    mp = np.clip(memelite_result[0], 0, 1)
    assert p.shape == mp.shape == (18, len(Ts))
    np.testing.assert_array_equal(p.argmin(1), mp.argmin(1))  # same best target for every query
    d = np.abs(np.log10(p) - np.log10(mp))
    # measured (this fixture): median 2e-4, 99th percentile 0.031, max 4.7 (a self-match at
    # p ~ 1e-20: one median moved a column's integer score by 1 bin, where the tail drops ~10x
    # per bin); relative to log10 p at most 0.23
    assert np.median(d) < 0.01
    assert np.quantile(d, 0.99) < 0.1
    assert (d / np.maximum(1.0, -np.log10(mp)) < 0.3).all()
    assert np.abs(score - memelite_result[1]).max() <= 5  # measured 3 (integer complete scores)
    # offsets and overlaps agree except on ties, which MEME and memelite break differently
    assert (offset == memelite_result[2]).mean() > 0.95


@pytest.mark.parametrize("distance", ["pearson", "euclidean"])
def test_each_motif_finds_itself_first(db, Ts, index, distance):
    ids = [index[i] for i in KOO_EDDY]
    p, score, offset, overlap, strand = tomtom_columns([Ts[i] for i in ids], Ts, distance=distance)
    rows = np.arange(len(ids))
    assert (p[rows, ids] == p.min(axis=1)).all()
    np.testing.assert_array_equal(p.argmin(axis=1), ids)
    np.testing.assert_array_equal(offset[rows, ids], 0)
    np.testing.assert_array_equal(overlap[rows, ids], [Ts[i].shape[1] for i in ids])
    np.testing.assert_array_equal(strand[rows, ids], 0)
    assert (p[rows, ids] < 1e-7).all()  # measured: largest 1.4e-8 (pearson, MA0151.1, width 6)


def test_pearson_self_match_values(Ts, index):
    i = index["MA0079.3"]  # SP1, width 11
    p, score, offset, overlap, strand = tomtom_columns([Ts[i]], Ts, distance="pearson")
    assert p[0].argmin() == i and p[0, i] < 1e-15  # measured 1.2e-19
    assert np.sort(p[0])[1] > 1e3 * p[0, i]  # SP2 etc. far behind
    assert 0 < score[0, i] <= 11 * 100 and score[0, i] == score[0].max()


def test_pearson_reverse_complement_on_minus_strand(Ts, index):
    i = index["MA0079.3"]
    rc = np.ascontiguousarray(Ts[i][::-1, ::-1])
    p, score, offset, overlap, strand = tomtom_columns([Ts[i], rc], Ts, distance="pearson")
    assert p[1].argmin() == i
    assert (strand[1, i], offset[1, i], overlap[1, i]) == (1, 0, 11)
    assert score[1, i] == score[0, i]  # the same alignment on the other strand
    np.testing.assert_allclose(p[1, i], p[0, i], rtol=1e-9)
    # one strand only: the reverse complement no longer finds its source
    p1, *_ = tomtom_columns([rc], Ts, distance="pearson", reverse_complement=False)
    assert p1[0, i] > 1e6 * p[1, i]


def test_pearson_sub_motif_offset_and_overlap(Ts, index):
    i = index["MA0079.3"]
    sub = np.ascontiguousarray(Ts[i][:, 2:9])
    sub_rc = np.ascontiguousarray(sub[::-1, ::-1])
    p, score, offset, overlap, strand = tomtom_columns([sub, sub_rc], Ts, distance="pearson")
    assert p[0].argmin() == i and p[1].argmin() == i
    assert (strand[0, i], offset[0, i], overlap[0, i]) == (0, 2, 7)
    # on the other strand the sub-motif starts 11 - 9 = 2 columns into the reversed target
    assert (strand[1, i], offset[1, i], overlap[1, i]) == (1, 2, 7)


def test_overhanging_query_columns(Ts, index):
    """Three uniform columns then SP1's first five: the best alignment hangs 3 columns off the
    target's start. A uniform column scores 0 (Pearson) against every target column, so its median
    is 0 and it adds the overhang score ``u`` aligned or not: the score is the head's plus 3 u."""
    i = index["MA0079.3"]
    head = np.ascontiguousarray(Ts[i][:, :5])
    q = np.concatenate([np.full((4, 3), 0.25), head], axis=1)
    p, score, offset, overlap, strand = tomtom_columns([q, head], Ts, distance="pearson")
    assert p[0].argmin() == i and p[0, i] < 1e-5
    assert (offset[0, i], overlap[0, i], strand[0, i]) == (-3, 5, 0)
    assert (offset[1, i], overlap[1, i], strand[1, i]) == (0, 5, 0)
    S = column_scores(head, np.concatenate(Ts + [t[::-1, ::-1] for t in Ts], axis=1), "pearson")
    S -= tc._meme_median(S)[:, None]
    lo = np.floor(S.min())
    u = -lo * np.floor(100 / (S.max() - lo))
    assert score[0, i] == score[1, i] + 3 * u


@pytest.mark.parametrize("distance", ["pearson", "euclidean"])
def test_p_values_by_brute_force(distance):
    """Known answer on a toy database, by enumeration instead of the DP: every span's null is the
    histogram of all N^len column combinations, unaligned columns add the median bin ``u``, and the
    p-value is 1 - prod_k P(S_k < score) over all offsets k of both strands."""
    rng = np.random.default_rng(3)
    Ts = [rng.dirichlet(np.full(4, 0.4), w).T for w in (2, 3, 4, 3, 2, 4)]
    Q = rng.dirichlet(np.full(4, 0.4), 3).T
    with pytest.warns(UserWarning):
        p, score, offset, overlap, strand = tomtom_columns([Q], Ts, distance=distance)
    both = Ts + [t[::-1, ::-1] for t in Ts]
    S = column_scores(Q, np.concatenate(both, axis=1), distance)
    srt = np.sort(S, axis=1)
    n = S.shape[1]  # even (both strands): MEME's median is the lower middle value
    S = S - srt[:, n // 2 - 1][:, None]
    lo = np.floor(S.min())
    scale = np.floor(100 / (S.max() - lo))
    Z = np.floor((S - lo) * scale + 0.5).astype(int)
    u = int(-lo * scale)
    w = Q.shape[1]
    cdf = {}  # (a, b) -> P(complete score < s), s = 0..300
    for a in range(w):
        for b in range(a, w):
            sums = np.zeros(1, dtype=int)
            for i in range(a, b + 1):
                sums = (sums[:, None] + Z[i][None, :]).ravel()
            sums = sums + (w - (b - a + 1)) * u
            cdf[a, b] = np.array([(sums < s).mean() for s in range(w * 100 + 1)])
    starts = np.cumsum([0] + [t.shape[1] for t in both])
    for t in range(len(Ts)):
        L = Ts[t].shape[1]
        best = None
        for st in (0, 1):
            c0 = starts[t + st * len(Ts)]
            for off in range(-(w - 1), L):
                cols = [i for i in range(w) if 0 <= i + off < L]
                s = sum(Z[i, c0 + i + off] for i in cols) + (w - len(cols)) * u
                cand = (s, len(cols), -off, -st)  # MEME's tie order: overlap, first offset, "+"
                best = cand if best is None or cand > best else best
        s_best = best[0]
        prod = 1.0
        for off in range(-(w - 1), L):
            a, b = max(0, -off), min(w - 1, L - 1 - off)
            prod *= cdf[a, b][s_best] ** 2
        assert score[0, t] == s_best
        assert (overlap[0, t], offset[0, t], strand[0, t]) == (best[1], -best[2], -best[3])
        np.testing.assert_allclose(p[0, t], 1 - prod, rtol=1e-10, atol=1e-15)


def test_pearson_p_values_roughly_calibrated(Ts):
    """Random Dirichlet(1) queries against JASPAR: the fraction of p < 0.05 over all
    query-target pairs. Measured over 3 seeds x 32 queries x 519 targets: 0.043-0.046 for
    p < 0.05, 0.008-0.011 for p < 0.01 (slightly conservative: integer scores, ties count as
    exceedances)."""
    rng = np.random.default_rng(0)
    Qs = [rng.dirichlet(np.ones(4), w).T for w in rng.integers(8, 26, 24)]
    p, *_ = tomtom_columns(Qs, Ts, distance="pearson")
    assert ((p >= 0) & (p <= 1)).all()
    assert 0.03 < (p < 0.05).mean() < 0.065
    assert 0.004 < (p < 0.01).mean() < 0.016
    assert 0.38 < (p < 0.5).mean() < 0.52


def test_small_target_set_warns_and_bad_input_raises(Ts):
    with pytest.warns(UserWarning, match="unreliable below 50"):
        tomtom_columns([Ts[0]], Ts[:10])
    with pytest.raises(ValueError, match="unknown distance"):
        tomtom_columns([Ts[0]], Ts, distance="ed")
    with pytest.raises(ValueError, match=r"target 1 has shape \(3, 5\)"):
        tomtom_columns([Ts[0]], [Ts[0], np.ones((3, 5)) / 3] + Ts)


def test_tomtom_wrapper_pearson(db, index):
    sp1 = db[index["MA0079.3"]]
    table = tomtom(sp1, db, distance="pearson")
    assert list(table.columns) == COLUMNS
    assert len(table) == len(db)
    best = table.iloc[0]
    assert (best.target, best.strand, best.offset, best.overlap) == ("MA0079.3", "+", 0, 11)
    assert table.p_value.is_monotonic_increasing
    np.testing.assert_allclose(table.e_value, table.p_value * len(db))
    top = tomtom(sp1[2:9].reverse_complement(), db, distance="pearson", top_n=1).iloc[0]
    assert (top.target, top.strand, top.offset, top.overlap) == ("MA0079.3", "-", 2, 7)
    with pytest.raises(ValueError, match="unknown distance"):
        tomtom(sp1, db, distance="kullback")
