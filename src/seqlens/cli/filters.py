"""``seqlens filters --model RUN_DIR --data FILE.h5 --out DIR``: first-layer filters as motifs.

Extracts one motif per first-layer filter from the sequences of one split (activation-based by
default, or straight from the weights), matches them with Tomtom against a JASPAR release (and,
through the synonym IDs, against the ground-truth motifs of a simulated dataset), and writes
``motifs.meme``, ``matches.csv``, ``stats.json``, ``filters.png`` (logo grid) and
``metrics.json`` to ``--out`` (through ``--out.partial/``, published with a manifest). ``--resume``
is accepted for uniformity; an interrupted run has no finished parts to reuse and is redone.

Filters with too little information to match (nothing informative after clipping, or under
:data:`~seqlens.interpret.filters.MIN_MATCH_BITS` bits in all: a uniform filter would otherwise
"match" long, low-information motifs such as CTCF) are not matched; ``n_uninformative`` counts them.
Without ground truth (a real data set) the figures are database matches only: ``match_any`` (the
fraction of filters with a significant match) and ``n_matched``, no match fraction or false
positive rate.
"""

from __future__ import annotations

from pathlib import Path

from seqlens.cli.common import (
    add_model_option,
    add_resume_option,
    device_option,
    positive_float,
    positive_int,
    unit_interval,
)


def register(sub) -> None:
    p = sub.add_parser("filters", help="first-layer filters as motifs, matched to JASPAR",
                       description="Turn the first-layer filters of a trained model into motifs, "
                                   "match them to JASPAR with Tomtom and score them against the "
                                   "ground truth of a simulated dataset.")
    add_model_option(p)
    p.add_argument("--data", required=True, help="HDF5 dataset whose sequences activate the filters")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"),
                   help="split of --data to use (default test)")
    p.add_argument("--jaspar", default=None,
                   help="JASPAR release year (CORE vertebrates) or a motif file (.meme or JASPAR "
                        ".pfm/.jaspar/.txt); default: the release a simulated --truth/--data drew its "
                        "motifs from (its metadata's jaspar_release; 2016 for older simulated files), "
                        "else the newest offline release")
    p.add_argument("--truth", default=None,
                   help="HDF5 dataset whose metadata lists the ground-truth motif IDs "
                        "(default: --data's own metadata, when it has them)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--method", default="activation", choices=("activation", "softmax", "normalise"),
                   help="activation-based windows (default) or the weights (softmax/normalise)")
    p.add_argument("--layer", default=None,
                   help="module name of a deeper conv layer (windows span its receptive field); "
                        "default: the first layer")
    p.add_argument("--threshold", type=unit_interval, default=0.5,
                   help="fraction of each filter's maximum activation (default 0.5)")
    p.add_argument("--weighted", action="store_true", help="weight windows by their activation")
    p.add_argument("--edges", default="pad", choices=("pad", "skip"),
                   help="windows over the sequence ends: pad with background or skip")
    p.add_argument("--no-clip", action="store_true", help="keep full-width filter motifs")
    p.add_argument("--metric", default="q_value", choices=("q_value", "e_value", "p_value"),
                   help="significance measure of a Tomtom hit (default q_value)")
    p.add_argument("--cutoff", type=positive_float, default=0.1, help="significance cutoff (default 0.1)")
    p.add_argument("--distance", default="euclidean", choices=("euclidean", "pearson"),
                   help="Tomtom column score: euclidean (MEME 5 default) or pearson (MEME 4)")
    p.add_argument("--max-seqs", type=positive_int, default=None, help="use at most this many sequences")
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--device", type=device_option, help="cpu, cuda (default: CUDA when available)")
    p.add_argument("--ncols", type=positive_int, default=6, help="logos per row in filters.png")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resume_option(p)
    p.set_defaults(func=run)


SIMULATION_RELEASE = 2016  # the release seqlens.simulate drew from before files recorded it


def default_release(spec, truth_src, truth_ids, where: str):
    """The ``--jaspar`` to use: ``spec`` when given, else the release a simulated dataset recorded
    (``metadata["jaspar_release"]``), else 2016 for a simulated dataset that lists its motifs but
    not the release (with a printed note), else None (the newest release)."""
    if spec is not None:
        return spec
    from seqlens.errors import SeqlensError
    from seqlens.motifs.jaspar import JasparLookupError, _release_year

    release = truth_src.metadata.get("jaspar_release")
    if release is not None:
        try:
            return _release_year(release)
        except JasparLookupError as exc:
            raise SeqlensError(f"{where}: metadata jaspar_release {release!r}: {exc}") from None
    if truth_ids:
        print(f"seqlens filters: note: {where} lists simulated motifs but no jaspar_release; matching "
              f"against JASPAR {SIMULATION_RELEASE}, the release seqlens.simulate draws from "
              "(give --jaspar to choose)")
        return SIMULATION_RELEASE
    return None


def release_of(spec) -> int | None:
    """The JASPAR release year that ``spec`` (a year, None = newest, or a motif file) names."""
    from seqlens.motifs.jaspar import _release_year

    if spec is not None and Path(str(spec)).exists():
        return None
    return _release_year(spec)


def load_database(spec):
    """Motifs to match against: a JASPAR release (CORE vertebrates) or a motif file."""
    from seqlens.errors import SeqlensError
    from seqlens.io.motifs import read_jaspar, read_meme
    from seqlens.motifs.jaspar import JasparLookupError, fetch_motifs

    if spec is not None and Path(str(spec)).exists():
        path = Path(spec)
        if path.is_dir():
            raise SeqlensError(f"--jaspar {path}: a folder; give a motif file or a JASPAR release year")
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
        return read_meme(path) if head.lstrip().startswith("MEME") else read_jaspar(path)
    try:
        return fetch_motifs(release=spec, collection="CORE", tax_group="vertebrates")
    except JasparLookupError as exc:
        raise SeqlensError(f"--jaspar {spec}: no such motif file, and {exc}") from None


def load_motif_arguments(values, option: str = "--motifs") -> list:
    """Motifs named on the command line: each value a motif file (MEME or JASPAR format), a JASPAR
    matrix ID (``MA0139.2``; a bare ``MA0139`` is its latest version) or a TF name (``CTCF``: its
    CORE vertebrate profiles), from the newest offline JASPAR release; each motif once."""
    from seqlens.errors import SeqlensError
    from seqlens.motifs.jaspar import JasparLookupError, fetch_motif, fetch_motifs, latest_release

    motifs = []
    for value in values:
        if Path(value).exists():
            motifs += load_database(value)
            continue
        try:
            motifs.append(fetch_motif(value))  # an ID, else a name (SP1 looks like an ID)
        except JasparLookupError:
            named = fetch_motifs(collection="CORE", tax_group="vertebrates", tf_name=value)
            if not named:
                raise SeqlensError(f"{option} {value}: not a motif file, a JASPAR matrix ID or the "
                                   f"name of a CORE vertebrate TF (JASPAR {latest_release()})") from None
            motifs += named
    if not motifs:
        raise SeqlensError(f"{option}: no motifs in {' '.join(values)}")
    return list({m.name: m for m in motifs}.values())


def check_database(database, spec, n_letters: int) -> None:
    """Refuse motifs whose alphabet differs from the filters' (e.g. protein motifs for a DNA
    model): Tomtom cannot compare them."""
    from seqlens.errors import SeqlensError
    from seqlens.interpret.filters import _alphabet

    alphabet = _alphabet(n_letters)
    for m in database:
        if m.alphabet.letters != alphabet.letters:
            raise SeqlensError(f"--jaspar {spec}: motif {m.name!r} has alphabet {m.alphabet.name} "
                               f"({m.alphabet.letters[:20]}), but the model's filters read "
                               f"{alphabet.name} ({alphabet.letters})")


def run(args) -> int:
    import time

    print(f"seqlens filters: the first-layer filters of {args.model} as motifs, from {args.data}",
          flush=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlens.cli.common import check_input, load_cli_model, report_metrics
    from seqlens.errors import SeqlensError
    from seqlens.interpret.filters import (
        _resolve_layer,
        activation_motifs,
        best_matches,
        filter_statistics,
        filter_weight_motifs,
        informative,
        match_filters,
        save_filter_matches,
    )
    from seqlens.io.atomic import atomic_path, check_output_path, output_folder, write_json
    from seqlens.io.hdf5 import load_dataset
    from seqlens.plot.filters import filter_logo_grid
    from seqlens.study.design_principles import truth_ids_of

    start = time.perf_counter()
    out = check_output_path(args.out, "folder")
    loaded = load_cli_model(args, device=args.device)
    loaded.first_conv()
    model, layer = loaded.model, loaded.layer_name(args.layer)
    if args.layer is not None:
        try:
            _resolve_layer(model, layer)
        except SeqlensError as exc:
            raise SeqlensError(f"--layer {args.layer}: {exc}") from None
    data = load_dataset(check_input(args.data, "--data"), splits=(args.split,), truth=False)
    X = data.split(args.split).X
    if args.max_seqs is not None:
        X = X[:args.max_seqs]
    if not len(X):
        raise SeqlensError(f"{args.data}: split {args.split!r} has no sequences")
    loaded.check_input(X.shape, args.data, length=False)
    truth_src = (load_dataset(check_input(args.truth, "--truth"), splits=(), truth=False)
                 if args.truth else data)
    truth_ids = truth_ids_of(truth_src)
    jaspar = default_release(args.jaspar, truth_src, truth_ids, args.truth or args.data)
    database = load_database(jaspar)
    check_database(database, jaspar, X.shape[1])
    release = release_of(jaspar)

    with output_folder(out, resume=args.resume) as work:
        if args.method == "activation":
            motifs = activation_motifs(model, X, layer=layer, threshold=args.threshold,
                                       weighted=args.weighted,
                                       edges=args.edges, clip=not args.no_clip,
                                       batch_size=args.batch_size, device=args.device,
                                       verbose=not args.quiet)
        else:
            motifs = filter_weight_motifs(model, method=args.method, clip=not args.no_clip)
        matches = match_filters(motifs, database, truth_ids=truth_ids, distance=args.distance)
        stats = filter_statistics(matches, len(motifs), truth_ids, metric=args.metric,
                                  cutoff=args.cutoff)
        stats["n_uninformative"] = sum(not informative(m) for m in motifs)

        save_filter_matches(work, motifs, matches)
        best = best_matches(matches, len(motifs))
        stats_doc = dict(stats, database=(f"JASPAR {release} CORE vertebrates" if release
                                          else str(jaspar)),
                         jaspar_release=release, n_database=len(database), truth_ids=truth_ids,
                         method=args.method,
                         n_sequences=int(len(X)), split=args.split,
                         best_matches=_records(best[["filter", "target", "target_name", "q_value",
                                                     "e_value", "truth"]]))
        write_json(work / "stats.json", stats_doc)
        fig = filter_logo_grid(motifs, matches, ncols=args.ncols, metric=args.metric, cutoff=args.cutoff)
        with atomic_path(work / "filters.png") as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
        plt.close(fig)

        metrics = {k: v for k, v in stats.items() if isinstance(v, (int, float))}
        metrics["n_database"] = len(database)
        if release is not None:
            metrics["jaspar_release"] = release
        metrics["seconds"] = time.perf_counter() - start
        against = f"JASPAR {release}" if release else Path(str(jaspar)).name
        scope = "" if truth_ids else " (no ground truth: database matches only)"
        report_metrics(metrics, work, title=f"seqlens filters: {len(motifs)} filters vs {against}, "
                                            f"{args.metric} <= {args.cutoff}{scope}")
    return 0


def _records(frame) -> list[dict]:
    """Rows as dicts with missing values as None (valid JSON)."""
    import math

    rows = frame.astype(object).to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in rows]
