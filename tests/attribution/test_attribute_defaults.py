"""``seqlens attribute`` defaults that finish: a default number of sequences (printed), ``--top N``
by the model's score, and a one-line ETA warning before a long ISM (from a timed first batch)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from seqlens.attribution import ism
from seqlens.cli import attribute as cli_attribute
from seqlens.interpret.gia import predict
from seqlens.io.hdf5 import Dataset, Split, save_dataset
from seqlens.models import build_model, load_model, save_model

torch.set_num_threads(1)
L = 100


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A test split larger than the default N, a small valid split, a FASTA and a small model."""
    tmp = tmp_path_factory.mktemp("defaults")
    rng = np.random.default_rng(0)

    def split(n):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))].transpose(0, 2, 1).copy()
        return Split(X=X, Y=rng.integers(0, 2, (n, 1)).astype(np.float32))

    big = split(cli_attribute.DEFAULT_N + 40)
    save_dataset(tmp / "d.h5", Dataset(train=split(10), valid=split(30), test=big))
    with open(tmp / "s.fa", "w") as fh:
        for i in range(12):
            fh.write(f">seq{i}\n{''.join(rng.choice(list('ACGT'), L))}\n")
    save_model(build_model("cnn_p4", seq_length=L, filters=4, random_state=0), tmp / "run")
    return tmp


def _attribute(env, run_cli, out, *extra):
    argv = ["attribute", "--model", env / "run", "--quiet", "--device", "cpu", "--out", env / out, *extra]
    code, stdout, stderr, _ = run_cli(argv, env)
    assert code == 0, stderr
    with h5py.File(env / out) as fh:
        return fh["indices"][()], {k: fh[k][()] for k in fh if k not in ("indices", "names")}, stdout, stderr


def test_default_n_is_printed_and_caps_a_large_split(env, run_cli):
    n = cli_attribute.DEFAULT_N
    idx, _, out, _ = _attribute(env, run_cli, "a.h5", "--data", env / "d.h5")
    assert list(idx) == list(range(n))
    assert f"the first {n} of {n + 40} sequences of the test split" in out
    assert "--n all" in out and "--top N" in out


def test_a_small_split_is_taken_whole(env, run_cli):
    idx, _, out, _ = _attribute(env, run_cli, "b.h5", "--data", env / "d.h5", "--split", "valid")
    assert list(idx) == list(range(30))
    assert "the first 30 of 30 sequences of the valid split" in out and "--n all" not in out


def test_n_all_and_explicit_n(env, run_cli):
    idx, _, out, _ = _attribute(env, run_cli, "c.h5", "--data", env / "d.h5", "--n", "all")
    assert len(idx) == cli_attribute.DEFAULT_N + 40 and "the first" not in out
    idx, _, _, _ = _attribute(env, run_cli, "n7.h5", "--data", env / "d.h5", "--n", "7")
    assert list(idx) == list(range(7))


@pytest.mark.parametrize("source", ["d.h5", "s.fa"])
def test_top_takes_the_highest_scoring_highest_first(env, run_cli, source):
    idx, maps, out, _ = _attribute(env, run_cli, f"top_{source}.attr.h5", "--data", env / source,
                                   "--top", "5")
    model = load_model(env / "run")
    if source == "d.h5":
        with h5py.File(env / "d.h5") as fh:
            X = fh["X_test"][()]
    else:
        from seqlens.io.fasta import read_fasta_onehot

        X = read_fasta_onehot(env / "s.fa")[1]
    scores = predict(model, X, target=0, device="cpu")
    expected = np.argsort(-scores)[:5]
    assert list(idx) == list(expected)
    assert np.all(np.diff(scores[idx]) <= 0)
    np.testing.assert_array_equal(maps["X"], X[expected])
    assert f"the 5 highest-scoring of {len(X)} sequences" in out


def test_n_and_top_exclude_each_other(env, run_cli):
    code, _, err, _ = run_cli(["attribute", "--model", env / "run", "--data", env / "d.h5", "--n", "3",
                               "--top", "3", "--out", env / "x.h5"], env)
    assert code == 2 and "not allowed with" in err
    code, _, err, _ = run_cli(["attribute", "--model", env / "run", "--data", env / "d.h5", "--n", "0",
                               "--out", env / "x.h5"], env)
    assert code == 2 and "--n" in err


def test_ism_eta_warning_and_maps_equal_one_pass(env, run_cli, monkeypatch):
    # the first batch is timed; a long ISM (here: any) is announced in one line before the rest
    monkeypatch.setattr(cli_attribute, "ISM_WARN_SECONDS", 0.0)
    idx, maps, _, err = _attribute(env, run_cli, "ism.h5", "--data", env / "d.h5", "--method", "ism",
                                   "--n", "20")
    warning = [line for line in err.splitlines() if "ISM on" in line]
    assert len(warning) == 1
    assert warning[0].startswith("seqlens: warning: ISM on 20 sequences of 100 nt: about ")
    assert warning[0].endswith("min; use --n or --method to shorten")
    # done in parts (plan, timed batch, rest), the maps are those of one pass
    expected = ism(load_model(env / "run"), maps["X"], device="cpu")
    np.testing.assert_allclose(maps["ism"], expected, rtol=1e-5, atol=1e-6)


def test_no_eta_warning_for_a_short_ism(env, run_cli):
    _, _, _, err = _attribute(env, run_cli, "ism2.h5", "--data", env / "d.h5", "--method", "ism", "--n", "20")
    assert "ISM on" not in err
