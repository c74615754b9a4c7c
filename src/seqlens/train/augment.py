"""EvoAug-style evolution-inspired augmentations (after Lee et al. 2023, Genome Biology).

Each augmentation maps a one-hot batch ``(N, A, L)`` tensor to a new ``(N, A, L)`` tensor (the
length never changes) using a ``torch.Generator`` for all randomness. Random filler is uniform
random one-hot nucleotides. Labels are assumed unchanged.

* :class:`RandomDeletion`: delete a segment of ``delete_min..delete_max`` nt; refill half at
  each end with random DNA.
* :class:`RandomInsertion`: insert ``insert_min..insert_max`` random nt at a random place,
  then crop the same number of positions, half from each end.
* :class:`RandomTranslocation`: roll by ``shift_min..shift_max`` positions in either direction.
* :class:`RandomInversion`: reverse-complement a segment of ``invert_min..invert_max`` nt.
* :class:`RandomMutation`: substitute positions so that the expected fraction of changed
  positions is ``mutate_frac``. A random letter equals the old one with probability ``1/A``, so
  ``round(L * mutate_frac * A / (A - 1))`` positions are drawn (the silent-hit correction).
* :class:`RandomRC`: reverse-complement whole sequences with probability ``rc_prob``.
* :class:`RandomNoise`: add Gaussian noise ``N(noise_mean, noise_std)``.

:class:`EvoAug` chooses, for every sequence, ``max_augs_per_seq`` distinct augmentations
(``hard_aug=True``) or a random number from 1 to ``max_augs_per_seq``, and applies them in list
order. Training with it is two-stage: :func:`seqlens.train.fit` with ``augment=EvoAug(...)`` and
``finetune_epochs > 0`` fine-tunes on the original data at ``finetune_lr`` afterwards.
"""

from __future__ import annotations

import torch

from seqlens.alphabet import reverse_complement


def random_onehot(n: int, alphabet_size: int, length: int, generator: torch.Generator,
                  dtype=torch.float32) -> torch.Tensor:
    """``(n, A, length)`` uniformly random one-hot sequences."""
    idx = torch.randint(alphabet_size, (n, length), generator=generator)
    return torch.nn.functional.one_hot(idx, alphabet_size).transpose(1, 2).to(dtype)


def _randint(low: int, high: int, n: int, generator) -> torch.Tensor:
    """``n`` integers uniform in ``[low, high]`` (inclusive)."""
    return torch.randint(low, high + 1, (n,), generator=generator)


class Augmentation:
    """Base class: ``aug(X, generator) -> X'`` with ``X`` ``(N, A, L)``."""

    def __call__(self, X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class RandomDeletion(Augmentation):
    def __init__(self, delete_min: int = 0, delete_max: int = 20):
        self.delete_min, self.delete_max = delete_min, delete_max

    def __call__(self, X, generator):
        n, a, length = X.shape
        dmax = min(self.delete_max, length - 1)
        sizes = _randint(min(self.delete_min, dmax), dmax, n, generator)
        out = X.clone()
        for i in range(n):
            d = int(sizes[i])
            if d == 0:
                continue
            start = int(torch.randint(length - d + 1, (1,), generator=generator))
            kept = torch.cat([X[i, :, :start], X[i, :, start + d:]], dim=1)
            pad = random_onehot(1, a, d, generator, X.dtype)[0].to(X.device)
            left = d // 2
            out[i] = torch.cat([pad[:, :left], kept, pad[:, left:]], dim=1)
        return out


class RandomInsertion(Augmentation):
    def __init__(self, insert_min: int = 0, insert_max: int = 20):
        self.insert_min, self.insert_max = insert_min, insert_max

    def __call__(self, X, generator):
        n, a, length = X.shape
        sizes = _randint(self.insert_min, self.insert_max, n, generator)
        out = X.clone()
        for i in range(n):
            k = int(sizes[i])
            if k == 0:
                continue
            pos = int(torch.randint(length + 1, (1,), generator=generator))
            ins = random_onehot(1, a, k, generator, X.dtype)[0].to(X.device)
            longer = torch.cat([X[i, :, :pos], ins, X[i, :, pos:]], dim=1)
            left = k // 2
            out[i] = longer[:, left:left + length]
        return out


class RandomTranslocation(Augmentation):
    def __init__(self, shift_min: int = 0, shift_max: int = 20):
        self.shift_min, self.shift_max = shift_min, shift_max

    def __call__(self, X, generator):
        n, _, length = X.shape
        shifts = _randint(self.shift_min, self.shift_max, n, generator)
        signs = torch.randint(2, (n,), generator=generator) * 2 - 1
        shifts = (shifts * signs).to(X.device)
        idx = (torch.arange(length, device=X.device)[None, :] - shifts[:, None]) % length
        return torch.gather(X, 2, idx[:, None, :].expand_as(X))


class RandomInversion(Augmentation):
    def __init__(self, invert_min: int = 0, invert_max: int = 20):
        self.invert_min, self.invert_max = invert_min, invert_max

    def __call__(self, X, generator):
        n, _, length = X.shape
        vmax = min(self.invert_max, length)
        sizes = _randint(min(self.invert_min, vmax), vmax, n, generator)
        out = X.clone()
        for i in range(n):
            v = int(sizes[i])
            if v == 0:
                continue
            start = int(torch.randint(length - v + 1, (1,), generator=generator))
            out[i, :, start:start + v] = X[i, :, start:start + v].flip(0).flip(-1)
        return out


class RandomMutation(Augmentation):
    def __init__(self, mutate_frac: float = 0.05):
        if not 0 <= mutate_frac <= 0.75:
            raise ValueError(f"mutate_frac must be in [0, 0.75], got {mutate_frac}")
        self.mutate_frac = mutate_frac

    def __call__(self, X, generator):
        n, a, length = X.shape
        n_mut = min(length, round(length * self.mutate_frac * a / (a - 1)))
        if n_mut == 0:
            return X.clone()
        pos = torch.argsort(torch.rand(n, length, generator=generator), dim=1)[:, :n_mut]
        new = random_onehot(n, a, n_mut, generator, X.dtype).to(X.device)
        out = X.clone()
        out.scatter_(2, pos.to(X.device)[:, None, :].expand(n, a, n_mut), new)
        return out


class RandomRC(Augmentation):
    def __init__(self, rc_prob: float = 0.5):
        self.rc_prob = rc_prob

    def __call__(self, X, generator):
        flip = (torch.rand(X.shape[0], generator=generator) < self.rc_prob).to(X.device)
        out = X.clone()
        if flip.any():
            out[flip] = X[flip].flip(1).flip(-1) if X.shape[1] == 4 else reverse_complement(X[flip])
        return out


class RandomNoise(Augmentation):
    def __init__(self, noise_mean: float = 0.0, noise_std: float = 0.2):
        self.noise_mean, self.noise_std = noise_mean, noise_std

    def __call__(self, X, generator):
        noise = torch.randn(X.shape, generator=generator).to(X.device, X.dtype)
        return X + self.noise_mean + self.noise_std * noise


AUGMENTATIONS = {
    "deletion": RandomDeletion, "insertion": RandomInsertion,
    "translocation": RandomTranslocation, "inversion": RandomInversion,
    "mutation": RandomMutation, "rc": RandomRC, "noise": RandomNoise,
}


class EvoAug:
    """Apply up to ``max_augs_per_seq`` augmentations per sequence (see module docstring).

    ``augmentations`` is a list of :class:`Augmentation` objects or names of
    :data:`AUGMENTATIONS` (default: all seven with default settings).
    """

    def __init__(self, augmentations=None, max_augs_per_seq: int = 2, hard_aug: bool = True):
        names = augmentations if augmentations is not None else list(AUGMENTATIONS)
        self.augmentations = []
        for aug in names:
            if isinstance(aug, str):
                if aug not in AUGMENTATIONS:
                    raise ValueError(f"unknown augmentation {aug!r}; choose from {list(AUGMENTATIONS)}")
                aug = AUGMENTATIONS[aug]()
            self.augmentations.append(aug)
        if not self.augmentations:
            raise ValueError("EvoAug needs at least one augmentation")
        self.max_augs_per_seq = min(max_augs_per_seq, len(self.augmentations))
        self.hard_aug = hard_aug

    @classmethod
    def from_spec(cls, spec: str, max_augs_per_seq: int = 2, hard_aug: bool = True) -> EvoAug:
        """From a comma-separated list of names (``"deletion,rc,mutation"``; ``"all"``)."""
        names = None if spec.strip() in ("", "all") else [s.strip() for s in spec.split(",")]
        return cls(names, max_augs_per_seq, hard_aug)

    def __call__(self, X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``(N, A, L)`` -> augmented ``(N, A, L)``."""
        n, m = X.shape[0], len(self.augmentations)
        if self.hard_aug:
            k = torch.full((n,), self.max_augs_per_seq)
        else:
            k = _randint(1, self.max_augs_per_seq, n, generator)
        order = torch.argsort(torch.rand(n, m, generator=generator), dim=1)
        chosen = order < k[:, None]  # (n, m): augmentation j applies to sequence i
        out = X
        for j, aug in enumerate(self.augmentations):
            rows = chosen[:, j].nonzero().flatten()
            if len(rows) == 0:
                continue
            out = out.clone() if out is X else out
            out[rows.to(X.device)] = aug(out[rows.to(X.device)], generator)
        return out

    def __repr__(self) -> str:
        return (f"EvoAug({self.augmentations}, max_augs_per_seq={self.max_augs_per_seq}, "
                f"hard_aug={self.hard_aug})")
