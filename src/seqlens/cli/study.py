"""``seqlens study``: the main job on embedded defaults, writing an HTML report."""

from __future__ import annotations


def register(sub) -> None:
    from seqlens.study.runner import SECTIONS

    p = sub.add_parser("study", help="run the published findings at CPU scale and write an HTML report")
    p.add_argument("--out", default="out/study", help="output folder (report/index.html inside)")
    p.add_argument("--quick", action="store_true", help="tiny settings (a few minutes on 2 cores)")
    p.add_argument("--only", action="append", choices=list(SECTIONS),
                   help="run only this section (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="torch device (default: CUDA if available)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=run)


def run(args) -> int:
    from seqlens.study.runner import run_study

    index = run_study(args.out, quick=args.quick, only=args.only, seed=args.seed, device=args.device,
                      verbose=not args.quiet)
    print(f"report: {index}")
    return 0
