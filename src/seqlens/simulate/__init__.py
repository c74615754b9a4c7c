"""Synthetic regulatory grammars with ground truth.

* :mod:`seqlens.simulate.background` - background sequences (uniform, GC, i.i.d. from data, profile,
  dinucleotide-shuffled real sequences);
* :mod:`seqlens.simulate.grammar` - the general ``embed`` API (counts, motif choice, non-overlapping
  placement, PWM sampling, ground-truth generating matrix, instance table);
* :mod:`seqlens.simulate.datasets` - the named datasets ``multitask_motifs``, ``regulatory_code`` and
  ``motif_interactions`` (each a :class:`seqlens.io.hdf5.Dataset`).
"""

from seqlens.simulate import background
from seqlens.simulate.datasets import (
    DATASETS,
    INTERACTING_PAIRS,
    get_motifs,
    instance_table,
    jaspar2016,
    motif_interactions,
    multitask_motifs,
    regulatory_code,
    simulate_dataset,
)
from seqlens.simulate.grammar import (
    Arrangement,
    SimulationError,
    arrange,
    choose_motifs,
    embed,
    instance_mask,
    random_positions,
    sample_counts,
    signal_mask,
    simulate_sequences,
)

__all__ = [
    "SimulationError", "Arrangement", "arrange",
    "background", "embed", "simulate_sequences", "random_positions", "sample_counts", "choose_motifs",
    "signal_mask", "instance_mask", "multitask_motifs", "regulatory_code", "motif_interactions",
    "simulate_dataset", "instance_table", "jaspar2016", "get_motifs", "DATASETS", "INTERACTING_PAIRS",
]
