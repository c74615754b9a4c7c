"""A user's genomics files -> the HDF5 dataset layout of :mod:`seqlens.io.hdf5`.

:func:`bed_dataset` builds fixed-length windows of a genome around the regions of one or more
BED/narrowPeak files (one task per file), with negatives (GC-matched background windows of the
genome, or dinucleotide shuffles of the positives) or bigWig signal as targets.
:func:`fasta_dataset` builds a dataset from FASTA files with labels from a table, from the
headers, or from the file each sequence is in.

What is written (per split ``train``/``valid``/``test``):

* ``X_<split>`` ``(N, 4, L)`` one-hot (ACGT). Stored as ``uint8`` with ``ambiguous="zeros"``
  (``N`` and other ambiguity codes, and padding past a chromosome end, are all-zero columns; the
  default) or ``float32`` with ``ambiguous="uniform"`` (``N`` -> 0.25 each). :func:`load_dataset`
  returns float32 either way.
* ``Y_<split>`` ``(N, T)`` float32: 0/1 labels per task (``binary``, ``multitask``), signal
  summaries per track (``regression``), or ``log(1 + total counts)`` per track (``profile``).
* ``profile_<split>`` ``(N, S, L_out)`` float32 counts per track (``profile`` only).
* ``names_<split>``: ``chrom:start-end(strand)`` of each window (0-based, half-open), then
  ``|<BED name>`` when the BED line has one, or ``|background`` / ``|shuffle<k>`` for negatives; for
  FASTA input the record names.
* the ``metadata`` attribute (JSON): ``kind``, ``tasks``, ``sources``, ``window_length``,
  ``genome``, the split rule, the negatives mode, the seed and the other settings.

Within a split, positives come first in file order and the negatives follow. Work goes in batches
of :data:`CHUNK` windows straight into the HDF5 file, so memory stays flat in the number of
regions (a few bytes of coordinates per region are kept). Every input is checked before the file
is created.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from seqlens.errors import FormatError, ParameterError, SequenceError
from seqlens.genome.background import background_tiles, gc_fraction, match_gc
from seqlens.genome.bigwig import SIGNALS, BigWigTracks, summarise
from seqlens.genome.reference import Genome
from seqlens.genome.regions import (
    IntervalIndex,
    centres,
    off_chromosome,
    read_bed,
    window_starts,
)
from seqlens.genome.splits import (
    DEFAULT_TEST,
    DEFAULT_VALID,
    SPLIT_CODES,
    chrom_split,
    default_chroms,
    random_split,
)
from seqlens.io.atomic import atomic_path

CHUNK = 1024  # windows per batch (shuffle seeds are keyed by batch, so this is fixed)
EDGES = ("skip", "pad", "error")
NEGATIVES = ("auto", "gc", "shuffle", "none")
SPLITS = tuple(SPLIT_CODES)
_STRAND = {1: "+", -1: "-", 0: "."}


# ------------------------------------------------------------------------------------- writing
class _Writer:
    """Appends batches of sequences to the split datasets of an open HDF5 file and keeps the
    figures of the summary (sequences, positives per task, GC of positives and negatives)."""

    def __init__(self, fh, length: int, x_dtype, n_targets: int, profile_shape=None,
                 compression=None, binary: bool = True):
        import h5py

        self.fh, self.binary = fh, binary
        rows = max(1, min(CHUNK, (1 << 20) // (4 * length * np.dtype(x_dtype).itemsize)))
        for split in SPLITS:
            fh.create_dataset(f"X_{split}", (0, 4, length), maxshape=(None, 4, length), dtype=x_dtype,
                              chunks=(rows, 4, length), compression=compression)
            fh.create_dataset(f"Y_{split}", (0, n_targets), maxshape=(None, n_targets), dtype=np.float32,
                              chunks=(max(rows, 256), n_targets))
            fh.create_dataset(f"names_{split}", (0,), maxshape=(None,), dtype=h5py.string_dtype(),
                              chunks=(max(rows, 256),))
            if profile_shape is not None:
                s, lp = profile_shape
                fh.create_dataset(f"profile_{split}", (0, s, lp), maxshape=(None, s, lp), dtype=np.float32,
                                  chunks=(max(1, min(CHUNK, (1 << 20) // (4 * s * lp))), s, lp),
                                  compression=compression)
        self.datasets = {(key.split("_")[0], key.split("_")[1]): fh[key] for key in fh}
        self.count = dict.fromkeys(SPLITS, 0)
        self.positives = {split: np.zeros(n_targets) for split in SPLITS}
        self.negatives = dict.fromkeys(SPLITS, 0)
        self.gc = {"positive": [0.0, 0], "negative": [0.0, 0]}

    def write(self, split: str, X, Y, names, profile=None, gc=None, negative=False) -> None:
        """Append a batch to ``split``; ``gc`` is its GC fractions (computed when None),
        ``negative`` (a bool, or a mask of the batch) says which sequences are negatives."""
        gc = gc_fraction(X) if gc is None else gc
        negative = np.broadcast_to(np.asarray(negative, bool), len(X))
        for which, mask in (("negative", negative), ("positive", ~negative)):
            ok = mask & np.isfinite(gc)
            self.gc[which][0] += float(gc[ok].sum())
            self.gc[which][1] += int(ok.sum())
        n, k = self.count[split], len(X)
        for key, value in (("X", X), ("Y", Y), ("names", names), ("profile", profile)):
            if value is not None:
                ds = self.datasets[key, split]
                ds.resize(n + k, axis=0)
                ds[n:n + k] = value
        self.count[split] = n + k
        self.negatives[split] += int(negative.sum())
        if self.binary:
            self.positives[split] += Y.sum(axis=0)

    def write_mixed(self, codes, X, Y, names, negative=False) -> None:
        """Append a batch whose sequences go to the splits ``codes`` (0 train, 1 valid, 2 test)."""
        negative = np.broadcast_to(np.asarray(negative, bool), len(X))
        for code, split in enumerate(SPLITS):
            sel = np.flatnonzero(codes == code)
            if len(sel):
                self.write(split, X[sel], Y[sel], [names[i] for i in sel], negative=negative[sel])

    def gc_mean(self, which: str) -> float:
        total, n = self.gc[which]
        return total / n if n else float("nan")


def _summary(writer: _Writer, tasks: list[str], kind: str, extra: dict) -> dict:
    """Flat metrics: sequences per split, positives per task, GC of positives vs negatives."""
    out = {f"n_{split}": writer.count[split] for split in SPLITS}
    out["n_sequences"] = sum(writer.count.values())
    for split in SPLITS:
        out[f"n_negative_{split}"] = writer.negatives[split]
    out["n_negative"] = sum(writer.negatives.values())
    if writer.binary:
        for t, task in enumerate(tasks):
            for split in SPLITS:
                out[f"n_positive_{_key(task)}_{split}"] = int(writer.positives[split][t])
            out[f"n_positive_{_key(task)}"] = int(sum(writer.positives[s][t] for s in SPLITS))
    out["gc_positive"] = writer.gc_mean("positive")
    if out["n_negative"]:
        out["gc_negative"] = writer.gc_mean("negative")
        out["gc_difference"] = abs(out["gc_positive"] - out["gc_negative"])
    out.update(extra)
    out["kind"] = kind
    return out


def _key(name: str) -> str:
    """A task name as a snake_case metrics key."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_").lower() or "task"


def summary_table(summary: dict, tasks: list[str]) -> str:
    """The summary as a small text table: sequences, negatives and positives per task for each
    split, then GC of positives vs negatives."""
    shown = [t for t in tasks if f"n_positive_{_key(t)}" in summary]
    lines = [f"{'split':<8}{'sequences':>11}{'negatives':>11}" + "".join(f"{t[:14]:>16}" for t in shown)]
    for split in SPLITS:
        row = f"{split:<8}{summary[f'n_{split}']:>11,}{summary[f'n_negative_{split}']:>11,}"
        row += "".join(f"{summary[f'n_positive_{_key(t)}_{split}']:>16,}" for t in shown)
        lines.append(row)
    gc = f"GC positives {summary['gc_positive']:.3f}"
    if "gc_negative" in summary:
        gc += f", negatives {summary['gc_negative']:.3f} (difference {summary['gc_difference']:.4f})"
    lines.append(gc)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- checking
def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ParameterError(message)


def _task_names(paths) -> list[str]:
    """File names without their extensions, made unique (``a``, ``a_2``)."""
    names, seen = [], {}
    for p in paths:
        stem = Path(p).name.split(".")[0] or Path(p).name
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return names


def _held_out(genome_names, valid, test) -> tuple[list[str], list[str]]:
    """Validation and test chromosomes (defaults named as in the genome); unknown names refused."""
    valid = default_chroms(genome_names, DEFAULT_VALID) if valid is None else list(valid)
    test = default_chroms(genome_names, DEFAULT_TEST) if test is None else list(test)
    return valid, test


def _check_split_sizes(codes: np.ndarray, what: str, valid, test, default: bool) -> None:
    counts = np.bincount(codes, minlength=3)
    hint = ("name held-out chromosomes with --valid-chroms/--test-chroms, or use --split random"
            if default else "choose other held-out chromosomes, or --split random")
    if counts[0] == 0:
        raise ParameterError(f"no {what} left for training: all are on the held-out chromosomes "
                             f"{valid + test}; {hint}")
    if counts[2] == 0:
        raise ParameterError(f"no {what} on the test chromosome(s) {test}; {hint}")
    if counts[1] == 0:
        warnings.warn(f"no {what} on the validation chromosome(s) {valid}; training will run without "
                      "validation data", stacklevel=3)


# ------------------------------------------------------------------------------- BED + genome
def bed_dataset(out, beds, genome, *, length: int = 1000, centre: str = "auto", jitter: int = 0,
                stranded: bool = True, edge: str = "skip", negatives: str = "auto",
                negative_ratio: int = 1, gc_bins: int = 50, max_n: float = 0.0, bigwig=None,
                signal: str = "mean", output_length: int | None = None, bin_size: int = 1,
                split: str = "chrom", valid_chroms=None, test_chroms=None,
                valid_fraction: float = 0.1, test_fraction: float = 0.1, chroms=None,
                ambiguous: str = "zeros", compression: str | None = None, random_state: int = 0,
                verbose: bool = False) -> dict:
    """Write the HDF5 dataset ``out`` of windows of ``genome`` centred on the regions of ``beds``.

    Parameters
    ----------
    out : the ``.h5`` file to write (atomically: it appears whole or not at all).
    beds : BED/narrowPeak paths, one task each (see :func:`~seqlens.genome.regions.read_bed`).
        A window is labelled 1 for task ``t`` when its centre base lies inside a region of file
        ``t`` (so a window is always positive for its own file).
    genome : FASTA path (indexed on first use) or a :class:`Genome`.
    length : window length (bp); see :mod:`seqlens.genome.regions` for the centring convention.
    centre : ``"auto"`` (summit where narrowPeak column 10 gives one, else the middle),
        ``"summit"`` or ``"middle"``.
    jitter : each window's centre moves by a seeded uniform shift in ``[-jitter, jitter]``.
    stranded : reverse-complement windows of ``-`` strand regions (BED column 6).
    edge : a window reaching past a chromosome end is skipped (``"skip"``, counted and warned),
        padded with ``N`` (``"pad"``) or an error naming the BED line (``"error"``).
    negatives : ``"gc"`` (GC-matched background windows, see :mod:`seqlens.genome.background`),
        ``"shuffle"`` (dinucleotide shuffles of each positive, in its split), ``"none"``, or
        ``"auto"``: ``"gc"`` for labels, ``"none"`` with ``bigwig``.
    negative_ratio : negatives per positive.
    gc_bins, max_n : GC bins for matching, and the largest fraction of ambiguous letters a
        background window may hold.
    bigwig : bigWig tracks (paths, or ``"plus.bw,minus.bw"`` stranded pairs): the targets become
        their ``signal`` (``mean``/``sum``/``max`` per track, or ``profile``, see
        :mod:`seqlens.genome.bigwig`) over the central ``output_length`` bases (default
        ``length``), in bins of ``bin_size`` for profiles.
    split : ``"chrom"`` (held-out ``valid_chroms``, ``test_chroms``; default chr8 and chr9, see
        :mod:`seqlens.genome.splits`) or ``"random"`` (``valid_fraction``, ``test_fraction``).
    chroms : use only regions (and background) on these chromosomes.
    ambiguous : ``"zeros"`` (uint8 storage) or ``"uniform"`` (float32 storage).
    compression : ``None`` (fastest), ``"gzip"`` or ``"lzf"`` for ``X`` and ``profile``.
    random_state : seeds jitter, random splits, background draws and shuffles (each its own
        stream, so changing one option does not move the others).

    Returns the summary (flat metrics: ``n_train``..., ``n_positive_<task>``, ``gc_positive``,
    ``gc_negative``, ``gc_difference``, ``n_skipped_edge``, ...).

    Raises :class:`~seqlens.errors.SeqlensError` subclasses naming the file, line and value for
    bad input (malformed BED lines, unknown chromosomes, intervals past a chromosome end, bigWigs
    without a chromosome); nothing is written then.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    beds = [Path(b) for b in ([beds] if isinstance(beds, (str, Path)) else beds)]
    output_length = length if output_length is None else output_length
    _check(len(beds) > 0, "give at least one BED file")
    _check(length >= 1, f"window length must be >= 1, got {length}")
    _check(jitter >= 0, f"jitter must be >= 0, got {jitter}")
    _check(edge in EDGES, f"edge must be one of {EDGES}, got {edge!r}")
    _check(negatives in NEGATIVES, f"negatives must be one of {NEGATIVES}, got {negatives!r}")
    _check(negative_ratio >= 1, f"negative ratio must be >= 1, got {negative_ratio}")
    _check(gc_bins >= 1, f"GC bins must be >= 1, got {gc_bins}")
    _check(0 <= max_n <= 1, f"max N fraction must be in [0, 1], got {max_n}")
    _check(signal in SIGNALS, f"signal must be one of {SIGNALS}, got {signal!r}")
    _check(1 <= output_length <= length, f"output length must be in 1..{length} (the window), got "
           f"{output_length}")
    _check(bin_size >= 1 and output_length % bin_size == 0,
           f"bin size must divide the output length {output_length}, got {bin_size}")
    _check(split in ("chrom", "random"), f"split must be 'chrom' or 'random', got {split!r}")
    _check(ambiguous in ("zeros", "uniform"), f"ambiguous must be 'zeros' or 'uniform', got {ambiguous!r}")
    _check(compression in (None, "gzip", "lzf"), f"compression must be None, 'gzip' or 'lzf', got "
           f"{compression!r}")
    if negatives == "auto":
        negatives = "none" if bigwig else "gc"
    if bigwig and negatives == "shuffle":
        raise ParameterError("shuffled negatives have no bigWig signal; use --negatives gc or none "
                             "with --bigwig")
    if not bigwig and negatives == "none" and len(beds) == 1:
        warnings.warn("one BED file without negatives or --bigwig: every label is 1 (fine for attributing "
                      "or predicting the regions; to train, choose --negatives gc or shuffle)", stacklevel=2)
    x_dtype = np.uint8 if ambiguous == "zeros" else np.float32
    streams = np.random.SeedSequence(random_state).spawn(3)
    rng_jitter, rng_split, rng_match = (np.random.default_rng(s) for s in streams)

    own = not isinstance(genome, Genome)
    if own and verbose and not _index_of(Path(genome)).exists():
        print(f"indexing {genome} (first use only)", file=sys.stderr, flush=True)
    g = Genome(genome) if own else genome
    tracks = None
    try:
        if chroms is not None:
            missing = [c for c in chroms if c not in g]
            _check(not missing, f"--chroms {missing}: not in the genome {g.path}")
        regions = [read_bed(p, g, chroms, verbose) for p in beds]
        tasks = _task_names(beds)
        chrom = np.concatenate([r.chrom for r in regions])
        centre_pos = np.concatenate([centres(r, centre) for r in regions])
        strand = np.concatenate([r.strand for r in regions]) if stranded else \
            np.zeros(len(chrom), np.int8)
        origin = np.concatenate([np.full(len(r), t, np.int32) for t, r in enumerate(regions)])
        row = np.concatenate([np.arange(len(r)) for r in regions])
        bed_names = np.concatenate([r.name for r in regions])
        starts = window_starts(centre_pos, length, jitter, rng_jitter)

        def where(i):
            return regions[origin[i]].where(row[i])

        off = off_chromosome(chrom, starts, length, g.chrom_sizes)
        n_edge = int(off.sum())
        if n_edge and edge == "error":
            i = int(np.flatnonzero(off)[0])
            raise SequenceError(f"{where(i)}: the {length} bp window {chrom[i]}:{starts[i]}-"
                                f"{starts[i] + length} reaches past the end of {chrom[i]} (length "
                                f"{g.chrom_sizes[chrom[i]]}); use --edge skip or pad")
        if n_edge and edge == "skip":
            i = int(np.flatnonzero(off)[0])
            warnings.warn(f"{n_edge} window(s) reach past a chromosome end and are skipped (first: "
                          f"{where(i)}); --edge pad keeps them, padded with N", stacklevel=2)
            keep = ~off
            chrom, centre_pos, strand, origin, row, bed_names, starts = (
                a[keep] for a in (chrom, centre_pos, strand, origin, row, bed_names, starts))
        _check(len(starts) > 0, "no windows left: every window reaches past a chromosome end")
        n = len(starts)

        # targets
        labels = None
        if not bigwig:
            labels = np.ones((n, 1), np.float32) if len(regions) == 1 else np.stack(
                [IntervalIndex(r.chrom, r.start, r.end).contains(chrom, centre_pos) for r in regions],
                axis=1).astype(np.float32)
        else:
            tracks = BigWigTracks(bigwig)
            for c in dict.fromkeys(chrom.tolist()):
                tracks.check_chrom(c, where(int(np.flatnonzero(chrom == c)[0])))

        # splits
        if split == "chrom":
            valid, test = _held_out(g.chrom_sizes, valid_chroms, test_chroms)
            unknown = [c for c in valid + test if c not in g]
            _check(not unknown, f"held-out chromosome(s) {unknown} are not in the genome {g.path}; "
                   "name them with --valid-chroms/--test-chroms")
            codes = chrom_split(chrom, valid, test)
            _check_split_sizes(codes, "regions", valid, test, valid_chroms is None and test_chroms is None)
            split_meta = {"rule": "chromosome", "valid": valid, "test": test}
        else:
            codes = random_split(n, valid_fraction, test_fraction, rng_split)
            split_meta = {"rule": "random", "valid_fraction": valid_fraction,
                          "test_fraction": test_fraction, "seed": random_state}

        if tracks is not None:
            kind, target_names = ("profile" if signal == "profile" else "regression"), tracks.names
        else:
            kind, target_names = ("binary" if len(tasks) == 1 else "multitask"), tasks
        offset = (length - output_length) // 2
        profile_shape = (len(tracks), output_length // bin_size) if signal == "profile" and tracks else None

        def targets(ch, st, sd, k):
            """``(Y, profile)`` of windows: bigWig signal, or 0 labels for negatives."""
            if tracks is None:
                return np.zeros((k, len(tasks)), np.float32), None
            values = np.stack([tracks.values(c, int(s) + offset, output_length, int(d))
                               for c, s, d in zip(ch, st, sd)])
            if signal == "profile" and (values < 0).any():
                i = int(np.argwhere(values < 0)[0, 0])
                raise FormatError(f"bigWig {tracks.names} has negative values in {ch[i]}:{st[i]}-"
                                  f"{st[i] + length}; profile targets must be counts >= 0")
            return summarise(values, signal, bin_size)

        meta = {
            "kind": kind, "tasks": target_names, "window_length": length, "genome": str(g.path),
            "sources": {"bed": [str(b) for b in beds], "bigwig": [str(b) for b in bigwig or []]},
            "centre": centre, "jitter": jitter, "stranded": stranded, "edge": edge,
            "split": split_meta, "seed": random_state, "ambiguous": ambiguous, "chroms": chroms,
            "negatives": {"mode": negatives, "ratio": negative_ratio}
            | ({"gc_bins": gc_bins, "max_n": max_n} if negatives == "gc" else {}),
        }
        if tracks is not None:
            meta.update({"tracks": tracks.names, "signal": signal, "output_length": output_length,
                         "bin_size": bin_size, "stranded_tracks": tracks.stranded})

        extra = {"n_regions": int(sum(len(r) for r in regions)),
                 "n_skipped_edge": n_edge if edge == "skip" else 0,
                 "n_padded_edge": n_edge if edge == "pad" else 0,
                 "n_skipped_chroms": int(sum(r.n_skipped for r in regions)), "window_length": length}
        with atomic_path(out) as tmp:
            import h5py

            with h5py.File(tmp, "w") as fh:
                writer = _Writer(fh, length, x_dtype, len(target_names), profile_shape, compression,
                                 binary=tracks is None)
                pos_gc = np.empty(n, np.float32)
                total = n * (1 + (negative_ratio if negatives == "shuffle" else 0))
                with tqdm(total=total, disable=not verbose, desc="windows", unit=" seq") as bar:
                    for code, split_name in enumerate(SPLITS):
                        members = np.flatnonzero(codes == code)
                        for i in range(0, len(members), CHUNK):
                            ix = members[i:i + CHUNK]
                            X, counts = g.read_windows(chrom[ix], starts[ix], length, ambiguous, x_dtype,
                                                       return_counts=True)
                            minus = strand[ix] < 0
                            X[minus] = X[minus, ::-1, ::-1]
                            pos_gc[ix] = gc = _gc(counts)
                            Y, profile = (labels[ix], None) if tracks is None else \
                                targets(chrom[ix], starts[ix], strand[ix], len(X))
                            names = _names(chrom[ix], starts[ix], length, strand[ix], bed_names[ix])
                            writer.write(split_name, X, Y, names, profile, gc)
                            bar.update(len(X))
                            if negatives == "shuffle":
                                seed = np.random.SeedSequence(random_state, spawn_key=(3, code, i))
                                _write_shuffles(writer, split_name, X, gc, names, len(tasks),
                                                negative_ratio, seed, x_dtype)
                                bar.update(len(X) * negative_ratio)
                if negatives == "gc":
                    extra.update(_write_background(
                        writer, g, tracks, targets, chrom, starts, regions, pos_gc, codes,
                        split_meta, length, negative_ratio, gc_bins, max_n, chroms, rng_match,
                        rng_split, x_dtype, verbose))
                meta["counts"] = dict(writer.count)
                fh.attrs["metadata"] = json.dumps(meta)
        extra["seconds"] = time.perf_counter() - t0
        extra["sequences_per_second"] = sum(writer.count.values()) / max(extra["seconds"], 1e-9)
        return _summary(writer, target_names, kind, extra)
    finally:
        if tracks is not None:
            tracks.close()
        if own:
            g.close()


def _index_of(path: Path) -> Path:
    """Where the ``.fai`` index of the genome ``path`` is (or will be)."""
    from seqlens.genome.reference import _cache_index

    return (_cache_index(path, ".fai") if path.is_file() else None) or Path(f"{path}.fai")


def _names(chrom, starts, length: int, strand, labels) -> list[str]:
    """``chrom:start-end(strand)`` of each window, then ``|label`` where the label is not empty
    (``labels``: one per window, or one string for all)."""
    signs = [_STRAND[d] for d in strand.tolist()]
    coords = [f"{c}:{s}-{s + length}({d})" for c, s, d in zip(chrom.tolist(), starts.tolist(), signs)]
    if isinstance(labels, str):
        return [f"{c}|{labels}" for c in coords]
    return [f"{c}|{b}" if b else c for c, b in zip(coords, labels.tolist())]


def _gc(counts: np.ndarray) -> np.ndarray:
    """GC fraction from ``(n, 4)`` A, C, G, T counts (NaN without any letter)."""
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((counts[:, 1] + counts[:, 2]) / total).astype(np.float32)


def _write_shuffles(writer, split, X, gc, names, n_tasks, ratio, seed, x_dtype) -> None:
    """``ratio`` dinucleotide shuffles of every sequence of the batch (same GC), into ``split``."""
    from seqlens.shuffle import dinucleotide_shuffle

    Xs = dinucleotide_shuffle(X, n=ratio, random_state=seed).astype(x_dtype)
    k = len(X)
    writer.write(split, Xs.reshape(k * ratio, *X.shape[1:]), np.zeros((k * ratio, n_tasks), np.float32),
                 [f"{name.split('|')[0]}|shuffle{r + 1}" for name in names for r in range(ratio)],
                 gc=np.repeat(gc, ratio), negative=True)


def _write_background(writer, g, tracks, targets, chrom, starts, regions, pos_gc, codes, split_meta,
                      length, ratio, gc_bins, max_n, chroms, rng_match, rng_split, x_dtype,
                      verbose) -> dict:
    """Draw GC-matched background windows (see :mod:`seqlens.genome.background`) and write them.
    Returns the figures of the draw."""
    from tqdm.auto import tqdm

    exclude = IntervalIndex(np.concatenate([chrom] + [r.chrom for r in regions]),
                            np.concatenate([starts] + [r.start for r in regions]),
                            np.concatenate([starts + length] + [r.end for r in regions]))
    pool = [c for c in (chroms if chroms is not None else g.chrom_sizes)
            if tracks is None or tracks.has_chrom(c)]
    tiles = background_tiles(g, length, pool, exclude, max_n, verbose)
    by_chrom = split_meta["rule"] == "chromosome"
    if by_chrom:
        tile_group = chrom_split(tiles.chrom, split_meta["valid"], split_meta["test"])
        pos_group = codes
    else:
        tile_group, pos_group = np.zeros(len(tiles), np.int8), np.zeros(len(codes), np.int8)
    sel, off_bin = match_gc(pos_gc, pos_group, tiles.gc, tile_group, ratio, gc_bins, rng_match)
    wanted = int(np.isfinite(pos_gc).sum()) * ratio
    if len(sel) < wanted:
        warnings.warn(f"only {len(sel)} background windows for {wanted} wanted (too few windows of "
                      f"length {length} free of positives and N in the genome); the dataset has fewer "
                      "negatives", stacklevel=3)
    if off_bin:
        warnings.warn(f"{off_bin} background windows come from a neighbouring GC bin (too few in "
                      "their own bin)", stacklevel=3)
    neg_codes = tile_group[sel] if by_chrom else random_split(
        len(sel), split_meta["valid_fraction"], split_meta["test_fraction"], rng_split)
    ambiguous = "zeros" if x_dtype == np.uint8 else "uniform"
    with tqdm(total=len(sel), disable=not verbose, desc="negatives", unit=" seq") as bar:
        for code, split in enumerate(SPLITS):
            members = sel[neg_codes == code]
            for i in range(0, len(members), CHUNK):
                idx = members[i:i + CHUNK]
                ch, st = tiles.chrom[idx], tiles.start[idx]
                X, counts = g.read_windows(ch, st, length, ambiguous, x_dtype, return_counts=True)
                Y, profile = targets(ch, st, np.zeros(len(idx), np.int8), len(idx))
                names = _names(ch, st, length, np.zeros(len(st), np.int8), "background")
                writer.write(split, X, Y, names, profile, _gc(counts), negative=True)
                bar.update(len(idx))
    return {"n_background_candidates": len(tiles), "n_gc_off_bin": off_bin,
            "n_negative_shortfall": max(wanted - len(sel), 0)}


# ------------------------------------------------------------------------------------- FASTA
def fasta_dataset(out, fastas, *, labels=None, name_column: str | None = None, label_columns=None,
                  header_labels: bool = False, length: int | None = None, split: str = "random",
                  valid_chroms=None, test_chroms=None, valid_fraction: float = 0.1,
                  test_fraction: float = 0.1, ambiguous: str = "zeros", compression: str | None = None,
                  random_state: int = 0, verbose: bool = False) -> dict:
    """Write the HDF5 dataset ``out`` from FASTA files.

    Labels come from (exactly one of):

    * ``labels``: a CSV/TSV table (tab for ``.tsv``/``.txt``) with a name column (``name_column``;
      default ``name`` if present, else the first column) and label columns (``label_columns``;
      default every other numeric column). Every FASTA record needs a row.
    * ``header_labels``: the words after each record's name, either numbers (tasks ``task_0``...)
      or ``key=value`` pairs (tasks named by the keys, the same keys in every record).
    * neither: the file of each record. Two files give one binary task named after the first
      (``pos.fa neg.fa``: 1 for the first file, 0 for the second); more give one 0/1 column per
      file (one-hot classes).

    Sequences must share one length unless ``length`` is given: then each is centre-cropped, or
    padded with ``N`` on both sides (the extra base, if any, on the right), to ``length``.

    ``split="random"`` (default) draws splits with ``valid_fraction``/``test_fraction``;
    ``split="chrom"`` needs record names of the form ``chrom:start-end`` (as ``bedtools getfasta``
    writes; a ``(+)`` suffix or a ``name::`` prefix is allowed) and holds out ``valid_chroms``/
    ``test_chroms`` (default chr8/chr9).

    The kind is ``binary`` (one 0/1 column), ``multitask`` (several) or ``regression``.
    Returns the summary metrics, as :func:`bed_dataset`.
    """
    from tqdm.auto import tqdm

    from seqlens.alphabet import one_hot
    from seqlens.io.fasta import iter_fasta

    t0 = time.perf_counter()
    fastas = [Path(f) for f in ([fastas] if isinstance(fastas, (str, Path)) else fastas)]
    _check(len(fastas) > 0, "give at least one FASTA file")
    _check(not (labels is not None and header_labels), "give labels in a table or in the headers, not both")
    _check(length is None or length >= 1, f"length must be >= 1, got {length}")
    _check(split in ("chrom", "random"), f"split must be 'chrom' or 'random', got {split!r}")
    _check(ambiguous in ("zeros", "uniform"), f"ambiguous must be 'zeros' or 'uniform', got {ambiguous!r}")
    if labels is None and not header_labels and len(fastas) == 1:
        raise ParameterError(f"{fastas[0]}: no labels; give --labels TABLE, --header-labels, or several "
                             "FASTA files as classes (pos.fa neg.fa)")
    x_dtype = np.uint8 if ambiguous == "zeros" else np.float32
    rng_split = np.random.default_rng(np.random.SeedSequence(random_state).spawn(4)[1])

    # pass 1: names, lengths and labels, all checked before anything is written
    table = _read_label_table(Path(labels), name_column, label_columns) if labels is not None else None
    names, files, rows, header_keys = [], [], [], None
    first_len = None
    for f, path in enumerate(fastas):
        for name, seq in tqdm(iter_fasta(path, full_header=header_labels), disable=not verbose,
                              desc=f"reading {path.name}", unit=" seq", mininterval=0.5):
            if header_labels:
                name, values, header_keys = _header_labels(path, name, header_keys)
                rows.append(values)
            elif table is not None:
                if name not in table[0]:
                    raise FormatError(f"{path}, line {_header_line(path, name)}: record {name!r} has no "
                                      f"row in the labels table {labels}")
                rows.append(table[0][name])
            if length is None:
                if first_len is None:
                    first_len = len(seq)
                elif len(seq) != first_len:
                    raise SequenceError(
                        f"{path}, line {_header_line(path, name)}: record {name!r} has length {len(seq)}, "
                        f"but the first record has length {first_len}; give --length to centre-crop or pad")
            names.append(name)
            files.append(f)
    n = len(names)
    L = length if length is not None else first_len
    if table is not None:
        Y = table[2][np.array(rows, np.int64)]
        tasks = table[1]
        unused = len(table[0]) - len(set(names) & set(table[0]))
    elif header_labels:
        Y = np.array(rows, np.float32).reshape(n, -1)
        tasks = header_keys if isinstance(header_keys, list) else [f"task_{k}" for k in range(Y.shape[1])]
        unused = 0
    else:
        files_arr = np.array(files)
        tasks = _task_names(fastas)
        if len(fastas) == 2:
            Y, tasks = (files_arr == 0).astype(np.float32)[:, None], tasks[:1]
        else:
            Y = np.eye(len(fastas), dtype=np.float32)[files_arr]
        unused = 0
    binary = bool(np.isin(Y, (0, 1)).all())
    kind = ("binary" if Y.shape[1] == 1 else "multitask") if binary else "regression"

    if split == "chrom":
        chrom = [_name_chrom(fastas[files[i]], names[i]) for i in range(n)]
        valid, test = _held_out(set(chrom), valid_chroms, test_chroms)
        codes = chrom_split(chrom, valid, test)
        _check_split_sizes(codes, "sequences", valid, test, valid_chroms is None and test_chroms is None)
        split_meta = {"rule": "chromosome", "valid": valid, "test": test}
    else:
        codes = random_split(n, valid_fraction, test_fraction, rng_split)
        split_meta = {"rule": "random", "valid_fraction": valid_fraction, "test_fraction": test_fraction,
                      "seed": random_state}
    meta = {"kind": kind, "tasks": list(tasks), "window_length": L, "genome": None,
            "sources": {"fasta": [str(f) for f in fastas], "labels": None if labels is None else str(labels),
                        "header_labels": header_labels},
            "length_rule": "as given" if length is None else "centre-crop or pad with N",
            "split": split_meta, "seed": random_state, "ambiguous": ambiguous,
            "negatives": {"mode": "none"}}

    # pass 2: encode in batches
    with atomic_path(out) as tmp:
        import h5py

        with h5py.File(tmp, "w") as fh:
            writer = _Writer(fh, L, x_dtype, Y.shape[1], None, compression, binary=binary)
            batch: list[str] = []
            at = 0
            with tqdm(total=n, disable=not verbose, desc="encoding", unit=" seq") as bar:
                records = (rec for path in fastas for rec in iter_fasta(path))
                for _, seq in records:
                    batch.append(_fit_length(seq, L) if length is not None else seq)
                    if len(batch) == CHUNK or at + len(batch) == n:
                        k = len(batch)
                        X = one_hot(batch, ambiguous=ambiguous, names=names[at:at + k],
                                    source=str(fastas[files[at]])).astype(x_dtype)
                        sl = slice(at, at + k)
                        negative = Y[sl, 0] == 0 if kind == "binary" else False
                        writer.write_mixed(codes[sl], X, Y[sl], names[sl], negative=negative)
                        at += k
                        batch = []
                        bar.update(k)
            meta["counts"] = dict(writer.count)
            fh.attrs["metadata"] = json.dumps(meta)
    extra = {"n_labels_unused": unused, "window_length": L, "seconds": time.perf_counter() - t0}
    extra["sequences_per_second"] = n / max(extra["seconds"], 1e-9)
    return _summary(writer, list(tasks), kind, extra)


def _fit_length(seq: str, length: int) -> str:
    """``seq`` centre-cropped or padded with ``N`` to ``length``."""
    if len(seq) >= length:
        cut = (len(seq) - length) // 2
        return seq[cut:cut + length]
    left = (length - len(seq)) // 2
    return "N" * left + seq + "N" * (length - len(seq) - left)


def _header_line(path: Path, name: str) -> int:
    """The line of the header of record ``name`` (for error messages; scans the file)."""
    from seqlens.io.text import iter_lines

    for k, line in enumerate(iter_lines(path), 1):
        if line.startswith(">") and line[1:].split()[:1] == [name]:
            return k
    return 0


def _read_label_table(path: Path, name_column, label_columns):
    """``(name -> row, tasks, Y (rows, T) float32)`` of a labels table; errors name the line."""
    import pandas as pd

    from seqlens.io.text import default_sep, read_csv

    df = read_csv(path, what="labels table", sep=default_sep(path), dtype=str, keep_default_na=False)
    if df.empty:
        raise FormatError(f"{path}: the labels table has a header but no rows")
    if name_column is None:
        name_column = "name" if "name" in df.columns else df.columns[0]
    if name_column not in df.columns:
        raise FormatError(f"{path}: no name column {name_column!r}; columns are {list(df.columns)}")
    if label_columns is None:
        label_columns = [c for c in df.columns if c != name_column
                         and pd.to_numeric(df[c], errors="coerce").notna().all()]
        if not label_columns:
            raise FormatError(f"{path}: no numeric label column besides {name_column!r}; columns are "
                              f"{list(df.columns)}")
    missing = [c for c in label_columns if c not in df.columns]
    if missing:
        raise FormatError(f"{path}: label column(s) {missing} not found; columns are {list(df.columns)}")
    values = np.empty((len(df), len(label_columns)), np.float32)
    for k, col in enumerate(label_columns):
        with np.errstate(over="ignore"):
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FormatError(f"{path}, line {i + 2}: label column {col!r} must be a finite number, got "
                              f"{df[col].iloc[i]!r}")
        values[:, k] = v
    index = {}
    for i, name in enumerate(df[name_column]):
        if not name:
            raise FormatError(f"{path}, line {i + 2}: empty name in column {name_column!r}")
        if name in index:
            raise FormatError(f"{path}, line {i + 2}: name {name!r} repeats line {index[name] + 2}")
        index[name] = i
    return index, list(label_columns), values


def _header_labels(path: Path, header: str, keys):
    """``(name, values, keys)`` of a FASTA header ``name v1 v2 ...`` or ``name k1=v1 k2=v2``."""
    name, *words = header.split()
    where = f"{path}, line {_header_line(path, name)}"
    if not words:
        raise FormatError(f"{where}: record {name!r} has no labels after its name (--header-labels)")
    named = all("=" in w for w in words)
    these = [w.split("=", 1)[0] for w in words] if named else len(words)
    if keys is not None and these != keys:
        raise FormatError(f"{where}: record {name!r} has labels {these}, but the first record has {keys}")
    values = []
    for w in words:
        text = w.split("=", 1)[1] if named else w
        try:
            v = float(text)
        except ValueError:
            raise FormatError(f"{where}: record {name!r}: label {w!r} is not a number") from None
        if not np.isfinite(v):
            raise FormatError(f"{where}: record {name!r}: label {w!r} is not finite")
        values.append(v)
    return name, values, these


def _name_chrom(path: Path, name: str) -> str:
    """The chromosome of a record named ``[label::]chrom:start-end[(strand)]``."""
    import re

    m = re.fullmatch(r"(?:.*::)?([^:]+):(\d+)-(\d+)(?:\([+\-.]\))?", name)
    if not m:
        raise FormatError(f"{path}, line {_header_line(path, name)}: record name {name!r} is not "
                          "chrom:start-end; --split chrom needs such names (or use --split random)")
    return m.group(1)
