"""Attribution maps in the forms other tools read: TF-MoDISco's ``.npz`` pair and bigWig tracks.

* :func:`write_modisco_inputs`: ``ohe.npz`` (one-hot) and ``<name>.npz`` (hypothetical
  contributions), each one ``(N, 4, L)`` float32 array under the key ``arr_0``, which is what
  ``modisco motifs -s ohe.npz -a shap.npz -w L`` of tfmodisco-lite reads (its CLI loads
  ``np.load(path)["arr_0"]`` and moves the letter axis last itself). ``seqlens motifs --attr
  shap.npz --data ohe.npz`` reads the same pair.
* :func:`write_bigwig`: per-position scores ``(N, L)`` of sequences placed on a genome
  (``chrom``, ``start``, strand) as a bigWig (pyBigWig); :func:`parse_coordinates` reads the
  placement from names such as ``chr1:1000-1400(+)`` (``seqlens dataset`` and ``bedtools
  getfasta`` write them).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from seqlens.errors import FormatError, ParameterError

_COORDS = re.compile(r"^(?P<chrom>[^\s:|]+):(?P<start>\d+)-(?P<end>\d+)(?:\((?P<strand>[+-.])\))?"
                     r"(?:\|(?P<label>.*))?$")


def _array(a, what: str) -> np.ndarray:
    a = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise ParameterError(f"{what} must be numeric, got dtype {a.dtype}")
    return a.astype(np.float32, copy=False)


def write_modisco_inputs(folder: str | Path, X, hypothetical, name: str = "shap") -> tuple[Path, Path]:
    """Write ``folder/ohe.npz`` (``X``, ``(N, 4, L)`` one-hot) and ``folder/<name>.npz``
    (``hypothetical`` contributions, same shape), each under ``arr_0``; returns both paths.

    ``hypothetical`` are contributions of every letter at every position (tfmodisco-lite's
    input): gradients as they are, ISM minus its mean over letters, and for maps that sum to
    the output difference over letters (DeepSHAP, IG) the observed letter's value, as
    ``seqlens motifs`` reads them. Files are written atomically.
    """
    from seqlens.io.atomic import atomic_path

    X, H = _array(X, "X"), _array(hypothetical, "hypothetical")
    if X.ndim != 3 or X.shape[1] != 4:
        raise ParameterError(f"X must be (N, 4, L) one-hot DNA, got shape {X.shape}")
    if H.shape != X.shape:
        raise ParameterError(f"hypothetical contributions have shape {H.shape}, X has {X.shape}")
    if not np.isfinite(H).all():
        n = int(np.argwhere(~np.isfinite(H))[0, 0])
        raise ParameterError(f"hypothetical contributions have NaN or Inf values (sequence {n})")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name == "ohe":
        raise ParameterError(f"name {name!r}: use letters, digits, '_', '-' or '.', and not 'ohe'")
    folder = Path(folder)
    paths = folder / "ohe.npz", folder / f"{name}.npz"
    for path, array in zip(paths, (X, H)):
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, array)
    return paths


def parse_coordinates(names) -> list[tuple[str, int, int, str, str] | None]:
    """``(chrom, start, end, strand, label)`` of each name ``chrom:start-end[(strand)][|label]``
    (0-based, half-open; strand ``+`` when absent); None for a name that is not of that form."""
    out = []
    for name in names:
        m = _COORDS.match(str(name).strip())
        if m is None or int(m["end"]) <= int(m["start"]):
            out.append(None)
            continue
        out.append((m["chrom"], int(m["start"]), int(m["end"]), m["strand"] or "+", m["label"] or ""))
    return out


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """``chrom -> length`` from a two-column table (UCSC ``chrom.sizes``, or a FASTA ``.fai``:
    the first two columns are used). Errors name the file and line."""
    from seqlens.io.text import read_lines

    path = Path(path)
    sizes = {}
    for lineno, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) < 1:
            raise FormatError(f"{path}, line {lineno}: expected 'chrom length' with a positive "
                              f"integer length, got {line.strip()[:80]!r}")
        sizes[parts[0]] = int(parts[1])
    if not sizes:
        raise FormatError(f"{path}: no chromosome sizes")
    return sizes


def write_bigwig(path: str | Path, scores, chroms, starts, strands=None,
                 chrom_sizes: dict[str, int] | None = None) -> dict:
    """Write per-position ``scores`` ``(N, L)`` of N sequences placed at ``chroms[n]``,
    ``starts[n]`` (0-based) as a bigWig track, atomically.

    A sequence on the ``-`` strand (``strands[n] == "-"``) is reversed, so its last position
    lands on ``start``. Bases covered by several sequences get the mean of their scores; NaN
    scores are left out. ``chrom_sizes`` (default: the furthest end written on each chromosome)
    must cover every sequence. Returns ``{"n_sequences", "n_bases", "n_chromosomes"}``.
    """
    import pyBigWig

    from seqlens.io.atomic import atomic_path

    path = Path(path)
    S = _array(scores, "scores")
    if S.ndim != 2:
        raise ParameterError(f"scores must be (N, L), got shape {S.shape}")
    N, L = S.shape
    chroms = [str(c) for c in chroms]
    starts = np.asarray(starts, dtype=np.int64)
    strands = ["+"] * N if strands is None else [str(s) for s in strands]
    if not len(chroms) == len(starts) == len(strands) == N:
        raise ParameterError(f"{N} score rows but {len(chroms)} chromosomes, {len(starts)} starts and "
                             f"{len(strands)} strands")
    bad = [k for k in range(N) if not chroms[k] or starts[k] < 0 or strands[k] not in "+-."]
    if bad:
        k = bad[0]
        raise ParameterError(f"sequence {k}: placement {chroms[k]!r}:{starts[k]} ({strands[k]}) needs "
                             "a chromosome name, a start >= 0 and strand +, - or .")
    ends = {}
    for c, s in zip(chroms, starts):
        ends[c] = max(ends.get(c, 0), int(s) + L)
    sizes = dict(ends) if chrom_sizes is None else dict(chrom_sizes)
    for c, end in ends.items():
        if c not in sizes or sizes[c] < end:
            have = f"has length {sizes[c]}" if c in sizes else "is not in the chromosome sizes"
            raise ParameterError(f"chromosome {c!r} {have}, but a sequence reaches base {end}")
    order = sorted(ends)
    n_bases = 0
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(sizes[c])) for c in order])
            for c in order:
                rows = [k for k in range(N) if chroms[k] == c]
                pos = np.concatenate([starts[k] + np.arange(L) for k in rows])
                val = np.concatenate([S[k, ::-1] if strands[k] == "-" else S[k] for k in rows])
                keep = np.isfinite(val)
                where, inverse = np.unique(pos[keep], return_inverse=True)
                mean = (np.bincount(inverse, weights=val[keep].astype(np.float64))
                        / np.bincount(inverse)).astype(np.float64)
                n_bases += len(where)
                breaks = np.flatnonzero(np.diff(where) != 1) + 1
                for run_pos, run_val in zip(np.split(where, breaks), np.split(mean, breaks)):
                    if len(run_pos):
                        bw.addEntries(c, int(run_pos[0]), values=run_val, span=1, step=1)
        finally:
            bw.close()
    return {"n_sequences": N, "n_bases": int(n_bases), "n_chromosomes": len(order)}
