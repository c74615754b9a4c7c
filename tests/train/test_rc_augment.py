"""``fit(rc=True)`` / ``seqlens train --rc``: reverse-complement augmentation at training time."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from seqlens.cli import main
from seqlens.io.hdf5 import Dataset, Split, save_dataset
from seqlens.train import fit


class _Recorder(nn.Module):
    """Linear model that keeps every training input it sees."""

    def __init__(self, length):
        super().__init__()
        self.lin = nn.Linear(4 * length, 1)
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(x.detach().clone())
        return self.lin(x.flatten(1))


def _forward_only(n=64, length=12):
    """Every sequence is ``AACC...`` so its reverse complement ``GG...TT`` is recognisable."""
    idx = np.array([0] * (length // 2) + [1] * (length - length // 2))
    X = np.eye(4, dtype=np.float32)[np.tile(idx, (n, 1))].transpose(0, 2, 1).copy()
    return X, np.ones((n, 1), np.float32)


@pytest.mark.parametrize("rc", [False, True])
def test_rc_flips_about_half_of_the_sequences(rc):
    X, Y = _forward_only()
    model = _Recorder(X.shape[2])
    fit(model, (X, Y), loss="bce", epochs=3, batch_size=16, patience=None, lr_patience=None, rc=rc,
        random_state=0)
    seen = torch.cat(model.seen).numpy()
    assert len(seen) == 3 * len(X)
    forward = (seen == X[0]).all(axis=(1, 2))
    flipped = (seen == X[0, ::-1, ::-1]).all(axis=(1, 2))
    assert (forward | flipped).all()  # nothing but the sequence or its exact reverse complement
    if rc:
        assert 0.35 < flipped.mean() < 0.65
    else:
        assert not flipped.any()


def test_rc_refuses_protein_one_hot():
    X = np.zeros((4, 20, 5), np.float32)
    X[:, 0] = 1
    with pytest.raises(ValueError, match="needs DNA or RNA one-hot.*20 letters"):
        fit(_Recorder(5 * 5), (X, np.ones((4, 1), np.float32)), epochs=1, rc=True)


def test_cli_train_rc(tmp_path):
    X, Y = _forward_only(40, 24)
    Y[::2] = 0
    data = tmp_path / "d.h5"
    save_dataset(data, Dataset(Split(X, Y), Split(X[:10], Y[:10]), Split(X[:10], Y[:10])))
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--model", "cnn", "--filters", "4",
                 "--kernel-size", "5", "--epochs", "2", "--rc", "--out", str(run), "--quiet",
                 "--threads", "1"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["metadata"]["training"]["rc"] is True
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] == 2
