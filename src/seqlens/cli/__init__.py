"""``seqlens <command>``: a thin layer over the library.

Each command lives in its own module of this package with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (taking the parsed ``args``). Heavy imports happen inside
``func`` so that ``seqlens --help`` stays fast.

:func:`main` is the one error boundary of every command: bad input (:class:`SeqlensError`, a
missing or unreadable file, a full disk) prints one line naming the file and value and exits
with 2; Ctrl-C or SIGTERM stop promptly with exit 130, leaving only ``<out>.partial/``; any other
exception is a bug, printed as one line that asks for a report (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import signal
import sys
import threading
import warnings
from contextlib import contextmanager

from seqlens.errors import SeqlensError
from seqlens.io.atomic import active_partials, set_command
from seqlens.io.text import one_line

# modules of seqlens.cli that define commands, in the order they are listed by --help
COMMAND_MODULES = ["simulate", "filters", "train", "gia", "msa", "surrogate", "attribute", "motifs", "study",
                   "data", "dataset", "variants", "zoo"]


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (exit 2), like every other error of the CLI."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="seqlens", description="Interpretable models of biological sequences.",
        epilog="--debug (anywhere on the line) shows the full traceback of an unexpected error.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"seqlens.cli.{name}").register(sub)
    return parser


def _expected_message(exc: BaseException) -> str | None:
    """The one-line message of an expected failure, or None for a bug."""
    if isinstance(exc, SeqlensError):
        return one_line(exc)
    if isinstance(exc, OSError):  # missing or unreadable files, a full disk, ...
        where = f"{exc.filename}: " if exc.filename else ""
        return one_line(f"{where}{exc.strerror or exc}")
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller input, batch size or model"
    return None


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"seqlens: warning: {one_line(message)}", file=file or sys.stderr)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def _interruptible():
    """SIGINT and SIGTERM stop the command (KeyboardInterrupt), also when it was started with
    SIGINT ignored, as a job started with ``&`` from a script is; the previous handlers are put
    back afterwards (``main`` may run inside another program, e.g. the tests)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: _stop_on_sigterm}
    before = {sig: signal.getsignal(sig) for sig in wanted}
    for sig, handler in wanted.items():
        if before[sig] in (signal.SIG_IGN, signal.SIG_DFL):
            signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, handler in before.items():
            if handler is not None:
                signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("SEQLENS_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    set_command(["seqlens", *argv])
    prefix = f"seqlens {args.command}"
    try:
        with _interruptible():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        kept = active_partials()
        where = (f"; unfinished output kept in {', '.join(map(str, kept))} (rerun with --resume "
                 "to continue, or without to start over)") if kept else ""
        print(f"{prefix}: interrupted{where}", file=sys.stderr)
        return 130
    except Exception as exc:
        message = _expected_message(exc)
        if message is not None and not debug:
            print(f"{prefix}: error: {message}", file=sys.stderr)
            return 2
        if debug:
            raise
        command = shlex.join(["seqlens", *argv])
        print(f"{prefix}: internal error ({type(exc).__name__}: {one_line(exc)[:300]}). This is a "
              f"bug in seqlens; please report it with the command line `{command}` (rerun with "
              "--debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
