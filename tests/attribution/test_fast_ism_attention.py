"""Incremental ISM of CNN + attention hybrids equals naive ISM (seqlens.attribution.fast_ism_attention)."""

import pytest

torch = pytest.importorskip("torch")

from seqlens.attribution import ism  # noqa: E402
from seqlens.attribution.fast_ism_attention import AttentionPlan  # noqa: E402
from seqlens.models import build_model  # noqa: E402

from .toymodels import onehot, scaled  # noqa: E402


class Head(torch.nn.Module):
    """A wrapper that post-processes the hybrid's output (the plan must keep it)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[:, :1] * 2 - 1


@pytest.mark.parametrize("name,L,dtype", [
    ("cnn_attention", 61, torch.float32), ("cnn_attention", 120, torch.float64),
    ("cnn_attention_pe", 80, torch.float32), ("cnn_transformer", 64, torch.float32),
    ("cnn_lstm_attention", 64, torch.float32),
])
def test_attention_plan_equals_naive(name, L, dtype):
    """Every substitution, both ends included: within 1e-5 in float32 (outputs scaled to at most
    1) and 1e-10 in float64; a wrapper around the model is kept."""
    X = onehot(3, L=L, seed=5).to(dtype)
    model = scaled(build_model(name, seq_length=L, n_outputs=2, random_state=0), X, dtype=dtype)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    for m in (model, Head(model).eval()):
        with torch.no_grad():
            assert AttentionPlan.build(m, X[:1]) is not None
        fast = ism(m, X, device="cpu")
        slow = ism(m, X, fast=False, device="cpu")
        assert float(slow.abs().max()) > 1e-2
        assert float((fast - slow).abs().max()) <= tol
        assert torch.all(fast[X == 1] == 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_attention_plan_without_residual(dtype):
    """Ghotra & Koo's layout (LayerNorm before attention, no skip connection): same values as naive ISM."""
    X = onehot(3, L=80, seed=7).to(dtype)
    model = scaled(build_model("cnn_attention", seq_length=80, attention_residual=False, random_state=0),
                   X, dtype=dtype)
    with torch.no_grad():
        assert AttentionPlan.build(model, X[:1]) is not None
    fast, slow = ism(model, X, device="cpu"), ism(model, X, fast=False, device="cpu")
    assert float(slow.abs().max()) > 1e-2
    assert float((fast - slow).abs().max()) <= (1e-5 if dtype == torch.float32 else 1e-10)


@pytest.mark.parametrize("residual", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_attention_plan_projected_values(residual, dtype):
    """Ghotra & Koo's sizes (32 filters, 8 heads of 32 dims): the output projection goes into the
    values (no row projected per mutant); same values as naive ISM, with and without the skip
    connection."""
    X = onehot(3, L=80, seed=11).to(dtype)
    model = scaled(build_model("cnn_attention", seq_length=80, filters=32, key_size=32,
                               attention_residual=residual, random_state=0), X, dtype=dtype)
    with torch.no_grad():
        plan = AttentionPlan.build(model, X[:1])
    assert plan is not None and plan._vo is not None
    fast, slow = ism(model, X, device="cpu"), ism(model, X, fast=False, device="cpu")
    assert float(slow.abs().max()) > 1e-2
    assert float((fast - slow).abs().max()) <= (1e-5 if dtype == torch.float32 else 1e-10)


@pytest.mark.parametrize("limit", [60.0, float("-inf")])
@pytest.mark.parametrize("kw", [{}, {"filters": 32, "key_size": 32}])
def test_attention_plan_large_scores(monkeypatch, limit, kw):
    """Large attention scores, with the softmax of the new columns relative to the unmutated row
    maxima (default) and always rescaled to the new maxima (limit -inf), stay exact (values as
    they are and projected)."""
    import seqlens.attribution.fast_ism_attention as fa

    monkeypatch.setattr(fa, "_EXP_LIMIT", limit)
    L = 48
    X = onehot(2, L=L, seed=3).double()
    model = scaled(build_model("cnn_attention", seq_length=L, random_state=0, **kw), X, dtype=torch.float64)
    with torch.no_grad():
        model.attention.query.weight.mul_(20)
        model.attention.key.weight.mul_(20)
        assert float(model.attention_maps(X).amax(-1).mean()) > 0.5  # peaked softmax rows
    fast, slow = ism(model, X, device="cpu"), ism(model, X, fast=False, device="cpu")
    assert float(slow.abs().max()) > 1e-2
    assert float((fast - slow).abs().max()) <= 1e-9


def test_attention_plan_not_for_other_models():
    model = build_model("cnn_local", seq_length=101, random_state=0).eval()
    with torch.no_grad():
        assert AttentionPlan.build(model, onehot(1, L=101)) is None
