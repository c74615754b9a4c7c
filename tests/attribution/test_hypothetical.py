"""Maps as hypothetical contributions (tfmodisco-lite's input), exact on a small case."""

import numpy as np

from seqlens.attribution import hypothetical_contributions


def test_delta_maps_go_to_the_observed_letter_and_ism_is_centred():
    X = np.eye(4, dtype=np.float32)[None, :, [0, 2]]          # A, G
    attr = np.array([[[1.0, 0.0], [2.0, 0.5], [0.0, 1.5], [0.0, 0.0]]], dtype=np.float32)
    shap = hypothetical_contributions(attr, X, "deepshap")
    np.testing.assert_allclose(shap[0], [[3.0, 0.0], [0.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    assert hypothetical_contributions(attr, X, "deepshap", is_hypothetical=True) is attr
    ism = hypothetical_contributions(attr, X, "ism")
    np.testing.assert_allclose(ism[0, :, 0], [0.25, 1.25, -0.75, -0.75])
    np.testing.assert_allclose(ism.sum(1), 0.0, atol=1e-6)
    assert hypothetical_contributions(attr, X, "saliency") is attr
