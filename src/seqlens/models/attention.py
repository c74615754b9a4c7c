"""CNN + multi-head self-attention hybrid (after Ullah & Ben-Hur 2021 / Koo lab CNN-att).

``conv1 -> [BN] -> act -> max-pool -> dropout -> [positional encoding] -> multi-head
self-attention (+ optional transformer blocks) -> [BiLSTM] -> flatten -> dense -> output``.
The first attention layer is ``LN(h + MHA(h))`` by default; ``attention_residual=False`` gives
Ghotra & Koo's layout, ``dropout(MHA(LN(h)))`` without a skip connection, so that every
first-layer feature reaches the dense layers through attention.

Attention is computed explicitly so that the maps can be read back:
``model.attention_maps(X)`` returns ``(N, heads, L', L')`` for the first attention layer (or a
list of all layers with ``all_layers=True``), with ``L' = seq_length // pool``.
``model.first_layer_activations(X, pooled=True)`` gives ``(N, filters, L')``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlens.models.base import ZooModel
from seqlens.models.layers import get_activation


class MultiHeadSelfAttention(nn.Module):
    """Self-attention over ``(N, L, D)``; ``forward`` returns ``(out (N, L, D), maps (N, H, L, L))``."""

    def __init__(self, dim: int, heads: int = 8, key_size: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.key_size = key_size or max(dim // heads, 1)
        inner = heads * self.key_size
        self.query = nn.Linear(dim, inner)
        self.key = nn.Linear(dim, inner)
        self.value = nn.Linear(dim, inner)
        self.out = nn.Linear(inner, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, length, _ = x.shape

        def split(t):
            return t.view(n, length, self.heads, self.key_size).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        maps = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.key_size), dim=-1)
        h = (self.dropout(maps) @ v).transpose(1, 2).reshape(n, length, -1)
        return self.out(h), maps


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: ``x + MHA(LN(x))``, then ``x + FFN(LN(x))``."""

    def __init__(self, dim: int, heads: int, key_size: int | None, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = MultiHeadSelfAttention(dim, heads, key_size, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(2 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        h, maps = self.attention(self.norm1(x))
        x = x + self.dropout(h)
        return x + self.dropout(self.ffn(self.norm2(x))), maps


def sinusoidal_encoding(length: int, dim: int) -> torch.Tensor:
    """``(length, dim)`` sine/cosine positional encoding."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    enc = torch.zeros(length, dim)
    enc[:, 0::2] = torch.sin(pos * freq)
    enc[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return enc


class CNNAttention(ZooModel):
    """CNN + self-attention hybrid; input ``(N, A, L)``, output ``(N, n_outputs)``.

    Parameters
    ----------
    filters, kernel_size, activation, pool, dropout : the first conv layer.
    heads, key_size : multi-head attention (``key_size`` defaults to ``filters // heads``).
    positional : ``None``, ``"sinusoidal"`` or ``"learned"``.
    transformer_blocks : number of extra transformer blocks after the first attention layer.
    lstm : hidden size of an optional BiLSTM after attention (0 = none).
    dense : size of the hidden dense layer.
    attention_residual : ``True``: ``LN(h + MHA(h))``; ``False``: ``dropout(MHA(LN(h)))`` (no skip).
    """

    name = "cnn_attention"

    def __init__(self, seq_length: int = 200, in_channels: int = 4, n_outputs: int = 1,
                 filters: int = 64, kernel_size: int = 19, activation: str = "relu", pool: int = 4,
                 dropout: float = 0.1, heads: int = 8, key_size: int | None = None,
                 positional: str | None = None, transformer_blocks: int = 0, lstm: int = 0,
                 dense: int = 512, dense_dropout: float = 0.5, batch_norm: bool = True,
                 attention_residual: bool = True):
        super().__init__(dict(
            seq_length=seq_length, in_channels=in_channels, n_outputs=n_outputs, filters=filters,
            kernel_size=kernel_size, activation=activation, pool=pool, dropout=dropout,
            heads=heads, key_size=key_size, positional=positional,
            transformer_blocks=transformer_blocks, lstm=lstm, dense=dense,
            dense_dropout=dense_dropout, batch_norm=batch_norm, attention_residual=attention_residual))
        if positional not in (None, "sinusoidal", "learned"):
            raise ValueError(f"positional must be None, 'sinusoidal' or 'learned', got {positional!r}")
        self.conv1 = nn.Conv1d(in_channels, filters, kernel_size, padding="same",
                               bias=not batch_norm)
        self.bn1 = nn.BatchNorm1d(filters) if batch_norm else None
        self.activation1 = get_activation(activation)
        self.pool1 = nn.MaxPool1d(pool) if pool > 1 else nn.Identity()
        self.dropout1 = nn.Dropout(dropout)
        length = seq_length // pool if pool > 1 else seq_length
        if length == 0:
            raise ValueError(f"seq_length {seq_length} is shorter than pool {pool}")
        self.positional = positional
        if positional == "sinusoidal":
            self.register_buffer("position", sinusoidal_encoding(length, filters))
        elif positional == "learned":
            self.position = nn.Parameter(torch.zeros(length, filters))
        self.attention = MultiHeadSelfAttention(filters, heads, key_size, dropout)
        self.norm = nn.LayerNorm(filters)
        self.attention_residual = attention_residual
        self.dropout2 = nn.Dropout(dropout)
        self.transformer = nn.ModuleList(
            TransformerBlock(filters, heads, key_size, dropout) for _ in range(transformer_blocks))
        self.lstm = nn.LSTM(filters, lstm, batch_first=True, bidirectional=True) if lstm else None
        width = 2 * lstm if lstm else filters
        self.dense = nn.Sequential(nn.Linear(length * width, dense), nn.ReLU(),
                                   nn.Dropout(dense_dropout))
        self.output = nn.Linear(dense, n_outputs)

    def _encode(self, X: torch.Tensor):
        h = self.dropout1(self.first_layer_activations(X, pooled=True)).transpose(1, 2)
        if self.positional is not None:
            h = h + self.position
        a, maps = self.attention(self.attention_input(h))
        h = self.norm(h + a) if self.attention_residual else self.dropout2(a)
        all_maps = [maps]
        for block in self.transformer:
            h, maps = block(h)
            all_maps.append(maps)
        return h, all_maps

    def attention_input(self, h: torch.Tensor) -> torch.Tensor:
        """What the first attention layer reads from its input rows ``h`` ``(..., L', filters)``:
        ``h`` itself, or ``LN(h)`` without the residual."""
        return h if self.attention_residual else self.norm(h)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """``(N, A, L)`` -> ``(N, n_outputs)``."""
        h, _ = self._encode(X)
        if self.lstm is not None:
            h, _ = self.lstm(h)
        return self.output(self.dense(h.flatten(1)))

    def attention_maps(self, X: torch.Tensor, all_layers: bool = False):
        """``(N, heads, L', L')`` attention of the first layer (rows: queries, sum to 1), or a
        list with one such tensor per attention layer when ``all_layers``."""
        _, maps = self._encode(X)
        return maps if all_layers else maps[0]


PRESETS = {
    "cnn_attention": {},
    "cnn_attention_pe": dict(positional="sinusoidal"),
    "cnn_transformer": dict(positional="sinusoidal", transformer_blocks=2),
    "cnn_lstm_attention": dict(lstm=64),
}
