"""Negative (background) windows of a genome, matched in GC content to the positives.

The genome is tiled with non-overlapping windows of the positives' length (starting at each
chromosome's first base). Tiles that overlap a positive region or window, or that hold more than
``max_n`` (a fraction) of ``N``/ambiguous letters, are dropped. GC content is the fraction of G and
C among a window's unambiguous letters. Positives and tiles are binned by GC into ``bins`` equal
bins on [0, 1]; for every bin, ``ratio`` tiles per positive of that bin are drawn without
replacement (seeded), separately within each group (the split, so that negatives of held-out
chromosomes come from those chromosomes). When a bin runs out of tiles the rest come from the
nearest bins that still have some, and are counted as off-bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BATCH = 2048  # tiles read at once


def base_counts(X: np.ndarray) -> np.ndarray:
    """``(n, 4)`` counts of unambiguous A, C, G, T in one-hot ``X`` ``(n, 4, L)``."""
    return (X == 1).sum(axis=2)


def gc_fraction(X: np.ndarray) -> np.ndarray:
    """GC fraction of each window of one-hot ``X`` ``(n, 4, L)`` among its unambiguous letters
    (NaN for a window without any)."""
    counts = base_counts(X)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((counts[:, 1] + counts[:, 2]) / total).astype(np.float32)


@dataclass
class Tiles:
    """Candidate background windows: ``chrom`` (object), ``start`` (int64), ``gc`` (float32)."""

    chrom: np.ndarray
    start: np.ndarray
    gc: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def background_tiles(genome, length: int, chroms, exclude=None, max_n: float = 0.0,
                     verbose: bool = False) -> Tiles:
    """The tiles of ``chroms`` of ``genome`` (a :class:`~seqlens.genome.reference.Genome`) that
    overlap nothing in ``exclude`` (an :class:`~seqlens.genome.regions.IntervalIndex`) and hold at
    most ``max_n`` ambiguous letters, with their GC content. Reads the genome in batches."""
    from tqdm.auto import tqdm

    chroms = [c for c in chroms if genome.chrom_sizes[c] >= length]
    total = sum(genome.chrom_sizes[c] // length for c in chroms)
    keep_chrom, keep_start, keep_gc = [], [], []
    with tqdm(total=total, disable=not verbose, desc="background GC", unit=" windows") as bar:
        for chrom in chroms:
            starts = np.arange(genome.chrom_sizes[chrom] // length, dtype=np.int64) * length
            for i in range(0, len(starts), BATCH):
                batch = starts[i:i + BATCH]
                bar.update(len(batch))
                if exclude is not None:
                    batch = batch[~exclude.overlaps(chrom, batch, batch + length)]
                if not len(batch):
                    continue
                counts = genome.read_windows(chrom, batch, length, return_counts=True)[1]
                clean = counts.sum(axis=1)
                ok = (clean > 0) & (length - clean <= max_n * length)
                keep_start.append(batch[ok])
                keep_chrom.append(np.full(int(ok.sum()), chrom, dtype=object))
                keep_gc.append(((counts[ok, 1] + counts[ok, 2]) / clean[ok]).astype(np.float32))
    if not keep_start:
        return Tiles(np.zeros(0, object), np.zeros(0, np.int64), np.zeros(0, np.float32))
    return Tiles(np.concatenate(keep_chrom), np.concatenate(keep_start), np.concatenate(keep_gc))


def gc_bin(gc: np.ndarray, bins: int) -> np.ndarray:
    """Bin index of each GC fraction in ``bins`` equal bins on [0, 1] (1.0 in the last bin)."""
    return np.minimum((np.asarray(gc) * bins).astype(np.int64), bins - 1)


def match_gc(pos_gc: np.ndarray, pos_group: np.ndarray, tile_gc: np.ndarray, tile_group: np.ndarray,
             ratio: int = 1, bins: int = 50, rng=None) -> tuple[np.ndarray, int]:
    """Indices of the tiles drawn to match positives in GC (see the module docstring), and how
    many of them came from another bin than the positive they stand for. Positives with NaN GC
    (no unambiguous letter) get no negatives. Returns fewer than ``ratio`` per positive only when
    a group has too few tiles altogether."""
    rng = np.random.default_rng(rng)
    chosen, off_bin = [], 0
    pos_ok = np.isfinite(pos_gc)
    for group in np.unique(pos_group[pos_ok]):
        need = np.bincount(gc_bin(pos_gc[pos_ok & (pos_group == group)], bins), minlength=bins) * ratio
        idx = np.flatnonzero(tile_group == group)
        idx = idx[rng.permutation(len(idx))]
        tb = gc_bin(tile_gc[idx], bins)
        order = np.argsort(tb, kind="stable")
        idx, tb = idx[order], tb[order]
        first = np.searchsorted(tb, np.arange(bins))
        avail = np.bincount(tb, minlength=bins)
        used = np.minimum(need, avail)
        deficit = need - used
        for b in np.flatnonzero(deficit):
            for d in range(1, bins):
                for nb in (b - d, b + d):
                    if deficit[b] and 0 <= nb < bins and used[nb] < avail[nb]:
                        take = min(deficit[b], avail[nb] - used[nb])
                        chosen.append(idx[first[nb] + used[nb]:first[nb] + used[nb] + take])
                        used[nb] += take
                        deficit[b] -= take
                        off_bin += int(take)
                if not deficit[b]:
                    break
        chosen.extend(idx[first[b]:first[b] + min(need[b], avail[b])] for b in range(bins))
    out = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    return np.sort(out), off_bin
