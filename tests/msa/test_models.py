import numpy as np
import pandas as pd
import pytest
import torch

from seqlens.alphabet import Alphabet
from seqlens.msa import (
    PSSM,
    Alignment,
    Gaussian,
    MutualInformation,
    Potts,
    apc,
    contact_table,
    precision_at,
    precision_table,
)
from seqlens.msa.attention import FactoredAttention
from seqlens.msa.plm_torch import PseudoLikelihood, build_couplings, objective, pair_index

POTTS3 = Alphabet("POTTS3", "_*^-")


def test_potts3_top_pairs_are_neighbours(data_dir):
    msa = Alignment.read(data_dir / "potts3.a2m", alphabet=POTTS3)
    assert msa.length == 60 and msa.n_sequences == 500
    model = Potts(preset="plmc", identity=None).fit(msa)
    pairs = contact_table(model.contacts(), msa.columns)
    top = pairs.head(msa.length - 1)
    assert sorted((top["j"] - top["i"]).tolist()) == [1] * (msa.length - 1)


def test_fit_restores_torch_thread_count(data_dir):
    msa = Alignment.read(data_dir / "potts3.a2m", alphabet=POTTS3)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for model in (Potts(preset="plmc", identity=None, max_iter=3, n_threads=1),
                      FactoredAttention(n_heads=2, identity=None, max_iter=1, n_threads=1)):
            model.fit(msa)
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_potts_fit_does_not_depend_on_the_thread_count(data_dir):
    """The study fits Potts on all cores and promises the same numbers on every re-run."""
    msa = Alignment.read(data_dir / "potts3.a2m", alphabet=POTTS3)
    fits = [Potts(preset="plmc", identity=None, max_iter=15, n_threads=n).fit(msa) for n in (1, 2)]
    assert np.array_equal(fits[0].h_, fits[1].h_)
    assert np.array_equal(fits[0].J_, fits[1].J_)


def _random_problem(seed=0, N=40, L=5, Q=4, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, Q + 1, (N, L), generator=g)  # code Q = missing (ignored gap)
    w = torch.rand(N, generator=g, dtype=dtype) + 0.5
    h = torch.randn(L, Q, generator=g, dtype=dtype)
    index = pair_index(L, Q)
    theta = torch.randn(L * (L - 1) // 2 * Q * Q, generator=g, dtype=dtype) * 0.3
    return PseudoLikelihood(X, w, Q, batch_size=16), h, theta, index, X, w


def _brute_force(X, w, h, J, Q, lam_h, lam_J):
    """Direct loops: -sum w log P(x_i | rest) + penalties, pairs i<j counted once."""
    N, L = X.shape
    Jr = J[:-1].reshape(L, Q, L, Q)
    total = 0.0
    for n in range(N):
        for i in range(L):
            if X[n, i] >= Q:
                continue
            e = h[i].clone()
            for j in range(L):
                if j != i and X[n, j] < Q:
                    e = e + Jr[i, :, j, X[n, j]]
            total = total - w[n] * torch.log_softmax(e, 0)[X[n, i]]
    pen = lam_h * (h * h).sum()
    for i in range(L):
        for j in range(i + 1, L):
            pen = pen + lam_J * (Jr[i, :, j, :] ** 2).sum()
    return total + pen


def test_pseudo_likelihood_value_and_gradient_vs_finite_differences():
    pl, h, theta, index, X, w = _random_problem()
    L, Q = 5, 4
    lam_h, lam_J = 0.3, 0.7
    J = build_couplings(theta, index, L, Q)
    Jr = J[:-1].reshape(L, Q, L, Q)
    assert torch.allclose(Jr, Jr.permute(2, 3, 0, 1))
    assert all(float(Jr[i, :, i, :].abs().sum()) == 0 for i in range(L))
    assert float(J[-1].abs().sum()) == 0
    h.requires_grad_(True)
    theta.requires_grad_(True)
    f = objective(pl, h, theta, index, lam_h, lam_J)
    assert float(f) == pytest.approx(float(_brute_force(X, w, h.detach(), J.detach(), Q, lam_h, lam_J)),
                                     rel=1e-10)
    gh, gt = h.grad.clone(), theta.grad.clone()

    def F(hh, tt):
        return float(_brute_force(X, w, hh, build_couplings(tt, index, L, Q), Q, lam_h, lam_J))

    eps = 1e-6
    rng = np.random.default_rng(1)
    h0, t0 = h.detach().clone(), theta.detach().clone()
    for _ in range(6):
        i, a = rng.integers(L), rng.integers(Q)
        hp, hm = h0.clone(), h0.clone()
        hp[i, a] += eps
        hm[i, a] -= eps
        assert float(gh[i, a]) == pytest.approx((F(hp, t0) - F(hm, t0)) / (2 * eps), rel=1e-5, abs=1e-7)
    for k in rng.choice(len(t0), 10, replace=False):
        tp, tm = t0.clone(), t0.clone()
        tp[k] += eps
        tm[k] -= eps
        assert float(gt[k]) == pytest.approx((F(h0, tp) - F(h0, tm)) / (2 * eps), rel=1e-5, abs=1e-7)


def test_memory_refusal_has_estimate():
    msa = Alignment.from_rows(["ACDEFGHIKL", "ACDEFGHIKM", "MCDEFGHIKL"])
    with pytest.raises(MemoryError, match=r"needs about .* GB .*L=10"):
        Potts(max_memory_gb=1e-6).fit(msa)
    est = Potts.memory_estimate(N=1000, L=2000, Q=20)
    assert est > 50e9  # 2000 x 20 columns: 8e8 pair parameters, far beyond a laptop


def test_potts_symmetric_zero_diagonal_and_scores(dhfr):
    sub = dhfr.subset(np.arange(300))
    sub.X = sub.X[:, :30].copy()
    sub.columns = sub.columns.iloc[:30].reset_index(drop=True)
    m = Potts(max_iter=15).fit(sub)
    J = m.J_
    L, Q = m.h_.shape
    assert (L, Q) == (30, 20)
    assert np.allclose(J, J.transpose(2, 3, 0, 1), atol=1e-6)
    for i in range(L):
        assert np.abs(J[i, :, i, :]).max() == 0
    wt = sub.rows()[0]
    s = m.score([wt, wt])
    assert s.shape == (2,) and s[0] == pytest.approx(s[1])
    eff = m.mutation_effects(["M1A", "M1A:I2V", "M200A"])
    assert np.isnan(eff[2]) and np.isfinite(eff[:2]).all()
    assert len(m.sample(3, n_sweeps=2)[0]) == 30


def test_adam_optimizer_runs(dhfr):
    sub = dhfr.subset(np.arange(200))
    sub.X = sub.X[:, :20].copy()
    sub.columns = sub.columns.iloc[:20].reset_index(drop=True)
    m = Potts(preset="gremlin", max_iter=3, batch_size=64, lr=0.05).fit(sub)
    assert m.Q_ == 21 and m.lambda_J_ == pytest.approx(0.2 * 19)
    assert np.isfinite(m.contacts()).all()


def test_potts_dhfr_spearman_vs_plmc(dhfr, data_dir):
    from scipy.stats import spearmanr

    m = Potts(preset="plmc", max_iter=24).fit(dhfr)
    pairs = contact_table(m.contacts(), dhfr.columns)
    ref = pd.read_csv(data_dir / "DHFR.couplings", sep=" ", header=None,
                      names=["i", "A_i", "j", "A_j", "zero", "score"])
    # plmc numbers alignment columns (1..171), not residues (1..159)
    ours = pairs.set_index(["alignment_i", "alignment_j"])["score"]
    ours = ours.reindex(pd.MultiIndex.from_arrays([ref["i"], ref["j"]])).to_numpy()
    assert not np.isnan(ours).any()
    rho = spearmanr(ref["score"], ours).statistic
    assert rho >= 0.9


def test_gaussian_mi_pssm_on_dhfr(dhfr, data_dir):
    truth = pd.read_csv(data_dir / "DHFR_distances_longrange.csv")[["i", "j", "dist"]]
    L = dhfr.length
    g = Gaussian(pseudocount=0.5).fit(dhfr)
    p_gauss = precision_at(contact_table(g.contacts(), dhfr.columns), truth, L, 6, 5.0)
    assert p_gauss >= 0.77
    p_mi = precision_at(contact_table(MutualInformation().fit(dhfr).contacts(), dhfr.columns),
                        truth, L, 6, 5.0)
    assert 0.35 < p_mi < p_gauss
    pssm = PSSM().fit(dhfr)
    assert np.allclose(np.exp(pssm.log_probs_).sum(1), 1)
    wt = dhfr.focus_sequence()
    assert pssm.score(wt)[0] > pssm.score(dhfr.rows()[-1])[0] - 200
    assert pssm.mutation_effects(["M1A"])[0] == pytest.approx(
        pssm.log_probs_[0, 0] - pssm.log_probs_[0, dhfr.alphabet.letters.index("M")])
    assert (pssm.contacts() == 0).all()
    assert all(len(s) == L for s in pssm.sample(4))


def test_apc_and_precision_exact():
    S = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], float)
    out = apc(S)
    row = np.array([1.5, 2.0, 2.5])
    assert out[0, 1] == pytest.approx(1 - row[0] * row[1] / 2.0)
    assert np.all(np.diag(out) == 0)
    pairs = pd.DataFrame({"i": [1, 1, 2, 1], "j": [10, 20, 30, 5], "score": [4, 3, 2, 1]})
    truth = pd.DataFrame({"i": [10, 1, 2], "j": [1, 20, 30], "dist": [3.0, 9.0, 4.0]})
    assert precision_at(pairs, truth, 2, min_separation=6, threshold=8) == 0.5
    assert precision_at(pairs, truth, 3, min_separation=6, threshold=8) == pytest.approx(2 / 3)
    tab = precision_table(pairs, truth, 3, separations=(6, 12), fractions=(1,))
    assert tab["precision_at_L_sep12"] == pytest.approx(0.5)


def test_numba_objective_matches_torch_and_brute_force():
    from seqlens.msa.plm_cpu import PLObjective, chain_changes, chain_order

    pl, h, theta, index, X, w = _random_problem(seed=3, N=60, L=6, Q=4)
    lam_h, lam_J = 0.3, 0.7
    h.requires_grad_(True)
    theta.requires_grad_(True)
    f_torch = float(objective(pl, h, theta, index, lam_h, lam_J))
    obj = PLObjective(X.numpy(), w.numpy(), 4, lam_h, lam_J, dtype=np.float64)
    x = np.concatenate([h.detach().numpy().ravel(), theta.detach().numpy()])
    g = np.empty_like(x)
    f = obj(x, g)
    brute = float(_brute_force(X, w, h.detach(), build_couplings(theta.detach(), index, 6, 4), 4,
                               lam_h, lam_J))
    assert f == pytest.approx(brute, rel=1e-12) and f == pytest.approx(f_torch, rel=1e-12)
    np.testing.assert_allclose(g, np.concatenate([h.grad.numpy().ravel(), theta.grad.numpy()]),
                               rtol=1e-9, atol=1e-10)
    # the chain visits every row once; its changes rebuild each row from the previous one
    Xn = np.minimum(X.numpy(), 4)
    order = chain_order(Xn.astype(np.uint8))
    assert sorted(order) == list(range(60))
    ptr, cols, old, new = chain_changes(Xn[order])
    rebuilt = Xn[order].copy()
    for n in range(1, 60):
        row = rebuilt[n - 1].copy()
        assert (row[cols[ptr[n - 1]:ptr[n]]] == old[ptr[n - 1]:ptr[n]]).all()
        row[cols[ptr[n - 1]:ptr[n]]] = new[ptr[n - 1]:ptr[n]]
        assert (row == Xn[order][n]).all()


def test_numba_objective_blocks_site_groups_merged_rows_and_float32():
    """The blocked, grouped kernel gives the brute-force value and gradient whatever the block
    size and sites per task (partial last block and group included); merging identical rows
    (weights summed) changes neither; the float32 path (fast exp) agrees to float32 precision."""
    from seqlens.msa.plm_cpu import PLObjective

    pl, h, theta, index, X, w = _random_problem(seed=5, N=50, L=7, Q=4)
    lam_h, lam_J = 0.2, 0.5
    Xn, wn = X.numpy(), w.numpy()
    x = np.concatenate([h.numpy().ravel(), theta.numpy()])
    brute = float(_brute_force(X, w, h, build_couplings(theta, index, 7, 4), 4, lam_h, lam_J))

    def value_grad(Xa, wa, dtype=np.float64, **kw):
        obj = PLObjective(Xa, wa, 4, lam_h, lam_J, dtype=dtype, **kw)
        g = np.empty(len(x), dtype=dtype)
        return obj(x.astype(dtype), g), g.astype(np.float64)

    f0, g0 = value_grad(Xn, wn)
    assert f0 == pytest.approx(brute, rel=1e-12)
    for block, sites in [(1, 1), (7, 3), (16, 7), (64, 2)]:
        f, g = value_grad(Xn, wn, block=block, sites=sites)
        assert f == pytest.approx(f0, rel=1e-12)
        np.testing.assert_allclose(g, g0, rtol=1e-10, atol=1e-10)
    # rows 0-19 twice (weights split 1:3) = once with the weights summed
    Xd = np.concatenate([Xn, Xn[:20]])
    wd = np.concatenate([np.r_[wn[:20] * 0.25, wn[20:]], wn[:20] * 0.75])
    f, g = value_grad(Xd, wd, block=8, sites=3)
    assert f == pytest.approx(f0, rel=1e-12)
    np.testing.assert_allclose(g, g0, rtol=1e-10, atol=1e-10)
    f32, g32 = value_grad(Xn, wn, dtype=np.float32, block=8, sites=3)
    assert f32 == pytest.approx(f0, rel=1e-6)
    np.testing.assert_allclose(g32, g0, rtol=1e-4, atol=1e-4 * np.abs(g0).max())


def test_lbfgs_solves_a_convex_quadratic():
    from seqlens.msa.lbfgs import minimize

    rng = np.random.default_rng(0)
    A = rng.normal(size=(30, 30))
    A = A @ A.T / 30 + np.eye(30)
    b = rng.normal(size=30)

    def fun(x, g):
        g[:] = A @ x - b
        return float(0.5 * x @ A @ x - b @ x)

    x = np.zeros(30)
    res = minimize(fun, x, max_iter=200, history_size=5, tolerance_grad=1e-8,
                   tolerance_change=1e-30)
    x_star = np.linalg.solve(A, b)
    np.testing.assert_allclose(x, x_star, atol=1e-8)
    assert res.message == "gradient below tolerance"
    assert res.fun == pytest.approx(-0.5 * b @ x_star, rel=1e-12)
    assert res.n_evals <= 2 * res.n_iter + 1


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-8), (np.float32, 1e-3)])
def test_lbfgs_solves_rosenbrock(dtype, tol):
    from seqlens.msa.lbfgs import minimize

    def fun(x, g):
        a, b = np.float64(x[0]), np.float64(x[1])
        g[0] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
        g[1] = 200.0 * (b - a * a)
        return 100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2

    x = np.array([-1.2, 1.0], dtype=dtype)
    seen = []
    res = minimize(fun, x, max_iter=200, history_size=5, tolerance_grad=1e-10,
                   tolerance_change=0.0, callback=lambda it, f: seen.append(f))
    np.testing.assert_allclose(x, [1.0, 1.0], atol=tol)
    assert res.fun < tol
    assert np.all(np.diff(seen) <= 0)  # every accepted step decreases the objective
    assert res.n_iter < 100


def test_chain_order_packed_matches_plain_greedy():
    """Distances on rows packed into 64-bit words (8- and 16-bit lanes, padded) give the chain
    of the plain greedy rule: closest unused row (first of ties) among the next ``window``."""
    from seqlens.msa.plm_cpu import chain_order

    def plain(X, window):
        N = len(X)
        used = np.zeros(N, bool)
        used[0] = True
        order, cur = [0], 0
        for _ in range(1, N):
            cand = np.flatnonzero(~used)[:window]
            d = (X[cand] != X[cur]).sum(1)
            cur = int(cand[np.argmin(d)])
            used[cur] = True
            order.append(cur)
        return np.array(order)

    rng = np.random.default_rng(4)
    X = rng.integers(0, 3, size=(120, 13))  # 13 columns: a partly filled last word
    X = X[np.lexsort(X.T[::-1])]
    for window in (1, 5, 256):
        ref = plain(X, window)
        np.testing.assert_array_equal(chain_order(X.astype(np.uint8), window), ref)
        np.testing.assert_array_equal(chain_order(X * 1000, window), ref)  # 16-bit lanes
    assert len(chain_order(np.zeros((0, 4), np.uint8))) == 0


def test_fused_products_match_plain_ones():
    """The objective's fused ``g . d`` and the L-BFGS pair pass give the plain products, and a
    run with ``fun_slope`` takes the same path as one without."""
    from seqlens.msa import lbfgs
    from seqlens.msa.plm_cpu import PLObjective

    pl, h, theta, index, X, w = _random_problem(seed=6, N=40, L=6, Q=4)
    obj = PLObjective(X.numpy(), w.numpy(), 4, 0.2, 0.5, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.normal(size=obj.size) * 0.1
    d = rng.normal(size=obj.size)
    g, g2 = np.empty_like(x), np.empty_like(x)
    f, slope = obj.value_and_slope(x, g, d)
    assert f == obj(x, g2)
    np.testing.assert_array_equal(g, g2)
    assert slope == pytest.approx(g @ d, rel=1e-12)

    n = 3 * lbfgs.CHUNK + 7  # chunks and a partial one
    pool = rng.normal(size=(5, n)).astype(np.float32)
    gv = rng.normal(size=n).astype(np.float32)
    ref = pool.astype(np.float64)
    s, y = 0.5 * ref[0], gv - ref[1]
    dots, g_max, s_max = lbfgs._pair(pool, np.array([3, 2, 4]), np.float32(0.5), 0, 1, gv)
    rows = [ref[3], ref[2], ref[4], s, y]
    want = np.array([[r @ y, r @ gv] for r in rows])
    np.testing.assert_allclose(dots, want, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(pool[0], s, rtol=1e-6)
    np.testing.assert_allclose(pool[1], y, rtol=1e-6, atol=1e-6)
    assert g_max == np.abs(gv).max() and s_max == pytest.approx(np.abs(s).max())

    runs = []
    for fused in (False, True):
        xs = np.zeros(obj.size)
        res = lbfgs.minimize(obj, xs, max_iter=15, lend=obj.lend,
                             fun_slope=obj.value_and_slope if fused else None)
        runs.append((xs, res))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-8, atol=1e-10)
    assert runs[0][1].n_evals == runs[1][1].n_evals


def test_lbfgs_cubic_step_and_strong_wolfe():
    from seqlens.msa.lbfgs import _cubic_step, _Ray, _wolfe_step

    # the interpolating cubic of a cubic is the cubic itself: its local minimiser, either order
    def phi(a):
        return (a - 1.0) * (a - 4.0) * (a + 2.0), 3 * a * a - 6 * a - 6.0

    a_min = 1.0 + np.sqrt(3.0)
    p, q = (0.5, *phi(0.5)), (3.5, *phi(3.5))
    assert _cubic_step(p, q, 0.0, 10.0) == pytest.approx(a_min)
    assert _cubic_step(q, p, 0.0, 10.0) == pytest.approx(a_min)
    assert _cubic_step(p, q, 0.0, 2.0) == 2.0  # clipped
    # a line search on a 1-D function with a known minimiser meets the strong Wolfe conditions
    def fun(x, g):
        g[0] = 4.0 * (x[0] - 3.0) ** 3
        return (x[0] - 3.0) ** 4

    for a0 in (0.01, 1.0, 50.0):
        x, g = np.zeros(1), np.empty(1)
        f0 = fun(x, g)
        d = -g.copy()
        ray = _Ray(fun, x, g, d, g.copy())
        slope0 = float(g @ d)
        a, f = _wolfe_step(ray, f0, slope0, a0, max_evals=25)
        assert f == fun(x, np.empty(1)) and x[0] == pytest.approx(a * d[0])
        assert f <= f0 + 1e-4 * a * slope0
        assert abs(g @ d) <= 0.9 * abs(slope0)


def test_potts_numba_and_torch_backends_agree(dhfr):
    """Same algorithm in float32; the line search's discrete choices make the paths drift apart
    a little, so compare where they end: objective (float64) and coupling scores."""
    from seqlens.msa.plm_cpu import PLObjective

    sub = dhfr.subset(np.arange(400))
    sub.X = sub.X[:, :25].copy()
    sub.columns = sub.columns.iloc[:25].reset_index(drop=True)
    fast = Potts(max_iter=100, n_threads=1).fit(sub)  # CPU + L-BFGS: numba backend
    assert fast.n_iter_ == 100 and fast.n_evals_ <= 155
    ref = Potts(max_iter=100, n_threads=1)
    ref._backend = lambda device: "torch"
    ref.fit(sub)
    obj = PLObjective(sub.X, sub.weights(0.8), 20, 0.01, 16.0, dtype=np.float64)
    ii, jj = np.triu_indices(25, 1)

    def f(m):
        x = np.concatenate([m.h_.ravel(), m.J_[ii, :, jj, :].ravel()]).astype(np.float64)
        return obj(x, np.empty_like(x))

    assert f(fast) == pytest.approx(f(ref), rel=2e-3)
    a, b = fast.contacts()[ii, jj], ref.contacts()[ii, jj]
    assert np.corrcoef(a, b)[0, 1] > 0.99


def test_cpu_kernels_do_not_depend_on_the_thread_count(dhfr):
    """The vector kernels and the objective run on a thread pool; sums are kept per chunk, so one
    and two threads give bit-identical values and gradients on vectors of many chunks."""
    from seqlens.msa import lbfgs
    from seqlens.msa._threads import thread_limit
    from seqlens.msa.plm_cpu import PLObjective

    sub = dhfr.subset(np.arange(300))
    obj = PLObjective(sub.X, sub.weights(0.8), 20, 0.01, 16.0)
    rng = np.random.default_rng(1)
    x = (rng.normal(size=obj.size) * 0.05).astype(np.float32)
    d = rng.normal(size=obj.size).astype(np.float32)
    pool = rng.normal(size=(4, obj.size)).astype(np.float32)
    assert obj.size > 10 * lbfgs.CHUNK
    out = []
    for n in (1, 2):
        with thread_limit(n):
            g = np.empty_like(x)
            f, slope = obj.value_and_slope(x, g, d)
            p = pool.copy()
            dots, g_max, s_max = lbfgs._pair(p, np.array([0, 1]), 0.5, 2, 3, g)
            comb = lbfgs._combine(p, np.array([0, 1]), np.array([0.3, -0.2]), -1.0, g, 2)
            out.append((f, slope, g, dots, g_max, s_max, comb, p, lbfgs._dot(x, d)))
    for a, b in zip(*out):
        assert np.array_equal(a, b)
    f, slope, g = out[0][:3]
    assert slope == pytest.approx(float(np.dot(g.astype(np.float64), d)), rel=1e-6)  # float32 g
    assert out[0][-1] == pytest.approx(float(np.dot(x.astype(np.float64), d)), rel=1e-9)
