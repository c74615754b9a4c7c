"""GLIFAC on synthetic activations with planted interacting filter pairs, and exact small cases."""

import numpy as np
import pandas as pd
import pytest
import torch

from seqlens.interpret import interactions as ia

torch.set_num_threads(1)

LABELS = ["A", "A", "E", "B", "F", "C", "D", None]
TRUE = [("A", "B"), ("C", "D")]


def planted(n=400, length=20, n_filters=8, seed=0):
    """Noise activations and near-uniform attention; in half of the sequences filter 0 (motif A) at
    i attends to filter 3 (B) at j, in the other half filter 5 (C) attends to filter 6 (D).
    Decoy: filters 2 (E) and 4 (F) fire strongly but at random, un-attended positions."""
    rng = np.random.default_rng(seed)
    act = rng.exponential(0.3, size=(n, n_filters, length)).astype(np.float32)
    att = rng.dirichlet(np.ones(length) * 50, size=(n, length)).astype(np.float32)  # ~1/L each
    for s in range(n):
        i, j = rng.choice(length, 2, replace=False)
        a, b = (0, 3) if s % 2 == 0 else (5, 6)
        strength = rng.uniform(2, 4)
        act[s, a, i] += strength
        act[s, b, j] += strength * rng.uniform(0.8, 1.2)
        att[s, i, j] = 0.6
        k = rng.choice(length, 2)
        act[s, 2, k[0]] += 3
        act[s, 4, k[1]] += 3
    return att, act


def test_glifac_recovers_planted_pairs():
    att, act = planted()
    res = ia.glifac(att, act, LABELS, threshold=0.3, random_fraction=0.02, random_state=0)
    assert res.n_attended == 400 and res.n_pairs > 400
    S = res.filter_matrix
    assert S.shape == (8, 8) and np.allclose(S, S.T)
    off = np.abs(S.copy())
    top2 = {tuple(sorted(np.unravel_index(k, S.shape))) for k in np.argsort(off.ravel())[::-1][:4]}
    assert top2 == {(0, 3), (5, 6)}
    assert S[0, 3] > 0.5 and S[5, 6] > 0.5
    M = res.motif_matrix
    assert list(M.index) == ["A", "B", "C", "D", "E", "F"]
    assert M.loc["A", "B"] == pytest.approx(S[0, 3])  # max |.| over filters 0/1 x 3
    ev = ia.evaluate_interactions(M, TRUE)
    assert ev["auroc"] == 1.0 and ev["aupr"] == 1.0 and ev["top_pairs_true"] == 2
    assert ev["n_true"] == 2 and ev["n_pairs"] == 15 and ev["snr"] > 5
    # motifs given explicitly, one that no filter carries scores 0
    ev2 = ia.evaluate_interactions(M, TRUE + [("G", "A")], motifs=list("ABCDEFG"))
    assert ev2["n_pairs"] == 21 and ev2["n_true"] == 3 and ev2["auroc"] < 1.0


def test_naive_attention_reading_has_false_positives():
    att, act = planted()
    naive = ia.naive_attention_interactions(att, act, LABELS, top_k=5)
    assert naive.loc["A", "B"] > 0 and np.allclose(naive.to_numpy(), naive.to_numpy().T)
    pt = ia.pair_table(naive, TRUE)
    # the strongest attention entry is the planted pair, but the other top entries land on decoys
    assert (pt.loc[~pt["true"], "score"] > 0.05).all()  # every false pair is "found" in some sequence
    res = ia.glifac(att, act, LABELS, threshold=0.3, random_fraction=0.02, random_state=0)
    glifac_false = ia.pair_table(res.motif_matrix, TRUE).query("~true")["score"]
    assert glifac_false.max() < 0.15
    snr_naive = ia.evaluate_interactions(naive, TRUE)["snr"]
    assert ia.evaluate_interactions(res.motif_matrix, TRUE)["snr"] > 2 * snr_naive


def test_filter_correlations_match_numpy():
    rng = np.random.default_rng(1)
    act = rng.normal(size=(30, 4, 6))
    pairs = np.array([[n, i, j] for n in range(30) for i in range(6) for j in range(6)
                      if (n + i + j) % 3 == 0])
    C = ia.filter_correlations(act, pairs)
    U = act[pairs[:, 0], :, pairs[:, 1]]
    V = act[pairs[:, 0], :, pairs[:, 2]]
    full = np.corrcoef(U.T, V.T)[:4, 4:]
    np.testing.assert_allclose(C, full, atol=1e-12)
    act[:, 2] = 1.0  # constant filter -> 0, not NaN
    C = ia.filter_correlations(act, pairs)
    assert (C[2] == 0).all() and (C[:, 2] == 0).all()


def test_symmetrize_zero_same_motif_and_motif_matrix_exact():
    C = np.array([[1.0, 0.2, -0.9], [0.5, 1.0, 0.1], [0.3, -0.4, 1.0]])
    S = ia.symmetrize(C)
    np.testing.assert_allclose(S, [[1.0, 0.5, -0.9], [0.5, 1.0, -0.4], [-0.9, -0.4, 1.0]])
    Z = ia.zero_same_motif(S, ["X", "X", "Y"])
    np.testing.assert_allclose(Z, [[0, 0, -0.9], [0, 0, -0.4], [-0.9, -0.4, 0]])
    Z2 = ia.zero_same_motif(S, [None, None, "Y"])  # unlabelled filters are not "the same motif"
    assert Z2[0, 1] == 0.5
    M = ia.motif_matrix(Z, ["X", "X", "Y"])
    assert M.loc["X", "Y"] == -0.9 and M.loc["Y", "X"] == -0.9 and M.loc["X", "X"] == 0
    with pytest.raises(ValueError, match="one label per filter"):
        ia.motif_matrix(Z, ["X"])


def test_select_position_pairs():
    att = np.zeros((3, 5, 5))
    att[0, 1, 2] = att[2, 4, 0] = 0.9
    att[1, 3, 3] = 0.9  # diagonal, dropped
    p = ia.select_position_pairs(att, threshold=0.5, random_fraction=0.0)
    assert sorted(map(tuple, p)) == [(0, 1, 2), (2, 4, 0)]
    p = ia.select_position_pairs(att, threshold=0.5, random_fraction=0.5, random_state=0)
    assert len(p) == 2 + round(0.5 * (3 * 20 - 2))
    assert len({tuple(r) for r in p}) == len(p) and (p[:, 1] != p[:, 2]).all()
    p2 = ia.select_position_pairs(att, threshold=0.5, random_fraction=0.5, random_state=0)
    np.testing.assert_array_equal(p, p2)
    p = ia.select_position_pairs(att, threshold=0.5, random_fraction=1.0, max_pairs=10, random_state=0)
    assert len(p) <= 10


def test_model_readers_on_a_tiny_cnn_attention():
    from seqlens.models.attention import CNNAttention

    torch.manual_seed(0)
    model = CNNAttention(seq_length=40, filters=8, kernel_size=5, pool=4, heads=2, dense=8,
                         activation="relu")
    X = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (10, 40))].transpose(0, 2, 1)
    att = ia.attention_maps(model, X, device="cpu", batch_size=4)
    assert att.shape == (10, 10, 10)
    np.testing.assert_allclose(att.max(), att.max())  # finite
    heads = ia.attention_maps(model, X, reduce=None, device="cpu")
    np.testing.assert_allclose(heads.max(axis=1), att, atol=1e-6)
    np.testing.assert_allclose(heads.sum(-1), 1.0, atol=1e-5)
    act = ia.pooled_activations(model, X, device="cpu")
    assert act.shape == (10, 8, 10)
    res = ia.glifac_from_model(model, X, threshold=0.0, random_fraction=0.0, device="cpu")
    assert res.filter_matrix.shape == (8, 8) and isinstance(res.motif_matrix, pd.DataFrame)
    with pytest.raises(TypeError, match="attention_maps"):
        ia.attention_maps(torch.nn.Conv1d(4, 2, 3), X)


def test_heatmaps_render(tmp_path):
    from seqlens.plot.curves import save_figure
    from seqlens.plot.interactions import plot_interaction_heatmap, plot_pair_scores

    att, act = planted(n=60)
    res = ia.glifac(att, act, LABELS, threshold=0.3, random_fraction=0.02, random_state=0)
    for k, fig in enumerate([plot_interaction_heatmap(res.motif_matrix, true_pairs=TRUE),
                             plot_interaction_heatmap(res.filter_matrix, labels=res.labels),
                             plot_pair_scores(ia.pair_table(res.motif_matrix, TRUE))]):
        assert save_figure(fig, tmp_path / f"h{k}.png").stat().st_size > 1000


def test_quantile_threshold():
    att, act = planted()
    thr = ia.attention_threshold(att, 0.995)
    assert 0.06 < thr < 0.1  # just above the noise, below the planted 0.6
    p = ia.select_position_pairs(att, quantile=0.995, random_fraction=0.0)
    assert len(p) == int((att[:, ~np.eye(20, dtype=bool)] > thr).sum())
    res = ia.glifac(att, act, LABELS, quantile=0.995, random_fraction=0.02, random_state=0)
    assert res.params["threshold"] == pytest.approx(thr)
    assert ia.evaluate_interactions(res.motif_matrix, TRUE)["auroc"] == 1.0


def test_quantile_keeps_saturated_ties():
    att = np.zeros((10, 4, 4))
    att[:, 0, 1] = 1.0  # 10 of 120 off-diagonal entries saturate at exactly 1
    att[:3, 2, 3] = 0.5
    p = ia.select_position_pairs(att, quantile=0.95, random_fraction=0.0)
    assert len(p) == 10 and (p[:, 1:] == [0, 1]).all()
