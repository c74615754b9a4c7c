"""``seqlens surrogate``: fit a SQUID-style surrogate of a trained network around one sequence.

``seqlens surrogate --model RUN_DIR --sequence SEQ|--fasta F|--data FILE.h5 --window a:b --n 100000 --rate 0.1
--kind additive|pairwise --out DIR``

Writes to ``DIR`` (through ``DIR.partial/``, published with a manifest): ``metrics.json`` (held-out
``surrogate_pearson_r``, ``surrogate_r2``, ``surrogate_predictive_information_bits``, the same for
``ridge_``, timings), ``additive.csv`` (position x letter parameters in the chosen gauge),
``variant_effects.csv`` (single mutants, wild-type gauge), ``pairwise_norms.csv`` (pairwise only),
``surrogate.npz`` (all parameters) and the figures ``logo.png``, ``g_curve.png``, ``pairwise.png``.
The network's outputs on the library are kept in the working folder, so ``--resume`` after an
interruption skips the query.
"""

from __future__ import annotations

from seqlens.cli.common import (
    add_model_option,
    add_resume_option,
    device_option,
    nonnegative_float,
    nonnegative_int,
    positive_int,
    unit_interval,
)

MIN_FIT = 10  # variants the surrogate fit needs at least


def register(sub) -> None:
    p = sub.add_parser("surrogate", help="surrogate model (additive/pairwise + global epistasis) around a "
                                         "sequence", description=__doc__.split("\n\n")[0])
    add_model_option(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--sequence", help="the wild-type sequence")
    src.add_argument("--fasta", help="FASTA file holding the wild type")
    src.add_argument("--data", help="HDF5 dataset holding the wild type (a sequence of its --split)")
    p.add_argument("--record", default="0",
                   help="FASTA record or --data sequence: name or 0-based index (default 0)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"),
                   help="--data: the split holding the wild type (default test)")
    p.add_argument("--window", default=None, help="mutated window start:end, 0-based end-exclusive "
                                                  "(default: whole sequence)")
    p.add_argument("--n", type=positive_int, default=100000,
                   help="library size incl. the wild type (default 100000)")
    p.add_argument("--rate", type=nonnegative_float, default=0.1,
                   help="mutations per window position (default 0.1)")
    p.add_argument("--n-mutations", type=nonnegative_int, default=None,
                   help="fixed mutations per variant (not Poisson)")
    p.add_argument("--mode", choices=("local", "global"), default="local",
                   help="local keeps the flanks, global shuffles them per variant")
    p.add_argument("--kind", choices=("additive", "pairwise"), default="additive")
    p.add_argument("--noise", choices=("gaussian", "heteroscedastic", "skewt"), default="gaussian")
    p.add_argument("--gauge", choices=("empirical", "uniform", "wild_type"), default="empirical")
    p.add_argument("--l2", type=nonnegative_float, default=1e-4, help="L2 weight on theta")
    p.add_argument("--target", type=nonnegative_int, default=0, help="model output index (default 0)")
    p.add_argument("--test-fraction", type=unit_interval, default=0.1,
                   help="held-out variants, in [0, 1) (default 0.1)")
    p.add_argument("--no-ridge", action="store_true", help="skip the ridge baseline")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.add_argument("--batch-size", type=positive_int, default=512)
    p.add_argument("--device", type=device_option, help="cpu, cuda (default: CUDA when available)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, help="output folder")
    add_resume_option(p)
    p.set_defaults(func=run)


def _wild_type(args) -> tuple[str, str]:
    from seqlens.errors import SeqlensError

    if args.sequence is not None:
        seq = args.sequence.strip()
        if not seq:
            raise SeqlensError("--sequence is empty")
        return "sequence", seq
    from seqlens.cli.common import check_input

    if args.data is not None:
        from seqlens.alphabet import decode
        from seqlens.io.hdf5 import load_dataset

        source = f"{args.data} ({args.split})"
        data = load_dataset(check_input(args.data, "--data"), splits=(args.split,), truth=False)
        X = data.split(args.split).X
        key = f"names_{args.split}"
        names = ([n.decode() if isinstance(n, bytes) else str(n) for n in data.extras[key]]
                 if key in data.extras else [f"{args.split}_{i}" for i in range(len(X))])
        n, sequence = len(X), lambda i: decode(X[i])[0]  # only the chosen one is decoded
    else:
        from seqlens.io.fasta import read_fasta

        source = args.fasta
        names, seqs = read_fasta(check_input(args.fasta, "--fasta"))
        n, sequence = len(seqs), seqs.__getitem__
    if not n:
        raise SeqlensError(f"{source}: no records")
    rec = str(args.record)
    if rec in names:
        i = names.index(rec)
    elif rec.lstrip("-").isdigit() and -n <= int(rec) < n:
        i = int(rec)
    else:
        raise SeqlensError(f"{source}: no record {rec!r} (has {n} records)")
    seq = sequence(i)
    if not seq:
        raise SeqlensError(f"{source}: record {names[i]!r} is empty")
    return names[i], seq


def _memory_limit() -> int:
    """Half the machine's memory, in bytes (16 GB when it cannot be read)."""
    import os

    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 16 << 30


def _check_size(args, length: int, window: tuple[int, int], n_letters: int) -> None:
    """Refuse libraries and fits that cannot fit in memory, from their sizes, before any work."""
    from seqlens.errors import SeqlensError

    W = window[1] - window[0]
    need = args.n * length + 40 * args.n * W  # codes, mutation draws and the one-hot of the window
    if args.kind == "pairwise":
        need += 48 * (W * n_letters) ** 2  # pairwise parameters and their optimiser state
    if need > _memory_limit():
        raise SeqlensError(
            f"--n {args.n} variants of a {length:,}-letter sequence with a {W:,}-position window "
            f"({args.kind}) need about {need / 2**30:.1f} GiB, more than half of this machine's "
            "memory; use a smaller --window or --n")


def _check_options(args, name: str, seq: str, loaded) -> tuple[int, int]:
    """Everything about the wild type and the options that can be checked without the network;
    returns the window."""
    from seqlens.alphabet import DNA, one_hot
    from seqlens.errors import SeqlensError
    from seqlens.interpret.surrogate.library import parse_window

    where = args.fasta or args.data or "--sequence"
    loaded.check_input((1, DNA.size, len(seq)), f"{where}: record {name!r}")
    n_out = loaded.n_outputs
    if n_out is not None and args.target >= n_out:
        raise SeqlensError(f"--target {args.target} out of range: the model has {n_out} outputs")
    try:
        window = parse_window(args.window, len(seq))
    except SeqlensError as exc:
        raise SeqlensError(f"--window {args.window}: {exc}") from None
    W = window[1] - window[0]
    if args.n_mutations is not None and args.n_mutations > W:
        raise SeqlensError(f"--n-mutations {args.n_mutations}: the window has only {W} positions")
    if args.n_mutations == 0 or (args.n_mutations is None and args.rate == 0):
        what = "--n-mutations 0" if args.n_mutations == 0 else "--rate 0"
        raise SeqlensError(f"{what}: every variant would be the wild type; nothing to fit")
    if args.test_fraction >= 1:
        raise SeqlensError(f"--test-fraction {args.test_fraction}: must be below 1")
    n_train = args.n - int(round(args.test_fraction * (args.n - 1)))
    if n_train < MIN_FIT:
        raise SeqlensError(f"--n {args.n}: the fit needs at least {MIN_FIT} training variants, "
                           f"{n_train} are left after --test-fraction {args.test_fraction}")
    _check_size(args, len(seq), window, DNA.size)
    one_hot(seq, DNA, ambiguous="error", names=[name], source=where)
    return window


def _library_outputs(model, lib, args, key: dict, path):
    """The network's outputs on the library ``lib``: kept in ``path`` from an interrupted run
    with the same settings, else queried and kept there."""
    from seqlens.cli.common import load_finished, save_finished
    from seqlens.interpret.surrogate.library import predict_library

    kept = load_finished(path, key)
    if kept is not None and kept["y"].shape == (args.n,):
        print(f"seqlens surrogate: reusing the network outputs in {path}")
        return kept["y"]
    y = predict_library(model, lib, target=args.target, batch_size=args.batch_size, device=args.device,
                        verbose=not args.quiet)
    save_finished(path, key, y=y)
    return y


def _run_key(args, info: dict, seq: str, window) -> dict:
    """What the network's outputs on the library depend on."""
    import hashlib

    return {"model": info.get("sha256"), "sequence": hashlib.sha256(seq.upper().encode()).hexdigest(),
            "window": list(window),
            **{k: getattr(args, k) for k in ("n", "rate", "n_mutations", "mode", "target", "seed")}}


def run(args) -> int:
    import time

    import numpy as np
    import pandas as pd

    from seqlens.interpret.surrogate import surrogate_analysis
    from seqlens.interpret.surrogate.library import mutagenesis_library
    from seqlens.io.atomic import atomic_path, check_output_path, output_folder

    from .common import load_cli_model, report_metrics

    t0 = time.perf_counter()
    out = check_output_path(args.out, "folder")
    name, seq = _wild_type(args)
    loaded = load_cli_model(args)
    window = _check_options(args, name, seq, loaded)
    model = loaded.model
    key = _run_key(args, {"sha256": loaded.sha256}, seq, window)
    with output_folder(out, resume=args.resume) as work:
        lib = mutagenesis_library(seq, n=args.n, rate=args.rate, window=window,
                                  n_mutations=args.n_mutations, mode=args.mode, random_state=args.seed)
        t_query = time.perf_counter()
        y = _library_outputs(model, lib, args, key, work / "library_outputs.npz")
        t_query = time.perf_counter() - t_query
        res = surrogate_analysis(
            model, seq, window=window, n=args.n, rate=args.rate, kind=args.kind, mode=args.mode,
            n_mutations=args.n_mutations, target=args.target, noise=args.noise, gauge=args.gauge,
            l2=args.l2, test_fraction=args.test_fraction, ridge=not args.no_ridge,
            batch_size=args.batch_size, device=args.device, random_state=args.seed,
            verbose=not args.quiet, library=lib, y=y)
        res.metrics["seconds_query"] = t_query  # the query ran (or was reused) here
        sur = res.surrogate
        s, e = res.window
        letters = list(sur.alphabet.letters)
        additive = pd.DataFrame(sur.theta_lc_, columns=letters,
                                index=pd.Index(np.arange(s, e), name="position"))
        additive.insert(0, "wt", [letters[c] for c in res.library.window_wild_type])
        tables = {"additive.csv": additive, "variant_effects.csv": res.variant_effects}
        if args.kind == "pairwise":
            tables["pairwise_norms.csv"] = pd.DataFrame(sur.pairwise_norms(), index=np.arange(s, e),
                                                        columns=np.arange(s, e))
        for fname, df in tables.items():
            with atomic_path(work / fname) as tmp:
                df.to_csv(tmp, index=fname != "variant_effects.csv")
        arrays = {"theta_0": np.array(sur.theta_0_), "theta_lc": sur.theta_lc_,
                  "window": np.array(res.window), "wild_type": res.library.window_wild_type}
        if sur.theta_lclc_ is not None:
            arrays["theta_lclc"] = sur.theta_lclc_
        if sur.g_params_ is not None:
            arrays.update({f"g_{k}": np.asarray(v) for k, v in sur.g_params_.items()})
            arrays.update({"y_mean": np.array(sur.y_mean_), "y_scale": np.array(sur.y_scale_)})
        with atomic_path(work / "surrogate.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        if not args.no_plots:
            from seqlens.plot.curves import save_figure
            from seqlens.plot.surrogate import plot_additive_logo, plot_g_curve, plot_pairwise_heatmap

            save_figure(plot_additive_logo(sur, start=s, title=f"{name} {s}:{e}"), work / "logo.png")
            test = res.test_index if len(res.test_index) else res.train_index
            save_figure(plot_g_curve(sur, res.library.window_codes[test].astype(np.int64), res.y[test]),
                        work / "g_curve.png")
            if args.kind == "pairwise":
                save_figure(plot_pairwise_heatmap(sur, start=s), work / "pairwise.png")
        metrics = {"sequence": name, "kind": args.kind, "mode": args.mode, "noise": args.noise,
                   **res.metrics, "seconds": time.perf_counter() - t0}
        title = f"surrogate of {args.model} around {name} ({args.kind}, window {s}:{e})"
        report_metrics(metrics, work, title=title)
        (work / "library_outputs.npz").unlink()  # kept for --resume only
    return 0
