import numpy as np
import pytest

from seqlens.simulate import background as bg
from seqlens.simulate.grammar import SimulationError


def _is_one_hot(X):
    return X.dtype == np.float32 and np.all((X == 0) | (X == 1)) and np.all(X.sum(axis=1) == 1)


def test_uniform_shape_one_hot_and_frequencies():
    X = bg.uniform(500, 100, random_state=0)
    assert X.shape == (500, 4, 100) and _is_one_hot(X)
    f = bg.letter_frequencies(X)
    se = np.sqrt(0.25 * 0.75 / X.shape[0] / X.shape[2])
    assert np.all(np.abs(f - 0.25) < 5 * se)


def test_same_seed_same_background_different_seed_differs():
    assert np.array_equal(bg.uniform(20, 30, random_state=3), bg.uniform(20, 30, random_state=3))
    assert not np.array_equal(bg.uniform(20, 30, random_state=3), bg.uniform(20, 30, random_state=4))


def test_gc_content_matches_requested_fraction():
    X = bg.gc_content(400, 100, gc=0.7, random_state=1)
    assert _is_one_hot(X)
    f = bg.letter_frequencies(X)
    se = np.sqrt(0.7 * 0.3 / 40000)
    assert abs(f[1] + f[2] - 0.7) < 5 * se
    assert abs(f[0] - f[3]) < 0.02 and abs(f[1] - f[2]) < 0.02
    np.testing.assert_allclose(bg.gc_frequencies(0.4), [0.3, 0.2, 0.2, 0.3])
    with pytest.raises(SimulationError, match="gc"):
        bg.gc_content(2, 5, gc=1.5)


def test_iid_from_data_reproduces_letter_frequencies():
    freqs = np.array([0.1, 0.2, 0.3, 0.4])
    real = bg.iid(300, 80, freqs, random_state=2)
    np.testing.assert_allclose(bg.letter_frequencies(real), freqs, atol=0.01)
    X = bg.from_data(real, 400, random_state=5)
    assert X.shape == (400, 4, 80)
    np.testing.assert_allclose(bg.letter_frequencies(X), freqs, atol=0.015)
    assert bg.from_data(real, 3, length=7, random_state=0).shape == (3, 4, 7)


def test_profile_is_position_specific():
    p = np.full((4, 6), 0.25)
    p[:, 0] = [1, 0, 0, 0]  # always A
    p[:, 5] = [0, 0, 0, 1]  # always T
    p[:, 2] = [0, 0.5, 0.5, 0]
    X = bg.profile(1000, p, random_state=0)
    assert np.all(X[:, 0, 0] == 1) and np.all(X[:, 3, 5] == 1)
    assert np.all(X[:, [0, 3], 2] == 0)
    assert abs(X[:, 1, 2].mean() - 0.5) < 0.06
    np.testing.assert_allclose(bg.position_frequencies(X)[:, 0], [1, 0, 0, 0])
    Y = bg.make_background("profile", 10, None, X=X, random_state=1)
    assert np.all(Y[:, 0, 0] == 1)


def test_dinucleotide_shuffled_preserves_dinucleotide_counts():
    real = bg.uniform(5, 60, random_state=0)
    X = bg.dinucleotide_shuffled(real, n=12, random_state=1)
    assert X.shape == (12, 4, 60) and _is_one_hot(X)

    def dinuc(x):
        idx = x.argmax(axis=0)
        return np.bincount(idx[:-1] * 4 + idx[1:], minlength=16)

    for i in range(12):
        assert np.array_equal(dinuc(X[i]), dinuc(real[i % 5]))
    assert not np.array_equal(X[0], X[5])  # two independent shuffles of record 0
    assert np.array_equal(X, bg.dinucleotide_shuffled(real, n=12, random_state=1))


def test_make_background_dispatch_and_errors():
    assert bg.make_background("uniform", 3, 10, random_state=0).shape == (3, 4, 10)
    assert bg.make_background("gc", 3, 10, gc=0.2, random_state=0).shape == (3, 4, 10)
    assert bg.make_background("iid", 3, 10, frequencies=[1, 0, 0, 0])[:, 0].all()
    with pytest.raises(SimulationError, match="unknown background"):
        bg.make_background("markov", 3, 10)
    with pytest.raises(SimulationError, match="frequencies"):
        bg.make_background("iid", 3, 10)
    with pytest.raises(SimulationError, match="X="):
        bg.make_background("dinucleotide", 3, 10)
    with pytest.raises(SimulationError, match="length"):
        bg.make_background("dinucleotide", 3, 10, X=bg.uniform(2, 12))
    with pytest.raises(SimulationError, match="non-negative"):
        bg.sample_columns(np.array([[1.0, -1], [0, 1], [0, 1], [0, 1]]), 2)
