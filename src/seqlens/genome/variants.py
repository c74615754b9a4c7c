"""Reference and alternate sequence windows centred on variants.

Coordinates: a :class:`~seqlens.io.vcf.Variant` has a 1-based ``pos`` (VCF); ``p = pos - 1`` is the
0-based start of its ``ref`` allele, which covers ``[p, p + len(ref))``.

Windows of length ``L`` (``h = L // 2``):

* reference window: ``genome[p - h : p - h + L]``; the first letter of ``ref`` sits at offset
  ``h`` (``ref_offset``).
* alternate window: the same stretch with ``ref`` replaced by ``alt``. An indel changes the length
  by ``d = len(alt) - len(ref)``; the window keeps length ``L`` by trimming (insertion) or extending
  with the genome's own flanking letters (deletion) symmetrically: ``|d| // 2`` letters on the
  left and the other ``|d| - |d| // 2`` on the right. So for an insertion the alternate window is
  ``genome[p - h + |d|//2 : p] + alt + genome[p + len(ref) : ...]`` filled to ``L``, and ``alt``
  starts at offset ``h - |d|//2`` (``alt_offset``); for a deletion it starts at ``h + |d|//2``.
  SNVs and same-length substitutions have identical flanks in both windows.
* letters outside the chromosome (or outside a FASTA record, for sequences without a genome) are
  ``N``; such windows are counted as ``padded``. :func:`encode_windows` encodes ``N`` as all-zero
  columns by default, as ``seqlens dataset`` stores genome windows (``ambiguous="uniform"``: 0.25).

An allele too long for the window (``len(alt)`` or the shifted flank beyond ``L``) is refused.
The genome is anything with ``chrom_sizes`` and ``fetch(chrom, start, end)``: a
:class:`seqlens.genome.reference.Genome` (an indexed genome FASTA), or :class:`Sequences` (a FASTA
of short sequences read into memory, plain or gzip, whose record names the variants use as
chromosomes: the genome-free form, e.g. sequences already centred on their variants).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlens.alphabet import one_hot
from seqlens.errors import SequenceError
from seqlens.io.fasta import iter_fasta
from seqlens.io.vcf import Variant


class Sequences:
    """A FASTA of sequences held in memory with the genome interface (``chrom_sizes``,
    ``fetch``): record names play the chromosomes. Letters are upper-cased."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._seqs = {name: seq.upper() for name, seq in iter_fasta(self.path)}
        self.chrom_sizes = {name: len(seq) for name, seq in self._seqs.items()}

    def fetch(self, chrom: str, start: int, end: int, source: str | None = None) -> str:
        """``chrom[start:end]`` (0-based, half-open), inside the record."""
        size = self.chrom_sizes.get(chrom)
        if size is None or start < 0 or end > size or start >= end:
            where = f"{source}: " if source else ""
            raise SequenceError(f"{where}interval {chrom}:{start}-{end} is not inside a record of "
                                f"{self.path}")
        return self._seqs[chrom][start:end]

    def __enter__(self) -> Sequences:
        return self

    def __exit__(self, *exc) -> None:
        pass


@dataclass(frozen=True)
class VariantWindow:
    """The two windows of one variant: letters, offsets of the alleles, and whether any letter
    was padded with ``N`` beyond the chromosome ends."""

    ref: str
    alt: str
    ref_offset: int
    alt_offset: int
    padded: bool


def check_variant(genome, variant: Variant) -> None:
    """Raise :class:`SequenceError` naming the variant's file and line when its chromosome is not
    in ``genome``, its ``ref`` allele leaves the chromosome, or ``ref`` differs from the genome
    (``N`` in either matches anything)."""
    where = variant.source or f"variant {variant.chrom}:{variant.pos}"
    if variant.chrom not in genome.chrom_sizes:
        names = list(genome.chrom_sizes)
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise SequenceError(f"{where}: chromosome {variant.chrom!r} is not in {_name(genome)} "
                            f"(it has {shown})")
    p, size = variant.pos - 1, genome.chrom_sizes[variant.chrom]
    if p + len(variant.ref) > size:
        raise SequenceError(f"{where}: REF {variant.ref!r} at {variant.chrom}:{variant.pos} runs past the "
                            f"end of {variant.chrom} (length {size}) in {_name(genome)}")
    found = genome.fetch(variant.chrom, p, p + len(variant.ref))
    if any(a != b and "N" not in (a, b) for a, b in zip(variant.ref, found)):
        raise SequenceError(f"{where}: REF {variant.ref!r} does not match the genome {_name(genome)}, "
                            f"which has {found!r} at {variant.chrom}:{variant.pos}")


def _name(genome) -> str:
    return str(getattr(genome, "path", "the genome"))


def _fetch(genome, chrom: str, start: int, end: int) -> tuple[str, bool]:
    """``genome[chrom][start:end]`` with ``N`` outside the chromosome; ``(letters, padded)``."""
    if end <= start:
        return "", False
    size = genome.chrom_sizes[chrom]
    lo, hi = max(start, 0), min(end, size)
    inside = genome.fetch(chrom, lo, hi) if lo < hi else ""
    left, right = min(lo, end) - start, end - max(hi, start)
    return "N" * left + inside + "N" * right, left > 0 or right > 0


def variant_window(genome, variant: Variant, length: int) -> VariantWindow:
    """The reference and alternate windows of ``variant`` (see the module doc for the layout)."""
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    h, p = length // 2, variant.pos - 1
    r, a = len(variant.ref), len(variant.alt)
    d = a - r
    shift = int(np.sign(d)) * (abs(d) // 2)
    left_len = h - shift
    right_len = length - left_len - a
    if r > length - h or left_len < 0 or right_len < 0:
        where = variant.source or f"variant {variant.chrom}:{variant.pos}"
        raise SequenceError(f"{where}: allele {variant.ref!r} -> {variant.alt!r} is too long for a "
                            f"{length}-letter window")
    ref, pad_ref = _fetch(genome, variant.chrom, p - h, p - h + length)
    left, pad_left = _fetch(genome, variant.chrom, p - left_len, p)
    right, pad_right = _fetch(genome, variant.chrom, p + r, p + r + right_len)
    alt = left + variant.alt + right
    return VariantWindow(ref, alt, h, left_len, pad_ref or pad_left or pad_right)


def variant_windows(genome, variants: Iterable[Variant], length: int) -> list[VariantWindow]:
    """:func:`variant_window` of every variant (after :func:`check_variant`)."""
    out = []
    for v in variants:
        check_variant(genome, v)
        out.append(variant_window(genome, v, length))
    return out


def encode_windows(windows: list[VariantWindow], ambiguous: str = "zeros") -> tuple[np.ndarray, np.ndarray]:
    """One-hot ``(N, 4, L)`` float32 reference and alternate windows; ``ambiguous`` encodes ``N``
    and other ambiguity codes (``"zeros"`` or ``"uniform"``, as :func:`seqlens.alphabet.one_hot`)."""
    return (one_hot([w.ref for w in windows], ambiguous=ambiguous),
            one_hot([w.alt for w in windows], ambiguous=ambiguous))
