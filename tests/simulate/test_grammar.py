import numpy as np
import pandas as pd
import pytest

from seqlens.alphabet import decode, one_hot
from seqlens.motifs.motif import Motif
from seqlens.simulate import background as bg
from seqlens.simulate.datasets import get_motifs
from seqlens.simulate.grammar import (
    SimulationError,
    choose_motifs,
    embed,
    instance_mask,
    random_positions,
    sample_counts,
    signal_mask,
    simulate_sequences,
)

# a deterministic motif AACG (one-hot probabilities) and a two-column motif with a 50/50 column
DET = Motif.from_probabilities(one_hot("AACG")[0], name="det")
HALF = Motif.from_probabilities([[0.5, 0.0], [0.0, 1.0], [0.5, 0.0], [0.0, 0.0]], name="half")


def test_embed_writes_instance_and_truth_exactly():
    X = one_hot(["TTTTTTTTTT", "GGGGGGGGGG"])
    inst = pd.DataFrame({"seq": [0, 1], "motif": ["det", "det"], "start": [2, 5], "strand": ["+", "-"]})
    Xo, truth, table = embed(X, [DET], inst, random_state=0)
    assert decode(Xo) == ["TTAACGTTTT", "GGGGGCGTTG"]  # RC of AACG is CGTT
    assert np.array_equal(X, one_hot(["TTTTTTTTTT", "GGGGGGGGGG"]))  # input untouched
    np.testing.assert_array_equal(truth[0, :, 2:6], one_hot("AACG")[0])
    np.testing.assert_array_equal(truth[1, :, 5:9], one_hot("CGTT")[0])
    assert np.all(truth[0, :, :2] == 0.25) and np.all(truth[0, :, 6:] == 0.25)
    assert np.all(truth[1, :, :5] == 0.25) and np.all(truth[1, :, 9:] == 0.25)
    assert table[["seq", "motif", "start", "end", "strand"]].values.tolist() == [
        [0, "det", 2, 6, "+"], [1, "det", 5, 9, "-"]]


def test_embed_samples_from_pwm_not_consensus():
    X = bg.uniform(4000, 5, random_state=0)
    inst = pd.DataFrame({"seq": np.arange(4000), "motif": 0, "start": 1, "strand": "+"})
    Xo, truth, _ = embed(X, [HALF], inst, random_state=1)
    col = Xo[:, :, 1]
    assert col[:, 1].sum() == 0 and col[:, 3].sum() == 0
    se = np.sqrt(0.25 / 4000)
    assert abs(col[:, 0].mean() - 0.5) < 5 * se  # A half the time, G the other half
    assert np.all(Xo[:, 1, 2] == 1)
    np.testing.assert_allclose(truth[0, :, 1:3], HALF.probabilities())


def test_embedded_letter_frequencies_match_jaspar_pwm_both_strands():
    (sp1,) = get_motifs(["MA0079.3"])
    n = 3000
    X = bg.uniform(n, 30, random_state=0)
    inst = pd.DataFrame({"seq": np.arange(n), "motif": 0, "start": 7,
                         "strand": np.where(np.arange(n) % 2 == 0, "+", "-")})
    Xo, truth, _ = embed(X, [sp1], inst, random_state=2)
    W = sp1.width
    for strand, p in (("+", sp1.probabilities()), ("-", sp1.reverse_complement().probabilities())):
        rows = inst["strand"].to_numpy() == strand
        freq = Xo[rows][:, :, 7:7 + W].mean(axis=0)
        se = np.sqrt(p * (1 - p) / rows.sum()) + 1e-3
        assert np.all(np.abs(freq - p) < 5 * se)
        np.testing.assert_allclose(truth[rows][:, :, 7:7 + W], np.broadcast_to(p, (rows.sum(), 4, W)),
                                   rtol=1e-6)


def test_simulated_truth_marks_exactly_the_instances():
    motifs = get_motifs(["MA0151.1", "MA0466.2", "MA0083.3", "MA0095.2"])
    X, truth, table = simulate_sequences(400, 120, motifs, random_state=3)
    assert X.shape == truth.shape == (400, 4, 120)
    mask = instance_mask(table, 400, 120)
    assert np.array_equal(signal_mask(truth), mask)
    # the observed base is possible under the generating column everywhere
    observed_p = (X * truth).sum(axis=1)
    assert np.all(observed_p > 0)
    # instances use the forward or RC matrix according to their strand
    names = [m.alt_name for m in motifs]
    for row in table.itertuples():
        m = motifs[names.index(row.motif)]
        p = m.probabilities() if row.strand == "+" else m.reverse_complement().probabilities()
        np.testing.assert_allclose(truth[row.seq, :, row.start:row.end], p, rtol=1e-6)
    assert set(table["strand"]) == {"+", "-"}


def test_background_is_kept_outside_instances():
    motifs = get_motifs(["MA0062.2", "MA0058.3"])
    back = bg.gc_content(50, 80, gc=0.8, random_state=0)
    X, _, table = simulate_sequences(50, 80, motifs, background=back, random_state=1)
    outside = ~instance_mask(table, 50, 80)
    assert np.array_equal(X.transpose(0, 2, 1)[outside], back.transpose(0, 2, 1)[outside])
    X2, _, _ = simulate_sequences(50, 80, motifs, background="gc", gc=0.8, random_state=1)
    assert X2.shape == (50, 4, 80)


def test_random_positions_no_overlap_bounds_and_gap():
    rng = np.random.default_rng(0)
    seq = np.repeat(np.arange(300), rng.integers(1, 6, size=300))
    widths = rng.integers(3, 15, size=len(seq))
    starts = random_positions(widths, seq, 100, min_gap=2, random_state=1)
    assert np.all(starts >= 0) and np.all(starts + widths <= 100)
    for s in range(300):
        idx = np.flatnonzero(seq == s)
        order = idx[np.argsort(starts[idx])]
        gaps = starts[order][1:] - (starts[order][:-1] + widths[order][:-1])
        assert np.all(gaps >= 2)


def test_random_positions_uniform_over_arrangements():
    # two width-1 items in length 3: 6 equally likely (ordered) arrangements
    n = 6000
    seq = np.repeat(np.arange(n), 2)
    st = random_positions(np.ones(2 * n, dtype=int), seq, 3, random_state=0).reshape(n, 2)
    assert np.all(st[:, 0] != st[:, 1])
    _, counts = np.unique(st[:, 0] * 3 + st[:, 1], return_counts=True)
    assert len(counts) == 6
    assert np.all(np.abs(counts / n - 1 / 6) < 5 * np.sqrt((1 / 6) * (5 / 6) / n))
    # one item of width 5 in length 20: start uniform on 0..15
    one = random_positions(np.full(8000, 5), np.arange(8000), 20, random_state=1)
    assert one.min() == 0 and one.max() == 15
    assert abs(one.mean() - 7.5) < 5 * np.sqrt((16**2 - 1) / 12 / 8000)


def test_tight_fit_is_placed_contiguously():
    st = random_positions([4, 6], [0, 0], 10, random_state=0)
    assert sorted(zip(st, [4, 6])) in ([(0, 4), (4, 6)], [(0, 6), (6, 4)])


def test_impossible_requests_raise_clear_errors():
    with pytest.raises(SimulationError, match=r"do not fit: sequence 1 needs 30 positions .* length is 25"):
        random_positions([10, 10, 10, 10], [0, 1, 1, 1], 25)
    motifs = get_motifs(["MA0083.3", "MA0502.1"])  # widths 16 and 15
    with pytest.raises(SimulationError, match="do not fit"):
        simulate_sequences(10, 25, motifs, counts=2, replace=False, random_state=0)
    X = bg.uniform(2, 10, random_state=0)
    with pytest.raises(SimulationError, match=r"instance 0: motif 'det' \(width 4\) at start 8 .* length 10"):
        embed(X, [DET], {"seq": [0], "motif": [0], "start": [8]})
    with pytest.raises(SimulationError, match="overlap in sequence 1"):
        embed(X, [DET], {"seq": [1, 1], "motif": [0, 0], "start": [0, 3]})
    with pytest.raises(SimulationError, match="unknown motif 'nope'"):
        embed(X, [DET], {"seq": [0], "motif": ["nope"], "start": [0]})
    with pytest.raises(SimulationError, match="strand"):
        embed(X, [DET], {"seq": [0], "motif": [0], "start": [0], "strand": ["x"]})
    with pytest.raises(SimulationError, match="sequence index 5"):
        embed(X, [DET], {"seq": [5], "motif": [0], "start": [0]})
    with pytest.raises(SimulationError, match="distinct motifs"):
        choose_motifs([3], 2, replace=False)
    Xo, _, _ = embed(X, [DET], {"seq": [1, 1], "motif": [0, 0], "start": [0, 3]}, allow_overlap=True)
    assert Xo.shape == X.shape


def test_sample_counts_follow_probabilities():
    p = np.array([0.50, 0.25, 0.17, 0.05, 0.03])
    k = sample_counts(20000, (1, 2, 3, 4, 5), p, random_state=0)
    freq = np.bincount(k, minlength=6)[1:] / len(k)
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / len(k)))
    assert np.all(sample_counts(5, 3) == 3)
    with pytest.raises(SimulationError, match="one non-negative probability per count"):
        sample_counts(5, (1, 2), (1.0,))


def test_choose_motifs_without_replacement_and_weights():
    counts = np.array([3, 1, 0, 4] * 500)
    seq, m = choose_motifs(counts, 4, replace=False, random_state=0)
    assert np.array_equal(seq, np.repeat(np.arange(len(counts)), counts))
    for s in range(8):
        assert len(set(m[seq == s])) == counts[s]
    _, m1 = choose_motifs(np.ones(20000, dtype=int), 3, weights=[2, 1, 1], random_state=1)
    assert abs((m1 == 0).mean() - 0.5) < 0.02
    _, m2 = choose_motifs(np.full(10000, 2), 3, weights=[0, 1, 1], replace=False, random_state=1)
    assert not (m2 == 0).any()


def test_simulate_sequences_is_deterministic():
    motifs = get_motifs(["MA0151.1", "MA0466.2"])
    a = simulate_sequences(30, 60, motifs, random_state=7)
    b = simulate_sequences(30, 60, motifs, random_state=7)
    c = simulate_sequences(30, 60, motifs, random_state=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2].equals(b[2])
    assert not np.array_equal(a[0], c[0])
    plus = simulate_sequences(30, 60, motifs, strand="+", random_state=7)[2]
    assert set(plus["strand"]) == {"+"}


def test_simulate_on_dinucleotide_shuffled_real_sequences():
    real = bg.gc_content(20, 90, gc=0.7, random_state=0)
    motifs = get_motifs(["MA0079.3"])
    X, truth, table = simulate_sequences(40, 90, motifs, counts=1, background="dinucleotide", X=real,
                                         random_state=4)
    back = bg.dinucleotide_shuffled(real, n=40, random_state=np.random.default_rng(4))
    outside = ~instance_mask(table, 40, 90)
    assert np.array_equal(X.transpose(0, 2, 1)[outside], back.transpose(0, 2, 1)[outside])
    assert np.array_equal(signal_mask(truth), ~outside)


def test_arrange_spacing_orientation_and_order_rules():
    from seqlens.simulate import Arrangement, arrange

    motifs = dict(zip(["A", "B", "C"], get_motifs(["MA0473.2", "MA0631.1", "MA0466.2"])))
    pair = Arrangement(("A", "B"), gaps=((3, 6),), strands="same", either_order=True)
    trio = Arrangement(("C", "A", "C"), gaps=(0, 2), strands=("+", "-", "+"))
    n = 400
    which = np.arange(n) % 2
    singles = {"seq": np.arange(n), "motif": ["C"] * n}
    table = arrange([pair, trio], np.arange(n), which, motifs, 120, singles=singles, random_state=0)
    assert len(table) == n * 2.5 + n
    X, truth, out = embed(bg.uniform(n, 120, random_state=1), motifs, table, random_state=2)
    assert np.array_equal(signal_mask(truth), instance_mask(out, n, 120))  # no overlaps (embed checks)
    orders = set()
    for _, g in out[out["group"] >= 0].groupby("group"):
        g = g.sort_values("start")
        gaps = g["start"].to_numpy()[1:] - g["end"].to_numpy()[:-1]
        if g["arrangement"].iat[0] == 0:
            assert 3 <= gaps[0] <= 6 and g["strand"].nunique() == 1
            orders.add(tuple(g["motif"]))
        else:
            assert list(g["motif"]) == ["C", "A", "C"] and list(g["strand"]) == ["+", "-", "+"]
            assert gaps.tolist() == [0, 2]
    assert orders == {("A", "B"), ("B", "A")}
    assert (out["group"] == -1).sum() == n
    with pytest.raises(SimulationError, match="needs 1 gaps"):
        Arrangement(("A", "B"), gaps=(1, 2))
    with pytest.raises(SimulationError, match="strands"):
        Arrangement(("A", "B"), strands="diagonal")
