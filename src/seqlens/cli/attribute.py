"""``seqlens attribute`` and ``seqlens evaluate-attributions``.

``seqlens attribute --model RUN_DIR --data FILE.h5|FASTA --method saliency,smoothgrad,ig,deepshap,ism
[--correct] [--target 0] --out attr.h5 [--logos N]`` computes attribution maps and writes them to an
HDF5 file: one ``(N, A, L)`` dataset per method, ``X`` (the sequences), ``indices`` (rows of the
split) and ``names``; figures and ``metrics.json`` (seconds per method, off-simplex angle statistics
of gradient methods, and ground-truth scores when the HDF5 input has ``model_<split>``) go beside
the output file.

``seqlens evaluate-attributions --attr attr.h5 --truth FILE.h5`` scores every map against the
ground truth: AUROC/AUPR under protocols a and b, signal-to-noise and cosine similarity.
"""

from __future__ import annotations

import json
from pathlib import Path

METHOD_ALIASES = {"saliency": "saliency", "grad": "saliency", "gradxinput": "grad_x_input",
                  "grad_x_input": "grad_x_input", "smoothgrad": "smoothgrad", "ig": "ig",
                  "integrated_gradients": "ig", "eig": "eig", "expected_ig": "eig",
                  "deeplift": "deeplift", "deepshap": "deepshap", "ism": "ism"}
GRADIENT_METHODS = ("saliency", "grad_x_input", "smoothgrad", "ig", "eig", "deeplift", "deepshap")


def register(sub) -> None:
    p = sub.add_parser("attribute", help="attribution maps of a trained model",
                       description="Compute attribution maps (saliency, SmoothGrad, IG, DeepSHAP, ISM).")
    p.add_argument("--model", required=True, help="run folder written by seqlens train")
    p.add_argument("--data", required=True, help="HDF5 dataset or FASTA file")
    p.add_argument("--method", default="saliency",
                   help="comma list of: saliency, grad_x_input, smoothgrad, ig, eig, deeplift, deepshap, ism")
    p.add_argument("--out", required=True, help="output HDF5 file (attr.h5)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--n", type=int, help="first N sequences only")
    p.add_argument("--positives", action="store_true",
                   help="only sequences with a positive label for --target (HDF5 input)")
    p.add_argument("--target", type=int, default=0, help="output index")
    p.add_argument("--activation", choices=("sigmoid", "softmax", "exp"),
                   help="attribute the post-activation output (default: the logit)")
    p.add_argument("--correct", action="store_true", help="gradient correction")
    p.add_argument("--n-shuffles", type=int, default=20, help="DeepSHAP / EIG references")
    p.add_argument("--steps", type=int, default=50, help="IG steps")
    p.add_argument("--samples", type=int, default=50, help="SmoothGrad samples")
    p.add_argument("--sigma", type=float, default=0.1, help="SmoothGrad noise")
    p.add_argument("--logos", type=int, default=0, help="write logo figures of the first N sequences")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run_attribute)

    q = sub.add_parser("evaluate-attributions", help="score attribution maps against ground truth",
                       description="AUROC/AUPR (protocols a and b), SNR and cosine similarity of "
                                   "attribution maps against the simulated ground truth.")
    q.add_argument("--attr", required=True, help="HDF5 written by seqlens attribute")
    q.add_argument("--truth", required=True, help="HDF5 dataset with model_<split> ground truth")
    q.add_argument("--split", help="split (default: the one recorded in --attr)")
    q.add_argument("--out", help="folder for metrics.json (default: beside --attr)")
    q.set_defaults(func=run_evaluate)


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
    return at.ism(model, X, batch_size=1024, **common)


def _load_input(args):
    import numpy as np

    from seqlens.errors import SeqlensError

    path = Path(args.data)
    truth = None
    if path.suffix.lower() in (".h5", ".hdf5"):
        from seqlens.io.hdf5 import load_dataset

        data = load_dataset(path, splits=(args.split,))
        split = data.split(args.split)
        X, Y, truth = split.X, split.Y, split.truth
        idx = np.arange(len(X))
        if args.positives:
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
    if args.n is not None:
        idx = idx[: args.n]
    if len(idx) == 0:
        raise SeqlensError(f"{path}: no sequences selected")
    return X[idx], idx, [names[i] for i in idx], (truth[idx] if truth is not None else None)


def run_attribute(args) -> int:
    import time

    import h5py
    import numpy as np
    import torch

    from seqlens.attribution import angle_statistics
    from seqlens.cli.common import report_metrics
    from seqlens.errors import SeqlensError
    from seqlens.io.atomic import atomic_path
    from seqlens.models import load_model, read_checkpoint_info

    if args.threads:
        torch.set_num_threads(args.threads)
    methods = _methods(args.method)
    info = read_checkpoint_info(args.model)
    model = load_model(args.model)
    X, idx, names, truth = _load_input(args)
    expected = info["model"].get("seq_length")
    if expected is not None and X.shape[2] != expected:
        raise SeqlensError(f"{args.data}: sequences have length {X.shape[2]}, but the model in "
                           f"{args.model} expects {expected}")
    n_out = int(info["model"].get("n_outputs", 1))
    if not 0 <= args.target < n_out:
        raise SeqlensError(f"--target {args.target} out of range: the model has {n_out} outputs")
    maps, metrics = {}, {"n_sequences": int(len(X))}
    for m in methods:
        t0 = time.perf_counter()
        maps[m] = np.asarray(compute(model, X, m, args), dtype=np.float32)
        metrics[f"{m}_seconds"] = time.perf_counter() - t0
        if m in ("saliency", "smoothgrad"):
            raw = maps[m] if not args.correct else None
            if raw is not None:
                for k, v in angle_statistics(raw).items():
                    metrics[f"{m}_{k}"] = v
    out = Path(args.out)
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as fh:
        fh.create_dataset("X", data=X.astype(np.float32), compression="gzip")
        fh.create_dataset("indices", data=idx.astype(np.int64))
        fh.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        for m, a in maps.items():
            fh.create_dataset(m, data=a, compression="gzip")
        fh.attrs["metadata"] = json.dumps({
            "methods": methods, "model": str(args.model), "data": str(args.data), "split": args.split,
            "target": args.target, "activation": args.activation, "correct": bool(args.correct)})
    if truth is not None:
        metrics.update(_scores(maps, X, truth))
    if args.logos:
        import matplotlib

        from seqlens.plot.tracks import attribution_figure

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        folder = out.parent / f"{out.stem}_logos"
        for m, a in maps.items():
            for i in range(min(args.logos, len(X))):
                shown = a[i] if m == "ism" else a[i]
                fig = attribution_figure(shown, None if m == "ism" else X[i],
                                         truth[i] if truth is not None else None,
                                         title=f"{m}: {names[i]}", path=folder / f"{m}_{i}.png")
                plt.close(fig)
    report_metrics(metrics, out.parent, title=f"seqlens attribute: {', '.join(methods)} -> {out}")
    return 0


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
    from seqlens.io.hdf5 import load_dataset, open_hdf5

    path = Path(args.attr)
    with open_hdf5(path) as fh:
        meta = json.loads(fh.attrs.get("metadata", "{}"))
        methods = meta.get("methods") or [k for k in fh if k not in ("X", "indices", "names")]
        if "X" not in fh or "indices" not in fh:
            raise FormatError(f"{path}: missing 'X' or 'indices'; was it written by seqlens attribute?")
        X = fh["X"][()]
        idx = fh["indices"][()]
        maps = {m: fh[m][()] for m in methods if m in fh}
    split = args.split or meta.get("split", "test")
    data = load_dataset(args.truth, splits=(split,))
    truth = data.split(split).truth
    if truth is None:
        raise SeqlensError(f"{args.truth}: no ground truth (model_{split}) in this dataset")
    if idx.max(initial=-1) >= len(truth):
        raise SeqlensError(f"{path}: indices go beyond the {len(truth)} sequences of {args.truth} ({split})")
    truth = truth[idx]
    if not np.array_equal(data.split(split).X[idx].argmax(1), X.argmax(1)):
        raise SeqlensError(f"{path}: its sequences differ from {args.truth} ({split}); wrong --truth?")
    metrics = {"n_sequences": int(len(X))}
    metrics.update(_scores(maps, X, truth))
    out_dir = Path(args.out) if args.out else path.parent
    report_metrics(metrics, out_dir, title=f"seqlens evaluate-attributions: {path} vs {args.truth} ({split})")
    return 0
