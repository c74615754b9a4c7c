"""``seqlens msa contacts`` takes the first sequence as focus by default, as ``msa fit`` does, so a
distance table numbered by focus residues scores the right pairs; ``--focus none`` with such a table
warns (its columns are numbered by alignment column)."""

import json

from seqlens.cli import main


def _contacts(data_dir, out, *extra):
    return main(["msa", "contacts", "--msa", str(data_dir / "DHFR.a2m"), "--model", "gaussian",
                 "--distances", str(data_dir / "DHFR_distances_longrange.csv"), "--quiet",
                 "--out", str(out), *extra])


def test_default_focus_is_the_first_sequence(data_dir, tmp_path, capsys):
    assert _contacts(data_dir, tmp_path / "default") == 0
    metrics = json.loads((tmp_path / "default" / "metrics.json").read_text())
    # DYR_ECOLI (the first record) numbers the 159 columns as the table does: P@L 0.937 as with
    # --focus DYR_ECOLI, against 0.31 with the 171 columns of no focus
    assert metrics["length"] == 159 and metrics["precision_at_L"] > 0.9
    assert "--focus none" not in capsys.readouterr().err


def test_no_focus_with_a_distance_table_warns(data_dir, tmp_path, capsys):
    assert _contacts(data_dir, tmp_path / "none", "--focus", "none") == 0
    metrics = json.loads((tmp_path / "none" / "metrics.json").read_text())
    err = capsys.readouterr().err
    assert metrics["length"] == 171 and metrics["precision_at_L"] < 0.5
    assert "DHFR_distances_longrange.csv with --focus none: the alignment's columns are numbered" in err
