"""A user's own genomics data: a reference genome, regions (BED/narrowPeak), signal (bigWig) and
variants (VCF), turned into the HDF5 datasets the rest of seqlens reads.

``bed_dataset(out, beds, genome, ...)`` and ``fasta_dataset(out, fastas, ...)`` write the dataset
(:mod:`seqlens.genome.dataset`); ``Genome`` reads windows of an indexed FASTA genome,
``read_bed`` the regions of a BED/narrowPeak file, ``BigWigTracks`` signal from bigWig files.
"""

from seqlens.genome.bigwig import BigWigTracks
from seqlens.genome.dataset import bed_dataset, fasta_dataset
from seqlens.genome.reference import Genome
from seqlens.genome.regions import Regions, read_bed

__all__ = ["BigWigTracks", "Genome", "Regions", "bed_dataset", "fasta_dataset", "read_bed"]
