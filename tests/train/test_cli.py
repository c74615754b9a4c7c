import json

import numpy as np
import pandas as pd
import pytest

from seqlens.alphabet import decode
from seqlens.cli import main
from seqlens.io.fasta import write_fasta
from seqlens.io.hdf5 import Dataset, Split, save_dataset
from seqlens.models import load_model

from .conftest import toy_data


@pytest.fixture(scope="module")
def toy_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "toy.h5"
    parts = [Split(*toy_data(n, length=40, seed=s)) for n, s in ((300, 0), (100, 1), (100, 2))]
    save_dataset(path, Dataset(*parts, metadata={"tasks": ["motif"]}))
    return path


def test_train_then_predict(toy_h5, tmp_path, capsys):
    run = tmp_path / "run"
    rc = main(["train", "--data", str(toy_h5), "--model", "cnn", "--filters", "8",
               "--kernel-size", "7", "--pool", "4", "--activation", "exponential",
               "--config", '{"dense": [8]}', "--epochs", "3", "--evoaug", "rc,mutation",
               "--finetune-epochs", "1", "--out", str(run), "--quiet", "--threads", "1"])
    assert rc == 0
    names = ("weights.pt", "config.json", "metrics.json", "history.csv", "history.json",
             "curve.png")
    for name in names:
        assert (run / name).stat().st_size > 0, name
    # the published run holds the outputs and the manifest listing them, no training state
    assert sorted(p.name for p in run.iterdir()) == sorted((*names, "manifest.json"))
    assert set(json.loads((run / "manifest.json").read_text())["files"]) == set(names)
    assert not run.with_name("run.partial").exists()
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["test_auroc"] <= 1 and metrics["epochs_run"] == 4
    assert "test_auroc" in capsys.readouterr().out
    model = load_model(run)
    assert model.config["activation"] == "exponential" and model.config["seq_length"] == 40

    out = tmp_path / "pred" / "preds.csv"
    assert main(["predict", "--model", str(run), "--data", str(toy_h5), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["name", "motif"] and len(table) == 100
    assert table["motif"].between(0, 1).all()
    pm = json.loads(out.with_name("preds.csv.metrics.json").read_text())
    assert sorted(p.name for p in out.parent.iterdir()) == ["preds.csv", "preds.csv.metrics.json"]
    assert pm["test_auroc"] == pytest.approx(metrics["test_auroc"], abs=1e-6)

    X, _ = toy_data(5, length=40, seed=9)
    fasta = tmp_path / "seqs.fa"
    write_fasta(fasta, [(f"s{i}", s) for i, s in enumerate(decode(X))])
    out2 = tmp_path / "fa.csv"
    assert main(["predict", "--model", str(run), "--data", str(fasta), "--out", str(out2)]) == 0
    t2 = pd.read_csv(out2)
    assert list(t2["name"]) == [f"s{i}" for i in range(5)]
    np.testing.assert_allclose(t2["motif"].to_numpy(), np.asarray(
        __import__("seqlens.train", fromlist=["predict"]).predict(model, X, link="sigmoid"))[:, 0],
        rtol=1e-5)

    short = tmp_path / "short.fa"
    write_fasta(short, [("a", "ACGT" * 5)])
    assert main(["predict", "--model", str(run), "--data", str(short), "--out",
                 str(tmp_path / "x.csv")]) == 2
    assert "expects 40" in capsys.readouterr().err


def test_train_adversarial_and_bad_model(toy_h5, tmp_path, capsys):
    run = tmp_path / "adv"
    rc = main(["train", "--data", str(toy_h5), "--model", "cnn", "--filters", "4", "--pool", "4",
               "--epochs", "2", "--adversarial", "--adv-warmup", "1", "--adv-mixed", "0",
               "--adv-steps", "2", "--epsilon", "0.05", "--out", str(run), "--quiet"])
    assert rc == 0
    hist = json.loads((run / "history.json").read_text())
    assert [h["phase"] for h in hist] == ["clean", "adversarial"]
    assert main(["train", "--data", str(toy_h5), "--model", "nonesuch", "--out",
                 str(tmp_path / "bad")]) == 2
    assert "unknown model" in capsys.readouterr().err
