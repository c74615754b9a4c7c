"""Regions of a genome from BED / narrowPeak files, and the fixed-length windows centred on them.

Coordinates are 0-based, half-open (BED). A window of length ``L`` centred on base ``c`` covers
``[c - L // 2, c - L // 2 + L)``: for an even ``L``, ``c`` is the first base of the right half,
for an odd ``L`` the middle base (tangermeme's ``extract_loci`` convention). The centre is the
summit ``start + column 10`` of a narrowPeak line, or the middle ``start + (end - start) // 2``.
A window's coordinates do not depend on its strand; on the ``-`` strand its sequence (and signal)
is reverse-complemented, so the model always reads the region 5' to 3'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlens.errors import FormatError, ParameterError
from seqlens.io.text import iter_lines

STRANDS = {"+": 1, "-": -1, ".": 0}
CHUNK_LINES = 1 << 17  # BED lines parsed at once (bigger files are read in chunks, with progress)
CENTRES = ("auto", "summit", "middle")


@dataclass
class Regions:
    """The regions of one BED file, as arrays of length ``n`` (lines skipped by ``chroms`` are
    counted in ``n_skipped``).

    ``chrom`` (object, str), ``start``/``end`` (int64), ``summit`` (int64 offset from ``start``,
    -1 when the line has none), ``strand`` (int8: +1, -1, 0 for ``.``), ``name`` (object, str,
    ``""`` when absent), ``line`` (int64, 1-based line number in ``path``).
    """

    path: Path
    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    summit: np.ndarray
    strand: np.ndarray
    name: np.ndarray
    line: np.ndarray
    n_skipped: int = 0

    def __len__(self) -> int:
        return len(self.start)

    def where(self, i: int) -> str:
        """``"<path>, line <k>"`` of region ``i``, for error messages."""
        return f"{self.path}, line {int(self.line[i])}"


def read_bed(path: str | Path, genome=None, chroms=None, verbose: bool = False) -> Regions:
    """Read a BED (3+ columns) or narrowPeak file.

    Columns used: 1-3 (chrom, start, end), 4 (name, optional), 6 (strand ``+``/``-``/``.``,
    optional), 10 (narrowPeak summit offset from ``start``; -1 = none). ``track``/``browser``
    lines, ``#`` comments and blank lines are skipped; fields are tab-separated (runs of spaces are
    accepted when a line has no tab).

    ``genome`` (a :class:`~seqlens.genome.reference.Genome`), when given, must hold every region:
    an unknown chromosome or an interval past the chromosome's end is an error. ``chroms`` keeps
    only regions on those chromosomes (the others are counted in ``n_skipped``).

    Raises :class:`FormatError` naming the file, line and value for malformed lines (too few
    columns, coordinates that are not integers, ``start < 0``, ``end <= start``, an unknown strand,
    a summit outside its region) and :class:`~seqlens.errors.SequenceError` for regions the genome
    does not hold. A file without regions is an error too. ``verbose`` shows a progress bar.

    Well-formed tab-separated files are read by pandas' C parser; any other file, and any file
    with a bad line, goes through a line-by-line reader that names the first bad line.
    """
    path = Path(path)
    keep = None if chroms is None else set(chroms)
    regions = _read_fast(path, keep, verbose)
    if regions is None:
        return _read_lines(path, genome, keep, verbose)
    if genome is not None:
        for name in dict.fromkeys(regions.chrom.tolist()):
            sel = np.flatnonzero(regions.chrom == name)
            size = genome.chrom_sizes.get(name)
            i = sel[0] if size is None else sel[np.argmax(regions.end[sel])]
            if size is None or regions.end[i] > size:
                genome.check_interval(name, int(regions.start[i]), int(regions.end[i]), regions.where(i))
    return regions


def _read_fast(path: Path, keep, verbose: bool) -> Regions | None:
    """The regions of a well-formed tab-separated BED file, or None when the file needs
    :func:`_read_lines` (for anything unusual, or to name the first bad line)."""
    import csv
    import gzip
    import io

    import pandas as pd
    from tqdm.auto import tqdm

    from seqlens.io.text import GZIP_MAGIC

    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        if raw[:2] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError, ValueError):
        return None
    data = np.frombuffer(raw, np.uint8)
    if not len(data) or b"\r" in raw[:1 << 16]:
        return None
    starts = np.concatenate([[0], np.flatnonzero(data == 10) + 1])
    starts = starts[starts < len(data)]
    first = data[starts]
    skip = (first == 10) | (first == ord("#"))
    for k in np.flatnonzero(np.isin(first, (ord("t"), ord("b"), ord(" "), ord("\t")))):
        head = raw[starts[k]:starts[k] + 8]
        if head[:1] in (b" ", b"\t"):
            return None  # a line of blanks, or one starting with them
        skip[k] |= head.startswith((b"track", b"browser"))
    lines = np.flatnonzero(~skip) + 1
    if not len(lines):
        return None
    begin = int(starts[lines[0] - 1])
    stop = raw.find(b"\n", begin)
    n_cols = raw[begin:stop if stop >= 0 else len(raw)].count(b"\t") + 1
    if n_cols < 3:
        return None
    use = [c for c in (0, 1, 2, 3, 5, 9) if c < n_cols]
    dtype = {c: "category" for c in (0, 3, 5) if c < n_cols}
    parts = []
    try:  # a line with more fields than the first is a ParserError; one with fewer gives "" fields
        with tqdm(total=len(lines), disable=not verbose, desc=f"reading {path.name}", unit=" lines") as bar:
            chunks = pd.read_csv(io.BytesIO(raw), sep="\t", header=None, dtype=dtype,
                                 skiprows=np.flatnonzero(skip).tolist(), na_filter=False,
                                 quoting=csv.QUOTE_NONE, engine="c",
                                 chunksize=CHUNK_LINES if len(lines) > CHUNK_LINES else None)
            for chunk in chunks if len(lines) > CHUNK_LINES else [chunks]:
                parts.append(chunk[use])
                bar.update(len(chunk))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        return None
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    del raw, data
    if len(df) != len(lines) or any(df[c].dtype.kind not in "iu" for c in (1, 2, 9) if c in df):
        return None
    start, end = df[1].to_numpy(np.int64), df[2].to_numpy(np.int64)
    summit = df[9].to_numpy(np.int64) if 9 in df else np.full(len(df), -1, np.int64)
    strand_text = df[5].astype(str) if 5 in df else None
    if strand_text is not None and not strand_text.isin(list(STRANDS)).all():
        return None
    bad_summit = (summit != -1) & ((summit < 0) | (summit >= end - start))
    if (start < 0).any() or (end <= start).any() or bad_summit.any():
        return None
    chrom = df[0].astype(str).to_numpy(object)
    name = df[3].astype(str).to_numpy(object) if 3 in df else np.full(len(df), "", object)
    name[(name == ".")] = ""
    strand = (strand_text.map(STRANDS).to_numpy(np.int8) if strand_text is not None
              else np.zeros(len(df), np.int8))
    sel = np.ones(len(df), bool) if keep is None else np.isin(chrom, list(keep))
    if not sel.any():
        return None  # the line reader names the problem
    return Regions(path, chrom[sel], start[sel], end[sel], summit[sel], strand[sel], name[sel], lines[sel],
                   int((~sel).sum()))


def _read_lines(path: Path, genome, keep, verbose: bool) -> Regions:
    """:func:`read_bed` line by line (the reader that names the first bad line)."""
    from tqdm.auto import tqdm

    cols: dict[str, list] = {k: [] for k in ("chrom", "start", "end", "summit", "strand", "name", "line")}
    skipped = 0
    intern: dict[str, str] = {}
    lines = tqdm(iter_lines(path), disable=not verbose, desc=f"reading {path.name}", unit=" lines",
                 mininterval=0.5)
    for lineno, text in enumerate(lines, 1):
        if not text.strip() or text.startswith(("#", "track", "browser")):
            continue
        fields = text.split("\t") if "\t" in text else text.split()
        where = f"{path}, line {lineno}"
        if len(fields) < 3:
            raise FormatError(f"{where}: a BED line needs at least 3 columns (chrom, start, end), got "
                              f"{len(fields)}: {text[:60]!r}")
        chrom = intern.setdefault(fields[0], fields[0])
        if keep is not None and chrom not in keep:
            skipped += 1
            continue
        start, end = _int(fields[1], where, "start"), _int(fields[2], where, "end")
        if start < 0:
            raise FormatError(f"{where}: start {start} is negative")
        if end <= start:
            raise FormatError(f"{where}: end {end} is not after start {start} (empty interval)")
        strand = fields[5] if len(fields) > 5 else "."
        if strand not in STRANDS:
            raise FormatError(f"{where}: strand (column 6) must be +, - or ., got {strand!r}")
        summit = -1
        if len(fields) > 9:
            summit = _int(fields[9], where, "summit (column 10)")
            if summit != -1 and not 0 <= summit < end - start:
                raise FormatError(f"{where}: summit (column 10) {summit} is outside the region "
                                  f"(0..{end - start - 1} from its start)")
        if genome is not None:
            genome.check_interval(chrom, start, end, source=where)
        name = fields[3] if len(fields) > 3 and fields[3] not in (".", "") else ""
        for key, value in (("chrom", chrom), ("start", start), ("end", end), ("summit", summit),
                           ("strand", STRANDS[strand]), ("name", name), ("line", lineno)):
            cols[key].append(value)
    if not cols["start"]:
        extra = f" on the chromosomes {sorted(keep)[:5]}" if keep is not None else ""
        raise FormatError(f"{path}: no regions{extra}")
    return Regions(path, np.array(cols["chrom"], dtype=object), np.array(cols["start"], np.int64),
                   np.array(cols["end"], np.int64), np.array(cols["summit"], np.int64),
                   np.array(cols["strand"], np.int8), np.array(cols["name"], dtype=object),
                   np.array(cols["line"], np.int64), skipped)


def _int(text: str, where: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FormatError(f"{where}: {what} must be an integer, got {text!r}") from None


def centres(regions: Regions, centre: str = "auto") -> np.ndarray:
    """The centre base of each region: its summit (``"summit"``; every line needs column 10),
    its middle (``"middle"``), or the summit where there is one and the middle elsewhere
    (``"auto"``)."""
    if centre not in CENTRES:
        raise ParameterError(f"centre must be one of {CENTRES}, got {centre!r}")
    middle = regions.start + (regions.end - regions.start) // 2
    if centre == "middle":
        return middle
    has = regions.summit >= 0
    if centre == "summit" and not has.all():
        i = int(np.flatnonzero(~has)[0])
        raise FormatError(f"{regions.where(i)}: no summit (narrowPeak column 10) for --centre summit; "
                          "use --centre middle or auto")
    return np.where(has, regions.start + regions.summit, middle)


def window_starts(centre: np.ndarray, length: int, jitter: int = 0, rng=None) -> np.ndarray:
    """Starts of the windows of ``length`` centred on ``centre`` (see the module docstring), each
    moved by a uniform integer shift in ``[-jitter, jitter]`` drawn from ``rng``."""
    starts = np.asarray(centre, dtype=np.int64) - length // 2
    if jitter:
        starts = starts + rng.integers(-jitter, jitter + 1, size=len(starts))
    return starts


def off_chromosome(chrom: np.ndarray, starts: np.ndarray, length: int, sizes: dict) -> np.ndarray:
    """Boolean mask of the windows ``[start, start + length)`` that reach past either end of their
    chromosome."""
    size = np.array([sizes[c] for c in chrom], dtype=np.int64)
    return (starts < 0) | (starts + length > size)


class IntervalIndex:
    """Merged intervals per chromosome, for overlap and containment queries.

    ``IntervalIndex(chrom, start, end)``; ``contains(chrom, pos)`` and
    ``overlaps(chrom, start, end)`` answer for arrays of queries at once.
    """

    def __init__(self, chrom, start, end):
        self._by_chrom: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        chrom = np.asarray(chrom, dtype=object)
        start, end = np.asarray(start, np.int64), np.asarray(end, np.int64)
        for name in dict.fromkeys(chrom.tolist()):
            sel = chrom == name
            order = np.argsort(start[sel], kind="stable")
            s, e = start[sel][order], end[sel][order]
            reach = np.maximum.accumulate(e)
            new = np.ones(len(s), bool)
            new[1:] = s[1:] > reach[:-1]
            first = np.flatnonzero(new)
            last = np.append(first[1:], len(s)) - 1
            self._by_chrom[name] = (s[first], reach[last])

    def overlaps(self, chrom, start, end) -> np.ndarray:
        """Does ``[start, end)`` overlap an interval (of the same chromosome)?"""
        return self._query(chrom, np.asarray(start, np.int64), np.asarray(end, np.int64))

    def contains(self, chrom, pos) -> np.ndarray:
        """Does an interval hold base ``pos``?"""
        pos = np.asarray(pos, np.int64)
        return self._query(chrom, pos, pos + 1)

    def _query(self, chrom, start, end) -> np.ndarray:
        chrom = np.asarray(chrom, dtype=object).reshape(-1) if not isinstance(chrom, str) else \
            np.full(len(start), chrom, dtype=object)
        out = np.zeros(len(start), bool)
        for name in dict.fromkeys(chrom.tolist()):
            if name not in self._by_chrom:
                continue
            s, e = self._by_chrom[name]
            sel = np.flatnonzero(chrom == name)
            k = np.searchsorted(e, start[sel], side="right")  # first interval ending after start
            ok = k < len(s)
            out[sel[ok]] = s[k[ok]] < end[sel][ok]
        return out
