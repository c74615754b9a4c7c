import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from toymodels import all_toys, onehot  # noqa: E402

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
