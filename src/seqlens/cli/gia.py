"""``seqlens gia``: global importance analysis of a trained model.

``seqlens gia --model RUN_DIR --data FILE.h5 --pattern GATA [PATTERN ...]
--experiment importance|kmer-screen|mutagenesis|positional|copies|spacing|gc|hairpin --out DIR``

Null sequences come from the data set's ``--split`` (default test) by ``--null`` (profile,
dinucleotide, shuffle, uniform, gc, quantile). Writes ``results.csv`` (the experiment's table),
``<experiment>.png`` and ``metrics.json`` into DIR (through ``DIR.partial/``, published with a
manifest) and prints the metrics. ``--resume`` is accepted for uniformity; an interrupted run has
no finished parts to reuse and is redone.

``--experiment spacing`` tests the gaps ``--distances START:STOP[:STEP]`` between the two patterns,
by default every gap from 0 to 50 bp (:data:`DEFAULT_MAX_GAP`, fewer when the sequences are too
short), in three orientations: 153 interventions, each predicted on every null sequence. The plan
(gaps, orientations, predictions) is printed before the work starts.
"""

from __future__ import annotations

from seqlens.cli.common import (
    add_model_option,
    add_resume_option,
    check_target_option,
    device_option,
    nonnegative_int,
    positive_int,
    target_option,
)

EXPERIMENTS = ("importance", "kmer-screen", "mutagenesis", "positional", "copies", "spacing", "gc",
               "hairpin")
DEFAULT_MAX_GAP = 50  # spacing: gaps 0..50 bp unless --distances says otherwise
NEEDS = {"importance": 1, "mutagenesis": 1, "positional": 1, "copies": 1, "spacing": 2, "gc": 1,
         "hairpin": 1, "kmer-screen": 0}


def register(sub) -> None:
    p = sub.add_parser("gia", help="global importance analysis of a trained model",
                       description="Global importance analysis (Koo et al. 2021): the mean effect of "
                                   "embedding patterns into null sequences.")
    add_model_option(p)
    p.add_argument("--data", required=True, help="HDF5 dataset: its sequences make the nulls")
    p.add_argument("--experiment", required=True, choices=EXPERIMENTS)
    p.add_argument("--pattern", nargs="*", default=[],
                   help="k-mers with IUPAC codes (e.g. GATA CANNTG); spacing takes two")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--null", default="profile",
                   choices=("profile", "dinucleotide", "shuffle", "uniform", "gc", "quantile"))
    p.add_argument("--n-null", type=positive_int, default=1000, help="number of null sequences")
    p.add_argument("--filter-null", action="store_true",
                   help="keep nulls within the 10th-90th prediction percentile")
    p.add_argument("--target", type=target_option, default=0,
                   help="model output index, or HEAD:INDEX for a model with several outputs (e.g. counts:0)")
    p.add_argument("--position", type=nonnegative_int, help="start position (default: centre)")
    p.add_argument("--strand", default="+", choices=("+", "-"))
    p.add_argument("--k", type=positive_int, default=6, help="k-mer length for kmer-screen (at most 8)")
    p.add_argument("--top", type=positive_int, default=20, help="k-mers shown / aligned into a motif")
    p.add_argument("--max-copies", type=positive_int, default=5)
    p.add_argument("--distances", default=None,
                   help=f"spacing: gaps between the patterns in bp as START:STOP[:STEP], STOP excluded "
                        f"(default 0:{DEFAULT_MAX_GAP + 1}, every gap up to {DEFAULT_MAX_GAP} bp)")
    p.add_argument("--flank", type=positive_int, default=10, help="GC flank length for --experiment gc")
    p.add_argument("--stem", type=positive_int, default=8, help="stem length for --experiment hairpin")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--device", type=device_option, help="cpu, cuda (default: CUDA when available)")
    p.add_argument("--threads", type=positive_int, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resume_option(p)
    p.set_defaults(func=run)


def _range(text: str | None):
    if text is None:
        return None
    from seqlens.errors import SeqlensError

    try:
        parts = [int(x) for x in text.split(":")]
    except ValueError:
        parts = []
    if len(parts) not in (2, 3):
        raise SeqlensError(f"--distances must be START:STOP[:STEP], got {text!r}")
    if parts[0] < 0 or (len(parts) == 3 and parts[2] <= 0):
        raise SeqlensError(f"--distances {text}: START must be >= 0 and STEP > 0")
    values = list(range(*parts))
    if not values:
        raise SeqlensError(f"--distances {text} is empty (STOP must be above START)")
    return values


def _check_patterns(args) -> None:
    """The --pattern values and k-mer options, checked before anything is loaded."""
    from seqlens.alphabet import DNA
    from seqlens.errors import SeqlensError
    from seqlens.interpret import gia

    need = NEEDS[args.experiment]
    if len(args.pattern) < need:
        raise SeqlensError(f"--experiment {args.experiment} needs {need} --pattern value(s), "
                           f"got {len(args.pattern)}")
    for pat in args.pattern:
        try:
            gia.pattern_instances(pat, 1)
        except SeqlensError as exc:
            raise SeqlensError(f"--pattern: {exc}") from None
    if args.experiment == "mutagenesis" and any(c not in DNA.letters for c in args.pattern[0].upper()):
        raise SeqlensError(f"--pattern {args.pattern[0]}: mutagenesis needs a k-mer of the letters "
                           f"{DNA.letters} (no IUPAC codes)")
    if args.experiment == "kmer-screen" and args.k > gia.MAX_K:
        raise SeqlensError(f"--k {args.k}: at most {gia.MAX_K} (4**k k-mers are each embedded into "
                           "every null sequence)")
    if args.experiment == "spacing":
        _range(args.distances)


def _distances(args, L: int) -> list[int]:
    """The spacing gaps: ``--distances``, or every gap up to :data:`DEFAULT_MAX_GAP` bp that fits
    two patterns in a sequence of length ``L``."""
    if args.distances is not None:
        return _range(args.distances)
    room = L - len(args.pattern[0]) - len(args.pattern[1])
    return list(range(0, max(min(DEFAULT_MAX_GAP, room), 0) + 1))


def _check_fit(args, L: int, n_outputs: int | None) -> None:
    """--target, --position and --distances against the model and the sequence length."""
    from seqlens.errors import SeqlensError

    if n_outputs is not None and isinstance(args.target, int) and not args.target < n_outputs:
        raise SeqlensError(f"--target {args.target} out of range: the model has {n_outputs} outputs")
    for pat in args.pattern:
        if len(pat) > L:
            raise SeqlensError(f"--pattern {pat}: longer than the sequences ({L})")
    widths = {"importance": [len(p) for p in args.pattern], "kmer-screen": [args.k],
              "mutagenesis": [len(args.pattern[0])] if args.pattern else []}.get(args.experiment, [])
    if args.experiment == "spacing":
        need = len(args.pattern[0]) + max(_distances(args, L)) + len(args.pattern[1])
        if need > L:
            raise SeqlensError(f"--distances: patterns of widths {len(args.pattern[0])} and "
                               f"{len(args.pattern[1])} at a gap of {max(_distances(args, L))} exceed "
                               f"length {L} (they need {need} positions)")
    if args.position is not None:
        for w in widths:
            if args.position + w > L:
                raise SeqlensError(f"--position {args.position}: a pattern of width {w} does not fit "
                                   f"in sequences of length {L} (positions 0..{L - w})")


def _plan(args, L: int) -> str:
    """One line saying what the run will do (printed before the work starts)."""
    where = f"{args.n_null:,} {args.null} null sequences from the {args.split} split of {args.data}"
    if args.experiment != "spacing":
        return f"seqlens gia {args.experiment}: {where}"
    gaps = _distances(args, L)
    step = f" every {gaps[1] - gaps[0]} bp" if len(gaps) > 1 and gaps[1] - gaps[0] > 1 else ""
    n = 3 * len(gaps)
    return (f"seqlens gia spacing: {args.pattern[0]} + {args.pattern[1]} at gaps {gaps[0]}-{gaps[-1]} bp"
            f"{step} ({len(gaps)} gaps) x 3 orientations = {n} interventions on {where}: "
            f"{n * args.n_null:,} predictions (--distances, --n-null to change)")


def run(args) -> int:
    import time

    print(f"seqlens gia {args.experiment}: loading {args.model} and {args.data}", flush=True)

    from seqlens.cli.common import check_input, load_cli_model, report_metrics, set_torch_threads
    from seqlens.errors import SeqlensError
    from seqlens.io.atomic import atomic_path, check_output_path, output_folder
    from seqlens.io.hdf5 import load_dataset
    from seqlens.plot.curves import save_figure

    t0 = time.time()
    set_torch_threads(args.threads)
    out = check_output_path(args.out, "folder")
    _check_patterns(args)
    loaded = load_cli_model(args)
    model = loaded.model
    data = load_dataset(check_input(args.data, "--data"), splits=(args.split,), truth=False)
    X = data.split(args.split).X
    if not len(X):
        raise SeqlensError(f"{args.data}: split {args.split!r} has no sequences")
    loaded.check_input(X.shape, args.data)
    _check_fit(args, X.shape[2], loaded.n_outputs)
    check_target_option(model, X, args.target, args.device)
    print(_plan(args, X.shape[2]), flush=True)
    with output_folder(out, resume=args.resume) as work:
        table, fig, metrics = _experiment(args, model, X)
        with atomic_path(work / "results.csv") as tmp:
            table.to_csv(tmp, index=False)
        save_figure(fig, work / f"{args.experiment}.png")
        metrics["seconds"] = round(time.time() - t0, 3)
        report_metrics(metrics, work, title=f"seqlens gia {args.experiment} ({args.model})")
    return 0


def _experiment(args, model, X):
    """Run the experiment: (results table, figure, metrics)."""
    import pandas as pd

    from seqlens.interpret import gia
    from seqlens.plot import gia as pg

    kw = dict(target=args.target, batch_size=args.batch_size, device=args.device)
    verbose = not args.quiet
    nulls = gia.null_sequences(args.null, args.n_null, X, model=model,
                               filter_percentiles=(10, 90) if args.filter_null else None,
                               random_state=args.seed, verbose=verbose, **kw)
    L = nulls.shape[2]
    metrics: dict = {"experiment": args.experiment, "null": args.null, "n_null": int(len(nulls))}
    exp = args.experiment
    rs = args.seed
    if exp == "importance":
        rows = []
        for pat in args.pattern:
            pos = args.position if args.position is not None else max((L - len(pat)) // 2, 0)
            r = gia.global_importance(model, nulls, pat, pos, args.strand, random_state=rs,
                                      verbose=verbose, **kw)
            rows.append({"pattern": pat, "position": pos, "importance": r.importance, "se": r.se})
            key = pat.lower()
            metrics[f"importance_{key}"], metrics[f"se_{key}"] = r.importance, r.se
        table = pd.DataFrame(rows)
        fig = pg.plot_importance(table)
    elif exp == "kmer-screen":
        table = gia.kmer_screen(model, nulls, k=args.k, position=args.position, strand=args.strand,
                                random_state=rs, verbose=verbose, **kw)
        top = table.head(args.top)
        motif = gia.align_kmers(list(top["kmer"]), weights=top["importance"].clip(lower=0))
        metrics.update(top_kmer=str(table.loc[0, "kmer"]),
                       top_importance=float(table.loc[0, "importance"]),
                       top_se=float(table.loc[0, "se"]), aligned_consensus=motif.consensus())
        fig = pg.plot_kmer_screen(table, top=args.top, motif=motif)
    elif exp == "mutagenesis":
        table = gia.kmer_mutagenesis(model, nulls, args.pattern[0], position=args.position,
                                     strand=args.strand, random_state=rs, verbose=verbose, **kw)
        ref = table[table["is_reference"]]["importance"].iloc[0]
        mut = table[~table["is_reference"]]
        metrics.update(reference_importance=float(ref), mean_mutant_delta=float(mut["delta"].mean()),
                       min_mutant_delta=float(mut["delta"].min()),
                       max_mutant_delta=float(mut["delta"].max()))
        fig = pg.plot_kmer_mutagenesis(table)
    elif exp == "positional":
        table = gia.positional_bias(model, nulls, args.pattern[0], strand=args.strand,
                                    random_state=rs, verbose=verbose, **kw)
        best = table.loc[table["importance"].idxmax()]
        metrics.update(best_position=int(best["position"]), max_importance=float(best["importance"]),
                       min_importance=float(table["importance"].min()),
                       mean_importance=float(table["importance"].mean()))
        fig = pg.plot_positional(table, pattern=args.pattern[0])
    elif exp == "copies":
        table, fit = gia.multiple_sites(model, nulls, args.pattern[0], max_copies=args.max_copies,
                                        strand=args.strand, random_state=rs, verbose=verbose, **kw)
        metrics.update(slope=fit["slope"], intercept=fit["intercept"], r2=fit["r2"],
                       importance_one_copy=float(table.loc[1, "importance"]))
        fig = pg.plot_copies(table, fit, pattern=args.pattern[0])
    elif exp == "spacing":
        table = gia.spacing(model, nulls, args.pattern[0], args.pattern[1],
                            distances=_distances(args, L), anchor=args.position,
                            random_state=rs, verbose=verbose, **kw)
        names = {"++": "same", "+-": "convergent", "-+": "divergent"}
        for o, sub in table.groupby("orientation", sort=False):
            best = sub.loc[sub["importance"].idxmax()]
            metrics[f"best_distance_{names[o]}"] = int(best["distance"])
            metrics[f"max_importance_{names[o]}"] = float(best["importance"])
        metrics.update(importance_a=table.attrs["importance_a"], importance_b=table.attrs["importance_b"])
        fig = pg.plot_spacing(table, patterns=args.pattern[:2])
    elif exp == "gc":
        res = gia.gc_bias(model, nulls, args.pattern[0], position=args.position, flank=args.flank,
                          strand=args.strand, random_state=rs, verbose=verbose, **kw)
        table = pd.DataFrame([res])
        metrics.update(res)
        fig = pg.plot_gc_bias(res)
    else:  # hairpin
        res = gia.hairpin(model, nulls, args.pattern[0], position=args.position, stem=args.stem,
                          random_state=rs, verbose=verbose, **kw)
        table = pd.DataFrame([res])
        metrics.update(res)
        fig = pg.plot_hairpin(res)
    return table, fig, metrics
