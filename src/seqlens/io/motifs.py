"""Motif file formats: JASPAR PFM (read) and MEME (read/write)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from seqlens.alphabet import DNA
from seqlens.errors import FormatError
from seqlens.motifs.motif import Motif

_ROW = re.compile(r"^\s*([ACGTU])\s*\[?\s*([-0-9.eE\s]+?)\s*\]?\s*$")


def read_jaspar(path: str | Path) -> list[Motif]:
    """Read a JASPAR-format PFM file (``>ID name`` then four ``A [ ... ]`` count rows).

    Returns a list of count :class:`Motif` objects (``name`` = matrix ID, ``alt_name`` = TF name).
    Raises :class:`FormatError` naming the file, line and record on malformed input.
    """
    path = Path(path)
    text = path.read_text()
    motifs: list[Motif] = []
    header: tuple[str, str, int] | None = None
    rows: dict[str, list[float]] = {}

    def finish():
        if header is None:
            return
        ident, name, lineno = header
        missing = [c for c in "ACGT" if c not in rows and not (c == "T" and "U" in rows)]
        if missing:
            raise FormatError(f"{path}: record {ident!r} (line {lineno}) lacks rows {missing}")
        mat = [rows["A"], rows["C"], rows["G"], rows.get("T", rows.get("U"))]
        if len({len(r) for r in mat}) != 1:
            raise FormatError(f"{path}: record {ident!r} (line {lineno}) has rows of unequal length")
        try:
            motifs.append(Motif.from_counts(np.array(mat), name=ident, alt_name=name, alphabet=DNA))
        except ValueError as exc:
            raise FormatError(f"{path}: record {ident!r} (line {lineno}): {exc}") from None

    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith(">"):
            finish()
            parts = line[1:].split(None, 1)
            if not parts:
                raise FormatError(f"{path}, line {lineno}: empty motif header")
            header = (parts[0], parts[1].strip() if len(parts) > 1 else "", lineno)
            rows = {}
            continue
        m = _ROW.match(line)
        if header is None or m is None:
            raise FormatError(f"{path}, line {lineno}: expected '>ID name' or 'A [ counts ]', "
                              f"got {line.strip()[:60]!r}")
        try:
            rows[m.group(1)] = [float(v) for v in m.group(2).split()]
        except ValueError:
            raise FormatError(f"{path}, line {lineno}: non-numeric count in {line.strip()[:60]!r}") \
                from None
    finish()
    if not motifs:
        raise FormatError(f"{path}: no motifs found")
    return motifs
