"""``seqlens surrogate``: fit a SQUID-style surrogate of a trained network around one sequence.

``seqlens surrogate --model RUN_DIR --sequence SEQ|--fasta F --window a:b --n 100000 --rate 0.1
--kind additive|pairwise --out DIR``

Writes to ``DIR``: ``metrics.json`` (held-out ``surrogate_pearson_r``, ``surrogate_r2``,
``surrogate_predictive_information_bits``, the same for ``ridge_``, timings), ``additive.csv``
(position x letter parameters in the chosen gauge), ``variant_effects.csv`` (single mutants,
wild-type gauge), ``pairwise_norms.csv`` (pairwise only), ``surrogate.npz`` (all parameters) and
the figures ``logo.png``, ``g_curve.png``, ``pairwise.png``.
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("surrogate", help="surrogate model (additive/pairwise + global epistasis) around a "
                                         "sequence", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="run folder written by seqlens train")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--sequence", help="the wild-type sequence")
    src.add_argument("--fasta", help="FASTA file holding the wild type")
    p.add_argument("--record", default="0", help="FASTA record: name or 0-based index (default 0)")
    p.add_argument("--window", default=None, help="mutated window start:end, 0-based end-exclusive "
                                                  "(default: whole sequence)")
    p.add_argument("--n", type=int, default=100000, help="library size incl. the wild type (default 100000)")
    p.add_argument("--rate", type=float, default=0.1, help="mutations per window position (default 0.1)")
    p.add_argument("--n-mutations", type=int, default=None, help="fixed mutations per variant (not Poisson)")
    p.add_argument("--mode", choices=("local", "global"), default="local",
                   help="local keeps the flanks, global shuffles them per variant")
    p.add_argument("--kind", choices=("additive", "pairwise"), default="additive")
    p.add_argument("--noise", choices=("gaussian", "heteroscedastic", "skewt"), default="gaussian")
    p.add_argument("--gauge", choices=("empirical", "uniform", "wild_type"), default="empirical")
    p.add_argument("--l2", type=float, default=1e-4, help="L2 weight on theta")
    p.add_argument("--target", type=int, default=0, help="model output index (default 0)")
    p.add_argument("--test-fraction", type=float, default=0.1, help="held-out variants (default 0.1)")
    p.add_argument("--no-ridge", action="store_true", help="skip the ridge baseline")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)


def _wild_type(args) -> tuple[str, str]:
    from seqlens.errors import SeqlensError

    if args.sequence is not None:
        return "sequence", args.sequence.strip()
    from seqlens.io.fasta import read_fasta

    names, seqs = read_fasta(args.fasta)
    if not seqs:
        raise SeqlensError(f"{args.fasta}: no records")
    rec = str(args.record)
    if rec in names:
        i = names.index(rec)
    elif rec.lstrip("-").isdigit() and -len(seqs) <= int(rec) < len(seqs):
        i = int(rec)
    else:
        raise SeqlensError(f"{args.fasta}: no record {rec!r} (has {len(seqs)} records)")
    return names[i], seqs[i]


def run(args) -> int:
    import time
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from seqlens.errors import SeqlensError
    from seqlens.interpret.surrogate import surrogate_analysis
    from seqlens.io.atomic import atomic_path
    from seqlens.models.checkpoint import load_model

    from .common import report_metrics

    t0 = time.perf_counter()
    out = Path(args.out)
    name, seq = _wild_type(args)
    model = load_model(args.model)
    try:
        res = surrogate_analysis(
            model, seq, window=args.window, n=args.n, rate=args.rate, kind=args.kind, mode=args.mode,
            n_mutations=args.n_mutations, target=args.target, noise=args.noise, gauge=args.gauge,
            l2=args.l2, test_fraction=args.test_fraction, ridge=not args.no_ridge,
            batch_size=args.batch_size, device=args.device, random_state=args.seed, verbose=not args.quiet)
    except ValueError as exc:  # bad window, sizes, ...: report as a usage error
        if isinstance(exc, SeqlensError):
            raise
        raise SeqlensError(str(exc)) from exc
    sur = res.surrogate
    s, e = res.window
    out.mkdir(parents=True, exist_ok=True)
    letters = list(sur.alphabet.letters)
    additive = pd.DataFrame(sur.theta_lc_, columns=letters, index=pd.Index(np.arange(s, e), name="position"))
    additive.insert(0, "wt", [letters[c] for c in res.library.window_wild_type])
    tables = {"additive.csv": additive, "variant_effects.csv": res.variant_effects}
    if args.kind == "pairwise":
        tables["pairwise_norms.csv"] = pd.DataFrame(sur.pairwise_norms(), index=np.arange(s, e),
                                                    columns=np.arange(s, e))
    for fname, df in tables.items():
        with atomic_path(out / fname) as tmp:
            df.to_csv(tmp, index=fname != "variant_effects.csv")
    arrays = {"theta_0": np.array(sur.theta_0_), "theta_lc": sur.theta_lc_, "window": np.array(res.window),
              "wild_type": res.library.window_wild_type}
    if sur.theta_lclc_ is not None:
        arrays["theta_lclc"] = sur.theta_lclc_
    if sur.g_params_ is not None:
        arrays.update({f"g_{k}": np.asarray(v) for k, v in sur.g_params_.items()})
        arrays.update({"y_mean": np.array(sur.y_mean_), "y_scale": np.array(sur.y_scale_)})
    with atomic_path(out / "surrogate.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    if not args.no_plots:
        from seqlens.plot.curves import save_figure
        from seqlens.plot.surrogate import plot_additive_logo, plot_g_curve, plot_pairwise_heatmap

        save_figure(plot_additive_logo(sur, start=s, title=f"{name} {s}:{e}"), out / "logo.png")
        test = res.test_index if len(res.test_index) else res.train_index
        save_figure(plot_g_curve(sur, res.library.window_codes[test].astype(np.int64), res.y[test]),
                    out / "g_curve.png")
        if args.kind == "pairwise":
            save_figure(plot_pairwise_heatmap(sur, start=s), out / "pairwise.png")
    metrics = {"sequence": name, "kind": args.kind, "mode": args.mode, "noise": args.noise, **res.metrics,
               "seconds": time.perf_counter() - t0}
    title = f"surrogate of {args.model} around {name} ({args.kind}, window {s}:{e})"
    report_metrics(metrics, out, title=title)
    return 0
