import gzip

import numpy as np
import pytest

from seqlens.errors import FormatError, SequenceError
from seqlens.io.fasta import iter_fasta, read_fasta, read_fasta_onehot, write_fasta
from seqlens.io.tables import read_table


def test_multiline_records_comments_and_gzip(tmp_path):
    text = ">a desc\nACGT\nac gt\n;comment\n\n>b\nTTTT\r\nGGGG\n"
    p = tmp_path / "x.fa"
    p.write_text(text)
    assert read_fasta(p) == (["a", "b"], ["ACGTacgt", "TTTTGGGG"])
    assert next(iter_fasta(p, full_header=True))[0] == "a desc"
    gz = tmp_path / "x.fa.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(text)
    assert read_fasta(gz) == read_fasta(p)


def test_write_read_round_trip(tmp_path):
    recs = [("s1", "A" * 150), ("s2", "CGT")]
    p = write_fasta(tmp_path / "o.fa", recs, line_width=60)
    assert max(len(line) for line in p.read_text().splitlines()) == 60
    names, seqs = read_fasta(p)
    assert list(zip(names, seqs)) == recs


def test_fasta_errors(tmp_path):
    p = tmp_path / "bad.fa"
    p.write_text("ACGT\n>a\nAC\n")
    with pytest.raises(FormatError, match="line 1"):
        read_fasta(p)
    p.write_text(">a\n>b\nAC\n")
    with pytest.raises(SequenceError, match="'a'.*empty sequence"):
        read_fasta(p)
    p.write_text("")
    with pytest.raises(FormatError, match="empty"):
        read_fasta(p)
    p.write_text(">a\nACGT\n>b\nACXT\n")
    with pytest.raises(SequenceError, match=r"bad.fa.*'b', position 3"):
        read_fasta_onehot(p)
    p.write_text(">a\nACGT\n>b\nACT\n")
    with pytest.raises(SequenceError, match="'b' has length 3"):
        read_fasta_onehot(p)


def test_read_table_csv_tsv_and_errors(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id,sequence,y1,y2\nx,ACGT,1,0.5\nz,TTGA,0,1.5\n")
    names, X, Y = read_table(p, name_column="id")
    assert names == ["x", "z"] and X.shape == (2, 4, 4)
    np.testing.assert_allclose(Y.to_numpy(), [[1, 0.5], [0, 1.5]])
    t = tmp_path / "t.tsv"
    t.write_text("sequence\ty\nACGT\t1\nACGA\tfoo\n")
    with pytest.raises(FormatError, match="'y' of record 'row 3'"):
        read_table(t, label_columns=["y"])
    with pytest.raises(FormatError, match="no column 'seq'"):
        read_table(p, sequence_column="seq")
    p.write_text("sequence,y\nACGT,1\n,0\n")
    with pytest.raises(SequenceError, match="row 3"):
        read_table(p)
