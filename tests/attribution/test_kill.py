"""Kill tests for ``seqlens attribute``: a run stopped (SIGINT or SIGKILL) after its first method
is finished leaves the previous complete output untouched and only ``<out>.partial/``;
``--resume`` then computes only the missing methods, and the result equals an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch

from seqlens.cli import main
from seqlens.io.hdf5 import Dataset, Split, save_dataset
from seqlens.models import build_model, save_model

L, N = 100, 120  # ISM of N sequences takes a few seconds: the stop lands while it runs


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("kill")
    rng = np.random.default_rng(0)

    def split(n):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))].transpose(0, 2, 1)
        return Split(X, rng.integers(0, 2, (n, 1)).astype(np.float32))

    save_dataset(tmp / "d.h5", Dataset(split(4), split(4), split(N)))
    save_model(build_model("cnn_p4", seq_length=L, random_state=0), tmp / "run")
    return tmp


def _args(env, out):
    return ["attribute", "--model", str(env / "run"), "--data", str(env / "d.h5"), "--out", str(out),
            "--method", "saliency,ism", "--device", "cpu", "--threads", "1", "--quiet"]


def _maps(path):
    with h5py.File(path) as fh:
        return {k: fh[k][()] for k in ("saliency", "ism", "indices")}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_stopped_attribute_leaves_only_partial_and_resumes(env, tmp_path, capsys, sig):
    out = tmp_path / "attr.h5"
    metrics = tmp_path / "attr.h5.metrics.json"
    assert main(_args(env, out)) == 0  # the previous complete output (and the reference)
    want, old_bytes, old_metrics = _maps(out), out.read_bytes(), metrics.read_bytes()
    capsys.readouterr()

    finished = tmp_path / "attr.h5.partial" / "methods" / "saliency.npz"
    code = "import sys; from seqlens.cli import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", code, *_args(env, out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, OMP_NUM_THREADS="1"))
    deadline = time.monotonic() + 60
    while not finished.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert finished.exists(), proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert b"interrupted" in err and b"attr.h5.partial" in err and b"Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGKILL
    # the previous output is untouched; the unfinished run is only in the partial folder
    assert out.read_bytes() == old_bytes and metrics.read_bytes() == old_metrics
    assert {p.name for p in tmp_path.iterdir()} == {"attr.h5", "attr.h5.metrics.json", "attr.h5.partial"}
    assert not (tmp_path / "attr.h5.partial" / "methods" / "ism.npz").exists()

    assert main([*_args(env, out), "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "saliency: reusing" in printed and "ism: reusing" not in printed
    got = _maps(out)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])
    assert {p.name for p in tmp_path.iterdir()} == {"attr.h5", "attr.h5.metrics.json"}
