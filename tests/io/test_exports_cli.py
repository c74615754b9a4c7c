"""``seqlens attribute --export modisco|bigwig``: the maps in the forms TF-MoDISco and genome
browsers read, from sequences named by their genome coordinates."""

import numpy as np
import pytest
import torch

from seqlens.cli import main

models = pytest.importorskip("seqlens.models")
torch.set_num_threads(1)
L = 100


@pytest.fixture()
def placed(tmp_path):
    """A FASTA of 3 sequences named chrom:start-end(strand), a model, chromosome sizes."""
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), L)) for _ in range(3)]
    names = ["chr1:1000-1100(+)|peak1", "chr1:5000-5100(-)|peak2", "chr2:0-100"]
    fasta = tmp_path / "peaks.fa"
    fasta.write_text("".join(f">{n}\n{s}\n" for n, s in zip(names, seqs)))
    (tmp_path / "g.sizes").write_text("chr1\t10000\nchr2\t500\n")
    model = models.build_model("cnn_p4", seq_length=L, random_state=0)
    models.save_model(model, tmp_path / "run", metadata={"loss": "bce"})
    return tmp_path, fasta


def test_attribute_exports_modisco_and_bigwig(placed):
    import h5py
    import pyBigWig

    tmp, fasta = placed
    out = tmp / "a" / "attr.h5"
    rc = main(["attribute", "--model", str(tmp / "run"), "--data", str(fasta), "--method", "saliency,ism",
               "--out", str(out), "--export", "modisco", "--export", "bigwig", "--chrom-sizes",
               str(tmp / "g.sizes"), "--quiet", "--device", "cpu"])
    assert rc == 0
    assert sorted(p.name for p in (tmp / "a").iterdir()) == [
        "attr.h5", "attr.h5.metrics.json", "attr_bigwig", "attr_modisco"]
    with h5py.File(out) as fh:
        X, sal, ism = fh["X"][()], fh["saliency"][()], fh["ism"][()]
    with np.load(tmp / "a" / "attr_modisco" / "ohe.npz") as z:
        np.testing.assert_array_equal(z["arr_0"], X)
    with np.load(tmp / "a" / "attr_modisco" / "saliency.npz") as z:
        np.testing.assert_array_equal(z["arr_0"], sal)  # gradients are hypothetical contributions
    with np.load(tmp / "a" / "attr_modisco" / "ism.npz") as z:
        np.testing.assert_allclose(z["arr_0"], ism - ism.mean(1, keepdims=True), atol=1e-6)
    bw = pyBigWig.open(str(tmp / "a" / "attr_bigwig" / "saliency.bw"))
    assert bw.chroms() == {"chr1": 10000, "chr2": 500}
    observed = (sal * X).sum(1)
    np.testing.assert_allclose(bw.values("chr1", 1000, 1100), observed[0], rtol=1e-6)
    np.testing.assert_allclose(bw.values("chr1", 5000, 5100), observed[1][::-1], rtol=1e-6)  # - strand
    np.testing.assert_allclose(bw.values("chr2", 0, 100), observed[2], rtol=1e-6)
    assert np.isnan(bw.values("chr1", 1100, 1101)[0])
    bw.close()


def test_bigwig_export_needs_coordinates(placed, capsys):
    tmp, fasta = placed
    plain = tmp / "plain.fa"
    plain.write_text(fasta.read_text().replace("chr2:0-100", "enhancer3"))
    out = tmp / "b" / "attr.h5"
    base = ["attribute", "--model", str(tmp / "run"), "--method", "saliency", "--out", str(out),
            "--export", "bigwig", "--quiet", "--device", "cpu"]
    assert main(base + ["--data", str(plain)]) == 2
    err = capsys.readouterr().err
    assert "sequence 2 is named 'enhancer3', not chrom:start-end" in err
    (tmp / "small.sizes").write_text("chr1\t2000\nchr2\t500\n")
    assert main(base + ["--data", str(fasta), "--chrom-sizes", str(tmp / "small.sizes")]) == 2
    assert "sequence 1 (chr1:5000-5100(-)|peak2) is not inside the --chrom-sizes (chr1: 2000)" in \
        capsys.readouterr().err
    assert not (tmp / "b").exists() or not any((tmp / "b").iterdir())
