"""Kill tests: ``seqlens train`` and ``seqlens simulate`` stopped by SIGINT or SIGKILL at fixed
points leave the previous complete output untouched and only ``<out>.partial/`` beside it; a run
with ``--resume`` then completes and (train) gives the model of an uninterrupted run.

The runs are real subprocesses. A small wrapper pauses the command at a fixed point (after the
training state of epoch 2 is saved; after the simulated dataset is written) and drops a marker
file, so the signal always lands at the same place.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from seqlens.cli import main
from seqlens.io.hdf5 import Dataset, Split, load_dataset, save_dataset
from seqlens.models import load_model

from .conftest import toy_data

WRAPPER = r"""
import os, signal, sys, time
marker, point = os.environ.get("PAUSE_MARKER"), os.environ.get("PAUSE_AT")

def pause():
    open(marker, "w").close()
    time.sleep(120)

if point == "epoch2":
    import seqlens.train.trainer as trainer
    real_save_state = trainer.save_state

    def save_state(folder, info, tensors):
        real_save_state(folder, info, tensors)
        if info["epoch"] == 2:
            pause()

    trainer.save_state = save_state
elif point == "dataset":
    import seqlens.io.hdf5 as hdf5
    real_save_dataset = hdf5.save_dataset

    def save_dataset(path, dataset, *args, **kw):
        real_save_dataset(path, dataset, *args, **kw)
        pause()

    hdf5.save_dataset = save_dataset
from seqlens.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _train_args(data, out, *extra):
    return ["train", "--data", str(data), "--model", "cnn", "--filters", "4", "--pool", "4",
            "--config", '{"dense": [8]}', "--epochs", "4", "--batch-size", "16", "--dropout",
            "0.2", "--quiet", "--threads", "1", "--device", "cpu", "--out", str(out), *extra]


def _sim_args(out, seed=0):
    return ["simulate", "multitask_motifs", "--n", "60", "--length", "80", "--seed", str(seed),
            "--out", str(out)]


def _start(args, tmp_path, point=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
               PAUSE_MARKER=str(tmp_path / "paused"), PAUSE_AT=point or "")
    return subprocess.Popen([sys.executable, "-c", WRAPPER, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(path, proc, timeout=90):
    start = time.monotonic()
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode} before {path.name}: {proc.stderr.read()}")
        if time.monotonic() - start > timeout:
            proc.kill()
            pytest.fail(f"{path} did not appear in {timeout} s")
        time.sleep(0.005)


def _stop(proc, sig):
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"no exit within 60 s of signal {sig}")
    return proc.returncode, err


def _snapshot(folder):
    """Every path under ``folder`` with the SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file()
            else None for p in sorted(folder.rglob("*"))}


def _check_interrupted(rc, err, sig, command, partial):
    if sig == signal.SIGINT:
        lines = [line for line in err.splitlines() if line.strip()]
        assert rc == 130 and len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith(f"seqlens {command}: interrupted; unfinished output kept in "
                                   f"{partial} (rerun with --resume"), lines[0]
    else:
        assert rc == -signal.SIGKILL


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("kill") / "toy.h5"
    parts = [Split(*toy_data(n, length=24, seed=s)) for n, s in ((64, 0), (16, 1), (16, 2))]
    save_dataset(path, Dataset(*parts, metadata={"tasks": ["motif"]}))
    return path


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """An uninterrupted run (in-process; same thread count and device as the killed ones)."""
    ref = tmp_path_factory.mktemp("ref") / "run"
    assert main(_train_args(data, ref)) == 0
    return ref


def _same_model(run, ref):
    a, b = load_model(run).state_dict(), load_model(ref).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    hist = [json.loads((r / "history.json").read_text()) for r in (run, ref)]
    assert [h["train_loss"] for h in hist[0]] == [h["train_loss"] for h in hist[1]]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_train_killed_after_epoch_2_then_resumed(sig, data, reference, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_train_args(data, out, "--seed", "5")) == 0  # the previous complete output
    before, siblings = _snapshot(out), sorted(p.name for p in tmp_path.iterdir())
    proc = _start(_train_args(data, out), tmp_path, point="epoch2")
    _wait_for(tmp_path / "paused", proc)
    rc, err = _stop(proc, sig)
    _check_interrupted(rc, err, sig, "train", tmp_path / "run.partial")
    (tmp_path / "paused").unlink()
    # the old run is untouched; the new one is only in run.partial/, never mixed into run/
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*siblings, "run.partial"])
    state = json.loads((tmp_path / "run.partial" / "resume" / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]) == 2

    assert main(_train_args(data, out, "--resume")) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings  # published, partial gone
    assert not (out / "resume").exists() and (out / "manifest.json").is_file()
    _same_model(out, reference)
    capsys.readouterr()


def test_train_sigkill_at_a_polled_point_then_resumed(data, tmp_path):
    """No pause: SIGKILL as soon as a state file exists (possibly in the middle of a write)."""
    out, ref = tmp_path / "run", tmp_path / "ref"
    args = ["--epochs", "30", "--patience", "-1"]
    assert main(_train_args(data, ref)[:-2] + args + ["--out", str(ref)]) == 0
    proc = _start(_train_args(data, out)[:-2] + args + ["--out", str(out)], tmp_path)
    _wait_for(tmp_path / "run.partial" / "resume" / "state.json", proc)
    rc, _ = _stop(proc, signal.SIGKILL)
    if rc == 0:
        pytest.skip("the run finished before SIGKILL arrived (machine too fast)")
    assert rc == -signal.SIGKILL and not out.exists()
    assert main(_train_args(data, out)[:-2] + args + ["--out", str(out), "--resume"]) == 0
    assert not (tmp_path / "run.partial").exists()
    _same_model(out, ref)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_simulate_killed_after_the_dataset_then_resumed(sig, tmp_path, capsys):
    out, ref = tmp_path / "sim.h5", tmp_path / "ref" / "sim.h5"
    assert main(_sim_args(ref)) == 0
    assert main(_sim_args(out, seed=1)) == 0  # the previous complete output
    before = _snapshot(tmp_path)
    proc = _start(_sim_args(out), tmp_path, point="dataset")
    _wait_for(tmp_path / "paused", proc)
    rc, err = _stop(proc, sig)
    _check_interrupted(rc, err, sig, "simulate", tmp_path / "sim.h5.partial")
    (tmp_path / "paused").unlink()
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("sim.h5.partial")} == before
    assert sorted(k for k in after if k.startswith("sim.h5.partial")) == [
        "sim.h5.partial", "sim.h5.partial/sim.h5"]

    capsys.readouterr()
    assert main(_sim_args(out) + ["--resume"]) == 0
    assert "reused from the unfinished run" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref", "sim.h5", "sim.h5.metrics.json"]
    new, expected = load_dataset(out), load_dataset(ref)
    for split in ("train", "valid", "test"):
        assert (new.split(split).X == expected.split(split).X).all()
        assert (new.split(split).Y == expected.split(split).Y).all()
    metrics = json.loads((tmp_path / "sim.h5.metrics.json").read_text())
    assert metrics["seed"] == 0 and metrics["n_sequences"] == 60
