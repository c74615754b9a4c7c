"""FASTA reading (streaming, multi-line records) and writing.

Records are ``(name, sequence)`` pairs; ``name`` is the header up to the first whitespace and the
full header is kept by :func:`iter_fasta` when asked. Gzip files are read transparently (found by
their magic bytes, see :mod:`seqlens.io.text`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from seqlens.alphabet import DNA, Alphabet, get_alphabet, one_hot
from seqlens.errors import FormatError, SequenceError
from seqlens.io.atomic import atomic_path
from seqlens.io.text import iter_lines


def iter_fasta(path: str | Path, full_header: bool = False) -> Iterator[tuple[str, str]]:
    """Stream ``(name, sequence)`` records from a FASTA file, one record in memory at a time.

    Multi-line sequences are joined; whitespace inside sequence lines is removed; ``;`` comment
    lines are skipped. Raises :class:`FormatError` (file, line) for text before the first header
    or a file that is not text, and :class:`SequenceError` (file, record) for an empty record or
    an empty name. Duplicate names are kept, with one warning naming the first and their count.
    """
    path = Path(path)
    name = None
    header_line = 0
    chunks: list[str] = []
    seen: set[str] = set()
    duplicates: list[tuple[str, int]] = []  # (name, line) of each repeated name
    for lineno, line in enumerate(iter_lines(path), 1):
        if line.startswith(">"):
            if name is not None:
                yield _finish(path, name, header_line, chunks)
            header = line[1:].strip()
            if not header:
                raise SequenceError(f"{path}, line {lineno}: record with an empty name")
            name = header if full_header else header.split()[0]
            header_line, chunks = lineno, []
            if name in seen:
                duplicates.append((name, lineno))
            seen.add(name)
        elif line.startswith(";") or not line.strip():
            continue
        elif name is None:
            raise FormatError(
                f"{path}, line {lineno}: sequence text before the first '>' header "
                f"({line.strip()[:40]!r}); is this a FASTA file?"
            )
        else:
            chunks.append("".join(line.split()))
    if name is None:
        raise FormatError(f"{path}: no FASTA records (empty file?)")
    yield _finish(path, name, header_line, chunks)
    if duplicates:
        first, line = duplicates[0]
        warnings.warn(f"{path}: {len(duplicates)} duplicate record name(s), first {first!r} at "
                      f"line {line}; all records are kept", stacklevel=2)


def _finish(path: Path, name: str, line: int, chunks: list[str]) -> tuple[str, str]:
    seq = "".join(chunks)
    if not seq:
        raise SequenceError(f"{path}: record {name!r} (line {line}) has an empty sequence")
    return name, seq


def read_fasta(path: str | Path, full_header: bool = False) -> tuple[list[str], list[str]]:
    """Read all records. Returns ``(names, sequences)``."""
    names, seqs = [], []
    for name, seq in iter_fasta(path, full_header=full_header):
        names.append(name)
        seqs.append(seq)
    return names, seqs


def read_fasta_onehot(
    path: str | Path, alphabet: str | Alphabet = DNA, ambiguous: str = "uniform"
) -> tuple[list[str], np.ndarray]:
    """Read an equal-length FASTA file as one-hot. Returns ``(names, X)`` with X ``(N, A, L)``.

    Errors name the file, record and position (invalid character, ragged length).
    """
    names, seqs = read_fasta(path)
    return names, one_hot(seqs, get_alphabet(alphabet), ambiguous, names=names, source=str(path))


def write_fasta(
    path: str | Path, records: Iterable[tuple[str, str]], line_width: int = 80
) -> Path:
    """Write ``(name, sequence)`` records atomically, wrapping sequences at ``line_width``
    (0 = no wrapping)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        for name, seq in records:
            if not str(name).strip():
                raise SequenceError(f"{path}: cannot write a record with an empty name")
            fh.write(f">{name}\n")
            if line_width and line_width > 0:
                for i in range(0, len(seq), line_width):
                    fh.write(seq[i:i + line_width] + "\n")
            else:
                fh.write(seq + "\n")
    return path
