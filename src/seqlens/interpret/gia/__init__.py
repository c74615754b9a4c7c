"""Global importance analysis (GIA; Koo et al. 2021, PLOS Comp Biol), for sequences and any other
input modality.

GIA asks a model a causal question: *what does a feature add to the prediction, on average, over
inputs that do not otherwise carry it?* One builds a set of null inputs ``X_null``, applies an
intervention (embed a pattern, ablate a region, paste a texture into an image) to every one of them
and reports

``importance = mean_i [ f(intervened_i) - f(null_i) ]``  with its standard error
``se = std_i(...) / sqrt(n)``.

Building blocks
---------------
* :func:`global_importance` (:mod:`.core`) - the mean effect, its standard error and the per-input
  differences, for inputs of any shape (a null batch or a null generator ``null(n, rng)``, and an
  intervention ``intervention(X, rng)``), or for patterns embedded into one-hot sequences.
* :func:`predict`, :func:`model_outputs` - batched model evaluation (``target`` reduced, or raw).
* :func:`null_sequences` (:mod:`.nulls`) - nulls from a position-specific profile of a data set,
  mononucleotide or dinucleotide shuffles, random uniform or GC-matched sequences, or real sequences
  from a quantile of the model's predictions; optionally filtered to the 10th-90th prediction
  percentile.
* :func:`pattern_instances` / :func:`embed_patterns` (:mod:`.interventions`) - write one or more
  patterns (IUPAC k-mers such as ``"GATA"`` or ``"CANNTG"``, a :class:`~seqlens.motifs.motif.Motif`
  by consensus or by sampled instances, or explicit one-hot arrays) at given positions, either
  strand; :func:`substitute` - tangermeme's substitution (``N`` keeps the background);
  :func:`occlude` - ablate a region (shuffle, dinucleotide shuffle, random letters or zeros).
* :func:`marginalize`, :func:`space` (:mod:`.marginal`) - tangermeme's call shapes and values.

Experiments (:mod:`.experiments`; each returns tables; plots are in :mod:`seqlens.plot.gia`)
------------------------------------------------------------------------------------------
:func:`kmer_screen` (+ :func:`align_kmers`), :func:`kmer_mutagenesis`, :func:`positional_bias`,
:func:`multiple_sites`, :func:`spacing`, :func:`gc_bias`, :func:`hairpin`.

Shapes: one-hot ``(N, A, L)`` for the sequence functions; a pattern instance is ``(A, W)``; model
outputs are reduced to ``target`` (an output index, a ``(head, index)`` tuple, a callable; ``None``
keeps all outputs, giving ``(..., T)`` effects).
"""

from seqlens.interpret.gia.core import GIAResult, global_importance, model_outputs, predict
from seqlens.interpret.gia.experiments import (
    MAX_K,
    align_kmers,
    all_kmers,
    gc_bias,
    hairpin,
    kmer_mutagenesis,
    kmer_screen,
    multiple_sites,
    positional_bias,
    spacing,
)
from seqlens.interpret.gia.interventions import (
    OCCLUSIONS,
    embed_patterns,
    occlude,
    pattern_instances,
    substitute,
)
from seqlens.interpret.gia.marginal import MarginalizeResult, SpaceResult, marginalize, space
from seqlens.interpret.gia.nulls import NULLS, filter_by_prediction, null_sequences

__all__ = [
    "MAX_K", "NULLS", "OCCLUSIONS", "GIAResult", "MarginalizeResult", "SpaceResult", "predict",
    "model_outputs", "null_sequences", "filter_by_prediction", "pattern_instances", "embed_patterns",
    "substitute", "occlude", "global_importance", "marginalize", "space", "kmer_screen", "all_kmers",
    "align_kmers", "kmer_mutagenesis", "positional_bias", "multiple_sites", "spacing", "gc_bias",
    "hairpin",
]
