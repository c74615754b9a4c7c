"""fasta_dataset: labels from a table, from headers, or from the file; lengths; splits; errors."""

import numpy as np
import pytest

from seqlens.errors import FormatError, ParameterError, SequenceError
from seqlens.genome.dataset import fasta_dataset
from seqlens.io.hdf5 import load_dataset

from .dataset_toys import one_hot_str


def _fasta(path, records):
    path.write_text("".join(f">{name}\n{seq}\n" for name, seq in records))
    return path


def _all(ds):
    """``{name: (x, y, split)}`` over every split."""
    out = {}
    for split in ("train", "valid", "test"):
        part = ds.split(split)
        for x, y, n in zip(part.X, part.Y, ds.extras[f"names_{split}"]):
            out[n.decode()] = (x, y, split)
    return out


def _records(n, length=20, seed=0):
    rng = np.random.default_rng(seed)
    return [(f"s{i}", "".join(rng.choice(list("ACGT"), length))) for i in range(n)]


def test_labels_table_aligned_by_name(tmp_path):
    recs = _records(40)
    fa = _fasta(tmp_path / "s.fa", recs)
    rows = [(name, i % 2, i * 0.5) for i, (name, _) in enumerate(recs)][::-1]  # other order
    table = tmp_path / "labels.tsv"
    table.write_text("name\tbound\tscore\tnote\n" + "".join(f"{n}\t{b}\t{s}\tx\n" for n, b, s in rows)
                     + "extra\t1\t2\tx\n")
    s = fasta_dataset(tmp_path / "d.h5", [fa], labels=table, random_state=0)
    ds = load_dataset(tmp_path / "d.h5")
    assert ds.metadata["tasks"] == ["bound", "score"] and ds.metadata["kind"] == "regression"
    got = _all(ds)
    assert len(got) == 40 and s["n_labels_unused"] == 1
    for i, (name, seq) in enumerate(recs):
        x, y, _ = got[name]
        np.testing.assert_array_equal(x, one_hot_str(seq))
        np.testing.assert_array_equal(y, [i % 2, i * 0.5])
    # one column picked: binary
    fasta_dataset(tmp_path / "b.h5", [fa], labels=table, label_columns=["bound"])
    b = load_dataset(tmp_path / "b.h5")
    assert b.metadata["kind"] == "binary" and b.n_tasks == 1


def test_labels_table_errors_name_file_line_value(tmp_path):
    fa = _fasta(tmp_path / "s.fa", [("a", "ACGT"), ("b", "ACGA"), ("c", "TTTT")])
    table = tmp_path / "l.csv"
    table.write_text("name,y\na,1\nc,0\n")
    with pytest.raises(FormatError, match=r"s.fa, line 3: record 'b' has no row in the labels table .*l.csv"):
        fasta_dataset(tmp_path / "x.h5", [fa], labels=table)
    table.write_text("name,y\na,1\nb,oops\nc,0\n")
    with pytest.raises(FormatError, match=r"l.csv, line 3: label column 'y' must be a finite number, "
                                          r"got 'oops'"):
        fasta_dataset(tmp_path / "x.h5", [fa], labels=table, label_columns=["y"])
    table.write_text("name,y\na,1\nb,0\na,0\n")
    with pytest.raises(FormatError, match=r"l.csv, line 4: name 'a' repeats line 2"):
        fasta_dataset(tmp_path / "x.h5", [fa], labels=table)
    assert not (tmp_path / "x.h5").exists()


def test_header_labels_numbers_and_pairs(tmp_path):
    fa = _fasta(tmp_path / "h.fa", [("a 1 0", "ACGT"), ("b 0 1", "GGGG"), ("c 1 1", "ACGA"),
                                    ("d 0 0", "TTTT")])
    fasta_dataset(tmp_path / "h.h5", [fa], header_labels=True, valid_fraction=0, test_fraction=0.25)
    got = _all(load_dataset(tmp_path / "h.h5"))
    np.testing.assert_array_equal(got["c"][1], [1, 1])
    np.testing.assert_array_equal(got["b"][1], [0, 1])
    kv = _fasta(tmp_path / "k.fa", [("a CTCF=1 REST=0", "ACGT"), ("b CTCF=0 REST=1", "GGGG"),
                                    ("c CTCF=0 REST=0", "CCCC"), ("d CTCF=1 REST=1", "AAAA")])
    fasta_dataset(tmp_path / "k.h5", [kv], header_labels=True, valid_fraction=0, test_fraction=0.25)
    ds = load_dataset(tmp_path / "k.h5")
    assert ds.metadata["tasks"] == ["CTCF", "REST"] and ds.metadata["kind"] == "multitask"
    bad = _fasta(tmp_path / "bad.fa", [("a CTCF=1", "ACGT"), ("b REST=1", "GGGG")])
    with pytest.raises(FormatError, match=r"bad.fa, line 3: record 'b' has labels \['REST'\], but the first "
                                          r"record has \['CTCF'\]"):
        fasta_dataset(tmp_path / "x.h5", [bad], header_labels=True)


def test_files_as_classes(tmp_path):
    pos = _fasta(tmp_path / "bound.fa", [(f"p{i}", "GCGC" * 5) for i in range(30)])
    neg = _fasta(tmp_path / "unbound.fa", [(f"n{i}", "ATAT" * 5) for i in range(30)])
    s = fasta_dataset(tmp_path / "d.h5", [pos, neg], random_state=3)
    ds = load_dataset(tmp_path / "d.h5")
    assert ds.metadata["tasks"] == ["bound"] and ds.metadata["kind"] == "binary"
    got = _all(ds)
    assert all(got[f"p{i}"][1][0] == 1 and got[f"n{i}"][1][0] == 0 for i in range(30))
    assert s["n_positive_bound"] == 30 and s["n_negative"] == 30
    assert s["gc_positive"] == 1.0 and s["gc_negative"] == 0.0
    third = _fasta(tmp_path / "other.fa", [(f"o{i}", "CCAA" * 5) for i in range(10)])
    fasta_dataset(tmp_path / "c.h5", [pos, neg, third])
    got = _all(load_dataset(tmp_path / "c.h5"))
    np.testing.assert_array_equal(got["o3"][1], [0, 0, 1])
    with pytest.raises(ParameterError, match="no labels"):
        fasta_dataset(tmp_path / "x.h5", [pos])


def test_lengths_crop_pad_or_refuse(tmp_path):
    fa = _fasta(tmp_path / "r.fa", [("a", "ACGTACGTAC"), ("b", "ACG"), ("c", "GGGGGGGG")])
    table = tmp_path / "l.csv"
    table.write_text("name,y\na,1\nb,0\nc,1\n")
    with pytest.raises(SequenceError, match=r"r.fa, line 3: record 'b' has length 3, but the first record "
                                            r"has length 10; give --length"):
        fasta_dataset(tmp_path / "x.h5", [fa], labels=table)
    fasta_dataset(tmp_path / "l.h5", [fa], labels=table, length=6, valid_fraction=0, test_fraction=0.3)
    got = _all(load_dataset(tmp_path / "l.h5"))
    np.testing.assert_array_equal(got["a"][0], one_hot_str("GTACGT"))  # cut 2 left, 2 right
    np.testing.assert_array_equal(got["b"][0], one_hot_str("NACGNN"))  # pad 1 left, 2 right
    np.testing.assert_array_equal(got["c"][0], one_hot_str("GGGGGG"))


def test_chromosome_split_from_record_names(tmp_path):
    recs = [(f"chr{c}:{i * 100}-{i * 100 + 8}", "ACGTACGT") for c in (1, 2, 8, 9) for i in range(5)]
    recs[0] = ("peak1::chr1:0-8(+)", "ACGTACGT")
    fa = _fasta(tmp_path / "g.fa", recs)
    table = tmp_path / "l.csv"
    table.write_text("name,y\n" + "".join(f"{n},{k % 2}\n" for k, (n, _) in enumerate(recs)))
    fasta_dataset(tmp_path / "d.h5", [fa], labels=table, split="chrom")
    ds = load_dataset(tmp_path / "d.h5")
    assert all("chr8:" in n.decode() for n in ds.extras["names_valid"])
    assert all("chr9:" in n.decode() for n in ds.extras["names_test"]) and len(ds.test) == 5
    assert len(ds.train) == 10
    bad = _fasta(tmp_path / "b.fa", [("seq1", "ACGT")] * 1)
    (tmp_path / "b.csv").write_text("name,y\nseq1,1\n")
    with pytest.raises(FormatError, match=r"b.fa, line 1: record name 'seq1' is not chrom:start-end"):
        fasta_dataset(tmp_path / "x.h5", [bad], labels=tmp_path / "b.csv", split="chrom")


def test_invalid_letters_leave_nothing(tmp_path):
    fa = _fasta(tmp_path / "s.fa", [(f"s{i}", "ACGT") for i in range(5)] + [("bad", "AC!T")])
    table = tmp_path / "l.csv"
    table.write_text("name,y\n" + "".join(f"s{i},1\n" for i in range(5)) + "bad,0\n")
    with pytest.raises(SequenceError, match=r"invalid character '!' in .*s.fa: record 'bad', position 3"):
        fasta_dataset(tmp_path / "x.h5", [fa], labels=table)
    assert not list(tmp_path.glob("*.h5")) and not list(tmp_path.glob(".*tmp"))
