"""bigWig targets: window summaries, profiles (the layout profile models read), stranded pairs."""

import numpy as np
import pytest

from seqlens.errors import ParameterError, SequenceError
from seqlens.genome.bigwig import BigWigTracks, summarise
from seqlens.genome.dataset import bed_dataset
from seqlens.io.hdf5 import load_dataset

from .dataset_toys import peak_rows, toy_genome, write_bed, write_bigwig

SIZES = {"chr1": 12000, "chr2": 8000, "chr3": 8000}
SPLIT = {"valid_chroms": ["chr2"], "test_chroms": ["chr3"]}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bw")
    seqs, sites = toy_genome(folder / "g.fa", sizes=SIZES, peaks_every=1000)
    rng = np.random.default_rng(0)
    plus = {c: rng.poisson(1.0, n).astype(float) for c, n in SIZES.items()}
    minus = {c: rng.poisson(2.0, n).astype(float) for c, n in SIZES.items()}
    plus["chr1"][100:110] = np.nan  # no data: counts 0
    write_bigwig(folder / "plus.bw", SIZES, plus)
    write_bigwig(folder / "minus.bw", SIZES, minus)
    write_bigwig(folder / "short.bw", {"chr1": SIZES["chr1"]}, {"chr1": plus["chr1"]})
    return folder, sites, np.nan_to_num(plus["chr1"]), plus, minus


def _coords(name):
    chrom, rest = name.decode().split("|")[0].split(":")
    return chrom, int(rest.split("-")[0]), rest[-2]


def test_values_orient_pairs_and_pad(toy):
    folder, _, _, plus, minus = toy
    with BigWigTracks([f"{folder / 'plus.bw'},{folder / 'minus.bw'}", folder / "plus.bw"]) as t:
        assert t.names == ["plus", "minus", "plus"] and t.stranded == [True, True, False]
        v = t.values("chr1", 95, 20)
        np.testing.assert_array_equal(v[0], np.nan_to_num(plus["chr1"][95:115]))
        assert v[0, 5:15].sum() == 0  # NaN -> 0
        np.testing.assert_array_equal(v[1], minus["chr1"][95:115])
        # - strand: the pair swaps and positions reverse; a single track only reverses
        r = t.values("chr2", 300, 50, strand=-1)
        np.testing.assert_array_equal(r[0], minus["chr2"][300:350][::-1])
        np.testing.assert_array_equal(r[1], plus["chr2"][300:350][::-1])
        np.testing.assert_array_equal(r[2], plus["chr2"][300:350][::-1])
        # past the chromosome end: zeros
        e = t.values("chr3", 7990, 20)
        np.testing.assert_array_equal(e[0, :10], plus["chr3"][7990:])
        assert e[:, 10:].sum() == 0
        with pytest.raises(SequenceError, match=r"x.bed, line 3: chromosome 'chrQ' is not in the bigWig"):
            t.check_chrom("chrQ", "x.bed, line 3")


def test_summaries():
    v = np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
    np.testing.assert_allclose(summarise(v, "mean")[0], v.mean(2))
    np.testing.assert_allclose(summarise(v, "sum")[0], v.sum(2))
    np.testing.assert_allclose(summarise(v, "max")[0], v.max(2))
    y, profile = summarise(v, "profile", bin_size=4)
    assert profile.shape == (2, 3, 2)
    np.testing.assert_allclose(profile[..., 0], v[..., :4].sum(2))
    np.testing.assert_allclose(y, np.log1p(v.sum(2)), rtol=1e-6)
    with pytest.raises(ParameterError):
        summarise(v, "median")


def test_regression_targets_are_window_means(toy, tmp_path):
    folder, sites, plus1, _, _ = toy
    bed = write_bed(tmp_path / "p.bed", peak_rows(sites))
    s = bed_dataset(tmp_path / "r.h5", [bed], folder / "g.fa", length=100, bigwig=[folder / "plus.bw"],
                    signal="mean", output_length=40, **SPLIT)
    ds = load_dataset(tmp_path / "r.h5")
    assert s["kind"] == "regression" and s["n_negative"] == 0  # negatives default to none with bigWigs
    assert ds.metadata["kind"] == "regression" and ds.metadata["tracks"] == ["plus"]
    assert ds.train.Y.shape == (len(ds.train), 1) and ds.train.profile is None
    for y, name in zip(ds.train.Y, ds.extras["names_train"]):
        _, start, _ = _coords(name)
        assert y[0] == pytest.approx(plus1[start + 30:start + 70].mean(), rel=1e-5)


@pytest.mark.filterwarnings("ignore:.*neighbouring GC bin")
def test_profile_layout_with_stranded_pairs(toy, tmp_path):
    folder, sites, _, plus, minus = toy
    rows = peak_rows(sites[:8], strand="-") + peak_rows(sites[8:], strand="+", first=8)
    bed = write_bed(tmp_path / "p.bed", rows)
    bed_dataset(tmp_path / "p.h5", [bed], folder / "g.fa", length=100, output_length=60, bin_size=2,
                bigwig=[f"{folder / 'plus.bw'},{folder / 'minus.bw'}"], signal="profile",
                negatives="gc", **SPLIT)
    ds = load_dataset(tmp_path / "p.h5")
    meta = ds.metadata
    assert meta["kind"] == "profile" and meta["tracks"] == ["plus", "minus"]
    assert meta["output_length"] == 60 and meta["bin_size"] == 2
    n_checked = {"+": 0, "-": 0, ".": 0}
    for split in ("train", "valid", "test"):
        part = ds.split(split)
        assert part.profile.shape == (len(part), 2, 30) and part.profile.dtype == np.float32
        np.testing.assert_allclose(part.Y, np.log1p(part.profile.sum(2)), rtol=1e-6)
        for prof, name in zip(part.profile, ds.extras[f"names_{split}"]):
            chrom, start, strand = _coords(name)
            p = np.nan_to_num(plus[chrom][start + 20:start + 80])
            m = minus[chrom][start + 20:start + 80]
            if strand == "-":  # own strand first, positions 5' to 3' of the - strand
                p, m = m[::-1], p[::-1]
            np.testing.assert_allclose(prof[0], p.reshape(30, 2).sum(1))
            np.testing.assert_allclose(prof[1], m.reshape(30, 2).sum(1))
            n_checked[strand] += 1
    assert n_checked["-"] == 8 and n_checked["+"] > 0 and n_checked["."] > 0  # background windows


def test_bigwig_without_the_chromosome_is_an_error(toy, tmp_path):
    folder, sites, _, _, _ = toy
    bed = write_bed(tmp_path / "p.bed", peak_rows(sites))
    line = 1 + next(k for k, (c, _) in enumerate(sites) if c == "chr2")
    with pytest.raises(SequenceError, match=rf"p.bed, line {line}: chromosome 'chr2' is not in the bigWig "
                                            r".*short.bw \(it has chr1\)"):
        bed_dataset(tmp_path / "x.h5", [bed], folder / "g.fa", length=100, bigwig=[folder / "short.bw"],
                    **SPLIT)
    assert not (tmp_path / "x.h5").exists()
    with pytest.raises(ParameterError, match="shuffled negatives have no bigWig signal"):
        bed_dataset(tmp_path / "x.h5", [bed], folder / "g.fa", bigwig=[folder / "plus.bw"],
                    negatives="shuffle", **SPLIT)
