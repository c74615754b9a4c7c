"""seqlens: interpretable models of biological sequences."""

from seqlens.alphabet import DNA, PROTEIN, PROTEIN_GAP, RNA, decode, one_hot, reverse_complement
from seqlens.motifs.motif import Motif

__version__ = "0.1.0"
__all__ = [
    "DNA", "RNA", "PROTEIN", "PROTEIN_GAP", "one_hot", "decode", "reverse_complement", "Motif",
]
