"""The Koo lab's PGD recipe (p-koo/robustness + tfomics): the attack's box and the epoch schedule."""

import numpy as np
import pytest
import torch
from torch import nn

from seqlens.models import build_model
from seqlens.train import fit, loss_function, pgd
from seqlens.train.adversarial import AdversarialTraining, published_pgd
from seqlens.train.augment import random_onehot


def _onehot(n, length, seed=0):
    return random_onehot(n, 4, length, torch.Generator().manual_seed(seed))


def test_published_recipe_settings_and_phases():
    adv = published_pgd()
    assert (adv.method, adv.epsilon, adv.steps, adv.random_start, adv.clip) == ("pgd", 0.05, 20, False, None)
    assert adv.step_size == pytest.approx(0.01)
    assert published_pgd(0.01).step_size == pytest.approx(0.002)
    phases = [adv.phase(e) for e in range(60)]
    assert phases == ["clean"] * 10 + ["mixed"] * 25 + ["adversarial"] * 25


def test_published_pgd_on_a_linear_model_is_the_box_corner():
    # BCE of a linear logit w.x + c: d loss / d x = (sigmoid(w.x + c) - y) w, so 20 sign steps of 0.01
    # from x end exactly at x + 0.05 * sign((p - y) w): the corner of the box, beyond [0, 1]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4 * 30, 1))
    X = _onehot(16, 30)
    Y = (torch.arange(16) % 2).float()[:, None]
    adv = published_pgd()
    X_adv = adv.attack(model, X, Y, loss_function("bce"))
    with torch.no_grad():
        p = torch.sigmoid(model(X))
    w = model[1].weight.reshape(1, 4, 30)
    expected = X + 0.05 * torch.sign((p - Y)[:, :, None] * w)
    assert torch.allclose(X_adv, expected, atol=1e-6)
    assert X_adv.min().item() == pytest.approx(-0.05, abs=1e-6)
    assert X_adv.max().item() == pytest.approx(1.05, abs=1e-6)


def test_pgd_stays_in_the_box_around_the_one_hot():
    model = build_model("cnn", seq_length=40, filters=8, kernel_size=7, pool=4, dense=[8],
                        random_state=0).eval()
    X = _onehot(32, 40, seed=1)
    Y = (torch.rand(32, 1, generator=torch.Generator().manual_seed(2)) > 0.5).float()
    loss = loss_function("bce")
    for eps in (0.05, 0.01):
        X_adv = published_pgd(eps).attack(model, X, Y, loss)
        assert (X_adv - X).abs().max().item() <= eps + 1e-6
        assert X_adv.min().item() < 0  # the published attack does not clip to [0, 1]
        with torch.no_grad():
            assert loss(model(X_adv), Y) > loss(model(X), Y)
    # no random start: the attack is deterministic
    assert torch.equal(published_pgd().attack(model, X, Y, loss), published_pgd().attack(model, X, Y, loss))
    # the box holds for a random start as well (seqlens' default), and with clip in [0, 1]
    X_rs = pgd(model, X, Y, loss, epsilon=0.05, step_size=0.01, steps=20,
               generator=torch.Generator().manual_seed(0))
    assert (X_rs - X).abs().max().item() <= 0.05 + 1e-6
    clipped = AdversarialTraining(epsilon=0.05, step_size=0.01, steps=20, clip=(0.0, 1.0),
                                  random_start=False).attack(model, X, Y, loss)
    assert clipped.min() >= 0 and clipped.max() <= 1


class _Recorder(nn.Module):
    """A tiny model that logs, for each forward in training mode, whether its input is one-hot."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(4, 4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 16, 1))
        self.log = []

    def forward(self, x):
        if self.training:
            self.log.append("clean" if bool(((x == 0) | (x == 1)).all()) else "adv")
        else:
            self.log.append("eval")  # attack steps and validation
        return self.net(x)


def _batches_per_epoch(log, steps):
    """Split the forward log into epochs: each epoch's training forwards, then its validation."""
    epochs, current = [], []
    i = 0
    while i < len(log):
        if log[i] == "eval":
            run = 0
            while i < len(log) and log[i] == "eval":
                run, i = run + 1, i + 1
            if run % steps:  # a validation pass (1 forward), possibly after attack steps
                epochs.append(current)
                current = []
            continue
        current.append(log[i])
        i += 1
    return epochs


def test_fit_switches_at_the_published_epochs():
    torch.manual_seed(0)
    X, Xv = _onehot(16, 20, seed=3), _onehot(8, 20, seed=4)
    Y = (torch.arange(16) % 2).float()[:, None]
    Yv = (torch.arange(8) % 2).float()[:, None]
    model = _Recorder()
    adv = published_pgd()
    res = fit(model, (X, Y), (Xv, Yv), epochs=40, batch_size=8, patience=None, lr_patience=None,
              adversarial=adv, restore_best=False)
    assert [r["phase"] for r in res.history] == ["clean"] * 10 + ["mixed"] * 25 + ["adversarial"] * 5
    epochs = _batches_per_epoch(model.log, steps=adv.steps)
    assert len(epochs) == 40
    for e, batches in enumerate(epochs):
        if e < 10:
            assert batches == ["clean", "clean"], e
        elif e < 35:  # each batch: its clean copy and its adversarial copy
            assert sorted(batches) == ["adv", "adv", "clean", "clean"], e
        else:
            assert batches == ["adv", "adv"], e
    # 20 attack steps (eval mode) per batch of every mixed and adversarial epoch, 1 validation pass each
    assert model.log.count("eval") == 30 * 2 * 20 + 40


def test_early_stopping_waits_for_the_adversarial_phase():
    X, Xv = _onehot(16, 20, seed=5), _onehot(8, 20, seed=6)
    Y = (torch.arange(16) % 2).float()[:, None]
    Yv = torch.zeros(8, 1)
    Yv[::2] = 1
    adv = AdversarialTraining(epsilon=0.05, step_size=0.01, steps=2, warmup_epochs=10, mixed_epochs=25,
                              random_start=False)
    res = fit(_Recorder(), (X, Y), (Xv, Yv), epochs=60, batch_size=8, patience=1, monitor="loss",
              lr=0.0, adversarial=adv)  # lr 0: the monitor never improves after a phase's first epoch
    assert res.stopped_early
    phases = [r["phase"] for r in res.history]
    assert phases[:35] == ["clean"] * 10 + ["mixed"] * 25
    assert phases[35:] == ["adversarial", "adversarial"] and len(res.history) == 37
    assert np.isfinite(res.history[-1]["valid_loss"])
