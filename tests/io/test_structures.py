"""Structures (PDB / mmCIF) and residue-pair distance tables: bad input gives clear errors."""

import gzip

import numpy as np
import pytest

from seqlens.errors import FormatError
from seqlens.io.structures import read_distance_table, read_structure_residues, structure_distances


def atom(serial, name, res, num, x, chain="A"):
    return (f"ATOM  {serial:5d}  {name:<3s} {res} {chain}{num:4d}    {x:8.3f}{0:8.3f}{0:8.3f}  1.00  0.00"
            f"           {name[0]}\n")


def test_distance_tables_csv_whitespace_and_gzip(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("i,j,dist,extra\n1,2,3.5,x\n1,3.0,8.25,y\n")
    t = read_distance_table(p)
    assert t["i"].tolist() == [1, 1] and t["j"].tolist() == [2, 3] and t["dist"].tolist() == [3.5, 8.25]
    assert t["i"].dtype.kind == "i"
    w = tmp_path / "d.txt.gz"
    w.write_bytes(gzip.compress(b"# i j score dist\n1 2 0.9 3.5\n\n1 3 0.1 8.25\n"))
    assert read_distance_table(w).equals(t)


@pytest.mark.parametrize("name, text, message", [
    ("d.csv", "i,j,dist\n1,2,3\n1,x,3.0\n", "d.csv, line 3: j is not an integer residue number: 'x'"),
    ("d.csv", "i,j,dist\n1,,3.0\n", "d.csv, line 2: j is not an integer residue number: missing"),
    ("d.csv", "i,j,dist\nnan,2,3.0\n", "d.csv, line 2: i is not an integer residue number: 'nan'"),
    ("d.csv", "i,j,dist\n1.5,2,3.0\n", "d.csv, line 2: i is not an integer residue number: '1.5'"),
    ("d.csv", "i,j,dist\n1,2,far\n", "d.csv, line 2: dist is not a finite distance: 'far'"),
    ("d.csv", "i,j,dist\n", r"d.csv: no distances \(empty table\)"),
    ("d.csv", "i,j\n1,2\n", r"d.csv: missing column\(s\) \['dist'\]"),
    ("d.txt", "", r"d.txt: no distances \(empty table\)"),
    ("d.txt", "# only a comment\n", r"d.txt: no distances \(empty table\)"),
    ("d.txt", "1 2 3\n1 2\n", "d.txt, line 2: expected at least 3 columns 'i j dist', got 2"),
    ("d.txt", "1 2 0.5 inf\n", "d.txt, line 1: the last column is not a finite distance: 'inf'"),
    ("d.txt", "1e30 2 3\n", "d.txt, line 1: column 1 is not an integer residue number: '1e30'"),
])
def test_bad_distance_tables(tmp_path, name, text, message):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(FormatError, match=message):
        read_distance_table(p)


def test_binary_distance_table(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"i,j,dist\n\x89PNG")
    with pytest.raises(FormatError, match=r"d.csv: not a text file \(byte 0x89 at offset 9"):
        read_distance_table(p)


def test_pdb_with_only_a_model_line(tmp_path):
    p = tmp_path / "m.pdb"
    p.write_text("MODEL        1\n")
    with pytest.raises(FormatError, match=r"m.pdb: model 0 has no chains \(no ATOM records\?\)"):
        structure_distances(p)
    p.write_text(atom(1, "CA", "ALA", 1, 0.0))
    with pytest.raises(FormatError, match="m.pdb: model 1 not found; the file has 1 model"):
        structure_distances(p, model=1)
    with pytest.raises(FormatError, match=r"m.pdb: chain 'B' not found; chains are \['A'\]"):
        structure_distances(p, chain="B")


def test_structure_without_ca_atoms(tmp_path):
    p = tmp_path / "noca.pdb"
    p.write_text(atom(1, "N", "ALA", 1, 0.0) + atom(2, "N", "GLY", 2, 3.0))
    with pytest.raises(FormatError, match=r"noca.pdb: no CA atoms usable in chain 'A'.*mode='heavy'"):
        structure_distances(p)
    table, seq, _ = structure_distances(p, mode="heavy")  # heavy atoms need no CA
    assert seq == "AG" and table["dist"].tolist() == pytest.approx([3.0])


def test_non_finite_coordinates_refused(tmp_path):
    p = tmp_path / "nan.pdb"
    p.write_text(atom(1, "CA", "ALA", 1, 0.0) + atom(2, "CA", "GLY", 2, 3.0).replace("   3.000", "     nan"))
    with pytest.raises(FormatError, match=r"nan.pdb: chain 'A' residue 2: atom coordinates are not finite"):
        read_structure_residues(p)


def test_ca_only_trace_needs_heavy_mode(tmp_path):
    p = tmp_path / "ca.pdb"
    p.write_text(atom(1, "CA", "ALA", 1, 0.0) + atom(2, "CA", "GLY", 2, 3.8) + atom(3, "CA", "LEU", 3, 7.6))
    with pytest.raises(FormatError, match="ca.pdb: no CA atoms usable in chain 'A': .* mode='heavy'"):
        structure_distances(p, mode="cb")
    table, seq, numbers = structure_distances(p, mode="heavy")
    assert seq == "AGL" and table["dist"].tolist() == pytest.approx([3.8, 7.6, 3.8])


def test_gzipped_and_broken_structures(tmp_path):
    pdb = atom(1, "CA", "ALA", 1, 0.0) + atom(2, "CB", "ALA", 1, 1.0) + atom(3, "CB", "TRP", 2, 6.0)
    p = tmp_path / "x.pdb.gz"
    p.write_bytes(gzip.compress(pdb.encode()))
    table, seq, _ = structure_distances(p)
    assert seq == "AW" and table["dist"].tolist() == pytest.approx([5.0])
    p.write_bytes(gzip.compress(pdb.encode())[:-10])
    with pytest.raises(FormatError, match="x.pdb.gz: corrupt or truncated gzip file"):
        structure_distances(p)
    cif = tmp_path / "x.cif"
    cif.write_text("data_x\nloop_\n_atom_site.id\n1\n")
    with pytest.raises(FormatError, match="x.cif: cannot parse structure"):
        structure_distances(cif)
    cif.write_bytes(b"data_x\n\xff")
    with pytest.raises(FormatError, match=r"x.cif: not a text file \(byte 0xff at offset 7"):
        structure_distances(cif)


def test_residues_without_heavy_atoms_are_left_out(tmp_path):
    p = tmp_path / "h.pdb"
    p.write_text(atom(1, "CA", "ALA", 1, 0.0) + atom(2, "CB", "ALA", 1, 1.0) + atom(3, "H", "GLY", 2, 3.0)
                 + atom(4, "CA", "GLY", 3, 5.0))
    table, seq, numbers = structure_distances(p, mode="heavy")
    assert numbers.tolist() == [1, 2, 3] and seq == "AGG"
    assert table[["i", "j"]].values.tolist() == [[1, 3]] and np.isfinite(table["dist"]).all()
