import json

import numpy as np
import pytest
import torch

from seqlens.models import build_model
from seqlens.train import AdversarialTraining, EvoAug, evaluate, fit, predict


def _small(seed=0, **kw):
    return build_model("cnn", seq_length=40, filters=8, kernel_size=7, pool=4, dense=[16],
                       activation=kw.pop("activation", "exponential"), random_state=seed, **kw)


def test_learns_toy_task_and_writes_history(toy, tmp_path):
    train, valid, test = toy
    model = _small()
    res = fit(model, train, valid, epochs=12, lr=5e-3, patience=4, out_dir=tmp_path)
    assert evaluate(model, test)["test_auroc"] > 0.9
    assert res.best_epoch >= 1 and res.monitor == "valid_auroc"
    assert res.best_score == max(r["valid_auroc"] for r in res.history)
    hist = json.loads((tmp_path / "history.json").read_text())
    assert len(hist) == len(res.history)
    header = (tmp_path / "history.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "train_loss", "valid_loss", "valid_auroc", "valid_aupr", "lr"} <= set(header)


def test_same_seed_same_model(toy):
    train, valid, _ = toy
    weights = []
    for _ in range(2):
        m = _small(seed=1, dropout=0.2)
        fit(m, train, valid, epochs=2, random_state=7, augment=EvoAug(), noise_std=0.1)
        weights.append(torch.cat([p.detach().flatten() for p in m.state_dict().values()
                                  if p.dtype.is_floating_point]))
    assert torch.equal(weights[0], weights[1])
    m = _small(seed=1, dropout=0.2)
    fit(m, train, valid, epochs=2, random_state=8, augment=EvoAug(), noise_std=0.1)
    other = torch.cat([p.detach().flatten() for p in m.state_dict().values()
                       if p.dtype.is_floating_point])
    assert not torch.equal(weights[0], other)


def test_global_rng_untouched(toy):
    train, valid, _ = toy
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(_small(), train, valid, epochs=1)
    assert torch.equal(torch.rand(3), expected)


def test_early_stopping_restores_best_weights(toy):
    train, valid, _ = toy
    # a huge learning rate makes validation worse after the first epochs
    model = _small(activation="relu")
    res = fit(model, train, valid, epochs=30, lr=0.5, patience=2, lr_patience=None,
              monitor="loss")
    assert res.stopped_early and len(res.history) < 30
    best = min(r["valid_loss"] for r in res.history)
    assert res.best_score == best
    assert evaluate(model, valid, prefix="valid_")["valid_loss"] == pytest.approx(best, rel=1e-4)


def test_restore_best_false_keeps_last_epoch(toy):
    train, valid, _ = toy
    model = _small(activation="relu")
    res = fit(model, train, valid, epochs=30, lr=0.5, patience=2, lr_patience=None,
              monitor="loss", restore_best=False)
    assert res.stopped_early and res.best_epoch < len(res.history)
    last = res.history[-1]["valid_loss"]
    assert last > res.best_score
    assert evaluate(model, valid, prefix="valid_")["valid_loss"] == pytest.approx(last, rel=1e-4)


def test_reduce_on_plateau_lowers_lr(toy):
    train, valid, _ = toy
    res = fit(_small(), train, valid, epochs=6, lr=1e-6, lr_patience=0, lr_factor=0.5,
              patience=None, min_lr=1e-9)
    lrs = [r["lr"] for r in res.history]
    assert lrs[-1] < lrs[0]


def test_robust_options_run_and_schedule_recorded(toy):
    train, valid, test = toy
    adv = AdversarialTraining(method="pgd", epsilon=0.05, steps=2, warmup_epochs=1,
                              mixed_epochs=1)
    res = fit(_small(), train, valid, epochs=3, adversarial=adv, clip_grad=1.0,
              weight_decay=1e-4, patience=None)
    assert [r["phase"] for r in res.history] == ["clean", "mixed", "adversarial"]
    res = fit(_small(), train, valid, epochs=2, augment=EvoAug(), finetune_epochs=2,
              finetune_lr=1e-4, patience=None)
    assert [r["stage"] for r in res.history] == ["train", "train", "finetune", "finetune"]
    assert res.history[2]["lr"] == pytest.approx(1e-4)
    for layer in (None, "conv1"):
        res = fit(_small(), train, valid, epochs=1, mixup=0.4, mixup_layer=layer)
        assert np.isfinite(res.history[0]["train_loss"])
    with pytest.raises(ValueError, match="mixup_layer"):
        fit(_small(), train, valid, epochs=1, mixup=0.4, mixup_layer="nope")


def test_regression_losses_and_user_module(toy):
    (X, _), (Xv, _), _ = toy
    w = np.linspace(-1, 1, 40, dtype=np.float32)
    Y = (X[:, 0] * w).sum(1, keepdims=True)
    Yv = (Xv[:, 0] * w).sum(1, keepdims=True)
    user = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(160, 1))
    res = fit(user, (X, Y), (Xv, Yv), loss="mse", epochs=40, lr=1e-2, patience=None)
    assert res.monitor == "valid_pearson" and res.best_score > 0.95
    counts = np.random.default_rng(0).poisson(np.exp(Y / 4)).astype(np.float32)
    res = fit(_small(), (X, counts), (Xv, np.exp(Yv / 4)), loss="poisson", epochs=3)
    assert np.isfinite(res.history[-1]["valid_loss"])
    p = predict(user, X[:5], link=None)
    assert isinstance(p, np.ndarray) and p.shape == (5, 1)
    assert isinstance(predict(user, torch.from_numpy(X[:5])), torch.Tensor)


def test_bad_inputs(toy):
    train, valid, _ = toy
    with pytest.raises(ValueError, match="loss must be"):
        fit(_small(), train, valid, loss="hinge")
    with pytest.raises(ValueError, match="Y has"):
        fit(_small(), (train[0], train[1][:5]), valid)
    with pytest.raises(ValueError, match="monitor"):
        fit(_small(), train, valid, monitor="pearson")


def test_adversarial_best_weights_come_from_last_phase(toy):
    train, valid, _ = toy
    adv = AdversarialTraining(method="fgsm", epsilon=0.3, warmup_epochs=3, mixed_epochs=0)
    res = fit(_small(), train, valid, epochs=5, lr=5e-3, adversarial=adv, patience=1)
    assert [r["phase"] for r in res.history] == ["clean"] * 3 + ["adversarial"] * 2
    assert res.best_epoch in (4, 5)
