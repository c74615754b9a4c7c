import numpy as np
import pandas as pd
import pytest
import scipy.stats

from seqlens.errors import SequenceError
from seqlens.msa import PSSM, Alignment, Potts
from seqlens.msa.mutations import (
    Substitution,
    delta_energy,
    evaluate_dms,
    focus_residue_map,
    is_synonymous,
    map_mutants,
    mutation_effects,
    parse_mutant,
    rankdata,
    spearman,
    wildtype_from_mutants,
)


# ------------------------------------------------------------------ parsing
def test_parse_single_and_multi():
    assert parse_mutant("P311A") == (Substitution("P", 311, "A"),)
    assert parse_mutant("P311A:G312C") == (Substitution("P", 311, "A"), Substitution("G", 312, "C"))
    assert parse_mutant(" p311a , g312c ") == parse_mutant("P311A:G312C")
    assert parse_mutant("P311A;G312C") == parse_mutant("P311A+G312C")


@pytest.mark.parametrize("text", ["", "WT", "wt", "_wt", "wildtype", None])
def test_parse_wildtype(text):
    assert parse_mutant(text) == ()


def test_parse_hgvs_three_letter_and_stop():
    assert parse_mutant("p.Pro311Ala") == (Substitution("P", 311, "A"),)
    assert parse_mutant("Gly5=") == (Substitution("G", 5, "G"),)
    assert parse_mutant("W10*") == (Substitution("W", 10, "*"),)
    assert parse_mutant("A-3V") == (Substitution("A", -3, "V"),)


@pytest.mark.parametrize("bad", ["P311", "311A", "PA", "P311AA", "Xyz311Ala", "P31.1A"])
def test_parse_errors(bad):
    with pytest.raises(SequenceError, match="cannot parse"):
        parse_mutant(bad)


def test_same_position_twice_is_an_error():
    with pytest.raises(SequenceError, match="mutated twice"):
        parse_mutant("P311A:P311C")


def test_synonymous_and_wildtype_table():
    assert is_synonymous(parse_mutant("P311P"))
    assert not is_synonymous(parse_mutant("P311P:G312C"))
    assert not is_synonymous(())
    assert wildtype_from_mutants(["P311A", "G312C:P311D"]) == {311: "P", 312: "G"}
    with pytest.raises(SequenceError, match="disagree"):
        wildtype_from_mutants(["P311A", "G311C"])


# ------------------------------------------------------------------ numbering
def test_focus_residue_map_handles_missing_residues():
    ref = "MPRRIVIHRGSTGLGFNIVGGEDGEGIFISFILAGGPADLSGELRKGDQ"  # numbered from 1
    # focus row lost its first residue (P2) and the E at position 43 (an insertion in the HMM)
    focus = ref[2:42] + ref[43:]
    res = focus_residue_map(focus, ref, start=1)
    assert res[0] == 3 and res[39] == 42 and res[40] == 44 and res[-1] == len(ref)
    # a dict reference with holes works the same way
    d = {i + 1: c for i, c in enumerate(ref) if i % 7}
    assert np.array_equal(focus_residue_map(focus, d), res)


def test_map_mutants_statuses():
    residues = np.array([10, 11, 12, 14])
    mapped = map_mutants(["A10C", "A10C:G12D", "C10A", "A13C", "A10A", "WT", "A10B", "A10C:K14K"],
                         residues, "ACGK", "ACDEFGHIKLMNPQRSTVWY-")
    assert list(mapped["status"]) == ["ok", "ok", "wrong wild type", "outside", "synonymous",
                                      "wild type", "invalid letter", "ok"]
    assert mapped["columns"][1] == (0, 2) and mapped["codes"][1] == (1, 2)
    assert mapped["columns"][7] == (0,)
    assert "residue 13" in mapped["reason"][3] and "not C" in mapped["reason"][2]


# ------------------------------------------------------------------ scores
def _random_potts(L=6, Q=4, seed=0):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(L, Q))
    J = rng.normal(size=(L, Q, L, Q))
    J = 0.5 * (J + J.transpose(2, 3, 0, 1))
    for i in range(L):
        J[i, :, i, :] = 0
    return h, J


def _energy(h, J, x):
    L, Q = h.shape
    present = x < Q
    e = sum(h[i, x[i]] for i in range(L) if present[i])
    e += sum(J[i, x[i], j, x[j]] for i in range(L) for j in range(i + 1, L) if present[i] and present[j])
    return e


def test_delta_energy_equals_energy_difference():
    L, Q = 7, 4
    h, J = _random_potts(L, Q)
    rng = np.random.default_rng(1)
    wt = rng.integers(0, Q, L)
    wt[3] = Q  # a gap (not modelled) in the wild type
    cols, codes, full = [], [], []
    for _ in range(40):
        k = rng.choice(L, size=rng.integers(1, 5), replace=False)
        b = rng.integers(0, Q + 1, len(k))  # includes mutations to a gap
        x = wt.copy()
        x[k] = b
        cols.append(tuple(k))
        codes.append(tuple(b))
        full.append(_energy(h, J, x) - _energy(h, J, wt))
    np.testing.assert_allclose(delta_energy(h, J, wt, cols, codes), full, rtol=1e-10, atol=1e-10)


def _toy_alignment():
    rows = ["ACDEF", "ACDEY", "ACEEF", "GCDEF", "ACDKF", "AKDEF", "ACDEF", "TCDEW"]
    return Alignment.from_rows(rows, names=[f"s{i}/21-25" for i in range(len(rows))], focus=True)


def test_potts_mutation_effects_match_model_energy():
    msa = _toy_alignment()
    model = Potts(preset="plmc", lambda_J=0.5, max_iter=20, identity=None, n_threads=1).fit(msa)
    assert list(model.columns_["residue"]) == [21, 22, 23, 24, 25]
    res = mutation_effects(model, ["A21G", "A21G:E24K", "D23E:E24K:F25W", "A30C"])
    wt = model._code(["ACDEF"])
    mut = model._code(["GCDEF", "GCDKF", "ACEKW"])
    expect = model.energy(mut) - model.energy(wt)[0]
    np.testing.assert_allclose(res["score"][:3], expect, rtol=1e-5, atol=1e-5)
    assert np.isnan(res["score"][3]) and res["status"][3] == "outside"
    assert res.attrs["summary"]["n_skipped_outside"] == 1


def test_pssm_mutation_effects_are_log_ratios():
    msa = _toy_alignment()
    model = PSSM(identity=None).fit(msa)
    res = mutation_effects(model, ["A21G", "A21G:F25W"])
    lp = model.log_probs_
    G, A, W, F = (model.alphabet_.letters.index(c) for c in "GAWF")
    assert res["score"][0] == pytest.approx(lp[0, G] - lp[0, A])
    assert res["score"][1] == pytest.approx(lp[0, G] - lp[0, A] + lp[4, W] - lp[4, F])


# ------------------------------------------------------------------ evaluation
def test_rankdata_and_spearman_match_scipy():
    rng = np.random.default_rng(0)
    for n in (5, 50, 500):
        x = rng.integers(0, 10, n).astype(float)  # many ties
        y = x + rng.normal(size=n)
        np.testing.assert_allclose(rankdata(x), scipy.stats.rankdata(x))
        assert spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    x = np.array([1.0, np.nan, 3, 4, 5])
    y = np.array([2.0, 1, np.inf, 3, 1])
    assert spearman(x, y) == pytest.approx(scipy.stats.spearmanr([1, 4, 5], [2, 3, 1]).statistic)


def test_evaluate_dms_filters_and_realigns_numbering():
    msa = _toy_alignment()
    model = PSSM(identity=None).fit(msa)
    # the table numbers the same residues from 31 (header says 21): numbering must be re-derived
    table = pd.DataFrame({
        "mutant": ["A31G", "A31T", "D33E", "E34K", "F35Y", "F35W", "C32K", "A31A", "WT", "Q40A", "C32D"],
        "score": [0.1, 0.2, 0.3, 0.1, 0.9, 0.5, 0.4, 1.0, 1.0, 0.3, np.nan],
    })
    metrics, out = evaluate_dms(model, table)
    assert metrics["numbering"] == "align" and metrics["numbering_agreement"] == 1.0
    assert metrics["n_skipped_nan"] == 1 and metrics["n_skipped_synonymous"] == 1
    assert metrics["n_skipped_wildtype"] == 1 and metrics["n_skipped_outside"] == 1
    assert metrics["n_scored"] == 7
    ok = out["status"] == "ok"
    assert metrics["spearman"] == pytest.approx(
        scipy.stats.spearmanr(out["prediction"][ok], out["score"][ok]).statistic)
    m2, _ = evaluate_dms(model, table, numbering="header")
    assert m2["n_scored"] == 0 and m2["n_skipped_outside"] == 8


# ------------------------------------------------------------------ CLI round trip
def _cli_parser():
    import argparse

    from seqlens.cli.msa_models import register_msa_models

    parser = argparse.ArgumentParser(prog="seqlens msa")
    register_msa_models(parser.add_subparsers(dest="msa_command", required=True))
    return parser


def test_cli_fit_mutations_score_sample(tmp_path):
    import json

    rows = ["ACDEF", "ACDEY", "ACEEF", "GCDEF", "ACDKF", "AKDEF", "ACDEF", "TCDEW"]
    aln = tmp_path / "toy.fasta"
    aln.write_text("".join(f">s{i}/21-25\n{r}\n" for i, r in enumerate(rows)))
    dms = tmp_path / "dms.csv"
    dms.write_text("mutant,fit\nA21G,0.1\nA21T,0.3\nD23E,0.2\nF25W,0.5\nF25Y,0.4\nA21A,1\nQ40A,0.2\n")
    parser = _cli_parser()
    for name in ("pssm", "potts", "attention", "vae"):
        model_dir = tmp_path / name
        extra = ["--max-iter", "5", "--heads", "2", "--head-size", "2", "--threads", "1"]
        extra = [] if name == "pssm" else extra
        args = parser.parse_args(["fit", "--msa", str(aln), "--model", name, "--out", str(model_dir),
                                  "--quiet", *extra])
        assert args.func(args) == 0
        out = tmp_path / f"mut_{name}"
        args = parser.parse_args(["mutations", "--model", str(model_dir), "--dms", str(dms),
                                  "--out", str(out)])
        assert args.func(args) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["n_scored"] == 5 and metrics["n_skipped_synonymous"] == 1
        assert metrics["n_skipped_outside"] == 1 and -1 <= metrics["spearman"] <= 1
        assert (out / "scatter.png").stat().st_size > 0
        pred = pd.read_csv(out / "predictions.csv")
        assert list(pred["status"]).count("ok") == 5
    # a reloaded Potts gives the same effects as the CLI predictions
    from seqlens.msa.persist import load_msa_model

    m = load_msa_model(tmp_path / "potts")
    res = mutation_effects(m, ["A21G"])
    pred = pd.read_csv(tmp_path / "mut_potts" / "predictions.csv")
    assert res["score"][0] == pytest.approx(pred["prediction"][0], rel=1e-6)
    args = parser.parse_args(["score", "--model", str(tmp_path / "potts"), "--sequences", str(aln),
                              "--out", str(tmp_path / "scores")])
    assert args.func(args) == 0
    assert len(pd.read_csv(tmp_path / "scores" / "scores.csv")) == len(rows)
    fa = tmp_path / "samp" / "samples.fasta"
    args = parser.parse_args(["sample", "--model", str(tmp_path / "potts"), "--n", "30", "--out", str(fa),
                              "--burn-in", "5", "--thin", "1", "--msa", str(aln), "--fix", "22"])
    assert args.func(args) == 0
    seqs = [line for line in fa.read_text().splitlines() if not line.startswith(">")]
    assert len(seqs) == 30 and all(s[1] == "C" for s in seqs)
    metrics = json.loads((tmp_path / "samp" / "samples.fasta.metrics.json").read_text())
    assert sorted(p.name for p in fa.parent.iterdir()) == ["samples.fasta", "samples.fasta.metrics.json"]
    assert 0 <= metrics["mean_nearest_hamming"] <= 5


# ------------------------------------------------------------------ header numbering that is off
# residues 1..22; the focus row holds 4..10 and 12..18 (11 is missing) but its header says 3-16
_WT = "MKTAYIAKQRQISFVKSHFSRQ"


def _off_by_indel_alignment():
    focus = _WT[3:10] + _WT[11:18]
    rows = [focus, "AYIAKQRISFVKSH", "AWIAKQRVSFVKSH", "GYIAKERISYVKSH", "AYLAKQRISFVRSH",
            "AYIAKQKISFVKTH", "SYIAKQRISFIKSH"]
    names = ["WT/3-16"] + [f"h{i}/1-14" for i in range(1, len(rows))]
    return Alignment.from_rows(rows, names=names, focus=True)


def test_mutation_effects_realigns_to_the_wildtype_sequence():
    from seqlens.msa.mutations import resolve_numbering

    model = PSSM(identity=None).fit(_off_by_indel_alignment())
    assert list(model.columns_["residue"]) == list(range(3, 17))  # what the header claims
    residues, used, agree = resolve_numbering("".join(model.columns_["focus_letter"]),
                                              model.columns_["residue"], _WT, start=1)
    assert used == "align" and agree == 1.0
    assert list(residues) == [4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18]
    lp = model.log_probs_
    code = model.alphabet_.letters.index
    # Y5 is column 1, S13 column 8; Q11 is not in the alignment
    got = model.mutation_effects(["Y5A", "S13F:Y5A", "Q11A", "Y5Y"], wildtype=_WT)
    expect = [lp[1, code("A")] - lp[1, code("Y")],
              lp[8, code("F")] - lp[8, code("S")] + lp[1, code("A")] - lp[1, code("Y")]]
    np.testing.assert_allclose(got[:2], expect, rtol=1e-12)
    assert np.isnan(got[2]) and got[3] == 0.0
    # the same with the wild type given as a dict or numbered from elsewhere, or an explicit map
    np.testing.assert_allclose(model.mutation_effects(["Y105A"], wildtype=_WT, start=101), got[:1])
    np.testing.assert_allclose(model.mutation_effects(["Y5A"], numbering=residues), got[:1])
    # evaluate_dms goes through the same numbering and gives the same predictions
    table = pd.DataFrame({"mutant": ["Y5A", "S13F:Y5A", "I12V", "H18K"], "score": [1.0, 2.0, 3.0, 4.0]})
    metrics, out = evaluate_dms(model, table, wildtype=_WT)
    assert metrics["numbering"] == "align" and metrics["n_scored"] == 4
    np.testing.assert_allclose(out["prediction"], model.mutation_effects(table["mutant"], wildtype=_WT))


def test_mutation_effects_wrong_wildtype_error_names_everything():
    model = PSSM(identity=None).fit(_off_by_indel_alignment())
    # header numbering: residue 5 is column 2, which holds I (Y is residue 5 of the wild type)
    with pytest.raises(SequenceError, match=r"mutant 'Y5A': residue 5 is 'I' .* says 'Y'.*wildtype="):
        model.mutation_effects(["Y5A"])
    with pytest.raises(SequenceError, match=r"'K8A'.*residue 8 is 'A'.*says 'K'.*start"):
        model.mutation_effects(["K8A"], wildtype=_WT, start=2)  # wild type numbered wrongly
    with pytest.raises(ValueError, match="one residue number per model column"):
        model.mutation_effects(["Y5A"], numbering=[1, 2, 3])


def test_dlg4_mutation_effects_with_wildtype_match_evaluate_dms(data_dir):
    from seqlens.io.dms import read_dms

    dms_path = data_dir.parent / "dms" / "DLG4_RAT_Ranganathan2012.csv"
    if not dms_path.exists():
        pytest.skip("DLG4 DMS table not available")
    msa = Alignment.read(data_dir / "PF00595_mgap6.fasta.gz", focus="DLG4_RAT/313-391")
    model = PSSM(identity=None).fit(msa)
    table = read_dms(dms_path, column="CRIPT")
    metrics, out = evaluate_dms(model, table)
    assert metrics["numbering"] == "align" and metrics["numbering_agreement"] == 1.0
    assert metrics["n_skipped_wrong_wildtype"] == 0 and metrics["n_scored"] > 1000
    # DLG4_RAT residues 311-393 (the wild type of the DMS table)
    wildtype = ("PRRIVIHRGSTGLGFNIVGGEDGEGIFISFILAGGPADLSGELRKGDQILSVNGVDLRNASHEQAAIALKNAG"
                "QTVTIIAQYK")
    with pytest.raises(SequenceError, match="wildtype=SEQ"):
        model.mutation_effects(list(out["mutant"]))  # the header (313-391) numbering is off
    got = model.mutation_effects(list(out["mutant"]), wildtype=wildtype, start=311)
    np.testing.assert_allclose(got, out["prediction"].to_numpy(), rtol=1e-12, equal_nan=True)
    assert np.isfinite(got).sum() == metrics["n_scored"]
    # I314 is the first focus residue (not 313), R313 and E343 are not model columns
    letters = model.alphabet_.letters
    assert got[list(out["mutant"]).index("I314V")] == pytest.approx(
        model.log_probs_[0, letters.index("V")] - model.log_probs_[0, letters.index("I")])


def test_cli_mutations_with_wildtype_sequence(tmp_path):
    import json

    from seqlens.msa.persist import load_msa_model

    msa = _off_by_indel_alignment()
    aln = tmp_path / "off.fasta"
    aln.write_text("".join(f">{n}\n{r}\n" for n, r in zip(msa.names, msa.rows())))
    dms = tmp_path / "dms.csv"
    dms.write_text("mutant,fit\nY5A,0.1\nS13F:Y5A,0.3\nI12V,0.2\nH18K,0.5\nQ11A,0.4\n")
    wt = tmp_path / "wt.fasta"
    wt.write_text(f">WT full length\n{_WT[:10]}\n{_WT[10:]}\n")
    parser = _cli_parser()
    args = parser.parse_args(["fit", "--msa", str(aln), "--model", "pssm", "--out",
                              str(tmp_path / "m"), "--quiet"])
    assert args.func(args) == 0
    for value in (_WT.lower(), str(wt)):
        out = tmp_path / f"mut{len(value)}"
        args = parser.parse_args(["mutations", "--model", str(tmp_path / "m"), "--dms", str(dms),
                                  "--wildtype", value, "--out", str(out)])
        assert args.func(args) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["numbering"] == "align" and metrics["n_scored"] == 4
        assert metrics["n_skipped_outside"] == 1  # Q11 is not in the alignment
        pred = pd.read_csv(out / "predictions.csv")
        model = load_msa_model(tmp_path / "m")
        np.testing.assert_allclose(pred["prediction"],
                                   model.mutation_effects(list(pred["mutant"]), wildtype=_WT),
                                   rtol=1e-6, equal_nan=True)
