import json

import numpy as np

from seqlens.cli import main
from seqlens.io.hdf5 import load_dataset
from seqlens.simulate import instance_table


def test_cli_simulate_writes_file_summary_and_metrics(tmp_path, capsys):
    out = tmp_path / "sim" / "mt.h5"
    rc = main(["simulate", "multitask_motifs", "--out", str(out), "--n", "300", "--length", "150",
               "--seed", "3"])
    assert rc == 0 and out.exists()
    text = capsys.readouterr().out
    assert "class balance" in text and "motifs per sequence" in text and "SP1" in text
    metrics = json.loads(out.with_name("mt.h5.metrics.json").read_text())
    assert sorted(p.name for p in out.parent.iterdir()) == ["mt.h5", "mt.h5.metrics.json"]
    ds = load_dataset(out)
    assert ds.seq_length == 150 and metrics["n_sequences"] == 300 and metrics["n_train"] == 210
    assert metrics["length"] == 150 and metrics["seed"] == 3
    Y = np.concatenate([ds.train.Y, ds.valid.Y, ds.test.Y])
    assert abs(metrics["positive_fraction_sp1"] - Y[:, 8].mean()) < 1e-6
    hist = sum(v for k, v in metrics.items() if k.startswith("motifs_per_sequence_"))
    assert hist == 300 and metrics["n_instances"] == len(instance_table(ds)) == Y.sum()
    assert ds.train.truth is not None and ds.metadata["seed"] == 3


def test_cli_simulate_reports_impossible_request(tmp_path, capsys):
    out = tmp_path / "x.h5"
    rc = main(["simulate", "regulatory_code", "--out", str(out), "--n", "50", "--length", "30"])
    assert rc == 2 and list(tmp_path.iterdir()) == []
    assert "length is 30" in capsys.readouterr().err


def test_cli_simulate_resume_reuses_only_a_matching_dataset(tmp_path, capsys):
    args = ["simulate", "multitask_motifs", "--n", "40", "--length", "80"]
    out = tmp_path / "x.h5"
    assert main(args + ["--out", str(out), "--seed", "1"]) == 0
    partial = tmp_path / "x.h5.partial"
    partial.mkdir()
    out.rename(partial / "x.h5")  # an unfinished run of seed 1
    (partial / ".x.h5.metrics.json.k3j2.tmp").write_text("{")  # left by SIGKILL
    capsys.readouterr()
    assert main(args + ["--out", str(out), "--seed", "2", "--resume"]) == 0
    assert "seed 2 ->" in capsys.readouterr().out  # other settings: simulated afresh
    assert load_dataset(out).metadata["seed"] == 2 and not partial.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5", "x.h5.metrics.json"]
