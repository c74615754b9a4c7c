"""``seqlens motifs --attr attr.h5 [--data data.h5] [--truth data.h5] --out DIR``: motif discovery.

Finds seqlets in attribution maps, clusters them into patterns (CWM, hypothetical CWM, PWM),
matches the patterns to a motif database with Tomtom, calls their instances (hits) and, with
``--truth`` (a simulated dataset), scores patterns and hits against the embedded motifs, strictly
and at JASPAR TF family level (``*_family`` metrics; ``truth.family_test``).

``--attr`` is the HDF5 file of ``seqlens attribute`` (``X``, ``indices``, ``names``, one
``(N, A, L)`` dataset per method; ``--method`` picks one) or any HDF5/``.npz``/``.npy`` file
holding one ``(N, A, L)`` (or ``(N, L, A)``) array of hypothetical contributions, with the
one-hot sequences in ``--data`` (HDF5 dataset layout, split ``--split``, or ``.npz``/``.npy``).
How a map is read depends on its method: gradients (``saliency``, ``smoothgrad``) are
hypothetical contributions as they are; maps that sum to the output difference over letters
(``deepshap``, ``deeplift``, ``ig``, ``eig``, ``grad_x_input``) give each position their sum over
letters (they hold no hypothetical contributions, so the hypothetical CWM equals the CWM) unless
the file's metadata says ``"hypothetical": true``; ISM becomes ``ism - mean over letters``; maps
of other names are taken as hypothetical contributions (tfmodisco-lite's input).

Writes to ``--out`` (through ``--out.partial/``, published with a manifest): ``patterns.meme``
(the PWMs Tomtom compares: columns with at least 10% of the peak contribution),
``patterns.csv``, ``seqlets.csv``, ``hits.csv`` (BED-like), ``modisco.h5`` (tfmodisco-lite's
layout), ``figures/<pattern>.png`` (logos), ``index.html`` (with ``tables/``) and
``metrics.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from seqlens.cli.common import (
    add_resume_option,
    nonnegative_int,
    open_unit_interval,
    positive_int,
    unit_interval,
)

PREFERRED = ("deepshap", "deeplift", "ig", "eig", "saliency", "smoothgrad", "grad_x_input", "ism")
RESERVED = ("X", "indices", "names")


def register(sub) -> None:
    p = sub.add_parser("motifs", help="motif discovery from attribution maps (seqlets, patterns, hits)",
                       description="Discover motifs in attribution maps: seqlets, patterns "
                                   "(CWM/PWM), Tomtom matches, hits; scored against the truth of "
                                   "a simulated dataset with --truth.")
    p.add_argument("--attr", required=True,
                   help="attr.h5 of seqlens attribute, or an HDF5/.npz/.npy file with one map")
    p.add_argument("--method", default=None,
                   help="which map of --attr (default: deepshap, deeplift, ig, ... whichever is there)")
    p.add_argument("--data", default=None,
                   help="one-hot sequences when --attr has none: HDF5 dataset or .npz/.npy")
    p.add_argument("--split", default=None, choices=("train", "valid", "test"),
                   help="split of --data/--truth (default: the one recorded in --attr, else test)")
    p.add_argument("--truth", default=None,
                   help="simulated HDF5 dataset with embedded instances: score patterns and hits")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--motifs", default=None,
                   help="motif database for Tomtom: a MEME or JASPAR file, or a JASPAR release year "
                        "(CORE vertebrates); default: the shipped JASPAR 2016 vertebrates")
    p.add_argument("--window", type=positive_int, default=15, help="seqlet core width (default 15)")
    p.add_argument("--flank", type=nonnegative_int, default=5, help="seqlet flank (default 5)")
    p.add_argument("--fdr", type=open_unit_interval, default=0.05,
                   help="false discovery rate of seqlet windows (default 0.05)")
    p.add_argument("--null", default="permutation", choices=("permutation", "laplace"),
                   help="null of the seqlet windows (default permutation)")
    p.add_argument("--per-sign", action="store_true",
                   help="test each sign of the seqlet windows against its own null tail (default: "
                        "|window| against the null of |window|, one threshold for both signs)")
    p.add_argument("--site-iter", type=nonnegative_int, default=2,
                   help="rounds re-estimating each pattern's PWM from its hits before matching and "
                        "hit calling (default 2; 0: the seqlets' PWM)")
    p.add_argument("--max-seqlets", type=positive_int, default=20000,
                   help="strongest seqlets kept per sign (default 20000)")
    p.add_argument("--min-similarity", type=unit_interval, default=0.7,
                   help="cosine similarity a seqlet needs to stay in a pattern (default 0.7)")
    p.add_argument("--seed-similarity", type=unit_interval, default=0.8,
                   help="similarity to join a pattern while seeding (default 0.8)")
    p.add_argument("--merge-similarity", type=unit_interval, default=0.8,
                   help="patterns at least this similar are merged (default 0.8)")
    p.add_argument("--min-seqlets", type=positive_int, default=20, help="smallest pattern (default 20)")
    p.add_argument("--max-patterns", type=positive_int, default=50,
                   help="most patterns per sign (default 50)")
    p.add_argument("--features", default="contributions",
                   choices=("contributions", "hypothetical", "both"),
                   help="what seqlets are compared by (default contributions)")
    p.add_argument("--no-hits", action="store_true", help="do not call hits")
    p.add_argument("--hit-fdr", type=open_unit_interval, default=0.1,
                   help="hits' sequence threshold: at most this expected share of chance matches "
                        "(background null) among the windows reaching it (default 0.1)")
    p.add_argument("--hit-quantile", type=unit_interval, default=None,
                   help="instead of --hit-fdr: hits need the sequence score of this quantile of "
                        "the pattern's seqlets")
    p.add_argument("--hit-min-similarity", type=unit_interval, default=0.3,
                   help="hits need this contribution similarity to the CWM (default 0.3)")
    p.add_argument("--tolerance", type=nonnegative_int, default=3,
                   help="nt a hit may be off a true instance (--truth; default 3)")
    p.add_argument("--logos", type=nonnegative_int, default=20,
                   help="logo figures of the first N patterns of each sign (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (permutation null)")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads")
    p.add_argument("--quiet", action="store_true", help="no table on stdout")
    add_resume_option(p)
    p.set_defaults(func=run)


# ------------------------------------------------------------------------------------- inputs
def _array(path: Path, obj, key: str):
    """A numeric ``(N, A, L)`` float32 array from a dataset or array, named in errors."""
    import numpy as np

    from seqlens.errors import FormatError

    try:
        a = np.asarray(obj[()] if hasattr(obj, "shape") and not isinstance(obj, np.ndarray) else obj)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise FormatError(f"{path}: {key} is unreadable ({exc})") from None
    if a.dtype.kind not in "biuf":
        raise FormatError(f"{path}: {key} must be numeric, got dtype {a.dtype}")
    if a.ndim != 3:
        raise FormatError(f"{path}: {key} must be (N, A, L), got shape {a.shape}")
    if a.shape[1] != 4 and a.shape[2] == 4:
        a = a.transpose(0, 2, 1)
    a = a.astype(np.float32, copy=False)
    if not np.isfinite(a).all():
        rec = int(np.argwhere(~np.isfinite(a))[0, 0])
        raise FormatError(f"{path}: {key} has NaN or Inf values (first in sequence {rec})")
    return a


def _numpy_file(path: Path, option: str) -> dict:
    import zipfile

    import numpy as np

    from seqlens.errors import FormatError

    try:
        with open(path, "rb") as fh:
            if path.suffix.lower() == ".npy":
                return {"arr_0": np.load(fh, allow_pickle=False)}
            with np.load(fh, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{option} {path}: not a readable numpy file ({exc})") from None


def _read_attr(args):
    """``(attr, X or None, indices or None, names or None, method, metadata)`` of --attr (only
    the chosen map is read)."""
    import h5py

    from seqlens.cli.common import check_input
    from seqlens.errors import FormatError
    from seqlens.io.hdf5 import open_hdf5

    path = check_input(args.attr, "--attr")
    if path.suffix.lower() in (".npz", ".npy"):
        arrays = _numpy_file(path, "--attr")
        ranks = {k: v.ndim for k, v in arrays.items()}
        method = _pick_method(args, path, ranks)
        return _array(path, arrays[method], method), None, None, None, method, {}
    fh = open_hdf5(path)
    try:
        raw = fh.attrs.get("metadata")
        try:
            meta = json.loads(raw) if raw is not None else {}
        except (TypeError, ValueError):
            raise FormatError(f"{path}: attribute 'metadata' is not valid JSON") from None
        meta = meta if isinstance(meta, dict) else {}
        ranks = {k: fh[k].ndim for k in fh if isinstance(fh[k], h5py.Dataset)}
        method = _pick_method(args, path, ranks)
        attr = _array(path, fh[method], method)
        X = _array(path, fh["X"], "X") if "X" in ranks else None
        idx = fh["indices"][()] if "indices" in ranks else None
        names = ([n.decode() if isinstance(n, bytes) else str(n) for n in fh["names"][()]]
                 if "names" in ranks else None)
    except (OSError, KeyError, RuntimeError, TypeError) as exc:
        raise FormatError(f"{path}: unreadable ({exc})") from None
    finally:
        fh.close()
    return attr, X, idx, names, method, meta


def _pick_method(args, path, ranks: dict) -> str:
    """The map to use: ``--method``, else the first of PREFERRED present, else the only one."""
    from seqlens.errors import SeqlensError

    maps = [k for k, r in ranks.items() if k not in RESERVED and r == 3]
    if args.method:
        if args.method not in maps:
            raise SeqlensError(f"--method {args.method}: {path} has no such map; it has "
                               f"{maps or 'no (N, A, L) maps'}")
        return args.method
    pick = [m for m in PREFERRED if m in maps] or maps
    if not pick:
        raise SeqlensError(f"{path}: no (N, A, L) attribution map in it (keys {list(ranks)})")
    return pick[0]


def _read_sequences(args, split: str, idx):
    """One-hot sequences of --data (the rows ``idx`` of an HDF5 dataset's split)."""
    import numpy as np

    from seqlens.cli.common import check_input
    from seqlens.errors import SeqlensError

    path = check_input(args.data, "--data")
    if path.suffix.lower() in (".npz", ".npy"):
        arrays = _numpy_file(path, "--data")
        key = "X" if "X" in arrays else next(iter(arrays), None)
        if key is None:
            raise SeqlensError(f"--data {path}: no arrays in it")
        return _array(path, arrays[key], key)
    from seqlens.io.hdf5 import load_dataset

    X = load_dataset(path, splits=(split,), truth=False).split(split).X
    if idx is not None:
        idx = np.asarray(idx, np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(X)):
            raise SeqlensError(f"--attr indices reach row {int(idx.max())}, but --data {path} "
                               f"has {len(X)} sequences in split {split!r}")
        X = X[idx]
    return X


def _check_onehot(X, where: str) -> None:
    import numpy as np

    from seqlens.errors import SeqlensError

    cols = X.sum(1)
    bad = ~(((X == 0) | (X == 1)).all(1) & (cols <= 1))
    if bad.any():
        n, pos = (int(v) for v in np.argwhere(bad)[0])
        raise SeqlensError(f"{where}: sequences are not one-hot (sequence {n}, position {pos}: "
                           f"{X[n, :, pos].tolist()})")


def _load(args):
    """Everything the run needs, validated: maps, sequences, names, truth, database."""
    import numpy as np

    from seqlens.cli.common import check_input
    from seqlens.cli.filters import check_database, load_database
    from seqlens.errors import SeqlensError

    attr, X, idx, names, method, meta = _read_attr(args)
    split = args.split or meta.get("split") or "test"
    if X is None:
        if args.data is None:
            raise SeqlensError(f"--attr {args.attr} holds no sequences (X); give them with --data")
        X = _read_sequences(args, split, idx)
    elif args.data is not None:
        other = _read_sequences(args, split, idx)
        if other.shape != X.shape or not np.array_equal(other.argmax(1), X.argmax(1)):
            raise SeqlensError(f"--data {args.data}: its sequences differ from those in --attr "
                               f"{args.attr} (split {split!r})")
    if attr.shape != X.shape:
        raise SeqlensError(f"--attr {args.attr}: map {method!r} has shape {attr.shape}, but the "
                           f"sequences have shape {X.shape}")
    if X.shape[1] != 4:
        raise SeqlensError(f"motif discovery needs DNA/RNA (4 letters), got {X.shape[1]} letters")
    _check_onehot(X, f"--attr {args.attr}" if args.data is None else f"--data {args.data}")
    if names is not None and len(names) != len(X):
        names = None
    from seqlens.attribution import hypothetical_contributions

    attr = hypothetical_contributions(attr, X, method, bool(meta.get("hypothetical")))
    instances = motif_meta = None
    if args.truth:
        from seqlens.interpret.discovery import instances_for
        from seqlens.io.hdf5 import load_dataset

        path = check_input(args.truth, "--truth")
        data = load_dataset(path, splits=(split,), truth=False)
        if "instance_split" not in data.extras or "motifs" not in data.metadata:
            raise SeqlensError(f"--truth {path}: no embedded instances (instance_* arrays and "
                               "metadata motifs); is it a simulated dataset?")
        rows = np.arange(len(X)) if idx is None else np.asarray(idx, np.int64)
        ref = data.split(split).X
        if len(rows) and rows.max() >= len(ref):
            raise SeqlensError(f"--truth {path}: split {split!r} has {len(ref)} sequences, but "
                               f"--attr reaches row {int(rows.max())}")
        if ref[rows].shape != X.shape or not np.array_equal(ref[rows].argmax(1), X.argmax(1)):
            raise SeqlensError(f"--truth {path}: its {split!r} sequences differ from those of "
                               f"--attr {args.attr}; wrong --truth or --split?")
        instances = instances_for(data, split, rows)
        motif_meta = data.metadata["motifs"]
    if args.motifs is None:
        from seqlens.simulate.datasets import jaspar2016

        database = list(jaspar2016().values())
    else:
        database = load_database(args.motifs)
        check_database(database, args.motifs, 4)
    return dict(attr=attr, X=X, names=names, method=method, split=split, instances=instances,
                motif_meta=motif_meta, database=database)


# ----------------------------------------------------------------------------------------- run
def run(args) -> int:
    import warnings

    from seqlens.cli.common import report_metrics
    from seqlens.errors import SeqlensError
    from seqlens.interpret.discovery import discover, score_discovery
    from seqlens.interpret.discovery.truth import family_test
    from seqlens.io.atomic import check_output_path, output_folder, write_json

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = check_output_path(args.out, "folder")
    if args.window + 2 * args.flank > 10_000:
        raise SeqlensError(f"--window {args.window} with --flank {args.flank} is too wide")
    inp = _load(args)
    attr, X = inp["attr"], inp["X"]
    if args.window > X.shape[2]:
        raise SeqlensError(f"--window {args.window} is longer than the sequences ({X.shape[2]})")
    print(f"seqlens motifs: seqlets -> patterns -> Tomtom -> hits in the {inp['method']} maps of "
          f"{len(X):,} sequences", flush=True)
    res = discover(attr, X, window=args.window, flank=args.flank, fdr=args.fdr, null=args.null,
                   max_seqlets=args.max_seqlets, min_similarity=args.min_similarity,
                   seed_similarity=args.seed_similarity, merge_similarity=args.merge_similarity,
                   min_seqlets=args.min_seqlets, max_patterns=args.max_patterns,
                   features=args.features, hits=not args.no_hits,
                   hit_fdr=args.hit_fdr if args.hit_quantile is None else None,
                   hit_quantile=0.05 if args.hit_quantile is None else args.hit_quantile,
                   hit_min_similarity=args.hit_min_similarity, magnitude=not args.per_sign,
                   site_iter=args.site_iter, database=inp["database"],
                   names=inp["names"], random_state=args.seed, n_jobs=args.threads or 1)
    table, patterns, matches, seconds = res.seqlets, res.patterns, res.matches, res.seconds
    if table.empty:
        raise SeqlensError(f"--attr {args.attr} ({inp['method']}): no seqlet passes --fdr "
                           f"{args.fdr} with the {args.null} null; try a larger --fdr")
    if not patterns:
        warnings.warn(f"{len(table)} seqlets but no pattern with at least --min-seqlets "
                      f"{args.min_seqlets} of them", stacklevel=1)
    hits = res.hits if patterns else None
    metrics = {"method": inp["method"], "n_sequences": int(len(X)), "n_seqlets": int(len(table)),
               "n_positive_seqlets": int((table["sign"] > 0).sum()),
               "n_negative_seqlets": int((table["sign"] < 0).sum()),
               "n_patterns": len(patterns),
               "n_positive_patterns": sum(p.sign > 0 for p in patterns),
               "n_hits": int(len(hits)) if hits is not None else 0}
    truth_table = None
    if inp["instances"] is not None and patterns:
        empty = hits if hits is not None else _no_hits()
        scores, truth_table = score_discovery(patterns, empty, inp["instances"], inp["motif_meta"],
                                              matches, tolerance=args.tolerance,
                                              families=family_test(inp["database"]))
        if hits is None:
            scores = {k: v for k, v in scores.items() if not k.startswith(("hit_", "n_hits"))}
        metrics.update({k: v for k, v in scores.items() if k not in metrics})
    metrics.update({f"seconds_{k}": v for k, v in seconds.items()})
    summary = pattern_summary(patterns, matches, truth_table)
    with output_folder(out, resume=args.resume) as work:
        _write(work, args, inp, table, patterns, hits, summary, metrics)
        if args.quiet:
            write_json(work / "metrics.json", metrics)
        else:
            report_metrics(metrics, work, title=f"seqlens motifs: {inp['method']} maps of "
                                                f"{len(X)} sequences -> {out}")
    return 0


def _no_hits():
    import pandas as pd

    from seqlens.interpret.discovery.hits import HIT_COLUMNS

    return pd.DataFrame(columns=HIT_COLUMNS)


def pattern_summary(patterns, matches, truth_table):
    """One row per pattern: size, width, consensus, best Tomtom matches, truth match."""
    import pandas as pd

    rows = []
    for p in patterns:
        row = {"pattern": p.name, "sign": p.sign, "n_seqlets": p.n_seqlets,
               "width": p.trim[1] - p.trim[0], "consensus": p.consensus()}
        if matches is not None:
            mine = matches[matches["pattern"] == p.name]
            for r in mine.itertuples():
                row[f"match{r.rank}"] = f"{r.target} {r.target_name}".strip()
                row[f"match{r.rank}_q"] = r.q_value
        rows.append(row)
    df = pd.DataFrame(rows)
    if truth_table is not None and len(df):
        keep = ["pattern", "truth_motif", "truth_fraction", "decoy", "spurious"]
        df = df.merge(truth_table[[c for c in keep if c in truth_table]], on="pattern", how="left")
    return df


def _write(work: Path, args, inp, table, patterns, hits, summary, metrics) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from seqlens.interpret.discovery import write_modisco_h5
    from seqlens.interpret.discovery.truth import query_motifs
    from seqlens.io.motifs import write_meme
    from seqlens.plot.discovery import save_pattern_figure
    from seqlens.report.html import Report

    member = {}
    for p in patterns:
        for sid in p.seqlets["seqlet"]:
            member[int(sid)] = p.name
    table = table.assign(pattern=[member.get(int(s), "") for s in table["seqlet"]])
    if inp["names"] is not None:
        table.insert(2, "name", [inp["names"][i] for i in table["seq"]])
    table.to_csv(work / "seqlets.csv", index=False)
    summary.to_csv(work / "patterns.csv", index=False)
    if hits is not None:
        hits.to_csv(work / "hits.csv", index=False)
    if patterns:
        write_meme(work / "patterns.meme", query_motifs(patterns))
    write_modisco_h5(work / "modisco.h5", patterns, inp["attr"], inp["X"])
    report = Report(work, title=f"seqlens motifs: {inp['method']} maps")
    sec = report.section("patterns", "Patterns",
                         f"{len(table)} seqlets of {len(inp['X'])} sequences; {len(patterns)} "
                         "patterns (positive and negative contributions apart). Logos: CWM, "
                         "hypothetical CWM and PWM (bits), trimmed.")
    if len(summary):
        report.table(sec, summary, "patterns", "Patterns and their best JASPAR matches",
                     reading="q: Tomtom q-value of the match; truth columns with --truth.")
    shown = {1: 0, -1: 0}
    for p in patterns:
        if shown[p.sign] >= args.logos:
            continue
        shown[p.sign] += 1
        best = summary.loc[summary["pattern"] == p.name].iloc[0].get("match0")
        title = f"{p.name}: {p.n_seqlets} seqlets" + (
            f"; best match {best}" if isinstance(best, str) else "")
        fig = save_pattern_figure(p, work / "figures" / f"{p.name}.png", title=title)
        report.figure(sec, fig, p.name)
    flat = pd.DataFrame({"metric": list(metrics), "value": [str(v) for v in metrics.values()]})
    report.table(report.section("metrics", "Metrics"), flat, "metrics", "metrics.json")
    report.write(footer=f"seqlens motifs --attr {args.attr}")
