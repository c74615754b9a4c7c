"""Protein structures (PDB / mmCIF via Biopython) and residue-pair distance tables.

Distances are returned as a tidy DataFrame ``i, j, dist`` (residue numbers, ``i < j``, Angstrom),
the truth format used by :mod:`seqlens.msa.contacts`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from seqlens.errors import FormatError
from seqlens.io.text import one_line, read_csv, read_text

_THREE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E", "GLY": "G",
    "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F", "PRO": "P", "SER": "S",
    "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V", "MSE": "M", "SEC": "U", "PYL": "O",
}


def read_distance_table(path: str | Path, i_col: str = "i", j_col: str = "j",
                        dist_col: str = "dist") -> pd.DataFrame:
    """Read residue-pair distances from CSV (header with ``i, j, dist``) or a whitespace table
    without header whose columns are ``i j [score] dist`` (the last column is the distance;
    ``#`` starts a comment). Gzip is read transparently.

    Returns a DataFrame ``i, j, dist`` with integer residue numbers. Raises :class:`FormatError`
    naming the file and line for a missing column, a residue number that is not an integer or a
    distance that is not a finite number, and for a table without rows.
    """
    path = Path(path)
    text = read_text(path)
    lines = text.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if "," in first:
        df = read_csv(path, "distance table", text=text, keep_default_na=False)
        missing = [c for c in (i_col, j_col, dist_col) if c not in df.columns]
        if missing:
            raise FormatError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
        fields = df[[i_col, j_col, dist_col]]
        line_of = np.arange(2, len(df) + 2)
        names = (i_col, j_col, dist_col)
    else:
        rows, line_of = [], []
        for lineno, line in enumerate(lines, 1):
            parts = line.split("#", 1)[0].split()
            if not parts:
                continue
            if len(parts) < 3:
                raise FormatError(f"{path}, line {lineno}: expected at least 3 columns 'i j dist', "
                                  f"got {len(parts)}")
            rows.append((parts[0], parts[1], parts[-1]))
            line_of.append(lineno)
        fields = pd.DataFrame(rows, columns=["i", "j", "dist"], dtype=str)
        names = ("column 1", "column 2", "the last column")
    if fields.empty:
        raise FormatError(f"{path}: no distances (empty table)")
    values = np.column_stack([pd.to_numeric(fields[c], errors="coerce").to_numpy(float) for c in fields])
    ij = values[:, :2]
    bad = ~np.isfinite(values)
    bad[:, :2] |= (ij != np.round(ij)) | (np.abs(ij) > 1e9)
    if bad.any():
        r, c = (int(k) for k in np.argwhere(bad)[0])
        what = "an integer residue number" if c < 2 else "a finite distance"
        given = str(fields.iat[r, c])
        got = repr(given) if given.strip() else "missing"
        raise FormatError(f"{path}, line {line_of[r]}: {names[c]} is not {what}: {got}")
    return pd.DataFrame({"i": ij[:, 0].astype(int), "j": ij[:, 1].astype(int), "dist": values[:, 2]})


def _virtual_cb(n, ca, c):
    b = ca - n
    cc = c - ca
    a = np.cross(b, cc)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca


def read_structure_residues(path: str | Path, chain: str | None = None, model: int = 0):
    """Residues of one chain: list of ``(number, letter, heavy_atom_coords (k, 3), cb (3,))``.

    ``cb`` is the C-beta, or a virtual one from N, CA, C for glycine (NaN if atoms are missing).
    ``chain`` None takes the first chain. PDB or mmCIF (``.cif``/``.mmcif``), gzip allowed.
    Raises :class:`FormatError` naming the file for an unparsable file, a missing model or chain,
    a chain without amino-acid residues, and non-finite coordinates.
    """
    return _read_chain(path, chain, model)[1]


def _read_chain(path: str | Path, chain: str | None, model: int):
    """``(chain_id, residues)`` as :func:`read_structure_residues`."""
    from Bio.PDB import MMCIFParser, PDBParser

    path = Path(path)
    handle = io.StringIO(read_text(path))
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    cif = bool(suffixes) and suffixes[-1] in (".cif", ".mmcif")
    parser = MMCIFParser(QUIET=True) if cif else PDBParser(QUIET=True)
    try:
        structure = parser.get_structure(path.stem, handle)
    except Exception as exc:  # Biopython raises various errors for malformed files
        raise FormatError(f"{path}: cannot parse structure: {one_line(exc)}") from exc
    models = list(structure)
    if not models:
        raise FormatError(f"{path}: no models in structure")
    if not -len(models) <= model < len(models):
        raise FormatError(f"{path}: model {model} not found; the file has {len(models)} model(s)")
    chains = {c.id: c for c in models[model]}
    if not chains:
        raise FormatError(f"{path}: model {model} has no chains (no ATOM records?)")
    if chain is None:
        chain = next(iter(chains))
    if chain not in chains:
        raise FormatError(f"{path}: chain {chain!r} not found; chains are {sorted(chains)}")
    out = []
    for res in chains[chain]:
        if res.id[0] != " " and res.get_resname() != "MSE":
            continue
        letter = _THREE.get(res.get_resname(), "X")
        heavy = np.array([a.coord for a in res if a.element != "H"], dtype=float).reshape(-1, 3)
        if not np.isfinite(heavy).all():
            raise FormatError(f"{path}: chain {chain!r} residue {res.id[1]}: atom coordinates are "
                              "not finite")
        if "CB" in res:
            cb = res["CB"].coord.astype(float)
        elif all(k in res for k in ("N", "CA", "C")):
            cb = _virtual_cb(res["N"].coord, res["CA"].coord, res["C"].coord).astype(float)
        else:
            cb = np.full(3, np.nan)
        out.append((int(res.id[1]), letter, heavy, cb))
    if not out:
        raise FormatError(f"{path}: chain {chain!r} has no amino-acid residues")
    return chain, out


def structure_distances(path: str | Path, chain: str | None = None, mode: str = "cb",
                        model: int = 0) -> tuple[pd.DataFrame, str, np.ndarray]:
    """All residue-pair distances of a chain.

    Parameters
    ----------
    mode : ``"cb"`` (C-beta, virtual for Gly) or ``"heavy"`` (minimum heavy-atom distance).

    Returns
    -------
    ``(table, sequence, numbers)``: DataFrame ``i, j, dist`` (structure residue numbers), the
    chain's one-letter sequence and its ``(n,)`` residue numbers. Pairs with a residue lacking
    the atoms needed are left out.
    """
    if mode not in ("cb", "heavy"):
        raise ValueError("mode must be 'cb' or 'heavy'")
    chain, res = _read_chain(path, chain, model)
    numbers = np.array([r[0] for r in res])
    seq = "".join(r[1] for r in res)
    n = len(res)
    if mode == "cb":
        cb = np.stack([r[3] for r in res])
        if np.isnan(cb).any(axis=1).all():
            raise FormatError(f"{path}: no CA atoms usable in chain {chain!r}: no residue has a CB "
                              "atom or the N, CA and C atoms of a virtual one; use mode='heavy'")
        D = np.sqrt(((cb[:, None] - cb[None]) ** 2).sum(-1))
    else:
        if not any(len(r[2]) for r in res):
            raise FormatError(f"{path}: chain {chain!r} has no heavy atoms")
        D = np.full((n, n), np.nan)
        for a in range(n):
            for b in range(a + 1, n):
                if len(res[a][2]) and len(res[b][2]):
                    d = np.sqrt(((res[a][2][:, None] - res[b][2][None]) ** 2).sum(-1)).min()
                    D[a, b] = D[b, a] = d
    ii, jj = np.triu_indices(n, 1)
    table = pd.DataFrame({"i": numbers[ii], "j": numbers[jj], "dist": D[ii, jj]})
    return table.dropna().reset_index(drop=True), seq, numbers


def map_to_focus(table: pd.DataFrame, structure_seq: str, structure_numbers: np.ndarray,
                 focus_seq: str, focus_numbers: np.ndarray) -> pd.DataFrame:
    """Renumber a structure distance table into focus residue numbers through a global pairwise
    alignment (Biopython PairwiseAligner, BLOSUM62, gap open -10, extend -0.5) of the structure
    sequence to the focus sequence. Pairs with a residue outside the alignment are dropped."""
    from Bio import Align
    from Bio.Align import substitution_matrices

    aligner = Align.PairwiseAligner()
    aligner.substitution_matrix = substitution_matrices.load("BLOSUM62")
    aligner.open_gap_score = -10
    aligner.extend_gap_score = -0.5
    aligner.mode = "global"
    aln = aligner.align(structure_seq.replace("X", "A"), focus_seq.replace("-", ""))[0]
    mapping = {}
    for (s0, s1), (f0, _f1) in zip(*aln.aligned):
        for k in range(s1 - s0):
            mapping[int(structure_numbers[s0 + k])] = int(focus_numbers[f0 + k])
    out = table.copy()
    out["i"] = out["i"].map(mapping)
    out["j"] = out["j"].map(mapping)
    out = out.dropna()
    out["i"] = out["i"].astype(int)
    out["j"] = out["j"].astype(int)
    return out.reset_index(drop=True)
