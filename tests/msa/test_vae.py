import numpy as np
import pytest

from seqlens.msa import Alignment
from seqlens.msa.mutations import mutation_effects
from seqlens.msa.vae import VAE


def _toy(n=300, seed=0):
    rng = np.random.default_rng(seed)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    base = letters[rng.integers(0, 20, 12)]
    rows = []
    for _ in range(n):
        r = base.copy()
        if rng.random() < 0.5:  # two co-varying columns
            r[2], r[8] = "W", "Y"
        k = rng.integers(0, 12, 2)
        r[k] = letters[rng.integers(0, 20, 2)]
        rows.append("".join(r))
    return Alignment.from_rows(["".join(base)] + rows, focus=True)


@pytest.fixture(scope="module")
def fitted():
    msa = _toy()
    m = VAE(latent_dim=4, encoder_sizes=(32,), decoder_sizes=(16, 32), rank=8, batch_size=64,
            max_steps=300, kl_anneal_steps=100, eval_every=50, patience=100, lr=3e-3,
            n_samples=8, identity=None, random_state=0, n_threads=1).fit(msa)
    return msa, m


def test_elbo_increases_during_training(fitted):
    _, m = fitted
    h = m.history_
    assert h["train_elbo"].iloc[-1] > h["train_elbo"].iloc[0] + 5
    assert h["val_elbo"].iloc[-1] > h["val_elbo"].iloc[0]
    assert m.n_steps_ == 300


def test_delta_elbo_deterministic_and_sensible(fitted):
    msa, m = fitted
    wt = "".join(m.columns_["focus_letter"])
    mutants = [f"{wt[3]}4{'A' if wt[3] != 'A' else 'C'}", f"{wt[0]}1W"]
    a = mutation_effects(m, mutants)["score"].to_numpy()
    b = mutation_effects(m, mutants)["score"].to_numpy()
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all() and (a < 0).all()  # mutations away from the consensus cost
    c = m.delta_elbo(m._code([wt.replace(wt[3], "A", 1)]), random_state=1)
    assert np.isfinite(c).all()
    # natural sequences score higher than shuffled ones
    rng = np.random.default_rng(0)
    X = msa.X[:50]
    Xs = np.array([rng.permutation(r) for r in X])
    assert m.elbo(X).mean() > m.elbo(Xs).mean() + 5


def test_sampling_and_contacts(fitted):
    msa, m = fitted
    s = m.sample(20, random_state=0)
    assert s == m.sample(20, random_state=0) and len(s) == 20 and len(s[0]) == 12
    C = m.contacts(msa.X, max_sequences=8)
    assert C.shape == (12, 12) and np.allclose(C, C.T)
