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


# ----------------------------------------------------------------------------- bad bytes


def test_binary_fasta_names_file_and_offset(tmp_path):
    p = tmp_path / "junk.fa"
    p.write_bytes(b"\xfd\x00\xffjunk")
    with pytest.raises(FormatError) as info:
        read_fasta(p)
    assert str(info.value) == f"{p}: not a text file (byte 0xfd at offset 0 is not UTF-8)"
    p.write_bytes(b">a\nAC\n>b\nA\xc3GT\n")  # the bad byte is on line 4, offset 10
    with pytest.raises(FormatError, match=r"junk.fa: not a text file \(byte 0xc3 at offset 10 "):
        read_fasta(p)
    p.write_bytes(b">a\nAC\x00GT\n")
    with pytest.raises(FormatError, match="byte 0x00 at offset 5 is a NUL"):
        read_fasta(p)


def test_gzip_found_by_magic_bytes_and_broken_gzip(tmp_path):
    gz = gzip.compress(b">a\nACGT\n>b\nACGA\n")
    hidden = tmp_path / "hidden.fa"  # gzipped, no .gz suffix
    hidden.write_bytes(gz)
    assert read_fasta(hidden) == (["a", "b"], ["ACGT", "ACGA"])
    plain = tmp_path / "plain.fa.gz"  # plain text named .gz
    plain.write_text(">a\nACGT\n")
    assert read_fasta(plain) == (["a"], ["ACGT"])
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes(gz[:-12])
    with pytest.raises(FormatError, match=r"cut.fa.gz: corrupt or truncated gzip file \(Compressed file "
                                          "ended"):
        read_fasta(cut)
    fake = tmp_path / "fake.fa.gz"
    fake.write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(FormatError, match="fake.fa.gz: corrupt or truncated gzip file"):
        read_fasta(fake)
    inner = tmp_path / "inner.fa.gz"
    inner.write_bytes(gzip.compress(b">a\n\xfe\n"))
    with pytest.raises(FormatError, match="byte 0xfe at offset 3 of the decompressed data is not UTF-8"):
        read_fasta(inner)


def test_utf8_bom_and_missing_file(tmp_path):
    p = tmp_path / "bom.fa"
    p.write_bytes(b"\xef\xbb\xbf>a\nACGT\n")
    assert read_fasta(p) == (["a"], ["ACGT"])
    with pytest.raises(FileNotFoundError, match="nope.fa: no such file"):
        read_fasta(tmp_path / "nope.fa")
    with pytest.raises(FormatError, match="is a folder"):
        read_fasta(tmp_path)


def test_duplicate_names_are_kept_with_one_warning(tmp_path):
    p = tmp_path / "dup.fa"
    p.write_text(">a\nAC\n>b x\nAC\n>a\nGG\n>b\nTT\n>c\nAA\n")
    with pytest.warns(UserWarning, match=r"dup.fa: 2 duplicate record name\(s\), first 'a' at line 5"):
        names, seqs = read_fasta(p)
    assert names == ["a", "b", "a", "b", "c"] and seqs[2] == "GG"


def test_read_table_bad_files(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"sequence,y\nAC\xffT,1\n")
    with pytest.raises(FormatError, match=r"t.csv: not a text file \(byte 0xff at offset 13"):
        read_table(p)
    p.write_text("")
    with pytest.raises(FormatError, match="t.csv: empty table"):
        read_table(p)
    p.write_text("sequence,y\n")
    with pytest.raises(FormatError, match="t.csv: table has a header but no rows"):
        read_table(p)
    p.write_text("sequence,y\nACGT,1\nACGT,1,2,3\n")
    with pytest.raises(FormatError, match=r"t.csv: cannot parse as a table \(.*line 3"):
        read_table(p)
    p.write_text("sequence,y\nACGT,1\nACGA,inf\n")
    with pytest.raises(FormatError, match="'y' of record 'row 3' is missing or not a finite number"):
        read_table(p)
    p.write_text("sequence,y\nACGT,1\nACGA,1e300\n")  # overflows float32
    with pytest.raises(FormatError, match="'y' of record 'row 3'"):
        read_table(p)


def test_read_table_gzipped_tsv(tmp_path):
    p = tmp_path / "t.tsv.gz"
    p.write_bytes(gzip.compress(b"sequence\ty\nACGT\t1\nACGA\t0\n"))
    names, X, Y = read_table(p)
    assert X.shape == (2, 4, 4) and Y["y"].tolist() == [1, 0]
