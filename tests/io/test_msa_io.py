import gzip

import pytest

from seqlens.errors import FormatError
from seqlens.io.msa import guess_format, read_msa


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_fasta_multiline_and_names(tmp_path):
    p = write(tmp_path, "a.fasta", ">s1 desc\nAC-D\nEF\n>s2\nACGDE-\n")
    names, rows = read_msa(p)
    assert names == ["s1", "s2"]
    assert rows == ["AC-DEF", "ACGDE-"]


def test_a2m_drops_insertions_and_dots(tmp_path):
    p = write(tmp_path, "a.a2m", ">q\nAC..DE\n>s\nAcgDE-\n>t\nA-..D.E\n")
    # t has an extra '.', still 4 match columns after dropping
    names, rows = read_msa(p)
    assert rows == ["ACDE", "ADE-", "A-DE"]
    raw = read_msa(write(tmp_path, "b.a2m", ">q\nAC..DE\n>s\nAcgDE-\n"), keep_insertions=True)[1]
    assert raw == ["AC..DE", "AcgDE-"]


def test_a3m_ragged_raw_rows_equal_after_drop(tmp_path):
    p = write(tmp_path, "a.a3m", ">q\nMKV-L\n>s\nMkkKVAL\n>t\nM-VaaaAL\n")
    names, rows = read_msa(p)
    assert rows == ["MKV-L", "MKVAL", "M-VAL"]
    with pytest.raises(ValueError, match="A3M"):
        read_msa(p, keep_insertions=True)


def test_a3m_ragged_match_columns_error_names_record(tmp_path):
    p = write(tmp_path, "a.a3m", ">q\nMKVL\n>bad\nMKV\n")
    with pytest.raises(FormatError, match="'bad' has 3 match columns"):
        read_msa(p)


def test_stockholm_interleaved_markup_and_dots(tmp_path):
    text = ("# STOCKHOLM 1.0\n#=GF ID test\n\ns1   AC.D\ns2   A-GD\n#=GC SS_cons ....\n\n"
            "s1   EF\ns2   E.\n//\n")
    p = write(tmp_path, "a.sto", text)
    assert guess_format(p) == "stockholm"
    names, rows = read_msa(p)
    assert names == ["s1", "s2"]
    assert rows == ["AC-DEF", "A-GDE-"]


def test_stockholm_requires_header(tmp_path):
    p = write(tmp_path, "a.sto", "s1 ACD\n//\n")
    with pytest.raises(FormatError, match="STOCKHOLM"):
        read_msa(p)


def test_plain_and_gzip(tmp_path):
    p = tmp_path / "a.txt.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("ACD\n\nA-D\n")
    names, rows = read_msa(p)
    assert names == ["seq1", "seq2"] and rows == ["ACD", "A-D"]


def test_errors_empty_duplicate_ragged(tmp_path):
    with pytest.raises(FormatError, match="no sequences"):
        read_msa(write(tmp_path, "e.fasta", "\n"))
    with pytest.raises(FormatError, match="duplicate record name 's1'"):
        read_msa(write(tmp_path, "d.fasta", ">s1\nAC\n>s1\nAD\n"))
    with pytest.raises(FormatError, match="record 's2' has 3 columns"):
        read_msa(write(tmp_path, "r.fasta", ">s1\nAC\n>s2\nADE\n"))
    with pytest.raises(FormatError, match="before the first"):
        read_msa(write(tmp_path, "n.fasta", "ACD\n>s1\nAC\n"))
    with pytest.raises(FormatError, match="'s2' has no sequence"):
        read_msa(write(tmp_path, "m.fasta", ">s1\nAC\n>s2\n"))
