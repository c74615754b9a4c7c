"""Pass or fail: a run's numbers beside the published ones, and results at chance level flagged.

A :class:`Finding` is one published claim with this run's evidence and a verdict; the report lists
every finding of the run in a one-screen summary at the top of the page (:meth:`Report.finding`).
:func:`mark` compares one number with its published counterpart, :func:`at_chance` says whether a
score is indistinguishable from chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CHANCE_MARGIN = 0.05  # a score within this of chance (AUROC 0.5, match fraction 0) proves nothing
VERDICTS = ("reproduced", "not reproduced", "at chance")


@dataclass
class Finding:
    """One published claim: ``claim`` (with its paper), this run's ``ours`` and the ``published``
    figures in words, and ``verdict`` (one of :data:`VERDICTS`). ``models`` says where the models
    came from (``"reference zoo"`` or ``"trained in this run"``)."""

    key: str
    claim: str
    ours: str
    published: str
    verdict: str
    models: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def at_chance(value: float, chance: float = 0.5, margin: float = CHANCE_MARGIN) -> bool:
    """True when ``value`` is NaN or within ``margin`` of ``chance`` (e.g. an AUROC of 0.53)."""
    return value is None or not math.isfinite(value) or abs(value - chance) <= margin


def mark(ours: float, published: float, tolerance: float, higher_is_better: bool = True) -> str:
    """``"within tolerance"`` when ``|ours - published| <= tolerance``, else ``"better"`` or
    ``"worse"`` in the direction of ``higher_is_better``; ``"n/a"`` when either is missing."""
    if ours is None or published is None or not (math.isfinite(ours) and math.isfinite(published)):
        return "n/a"
    diff = ours - published
    if abs(diff) <= tolerance:
        return "within tolerance"
    return "better" if (diff > 0) == higher_is_better else "worse"


def verdict(holds: bool, *scores: float, chance: float = 0.5) -> str:
    """The verdict of a directional claim: ``"at chance"`` when any of ``scores`` is at chance
    (then the direction proves nothing), else ``"reproduced"`` if ``holds``."""
    if any(at_chance(s, chance) for s in scores):
        return "at chance"
    return "reproduced" if holds else "not reproduced"


def mean_sd(values) -> str:
    """``"0.812 ± 0.010"`` over the finite values (``"n/a"`` when none; no ± for one value)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return "n/a"
    m = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{m:.3f}"
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
    return f"{m:.3f} ± {sd:.3f}"
