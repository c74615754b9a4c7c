"""The input/output contract of every attribution entry point: the alphabet axis (channels-last
refused), targets on models with several outputs, extra model inputs (args=), captum's keyword
aliases, and the DeepLIFT summation-to-delta warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from seqlens import attribution as at
from seqlens.errors import ParameterError

from .toymodels import ConvReluPool, TwoHeads, onehot

torch.set_num_threads(1)

ENTRY_POINTS = {
    "saliency": lambda m, X, **k: at.saliency(m, X, device="cpu", **k),
    "grad_x_input": lambda m, X, **k: at.grad_x_input(m, X, device="cpu", **k),
    "smoothgrad": lambda m, X, **k: at.smoothgrad(m, X, n_samples=2, device="cpu", random_state=0, **k),
    "ig": lambda m, X, **k: at.integrated_gradients(m, X, steps=4, device="cpu", **k),
    "eig": lambda m, X, **k: at.expected_integrated_gradients(m, X, n_baselines=2, steps=3,
                                                               device="cpu", random_state=0, **k),
    "deeplift": lambda m, X, **k: at.deep_lift(m, X, device="cpu", **k),
    "deepshap": lambda m, X, **k: at.deep_lift_shap(m, X, n_shuffles=2, device="cpu", random_state=0, **k),
    "ism": lambda m, X, **k: at.ism(m, X, device="cpu", **k),
    "ism_naive": lambda m, X, **k: at.ism(m, X, fast=False, device="cpu", **k),
    "window_ism": lambda m, X, **k: at.window_ism(m, X, width=5, device="cpu", **k)[0],
    "saturation_mutagenesis": lambda m, X, **k: at.saturation_mutagenesis(m, X, device="cpu", **k),
}


class Linear(nn.Module):
    """f(x) = sum of W * x over letters and positions, one output per row of W."""

    def __init__(self, A=4, L=12, out=2, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = nn.Parameter(torch.randn(out, A, L, generator=g))

    def forward(self, x):
        return torch.einsum("nal,tal->nt", x, self.W)


# --- the alphabet axis --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_channels_last_input(name):
    X = onehot(2, 12).permute(0, 2, 1)  # (N, L, 4)
    with pytest.raises(ParameterError, match=r"looks channels-last: \(N, L, 4\)") as exc:
        ENTRY_POINTS[name](Linear(), X)
    assert "\n" not in str(exc.value)
    assert "transpose" in str(exc.value) and "layout=" in str(exc.value)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_an_axis_that_is_no_alphabet(name):
    X = torch.zeros(2, 7, 12)
    X[:, 0] = 1
    with pytest.raises(ParameterError, match=r"7 entries on its alphabet axis.*expected 4 or 20 or 21"):
        ENTRY_POINTS[name](Linear(A=7), X)


def test_the_alphabet_given_opens_other_channel_counts_and_checks_them():
    X = onehot(2, 12, A=5)
    m = Linear(A=5)
    got = at.ism(m, X, alphabet=5, device="cpu")
    W = m.W.detach()[0]  # ISM of a linear model: W[a, l] - W[observed, l]
    want = W[None] - (W[None] * X).sum(1, keepdim=True)
    assert torch.allclose(got, want, atol=1e-5)
    with pytest.raises(ParameterError, match="expected 20"):
        at.saliency(Linear(), onehot(1, 12), alphabet="protein", device="cpu")
    prot = onehot(2, 12, A=20)
    assert at.saliency(Linear(A=20), prot, device="cpu").shape == (2, 20, 12)


def test_gradient_correction_and_angles_check_the_alphabet_axis():
    g = np.random.default_rng(0).normal(size=(2, 12, 4))
    with pytest.raises(ParameterError, match="channels-last"):
        at.correct_gradients(g)
    with pytest.raises(ParameterError, match="channels-last"):
        at.gradient_angles(g)
    c = at.correct_gradients(g.transpose(0, 2, 1))
    assert np.abs(c.sum(1)).max() < 1e-12


# --- targets on models with several outputs ----------------------------------------------------


class Head(nn.Module):
    def __init__(self, model, fn):
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, x):
        return self.fn(self.model(x))


@pytest.mark.parametrize("name", ["saliency", "ig", "deepshap", "ism", "ism_naive"])
def test_a_head_and_index_select_the_same_output_as_a_single_head_model(name):
    X = onehot(3, 20, seed=2)
    run = ENTRY_POINTS[name]
    tup, dic = TwoHeads(), TwoHeads(as_dict=True)
    dic.load_state_dict(tup.state_dict())
    counts_only = run(Head(tup, lambda y: y[1]), X, target=0)
    assert torch.allclose(run(tup, X, target=(1, 0)), counts_only, atol=1e-5)
    assert torch.allclose(run(dic, X, target=("counts", 0)), counts_only, atol=1e-5)
    strand0 = run(Head(tup, lambda y: y[0][:, 0].sum(-1, keepdim=True)), X, target=0)
    assert torch.allclose(run(dic, X, target=("profile", 0)), strand0, atol=1e-4)
    # a callable sees the whole output, not its first element
    both = run(Head(tup, lambda y: (y[0][:, 1, 5] + 2 * y[1][:, 0])[:, None]), X, target=0)
    assert torch.allclose(run(tup, X, target=lambda y: y[0][:, 1, 5] + 2 * y[1][:, 0]), both, atol=1e-4)


@pytest.mark.parametrize("name", ["saliency", "deepshap", "ism", "window_ism"])
def test_an_int_target_on_a_model_with_several_outputs_names_the_heads(name):
    X = onehot(2, 20)
    with pytest.raises(ParameterError, match=r"returns 2 outputs \(0, 1\); name one with target=\(head, "
                                             r"index\), e.g. target=\(0, 0\)"):
        ENTRY_POINTS[name](TwoHeads(), X, target=0)
    with pytest.raises(ParameterError, match=r"outputs \('profile', 'counts'\).*target=\('profile', 0\)"):
        ENTRY_POINTS[name](TwoHeads(as_dict=True), X)
    with pytest.raises(ParameterError, match=r"head 'count' is not an output of the model; its outputs "
                                             r"are 'profile', 'counts'"):
        ENTRY_POINTS[name](TwoHeads(as_dict=True), X, target=("count", 0))
    with pytest.raises(ParameterError, match=r"head 2 out of range: the model returns 2 outputs"):
        ENTRY_POINTS[name](TwoHeads(), X, target=(2, 0))


def test_a_model_with_one_output_in_a_tuple_needs_no_head():
    X = onehot(2, 20)
    m = ConvReluPool(L=20, out=3)
    one = Head(m, lambda y: (y,))
    assert torch.allclose(at.saliency(one, X, target=2, device="cpu"),
                          at.saliency(m, X, target=2, device="cpu"))
    with pytest.raises(ParameterError, match="single tensor, which has no head 'counts'"):
        at.saliency(m, X, target=("counts", 0), device="cpu")


def test_slices_and_lists_of_outputs_are_summed():
    X = onehot(3, 12)
    m = Linear(out=4)
    W = m.W.detach()
    assert torch.allclose(at.saliency(m, X, target=slice(1, 3), device="cpu"), (W[1] + W[2]).expand(3, 4, 12))
    assert torch.allclose(at.saliency(m, X, target=[0, 3], device="cpu"), (W[0] + W[3]).expand(3, 4, 12))
    per_seq = at.saliency(m, X, target=np.array([3, 0, 1]), batch_size=2, device="cpu")
    assert torch.allclose(per_seq, W[[3, 0, 1]])
    # a per-sequence index array inside a (head, index) target follows the batches too
    tup = Head(m, lambda y: (y * 0, y))
    assert torch.allclose(at.saliency(tup, X, target=(1, np.array([3, 0, 1])), batch_size=2, device="cpu"),
                          W[[3, 0, 1]])
    with pytest.raises(ParameterError, match="selects none of 4 outputs"):
        at.saliency(m, X, target=slice(5, 9), device="cpu")
    with pytest.raises(ParameterError, match="target 4 out of range for 4 outputs"):
        at.saliency(m, X, target=4, device="cpu")


def test_a_callable_target_must_return_one_value_per_sequence():
    with pytest.raises(ParameterError, match=r"reduce the output to shape \(N,\) = \(2,\), got \(2, 2\)"):
        at.saliency(Linear(), onehot(2, 12), target=lambda y: y, device="cpu")


# --- extra model inputs ------------------------------------------------------------------------


class Scaled(nn.Module):
    """f(x, z) = g(x) * z[:, 0] + z[:, 1]: z scales and shifts each sequence's output."""

    def __init__(self):
        super().__init__()
        self.g = ConvReluPool(L=20, out=1)

    def forward(self, x, z):
        return self.g(x) * z[:, :1] + z[:, 1:2]


@pytest.mark.parametrize("name", ["saliency", "grad_x_input", "smoothgrad", "ig", "eig", "deeplift",
                                  "deepshap", "ism", "saturation_mutagenesis"])
def test_args_are_sliced_with_each_batch_and_not_attributed(name):
    X = onehot(5, 20, seed=3)
    z = torch.tensor([[1.0, 0.0], [2.0, 5.0], [-1.0, 1.0], [0.5, 0.0], [3.0, -2.0]])
    m = Scaled()
    kw = {} if name.startswith("saturation") or name == "ism" else {"batch_size": 2}
    if name == "ism":
        kw = {"batch_size": 7}  # mutants per pass: a batch spans two sequences' worth of rows
    got = ENTRY_POINTS[name](m, X, args=(z,), **kw)
    plain = ENTRY_POINTS[name](m.g, X, **kw)
    assert torch.allclose(got, plain * z[:, 0, None, None], atol=1e-4)


def test_args_must_match_the_sequences():
    X = onehot(3, 20)
    with pytest.raises(ParameterError, match=r"args\[0\] has shape \(2, 2\); each extra input needs the same "
                                             r"first dimension as X \(3\)"):
        at.saliency(Scaled(), X, args=(torch.ones(2, 2),), device="cpu")
    with pytest.raises(ParameterError, match="args must be a tuple of tensors"):
        at.saliency(Scaled(), X, args=3, device="cpu")


# --- captum's keywords -------------------------------------------------------------------------


def test_captum_keywords_are_aliases_of_ours():
    X = onehot(3, 20, seed=4)
    m = ConvReluPool(L=20, out=2)
    B = onehot(3, 20, seed=5)
    ours = at.integrated_gradients(m, X, baseline=B, steps=7, batch_size=14, device="cpu")
    theirs = at.integrated_gradients(m, X, baselines=B, n_steps=7, internal_batch_size=14, device="cpu")
    assert torch.equal(ours, theirs)
    assert not torch.allclose(ours, at.integrated_gradients(m, X, steps=7, device="cpu"))
    eig = at.expected_integrated_gradients(m, X, baseline=B[:, None], n_steps=5, device="cpu")
    assert torch.equal(eig, at.expected_integrated_gradients(m, X, baselines=B[:, None], steps=5,
                                                             device="cpu"))
    assert torch.equal(at.deep_lift(m, X, baselines=B, device="cpu"),
                       at.deep_lift(m, X, reference=B, device="cpu"))
    R = B[:, None].repeat(1, 2, 1, 1)
    assert torch.equal(at.deep_lift_shap(m, X, baselines=R, device="cpu"),
                       at.deep_lift_shap(m, X, references=R, device="cpu"))
    sg = at.smoothgrad(m, X, nt_samples=3, stdevs=0.2, random_state=0, device="cpu")
    assert torch.equal(sg, at.smoothgrad(m, X, n_samples=3, sigma=0.2, random_state=0, device="cpu"))
    assert "captum's keywords ``baselines`` for ``baseline``" in at.integrated_gradients.__doc__


@pytest.mark.parametrize("call", [
    lambda m, X: at.integrated_gradients(m, X, 0, None, X, baselines=X, device="cpu"),
    lambda m, X: at.integrated_gradients(m, X, steps=3, n_steps=4, device="cpu"),
    lambda m, X: at.deep_lift_shap(m, X, references="zeros", baselines="zeros", device="cpu"),
])
def test_a_keyword_and_its_captum_alias_together_are_refused(call):
    with pytest.raises(ParameterError, match="captum's alias .*=, not both"):
        call(ConvReluPool(L=20), onehot(2, 20))


# --- DeepLIFT summation to delta ---------------------------------------------------------------


class FunctionalResidual(nn.Module):
    """Residual block whose nonlinearities are functional calls (torch.relu, F.relu after the add)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.c0 = nn.Conv1d(4, 8, 5, padding=2)
        self.c1 = nn.Conv1d(8, 8, 3, padding=1)
        self.c2 = nn.Conv1d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        h = torch.relu(self.c0(x))
        h = nn.functional.relu(h + self.c2(torch.relu(self.c1(h))))
        return self.fc(h.amax(-1))


class NoRule(FunctionalResidual):
    """The same with a ReLU written as torch.where, which has no DeepLIFT rule (gradient only)."""

    def forward(self, x):
        h = torch.relu(self.c0(x))
        s = h + self.c2(torch.relu(self.c1(h)))
        return self.fc(torch.where(s > 0, s, 0.0).amax(-1))


def test_deeplift_sums_to_delta_through_functional_relus_after_residual_adds():
    X = onehot(4, 30, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _, d = at.deep_lift_shap(FunctionalResidual(), X, n_shuffles=3, return_delta=True, device="cpu",
                                 random_state=0)
    assert d.abs().max() < 1e-4


def test_deeplift_warns_in_one_line_naming_the_largest_error_when_the_sum_misses_delta():
    X = onehot(4, 30, seed=6)
    with pytest.warns(RuntimeWarning, match=r"max \|sum - delta\| = ([0-9.e-]+)") as rec:
        _, d = at.deep_lift_shap(NoRule(), X, n_shuffles=3, return_delta=True, device="cpu", random_state=0)
    msg = str(rec[0].message)
    assert "\n" not in msg and len(rec) == 1
    worst = float(msg.split("max |sum - delta| = ")[1].split(")")[0])
    assert worst == pytest.approx(float(d.abs().max()), rel=1e-2) and worst > 1e-3


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script itself
def test_deeplift_on_torchscript_warns_that_its_operations_are_hidden():
    X = onehot(3, 30, seed=7)
    scripted = torch.jit.script(FunctionalResidual())
    with pytest.warns(RuntimeWarning, match="TorchScript, whose operations DeepLIFT's rules cannot see"):
        at.deep_lift_shap(scripted, X, n_shuffles=2, device="cpu", random_state=0)
