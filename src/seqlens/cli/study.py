"""``seqlens study``: the main job on embedded defaults, writing an HTML report.

The run works in ``<out>.partial/`` and publishes ``<out>`` (report, figures, models, metrics,
manifest) when every section is done; an earlier complete ``<out>`` stays until then. Ctrl-C stops
it within seconds (exit 130), keeping the finished sections for ``--resume``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from contextlib import contextmanager

from seqlens.cli.common import add_resume_option, device_option, nonnegative_int


def register(sub) -> None:
    from seqlens.study.runner import SECTIONS

    p = sub.add_parser("study", help="run the published findings at CPU scale and write an HTML report")
    p.add_argument("--out", default="out/study", help="output folder (report/index.html inside)")
    p.add_argument("--quick", action="store_true", help="tiny settings (a few minutes on 2 cores)")
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # tests of the machinery
    p.add_argument("--only", action="append", choices=list(SECTIONS),
                   help="run only this section (repeatable)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--device", type=device_option, default=None,
                   help="torch device (default: CUDA if available)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    add_resume_option(p)
    p.set_defaults(func=run)


@contextmanager
def interruptible():
    """Let SIGINT stop the run even when it arrives ignored: a job started with ``&`` from a
    script (or a CI step) inherits SIGINT as ignored, and Python then ignores Ctrl-C and
    ``kill -INT`` until the run ends, minutes later."""
    ignored = (signal.getsignal(signal.SIGINT) is signal.SIG_IGN
               and threading.current_thread() is threading.main_thread())
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(args) -> int:
    from seqlens.study.runner import run_study

    mode = "tiny" if args.tiny else "quick" if args.quick else "default"
    with interruptible():
        index = run_study(args.out, mode=mode, only=args.only, seed=args.seed, device=args.device,
                          verbose=not args.quiet, resume=args.resume)
    print(f"report: {index}")
    return 0
