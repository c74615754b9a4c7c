"""Surrogate models of a network around a sequence (SQUID-style; Seitz et al. 2024).

Workflow: build a library of variants of one sequence (:func:`mutagenesis_library`,
:func:`combinatorial_library`), query the network on it (:func:`predict_library`), fit an additive
or pairwise surrogate with a global-epistasis link (:class:`Surrogate`) or a ridge baseline
(:class:`RidgeSurrogate`) on the window, fix the gauge, and read the parameters
(``theta_lc_``, ``theta_lclc_``, :meth:`~Surrogate.variant_effects`,
:meth:`~Surrogate.pairwise_norms`) and the held-out fit quality (:func:`fit_quality`).
:func:`surrogate_analysis` does all of it for one sequence. Plots: :mod:`seqlens.plot.surrogate`.
"""

from seqlens.interpret.surrogate.library import (
    MutagenesisLibrary,
    codes_to_one_hot,
    combinatorial_library,
    mutagenesis_library,
    one_hot_to_codes,
    parse_window,
    predict_library,
)
from seqlens.interpret.surrogate.models import (
    AdditiveSurrogate,
    PairwiseSurrogate,
    RidgeSurrogate,
    Surrogate,
    as_codes,
    deduplicate,
    fix_gauge,
    gauge_probabilities,
)
from seqlens.interpret.surrogate.pipeline import SurrogateResult, surrogate_analysis, surrogate_attributions
from seqlens.interpret.surrogate.quality import fit_quality, predictive_information

__all__ = [
    "AdditiveSurrogate", "MutagenesisLibrary", "PairwiseSurrogate", "RidgeSurrogate", "Surrogate",
    "as_codes", "codes_to_one_hot", "combinatorial_library", "deduplicate", "fit_quality",
    "fix_gauge", "gauge_probabilities", "mutagenesis_library", "one_hot_to_codes", "parse_window",
    "predict_library", "predictive_information", "SurrogateResult", "surrogate_analysis",
    "surrogate_attributions",
]
