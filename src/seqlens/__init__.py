"""seqlens: interpretable models of biological sequences."""

__version__ = "0.1.0"
__all__ = [
    "DNA", "RNA", "PROTEIN", "PROTEIN_GAP", "one_hot", "decode", "reverse_complement", "Motif",
]

# the top-level names load their module on first use, so that ``import seqlens`` and the CLI's
# ``--help`` pay for neither numpy nor pandas (tests/test_startup.py)
_LAZY = {"Motif": "seqlens.motifs.motif", **{name: "seqlens.alphabet" for name in __all__[:-1]}}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqlens' has no attribute {name!r}")
