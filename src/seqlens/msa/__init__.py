"""seqlens.msa: alignments, sequence weights and sequence-family models.

>>> msa = Alignment.read("DHFR.a2m", focus=True)
>>> model = Potts(preset="plmc").fit(msa)
>>> pairs = contact_table(model.contacts(), msa.columns)
"""

from seqlens.msa.alignment import Alignment, encode, read_alignment
from seqlens.msa.contacts import apc, contact_table, frobenius, precision_at, precision_table
from seqlens.msa.gaussian import Gaussian
from seqlens.msa.potts import Potts
from seqlens.msa.pssm import PSSM
from seqlens.msa.stats import MutualInformation, frequencies, mutual_information
from seqlens.msa.weights import neighbour_counts, sequence_weights

__all__ = [
    "Alignment", "encode", "read_alignment", "apc", "contact_table", "frobenius", "precision_at",
    "precision_table", "Gaussian", "Potts", "PSSM", "MutualInformation", "frequencies",
    "mutual_information", "neighbour_counts", "sequence_weights",
]
