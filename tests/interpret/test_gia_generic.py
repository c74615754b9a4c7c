"""global_importance over inputs of any modality: null batches and generators, intervention
callables, targets on several heads, extra inputs, and the errors a user gets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqlens.errors import ParameterError, SeqlensError
from seqlens.interpret import gia

torch.set_num_threads(1)


class Tabular(nn.Module):
    """Two heads on (n, 3) features: 'sum' = x0 + 2 x1, 'prod' = x0 * x2."""

    def forward(self, x):
        return {"sum": (x[:, 0] + 2 * x[:, 1])[:, None], "prod": (x[:, 0] * x[:, 2])[:, None]}


def test_effects_are_the_per_input_output_differences_of_any_tensor():
    X = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0], [2.0, 2.0, 0.5]])

    def set_x0(x, rng):
        x = x.clone()
        x[:, 0] = 3.0
        return x

    r = gia.global_importance(Tabular(), X, intervention=set_x0, target=("prod", 0), device="cpu")
    want = 3.0 * X[:, 2] - X[:, 0] * X[:, 2]
    assert np.allclose(r.effects, want.numpy())
    assert r.importance == pytest.approx(float(want.mean()))
    assert r.se == pytest.approx(float(want.std(unbiased=True) / np.sqrt(3)))
    # the intervention may be the third positional argument and take the batch alone
    s = gia.global_importance(Tabular(), X, lambda x: x + 1, target=("sum", 0), batch_size=2, device="cpu")
    assert np.allclose(s.effects, 3.0)


def test_a_null_generator_draws_n_inputs_from_the_random_state():
    calls = []

    def null(n, rng):
        calls.append(n)
        return rng.normal(size=(n, 3)).astype(np.float32)

    def double(x, rng):
        return x * 2

    a = gia.global_importance(Tabular(), null, double, n=150, target=lambda y: y["sum"][:, 0],
                              random_state=4, device="cpu")
    b = gia.global_importance(Tabular(), null, double, n=150, target=lambda y: y["sum"][:, 0],
                              random_state=4, device="cpu")
    assert calls == [150, 150] and a.n == 150
    assert np.array_equal(a.effects, b.effects)
    X = np.random.default_rng(4).normal(size=(150, 3)).astype(np.float32)
    assert np.allclose(a.effects, X[:, 0] + 2 * X[:, 1], atol=1e-5)


def test_extra_inputs_go_unchanged_to_both_passes():
    class Gate(nn.Module):
        def forward(self, x, g):
            return (x.sum(1) * g)[:, None]

    X = np.ones((4, 2), np.float32)
    g = torch.tensor([0.0, 1.0, 2.0, -1.0])
    r = gia.global_importance(Gate(), X, lambda x: x * 3, args=(g,), batch_size=3, device="cpu")
    assert np.allclose(r.effects, 4.0 * g.numpy())


def test_generic_errors_name_the_problem():
    X = torch.zeros(4, 3)
    with pytest.raises(ParameterError, match=r"returns 2 outputs \('sum', 'prod'\)"):
        gia.global_importance(Tabular(), X, lambda x: x, device="cpu")
    with pytest.raises(ParameterError, match=r"intervention returned \(2, 3\) for a batch of shape \(4, 3\)"):
        gia.global_importance(Tabular(), X, lambda x: x[:2], target=("sum", 0), device="cpu")
    with pytest.raises(ParameterError, match="the null generator returned .* for n=5"):
        gia.global_importance(Tabular(), lambda n, rng: torch.zeros(3, 3), lambda x: x, n=5,
                              target=("sum", 0), device="cpu")
    with pytest.raises(SeqlensError, match="n .* must be an integer >= 1"):
        gia.global_importance(Tabular(), lambda n, rng: torch.zeros(n, 3), lambda x: x, target=("sum", 0))
    with pytest.raises(ParameterError, match="n=5 but X_null holds 4 inputs"):
        gia.global_importance(Tabular(), X, lambda x: x, n=5, target=("sum", 0), device="cpu")
    with pytest.raises(SeqlensError, match="either patterns .* or an intervention"):
        gia.global_importance(Tabular(), X, device="cpu")


def test_sequence_patterns_still_need_one_hot_nulls_with_an_alphabet_axis():
    class Count(nn.Module):
        def forward(self, x):
            return x[:, 2].sum(-1, keepdim=True)  # number of G

    nulls = np.zeros((3, 4, 10), np.float32)
    nulls[:, 0] = 1
    assert gia.global_importance(Count(), nulls, "GGG", 2, device="cpu").importance == 3.0
    with pytest.raises(ParameterError, match="looks channels-last"):
        gia.global_importance(Count(), nulls.transpose(0, 2, 1), "GGG", 2, device="cpu")
    with pytest.raises(ParameterError, match="looks channels-last"):
        gia.kmer_screen(Count(), nulls.transpose(0, 2, 1), k=2, device="cpu")


def test_substitute_keeps_the_background_under_n_and_centres_as_tangermeme():
    X = np.zeros((2, 4, 11), np.float32)
    X[:, 3] = 1  # all T
    Y = gia.substitute(X, "ANG")  # start = 11 // 2 - 3 // 2 = 4
    assert "".join("ACGT"[i] for i in Y[0].argmax(0)) == "TTTTATGTTTT"
    Z = gia.substitute(torch.as_tensor(X), np.eye(4, dtype=np.float32)[:, :2], start=0)
    assert isinstance(Z, torch.Tensor) and "".join("ACGT"[i] for i in Z[1].argmax(0)[:3]) == "ACT"
    with pytest.raises(ParameterError, match="invalid character 'X' at position 2"):
        gia.substitute(X, "AXG")
    with pytest.raises(ParameterError, match="does not fit in length 11"):
        gia.substitute(X, "ACGT", start=9)
