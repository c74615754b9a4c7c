"""Read multiple sequence alignments: FASTA, A2M, A3M, Stockholm and plain (one row per line).

Returns raw records ``(names, rows)``; :class:`seqlens.msa.Alignment` turns them into an
encoded alignment. Format rules:

* ``fasta``: rows are kept as written (``.`` and ``-`` are gaps).
* ``a2m`` / ``a3m``: uppercase letters and ``-`` are match columns; lowercase letters
  (insertions) and ``.`` (gaps in insert columns) are dropped from every row, so all rows have
  the length of the match columns.
* ``stockholm``: ``# STOCKHOLM 1.0`` header, ``NAME  ROW`` lines (interleaved blocks allowed),
  ``#=`` markup ignored, ``//`` ends the alignment. ``.`` gaps become ``-``.
* ``plain``: one aligned row per non-empty line, names ``seq1``, ``seq2``, ...

An HHblits/HHfilter or ColabFold A3M file may start with a ``#`` line (e.g. ``#171 1``); it is
skipped. In A2M/A3M files, HH-suite's annotation records (``ss_pred``, ``ss_conf``, ``ss_dssp``,
``sa_dssp`` and ``*_consensus`` rows) are not sequences of the family and are skipped too.
Gzipped files are read transparently (found by their magic bytes). Errors name the file, record
and line.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from seqlens.errors import FormatError
from seqlens.io.text import iter_lines, read_lines

FORMATS = ("fasta", "a2m", "a3m", "stockholm", "plain")

_EXT = {
    ".fasta": "fasta", ".fa": "fasta", ".faa": "fasta", ".afa": "fasta", ".aln": "fasta",
    ".a2m": "a2m", ".a3m": "a3m", ".sto": "stockholm", ".stk": "stockholm",
    ".stockholm": "stockholm", ".txt": "plain", ".seq": "plain",
}


def guess_format(path: str | Path) -> str:
    """Format from the file extension (``.gz`` stripped); sniffs the first lines if unknown."""
    return _format_from_name(Path(path)) or _sniff(list(islice(
        (line for line in iter_lines(path) if line.strip()), 2)))


def _format_from_name(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return _EXT.get(suffixes[-1]) if suffixes else None


def _sniff(lines: list[str]) -> str:
    first, second = ([line for line in lines if line.strip()][:2] + ["", ""])[:2]
    if first.startswith("# STOCKHOLM"):
        return "stockholm"
    if first.startswith(">"):
        return "fasta"
    if first.startswith("#") and second.startswith(">"):
        return "a3m"
    return "plain"


def read_msa(
    path: str | Path, format: str | None = None, keep_insertions: bool = False
) -> tuple[list[str], list[str]]:
    """Read an alignment file.

    Parameters
    ----------
    path : file name (optionally gzipped).
    format : one of ``fasta``, ``a2m``, ``a3m``, ``stockholm``, ``plain``; None guesses it from
        the extension.
    keep_insertions : A2M only: keep lowercase insert columns and ``.`` (rows must then all have
        the same raw length). :class:`seqlens.msa.Alignment` uses this to number focus residues.

    Returns
    -------
    ``(names, rows)``: two lists of N strings; rows all have the same length (match columns for
    A2M/A3M). Raises :class:`FormatError` for an unknown format, an empty file, a record without
    a sequence, duplicate names, ragged rows (naming the record and both lengths), no match
    columns or only gaps.
    """
    path = Path(path)
    if format is not None and format.lower() not in FORMATS:
        raise FormatError(f"{path}: unknown alignment format {format!r}; choose one of "
                          f"{', '.join(FORMATS)}")
    lines = read_lines(path)
    fmt = format.lower() if format else _format_from_name(path) or _sniff(lines)
    if keep_insertions and fmt == "a3m":
        raise FormatError(f"{path}: keep_insertions is not possible for A3M (rows are ragged by "
                          "design)")
    if fmt in ("fasta", "a2m", "a3m"):
        names, rows = _parse_fasta(lines, path, skip_comment=(fmt == "a3m"))
        if fmt in ("a2m", "a3m"):
            kept = [k for k, n in enumerate(names) if not _is_annotation(n)]
            names, rows = [names[k] for k in kept], [rows[k] for k in kept]
    elif fmt == "stockholm":
        names, rows = _parse_stockholm(lines, path)
    else:
        rows = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        names = [f"seq{i + 1}" for i in range(len(rows))]
    if not rows:
        raise FormatError(f"{path}: no sequences found (empty {fmt} alignment)")
    match = [_match_only(r) for r in rows] if fmt in ("a2m", "a3m") else rows
    if not keep_insertions:
        rows = match
    _check(names, rows, path, fmt, keep_insertions)
    if not match[0]:
        raise FormatError(f"{path}: record {names[0]!r} has no match columns (every letter is "
                          f"a lowercase insertion or '.'); is this really {fmt}?")
    if not any(row.strip("-.") for row in match):
        raise FormatError(f"{path}: alignment of {len(rows)} records has only gaps")
    return names, rows


HH_ANNOTATIONS = ("ss_pred", "ss_conf", "ss_dssp", "sa_dssp")


def _is_annotation(name: str) -> bool:
    """An HH-suite annotation record of an A2M/A3M file (secondary structure, consensus)."""
    return name in HH_ANNOTATIONS or name.endswith("_consensus")


def _match_only(row: str) -> str:
    """Drop insertions (lowercase letters) and insert-column gaps (``.``)."""
    return "".join(c for c in row if not (c.islower() or c == "."))


def _parse_fasta(lines: list[str], path: Path, skip_comment: bool = False
                 ) -> tuple[list[str], list[str]]:
    """FASTA-like records; ``skip_comment`` skips a ``#`` line before the first header (A3M)."""
    names: list[str] = []
    chunks: list[list[str]] = []
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith(";") or (skip_comment and not names and line.startswith("#")):
            continue
        if line.startswith(">"):
            name = line[1:].split(None, 1)[0] if line[1:].strip() else ""
            if not name:
                raise FormatError(f"{path}, line {lineno}: record header without a name")
            names.append(name)
            chunks.append([])
        else:
            if not names:
                raise FormatError(
                    f"{path}, line {lineno}: sequence data before the first '>' header"
                )
            chunks[-1].append(line.replace(" ", ""))
    rows = ["".join(c) for c in chunks]
    for name, row in zip(names, rows):
        if not row:
            raise FormatError(f"{path}: record {name!r} has no sequence")
    return names, rows


def _parse_stockholm(lines: list[str], path: Path) -> tuple[list[str], list[str]]:
    if not lines or not lines[0].startswith("# STOCKHOLM"):
        raise FormatError(f"{path}, line 1: Stockholm file must start with '# STOCKHOLM 1.0'")
    order: list[str] = []
    parts: dict[str, list[str]] = {}
    for lineno, line in enumerate(lines[1:], 2):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s == "//":
            break
        fields = s.split()
        if len(fields) != 2:
            raise FormatError(
                f"{path}, line {lineno}: expected 'NAME SEQUENCE', got {len(fields)} fields"
            )
        name, row = fields
        if name not in parts:
            order.append(name)
            parts[name] = []
        parts[name].append(row)
    rows = ["".join(parts[n]).replace(".", "-") for n in order]
    return order, rows


def _check(names: list[str], rows: list[str], path: Path, fmt: str, insertions: bool = False) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise FormatError(
                f"{path}: duplicate record name {name!r} (records {seen[name] + 1} and {i + 1})"
            )
        seen[name] = i
    length = len(rows[0])
    for name, row in zip(names, rows):
        if len(row) != length:
            what = "match columns" if fmt in ("a2m", "a3m") else "columns"
            hint = ""
            if insertions:
                what = "columns with insertions"
                hint = ("; A2M rows must be padded with '.' in insert columns (unpadded rows are "
                        "A3M: give the file an .a3m suffix)")
            raise FormatError(
                f"{path}: ragged alignment: record {name!r} has {len(row)} {what}, "
                f"the first record {names[0]!r} has {length}{hint}"
            )
