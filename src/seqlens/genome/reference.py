"""Random access to an indexed reference genome (nothing is loaded whole).

Coordinates are 0-based, half-open (BED convention): ``fetch("chr1", 100, 110)`` is the 10 letters
of 1-based positions 101..110. Letters come back upper-case; soft-masking is dropped.

:meth:`Genome.read_windows` one-hot encodes many equal-length windows at once: their bytes are
found through the ``.fai`` index in a read-only memory map and decoded by a compiled loop; the
mapped pages are dropped from the process once they pass :data:`MAPPED_BYTES`, so memory stays
within a bound however many windows are read. bgzip-compressed genomes are read through pyfaidx
instead (slower, same result).
"""

from __future__ import annotations

import hashlib
import mmap
import os
from pathlib import Path

import numba
import numpy as np

from seqlens.alphabet import DNA
from seqlens.errors import FormatError, SequenceError
from seqlens.io.text import GZIP_MAGIC

MAPPED_BYTES = 64 << 20  # genome pages a reader may keep mapped before dropping them


def _file_resident_bytes() -> int | None:
    """This process's resident file-backed (and shared) memory in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[2]) * mmap.PAGESIZE
    except (OSError, ValueError, IndexError):
        return None


def _cache_index(path: Path, suffix: str) -> Path | None:
    """Where to keep the index of ``path`` when it has none beside it and its folder is read-only:
    a per-user cache keyed by the file's absolute path, size and modification time (so an edited
    genome is indexed again). None when pyfaidx's default ``<path><suffix>`` can be used."""
    beside = Path(str(path) + suffix)
    if beside.exists() or os.access(path.parent, os.W_OK):
        return None
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seqlens" / "fai"
    root.mkdir(parents=True, exist_ok=True)
    return root / f"{path.name}.{key}{suffix}"


class Genome:
    """An indexed FASTA genome. A ``.fai`` index is built next to the file when missing, or, when
    that folder is read-only, in ``$XDG_CACHE_HOME/seqlens/fai/`` (default ``~/.cache``).

    Parameters
    ----------
    path : FASTA file (plain or bgzip-compressed, as pyfaidx reads it).

    ``chrom_sizes`` maps chromosome name to length (letters), in file order. :meth:`fetch` raises
    :class:`~seqlens.errors.SequenceError` naming the genome file, the chromosome and the interval
    when the chromosome is unknown or the interval leaves it (``source`` names the record that asked,
    e.g. ``"peaks.bed, line 12"``).
    """

    def __init__(self, path: str | Path):
        import pyfaidx

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(2, "genome FASTA not found", str(self.path))
        with open(self.path, "rb") as fh:
            self.compressed = fh.read(2) == GZIP_MAGIC
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=True,
                                        rebuild=False, build_index=True,
                                        indexname=_cache_index(self.path, ".fai"),
                                        gzi_indexname=_cache_index(self.path, ".gzi")
                                        if self.compressed else None)
        except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, ValueError) as exc:
            raise FormatError(f"{self.path}: not an indexable genome FASTA ({exc})") from None
        self.chrom_sizes: dict[str, int] = {name: len(rec) for name, rec in self._fasta.records.items()}
        self._index = {name: i for i, name in enumerate(self.chrom_sizes)}
        self._sizes = np.array(list(self.chrom_sizes.values()), dtype=np.int64)
        self._layout = None if self.compressed else _read_fai(Path(self._fasta.faidx.indexname),
                                                              list(self.chrom_sizes))
        self._map = self._bytes = None
        if not self.compressed and self.path.stat().st_size:
            with open(self.path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self._bytes = np.frombuffer(self._map, dtype=np.uint8)
            self._span, self._mapped_before = (len(self._bytes), 0), _file_resident_bytes() or 0

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

    def read_windows(self, chroms, starts, length: int, ambiguous: str = "zeros",
                     dtype=np.uint8, return_counts: bool = False):
        """One-hot ``(n, 4, length)`` of the windows ``[starts[i], starts[i] + length)``.

        Parameters
        ----------
        chroms : ``n`` chromosome names (or one name for all windows).
        starts : ``n`` 0-based window starts; a window may reach past either end of its chromosome:
            those positions are encoded as ``N``.
        ambiguous : ``"zeros"`` (``N`` and other IUPAC codes give all-zero columns) or
            ``"uniform"`` (``N`` -> 0.25 each, as :func:`seqlens.alphabet.one_hot`).
        dtype : of the result; ``uniform`` needs a float type.
        return_counts : also return the ``(n, 4)`` int64 counts of unambiguous A, C, G, T.

        Raises :class:`SequenceError` naming the genome, chromosome and 1-based position of a
        letter that is neither ACGT nor an IUPAC code, and for an unknown chromosome.
        """
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        names = [chroms] * len(starts) if isinstance(chroms, str) else list(chroms)
        if len(names) != len(starts):
            raise ValueError(f"{len(names)} chromosomes for {len(starts)} window starts")
        table, codes = _tables(ambiguous, dtype)
        n = len(starts)
        out = np.empty((n, 4, length), dtype=dtype)
        counts = np.zeros((n, 4), np.int64)
        if n == 0:
            return (out, counts) if return_counts else out
        try:
            idx = np.fromiter((self._index[c] for c in names), dtype=np.int64, count=n)
        except KeyError:
            for c in names:
                self.check_interval(c, 0, 1)
            raise
        sizes = self._sizes[idx]
        lo = np.clip(starts, 0, sizes)
        hi = np.clip(starts + length, 0, sizes)
        hi = np.maximum(hi, lo)
        pads = (lo - starts).astype(np.int64)
        if self._layout is None:  # bgzip: letters through pyfaidx, back to back
            pieces = [self._fasta[c][int(a):int(b)].encode() if b > a else b""
                      for c, a, b in zip(names, lo, hi)]
            buf = np.frombuffer(b"".join(pieces), dtype=np.uint8)
            first = np.concatenate([[0], np.cumsum([len(q) for q in pieces])[:-1]]).astype(np.int64)
            linebases = linewidth = np.full(n, 1 << 62, np.int64)
            column = np.zeros(n, np.int64)
        else:
            buf = self._bytes
            first, last = self._byte_spans(idx, lo, hi)
            linebases, linewidth = self._layout["linebases"][idx], self._layout["linewidth"][idx]
            column = lo % linebases
        try:
            bad = _decode(buf, first, pads, hi - lo, column, linebases, linewidth, codes, table,
                          bool(table[ord("N")].any()), out, counts)
        finally:
            if buf is self._bytes:
                self._release(first, last)
        if bad >= 0:
            seq = self._fasta[names[bad]][int(lo[bad]):int(hi[bad])]
            for k, letter in enumerate(seq):
                if codes[ord(letter) if ord(letter) < 256 else 0] < 0:
                    raise SequenceError(f"{self.path}: invalid letter {letter!r} at {names[bad]}:"
                                        f"{int(lo[bad]) + k + 1} (1-based); a genome holds ACGT and "
                                        "IUPAC codes")
            raise FormatError(f"{self.path}: lines of {names[bad]} do not have the lengths its index "
                              f"{self._fasta.faidx.indexname} gives (remove the index to rebuild it)")
        return (out, counts) if return_counts else out

    def _byte_spans(self, idx, lo, hi) -> tuple[np.ndarray, np.ndarray]:
        """Where the letters of each ``[lo, hi)`` of chromosome number ``idx`` begin and end in the
        file (newlines inside)."""
        layout = self._layout
        offset, linebases, linewidth = (layout[k][idx] for k in ("offset", "linebases", "linewidth"))
        first = offset + (lo // linebases) * linewidth + lo % linebases
        last = offset + ((hi - 1) // linebases) * linewidth + (hi - 1) % linebases + 1
        last = np.where(hi > lo, last, first)
        if len(last) and last.max() > len(self._bytes):
            raise FormatError(f"{self.path}: shorter than its index says (truncated file? remove "
                              f"{self._fasta.faidx.indexname} to rebuild it)")
        return first, last

    def _release(self, first: np.ndarray, last: np.ndarray) -> None:
        """Drop the mapped pages of the genome from this process (the page cache keeps them) once
        they hold more than :data:`MAPPED_BYTES`. Reading a page maps its neighbours too (the
        kernel's fault-around), so the pages are counted in the process's file-backed resident
        memory; the resident memory stays within a bound however many windows are read."""
        if not len(first) or not hasattr(mmap, "MADV_DONTNEED"):
            return
        self._span = (min(self._span[0], int(first.min())), max(self._span[1], int(last.max())))
        mapped = _file_resident_bytes()
        if mapped is not None and mapped - self._mapped_before < MAPPED_BYTES:
            return
        lo, hi = self._span
        lo -= lo % mmap.PAGESIZE
        try:
            self._map.madvise(mmap.MADV_DONTNEED, lo, max(hi - lo, 1))
        except (OSError, ValueError):
            pass  # only an optimisation
        self._span = (len(self._bytes), 0)
        self._mapped_before = _file_resident_bytes() or 0

    def close(self) -> None:
        self._fasta.close()
        if self._map is not None:
            self._bytes = None
            try:
                self._map.close()
            except BufferError:
                pass  # a view of the map is still alive; the map closes when it goes
            self._map = None

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_fai(path: Path, names: list[str]) -> dict:
    """Columns of a ``.fai`` index as arrays in the order of ``names``."""
    rows = {}
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 5:
            rows[fields[0]] = [int(v) for v in fields[1:5]]
    table = np.array([rows[n] for n in names], dtype=np.int64).reshape(-1, 4)
    return {"length": table[:, 0],
            "offset": table[:, 1], "linebases": np.maximum(table[:, 2], 1),
            "linewidth": np.maximum(table[:, 3], 1)}


_TABLES: dict = {}


def _tables(ambiguous: str, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(256, 4)`` byte -> one-hot row in ``dtype``, and ``(256,)`` byte -> code for
    :func:`_decode` (0..3 ACGT, 4 ambiguity code, -1 invalid)."""
    dtype = np.dtype(dtype)
    key = (ambiguous, dtype.str)
    if key not in _TABLES:
        if ambiguous not in ("zeros", "uniform"):
            raise ValueError(f"ambiguous must be 'zeros' or 'uniform', got {ambiguous!r}")
        if ambiguous == "uniform" and dtype.kind != "f":
            raise ValueError(f"ambiguous='uniform' needs a float dtype, got {dtype}")
        rows = DNA.lookup_table(ambiguous)
        codes = np.where(np.isnan(rows[:, 0]), -1, 4).astype(np.int8)
        for i, letter in enumerate(DNA.letters):
            codes[[ord(letter), ord(letter.lower())]] = i
        _TABLES[key] = (np.nan_to_num(rows).astype(dtype), codes)
    return _TABLES[key]


@numba.njit(cache=True, nogil=True)
def _decode(buf, first, pads, n_letters, column, linebases, linewidth, codes, table, fill, out, counts):
    """Fill ``out[i]`` with ``pads[i]`` padding columns, then the ``n_letters[i]`` letters found from
    byte ``first[i]`` of ``buf`` (a FASTA file whose lines hold ``linebases[i]`` letters in
    ``linewidth[i]`` bytes; the first letter in column ``column[i]`` of its line), then padding to
    the end; ``counts[i]`` gets the number of A, C, G, T.

    ``codes`` maps a byte to its letter index (0..3), 4 for an ambiguity code, -1 for anything
    else; with ``fill``, ambiguity codes and padding (``N``) get their ``table`` row, otherwise
    they stay all-zero. Returns the first window with a byte coded -1, or -1.
    """
    n, A, L = out.shape
    code = np.empty(L, np.int8)
    letter = np.empty(L, np.uint8)
    for i in range(n):
        p = min(pads[i], L)
        code[:p] = 4
        letter[:p] = 78  # N
        pos = numba.uint64(first[i])
        col = column[i]
        lb = linebases[i]
        j = p
        stop = min(p + n_letters[i], L)
        low = numba.int8(0)
        while j < stop:
            width = min(lb - col, stop - j)
            if fill:
                for t in range(width):
                    b = buf[pos + numba.uint64(t)]
                    c = codes[b]
                    low = min(low, c)
                    code[j + t] = c
                    letter[j + t] = b
            else:
                for t in range(width):
                    c = codes[buf[pos + numba.uint64(t)]]
                    low = min(low, c)
                    code[j + t] = c
            j += width
            pos += numba.uint64(width)
            col += width
            if col == lb:
                pos += numba.uint64(linewidth[i] - lb)
                col = 0
        code[stop:] = 4
        letter[stop:] = 78
        if low < 0:
            return i
        for a in range(A):
            total = 0
            for k in range(L):
                v = code[k] == a
                out[i, a, k] = v
                total += v
            counts[i, a] = total
        if fill:
            for k in range(L):
                if code[k] == 4:
                    out[i, :, k] = table[letter[k]]
    return -1
