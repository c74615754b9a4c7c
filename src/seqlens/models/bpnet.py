"""A BPNet-style profile model (Avsec et al. 2021, Nature Genetics): base-resolution signal from
sequence.

Layout: ``conv1 (filters x kernel_size) -> relu`` then ``n_layers`` dilated residual convolutions
(``h = h + relu(conv_d(h))`` with dilation ``d = 2, 4, ..., 2**n_layers``, "same" padding), then
two heads read the central ``output_length`` positions:

* profile head: a wide convolution (``profile_kernel``) to one logit per track and position,
  ``(N, S, L_out)``; ``softmax`` over positions is the predicted shape of each track;
* counts head: the mean of the features over the output window, then a linear layer, ``(N, S)``:
  the predicted ``log(1 + total counts)`` of each track in the window.

``forward`` returns the named tuple :class:`ProfileOutput` ``(profile, counts)``: attribution
targets name a head and an index (``target=("counts", 0)``), ``model.heads`` lists the names, and
:class:`OutputHead` turns one head into a plain ``(N, ...)`` model for code that wants one tensor.
Every operation is linear, ReLU, slicing or a mean, so DeepLIFT/DeepSHAP contributions sum exactly
to the output difference.

Presets: ``bpnet`` (64 filters, kernel 25, 9 dilated layers: a receptive field of +-1,034 bp as
in the paper; profile kernel 75; 1,000 bp in and out, "same" padding) and ``bpnet_small`` (32
filters, kernel 15, 6 layers, profile kernel 25, for a quick model on a laptop).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from seqlens.models.base import ZooModel
from seqlens.models.layers import get_activation


class ProfileOutput(NamedTuple):
    """The two heads of a profile model: ``profile`` logits ``(N, S, L_out)`` and ``counts``
    (log total counts) ``(N, S)``."""

    profile: torch.Tensor
    counts: torch.Tensor


class BPNet(ZooModel):
    """BPNet-style model; input ``(N, in_channels, seq_length)``, output
    ``(profile_logits (N, n_outputs, output_length), log_counts (N, n_outputs))``.

    Parameters
    ----------
    seq_length, in_channels : input length and letters per position.
    n_outputs : tracks ``S`` (e.g. 2 for a stranded pair of bigWigs).
    output_length : positions of the profile ``L_out`` (central window of the input; default
        ``seq_length``).
    filters, kernel_size, activation : the first convolution.
    n_layers : dilated residual layers (dilations ``2**1 .. 2**n_layers``); ``residual_kernel``
        their kernel size.
    profile_kernel : kernel of the profile head's convolution.
    """

    name = "bpnet"
    heads = ProfileOutput._fields

    def __init__(self, seq_length: int = 1000, in_channels: int = 4, n_outputs: int = 2,
                 output_length: int | None = None, filters: int = 64, kernel_size: int = 25,
                 activation: str = "relu", n_layers: int = 9, residual_kernel: int = 3,
                 profile_kernel: int = 75):
        output_length = int(seq_length if output_length is None else output_length)
        if not 0 < output_length <= seq_length:
            raise ValueError(f"output_length must be in [1, seq_length={seq_length}], got {output_length}")
        super().__init__(dict(
            seq_length=seq_length, in_channels=in_channels, n_outputs=n_outputs,
            output_length=output_length, filters=filters, kernel_size=kernel_size,
            activation=activation, n_layers=n_layers, residual_kernel=residual_kernel,
            profile_kernel=profile_kernel))
        self.output_length = output_length
        self.conv1 = nn.Conv1d(in_channels, filters, kernel_size, padding="same")
        self.bn1 = None
        self.activation1 = get_activation(activation)
        self.pool1 = None
        self.dilated = nn.ModuleList(
            nn.Conv1d(filters, filters, residual_kernel, padding="same", dilation=2 ** i)
            for i in range(1, n_layers + 1))
        self.profile = nn.Conv1d(filters, n_outputs, profile_kernel, padding="same")
        self.counts = nn.Linear(filters, n_outputs)

    def forward(self, X: torch.Tensor) -> ProfileOutput:
        """``(N, A, L)`` -> ``ProfileOutput((N, S, L_out) profile logits, (N, S) log counts)``."""
        h = self.first_layer_activations(X)
        for conv in self.dilated:
            h = h + torch.relu(conv(h))
        start = (h.shape[-1] - self.output_length) // 2
        if start < 0:
            raise ValueError(f"input length {h.shape[-1]} is shorter than output_length "
                             f"{self.output_length}")
        window = slice(start, start + self.output_length)
        return ProfileOutput(self.profile(h)[:, :, window], self.counts(h[:, :, window].mean(-1)))


class OutputHead(nn.Module):
    """One entry of a model's tuple output as a plain model: ``OutputHead(bpnet, "counts")(X)`` is
    ``bpnet(X)[1]``. ``head``: an index, or a name in ``model.heads``."""

    def __init__(self, model: nn.Module, head: int | str):
        super().__init__()
        names = tuple(getattr(model, "heads", ()))
        if isinstance(head, str):
            if head not in names:
                raise ValueError(f"head {head!r} is not one of the model's heads {names}")
            head = names.index(head)
        self.model, self.index = model, int(head)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.model(X)[self.index]


PRESETS = {
    "bpnet_small": dict(filters=32, n_layers=6, kernel_size=15, profile_kernel=25),
}
