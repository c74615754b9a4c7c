import json

import numpy as np
import pandas as pd
import pytest

from seqlens.cli import main
from seqlens.io.structures import map_to_focus, read_distance_table, structure_distances


def test_cli_msa_contacts_mi_dhfr(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["msa", "contacts", "--msa", str(data_dir / "DHFR.a2m"), "--focus", "DYR_ECOLI",
               "--model", "mi", "--distances", str(data_dir / "DHFR_distances_longrange.csv"),
               "--threshold", "5", "--out", str(out)])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["length"] == 159 and metrics["n_dropped"] == 13
    assert 0.35 < metrics["precision_at_L"] < 0.7
    assert {"precision_at_L2_sep12", "precision_at_L5_sep24"} <= set(metrics)
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 159 * 158 // 2 and scores["score"].is_monotonic_decreasing
    assert (out / "contact_map.png").stat().st_size > 1000
    assert len(pd.read_csv(out / "precision.csv")) == 9
    assert "precision_at_L" in capsys.readouterr().out


def test_cli_error_for_missing_focus(data_dir, tmp_path, capsys):
    rc = main(["msa", "contacts", "--msa", str(data_dir / "potts3.a2m"), "--focus", "nope",
               "--model", "mi", "--out", str(tmp_path)])
    assert rc == 2
    assert "focus sequence 'nope' not found" in capsys.readouterr().err


PDB = """\
ATOM      1  N   ALA A   5       0.000   0.000   0.000  1.00  0.00           N
ATOM      2  CA  ALA A   5       1.458   0.000   0.000  1.00  0.00           C
ATOM      3  C   ALA A   5       2.009   1.420   0.000  1.00  0.00           C
ATOM      4  O   ALA A   5       1.251   2.390   0.000  1.00  0.00           O
ATOM      5  CB  ALA A   5       1.988  -0.773  -1.199  1.00  0.00           C
ATOM      6  N   GLY A   6       3.332   1.536   0.000  1.00  0.00           N
ATOM      7  CA  GLY A   6       3.988   2.839   0.000  1.00  0.00           C
ATOM      8  C   GLY A   6       5.504   2.693   0.000  1.00  0.00           C
ATOM      9  O   GLY A   6       6.030   1.580   0.000  1.00  0.00           O
ATOM     10  N   TRP A   7      10.000   0.000   0.000  1.00  0.00           N
ATOM     11  CA  TRP A   7      11.458   0.000   0.000  1.00  0.00           C
ATOM     12  C   TRP A   7      12.009   1.420   0.000  1.00  0.00           C
ATOM     13  CB  TRP A   7      11.988  -0.773  -1.199  1.00  0.00           C
END
"""


def test_structure_distances_virtual_cb_and_mapping(tmp_path):
    p = tmp_path / "x.pdb"
    p.write_text(PDB)
    table, seq, numbers = structure_distances(p, "A", mode="cb")
    assert seq == "AGW" and numbers.tolist() == [5, 6, 7]
    d = table.set_index(["i", "j"])["dist"]
    assert d[(5, 7)] == pytest.approx(10.0, abs=1e-3)  # CB(7) is CB(5) shifted by 10 A
    assert np.isfinite(d[(5, 6)]) and np.isfinite(d[(6, 7)])  # virtual CB for Gly
    heavy, _, _ = structure_distances(p, "A", mode="heavy")
    hd = heavy.set_index(["i", "j"])["dist"]
    assert hd[(5, 6)] < 2.0  # peptide bond C-N
    # focus "MAGW" numbered 1..4: structure residues 5, 6, 7 map to 2, 3, 4
    mapped = map_to_focus(table, seq, numbers, "MAGW", np.array([1, 2, 3, 4]))
    assert sorted(zip(mapped["i"], mapped["j"])) == [(2, 3), (2, 4), (3, 4)]


def test_read_distance_tables(tmp_path, data_dir):
    t = read_distance_table(data_dir / "PF00595_struct.dat")
    assert list(t.columns) == ["i", "j", "dist"] and t["i"].min() >= 1 and t["j"].max() <= 82
    (tmp_path / "a.csv").write_text("i,j,x\n1,2,3\n")
    from seqlens.errors import FormatError

    with pytest.raises(FormatError, match="missing column"):
        read_distance_table(tmp_path / "a.csv")
