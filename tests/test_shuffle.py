from collections import Counter

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlens.alphabet import decode, one_hot
from seqlens.shuffle import dinucleotide_shuffle, shuffle


def dinucs(s):
    return Counter(s[i:i + 2] for i in range(len(s) - 1))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ACGTN", min_size=1, max_size=60), st.integers(0, 2**31))
def test_dinucleotide_counts_preserved(seq, seed):
    out = dinucleotide_shuffle(one_hot(seq), n=3, random_state=seed)
    assert out.shape == (1, 3, 4, len(seq))
    for s in decode(out[0]):
        assert dinucs(s) == dinucs(seq)
        assert s[0] == seq[0] and s[-1] == seq[-1]


def test_dinucleotide_shuffle_is_uniform_over_eulerian_paths():
    # AACGTTACGA has 6 distinct sequences with the same dinucleotide counts and ends
    out = dinucleotide_shuffle(one_hot("AACGTTACGA"), n=6000, random_state=1)
    counts = Counter(decode(out[0]))
    assert len(counts) == 6
    assert min(counts.values()) > 850 and max(counts.values()) < 1150


def test_shuffle_seeded_torch_and_mononucleotide():
    X = one_hot(["ACGTACGGTA", "TTTTACGCGA"])
    a = dinucleotide_shuffle(X, n=2, random_state=5)
    b = dinucleotide_shuffle(torch.from_numpy(X), n=2, random_state=5)
    assert isinstance(b, torch.Tensor)
    np.testing.assert_array_equal(a, b.numpy())
    m = shuffle(X, n=4, random_state=0)
    assert m.shape == (2, 4, 4, 10)
    np.testing.assert_array_equal(m.sum(-1), np.repeat(X.sum(-1)[:, None], 4, 1))
    assert not np.array_equal(shuffle(X, random_state=0), shuffle(X, random_state=1))
