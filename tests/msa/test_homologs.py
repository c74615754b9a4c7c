import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from seqlens.msa import PSSM, Alignment, Potts
from seqlens.msa.homologs import auroc, embed_unrelated, homolog_auroc, shuffle_residues


def test_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    p, n = rng.integers(0, 5, 40).astype(float), rng.integers(-2, 3, 60).astype(float)
    y = np.r_[np.ones(40), np.zeros(60)]
    assert auroc(p, n) == pytest.approx(roc_auc_score(y, np.r_[p, n]))
    assert auroc([3, 4], [1, 2]) == 1.0 and auroc([1], [1]) == 0.5


def test_decoys_keep_gap_pattern():
    X = np.array([[0, 20, 1, 2, 20], [3, 4, 20, 20, 5]])
    S = shuffle_residues(X, 20, random_state=0)
    assert np.array_equal(S == 20, X == 20)
    assert all(sorted(S[r][S[r] != 20]) == sorted(X[r][X[r] != 20]) for r in range(2))
    letters = "ACDEFGHIKLMNPQRSTVWY-"
    U = embed_unrelated(X, ["MKV", "WWWWWW"], letters, 20, random_state=1)
    assert np.array_equal(U == 20, X == 20)


def test_family_model_separates_members_from_decoys():
    rng = np.random.default_rng(0)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    base = letters[rng.integers(0, 20, 15)]
    rows = []
    for _ in range(240):
        r = base.copy()
        k = rng.integers(0, 15, 3)
        r[k] = letters[rng.integers(0, 20, 3)]
        rows.append("".join(r))
    msa = Alignment.from_rows(rows, focus=True)
    train, test = msa.subset(np.arange(200)), msa.X[200:]
    decoys = {"shuffled": shuffle_residues(test, 20, 0),
              "unrelated": embed_unrelated(test, ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"],
                                           msa.alphabet.letters, 20)}
    for model in (PSSM(identity=None).fit(train), Potts(max_iter=15, identity=None, n_threads=1).fit(train)):
        res = homolog_auroc(model, test, decoys)
        assert res["auroc_shuffled"] > 0.95 and res["auroc_unrelated"] > 0.95
