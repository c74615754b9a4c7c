"""A configurable CNN covering the design-principle families, and the published presets.

Layout: ``conv1 -> [BN] -> activation -> max-pool -> dropout`` then conv blocks (each
``conv -> [BN] -> act -> pool -> dropout``), flatten (or global pooling), dense layers
(``linear -> [BN] -> relu -> dropout``) and a linear output ``(N, n_outputs)``.
BatchNorm sits before the activation. Convolutions use ``"same"`` padding by default.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlens.models.base import ZooModel
from seqlens.models.layers import get_activation


def _conv_stage(in_ch, filters, kernel, padding, dilation, batch_norm, activation):
    conv = nn.Conv1d(in_ch, filters, kernel, padding=padding, dilation=dilation,
                     bias=not batch_norm)
    bn = nn.BatchNorm1d(filters) if batch_norm else None
    return conv, bn, get_activation(activation)


class CNN(ZooModel):
    """Configurable CNN.

    Parameters
    ----------
    seq_length, in_channels, n_outputs : input ``(N, in_channels, seq_length)``, output
        ``(N, n_outputs)``.
    filters, kernel_size, activation, pool, dropout : the first layer (``activation`` is any name
        of :data:`seqlens.models.layers.ACTIVATIONS`; ``pool`` 1 means no pooling).
    blocks : list of dicts with keys ``filters``, ``kernel_size``, ``pool`` (1), ``dropout`` (0),
        ``activation`` (``"relu"``), ``dilation`` (1), ``padding`` (the model's ``padding``).
    dense : sizes of hidden dense layers; ``dense_dropout`` after each.
    batch_norm : BatchNorm before every activation (conv and dense).
    global_pool : ``None`` (flatten), ``"max"`` or ``"avg"`` over positions before the head.
    padding : ``"same"`` or ``"valid"``.
    dropout_before_pool : dropout after the activation and before the max-pool (the Keras models
        of Koo & Ploenzke 2021) instead of after the pool; the same function at inference.
    init : ``"default"`` (PyTorch's) or ``"he_normal"`` (Keras' truncated normal with standard
        deviation ``sqrt(2 / fan_in)``, zero biases) for convolutions and hidden dense layers.
    """

    name = "cnn"

    def __init__(self, seq_length: int = 200, in_channels: int = 4, n_outputs: int = 1,
                 filters: int = 32, kernel_size: int = 19, activation: str = "relu", pool: int = 1,
                 dropout: float = 0.1, blocks: list[dict] | None = None,
                 dense: list[int] | None = None, dense_dropout: float = 0.5,
                 batch_norm: bool = True, global_pool: str | None = None,
                 padding: str = "same", dropout_before_pool: bool = False, init: str = "default"):
        blocks = [dict(b) for b in (blocks or [])]
        dense = [int(d) for d in (dense or [])]
        super().__init__(dict(
            seq_length=seq_length, in_channels=in_channels, n_outputs=n_outputs, filters=filters,
            kernel_size=kernel_size, activation=activation, pool=pool, dropout=dropout,
            blocks=blocks, dense=dense, dense_dropout=dense_dropout, batch_norm=batch_norm,
            global_pool=global_pool, padding=padding, dropout_before_pool=dropout_before_pool,
            init=init))
        if global_pool not in (None, "max", "avg"):
            raise ValueError(f"global_pool must be None, 'max' or 'avg', got {global_pool!r}")
        if init not in ("default", "he_normal"):
            raise ValueError(f"init must be 'default' or 'he_normal', got {init!r}")
        self.dropout_before_pool = dropout_before_pool
        self.conv1, self.bn1, self.activation1 = _conv_stage(
            in_channels, filters, kernel_size, padding, 1, batch_norm, activation)
        self.pool1 = nn.MaxPool1d(pool) if pool > 1 else nn.Identity()
        self.dropout1 = nn.Dropout(dropout)
        self.blocks = nn.ModuleList()
        ch = filters
        for i, b in enumerate(blocks):
            unknown = set(b) - {"filters", "kernel_size", "pool", "dropout", "activation", "dilation",
                                "padding"}
            if unknown:
                raise ValueError(f"block {i}: unknown keys {sorted(unknown)}")
            conv, bn, act = _conv_stage(ch, int(b["filters"]), int(b["kernel_size"]),
                                        b.get("padding", padding), int(b.get("dilation", 1)),
                                        batch_norm, b.get("activation", "relu"))
            p = int(b.get("pool", 1))
            pool = [nn.MaxPool1d(p)] if p > 1 else []
            drop = [nn.Dropout(float(b.get("dropout", 0.0)))]
            layers = [conv] + ([bn] if bn is not None else []) + [act]
            layers += drop + pool if dropout_before_pool else pool + drop
            self.blocks.append(nn.Sequential(*layers))
            ch = int(b["filters"])
        self.global_pool = global_pool
        self.eval()
        try:
            with torch.no_grad():
                flat = self._features(torch.zeros(1, in_channels, seq_length)).shape[1]
        except RuntimeError:
            flat = 0
        self.train()
        if flat == 0:
            raise ValueError(f"seq_length {seq_length} is too short for the pooling of this CNN")
        head: list[nn.Module] = []
        for size in dense:
            head += [nn.Linear(flat, size, bias=not batch_norm)]
            head += [nn.BatchNorm1d(size)] if batch_norm else []
            head += [nn.ReLU(), nn.Dropout(dense_dropout)]
            flat = size
        self.dense = nn.Sequential(*head)
        self.output = nn.Linear(flat, n_outputs)
        if init == "he_normal":
            for m in [self.conv1, *self.blocks.modules(), *self.dense.modules()]:
                if isinstance(m, (nn.Conv1d, nn.Linear)):
                    _he_normal_(m)

    def _features(self, X: torch.Tensor) -> torch.Tensor:
        if self.dropout_before_pool:
            h = self.pool1(self.dropout1(self.first_layer_activations(X)))
        else:
            h = self.dropout1(self.first_layer_activations(X, pooled=True))
        for block in self.blocks:
            h = block(h)
        if self.global_pool == "max":
            return h.amax(dim=-1)
        if self.global_pool == "avg":
            return h.mean(dim=-1)
        return h.flatten(1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``(N, A, L)`` -> ``(N, n_outputs)``."""
        return self.output(self.dense(self._features(X)))


def _he_normal_(layer: nn.Conv1d | nn.Linear) -> None:
    """Keras' ``he_normal``: normal truncated at 2 sd, sd ``sqrt(2 / fan_in) / 0.8796`` (the
    truncation's correction); zero bias."""
    fan_in = layer.weight[0].numel()
    sd = (2.0 / fan_in) ** 0.5 / 0.87962566103423978
    nn.init.trunc_normal_(layer.weight, std=sd, a=-2 * sd, b=2 * sd)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def _block(filters, kernel_size, pool=1, dropout=0.0, **kw):
    return {"filters": filters, "kernel_size": kernel_size, "pool": pool, "dropout": dropout, **kw}


def koo_eddy_cnn(pool: int) -> dict:
    """Koo & Eddy 2019 CNN-P: conv 30x19, BN, act, pool P, dropout 0.1 -> conv 128x5, BN, ReLU,
    pool 100/P, dropout 0.1 -> dense 512 (BN, ReLU, dropout 0.5)."""
    if 100 % pool:
        raise ValueError(f"CNN-P needs P dividing 100, got {pool}")
    return dict(filters=30, kernel_size=19, pool=pool, dropout=0.1,
                blocks=[_block(128, 5, 100 // pool, 0.1)], dense=[512], dense_dropout=0.5)


# Koo & Eddy 2019 CNN-P presets are named cnn_p1 ... cnn_p100
PRESETS: dict[str, dict] = {f"cnn_p{p}": koo_eddy_cnn(p) for p in (1, 2, 4, 10, 25, 50, 100)}
PRESETS.update({
    # Koo & Ploenzke 2021: cnn-2 / cnn-50 (first pool P1, second P2 with P1 * P2 = 100)
    # (as in their Keras code: dropout before pooling, he_normal weights)
    "cnn_2": dict(filters=32, kernel_size=19, pool=2, dropout=0.1,
                  blocks=[_block(124, 5, 50, 0.1)], dense=[512], dense_dropout=0.5,
                  dropout_before_pool=True, init="he_normal"),
    "cnn_50": dict(filters=32, kernel_size=19, pool=50, dropout=0.1,
                   blocks=[_block(124, 5, 2, 0.1)], dense=[512], dense_dropout=0.5,
                   dropout_before_pool=True, init="he_normal"),
    # Koo & Ploenzke 2021 regulatory-code models as in their Keras code: dropout before pooling,
    # he_normal weights, 'valid' convolutions in cnn-dist's third and fourth layers
    "cnn_local": dict(filters=24, kernel_size=19, pool=50, dropout=0.1,
                      blocks=[_block(48, 3, 2, 0.2)], dense=[96], dense_dropout=0.5,
                      dropout_before_pool=True, init="he_normal"),
    "cnn_dist": dict(filters=24, kernel_size=19, pool=1, dropout=0.1,
                     blocks=[_block(32, 7, 4, 0.2), _block(48, 7, 4, 0.3, padding="valid"),
                             _block(64, 3, 3, 0.4, padding="valid")],
                     dense=[96], dense_dropout=0.5, dropout_before_pool=True, init="he_normal"),
    # Koo & Ploenzke 2021 CNN-deep: no first-layer pool, 'valid' third and fourth convolutions
    "cnn_deep": dict(filters=32, kernel_size=19, pool=1, dropout=0.1,
                     blocks=[_block(48, 7, 4, 0.2), _block(96, 7, 4, 0.3, padding="valid"),
                             _block(128, 3, 3, 0.4, padding="valid")],
                     dense=[512], dense_dropout=0.5, dropout_before_pool=True, init="he_normal"),
    # DeepSTARR (de Almeida et al. 2022): 249 nt, 2 outputs (developmental, housekeeping)
    "deepstarr": dict(seq_length=249, n_outputs=2, filters=246, kernel_size=7, pool=2, dropout=0.0,
                      blocks=[_block(60, 3, 2), _block(60, 5, 2), _block(120, 3, 2)],
                      dense=[256, 256], dense_dropout=0.4),
    # Basset (Kelley et al. 2016): 600 nt, 164 DNase-seq cell types
    "basset": dict(seq_length=600, n_outputs=164, filters=300, kernel_size=19, pool=3, dropout=0.0,
                   blocks=[_block(200, 11, 4), _block(200, 7, 4)],
                   dense=[1000, 1000], dense_dropout=0.3),
})
