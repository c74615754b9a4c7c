"""Outputs that appear whole or not at all.

* :func:`atomic_path`: one file, written to a temporary name beside the target, then renamed.
* :func:`output_folder` / :func:`output_file`: the output rule of every command. A run works in
  ``<out>.partial/``; on success a manifest (files, sizes, SHA-256, command, version) is written
  last and the folder is renamed to ``<out>`` (an existing complete ``<out>`` is swapped out in
  one step where the system allows). A killed run leaves only ``<out>.partial/``, which a run with
  ``resume=True`` continues and a fresh run replaces. Readers call :func:`check_output_folder`,
  which refuses a folder without a manifest.

Files get the user's umask (not the 0600 of ``mkstemp``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import math
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seqlens.errors import SeqlensError

MANIFEST = "manifest.json"
PARTIAL = ".partial"
FORMAT = "seqlens-output"


class OutputError(SeqlensError):
    """An output path cannot be used, or an output folder is incomplete or was modified."""


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success. The
    writer creates the file, so it gets the user's umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        if not tmp.exists():  # a writer that wrote nothing publishes an empty file
            tmp.touch()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | Path, data) -> Path:
    """Write ``data`` as indented, strict JSON, atomically. numpy scalars and arrays are
    allowed; NaN and infinities are written as ``null`` (JSON has no NaN)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_ready(data), indent=2, default=to_json_value, allow_nan=False) + "\n")
    return Path(path)


def json_ready(obj):
    """``obj`` with numpy values made plain and NaN/infinities replaced by ``None``."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if type(obj).__module__ == "numpy":
        return json_ready(to_json_value(obj))
    return obj


def plain_json(obj):
    """``obj`` as it reads back from strict JSON: plain dicts, lists, numbers, strings and None
    (tuples become lists, numpy values plain, NaN ``None``)."""
    return json.loads(json.dumps(json_ready(obj), default=to_json_value))


def to_json_value(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------ the output rule
def partial_path(out: str | Path) -> Path:
    """The working folder of a run whose output is ``out``."""
    out = Path(out)
    return out.with_name(out.name + PARTIAL)


def check_output_path(out: str | Path, kind: str = "folder") -> Path:
    """Refuse an ``--out`` that cannot hold a ``kind`` (``"folder"`` or ``"file"``) output,
    before any work is done: a file where a folder is expected and vice versa, a folder of other
    things that is not a seqlens output, a parent that is a file."""
    out = Path(out)
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"--out {out}: {parent} is a file, not a folder")
    if kind == "folder":
        if out.exists() and not out.is_dir():
            raise OutputError(f"--out {out}: an existing file; this command writes a folder")
        if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
            raise OutputError(
                f"--out {out}: an existing folder that is not a complete seqlens output (no "
                f"{MANIFEST}); choose a new --out or remove it")
    elif out.is_dir():
        raise OutputError(f"--out {out}: an existing folder; this command writes a file")
    return out


_COMMAND: list[str] = []


def set_command(command: list[str]) -> None:
    """Record the command line that manifests name (the CLI sets it; default ``sys.argv``)."""
    _COMMAND[:] = command


def write_manifest(folder: str | Path, command: list[str] | None = None) -> Path:
    """Write ``manifest.json`` listing every file under ``folder`` (size and SHA-256)."""
    from seqlens import __version__

    folder = Path(folder)
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST:
            files[rel] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return write_json(folder / MANIFEST, {
        "format": FORMAT, "seqlens_version": __version__,
        "command": list(command or _COMMAND or ["seqlens", *sys.argv[1:]]),
        "files": files,
    })


def check_output_folder(folder: str | Path, verify: bool = False) -> dict:
    """The manifest of a complete output folder; refuses incomplete or modified folders.

    Sizes are always checked; ``verify=True`` also checks every file's SHA-256.
    """
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.exists():
        hint = (f"; {partial_path(folder)} holds an unfinished run (rerun with --resume)"
                if partial_path(folder).exists() else "")
        raise OutputError(f"{folder}: not a complete seqlens output (no {MANIFEST}){hint}")
    try:
        info = json.loads(manifest.read_text())
        files = info["files"]
        assert info.get("format") == FORMAT and isinstance(files, dict)
    except (ValueError, KeyError, TypeError, AssertionError, UnicodeDecodeError):
        raise OutputError(f"{manifest}: corrupt manifest") from None
    for rel, entry in files.items():
        path = folder / rel
        if not path.is_file():
            raise OutputError(f"{folder}: file {rel} listed in {MANIFEST} is missing")
        if path.stat().st_size != entry.get("bytes") or (
                verify and sha256_file(path) != entry.get("sha256")):
            raise OutputError(f"{path}: changed since the run wrote it ({MANIFEST} disagrees)")
    return info


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _publish_folder(partial: Path, out: Path) -> None:
    if out.exists():
        if not _exchange(partial, out):
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.rename(out, old)
            os.rename(partial, out)
            partial = old
        shutil.rmtree(partial)
    else:
        os.rename(partial, out)


_ACTIVE: list[Path] = []


def active_partials() -> list[Path]:
    """Working folders of runs in progress in this process (for the interrupt message)."""
    return [p for p in _ACTIVE if p.exists()]


def _open_partial(out: Path, resume: bool) -> tuple[Path, bool]:
    partial = partial_path(out)
    if partial.exists() and not resume:
        shutil.rmtree(partial)
    fresh = not partial.exists()
    for stale in partial.rglob(".*.tmp"):  # writes cut short by SIGKILL: never publish them
        stale.unlink()
    partial.mkdir(parents=True, exist_ok=True)
    _ACTIVE.append(partial)
    return partial, fresh


@contextmanager
def _working(out: Path, resume: bool) -> Iterator[Path]:
    """The working folder of ``out``, removed again when a fresh run meets bad input."""
    partial, fresh = _open_partial(out, resume)
    try:
        yield partial
    except SeqlensError:
        if fresh:
            shutil.rmtree(partial, ignore_errors=True)
        raise


@contextmanager
def output_folder(out: str | Path, resume: bool = False,
                  command: list[str] | None = None) -> Iterator[Path]:
    """Yield the working folder ``<out>.partial/``; on success write the manifest and publish it
    as ``<out>``. On a :class:`SeqlensError` (bad input) a fresh working folder is removed; on
    an interrupt or a crash it stays for ``resume=True``."""
    out = check_output_path(out, "folder")
    with _working(out, resume) as partial:
        yield partial
    write_manifest(partial, command)
    _publish_folder(partial, out)


@contextmanager
def output_file(out: str | Path, resume: bool = False) -> Iterator[Path]:
    """For a command whose output is one file (with ``<file>.metrics.json`` and other
    ``<file>.*`` sidecars): yield the working folder ``<out>.partial/``, in which the command
    writes ``<out.name>`` and its sidecars. On success the sidecars are moved beside ``out``
    first and the file itself last, so the file appears only when its sidecars are in place."""
    out = check_output_path(out, "file")
    with _working(out, resume) as partial:
        yield partial
    main = partial / out.name
    if not main.exists():
        raise OutputError(f"{out}: the run wrote no output file")  # a bug in the command
    for path in sorted(partial.iterdir()):
        if path != main and path.is_file():
            os.replace(path, out.parent / path.name)
    os.replace(main, out)
    shutil.rmtree(partial)
