"""Exports of attribution maps: the TF-MoDISco .npz pair and bigWig tracks."""

import numpy as np
import pytest

from seqlens.errors import FormatError, ParameterError
from seqlens.io.exports import parse_coordinates, read_chrom_sizes, write_bigwig, write_modisco_inputs

RNG = np.random.default_rng(0)
X = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, (3, 20))].transpose(0, 2, 1)
H = RNG.normal(size=(3, 4, 20)).astype(np.float32)


def test_modisco_pair_is_what_modisco_lite_reads(tmp_path):
    ohe, shap = write_modisco_inputs(tmp_path / "m", X, H, name="deepshap")
    assert (ohe.name, shap.name) == ("ohe.npz", "deepshap.npz")
    # by hand, from modisco-lite's README: np.savez("ohe.npz", X) stores X as "arr_0"
    np.savez(tmp_path / "hand.npz", X)
    with np.load(ohe) as ours, np.load(tmp_path / "hand.npz") as hand:
        assert ours.files == hand.files == ["arr_0"]
        np.testing.assert_array_equal(ours["arr_0"], hand["arr_0"])
        assert ours["arr_0"].dtype == np.float32 and ours["arr_0"].shape == (3, 4, 20)
    # tfmodisco-lite's own loader (modisco motifs -s/-a), when installed
    cli = pytest.importorskip("modiscolite.cli")
    np.testing.assert_array_equal(cli._load_input(shap), H)
    np.testing.assert_array_equal(cli._load_input(ohe), X)


def test_modisco_pair_refuses_bad_input(tmp_path):
    with pytest.raises(ParameterError, match=r"hypothetical contributions have shape \(3, 4, 19\)"):
        write_modisco_inputs(tmp_path, X, H[:, :, :19])
    with pytest.raises(ParameterError, match="X must be .N, 4, L. one-hot DNA"):
        write_modisco_inputs(tmp_path, X[:, :3], H[:, :3])
    bad = H.copy()
    bad[2, 1, 5] = np.nan
    with pytest.raises(ParameterError, match="NaN or Inf values .sequence 2."):
        write_modisco_inputs(tmp_path, X, bad)
    with pytest.raises(ParameterError, match="name 'ohe'"):
        write_modisco_inputs(tmp_path, X, H, name="ohe")
    assert not list(tmp_path.iterdir())


def test_parse_coordinates_of_dataset_and_bedtools_names():
    names = ["chr1:100-120(-)|peak7", "chr2:5-25", "chrX:0-20(+)|background", "seq_3", "chr1:50-40"]
    assert parse_coordinates(names) == [("chr1", 100, 120, "-", "peak7"), ("chr2", 5, 25, "+", ""),
                                        ("chrX", 0, 20, "+", "background"), None, None]


def test_chrom_sizes_from_a_fai(tmp_path):
    (tmp_path / "g.fa.fai").write_text("chr1\t1000\t6\t60\t61\nchr2\t500\t1030\t60\t61\n")
    assert read_chrom_sizes(tmp_path / "g.fa.fai") == {"chr1": 1000, "chr2": 500}
    (tmp_path / "bad.sizes").write_text("chr1 1000\nchr2 lots\n")
    with pytest.raises(FormatError, match=r"bad.sizes, line 2: expected 'chrom length'"):
        read_chrom_sizes(tmp_path / "bad.sizes")


def test_bigwig_matches_a_track_written_by_hand(tmp_path):
    pyBigWig = pytest.importorskip("pyBigWig")
    S = np.arange(60, dtype=np.float32).reshape(3, 20)
    S[2, 3] = np.nan
    # seq 0 on chr1 at 100 (+); seq 1 on chr1 at 110 (-), overlapping seq 0 on 110..119;
    # seq 2 on chr2 at 0 (+) with one NaN base
    stats = write_bigwig(tmp_path / "ours.bw", S, ["chr1", "chr1", "chr2"], [100, 110, 0], ["+", "-", "+"],
                         chrom_sizes={"chr1": 1000, "chr2": 300})
    assert stats == {"n_sequences": 3, "n_bases": 30 + 19, "n_chromosomes": 2}
    # the same track by hand, as bedGraph-style entries (chrom, start, end, value)
    chr1 = {p: [] for p in range(100, 130)}
    for k in range(20):
        chr1[100 + k].append(float(S[0, k]))
        chr1[110 + k].append(float(S[1, 19 - k]))  # minus strand: last position at the start
    hand = pyBigWig.open(str(tmp_path / "hand.bw"), "w")
    hand.addHeader([("chr1", 1000), ("chr2", 300)])
    pos = sorted(chr1)
    hand.addEntries(["chr1"] * len(pos), pos, ends=[p + 1 for p in pos],
                    values=[float(np.mean(chr1[p])) for p in pos])
    keep = [k for k in range(20) if k != 3]
    hand.addEntries(["chr2"] * len(keep), keep, ends=[k + 1 for k in keep],
                    values=[float(S[2, k]) for k in keep])
    hand.close()
    ours, hand = pyBigWig.open(str(tmp_path / "ours.bw")), pyBigWig.open(str(tmp_path / "hand.bw"))
    assert ours.chroms() == hand.chroms() == {"chr1": 1000, "chr2": 300}
    for chrom, lo, hi in (("chr1", 95, 135), ("chr2", 0, 25)):
        np.testing.assert_allclose(ours.values(chrom, lo, hi), hand.values(chrom, lo, hi), equal_nan=True)
    assert ours.values("chr1", 110, 111)[0] == pytest.approx((10 + 39) / 2)  # the overlap's mean
    assert np.isnan(ours.values("chr2", 3, 4)[0])
    ours.close()
    hand.close()


def test_bigwig_refuses_what_does_not_fit(tmp_path):
    S = np.zeros((1, 20))
    with pytest.raises(ParameterError, match="'chr1' has length 10, but a sequence reaches base 25"):
        write_bigwig(tmp_path / "x.bw", S, ["chr1"], [5], chrom_sizes={"chr1": 10})
    with pytest.raises(ParameterError, match="chromosome 'chr9' is not in the chromosome sizes"):
        write_bigwig(tmp_path / "x.bw", S, ["chr9"], [5], chrom_sizes={"chr1": 10})
    with pytest.raises(ParameterError, match="1 score rows but 2 chromosomes"):
        write_bigwig(tmp_path / "x.bw", S, ["chr1", "chr2"], [5, 6])
    with pytest.raises(ParameterError, match="sequence 0: placement 'chr1':-1"):
        write_bigwig(tmp_path / "x.bw", S, ["chr1"], [-1])
    assert not (tmp_path / "x.bw").exists()
