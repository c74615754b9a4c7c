import pytest
import torch

from seqlens.models import build_model
from seqlens.train import AdversarialTraining, fgsm, loss_function, pgd
from seqlens.train.augment import random_onehot


def _setup():
    model = build_model("cnn", seq_length=40, filters=8, kernel_size=7, pool=4, dense=[8],
                        random_state=0).eval()
    X = random_onehot(32, 4, 40, torch.Generator().manual_seed(0))
    Y = (torch.rand(32, 1, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    return model, X, Y, loss_function("bce")


@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_pgd_in_box_and_raises_loss(eps):
    model, X, Y, loss_fn = _setup()
    X_adv = pgd(model, X, Y, loss_fn, epsilon=eps, steps=5,
                generator=torch.Generator().manual_seed(0))
    assert X_adv.shape == X.shape
    assert (X_adv - X).abs().max().item() <= eps + 1e-6
    with torch.no_grad():
        assert loss_fn(model(X_adv), Y) > loss_fn(model(X), Y)
    clipped = pgd(model, X, Y, loss_fn, epsilon=eps, steps=3, clip=(0.0, 1.0))
    assert clipped.min() >= 0 and clipped.max() <= 1


def test_fgsm_in_box_and_raises_loss():
    model, X, Y, loss_fn = _setup()
    X_adv = fgsm(model, X, Y, loss_fn, epsilon=0.1)
    assert torch.allclose((X_adv - X).abs().max(), torch.tensor(0.1))
    with torch.no_grad():
        assert loss_fn(model(X_adv), Y) > loss_fn(model(X), Y)
    assert all(p.grad is None for p in model.parameters())


def test_schedule_phases():
    adv = AdversarialTraining(warmup_epochs=2, mixed_epochs=3)
    assert [adv.phase(e) for e in range(7)] == ["clean"] * 2 + ["mixed"] * 3 + ["adversarial"] * 2
    with pytest.raises(ValueError):
        AdversarialTraining(method="cw")
