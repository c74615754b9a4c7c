"""Surrogate models (SQUID-style): libraries, model queries, GE/pairwise/ridge fits, gauges."""

import numpy as np
import pytest
import torch
from torch import nn

from seqlens.errors import SequenceError
from seqlens.interpret.surrogate import (
    RidgeSurrogate,
    Surrogate,
    codes_to_one_hot,
    combinatorial_library,
    deduplicate,
    fit_quality,
    fix_gauge,
    mutagenesis_library,
    predict_library,
    predictive_information,
)

A = 4


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    from threadpoolctl import threadpool_limits

    n = torch.get_num_threads()
    torch.set_num_threads(1)  # small ops: threads only add synchronisation cost on shared cores
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(n)


def _random_seq(L, seed=0):
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), L))


def _additive_phi(codes, theta):
    return theta[np.arange(theta.shape[0]), codes].sum(1)


class CodesOracle(nn.Module):
    """Wrap a numpy function of integer codes (N, L) as a model of one-hot input."""

    def __init__(self, fn, n_outputs=None):
        super().__init__()
        self.fn, self.n_outputs = fn, n_outputs

    def forward(self, x):
        v = torch.as_tensor(self.fn(x.argmax(1).numpy()), dtype=torch.float32)
        return v if self.n_outputs is None else torch.stack([v * (k + 1) for k in range(self.n_outputs)], 1)


# ---------------------------------------------------------------------------------------------
# libraries


def test_library_random_local():
    seq = _random_seq(60)
    lib = mutagenesis_library(seq, n=4000, rate=0.1, window=(10, 30), random_state=1)
    assert lib.codes.shape == (4000, 60) and lib.codes.dtype == np.uint8
    assert np.array_equal(lib.codes[0], lib.wild_type) and lib.n_mutations[0] == 0
    assert lib.sequences([0])[0] == seq
    # flanks untouched, mutations only in the window, counts ~ Poisson(rate * W = 2)
    assert np.array_equal(lib.codes[:, :10], np.repeat(lib.wild_type[None, :10], 4000, 0))
    assert np.array_equal(lib.codes[:, 30:], np.repeat(lib.wild_type[None, 30:], 4000, 0))
    diff = (lib.codes != lib.wild_type).sum(1)
    assert np.array_equal(diff, lib.n_mutations)
    assert abs(diff[1:].mean() - 2.0) < 0.1 and abs(diff[1:].var() - 2.0) < 0.2
    # every mutated letter is uniform over the three others
    changed = lib.codes[:, 10:30] != lib.wild_type[None, 10:30]
    shift = (lib.codes[:, 10:30].astype(int) - lib.wild_type[None, 10:30]) % 4
    freq = np.bincount(shift[changed], minlength=4)[1:] / changed.sum()
    assert np.allclose(freq, 1 / 3, atol=0.03)
    # same seed, same library
    again = mutagenesis_library(seq, n=4000, rate=0.1, window="10:30", random_state=1)
    assert np.array_equal(again.codes, lib.codes)
    X = lib.one_hot(slice(0, 5))
    assert X.shape == (5, 4, 60) and np.allclose(X.sum(1), 1)


def test_library_fixed_and_global():
    seq = _random_seq(80, 3)
    lib = mutagenesis_library(seq, n=300, n_mutations=3, window=(30, 50), random_state=0)
    assert np.all(lib.n_mutations[1:] == 3) and np.all((lib.codes != lib.wild_type).sum(1)[1:] == 3)
    glob = mutagenesis_library(seq, n=50, rate=0.0, window=(30, 50), mode="global", random_state=0)
    assert np.array_equal(glob.codes[0], glob.wild_type)
    # window kept (rate 0), flanks shuffled: a different background per variant
    assert np.all(glob.codes[:, 30:50] == glob.wild_type[30:50])
    assert (glob.codes[1:, :30] != glob.wild_type[:30]).any(1).mean() > 0.9
    # a new background per variant (dinucleotide shuffles of the wild type)
    assert len(np.unique(glob.codes[1:, :30], axis=0)) >= 45


def test_combinatorial_library():
    seq = _random_seq(30, 5)
    lib = combinatorial_library(seq, window=(5, 15))
    W = 10
    assert len(lib) == 1 + W * 3 + W * (W - 1) // 2 * 9
    assert len(np.unique(lib.codes, axis=0)) == len(lib)
    assert np.array_equal(np.bincount(lib.n_mutations), [1, W * 3, W * (W - 1) // 2 * 9])
    singles = combinatorial_library(seq, window=(5, 15), max_order=1)
    assert len(singles) == 31


def test_library_errors():
    with pytest.raises(SequenceError):
        mutagenesis_library("ACGTNACGT", n=10)
    with pytest.raises(ValueError, match="outside"):
        mutagenesis_library("ACGTACGT", n=10, window=(3, 20))
    with pytest.raises(ValueError, match="mode"):
        mutagenesis_library("ACGTACGT", n=10, mode="sideways")


def test_predict_library_targets_and_reduce():
    seq = _random_seq(40, 2)
    lib = mutagenesis_library(seq, n=1000, rate=0.05, random_state=0)
    theta = np.random.default_rng(0).normal(size=(40, 4))
    oracle = CodesOracle(lambda c: _additive_phi(c, theta))
    y = predict_library(oracle, lib, batch_size=128, device="cpu")
    assert y.shape == (1000,)
    assert np.allclose(y, _additive_phi(lib.codes.astype(int), theta), atol=1e-4)
    multi = CodesOracle(lambda c: _additive_phi(c, theta), n_outputs=3)
    y2 = predict_library(multi, lib.one_hot(), target=2, batch_size=300, device="cpu")
    assert np.allclose(y2, 3 * y, atol=1e-3)
    y3 = predict_library(multi, lib, reduce=lambda out: out.sum(1), device="cpu")
    assert np.allclose(y3, 6 * y, atol=1e-3)
    with pytest.raises(ValueError, match="target"):
        predict_library(multi, lib, target=None, device="cpu")


# ---------------------------------------------------------------------------------------------
# surrogates


def _sigmoid_oracle(codes, theta, pairs=(), noise=0.1, seed=0):
    phi = _additive_phi(codes, theta)
    for (i, j, T) in pairs:
        phi = phi + T[codes[:, i], codes[:, j]]
    z = (phi - phi.mean()) / phi.std()
    rng = np.random.default_rng(seed)
    return 3.0 / (1.0 + np.exp(-1.5 * z)) + noise * rng.standard_normal(len(z))


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
@pytest.mark.parametrize("noise", ["gaussian", "skewt", "heteroscedastic"])
def test_additive_ge_recovers_theta_through_sigmoid(noise):
    L = 20
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(L, A))
    lib = mutagenesis_library(_random_seq(L, 1), n=6000, rate=0.15, random_state=1)
    codes = lib.codes.astype(int)
    y = _sigmoid_oracle(codes, theta, noise=0.1)
    model = Surrogate(noise=noise, gauge="empirical", random_state=0, max_epochs=80)
    model.fit(codes[:5000], y[:5000])
    _, true_lc, _ = fix_gauge(0.0, theta, None, model.letter_frequencies_)
    r = np.corrcoef(true_lc.ravel(), model.theta_lc_.ravel())[0, 1]
    assert r >= 0.95
    q = model.fit_quality(codes[5000:], y[5000:])
    assert q["pearson_r"] > 0.95 and q["r2"] > 0.9 and q["predictive_information_bits"] > 1.0
    # g is monotone increasing and the fitted phi is normalised
    grid = np.linspace(-3, 3, 50)
    assert np.all(np.diff(model.g(grid)) >= 0)
    phi = model.phi(codes[:5000])
    assert abs(phi.std() - 1) < 0.05
    # GE beats the linear baseline on sigmoid data
    lin = Surrogate(link="linear", random_state=0, max_epochs=80).fit(codes[:5000], y[:5000])
    assert q["pearson_r"] > lin.score(codes[5000:], y[5000:])


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_pairwise_recovers_theta_and_pair_locations():
    L = 12
    rng = np.random.default_rng(2)
    theta = rng.normal(size=(L, A)) * 0.5
    pairs = [(2, 9, 2.0 * rng.normal(size=(A, A))), (4, 5, 2.0 * rng.normal(size=(A, A)))]
    lib = mutagenesis_library(_random_seq(L, 2), n=12000, rate=0.25, random_state=2)
    codes = lib.codes.astype(int)
    y = _sigmoid_oracle(codes, theta, pairs, noise=0.05)
    model = Surrogate(kind="pairwise", random_state=0, l2=1e-3, max_epochs=120).fit(codes, y)
    norms = model.pairwise_norms()
    assert np.allclose(norms, norms.T)
    iu = np.triu_indices(L, 1)
    top = sorted(zip(norms[iu], iu[0], iu[1]), reverse=True)[:2]
    assert {(int(i), int(j)) for _, i, j in top} == {(2, 9), (4, 5)}
    assert top[1][0] > 3 * sorted(norms[iu])[-3]
    # the full parameter vector matches in the same gauge
    T = np.zeros((L, L, A, A))
    for i, j, P in pairs:
        T[i, j] = P
    _, lc, lclc = fix_gauge(0.0, theta, T, model.letter_frequencies_)
    truth = np.concatenate([lc.ravel(), lclc[iu].ravel()])
    fit = np.concatenate([model.theta_lc_.ravel(), model.theta_lclc_[iu].ravel()])
    assert np.corrcoef(truth, fit)[0, 1] >= 0.95


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_wild_type_gauge_zeros_and_phi_invariance():
    L = 8
    rng = np.random.default_rng(3)
    codes = rng.integers(0, A, size=(3000, L))
    y = _sigmoid_oracle(codes, rng.normal(size=(L, A)), [(1, 6, rng.normal(size=(A, A)))])
    model = Surrogate(kind="pairwise", gauge="empirical", random_state=0, max_epochs=20).fit(codes, y)
    phi = model.phi(codes)
    wt = codes[0]
    model.set_gauge("wild_type", wild_type=wt)
    assert np.allclose(model.theta_lc_[np.arange(L), wt], 0, atol=1e-10)
    for i in range(L):
        for j in range(i + 1, L):
            assert np.allclose(model.theta_lclc_[i, j, wt[i], :], 0, atol=1e-10)
            assert np.allclose(model.theta_lclc_[i, j, :, wt[j]], 0, atol=1e-10)
    assert np.isclose(model.theta_0_, model.phi(codes[:1])[0])
    assert np.allclose(model.phi(codes), phi, atol=1e-8)
    model.set_gauge("uniform")
    assert np.allclose(model.theta_lc_.sum(1), 0, atol=1e-10)
    assert np.allclose(model.theta_lclc_.sum(2), 0, atol=1e-10)
    assert np.allclose(model.phi(codes), phi, atol=1e-8)


def test_ridge_fits_linear_oracle_exactly_and_variant_effects():
    L = 10
    rng = np.random.default_rng(4)
    theta = rng.normal(size=(L, A))
    seq = _random_seq(L, 4)
    lib = mutagenesis_library(seq, n=3000, rate=0.2, random_state=4)
    codes = lib.codes.astype(int)
    y = 1.5 + _additive_phi(codes, theta)
    ridge = RidgeSurrogate(alphas=(1e-6, 1e-3, 1.0, 100.0), cv=4, gauge="wild_type", random_state=0)
    ridge.fit(lib.one_hot(), y)
    assert ridge.alpha_ <= 1e-3 and ridge.cv_mse_.shape == (4,)
    q = ridge.fit_quality(codes, y, predictive_info=False)
    assert q["pearson_r"] > 0.99999 and q["r2"] > 0.99999
    wt = lib.wild_type.astype(int)
    true_lc = theta - theta[np.arange(L), wt][:, None]
    assert np.allclose(ridge.theta_lc_, true_lc, atol=1e-3)
    assert np.isclose(ridge.theta_0_, y[0], atol=1e-3)
    table = ridge.variant_effects(position_offset=100)
    assert len(table) == L * 3 and set(table.columns) >= {"position", "wt", "mut", "variant", "delta_y"}
    row = table.iloc[0]
    assert row["variant"] == f"{seq[0]}101{row['mut']}" and row["position"] == 100
    mut = ["ACGT".index(m) for m in table["mut"]]
    assert np.allclose(table["delta_y"], true_lc[table["position"] - 100, mut], atol=1e-3)
    # pairwise ridge also exact on a pairwise-linear oracle
    T = rng.normal(size=(A, A))
    y2 = y + T[codes[:, 3], codes[:, 7]]
    rp = RidgeSurrogate(kind="pairwise", alphas=(1e-6,), cv=None).fit(codes, y2)
    assert rp.score(codes, y2) > 0.99999
    assert np.unravel_index(np.argmax(rp.pairwise_norms()), (L, L)) in {(3, 7), (7, 3)}


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_linear_link_and_dedup():
    L = 10
    rng = np.random.default_rng(5)
    theta = rng.normal(size=(L, A))
    lib = mutagenesis_library(_random_seq(L, 5), n=3000, rate=0.05, random_state=5)
    codes = lib.codes.astype(int)
    y = 0.3 + _additive_phi(codes, theta)
    kept, y_kept, dropped = deduplicate(codes, y)
    assert dropped > 100 and len(np.unique(kept, axis=0)) == len(kept)
    model = Surrogate(link="linear", random_state=0, max_epochs=100).fit(codes, y)
    assert model.n_duplicates_ == dropped
    assert model.score(codes, y) > 0.999
    # linear theta is in units of y
    _, lc, _ = fix_gauge(0.0, theta, None, model.letter_frequencies_)
    assert np.allclose(model.theta_lc_, lc, atol=0.05)


def test_predictive_information_gaussian():
    rng = np.random.default_rng(6)
    for rho in (0.5, 0.9):
        z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=4000)
        expected = -0.5 * np.log2(1 - rho ** 2)
        assert abs(predictive_information(z[:, 0], np.exp(z[:, 1])) - expected) < 0.06
    assert predictive_information(rng.normal(size=2000), rng.normal(size=2000)) < 0.03
    q = fit_quality([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], predictive_info=False)
    assert q == {"pearson_r": 1.0, "r2": 1.0, "n": 4}


def test_surrogate_input_errors():
    with pytest.raises(ValueError, match="kind"):
        Surrogate(kind="cubic").fit(np.zeros((20, 5), dtype=int), np.arange(20.0))
    with pytest.raises(ValueError, match="variants"):
        RidgeSurrogate().fit(np.zeros((20, 5), dtype=int), np.arange(10.0))
    with pytest.raises(RuntimeError, match="not fitted"):
        Surrogate().phi(np.zeros((2, 5), dtype=int))
    X = codes_to_one_hot(np.zeros((20, 5), dtype=int), 4)
    X[3, :, 2] = 0.25
    with pytest.raises(SequenceError, match="position 2"):
        RidgeSurrogate().fit(X, np.arange(20.0))
