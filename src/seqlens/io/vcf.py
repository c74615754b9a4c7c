"""Variants in: VCF files (plain or gzip) and tables of offsets into sequences.

A :class:`Variant` is one reference/alternate allele pair at a 1-based position ``pos`` of a
chromosome (or of a FASTA record), with the VCF's ``ID`` and the file and line it came from (named
in every later error). Multi-allelic VCF records (``ALT`` ``A,T``) become one variant per allele.
Alleles are upper-cased and must be made of ``ACGTN``. Symbolic alleles (``<DEL>``, ``*``, ``.``,
breakends with ``[``/``]``) cannot be scored from a sequence window: they are skipped, with one
warning giving their number and the first line.

:func:`read_variant_table` reads the genome-free form: a CSV/TSV with columns ``name`` (a FASTA
record), ``offset`` (0-based position in that record), ``ref``, ``alt`` and optionally ``id``.
:func:`read_variants` picks the reader by content (a VCF starts with ``##fileformat=VCF`` or a
``#CHROM`` header) or by name (``.vcf``, ``.vcf.gz``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from seqlens.errors import FormatError
from seqlens.io.text import default_sep, iter_lines, read_csv

_ALLELE = re.compile(r"[ACGTN]+")


@dataclass(frozen=True)
class Variant:
    """``ref`` -> ``alt`` at 1-based ``pos`` of ``chrom``; ``source`` is ``"file, line N"``."""

    chrom: str
    pos: int
    ref: str
    alt: str
    id: str = ""
    source: str = ""

    @property
    def kind(self) -> str:
        """``"snv"``, ``"mnv"`` (same length, several letters), ``"insertion"`` or ``"deletion"``."""
        if len(self.ref) == len(self.alt):
            return "snv" if len(self.ref) == 1 else "mnv"
        return "insertion" if len(self.alt) > len(self.ref) else "deletion"


def _symbolic(alt: str) -> bool:
    return alt in (".", "*") or alt.startswith("<") or "[" in alt or "]" in alt


def _allele(value: str, what: str, where: str) -> str:
    allele = value.strip().upper()
    if not _ALLELE.fullmatch(allele):
        raise FormatError(f"{where}: {what} {value!r} is not a sequence of A, C, G, T, N")
    return allele


def _warn_skipped(path: Path, skipped: list[tuple[int, str]]) -> None:
    if skipped:
        line, alt = skipped[0]
        warnings.warn(f"{path}: skipped {len(skipped)} symbolic ALT allele(s) that cannot be scored from "
                      f"sequence (first: {alt!r} on line {line})", stacklevel=3)


def read_vcf(path: str | Path) -> list[Variant]:
    """Variants of a VCF file (plain or gzip), one per ALT allele, in file order.

    Raises :class:`FormatError` naming the file, line and value for a data line with fewer than 5
    columns, a ``POS`` that is not an integer >= 1, or a ``REF``/``ALT`` that is not a sequence of
    ``ACGTN`` (symbolic ALTs are skipped with a warning), and for a file without variants.
    """
    path = Path(path)
    variants: list[Variant] = []
    skipped: list[tuple[int, str]] = []
    for lineno, line in enumerate(iter_lines(path), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 5:
            fields = line.split()
        where = f"{path}, line {lineno}"
        if len(fields) < 5:
            raise FormatError(f"{where}: a VCF data line needs CHROM, POS, ID, REF and ALT columns, got "
                              f"{len(fields)} ({line[:60]!r})")
        chrom, pos_text, vid, ref_text, alts = (f.strip() for f in fields[:5])
        try:
            pos = int(pos_text)
        except ValueError:
            pos = 0
        if pos < 1:
            raise FormatError(f"{where}: POS {pos_text!r} is not a 1-based position (an integer >= 1)")
        ref = _allele(ref_text, "REF", where)
        for alt_text in alts.split(","):
            if _symbolic(alt_text.strip()):
                skipped.append((lineno, alt_text.strip()))
                continue
            alt = _allele(alt_text, "ALT", where)
            variants.append(Variant(chrom, pos, ref, alt, "" if vid == "." else vid, where))
    _warn_skipped(path, skipped)
    if not variants:
        raise FormatError(f"{path}: no variants to score (no VCF data lines with sequence alleles)")
    return variants


def read_variant_table(path: str | Path) -> list[Variant]:
    """Variants of a CSV/TSV with columns ``name``, ``offset`` (0-based), ``ref``, ``alt`` and
    optionally ``id``; ``pos`` becomes ``offset + 1``. Errors name the file, line and value."""
    path = Path(path)
    df = read_csv(path, what="variant table", sep=default_sep(path), dtype=str, keep_default_na=False)
    missing = [c for c in ("name", "offset", "ref", "alt") if c not in df.columns]
    if missing:
        raise FormatError(f"{path}: variant table needs columns name, offset, ref, alt; missing "
                          f"{missing} (columns are {list(df.columns)})")
    variants: list[Variant] = []
    skipped: list[tuple[int, str]] = []
    for i, row in enumerate(df.itertuples(index=False)):
        where = f"{path}, line {i + 2}"
        row = row._asdict()
        try:
            offset = int(row["offset"])
        except ValueError:
            offset = -1
        if offset < 0:
            raise FormatError(f"{where}: offset {row['offset']!r} is not a 0-based position "
                              "(an integer >= 0)")
        if not str(row["name"]).strip():
            raise FormatError(f"{where}: empty name")
        ref = _allele(row["ref"], "ref", where)
        if _symbolic(str(row["alt"]).strip()):
            skipped.append((i + 2, str(row["alt"]).strip()))
            continue
        alt = _allele(row["alt"], "alt", where)
        variants.append(Variant(str(row["name"]).strip(), offset + 1, ref, alt,
                                str(row.get("id", "")).strip(), where))
    _warn_skipped(path, skipped)
    if not variants:
        raise FormatError(f"{path}: no variants to score")
    return variants


def is_vcf(path: str | Path) -> bool:
    """A VCF by its first line (``##fileformat=VCF`` or ``#CHROM``) or, failing that, its name."""
    path = Path(path)
    lines = iter_lines(path)
    first = next((line for line in lines if line.strip()), "")
    lines.close()
    if first.startswith(("##fileformat=VCF", "#CHROM")):
        return True
    return path.name.lower().endswith((".vcf", ".vcf.gz", ".vcf.bgz"))


def read_variants(path: str | Path) -> list[Variant]:
    """:func:`read_vcf` for a VCF, :func:`read_variant_table` otherwise (see :func:`is_vcf`)."""
    return read_vcf(path) if is_vcf(path) else read_variant_table(path)
