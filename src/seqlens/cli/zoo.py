"""``seqlens zoo``: the reference model zoo shipped with seqlens (models trained at the published
settings, every seed).

``seqlens zoo list`` prints one line per entry and seed with its stored test and interpretation
metrics; ``seqlens zoo path ENTRY [--seed S]`` prints a model's folder (usable as ``--model`` of
``attribute``, ``gia``, ``filters``, ...); ``seqlens zoo build [--out DIR] [--device cuda]`` trains
the models not yet in DIR (hours on 2 CPU cores, minutes on a GPU); ``seqlens zoo check`` reloads
every model, regenerates its data and compares the stored test metrics.
"""

from __future__ import annotations

from seqlens.cli.common import device_option, nonnegative_int, positive_int, set_torch_threads


class _EntryNames:
    """The zoo's entry names as argparse ``choices``, read on first use: ``seqlens.study.zoo``
    imports torch, which ``seqlens --help`` should not pay for (tests/test_startup.py)."""

    def _names(self) -> list[str]:
        from seqlens.study.zoo import ENTRIES

        return list(ENTRIES)

    def __contains__(self, name) -> bool:
        return name in self._names()

    def __iter__(self):
        return iter(self._names())


def register(sub) -> None:
    entries = _EntryNames()
    p = sub.add_parser("zoo", help="the reference model zoo: list, path, build, check",
                       description=__doc__.split("\n\n")[0])
    actions = p.add_subparsers(dest="zoo_action", metavar="ACTION")
    actions.required = True
    actions.add_parser("list", help="entries, seeds and their stored metrics").set_defaults(func=run_list)
    q = actions.add_parser("path", help="print the folder of one zoo model")
    q.add_argument("entry", choices=entries, metavar="ENTRY", help="one of: %(choices)s")
    q.add_argument("--seed", type=nonnegative_int, default=0)
    q.set_defaults(func=run_path)
    q = actions.add_parser("build", help="train the zoo models not yet built (hours on CPU)")
    q.add_argument("--out", help="zoo folder (default: $SEQLENS_ZOO or the shipped zoo)")
    q.add_argument("--entries", nargs="+", choices=entries, metavar="ENTRY",
                   help="only these entries (%(choices)s)")
    q.add_argument("--seeds", nargs="+", type=nonnegative_int, help="seeds (default 0 1 2)")
    q.add_argument("--device", type=device_option, help="torch device (default: CUDA if available)")
    q.add_argument("--jobs", type=positive_int, default=1,
                   help="models trained at once, one process each (e.g. several on one GPU)")
    q.add_argument("--threads", type=positive_int, help="CPU threads per training process")
    q.set_defaults(func=run_build)
    q = actions.add_parser("check", help="reload every model, regenerate its data, compare metrics")
    q.add_argument("--device", type=device_option)
    q.set_defaults(func=run_check)


SCORED = ("match_fraction", "saliency_auroc", "saliency_corrected_auroc", "glifac_auroc")


def run_list(args) -> int:
    from seqlens.models.checkpoint import read_checkpoint_info
    from seqlens.study.zoo import ENTRIES, available_seeds, model_folder

    print(f"{'entry':<40} {'seed':>4} {'epochs':>6} {'test_auroc':>10}  interpretation")
    for key in ENTRIES:
        seeds = available_seeds(key)
        if not seeds:
            print(f"{key:<40}    -      -          -  not built")
        for seed in seeds:
            meta = read_checkpoint_info(model_folder(key, seed))["metadata"]
            m = meta["metrics"]
            shown = ", ".join(f"{k} {m[k]:.3f}" for k in SCORED if k in m)
            print(f"{key:<40} {seed:>4} {meta['epochs_run']:>6} {m['test_auroc']:>10.3f}  {shown}")
    return 0


def run_path(args) -> int:
    from seqlens.errors import SeqlensError
    from seqlens.study.zoo import available_seeds, model_folder

    if args.seed not in available_seeds(args.entry):
        raise SeqlensError(f"zoo model {args.entry} seed {args.seed} is not built "
                           f"(built seeds: {available_seeds(args.entry) or 'none'})")
    print(model_folder(args.entry, args.seed))
    return 0


def run_build(args) -> int:
    from seqlens.study.zoo import SEEDS, build_zoo

    set_torch_threads(args.threads)
    written = build_zoo(args.entries, args.seeds or SEEDS, args.out, device=args.device, jobs=args.jobs,
                        threads=args.threads)
    print(f"built {len(written)} model(s)")
    return 0


def run_check(args) -> int:
    from seqlens.errors import SeqlensError
    from seqlens.study.zoo import ENTRIES, available_seeds, check_entry

    bad = []
    for key in ENTRIES:
        for seed in available_seeds(key):
            res = check_entry(key, seed, device=args.device)
            diff = abs(res["now"]["test_auroc"] - res["stored"]["test_auroc"])
            ok = res["test_sha256_ok"] and diff <= 1e-4
            print(f"{key} seed {seed}: data {'identical' if res['test_sha256_ok'] else 'DIFFERS'}, "
                  f"test AUROC stored {res['stored']['test_auroc']:.4f} now {res['now']['test_auroc']:.4f}"
                  f"{'' if ok else '  <- MISMATCH'}")
            if not ok:
                bad.append(f"{key} seed {seed}")
    if bad:
        raise SeqlensError(f"zoo check: {len(bad)} model(s) do not reproduce their stored metrics: "
                           + ", ".join(bad))
    return 0
