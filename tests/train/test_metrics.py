import numpy as np
import pytest

from seqlens.train import aupr, auroc, evaluate_predictions, pearson, spearman


def test_exact_values():
    y = np.array([[0, 1], [0, 0], [1, 1], [1, 0]], dtype=float)
    s = np.array([[0.1, 0.9], [0.4, 0.2], [0.35, 0.8], [0.8, 0.3]])
    np.testing.assert_allclose(auroc(y, s), [0.75, 1.0])
    np.testing.assert_allclose(aupr(y, s), [(1 + 2 / 3) / 2, 1.0])
    r = pearson([1, 2, 3, 4], [2, 4, 6, 9])
    assert r[0] == pytest.approx(np.corrcoef([1, 2, 3, 4], [2, 4, 6, 9])[0, 1])
    assert spearman([1, 2, 3, 4], [1, 10, 100, 1000])[0] == pytest.approx(1.0)


def test_single_class_task_is_nan_and_skipped_in_mean():
    y = np.array([[0, 1], [0, 0], [0, 1]], dtype=float)
    s = np.array([[0.1, 0.9], [0.4, 0.2], [0.3, 0.8]])
    out = evaluate_predictions(y, s, prefix="test_", per_task=True)
    assert np.isnan(out["test_auroc_task0"]) and out["test_auroc"] == 1.0
    with pytest.raises(ValueError, match="differ in shape"):
        auroc(y, s[:, :1])
