import numpy as np
import pytest
from sklearn.metrics import auc, precision_recall_curve, roc_auc_score

from seqlens.interpret.metrics import (
    auroc_aupr,
    cosine_similarity,
    evaluate_attribution,
    information,
    position_scores,
    snr,
)


def make_truth(n=20, L=60, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.full((n, 4, L), 0.25)
    X = np.eye(4)[rng.integers(0, 4, (n, L))].transpose(0, 2, 1)
    for i in range(n):
        s = rng.integers(0, L - 12)
        p = rng.dirichlet(np.full(4, 0.3), size=10).T  # informative columns
        truth[i, :, s:s + 10] = p
        truth[i, :, s + 10] = [0.26, 0.25, 0.25, 0.24]  # weak column: 0 < I < 0.01
        truth[i, :, s + 11] = [0.4, 0.2, 0.2, 0.2]  # 0.01 < I < 0.1
        X[i, :, s:s + 10] = np.eye(4)[p.argmax(0)].T
    return X, truth


def test_information_exact():
    t = np.full((1, 4, 3), 0.25)
    t[0, :, 1] = [1, 0, 0, 0]
    t[0, :, 2] = [0.5, 0.5, 0, 0]
    assert np.allclose(information(t), [[0, 2, 1]])


def test_perfect_map_scores_one_and_noise_half():
    X, truth = make_truth()
    info = information(truth)
    perfect = info[:, None, :] * X  # observed-letter score = information
    roc, pr = auroc_aupr(position_scores(perfect, X), truth, "a")
    assert np.allclose(roc, 1.0) and np.allclose(pr, 1.0)
    roc_b, pr_b = auroc_aupr(position_scores(perfect, X), truth, "b")
    assert np.allclose(roc_b, 1.0) and np.allclose(pr_b, 1.0)
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(2000, 60))
    Xn, tn = make_truth(2000, seed=2)
    roc_n, _ = auroc_aupr(noise, tn, "a")
    assert abs(np.nanmean(roc_n) - 0.5) < 0.02


def test_protocols_match_sklearn_and_exclude_weak_positions():
    X, truth = make_truth(5)
    rng = np.random.default_rng(3)
    s = rng.normal(size=(5, 60))
    info = information(truth)
    roc, pr = auroc_aupr(s, truth, "a")
    roc_b, _ = auroc_aupr(s, truth, "b")
    for i in range(5):
        y = info[i] > 0.01
        assert roc[i] == pytest.approx(roc_auc_score(y, s[i]))
        prec, rec, _ = precision_recall_curve(y, s[i])
        assert pr[i] == pytest.approx(auc(rec, prec))
        keep = ~((info[i] > 0) & (info[i] <= 0.1)) | (info[i] < 1e-6)
        assert keep.sum() == 60 - 2  # the two weak columns are left out
        assert roc_b[i] == pytest.approx(roc_auc_score(info[i][keep] > 0.1, s[i][keep]))
    with pytest.raises(ValueError, match="protocol"):
        auroc_aupr(s, truth, "c")


def test_snr_cosine_exact():
    truth = np.full((1, 4, 6), 0.25)
    truth[0, :, 1] = [1, 0, 0, 0]
    truth[0, :, 2] = [0, 1, 0, 0]
    s = np.array([[1.0, 6.0, 4.0, 2.0, 3.0, 0.5]])
    assert snr(s, truth)[0] == pytest.approx(5.0 / 2.5)  # top-2 background: 3, 2
    assert snr(s, truth, k=1)[0] == pytest.approx(5.0 / 3.0)
    centred = truth - 0.25
    assert cosine_similarity(3 * centred, truth)[0] == pytest.approx(1.0)
    assert cosine_similarity(-centred, truth)[0] == pytest.approx(-1.0)
    assert position_scores(np.ones((1, 4, 6)), reduce="l2")[0, 0] == pytest.approx(2.0)


def test_evaluate_attribution_keys():
    X, truth = make_truth(6)
    m = evaluate_attribution(truth - 0.25, X, truth, prefix="saliency_")
    assert set(m) == {"saliency_auroc", "saliency_aupr", "saliency_auroc_b", "saliency_aupr_b",
                      "saliency_snr", "saliency_cosine"}
    assert m["saliency_cosine"] == pytest.approx(1.0)
