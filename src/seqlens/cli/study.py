"""``seqlens study``: the main job on embedded defaults, writing an HTML report.

The run works in ``<out>.partial/`` and publishes ``<out>`` (report, figures, models, metrics,
manifest) when every section is done; an earlier complete ``<out>`` stays until then. Ctrl-C stops
it within seconds (exit 130), keeping the finished sections for ``--resume``.
"""

from __future__ import annotations

import argparse

from seqlens.cli.common import (
    add_resume_option,
    device_option,
    nonnegative_int,
    positive_int,
    set_torch_threads,
)


def register(sub) -> None:
    from seqlens.study.runner import SECTIONS

    p = sub.add_parser("study", help="run the published findings at CPU scale and write an HTML report")
    p.add_argument("--out", default="out/study", help="output folder (report/index.html inside)")
    p.add_argument("--quick", action="store_true",
                   help="interpret the reference zoo only (about 1.5 min on 2 idle cores); the default also "
                        "retrains part of the zoo to check it reproduces (about 15 min)")
    p.add_argument("--retrain-all", action="store_true",
                   help="rebuild every zoo model and seed in the run and compare (hours on CPU, minutes "
                        "on a GPU)")
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # tests of the machinery
    p.add_argument("--only", action="append", choices=list(SECTIONS),
                   help="run only this section (repeatable)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--device", type=device_option, default=None,
                   help="torch device (default: CUDA if available)")
    p.add_argument("--threads", type=positive_int,
                   help="torch CPU threads (default: the idle cores, not to oversubscribe a busy machine)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    add_resume_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from seqlens.study.runner import run_study

    set_torch_threads(args.threads)
    mode = "tiny" if args.tiny else "quick" if args.quick else "default"
    overrides = {"retrain": "all"} if args.retrain_all else None
    index = run_study(args.out, mode=mode, only=args.only, seed=args.seed, device=args.device,
                      verbose=not args.quiet, resume=args.resume, overrides=overrides)
    print(f"report: {index}")
    return 0
