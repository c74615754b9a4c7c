import numpy as np
import pytest
import torch


def toy_data(n, length=40, seed=0):
    """Binary task: positives carry the 6-mer ACGTTG at a random place; ``(N, 4, L)``, ``(N, 1)``."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, 4, (n, length))
    y = rng.integers(0, 2, n)
    for i in np.where(y == 1)[0]:
        p = rng.integers(0, length - 6)
        idx[i, p:p + 6] = [0, 1, 2, 3, 3, 2]
    X = np.eye(4, dtype=np.float32)[idx].transpose(0, 2, 1).copy()
    return X, y[:, None].astype(np.float32)


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def toy():
    return toy_data(600, seed=0), toy_data(200, seed=1), toy_data(200, seed=2)
