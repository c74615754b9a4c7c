"""``seqlens msa contacts --couplings FILE`` (score another tool's couplings) and
``--write-couplings`` (write ours in their formats)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlens.cli import main
from seqlens.io.couplings import read_ccmpred_mat, read_plmc_couplings, read_plmc_params

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "msa"


def test_dhfr_plmc_couplings_reach_the_published_precision(tmp_path):
    """plmc's own DHFR couplings, numbered through the alignment, scored against the structure:
    the published top-L precision of plmc (0.805 at 5 A, |i - j| >= 6)."""
    need = [DATA / n for n in ("DHFR.a2m", "DHFR.couplings", "DHFR_distances_longrange.csv")]
    if not all(p.exists() for p in need):
        pytest.skip("DHFR reference files not available in ../shared/data/msa")
    out = tmp_path / "dhfr"
    rc = main(["msa", "contacts", "--msa", str(need[0]), "--couplings", str(need[1]), "--distances",
               str(need[2]), "--threshold", "5", "--out", str(out), "--quiet"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "DHFR.couplings" and m["precision_at_L"] == pytest.approx(0.805, abs=1e-4)
    top = pd.read_csv(out / "scores.csv").iloc[0]
    assert (top["i"], top["j"]) == (13, 121)  # plmc's 13 V - 133 G: column 133 is residue 121


@pytest.fixture()
def family(tmp_path):
    """60 sequences x 10 columns; residues 12 and 18 of the focus Q/11-19 covary. The focus has a
    gap at alignment column 4, so plmc's numbering (alignment columns) differs from residues."""
    rng = np.random.default_rng(0)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    rows = rng.choice(letters, size=(60, 10))
    pair = rng.integers(0, 20, 60)
    rows[:, 1], rows[:, 7] = letters[pair], letters[(pair + 3) % 20]
    rows[0, 3] = "-"
    names = ["Q/11-19"] + [f"s{k}" for k in range(1, 60)]
    (tmp_path / "fam.fasta").write_text("".join(f">{n}\n{''.join(r)}\n" for n, r in zip(names, rows)))
    res = np.arange(11, 20)
    truth = [(a, b, 4.0 if (a, b) == (12, 17) else 12.0) for a in res for b in res if b > a]
    pd.DataFrame(truth, columns=["i", "j", "dist"]).to_csv(tmp_path / "dist.csv", index=False)
    return tmp_path


def test_written_couplings_score_as_the_fit(family):
    tmp = family
    base = ["msa", "contacts", "--msa", str(tmp / "fam.fasta"), "--distances", str(tmp / "dist.csv"),
            "--quiet", "--identity", "0.99"]
    assert main(base + ["--model", "potts", "--max-iter", "30", "--write-couplings",
                        "plmc,params,ccmpred,evcouplings", "--out", str(tmp / "fit")]) == 0
    fit = tmp / "fit"
    assert {"plmc.couplings", "plmc.params", "ccmpred.mat", "CouplingScores.csv"} <= {
        p.name for p in fit.iterdir()}
    ours = pd.read_csv(fit / "scores.csv")
    assert (ours.iloc[0]["i"], ours.iloc[0]["j"]) == (12, 17)
    # plmc numbering: residue 12 is alignment column 2 -> 2 + 11 - 1 = 12; residue 17 is column 8 -> 18
    plmc = read_plmc_couplings(fit / "plmc.couplings")
    assert plmc.iloc[0][["i", "j"]].tolist() == [12, 18]
    params = read_plmc_params(fit / "plmc.params")
    focus = (tmp / "fam.fasta").read_text().split("\n")[1]
    assert params.alphabet == "ACDEFGHIKLMNPQRSTVWY" and params.focus_sequence == focus.replace("-", "")
    np.testing.assert_array_equal(params.positions, [11, 12, 13, 15, 16, 17, 18, 19, 20])
    assert params.n_sequences == 60 and params.neff == pytest.approx(60.0)
    S, meta = read_ccmpred_mat(fit / "ccmpred.mat")
    assert S.shape == (9, 9) and S[1, 6] == pytest.approx(ours.iloc[0]["score"])
    m_fit = json.loads((fit / "metrics.json").read_text())
    for name in ("plmc.couplings", "plmc.params", "ccmpred.mat", "CouplingScores.csv"):
        out = tmp / f"again_{name}"
        assert main(base + ["--couplings", str(fit / name), "--out", str(out)]) == 0
        again = pd.read_csv(out / "scores.csv")
        assert (again.iloc[0]["i"], again.iloc[0]["j"]) == (12, 17), name
        m = json.loads((out / "metrics.json").read_text())
        assert m["precision_at_L5_sep6"] == m_fit["precision_at_L5_sep6"], name
        if name != "plmc.params":  # .params is rescored over all states, as plmc does
            np.testing.assert_allclose(np.sort(again["score"]), np.sort(ours["score"]), atol=1e-5)


def test_couplings_errors(family, capsys):
    tmp = family
    base = ["msa", "contacts", "--msa", str(tmp / "fam.fasta"), "--quiet"]
    (tmp / "big.mat").write_text("\n".join(" ".join(["0"] * 12) for _ in range(12)) + "\n")
    assert main(base + ["--couplings", str(tmp / "big.mat"), "--out", str(tmp / "o1")]) == 2
    assert "a 12 x 12 matrix, but --msa" in capsys.readouterr().err
    (tmp / "far.couplings").write_text("11 A 40 C 0 0.5\n")
    assert main(base + ["--couplings", str(tmp / "far.couplings"), "--out", str(tmp / "o2")]) == 2
    assert "position 40 (column j) is not among the 9 positions 11..20" in capsys.readouterr().err
    (tmp / "x.txt").write_text("1 A 2 C 0 0.5\n")
    assert main(base + ["--couplings", str(tmp / "x.txt"), "--out", str(tmp / "o3")]) == 2
    assert "unknown suffix; give --couplings-format" in capsys.readouterr().err
    assert main(base + ["--model", "gaussian", "--write-couplings", "params", "--out", str(tmp / "o4")]) == 2
    assert "plmc parameters need --model potts" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(base + ["--write-couplings", "plmc,stockholm", "--out", str(tmp / "o5")])
    assert not any((tmp / f"o{k}").exists() for k in range(1, 6))
