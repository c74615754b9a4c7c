import numpy as np
import pytest

from seqlens.errors import FormatError
from seqlens.io.dms import read_dms


def test_deepsequence_layout(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("mutant,CRIPT,Tm2F\nP311A,0.1,0.2\nP311C,,0.3\nG312C:P311A,-0.5,1\n")
    df = read_dms(p, column="CRIPT")
    assert list(df["mutant"]) == ["P311A", "P311C", "G312C:P311A"]
    assert np.isnan(df["score"][1]) and df["score"][2] == -0.5
    assert list(df["row"]) == [2, 3, 4]
    assert df.attrs["column"] == "CRIPT"


def test_column_needed_when_ambiguous(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("mutant,CRIPT,Tm2F\nP311A,0.1,0.2\n")
    with pytest.raises(FormatError, match="CRIPT"):
        read_dms(p)
    with pytest.raises(FormatError, match="no column 'X'"):
        read_dms(p, column="X")


def test_proteingym_layout(tmp_path):
    p = tmp_path / "g.csv"
    p.write_text("mutant,mutated_sequence,DMS_score,DMS_score_bin\nA1C,CC,0.5,1\nA1D,DC,-1,0\n")
    df = read_dms(p)
    assert df.attrs["column"] == "DMS_score"
    assert list(df["mutated_sequence"]) == ["CC", "DC"]
    assert list(df["score"]) == [0.5, -1.0]


def test_bad_number_names_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("mutant,fit\nA1C,0.5\nA1D,abc\n")
    with pytest.raises(FormatError, match="line 3"):
        read_dms(p)


def test_missing_mutant_column(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("variant,fit\nA1C,0.5\n")
    with pytest.raises(FormatError, match="mutant"):
        read_dms(p)


def test_real_dlg4(shared_data):
    df = read_dms(shared_data / "dms" / "DLG4_RAT_Ranganathan2012.csv", column="CRIPT")
    assert len(df) == 1660 and df["mutant"][0] == "P311A"


@pytest.mark.parametrize("text, column, message", [
    ("", None, "d.csv: empty DMS table"),
    ("mutant,score\n", None, "d.csv: DMS table has a header but no rows"),
    ("mutant,a,b\nA1C,1,2\n", "zz", "d.csv: no column 'zz'; phenotype columns: 'a', 'b'"),
    ("mutant\nA1C\n", None, r"choose a phenotype column .*; candidates: \(none besides mutant\)"),
    ("mutant,score\nA1C,0.5\nA1D,high\n", None,
     r"line 3 \(mutant 'A1D'\), column 'score': not a finite number: 'high'"),
    ("mutant,score\nA1C,inf\n", None, r"line 2 \(mutant 'A1C'\), column 'score': not a finite number"),
    ("mutant,score\nA1C,1\nA1D,1,2,3\n", None, r"d.csv: cannot parse as a DMS table \(.*line 3"),
    ('"mut\nant",x\nA1C,1\n', None, r"no 'mutant' column \(columns: 'mut\\nant', 'x'\)"),
])
def test_bad_dms_tables(tmp_path, text, column, message):
    p = tmp_path / "d.csv"
    p.write_text(text)
    with pytest.raises(FormatError, match=message) as info:
        read_dms(p, column=column)
    assert "\n" not in str(info.value)


def test_binary_and_gzipped_dms(tmp_path):
    import gzip

    p = tmp_path / "d.csv"
    p.write_bytes(b"mutant,score\n\xfd\n")
    with pytest.raises(FormatError, match=r"d.csv: not a text file \(byte 0xfd at offset 13"):
        read_dms(p)
    g = tmp_path / "d.tsv.gz"
    g.write_bytes(gzip.compress(b"mutant\tscore\nA1C\t0.5\nA1D\t\n"))
    df = read_dms(g)
    assert df["mutant"].tolist() == ["A1C", "A1D"] and np.isnan(df["score"][1])
    g.write_bytes(gzip.compress(b"mutant\tscore\nA1C\t0.5\n")[:-5])
    with pytest.raises(FormatError, match="d.tsv.gz: corrupt or truncated gzip file"):
        read_dms(g)
