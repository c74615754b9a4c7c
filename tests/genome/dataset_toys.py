"""Small genomics files made in the tests: a toy genome with planted motifs, BED lines, bigWigs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MOTIF = "TTGACGCAGGTA"  # planted at every peak summit (not its own reverse complement)
SIZES = {"chr1": 24000, "chr2": 16000, "chr3": 16000}


def toy_genome(path: Path, sizes=None, seed: int = 0, line: int = 61, peaks_every: int = 1600,
               lower: bool = False) -> tuple[dict[str, str], list[tuple[str, int]]]:
    """Write a FASTA genome of random sequence whose GC content varies in 1 kb blocks (0.3-0.7),
    with ``MOTIF`` planted every ``peaks_every`` bp (from 800); ``line`` letters per line.
    Returns ``({chrom: sequence}, [(chrom, motif start)])``."""
    rng = np.random.default_rng(seed)
    seqs, sites = {}, []
    for chrom, n in (sizes or SIZES).items():
        p = np.repeat(rng.uniform(0.3, 0.7, n // 1000 + 1), 1000)[:n]
        gc = rng.random(n) < p
        letters = np.where(gc, rng.choice(np.array(list("CG")), n), rng.choice(np.array(list("AT")), n))
        s = list("".join(letters))
        for start in range(800, n - 800, peaks_every):
            s[start:start + len(MOTIF)] = MOTIF
            sites.append((chrom, start))
        seqs[chrom] = "".join(s)
    with open(path, "w") as fh:
        for chrom, s in seqs.items():
            fh.write(f">{chrom} toy\n")
            for i in range(0, len(s), line):
                fh.write((s[i:i + line].lower() if lower else s[i:i + line]) + "\n")
    return seqs, sites


def write_bed(path: Path, rows, header: bool = False) -> Path:
    """BED lines from tuples (joined by tabs); ``header`` adds a track line and a comment."""
    with open(path, "w") as fh:
        if header:
            fh.write('track name="toy peaks"\n# a comment\n')
        for row in rows:
            fh.write("\t".join(str(v) for v in row) + "\n")
    return path


def peak_rows(sites, width: int = 200, summit: int = 100, strand: str = ".", first: int = 0):
    """narrowPeak rows of ``width`` around each motif site, the summit ``summit`` bp in, named
    ``peak<first + k>``."""
    rows = []
    for k, (chrom, start) in enumerate(sites, first):
        s = start + len(MOTIF) // 2 - summit
        rows.append((chrom, s, s + width, f"peak{k}", 0, strand, 5.0, -1, -1, summit))
    return rows


def write_bigwig(path: Path, sizes: dict, values: dict) -> Path:
    """A bigWig of per-base ``values`` ({chrom: float array}); chromosomes in ``sizes`` only."""
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()), maxZooms=0)
    for chrom, v in values.items():
        v = np.asarray(v, dtype=np.float64)
        bw.addEntries(chrom, 0, values=v.tolist(), span=1, step=1)
    bw.close()
    return path


def one_hot_str(seq: str) -> np.ndarray:
    """``(4, L)`` uint8 one-hot of ACGT (anything else all zeros)."""
    idx = np.frombuffer(seq.upper().encode(), np.uint8)
    return (idx[None, :] == np.frombuffer(b"ACGT", np.uint8)[:, None]).astype(np.uint8)


def revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGTNacgtn", "TGCANtgcan"))
