"""Base class of the zoo and helpers that work on any ``nn.Module``.

Every zoo model takes one-hot ``(N, A, L)`` float32 input and returns raw outputs ``(N, T)``
(logits for classification, values or log-rates for regression); losses and ``predict`` apply
the output link. Every zoo model exposes its first layer for interpretation:

* ``model.conv1``: the first ``nn.Conv1d`` (filters ``model.conv1.weight``, ``(F, A, K)``);
* ``model.activation1``: its activation module;
* ``model.first_layer_activations(X, pooled=False)``: ``(N, F, L1)`` activations after
  conv (+ BatchNorm) + activation, or after the first max-pool with ``pooled=True``
  (:func:`first_layer_activations` does the same batch-wise for any module).

:func:`first_layer` returns ``(conv, activation)`` for zoo models and the first ``Conv1d`` (with
activation ``None``) for any other module.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class ZooModel(nn.Module):
    """Base class: keeps the JSON-able ``config`` that rebuilds the model with ``build_model``."""

    name = "zoo"

    def __init__(self, config: dict):
        super().__init__()
        self._config = {"name": self.name, **copy.deepcopy(config)}

    @property
    def config(self) -> dict:
        """JSON-able dict; ``build_model(model.config)`` rebuilds an untrained copy."""
        return copy.deepcopy(self._config)

    # subclasses set self.conv1, self.bn1 (or None), self.activation1, self.pool1
    def first_layer_activations(self, X: torch.Tensor, pooled: bool = False) -> torch.Tensor:
        """``(N, F, L)`` first-layer activations (after the first pool when ``pooled``)."""
        h = self.conv1(X)
        if getattr(self, "bn1", None) is not None:
            h = self.bn1(h)
        h = self.activation1(h)
        if pooled and getattr(self, "pool1", None) is not None:
            h = self.pool1(h)
        return h


def first_layer(model: nn.Module) -> tuple[nn.Conv1d, nn.Module | None]:
    """``(conv, activation)`` of the first layer: ``model.conv1``/``model.activation1`` for zoo
    models, else the first ``nn.Conv1d`` in ``model.modules()`` and ``None``."""
    if isinstance(getattr(model, "conv1", None), nn.Conv1d):
        return model.conv1, getattr(model, "activation1", None)
    for module in model.modules():
        if isinstance(module, nn.Conv1d):
            return module, None
    raise ValueError(f"{type(model).__name__} has no nn.Conv1d layer")


def first_layer_activations(model: nn.Module, X: torch.Tensor, pooled: bool = False,
                            batch_size: int = 256) -> torch.Tensor:
    """``(N, F, L1)`` first-layer activations of any model, without gradients, in eval mode.

    Zoo models use their own ``first_layer_activations``; for other modules the output of the
    first ``nn.Conv1d`` is captured with a forward hook (pre-activation; ``pooled`` is ignored).
    """
    was_training = model.training
    model.eval()
    outs: list[torch.Tensor] = []
    handle = None
    if not isinstance(model, ZooModel):
        conv, _ = first_layer(model)
        handle = conv.register_forward_hook(lambda m, inp, out: outs.append(out))
    try:
        with torch.no_grad():
            for i in range(0, len(X), batch_size):
                xb = X[i:i + batch_size]
                if handle is None:
                    outs.append(model.first_layer_activations(xb, pooled=pooled))
                else:
                    model(xb)
    finally:
        if handle is not None:
            handle.remove()
        model.train(was_training)
    return torch.cat(outs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def resolve_device(device=None) -> torch.device:
    """``None`` -> CUDA when available, else CPU; strings and devices pass through."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
