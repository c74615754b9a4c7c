"""Placeholder: fast ISM planner (filled in below)."""

from __future__ import annotations


class LocalPlan:
    @classmethod
    def build(cls, model, x):
        return None
