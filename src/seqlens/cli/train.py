"""``seqlens train`` and ``seqlens predict``.

``seqlens train --data FILE.h5 --model NAME --out RUN_DIR [options] [--resume]`` trains a zoo
model and publishes RUN_DIR with the checkpoint (``weights.pt`` + ``config.json``),
``metrics.json``, ``history.csv``, ``history.json``, ``curve.png`` and ``manifest.json``. The run
works in ``RUN_DIR.partial/``, where the trainer keeps a resumable state after every epoch
(``resume/``, removed before publishing): ``--resume`` continues a killed run from its last
finished epoch and gives the same model as an uninterrupted run.

``seqlens predict --model RUN_DIR --data FILE.h5|FASTA --out preds.csv`` writes predictions
(probabilities for BCE models) and, for HDF5 input with labels, ``preds.csv.metrics.json``.
Predictions are written in one step, so ``--resume`` simply redoes them.

Every input and option is checked before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path

from seqlens.cli.common import (
    add_model_option,
    add_resume_option,
    check_input,
    device_option,
    int_or_off,
    is_hdf5,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    unit_interval,
)

STATE_FOLDER = "resume"  # inside <out>.partial/: the trainer's resumable state


def register(sub) -> None:
    p = sub.add_parser("train", help="train a zoo model on an HDF5 dataset",
                       description="Train a zoo model (optionally robustly) on an HDF5 dataset.")
    p.add_argument("--data", required=True, help="HDF5 dataset (X_train/Y_train/...)")
    p.add_argument("--model", required=True, help="zoo model or preset name (e.g. cnn_local)")
    p.add_argument("--out", required=True, help="run folder")
    g = p.add_argument_group("architecture")
    g.add_argument("--activation", help="first-layer activation (e.g. relu, exponential)")
    g.add_argument("--pool", type=positive_int, help="first-layer max-pool size")
    g.add_argument("--filters", type=positive_int, help="first-layer filters")
    g.add_argument("--kernel-size", type=positive_int, help="first-layer kernel size")
    g.add_argument("--dropout", type=unit_interval, help="first-layer dropout")
    g.add_argument("--no-batch-norm", action="store_true", help="turn BatchNorm off (cnn)")
    g.add_argument("--config", help="more architecture keywords: JSON text (starting with '{') "
                                    "or a JSON file")
    g = p.add_argument_group("training")
    g.add_argument("--loss", choices=("bce", "mse", "poisson", "profile"), default="bce",
                   help="profile: multinomial profile NLL + counts MSE, for profile models (bpnet) "
                        "on a profile dataset (profile_<split> counts)")
    g.add_argument("--counts-weight", type=nonnegative_float,
                   help="--loss profile: lambda of the counts MSE (default: half the mean total count "
                        "per track of the training data)")
    g.add_argument("--epochs", type=positive_int,
                   help="the preset's published recipe sets --epochs, --batch-size, --lr, --patience "
                        "and --monitor (printed at the start); these options override it")
    g.add_argument("--batch-size", type=positive_int)
    g.add_argument("--lr", type=positive_float)
    g.add_argument("--weight-decay", type=nonnegative_float, default=0.0, help="L2 penalty")
    g.add_argument("--patience", type=int_or_off(1), help="early-stopping patience (-1: off)")
    g.add_argument("--lr-patience", type=int_or_off(0), default=5,
                   help="reduce-on-plateau patience (-1: off)")
    g.add_argument("--monitor", help="validation metric to monitor (auroc, aupr, pearson, loss; "
                                     "profile_pearson, counts_pearson for --loss profile)")
    g.add_argument("--clip-grad", type=positive_float, help="gradient-norm clipping")
    g = p.add_argument_group("robust training")
    g.add_argument("--adversarial", action="store_true", help="adversarial training")
    g.add_argument("--adv-method", choices=("pgd", "fgsm"), default="pgd")
    g.add_argument("--epsilon", type=nonnegative_float, default=0.1)
    g.add_argument("--adv-steps", type=positive_int, default=10)
    g.add_argument("--adv-step-size", type=positive_float)
    g.add_argument("--adv-warmup", type=nonnegative_int, default=5, help="clean warm-up epochs")
    g.add_argument("--adv-mixed", type=nonnegative_int, default=5,
                   help="clean + adversarial epochs")
    g.add_argument("--noise-std", type=nonnegative_float, default=0.0, help="Gaussian input noise")
    g.add_argument("--evoaug", nargs="?", const="all", default=None, metavar="AUGS",
                   help="EvoAug augmentations: 'all' or a comma list (deletion,insertion,"
                        "translocation,inversion,mutation,rc,noise)")
    g.add_argument("--max-augs", type=positive_int, default=2,
                   help="EvoAug augmentations per sequence")
    g.add_argument("--finetune-epochs", type=nonnegative_int, default=None,
                   help="fine-tune epochs on original data (default 5 with --evoaug, else 0)")
    g.add_argument("--finetune-lr", type=positive_float, default=1e-4)
    g.add_argument("--mixup", type=positive_float, help="mixup Beta(alpha, alpha)")
    g.add_argument("--mixup-layer", help="module name for manifold mixup (e.g. conv1)")
    g.add_argument("--rc", action="store_true",
                   help="reverse-complement augmentation: each training sequence is flipped to its "
                        "reverse complement with probability 0.5 in every batch")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=nonnegative_int, default=0)
    g.add_argument("--device", type=device_option,
                   help="cpu, cuda, cuda:1 (default: CUDA when available)")
    g.add_argument("--threads", type=positive_int, help="torch CPU threads")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resume_option(g)
    p.set_defaults(func=run_train)

    q = sub.add_parser("predict", help="predict with a trained model",
                       description="Predict with a trained run folder on HDF5 or FASTA input.")
    add_model_option(q)
    q.add_argument("--data", required=True, help="HDF5 dataset or FASTA file")
    q.add_argument("--out", required=True,
                   help="output CSV (metrics of labelled input go to <out>.metrics.json)")
    q.add_argument("--split", default="test", choices=("train", "valid", "test"),
                   help="HDF5 split to predict (default test)")
    q.add_argument("--raw", action="store_true",
                   help="raw outputs (logits) instead of the link (models not trained by seqlens: "
                        "always their outputs as they are)")
    q.add_argument("--batch-size", type=positive_int, default=256)
    q.add_argument("--device", type=device_option)
    q.add_argument("--threads", type=positive_int)
    add_resume_option(q)
    q.set_defaults(func=run_predict)


# ---------------------------------------------------------------------------------- validation
def _label_problem(Y, loss: str) -> tuple[str, str] | None:
    """``(where, need)`` for the first label unsuitable for ``loss`` (BCE: in [0, 1]; Poisson:
    >= 0; all: finite), or None."""
    import numpy as np

    Y = np.asarray(Y, dtype=np.float64)
    bad = ~np.isfinite(Y)
    need = "finite labels"
    if loss == "bce":
        bad |= (Y < 0) | (Y > 1)
        need = "labels in [0, 1]"
    elif loss == "poisson":
        bad |= Y < 0
        need = "counts >= 0"
    if not bad.any():
        return None
    i, j = (int(v) for v in np.argwhere(bad)[0])
    return f"record {i} (task {j}) has label {Y[i, j]:g}", need


def _check_dataset(data, path: Path, loss: str) -> None:
    """Shapes agree across splits and labels suit ``loss``."""
    from seqlens.errors import SeqlensError
    from seqlens.io.hdf5 import SPLITS

    if len(data.train) == 0:
        raise SeqlensError(f"{path}: X_train has no sequences")
    if data.n_tasks == 0:
        raise SeqlensError(f"{path}: Y_train has no label columns")
    shape = (data.train.X.shape[1:], data.n_tasks)
    for name in SPLITS:
        split = data.split(name)
        if len(split) and (split.X.shape[1:], split.Y.shape[1]) != shape:
            raise SeqlensError(
                f"{path}: X_{name}/Y_{name} have shapes {split.X.shape[1:]} and "
                f"{split.Y.shape[1]} tasks, but X_train/Y_train have {shape[0]} and {shape[1]}")
        if loss == "profile" and len(split):
            _check_profile(split, name, data, path)
        problem = _label_problem(split.Y, "mse" if loss == "profile" else loss) if len(split) else None
        if problem:
            hint = " (use --loss mse or poisson for other targets)" if loss == "bce" else ""
            raise SeqlensError(f"{path}: Y_{name} {problem[0]}; --loss {loss} needs "
                               f"{problem[1]}{hint}")


def _check_profile(split, name: str, data, path: Path) -> None:
    """A profile split has ``profile_<name>`` counts ``(N, S, L_out)`` like the training split's,
    all finite and >= 0."""
    import numpy as np

    from seqlens.errors import SeqlensError

    if split.profile is None:
        raise SeqlensError(f"{path}: --loss profile needs profile counts, but there is no "
                           f"profile_{name} (build a profile dataset from bigWigs with seqlens dataset)")
    want = (data.n_tasks, data.train.profile.shape[2] if data.train.profile is not None else None)
    if split.profile.shape[1:] != want:
        raise SeqlensError(f"{path}: profile_{name} has shape {split.profile.shape}, expected (N, "
                           f"{want[0]} tracks like Y_train, {want[1]} positions like profile_train)")
    bad = np.argwhere(~(split.profile >= 0))  # negative or NaN (load_dataset refuses Inf)
    if len(bad):
        i, t, j = (int(v) for v in bad[0])
        raise SeqlensError(f"{path}: profile_{name} record {i} (track {t}, position {j}) has count "
                           f"{split.profile[i, t, j]:g}; --loss profile needs counts >= 0")


def _check_loss_fits_model(args) -> None:
    """Profile models (two heads) train with --loss profile, and only they do."""
    from seqlens.errors import SeqlensError
    from seqlens.models.zoo import ARCHITECTURES, model_config

    try:
        arch = ARCHITECTURES[model_config(args.model)["name"]]
    except ValueError:
        return  # an unknown name: build_model says so
    if (getattr(arch, "heads", None) is not None) != (args.loss == "profile"):
        profile = [k for k, v in ARCHITECTURES.items() if getattr(v, "heads", None) is not None]
        raise SeqlensError(f"--loss {args.loss} with --model {args.model}: --loss profile goes with the "
                           f"profile models ({', '.join(profile)}) and they need it")


def _architecture_overrides(args, data) -> dict:
    over = {"seq_length": data.seq_length, "n_outputs": data.n_tasks,
            "in_channels": int(data.train.X.shape[1])}
    if args.loss == "profile":
        over["output_length"] = int(data.train.profile.shape[2])
    for key in ("activation", "pool", "filters", "kernel_size", "dropout"):
        value = getattr(args, key)
        if value is not None:
            over[key] = value
    if args.no_batch_norm:
        over["batch_norm"] = False
    if args.config:
        over.update(_config(args.config))
    return over


def _config(text: str) -> dict:
    """``--config``: JSON text when it starts with ``{``, otherwise the name of a JSON file."""
    from seqlens.errors import SeqlensError

    where = "--config"
    if not text.lstrip().startswith("{"):
        path = Path(text)
        where = f"--config {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SeqlensError(f"{where}: no such file (JSON text must start with '{{')") from None
        except UnicodeDecodeError:
            raise SeqlensError(f"{where}: not a UTF-8 text file") from None
        except OSError as exc:
            raise SeqlensError(f"{where}: cannot read ({exc.strerror})") from None

    def refuse(name):
        raise ValueError(f"{name} is not a JSON number")

    try:
        extra = json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        raise SeqlensError(f"{where}: malformed JSON ({exc})") from None
    if not isinstance(extra, dict):
        raise SeqlensError(f"{where}: must be a JSON object of architecture keywords, got "
                           f"{type(extra).__name__}")
    return extra


def _training_setup(args, model, data):
    """Robust-training objects and the fine-tune epochs, checked before any output exists."""
    from seqlens.errors import SeqlensError
    from seqlens.train import AdversarialTraining, EvoAug, resolve_monitor

    try:
        resolve_monitor(args.monitor, args.loss, len(data.valid) > 0)
        adversarial = None
        if args.adversarial:
            adversarial = AdversarialTraining(args.adv_method, args.epsilon, args.adv_step_size,
                                              args.adv_steps, args.adv_warmup, args.adv_mixed)
        augment = EvoAug.from_spec(args.evoaug, args.max_augs) if args.evoaug else None
    except ValueError as exc:
        raise SeqlensError(f"{exc}") from None
    if args.mixup_layer is not None:
        if args.mixup is None:
            raise SeqlensError("--mixup-layer needs --mixup ALPHA")
        names = [k for k, _ in model.named_modules() if k]
        if args.mixup_layer not in names:
            raise SeqlensError(f"--mixup-layer {args.mixup_layer!r} is not a module of "
                               f"{args.model}; choose from {names[:20]}")
    finetune = args.finetune_epochs if args.finetune_epochs is not None else (5 if augment else 0)
    return adversarial, augment, finetune


def training_recipe(args) -> dict:
    """``fit`` keywords ``epochs``, ``batch_size``, ``lr``, ``patience``, ``monitor``: the preset's
    published recipe (:func:`seqlens.models.zoo.recipe`) with the options given on the command line
    on top; printed in one line. A recipe's classification ``monitor`` is dropped for other losses."""
    from seqlens.models.zoo import recipe

    source, settings = recipe(args.model)
    if args.loss != "bce" and settings.get("monitor") in ("auroc", "aupr"):
        settings.pop("monitor")
    given = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
             "patience": args.patience, "monitor": args.monitor}
    settings.update({k: v for k, v in given.items() if v is not None})
    settings["monitor"] = settings.get("monitor")
    if settings["patience"] is not None and settings["patience"] < 0:
        settings["patience"] = None
    shown = ", ".join(f"{k} {'off' if v is None else v}" for k, v in settings.items())
    overridden = [k for k, v in given.items() if v is not None]
    note = f"; overridden: {', '.join(overridden)}" if overridden else ""
    print(f"training recipe ({source} for {args.model}{note}): {shown}", flush=True)
    return settings


# ------------------------------------------------------------------------------------- commands
def run_train(args) -> int:
    import shutil
    import time

    from seqlens.cli.common import report_metrics, set_torch_threads
    from seqlens.errors import SeqlensError
    from seqlens.io.atomic import check_output_path, output_folder
    from seqlens.io.hdf5 import load_dataset
    from seqlens.models import build_model, count_parameters, save_model
    from seqlens.plot.curves import plot_history, save_figure
    from seqlens.train import evaluate, fit
    from seqlens.train.profile import default_counts_weight

    set_torch_threads(args.threads)
    out = check_output_path(args.out, "folder")
    path = check_input(args.data, "--data")
    data = load_dataset(path)
    _check_loss_fits_model(args)
    _check_dataset(data, path, args.loss)
    counts_weight = args.counts_weight
    if args.loss == "profile" and counts_weight is None:
        counts_weight = default_counts_weight(data.train.profile)
    try:
        model = build_model(args.model, random_state=args.seed,
                            **_architecture_overrides(args, data))
    except (ValueError, TypeError, RuntimeError, OverflowError) as exc:
        raise SeqlensError(f"--model {args.model}: {exc}") from None
    adversarial, augment, finetune = _training_setup(args, model, data)
    settings = training_recipe(args)

    with output_folder(out, resume=args.resume) as work:
        t0 = time.perf_counter()
        try:
            res = fit(model, data.train, data.valid if len(data.valid) else None,
                      loss=args.loss, **settings, weight_decay=args.weight_decay,
                      lr_patience=None if args.lr_patience < 0 else args.lr_patience,
                      clip_grad=args.clip_grad, adversarial=adversarial,
                      noise_std=args.noise_std, augment=augment, finetune_epochs=finetune,
                      finetune_lr=args.finetune_lr, mixup=args.mixup,
                      mixup_layer=args.mixup_layer, rc=args.rc, random_state=args.seed,
                      device=args.device, verbose=not args.quiet, out_dir=work,
                      checkpoint_dir=work / STATE_FOLDER, resume=args.resume,
                      counts_weight=counts_weight)
        except SeqlensError:
            raise
        except ValueError as exc:
            raise SeqlensError(str(exc)) from None
        seconds = time.perf_counter() - t0
        metrics = {"model": args.model, "loss": args.loss}
        extra = {}
        if args.loss == "profile":
            extra = {"counts_weight": counts_weight}
            metrics["counts_weight"] = counts_weight
        if len(data.test):
            metrics.update(evaluate(model, data.test, loss=args.loss, device=args.device,
                                    prefix="test_", **extra))
        if len(data.valid):
            metrics.update(evaluate(model, data.valid, loss=args.loss, device=args.device,
                                    prefix="valid_", **extra))
        n_seen = len(data.train) * len(res.history)
        metrics.update({"best_epoch": res.best_epoch, "epochs_run": len(res.history),
                        "stopped_early": res.stopped_early,
                        "n_parameters": count_parameters(model), "seconds": seconds,
                        "train_sequences_per_second": n_seen / max(res.seconds, 1e-9)})
        save_model(model.cpu(), work, metadata={
            "loss": args.loss, "tasks": _task_names(data.metadata.get("tasks"), data.n_tasks),
            "data": str(args.data), "metrics": metrics, "recipe": settings,
            "training": {k: v for k, v in vars(args).items() if k not in ("func", "resume")},
        })
        save_figure(plot_history(res.history, title=f"{args.model} on {path.name}"),
                    work / "curve.png")
        report_metrics(metrics, work, title=f"seqlens train: {args.model} -> {out}")
        shutil.rmtree(work / STATE_FOLDER)  # the finished run needs no resumable state
    return 0


def _task_names(tasks, n: int) -> list[str]:
    """The task names of the metadata when they are a list of ``n``, else ``task_0, ...``."""
    if isinstance(tasks, list) and len(tasks) == n:
        return [str(t) for t in tasks]
    return [f"task_{i}" for i in range(n)]


def _load_sequences(args, path: Path):
    """``(names, X, labels or None)`` from an HDF5 split or a FASTA file."""
    from seqlens.errors import SeqlensError
    if is_hdf5(path):
        from seqlens.io.hdf5 import load_dataset

        data = load_dataset(path, splits=(args.split,), truth=False)
        split = data.split(args.split)
        key = f"names_{args.split}"
        names = ([n.decode() if isinstance(n, bytes) else str(n) for n in data.extras[key]]
                 if key in data.extras else [f"{args.split}_{i}" for i in range(len(split.X))])
        if len(names) != len(split.X):
            raise SeqlensError(f"{path}: {key} has {len(names)} names, but X_{args.split} has "
                               f"{len(split.X)} sequences")
        return names, split.X, split.Y
    from seqlens.io.fasta import read_fasta_onehot

    names, X = read_fasta_onehot(path)
    return names, X, None


def run_predict(args) -> int:
    import warnings

    import numpy as np
    import pandas as pd

    from seqlens.cli.common import load_cli_model, metrics_path, report_metrics, set_torch_threads
    from seqlens.errors import SeqlensError
    from seqlens.io.atomic import check_output_path, output_file
    from seqlens.train import LINKS, evaluate_predictions, predict

    set_torch_threads(args.threads)
    out = check_output_path(args.out, "file")
    loaded = load_cli_model(args)
    model, meta = loaded.model, loaded.metadata
    loss = meta.get("loss", "bce") if loaded.kind == "seqlens" else None
    if loss is not None and loss not in LINKS:
        raise SeqlensError(f"{args.model}: unknown loss {loss!r} in the checkpoint metadata")
    path = check_input(args.data, "--data")
    names, X, labels = _load_sequences(args, path)
    if len(X) == 0:
        raise SeqlensError(f"{path}: no sequences to predict")
    loaded.check_input(X.shape, path)
    n_out = loaded.n_outputs
    if labels is not None and len(labels) and n_out is not None and labels.shape[1] != n_out:
        raise SeqlensError(f"{path}: Y_{args.split} has {labels.shape[1]} columns, but the "
                           f"model in {args.model} has {n_out} outputs")
    link = None if args.raw or loss is None else LINKS[loss]
    if loss is None and labels is not None:  # a model from elsewhere: scored by the kind of labels
        loss = "bce" if np.isin(labels, (0, 1)).all() else "mse"
    if loss == "profile":  # the table holds the counts head: predicted log(1 + total) per track
        from seqlens.models.bpnet import OutputHead

        model = OutputHead(model, "counts")
    pred = predict(model, X, batch_size=args.batch_size, device=args.device, link=link)
    table = pd.DataFrame(pred, columns=_task_names(meta.get("tasks"), pred.shape[1]))
    table.insert(0, "name", names)
    metrics = {"n_sequences": int(len(X)), "n_tasks": int(pred.shape[1])}
    problem = _label_problem(labels, loss) if labels is not None and len(labels) else None
    if problem:
        warnings.warn(f"{path}: Y_{args.split} {problem[0]}, but a model trained with loss "
                      f"{loss} needs {problem[1]}; no metrics computed", stacklevel=1)
    elif labels is not None and len(labels):
        metrics_names = ("auroc", "aupr") if loss == "bce" else ("pearson", "spearman")
        metrics.update(evaluate_predictions(labels, pred, metrics_names, prefix=f"{args.split}_"))
    with output_file(out, resume=args.resume) as work:
        table.to_csv(work / out.name, index=False)
        report_metrics(metrics, metrics_path(work, out),
                       title=f"seqlens predict: {len(X)} sequences -> {out}")
    return 0
