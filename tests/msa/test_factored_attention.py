import numpy as np
import pytest
import torch

from seqlens.msa import Alignment
from seqlens.msa.attention import FactoredAttention, attention_maps, factored_couplings
from seqlens.msa.mutations import mutation_effects


def test_one_head_identity_values_zero_queries_is_uniform_potts():
    L, Q, d = 5, 4, 3
    z = torch.zeros(1, L, d)
    J = factored_couplings(z, z, torch.eye(Q)[None]).numpy()
    expect = np.zeros((L, Q, L, Q))
    for i in range(L):
        for j in range(L):
            if i != j:
                expect[i, :, j, :] = np.eye(Q) / (L - 1)
    np.testing.assert_allclose(J, expect, atol=1e-7)


def test_one_head_identity_values_is_attention_weighted_identity():
    L, Q, d = 6, 3, 2
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, L, d, generator=g), torch.randn(1, L, d, generator=g)
    A = attention_maps(q, k)[0].numpy()
    logits = q[0].numpy() @ k[0].numpy().T / np.sqrt(d)
    np.fill_diagonal(logits, -np.inf)
    manual = np.exp(logits - logits.max(1, keepdims=True))
    manual /= manual.sum(1, keepdims=True)
    np.testing.assert_allclose(A, manual, atol=1e-6)
    J = factored_couplings(q, k, torch.eye(Q)[None]).numpy()
    Asym = 0.5 * (A + A.T)
    np.testing.assert_allclose(J, np.einsum("ij,ab->iajb", Asym, np.eye(Q)), atol=1e-6)
    Jasym = factored_couplings(q, k, torch.eye(Q)[None], symmetric=False).numpy()
    np.testing.assert_allclose(Jasym, np.einsum("ij,ab->iajb", A, np.eye(Q)), atol=1e-6)


def _toy():
    rng = np.random.default_rng(0)
    base = np.array(list("ACDEFGHIKL"))
    rows = []
    for _ in range(60):
        r = base.copy()
        if rng.random() < 0.5:  # columns 1 and 6 co-vary
            r[1], r[6] = "W", "Y"
        r[rng.integers(10)] = "ACDEFGHIKLMNPQRSTVWY"[rng.integers(20)]
        rows.append("".join(r))
    return Alignment.from_rows(["ACDEFGHIKL"] + rows, focus=True)


def test_fit_decreases_loss_and_is_a_potts_model():
    msa = _toy()
    m = FactoredAttention(n_heads=2, head_size=4, max_iter=40, lr=0.05, identity=None, n_threads=1).fit(msa)
    assert m.loss_history_[-1] < 0.7 * m.loss_history_[0]
    L, Q = m.h_.shape
    assert (L, Q) == (10, 20)
    np.testing.assert_allclose(m.J_, m.J_.transpose(2, 3, 0, 1), atol=1e-6)
    assert m.n_parameters_ == L * Q + 2 * (2 * L * 4 + Q * Q)
    assert m.n_parameters_potts_ == L * Q + 45 * Q * Q
    C = m.contacts()
    assert C.shape == (10, 10)
    assert np.unravel_index(np.argmax(C), C.shape) in [(1, 6), (6, 1)]
    # delta energy through the shared mutation code equals full energy differences
    res = mutation_effects(m, ["C2W", "C2W:H7Y"])
    wt = m._code(["ACDEFGHIKL"])
    mut = m._code(["AWDEFGHIKL", "AWDEFGYIKL"])
    np.testing.assert_allclose(res["score"], m.energy(mut) - m.energy(wt)[0], rtol=1e-5, atol=1e-5)
    # pseudo-likelihood: P(x_i | rest) of the fitted couplings, checked by hand for one row
    x = m._code(["AWDEFGYIKL"])[0]
    pll = 0.0
    for i in range(L):
        f = m.h_[i] + sum(m.J_[i, :, j, x[j]] for j in range(L) if j != i)
        pll += f[x[i]] - np.log(np.exp(f).sum())
    assert m.score("AWDEFGYIKL")[0] == pytest.approx(pll, rel=1e-4)


def test_lbfgs_runs_and_seed_is_deterministic():
    msa = _toy()
    a = FactoredAttention(n_heads=1, head_size=2, optimizer="lbfgs", max_iter=5, identity=None,
                          n_threads=1).fit(msa)
    b = FactoredAttention(n_heads=1, head_size=2, optimizer="lbfgs", max_iter=5, identity=None,
                          n_threads=1).fit(msa)
    np.testing.assert_array_equal(a.J_, b.J_)
    assert a.loss_ < a.loss_history_[0]
