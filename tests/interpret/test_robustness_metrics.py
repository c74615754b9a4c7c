import numpy as np
import pytest
import torch

from seqlens.attribution import saliency
from seqlens.errors import SeqlensError
from seqlens.interpret.robustness import (
    attribution_consistency,
    attribution_robustness,
    map_correlation,
    paired_difference,
)


def _onehot(n, length, seed=0):
    idx = np.random.default_rng(seed).integers(0, 4, (n, length))
    return np.eye(4, dtype=np.float32)[idx].transpose(0, 2, 1)


def _with_correlation(rho, n=6, size=400, seed=0):
    """Two (n, size) arrays whose rows have Pearson correlation exactly rho."""
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal((2, n, size))
    u -= u.mean(1, keepdims=True)
    v -= v.mean(1, keepdims=True)
    v -= (u * v).sum(1, keepdims=True) / (u * u).sum(1, keepdims=True) * u  # orthogonal to u
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return u, rho * u + np.sqrt(1 - rho ** 2) * v


def test_identical_maps_consistency_one_robustness_zero():
    m = np.random.default_rng(1).standard_normal((5, 4, 30))
    assert np.allclose(map_correlation(m, m), 1.0)
    assert attribution_consistency([m, m, m]) == pytest.approx(1.0)
    # a map that does not depend on the input does not move under noise
    assert attribution_robustness(lambda x: m, _onehot(5, 30), sigma=0.1, n_repeats=3,
                                  random_state=0) == pytest.approx(0.0, abs=1e-12)


def test_known_correlation_and_consistency():
    for rho in (0.8, 0.3, -0.5):
        a, b = _with_correlation(rho)
        assert np.allclose(map_correlation(a, b), rho)
        # (N, A, L) maps are flattened per sequence
        assert np.allclose(map_correlation(a.reshape(6, 4, 100), b.reshape(6, 4, 100)), rho)
    a, b = _with_correlation(0.6)
    # pairs (a, a) = 1, (a, b) = (a, b) = 0.6 -> mean (1 + 0.6 + 0.6) / 3
    assert attribution_consistency(np.stack([a, a, b])) == pytest.approx(2.2 / 3)
    per = attribution_consistency([a, -a], per_sequence=True)
    assert per.shape == (6,) and np.allclose(per, -1.0)


def test_observed_reduction_scores_the_letters_of_x():
    X = _onehot(4, 25, seed=3)
    rng = np.random.default_rng(2)
    a = rng.standard_normal(X.shape)
    # b differs from a only at letters that are not observed: observed scores are identical
    b = a + 5.0 * (1 - X) * rng.standard_normal(X.shape)
    assert np.allclose(map_correlation(a, b, X, reduce="observed"), 1.0)
    assert np.all(map_correlation(a, b) < 0.9)
    with pytest.raises(SeqlensError):
        map_correlation(a, b, reduce="observed")  # needs X


def test_linear_model_saliency_is_perfectly_robust():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 20, 1))
    X = _onehot(8, 20)
    change = attribution_robustness(lambda x: saliency(model, x), X, sigma=0.2, n_repeats=2,
                                    random_state=0, per_sequence=True)
    assert change.shape == (8,)
    assert np.allclose(change, 0.0, atol=1e-6)


def test_robustness_of_the_identity_map_has_its_expected_value():
    # map = input: corr(x, x + s e) -> sqrt(var(x) / (var(x) + s^2)), var of a one-hot entry 3/16
    X = _onehot(20, 2000, seed=4)
    sigma = 0.5
    expected = 1 - np.sqrt((3 / 16) / (3 / 16 + sigma ** 2))
    got = attribution_robustness(lambda x: x, X, sigma=sigma, random_state=0)
    assert got == pytest.approx(expected, abs=0.01)
    # the same seed gives the same value; more noise moves the map more
    assert attribution_robustness(lambda x: x, X, sigma=sigma, random_state=0) == got
    assert attribution_robustness(lambda x: x, X, sigma=1.0, random_state=0) > got


def test_paired_difference_known_values():
    r = paired_difference([2.0, 4, 6, 8, 10], [1.0, 2, 3, 4, 5])  # d = 1..5
    assert r["n"] == 5 and r["mean"] == pytest.approx(3.0)
    assert r["sd"] == pytest.approx(np.sqrt(2.5))
    # t(0.975, 4) = 2.776445: half width 2.776445 * sqrt(2.5) / sqrt(5) = 1.963243
    assert r["low"] == pytest.approx(3 - 1.963243, abs=1e-6)
    assert r["high"] == pytest.approx(3 + 1.963243, abs=1e-6)
    assert r["p_t"] == pytest.approx(0.0132356, abs=1e-6)  # t = 4.2426, 4 df
    assert r["p_wilcoxon"] == pytest.approx(2 / 32)  # all 5 signs positive, exact test
    # pairs with NaN are dropped; fewer than 2 pairs give NaN intervals
    r = paired_difference([1.0, np.nan, 3.0], [0.0, 1.0, 1.0])
    assert r["n"] == 2 and r["mean"] == pytest.approx(1.5)
    r = paired_difference([1.0], [0.0])
    assert r["n"] == 1 and np.isnan(r["low"]) and np.isnan(r["p_t"])
    with pytest.raises(SeqlensError):
        paired_difference([1.0, 2.0], [1.0])


def test_bad_input_raises():
    m = np.zeros((2, 4, 5))
    with pytest.raises(SeqlensError):
        attribution_consistency([m])
    with pytest.raises(SeqlensError):
        map_correlation(m, np.zeros((2, 4, 6)))
    with pytest.raises(SeqlensError):
        attribution_robustness(lambda x: x, _onehot(2, 5), sigma=-1.0)
    # a constant map has no correlation: NaN, left out of means
    assert np.all(np.isnan(map_correlation(m, m)))
