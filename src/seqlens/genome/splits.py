"""Train / valid / test assignment of genomic windows or sequences.

By chromosome (default for genome windows): sequences on the validation chromosomes go to
``valid``, those on the test chromosomes to ``test``, all others to ``train``, so no held-out
sequence shares a locus with a training one. The defaults hold out one chromosome each, the usual
DeepSEA/Basenji-style choice: ``chr8`` for validation and ``chr9`` for test (``8``/``9`` for a
genome that names chromosomes without ``chr``).

At random (default for FASTA input): a seeded draw gives each sequence ``valid`` with probability
``valid_fraction``, ``test`` with ``test_fraction``, else ``train``; the draw of sequence ``i``
depends only on the seed and ``i``.
"""

from __future__ import annotations

import numpy as np

from seqlens.errors import ParameterError

SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}
DEFAULT_VALID = ("chr8",)
DEFAULT_TEST = ("chr9",)


def default_chroms(names, chroms) -> list[str]:
    """``chroms`` as named in a genome whose chromosomes are ``names``: ``chr8`` becomes ``8``
    when the genome has ``8`` but no ``chr8``."""
    names = set(names)
    out = []
    for c in chroms:
        bare = c.removeprefix("chr")
        out.append(bare if c not in names and bare in names else c)
    return out


def chrom_split(chrom, valid, test) -> np.ndarray:
    """Split codes (0 train, 1 valid, 2 test) of sequences on chromosomes ``chrom``."""
    valid, test = set(valid), set(test)
    both = valid & test
    if both:
        raise ParameterError(f"chromosome(s) {sorted(both)} are both validation and test chromosomes")
    codes = {c: 1 if c in valid else 2 if c in test else 0 for c in dict.fromkeys(chrom)}
    return np.fromiter((codes[c] for c in chrom), dtype=np.int8, count=len(chrom))


def random_split(n: int, valid_fraction: float, test_fraction: float, rng) -> np.ndarray:
    """Split codes of ``n`` sequences drawn at random from ``rng``."""
    if valid_fraction < 0 or test_fraction < 0 or valid_fraction + test_fraction >= 1:
        raise ParameterError(f"valid and test fractions must be >= 0 and leave some training data, got "
                             f"{valid_fraction} and {test_fraction}")
    u = rng.random(n)
    return np.where(u < valid_fraction, 1, np.where(u < valid_fraction + test_fraction, 2, 0)).astype(np.int8)
