"""``seqlens filters`` matches against the JASPAR release a simulated dataset drew its motifs from
(recorded as ``metadata["jaspar_release"]``), not the newest one, and says which release it used."""

import json

import pytest
import torch

from seqlens.cli import main
from seqlens.io.hdf5 import load_dataset, save_dataset
from seqlens.models import build_model, save_model
from seqlens.motifs.jaspar import latest_release


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("release")
    assert main(["simulate", "multitask_motifs", "--n", "30", "--length", "100",
                 "--out", str(tmp / "sim.h5")]) == 0
    save_model(build_model("cnn_p4", seq_length=100, random_state=0), tmp / "run")
    return tmp


def _filters(env, out, *extra):
    argv = ["filters", "--model", env / "run", "--data", env / "sim.h5", "--method", "softmax",
            "--device", "cpu", "--quiet", "--out", env / out, *extra]
    assert main([str(a) for a in argv]) == 0
    return (json.loads((env / out / "metrics.json").read_text()),
            json.loads((env / out / "stats.json").read_text()))


def test_simulated_dataset_records_its_release():
    from seqlens.simulate import simulate_dataset

    assert simulate_dataset("multitask_motifs", n=6, length=80).metadata["jaspar_release"] == 2016


def test_filters_default_to_the_simulation_release(env, capsys):
    capsys.readouterr()
    metrics, stats = _filters(env, "f_sim", "--truth", env / "sim.h5")
    out = capsys.readouterr().out
    assert metrics["jaspar_release"] == 2016 and metrics["n_database"] == 519
    assert stats["jaspar_release"] == 2016 and stats["database"] == "JASPAR 2016 CORE vertebrates"
    assert "vs JASPAR 2016" in out and "note:" not in out


def test_an_explicit_release_wins(env):
    metrics, _ = _filters(env, "f_new", "--jaspar", str(latest_release()))
    assert metrics["jaspar_release"] == latest_release() > 2016
    assert metrics["n_database"] > 519


def test_older_simulated_files_fall_back_to_2016_with_a_note(env, capsys):
    ds = load_dataset(env / "sim.h5")
    ds.metadata.pop("jaspar_release")
    save_dataset(env / "old.h5", ds)
    capsys.readouterr()
    metrics, _ = _filters(env, "f_old", "--truth", env / "old.h5")
    out = capsys.readouterr().out
    assert metrics["jaspar_release"] == 2016 and metrics["n_database"] == 519
    assert "no jaspar_release; matching against JASPAR 2016" in out


def test_a_bad_recorded_release_is_a_one_line_error(env, run_cli):
    ds = load_dataset(env / "sim.h5")
    ds.metadata["jaspar_release"] = 1999
    save_dataset(env / "bad.h5", ds)
    code, _, err, added = run_cli(["filters", "--model", env / "run", "--data", env / "bad.h5",
                                   "--out", env / "f_bad", "--quiet"], env)
    assert code == 2 and not added
    assert "bad.h5: metadata jaspar_release 1999" in err and len(err.strip().splitlines()) == 1
