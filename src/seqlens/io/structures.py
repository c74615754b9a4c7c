"""Protein structures (PDB / mmCIF via Biopython) and residue-pair distance tables.

Distances are returned as a tidy DataFrame ``i, j, dist`` (residue numbers, ``i < j``, Angstrom),
the truth format used by :mod:`seqlens.msa.contacts`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqlens.errors import FormatError

_THREE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E", "GLY": "G",
    "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F", "PRO": "P", "SER": "S",
    "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V", "MSE": "M", "SEC": "U", "PYL": "O",
}


def read_distance_table(path: str | Path, i_col: str = "i", j_col: str = "j",
                        dist_col: str = "dist") -> pd.DataFrame:
    """Read residue-pair distances from CSV (header with ``i, j, dist``) or a whitespace table
    without header whose columns are ``i j [score] dist`` (the last column is the distance).

    Returns a DataFrame ``i, j, dist`` with integer residue numbers.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"distance table not found: {path}")
    first = path.open().readline()
    if "," in first:
        df = pd.read_csv(path)
        missing = [c for c in (i_col, j_col, dist_col) if c not in df.columns]
        if missing:
            raise FormatError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
        df = df[[i_col, j_col, dist_col]].rename(columns={i_col: "i", j_col: "j", dist_col: "dist"})
    else:
        arr = np.loadtxt(path, ndmin=2)
        if arr.shape[1] < 3:
            raise FormatError(f"{path}: expected at least 3 columns 'i j dist', got {arr.shape[1]}")
        df = pd.DataFrame({"i": arr[:, 0], "j": arr[:, 1], "dist": arr[:, -1]})
    df["i"] = df["i"].astype(int)
    df["j"] = df["j"].astype(int)
    return df.reset_index(drop=True)


def _virtual_cb(n, ca, c):
    b = ca - n
    cc = c - ca
    a = np.cross(b, cc)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca


def read_structure_residues(path: str | Path, chain: str | None = None, model: int = 0):
    """Residues of one chain: list of ``(number, letter, heavy_atom_coords (k, 3), cb (3,))``.

    ``cb`` is the C-beta, or a virtual one from N, CA, C for glycine (NaN if atoms are missing).
    """
    from Bio.PDB import MMCIFParser, PDBParser

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"structure file not found: {path}")
    suffix = path.suffix.lower()
    parser = MMCIFParser(QUIET=True) if suffix in (".cif", ".mmcif") else PDBParser(QUIET=True)
    try:
        structure = parser.get_structure(path.stem, str(path))
    except Exception as exc:  # Biopython raises various errors for malformed files
        raise FormatError(f"{path}: cannot parse structure: {exc}") from exc
    models = list(structure)
    if not models:
        raise FormatError(f"{path}: no models in structure")
    mdl = models[model]
    chains = {c.id: c for c in mdl}
    if chain is None:
        chain = next(iter(chains))
    if chain not in chains:
        raise FormatError(f"{path}: chain {chain!r} not found; chains are {sorted(chains)}")
    out = []
    for res in chains[chain]:
        if res.id[0] != " " and res.get_resname() != "MSE":
            continue
        letter = _THREE.get(res.get_resname(), "X")
        heavy = np.array([a.coord for a in res if a.element != "H"], dtype=float)
        if "CB" in res:
            cb = res["CB"].coord.astype(float)
        elif all(k in res for k in ("N", "CA", "C")):
            cb = _virtual_cb(res["N"].coord, res["CA"].coord, res["C"].coord).astype(float)
        else:
            cb = np.full(3, np.nan)
        out.append((int(res.id[1]), letter, heavy, cb))
    if not out:
        raise FormatError(f"{path}: chain {chain!r} has no amino-acid residues")
    return out


def structure_distances(path: str | Path, chain: str | None = None, mode: str = "cb",
                        model: int = 0) -> tuple[pd.DataFrame, str, np.ndarray]:
    """All residue-pair distances of a chain.

    Parameters
    ----------
    mode : ``"cb"`` (C-beta, virtual for Gly) or ``"heavy"`` (minimum heavy-atom distance).

    Returns
    -------
    ``(table, sequence, numbers)``: DataFrame ``i, j, dist`` (structure residue numbers), the
    chain's one-letter sequence and its ``(n,)`` residue numbers.
    """
    res = read_structure_residues(path, chain, model)
    numbers = np.array([r[0] for r in res])
    seq = "".join(r[1] for r in res)
    n = len(res)
    if mode == "cb":
        cb = np.stack([r[3] for r in res])
        D = np.sqrt(((cb[:, None] - cb[None]) ** 2).sum(-1))
    elif mode == "heavy":
        D = np.full((n, n), np.inf)
        for a in range(n):
            for b in range(a + 1, n):
                d = np.sqrt(((res[a][2][:, None] - res[b][2][None]) ** 2).sum(-1)).min()
                D[a, b] = D[b, a] = d
    else:
        raise ValueError("mode must be 'cb' or 'heavy'")
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
