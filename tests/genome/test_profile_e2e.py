"""Toy genome + stranded bigWigs with a footprint planted beside every motif -> profile dataset
(``seqlens dataset --signal profile``) -> BPNet-style model trained with ``seqlens train --loss profile``
-> its profile head puts the peak within a few bp of the planted one on held-out chromosomes,
DeepSHAP on the counts head sums to delta, and ``seqlens variants`` scores a motif-destroying SNV
as a loss of counts."""

import json

import numpy as np
import pytest
import torch

from seqlens.attribution import deep_lift_shap
from seqlens.cli import main
from seqlens.io.hdf5 import load_dataset
from seqlens.models import load_model

pyBigWig = pytest.importorskip("pyBigWig")
torch.set_num_threads(1)

MOTIF = "CTGATAAG"
SPACING = 300  # leaves motif-free background between the sites
SITES = {"chr1": 80, "chr2": 16, "chr3": 24}  # train / valid / test chromosomes
PLUS, MINUS = -4, len(MOTIF) + 3  # footprint peaks relative to the motif start


def _toy(folder, seed=0):
    rng = np.random.default_rng(seed)
    genome, sites = {}, {}
    for chrom, n in SITES.items():
        s = list(rng.choice(list("ACGT"), SPACING * n))
        sites[chrom] = [SPACING * i + 96 + int(rng.integers(-5, 6)) for i in range(n)]
        for st in sites[chrom]:
            s[st:st + len(MOTIF)] = MOTIF
        genome[chrom] = "".join(s)
    with open(folder / "genome.fa", "w") as fh:
        for chrom, s in genome.items():
            fh.write(f">{chrom}\n" + "\n".join(s[i:i + 70] for i in range(0, len(s), 70)) + "\n")
    with open(folder / "peaks.bed", "w") as fh:
        for chrom, starts in sites.items():
            for st in starts:
                fh.write(f"{chrom}\t{st - 6}\t{st + 14}\n")  # middle = motif start + 4
    for name, where in (("plus", PLUS), ("minus", MINUS)):
        bw = pyBigWig.open(str(folder / f"{name}.bw"), "w")
        bw.addHeader([(c, len(s)) for c, s in genome.items()])
        for chrom, starts in sites.items():
            counts = rng.poisson(0.05, len(genome[chrom])).astype(float)
            for st in starts:
                counts[st + where - 1:st + where + 2] += (8, 24, 8)
            pos = np.flatnonzero(counts)
            bw.addEntries([chrom] * len(pos), pos.tolist(), ends=(pos + 1).tolist(),
                          values=counts[pos].tolist())
        bw.close()
    return genome, sites


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("profile")
    genome, sites = _toy(folder)
    # background windows (--negatives gc) make the counts depend on the motif
    code = main(["dataset", "--bed", str(folder / "peaks.bed"), "--genome", str(folder / "genome.fa"),
                 "--length", "100", "--jitter", "15",
                 "--bigwig", f"{folder / 'plus.bw'},{folder / 'minus.bw'}",
                 "--signal", "profile", "--output-length", "60", "--negatives", "gc", "--gc-bins", "10",
                 "--valid-chroms", "chr2", "--test-chroms", "chr3", "--seed", "0",
                 "--out", str(folder / "data.h5"), "--quiet"])
    assert code == 0
    config = json.dumps({"n_layers": 3, "profile_kernel": 15})
    code = main(["train", "--data", str(folder / "data.h5"), "--model", "bpnet", "--loss", "profile",
                 "--filters", "16", "--kernel-size", "11", "--config", config, "--epochs", "15",
                 "--batch-size", "32", "--lr", "0.01", "--patience", "-1", "--lr-patience", "-1",
                 "--seed", "0", "--out", str(folder / "run"), "--quiet"])
    assert code == 0
    return folder, genome, sites


def test_profile_head_puts_the_peak_on_the_planted_footprint(run):
    folder, _, _ = run
    data = load_dataset(folder / "data.h5")
    test = data.test
    assert data.metadata["kind"] == "profile" and test.profile.shape == (2 * SITES["chr3"], 2, 60)
    model = load_model(folder / "run")
    with torch.no_grad():
        out = model(torch.as_tensor(test.X))
    footprint = test.profile.sum((1, 2)) > 40  # the peak windows (the others are background)
    assert footprint.sum() == SITES["chr3"]
    predicted = out.profile.argmax(-1).numpy()[footprint]
    planted = test.profile.argmax(-1)[footprint]  # the footprint peak dominates the sparse noise
    off = np.abs(predicted - planted)
    assert np.median(off) <= 1 and (off <= 3).mean() >= 0.9, off
    # the counts head tells footprint windows from background ones
    assert (out.counts[footprint].mean(0) > out.counts[~footprint].mean(0) + 0.3).all()
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert metrics["test_counts_pearson"] > 0.4 and metrics["test_profile_pearson"] > 0.3
    assert metrics["counts_weight"] == pytest.approx(data.train.profile.sum(-1).mean() / 2, rel=1e-4)


def test_deepshap_on_the_counts_head_sums_to_delta(run):
    folder, _, _ = run
    model = load_model(folder / "run")
    X = load_dataset(folder / "data.h5", splits=("test",)).test.X[:4]
    attr, delta = deep_lift_shap(model, X, target=("counts", 0), n_shuffles=8, random_state=0,
                                 return_delta=True, device="cpu")
    assert attr.shape == X.shape
    assert np.abs(delta).max() < 1e-3


def test_variants_on_the_profile_model(run, tmp_path):
    folder, genome, sites = run
    st = sites["chr3"][2]
    p = st + 3  # inside the motif
    alt = "C" if genome["chr3"][p] != "C" else "A"
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"
                   f"chr3\t{p + 1}\tmotif\t{genome['chr3'][p]}\t{alt}\n"
                   f"chr3\t{st + 70}\tfar\t{genome['chr3'][st + 69]}\t"
                   f"{'G' if genome['chr3'][st + 69] != 'G' else 'T'}\n")
    code = main(["variants", "--model", str(folder / "run"), "--vcf", str(vcf), "--genome",
                 str(folder / "genome.fa"), "--out", str(tmp_path / "scores"), "--quiet"])
    assert code == 0
    import pandas as pd
    table = pd.read_csv(tmp_path / "scores" / "variants.tsv", sep="\t")
    assert {"effect_plus", "effect_minus", "jsd_plus", "jsd_minus"} <= set(table.columns)
    motif, far = table.iloc[0], table.iloc[1]
    assert motif["effect_plus"] < -0.2 and motif["effect_minus"] < -0.2  # log counts drop
    assert abs(far["effect_plus"]) < abs(motif["effect_plus"]) / 3
    assert motif["jsd_plus"] > far["jsd_plus"]


def _tiny_dataset(path, profile=True, negative=False):
    from seqlens.io.hdf5 import Dataset, Split, save_dataset

    rng = np.random.default_rng(0)
    splits = []
    for n in (8, 4, 4):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 40))].transpose(0, 2, 1)
        counts = rng.poisson(1.0, (n, 2, 20)).astype(np.float32)
        if negative:
            counts[1, 1, 3] = -2
        splits.append(Split(X, np.log1p(counts.sum(-1)), profile=counts if profile else None))
    save_dataset(path, Dataset(*splits, metadata={"kind": "profile", "tasks": ["plus", "minus"]}))


@pytest.mark.parametrize("model,loss,profile,negative,message", [
    ("cnn", "profile", True, False, "--loss profile with --model cnn: --loss profile goes with the "
                                    "profile models (bpnet) and they need it"),
    ("bpnet", "mse", True, False, "--loss mse with --model bpnet"),
    ("bpnet", "profile", False, False, "no profile_train"),
    ("bpnet", "profile", True, True, "profile_train record 1 (track 1, position 3) has count -2"),
])
def test_train_refuses_profile_mismatches(tmp_path, capsys, model, loss, profile, negative, message):
    _tiny_dataset(tmp_path / "d.h5", profile, negative)
    code = main(["train", "--data", str(tmp_path / "d.h5"), "--model", model, "--loss", loss,
                 "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_predict_on_a_profile_model_writes_the_counts_head(tmp_path):
    import pandas as pd

    _tiny_dataset(tmp_path / "d.h5")
    assert main(["train", "--data", str(tmp_path / "d.h5"), "--model", "bpnet_small", "--loss", "profile",
                 "--config", '{"n_layers": 2}', "--epochs", "1", "--out", str(tmp_path / "run"),
                 "--quiet"]) == 0
    assert main(["predict", "--model", str(tmp_path / "run"), "--data", str(tmp_path / "d.h5"),
                 "--out", str(tmp_path / "p.csv")]) == 0
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["name", "plus", "minus"] and len(table) == 4
    model = load_model(tmp_path / "run")
    X = load_dataset(tmp_path / "d.h5").test.X
    with torch.no_grad():
        want = model(torch.as_tensor(X)).counts.numpy()
    assert np.allclose(table[["plus", "minus"]].to_numpy(), want, atol=1e-5)
