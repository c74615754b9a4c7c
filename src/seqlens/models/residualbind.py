"""ResidualBind (Koo et al. 2021): conv -> dilated residual block -> average pool -> dense.

``conv1 (96 x 11) -> BN -> act -> dropout -> residual block [conv 96x3 dilation d -> BN -> relu
-> dropout, for d in dilations; last without relu] + skip -> relu -> average pool -> dropout ->
dense 256 (BN, relu, dropout 0.5) -> output``.

Variants: ``residualbind_rna41`` (RNAcompete, 41 nt, pool 10) and ``residualbind_dna400``
(400-nt DNA, pool 25).
"""

from __future__ import annotations

import torch
from torch import nn

from seqlens.models.base import ZooModel
from seqlens.models.layers import Residual, get_activation


class ResidualBind(ZooModel):
    """ResidualBind; input ``(N, in_channels, seq_length)``, output ``(N, n_outputs)``."""

    name = "residualbind"

    def __init__(self, seq_length: int = 41, in_channels: int = 4, n_outputs: int = 1,
                 filters: int = 96, kernel_size: int = 11, activation: str = "relu",
                 dilations: list[int] | None = None, residual_kernel: int = 3,
                 pool: int = 10, dense: int = 256, dropout: float = 0.1,
                 pool_dropout: float = 0.2, dense_dropout: float = 0.5):
        dilations = [int(d) for d in (dilations or [1, 2, 4, 8])]
        super().__init__(dict(
            seq_length=seq_length, in_channels=in_channels, n_outputs=n_outputs, filters=filters,
            kernel_size=kernel_size, activation=activation, dilations=dilations,
            residual_kernel=residual_kernel, pool=pool, dense=dense, dropout=dropout,
            pool_dropout=pool_dropout, dense_dropout=dense_dropout))
        self.conv1 = nn.Conv1d(in_channels, filters, kernel_size, padding="same", bias=False)
        self.bn1 = nn.BatchNorm1d(filters)
        self.activation1 = get_activation(activation)
        self.pool1 = None
        self.dropout1 = nn.Dropout(dropout)
        layers: list[nn.Module] = []
        for i, d in enumerate(dilations):
            layers += [nn.Conv1d(filters, filters, residual_kernel, padding="same", dilation=d,
                                 bias=False), nn.BatchNorm1d(filters)]
            if i < len(dilations) - 1:
                layers += [nn.ReLU(), nn.Dropout(dropout)]
        self.residual = Residual(nn.Sequential(*layers))
        self.pool = nn.AvgPool1d(pool) if pool > 1 else nn.Identity()
        self.pool_dropout = nn.Dropout(pool_dropout)
        flat = filters * (seq_length // pool if pool > 1 else seq_length)
        if flat == 0:
            raise ValueError(f"seq_length {seq_length} is shorter than pool {pool}")
        self.dense = nn.Sequential(nn.Linear(flat, dense, bias=False), nn.BatchNorm1d(dense),
                                   nn.ReLU(), nn.Dropout(dense_dropout))
        self.output = nn.Linear(dense, n_outputs)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``(N, A, L)`` -> ``(N, n_outputs)``."""
        h = self.dropout1(self.first_layer_activations(X))
        h = torch.relu(self.residual(h))
        h = self.pool_dropout(self.pool(h)).flatten(1)
        return self.output(self.dense(h))


PRESETS = {
    "residualbind_rna41": dict(seq_length=41, pool=10),
    "residualbind_dna400": dict(seq_length=400, pool=25),
}
