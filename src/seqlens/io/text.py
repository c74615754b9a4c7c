"""One opener for every text reader: gzip found by its magic bytes, UTF-8 only, clear errors.

Every text format in :mod:`seqlens.io` reads through :func:`iter_lines` (streaming),
:func:`read_text` or :func:`read_csv`, so that a binary, truncated or non-UTF-8 file gives a
:class:`~seqlens.errors.FormatError` naming the file and the byte offset instead of a decoder
traceback. A gzipped file is recognised without the ``.gz`` suffix; a plain file named ``.gz`` is
read as plain text.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from seqlens.errors import FormatError

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def one_line(message: BaseException | str) -> str:
    """A message (an exception's, or text) squeezed onto one line; library messages may span
    several. An exception without a message gives its type name."""
    return " ".join(str(message).split()) or type(message).__name__


def _open(path: Path) -> tuple[IO[bytes], bool]:
    """Open ``path`` for binary reading, decompressing gzip; returns ``(handle, is_gzip)``."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise FormatError(f"{path}: is a folder, not a file")
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == GZIP_MAGIC
        return (gzip.open(path, "rb") if gz else open(path, "rb")), gz
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or one_line(exc)})") from None


def _gzip_error(path: Path, exc: BaseException) -> FormatError:
    return FormatError(f"{path}: corrupt or truncated gzip file ({one_line(exc)})")


def _decode(data: bytes, path: Path, offset: int, gz: bool) -> str:
    """``data`` (found at byte ``offset``) as text; refuses invalid UTF-8 and NUL bytes."""
    try:
        text = data.decode("utf-8")
        bad = data.find(b"\x00")
    except UnicodeDecodeError as exc:
        nul = data.find(b"\x00", 0, exc.start)
        bad = nul if nul >= 0 else exc.start
    if bad >= 0:
        where = "of the decompressed data " if gz else ""
        what = "is a NUL" if data[bad] == 0 else "is not UTF-8"
        raise FormatError(f"{path}: not a text file (byte 0x{data[bad]:02x} at offset "
                          f"{offset + bad} {where}{what})")
    return text[1:] if offset == 0 and text.startswith("\ufeff") else text


def iter_lines(path: str | Path) -> Iterator[str]:
    """Stream the lines of a text file (plain or gzip) without their line endings."""
    path = Path(path)
    fh, gz = _open(path)
    with io.TextIOWrapper(fh, encoding="utf-8-sig", newline="\n") as text:
        try:
            for line in text:
                if "\x00" in line:
                    raise _locate_bad_byte(path) from None
                yield line.rstrip("\n").removesuffix("\r")
        except UnicodeDecodeError:
            raise _locate_bad_byte(path) from None
        except _GZIP_ERRORS as exc:
            raise _gzip_error(path, exc) from None


def _locate_bad_byte(path: Path) -> FormatError:
    """The error naming the first byte that is not text (the slow path of :func:`iter_lines`)."""
    fh, gz = _open(path)
    offset = 0
    with fh:
        try:
            for raw in fh:
                _decode(raw, path, offset, gz)
                offset += len(raw)
        except FormatError as exc:
            return exc
        except _GZIP_ERRORS as exc:
            return _gzip_error(path, exc)
    return FormatError(f"{path}: not a text file")


def read_text(path: str | Path) -> str:
    """The whole text of a file (plain or gzip)."""
    path = Path(path)
    fh, gz = _open(path)
    with fh:
        try:
            data = fh.read()
        except _GZIP_ERRORS as exc:
            raise _gzip_error(path, exc) from None
    return _decode(data, path, 0, gz)


def read_lines(path: str | Path) -> list[str]:
    """All lines of a text file, numbered like :func:`iter_lines` (``lines[k]`` is line k + 1)."""
    lines = read_text(path).split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def default_sep(path: str | Path) -> str:
    """Table separator from the name: tab for ``.tsv``/``.txt`` (``.gz`` ignored), else comma."""
    name = Path(path).name.lower().removesuffix(".gz")
    return "\t" if name.endswith((".tsv", ".txt")) else ","


def read_csv(path: str | Path, what: str = "table", text: str | None = None, **kwargs):
    """``pandas.read_csv`` over :func:`read_text` (or ``text`` already read from ``path``); empty
    or malformed tables raise :class:`FormatError` naming the file (pandas names the line)."""
    import pandas as pd

    path = Path(path)
    if text is None:
        text = read_text(path)
    try:
        return pd.read_csv(io.StringIO(text), **kwargs)
    except pd.errors.EmptyDataError:
        raise FormatError(f"{path}: empty {what}") from None
    except (ValueError, OverflowError) as exc:  # pandas' ParserError is a ValueError
        raise FormatError(f"{path}: cannot parse as a {what} ({one_line(exc)})") from None
