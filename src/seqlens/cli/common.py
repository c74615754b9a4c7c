"""Helpers shared by CLI commands."""

from __future__ import annotations

from pathlib import Path

from seqlens.io.atomic import write_json


def report_metrics(metrics: dict, where: str | Path | None, title: str | None = None) -> None:
    """Print flat ``key: value`` metrics as an aligned table and write them as JSON to ``where``:
    a folder (``<where>/metrics.json``) or a ``.json`` file path (``<file>.metrics.json`` for
    a command whose output is a file)."""
    if title:
        print(title)
    width = max((len(k) for k in metrics), default=0)
    for key, value in metrics.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    if where is not None:
        where = Path(where)
        write_json(where if where.suffix == ".json" else where / "metrics.json", metrics)


def metrics_path(work: str | Path, out: str | Path) -> Path:
    """Where a command whose output is the file ``out`` writes its metrics, inside its working
    folder ``work`` (``<name>.metrics.json``; published beside ``out``)."""
    return Path(work) / f"{Path(out).name}.metrics.json"


def add_resume_option(parser) -> None:
    """``--resume``: continue the unfinished run left in ``<out>.partial/``."""
    parser.add_argument("--resume", action="store_true",
                        help="continue the unfinished run in <out>.partial/ (default: start over)")


def _number(kind, low: float, high: float = float("inf"), low_inclusive: bool = True, what: str = ""):
    """An argparse ``type`` that parses ``kind`` and refuses values outside the range."""
    import argparse
    import math

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        below = value < low if low_inclusive else value <= low
        if below or value > high or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


positive_int = _number(int, 1, what="an integer >= 1")
nonnegative_int = _number(int, 0, what="an integer >= 0")
positive_float = _number(float, 0.0, low_inclusive=False, what="a number > 0")
nonnegative_float = _number(float, 0.0, what="a number >= 0")
unit_interval = _number(float, 0.0, 1.0, what="a number in [0, 1]")
