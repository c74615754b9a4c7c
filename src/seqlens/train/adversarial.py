"""Adversarial examples on one-hot inputs and the adversarial-training schedule.

:func:`pgd` and :func:`fgsm` perturb ``X`` ``(N, A, L)`` to increase the loss, staying in the
L-inf box ``|X_adv - X| <= epsilon`` (and, when ``clip`` is given, in the value range, e.g.
``(0, 1)``). The model's train/eval mode is left as it is; gradients of the parameters are not
touched.

:class:`AdversarialTraining` holds the settings and the schedule: ``warmup_epochs`` clean epochs,
then ``mixed_epochs`` epochs on clean + adversarial batches (the loss is the mean of both), then
adversarial batches only. :func:`published_pgd` is the Koo lab's recipe (Koo et al. 2019,
p-koo/robustness with tfomics ``fit_robust``/``PGDAttack``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def _loss_grad(model, loss_fn, X, Y):
    X = X.detach().requires_grad_(True)
    loss = loss_fn(model(X), Y)
    (grad,) = torch.autograd.grad(loss, X)
    return grad


def fgsm(model, X: torch.Tensor, Y: torch.Tensor, loss_fn, epsilon: float = 0.1,
         clip: tuple[float, float] | None = None) -> torch.Tensor:
    """Fast gradient sign method: ``X + epsilon * sign(grad_X loss)``; returns ``(N, A, L)``."""
    X_adv = X.detach() + epsilon * _loss_grad(model, loss_fn, X, Y).sign()
    if clip is not None:
        X_adv = X_adv.clamp(*clip)
    return X_adv.detach()


def pgd(model, X: torch.Tensor, Y: torch.Tensor, loss_fn, epsilon: float = 0.1,
        step_size: float | None = None, steps: int = 10, random_start: bool = True,
        clip: tuple[float, float] | None = None,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Projected gradient ascent in the L-inf box of radius ``epsilon`` around ``X``.

    ``step_size`` defaults to ``2.5 * epsilon / steps``; ``random_start`` starts from a uniform
    point of the box. Returns ``X_adv`` ``(N, A, L)`` (detached).
    """
    X = X.detach()
    step = step_size if step_size is not None else 2.5 * epsilon / max(steps, 1)
    if random_start:
        noise = torch.rand(X.shape, generator=generator).to(X.device, X.dtype)
        X_adv = X + (2 * noise - 1) * epsilon
    else:
        X_adv = X.clone()
    for _ in range(steps):
        X_adv = X_adv + step * _loss_grad(model, loss_fn, X_adv, Y).sign()
        X_adv = torch.max(torch.min(X_adv, X + epsilon), X - epsilon)
        if clip is not None:
            X_adv = X_adv.clamp(*clip)
    return X_adv.detach()


@dataclass
class AdversarialTraining:
    """Settings of adversarial training.

    method : ``"pgd"`` or ``"fgsm"``.
    epsilon, step_size, steps, clip, random_start : see :func:`pgd`.
    warmup_epochs : clean epochs first; mixed_epochs : then clean + adversarial; then adversarial.
    """

    method: str = "pgd"
    epsilon: float = 0.1
    step_size: float | None = None
    steps: int = 10
    warmup_epochs: int = 0
    mixed_epochs: int = 10**9
    clip: tuple[float, float] | None = None
    random_start: bool = True

    def __post_init__(self):
        if self.method not in ("pgd", "fgsm"):
            raise ValueError(f"method must be 'pgd' or 'fgsm', got {self.method!r}")
        if self.epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon}")

    def phase(self, epoch: int) -> str:
        """``"clean"``, ``"mixed"`` or ``"adversarial"`` for 0-based ``epoch``."""
        if epoch < self.warmup_epochs:
            return "clean"
        if epoch < self.warmup_epochs + self.mixed_epochs:
            return "mixed"
        return "adversarial"

    def attack(self, model, X, Y, loss_fn, generator=None) -> torch.Tensor:
        if self.method == "fgsm":
            return fgsm(model, X, Y, loss_fn, self.epsilon, self.clip)
        return pgd(model, X, Y, loss_fn, self.epsilon, self.step_size, self.steps,
                   random_start=self.random_start, clip=self.clip, generator=generator)


def published_pgd(epsilon: float = 0.05) -> AdversarialTraining:
    """The Koo lab's PGD adversarial training (Koo et al. 2019, bioRxiv 657437; p-koo/robustness
    ``synthetic_cnn_robust_train.py`` with tfomics ``PGDAttack`` and ``fit_robust``).

    PGD on the training loss from the one-hot input itself (no random start), 20 steps of
    ``epsilon / 5`` (0.01 at the published ``epsilon`` 0.05) times the gradient sign, projected on the
    L-inf box of radius ``epsilon`` around the one-hot input and nowhere else (no clip to [0, 1]).
    Schedule: ``fit_robust(clean_epoch=10, mix_epoch=25, es_start_epoch=25)`` trains 10 clean epochs,
    then counts ``mix_epoch`` and ``es_start_epoch`` from 0 in its robust loop, so epochs 0-9 are
    clean, 10-34 clean + adversarial and 35 on adversarial only, with early stopping from epoch 35
    (0-based; :func:`seqlens.train.fit` stops early only in the last phase).
    """
    return AdversarialTraining("pgd", epsilon=epsilon, step_size=epsilon / 5, steps=20,
                               warmup_epochs=10, mixed_epochs=25, random_start=False)
