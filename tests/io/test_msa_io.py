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


@pytest.mark.parametrize("name, text, message", [
    ("g.fasta", ">a\n---\n>b\n-.-\n", "alignment of 2 records has only gaps"),
    ("g.a2m", ">a\nA-\n>b\n--\n", None),  # one row of gaps is fine
    ("d.a2m", ">a\n...\n>b\n...\n", "record 'a' has no match columns"),
    ("l.a2m", ">a\nacd\n>b\nacd\n", "record 'a' has no match columns"),
    ("l.a3m", ">a\nacd\n>b\nac\n", "record 'a' has no match columns"),
    ("z.sto", "# STOCKHOLM 1.0\n#=GF ID x\n//\n", r"no sequences found \(empty stockholm alignment\)"),
    ("z.fasta", ";only a comment\n\n", r"no sequences found \(empty fasta alignment\)"),
])
def test_alignments_without_content(tmp_path, name, text, message):
    p = write(tmp_path, name, text)
    if message is None:
        assert read_msa(p)[1] == ["A-", "--"]
        return
    with pytest.raises(FormatError, match=message) as info:
        read_msa(p)
    assert str(p) in str(info.value)


def test_a2m_without_match_columns_refused_with_insertions_kept(tmp_path):
    p = write(tmp_path, "l.a2m", ">a\nacd\n>b\nac.\n")
    with pytest.raises(FormatError, match="l.a2m: record 'a' has no match columns"):
        read_msa(p, keep_insertions=True)


def test_unknown_format_and_a3m_insertions(tmp_path):
    p = write(tmp_path, "a.fasta", ">a\nAC\n")
    with pytest.raises(FormatError, match=r"a.fasta: unknown alignment format 'bogus'; choose one of fasta"):
        read_msa(p, format="bogus")
    with pytest.raises(FormatError, match="a.fasta: keep_insertions is not possible for A3M"):
        read_msa(p, format="a3m", keep_insertions=True)


def test_hhblits_a3m_comment_line(tmp_path):
    text = "#171 1\n>q\nMKVL\n>s\nMkkKVL\n"
    assert read_msa(write(tmp_path, "h.a3m", text)) == (["q", "s"], ["MKVL", "MKVL"])
    noext = write(tmp_path, "h.msa", text)  # sniffed: '#' line then a header
    assert guess_format(noext) == "a3m" and read_msa(noext)[1] == ["MKVL", "MKVL"]
    with pytest.raises(FormatError, match="h.fasta, line 1: sequence data before the first"):
        read_msa(write(tmp_path, "h.fasta", text))  # only A3M has the convention


def test_binary_and_broken_gzip_alignments(tmp_path):
    p = tmp_path / "b.a3m"
    p.write_bytes(b">q\nMK\x80VL\n")
    with pytest.raises(FormatError, match=r"b.a3m: not a text file \(byte 0x80 at offset 5 is not UTF-8\)"):
        read_msa(p)
    g = tmp_path / "t.sto.gz"
    g.write_bytes(gzip.compress(b"# STOCKHOLM 1.0\ns1 AC\ns2 AD\n//\n")[:-6])
    with pytest.raises(FormatError, match="t.sto.gz: corrupt or truncated gzip file"):
        read_msa(g)
    hidden = tmp_path / "x.sto"
    hidden.write_bytes(gzip.compress(b"# STOCKHOLM 1.0\ns1 AC\ns2 A.\n//\n"))
    assert read_msa(hidden) == (["s1", "s2"], ["AC", "A-"])


def test_unpadded_a2m_names_the_fix(tmp_path):
    p = tmp_path / "u.a2m"
    p.write_text(">focus\nACDabcEF\n>s0\nACDEF\n")
    message = r"5 columns with insertions, the first record .focus. has 8.*padded with '\.'.*\.a3m suffix"
    with pytest.raises(FormatError, match=message):
        read_msa(p, keep_insertions=True)
    assert read_msa(p)[1] == ["ACDEF", "ACDEF"]
