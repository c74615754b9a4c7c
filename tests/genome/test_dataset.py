"""bed_dataset on a toy genome: exact windows, strands, chromosome ends, labels, negatives, splits."""

import json
import warnings

import h5py
import numpy as np
import pytest

from seqlens.errors import ParameterError, SequenceError
from seqlens.genome.background import gc_bin, gc_fraction, match_gc
from seqlens.genome.dataset import bed_dataset
from seqlens.io.hdf5 import load_dataset

from .dataset_toys import MOTIF, one_hot_str, peak_rows, revcomp, toy_genome, write_bed

SPLIT = {"valid_chroms": ["chr2"], "test_chroms": ["chr3"]}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    seqs, sites = toy_genome(folder / "g.fa", sizes={"chr1": 60000, "chr2": 40000, "chr3": 40000},
                             peaks_every=1500)
    bed = write_bed(folder / "peaks.narrowPeak", peak_rows(sites), header=True)
    return folder, seqs, sites, bed


def _names(ds, split):
    return [n.decode() for n in ds.extras[f"names_{split}"]]


def _parse(name):
    """``(chrom, start, end, strand)`` of ``chrom:start-end(s)|...``."""
    coords = name.split("|")[0]
    chrom, rest = coords.split(":")
    span, strand = rest[:-3], rest[-2]
    start, end = (int(v) for v in span.split("-"))
    return chrom, start, end, strand


def test_windows_are_exact_and_centred_on_summits(toy, tmp_path):
    folder, seqs, sites, bed = toy
    summary = bed_dataset(tmp_path / "d.h5", [bed], folder / "g.fa", length=100, negatives="shuffle",
                          **SPLIT)
    ds = load_dataset(tmp_path / "d.h5")
    assert summary["n_regions"] == len(sites) and summary["kind"] == "binary"
    for split in ("train", "valid", "test"):
        part, names = ds.split(split), _names(ds, split)
        pos = np.flatnonzero(part.Y[:, 0] == 1)
        assert len(pos) and len(pos) * 2 == len(part)  # one shuffle per positive
        for i in pos:
            chrom, start, end, strand = _parse(names[i])
            assert end - start == 100 and strand == "."
            np.testing.assert_array_equal(part.X[i], one_hot_str(seqs[chrom][start:end]))
            # the summit (motif middle) is base 50 of the window: the motif sits at 44..56
            assert seqs[chrom][start + 44:start + 56] == MOTIF
            assert names[i].endswith(f"|peak{sites.index((chrom, start + 44))}")
    assert ds.metadata["kind"] == "binary" and ds.metadata["window_length"] == 100
    assert ds.metadata["negatives"]["mode"] == "shuffle" and ds.metadata["tasks"] == ["peaks"]
    assert ds.metadata["split"] == {"rule": "chromosome", "valid": ["chr2"], "test": ["chr3"]}
    with h5py.File(tmp_path / "d.h5") as fh:
        assert fh["X_train"].dtype == np.uint8


def test_minus_strand_windows_are_reverse_complemented(toy, tmp_path):
    folder, seqs, sites, _ = toy
    rows = peak_rows(sites[:6], strand="-") + peak_rows(sites[6:12], strand="+")
    bed = write_bed(tmp_path / "s.bed", rows)
    bed_dataset(tmp_path / "s.h5", [bed], folder / "g.fa", length=60, negatives="shuffle",
                split="random", valid_fraction=0.0, test_fraction=0.5, random_state=1)
    ds = load_dataset(tmp_path / "s.h5")
    seen = {"+": 0, "-": 0}
    for split in ("train", "test"):
        for x, y, name in zip(ds.split(split).X, ds.split(split).Y, _names(ds, split)):
            if y[0] != 1:
                continue
            chrom, start, end, strand = _parse(name)
            want = seqs[chrom][start:end]
            np.testing.assert_array_equal(x, one_hot_str(revcomp(want) if strand == "-" else want))
            seen[strand] += 1
    assert seen == {"+": 6, "-": 6}
    # --unstranded reads every window 5' to 3' on the + strand
    bed_dataset(tmp_path / "u.h5", [bed], folder / "g.fa", length=60, negatives="shuffle",
                split="random", valid_fraction=0.0, test_fraction=0.5, random_state=1, stranded=False)
    u = load_dataset(tmp_path / "u.h5")
    assert all(_parse(n)[3] == "." for n in _names(u, "train"))


@pytest.mark.filterwarnings("ignore:no regions on the validation")
def test_chromosome_end_policies(toy, tmp_path):
    folder, seqs, _, _ = toy
    rows = [("chr1", 10, 30, "near_start"), ("chr1", 30000, 30020, "inside"),
            ("chr2", 39980, 40000, "near_end"), ("chr3", 5000, 5020, "test")]
    bed = write_bed(tmp_path / "e.bed", rows)
    kw = dict(length=100, negatives="shuffle", **SPLIT)
    with pytest.warns(UserWarning, match=r"2 window\(s\) reach past a chromosome end and are skipped "
                                         r"\(first: .*e.bed, line 1\)"):
        s = bed_dataset(tmp_path / "skip.h5", [bed], folder / "g.fa", **kw)
    assert s["n_skipped_edge"] == 2 and s["n_train"] == 2 and s["n_valid"] == 0
    s = bed_dataset(tmp_path / "pad.h5", [bed], folder / "g.fa", edge="pad", **kw)
    assert s["n_padded_edge"] == 2
    ds = load_dataset(tmp_path / "pad.h5")
    names = _names(ds, "train")
    i = next(k for k, n in enumerate(names) if n.endswith("near_start"))
    assert names[i].startswith("chr1:-30-70(.)")  # centre 20, window [-30, 70)
    x = ds.train.X[i]
    assert x[:, :30].sum() == 0  # 30 N columns before the chromosome start
    np.testing.assert_array_equal(x[:, 30:], one_hot_str(seqs["chr1"][:70]))
    j = next(k for k, n in enumerate(_names(ds, "valid")) if n.endswith("near_end"))
    assert _names(ds, "valid")[j].startswith("chr2:39940-40040(.)")
    np.testing.assert_array_equal(ds.valid.X[j][:, :60], one_hot_str(seqs["chr2"][39940:]))
    assert ds.valid.X[j][:, 60:].sum() == 0
    with pytest.raises(SequenceError, match=r"e.bed, line 1: the 100 bp window chr1:-30-70 reaches past "
                                            r"the end of chr1"):
        bed_dataset(tmp_path / "err.h5", [bed], folder / "g.fa", edge="error", **kw)
    assert not (tmp_path / "err.h5").exists()


def test_gc_matched_negatives(toy, tmp_path):
    folder, seqs, sites, bed = toy
    s = bed_dataset(tmp_path / "gc.h5", [bed], folder / "g.fa", length=200, gc_bins=25, **SPLIT,
                    random_state=4)
    ds = load_dataset(tmp_path / "gc.h5")
    assert s["n_gc_off_bin"] == 0 and s["n_negative_shortfall"] == 0
    assert s["gc_difference"] <= 0.01
    positives = [(chrom, start + len(MOTIF) // 2 - 100) for chrom, start in sites]
    for split, chrom in (("train", "chr1"), ("valid", "chr2"), ("test", "chr3")):
        part, names = ds.split(split), _names(ds, split)
        pos, neg = part.Y[:, 0] == 1, part.Y[:, 0] == 0
        assert pos.sum() == neg.sum() > 0
        gc = gc_fraction(part.X)
        assert abs(gc[pos].mean() - gc[neg].mean()) <= 0.01
        np.testing.assert_array_equal(np.bincount(gc_bin(gc[pos], 25), minlength=25),
                                      np.bincount(gc_bin(gc[neg], 25), minlength=25))
        for i in np.flatnonzero(neg):
            c, start, end, _ = _parse(names[i])
            assert c == chrom and names[i].endswith("|background")  # negatives of held-out chromosomes
            np.testing.assert_array_equal(part.X[i], one_hot_str(seqs[c][start:end]))
            assert part.X[i].sum() == 200  # no N
            assert all(c2 != c or start >= p + 200 or end <= p for c2, p in positives)  # no overlap
    pos_gc = [gc_fraction(ds.split(k).X[ds.split(k).Y[:, 0] == 1]) for k in ("train", "valid", "test")]
    assert s["gc_positive"] == pytest.approx(np.concatenate(pos_gc).mean(), abs=1e-6)


def test_match_gc_counts_per_bin_and_borrows_from_neighbours():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0.3, 0.6, 200)
    tiles = rng.uniform(0.2, 0.8, 5000)
    sel, off = match_gc(pos, np.zeros(200, int), tiles, np.zeros(5000, int), ratio=2, bins=30, rng=1)
    assert off == 0 and len(sel) == len(set(sel)) == 400
    np.testing.assert_array_equal(np.bincount(gc_bin(tiles[sel], 30), minlength=30),
                                  2 * np.bincount(gc_bin(pos, 30), minlength=30))
    # a bin with too few tiles borrows from its neighbours, and says how many
    sparse = np.concatenate([np.full(3, 0.51), np.full(50, 0.45), np.full(50, 0.58)])
    sel, off = match_gc(np.full(10, 0.51), np.zeros(10, int), sparse, np.zeros(len(sparse), int),
                        bins=20, rng=0)
    assert len(sel) == 10 and off == 7 and set(sel[:3]) == {0, 1, 2}
    # groups draw only from their own tiles
    sel, _ = match_gc(np.array([0.5, 0.5]), np.array([0, 1]), np.array([0.5, 0.5, 0.5]),
                      np.array([1, 1, 0]), rng=0)
    assert sorted(sel) == [1, 2] or sorted(sel) == [0, 2]


def test_multitask_labels_from_several_beds(toy, tmp_path):
    folder, seqs, sites, _ = toy
    a = write_bed(tmp_path / "TF_A.bed", peak_rows(sites[:20]))
    # task B: half of A's peaks (wider regions) plus others of its own
    b = write_bed(tmp_path / "TF_B.bed", peak_rows(sites[10:30], width=300, summit=150, first=10))
    s = bed_dataset(tmp_path / "m.h5", [a, b], folder / "g.fa", length=100, negatives="shuffle",
                    split="random", valid_fraction=0.0, test_fraction=0.2, random_state=0)
    ds = load_dataset(tmp_path / "m.h5")
    assert ds.metadata["tasks"] == ["TF_A", "TF_B"] and ds.metadata["kind"] == "multitask"
    rows = {}
    for split in ("train", "test"):
        for y, name in zip(ds.split(split).Y, _names(ds, split)):
            if "shuffle" in name:
                assert y.sum() == 0
            else:
                rows.setdefault(name.split("|")[1], []).append(tuple(y))
    # A's peaks 0..19: B holds 10..19; B's own windows 20..29 are inside no A peak
    assert all(rows[f"peak{k}"] == [(1, 0)] for k in range(10))
    assert all(sorted(rows[f"peak{k}"]) == [(1, 1)] * 2 for k in range(10, 20))  # one window per file
    assert s["n_positive_tf_a"] == 30 and s["n_positive_tf_b"] == 30


def test_random_split_is_seeded_and_metadata_complete(toy, tmp_path):
    folder, _, _, bed = toy
    kw = dict(length=80, negatives="shuffle", split="random", valid_fraction=0.2, test_fraction=0.2)
    bed_dataset(tmp_path / "a.h5", [bed], folder / "g.fa", random_state=7, jitter=5, **kw)
    bed_dataset(tmp_path / "b.h5", [bed], folder / "g.fa", random_state=7, jitter=5, **kw)
    bed_dataset(tmp_path / "c.h5", [bed], folder / "g.fa", random_state=8, jitter=5, **kw)
    a, b, c = (load_dataset(tmp_path / f"{k}.h5") for k in "abc")
    np.testing.assert_array_equal(a.train.X, b.train.X)
    assert _names(a, "test") == _names(b, "test") != _names(c, "test")
    shifts = [(_parse(n)[1] + 40) % 1500 for n in _names(a, "train") if "shuffle" not in n]
    assert len(set(shifts)) > 3  # jittered centres
    meta = a.metadata
    assert meta["split"]["rule"] == "random" and meta["seed"] == 7 and meta["jitter"] == 5
    assert meta["sources"]["bed"] == [str(bed)] and meta["genome"] == str(folder / "g.fa")
    assert meta["counts"] == {k: len(a.split(k)) for k in ("train", "valid", "test")}


def test_bad_options_and_empty_splits(toy, tmp_path):
    folder, _, _, bed = toy
    with pytest.warns(UserWarning, match="every label is 1"):
        s = bed_dataset(tmp_path / "ones.h5", [bed], folder / "g.fa", negatives="none", length=50, **SPLIT)
    assert s["n_negative"] == 0 and s["n_positive_peaks"] == s["n_sequences"]
    with pytest.raises(ParameterError, match=r"no regions on the test chromosome\(s\) \['chr3'\]"):
        bed_dataset(tmp_path / "x.h5", [bed], folder / "g.fa", chroms=["chr1", "chr2"], **SPLIT)
    with pytest.raises(ParameterError, match=r"chromosome\(s\) \['chr8', 'chr9'\] are not in the genome"):
        bed_dataset(tmp_path / "x.h5", [bed], folder / "g.fa")
    with pytest.raises(ParameterError, match="bin size must divide"):
        bed_dataset(tmp_path / "x.h5", [bed], folder / "g.fa", length=100, signal="profile", bin_size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="no regions on the validation"):
            bed_dataset(tmp_path / "x.h5", [bed], folder / "g.fa", chroms=["chr1", "chr3"], **SPLIT)
    assert not (tmp_path / "x.h5").exists()


def test_metrics_json_ready(toy, tmp_path):
    folder, _, _, bed = toy
    s = bed_dataset(tmp_path / "d.h5", [bed], folder / "g.fa", length=100, negatives="shuffle", **SPLIT)
    json.dumps(s)
    assert s["n_sequences"] == s["n_train"] + s["n_valid"] + s["n_test"]
    assert s["gc_difference"] < 1e-6  # shuffles keep the composition exactly
