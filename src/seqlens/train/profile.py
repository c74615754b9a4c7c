"""Training and scoring profile models (BPNet-style): the multinomial profile loss plus counts MSE.

A profile model returns ``(profile_logits (N, S, L_out), log_counts (N, S))`` for ``S`` tracks
(e.g. the two strands of a stranded assay); its targets are the raw counts ``(N, S, L_out)`` (the
``profile_<split>`` arrays of :mod:`seqlens.io.hdf5`). The loss (BPNet's, Avsec et al. 2021) is

``loss = mean over (sequence, track) of multinomial NLL(counts | total, softmax(logits))
+ lambda * mean over (sequence, track) of (log_counts - log(1 + total))**2``

The multinomial NLL is the full negative log-likelihood (with the ``log n! - sum log k!`` terms),
so it is >= 0. Its gradient grows with the total count ``n`` while the MSE's does not; ``lambda``
(``counts_weight``) balances them. Default: half the mean total count per track of the training
data, the rule of thumb of the BPNet paper.

Metrics (:func:`profile_metrics`): ``profile_pearson`` (Pearson of predicted probabilities and
observed counts over positions, mean over sequences and tracks with counts), ``profile_jsd``
(Jensen-Shannon distance, base 2, in [0, 1], between predicted and observed shapes, same mean),
``counts_pearson`` and ``counts_spearman`` (predicted vs observed ``log(1 + total)`` over
sequences, mean over tracks), ``profile_nll`` and ``counts_mse``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqlens.train.metrics import _nanmean, pearson, spearman

PROFILE_METRICS = ("profile_pearson", "counts_pearson", "counts_spearman")  # higher is better


def multinomial_nll(logits: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``(N, S)`` negative log-likelihood of ``counts`` ``(N, S, L)`` under the multinomial with the
    observed totals and probabilities ``softmax(logits)`` over positions."""
    log_p = torch.log_softmax(logits, dim=-1)
    total = counts.sum(-1)
    log_coef = torch.lgamma(total + 1) - torch.lgamma(counts + 1).sum(-1)
    return -(log_coef + (counts * log_p).sum(-1))


def default_counts_weight(counts) -> float:
    """BPNet's lambda: half the mean total count per track over ``counts`` ``(N, S, L)``
    (at least 1)."""
    counts = counts.detach() if isinstance(counts, torch.Tensor) else torch.as_tensor(np.asarray(counts))
    return max(float(counts.double().sum(-1).mean()) / 2.0, 1.0)


class ProfileLoss(nn.Module):
    """``multinomial NLL + counts_weight * MSE(log counts)``, both averaged over sequences and
    tracks; ``forward((profile_logits, log_counts), counts)`` with ``counts`` ``(N, S, L_out)``."""

    def __init__(self, counts_weight: float = 1.0):
        super().__init__()
        if not counts_weight >= 0:
            raise ValueError(f"counts_weight must be >= 0, got {counts_weight!r}")
        self.counts_weight = float(counts_weight)

    def forward(self, output, counts: torch.Tensor) -> torch.Tensor:
        logits, log_counts = _heads(output)
        if logits.shape != counts.shape:
            raise ValueError(f"profile logits {tuple(logits.shape)} and counts {tuple(counts.shape)} "
                             "differ in shape")
        nll = multinomial_nll(logits, counts).mean()
        mse = ((log_counts - torch.log1p(counts.sum(-1))) ** 2).mean()
        return nll + self.counts_weight * mse

    def extra_repr(self) -> str:
        return f"counts_weight={self.counts_weight:g}"


def _heads(output):
    if not (isinstance(output, (tuple, list)) and len(output) == 2):
        raise ValueError("a profile model must return (profile_logits, log_counts); got "
                         f"{type(output).__name__}")
    return output


def profile_pair(data, name: str):
    """``(X, counts)`` of a :class:`seqlens.io.hdf5.Split` with a ``profile`` (or an ``(X, counts)``
    pair, returned as it is); ``None`` stays ``None``."""
    if data is None or isinstance(data, (tuple, list)):
        return data
    profile = getattr(data, "profile", None)
    if profile is None:
        raise ValueError(f"{name}: loss 'profile' needs profile counts (the profile_<split> arrays of a "
                         "profile dataset)")
    return data.X, profile


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2) between distributions along the last axis."""
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, a * np.log2(a / np.where(b > 0, b, 1)), 0.0).sum(-1)

    return np.sqrt(np.clip((kl(p, m) + kl(q, m)) / 2, 0.0, 1.0))


def profile_metrics(logits, log_counts, counts, prefix: str = "") -> dict:
    """Flat metrics (see module doc) of predictions ``logits`` ``(N, S, L)`` and ``log_counts``
    ``(N, S)`` against observed ``counts`` ``(N, S, L)`` (numpy or torch)."""
    logits, log_counts, counts = (np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a,
                                             dtype=np.float64) for a in (logits, log_counts, counts))
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    total = counts.sum(-1)
    has = total > 0
    obs = counts / np.where(has, total, 1)[..., None]
    # Pearson over positions of every (sequence, track) at once
    pc, oc = probs - probs.mean(-1, keepdims=True), obs - obs.mean(-1, keepdims=True)
    denom = np.sqrt((pc ** 2).sum(-1) * (oc ** 2).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(has & (denom > 0), (pc * oc).sum(-1) / np.where(denom > 0, denom, 1), np.nan)
    jsd = np.where(has, jensen_shannon(probs, obs), np.nan)
    nll = multinomial_nll(torch.as_tensor(logits), torch.as_tensor(counts)).numpy()
    observed = np.log1p(total)
    return {
        f"{prefix}profile_pearson": _nanmean(r),
        f"{prefix}profile_jsd": _nanmean(jsd),
        f"{prefix}counts_pearson": _nanmean(pearson(observed, log_counts)),
        f"{prefix}counts_spearman": _nanmean(spearman(observed, log_counts)),
        f"{prefix}profile_nll": float(nll.mean()),
        f"{prefix}counts_mse": float(((log_counts - observed) ** 2).mean()),
    }


@torch.no_grad()
def evaluate_profile(model: nn.Module, X: torch.Tensor, counts: torch.Tensor, loss_fn: nn.Module,
                     batch_size: int, device, prefix: str) -> dict:
    """``{prefix}loss`` and :func:`profile_metrics` of ``model`` (eval mode) on ``X`` ``(N, A, L)``
    and ``counts`` ``(N, S, L_out)`` tensors."""
    model.eval()
    total, logits, log_counts = 0.0, [], []
    for i in range(0, len(X), batch_size):
        xb, yb = X[i:i + batch_size].to(device), counts[i:i + batch_size].to(device)
        out = model(xb)
        total += float(loss_fn(out, yb)) * len(xb)
        lg, lc = _heads(out)
        logits.append(lg.float().cpu())
        log_counts.append(lc.float().cpu())
    res = {f"{prefix}loss": total / len(X)}
    res.update(profile_metrics(torch.cat(logits), torch.cat(log_counts), counts, prefix=prefix))
    return res
