"""Attribution methods for any ``torch.nn.Module`` taking one-hot ``(N, A, L)`` sequences.

All take the model first and return ``(N, A, L)`` of the same kind as ``X`` (numpy or tensor):

* :func:`saliency`, :func:`grad_x_input`, :func:`smoothgrad`, :func:`integrated_gradients`,
  :func:`expected_integrated_gradients` (gradient-based; ``correct=True`` applies gradient
  correction);
* :func:`deep_lift`, :func:`deep_lift_shap` (alias :func:`deepshap`): exact DeepLIFT rules,
  summation-to-delta checked at run time;
* :func:`ism`: saturation mutagenesis (fast by default, identical to the naive one), optionally
  in a window of positions; :func:`saturation_mutagenesis`: tangermeme's call shape and values
  (mean-centred per position, ``hypothetical``); :func:`window_ism`: replace whole windows (zeros,
  0.25, shuffled).

Shared keywords: ``target`` (output index, list or slice of indices summed, per-sequence array,
None for the sum, ``(head, index)`` for models returning a tuple or dict, or a callable over the
whole output), ``activation`` (None = logit; "sigmoid", "softmax", "exp" or a callable for the
post-activation output), ``args`` (extra model inputs, each ``(N, ...)``, not attributed),
``alphabet`` (when the alphabet axis has not 4, 20 or 21 letters), ``batch_size``, ``device``,
``random_state``, ``verbose``. Every entry point checks that ``X`` is ``(N, A, L)`` and refuses a
channels-last batch. captum's keywords are accepted as aliases: ``baselines`` (``baseline`` /
``reference(s)``), ``n_steps`` (``steps``), ``internal_batch_size`` (``batch_size`` of IG),
``nt_samples`` and ``stdevs`` (SmoothGrad).
"""

from seqlens.attribution._utils import DELTA_METHODS, correct_gradients, hypothetical_contributions
from seqlens.attribution.deeplift import deep_lift, deep_lift_shap, deepshap
from seqlens.attribution.gradients import (
    angle_statistics,
    expected_integrated_gradients,
    grad_x_input,
    gradient_angles,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from seqlens.attribution.ism import ism, ism_position_scores, saturation_mutagenesis, window_ism
from seqlens.errors import SeqlensError

METHODS = {
    "saliency": saliency,
    "grad_x_input": grad_x_input,
    "smoothgrad": smoothgrad,
    "ig": integrated_gradients,
    "eig": expected_integrated_gradients,
    "deeplift": deep_lift,
    "deepshap": deep_lift_shap,
    "ism": ism,
}


def attribute(model, X, method: str = "saliency", **kwargs):
    """Run an attribution method by name (a key of :data:`METHODS`)."""
    if method not in METHODS:
        raise SeqlensError(f"unknown method {method!r}; choose from {sorted(METHODS)}")
    return METHODS[method](model, X, **kwargs)


__all__ = [
    "DELTA_METHODS", "METHODS", "angle_statistics", "attribute", "correct_gradients", "deep_lift",
    "deep_lift_shap", "deepshap", "expected_integrated_gradients", "grad_x_input", "gradient_angles",
    "hypothetical_contributions",
    "integrated_gradients", "ism", "ism_position_scores", "saliency", "saturation_mutagenesis",
    "smoothgrad", "window_ism",
]
