"""Small models used by the attribution tests (not the zoo)."""

from __future__ import annotations

import torch
from torch import nn


def scaled(model, X, seed=1, dtype=torch.float32):
    """Eval model in ``dtype`` with random batch-norm statistics and its last linear layer scaled
    so that the outputs on ``X`` are at most 1 in absolute value (so that an absolute tolerance
    means the same on every model)."""
    g = torch.Generator().manual_seed(seed)
    model = model.to(dtype).eval()
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm1d):
                mod.running_mean.uniform_(-0.5, 0.5, generator=g)
                mod.running_var.uniform_(0.5, 2, generator=g)
        scale = float(model(X.to(dtype)).abs().max())
        last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        last.weight.div_(scale)
        if last.bias is not None:
            last.bias.div_(scale)
    return model


def onehot(n, L=40, A=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, A, (n, L), generator=g)
    return torch.nn.functional.one_hot(idx, A).permute(0, 2, 1).float()


class ConvReluPool(nn.Module):
    def __init__(self, L=40, out=2):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 7, padding=3)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool1d(4)
        self.fc = nn.Linear(8 * (L // 4), out)

    def forward(self, x):
        return self.fc(self.pool(self.act(self.conv(x))).flatten(1))


class ConvExp(nn.Module):
    def __init__(self, L=40, out=1):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 9, padding=4)
        self.bn = nn.BatchNorm1d(6)
        self.pool = nn.MaxPool1d(5)
        self.conv2 = nn.Conv1d(6, 8, 3, padding=1)
        self.fc = nn.Linear(8 * (L // 5), out)

    def forward(self, x):
        h = self.pool(torch.exp(torch.clamp(self.bn(self.conv(x)), max=10)))
        h = torch.relu(self.conv2(h))
        return self.fc(h.flatten(1))


class ResidualNet(nn.Module):
    def __init__(self, L=40, out=1):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 5, padding=2)
        self.c1 = nn.Conv1d(8, 8, 3, padding=1, dilation=1)
        self.c2 = nn.Conv1d(8, 8, 3, padding=2, dilation=2)
        self.bn = nn.BatchNorm1d(8)
        self.fc = nn.Linear(8, out)

    def forward(self, x):
        h = nn.functional.elu(self.conv(x))
        r = self.c2(torch.nn.functional.gelu(self.bn(self.c1(h))))
        h = torch.relu(h + r)
        return torch.sigmoid(self.fc(h.amax(dim=-1))) * 3 + torch.tanh(self.fc(h.mean(-1)))


class AttentionNet(nn.Module):
    def __init__(self, L=40, out=2, dim=8):
        super().__init__()
        self.conv = nn.Conv1d(4, dim, 5, padding=2)
        self.pool = nn.MaxPool1d(2)
        self.mha = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.fc = nn.Linear(dim * (L // 2), out)

    def forward(self, x):
        h = self.pool(nn.functional.softplus(self.conv(x))).transpose(1, 2)
        a, _ = self.mha(h, h, h)
        h = self.norm(h + a)
        w = torch.softmax(self.q(h) @ self.k(h).transpose(1, 2) / 3.0, dim=-1)
        h = h + w @ h
        h = h / (1 + h.abs())
        return self.fc(h.flatten(1))


class TwoHeads(nn.Module):
    """BPNet-like: a profile head (N, 2, L) and a counts head (N, 1), as a tuple or a dict."""

    def __init__(self, as_dict=False):
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv1d(4, 8, 5, padding=2)
        self.prof = nn.Conv1d(8, 2, 3, padding=1)
        self.counts = nn.Linear(8, 1)
        self.as_dict = as_dict

    def forward(self, x):
        h = torch.relu(self.conv(x))
        p, c = self.prof(h), self.counts(h.mean(-1))
        return {"profile": p, "counts": c} if self.as_dict else (p, c)


def all_toys(L=40):
    torch.manual_seed(0)
    models = {"conv_relu_pool": ConvReluPool(L), "conv_exp": ConvExp(L), "residual": ResidualNet(L),
              "attention": AttentionNet(L)}
    for m in models.values():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm1d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2)
        m.eval()
    return models
