"""Genome windows, BED parsing, centring, interval queries and splits, on files made here."""

import os
import stat
import warnings

import numpy as np
import pytest

from seqlens.alphabet import one_hot
from seqlens.errors import FormatError, ParameterError, SequenceError
from seqlens.genome.reference import Genome
from seqlens.genome.regions import IntervalIndex, centres, off_chromosome, read_bed, window_starts
from seqlens.genome.splits import chrom_split, default_chroms, random_split

from .dataset_toys import one_hot_str, toy_genome, write_bed


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("genome")
    seqs, sites = toy_genome(folder / "g.fa", line=61, lower=False)
    with Genome(folder / "g.fa") as g:
        yield g, seqs, sites


def _expected(seqs, chrom, start, length):
    """The letters of [start, start + length) with N past either end."""
    s = seqs[chrom]
    lo, hi = max(start, 0), min(start + length, len(s))
    return "N" * (lo - start) + s[lo:hi] + "N" * (start + length - hi)


def test_read_windows_exact_including_chromosome_ends(toy):
    g, seqs, _ = toy
    chroms = ["chr1", "chr1", "chr2", "chr3", "chr1", "chr2"]
    starts = [0, 123, 15990, -7, 23999, 60]  # first base, inside, past the end, before the start
    X = g.read_windows(chroms, starts, 25)
    assert X.shape == (6, 4, 25) and X.dtype == np.uint8
    for x, c, s in zip(X, chroms, starts):
        np.testing.assert_array_equal(x, one_hot_str(_expected(seqs, c, s, 25)))
    assert X[2, :, 10:].sum() == 0 and X[2, :, :10].sum() == 10  # 10 bases left on chr2, then N
    assert X[3, :, :7].sum() == 0 and X[3, :, 7:].sum() == 18
    # uniform: N columns are 0.25 each, float32
    U = g.read_windows(chroms, starts, 25, ambiguous="uniform", dtype=np.float32)
    np.testing.assert_array_equal(U[2, :, 10:], 0.25)
    np.testing.assert_array_equal(U[0], X[0])
    # one window spanning many lines equals fetch
    x = g.read_windows("chr1", [5000], 3000)[0]
    np.testing.assert_array_equal(x, one_hot_str(g.fetch("chr1", 5000, 8000)))


def test_read_windows_soft_masked_and_ambiguous_letters(tmp_path):
    path = tmp_path / "m.fa"
    path.write_text(">a\nacgtNNRY\nACGT\n>b\nAC*T\n")
    with Genome(path) as g:
        X = g.read_windows("a", [0], 12, ambiguous="uniform", dtype=np.float32)[0]
        np.testing.assert_array_equal(X[:, :4], np.eye(4))  # lower case read as upper case
        np.testing.assert_array_equal(X[:, 4], 0.25)
        np.testing.assert_array_equal(X[:, 6], [0.5, 0, 0.5, 0])  # R = A or G
        assert g.read_windows("a", [0], 12)[0][:, 4:8].sum() == 0  # zeros policy
        with pytest.raises(SequenceError, match=r"m.fa: invalid letter '\*' at b:3 \(1-based\)"):
            g.read_windows(["a", "b"], [0, 0], 4)
        with pytest.raises(SequenceError, match="chromosome 'c' is not in the genome"):
            g.read_windows("c", [0], 4)


def test_genome_in_a_read_only_folder_is_indexed_in_the_cache(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "g.fa").write_text(">c\nACGTACGTAC\nGT\n")
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    if os.access(folder, os.W_OK):  # running as root: permissions are not enforced
        os.chmod(folder, 0o755)
        pytest.skip("cannot make a read-only folder here")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        with Genome(folder / "g.fa") as g:
            assert g.fetch("c", 8, 12) == "ACGT"
            np.testing.assert_array_equal(g.read_windows("c", [10], 2)[0], one_hot_str("GT"))
        assert not (folder / "g.fa.fai").exists()
        assert len(list((tmp_path / "cache" / "seqlens" / "fai").glob("g.fa.*.fai"))) == 1
    finally:
        os.chmod(folder, 0o755)


def test_cache_index_used_when_the_folder_is_read_only(tmp_path, monkeypatch):
    from seqlens.genome import reference

    (tmp_path / "g.fa").write_text(">c\nACGT\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(reference.os, "access", lambda path, mode: False)
    index = reference._cache_index(tmp_path / "g.fa", ".fai")
    assert index.parent == tmp_path / "cache" / "seqlens" / "fai" and index.name.startswith("g.fa.")
    with Genome(tmp_path / "g.fa") as g:
        assert g.fetch("c", 1, 3) == "CG"
    assert index.exists() and not (tmp_path / "g.fa.fai").exists()


def test_bgzip_genome_reads_the_same_windows(tmp_path, toy):
    bgzf = pytest.importorskip("Bio.bgzf")
    _, seqs, _ = toy
    path = tmp_path / "g.fa.gz"
    with bgzf.BgzfWriter(str(path), "wb") as fh:
        for chrom, s in seqs.items():
            fh.write(f">{chrom}\n".encode())
            for i in range(0, len(s), 70):
                fh.write((s[i:i + 70] + "\n").encode())
    with Genome(path) as gz:
        assert gz.compressed
        starts = [0, 777, 15995]
        X = gz.read_windows(["chr1", "chr2", "chr3"], starts, 30)
        for x, c, s in zip(X, ["chr1", "chr2", "chr3"], starts):
            np.testing.assert_array_equal(x, one_hot_str(_expected(seqs, c, s, 30)))


def test_read_bed_columns_comments_and_lines(tmp_path, toy):
    g, _, _ = toy
    bed = write_bed(tmp_path / "p.narrowPeak", [("chr1", 100, 300, "a", 0, "+", 1, -1, -1, 40),
                                                  ("chr2", 50, 61),
                                                  ("chr3", 0, 10, ".", 0, "-")], header=True)
    r = read_bed(bed, g)
    assert len(r) == 3 and list(r.line) == [3, 4, 5]  # track line and comment skipped
    assert list(r.chrom) == ["chr1", "chr2", "chr3"] and list(r.start) == [100, 50, 0]
    assert list(r.summit) == [40, -1, -1] and list(r.strand) == [1, 0, -1]
    assert list(r.name) == ["a", "", ""]
    assert list(centres(r, "auto")) == [140, 55, 5]
    assert list(centres(r, "middle")) == [200, 55, 5]
    with pytest.raises(FormatError, match=r"p.narrowPeak, line 4: no summit"):
        centres(r, "summit")
    only = read_bed(bed, g, chroms=["chr2"])
    assert len(only) == 1 and only.n_skipped == 2


@pytest.mark.parametrize("line, message", [
    ("chr1\t100", r"line 2: a BED line needs at least 3 columns .*got 2"),
    ("chr1\tten\t200", r"line 2: start must be an integer, got 'ten'"),
    ("chr1\t-5\t200", r"line 2: start -5 is negative"),
    ("chr1\t200\t200", r"line 2: end 200 is not after start 200"),
    ("chr1\t100\t200\tx\t0\t*", r"line 2: strand \(column 6\) must be \+, - or \., got '\*'"),
    ("chr1\t100\t200\tx\t0\t+\t1\t1\t1\t150", r"line 2: summit \(column 10\) 150 is outside the region"),
])
def test_malformed_bed_lines_name_file_line_value(tmp_path, line, message):
    bed = tmp_path / "bad.bed"
    bed.write_text(f"chr1\t1\t5\n{line}\n")
    with pytest.raises(FormatError, match=message):
        read_bed(bed)


def test_bed_against_the_genome(tmp_path, toy):
    g, _, _ = toy
    bed = write_bed(tmp_path / "x.bed", [("chr1", 1, 5), ("chrX", 1, 5)])
    with pytest.raises(SequenceError, match=r"x.bed, line 2: chromosome 'chrX' is not in the genome"):
        read_bed(bed, g)
    bed = write_bed(tmp_path / "y.bed", [("chr2", 15900, 16001)])
    with pytest.raises(SequenceError, match=r"y.bed, line 1: interval chr2:15900-16001 is outside chr2 "
                                            r"\(length 16000\)"):
        read_bed(bed, g)
    empty = tmp_path / "e.bed"
    empty.write_text("# nothing\n")
    with pytest.raises(FormatError, match="e.bed: no regions"):
        read_bed(empty)


def test_window_starts_even_odd_and_jitter():
    c = np.array([100, 101])
    assert list(window_starts(c, 10)) == [95, 96]  # [c - 5, c + 5)
    assert list(window_starts(c, 11)) == [95, 96]  # odd: c is the middle base
    a = window_starts(np.full(2000, 500), 10, jitter=3, rng=np.random.default_rng(1))
    b = window_starts(np.full(2000, 500), 10, jitter=3, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert set(a - 495) == {-3, -2, -1, 0, 1, 2, 3}
    off = off_chromosome(np.array(["a", "a", "a"], object), np.array([-1, 0, 91]), 10, {"a": 100})
    assert list(off) == [True, False, True]


def test_interval_index_matches_brute_force():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 1000, 60)
    e = s + rng.integers(1, 50, 60)
    chrom = rng.choice(np.array(["a", "b"], object), 60)
    index = IntervalIndex(chrom, s, e)
    qc = rng.choice(np.array(["a", "b", "z"], object), 500)
    qs = rng.integers(0, 1100, 500)
    qe = qs + rng.integers(1, 30, 500)
    want = np.array([((chrom == c) & (s < b) & (e > a)).any() for c, a, b in zip(qc, qs, qe)])
    np.testing.assert_array_equal(index.overlaps(qc, qs, qe), want)
    pos = np.array([((chrom == c) & (s <= p) & (e > p)).any() for c, p in zip(qc, qs)])
    np.testing.assert_array_equal(index.contains(qc, qs), pos)


def test_splits():
    assert default_chroms(["1", "8", "9"], ["chr8"]) == ["8"]
    assert default_chroms(["chr8"], ["chr8"]) == ["chr8"]
    codes = chrom_split(["chr1", "chr8", "chr9", "chr1"], ["chr8"], ["chr9"])
    assert list(codes) == [0, 1, 2, 0]
    with pytest.raises(ParameterError, match="both validation and test"):
        chrom_split(["chr1"], ["chr8"], ["chr8"])
    a = random_split(10000, 0.1, 0.2, np.random.default_rng(3))
    np.testing.assert_array_equal(a, random_split(10000, 0.1, 0.2, np.random.default_rng(3)))
    frac = np.bincount(a, minlength=3) / len(a)
    np.testing.assert_allclose(frac, [0.7, 0.1, 0.2], atol=0.02)
    with pytest.raises(ParameterError, match="leave some training data"):
        random_split(5, 0.5, 0.5, np.random.default_rng(0))


def test_many_windows_equal_one_hot_of_fetch(toy):
    g, seqs, _ = toy
    rng = np.random.default_rng(5)
    chroms = rng.choice(np.array(list(seqs), object), 300)
    starts = np.array([rng.integers(-20, len(seqs[c]) - 5) for c in chroms])
    X = g.read_windows(chroms, starts, 40, ambiguous="uniform", dtype=np.float32)
    want = one_hot([_expected(seqs, c, s, 40) for c, s in zip(chroms, starts)])
    with warnings.catch_warnings():
        np.testing.assert_array_equal(X, want)


@pytest.mark.parametrize("gz, chunk_lines", [(False, 1 << 17), (True, 1 << 17), (False, 64)])
def test_fast_and_line_readers_agree(tmp_path, toy, gz, chunk_lines, monkeypatch):
    import gzip

    from seqlens.genome import regions
    from seqlens.genome.regions import _read_fast, _read_lines

    monkeypatch.setattr(regions, "CHUNK_LINES", chunk_lines)  # 64: read in 5 chunks

    g, _, _ = toy
    rng = np.random.default_rng(2)
    rows = [("chr1" if k % 3 else "chr2", s, s + 50, "." if k % 4 else f"p{k}", 0, "+-."[k % 3], 1, -1, -1,
             -1 if k % 5 == 0 else 7) for k, s in enumerate(rng.integers(0, 15000, 300))]
    text = 'track name=x\nbrowser position chr1\n# comment\n\n' + "".join(
        "\t".join(map(str, r)) + "\n" for r in rows)
    path = tmp_path / ("r.bed.gz" if gz else "r.bed")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    fast = _read_fast(path, None, False)
    slow = _read_lines(path, None, None, False)
    assert fast is not None and len(fast) == 300
    for key in ("chrom", "start", "end", "summit", "strand", "name", "line"):
        np.testing.assert_array_equal(getattr(fast, key), getattr(slow, key), err_msg=key)
    assert fast.line[0] == 5 and fast.name[0] == "p0" and fast.name[1] == ""
    only = _read_fast(path, {"chr2"}, False)
    assert len(only) == 100 and only.n_skipped == 200
    r = read_bed(path, g, chroms=["chr2"])
    np.testing.assert_array_equal(r.start, only.start)
    # files the line reader handles: spaces instead of tabs, ragged columns
    spaced = tmp_path / "s.bed"
    spaced.write_text("chr1 10 20\nchr1 30 40\n")
    assert _read_fast(spaced, None, False) is None and list(read_bed(spaced).end) == [20, 40]
    ragged = tmp_path / "g.bed"
    ragged.write_text("chr1\t10\t20\nchr1\t30\t40\tname\n")
    assert _read_fast(ragged, None, False) is None and list(read_bed(ragged).name) == ["", "name"]


@pytest.mark.filterwarnings("ignore:Index file .* is older than FASTA")
def test_stale_index_is_named(tmp_path):
    path = tmp_path / "g.fa"
    path.write_text(">c\nACGTACGTAC\nGTACGTACGT\n")
    Genome(path).close()  # index: 10 letters per line
    path.write_text(">c\nACGTA\nCGTAC\nGTACG\nTACGT\n")  # same letters, other lines; index kept
    with Genome(path) as g, pytest.raises(FormatError, match=r"lines of c do not have the lengths its index"):
        g.read_windows("c", [0], 10)
