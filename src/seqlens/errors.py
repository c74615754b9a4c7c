"""Exceptions raised for bad input. Each message names the file, record and position."""


class SeqlensError(ValueError):
    """Base class for input errors raised by seqlens."""


class SequenceError(SeqlensError):
    """A sequence has an invalid character, is empty, or has the wrong length."""


class FormatError(SeqlensError):
    """A file does not follow its format (FASTA, MEME, JASPAR, HDF5 layout, MSA, ...)."""
