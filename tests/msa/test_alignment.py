import numpy as np
import pytest

from seqlens.errors import SequenceError
from seqlens.msa import Alignment
from seqlens.msa.weights import neighbour_counts, neighbour_counts_reference


def test_dhfr_focus_numbering(dhfr):
    assert dhfr.length == 159
    cols = dhfr.columns
    assert cols["residue"].tolist() == list(range(1, 160))
    assert cols["alignment_column"].iloc[0] == 1 and cols["alignment_column"].iloc[-1] == 171
    assert dhfr.focus_sequence().startswith("MISLIAALAVDRVIGMENAMPWNLPADLAWFKRNTLNKPVIMGRHTWESIGRPLPGR")
    assert dhfr.focus == "DYR_ECOLI/1-159" and dhfr.focus_index == 0


def test_dhfr_invalid_sequences_reported(dhfr):
    assert dhfr.n_records == 3629 and dhfr.n_sequences == 3616
    assert len(dhfr.dropped) == 13
    assert all("invalid character 'X'" in r for r in dhfr.dropped["reason"])


def test_dhfr_weights_reproduce_plmc(dhfr, data_dir):
    ref = np.loadtxt(data_dir / "DHFR_weights_raw.txt")
    w = dhfr.weights_full(0.8)
    assert np.abs(w - ref).max() < 1e-6
    assert dhfr.neff() == pytest.approx(1568.104282573092, abs=1e-6)


def test_weights_match_reference_on_random_rows():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 21, size=(5, 37))
    X = np.repeat(base, 30, axis=0)
    flip = rng.random(X.shape) < rng.uniform(0, 0.4, size=(len(X), 1))
    X[flip] = rng.integers(0, 21, size=flip.sum())
    for identity in (0.5, 0.8, 0.9, 1.0):
        assert (neighbour_counts(X.astype(np.uint8), identity)
                == neighbour_counts_reference(X, identity)).all()


def test_focus_by_prefix_with_region_start_and_lowercase(tmp_path):
    p = tmp_path / "a.a2m"
    p.write_text(">other\nAC-DEF\n>Q1/10-14\nA-cDEF\n")
    msa = Alignment.read(p, focus="Q1")
    # focus columns: uppercase, non-gap in Q1 -> 1, 4, 5, 6; residues 10, (11 lowercase c), 12..
    assert msa.columns["alignment_column"].tolist() == [1, 4, 5, 6]
    assert msa.columns["residue"].tolist() == [10, 12, 13, 14]
    assert msa.rows() == ["ADEF", "ADEF"]


def test_ambiguous_focus_prefix_is_refused_with_the_candidates(tmp_path):
    p = tmp_path / "a.fasta"
    p.write_text(">DLG4_RAT/65-149\nACDE\n>x\nACDF\n>DLG4_RAT/313-391\nACDG\n")
    with pytest.raises(SequenceError, match=r"focus 'DLG4_RAT' is ambiguous: 2 records start with "
                                            r"it \('DLG4_RAT/65-149', 'DLG4_RAT/313-391'\)"):
        Alignment.read(p, focus="DLG4_RAT")
    assert Alignment.read(p, focus="DLG4_RAT/313-391").focus_index == 2  # full name
    assert Alignment.read(p, focus="DLG4_RAT/3").focus == "DLG4_RAT/313-391"  # unique prefix
    from seqlens.cli import main

    assert main(["msa", "fit", "--msa", str(p), "--focus", "DLG4_RAT", "--model", "pssm",
                 "--out", str(tmp_path / "m")]) == 2
    assert not (tmp_path / "m").exists()


def test_invalid_error_mode_names_record_and_column(tmp_path):
    p = tmp_path / "a.fasta"
    p.write_text(">s1\nACDE\n>s2\nACZE\n")
    with pytest.raises(SequenceError, match=r"record 's2'.*'Z' at alignment column 3"):
        Alignment.read(p, invalid="error")
    msa = Alignment.read(p)
    assert msa.names == ["s1"] and msa.dropped["name"].tolist() == ["s2"]


def test_filters(tmp_path):
    p = tmp_path / "a.fasta"
    p.write_text(">f\nACDEFG\n>gappy\nA-----\n>half\n---EFG\n>ok\nACDEF-\n")
    msa = Alignment.read(p, focus=True, max_gap_fraction_sequence=0.6)
    assert msa.names == ["f", "half", "ok"]
    assert "gap fraction" in msa.dropped["reason"].iloc[0]
    msa = Alignment.read(p, focus=True, min_focus_coverage=0.6, max_gap_fraction_column=0.4)
    assert msa.names == ["f", "ok"]
    assert msa.length == 5  # column 6 is half gaps among the kept rows
    msa = Alignment.read(p, max_gap_fraction_column=0.4)
    assert msa.length == 3  # columns 4-6 have <= 1/4 gaps; 1 has 1/4 too
    assert msa.columns["alignment_column"].tolist()[-2:] == [4, 5]


def test_rna_alphabet_and_t_as_u(tmp_path):
    p = tmp_path / "r.fasta"
    p.write_text(">a\nACGU-\n>b\nACGT.\n")
    msa = Alignment.read(p, alphabet="rna")
    assert msa.q == 5
    assert msa.rows() == ["ACGU-", "ACGU-"]
