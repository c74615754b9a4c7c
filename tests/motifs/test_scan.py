"""Motif scanning: log-odds score tracks (numpy) and FIMO hits (memelite)."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from seqlens.alphabet import PROTEIN, one_hot, reverse_complement
from seqlens.io.motifs import read_jaspar
from seqlens.motifs import Motif
from seqlens.motifs.scan import SCAN_COLUMNS, motif_scores, scan

JASPAR2016 = Path(__file__).resolve().parents[2] / "src" / "seqlens" / "data" / "jaspar2016_vertebrates.pfm"


@pytest.fixture(scope="module")
def sp1_yy1():
    by_id = {m.name: m for m in read_jaspar(JASPAR2016)}
    return by_id["MA0079.3"], by_id["MA0095.2"]


@pytest.fixture(scope="module")
def planted(sp1_yy1):
    """Five random 100-mers; SP1's consensus at 10 (+) of #1, YY1's reverse complement at 50 of #3."""
    sp1, yy1 = sp1_yy1
    rng = np.random.default_rng(0)
    seqs = [list("".join(rng.choice(list("ACGT"), 100))) for _ in range(5)]
    seqs[1][10:21] = sp1.consensus()
    seqs[3][50:62] = yy1.reverse_complement().consensus()
    return one_hot(["".join(s) for s in seqs])


def test_scan_finds_planted_instances(sp1_yy1, planted):
    sp1, yy1 = sp1_yy1
    hits = scan([sp1, yy1], planted, threshold=1e-5)
    assert list(hits.columns) == SCAN_COLUMNS
    rows = hits[["motif", "motif_name", "sequence_index", "start", "end", "strand"]].values.tolist()
    assert rows == [["MA0079.3", "SP1", 1, 10, 21, "+"], ["MA0095.2", "YY1", 3, 50, 62, "-"]]
    # the score is sum log2((p + eps) / 0.25) over the window, on the motif's strand
    window = planted[1][:, 10:21]
    expected = (np.log2(sp1.probabilities() + 1e-4) + 2)[window.astype(bool)].sum()
    assert hits.score.iloc[0] == pytest.approx(expected)
    assert (hits.p_value < 1e-6).all()


def test_scan_p_values_match_exact_enumeration():
    rng = np.random.default_rng(1)
    m = Motif(rng.dirichlet(np.full(4, 0.5), size=5).T, name="m")
    X = one_hot(["".join(w) for w in itertools.product("ACGT", repeat=5)])  # every 5-mer once
    hits = scan(m, X, threshold=0.5, reverse_complement=False)
    score = np.einsum("naw,aw->n", X, np.log2(m.probabilities() + 1e-4) + 2)
    exact = np.array([(score >= s - 1e-9).mean() for s in score])  # P(S >= s), uniform letters
    idx = hits.sequence_index.to_numpy()
    np.testing.assert_allclose(hits.score, score[idx], atol=1e-9)
    assert set(np.flatnonzero(exact <= 0.3)) <= set(idx) and (exact[idx] <= 0.8).all()
    # exact up to the 0.1-bit discretisation of the score distribution
    assert np.abs(np.log10(hits.p_value.to_numpy()) - np.log10(exact[idx])).max() < 0.25
    best = hits.loc[hits.score.idxmax()]
    assert best.p_value == pytest.approx(1 / 1024)


def test_scan_ignores_ambiguous_columns(sp1_yy1):
    sp1, _ = sp1_yy1
    all_n = scan(sp1, one_hot(["N" * 40]), threshold=1.0)
    assert len(all_n) == 2 * 30 and (all_n.score == 0).all()  # every window, both strands, scores 0
    assert len(scan(sp1, one_hot(["N" * 40]), threshold=1e-4)) == 0
    masked = one_hot(["AAAA" + sp1.consensus()[:5] + "N" + sp1.consensus()[6:] + "AAAA"])
    full = one_hot(["AAAA" + sp1.consensus() + "AAAA"])
    a = scan(sp1, masked, threshold=1e-3)
    b = scan(sp1, full, threshold=1e-3)
    assert a.start.tolist() == [4] and b.start.tolist() == [4]
    assert a.score.iloc[0] < b.score.iloc[0]  # the N column contributes 0, not the 'A' weight


def test_scan_empty_result_and_tensor_input(sp1_yy1):
    import torch

    sp1, _ = sp1_yy1
    empty = scan(sp1, one_hot(["ACGTACGTACGTACGT"]), threshold=1e-9)
    assert list(empty.columns) == SCAN_COLUMNS and len(empty) == 0
    X = torch.from_numpy(one_hot(["TTTT" + sp1.consensus() + "TTTT"]))
    assert scan(sp1, X[0]).start.tolist() == [4]


def test_motif_scores_against_a_loop(sp1_yy1):
    _, yy1 = sp1_yy1
    rng = np.random.default_rng(2)
    X = rng.dirichlet(np.ones(4), size=(3, 30)).transpose(0, 2, 1)  # soft columns
    bg = [0.3, 0.2, 0.2, 0.3]
    s = motif_scores(yy1, X, background=bg, pseudocount=0.1)
    w = yy1.weights(bg, 0.1)
    w_rc = yy1.reverse_complement().weights(bg, 0.1)
    assert s.shape == (3, 2, 30 - 12 + 1)
    for n in range(3):
        for i in range(19):
            assert s[n, 0, i] == pytest.approx((X[n, :, i:i + 12] * w).sum())
            assert s[n, 1, i] == pytest.approx((X[n, :, i:i + 12] * w_rc).sum())
    # the reverse strand of X is the forward strand of X's reverse complement, read backwards
    np.testing.assert_allclose(motif_scores(yy1, reverse_complement(X), bg, 0.1)[:, 0, ::-1], s[:, 1])
    assert motif_scores(yy1, X, reverse_complement=False).shape == (3, 1, 19)


def test_motif_scores_zero_probability_letters(sp1_yy1):
    sp1, _ = sp1_yy1
    x = one_hot([sp1.consensus() + "A"])
    s = motif_scores(sp1, x, pseudocount=0.0, reverse_complement=False)
    assert np.isfinite(s[0, 0, 0]) and s[0, 0, 0] == pytest.approx(
        np.log2(sp1.probabilities().max(axis=0) / 0.25).sum())
    assert s[0, 0, 1] == -np.inf  # the shifted window holds a letter never seen in the motif
    assert not np.isnan(s).any()


def test_scan_errors(sp1_yy1):
    sp1, _ = sp1_yy1
    X = one_hot(["ACGT" * 5])
    with pytest.raises(ValueError, match="4-letter nucleotide"):
        scan(Motif(np.full((20, 3), 0.05), alphabet=PROTEIN), X)
    with pytest.raises(TypeError, match="Motif objects"):
        scan([sp1.matrix], X)
    with pytest.raises(ValueError, match="at least one motif"):
        scan([], X)
    with pytest.raises(ValueError, match=r"\(N, A, L\)"):
        motif_scores(sp1, np.zeros((2, 2, 4, 10)))
    with pytest.raises(ValueError, match="shorter than motif"):
        motif_scores(sp1, one_hot(["ACGT"]))
    with pytest.raises(ValueError, match="4 letters"):
        scan(sp1, np.zeros((1, 20, 30)))
