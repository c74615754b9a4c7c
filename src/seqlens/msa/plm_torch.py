"""The torch path of the Potts pseudo-likelihood (CUDA, Adam, factored attention): embedding-bag
logits and their autograd gradient.

``logits[n] = h + sum_j J[(j, x_nj), :]`` is an embedding-bag sum (N L^2 q work instead of the
dense N (Lq)^2 product); the gradient for J is the transposed bag sum (rows of the logit gradient
grouped by observed state), also an embedding bag. The optimiser sees each pair block ``J_ij``,
``i < j``, once (packed float32 vector, L(L-1)/2 q^2 values); the symmetric ``(L q + 1, L q)``
matrix with zero diagonal blocks (and a zero pad row for ignored gaps) is built from it for every
evaluation. Imported only where torch is used: a CPU L-BFGS fit (:mod:`seqlens.msa.plm_cpu`)
never loads torch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


class _BagSum(torch.autograd.Function):
    """``out[n] = sum_l W[idx[n, l]]`` with a fast transposed-bag backward for ``W``."""

    @staticmethod
    def forward(ctx, W, idx, pad, seq_ids, offsets):
        ctx.save_for_backward(seq_ids, offsets)
        ctx.shape = W.shape
        return F.embedding_bag(idx, W, mode="sum", padding_idx=pad)

    @staticmethod
    def backward(ctx, grad):
        seq_ids, offsets = ctx.saved_tensors
        # offsets has one (empty) bag per row of W, the pad row included: output is W-shaped
        return F.embedding_bag(seq_ids, grad.contiguous(), offsets, mode="sum"), None, None, None, None


class PseudoLikelihood:
    """Weighted negative pseudo-log-likelihood of coded sequences (no regulariser).

    ``X`` ``(N, L)`` integer states in ``[0, Q)``, or ``Q`` for a missing (ignored) position;
    ``w`` ``(N,)`` weights. Call with ``h`` ``(L, Q)`` and ``J`` ``(L Q + 1, L Q)`` (last row is a
    zero pad) to get the scalar loss; batches of ``batch_size`` sequences.
    """

    def __init__(self, X: torch.Tensor, w: torch.Tensor, Q: int, batch_size: int | None = None):
        self.N, self.L = X.shape
        self.Q = Q
        self.pad = self.L * Q
        self.w = w
        self.batches = []
        bs = batch_size or self.N
        for start in range(0, self.N, bs):
            Xb = X[start:start + bs]
            missing = Xb >= Q
            idx = torch.arange(self.L, device=X.device) * Q + Xb.clamp(max=Q - 1)
            idx = torch.where(missing, torch.full_like(idx, self.pad), idx)
            flat = idx.reshape(-1)
            order = torch.argsort(flat, stable=True)
            keep = flat[order] < self.pad
            seq_ids = (order // self.L)[keep]
            counts = torch.bincount(flat, minlength=self.pad + 1)
            counts[self.pad] = 0  # the pad row's bag is empty
            offsets = torch.cat([counts.new_zeros(1), counts.cumsum(0)[:-1]])
            self.batches.append((start, idx, Xb.clamp(max=Q - 1), (~missing).to(w.dtype),
                                 seq_ids, offsets))

    def logits(self, h, J, batch) -> torch.Tensor:
        _, idx, _, _, seq_ids, offsets = batch
        n = idx.shape[0]
        return (_BagSum.apply(J, idx, self.pad, seq_ids, offsets).view(n, self.L, self.Q) + h)

    def batch_loss(self, h, J, batch) -> torch.Tensor:
        start, idx, Xc, present, _, _ = batch
        logp = torch.log_softmax(self.logits(h, J, batch), dim=-1)
        picked = logp.gather(2, Xc.unsqueeze(-1)).squeeze(-1)
        wb = self.w[start:start + idx.shape[0]]
        return -(picked * present * wb[:, None]).sum()

    def per_sequence(self, h, J) -> torch.Tensor:
        """``(N,)`` pseudo-log-likelihood of each sequence (unweighted, higher = better)."""
        out = []
        for batch in self.batches:
            _, _, Xc, present, _, _ = batch
            logp = torch.log_softmax(self.logits(h, J, batch), dim=-1)
            out.append((logp.gather(2, Xc.unsqueeze(-1)).squeeze(-1) * present).sum(1))
        return torch.cat(out)


def pair_index(L: int, Q: int | None = None, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Site pairs ``(ii, jj)``, ``i < j``, in the order the packed parameters store them
    (``theta.view(P, Q, Q)[k]`` is the block ``J_{ii[k] jj[k]}``)."""
    ii, jj = np.triu_indices(L, 1)
    return torch.from_numpy(ii).to(device), torch.from_numpy(jj).to(device)


def build_couplings(theta: torch.Tensor, index: tuple[torch.Tensor, torch.Tensor], L: int, Q: int,
                    out: torch.Tensor | None = None) -> torch.Tensor:
    """Packed pair parameters ``(P Q^2,)`` (``P = L(L-1)/2`` blocks, each ``J_ij(a, b)`` once)
    -> symmetric ``(L Q + 1, L Q)`` matrix with zero diagonal blocks and a zero pad row.

    Not differentiable (see :func:`objective` for the gradient); ``out`` is reused when given.
    """
    ii, jj = index
    with torch.no_grad():
        blocks = theta.detach().view(-1, Q, Q)
        if out is None:
            out = theta.new_zeros(L * Q + 1, L * Q)
        J4 = out[: L * Q].view(L, Q, L, Q)
        J4[ii, :, jj, :] = blocks
        J4[jj, :, ii, :] = blocks.transpose(1, 2)
    return out


def objective(pl: PseudoLikelihood, h: torch.Tensor, theta: torch.Tensor,
              index: tuple[torch.Tensor, torch.Tensor], lambda_h: float, lambda_J: float,
              buffer: torch.Tensor | None = None) -> torch.Tensor:
    """Regularised negative pseudo-log-likelihood; sets ``h.grad`` and ``theta.grad``.

    ``theta`` holds each pair block ``J_ij``, ``i < j``, once (see :func:`pair_index`); its
    gradient is ``G_ij + G_ji^T`` where ``G`` is the gradient with respect to the full matrix.
    Penalty: ``lambda_h ||h||^2 + lambda_J sum_{i<j} ||J_ij||^2``. ``buffer`` (``(L Q + 1, L Q)``,
    reused between calls) avoids re-allocating the full coupling matrix.
    """
    L, Q = h.shape
    ii, jj = index
    J = build_couplings(theta, index, L, Q, out=buffer)
    J.requires_grad_(True)
    J.grad = None
    if h.grad is not None:
        h.grad.zero_()
    total = 0.0
    for batch in pl.batches:
        loss = pl.batch_loss(h, J, batch)
        loss.backward()
        total += float(loss.detach())
    with torch.no_grad():
        G4 = J.grad[: L * Q].view(L, Q, L, Q)
        gt = G4[ii, :, jj, :]
        gt += G4[jj, :, ii, :].transpose(1, 2)
        J.grad = None
        J.requires_grad_(False)
        theta.grad = gt.reshape(-1)
        del G4
        reg = lambda_h * float((h * h).sum()) + lambda_J * float((theta * theta).sum())
        h.grad.add_(h, alpha=2 * lambda_h)
        theta.grad.add_(theta, alpha=2 * lambda_J)
    return torch.tensor(total + reg, dtype=torch.float64)
