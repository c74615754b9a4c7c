"""Fast ISM on residual and dilated models: the local part of the network is a graph (residual
sums, gates of two local branches), not only a chain; values equal naive ISM's."""

import copy
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from toymodels import onehot, scaled  # noqa: E402

from seqlens.attribution import ism  # noqa: E402
from seqlens.attribution.fast_ism import LocalPlan  # noqa: E402

torch.set_num_threads(1)


def _with_n_columns(X):
    X = X.clone()
    X[-1, :, 0] = 0
    X[-1, :, -1] = 0
    return X


class DilatedGated(nn.Module):
    """conv -> [dilated convs, each with a residual sum] -> a gate (product of two local branches
    whose windows differ) -> a residual from before the stack -> pool; read by two non-local heads
    (a global max of the pooled value and a dense layer of an earlier value)."""

    def __init__(self, L=60):
        super().__init__()
        self.c0 = nn.Conv1d(4, 8, 5, padding="same")
        self.dil = nn.ModuleList(nn.Conv1d(8, 8, 3, padding=d, dilation=d) for d in (1, 2, 4))
        self.bn = nn.BatchNorm1d(8)
        self.gate = nn.Conv1d(8, 8, 7, padding=3)
        self.valid = nn.Conv1d(8, 8, 3, padding=1)
        self.pool = nn.MaxPool1d(4)
        self.fc = nn.Linear(8 * (L // 4) + 8, 2)

    def forward(self, x):
        h0 = torch.relu(self.c0(x))
        h = h0
        for conv in self.dil:
            h = h + torch.relu(conv(h))
        g = torch.sigmoid(self.gate(h0)) * self.bn(h)  # windows of different widths
        h = torch.maximum(g, self.valid(h)) + h0
        p = self.pool(torch.relu(h))
        return self.fc(torch.cat([p.flatten(1), h0.amax(-1)], 1))


class Broadcast(nn.Module):
    """A product of a local value with a global one (not local: the plan stops before it)."""

    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv1d(4, 6, 5, padding=2)
        self.c1 = nn.Conv1d(6, 6, 3, padding=1)
        self.fc = nn.Linear(6, 1)

    def forward(self, x):
        h = torch.relu(self.c0(x))
        h = self.c1(h) * h.mean(-1, keepdim=True)
        return self.fc(h.amax(-1))


def test_residual_graph_plan_equals_naive_ism():
    torch.manual_seed(0)
    X = _with_n_columns(onehot(3, L=60, seed=2))
    model = scaled(DilatedGated(60), X)
    with torch.no_grad():
        plan = LocalPlan.build(model, X[:1], min_saving=0)
    assert plan is not None
    kinds = [op[0] for op in plan.ops]
    assert kinds.count("conv") == 6 and kinds.count("binary") == 6 and "pool" in kinds
    assert len(plan.frontier) == 2  # the pooled value and h0 (read by the global max)
    # ism() uses the plan only where it pays off; run it directly on every substitution
    slow = ism(model, X, target=1, fast=False, device="cpu")  # naive ISM (tests/attribution/test_ism.py)
    assert float(slow.abs().max()) > 1e-2
    model64, X64 = copy.deepcopy(model).double(), X.double()
    with torch.no_grad():
        slow64 = ism(model64, X64, target=1, fast=False, device="cpu")
        for p, tol, Xs, ref, m in [(plan, 1e-5, X, slow, model),
                                      (LocalPlan.build(model64, X64[:1], min_saving=0), 1e-10, X64, slow64,
                                       model64)]:
            for i in range(len(Xs)):
                x = Xs[i]
                pos = torch.arange(60).repeat_interleave(4)
                let = torch.arange(4).repeat(60)
                keep = x[let, pos] != 1
                got = p.run(x, pos[keep], let[keep])[:, 1] - m(x[None])[0, 1]
                assert float((got - ref[i, let[keep], pos[keep]]).abs().max()) <= tol


def test_broadcast_with_a_global_value_is_not_local():
    torch.manual_seed(1)
    X = onehot(2, L=30, seed=3)
    model = scaled(Broadcast(), X)
    with torch.no_grad():
        plan = LocalPlan.build(model, X[:1], min_saving=0)
    assert plan is not None and [op[0] for op in plan.ops].count("conv") == 2  # c0 and c1, not the product
    assert "binary" not in [op[0] for op in plan.ops]
    fast = ism(model, X, device="cpu")
    assert float((fast - ism(model, X, fast=False, device="cpu")).abs().max()) <= 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_residualbind_dna400_uses_the_fast_plan(dtype):
    """ResidualBind (dilated residual block, average pool 25) runs on windows of at most 41
    columns of its 400; the plan is used by default and equals naive ISM."""
    from seqlens.models import build_model

    X = _with_n_columns(onehot(2, L=400, seed=5)).to(dtype)
    model = scaled(build_model("residualbind_dna400", random_state=0), X, dtype=dtype)
    with torch.no_grad():
        plan = LocalPlan.build(model, X[:1])
    assert plan is not None, "ResidualBind: fast ISM not used"
    assert [op[0] for op in plan.ops].count("binary") == 1  # the residual sum
    # substitutions around both ends and the middle (the whole map takes a few seconds naively)
    for start, end in [(0, 12), (194, 206), (388, 400)]:
        fast = ism(model, X, device="cpu", start=start, end=end, batch_size=17)
        slow = ism(model, X, device="cpu", start=start, end=end, fast=False)
        assert float(slow.abs().max()) > 1e-4
        assert float((fast - slow).abs().max()) <= (1e-5 if dtype == torch.float32 else 1e-10)


def test_short_residualbind_falls_back():
    """On 41-nt inputs the dilated windows cover the whole sequence: nothing to gain, naive ISM."""
    from seqlens.models import build_model

    model = build_model("residualbind_rna41", random_state=0).eval()
    with torch.no_grad():
        assert LocalPlan.build(model, onehot(1, L=41)) is None
