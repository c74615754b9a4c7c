"""Render a report page to PNG with headless Chromium (for checks and the README screenshot)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(page: str | Path, png: str | Path, width: int = 1200, height: int = 1600,
               timeout: float = 120) -> Path:
    """Render ``page`` (an HTML file) to ``png`` at ``width`` x ``height`` pixels.

    Raises RuntimeError when no Chromium is installed or rendering fails.
    """
    exe = find_chromium()
    if exe is None:
        raise RuntimeError("no chromium executable found (Debian: apt-get install chromium)")
    page, png = Path(page).resolve(), Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, *_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={png}", page.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if not png.exists():
        raise RuntimeError(f"chromium did not write {png}: {proc.stderr[-500:]}")
    return png
