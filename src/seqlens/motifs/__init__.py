"""Motifs: the Motif type, JASPAR access, Tomtom comparison and scanning."""

from seqlens.motifs.motif import Motif

__all__ = ["Motif"]
