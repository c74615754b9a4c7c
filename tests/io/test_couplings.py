"""Coupling files of plmc, CCMpred and EVcouplings: fixtures written by hand from each format's
documented layout, read, written back and compared."""

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlens.errors import FormatError
from seqlens.io.couplings import (
    PlmcParams,
    plmc_params_from_potts,
    read_ccmpred_mat,
    read_evcouplings_csv,
    read_plmc_couplings,
    read_plmc_params,
    renumber,
    write_ccmpred_mat,
    write_evcouplings_csv,
    write_plmc_couplings,
    write_plmc_params,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "msa"


def _plmc_bytes(fmt="f"):
    """A plmc -o file of L=3 columns, Q=2 states, 2 valid + 1 skipped sequences, laid out item by
    item as OutputParametersFull in plmc's src/plm.c writes it (the numbered comments there)."""
    L, Q = 3, 2
    out = struct.pack("<5i", L, Q, 2, 1, 25)                   # 1-5: L, Q, nSeqs, nSkipped, maxIter
    out += struct.pack(f"<5{fmt}", 0.2, 0.01, 16.0, 0.0, 1.5)  # 6-10: theta, lh, le, lg, nEff
    out += b"-A"                                               # 11: alphabet
    out += struct.pack(f"<3{fmt}", 1.0, 0.0, 2.0)              # 12: neighbours (0 = skipped)
    out += b"A-A"                                              # 13: focus sequence
    out += struct.pack("<3i", 5, 7, 8)                         # 14: offsets
    fi = [0.25, 0.75, 0.5, 0.5, 0.0, 1.0]
    out += struct.pack(f"<6{fmt}", *fi)                        # 15: fi (site-major)
    h = [0.1, -0.1, 0.2, -0.2, 0.3, -0.3]
    out += struct.pack(f"<6{fmt}", *h)                         # 16: hi
    # 17: fij and 18: eij, pairs (0,1), (0,2), (1,2), each a 2 x 2 block [ai][aj]
    fij = [0.1, 0.15, 0.4, 0.35, 0.0, 0.25, 0.0, 0.75, 0.0, 0.5, 0.0, 0.5]
    out += struct.pack(f"<12{fmt}", *fij)
    eij = [1.0, 2.0, 3.0, 4.0, 0.5, -0.5, 0.25, 0.0, -1.0, 0.0, 0.0, 1.5]
    out += struct.pack(f"<12{fmt}", *eij)
    return out


def test_plmc_params_layout_by_hand(tmp_path):
    path = tmp_path / "toy.params"
    path.write_bytes(_plmc_bytes())
    p = read_plmc_params(path)
    assert (p.length, p.q, p.alphabet, p.focus_sequence) == (3, 2, "-A", "A-A")
    assert (p.n_sequences, p.n_skipped, p.n_iter) == (2, 1, 25)
    assert p.theta == pytest.approx(0.2) and p.lambda_J == 16.0 and p.neff == 1.5
    np.testing.assert_array_equal(p.positions, [5, 7, 8])
    np.testing.assert_array_equal(p.n_neighbors, [1.0, 0.0, 2.0])
    np.testing.assert_allclose(p.h, [[0.1, -0.1], [0.2, -0.2], [0.3, -0.3]], rtol=1e-6)
    # J[i, a, j, b]: the block of pair (0, 1) is [[1, 2], [3, 4]]; symmetric; zero diagonal
    assert p.J[0, 1, 1, 0] == 3.0 and p.J[1, 0, 0, 1] == 3.0 and p.J[0, 0, 1, 1] == 2.0
    assert p.J[1, 1, 2, 1] == 1.5 and p.J[2, 1, 1, 1] == 1.5 and p.J[0, 0, 2, 1] == -0.5
    assert not p.J[np.arange(3), :, np.arange(3), :].any()
    assert p.fij[0, 1, 1, 0] == pytest.approx(0.4) and p.fij[2, 1, 2, 1] == 1.0  # diag = fi
    # the writer reproduces the file byte for byte
    write_plmc_params(tmp_path / "back.params", p)
    assert (tmp_path / "back.params").read_bytes() == path.read_bytes()


def test_plmc_params_float64_and_damage(tmp_path):
    wide = tmp_path / "wide.params"
    wide.write_bytes(_plmc_bytes("d"))
    p = read_plmc_params(wide)
    assert p.J[0, 1, 1, 1] == 4.0 and p.neff == 1.5
    cut = tmp_path / "cut.params"
    cut.write_bytes(_plmc_bytes()[:-3])
    with pytest.raises(FormatError, match=r"cut.params: .* bytes, but a plmc parameter file with L=3"):
        read_plmc_params(cut)
    junk = tmp_path / "junk.params"
    junk.write_bytes(b"\xff" * 64)
    with pytest.raises(FormatError, match="not a plmc parameter file"):
        read_plmc_params(junk)


def test_plmc_params_round_trip_random(tmp_path):
    rng = np.random.default_rng(0)
    L, Q = 5, 4
    J = rng.normal(size=(L, Q, L, Q)).astype(np.float32)
    J = J + J.transpose(2, 3, 0, 1)
    J[np.arange(L), :, np.arange(L), :] = 0
    fi = rng.dirichlet(np.ones(Q), L).astype(np.float32)
    fij = np.einsum("ia,jb->iajb", fi, fi)
    fij[np.arange(L), :, np.arange(L), :] = np.stack([np.diag(f) for f in fi])
    p = PlmcParams(h=rng.normal(size=(L, Q)).astype(np.float32), J=J, alphabet="ACGU",
                   focus_sequence="ACGUA", positions=np.arange(10, 15), fi=fi, fij=fij,
                   n_neighbors=np.array([1, 2, 3], np.float32), n_sequences=3, neff=2.5)
    back = read_plmc_params(write_plmc_params(tmp_path / "r.params", p))
    for name in ("h", "J", "fi", "positions", "n_neighbors"):
        np.testing.assert_array_equal(getattr(back, name), getattr(p, name))
    np.testing.assert_allclose(back.fij, fij, rtol=1e-6)
    with pytest.raises(FormatError, match="J has shape"):
        write_plmc_params(tmp_path / "bad.params", PlmcParams(**{**p.__dict__, "J": J[:, :2]}))


def test_plmc_params_from_potts_reorders_gap_first():
    from types import SimpleNamespace

    from seqlens.msa import Alignment
    from seqlens.msa.alignment import msa_alphabet
    from seqlens.msa.stats import frequencies

    msa = Alignment.from_rows(["ACD-", "ACE-", "AC-D", "GCDD"], focus=True)
    rng = np.random.default_rng(1)
    L, Q = msa.length, msa.q
    J = rng.normal(size=(L, Q, L, Q))
    model = SimpleNamespace(h_=rng.normal(size=(L, Q)), J_=J + J.transpose(2, 3, 0, 1), Q_=Q,
                            alphabet_=msa_alphabet("protein"), columns_=msa.columns, lambda_h=0.01,
                            lambda_J_=16.0, identity=0.8, neff_=4.0, n_iter_=7)
    fi, fij = frequencies(msa, identity=None)  # unweighted: each sequence counts 1
    p = plmc_params_from_potts(model, fi, fij, positions=msa.columns["alignment_column"],
                               n_neighbors=np.ones(4))
    assert p.alphabet == "-ACDEFGHIKLMNPQRSTVWY" and p.q == 21
    assert p.focus_sequence == "ACD" and p.n_sequences == 4 and p.n_iter == 7
    assert p.theta == pytest.approx(0.2) and p.lambda_J == 16.0
    # state k of plmc is state k - 1 of the model; the gap (last) moves to the front
    np.testing.assert_array_equal(p.h[:, 1:], model.h_[:, :-1])
    np.testing.assert_array_equal(p.h[:, 0], model.h_[:, -1])
    np.testing.assert_array_equal(p.J[0, 1:, 1, 0], model.J_[0, :-1, 1, -1])
    assert p.fi[2, 0] == pytest.approx(fi[2, -1]) == pytest.approx(0.25)  # gap frequency, column 3
    np.testing.assert_allclose(p.fi.sum(1), 1.0, rtol=1e-6)
    # a model that ignores gaps (Q = 20): no gap state, frequencies conditioned on residues
    model.Q_, model.h_, model.J_ = Q - 1, model.h_[:, :-1], model.J_[:, :-1, :, :-1]
    p = plmc_params_from_potts(model, fi, fij, positions=[1, 2, 3])
    assert p.alphabet == "ACDEFGHIKLMNPQRSTVWY" and p.n_sequences == 0
    np.testing.assert_allclose(p.fi.sum(1), 1.0, rtol=1e-6)
    assert p.fi[2, 2] == pytest.approx(fi[2, 2] / (1 - fi[2, -1]))  # D in column 3, among residues


def test_plmc_couplings_by_hand_and_round_trip(tmp_path):
    path = tmp_path / "toy.couplings"
    # OutputCouplingScores prints "%d %c %d %c 0 %f\n" per pair i < j (focus mode)
    path.write_text("5 A 7 - 0 0.125000\n5 A 8 A 0 -0.500000\n7 - 8 A 0 2.000000\n")
    t = read_plmc_couplings(path)
    assert list(t.columns) == ["i", "A_i", "j", "A_j", "score"]
    assert t.iloc[0].tolist() == [7, "-", 8, "A", 2.0]  # ranked by score
    assert t["score"].tolist() == [2.0, 0.125, -0.5]
    back = write_plmc_couplings(tmp_path / "back.couplings", t)
    assert back.read_text() == path.read_text()
    (tmp_path / "bad.couplings").write_text("5 A 7 - 0 0.1\n5 A 8 A 0\n")
    with pytest.raises(FormatError, match=r"bad.couplings, line 2: expected 6 fields"):
        read_plmc_couplings(tmp_path / "bad.couplings")
    (tmp_path / "nan.couplings").write_text("5 A 7 - 0 nan\n")
    with pytest.raises(FormatError, match="line 1: score 'nan' is not finite"):
        read_plmc_couplings(tmp_path / "nan.couplings")


def test_dhfr_plmc_couplings_known_values():
    """plmc's own output for DHFR (tests/DHFR.couplings of debbiemarkslab/plmc)."""
    path = DATA / "DHFR.couplings"
    if not path.exists():
        pytest.skip("../shared/data/msa/DHFR.couplings not available")
    t = read_plmc_couplings(path)
    assert len(t) == 159 * 158 // 2
    top = t.iloc[0]
    assert (top["i"], top["A_i"], top["j"], top["A_j"]) == (13, "V", 133, "G")
    assert top["score"] == pytest.approx(1.517354)
    first = t[(t["i"] == 1) & (t["j"] == 2)].iloc[0]
    assert (first["A_i"], first["A_j"], first["score"]) == ("M", "I", pytest.approx(0.275207))
    # plmc numbers by alignment column: mapped to residues through the alignment, the top two
    # pairs are EVcouplings' (13 V - 121 G, 58 K - 73 T: DHFR_distances_longrange.csv)
    from seqlens.msa import Alignment

    msa = Alignment.read(DATA / "DHFR.a2m", focus=True)
    res = renumber(t.head(2), msa.columns["alignment_column"], msa.columns["residue"], str(path))
    assert res[["i", "j"]].to_numpy().tolist() == [[13, 121], [58, 73]]


def test_renumber_refuses_unknown_positions():
    t = pd.DataFrame({"i": [1, 2], "A_i": ["A", "C"], "j": [3, 9], "A_j": ["D", "E"], "score": [1.0, 0.5]})
    out = renumber(t.head(1), [1, 2, 3], [11, 12, 13])
    assert out[["i", "j"]].iloc[0].tolist() == [11, 13]
    with pytest.raises(FormatError, match="x.couplings: position 9 .column j. is not among the 3"):
        renumber(t, [1, 2, 3], [11, 12, 13], "x.couplings")


def test_ccmpred_mat_by_hand_and_round_trip(tmp_path):
    path = tmp_path / "toy.mat"
    # CCMpred's write_matrix: "%.20e\t" per value, a newline per row; then the META line
    path.write_text("0.00000000000000000000e+00\t1.50000000000000000000e+00\t2.5e-01\t\n"
                    "1.50000000000000000000e+00\t0.00000000000000000000e+00\t-3.0e-01\t\n"
                    "2.50000000000000000000e-01\t-3.00000000000000000000e-01\t0.0e+00\t\n"
                    '#>META> {"version": "0.3.2", "workflow": [{"apc": true}]}')
    S, meta = read_ccmpred_mat(path)
    np.testing.assert_array_equal(S, [[0, 1.5, 0.25], [1.5, 0, -0.3], [0.25, -0.3, 0]])
    assert meta["version"] == "0.3.2"
    S2, meta2 = read_ccmpred_mat(write_ccmpred_mat(tmp_path / "back.mat", S, meta))
    np.testing.assert_array_equal(S2, S)
    assert meta2 == meta
    assert np.loadtxt(tmp_path / "back.mat").shape == (3, 3)  # what CCMpred's own scripts do
    (tmp_path / "ragged.mat").write_text("0 1 2\n1 0\n")
    with pytest.raises(FormatError, match=r"ragged.mat, line 2: 2 values, the first row has 3"):
        read_ccmpred_mat(tmp_path / "ragged.mat")


def test_evcouplings_csv_by_hand_and_round_trip(tmp_path):
    path = tmp_path / "toy_CouplingScores.csv"
    path.write_text("i,A_i,j,A_j,fn,cn,segment_i,segment_j\n"
                    "13,V,121,G,0.9,2.514777,A_1,A_1\n"
                    "58,K,73,T,0.8,2.418119,A_1,A_1\n"
                    "4,L,9,A,0.1,-0.2,A_1,A_1\n")
    t = read_evcouplings_csv(path)
    assert t["score"].tolist() == [2.514777, 2.418119, -0.2]
    assert t.iloc[0][["i", "A_i", "j", "A_j"]].tolist() == [13, "V", 121, "G"]
    assert t["segment_i"].iloc[0] == "A_1"
    back = read_evcouplings_csv(write_evcouplings_csv(tmp_path / "back.csv", t))
    assert list(pd.read_csv(tmp_path / "back.csv").columns) == ["i", "A_i", "j", "A_j", "fn", "cn"]
    cols = ["i", "j", "fn", "cn"]
    np.testing.assert_array_equal(back[cols].to_numpy(), t[cols].to_numpy())
    (tmp_path / "bad.csv").write_text("i,A_i,j,A_j,cn\n1.5,A,3,C,0.2\n")
    with pytest.raises(FormatError, match=r"bad.csv, line 2: i = '1.5' is not an integer"):
        read_evcouplings_csv(tmp_path / "bad.csv")
    (tmp_path / "nocn.csv").write_text("i,A_i,j,A_j,fn\n1,A,3,C,0.2\n")
    with pytest.raises(FormatError, match=r"missing column\(s\) \['cn'\]"):
        read_evcouplings_csv(tmp_path / "nocn.csv")


def test_evcouplings_csv_of_shared_data():
    path = DATA / "DHFR_distances_longrange.csv"
    if not path.exists():
        pytest.skip("../shared/data/msa/DHFR_distances_longrange.csv not available")
    t = read_evcouplings_csv(path)
    assert t.iloc[0][["i", "j"]].tolist() == [13, 121] and t["score"].iloc[0] == pytest.approx(2.514777)
