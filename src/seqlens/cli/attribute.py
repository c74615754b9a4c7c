"""``seqlens attribute`` and ``seqlens evaluate-attributions``.

``seqlens attribute --model RUN_DIR|MODEL --data FILE.h5|FASTA --method saliency,smoothgrad,ig,deepshap,ism
[--correct] [--target 0] --out attr.h5 [--logos N] [--resume]`` computes attribution maps and writes
them to an HDF5 file: one ``(N, A, L)`` dataset per method, ``X`` (the sequences), ``indices`` (rows
of the split) and ``names``. ``attr.h5.metrics.json`` (seconds per method, off-simplex angle
statistics of gradient methods, and ground-truth scores when the HDF5 input has ``model_<split>``)
and the logo figures (``attr_logos/``) go beside it. The run works in ``attr.h5.partial/``, where
each finished method is kept as ``methods/<method>.npz``: ``--resume`` after an interruption
computes only the methods that are missing.

Which sequences: the first ``--n`` (default 500, so that a default run finishes in minutes; ``--n
all`` for every one) of the split or FASTA (``--positives``: of its positives), or the ``--top N``
that the model scores highest for ``--target``, highest first; the choice is printed. Before a long
ISM (estimated from a timed first batch) a one-line warning gives the expected time.

Figures: ``--logos N`` draws the first N sequences (a logo over a track for gradient maps, a 4 x L
heatmap for ISM), ``--logo-window START:END`` only those positions. Exports: ``--export modisco``
writes ``attr_modisco/ohe.npz`` and ``attr_modisco/<method>.npz`` (hypothetical contributions,
read by ``modisco motifs -s ohe.npz -a <method>.npz -w L``); ``--export bigwig`` writes
``attr_bigwig/<method>.bw``, the observed base's contribution per genome position, for sequences
named ``chrom:start-end(strand)`` (``seqlens dataset`` names; ``--chrom-sizes`` sets the header).

``seqlens evaluate-attributions --attr attr.h5 --truth FILE.h5 [--out DIR]`` scores every map
against the ground truth: AUROC/AUPR under protocols a and b, signal-to-noise and cosine
similarity; ``DIR/metrics.json`` (default ``DIR`` = ``attr.h5.evaluation``). Real data has no
ground truth: ``--motifs FILE.meme|MA0139.2|CTCF ...`` scores the maps against the FIMO hits of
known motifs instead (:func:`seqlens.interpret.metrics.proxy_truth`, p <= ``--threshold``), a
proxy labelled as such: every key starts with ``proxy_`` (``proxy_saliency_auroc``).
"""

from __future__ import annotations

import json
from pathlib import Path

from seqlens.cli.common import (
    add_model_option,
    add_resume_option,
    check_input,
    check_target_option,
    device_option,
    is_hdf5,
    load_finished,
    nonnegative_float,
    nonnegative_int,
    open_unit_interval,
    position_window,
    positive_int,
    save_finished,
    target_option,
)

METHOD_ALIASES = {"saliency": "saliency", "grad": "saliency", "gradxinput": "grad_x_input",
                  "grad_x_input": "grad_x_input", "smoothgrad": "smoothgrad", "ig": "ig",
                  "integrated_gradients": "ig", "eig": "eig", "expected_ig": "eig",
                  "deeplift": "deeplift", "deepshap": "deepshap", "ism": "ism"}
GRADIENT_METHODS = ("saliency", "grad_x_input", "smoothgrad", "ig", "eig", "deeplift", "deepshap")
DEFAULT_N = 500  # sequences attributed when neither --n nor --top is given
ISM_PROBE = 8  # sequences of the timed first ISM batch that the ETA warning extrapolates from
ISM_WARN_SECONDS = 60.0  # an ISM estimated to take longer is announced before it runs
# settings that change the maps of a method; a resumed run reuses maps made with the same ones
SETTINGS = ("target", "activation", "correct", "n_shuffles", "steps", "samples", "sigma", "seed")


def register(sub) -> None:
    p = sub.add_parser("attribute", help="attribution maps of a trained model",
                       description="Compute attribution maps (saliency, SmoothGrad, IG, DeepSHAP, ISM).")
    add_model_option(p)
    p.add_argument("--data", required=True, help="HDF5 dataset or FASTA file")
    p.add_argument("--method", default="saliency",
                   help="comma list of: saliency, grad_x_input, smoothgrad, ig, eig, deeplift, deepshap, ism")
    p.add_argument("--out", required=True, help="output HDF5 file (attr.h5)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--n", type=count_or_all,
                      help=f"the first N sequences, or 'all' (default {DEFAULT_N}, or every sequence "
                           "of a smaller split or file)")
    pick.add_argument("--top", type=positive_int, metavar="N",
                      help="the N sequences the model scores highest for --target (its raw output), "
                           "highest first")
    p.add_argument("--positives", action="store_true",
                   help="only sequences with a positive label for --target (HDF5 input)")
    p.add_argument("--target", type=target_option, default=0,
                   help="output index, or HEAD:INDEX for a model with several outputs (e.g. counts:0)")
    p.add_argument("--activation", choices=("sigmoid", "softmax", "exp"),
                   help="attribute the post-activation output (default: the logit)")
    p.add_argument("--correct", action="store_true", help="gradient correction")
    p.add_argument("--n-shuffles", type=positive_int, default=20, help="DeepSHAP / EIG references")
    p.add_argument("--steps", type=positive_int, default=50, help="IG steps")
    p.add_argument("--samples", type=positive_int, default=50, help="SmoothGrad samples")
    p.add_argument("--sigma", type=nonnegative_float, default=0.1, help="SmoothGrad noise")
    p.add_argument("--logos", type=nonnegative_int, default=0,
                   help="write logo figures of the first N sequences")
    p.add_argument("--logo-window", type=position_window, default=None, metavar="START:END",
                   help="draw only positions START..END-1 (0-based) in the logo figures")
    p.add_argument("--export", action="append", choices=("modisco", "bigwig"), default=[],
                   help="also write the maps for TF-MoDISco (ohe.npz + <method>.npz) or as bigWig "
                        "tracks (sequences named chrom:start-end); repeatable")
    p.add_argument("--chrom-sizes", default=None,
                   help="--export bigwig: chromosome sizes (chrom.sizes or a FASTA .fai); default: "
                        "each chromosome ends at the last position written")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--device", type=device_option, help="cpu, cuda (default: CUDA when available)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--threads", type=positive_int)
    p.add_argument("--quiet", action="store_true")
    add_resume_option(p)
    p.set_defaults(func=run_attribute)

    q = sub.add_parser("evaluate-attributions", help="score attribution maps against ground truth",
                       description="AUROC/AUPR (protocols a and b), SNR and cosine similarity of "
                                   "attribution maps against the simulated ground truth, or, for real "
                                   "data, against motif-scan hits as a proxy truth (--motifs).")
    q.add_argument("--attr", required=True, help="HDF5 written by seqlens attribute")
    against = q.add_mutually_exclusive_group(required=True)
    against.add_argument("--truth", help="HDF5 dataset with model_<split> ground truth")
    against.add_argument("--motifs", nargs="+", metavar="MOTIFS",
                         help="no ground truth: score against the hits (FIMO) of these motifs, a PROXY "
                              "truth: motif files (.meme, JASPAR), JASPAR IDs (MA0139.2) or TF names")
    q.add_argument("--threshold", type=open_unit_interval, default=1e-4,
                   help="--motifs: p-value of a motif hit (default 1e-4, as FIMO)")
    q.add_argument("--split", choices=("train", "valid", "test"),
                   help="split (default: the one recorded in --attr)")
    q.add_argument("--out", help="output folder for metrics.json (default: <attr>.evaluation)")
    add_resume_option(q)
    q.set_defaults(func=run_evaluate)


def count_or_all(text: str):
    """argparse ``type`` of ``--n``: a count >= 1, or ``"all"``."""
    return "all" if text.strip().lower() == "all" else positive_int(text)


def _methods(text: str) -> list[str]:
    from seqlens.errors import SeqlensError

    out = []
    for m in text.split(","):
        key = m.strip().lower().replace("-", "_")
        if not key:
            continue
        if key not in METHOD_ALIASES:
            choices = sorted(set(METHOD_ALIASES.values()))
            raise SeqlensError(f"unknown attribution method {m!r}; choose from {choices}")
        out.append(METHOD_ALIASES[key])
    if not out:
        raise SeqlensError("--method is empty")
    return list(dict.fromkeys(out))


def compute(model, X, method: str, args):
    from seqlens import attribution as at

    common = dict(target=args.target, activation=args.activation, device=args.device,
                  verbose=not args.quiet)
    rs = dict(random_state=args.seed)
    if method == "saliency":
        return at.saliency(model, X, correct=args.correct, batch_size=args.batch_size, **common)
    if method == "grad_x_input":
        return at.grad_x_input(model, X, correct=args.correct, batch_size=args.batch_size, **common)
    if method == "smoothgrad":
        return at.smoothgrad(model, X, n_samples=args.samples, sigma=args.sigma, correct=args.correct,
                             batch_size=max(args.batch_size, args.samples), **common, **rs)
    if method == "ig":
        return at.integrated_gradients(model, X, steps=args.steps, correct=args.correct,
                                       batch_size=max(args.batch_size, args.steps), **common, **rs)
    if method == "eig":
        return at.expected_integrated_gradients(
            model, X, n_baselines=args.n_shuffles, steps=args.steps, correct=args.correct,
            batch_size=max(args.batch_size, args.steps), **common, **rs)
    if method == "deeplift":
        return at.deep_lift(model, X, correct=args.correct, batch_size=args.batch_size, **common, **rs)
    if method == "deepshap":
        return at.deep_lift_shap(model, X, n_shuffles=args.n_shuffles, correct=args.correct,
                                 batch_size=max(1, args.batch_size // 4), **common, **rs)
    return at.ism(model, X, **common)


def _load_input(args):
    import numpy as np

    from seqlens.errors import SeqlensError

    path = check_input(args.data, "--data")
    truth = None
    if is_hdf5(path):
        from seqlens.io.hdf5 import load_dataset

        data = load_dataset(path, splits=(args.split,))
        split = data.split(args.split)
        X, Y, truth = split.X, split.Y, split.truth
        idx = np.arange(len(X))
        if args.positives:
            if not isinstance(args.target, int):
                raise SeqlensError("--positives needs --target as a column index of the labels, not a "
                                   "HEAD:INDEX")
            if args.target >= Y.shape[1]:
                raise SeqlensError(f"{path}: --target {args.target} but Y_{args.split} has "
                                   f"{Y.shape[1]} columns")
            idx = idx[Y[:, args.target] > 0.5]
        key = f"names_{args.split}"
        names = ([n.decode() if isinstance(n, bytes) else str(n) for n in data.extras[key]]
                 if key in data.extras else [f"{args.split}_{i}" for i in range(len(X))])
    else:
        if args.positives:
            raise SeqlensError("--positives needs HDF5 input with labels")
        from seqlens.io.fasta import read_fasta_onehot

        names, X = read_fasta_onehot(path)
        idx = np.arange(len(X))
    if len(idx) == 0:
        raise SeqlensError(f"{path}: no sequences selected")
    return X, idx, names, truth


def _select(args, model, X, idx):
    """The rows of ``X`` to attribute among the candidates ``idx``: the ``--top`` highest-scoring
    (highest first), the first ``--n``, or by default the first :data:`DEFAULT_N`; the choice is
    printed."""
    import numpy as np

    where = f"the {args.split} split of {args.data}" if is_hdf5(Path(args.data)) else str(args.data)
    if args.positives:
        where = f"the positives of {where}"
    if args.top is not None:
        from seqlens.interpret.gia import predict

        scores = predict(model, X[idx], target=args.target, batch_size=max(args.batch_size, 256),
                         device=args.device, verbose=not args.quiet, desc="rank")
        order = np.argsort(-scores, kind="stable")[: args.top]
        print(f"seqlens attribute: the {len(order):,} highest-scoring of {len(idx):,} sequences of "
              f"{where} (model output for target {args.target}: {scores[order[0]]:.4g} down to "
              f"{scores[order[-1]]:.4g})")
        return idx[order]
    if args.n == "all":
        return idx
    n = DEFAULT_N if args.n is None else args.n
    if args.n is None:
        more = ("; --n N or --n all for more, --top N for the highest-scoring" if len(idx) > n
                else "")
        print(f"seqlens attribute: the first {min(n, len(idx)):,} of {len(idx):,} sequences of "
              f"{where} (default --n {DEFAULT_N}{more})")
    return idx[:n]


def _run_key(args, info: dict, X, idx) -> dict:
    """What the maps of a run depend on: model, sequences and method settings."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256(np.ascontiguousarray(X, dtype=np.float32).tobytes())
    digest.update(np.asarray(idx, dtype=np.int64).tobytes())
    return {"model": info.get("sha256"), "sequences": digest.hexdigest(),
            **{k: getattr(args, k) for k in SETTINGS}}


def _method_maps(model, X, methods: list[str], args, folder: Path, key: dict):
    """Maps and seconds of every method. Each finished method is kept in ``folder/<m>.npz``;
    methods already there with the same ``key`` (a resumed run) are read, not recomputed."""
    import time

    import numpy as np

    folder.mkdir(exist_ok=True)
    maps, seconds = {}, {}
    for m in methods:
        path = folder / f"{m}.npz"
        kept = load_finished(path, {**key, "method": m})
        if kept is not None and kept["attr"].shape == X.shape:
            maps[m], seconds[m] = kept["attr"], float(kept["seconds"])
            print(f"seqlens attribute: {m}: reusing the finished map in {path}")
            continue
        t0 = time.perf_counter()
        if m == "ism" and len(X) > 1 + ISM_PROBE:
            # deterministic, so done in parts: one sequence (fast ISM plans its path there), a
            # timed batch that the ETA is extrapolated from, then the rest
            parts = [compute(model, X[:1], m, args)]
            t1 = time.perf_counter()
            parts.append(compute(model, X[1:1 + ISM_PROBE], m, args))
            _ism_eta((time.perf_counter() - t1) / ISM_PROBE * (len(X) - 1), len(X), X.shape[2])
            parts.append(compute(model, X[1 + ISM_PROBE:], m, args))
            maps[m] = np.concatenate([np.asarray(a, dtype=np.float32) for a in parts])
        else:
            maps[m] = np.asarray(compute(model, X, m, args), dtype=np.float32)
        seconds[m] = time.perf_counter() - t0
        save_finished(path, {**key, "method": m}, attr=maps[m], seconds=np.float64(seconds[m]))
    return maps, seconds


def _ism_eta(eta: float, n: int, length: int) -> None:
    """Warn when ISM on ``n`` sequences of ``length`` letters is expected to take ``eta`` seconds
    or more than :data:`ISM_WARN_SECONDS`."""
    import warnings

    if eta >= ISM_WARN_SECONDS:
        warnings.warn(f"ISM on {n:,} sequences of {length:,} nt: about {eta / 60:.0f} min; use --n or "
                      "--method to shorten", stacklevel=2)


def run_attribute(args) -> int:
    print(f"seqlens attribute: {args.method} maps of {args.model} on {args.data}", flush=True)

    from seqlens.attribution import angle_statistics
    from seqlens.cli.common import load_cli_model, metrics_path, report_metrics, set_torch_threads
    from seqlens.errors import SeqlensError
    from seqlens.io.atomic import OutputError, check_output_path, output_file

    set_torch_threads(args.threads)
    methods = _methods(args.method)
    out = check_output_path(args.out, "file")
    sidecars = {kind: out.parent / f"{out.stem}_{kind}" for kind in
                (["logos"] if args.logos else []) + list(dict.fromkeys(args.export))}
    for kind, folder in sidecars.items():
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"--{'logos' if kind == 'logos' else 'export ' + kind}: {folder} is a file; "
                              "the files go into a folder of that name")
    chrom_sizes = None
    if args.chrom_sizes is not None:
        from seqlens.io.exports import read_chrom_sizes

        chrom_sizes = read_chrom_sizes(check_input(args.chrom_sizes, "--chrom-sizes"))
    loaded = load_cli_model(args)
    X, idx, names, truth = _load_input(args)
    loaded.check_input(X.shape, args.data)
    model, n_out = loaded.model, loaded.n_outputs
    if n_out is not None and isinstance(args.target, int) and not 0 <= args.target < n_out:
        raise SeqlensError(f"--target {args.target} out of range: the model has {n_out} outputs")
    check_target_option(model, X[idx[:1]], args.target, args.device)
    idx = _select(args, model, X, idx)
    X, names, truth = X[idx], [names[i] for i in idx], (truth[idx] if truth is not None else None)
    if args.logo_window is not None:
        from seqlens.plot.tracks import check_window

        try:
            check_window(args.logo_window, X.shape[2])
        except SeqlensError as exc:
            raise SeqlensError(f"--logo-window: {exc}") from None
    placements = _placements(names, X.shape[2], args.data, chrom_sizes) if "bigwig" in sidecars else None
    key = _run_key(args, {"sha256": loaded.sha256}, X, idx)

    with output_file(out, resume=args.resume) as work:
        maps, seconds = _method_maps(model, X, methods, args, work / "methods", key)
        metrics = {"n_sequences": int(len(X))}
        for m in methods:
            metrics[f"{m}_seconds"] = seconds[m]
            if m in ("saliency", "smoothgrad") and not args.correct:
                for k, v in angle_statistics(maps[m]).items():
                    metrics[f"{m}_{k}"] = v
        _write_maps(work / out.name, X, idx, names, maps, {
            "methods": methods, "model": str(args.model), "data": str(args.data), "split": args.split,
            "target": args.target, "activation": args.activation, "correct": bool(args.correct)})
        if truth is not None:
            metrics.update(_scores(maps, X, truth))
        if args.logos:
            _write_logos(work / sidecars["logos"].name, maps, X, truth, names, args.logos,
                         args.logo_window, args.activation or "logit")
        metrics.update(_write_exports(work, sidecars, maps, X, placements, chrom_sizes))
        report_metrics(metrics, metrics_path(work, out),
                       title=f"seqlens attribute: {', '.join(methods)} -> {out}")
        for folder in sidecars.values():
            _publish_sidecar(work / folder.name, folder)
    return 0


def _write_maps(path: Path, X, idx, names, maps: dict, metadata: dict) -> None:
    import h5py
    import numpy as np

    with h5py.File(path, "w") as fh:
        fh.create_dataset("X", data=X.astype(np.float32), compression="gzip")
        fh.create_dataset("indices", data=idx.astype(np.int64))
        fh.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        for m, a in maps.items():
            fh.create_dataset(m, data=a, compression="gzip")
        fh.attrs["metadata"] = json.dumps(metadata)


def _write_logos(folder: Path, maps: dict, X, truth, names, n: int, window, unit: str) -> None:
    """Figures of the first ``n`` sequences: a logo over a track, or an ISM heatmap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlens.plot.tracks import attribution_figure, ism_figure

    folder.mkdir(exist_ok=True)
    for m, a in maps.items():
        draw = ism_figure if m == "ism" else attribution_figure
        for i in range(min(n, len(X))):
            fig = draw(a[i], X[i], truth[i] if truth is not None else None, title=f"{m}: {names[i]}",
                       path=folder / f"{m}_{i}.png", window=window, unit=unit)
            plt.close(fig)


def _placements(names, length: int, data, chrom_sizes) -> tuple:
    """Where ``--export bigwig`` puts each sequence, from names ``chrom:start-end(strand)``:
    ``(rows, chroms, starts, strands)``; dinucleotide shuffles (``|shuffle...``) are left out.
    Each placement must fit ``chrom_sizes`` when given."""
    import numpy as np

    from seqlens.errors import SeqlensError
    from seqlens.io.exports import parse_coordinates

    rows, chroms, starts, strands = [], [], [], []
    for k, (name, place) in enumerate(zip(names, parse_coordinates(names))):
        if place is None:
            raise SeqlensError(f"--export bigwig: {data}: sequence {k} is named {name!r}, not "
                               "chrom:start-end; bigWig tracks need sequences placed on a genome "
                               "(seqlens dataset names them so)")
        chrom, start, end, strand, label = place
        if label.startswith("shuffle"):
            continue
        if end - start != length:
            raise SeqlensError(f"--export bigwig: {data}: sequence {k} ({name}) spans {end - start} "
                               f"bases, but the sequences have length {length}")
        if chrom_sizes is not None and chrom_sizes.get(chrom, -1) < end:
            raise SeqlensError(f"--export bigwig: {data}: sequence {k} ({name}) is not inside the "
                               f"--chrom-sizes ({chrom}: {chrom_sizes.get(chrom, 'absent')})")
        rows.append(k)
        chroms.append(chrom)
        starts.append(start)
        strands.append(strand)
    if not rows:
        raise SeqlensError(f"--export bigwig: {data}: every selected sequence is a shuffle; none "
                           "has a place on the genome")
    return np.asarray(rows), chroms, starts, strands


def _write_exports(work: Path, sidecars: dict, maps: dict, X, placements, chrom_sizes) -> dict:
    """The ``--export`` files of every map; metrics of the bigWig tracks."""
    from seqlens.attribution import hypothetical_contributions
    from seqlens.interpret.metrics import position_scores
    from seqlens.io.exports import write_bigwig, write_modisco_inputs

    metrics = {}
    if "modisco" not in sidecars and "bigwig" not in sidecars:
        return metrics
    for m, a in maps.items():
        hyp = hypothetical_contributions(a, X, m)
        if "modisco" in sidecars:
            write_modisco_inputs(work / sidecars["modisco"].name, X, hyp, name=m)
        if "bigwig" in sidecars:
            rows, chroms, starts, strands = placements
            folder = work / sidecars["bigwig"].name
            folder.mkdir(exist_ok=True)
            stats = write_bigwig(folder / f"{m}.bw", position_scores(hyp[rows], X[rows]), chroms, starts,
                                 strands, chrom_sizes)
            metrics.update(bigwig_sequences=stats["n_sequences"], bigwig_bases=stats["n_bases"])
    return metrics


def _publish_sidecar(work_folder: Path, folder: Path) -> None:
    """Replace a folder beside the output file (a sidecar, moved before the file)."""
    import os
    import shutil

    if folder.is_dir():
        shutil.rmtree(folder)
    os.replace(work_folder, folder)


def _scores(maps: dict, X, truth) -> dict:
    from seqlens.interpret.metrics import evaluate_attribution

    out = {}
    for m, a in maps.items():
        out.update(evaluate_attribution(a, X, truth, reduce="l2" if m == "ism" else "observed",
                                        prefix=f"{m}_"))
    return out


def run_evaluate(args) -> int:
    import numpy as np

    from seqlens.cli.common import report_metrics
    from seqlens.errors import FormatError, SeqlensError
    from seqlens.io.atomic import check_output_path, output_folder
    from seqlens.io.hdf5 import load_dataset, open_hdf5

    path = check_input(args.attr, "--attr")
    if args.truth is not None:
        check_input(args.truth, "--truth")
    out = check_output_path(args.out or f"{path}.evaluation", "folder")
    with open_hdf5(path) as fh:
        if "X" not in fh or "indices" not in fh:
            raise FormatError(f"{path}: missing 'X' or 'indices'; was it written by seqlens attribute?")
        try:
            meta = json.loads(fh.attrs.get("metadata", "{}"))
        except (TypeError, ValueError):
            raise FormatError(f"{path}: unreadable 'metadata' attribute") from None
        methods = meta.get("methods") or [k for k in fh if k not in ("X", "indices", "names")]
        X = fh["X"][()]
        idx = fh["indices"][()]
        maps = {m: fh[m][()] for m in methods if m in fh}
    if not maps:
        raise FormatError(f"{path}: no attribution maps inside")
    for m, a in maps.items():
        if a.shape != X.shape:
            raise FormatError(f"{path}: map {m!r} has shape {a.shape}, but X has {X.shape}")
        if not np.isfinite(a).all():
            raise FormatError(f"{path}: map {m!r} has NaN or infinite values")
    if args.motifs is not None:
        return _evaluate_proxy(args, path, out, X, maps)
    split = args.split or meta.get("split", "test")
    data = load_dataset(args.truth, splits=(split,))
    truth = data.split(split).truth
    if truth is None:
        raise SeqlensError(f"{args.truth}: no ground truth (model_{split}) in this dataset")
    if idx.ndim != 1 or len(idx) != len(X) or idx.min(initial=0) < 0 or idx.max(initial=-1) >= len(truth):
        raise SeqlensError(f"{path}: indices do not fit the {len(truth)} sequences of {args.truth} ({split})")
    truth = truth[idx]
    if X.shape[1:] != truth.shape[1:] or not np.array_equal(data.split(split).X[idx].argmax(1), X.argmax(1)):
        raise SeqlensError(f"{path}: its sequences differ from {args.truth} ({split}); wrong --truth?")
    metrics = {"n_sequences": int(len(X))}
    metrics.update(_scores(maps, X, truth))
    with output_folder(out, resume=args.resume) as work:
        report_metrics(metrics, work,
                       title=f"seqlens evaluate-attributions: {path} vs {args.truth} ({split})")
    return 0


def _evaluate_proxy(args, path: Path, out: Path, X, maps: dict) -> int:
    """Score ``maps`` against the motif-scan hits of ``--motifs`` (a proxy truth); every key is
    prefixed ``proxy_``."""
    from seqlens.cli.common import report_metrics
    from seqlens.cli.filters import load_motif_arguments
    from seqlens.errors import SeqlensError
    from seqlens.interpret.metrics import proxy_truth
    from seqlens.io.atomic import output_folder

    motifs = load_motif_arguments(args.motifs)
    if X.shape[1] != 4:
        raise SeqlensError(f"{path}: --motifs scans DNA/RNA (4 letters), the maps have {X.shape[1]}")
    wide = [m.name for m in motifs if m.width > X.shape[2]]
    if wide:
        raise SeqlensError(f"--motifs: {', '.join(wide)} wider than the sequences ({X.shape[2]})")
    named = f"{len(motifs)} motif{'s' if len(motifs) > 1 else ''}"
    print(f"seqlens evaluate-attributions: scanning {len(X):,} sequences for {named} "
          f"(p <= {args.threshold:g})")
    truth, hits = proxy_truth(X, motifs, threshold=args.threshold)
    metrics = {"n_sequences": int(len(X)), "proxy_n_motifs": len(motifs), "proxy_threshold": args.threshold,
               "proxy_n_hits": int(len(hits)),
               "proxy_n_sequences_with_hits": int(hits["sequence_index"].nunique()) if len(hits) else 0}
    if not len(hits):
        raise SeqlensError(f"--motifs: no hit with p <= {args.threshold:g} in the {len(X):,} sequences of "
                           f"{path}; nothing to score against (a larger --threshold, other motifs?)")
    metrics.update({f"proxy_{k}": v for k, v in _scores(maps, X, truth).items()})
    with output_folder(out, resume=args.resume) as work:
        report_metrics(metrics, work,
                       title=f"seqlens evaluate-attributions: {path} vs motif-scan hits of {named} "
                             "(a PROXY truth, not ground truth: agreement with the scan)")
    return 0
