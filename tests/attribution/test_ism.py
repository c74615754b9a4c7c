import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from toymodels import all_toys, onehot, scaled  # noqa: E402

from seqlens.attribution import ism, ism_position_scores  # noqa: E402
from seqlens.attribution.fast_ism import LocalPlan  # noqa: E402

torch.set_num_threads(1)


class Deep(nn.Module):
    """Conv(same, dilation) - BN - exp - pool - conv(valid) - relu - avgpool(overlapping) - dense."""

    def __init__(self, L=50):
        super().__init__()
        self.c1 = nn.Conv1d(4, 6, 7, padding="same", dilation=2)
        self.bn = nn.BatchNorm1d(6)
        self.p1 = nn.MaxPool1d(3)
        self.c2 = nn.Conv1d(6, 5, 4)
        self.p2 = nn.AvgPool1d(3, stride=2)
        n = ((L // 3 - 3) - 3) // 2 + 1
        self.fc = nn.Linear(5 * n, 2)

    def forward(self, x):
        h = self.p1(torch.exp(torch.clamp(self.bn(self.c1(x)), max=5.0)))
        h = self.p2(torch.relu(self.c2(h)) * 0.5)
        return self.fc(h.flatten(1))


def naive_ism(model, X, target=0):
    N, A, L = X.shape
    out = torch.zeros(N, A, L)
    with torch.no_grad():
        ref = model(X)[:, target]
        for n in range(N):
            for a in range(A):
                for l in range(L):
                    if X[n, a, l] == 1:
                        continue
                    x = X[n].clone()
                    x[:, l] = 0
                    x[a, l] = 1
                    out[n, a, l] = model(x[None])[0, target] - ref[n]
    return out


def test_naive_ism_exact_on_linear_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4 * 10, 1)).eval()
    X = onehot(2, L=10)
    res = ism(model, X, fast=False, device="cpu")
    W = model[1].weight.detach().reshape(4, 10)
    expected = W[None] - (W[None] * X).sum(1, keepdim=True)
    assert torch.allclose(res, expected * (1 - X), atol=1e-6)


@pytest.mark.parametrize("name", ["conv_relu_pool", "conv_exp", "residual", "attention"])
def test_fast_ism_equals_naive(name):
    model = all_toys()[name]
    X = onehot(2)
    fast = ism(model, X, device="cpu", batch_size=50)
    slow = ism(model, X, fast=False, device="cpu")
    assert float((fast - slow).abs().max()) <= 1e-5


def test_fast_ism_deep_local_chain():
    torch.manual_seed(3)
    model = Deep().eval()
    model.bn.running_mean.uniform_(-0.3, 0.3)
    plan = LocalPlan.build(model, onehot(1, L=50))
    assert plan is not None and [o[0] for o in plan.ops].count("conv") == 2
    X = onehot(2, L=50, seed=4)
    fast = ism(model, X, target=1, device="cpu", batch_size=37)
    assert float((fast - ism(model, X, target=1, fast=False, device="cpu")).abs().max()) <= 1e-5
    assert float((fast[:1] - naive_ism(model, X[:1], target=1)).abs().max()) <= 1e-5
    win = ism(model.double(), X.double().numpy(), start=10, end=20, device="cpu")
    assert isinstance(win, np.ndarray)
    assert np.all(win[:, :, :10] == 0) and np.all(win[:, :, 20:] == 0)
    assert ism_position_scores(win).shape == (2, 50)


def test_window_ism_exact_on_linear_model():
    from seqlens.attribution import window_ism

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4 * 12, 1)).eval()
    X = onehot(2, L=12)
    eff, starts = window_ism(model, X, width=4, device="cpu")
    assert list(starts) == [0, 4, 8]
    W = model[1].weight.detach().reshape(4, 12)
    contrib = (W[None] * X).sum(1)  # (N, L) contribution of each observed letter
    expected = -contrib.reshape(2, 3, 4).sum(-1)
    assert torch.allclose(eff, expected, atol=1e-6)
    uni, _ = window_ism(model, X.numpy(), width=4, stride=4, replacement="uniform", device="cpu")
    assert np.allclose(uni, (expected + W.reshape(4, 3, 4).sum((0, 2))[None] / 4).numpy(), atol=1e-5)
    class Counts(nn.Module):  # depends on letter counts only: shuffles change nothing
        def forward(self, x):
            return x.sum(-1) @ torch.tensor([[1.0], [2.0], [3.0], [4.0]])

    sh, _ = window_ism(Counts(), X, width=5, stride=2, replacement="shuffle", n_shuffles=3, device="cpu",
                       random_state=0)
    assert sh.shape == (2, 4) and torch.allclose(sh, torch.zeros_like(sh), atol=1e-6)
    z, _ = window_ism(Counts(), X, width=5, stride=2, device="cpu")
    assert not torch.allclose(z, torch.zeros_like(z))
    with pytest.raises(ValueError):
        window_ism(model, X, width=0, device="cpu")


# ---- fast ISM on the zoo and on first-layer variants -------------------------------------------

def _diff(a, b):
    return float((a - b).abs().max())


def _with_n_columns(X):
    """Sequences with an all-zero ('N') column at both ends of the second sequence."""
    X = X.clone()
    X[1, :, 0] = 0
    X[1, :, -1] = 0
    return X


@pytest.mark.parametrize("name,activation,L,dtype", [
    ("cnn_local", "relu", 101, torch.float32), ("cnn_local", "exponential", 101, torch.float32),
    ("cnn_local", "relu", 200, torch.float64), ("cnn_dist", "relu", 130, torch.float32),
    ("cnn_dist", "exponential", 130, torch.float32), ("cnn_dist", "exponential", 130, torch.float64),
    ("cnn_deep", "relu", 130, torch.float32), ("cnn_p1", "relu", 101, torch.float32),
    ("cnn_p100", "exponential", 103, torch.float32), ("cnn_50", "relu", 101, torch.float32),
    ("deepstarr", "relu", 101, torch.float64), ("cnn_attention", "relu", 61, torch.float32),
])
def test_fast_ism_equals_naive_on_zoo(name, activation, L, dtype):
    """Fast ISM gives naive ISM's values: within 1e-5 in float32 (outputs scaled to at most 1; the
    float32 rounding of f(mutant) - f(x) is of that order for both) and within 1e-10 in float64
    (the same computation up to summation order)."""
    from seqlens.models import build_model

    X = _with_n_columns(onehot(3, L=L, seed=5)).to(dtype)
    model = scaled(build_model(name, seq_length=L, activation=activation, random_state=0), X,
                    dtype=dtype)
    with torch.no_grad():
        assert LocalPlan.build(model, X[:1]) is not None, f"{name}: fast ISM not used"
    fast = ism(model, X, device="cpu", batch_size=256)
    slow = ism(model, X, fast=False, device="cpu")
    assert float(slow.abs().max()) > 1e-3  # real effects
    assert _diff(fast, slow) <= (1e-5 if dtype == torch.float32 else 1e-10)
    # every substitution the model sees, edges included, and nothing at the observed letters
    # ('valid' convolutions and floor pooling leave a few end positions without any effect)
    assert torch.all(fast[X == 1] == 0)
    effect = slow.abs() > 1e-5
    assert torch.all(fast[effect] != 0)
    assert int((effect & (X == 0)).sum()) >= 0.85 * int((X == 0).sum())


@pytest.mark.parametrize("name", ["cnn_transformer", "residualbind"])
def test_fast_ism_falls_back_when_nothing_to_gain(name):
    from seqlens.models import build_model

    model = build_model(name, random_state=0).eval()
    L = model.config["seq_length"]
    X = onehot(1, L=L)
    with torch.no_grad():
        assert LocalPlan.build(model, X) is None
    sub = ism(model, X, start=L // 2, end=L // 2 + 3, device="cpu")
    assert float((sub - ism(model, X, start=L // 2, end=L // 2 + 3, fast=False, device="cpu"))
                 .abs().max()) <= 1e-5


class FirstLayer(nn.Module):
    """One first-layer variant: conv (padding / dilation / groups) - BN - activation - pool -
    conv - relu - global max and mean."""

    def __init__(self, kernel=7, padding="same", dilation=1, groups=1, pool=None, act="exp"):
        super().__init__()
        self.c1 = nn.Conv1d(4, 8, kernel, padding=padding, dilation=dilation, groups=groups)
        self.bn = nn.BatchNorm1d(8)
        self.act = act
        self.pool = pool if pool is not None else nn.Identity()
        self.c2 = nn.Conv1d(8, 6, 3, padding=1)
        self.fc = nn.Linear(12, 2)

    def forward(self, x):
        h = self.bn(self.c1(x))
        h = torch.exp(torch.clamp(h, max=8.0)) if self.act == "exp" else torch.relu(h)
        h = torch.relu(self.c2(self.pool(h)))
        return self.fc(torch.cat([h.amax(-1), h.mean(-1)], 1))


@pytest.mark.parametrize("kw,L", [
    (dict(kernel=7, padding="same", pool=nn.MaxPool1d(20)), 61),  # wide pool: running maxima
    (dict(kernel=8, padding="same", dilation=3, pool=nn.MaxPool1d(3)), 41),  # even kernel, dilated
    (dict(kernel=6, padding="valid", pool=nn.MaxPool1d(9, stride=4)), 45),  # overlapping pool
    (dict(kernel=5, padding=1, pool=nn.AvgPool1d(4)), 39),
    (dict(kernel=5, padding=2, groups=2, pool=nn.MaxPool1d(2)), 40),  # grouped: no rank-1 update
    (dict(kernel=9, padding="same", pool=nn.MaxPool1d(30), act="relu"), 31),  # pool > window
    (dict(kernel=15, padding="same", act="relu"), 12),  # kernel wider than the sequence
])
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_fast_ism_first_layer_variants(kw, L):
    torch.manual_seed(7)
    X = _with_n_columns(onehot(2, L=L, seed=11))
    model = scaled(FirstLayer(**kw), X)
    with torch.no_grad():
        plan = LocalPlan.build(model, X[:1])
    assert plan is not None
    if isinstance(kw.get("pool"), nn.MaxPool1d) and kw["pool"].kernel_size >= 20:
        with torch.no_grad():  # the wide pool reads the reference from running maxima
            plan.run(X[0], torch.tensor([L // 2]), torch.tensor([0]))
        assert any(isinstance(a, dict) and "max" in a for a in plan._aux)
    fast = ism(model, X, target=1, device="cpu", batch_size=64)
    slow = ism(model, X, target=1, fast=False, device="cpu")
    assert float(slow.abs().max()) > 1e-2
    assert _diff(fast, slow) <= 1e-5
    assert _diff(fast[:1], naive_ism(model, X[:1], target=1)) <= 1e-5
    model64, X64 = model.double(), X.double()
    assert _diff(ism(model64, X64, target=1, device="cpu"),
                 ism(model64, X64, target=1, fast=False, device="cpu")) <= 1e-10


def test_fast_ism_activation_and_window():
    torch.manual_seed(2)
    X = onehot(2, L=50, seed=3).double()
    model = scaled(FirstLayer(kernel=7, pool=nn.MaxPool1d(10)), X, dtype=torch.float64)
    fast = ism(model, X, target=0, activation="sigmoid", device="cpu", start=3, end=47)
    slow = ism(model, X, target=0, activation="sigmoid", fast=False, device="cpu", start=3, end=47)
    assert fast.dtype == torch.float64
    assert _diff(fast, slow) <= 1e-10
    assert torch.all(fast[:, :, :3] == 0) and torch.all(fast[:, :, 47:] == 0)
