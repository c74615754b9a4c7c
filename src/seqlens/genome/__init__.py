"""A user's own genomics data: a reference genome, regions (BED/narrowPeak), signal (bigWig) and
variants (VCF), turned into the HDF5 datasets the rest of seqlens reads."""
