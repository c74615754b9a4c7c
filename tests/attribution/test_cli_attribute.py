import json

import h5py
import numpy as np
import pytest
import torch

from seqlens.cli import main
from seqlens.io.hdf5 import Dataset, Split, save_dataset

models = pytest.importorskip("seqlens.models")
torch.set_num_threads(1)


@pytest.fixture()
def run(tmp_path):
    rng = np.random.default_rng(0)
    L = 100

    def split(n):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))].transpose(0, 2, 1)
        truth = np.full((n, 4, L), 0.25, np.float32)
        for i in range(n):
            s = rng.integers(0, L - 8)
            truth[i, :, s:s + 6] = np.eye(4)[:, [0, 1, 2, 3, 0, 1]]
            X[i, :, s:s + 6] = truth[i, :, s:s + 6]
        return Split(X, rng.integers(0, 2, (n, 1)).astype(np.float32), truth)

    data = Dataset(split(8), split(4), split(6))
    h5 = save_dataset(tmp_path / "d.h5", data)
    model = models.build_model("cnn_p4", seq_length=L, random_state=0)
    models.save_model(model, tmp_path / "run", metadata={"loss": "bce"})
    return tmp_path, h5


def test_attribute_and_evaluate(run, capsys):
    tmp, h5 = run
    out = tmp / "attr" / "attr.h5"
    rc = main(["attribute", "--model", str(tmp / "run"), "--data", str(h5),
               "--method", "saliency,ism,deepshap", "--n-shuffles", "2", "--out", str(out), "--n", "4",
               "--logos", "1", "--quiet", "--device", "cpu"])
    assert rc == 0
    with h5py.File(out) as fh:
        assert fh["saliency"].shape == (4, 4, 100) and fh["ism"].shape == (4, 4, 100)
        assert list(fh["indices"][()]) == [0, 1, 2, 3]
    m = json.loads((tmp / "attr" / "attr.h5.metrics.json").read_text())
    assert sorted(p.name for p in (tmp / "attr").iterdir()) == [
        "attr.h5", "attr.h5.metrics.json", "attr_logos"]
    for key in ("saliency_auroc", "ism_auroc", "deepshap_aupr_b", "saliency_frac_over_45", "ism_seconds"):
        assert key in m
    assert (tmp / "attr" / "attr_logos" / "ism_0.png").exists()
    rc = main(["evaluate-attributions", "--attr", str(out), "--truth", str(h5), "--out", str(tmp / "ev")])
    assert rc == 0
    ev = json.loads((tmp / "ev" / "metrics.json").read_text())
    assert ev["saliency_auroc"] == pytest.approx(m["saliency_auroc"])
    assert "deepshap_snr" in capsys.readouterr().out


def test_attribute_errors(run, capsys):
    tmp, h5 = run
    rc = main(["attribute", "--model", str(tmp / "run"), "--data", str(h5), "--method", "nope",
               "--out", str(tmp / "a.h5")])
    assert rc == 2 and "unknown attribution method" in capsys.readouterr().err
    rc = main(["attribute", "--model", str(tmp / "run"), "--data", str(h5), "--target", "3",
               "--out", str(tmp / "a.h5"), "--device", "cpu"])
    assert rc == 2 and "out of range" in capsys.readouterr().err
    assert not (tmp / "a.h5").exists()
