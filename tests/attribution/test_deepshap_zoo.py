"""Summation-to-delta of DeepSHAP on every model of the zoo (random weights, float32)."""

import warnings

import pytest
import torch

from seqlens.attribution import deep_lift_shap
from seqlens.shuffle import dinucleotide_shuffle

zoo = pytest.importorskip("seqlens.models.zoo")
torch.set_num_threads(1)

# profile models return two heads; tests/models/test_bpnet.py checks them
CASES = [(name, {}) for name in zoo.list_models() if zoo.model_config(name)["name"] != "bpnet"] + [
    (name, {"activation": "exponential"})
    for name in ("cnn_local", "cnn_dist", "cnn_attention", "residualbind", "deepstarr")
] + [("cnn_attention", {"activation": "exponential", "attention_residual": False})]


@pytest.mark.parametrize("name,kw", CASES)
def test_deepshap_delta_on_zoo_model(name, kw):
    try:  # shorter sequences keep the test fast; fall back to the preset's own length
        model = zoo.build_model(name, random_state=0, seq_length=120, **kw).eval()
        model(torch.zeros(1, model.config.get("in_channels", 4), 120))
    except Exception:
        model = zoo.build_model(name, random_state=0, **kw).eval()
    L = model.config.get("seq_length", 200)
    A = model.config.get("in_channels", 4)
    g = torch.Generator().manual_seed(1)
    X = torch.nn.functional.one_hot(torch.randint(0, A, (1, L), generator=g), A).permute(0, 2, 1).float()
    R = torch.as_tensor(dinucleotide_shuffle(X.numpy(), 2, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        attr, d = deep_lift_shap(model, X, references=R, target=0, return_delta=True, device="cpu")
    with torch.no_grad():
        fx = model(X)[:, 0]
        fr = model(R.reshape(-1, A, L))[:, 0]
    delta = fx - fr  # one value per input/reference pair
    # d = sum of the pair's contributions - (f(x) - f(r)), measured inside deep_lift_shap
    assert torch.all(d[0].abs() <= 1e-3 * delta.abs() + 1e-6), (d, delta)
    assert torch.allclose(attr.sum(), delta.mean(), rtol=1e-3, atol=1e-6)
