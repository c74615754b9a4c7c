"""GIA beyond sequences: a small CNN trained here on 32x32 images whose class depends on two
planted textures and their co-occurrence; GIA recovers each texture's effect and the sign of their
interaction, scored against the planted truth.

The planted truth: the class-1 log-odds are ``BIAS + W_A a + W_B b + W_AB a b`` (``a``, ``b``:
texture A / B present). Trained on soft labels (the class probability), the network's logit is an
estimate of these log-odds, so on null images GIA should find ``W_A`` for pasting A, ``W_B`` for B
and ``W_A + W_B + W_AB`` for both (interaction ``W_AB < 0``: the textures are antagonistic), and
nothing for a random binary patch of the same size and contrast (half of the training images carry
one as a distractor).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqlens.interpret.gia import global_importance

P = 8  # texture size
W_A, W_B, W_AB, BIAS = 3.0, 2.0, -2.5, -2.0
A_AT, B_AT = (12, 4), (12, 20)  # where GIA pastes them (A in the left half, B in the right, as in training)


def _stripes():
    t = np.ones((P, P), np.float32)
    t[:, (np.arange(P) // 2) % 2 == 1] = -1
    return t


def _checker():
    i, j = np.indices((P, P)) // 2
    return np.where((i + j) % 2 == 0, 1.0, -1.0).astype(np.float32)


TEX_A, TEX_B = _stripes(), _checker()


def _random_patch(rng):
    return np.where(rng.random((P, P)) < 0.5, 1.0, -1.0).astype(np.float32)


def null_images(n, rng):
    """Backgrounds as in training without the textures: noise, and a distractor half of the time."""
    X = (0.5 * rng.standard_normal((n, 1, 32, 32))).astype(np.float32)
    for i in np.flatnonzero(rng.random(n) < 0.5):
        r, c = rng.integers(0, 32 - P + 1, 2)
        X[i, 0, r:r + P, c:c + P] = _random_patch(rng)
    return X


def training_set(n, rng):
    X = null_images(n, rng)
    a, b = rng.random(n) < 0.5, rng.random(n) < 0.5
    for i in range(n):
        if a[i]:
            r, c = rng.integers(0, 32 - P + 1), rng.integers(0, 16 - P + 1)
            X[i, 0, r:r + P, c:c + P] = TEX_A
        if b[i]:
            r, c = rng.integers(0, 32 - P + 1), rng.integers(16, 32 - P + 1)
            X[i, 0, r:r + P, c:c + P] = TEX_B
    logit = BIAS + W_A * a + W_B * b + W_AB * (a & b)
    return X, (1 / (1 + np.exp(-logit))).astype(np.float32)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        h = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        h = torch.relu(self.c2(h)).amax(dim=(2, 3))
        return self.fc2(torch.relu(self.fc1(h)))


def _train(seed=0, n=2000, epochs=8):
    torch.set_num_threads(1)
    X, p = training_set(n, np.random.default_rng(seed))
    X, p = torch.from_numpy(X), torch.from_numpy(p)[:, None]
    torch.manual_seed(seed)
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    steps = epochs * -(-n // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 1e-2, total_steps=steps)
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            loss = nn.functional.binary_cross_entropy_with_logits(model(X[idx]), p[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def _paste(*items):
    """Intervention pasting (texture or callable(rng) -> patch, (row, col)) items into every image."""
    def fn(X, rng):
        X = X.copy()
        for tex, (r, c) in items:
            for i in range(len(X)):
                X[i, 0, r:r + P, c:c + P] = tex(rng) if callable(tex) else tex
        return X

    return fn


def test_gia_recovers_planted_texture_effects_and_their_interaction_on_images():
    model = _train()
    kw = dict(n=200, random_state=1, device="cpu")  # the same 200 null images for every intervention
    a = global_importance(model, null_images, _paste((TEX_A, A_AT)), **kw)
    b = global_importance(model, null_images, _paste((TEX_B, B_AT)), **kw)
    ab = global_importance(model, null_images, _paste((TEX_A, A_AT), (TEX_B, B_AT)), **kw)
    noise = global_importance(model, null_images, _paste((_random_patch, A_AT)), **kw)
    assert a.n == b.n == ab.n == noise.n == 200
    # each planted texture's effect on the log-odds, against the truth
    assert abs(a.importance - W_A) < 0.5 and abs(b.importance - W_B) < 0.5
    # the planted texture matters >= 10x more than a random patch of the same size and contrast
    assert abs(a.importance) >= 10 * abs(noise.importance)
    assert abs(b.importance) >= 10 * abs(noise.importance)
    # the interaction: both together vs the sum of each alone has the planted (negative) sign
    interaction = ab.importance - a.importance - b.importance
    assert np.sign(interaction) == np.sign(W_AB) and abs(interaction - W_AB) < 1.0
    # and per image, not only on average
    assert np.mean(ab.effects - a.effects - b.effects < 0) > 0.9
