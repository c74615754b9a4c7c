"""``--target HEAD:INDEX`` on the CLI: ``seqlens attribute`` and ``seqlens gia`` on a model returning
two heads give the library's values, and a missing or wrong head is a one-line error (exit 2)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from seqlens import attribution as at
from seqlens.io.hdf5 import Dataset, Split, save_dataset

torch.set_num_threads(1)
L = 40

FACTORY = '''
import torch
from torch import nn


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 6, 5, padding=2)
        self.prof = nn.Conv1d(6, 2, 3, padding=1)
        self.counts = nn.Linear(6, 1)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return {"profile": self.prof(h), "counts": self.counts(h.mean(-1))}


def make():
    return TwoHeads()
'''


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("contract_cli")
    (tmp / "net.py").write_text(FACTORY)
    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (6, L))].transpose(0, 2, 1)
    seqs = ["".join("ACGT"[i] for i in x.argmax(0)) for x in X]
    (tmp / "s.fa").write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    split = Split(X, np.zeros((6, 1), np.float32))
    save_dataset(tmp / "d.h5", Dataset(split, split, split))
    return tmp, X


def _model(env):
    import importlib.util

    spec = importlib.util.spec_from_file_location("contract_cli_net", env / "net.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make().eval()


def test_attribute_with_a_head_target_writes_the_library_maps(env, run_cli):
    tmp, X = env
    out = tmp / "attr.h5"
    rc, _, err, _ = run_cli(["attribute", "--model", f"{tmp / 'net.py'}:make", "--data", tmp / "s.fa",
                             "--method", "saliency,ism", "--target", "counts:0", "--out", out,
                             "--device", "cpu", "--quiet"], tmp)
    assert rc == 0, err
    model = _model(tmp)
    with h5py.File(out) as fh:
        assert np.allclose(fh["saliency"][:], at.saliency(model, X, target=("counts", 0), device="cpu"),
                           atol=1e-6)
        assert np.allclose(fh["ism"][:], at.ism(model, X, target=("counts", 0), device="cpu"), atol=1e-6)


@pytest.mark.parametrize("target,expected", [
    ("0", "--target 0: the model returns 2 outputs ('profile', 'counts'); name one with "
          "target=(head, index), e.g. target=('profile', 0)"),
    ("count:0", "--target count:0: target head 'count' is not an output of the model; its outputs are "
                "'profile', 'counts'"),
    ("counts:3", "--target counts:3: target 3 out of range for 1 outputs"),
    ("counts:x", "expected an output index >= 0 or HEAD:INDEX (e.g. counts:0), got 'counts:x'"),
])
@pytest.mark.parametrize("command", ["attribute", "gia"])
def test_a_wrong_target_is_a_one_line_error_and_writes_nothing(env, run_cli, command, target, expected):
    tmp, _ = env
    out = tmp / f"o_{command}"
    argv = [command, "--model", f"{tmp / 'net.py'}:make", "--target", target, "--device", "cpu",
            "--out", out]
    argv += (["--data", tmp / "s.fa", "--method", "saliency"] if command == "attribute" else
             ["--data", tmp / "d.h5", "--experiment", "importance", "--pattern", "GATA", "--n-null", "8"])
    rc, stdout, err, added = run_cli(argv, tmp)
    assert rc == 2
    assert expected in err and "Traceback" not in err
    assert len([line for line in err.strip().splitlines() if line.startswith("seqlens")]) <= 1
    assert not added


def test_gia_with_a_head_target_gives_the_library_importance(env, run_cli):
    import json

    from seqlens.interpret import gia

    tmp, X = env
    out = tmp / "gia_counts"
    rc, _, err, _ = run_cli(["gia", "--model", f"{tmp / 'net.py'}:make", "--data", tmp / "d.h5",
                             "--experiment", "importance", "--pattern", "GATAAG", "--n-null", "16",
                             "--null", "uniform", "--target", "counts:0", "--device", "cpu",
                             "--seed", "0", "--out", out, "--quiet"], tmp)
    assert rc == 0, err
    got = json.loads((out / "metrics.json").read_text())["importance_gataag"]
    nulls = gia.null_sequences("uniform", 16, X, random_state=0, target=("counts", 0))
    want = gia.global_importance(_model(tmp), nulls, "GATAAG", (L - 6) // 2, target=("counts", 0),
                                 random_state=0, device="cpu").importance
    assert got == pytest.approx(want, rel=1e-5, abs=1e-7) and abs(want) > 0
