"""Variant effects on a model trained here on a toy genome with a planted motif: SNVs that destroy
a motif instance have large negative effects, random SNVs small ones; the same through
``seqlens variants`` (table, metrics, attribution maps and logos); bad input -> exit 2, nothing
written."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from seqlens.cli import main
from seqlens.genome.reference import Genome
from seqlens.genome.variants import encode_windows, variant_windows
from seqlens.interpret.variants import variant_effects
from seqlens.io.vcf import read_vcf
from seqlens.models import build_model, save_model
from seqlens.train import fit

torch.set_num_threads(1)

MOTIF = "TGAGTCAT"
L = 64
SPACING = 100
N_SITES = {"chr1": 160, "chr3": 30}  # training positives / held-out test sites


def _toy_genome(path, seed=0):
    """chr1: motif every 100 bp (training positives); chr2: background only (training negatives);
    chr3: 30 held-out motif sites. Returns {chrom: sequence} and {chrom: motif starts}."""
    rng = np.random.default_rng(seed)
    seqs, sites = {}, {}
    for chrom, n in (("chr1", N_SITES["chr1"]), ("chr2", 0), ("chr3", N_SITES["chr3"])):
        length = SPACING * (n if n else 160)
        s = list(rng.choice(list("ACGT"), length))
        starts = [SPACING * i + 46 + int(rng.integers(-3, 4)) for i in range(n)]
        for st in starts:
            s[st:st + len(MOTIF)] = MOTIF
        seqs[chrom], sites[chrom] = "".join(s), starts
    with open(path, "w") as fh:
        for chrom, s in seqs.items():
            fh.write(f">{chrom}\n" + "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + "\n")
    return seqs, sites


def _windows(seq, centres):
    return [seq[c - L // 2:c - L // 2 + L] for c in centres]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from seqlens.alphabet import one_hot

    folder = tmp_path_factory.mktemp("toy")
    seqs, sites = _toy_genome(folder / "genome.fa")
    rng = np.random.default_rng(1)
    pos = _windows(seqs["chr1"], [s + 4 + int(rng.integers(-12, 13)) for s in sites["chr1"]])
    neg = _windows(seqs["chr2"], rng.integers(L, len(seqs["chr2"]) - L, 320))
    X = one_hot(pos + neg)
    Y = np.r_[np.ones(len(pos)), np.zeros(len(neg))][:, None].astype(np.float32)
    model = build_model("cnn", seq_length=L, filters=16, kernel_size=9, global_pool="max",
                        dropout=0.0, batch_norm=False, random_state=0)
    fit(model, (X, Y), loss="bce", epochs=5, batch_size=32, lr=1e-2, patience=None,
        lr_patience=None, device="cpu")
    save_model(model, folder / "run", metadata={"loss": "bce", "tasks": ["bound"]})
    return folder, seqs, sites, model.eval()


def _write_vcf(path, rows):
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for chrom, pos, vid, ref, alt in rows:
            fh.write(f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t.\n")


def _test_variants(seqs, sites, seed=2):
    """SNVs at the 4th letter of every held-out motif (0-based start + 3 -> 1-based + 4), and 200
    random SNVs on chr3 at least 12 bp from any motif."""
    rng = np.random.default_rng(seed)
    chr3 = seqs["chr3"]
    rows = []
    for i, st in enumerate(sites["chr3"]):
        p = st + 3
        rows.append(("chr3", p + 1, f"motif{i}", chr3[p], "C" if chr3[p] != "C" else "A"))
    near = np.zeros(len(chr3), bool)
    for st in sites["chr3"]:
        near[max(st - 12, 0):st + len(MOTIF) + 12] = True
    candidates = np.flatnonzero(~near[L:-L]) + L
    for j, p in enumerate(rng.choice(candidates, 200, replace=False)):
        alt = rng.choice([b for b in "ACGT" if b != chr3[p]])
        rows.append(("chr3", int(p) + 1, f"random{j}", chr3[p], str(alt)))
    return rows


def test_motif_destroying_snvs_have_large_losses(trained, tmp_path):
    folder, seqs, sites, model = trained
    rows = _test_variants(seqs, sites)
    _write_vcf(tmp_path / "v.vcf", rows)
    variants = read_vcf(tmp_path / "v.vcf")
    with Genome(folder / "genome.fa") as genome:
        ref, alt = encode_windows(variant_windows(genome, variants, L))
    eff = variant_effects(model, ref, alt, link="sigmoid", device="cpu")
    effect = eff.effect[:, 0]
    motif = np.array([v.id.startswith("motif") for v in variants])
    ratio = np.median(np.abs(effect[motif])) / np.median(np.abs(effect[~motif]))
    assert ratio >= 5, ratio
    assert (effect[motif] < 0).all()  # the sign of a loss, for every motif instance
    assert (np.abs(effect[motif]) >= 5 * np.median(np.abs(effect[~motif]))).mean() >= 0.9
    # probability scale: alt - ref of sigmoid outputs, same sign
    prob = 1 / (1 + np.exp(-eff.alt[:, 0])) - 1 / (1 + np.exp(-eff.ref[:, 0]))
    assert np.allclose(eff.linked_effect[:, 0], prob)
    assert (eff.linked_effect[motif, 0] < 0).all()
    # reverse-complement averaging: the mean of both strands' effects
    both = variant_effects(model, ref, alt, rc=True, device="cpu")
    from seqlens.alphabet import reverse_complement
    rc = variant_effects(model, reverse_complement(ref), reverse_complement(alt), device="cpu")
    assert np.allclose(both.effect, (eff.effect + rc.effect) / 2, atol=1e-5)


def test_cli_variants_table_metrics_attributions(trained, tmp_path):
    folder, seqs, sites, _ = trained
    rows = _test_variants(seqs, sites)[:40]
    rows.append(("chr3", sites["chr3"][0] + 2, "ins", seqs["chr3"][sites["chr3"][0] + 1],
                 seqs["chr3"][sites["chr3"][0] + 1] + "GG"))
    _write_vcf(tmp_path / "v.vcf", rows)
    out = tmp_path / "scores"
    code = main(["variants", "--model", str(folder / "run"), "--vcf", str(tmp_path / "v.vcf"),
                 "--genome", str(folder / "genome.fa"), "--out", str(out), "--attribute", "2",
                 "--method", "saliency", "--quiet"])
    assert code == 0
    table = pd.read_csv(out / "variants.tsv", sep="\t")
    assert list(table.columns[:6]) == ["chrom", "pos", "id", "ref", "alt", "kind"]
    assert {"ref_bound", "alt_bound", "effect_bound", "effect_prob_bound"} <= set(table.columns)
    assert len(table) == 41 and table["kind"].iloc[-1] == "insertion"
    assert np.allclose(table["effect_bound"], table["alt_bound"] - table["ref_bound"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_variants"] == 41 and metrics["n_snv"] == 40 and metrics["n_insertion"] == 1
    top = table["effect_bound"].abs().nlargest(2).index
    assert all(table.loc[top, "id"].str.startswith(("motif", "ins")))
    import h5py
    with h5py.File(out / "attributions.h5", "r") as fh:
        assert fh["ref"].shape == (2, 4, L) and fh["alt"].shape == (2, 4, L)
        assert sorted(fh["rows"][()]) == sorted(top)
    assert len(list((out / "logos").glob("*.png"))) == 2
    assert (out / "manifest.json").exists()


def test_cli_ref_mismatch_is_one_line_exit_2_and_writes_nothing(trained, tmp_path, capsys):
    folder, seqs, sites, _ = trained
    p = sites["chr3"][0] + 3
    wrong = "A" if seqs["chr3"][p] != "A" else "C"
    _write_vcf(tmp_path / "v.vcf", [("chr3", p + 1, "x", seqs["chr3"][p], "G"),
                                    ("chr3", p + 1, "y", wrong, "G")])
    out = tmp_path / "scores"
    code = main(["variants", "--model", str(folder / "run"), "--vcf", str(tmp_path / "v.vcf"),
                 "--genome", str(folder / "genome.fa"), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"v.vcf, line 4: REF '{wrong}' does not match the genome" in err and f"chr3:{p + 1}" in err
    assert not out.exists() and not (tmp_path / "scores.partial").exists()
    _write_vcf(tmp_path / "w.vcf", [("chrZ", 5, "x", "A", "G")])
    code = main(["variants", "--model", str(folder / "run"), "--vcf", str(tmp_path / "w.vcf"),
                 "--genome", str(folder / "genome.fa"), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "w.vcf, line 3: chromosome 'chrZ' is not in" in err
    assert not out.exists()
