"""HHblits/HHfilter and ColabFold A3M files, the input of coupling analyses: a ``#`` first line and
HH-suite's annotation records are not sequences."""

import gzip

import pytest

from seqlens.io.msa import read_msa
from seqlens.msa import Alignment

# an HHblits -oa3m file with -addss: '#' line, secondary-structure rows, a consensus row, then the
# query and its hits (lowercase = insertions, '-' = deletions)
HHBLITS = """#5 1
>ss_pred PSIPRED predicted secondary structure
CHHHC
>ss_conf PSIPRED confidence values
97789
>query_consensus
MKVLA
>query/1-5
MKVLA
>hit1 some description
MKiVLA
>hit2
-KV-A
"""


@pytest.mark.parametrize("name", ["hh.a3m", "hh.a3m.gz", "hh.msa"])
def test_hhblits_a3m_header_and_annotations(tmp_path, name):
    path = tmp_path / name
    (gzip.open if name.endswith(".gz") else open)(path, "wt").write(HHBLITS)
    names, rows = read_msa(path)
    assert names == ["query/1-5", "hit1", "hit2"]
    assert rows == ["MKVLA", "MKVLA", "-KV-A"]
    msa = Alignment.read(path, focus=True)
    assert msa.focus == "query/1-5" and msa.focus_sequence() == "MKVLA"
    assert msa.columns["residue"].tolist() == [1, 2, 3, 4, 5]


def test_colabfold_a3m_tab_header(tmp_path):
    path = tmp_path / "cf.a3m"
    path.write_text("#4\t1\n>101\nMKVL\n>UniRef100_X\nMKaVL\n")
    assert read_msa(path) == (["101", "UniRef100_X"], ["MKVL", "MKVL"])


def test_fasta_keeps_records_named_like_annotations(tmp_path):
    path = tmp_path / "plain.fasta"
    path.write_text(">ss_pred\nMKVL\n>s2\nMKVL\n")
    assert read_msa(path)[0] == ["ss_pred", "s2"]  # only A2M/A3M carry HH-suite annotations
