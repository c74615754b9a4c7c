"""Activations and building blocks shared by the zoo.

All layers act on ``(N, C, L)`` tensors (Conv1d order) unless stated otherwise.

Exponential activation and float32 overflow
--------------------------------------------
``exp(x)`` overflows float32 for ``x > 88.7``. :class:`Exponential` clamps the pre-activation at
``max_value`` (default 40, so outputs stay below ``exp(40) ~ 2.4e17``, leaving a factor of 1e21
of head-room for the sums of the next layer) before exponentiating. Inside the clamp the gradient
is the exact ``exp(x)``; above it the gradient is zero, as for any clamp. The same clamp guards
``exp_relu``.

The "modified" activations follow the exponential-activation paper (Koo & Ploenzke 2021, Nature
Machine Intelligence): they shift and/or scale a classic activation so that it is near zero for
most inputs and rises steeply for large ones, like the exponential:

* ``shift_relu``: ``relu(x - 0.2)``; ``scale_relu``: ``relu(x ** 3)``;
  ``shift_scale_relu``: ``relu((x - 0.2) ** 3)``
* ``shift_tanh``: ``tanh(x - 6)``; ``scale_tanh``: ``500 tanh(x) + 500``;
  ``shift_scale_tanh``: ``500 tanh(x - 6) + 500``
* ``shift_sigmoid``: ``sigmoid(x - 8)``; ``scale_sigmoid``: ``4000 sigmoid(x)``;
  ``shift_scale_sigmoid``: ``4000 sigmoid(x - 8)``
* ``exp_relu``: ``relu(exp(0.1 x) - 1)``
"""

from __future__ import annotations

import torch
from torch import nn

EXP_CLAMP = 40.0


class Exponential(nn.Module):
    """``exp(min(x, max_value))``: the exponential activation, safe in float32 (see module doc)."""

    def __init__(self, max_value: float = EXP_CLAMP):
        super().__init__()
        self.max_value = float(max_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(torch.clamp(x, max=self.max_value))

    def extra_repr(self) -> str:
        return f"max_value={self.max_value}"


class ShiftScale(nn.Module):
    """``scale * f((x - shift) ** power) + offset`` for a base activation ``f``.

    ``base`` is one of ``"relu"``, ``"tanh"``, ``"sigmoid"``; this covers the modified
    activations of the exponential-activation paper.
    """

    _BASES = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}

    def __init__(self, base: str, shift: float = 0.0, scale: float = 1.0, offset: float = 0.0,
                 power: int = 1):
        super().__init__()
        if base not in self._BASES:
            raise ValueError(f"base must be one of {list(self._BASES)}, got {base!r}")
        self.base, self.shift, self.scale, self.offset, self.power = base, shift, scale, offset, power

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x - self.shift
        if self.power != 1:
            z = z ** self.power
        return self.scale * self._BASES[self.base](z) + self.offset

    def extra_repr(self) -> str:
        return (f"base={self.base}, shift={self.shift}, scale={self.scale}, offset={self.offset}, "
                f"power={self.power}")


class ExpReLU(nn.Module):
    """``relu(exp(0.1 x) - 1)`` with the pre-activation clamped like :class:`Exponential`."""

    def __init__(self, rate: float = 0.1, max_value: float = EXP_CLAMP):
        super().__init__()
        self.rate, self.max_value = rate, max_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.exp(torch.clamp(self.rate * x, max=self.max_value)) - 1.0)


def _factories() -> dict:
    return {
        "relu": nn.ReLU,
        "exponential": Exponential,
        "exp": Exponential,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "softplus": nn.Softplus,
        "linear": nn.Identity,
        "elu": nn.ELU,
        "gelu": nn.GELU,
        "shift_relu": lambda: ShiftScale("relu", shift=0.2),
        "scale_relu": lambda: ShiftScale("relu", power=3),
        "shift_scale_relu": lambda: ShiftScale("relu", shift=0.2, power=3),
        "shift_tanh": lambda: ShiftScale("tanh", shift=6.0),
        "scale_tanh": lambda: ShiftScale("tanh", scale=500.0, offset=500.0),
        "shift_scale_tanh": lambda: ShiftScale("tanh", shift=6.0, scale=500.0, offset=500.0),
        "shift_sigmoid": lambda: ShiftScale("sigmoid", shift=8.0),
        "scale_sigmoid": lambda: ShiftScale("sigmoid", scale=4000.0),
        "shift_scale_sigmoid": lambda: ShiftScale("sigmoid", shift=8.0, scale=4000.0),
        "exp_relu": ExpReLU,
    }


ACTIVATIONS = tuple(k for k in _factories() if k != "exp")


def get_activation(name: str) -> nn.Module:
    """A fresh activation module by name (see :data:`ACTIVATIONS`; case and ``-`` ignored)."""
    key = str(name).lower().replace("-", "_")
    factories = _factories()
    if key not in factories:
        raise ValueError(f"unknown activation {name!r}; choose one of {list(ACTIVATIONS)}")
    return factories[key]()


class Residual(nn.Module):
    """``x + block(x)``."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def conv_out_length(length: int, kernel: int, padding: str | int = "same", pool: int = 1) -> int:
    """Length after a stride-1 conv with ``padding`` and a max-pool of ``pool`` (floor)."""
    if padding == "same":
        out = length
    elif padding == "valid":
        out = length - kernel + 1
    else:
        out = length + 2 * int(padding) - kernel + 1
    return out // pool if pool > 1 else out
