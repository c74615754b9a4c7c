"""seqlens' tangermeme-compatible functions give tangermeme's values on the same model and inputs
(tangermeme is a test dependency): saturation_mutagenesis, marginalize, space."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlens.attribution import saturation_mutagenesis
from seqlens.interpret.gia import marginalize, space

from .toymodels import ConvReluPool, TwoHeads, onehot

tm_ism = pytest.importorskip("tangermeme.saturation_mutagenesis")
tm_marg = pytest.importorskip("tangermeme.marginalize")
tm_space = pytest.importorskip("tangermeme.space")

torch.set_num_threads(1)
TOL = 1e-5


class WithInput(nn.Module):
    """A model with an extra per-sequence input that scales its outputs."""

    def __init__(self):
        super().__init__()
        self.g = ConvReluPool(L=30, out=3)

    def forward(self, x, z):
        return self.g(x) * z


def _close(a, b):
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _close(u, v)
        return
    assert a.shape == b.shape
    assert float((a.double() - b.double()).abs().max()) <= TOL * max(1.0, float(b.abs().max()))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ConvReluPool(L=30, out=3).eval()


@pytest.mark.parametrize("kw", [
    {}, {"target": 1}, {"target": slice(0, 2)}, {"hypothetical": True}, {"start": 4, "end": 17},
    {"start": 3, "end": -5, "target": 2, "hypothetical": True}, {"func": lambda y: torch.sigmoid(y)},
])
def test_saturation_mutagenesis_equals_tangermeme(model, kw):
    X = onehot(4, 30, seed=1)
    want = tm_ism.saturation_mutagenesis(model, X, device="cpu", **kw)
    got = saturation_mutagenesis(model, X, device="cpu", **kw)
    _close(got, want)
    if not kw.get("hypothetical"):
        assert float((got * (1 - X[:, :, kw.get("start", 0):][:, :, :got.shape[-1]])).abs().max()) == 0


def test_saturation_mutagenesis_is_mean_centred_and_numpy_in_numpy_out(model):
    X = onehot(3, 30, seed=2)
    got = saturation_mutagenesis(model, X.numpy(), hypothetical=True, device="cpu")
    assert abs(got.sum(1)).max() < 1e-5
    _close(torch.as_tensor(got), tm_ism.saturation_mutagenesis(model, X, hypothetical=True, device="cpu"))


def test_saturation_mutagenesis_equals_tangermeme_on_profile_heads_and_extra_inputs():
    X = onehot(3, 30, seed=3)
    prof = TwoHeads().eval()
    for kw in ({"func": lambda y: y[0], "target": 1}, {"func": lambda y: y[1]},
               {"func": lambda y: y[0], "hypothetical": True}):
        _close(saturation_mutagenesis(prof, X, device="cpu", **kw),
               tm_ism.saturation_mutagenesis(prof, X, device="cpu", **kw))
    m = WithInput().eval()
    z = torch.tensor([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0], [2.0, 2.0, 2.0]])
    _close(saturation_mutagenesis(m, X, args=(z,), target=0, device="cpu"),
           tm_ism.saturation_mutagenesis(m, X, args=(z,), target=0, device="cpu"))


@pytest.mark.parametrize("motif,start", [("GATAAG", None), ("GATAAG", 3), ("CANNTG", None), ("ACGTN", 0)])
def test_marginalize_equals_tangermeme(model, motif, start):
    X = onehot(6, 30, seed=4)
    got = marginalize(model, X, motif, start=start, device="cpu")
    want = tm_marg.marginalize(model, X, motif, start=start, device="cpu")
    _close(got.y_before, want.y_before)
    _close(got.y_after, want.y_after)
    assert float((got.y_after - got.y_before).abs().max()) > 1e-4  # the motif changes the output


def test_marginalize_equals_tangermeme_with_one_hot_motifs_heads_args_and_funcs(model):
    X = onehot(5, 30, seed=5)
    motif = onehot(1, 7, seed=6)
    motif[:, :, 3] = 0  # an all-zero column keeps the background
    _close(list(marginalize(model, X, motif, device="cpu")),
           list(tm_marg.marginalize(model, X, motif, device="cpu")))
    prof = TwoHeads().eval()
    got = marginalize(prof, X, "TGACTCA", device="cpu")
    want = tm_marg.marginalize(prof, X, "TGACTCA", device="cpu")
    _close(got.y_before, want.y_before)
    _close(got.y_after, want.y_after)
    m = WithInput().eval()
    z = torch.rand(5, 3, generator=torch.Generator().manual_seed(0))
    _close(list(marginalize(m, X, "GGGCCC", start=10, args=(z,), device="cpu")),
           list(tm_marg.marginalize(m, X, "GGGCCC", start=10, args=(z,), device="cpu")))
    got = marginalize(model, X, "GATA", func=saturation_mutagenesis, target=1, device="cpu")
    want = tm_marg.marginalize(model, X, "GATA", func=tm_ism.saturation_mutagenesis, target=1, device="cpu")
    _close(list(got), list(want))


@pytest.mark.parametrize("motifs,spacing,start", [
    (["GATA", "CACGTG"], [[0], [3], [7]], None),
    (["GATA", "CACGTG"], [[2], [5]], 1),
    (["GATA", "TTNGG", "CAC"], [[1, 2], [4, 0], [0, 6]], None),
])
def test_space_equals_tangermeme(model, motifs, spacing, start):
    X = onehot(5, 30, seed=7)
    got = space(model, X, motifs, spacing, start=start, device="cpu")
    want = tm_space.space(model, X, motifs, torch.tensor(spacing), start=start, device="cpu")
    _close(got.y_before, want.y_before)
    _close(got.y_afters, want.y_afters)
    assert got.y_afters.shape == (5, len(spacing), 3)


def test_space_equals_tangermeme_on_several_heads_and_takes_a_1d_spacing_for_two_motifs():
    X = onehot(4, 30, seed=8)
    prof = TwoHeads().eval()
    got = space(prof, X, ["GATA", "CACGTG"], [1, 4], device="cpu")
    want = tm_space.space(prof, X, ["GATA", "CACGTG"], torch.tensor([[1], [4]]), device="cpu")
    _close(got.y_before, want.y_before)
    _close(got.y_afters, want.y_afters)


class ModuleReLUs(nn.Module):
    """ReLUs as modules (tangermeme's DeepLIFT sees module hooks only), no max-pooling."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.c1, self.r1 = nn.Conv1d(4, 8, 7, padding=3), nn.ReLU()
        self.c2, self.r2 = nn.Conv1d(8, 8, 3, padding=1), nn.ReLU()
        self.fc = nn.Linear(8 * 30, 2)

    def forward(self, x):
        return self.fc(self.r2(self.c2(self.r1(self.c1(x)))).flatten(1))


def test_deep_lift_shap_correspondence_with_tangermeme():
    """The documented correspondence: same hypothetical contributions; tangermeme's default is each
    column's sum of ours put on the observed letter."""
    from seqlens.attribution import deep_lift_shap
    from seqlens.shuffle import dinucleotide_shuffle

    tm_dls = pytest.importorskip("tangermeme.deep_lift_shap")
    X = onehot(4, 30, seed=9)
    R = torch.as_tensor(dinucleotide_shuffle(X.numpy(), 5, random_state=0))  # the same references
    m = ModuleReLUs().eval()
    for target in (0, 1):
        _close(deep_lift_shap(m, X, references=R, hypothetical=True, target=target, device="cpu"),
               tm_dls.deep_lift_shap(m, X, references=R, hypothetical=True, target=target, device="cpu"))
        ours = deep_lift_shap(m, X, references=R, target=target, device="cpu")
        _close(ours.sum(1, keepdim=True) * X, tm_dls.deep_lift_shap(m, X, references=R, target=target,
                                                                    device="cpu"))


def test_tangermeme_saliency_is_corrected_gradient_times_input(model):
    from seqlens.attribution import grad_x_input, saliency

    tm_sal = pytest.importorskip("tangermeme.saliency")
    X = onehot(4, 30, seed=10)
    _close(grad_x_input(model, X, target=2, correct=True, device="cpu"),
           tm_sal.saliency(model, X, target=2, device="cpu"))
    _close(saliency(model, X, target=1, correct=True, device="cpu"),
           tm_sal.saliency(model, X, target=1, hypothetical=True, device="cpu"))
