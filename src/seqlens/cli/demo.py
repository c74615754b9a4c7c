"""``seqlens demo``: the main job on embedded defaults (grows into ``seqlens study``)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the main job on embedded defaults")
    p.add_argument("--out", default="out/demo", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args) -> int:
    from seqlens.cli import simulate as simulate_cmd

    ns = type("Args", (), {})()
    ns.name, ns.out, ns.n, ns.length, ns.seed = "regulatory_code", f"{args.out}/regcode.h5", \
        2000, 200, args.seed
    return simulate_cmd.run(ns)
