import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from toymodels import ConvReluPool, all_toys, onehot  # noqa: E402

from seqlens.attribution import (  # noqa: E402
    angle_statistics,
    correct_gradients,
    expected_integrated_gradients,
    grad_x_input,
    gradient_angles,
    integrated_gradients,
    saliency,
    smoothgrad,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toys():
    return all_toys()


def test_saliency_matches_finite_differences():
    torch.manual_seed(1)
    model = ConvReluPool(40).double().eval()
    X = onehot(2).double()
    g = saliency(model, X, target=1, device="cpu")
    eps = 1e-6
    for n, a, l in [(0, 0, 3), (0, 2, 17), (1, 3, 39), (1, 1, 0)]:
        Xp, Xm = X.clone(), X.clone()
        Xp[n, a, l] += eps
        Xm[n, a, l] -= eps
        with torch.no_grad():
            fd = (model(Xp)[n, 1] - model(Xm)[n, 1]) / (2 * eps)
        assert float(g[n, a, l]) == pytest.approx(float(fd), rel=1e-5, abs=1e-8)


def test_numpy_in_numpy_out_and_target_kinds(toys):
    model = toys["conv_relu_pool"]
    X = onehot(3)
    g = saliency(model, X.numpy(), target=0, device="cpu")
    assert isinstance(g, np.ndarray) and g.shape == (3, 4, 40)
    g01 = saliency(model, X, target=[0, 1], device="cpu")
    assert torch.allclose(g01, saliency(model, X, target=0, device="cpu")
                          + saliency(model, X, target=1, device="cpu"), atol=1e-6)
    per = saliency(model, X, target=np.array([1, 0, 1]), device="cpu", batch_size=2)
    assert torch.allclose(per[0], saliency(model, X[:1], target=1, device="cpu")[0])
    assert torch.allclose(per[1], saliency(model, X[1:2], target=0, device="cpu")[0])
    sig = saliency(model, X, target=0, activation="sigmoid", device="cpu")
    with torch.no_grad():
        p = torch.sigmoid(model(X)[:, 0])
    assert torch.allclose(sig, g_times(saliency(model, X, target=0, device="cpu"), p * (1 - p)), atol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        saliency(model, X, target=5, device="cpu")


def g_times(g, w):
    return g * w[:, None, None]


def test_grad_x_input_and_correction(toys):
    model = toys["residual"]
    X = onehot(4)
    g = saliency(model, X, device="cpu")
    gx = grad_x_input(model, X, device="cpu")
    assert torch.allclose(gx, g * X)
    gc = saliency(model, X, correct=True, device="cpu")
    assert torch.allclose(gc.sum(1), torch.zeros(4, 40), atol=1e-6)
    assert torch.allclose(gc, correct_gradients(g))
    assert np.allclose(correct_gradients(g.numpy()).sum(1), 0, atol=1e-6)
    gxc = grad_x_input(model, X, correct=True, device="cpu")
    assert torch.allclose(gxc, gc * X)


def test_smoothgrad_sigma_zero_is_saliency_and_seeded(toys):
    model = toys["conv_exp"]
    X = onehot(3)
    s0 = smoothgrad(model, X, n_samples=4, sigma=0.0, device="cpu", random_state=0)
    assert torch.allclose(s0, saliency(model, X, device="cpu"), atol=1e-6)
    a = smoothgrad(model, X, n_samples=8, sigma=0.2, device="cpu", random_state=3, batch_size=16)
    b = smoothgrad(model, X, n_samples=8, sigma=0.2, device="cpu", random_state=3, batch_size=8)
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, s0, atol=1e-4)


@pytest.mark.parametrize("baseline", [None, "shuffle"])
def test_integrated_gradients_completeness(toys, baseline):
    model = toys["residual"]
    X = onehot(3)
    ig = integrated_gradients(model, X, baseline=baseline, steps=200, device="cpu", random_state=0)
    if baseline is None:
        B = torch.zeros_like(X)
    else:
        from seqlens.shuffle import dinucleotide_shuffle

        B = torch.as_tensor(dinucleotide_shuffle(X.numpy(), 1, random_state=0))[:, 0]
    with torch.no_grad():
        delta = model(X)[:, 0] - model(B)[:, 0]
    assert torch.allclose(ig.sum((1, 2)), delta, atol=1e-2, rtol=1e-2)
    assert float((ig.sum((1, 2)) - delta).abs().max()) < 1e-3


def test_expected_ig_completeness(toys):
    model = toys["conv_relu_pool"]
    X = onehot(2)
    from seqlens.shuffle import dinucleotide_shuffle

    B = torch.as_tensor(dinucleotide_shuffle(X.numpy(), 3, random_state=1))
    eig = expected_integrated_gradients(model, X, baseline=B, steps=100, device="cpu")
    with torch.no_grad():
        delta = model(X)[:, 0] - model(B.reshape(-1, 4, 40))[:, 0].reshape(2, 3).mean(1)
    assert torch.allclose(eig.sum((1, 2)), delta, atol=1e-2)
    e2 = expected_integrated_gradients(model, X, n_baselines=3, steps=10, device="cpu", random_state=5)
    e3 = expected_integrated_gradients(model, X, n_baselines=3, steps=10, device="cpu", random_state=5)
    assert torch.equal(e2, e3)


def test_expected_ig_path_gradient_of_linear_model_is_its_weights():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 40, 1))
    X = onehot(2)
    g = expected_integrated_gradients(model, X, n_baselines=4, steps=5, baseline="mono_shuffle",
                                      times_delta=False, device="cpu", random_state=0)
    W = model[1].weight.detach().reshape(4, 40)
    assert torch.allclose(g, W.expand(2, 4, 40), atol=1e-6)


def test_gradient_angles_exact():
    g = np.zeros((1, 4, 3))
    g[0, :, 0] = [1, -1, 0, 0]  # on the simplex plane: 0 degrees
    g[0, :, 1] = [1, 1, 1, 1]  # orthogonal: 90 degrees
    g[0, :, 2] = [1, 0.5, 0, 0]  # arcsin(0.75 / sqrt(1.25)) = 42.13 degrees
    ang = gradient_angles(g)
    assert np.allclose(ang, [[0, 90, np.degrees(np.arcsin(0.75 / np.sqrt(1.25)))]])
    assert np.allclose(gradient_angles(np.array([[[1.0], [0], [0], [0]]])), 30)
    st = angle_statistics(g)
    assert st["frac_over_30"] == pytest.approx(2 / 3)
    assert st["frac_over_45"] == pytest.approx(1 / 3)
    assert st["frac_over_60"] == pytest.approx(1 / 3)
    assert np.allclose(gradient_angles(correct_gradients(g)), 0)
