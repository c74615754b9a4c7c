"""Data shipped with seqlens (see NOTICE.md for sources and licences)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    """Path of a bundled data file, e.g. ``data_path("ZBED2_400_h3k27ac.h5")``."""
    path = Path(str(resources.files("seqlens.data").joinpath(name)))
    if not path.exists():
        available = sorted(p.name for p in path.parent.iterdir() if not p.name.startswith("_"))
        raise FileNotFoundError(f"no bundled data file {name!r}; available: {available}")
    return path
