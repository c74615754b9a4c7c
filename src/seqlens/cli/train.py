"""``seqlens train`` and ``seqlens predict``.

``seqlens train --data FILE.h5 --model NAME --out RUN_DIR [options]`` trains a zoo model and
writes the checkpoint (``weights.pt`` + ``config.json``), ``metrics.json``, ``history.csv``,
``history.json`` and ``curve.png`` into RUN_DIR.

``seqlens predict --model RUN_DIR --data FILE.h5|FASTA --out preds.csv`` writes predictions
(probabilities for BCE models) and, for HDF5 input with labels, ``metrics.json`` beside the CSV.
"""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("train", help="train a zoo model on an HDF5 dataset",
                       description="Train a zoo model (optionally robustly) on an HDF5 dataset.")
    p.add_argument("--data", required=True, help="HDF5 dataset (X_train/Y_train/...)")
    p.add_argument("--model", required=True, help="zoo model or preset name (e.g. cnn_local)")
    p.add_argument("--out", required=True, help="run folder")
    g = p.add_argument_group("architecture")
    g.add_argument("--activation", help="first-layer activation (e.g. relu, exponential)")
    g.add_argument("--pool", type=int, help="first-layer max-pool size")
    g.add_argument("--filters", type=int, help="first-layer filters")
    g.add_argument("--kernel-size", type=int, help="first-layer kernel size")
    g.add_argument("--dropout", type=float, help="first-layer dropout")
    g.add_argument("--no-batch-norm", action="store_true", help="turn BatchNorm off (cnn)")
    g.add_argument("--config", help="JSON string or file with more architecture keywords")
    g = p.add_argument_group("training")
    g.add_argument("--loss", choices=("bce", "mse", "poisson"), default="bce")
    g.add_argument("--epochs", type=int, default=100)
    g.add_argument("--batch-size", type=int, default=128)
    g.add_argument("--lr", type=float, default=1e-3)
    g.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty")
    g.add_argument("--patience", type=int, default=10, help="early-stopping patience (-1: off)")
    g.add_argument("--lr-patience", type=int, default=5, help="reduce-on-plateau patience (-1: off)")
    g.add_argument("--monitor", help="validation metric to monitor (auroc, aupr, pearson, loss)")
    g.add_argument("--clip-grad", type=float, help="gradient-norm clipping")
    g = p.add_argument_group("robust training")
    g.add_argument("--adversarial", action="store_true", help="adversarial training")
    g.add_argument("--adv-method", choices=("pgd", "fgsm"), default="pgd")
    g.add_argument("--epsilon", type=float, default=0.1)
    g.add_argument("--adv-steps", type=int, default=10)
    g.add_argument("--adv-step-size", type=float)
    g.add_argument("--adv-warmup", type=int, default=5, help="clean warm-up epochs")
    g.add_argument("--adv-mixed", type=int, default=5, help="clean + adversarial epochs")
    g.add_argument("--noise-std", type=float, default=0.0, help="Gaussian input noise")
    g.add_argument("--evoaug", nargs="?", const="all", default=None, metavar="AUGS",
                   help="EvoAug augmentations: 'all' or a comma list (deletion,insertion,"
                        "translocation,inversion,mutation,rc,noise)")
    g.add_argument("--max-augs", type=int, default=2, help="EvoAug augmentations per sequence")
    g.add_argument("--finetune-epochs", type=int, default=None,
                   help="fine-tune epochs on original data (default 5 with --evoaug, else 0)")
    g.add_argument("--finetune-lr", type=float, default=1e-4)
    g.add_argument("--mixup", type=float, help="mixup Beta(alpha, alpha)")
    g.add_argument("--mixup-layer", help="module name for manifold mixup (e.g. conv1)")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", help="cpu, cuda, cuda:1 (default: CUDA when available)")
    g.add_argument("--threads", type=int, help="torch CPU threads")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train)

    q = sub.add_parser("predict", help="predict with a trained model",
                       description="Predict with a trained run folder on HDF5 or FASTA input.")
    q.add_argument("--model", required=True, help="run folder written by seqlens train")
    q.add_argument("--data", required=True, help="HDF5 dataset or FASTA file")
    q.add_argument("--out", required=True, help="output CSV")
    q.add_argument("--split", default="test", choices=("train", "valid", "test"),
                   help="HDF5 split to predict (default test)")
    q.add_argument("--raw", action="store_true", help="raw outputs (logits) instead of the link")
    q.add_argument("--batch-size", type=int, default=256)
    q.add_argument("--device")
    q.add_argument("--threads", type=int)
    q.set_defaults(func=run_predict)


def _architecture_overrides(args, data) -> dict:
    from seqlens.errors import SeqlensError

    over = {"seq_length": data.seq_length, "n_outputs": data.n_tasks,
            "in_channels": int(data.train.X.shape[1])}
    for key in ("activation", "pool", "filters", "kernel_size", "dropout"):
        value = getattr(args, key)
        if value is not None:
            over[key] = value
    if args.no_batch_norm:
        over["batch_norm"] = False
    if args.config:
        text = Path(args.config).read_text() if Path(args.config).exists() else args.config
        try:
            extra = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeqlensError(f"--config is neither a JSON file nor JSON text ({exc})") from None
        if not isinstance(extra, dict):
            raise SeqlensError("--config must be a JSON object")
        over.update(extra)
    return over


def run_train(args) -> int:
    import time

    import torch

    from seqlens.cli.common import report_metrics
    from seqlens.errors import SeqlensError
    from seqlens.io.hdf5 import load_dataset
    from seqlens.models import build_model, count_parameters, save_model
    from seqlens.plot.curves import plot_history, save_figure
    from seqlens.train import AdversarialTraining, EvoAug, evaluate, fit

    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_dataset(args.data)
    try:
        model = build_model(args.model, random_state=args.seed,
                            **_architecture_overrides(args, data))
    except ValueError as exc:
        raise SeqlensError(str(exc)) from None
    adversarial = None
    if args.adversarial:
        adversarial = AdversarialTraining(args.adv_method, args.epsilon, args.adv_step_size,
                                          args.adv_steps, args.adv_warmup, args.adv_mixed)
    augment = EvoAug.from_spec(args.evoaug, args.max_augs) if args.evoaug else None
    finetune = args.finetune_epochs if args.finetune_epochs is not None else (5 if augment else 0)
    out = Path(args.out)
    t0 = time.perf_counter()
    try:
        res = fit(model, data.train, data.valid if len(data.valid) else None, loss=args.loss,
                  epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  weight_decay=args.weight_decay, monitor=args.monitor,
                  patience=None if args.patience < 0 else args.patience,
                  lr_patience=None if args.lr_patience < 0 else args.lr_patience,
                  clip_grad=args.clip_grad, adversarial=adversarial, noise_std=args.noise_std,
                  augment=augment, finetune_epochs=finetune, finetune_lr=args.finetune_lr,
                  mixup=args.mixup, mixup_layer=args.mixup_layer, random_state=args.seed,
                  device=args.device, verbose=not args.quiet, out_dir=out)
    except ValueError as exc:
        raise SeqlensError(str(exc)) from None
    seconds = time.perf_counter() - t0
    metrics = {"model": args.model, "loss": args.loss}
    if len(data.test):
        metrics.update(evaluate(model, data.test, loss=args.loss, device=args.device,
                                prefix="test_"))
    if len(data.valid):
        metrics.update(evaluate(model, data.valid, loss=args.loss, device=args.device,
                                prefix="valid_"))
    n_seen = sum(len(data.train) for _ in res.history)
    metrics.update({"best_epoch": res.best_epoch, "epochs_run": len(res.history),
                    "stopped_early": res.stopped_early, "n_parameters": count_parameters(model),
                    "seconds": seconds, "train_sequences_per_second": n_seen / max(res.seconds, 1e-9)})
    tasks = data.metadata.get("tasks") or [f"task_{i}" for i in range(data.n_tasks)]
    save_model(model.cpu(), out, metadata={
        "loss": args.loss, "tasks": tasks, "data": str(args.data), "metrics": metrics,
        "training": {k: v for k, v in vars(args).items() if k != "func"},
    })
    save_figure(plot_history(res.history, title=f"{args.model} on {Path(args.data).name}"),
                out / "curve.png")
    report_metrics(metrics, out, title=f"seqlens train: {args.model} -> {out}")
    return 0


def run_predict(args) -> int:
    import pandas as pd
    import torch

    from seqlens.cli.common import report_metrics
    from seqlens.errors import SeqlensError
    from seqlens.io.atomic import atomic_path
    from seqlens.models import load_model, read_checkpoint_info
    from seqlens.train import LINKS, evaluate_predictions, predict

    if args.threads:
        torch.set_num_threads(args.threads)
    info = read_checkpoint_info(args.model)
    model = load_model(args.model)
    meta = info.get("metadata", {})
    loss = meta.get("loss", "bce")
    n_out = int(info["model"].get("n_outputs", 1))
    tasks = meta.get("tasks") or [f"task_{i}" for i in range(n_out)]
    path = Path(args.data)
    labels = None
    if path.suffix.lower() in (".h5", ".hdf5"):
        from seqlens.io.hdf5 import load_dataset

        data = load_dataset(path, splits=(args.split,), truth=False)
        split = data.split(args.split)
        X, labels = split.X, split.Y
        key = f"names_{args.split}"
        names = ([n.decode() if isinstance(n, bytes) else str(n) for n in data.extras[key]]
                 if key in data.extras else [f"{args.split}_{i}" for i in range(len(X))])
    else:
        from seqlens.io.fasta import read_fasta_onehot

        names, X = read_fasta_onehot(path)
    expected = info["model"].get("seq_length")
    if expected is not None and X.shape[2] != expected:
        raise SeqlensError(f"{path}: sequences have length {X.shape[2]}, but the model in "
                           f"{args.model} expects {expected}")
    link = None if args.raw else LINKS.get(loss)
    pred = predict(model, X, batch_size=args.batch_size, device=args.device, link=link)
    table = pd.DataFrame(pred, columns=[str(t) for t in tasks][:pred.shape[1]])
    table.insert(0, "name", names)
    out = Path(args.out)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    metrics = {"n_sequences": int(len(X)), "n_tasks": int(pred.shape[1])}
    if labels is not None and len(labels):
        metrics_names = ("auroc", "aupr") if loss == "bce" else ("pearson", "spearman")
        metrics.update(evaluate_predictions(labels, pred, metrics_names, prefix=f"{args.split}_"))
    report_metrics(metrics, out.parent, title=f"seqlens predict: {len(X)} sequences -> {out}")
    return 0
