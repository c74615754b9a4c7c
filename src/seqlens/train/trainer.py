"""Training loop: Adam, early stopping with best-weight restore, reduce-on-plateau, clipping,
robust training (adversarial, Gaussian noise, EvoAug with fine-tuning, mixup), seeds, history.

Works with any ``nn.Module`` with ``y = model(X)``, ``X`` ``(N, A, L)`` float32 and ``y``
``(N, T)`` raw outputs: logits for ``loss="bce"``, values for ``"mse"``, log-rates for
``"poisson"``; profile models (``loss="profile"``, :mod:`seqlens.train.profile`) return
``(profile_logits (N, S, L_out), log_counts (N, S))`` and train on counts ``(N, S, L_out)``.

Determinism: with the same ``random_state`` (and the same initial weights, e.g.
``build_model(..., random_state=0)``) two runs on CPU give identical weights. The global torch
RNG state of the caller is restored afterwards.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlens.io.atomic import atomic_path, plain_json, write_json
from seqlens.models.base import resolve_device
from seqlens.train.adversarial import AdversarialTraining
from seqlens.train.augment import RandomRC
from seqlens.train.metrics import CLASSIFICATION, REGRESSION, evaluate_predictions
from seqlens.train.profile import (
    PROFILE_METRICS,
    ProfileLoss,
    default_counts_weight,
    evaluate_profile,
    profile_pair,
)
from seqlens.train.state import load_state, save_state

LOSSES = ("bce", "mse", "poisson", "profile")
LINKS = {"bce": "sigmoid", "mse": None, "poisson": "exp", "profile": None}


def loss_function(loss: str) -> nn.Module:
    """The torch loss for ``"bce"`` (with logits), ``"mse"``, ``"poisson"`` (log-rate input) or
    ``"profile"`` (:class:`~seqlens.train.profile.ProfileLoss` with counts weight 1)."""
    if loss == "bce":
        return nn.BCEWithLogitsLoss()
    if loss == "mse":
        return nn.MSELoss()
    if loss == "poisson":
        return nn.PoissonNLLLoss(log_input=True)
    if loss == "profile":
        return ProfileLoss()
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def _as_tensor(a) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach().float().cpu()
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


def _xy(data, name: str):
    if data is None:
        return None
    if hasattr(data, "X") and hasattr(data, "Y"):
        X, Y = data.X, data.Y
    else:
        X, Y = data
    X, Y = _as_tensor(X), _as_tensor(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    if X.ndim != 3:
        raise ValueError(f"{name}: X must be (N, A, L), got shape {tuple(X.shape)}")
    if len(X) != len(Y):
        raise ValueError(f"{name}: X has {len(X)} sequences but Y has {len(Y)} rows")
    if len(X) == 0:
        raise ValueError(f"{name}: no sequences")
    return X, Y


def _apply_link(out: torch.Tensor, link: str | None) -> torch.Tensor:
    if link == "sigmoid":
        return torch.sigmoid(out)
    if link == "exp":
        return torch.exp(out.clamp(max=80.0))
    if link is None:
        return out
    raise ValueError(f"link must be None, 'sigmoid' or 'exp', got {link!r}")


@torch.no_grad()
def predict(model: nn.Module, X, batch_size: int = 256, device=None, link: str | None = None,
            verbose: bool = False):
    """Model outputs ``(N, T)`` for ``X`` ``(N, A, L)`` in eval mode, batch by batch.

    ``link``: ``None`` (raw), ``"sigmoid"`` (probabilities) or ``"exp"`` (Poisson rates).
    Returns a numpy array for numpy input, a CPU tensor for tensor input.
    """
    from tqdm.auto import tqdm

    is_tensor = isinstance(X, torch.Tensor)
    Xt = _as_tensor(X)
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    model.to(device)
    outs = []
    for i in tqdm(range(0, len(Xt), batch_size), disable=not verbose, desc="predict"):
        outs.append(_apply_link(model(Xt[i:i + batch_size].to(device)), link).float().cpu())
    model.train(was_training)
    out = torch.cat(outs) if outs else torch.zeros(0)
    return out if is_tensor else out.numpy()


@dataclass
class FitResult:
    """What :func:`fit` returns: the trained model (best weights restored unless
    ``restore_best=False``) and the history."""

    model: nn.Module
    history: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = float("nan")
    monitor: str = "loss"
    stopped_early: bool = False
    seconds: float = 0.0

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.history)

    def save_history(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``history.csv`` and ``history.json`` to ``out_dir`` (atomically)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        keys = list(dict.fromkeys(k for row in self.history for k in row))
        with atomic_path(out_dir / "history.csv") as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)
        write_json(out_dir / "history.json", self.history)
        return out_dir / "history.csv", out_dir / "history.json"


class _MixupHook:
    """Mix a hidden layer's output (manifold mixup) with a permutation of the batch."""

    def __init__(self):
        self.lam, self.perm = 1.0, None

    def __call__(self, module, inputs, output):
        if self.perm is None:
            return output
        return self.lam * output + (1 - self.lam) * output[self.perm]


def _evaluate(model, X, Y, loss_fn, link, metrics, batch_size, device, prefix) -> dict:
    if isinstance(loss_fn, ProfileLoss):
        return evaluate_profile(model, X, Y, loss_fn, batch_size, device, prefix)
    model.eval()
    total, outs = 0.0, []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            xb, yb = X[i:i + batch_size].to(device), Y[i:i + batch_size].to(device)
            out = model(xb)
            total += float(loss_fn(out, yb)) * len(xb)
            outs.append(_apply_link(out, link).float().cpu())
    pred = torch.cat(outs).numpy()
    res = {f"{prefix}loss": total / len(X)}
    res.update(evaluate_predictions(Y.numpy(), pred, metrics, prefix=prefix))
    return res


def resolve_monitor(monitor: str | None, loss: str, has_valid: bool) -> str:
    """The validation metric :func:`fit` monitors (without ``valid_``); ``ValueError`` if
    ``monitor`` does not fit ``loss`` or needs validation data that is missing."""
    metrics = CLASSIFICATION if loss == "bce" else PROFILE_METRICS if loss == "profile" else REGRESSION
    if monitor is None:
        monitor = ("auroc" if loss == "bce" else "pearson") if has_valid and loss != "profile" else "loss"
    monitor = monitor.removeprefix("valid_")
    if monitor != "loss" and monitor not in metrics:
        raise ValueError(f"monitor must be 'loss' or one of {metrics} for loss {loss!r}, "
                         f"got {monitor!r}")
    if monitor != "loss" and not has_valid:
        raise ValueError(f"monitor {monitor!r} needs validation data")
    return monitor


def _settings(args: dict, arrays: tuple) -> dict:
    """The arguments of :func:`fit` that a resumed run must share with the saved one, as JSON
    values, plus a SHA-256 of the training (and validation) data."""
    names = ("loss", "epochs", "batch_size", "lr", "weight_decay", "monitor", "patience",
             "restore_best", "lr_patience", "lr_factor", "min_lr", "clip_grad", "adversarial",
             "noise_std", "augment", "finetune_epochs", "finetune_lr", "mixup", "mixup_layer",
             "rc", "random_state", "counts_weight")
    plain = (int, float, str, bool, type(None))
    out = {k: args[k] if isinstance(args[k], plain) else re.sub(r" at 0x[0-9a-f]+", "",
                                                                 repr(args[k])) for k in names}
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(str(tuple(a.shape)).encode())
        digest.update(np.ascontiguousarray(a.numpy()).data)
    out["data_sha256"] = digest.hexdigest()
    model = args["model"]
    out["model"] = {"type": type(model).__qualname__, "config": getattr(model, "config", None),
                    "shapes": {k: list(v.shape) for k, v in model.state_dict().items()}}
    return plain_json(out)


def fit(model: nn.Module, train, valid=None, *, loss: str = "bce", epochs: int = 100,
        batch_size: int = 128, lr: float = 1e-3, weight_decay: float = 0.0,
        monitor: str | None = None, patience: int | None = 10, restore_best: bool = True,
        lr_patience: int | None = 5,
        lr_factor: float = 0.2, min_lr: float = 1e-6, clip_grad: float | None = None,
        adversarial: AdversarialTraining | None = None, noise_std: float = 0.0,
        augment=None, finetune_epochs: int = 0, finetune_lr: float = 1e-4,
        mixup: float | None = None, mixup_layer: str | None = None, rc: bool = False,
        random_state: int | None = 0, device=None, verbose: bool = False,
        out_dir: str | Path | None = None, checkpoint_dir: str | Path | None = None,
        resume: bool = False, counts_weight: float | None = None) -> FitResult:
    """Train ``model`` in place and return a :class:`FitResult`.

    Parameters
    ----------
    train, valid : ``(X, Y)`` pairs or :class:`seqlens.io.hdf5.Split` objects; ``X`` ``(N, A, L)``,
        ``Y`` ``(N, T)`` (numpy or torch).
    loss : ``"bce"`` (binary / multi-label), ``"mse"``, ``"poisson"`` or ``"profile"`` (profile
        models; ``train``/``valid`` are Splits with ``profile`` counts or ``(X, counts)`` pairs).
    counts_weight : ``"profile"`` only: lambda of the counts MSE (default: half the mean total
        count per track of the training counts, see :mod:`seqlens.train.profile`).
    monitor : validation metric for early stopping, LR schedule and the best weights:
        ``"loss"``, ``"auroc"``, ``"aupr"``, ``"pearson"``, ``"spearman"`` (default ``"auroc"``
        for BCE, ``"pearson"`` otherwise; ``"loss"`` when there is no ``valid``: then the training
        loss is monitored).
    patience : epochs without improvement before stopping (``None``: never stop early).
    restore_best : end each stage with its best weights on ``monitor``; ``False`` keeps the last
        epoch's weights (Keras' ``EarlyStopping`` default).
    lr_patience, lr_factor, min_lr : reduce-on-plateau of the learning rate.
    weight_decay : L2 penalty (Adam's ``weight_decay``).
    clip_grad : clip the gradient norm to this value.
    adversarial : :class:`AdversarialTraining` (PGD/FGSM with its clean/mixed/adversarial
        schedule). Each phase starts best-weight tracking afresh and early stopping acts only in
        the last phase, so the returned weights are adversarially trained.
    noise_std : Gaussian input noise added to each training batch.
    augment : a callable ``(X, generator) -> X`` such as :class:`seqlens.train.augment.EvoAug`.
    finetune_epochs, finetune_lr : second stage on the original data (EvoAug's schedule).
    mixup, mixup_layer : mixup with ``Beta(mixup, mixup)`` weights on the inputs, or on the output
        of the named module (``dict(model.named_modules())`` key) for manifold mixup.
    rc : reverse-complement augmentation: in every batch of every stage each training sequence is
        reverse-complemented with probability 0.5, labels unchanged (for strand-symmetric tasks,
        as ChIP-seq recipes use; DNA/RNA alphabets).
    random_state : seeds shuffling, dropout, augmentation, noise and attacks.
    out_dir : when given, ``history.csv`` and ``history.json`` are written there.
    checkpoint_dir : when given, the resumable state is written there after every epoch (see
        :mod:`seqlens.train.state`): weights, optimizer, scheduler, early stopping, best weights,
        history and RNG states.
    resume : continue from the state in ``checkpoint_dir`` (if there is one) instead of starting
        over; with the same arguments and initial model the result equals an uninterrupted run.
        A state saved with other settings is refused (:class:`TrainingStateError`).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss == "profile":
        if rc or augment is not None:
            raise ValueError("rc and augment move positions but not the profile counts; they are not "
                             "available with loss 'profile'")
        train, valid = profile_pair(train, "train"), profile_pair(valid, "valid")
    Xtr, Ytr = _xy(train, "train")
    val = _xy(valid, "valid")
    if rc and Xtr.shape[1] != 4:
        raise ValueError(f"reverse-complement augmentation needs DNA or RNA one-hot (4 letters), "
                         f"got {Xtr.shape[1]} letters per position")
    metrics = CLASSIFICATION if loss == "bce" else REGRESSION
    monitor = resolve_monitor(monitor, loss, val is not None)
    mode = "min" if monitor == "loss" else "max"
    device = resolve_device(device)
    model.to(device)
    loss_fn = loss_function(loss)
    if loss == "profile":
        loss_fn = ProfileLoss(default_counts_weight(Ytr) if counts_weight is None else counts_weight)
    link = LINKS[loss]
    mix_module = None
    if mixup_layer is not None:
        modules = dict(model.named_modules())
        if mixup_layer not in modules:
            raise ValueError(f"mixup_layer {mixup_layer!r} not in the model; choose from "
                             f"{[k for k in modules if k][:20]}")
        mix_module = modules[mixup_layer]
    seed = 0 if random_state is None else int(random_state)
    flip = RandomRC(0.5) if rc else None
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    result = FitResult(model=model, monitor=f"valid_{monitor}" if val is not None else "train_loss")
    stages = [("train", epochs, lr, True)]
    if finetune_epochs > 0:
        stages.append(("finetune", finetune_epochs, finetune_lr, False))
    settings = None
    if checkpoint_dir is not None:
        settings = _settings(locals(), (Xtr, Ytr) + (val or ()))
    resumed = load_state(checkpoint_dir, settings) if (checkpoint_dir and resume) else None
    start = time.perf_counter()
    with torch.random.fork_rng(devices=rng_devices):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        np_rng = np.random.default_rng(seed)
        best_state, best, epoch_global, waited = None, math.nan, 0, 0
        first_stage, first_epoch, seconds_before = 0, 0, 0.0
        if resumed is not None:
            info, tensors = resumed
            model.load_state_dict(tensors["model"])
            best_state = tensors["best_model"]
            best, waited, epoch_global = info["best"], info["waited"], info["epoch"]
            first_stage, first_epoch = info["stage"], info["stage_epoch"]
            result.history, result.best_epoch = info["history"], info["best_epoch"]
            result.stopped_early, seconds_before = info["stopped_early"], info["seconds"]
            torch.set_rng_state(tensors["rng_torch"])
            gen.set_state(tensors["rng_generator"])
            np_rng.bit_generator.state = info["numpy_rng"]
            if rng_devices and tensors.get("rng_cuda") is not None:
                torch.cuda.set_rng_state(tensors["rng_cuda"], device)
        hook = _MixupHook() if mixup else None
        handle = mix_module.register_forward_hook(hook) if (hook and mix_module) else None
        pbar = None
        try:
            from tqdm.auto import tqdm

            pbar = tqdm(total=epochs + max(finetune_epochs, 0), initial=epoch_global,
                        disable=not verbose, desc="train")
            for s, (stage, n_epochs, stage_lr, robust) in enumerate(stages):
                if s < first_stage:
                    continue  # finished before the resumed state was saved
                opt = torch.optim.Adam(model.parameters(), lr=stage_lr, weight_decay=weight_decay)
                sched = None
                if lr_patience is not None:
                    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                        opt, mode=mode, factor=lr_factor, patience=lr_patience, min_lr=min_lr)
                if resumed is not None and s == first_stage:
                    opt.load_state_dict(tensors["optimizer"])
                    if sched is not None:
                        sched.load_state_dict(tensors["scheduler"])
                    start_epoch = first_epoch
                else:
                    waited, start_epoch = 0, 0
                for epoch in range(start_epoch, n_epochs):
                    t0 = time.perf_counter()
                    phase = adversarial.phase(epoch) if (adversarial and robust) else "clean"
                    if adversarial and robust and epoch > 0 and phase != adversarial.phase(epoch - 1):
                        # a new phase of the schedule: best weights and patience start afresh, so
                        # the restored weights come from the final (adversarial) phase
                        best_state, best, waited = None, math.nan, 0
                    final_phase = not (adversarial and robust) or phase == adversarial.phase(10**12)
                    model.train()
                    order = torch.randperm(len(Xtr), generator=gen)
                    total, seen = 0.0, 0
                    for i in range(0, len(Xtr), batch_size):
                        idx = order[i:i + batch_size]
                        xb, yb = Xtr[idx], Ytr[idx]
                        if len(xb) < 2 and any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                                               for m in model.modules()):
                            continue  # BatchNorm cannot train on a batch of one
                        if flip is not None:
                            xb = flip(xb, gen)
                        if robust and augment is not None:
                            xb = augment(xb, gen)
                        if robust and noise_std > 0:
                            xb = xb + noise_std * torch.randn(xb.shape, generator=gen)
                        xb, yb = xb.to(device), yb.to(device)
                        if mixup and robust:
                            lam = float(np_rng.beta(mixup, mixup))
                            perm = torch.randperm(len(xb), generator=gen).to(device)
                            yb = lam * yb + (1 - lam) * yb[perm]
                            if mix_module is None:
                                xb = lam * xb + (1 - lam) * xb[perm]
                            else:
                                hook.lam, hook.perm = lam, perm
                        if phase != "clean":
                            model.eval()
                            if hook:
                                saved, hook.perm = hook.perm, None
                            x_adv = adversarial.attack(model, xb, yb, loss_fn, generator=gen)
                            if hook:
                                hook.perm = saved
                            model.train()
                        opt.zero_grad(set_to_none=True)
                        if phase == "adversarial":
                            batch_loss = loss_fn(model(x_adv), yb)
                        elif phase == "mixed":
                            batch_loss = 0.5 * (loss_fn(model(xb), yb) + loss_fn(model(x_adv), yb))
                        else:
                            batch_loss = loss_fn(model(xb), yb)
                        if hook:
                            hook.perm = None
                        batch_loss.backward()
                        if clip_grad is not None:
                            nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                        opt.step()
                        total += float(batch_loss.detach()) * len(xb)
                        seen += len(xb)
                    row = {"epoch": epoch_global + 1, "stage": stage, "phase": phase,
                           "lr": opt.param_groups[0]["lr"],
                           "train_loss": total / max(seen, 1)}
                    if val is not None:
                        row.update(_evaluate(model, *val, loss_fn, link, metrics,
                                             max(batch_size, 256), device, "valid_"))
                        score = row[f"valid_{monitor}"]
                    else:
                        score = row["train_loss"]
                    row["seconds"] = time.perf_counter() - t0
                    result.history.append(row)
                    epoch_global += 1
                    if pbar is not None:
                        pbar.update(1)
                        pbar.set_postfix(train_loss=f"{row['train_loss']:.4f}",
                                         **{monitor: f"{score:.4f}"})
                    improved = not math.isnan(score) and (
                        math.isnan(best) or (score < best if mode == "min" else score > best))
                    if improved:
                        best, waited = score, 0
                        best_state = copy.deepcopy(model.state_dict())
                        result.best_epoch = epoch_global
                    else:
                        waited += 1
                    if sched is not None and not math.isnan(score):
                        sched.step(score)
                    stop = patience is not None and waited >= patience and final_phase
                    result.stopped_early = result.stopped_early or stop
                    if checkpoint_dir is not None:
                        save_state(checkpoint_dir, {
                            "epoch": epoch_global, "stage": s,
                            "stage_epoch": n_epochs if stop else epoch + 1, "best": best,
                            "waited": waited, "best_epoch": result.best_epoch,
                            "stopped_early": result.stopped_early, "history": result.history,
                            "seconds": seconds_before + time.perf_counter() - start,
                            "numpy_rng": np_rng.bit_generator.state, "settings": settings,
                        }, {
                            "model": model.state_dict(), "best_model": best_state,
                            "optimizer": opt.state_dict(),
                            "scheduler": sched.state_dict() if sched is not None else None,
                            "rng_torch": torch.get_rng_state(), "rng_generator": gen.get_state(),
                            "rng_cuda": torch.cuda.get_rng_state(device) if rng_devices else None,
                        })
                    if stop:
                        break
                if restore_best and best_state is not None:
                    model.load_state_dict(best_state)
        finally:
            if handle is not None:
                handle.remove()
            if pbar is not None:
                pbar.close()
    result.best_score = best
    result.seconds = seconds_before + time.perf_counter() - start
    model.eval()
    if out_dir is not None:
        result.save_history(out_dir)
    return result


def evaluate(model: nn.Module, data, loss: str = "bce", batch_size: int = 256, device=None,
             prefix: str = "test_", per_task: bool = False, counts_weight: float = 1.0) -> dict:
    """Flat metrics of ``model`` on ``data`` (``(X, Y)`` or a Split): ``{prefix}loss`` plus AUROC
    and AUPR (BCE) or Pearson and Spearman (MSE/Poisson), mean over tasks (and per task); for
    ``"profile"`` the metrics of :func:`seqlens.train.profile.profile_metrics` (``counts_weight``:
    the lambda of the reported loss)."""
    X, Y = _xy(profile_pair(data, "data") if loss == "profile" else data, "data")
    device = resolve_device(device)
    model.to(device)
    loss_fn = ProfileLoss(counts_weight) if loss == "profile" else loss_function(loss)
    res = _evaluate(model, X, Y, loss_fn, LINKS[loss],
                    CLASSIFICATION if loss == "bce" else REGRESSION, batch_size, device, prefix)
    if per_task and loss != "profile":
        pred = predict(model, X, batch_size, device, LINKS[loss])
        res.update(evaluate_predictions(Y.numpy(), pred,
                                        CLASSIFICATION if loss == "bce" else REGRESSION,
                                        prefix=prefix, per_task=True))
    return res
