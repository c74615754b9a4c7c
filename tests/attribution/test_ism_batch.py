"""ISM's automatic batch size: from the memory a forward pass needs and the memory free."""
import numpy as np
import torch
from torch import nn

import seqlens.resources as resources
from seqlens.attribution import ism
from seqlens.attribution.ism import forward_bytes

torch.set_num_threads(1)


class Net(nn.Module):
    def __init__(self, L=30):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 5, padding=2)
        self.fc = nn.Linear(8 * L, 1)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def onehot(n, L, seed=0):
    idx = np.random.default_rng(seed).integers(0, 4, (n, L))
    return np.eye(4, dtype=np.float32)[idx].transpose(0, 2, 1)


def test_forward_bytes_counts_each_leaf_output_per_sequence():
    model = Net().eval()
    # conv (8 x 30), relu is functional (not a module), fc (1): float32
    assert forward_bytes(model, torch.zeros(3, 4, 30)) == (8 * 30 + 1) * 4


def test_batch_size_for_fits_a_quarter_of_the_free_memory(monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: (4000.0, "available memory"))
    cpu = torch.device("cpu")
    assert resources.batch_size_for(10, cpu) == 100
    assert resources.batch_size_for(10, cpu, cap=64) == 64
    assert resources.batch_size_for(1e9, cpu) == 1
    assert resources.batch_size_for(0, cpu) == 1024


def test_ism_auto_batch_follows_the_memory_and_keeps_the_values(monkeypatch):
    torch.manual_seed(0)
    model = Net().eval()
    X = onehot(2, 30)
    full = ism(model, X, fast=False, batch_size=1024)
    seen = []
    run = nn.Module.__call__

    def spy(self, x, *a, **k):
        if self is model:
            seen.append(len(x))
        return run(self, x, *a, **k)

    monkeypatch.setattr(nn.Module, "__call__", spy)
    per_seq = (8 * 30 + 1) * 4
    monkeypatch.setattr(resources, "available_memory", lambda: (4.0 * 7 * per_seq, "available memory"))
    small = ism(model, X, fast=False)
    assert max(seen) == 7  # 90 mutants per sequence, 7 at a time
    np.testing.assert_allclose(small, full, atol=1e-6)
