"""fit(checkpoint_dir=..., resume=True): a run stopped after any epoch continues to the same model."""

import json
import pickle

import pytest
import torch

import seqlens.train.trainer as trainer
from seqlens.models import build_model
from seqlens.train import AdversarialTraining, EvoAug, fit
from seqlens.train.state import STATE, TrainingStateError

from .conftest import toy_data


def _small(seed=0):
    return build_model("cnn", seq_length=30, filters=4, kernel_size=5, pool=3, dense=[8],
                       dropout=0.2, random_state=seed)


@pytest.fixture(scope="module")
def data():
    return toy_data(96, length=30, seed=0), toy_data(48, length=30, seed=1)


def _flat(model):
    return torch.cat([v.detach().float().flatten() for v in model.state_dict().values()])


def _interrupted(monkeypatch, after: int):
    """Make fit stop (as Ctrl-C would) right after the state of epoch ``after`` is saved."""
    real = trainer.save_state
    calls = []

    def save(folder, info, tensors):
        real(folder, info, tensors)
        calls.append(info["epoch"])
        if info["epoch"] == after:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "save_state", save)
    return calls


CASES = {
    "plain": dict(epochs=4, lr_patience=1),
    "early_stop": dict(epochs=12, lr=0.3, patience=3, lr_patience=0, monitor="loss"),
    "evoaug_finetune": dict(epochs=2, augment=EvoAug(["rc", "mutation"]), finetune_epochs=2,
                            mixup=0.4, noise_std=0.05),
    "adversarial": dict(epochs=3, adversarial=AdversarialTraining(steps=2, warmup_epochs=1,
                                                                    mixed_epochs=1)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_resume_gives_the_uninterrupted_model(case, data, tmp_path, monkeypatch):
    kw = dict(CASES[case], random_state=3, batch_size=32)
    train, valid = data
    ref = _small()
    res_ref = fit(ref, train, valid, checkpoint_dir=tmp_path / "ref", **kw)
    plain = _small()
    fit(plain, train, valid, **kw)
    assert torch.equal(_flat(ref), _flat(plain))  # saving states changes nothing
    n = len(res_ref.history)
    assert n >= 2 and json.loads((tmp_path / "ref" / STATE).read_text())["epoch"] == n
    assert len(list((tmp_path / "ref").glob("state-*.pt"))) == 1

    for after in range(1, n):
        folder = tmp_path / f"run{after}"
        with monkeypatch.context() as m:
            _interrupted(m, after)
            with pytest.raises(KeyboardInterrupt):
                fit(_small(), train, valid, checkpoint_dir=folder, **kw)
        model = _small()
        res = fit(model, train, valid, checkpoint_dir=folder, resume=True, **kw)
        assert torch.equal(_flat(model), _flat(ref)), f"stopped after epoch {after}"
        assert [r["train_loss"] for r in res.history] == [r["train_loss"] for r in res_ref.history]
        assert (res.best_epoch, res.stopped_early) == (res_ref.best_epoch, res_ref.stopped_early)
    if case == "early_stop":
        assert res_ref.stopped_early and len({r["lr"] for r in res_ref.history}) > 1


def test_resume_of_a_finished_state_trains_no_more(data, tmp_path, monkeypatch):
    train, valid = data
    ref = _small()
    fit(ref, train, valid, epochs=2, checkpoint_dir=tmp_path)
    calls = _interrupted(monkeypatch, after=-1)
    model = _small()
    res = fit(model, train, valid, epochs=2, checkpoint_dir=tmp_path, resume=True)
    assert calls == [] and len(res.history) == 2 and torch.equal(_flat(model), _flat(ref))
    # resume=False starts over (and overwrites the state)
    fit(_small(), train, valid, epochs=2, checkpoint_dir=tmp_path)
    assert calls == [1, 2]


def test_state_is_safe_and_checked(data, tmp_path):
    train, valid = data
    fit(_small(), train, valid, epochs=1, checkpoint_dir=tmp_path)
    pt = next(tmp_path.glob("state-*.pt"))
    tensors = torch.load(pt, weights_only=True)  # optimizer/scheduler states load without pickle
    assert set(tensors) >= {"model", "best_model", "optimizer", "scheduler", "rng_torch"}
    with pytest.raises(TrainingStateError, match=r"other settings \(epochs 1 -> 2\)"):
        fit(_small(), train, valid, epochs=2, checkpoint_dir=tmp_path, resume=True)
    other = toy_data(96, length=30, seed=5)
    with pytest.raises(TrainingStateError, match="data_sha256 [0-9a-f]+ -> [0-9a-f]+"):
        fit(_small(), other, valid, epochs=1, checkpoint_dir=tmp_path, resume=True)
    # a state file replaced by a pickle is refused before anything is unpickled
    pt.write_bytes(pickle.dumps({"model": 1}))
    with pytest.raises(TrainingStateError, match="does not match"):
        fit(_small(), train, valid, epochs=1, checkpoint_dir=tmp_path, resume=True)
    (tmp_path / STATE).write_text("{not json")
    with pytest.raises(TrainingStateError, match="corrupt training state"):
        fit(_small(), train, valid, epochs=1, checkpoint_dir=tmp_path, resume=True)
