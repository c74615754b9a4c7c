"""``seqlens data list`` / ``seqlens data path NAME`` and their Python equivalents."""

from pathlib import Path

import pytest

from seqlens.data import data_path, list_data


def test_list_data_names_every_bundled_example_with_a_description():
    files = list_data()
    assert {"DHFR.a2m.gz", "DHFR_distances_longrange.csv", "ZBED2_400_h3k27ac.h5",
            "jaspar2016_vertebrates.pfm"} <= set(files)
    assert "__init__.py" not in files and "NOTICE.md" not in files
    assert all(files.values())  # every bundled file is described


def test_data_path_is_absolute_and_refuses_other_names():
    path = data_path("DHFR_distances_longrange.csv")
    assert path.is_absolute() and path.read_text().startswith("i,")
    for bad in ("nope.csv", "__init__.py", "../cli/__init__.py"):
        with pytest.raises(FileNotFoundError, match="available: DHFR.a2m.gz"):
            data_path(bad)


def test_cli_data_list_prints_one_line_per_file(run_cli, tmp_path):
    code, out, err, added = run_cli(["data", "list"], tmp_path)
    lines = out.strip().splitlines()
    assert code == 0 and not err and not added and len(lines) == len(list_data())
    dhfr = next(line for line in lines if line.startswith("DHFR.a2m.gz "))
    assert "3629 sequences" in dhfr


def test_cli_data_path_prints_the_absolute_path(run_cli, tmp_path):
    code, out, err, _ = run_cli(["data", "path", "ZBED2_400_h3k27ac.h5"], tmp_path)
    assert code == 0 and not err
    assert Path(out.strip()) == data_path("ZBED2_400_h3k27ac.h5") and Path(out.strip()).is_file()


def test_cli_data_path_unknown_name_is_a_one_line_error(run_cli, tmp_path):
    code, out, err, added = run_cli(["data", "path", "dist.csv"], tmp_path)
    assert code == 2 and not out and not added
    assert err.strip().splitlines() == [
        "seqlens data: error: no bundled data file 'dist.csv'; available: "
        + ", ".join(list_data())]
