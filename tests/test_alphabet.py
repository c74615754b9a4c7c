import numpy as np
import pytest
import torch

from seqlens.alphabet import DNA, PROTEIN, PROTEIN_GAP, RNA, decode, get_alphabet, one_hot, reverse_complement
from seqlens.errors import SequenceError


def test_one_hot_shape_order_and_dtype():
    X = one_hot(["ACGT", "TTGA"])
    assert X.shape == (2, 4, 4) and X.dtype == np.float32
    np.testing.assert_array_equal(X[0], np.eye(4))
    np.testing.assert_array_equal(X[1].argmax(0), [3, 3, 2, 0])


def test_round_trip_and_lowercase():
    seqs = ["acgtNNacgt", "GATTACAGAT"]
    assert decode(one_hot(seqs)) == ["ACGTNNACGT", "GATTACAGAT"]
    assert decode(one_hot("ACGU", RNA), RNA) == ["ACGU"]
    prot = "ACDEFGHIKLMNPQRSTVWY-"
    assert decode(one_hot(prot, PROTEIN_GAP), PROTEIN_GAP) == [prot]
    assert one_hot(prot[:-1], PROTEIN).shape == (1, 20, 20)


def test_iupac_policy():
    uniform = one_hot("NR", ambiguous="uniform")[0]
    np.testing.assert_allclose(uniform[:, 0], [0.25] * 4)
    np.testing.assert_allclose(uniform[:, 1], [0.5, 0, 0.5, 0])
    assert one_hot("NR", ambiguous="zeros").sum() == 0
    with pytest.raises(SequenceError, match="position 2"):
        one_hot("AN", ambiguous="error")


def test_invalid_character_names_record_and_position():
    with pytest.raises(SequenceError, match=r"'seq2', position 3"):
        one_hot(["ACGT", "ACZT"], names=["seq1", "seq2"], source="x.fa")
    with pytest.raises(SequenceError, match="invalid character 'é'"):
        one_hot("ACéT")
    with pytest.raises(SequenceError, match="ragged lengths"):
        one_hot(["ACGT", "ACG"])


def test_reverse_complement_strings_arrays_tensors():
    assert reverse_complement("AACGTN") == "NACGTT"
    assert reverse_complement("acgR") == "Ycgt"
    assert reverse_complement("ACGU", RNA) == "ACGU"
    X = one_hot(["AACG", "GTTT"])
    np.testing.assert_array_equal(reverse_complement(X), one_hot(["CGTT", "AAAC"]))
    T = reverse_complement(torch.from_numpy(X))
    assert isinstance(T, torch.Tensor)
    np.testing.assert_array_equal(T.numpy(), one_hot(["CGTT", "AAAC"]))
    with pytest.raises(ValueError):
        reverse_complement("ACDE", PROTEIN)


def test_decode_flat_columns_and_alphabet_lookup():
    X = np.zeros((1, 4, 3), np.float32)
    X[0, 2, 1] = 1
    assert decode(X) == ["NGN"]
    assert get_alphabet("dna") is DNA
    with pytest.raises(ValueError, match="unknown alphabet"):
        get_alphabet("klingon")
