import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from toymodels import all_toys, onehot  # noqa: E402

from seqlens.attribution import deep_lift, deep_lift_shap  # noqa: E402
from seqlens.shuffle import dinucleotide_shuffle  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toys():
    return all_toys()


def _check_sum(model, X, R, attr_sum, target=0, rel=1e-3):
    with torch.no_grad():
        fx = model(X)[:, target]
        fr = model(R.reshape(-1, *X.shape[1:]))[:, target].reshape(len(X), -1).mean(1)
    delta = fx - fr
    err = (attr_sum - delta).abs()
    assert bool((err <= rel * delta.abs() + 1e-5).all()), (err, delta)


@pytest.mark.parametrize("name", ["conv_relu_pool", "conv_exp", "residual", "attention"])
def test_deepshap_sums_to_delta(toys, name):
    model = toys[name]
    X = onehot(5)
    R = torch.as_tensor(dinucleotide_shuffle(X.numpy(), 4, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        attr, d = deep_lift_shap(model, X, references=R, return_delta=True, device="cpu")
    assert attr.shape == X.shape
    _check_sum(model, X, R, attr.sum((1, 2)))
    assert float(d.abs().max()) < 1e-4


def test_deeplift_exact_on_small_relu_network():
    # y = relu(x0 - x1) + 2 relu(x0 + x1 - 1): hand-computed rescale-rule contributions
    class Tiny(nn.Module):
        def forward(self, x):
            a, b = x[:, 0, 0], x[:, 1, 0]
            return (torch.relu(a - b) + 2 * torch.relu(a + b - 1))[:, None]

    X = torch.tensor([[[2.0], [0.5], [0.0], [0.0]]])
    attr = deep_lift(Tiny(), X, reference="zeros", device="cpu")
    # unit 1: h1 = 1.5 from 0 -> m = 1, contributions (2, -0.5); unit 2: pre 1.5 from -1 -> relu
    # from 0 to 1.5, m = 1.5 / 2.5 = 0.6, contributions 2 * 0.6 * (2, 0.5) = (2.4, 0.6)
    assert torch.allclose(attr[0, :, 0], torch.tensor([4.4, 0.1, 0.0, 0.0]), atol=1e-6)
    assert float(attr.sum()) == pytest.approx(1.5 + 2 * 1.5)


def test_maxpool_rule_exact_when_reference_shares_argmax_values():
    # identical prefixes in input and reference make x_a == r_a with different arg-maxes
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 3, 5, padding=2), nn.MaxPool1d(4), nn.Flatten(),
                          nn.Linear(3 * 5, 1)).double().eval()
    X = onehot(4, L=20).double()
    R = X.clone()
    R[:, :, 6:] = onehot(4, L=20, seed=9).double()[:, :, 6:]
    attr, d = deep_lift(model, X, reference=R, return_delta=True, device="cpu")
    assert float(d.abs().max()) < 1e-10


def test_hypothetical_contributions_project_to_actual(toys):
    model = toys["conv_relu_pool"]
    X = onehot(3)
    kw = dict(n_shuffles=3, random_state=1, device="cpu")
    actual = deep_lift_shap(model, X, **kw)
    hyp = deep_lift_shap(model, X, hypothetical=True, **kw)
    assert torch.allclose((hyp * X).sum(1), actual.sum(1), atol=1e-5)
    assert np.allclose(deep_lift_shap(model, X.numpy(), **kw), actual.numpy(), atol=1e-6)


def test_warns_when_summation_is_violated():
    class Sneaky(nn.Module):  # a nonlinearity without a rule: x * sign(x) via a custom Function
        def forward(self, x):
            return (_Square.apply(x.sum((1, 2), keepdim=True) - 10)).reshape(len(x), 1)

    X = onehot(2)
    with pytest.warns(RuntimeWarning, match="do not sum"):
        deep_lift(Sneaky(), X, device="cpu")


class _Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_deepshap_seeded_and_activation(toys):
    model = toys["residual"]
    X = onehot(2)
    a = deep_lift_shap(model, X, n_shuffles=3, random_state=2, activation="sigmoid", device="cpu")
    b = deep_lift_shap(model, X, n_shuffles=3, random_state=2, activation="sigmoid", device="cpu")
    assert torch.equal(a, b)
    R = torch.as_tensor(dinucleotide_shuffle(X.numpy(), 3, random_state=2))
    with torch.no_grad():
        fr = torch.sigmoid(model(R.reshape(-1, 4, 40))[:, 0]).reshape(2, 3).mean(1)
        delta = torch.sigmoid(model(X)[:, 0]) - fr
    assert np.allclose(a.sum((1, 2)).numpy(), delta.numpy(), atol=1e-5)


@pytest.mark.parametrize("pool", [
    lambda t: torch.nn.functional.max_pool1d(t, 5, stride=2, padding=1),  # overlapping windows
    lambda t: torch.nn.functional.max_pool1d(t, 4),
    lambda t: torch.nn.functional.adaptive_max_pool1d(t, 3),
    lambda t: torch.nn.functional.max_pool2d(t[:, None], (2, 3))[:, 0],
])
def test_maxpool_index_rule_equals_routed_rule(pool):
    """The index-based max-pool rule (gathers and scatter-adds) gives the multipliers of the
    general routed rule (forward-mode derivatives), and both sum to delta."""
    from seqlens.attribution.deeplift import DeepLiftMode, _Select

    g = torch.Generator().manual_seed(0)
    x, r = torch.randn(3, 4, 17, generator=g), torch.randn(3, 4, 17, generator=g)
    r[0, :, :5] = x[0, :, :5]  # shared arg-maxes too
    w = torch.randn(pool(x).shape, generator=g)

    def rule(fn_pass):
        xx = x.clone().requires_grad_(True)
        y = fn_pass(xx)
        (m,) = torch.autograd.grad((y * w).sum(), xx)
        return m, y

    mode = DeepLiftMode()
    with mode:
        pool(r)
    mode.start_input()

    def by_index(t):
        with mode:
            return pool(t)

    m_idx, y = rule(by_index)
    m_ref, y_ref = rule(lambda t: _Select.apply(t, r, pool))
    assert torch.equal(y, pool(x)) and torch.equal(y_ref, pool(x))
    assert torch.allclose(m_idx, m_ref, atol=1e-6)
    delta = float(((pool(x) - pool(r)) * w).sum())
    assert float((m_idx * (x - r)).sum()) == pytest.approx(delta, rel=1e-5, abs=1e-5)


def test_maxpool_return_indices_passes_indices():
    class M(nn.Module):
        def forward(self, x):
            y, idx = torch.nn.functional.max_pool1d(x, 2, return_indices=True)
            return (y.sum((1, 2)) + 0 * idx.sum((1, 2)))[:, None]

    X = onehot(2, L=10)
    attr, d = deep_lift(M(), X, reference="shuffle", random_state=0, return_delta=True, device="cpu")
    assert float(d.abs().max()) < 1e-5


def _unshared(monkeypatch):
    """DeepSHAP without the input pass's per-sequence forward values (every row computed)."""
    import seqlens.attribution.deeplift as D

    monkeypatch.setattr(D, "_SHARED", {})
    monkeypatch.setattr(D.DeepLiftMode, "_share", lambda self, full, rows: full)


def _assert_shared_pass_equals_full(monkeypatch, model, X, n_references: int):
    """DeepSHAP of float64 ``model`` on ``X`` with and without the per-sequence input pass: both
    sum to delta and give the same attributions."""
    R = torch.as_tensor(dinucleotide_shuffle(X.numpy(), n_references, random_state=0))
    shared, d1 = deep_lift_shap(model, X, references=R, return_delta=True, device="cpu")
    _unshared(monkeypatch)
    full, d2 = deep_lift_shap(model, X, references=R, return_delta=True, device="cpu")
    assert float(d1.abs().max()) < 1e-9 and float(d2.abs().max()) < 1e-9
    assert torch.allclose(shared, full, rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_shared_input_pass_equals_full(monkeypatch):
    """The input pass computes convolutions, linear layers and batch norms once per sequence
    (its references' rows are equal); the multipliers are those of the full computation, and
    uneven 'same' padding (kernel 4) or a layer whose input rows differ falls back to it."""
    import seqlens.attribution.deeplift as D

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(4, 6, 5, padding="same", dilation=2)
            self.bn = nn.BatchNorm1d(6)
            self.c2 = nn.Conv1d(6, 5, 4, padding="same")  # uneven padding: not shared
            self.c3 = nn.Conv2d(1, 2, (2, 3), padding=(0, 1))
            self.fc = nn.Linear(2 * 4 * 20, 2)

        def forward(self, x):
            h = torch.relu(self.bn(self.c1(x)))
            h = torch.relu(self.c2(h))
            h = torch.relu(self.c3(h[:, None]))
            return self.fc(h.flatten(1))

    torch.manual_seed(0)
    model = Net().eval()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2)
    X = onehot(3, L=20)
    R = torch.as_tensor(dinucleotide_shuffle(X.numpy(), 5, random_state=0))
    used = []
    forward = D._Shared.forward
    monkeypatch.setattr(D._Shared, "forward", staticmethod(lambda ctx, x, yc, G, name, p: (
        used.append(name), forward(ctx, x, yc, G, name, p))[1]))
    shared, d1 = deep_lift_shap(model, X, references=R, return_delta=True, device="cpu")
    assert sorted(set(used)) == ["batch_norm", "conv1d", "conv2d", "linear"]
    assert used.count("conv1d") == used.count("linear")  # c1 only, once per pass (c2 not shared)
    _unshared(monkeypatch)
    full, d2 = deep_lift_shap(model, X, references=R, return_delta=True, device="cpu")
    assert torch.allclose(shared, full, atol=1e-6)
    assert float(d1.abs().max()) < 1e-5 and float(d2.abs().max()) < 1e-5


@pytest.mark.parametrize("scale", [1.0, 15.0])
def test_softmax_rule_forms_agree_and_sum_to_delta(monkeypatch, scale):
    """The softmax rule's one-sided multiplier (``y_x expm1(r - x) / (r - x)``) and its
    overflow-safe form (``max(e_x, e_r) (1 - exp(-|x - r|)) / |x - r|``) give the same
    contributions, which sum to delta (float64), also where input and reference scores differ
    by more than the one-sided form's limit (scale 15: the default uses the safe form there)."""
    import seqlens.attribution.deeplift as D

    class Att(nn.Module):
        def __init__(self):
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.w = nn.Parameter(torch.randn(4, 6, generator=g, dtype=torch.float64))
            self.v = nn.Parameter(torch.randn(6, 3, generator=g, dtype=torch.float64))

        def forward(self, x):
            h = x.transpose(1, 2) @ self.w  # (N, L, 6)
            s = torch.softmax(scale * h @ h.transpose(1, 2) / 6, dim=-1)
            return (s @ h @ self.v).sum((1, 2))[:, None]

    model = Att().double()
    X = onehot(2, L=12).double()
    R = torch.as_tensor(dinucleotide_shuffle(X.numpy(), 3, random_state=0))
    runs = {}
    for name, limit in (("one-sided", float("inf")), ("safe", -float("inf"))):
        monkeypatch.setattr(D, "_ONE_SIDED", limit)
        runs[name] = deep_lift_shap(model, X, references=R, return_delta=True, device="cpu")
    for _, d in runs.values():
        assert float(d.abs().max()) < 1e-9
    assert torch.allclose(runs["one-sided"][0], runs["safe"][0], rtol=1e-9, atol=1e-12)
    monkeypatch.undo()
    attr, d = deep_lift_shap(model, X, references=R, return_delta=True, device="cpu")
    assert float(d.abs().max()) < 1e-9
    assert torch.allclose(attr, runs["safe"][0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,kw", [
    ("cnn_attention", {}),
    ("cnn_attention", {"attention_residual": False, "key_size": 32, "filters": 32, "dense": 128,
                       "activation": "exponential"}),
    ("residualbind", {}),
])
def test_per_sequence_rows_equal_full_pass_on_zoo(monkeypatch, name, kw):
    """The input pass's forward values from each sequence's rows (followed through views,
    pointwise operations, products, softmax, pooling, layer norm) give the multipliers of the
    pass that computes every input/reference row (float64)."""
    from seqlens.models import build_model

    model = build_model(name, seq_length=120, random_state=0, **kw).double().eval()
    _assert_shared_pass_equals_full(monkeypatch, model, onehot(2, L=120).double(), n_references=3)


def test_linear_operations_on_unwritten_rows_equal_full_pass(monkeypatch):
    """Sums, differences (also reversed and with alpha), negation, scaling, means and sums over
    other axes of input-pass tensors whose values are written only when read: the same
    multipliers as the pass computing every row (float64)."""

    class Lin(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.c1, self.c2 = nn.Conv1d(4, 6, 5, padding=2), nn.Conv1d(4, 6, 3, padding=1)
            self.pos = nn.Parameter(torch.randn(6, 20))
            self.fc = nn.Linear(6 * 20, 2)

        def forward(self, x):
            a, b = self.c1(x), self.c2(x)
            h = torch.relu(torch.sub(a, b, alpha=0.5) + self.pos)
            h = torch.rsub(h, b) - (-a) * 3.0 / 2.0  # rsub: b - h
            h = torch.relu(h - h.mean(1, keepdim=True)) + h.sum((1,), keepdim=True) * 0.1
            return self.fc(torch.relu(h).flatten(1))

    _assert_shared_pass_equals_full(monkeypatch, Lin().double().eval(), onehot(3, L=20).double(),
                                    n_references=4)


@pytest.mark.parametrize("n_references", [1, 4])
def test_layer_norm_rule_equals_its_decomposition(n_references):
    """Layer norm as one rule gives the multipliers of its decomposition written out (centring,
    mean of squares, inverse square root, products with weight and bias), each operation with
    its own rule: one reference (every row computed) and four (the input's rows shared), float64."""

    class Net(nn.Module):
        def __init__(self, explicit):
            super().__init__()
            torch.manual_seed(0)
            self.conv, self.norm = nn.Conv1d(4, 8, 5, padding=2), nn.LayerNorm(8)
            self.fc = nn.Linear(8 * 30, 1)
            with torch.no_grad():
                self.norm.weight.normal_(1, 0.5)
                self.norm.bias.normal_(0, 0.5)
            self.explicit = explicit

        def forward(self, x):
            h = torch.relu(self.conv(x)).transpose(1, 2)
            if self.explicit:
                c = h - h.mean(-1, keepdim=True)
                s = torch.rsqrt((c * c).mean(-1, keepdim=True) + self.norm.eps)
                h = c * s * self.norm.weight + self.norm.bias
            else:
                h = self.norm(h)
            return self.fc(torch.tanh(h).flatten(1))

    X = onehot(3, L=30, seed=2).double()
    R = torch.from_numpy(dinucleotide_shuffle(X.numpy(), n_references, random_state=1))
    fused, delta = deep_lift_shap(Net(False).double().eval(), X, references=R, return_delta=True)
    explicit = deep_lift_shap(Net(True).double().eval(), X, references=R)
    assert float(fused.abs().max()) > 1e-3
    assert float((fused - explicit).abs().max()) <= 1e-12 * float(fused.abs().max())
    assert float(delta.abs().max()) <= 1e-10


_KEPT = """
import ctypes, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(k, ctypes.c_size_t) for k in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                              "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "on":
    from seqlens.resources import keep_freed_memory
    keep_freed_memory()
a = np.ones(20 << 17)  # 20 MB
del a
print(libc.mallinfo2().fordblks >> 20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_keep_freed_memory_keeps_a_freed_block_for_the_next_pass():
    """seqlens.resources.keep_freed_memory: a 20 MB block freed in a fresh process stays in glibc's
    heap for reuse (so the next pass does not fault it back in page by page); without the call glibc
    maps it and hands it back to the kernel. (A count of page faults over DeepSHAP calls showed the
    same, 2-5 thousand against up to ~10 thousand, but glibc's own dynamic thresholds make the count
    without the call vary from run to run.)"""
    import ctypes.util
    import os
    import subprocess

    if any(k.startswith("MALLOC_") for k in os.environ) or \
            not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc") or \
            not hasattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "mallinfo2"):
        pytest.skip("not glibc >= 2.33 at its default thresholds")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}

    def kept_mb(mode):
        out = subprocess.run([sys.executable, "-c", _KEPT, mode], capture_output=True, text=True,
                             env=env, timeout=120, check=True)
        return int(out.stdout.split()[-1])

    assert kept_mb("on") >= 20
    assert kept_mb("off") < 20


def test_cpu_deep_lift_shap_keeps_freed_memory(monkeypatch):
    import seqlens.attribution.deeplift as D

    calls = []
    monkeypatch.setattr(D, "keep_freed_memory", lambda: calls.append(1))
    model = nn.Sequential(nn.Conv1d(4, 2, 5), nn.ReLU(), nn.Flatten(), nn.Linear(52, 1)).eval()
    D.deep_lift_shap(model, onehot(2, L=30, seed=0), n_shuffles=2, random_state=0)
    assert calls
