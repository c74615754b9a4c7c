"""Signal tracks from bigWig files (pyBigWig) as targets for genomic windows.

A track is one bigWig file, or a stranded pair ``plus.bw,minus.bw`` (two tracks, ``<plus>`` and
``<minus>``). Values are read per base; bases without data (NaN) and bases past a chromosome end
count 0. For a window on the ``-`` strand the per-base signal is reversed, and the two files of a
stranded pair swap, so the first track of a pair is always the window's own strand (the strand
the model reads), as in BPNet.

Summaries of a window's output region (its central ``output_length`` bases): ``mean``, ``sum`` or
``max`` per track (regression targets, ``(N, S)``), or ``profile``: the per-base counts
``(N, S, output_length // bin_size)`` summed in bins of ``bin_size``, with the targets
``log(1 + total counts)`` per track.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqlens.errors import FormatError, ParameterError, SequenceError

SIGNALS = ("mean", "sum", "max", "profile")


class BigWigTracks:
    """Open bigWig tracks; ``specs`` are paths, or ``"plus.bw,minus.bw"`` for a stranded pair.

    ``names`` are the file stems, one per track (``S`` = ``len(names)``); ``stranded[k]`` is True
    for the tracks of a pair.
    """

    def __init__(self, specs):
        import pyBigWig

        self.files: list[list[Path]] = []
        self.names: list[str] = []
        self._handles = []
        for spec in specs:
            paths = [Path(p) for p in str(spec).split(",")]
            if len(paths) > 2 or any(not str(p) for p in paths):
                raise ParameterError(f"--bigwig {spec!r}: give one file or a stranded pair plus.bw,minus.bw")
            for p in paths:
                if not p.is_file():
                    raise FileNotFoundError(2, "bigWig file not found", str(p))
            handles = []
            for p in paths:
                try:
                    bw = pyBigWig.open(str(p))
                except (RuntimeError, OSError):
                    bw = None
                if bw is None or not bw.isBigWig():
                    raise FormatError(f"{p}: not a readable bigWig file")
                handles.append(bw)
            self.files.append(paths)
            self._handles.append(handles)
            self.names.extend(p.name.split(".")[0] for p in paths)
        self.chroms = [set.intersection(*(set(h.chroms()) for h in hs)) for hs in self._handles]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def stranded(self) -> list[bool]:
        return [len(paths) == 2 for paths in self.files for _ in paths]

    def check_chrom(self, chrom: str, source: str) -> None:
        """Raise :class:`SequenceError` naming the bigWig, ``source`` and ``chrom`` when a file
        has no such chromosome."""
        for paths, handles in zip(self.files, self._handles):
            for p, h in zip(paths, handles):
                if chrom not in h.chroms():
                    shown = ", ".join(list(h.chroms())[:5])
                    raise SequenceError(f"{source}: chromosome {chrom!r} is not in the bigWig {p} "
                                        f"(it has {shown}{', ...' if len(h.chroms()) > 5 else ''})")

    def has_chrom(self, chrom: str) -> bool:
        return all(chrom in c for c in self.chroms)

    def values(self, chrom: str, start: int, length: int, strand: int = 0) -> np.ndarray:
        """Per-base signal ``(S, length)`` float32 of ``[start, start + length)`` (may reach past
        the chromosome: zeros there), oriented for ``strand`` (see the module docstring)."""
        out = np.zeros((len(self.names), length), np.float32)
        row = 0
        for handles in self._handles:
            size = handles[0].chroms(chrom)
            lo, hi = max(start, 0), min(start + length, size)
            for k, h in enumerate(handles):
                if hi > lo:
                    v = np.asarray(h.values(chrom, int(lo), int(hi), numpy=True), dtype=np.float32)
                    out[row + k, lo - start:hi - start] = np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0)
            if strand < 0:
                out[row:row + len(handles)] = out[row:row + len(handles), ::-1][::-1]
            row += len(handles)
        return out

    def close(self) -> None:
        for handles in self._handles:
            for h in handles:
                h.close()

    def __enter__(self) -> BigWigTracks:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def summarise(values: np.ndarray, signal: str, bin_size: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
    """``(Y, profile)`` of per-base signal ``values`` ``(N, S, L_out)``: ``Y`` ``(N, S)`` is the
    mean, sum or max per track, or for ``"profile"`` ``log(1 + total)``, with ``profile``
    ``(N, S, L_out // bin_size)`` the counts summed per bin (None otherwise)."""
    if signal not in SIGNALS:
        raise ParameterError(f"signal must be one of {SIGNALS}, got {signal!r}")
    if signal == "mean":
        return values.mean(axis=2, dtype=np.float64).astype(np.float32), None
    if signal == "sum":
        return values.sum(axis=2, dtype=np.float64).astype(np.float32), None
    if signal == "max":
        return values.max(axis=2), None
    n, s, length = values.shape
    profile = values.reshape(n, s, length // bin_size, bin_size).sum(axis=3, dtype=np.float64)
    return np.log1p(profile.sum(axis=2)).astype(np.float32), profile.astype(np.float32)
