"""The Motif type: information content, weights, consensus, reverse complement, trim, sampling."""

import numpy as np
import pandas as pd
import pytest

from seqlens.alphabet import PROTEIN, RNA
from seqlens.motifs import Motif

# columns: A only, A/C half-half, uniform, (0.5, 0.25, 0.25, 0), T only
PROBS = np.array([
    [1.0, 0.5, 0.25, 0.5, 0.0],
    [0.0, 0.5, 0.25, 0.25, 0.0],
    [0.0, 0.0, 0.25, 0.25, 0.0],
    [0.0, 0.0, 0.25, 0.0, 1.0],
])


def test_information_hand_computed():
    info = Motif(PROBS).information()
    # 2 bits; 2 - 1; 2 - 2; 2 - (0.5*1 + 2*0.25*2) = 0.5; 2
    np.testing.assert_allclose(info, [2.0, 1.0, 0.0, 0.5, 2.0], atol=1e-12)
    assert Motif(PROBS).total_information() == pytest.approx(5.5)


def test_information_against_background():
    bg = [0.1, 0.4, 0.4, 0.1]
    info = Motif(PROBS).information(background=bg)
    # [1,0,0,0]: log2(1/0.1); [.5,.5,0,0]: .5 log2(.5/.1) + .5 log2(.5/.4)
    assert info[0] == pytest.approx(np.log2(10))
    assert info[1] == pytest.approx(0.5 * np.log2(5) + 0.5 * np.log2(1.25))
    # the uniform column against a skewed background: relative entropy > 0
    assert info[2] == pytest.approx(0.25 * (2 * np.log2(2.5) + 2 * np.log2(0.625)))
    # background is normalised
    np.testing.assert_allclose(Motif(PROBS).information([1, 4, 4, 1]), info)


def test_counts_and_probabilities_agree_and_pseudocount():
    counts = PROBS * 40
    m = Motif.from_counts(counts)
    assert m.is_counts and m.n_sites == 40
    np.testing.assert_allclose(m.information(), Motif(PROBS).information())
    np.testing.assert_array_equal(m.counts, counts)
    assert Motif(PROBS).counts is None and Motif(PROBS).n_sites is None
    # one site of A, pseudocount 1 per cell: p = (2, 1, 1, 1) / 5
    single = Motif.from_counts([[1], [0], [0], [0]])
    np.testing.assert_allclose(single.probabilities(pseudocount=1)[:, 0], [0.4, 0.2, 0.2, 0.2])
    entropy = -(0.4 * np.log2(0.4) + 3 * 0.2 * np.log2(0.2))
    assert single.information(pseudocount=1)[0] == pytest.approx(2 - entropy)


def test_probabilities_are_column_normalised():
    m = Motif.from_counts([[3, 0], [1, 5], [0, 5], [0, 0]])
    np.testing.assert_allclose(m.probabilities(), [[0.75, 0], [0.25, 0.5], [0, 0.5], [0, 0]])


def test_weights_hand_computed():
    m = Motif(PROBS)
    w = m.weights(pseudocount=0.01)
    # p' = (p + 0.01) / 1.04 ; weight = log2(p' / 0.25)
    assert w[0, 0] == pytest.approx(np.log2(1.01 / 1.04 / 0.25))
    assert w[1, 0] == pytest.approx(np.log2(0.01 / 1.04 / 0.25))
    np.testing.assert_allclose(w[:, 2], 0.0, atol=1e-12)  # uniform column: no evidence
    bg = np.array([0.1, 0.4, 0.4, 0.1])
    with np.errstate(divide="ignore"):
        w0 = m.weights(pseudocount=0.0)
        wb = m.weights(background=bg, pseudocount=0)
    np.testing.assert_allclose(w0[:2, 1], [1.0, 1.0])
    assert np.isneginf(w0[2:, 1]).all()
    np.testing.assert_allclose(wb[:3, 3], np.log2(np.array([0.5, 0.25, 0.25]) / bg[:3]))
    with pytest.raises(ValueError, match="background must have shape"):
        m.weights(background=[0.5, 0.5])


def test_consensus_and_reverse_complement():
    m = Motif.from_counts(np.eye(4)[:, [0, 0, 2, 1, 3]] * 10 + 1, name="m1", alt_name="TF")
    assert m.consensus() == "AAGCT"
    rc = m.reverse_complement()
    assert rc.consensus() == "AGCTT"
    assert rc.name == "m1_rc" and rc.alt_name == "TF" and rc.is_counts
    # rows complemented (A<->T, C<->G), columns reversed
    np.testing.assert_array_equal(rc.matrix, m.matrix[::-1, ::-1])
    np.testing.assert_array_equal(rc.reverse_complement().matrix, m.matrix)
    np.testing.assert_allclose(rc.information(), m.information()[::-1])
    assert RNA.letters == "ACGU"
    rna = Motif(PROBS, alphabet="RNA")
    assert rna.consensus() == "AAAAU"
    # ties go to the first letter in alphabet order: uniform -> A, (G .5, U .5) -> G
    assert rna.reverse_complement().consensus() == "AUAGU"


def test_trim_keeps_exactly_informative_span():
    # information per column: 0, 2, 0 (uniform, inside the span), 1, 0, 0
    cols = np.array([[.25, 1, .25, .5, .25, .25],
                     [.25, 0, .25, .5, .25, .25],
                     [.25, 0, .25, 0, .25, .25],
                     [.25, 0, .25, 0, .25, .25]])
    m = Motif(cols, name="x")
    np.testing.assert_allclose(m.information(), [0, 2, 0, 1, 0, 0], atol=1e-12)
    t = m.trim(min_information=0.5)
    np.testing.assert_array_equal(t.matrix, cols[:, 1:4])
    assert t.name == "x"
    np.testing.assert_array_equal(m.trim(0.5, pad=1).matrix, cols[:, 0:5])
    np.testing.assert_array_equal(m.trim(0.5, pad=10).matrix, cols)
    np.testing.assert_array_equal(m.trim(1.5).matrix, cols[:, 1:2])
    assert m.trim(5.0) is m  # nothing informative: whole motif
    np.testing.assert_array_equal(m[2:4].matrix, cols[:, 2:4])
    with pytest.raises(TypeError):
        m[1]


def test_sample_frequencies_and_determinism():
    m = Motif(PROBS)
    x = m.sample(20000, random_state=0)
    assert x.shape == (20000, 4, 5) and x.dtype == np.float32
    np.testing.assert_array_equal(x.sum(axis=1), 1.0)
    freq = x.mean(axis=0)
    # binomial standard error at n = 20000 is at most 0.0036; allow 5 sigma
    np.testing.assert_allclose(freq, PROBS, atol=0.018)
    assert (freq[PROBS == 0] == 0).all()  # impossible letters are never drawn
    np.testing.assert_array_equal(m.sample(50, random_state=3), m.sample(50, random_state=3))
    assert not np.array_equal(m.sample(50, random_state=3), m.sample(50, random_state=4))


def test_to_dataframe():
    m = Motif.from_counts(PROBS * 4)
    df = m.to_dataframe()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list("ACGT") and df.shape == (5, 4)
    np.testing.assert_allclose(df.to_numpy(), PROBS.T)
    np.testing.assert_allclose(m.to_dataframe("counts").to_numpy(), PROBS.T * 4)
    np.testing.assert_allclose(m.to_dataframe("information").to_numpy().sum(axis=1),
                               [2.0, 1.0, 0.0, 0.5, 2.0])
    with pytest.raises(ValueError, match="no counts"):
        Motif(PROBS).to_dataframe("counts")
    with pytest.raises(ValueError, match="kind"):
        m.to_dataframe("logo")


def test_protein_motif():
    uniform = Motif(np.full((20, 3), 0.05), alphabet=PROTEIN)
    np.testing.assert_allclose(uniform.information(), 0.0, atol=1e-12)
    onehot = Motif(np.eye(20)[:, [0, 19]], alphabet="protein")
    np.testing.assert_allclose(onehot.information(), np.log2(20))
    assert onehot.consensus() == "AY"


@pytest.mark.parametrize("matrix, message", [
    (np.ones((3, 5)), r"\(A=4, W\)"),
    (np.ones(4), r"\(A=4, W\)"),
    (np.ones((4, 0)), "width 0"),
    (np.array([[1.0, -1], [0, 1], [0, 1], [0, 1]]), "non-negative"),
    (np.array([[1.0, np.nan], [0, 1], [0, 1], [0, 1]]), "finite"),
    (np.array([[1.0, 0], [0, 0], [0, 0], [0, 0]]), "column 2 sums to zero"),
])
def test_bad_matrices(matrix, message):
    with pytest.raises(ValueError, match=message):
        Motif(matrix, name="bad")
