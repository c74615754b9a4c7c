"""Errors of the sequence-family models. Both are :class:`~seqlens.errors.SeqlensError`
subclasses (so also ``ValueError``): the CLI prints them in one line with exit code 2."""

from __future__ import annotations

from seqlens.errors import SeqlensError


class ParameterError(SeqlensError):
    """A hyper-parameter is out of range or unknown; the message names it and the value."""


class FitMemoryError(SeqlensError, MemoryError):
    """A fit would not fit in memory; the message gives the estimate and the limit. Raised from
    the alignment's dimensions, before the arrays are allocated."""
