import numpy as np
import pytest

from seqlens.msa import Alignment, Potts
from seqlens.msa.sampling import (
    exact_marginals,
    nearest_hamming,
    potts_energy,
    sample,
    sample_potts,
    sample_statistics,
)


def _small_potts(L=4, Q=3, seed=0, scale=0.8):
    rng = np.random.default_rng(seed)
    h = rng.normal(scale=scale, size=(L, Q))
    J = rng.normal(scale=scale, size=(L, Q, L, Q))
    J = 0.5 * (J + J.transpose(2, 3, 0, 1))
    for i in range(L):
        J[i, :, i, :] = 0
    return h, J


def _emp(X, L, Q):
    oh = np.zeros((len(X), L, Q))
    oh[np.arange(len(X))[:, None], np.arange(L)[None], X] = 1
    return oh.mean(0), np.einsum("nia,njb->iajb", oh, oh) / len(X)


@pytest.mark.parametrize("method", ["gibbs", "metropolis"])
def test_sampling_reproduces_exact_marginals(method):
    L, Q = 4, 3
    h, J = _small_potts(L, Q)
    fi, fij, _ = exact_marginals(h, J)
    X = sample_potts(h, J, 6000, method=method, burn_in=30, thin=3, n_chains=500, random_state=1)
    ei, eij = _emp(X, L, Q)
    # 6000 draws: standard error of a frequency <= 0.0065 (plus mild chain correlation)
    assert np.abs(ei - fi).max() < 0.03
    assert np.abs(eij - fij).max() < 0.03


def test_temperature_and_fixed_positions():
    L, Q = 4, 3
    h, J = _small_potts(L, Q, seed=2)
    T = 0.5
    fi, _, _ = exact_marginals(h, J, temperature=T)
    X = sample_potts(h, J, 4000, temperature=T, burn_in=30, thin=2, n_chains=400, random_state=3,
                     fixed={1: 2})
    assert (X[:, 1] == 2).all()
    # exact conditional marginals given x_1 = 2: clamp by a large field
    h2 = h.copy()
    h2[1] = [-50, -50, 0]
    fi2, _, _ = exact_marginals(h2, J, temperature=T)
    ei, _ = _emp(X, L, Q)
    assert np.abs(ei - fi2).max() < 0.035
    assert not np.allclose(fi, fi2, atol=0.05)  # the clamp matters


def test_energy_and_determinism():
    h, J = _small_potts(5, 3, seed=4)
    X = sample_potts(h, J, 50, burn_in=5, thin=1, random_state=7)
    Y = sample_potts(h, J, 50, burn_in=5, thin=1, random_state=7)
    assert np.array_equal(X, Y)
    x = X[0]
    e = sum(h[i, x[i]] for i in range(5))
    e += sum(J[i, x[i], j, x[j]] for i in range(5) for j in range(i + 1, 5))
    assert potts_energy(h, J, X[:1])[0] == pytest.approx(e)


def test_nearest_hamming_and_statistics():
    nat = np.array([[0, 1, 2, 0], [1, 1, 1, 1], [2, 2, 2, 2]])
    s = np.array([[0, 1, 2, 1], [2, 2, 0, 0], [1, 1, 1, 1]])
    assert list(nearest_hamming(s, nat)) == [1, 2, 0]
    rng = np.random.default_rng(0)
    big = rng.integers(0, 3, size=(400, 6))
    st = sample_statistics(big, big, q=3)
    assert st["single_site_correlation"] == pytest.approx(1.0)
    assert st["pair_correlation"] == pytest.approx(1.0)
    assert st["mean_nearest_hamming"] == 0


def test_sample_from_fitted_potts_model():
    rows = ["ACDE", "ACDE", "GCDE", "ACKE", "AWDE", "GWKE"]
    msa = Alignment.from_rows(rows, focus=True)
    m = Potts(lambda_J=0.5, max_iter=10, identity=None, gaps="state", n_threads=1).fit(msa)
    seqs = sample(m, 20, burn_in=5, thin=1, fixed=[0])
    assert len(seqs) == 20 and all(len(s) == 4 and s[0] == "A" for s in seqs)
