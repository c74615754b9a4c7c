import numpy as np
import pytest
import torch

from seqlens.train import (
    EvoAug,
    RandomDeletion,
    RandomInsertion,
    RandomInversion,
    RandomMutation,
    RandomNoise,
    RandomRC,
    RandomTranslocation,
)
from seqlens.train.augment import random_onehot

ONE_HOT_AUGS = [RandomDeletion(0, 20), RandomInsertion(0, 20), RandomTranslocation(0, 20),
                RandomInversion(0, 20), RandomMutation(0.1), RandomRC(0.5)]


def _batch(n=64, length=100, seed=0):
    return random_onehot(n, 4, length, torch.Generator().manual_seed(seed))


def _is_one_hot(X):
    return bool(((X == 0) | (X == 1)).all() and (X.sum(1) == 1).all())


@pytest.mark.parametrize("aug", ONE_HOT_AUGS, ids=lambda a: type(a).__name__)
def test_length_and_one_hot_preserved(aug):
    X = _batch()
    out = aug(X, torch.Generator().manual_seed(1))
    assert out.shape == X.shape and out.dtype == X.dtype
    assert _is_one_hot(out)
    assert torch.equal(X, _batch())  # input untouched


def test_mutation_fraction_corrected_for_silent_hits():
    X = _batch(400, 200)
    out = RandomMutation(0.1)(X, torch.Generator().manual_seed(2))
    changed = (out != X).any(1).float().mean().item()
    assert changed == pytest.approx(0.1, abs=0.01)


def test_rc_and_inversion_exact():
    X = _batch(4, 30)
    out = RandomRC(rc_prob=1.0)(X, torch.Generator())
    assert torch.equal(out, X.flip(1).flip(2))
    full = RandomInversion(30, 30)(X, torch.Generator())
    assert torch.equal(full, X.flip(1).flip(2))


def test_translocation_is_a_roll():
    X = _batch(8, 50)
    out = RandomTranslocation(5, 5)(X, torch.Generator().manual_seed(0))
    for i in range(8):
        assert torch.equal(out[i], X[i].roll(5, -1)) or torch.equal(out[i], X[i].roll(-5, -1))


def test_deletion_keeps_flanks_in_order():
    X = _batch(16, 60)
    out = RandomDeletion(10, 10)(X, torch.Generator().manual_seed(3))
    # after deleting 10 nt and padding 5 at each end, the middle 50 nt are X minus a 10-nt gap
    for i in range(16):
        mid = out[i, :, 5:55]
        ok = any(torch.equal(mid, torch.cat([X[i, :, :s], X[i, :, s + 10:]], 1)) for s in range(51))
        assert ok


def test_insertion_contains_original_pieces():
    X = _batch(16, 60)
    out = RandomInsertion(10, 10)(X, torch.Generator().manual_seed(4))
    # 10 random nt inserted then 5 cropped from each end: 40 original nt survive in order somewhere
    a = X.argmax(1).numpy()
    b = out.argmax(1).numpy()
    for i in range(16):
        s = "".join(map(str, a[i]))
        t = "".join(map(str, b[i]))
        assert s[5:25] in t or s[35:55] in t


def test_noise_statistics():
    X = torch.zeros(200, 4, 100)
    out = RandomNoise(0.0, 0.3)(X, torch.Generator().manual_seed(0))
    assert out.std().item() == pytest.approx(0.3, rel=0.05)


def test_evoaug_k_per_sequence_and_determinism():
    X = _batch(200, 80)
    evo = EvoAug([RandomRC(1.0), RandomMutation(0.5)], max_augs_per_seq=1)
    out = evo(X, torch.Generator().manual_seed(0))
    assert out.shape == X.shape and _is_one_hot(out)
    rc = torch.tensor([torch.equal(out[i], X[i].flip(0).flip(-1)) for i in range(200)])
    changed = (out != X).any(1).float().mean(1)
    # exactly one of the two per sequence (hard_aug), each about half of the time: the others
    # have about half of their positions mutated
    assert changed[~rc].min() > 0.3 and changed[~rc].max() < 0.7
    assert 60 < rc.sum().item() < 140
    again = evo(X, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    both = EvoAug.from_spec("rc,mutation", max_augs_per_seq=2)
    assert len(both.augmentations) == 2
    with pytest.raises(ValueError, match="unknown augmentation"):
        EvoAug(["shuffle"])


def test_all_default_augmentations_run():
    X = _batch(32, 100)
    out = EvoAug(max_augs_per_seq=3)(X, torch.Generator().manual_seed(0))
    assert out.shape == X.shape and torch.isfinite(out).all()
    assert not np.allclose(out.numpy(), X.numpy())
