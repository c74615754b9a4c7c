"""Random access to an indexed reference genome (pyfaidx; nothing is loaded whole).

Coordinates are 0-based, half-open (BED convention): ``fetch("chr1", 100, 110)`` is the 10 letters
of 1-based positions 101..110. Letters come back upper-case; soft-masking is dropped.
"""

from __future__ import annotations

from pathlib import Path

from seqlens.errors import FormatError, SequenceError


class Genome:
    """An indexed FASTA genome (a ``.fai`` index is built next to the file when missing).

    Parameters
    ----------
    path : FASTA file (plain or bgzip-compressed, as pyfaidx reads it).

    ``chrom_sizes`` maps chromosome name to length (letters). :meth:`fetch` raises
    :class:`~seqlens.errors.SequenceError` naming the genome file, the chromosome and the interval
    when the chromosome is unknown or the interval leaves it (``source`` names the record that asked,
    e.g. ``"peaks.bed, line 12"``).
    """

    def __init__(self, path: str | Path):
        import pyfaidx

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(2, "genome FASTA not found", str(self.path))
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=True,
                                        rebuild=False, build_index=True)
        except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as exc:
            raise FormatError(f"{self.path}: not an indexable genome FASTA ({exc})") from None
        self.chrom_sizes: dict[str, int] = {name: len(rec) for name, rec in self._fasta.records.items()}

    def __contains__(self, chrom: str) -> bool:
        return chrom in self.chrom_sizes

    def check_interval(self, chrom: str, start: int, end: int, source: str | None = None) -> None:
        """Raise :class:`SequenceError` unless ``[start, end)`` lies inside chromosome ``chrom``."""
        where = f"{source}: " if source else ""
        if chrom not in self.chrom_sizes:
            names = list(self.chrom_sizes)
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise SequenceError(f"{where}chromosome {chrom!r} is not in the genome {self.path} "
                                f"(it has {shown})")
        size = self.chrom_sizes[chrom]
        if start < 0 or end > size or start >= end:
            raise SequenceError(f"{where}interval {chrom}:{start}-{end} is outside {chrom} "
                                f"(length {size}) of the genome {self.path}")

    def fetch(self, chrom: str, start: int, end: int, source: str | None = None) -> str:
        """The letters of ``chrom[start:end]`` (0-based, half-open), upper-case."""
        self.check_interval(chrom, start, end, source)
        return str(self._fasta[chrom][start:end])

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
