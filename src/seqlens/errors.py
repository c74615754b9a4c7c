"""Exceptions raised for bad input. Each message names the file, record and position."""


class SeqlensError(ValueError):
    """Base class for input errors raised by seqlens."""


class SequenceError(SeqlensError):
    """A sequence has an invalid character, is empty, or has the wrong length."""


class FormatError(SeqlensError):
    """A file does not follow its format (FASTA, MEME, JASPAR, HDF5 layout, MSA, ...)."""


class ParameterError(SeqlensError):
    """A hyper-parameter or option is out of range or unknown; the message names it and the value."""


class FitMemoryError(SeqlensError, MemoryError):
    """A fit would not fit in memory; the message gives the estimate and the limit. Raised from
    the input's dimensions, before the arrays are allocated."""
