"""``seqlens <command>``: a thin layer over the library.

Each command lives in its own module of this package with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (taking the parsed ``args``). Heavy imports happen inside
``func`` so that ``seqlens --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from seqlens.errors import SeqlensError

# modules of seqlens.cli that define commands, in the order they are listed by --help
COMMAND_MODULES = ["simulate", "filters", "train", "gia", "msa", "surrogate", "attribute", "study"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqlens", description="Interpretable models of biological sequences."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"seqlens.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except (SeqlensError, FileNotFoundError) as exc:
        print(f"seqlens {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
