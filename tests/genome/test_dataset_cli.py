"""``seqlens dataset`` on the command line: bad input (exit 2, one line, nothing left) and the
path from a toy genome + BED to a trained, attributed model."""

import json

import h5py
import numpy as np
import pytest

from seqlens.cli import main

from .dataset_toys import peak_rows, toy_genome, write_bed, write_bigwig

SIZES = {"chr1": 30000, "chr2": 12000, "chr3": 12000}
HELD_OUT = ["--valid-chroms", "chr2", "--test-chroms", "chr3"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    _, sites = toy_genome(folder / "g.fa", sizes=SIZES, peaks_every=800)
    bed = write_bed(folder / "peaks.narrowPeak", peak_rows(sites))
    return folder, sites, bed


def _fails(capsys, argv, out, *fragments):
    """Run ``argv``: exit 2, one line on stderr holding every fragment, no output left."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("seqlens dataset: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(out.name)]
    assert leftovers == [], leftovers


def test_bad_input_is_one_line_and_leaves_nothing(toy, tmp_path, capsys):
    folder, sites, bed = toy
    genome = str(folder / "g.fa")
    out = tmp_path / "d.h5"
    base = ["dataset", "--genome", genome, "--out", str(out), "--quiet", *HELD_OUT]
    past = write_bed(tmp_path / "past.bed", [("chr1", 10, 200), ("chr2", 11900, 12050)])
    _fails(capsys, [*base, "--bed", str(past)], out, "past.bed, line 2", "chr2:11900-12050",
           "length 12000")
    unknown = write_bed(tmp_path / "unknown.bed", [("chr1", 10, 200), ("chrUn", 5, 50)])
    _fails(capsys, [*base, "--bed", str(unknown)], out, "unknown.bed, line 2", "'chrUn'")
    malformed = tmp_path / "bad.bed"
    malformed.write_text("chr1\t10\t200\nchr1\t300\tfour hundred\n")
    _fails(capsys, [*base, "--bed", str(malformed)], out, "bad.bed, line 2", "'four hundred'")
    short = write_bigwig(tmp_path / "short.bw", {"chr1": SIZES["chr1"]}, {"chr1": np.ones(SIZES["chr1"])})
    line = 1 + next(k for k, (c, _) in enumerate(sites) if c == "chr2")
    _fails(capsys, [*base, "--bed", str(bed), "--length", "200", "--bigwig", str(short)], out,
           f"peaks.narrowPeak, line {line}", "'chr2'", "short.bw")
    _fails(capsys, ["dataset", "--bed", str(bed), "--out", str(out)], out, "--bed needs --genome")
    _fails(capsys, [*base, "--bed", str(bed), "--labels", "x.csv"], out, "--labels cannot be used with --bed")


def test_labels_table_missing_names(tmp_path, capsys):
    fa = tmp_path / "s.fa"
    fa.write_text(">a\nACGT\n>b\nACGA\n>c\nTTTT\n")
    table = tmp_path / "labels.csv"
    table.write_text("name,bound\na,1\nc,0\n")
    out = tmp_path / "d.h5"
    _fails(capsys, ["dataset", "--fasta", str(fa), "--labels", str(table), "--out", str(out), "--quiet"],
           out, "s.fa, line 3", "'b'", "labels.csv")


def test_toy_genome_to_trained_attributed_model(toy, tmp_path, capsys):
    folder, _, bed = toy
    data = tmp_path / "peaks.h5"
    assert main(["dataset", "--bed", str(bed), "--genome", str(folder / "g.fa"), "--length", "200",
                 *HELD_OUT, "--out", str(data), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "GC positives" in printed and "train" in printed
    metrics = json.loads((tmp_path / "peaks.h5.metrics.json").read_text())
    assert metrics["n_positive_peaks"] == metrics["n_negative"] > 0
    assert metrics["gc_difference"] <= 0.01
    with h5py.File(data) as fh:
        assert fh["X_train"].shape[1:] == (4, 200)
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--model", "cnn", "--filters", "8", "--kernel-size", "12",
                 "--epochs", "2", "--rc", "--out", str(run), "--quiet", "--threads", "1"]) == 0
    trained = json.loads((run / "metrics.json").read_text())
    assert trained["epochs_run"] == 2 and 0 <= trained["test_auroc"] <= 1
    attr = tmp_path / "attr.h5"
    assert main(["attribute", "--model", str(run), "--data", str(data), "--method", "saliency",
                 "--split", "test", "--n", "8", "--out", str(attr), "--quiet", "--threads", "1"]) == 0
    with h5py.File(attr) as fh:
        assert fh["saliency"].shape == (8, 4, 200)
        assert np.isfinite(fh["saliency"][()]).all()
