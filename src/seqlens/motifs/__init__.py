"""Motifs: the Motif type, JASPAR access, Tomtom comparison and scanning.

Submodules: ``motif`` (:class:`Motif`), ``jaspar`` (offline JASPAR releases 2014-2026),
``tomtom`` (motif comparison, ``seqlens.motifs.tomtom.tomtom``) and ``scan`` (score tracks and
FIMO hits, ``seqlens.motifs.scan.scan``).
"""

from seqlens.motifs.jaspar import fetch_motif, fetch_motifs, fetch_motifs_by_name
from seqlens.motifs.motif import Motif

__all__ = ["Motif", "fetch_motif", "fetch_motifs", "fetch_motifs_by_name"]
