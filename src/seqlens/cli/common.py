"""Helpers shared by CLI commands."""

from __future__ import annotations

from pathlib import Path

from seqlens.io.atomic import write_json


def report_metrics(metrics: dict, out_dir: str | Path | None, title: str | None = None) -> None:
    """Print flat ``key: value`` metrics as an aligned table and write ``<out_dir>/metrics.json``."""
    if title:
        print(title)
    width = max((len(k) for k in metrics), default=0)
    for key, value in metrics.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    if out_dir is not None:
        write_json(Path(out_dir) / "metrics.json", metrics)
